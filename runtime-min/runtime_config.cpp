#include "runtime-min/runtime_config.h"

namespace moedist {
namespace {

// The object holding the language model's fields (Llama-4 multimodal nests them).
const nlohmann::json& TextFields(const ModelConfig& c) {
  if (c.raw.contains("text_config") && c.raw["text_config"].is_object()) {
    return c.raw["text_config"];
  }
  return c.raw;
}

bool Present(const nlohmann::json& j, const char* key) {
  return j.contains(key) && !j[key].is_null();
}

}  // namespace

Result<RuntimeConfig> ReadRuntimeConfig(const ModelConfig& c) {
  const nlohmann::json& f = TextFields(c);
  RuntimeConfig rc;
  if (Present(f, "max_position_embeddings")) {
    if (!f["max_position_embeddings"].is_number_integer()) {
      return Status::Corruption("config.json: \"max_position_embeddings\" is {}, expected an "
                                "integer", f["max_position_embeddings"].dump());
    }
    rc.max_position_embeddings = f["max_position_embeddings"].get<int>();
  }
  if (c.hidden_act != "silu") {
    return Status::Unsupported("config.json: hidden_act \"{}\" (runtime-min supports silu)",
                               c.hidden_act);
  }
  rc.rope_layers = c.attention.rope_layers;
  rc.l2_qk_norm = c.attention.qk_norm == AttentionConfig::QkNorm::kL2;
  rc.sliding_window = c.attention.sliding_window;
  switch (c.family) {
    case Family::kLlama4: {
      // transformers' Llama4TextConfig defaults when the keys are absent.
      if (!Present(f, "no_rope_layers")) {
        for (int i = 0; i < c.num_layers; ++i) rc.rope_layers[i] = (i + 1) % 4 != 0;
      }
      if (!Present(f, "use_qk_norm")) rc.l2_qk_norm = true;
      rc.attention_chunk_size = 8192;
      if (Present(f, "attention_chunk_size")) {
        if (!f["attention_chunk_size"].is_number_integer() ||
            f["attention_chunk_size"].get<int64_t>() < 1) {
          return Status::Corruption("config.json: \"attention_chunk_size\" is {}, expected a "
                                    "positive integer", f["attention_chunk_size"].dump());
        }
        rc.attention_chunk_size = f["attention_chunk_size"].get<int>();
      }
      rc.attn_temperature_tuning = true;
      if (Present(f, "attn_temperature_tuning")) {
        const auto& t = f["attn_temperature_tuning"];
        rc.attn_temperature_tuning = t.is_boolean() ? t.get<bool>() : (t.is_number() && t != 0);
      }
      if (Present(f, "floor_scale") && f["floor_scale"].is_number()) {
        rc.floor_scale = f["floor_scale"].get<double>();
      }
      if (Present(f, "attn_scale") && f["attn_scale"].is_number()) {
        rc.attn_scale = f["attn_scale"].get<double>();
      }
      if (rc.floor_scale <= 0) {
        return Status::Corruption("config.json: \"floor_scale\" must be positive");
      }
      break;
    }
    case Family::kOlmoe:
      if (Present(f, "clip_qkv")) {
        return Status::Unsupported("config.json: OLMoE \"clip_qkv\" = {} is not supported by "
                                   "runtime-min (expected null)", f["clip_qkv"].dump());
      }
      break;
    case Family::kQwen2Moe:
    case Family::kQwen3Moe:
      if (Present(f, "use_sliding_window") && f["use_sliding_window"].is_boolean() &&
          f["use_sliding_window"].get<bool>()) {
        return Status::Unsupported("config.json: \"use_sliding_window\": true is not supported "
                                   "by runtime-min");
      }
      break;
    case Family::kGptOss:
      return Status::Unsupported("config.json: gpt_oss (MXFP4 experts, attention sinks) is not "
                                 "supported by runtime-min");
    default: break;
  }
  return rc;
}

}  // namespace moedist
