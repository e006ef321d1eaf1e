#include "runtime-min/eval_io.h"

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "formats/safetensors_writer.h"

namespace moedist {

Result<std::vector<std::vector<int32_t>>> ParseTokenIdBatches(std::string_view text,
                                                              std::string_view source,
                                                              int vocab_size) {
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJsonStrict(text, source));
  if (!root.is_array() || root.empty()) {
    return Status::Corruption("{}: expected a non-empty JSON array of token-id arrays", source);
  }
  std::vector<std::vector<int32_t>> out;
  for (size_t b = 0; b < root.size(); ++b) {
    const nlohmann::json& seq = root[b];
    if (!seq.is_array() || seq.empty()) {
      return Status::Corruption("{}: sequence {} is {}, expected a non-empty array of token ids",
                                source, b, seq.is_array() ? "empty" : seq.dump());
    }
    std::vector<int32_t> ids;
    for (size_t s = 0; s < seq.size(); ++s) {
      if (!seq[s].is_number_integer()) {
        return Status::Corruption("{}: sequence {}, position {}: {} is not a token id", source, b,
                                  s, seq[s].dump());
      }
      const int64_t id = seq[s].get<int64_t>();
      if (id < 0 || id >= vocab_size) {
        return Status::Corruption("{}: sequence {}, position {}: token id {} is out of "
                                       "range (vocab_size {})",
                                       source, b, s, id, vocab_size);
      }
      ids.push_back(static_cast<int32_t>(id));
    }
    out.push_back(std::move(ids));
  }
  return out;
}

Result<std::vector<std::vector<int32_t>>> LoadTokenIdBatches(const std::string& path,
                                                             int vocab_size) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, uint64_t{1} << 30));
  return ParseTokenIdBatches(text, path, vocab_size);
}

void SelectionRecorder::OnRouting(const RoutingBatch& b) {
  auto& rows = experts_[b.layer];
  const int64_t end = base_ + b.first_position + b.num_tokens;
  if (static_cast<int64_t>(rows.size()) < end) rows.resize(end);
  for (int t = 0; t < b.num_tokens; ++t) {
    rows[base_ + b.first_position + t].assign(b.experts + t * b.top_k,
                                              b.experts + (t + 1) * b.top_k);
  }
  next_ = std::max(next_, end);
}

nlohmann::json SelectionRecorder::ToJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [layer, rows] : experts_) out[std::to_string(layer)] = rows;
  return out;
}

Status WriteLogitsSafetensors(const std::string& path, const std::vector<float>& logits,
                              uint64_t batch, uint64_t seq_len, uint64_t vocab) {
  if (logits.size() != batch * seq_len * vocab) {
    return Status::Internal("logits hold {} values, expected {} x {} x {}", logits.size(), batch,
                            seq_len, vocab);
  }
  std::vector<SafetensorsSource> sources;
  sources.push_back(SourceFromBytes(
      "logits", DType::kF32, {batch, seq_len, vocab},
      std::span(reinterpret_cast<const uint8_t*>(logits.data()), logits.size() * sizeof(float))));
  return WriteSafetensorsFile(path, std::move(sources), {{"format", "pt"}});
}

}  // namespace moedist
