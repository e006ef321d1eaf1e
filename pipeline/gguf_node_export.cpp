#include "pipeline/gguf_node_export.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>

#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "formats/gguf_reader.h"
#include "manifest/file_digest.h"
#include "pipeline/gguf_arch_metadata.h"
#include "quant/half_float.h"

namespace moedist {
namespace {

// One node tensor as GGUF sees it: its ggml type, logical (PyTorch-order) shape and rows.
struct TensorView {
  const CheckpointTensor* t = nullptr;
  GgmlType type = GgmlType::kF32;
  std::vector<uint64_t> shape;  // logical, outermost first
  uint64_t rows = 1;            // product of all dims but the last
  uint64_t row_bytes = 0;
  std::string dtype_name;  // "BF16", "q4_k"
};

Result<TensorView> ViewOf(const CheckpointTensor& t) {
  TensorView v{&t};
  const auto& meta = t.shard->metadata();
  auto q = meta.find(std::string(kQuantMetadataPrefix) + t.info->name);
  if (q != meta.end()) {
    ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(q->second, t.name));
    if (!j.contains("type") || !j["type"].is_string() || !j.contains("shape") ||
        !j["shape"].is_array()) {
      return Status::Corruption("{}: quant metadata lacks type or shape", t.name);
    }
    ASSIGN_OR_RETURN(QuantType qt, ParseQuantType(j["type"].get<std::string>()));
    v.type = GgmlTypeFromQuantType(qt);
    for (const auto& d : j["shape"]) v.shape.push_back(d.get<uint64_t>());
    v.dtype_name = std::string(QuantTypeName(qt));
  } else {
    switch (t.dtype()) {
      case DType::kF32: v.type = GgmlType::kF32; break;
      case DType::kF16: v.type = GgmlType::kF16; break;
      case DType::kBF16: v.type = GgmlType::kBF16; break;
      default:
        return Status::Unsupported(
            "{}: dtype {} has no GGUF type; pack it with a recipe that converts it (f32, f16, "
            "bf16 or a block type)",
            t.name, DTypeName(t.dtype()));
    }
    v.shape = t.shape();
    v.dtype_name = std::string(DTypeName(t.dtype()));
  }
  if (v.shape.empty()) v.shape = {1};
  for (size_t i = 0; i + 1 < v.shape.size(); ++i) v.rows *= v.shape[i];
  ASSIGN_OR_RETURN(GgmlTensorSize row,
                   ComputeGgmlTensorSize(v.type, std::vector<uint64_t>{v.shape.back()},
                                         StatusCode::kCorruption));
  v.row_bytes = row.bytes;
  if (v.row_bytes * v.rows != t.num_bytes()) {
    return Status::Corruption("{}: {} bytes, expected {} rows of {}", t.name, t.num_bytes(), v.rows,
                              v.row_bytes);
  }
  return v;
}

std::vector<uint64_t> Reversed(std::vector<uint64_t> s) {
  std::reverse(s.begin(), s.end());
  return s;
}

// Gathers writes into 1 MiB pieces before they reach the sink.
class ChunkedWriter {
 public:
  explicit ChunkedWriter(ByteSink& sink) : sink_(sink) { buf_.reserve(kChunk); }
  Status Put(std::span<const uint8_t> bytes) {
    if (buf_.size() + bytes.size() > kChunk) RETURN_IF_ERROR(Flush());
    if (bytes.size() >= kChunk) return sink_.Write(bytes);
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
    return Status::Ok();
  }
  Status Flush() {
    Status st = buf_.empty() ? Status::Ok() : sink_.Write(buf_);
    buf_.clear();
    return st;
  }

 private:
  static constexpr size_t kChunk = size_t{1} << 20;
  ByteSink& sink_;
  std::vector<uint8_t> buf_;
};

// Rows `rows` of each view in turn (all rows when `rows` is empty).
GgufTensorSource RowSource(std::string name, GgmlType type, std::vector<uint64_t> ne,
                           std::vector<TensorView> views, std::vector<uint64_t> rows) {
  return {std::move(name), type, std::move(ne),
          [views = std::move(views), rows = std::move(rows)](ByteSink& sink) -> Status {
            ChunkedWriter w(sink);
            for (const TensorView& v : views) {
              const std::span<const uint8_t> bytes = v.t->bytes();
              if (rows.empty()) {  // whole tensors: through a buffer, not from the mapping
                RETURN_IF_ERROR(w.Flush());
                RETURN_IF_ERROR(v.t->CopyBytesTo(0, bytes.size(), sink));
                continue;
              }
              for (uint64_t r : rows)
                RETURN_IF_ERROR(w.Put(bytes.subspan(r * v.row_bytes, v.row_bytes)));
            }
            return w.Flush();
          }};
}

float HalfToF32(GgmlType type, const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return type == GgmlType::kBF16 ? BF16ToF32(bits) : F16ToF32(bits);
}

// Elements `elements` (all when empty) of a 1-D F16/BF16 view as F32.
GgufTensorSource WidenSource(std::string name, const TensorView& v,
                             std::vector<uint64_t> elements) {
  const uint64_t n = elements.empty() ? v.shape.back() : elements.size();
  return {std::move(name),
          GgmlType::kF32,
          {n},
          [v, elements = std::move(elements)](ByteSink& sink) -> Status {
            const std::span<const uint8_t> bytes = v.t->bytes();
            const uint64_t count = elements.empty() ? v.shape.back() : elements.size();
            std::vector<float> out(count);
            for (uint64_t i = 0; i < count; ++i) {
              const uint64_t e = elements.empty() ? i : elements[i];
              out[i] = HalfToF32(v.type, bytes.data() + e * 2);
            }
            return sink.Write({reinterpret_cast<const uint8_t*>(out.data()), out.size() * 4});
          }};
}

// Llama-4 packed experts [E, A, B] (x·W layout) -> per expert the transpose of columns
// [col_begin, col_end): ggml ne [A, col_end - col_begin, E].
GgufTensorSource TransposeSource(std::string name, const TensorView& v, uint64_t col_begin,
                                 uint64_t col_end) {
  const uint64_t e = v.shape[0], a = v.shape[1];
  return {std::move(name),
          v.type,
          {a, col_end - col_begin, e},
          [v, col_begin, col_end](ByteSink& sink) -> Status {
            const uint64_t experts = v.shape[0], a = v.shape[1], b = v.shape[2];
            const size_t es = v.type == GgmlType::kF32 ? 4 : 2;
            const uint8_t* src = v.t->bytes().data();
            ChunkedWriter w(sink);
            std::vector<uint8_t> row(a * es);
            for (uint64_t x = 0; x < experts; ++x) {
              for (uint64_t c = col_begin; c < col_end; ++c) {
                for (uint64_t r = 0; r < a; ++r) {
                  std::memcpy(row.data() + r * es, src + ((x * a + r) * b + c) * es, es);
                }
                RETURN_IF_ERROR(w.Put(row));
              }
            }
            return w.Flush();
          }};
}

// convert_hf_to_gguf.py LlamaModel.permute: GGUF row n of head h takes HF row
// h*hd + (n%2)*(hd/2) + (n%hd)/2 (rotate-half pairs -> adjacent pairs).
std::vector<uint64_t> LlamaQkRowOrder(uint64_t rows, uint64_t heads) {
  std::vector<uint64_t> order(rows);
  const uint64_t hd = rows / heads;
  for (uint64_t n = 0; n < rows; ++n) {
    const uint64_t h = n / hd, r = n % hd;
    order[n] = h * hd + (r % 2) * (hd / 2) + r / 2;
  }
  return order;
}

// Where `file order` puts a GGUF name: token_embd, blk.0 …, blk.N, output_norm, output.
std::pair<int, std::string> OrderKey(const std::string& name, int layer) {
  if (name == "token_embd.weight") return {-1, name};
  if (layer >= 0) return {layer, name};
  return {1 << 30, name == "output_norm.weight" ? "0" : name};
}

struct ExpertSlots {
  std::map<int, TensorView> by_slot;
};

class Planner {
 public:
  Planner(const GgufNodeRequest& req, GgufArch arch, const ModelConfig& cfg)
      : req_(req), info_(*req.info), arch_(arch), cfg_(cfg) {}

  Status AddTensor(const CheckpointTensor& t) {
    ASSIGN_OR_RETURN(GgufTensorName m, MapHfTensorName(t.name, cfg_.weight_prefix));
    ASSIGN_OR_RETURN(TensorView v, ViewOf(t));
    switch (m.kind) {
      case GgufTensorName::Kind::kExpert: return AddExpert(m, v);
      case GgufTensorName::Kind::kPackedExperts: return AddPacked(m, v);
      case GgufTensorName::Kind::kPlain: break;
    }
    return AddPlain(m, v);
  }

  Status Finish(std::vector<GgufTensorSource>& out, std::vector<std::string>& widened) {
    for (auto& [key, slots] : experts_) {
      const auto& [layer, proj] = key;
      const int n = NodeExperts(layer);
      if (static_cast<int>(slots.by_slot.size()) != n) {
        return Status::Corruption("layer {}: the node exposes {} experts' {} tensors, expected {}",
                                  layer, slots.by_slot.size(), MergedExpertName(layer, proj), n);
      }
      std::vector<TensorView> views;
      for (auto& [slot, v] : slots.by_slot) {
        if (v.type != slots.by_slot.begin()->second.type ||
            v.shape != slots.by_slot.begin()->second.shape) {
          return Status::Unsupported(
              "layer {}: experts are stored in different types or shapes ({} and {}); a merged "
              "GGUF expert tensor has one type",
              layer, slots.by_slot.begin()->second.dtype_name, v.dtype_name);
        }
        views.push_back(v);
      }
      const TensorView& first = views.front();
      Push(RowSource(MergedExpertName(layer, proj), first.type,
                     {first.shape[1], first.shape[0], static_cast<uint64_t>(n)}, views, {}),
           layer);
    }
    std::sort(entries_.begin(), entries_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [key, src] : entries_) out.push_back(std::move(src));
    widened = widened_;
    return Status::Ok();
  }

 private:
  // Experts of the node's merged tensors: held ones, then proxy experts (slice mode).
  int NodeExperts(int layer) const {
    const NodeLayer& nl = info_.layers.at(layer);
    return static_cast<int>(nl.held.size() + nl.proxies.size());
  }

  // The merged-tensor slot of expert `id` as the node names it (local id in slice mode, the
  // original id in mask mode).
  Result<int> Slot(int layer, int id) const {
    auto it = info_.layers.find(layer);
    if (it == info_.layers.end()) return Status::Corruption("layer {} is not an MoE layer", layer);
    if (info_.mode == NodeMode::kSlice) {
      if (id < 0 || id >= NodeExperts(layer)) {
        return Status::Corruption("layer {}: expert {} outside the node's {}", layer, id,
                                  NodeExperts(layer));
      }
      return id;
    }
    const auto& held = it->second.held;
    auto pos = std::lower_bound(held.begin(), held.end(), id);
    if (pos == held.end() || *pos != id) {
      return Status::Corruption("layer {}: the node exposes expert {} it does not hold", layer, id);
    }
    return static_cast<int>(pos - held.begin());
  }

  void Push(GgufTensorSource src, int layer) {
    entries_.push_back({OrderKey(src.name, layer), std::move(src)});
  }

  Status AddExpert(const GgufTensorName& m, const TensorView& v) {
    if (v.shape.size() != 2)
      return Status::Corruption("{}: expected a 2-D expert weight", v.t->name);
    ASSIGN_OR_RETURN(int slot, Slot(m.layer, m.expert));
    if (!experts_[{m.layer, m.proj}].by_slot.emplace(slot, v).second) {
      return Status::Corruption("{}: a second tensor for slot {}", v.t->name, slot);
    }
    return Status::Ok();
  }

  Status AddPacked(const GgufTensorName& m, const TensorView& v) {
    if (v.t->dtype() != DType::kF32 && v.t->dtype() != DType::kBF16 &&
        v.t->dtype() != DType::kF16) {
      return Status::Unsupported(
          "{}: packed Llama-4 experts must be transposed for llama.cpp, which is exact only for "
          "F32/F16/BF16; this one is {}",
          v.t->name, v.dtype_name);
    }
    if (v.shape.size() != 3 || static_cast<int>(v.shape[0]) != NodeExperts(m.layer)) {
      return Status::Corruption("{}: expected [{} experts, ., .]", v.t->name, NodeExperts(m.layer));
    }
    if (m.proj == ExpertProj::kDown) {
      Push(TransposeSource(m.gguf, v, 0, v.shape[2]), m.layer);
      return Status::Ok();
    }
    const uint64_t half = v.shape[2] / 2;
    Push(TransposeSource(MergedExpertName(m.layer, ExpertProj::kGate), v, 0, half), m.layer);
    Push(TransposeSource(MergedExpertName(m.layer, ExpertProj::kUp), v, half, v.shape[2]), m.layer);
    return Status::Ok();
  }

  // The held experts' rows of a full router (mask-mode nodes), else empty (all rows).
  Result<std::vector<uint64_t>> RouterRows(const GgufTensorName& m, const TensorView& v) const {
    const bool router =
        m.gguf.ends_with(".ffn_gate_inp.weight") || m.gguf.ends_with(".exp_probs_b.bias");
    if (!router || info_.mode != NodeMode::kMask) return std::vector<uint64_t>{};
    const auto& held = info_.layers.at(m.layer).held;
    const uint64_t full = m.gguf.ends_with(".bias") ? v.shape.back() : v.rows;
    if (full != static_cast<uint64_t>(info_.source_num_experts)) {
      return Status::Corruption("{}: {} router entries, expected {}", v.t->name, full,
                                info_.source_num_experts);
    }
    return std::vector<uint64_t>(held.begin(), held.end());
  }

  Status AddPlain(const GgufTensorName& m, const TensorView& v) {
    ASSIGN_OR_RETURN(std::vector<uint64_t> rows, RouterRows(m, v));
    const bool half = v.type == GgmlType::kBF16 || v.type == GgmlType::kF16;
    if (v.shape.size() == 1) {
      if (half) {
        widened_.push_back(fmt::format("{}:{}", m.gguf, v.dtype_name));
        Push(WidenSource(m.gguf, v, rows), m.layer);
      } else {
        // A 1-D F32 tensor is one row: select elements as 4-byte "rows".
        TensorView elems = v;
        elems.rows = v.shape[0];
        elems.row_bytes = 4;
        Push(RowSource(m.gguf, v.type, {rows.empty() ? v.shape[0] : rows.size()}, {elems}, rows),
             m.layer);
      }
      return Status::Ok();
    }
    std::vector<uint64_t> ne = Reversed(v.shape);
    if (!rows.empty()) ne.back() = rows.size();
    if (arch_ == GgufArch::kLlama && v.shape.size() == 2 &&
        (m.gguf.ends_with(".attn_q.weight") || m.gguf.ends_with(".attn_k.weight"))) {
      const int heads = m.gguf.ends_with(".attn_q.weight") ? cfg_.attention.num_heads
                                                           : cfg_.attention.num_kv_heads;
      if (v.rows % heads != 0 || (v.rows / heads) % 2 != 0) {
        return Status::Corruption("{}: {} rows do not split into {} heads of even size", v.t->name,
                                  v.rows, heads);
      }
      rows = LlamaQkRowOrder(v.rows, heads);
    }
    Push(RowSource(m.gguf, v.type, ne, {v}, rows), m.layer);
    return Status::Ok();
  }

  const GgufNodeRequest& req_;
  const NodeInfo& info_;
  GgufArch arch_;
  const ModelConfig& cfg_;
  std::map<std::pair<int, ExpertProj>, ExpertSlots> experts_;
  std::vector<std::pair<std::pair<int, std::string>, GgufTensorSource>> entries_;
  std::vector<std::string> widened_;
};

// The config.json a GGUF reader should build the model from: the router is always sliced in
// the GGUF, so expert counts are the node's, whatever the node's mode.
Result<std::string> SlicedConfigText(const GgufNodeRequest& req) {
  NodeInfo sliced = *req.info;
  sliced.mode = NodeMode::kSlice;
  return NodeConfigText(req.config_text, sliced, "config.json");
}

std::string ShapeText(const std::vector<uint64_t>& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

}  // namespace

std::string NodeGgufFileName(const std::string& node) {
  return node + ".gguf";
}

Result<GgufNodePlan> PlanNodeGguf(const GgufNodeRequest& req) {
  const ModelConfig& node_cfg = req.node->config();
  GgufNodePlan plan;
  ASSIGN_OR_RETURN(plan.arch, GgufArchForFamily(node_cfg.family));
  {
    ASSIGN_OR_RETURN(ModelConfig source_cfg, ParseModelConfig(req.config_text, "config.json"));
    RETURN_IF_ERROR(CheckGgufExpressible(plan.arch, source_cfg, *req.info));
  }
  ASSIGN_OR_RETURN(std::string hf_config, SlicedConfigText(req));
  ASSIGN_OR_RETURN(ModelConfig cfg, ParseModelConfig(hf_config, "config.json"));
  int node_experts = 0;
  if (!req.info->layers.empty())
    node_experts = static_cast<int>(req.info->layers.begin()->second.held.size() +
                                    req.info->layers.begin()->second.proxies.size());
  ASSIGN_OR_RETURN(plan.metadata, ArchMetadata(plan.arch, cfg, node_experts, req.name));
  ASSIGN_OR_RETURN(TokenizerKeys tok, BuildTokenizerKeys(req.tokenizer, cfg.vocab_size));
  for (GgufKv& kv : tok.kvs) plan.metadata.push_back(std::move(kv));
  plan.warnings = std::move(tok.warnings);

  Planner planner(req, plan.arch, cfg);
  for (const CheckpointTensor& t : req.node->tensors())
    RETURN_IF_ERROR(planner.AddTensor(t).WithContext(req.node->dir()));
  std::vector<std::string> widened;
  RETURN_IF_ERROR(planner.Finish(plan.tensors, widened).WithContext(req.node->dir()));

  plan.metadata.push_back(
      {std::string(kGgufFormatVersionKey), GgufValue::U32(kGgufNodeFormatVersion)});
  plan.metadata.push_back({std::string(kGgufHfConfigKey), GgufValue::String(hf_config)});
  plan.metadata.push_back({std::string(kGgufNodeInfoKey),
                           GgufValue::String(DumpJsonStable(NodeInfoToJson(*req.info)))});
  plan.metadata.push_back(
      {std::string(kGgufWidenedKey), GgufValue::Array(GgufArray::Strings(widened))});
  return plan;
}

Result<WrittenFile> WriteNodeGguf(const std::string& dist, const std::string& relative,
                                  const GgufNodePlan& plan) {
  const std::string path = dist + "/" + relative;
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path));
  HashingSink hashing(&file);
  RETURN_IF_ERROR(WriteGguf(plan.metadata, plan.tensors, hashing).WithContext(path));
  RETURN_IF_ERROR(file.Commit());
  ASSIGN_OR_RETURN(std::string digest, hashing.FinishHex());
  const uint64_t size = hashing.bytes_written();

  // Reliability row 16: re-read by the strict reader and compared with the plan.
  ASSIGN_OR_RETURN(std::shared_ptr<const GgufFile> back, GgufFile::Open(path));
  if (back->metadata() != plan.metadata) {
    return Status::Corruption("{}: metadata reads back differently", path);
  }
  if (back->tensors().size() != plan.tensors.size()) {
    return Status::Corruption("{}: {} tensors read back, wrote {}", path, back->tensors().size(),
                              plan.tensors.size());
  }
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const GgufTensorInfo& got = back->tensors()[i];
    const GgufTensorSource& want = plan.tensors[i];
    if (got.name != want.name || got.type != want.type || got.ne != want.ne) {
      return Status::Corruption("{}: tensor {} reads back as {} {} {}, wrote {} {} {}", path, i,
                                got.name, GgmlTypeName(got.type), ShapeText(got.ne), want.name,
                                GgmlTypeName(want.type), ShapeText(want.ne));
    }
  }
  return WrittenFile{relative, size, std::move(digest), file.stamp()};
}

}  // namespace moedist
