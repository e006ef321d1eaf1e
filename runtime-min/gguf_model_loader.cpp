#include "runtime-min/gguf_model_loader.h"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "formats/gguf_tensor_names.h"
#include "runtime-min/model.h"

namespace moedist {
namespace {

constexpr uint32_t kSupportedNodeFormat = 1;

Result<StoredTensor> ViewOf(const GgufFile& f, const GgufTensorInfo& t) {
  std::optional<QuantType> type = QuantTypeFromGgmlType(GgmlTypeId(t.type));
  if (!type) {
    return Status::Unsupported(
        "{}: tensor \"{}\" has ggml type {}, which runtime-min does not "
        "compute with",
        f.path(), t.name, GgmlTypeName(t.type));
  }
  StoredTensor st{f.TensorBytes(t), *type, {t.ne.rbegin(), t.ne.rend()}};
  if (st.shape.empty()) st.shape = {1};
  return st;
}

// "blk.<L>.ffn_<proj>_exps.weight" -> (L, proj).
std::optional<std::pair<int, ExpertProj>> MergedExpert(const std::string& name) {
  for (ExpertProj p : {ExpertProj::kGate, ExpertProj::kUp, ExpertProj::kDown}) {
    const std::string suffix = MergedExpertName(0, p).substr(6);  // after "blk.0."
    if (!name.starts_with("blk.") || !name.ends_with(suffix)) continue;
    const std::string layer = name.substr(4, name.size() - 4 - suffix.size() - 1);
    if (layer.empty() || layer.find_first_not_of("0123456789") != std::string::npos) continue;
    if (MergedExpertName(std::stoi(layer), p) == name) return std::pair{std::stoi(layer), p};
  }
  return std::nullopt;
}

size_t ElementBytes(QuantType t) {
  return t == QuantType::kF32 ? 4 : (t == QuantType::kF16 || t == QuantType::kBF16) ? 2 : 0;
}

class Builder {
 public:
  Builder(GgufNodeTensors& out, GgufArch arch) : out_(out), arch_(arch) {}

  Status Add(const GgufTensorInfo& t) {
    ASSIGN_OR_RETURN(StoredTensor st, ViewOf(*out_.file, t));
    const std::string& prefix = out_.config.weight_prefix;
    if (auto merged = MergedExpert(t.name)) {
      if (arch_ == GgufArch::kLlama4) {
        llama4_[merged->first][merged->second] = st;
        return Status::Ok();
      }
      return SplitExperts(t.name, st, merged->first, merged->second);
    }
    ASSIGN_OR_RETURN(std::string hf, HfNameForGguf(arch_, t.name, prefix));
    if (arch_ == GgufArch::kLlama &&
        (t.name.ends_with(".attn_q.weight") || t.name.ends_with(".attn_k.weight"))) {
      const int heads = t.name.ends_with(".attn_q.weight") ? out_.config.attention.num_heads
                                                           : out_.config.attention.num_kv_heads;
      ASSIGN_OR_RETURN(st, UnpermuteRows(t.name, st, heads));
    }
    return Put(hf, st);
  }

  Status Finish() {
    for (auto& [layer, parts] : llama4_) RETURN_IF_ERROR(RepackLlama4(layer, parts));
    return Status::Ok();
  }

 private:
  Status Put(const std::string& hf, StoredTensor st) {
    if (!out_.tensors.emplace(hf, std::move(st)).second) {
      return Status::Corruption("{}: two GGUF tensors map to \"{}\"", out_.path, hf);
    }
    return Status::Ok();
  }

  // [E, out, in] -> one [out, in] view per expert.
  Status SplitExperts(const std::string& name, const StoredTensor& st, int layer, ExpertProj p) {
    if (st.shape.size() != 3 || st.shape[0] == 0) {
      return Status::Corruption("{}: \"{}\" is not a 3-D merged expert tensor", out_.path, name);
    }
    const uint64_t each = st.bytes.size() / st.shape[0];
    for (uint64_t x = 0; x < st.shape[0]; ++x) {
      RETURN_IF_ERROR(
          Put(HfExpertName(arch_, layer, static_cast<int>(x), p, out_.config.weight_prefix),
              {st.bytes.subspan(x * each, each), st.type, {st.shape[1], st.shape[2]}}));
    }
    return Status::Ok();
  }

  // The export wrote GGUF row n from HF row h*hd + (n%2)*(hd/2) + (n%hd)/2; put it back there.
  Result<StoredTensor> UnpermuteRows(const std::string& name, const StoredTensor& st, int heads) {
    const uint64_t rows = st.shape[0];
    if (st.shape.size() != 2 || heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0) {
      return Status::Corruption("{}: \"{}\" does not split into {} heads", out_.path, name, heads);
    }
    const uint64_t hd = rows / heads, row_bytes = st.bytes.size() / rows;
    std::vector<uint8_t>& buf = out_.owned.emplace_back(st.bytes.size());
    for (uint64_t n = 0; n < rows; ++n) {
      const uint64_t h = n / hd, r = n % hd;
      const uint64_t hf_row = h * hd + (r % 2) * (hd / 2) + r / 2;
      std::memcpy(buf.data() + hf_row * row_bytes, st.bytes.data() + n * row_bytes, row_bytes);
    }
    return StoredTensor{buf, st.type, st.shape};
  }

  // gate/up [E, I, H] and down [E, H, I] back to Llama-4's gate_up_proj [E, H, 2I] and
  // down_proj [E, I, H] (used as x @ W).
  Status RepackLlama4(int layer, std::map<ExpertProj, StoredTensor>& parts) {
    if (parts.size() != 3) {
      return Status::Corruption("{}: layer {} lacks one of gate/up/down experts", out_.path, layer);
    }
    const StoredTensor& g = parts[ExpertProj::kGate];
    const StoredTensor& u = parts[ExpertProj::kUp];
    const StoredTensor& d = parts[ExpertProj::kDown];
    const size_t es = ElementBytes(g.type);
    if (es == 0 || u.type != g.type || d.type != g.type || g.shape.size() != 3 ||
        u.shape != g.shape || d.shape.size() != 3) {
      return Status::Unsupported(
          "{}: Llama-4 experts of layer {} must be F32/F16/BF16 of one "
          "type and shape",
          out_.path, layer);
    }
    const uint64_t e = g.shape[0], i = g.shape[1], h = g.shape[2];
    std::vector<uint8_t> gu(e * h * 2 * i * es);
    for (uint64_t x = 0; x < e; ++x) {
      for (uint64_t c = 0; c < i; ++c) {
        for (uint64_t r = 0; r < h; ++r) {
          const uint64_t from = ((x * i + c) * h + r) * es;
          std::memcpy(gu.data() + ((x * h + r) * 2 * i + c) * es, g.bytes.data() + from, es);
          std::memcpy(gu.data() + ((x * h + r) * 2 * i + i + c) * es, u.bytes.data() + from, es);
        }
      }
    }
    std::vector<uint8_t> dn(d.bytes.size());
    for (uint64_t x = 0; x < e; ++x) {
      for (uint64_t r = 0; r < h; ++r) {
        for (uint64_t c = 0; c < i; ++c) {
          std::memcpy(dn.data() + ((x * i + c) * h + r) * es,
                      d.bytes.data() + ((x * h + r) * i + c) * es, es);
        }
      }
    }
    // Spans into the buffers stay valid when `owned` grows (moving a vector keeps its storage).
    const std::span<const uint8_t> gate_up = out_.owned.emplace_back(std::move(gu));
    const std::span<const uint8_t> down = out_.owned.emplace_back(std::move(dn));
    const std::string p =
        fmt::format("{}model.layers.{}.feed_forward.experts.", out_.config.weight_prefix, layer);
    RETURN_IF_ERROR(Put(p + "gate_up_proj", {gate_up, g.type, {e, h, 2 * i}}));
    return Put(p + "down_proj", {down, g.type, {e, i, h}});
  }

  GgufNodeTensors& out_;
  GgufArch arch_;
  std::map<int, std::map<ExpertProj, StoredTensor>> llama4_;
};

}  // namespace

bool LooksLikeGguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

Result<std::unique_ptr<GgufNodeTensors>> OpenGgufNodeTensors(const std::string& path) {
  auto out = std::make_unique<GgufNodeTensors>();
  out->path = path;
  ASSIGN_OR_RETURN(out->file, GgufFile::Open(path));
  const GgufFile& f = *out->file;
  Result<uint32_t> version = f.GetU32("moedist.format_version");
  Result<std::string_view> hf_config = f.GetString("moedist.hf_config");
  if (!version.ok() || !hf_config.ok()) {
    return Status::Unsupported(
        "{}: not a moedist node GGUF (no moedist.format_version / moedist.hf_config); "
        "runtime-min reads the node files `moedist pack --format gguf` writes",
        path);
  }
  if (*version != kSupportedNodeFormat) {
    return Status::Unsupported("{}: moedist.format_version {} (this build reads {})", path,
                               *version, kSupportedNodeFormat);
  }
  ASSIGN_OR_RETURN(out->config,
                   ParseModelConfig(std::string(*hf_config), path + ": moedist.hf_config"));
  ASSIGN_OR_RETURN(std::string_view arch_name, f.GetString("general.architecture"));
  std::optional<GgufArch> arch = GgufArchFromName(arch_name);
  ASSIGN_OR_RETURN(GgufArch family_arch, GgufArchForFamily(out->config.family));
  if (!arch || *arch != family_arch) {
    return Status::Corruption(
        "{}: general.architecture \"{}\" does not match moedist.hf_config's "
        "family {}",
        path, arch_name, FamilyName(out->config.family));
  }
  Builder b(*out, *arch);
  for (const GgufTensorInfo& t : f.tensors()) RETURN_IF_ERROR(b.Add(t));
  RETURN_IF_ERROR(b.Finish());
  return out;
}

}  // namespace moedist

namespace moedist {

Result<std::unique_ptr<Model>> Model::OpenGguf(const std::string& path) {
  std::unique_ptr<Model> m(new Model());
  ASSIGN_OR_RETURN(std::unique_ptr<GgufNodeTensors> tensors, OpenGgufNodeTensors(path));
  m->gguf_ = std::move(tensors);
  m->gguf_dir_ = std::filesystem::path(path).parent_path().string();
  RETURN_IF_ERROR(m->InitRuntime(path));
  const GgufNodeTensors& g = *m->gguf_;
  std::set<std::string> bound;
  const TensorLookup lookup =
      [&g, &bound](const std::string& name) -> Result<std::optional<StoredTensor>> {
    auto it = g.tensors.find(name);
    if (it == g.tensors.end()) return std::optional<StoredTensor>();
    bound.insert(name);
    return std::optional<StoredTensor>(it->second);
  };
  Result<ModelWeights> weights = LoadModelWeights(g.config, path, lookup);
  if (!weights.ok()) return weights.status().WithContext(path);
  m->weights_ = std::move(weights).value();
  // Every tensor in the file must be one the model uses; an extra one means the file and its
  // moedist.hf_config disagree about the model.
  for (const auto& [name, t] : g.tensors) {
    if (!bound.contains(name)) {
      return Status::Corruption(
          "{}: tensor \"{}\" (as named in the GGUF: see "
          "formats/gguf_tensor_names.h) is not part of the model its "
          "moedist.hf_config describes",
          path, name);
    }
  }
  return m;
}

}  // namespace moedist
