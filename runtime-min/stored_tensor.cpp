#include "runtime-min/stored_tensor.h"

#include "core/checked_math.h"
#include "core/json_strict.h"

namespace moedist {
namespace {

std::string ShapeText(const std::vector<uint64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// "tensor "X" (stored as "Y") in FILE": where a bad quantized tensor is, for every message.
std::string Where(const CheckpointTensor& t) {
  if (t.name == t.info->name) return fmt::format("tensor \"{}\" in {}", t.name, t.shard->path());
  return fmt::format("tensor \"{}\" (stored as \"{}\") in {}", t.name, t.info->name,
                     t.shard->path());
}

Result<QuantMetadata> ParseQuantMetadataJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::Corruption("is not a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "type" && key != "shape" && key != "source_dtype") {
      return Status::Corruption("has unknown field \"{}\" (expected type, shape, source_dtype)",
                                key);
    }
  }
  QuantMetadata m;
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return Status::Corruption("has no string \"type\"");
  Result<QuantType> parsed = ParseQuantType(type->get<std::string>());
  if (!parsed.ok()) return Status::Corruption("\"type\": {}", parsed.status().message());
  m.type = *parsed;
  auto shape = j.find("shape");
  if (shape == j.end() || !shape->is_array() || shape->empty()) {
    return Status::Corruption("has no non-empty \"shape\" array");
  }
  for (const auto& d : *shape) {
    if (!d.is_number_unsigned()) {
      return Status::Corruption("\"shape\" {} holds a value that is not a non-negative integer",
                                shape->dump());
    }
    m.shape.push_back(d.get<uint64_t>());
  }
  auto source = j.find("source_dtype");
  if (source != j.end() && !source->is_string()) {
    return Status::Corruption("\"source_dtype\" is not a string");
  }
  return m;
}

}  // namespace

Result<QuantMetadata> ParseQuantMetadata(std::string_view text) {
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(text, "moedist.quant metadata"));
  return ParseQuantMetadataJson(j);
}

Result<StoredTensor> ReadStoredTensor(const CheckpointTensor& t) {
  const std::string key = std::string(kQuantMetadataKeyPrefix) + t.info->name;
  const auto& metadata = t.shard->metadata();
  const auto entry = metadata.find(key);
  if (entry == metadata.end()) {
    switch (t.dtype()) {
      case DType::kF32: return StoredTensor{t.bytes(), QuantType::kF32, t.shape()};
      case DType::kF16: return StoredTensor{t.bytes(), QuantType::kF16, t.shape()};
      case DType::kBF16: return StoredTensor{t.bytes(), QuantType::kBF16, t.shape()};
      case DType::kU8:
        return Status::Corruption(
            "{} is U8 with no \"{}\" entry in the shard's __metadata__, so "
            "its encoding is unknown (docs/formats/bundle.md)",
            Where(t), key);
      default:
        return Status::Unsupported(
            "tensor \"{}\" has dtype {}; runtime-min computes with F32, "
            "BF16 or F16 weights or moedist.quant block types",
            t.name, DTypeName(t.dtype()));
    }
  }
  Result<QuantMetadata> m = ParseQuantMetadata(entry->second);
  if (!m.ok()) {
    return Status::Corruption("{}: __metadata__ \"{}\" {}", Where(t), key, m.status().message());
  }
  if (t.dtype() != DType::kU8 || t.shape().size() != 1) {
    return Status::Corruption("{} has __metadata__ \"{}\" but is {} {}, expected U8 [bytes]",
                              Where(t), key, DTypeName(t.dtype()), ShapeText(t.shape()));
  }
  const std::vector<uint64_t>& shape = m->shape;
  const std::optional<uint64_t> rows = CheckedProduct(std::span(shape.data(), shape.size() - 1));
  if (!rows) {
    return Status::Corruption("{}: logical shape {} overflows 64 bits", Where(t), ShapeText(shape));
  }
  Result<uint64_t> bytes = QuantTensorBytes(m->type, *rows, shape.back());
  if (!bytes.ok()) return Status::Corruption("{}: {}", Where(t), bytes.status().message());
  if (*bytes != t.num_bytes()) {
    return Status::Corruption("{} holds {} bytes, but {} of logical shape {} takes {}", Where(t),
                              t.num_bytes(), QuantTypeName(m->type), ShapeText(shape), *bytes);
  }
  return StoredTensor{t.bytes(), m->type, shape};
}

}  // namespace moedist
