#include "pack_fixture_testutil.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/json_strict.h"
#include "formats/hf_checkpoint.h"
#include "formats/safetensors_writer.h"
#include "pipeline/node_bundle.h"
#include "quant/half_float.h"
#include "runtime-min/forward.h"
#include "tests/test_dirs.h"

namespace moedist::pack_testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "moedist-pack-XXXXXX").string();
  char* made = ::mkdtemp(tmpl.data());
  path_ = made ? made : tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests make directories read-only or add links; undo before removing.
  for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::end(it); ++it) {
    fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::remove_all(path_, ec);
}

std::string FixtureDir(const std::string& family) {
  return std::string(moedist::test_dirs::FixtureRoot()) + "/fixtures/hf-tiny/" + family;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::vector<int32_t>> FixtureInputIds(const std::string& family) {
  auto j = nlohmann::json::parse(ReadAll(FixtureDir(family) + "/reference.json"));
  return j["input_ids"].get<std::vector<std::vector<int32_t>>>();
}

ExpertPlan TwoGroupPlan(const ModelConfig& config) {
  ExpertPlan plan;
  const int e = config.routing.num_experts;
  plan.num_experts = e;
  plan.top_k = config.routing.top_k;
  plan.num_groups = 2;
  plan.strategy = "custom";
  LayerPlan lp;
  if (config.routing.n_group > 1) {
    // Node 0: DeepSeek groups 0..n/2-1 whole; node 1: the rest; overlay: the first expert.
    const int half = e / 2;
    lp.overlay = {0};
    lp.groups.resize(2);
    for (int x = 1; x < half; ++x) lp.groups[0].push_back(x);
    for (int x = half; x < e; ++x) lp.groups[1].push_back(x);
  } else {
    // Overlay: expert 3; groups: the other even ids and the other odd ids.
    lp.overlay = {3};
    lp.groups.resize(2);
    for (int x = 0; x < e; ++x) {
      if (x != 3) lp.groups[x % 2].push_back(x);
    }
  }
  for (int layer : config.MoeLayers()) plan.layers[layer] = lp;
  return plan;
}

PackRequest MakeRequest(const std::string& checkpoint, const ExpertPlan& plan,
                        const std::string& out) {
  PackRequest req;
  req.checkpoint_dir = checkpoint;
  req.plan = plan;
  req.recipe = KeepRecipe();
  req.out_dir = out;
  req.release_name = "test-release";
  req.created = "2026-01-01T00:00:00Z";
  req.expires = "2036-01-01T00:00:00Z";
  return req;
}

Result<std::vector<float>> RunLogits(const Model& model,
                                     const std::vector<std::vector<int32_t>>& ids,
                                     const ExpertMask* mask) {
  std::vector<float> all;
  for (const auto& seq_ids : ids) {
    Sequence seq(model);
    std::vector<float> logits;
    RETURN_IF_ERROR(Forward(model, seq, seq_ids, {.mask = mask, .all_logits = true}, &logits));
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

Status MaterializeNode(const std::string& dist, const std::string& node, const std::string& out) {
  const std::string dir = dist + "/" + node;
  ASSIGN_OR_RETURN(auto ckpt, Checkpoint::Open(dir, CheckpointOpenOptions{dist}));
  ASSIGN_OR_RETURN(NodeInfo info, ReadNodeInfo(dir));
  std::vector<SafetensorsSource> sources;
  for (const CheckpointTensor& t : ckpt->tensors()) {
    sources.push_back(SourceFromBytes(t.name, t.dtype(), t.shape(), t.bytes()));
  }
  std::vector<std::vector<uint8_t>> nan_storage;
  if (info.mode == NodeMode::kMask) {
    for (const auto& [layer, nl] : info.layers) {
      const int model_expert = nl.held.front();
      const std::string key = ".layers." + std::to_string(layer) + ".";
      for (const CheckpointTensor& t : ckpt->tensors()) {
        if (t.name.find(key) == std::string::npos ||
            t.name.find(".experts." + std::to_string(model_expert) + ".") == std::string::npos) {
          continue;
        }
        for (int e = 0; e < info.source_num_experts; ++e) {
          if (std::binary_search(nl.held.begin(), nl.held.end(), e)) continue;
          ASSIGN_OR_RETURN(std::string name, RenameExpert(t.name, model_expert, e));
          std::vector<uint8_t> bytes(t.num_bytes());
          const uint32_t nan32 = 0x7fc00000u;
          const uint16_t nan16 = t.dtype() == DType::kF16 ? 0x7e00 : 0x7fc0;
          const size_t w = DTypeBits(t.dtype()) / 8;
          for (size_t i = 0; i + w <= bytes.size(); i += w) {
            std::memcpy(
                bytes.data() + i,
                w == 4 ? static_cast<const void*>(&nan32) : static_cast<const void*>(&nan16), w);
          }
          nan_storage.push_back(std::move(bytes));
          sources.push_back(SourceFromBytes(name, t.dtype(), t.shape(), nan_storage.back()));
        }
      }
    }
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  fs::copy_file(dir + "/config.json", out + "/config.json", fs::copy_options::overwrite_existing,
                ec);
  if (ec) return Status::IoError("copy config.json: {}", ec.message());
  return WriteSafetensorsFile(out + "/model.safetensors", std::move(sources), {});
}

Status WriteSyntheticQwen3(const std::string& dir, const SyntheticSpec& s) {
  const int head_dim = 128, heads = 2, kv_heads = 1;
  nlohmann::json config = {{"architectures", {"Qwen3MoeForCausalLM"}},
                           {"model_type", "qwen3_moe"},
                           {"hidden_size", s.hidden},
                           {"intermediate_size", s.hidden},
                           {"head_dim", head_dim},
                           {"moe_intermediate_size", s.moe_intermediate},
                           {"num_experts", s.experts},
                           {"num_experts_per_tok", s.top_k},
                           {"norm_topk_prob", true},
                           {"num_attention_heads", heads},
                           {"num_key_value_heads", kv_heads},
                           {"num_hidden_layers", s.layers},
                           {"vocab_size", s.vocab},
                           {"rms_norm_eps", 1e-6},
                           {"rope_theta", 10000.0},
                           {"max_position_embeddings", 256},
                           {"tie_word_embeddings", false},
                           {"torch_dtype", "bfloat16"},
                           {"decoder_sparse_step", 1},
                           {"mlp_only_layers", nlohmann::json::array()},
                           {"hidden_act", "silu"},
                           {"attention_bias", false}};
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::ofstream(dir + "/config.json") << DumpJsonStable(config);
  std::mt19937 rng(s.seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  auto storage = std::make_shared<std::vector<std::vector<uint8_t>>>();
  std::vector<SafetensorsSource> sources;
  auto bf16 = [&](const std::string& name, std::vector<uint64_t> shape, float offset = 0) {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    std::vector<uint8_t> bytes(n * 2);
    for (uint64_t i = 0; i < n; ++i) {
      const uint16_t v = F32ToBF16(normal(rng) + offset);
      bytes[2 * i] = v & 0xff;
      bytes[2 * i + 1] = v >> 8;
    }
    storage->push_back(std::move(bytes));
    sources.push_back(SourceFromBytes(name, DType::kBF16, shape, storage->back()));
  };
  auto fp8 = [&](const std::string& name, uint64_t rows, uint64_t cols) {
    std::vector<uint8_t> bytes(rows * cols);
    std::uniform_int_distribution<int> code(0, 0x7e);
    for (auto& b : bytes) b = static_cast<uint8_t>(code(rng) | (rng() & 1 ? 0x80 : 0));
    storage->push_back(std::move(bytes));
    sources.push_back(SourceFromBytes(name, DType::kF8E4M3, {rows, cols}, storage->back()));
    const uint64_t sr = (rows + 127) / 128, sc = (cols + 127) / 128;
    std::vector<uint8_t> scale(sr * sc * 4);
    std::uniform_real_distribution<float> mag(1e-3f, 4e-3f);
    for (uint64_t i = 0; i < sr * sc; ++i) {
      const float f = mag(rng);
      std::memcpy(scale.data() + 4 * i, &f, 4);
    }
    storage->push_back(std::move(scale));
    sources.push_back(SourceFromBytes(name + "_scale_inv", DType::kF32, {sr, sc}, storage->back()));
  };
  const uint64_t H = s.hidden, I = s.moe_intermediate, V = s.vocab, E = s.experts;
  bf16("model.embed_tokens.weight", {V, H});
  bf16("lm_head.weight", {V, H});
  bf16("model.norm.weight", {H}, 1.0f);
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    bf16(p + "input_layernorm.weight", {H}, 1.0f);
    bf16(p + "post_attention_layernorm.weight", {H}, 1.0f);
    bf16(p + "self_attn.q_proj.weight", {uint64_t(heads * head_dim), H});
    bf16(p + "self_attn.k_proj.weight", {uint64_t(kv_heads * head_dim), H});
    bf16(p + "self_attn.v_proj.weight", {uint64_t(kv_heads * head_dim), H});
    bf16(p + "self_attn.o_proj.weight", {H, uint64_t(heads * head_dim)});
    bf16(p + "self_attn.q_norm.weight", {uint64_t(head_dim)}, 1.0f);
    bf16(p + "self_attn.k_norm.weight", {uint64_t(head_dim)}, 1.0f);
    bf16(p + "mlp.gate.weight", {E, H});
    for (uint64_t e = 0; e < E; ++e) {
      const std::string x = p + "mlp.experts." + std::to_string(e) + ".";
      if (s.fp8_experts) {
        fp8(x + "gate_proj.weight", I, H);
        fp8(x + "up_proj.weight", I, H);
        fp8(x + "down_proj.weight", H, I);
      } else {
        bf16(x + "gate_proj.weight", {I, H});
        bf16(x + "up_proj.weight", {I, H});
        bf16(x + "down_proj.weight", {H, I});
      }
    }
  }
  return WriteSafetensorsFile(dir + "/model.safetensors", std::move(sources), {});
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it); ++it) {
    if (it->is_regular_file()) out.push_back(fs::relative(it->path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace moedist::pack_testing
