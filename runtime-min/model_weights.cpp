#include "runtime-min/model_weights.h"

#include <string>

#include "runtime-min/kernels.h"
#include "runtime-min/matmul.h"
#include "runtime-min/stored_tensor.h"

namespace moedist {
namespace {

using Shape = std::vector<uint64_t>;

std::string ShapeText(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// The spellings that differ between families.
struct FamilyNames {
  const char* ffn;  // the MoE / MLP block
  const char* router;
  const char* gate;  // expert projection names
  const char* up;
  const char* down;
  const char* shared;  // shared expert block, or nullptr
};

FamilyNames NamesFor(const ModelConfig& c) {
  switch (c.family) {
    case Family::kMixtral: return {"block_sparse_moe", "gate", "w1", "w3", "w2", nullptr};
    case Family::kQwen2Moe:
      return {"mlp", "gate", "gate_proj", "up_proj", "down_proj", "shared_expert"};
    case Family::kDeepseekV3:
      return {"mlp", "gate", "gate_proj", "up_proj", "down_proj", "shared_experts"};
    case Family::kLlama4:
      return {"feed_forward", "router", "gate_proj", "up_proj", "down_proj", "shared_expert"};
    default: return {"mlp", "gate", "gate_proj", "up_proj", "down_proj", nullptr};
  }
}

// A view of `t`'s stored rows of `row_length` values starting at stored row `first_row`:
// `out` x `in` (in_major: the stored rows are the `in` input features).
Result<WeightMatrix> RowsOf(const StoredTensor& t, uint64_t first_row, uint64_t out, uint64_t in,
                            bool in_major) {
  ASSIGN_OR_RETURN(uint64_t row_bytes, QuantRowBytes(t.type, t.shape.back()));
  return WeightMatrix{t.bytes.data() + first_row * row_bytes,
                      t.type,
                      static_cast<int64_t>(out),
                      static_cast<int64_t>(in),
                      in_major,
                      static_cast<int64_t>(row_bytes),
                      0};
}

class Binder {
 public:
  // `ckpt`, when the tensors come from a checkpoint, names shards in messages.
  Binder(const TensorLookup& lookup, const std::string& source, bool experts_may_be_absent,
         const Checkpoint* ckpt)
      : lookup_(lookup),
        source_(source),
        experts_may_be_absent_(experts_may_be_absent),
        ckpt_(ckpt) {}

  bool experts_may_be_absent() const { return experts_may_be_absent_; }

  // A lookup error counts as present, so Get reports it.
  bool Has(const std::string& name) const {
    Result<std::optional<StoredTensor>> t = lookup_(name);
    return !t.ok() || t->has_value();
  }

  // The tensor's bytes, encoding and logical shape (stored_tensor.h), the shape checked.
  Result<StoredTensor> Get(const std::string& name, const Shape& shape) const {
    ASSIGN_OR_RETURN(std::optional<StoredTensor> found, lookup_(name));
    // The model's config requires it, so its absence is malformed input (exit 3, as inspect and
    // pack report it), not a missing file; the caller names the checkpoint.
    if (!found) {
      return Status::Corruption("tensor \"{}\" not found (the config requires it)", name);
    }
    StoredTensor st = std::move(*found);
    const CheckpointTensor* t = ckpt_ ? ckpt_->Find(name) : nullptr;
    if (st.shape != shape && t != nullptr && t->dtype() == DType::kU8) {
      return Status::Corruption(
          "tensor \"{}\" has logical shape {} (its moedist.quant metadata "
          "in {}), expected {} from config.json",
          name, ShapeText(st.shape), t->shard->path(), ShapeText(shape));
    }
    if (st.shape != shape) {
      // Name the shard: in a sharded or node checkpoint the tensor name alone does not say
      // which file to look at.
      return Status::Corruption("tensor \"{}\"{} has shape {}, expected {} from config.json", name,
                                t != nullptr ? " in " + t->shard->path() : std::string(),
                                ShapeText(st.shape), ShapeText(shape));
    }
    return st;
  }

  // A [out, in] nn.Linear weight.
  Result<WeightMatrix> Matrix(const std::string& name, uint64_t out, uint64_t in) const {
    ASSIGN_OR_RETURN(StoredTensor t, Get(name, {out, in}));
    return RowsOf(t, 0, out, in, false);
  }

  // "<base>.weight" plus "<base>.bias" when the checkpoint has one.
  Result<Linear> LinearAt(const std::string& base, uint64_t out, uint64_t in) const {
    Linear l;
    ASSIGN_OR_RETURN(l.w, Matrix(base + ".weight", out, in));
    if (Has(base + ".bias")) {
      ASSIGN_OR_RETURN(l.bias, Vector(base + ".bias", out));
    }
    return l;
  }

  Result<std::vector<float>> Vector(const std::string& name, uint64_t n) const {
    ASSIGN_OR_RETURN(StoredTensor t, Get(name, {n}));
    ASSIGN_OR_RETURN(WeightMatrix row, RowsOf(t, 0, 1, n, false));
    std::vector<float> v(n);
    DecodeWeightRow(row, 0, 0, static_cast<int64_t>(n), v.data());
    return v;
  }

  Result<MlpWeights> Mlp(const std::string& base, const FamilyNames& nm, uint64_t h,
                         uint64_t width) const {
    MlpWeights m;
    ASSIGN_OR_RETURN(m.gate, Matrix(base + "." + nm.gate + ".weight", width, h));
    ASSIGN_OR_RETURN(m.up, Matrix(base + "." + nm.up + ".weight", width, h));
    ASSIGN_OR_RETURN(m.down, Matrix(base + "." + nm.down + ".weight", h, width));
    return m;
  }

 private:
  const TensorLookup& lookup_;
  const std::string& source_;
  bool experts_may_be_absent_;
  const Checkpoint* ckpt_;
};

Status LoadGqa(const Binder& b, const ModelConfig& c, const std::string& p, AttentionWeights& a) {
  const AttentionConfig& ac = c.attention;
  const uint64_t h = c.hidden_size, q = uint64_t(ac.num_heads) * ac.head_dim,
                 kv = uint64_t(ac.num_kv_heads) * ac.head_dim;
  ASSIGN_OR_RETURN(a.q, b.LinearAt(p + "q_proj", q, h));
  ASSIGN_OR_RETURN(a.k, b.LinearAt(p + "k_proj", kv, h));
  ASSIGN_OR_RETURN(a.v, b.LinearAt(p + "v_proj", kv, h));
  ASSIGN_OR_RETURN(a.o, b.LinearAt(p + "o_proj", h, q));
  if (ac.qkv_bias && (a.q.bias.empty() || a.k.bias.empty() || a.v.bias.empty())) {
    return Status::Corruption(
        "{}: config says q/k/v have biases but {}q_proj.bias, k_proj.bias "
        "or v_proj.bias is missing",
        p, p);
  }
  if (ac.qk_norm == AttentionConfig::QkNorm::kPerHead) {
    ASSIGN_OR_RETURN(a.q_norm, b.Vector(p + "q_norm.weight", ac.head_dim));
    ASSIGN_OR_RETURN(a.k_norm, b.Vector(p + "k_norm.weight", ac.head_dim));
  } else if (ac.qk_norm == AttentionConfig::QkNorm::kWhole) {
    ASSIGN_OR_RETURN(a.q_norm, b.Vector(p + "q_norm.weight", q));
    ASSIGN_OR_RETURN(a.k_norm, b.Vector(p + "k_norm.weight", kv));
  }
  return Status::Ok();
}

Status LoadMla(const Binder& b, const ModelConfig& c, const std::string& p, AttentionWeights& a) {
  const AttentionConfig& ac = c.attention;
  const uint64_t h = c.hidden_size, nh = ac.num_heads;
  const uint64_t qk = ac.qk_nope_head_dim + ac.qk_rope_head_dim;
  if (ac.q_lora_rank > 0) {
    ASSIGN_OR_RETURN(a.q_a, b.LinearAt(p + "q_a_proj", ac.q_lora_rank, h));
    ASSIGN_OR_RETURN(a.q_a_norm, b.Vector(p + "q_a_layernorm.weight", ac.q_lora_rank));
    ASSIGN_OR_RETURN(a.q_b, b.LinearAt(p + "q_b_proj", nh * qk, ac.q_lora_rank));
  } else {
    ASSIGN_OR_RETURN(a.q, b.LinearAt(p + "q_proj", nh * qk, h));
  }
  ASSIGN_OR_RETURN(a.kv_a,
                   b.LinearAt(p + "kv_a_proj_with_mqa", ac.kv_lora_rank + ac.qk_rope_head_dim, h));
  ASSIGN_OR_RETURN(a.kv_a_norm, b.Vector(p + "kv_a_layernorm.weight", ac.kv_lora_rank));
  ASSIGN_OR_RETURN(a.kv_b, b.LinearAt(p + "kv_b_proj", nh * (ac.qk_nope_head_dim + ac.v_head_dim),
                                      ac.kv_lora_rank));
  ASSIGN_OR_RETURN(a.o, b.LinearAt(p + "o_proj", h, nh * ac.v_head_dim));
  return Status::Ok();
}

// Packed experts: one tensor per projection with experts along axis 0. Each expert's gate / up
// / down is a view; fused gate_up tensors are split into their two halves. Block-quantized
// packed tensors (pack quantizes rows of the last dimension) are views the same way: Llama-4's
// gate_up [E, H, 2I] has stored rows of 2I values, the up half starting I values in, whether or
// not I is a multiple of the block (DecodeWeightRow decodes the blocks a range touches).
Status LoadPackedExperts(const Binder& b, const ModelConfig& c, const std::string& p,
                         MoeWeights& m) {
  const uint64_t e = c.routing.num_experts, h = c.hidden_size, i = c.moe_intermediate_size;
  const bool llama4 = c.expert_layout == ExpertLayout::kPackedLlama4;
  // Llama-4: gate_up [E, H, 2I] (used as x @ W), down [E, I, H]. v5: gate_up [E, 2I, H], down
  // [E, H, I] (nn.Linear layout).
  ASSIGN_OR_RETURN(StoredTensor gu, b.Get(p + "experts.gate_up_proj",
                                          llama4 ? Shape{e, h, 2 * i} : Shape{e, 2 * i, h}));
  ASSIGN_OR_RETURN(StoredTensor dn,
                   b.Get(p + "experts.down_proj", llama4 ? Shape{e, i, h} : Shape{e, h, i}));
  m.experts.resize(e);
  for (uint64_t x = 0; x < e; ++x) {
    MlpWeights& w = m.experts[x];
    if (llama4) {  // stored rows: H input rows of 2I, then I input rows of H, per expert
      ASSIGN_OR_RETURN(w.gate, RowsOf(gu, x * h, i, h, true));
      w.up = w.gate;
      w.up.col_offset = static_cast<int64_t>(i);
      ASSIGN_OR_RETURN(w.down, RowsOf(dn, x * i, h, i, true));
    } else {  // stored rows: I gate rows then I up rows of H, then H down rows of I
      ASSIGN_OR_RETURN(w.gate, RowsOf(gu, x * 2 * i, i, h, false));
      ASSIGN_OR_RETURN(w.up, RowsOf(gu, x * 2 * i + i, i, h, false));
      ASSIGN_OR_RETURN(w.down, RowsOf(dn, x * h, h, i, false));
    }
  }
  return Status::Ok();
}

Status LoadMoe(const Binder& b, const ModelConfig& c, const FamilyNames& nm, const std::string& p,
               MoeWeights& m) {
  const uint64_t h = c.hidden_size, e = c.routing.num_experts;
  ASSIGN_OR_RETURN(m.router, b.LinearAt(p + nm.router, e, h));
  if (c.routing.correction_bias) {
    ASSIGN_OR_RETURN(m.score_bias, b.Vector(p + nm.router + ".e_score_correction_bias", e));
  }
  const bool packed = c.expert_layout == ExpertLayout::kPackedLlama4 ||
                      c.expert_layout == ExpertLayout::kPackedFusedV5 ||
                      b.Has(p + "experts.gate_up_proj");
  if (packed) {
    RETURN_IF_ERROR(LoadPackedExperts(b, c, p, m));
  } else {
    m.experts.resize(e);
    for (uint64_t x = 0; x < e; ++x) {
      const std::string base = p + "experts." + std::to_string(x) + ".";
      if (b.experts_may_be_absent() && !b.Has(base + nm.gate + ".weight") &&
          !b.Has(base + nm.up + ".weight") && !b.Has(base + nm.down + ".weight")) {
        m.absent.push_back(static_cast<int>(x));  // a mask-mode node does not hold it
        continue;
      }
      ASSIGN_OR_RETURN(m.experts[x],
                       b.Mlp(base.substr(0, base.size() - 1), nm, h, c.moe_intermediate_size));
    }
  }
  if (c.routing.num_shared_experts > 0 && nm.shared) {
    m.has_shared = true;
    ASSIGN_OR_RETURN(m.shared, b.Mlp(p + nm.shared, nm, h, c.shared_intermediate_size));
  }
  if (c.routing.shared_expert_gate) {
    ASSIGN_OR_RETURN(m.shared_gate, b.LinearAt(p + "shared_expert_gate", 1, h));
  }
  return Status::Ok();
}

}  // namespace

void ApplyLinear(const Linear& l, const float* x, int64_t n, float* y) {
  MatMul(x, n, l.w, y);
  if (l.bias.empty()) return;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t o = 0; o < l.w.out; ++o) y[t * l.w.out + o] += l.bias[o];
  }
}

static Result<ModelWeights> BindAll(const Binder& b, const ModelConfig& c);

Result<ModelWeights> LoadModelWeights(const Checkpoint& ckpt, const WeightLoadOptions& options) {
  const TensorLookup lookup =
      [&ckpt](const std::string& name) -> Result<std::optional<StoredTensor>> {
    const CheckpointTensor* t = ckpt.Find(name);
    if (!t) return std::optional<StoredTensor>();
    ASSIGN_OR_RETURN(StoredTensor st, ReadStoredTensor(*t));
    return std::optional<StoredTensor>(std::move(st));
  };
  return BindAll(Binder(lookup, ckpt.dir(), options.experts_may_be_absent, &ckpt), ckpt.config());
}

Result<ModelWeights> LoadModelWeights(const ModelConfig& c, const std::string& source,
                                      const TensorLookup& lookup,
                                      const WeightLoadOptions& options) {
  return BindAll(Binder(lookup, source, options.experts_may_be_absent, nullptr), c);
}

static Result<ModelWeights> BindAll(const Binder& b, const ModelConfig& c) {
  const FamilyNames nm = NamesFor(c);
  const uint64_t h = c.hidden_size, v = c.vocab_size;
  const std::string base = c.weight_prefix + "model.";
  ModelWeights w;
  ASSIGN_OR_RETURN(w.embed, b.Matrix(base + "embed_tokens.weight", v, h));
  ASSIGN_OR_RETURN(w.final_norm, b.Vector(base + "norm.weight", h));
  if (c.tie_word_embeddings && !b.Has(c.weight_prefix + "lm_head.weight")) {
    w.lm_head.w = w.embed;
  } else {
    ASSIGN_OR_RETURN(w.lm_head, b.LinearAt(c.weight_prefix + "lm_head", v, h));
  }
  w.layers.resize(c.num_layers);
  for (int l = 0; l < c.num_layers; ++l) {
    const std::string p = base + "layers." + std::to_string(l) + ".";
    LayerWeights& lw = w.layers[l];
    ASSIGN_OR_RETURN(lw.attn_norm, b.Vector(p + "input_layernorm.weight", h));
    ASSIGN_OR_RETURN(lw.ffn_norm, b.Vector(p + "post_attention_layernorm.weight", h));
    if (c.attention.kind == AttentionKind::kMla) {
      RETURN_IF_ERROR(LoadMla(b, c, p + "self_attn.", lw.attn));
    } else {
      RETURN_IF_ERROR(LoadGqa(b, c, p + "self_attn.", lw.attn));
    }
    lw.is_moe = c.is_moe_layer[l];
    const std::string ffn = p + nm.ffn + ".";
    if (lw.is_moe) {
      RETURN_IF_ERROR(LoadMoe(b, c, nm, ffn, lw.moe));
    } else {
      ASSIGN_OR_RETURN(lw.dense, b.Mlp(p + nm.ffn, nm, h, c.intermediate_size));
    }
  }
  return w;
}

}  // namespace moedist
