#include "bench/synthetic_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "formats/safetensors_writer.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

// Writes bytes, but seeks over chunks that are all zero so they become holes.
class SparseFileSink final : public ByteSink {
 public:
  explicit SparseFileSink(int fd) : fd_(fd) {}
  Status Write(std::span<const uint8_t> bytes) override {
    bool zero = std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
    if (zero) {
      if (::lseek(fd_, static_cast<off_t>(bytes.size()), SEEK_CUR) < 0) {
        return Status::IoError("lseek: {}", std::strerror(errno));
      }
    } else if (::write(fd_, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
      return Status::IoError("write: {}", std::strerror(errno));
    }
    end_ += bytes.size();
    return Status::Ok();
  }
  uint64_t end() const { return end_; }

 private:
  int fd_;
  uint64_t end_ = 0;
};

struct PlannedTensor {
  std::string name;
  std::vector<uint64_t> shape;
};

uint16_t RandomBf16(uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  // Uniform in [-0.05, 0.05): a plausible weight scale.
  float f = (static_cast<float>(state >> 40) / static_cast<float>(1ull << 24) - 0.5f) * 0.1f;
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return static_cast<uint16_t>((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

SafetensorsSource MakeSource(const PlannedTensor& t, bool sparse, uint64_t seed, bool ones) {
  return {t.name, DType::kBF16, t.shape, [t, sparse, seed, ones](ByteSink& sink) -> Status {
            uint64_t n = 1;
            for (uint64_t d : t.shape) n *= d;
            std::vector<uint16_t> chunk(std::min<uint64_t>(n, 1 << 20));
            uint64_t state = seed * 0x9E3779B97F4A7C15ull + std::hash<std::string>{}(t.name) + 1;
            for (uint64_t done = 0; done < n; done += chunk.size()) {
              const uint64_t m = std::min<uint64_t>(chunk.size(), n - done);
              for (uint64_t i = 0; i < m; ++i) {
                chunk[i] = sparse ? 0 : ones ? 0x3F80 /* 1.0 */ : RandomBf16(state);
              }
              RETURN_IF_ERROR(sink.Write(
                  std::span(reinterpret_cast<const uint8_t*>(chunk.data()), m * 2)));
            }
            return Status::Ok();
          }};
}

std::vector<PlannedTensor> PlanTensors(const SyntheticCheckpointSpec& s) {
  const uint64_t H = s.hidden, I = s.moe_intermediate, E = s.experts;
  const uint64_t q = static_cast<uint64_t>(s.heads) * s.head_dim;
  const uint64_t kv = static_cast<uint64_t>(s.kv_heads) * s.head_dim;
  std::vector<PlannedTensor> out = {{"model.embed_tokens.weight", {(uint64_t)s.vocab, H}},
                                    {"model.norm.weight", {H}},
                                    {"lm_head.weight", {(uint64_t)s.vocab, H}}};
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "input_layernorm.weight", {H}});
    out.push_back({p + "post_attention_layernorm.weight", {H}});
    out.push_back({p + "self_attn.q_proj.weight", {q, H}});
    out.push_back({p + "self_attn.k_proj.weight", {kv, H}});
    out.push_back({p + "self_attn.v_proj.weight", {kv, H}});
    out.push_back({p + "self_attn.o_proj.weight", {H, q}});
    out.push_back({p + "self_attn.q_norm.weight", {(uint64_t)s.head_dim}});
    out.push_back({p + "self_attn.k_norm.weight", {(uint64_t)s.head_dim}});
    out.push_back({p + "mlp.gate.weight", {E, H}});
    for (uint64_t e = 0; e < E; ++e) {
      const std::string x = p + "mlp.experts." + std::to_string(e) + ".";
      out.push_back({x + "gate_proj.weight", {I, H}});
      out.push_back({x + "up_proj.weight", {I, H}});
      out.push_back({x + "down_proj.weight", {H, I}});
    }
  }
  return out;
}

Status WriteShard(const std::string& path, const std::vector<PlannedTensor>& tensors,
                  const SyntheticCheckpointSpec& s) {
  std::vector<SafetensorsSource> sources;
  for (const PlannedTensor& t : tensors) {
    sources.push_back(MakeSource(t, s.sparse, s.seed, t.name.ends_with("norm.weight")));
  }
  if (!s.sparse) return WriteSafetensorsFile(path, std::move(sources), {{"format", "pt"}});
  // Sparse: holes need a seekable file descriptor, so this path writes in place; it is a
  // benchmark input, not a published output.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("{}: {}", path, std::strerror(errno));
  SparseFileSink sink(fd);
  Status st = WriteSafetensors(std::move(sources), {{"format", "pt"}}, sink);
  if (st.ok() && ::ftruncate(fd, static_cast<off_t>(sink.end())) != 0) {
    st = Status::IoError("{}: ftruncate: {}", path, std::strerror(errno));
  }
  ::close(fd);
  return st;
}

}  // namespace

Status WriteSyntheticCheckpoint(const SyntheticCheckpointSpec& s, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("{}: cannot create directory: {}", dir, ec.message());
  nlohmann::json config = {
      {"architectures", {"Qwen3MoeForCausalLM"}}, {"model_type", "qwen3_moe"},
      {"hidden_size", s.hidden}, {"num_hidden_layers", s.layers},
      {"num_attention_heads", s.heads}, {"num_key_value_heads", s.kv_heads},
      {"head_dim", s.head_dim}, {"intermediate_size", s.moe_intermediate * 2},
      {"moe_intermediate_size", s.moe_intermediate}, {"num_experts", s.experts},
      {"num_experts_per_tok", s.top_k}, {"norm_topk_prob", true}, {"decoder_sparse_step", 1},
      {"mlp_only_layers", nlohmann::json::array()}, {"vocab_size", s.vocab},
      {"rms_norm_eps", 1e-6}, {"rope_theta", 1000000.0}, {"max_position_embeddings", 4096},
      {"tie_word_embeddings", false}, {"torch_dtype", "bfloat16"}, {"hidden_act", "silu"}};
  RETURN_IF_ERROR(WriteFileAtomically((fs::path(dir) / "config.json").string(),
                                      DumpJsonStable(config) + "\n"));
  // Cut the tensor list into shards of about shard_bytes.
  std::vector<PlannedTensor> all = PlanTensors(s);
  std::vector<std::vector<PlannedTensor>> shards(1);
  uint64_t in_shard = 0, total = 0;
  for (const PlannedTensor& t : all) {
    uint64_t bytes = 2;
    for (uint64_t d : t.shape) bytes *= d;
    if (in_shard > 0 && in_shard + bytes > s.shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(t);
    in_shard += bytes;
    total += bytes;
  }
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    RETURN_IF_ERROR(WriteShard((fs::path(dir) / name).string(), shards[i], s));
    for (const PlannedTensor& t : shards[i]) weight_map[t.name] = name;
  }
  nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  return WriteFileAtomically((fs::path(dir) / "model.safetensors.index.json").string(),
                             DumpJsonStable(index) + "\n");
}

}  // namespace moedist
