#include "formats/safetensors_reader.h"

#include <algorithm>
#include <cstring>

#include "core/checked_math.h"
#include "core/json_strict.h"

namespace moedist {
namespace {

uint64_t ReadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A JSON integer that fits in uint64 (nlohmann stores non-negative literals as unsigned).
bool AsUint64(const nlohmann::json& j, uint64_t* out) {
  if (j.is_number_unsigned()) {
    *out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(j.get<int64_t>());
    return true;
  }
  return false;
}

Result<SafetensorsTensor> ParseTensorEntry(const std::string& name, const nlohmann::json& entry) {
  if (!entry.is_object()) {
    return Status::Corruption("tensor \"{}\": header entry is {}, expected an object", name,
                              entry.type_name());
  }
  for (const auto& [key, value] : entry.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      return Status::Corruption("tensor \"{}\": unexpected field \"{}\" (expected dtype, shape, "
                                "data_offsets)",
                                name, key);
    }
  }
  SafetensorsTensor t;
  t.name = name;
  auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) {
    return Status::Corruption("tensor \"{}\": missing or non-string \"dtype\"", name);
  }
  auto dtype = DTypeFromSafetensorsName(dtype_it->get<std::string>());
  if (!dtype) {
    return Status::Unsupported("tensor \"{}\": unknown dtype \"{}\"", name,
                               dtype_it->get<std::string>());
  }
  t.dtype = *dtype;

  auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) {
    return Status::Corruption("tensor \"{}\": missing or non-array \"shape\"", name);
  }
  for (const auto& dim : *shape_it) {
    uint64_t d;
    if (!AsUint64(dim, &d)) {
      return Status::Corruption("tensor \"{}\": shape has {} where a non-negative integer was "
                                "expected",
                                name, dim.dump());
    }
    t.shape.push_back(d);
  }

  auto off_it = entry.find("data_offsets");
  if (off_it == entry.end() || !off_it->is_array() || off_it->size() != 2 ||
      !AsUint64((*off_it)[0], &t.data_begin) || !AsUint64((*off_it)[1], &t.data_end)) {
    return Status::Corruption("tensor \"{}\": \"data_offsets\" must be [begin, end] with "
                              "non-negative integers",
                              name);
  }
  if (t.data_end < t.data_begin) {
    return Status::Corruption("tensor \"{}\": data_offsets end {} < begin {}", name, t.data_end,
                              t.data_begin);
  }
  auto elements = CheckedProduct(t.shape);
  if (!elements) {
    return Status::Corruption("tensor \"{}\": shape element count overflows 64 bits", name);
  }
  auto nbytes = DTypeStorageBytes(t.dtype, *elements);
  if (!nbytes) {
    return Status::Corruption("tensor \"{}\": {} elements of {} overflow 64 bits or do not fill "
                              "whole bytes",
                              name, *elements, DTypeName(t.dtype));
  }
  if (t.data_end - t.data_begin != *nbytes) {
    return Status::Corruption("tensor \"{}\": data_offsets span {} bytes but shape and dtype {} "
                              "need {}",
                              name, t.data_end - t.data_begin, DTypeName(t.dtype), *nbytes);
  }
  return t;
}

}  // namespace

uint64_t SafetensorsTensor::num_elements() const {
  return CheckedProduct(shape).value_or(0);  // validated at parse time
}

Result<std::shared_ptr<const SafetensorsFile>> SafetensorsFile::Open(const std::string& path,
                                                                     SafetensorsLimits limits) {
  ASSIGN_OR_RETURN(auto mapping, MappedFile::Open(path));
  auto bytes = mapping->bytes();
  return Parse(std::move(mapping), bytes, path, limits);
}

Result<std::shared_ptr<const SafetensorsFile>> SafetensorsFile::Parse(
    std::shared_ptr<const MappedFile> mapping, std::span<const uint8_t> bytes, std::string source,
    SafetensorsLimits limits) {
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->mapping_ = std::move(mapping);
  file->bytes_ = bytes;
  file->source_ = std::move(source);
  RETURN_IF_ERROR(file->ParseHeader(limits).WithContext(file->source_));
  return std::shared_ptr<const SafetensorsFile>(std::move(file));
}

Status SafetensorsFile::ParseHeader(SafetensorsLimits limits) {
  // Check 1: room for the length prefix.
  if (bytes_.size() < 8) {
    return Status::Corruption("file is {} bytes; a safetensors file starts with an 8-byte "
                              "little-endian header length",
                              bytes_.size());
  }
  // Check 2: header length within the cap and within the file (no N+8 overflow possible
  // because N is compared against size-8 first).
  const uint64_t n = ReadLe64(bytes_.data());
  if (n > bytes_.size() - 8) {
    return Status::Corruption("header length {} at offset 0 exceeds the {} bytes after the "
                              "length prefix",
                              n, bytes_.size() - 8);
  }
  if (n > limits.max_header_bytes) {
    return Status::Corruption("header length {} exceeds the {} byte limit", n,
                              limits.max_header_bytes);
  }
  header_size_ = n;
  std::string_view header(reinterpret_cast<const char*>(bytes_.data() + 8), n);
  // Check 3: the header is a JSON object starting at its first byte.
  if (header.empty() || header[0] != '{') {
    return Status::Corruption("header at offset 8 does not start with '{{'");
  }
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJsonStrict(header, "header"));
  if (!root.is_object()) return Status::Corruption("header is not a JSON object");

  // Check 4: per-entry structure, dtype, shape arithmetic, size = shape × dtype.
  for (const auto& [name, entry] : root.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return Status::Corruption("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) {
          return Status::Corruption("__metadata__[\"{}\"] is {}, expected a string", k,
                                    v.type_name());
        }
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    ASSIGN_OR_RETURN(SafetensorsTensor t, ParseTensorEntry(name, entry));
    tensors_.push_back(std::move(t));
  }

  // Check 5: offsets tile the data section exactly: start at 0, no gap, no overlap, end at the
  // end of the file. Sorting by (begin, end) puts zero-size tensors before the tensor that
  // starts at the same offset.
  std::sort(tensors_.begin(), tensors_.end(), [](const auto& a, const auto& b) {
    return std::tie(a.data_begin, a.data_end, a.name) < std::tie(b.data_begin, b.data_end, b.name);
  });
  const uint64_t data_size = bytes_.size() - 8 - n;
  uint64_t expected_begin = 0;
  for (const SafetensorsTensor& t : tensors_) {
    if (t.data_begin > expected_begin) {
      return Status::Corruption("gap in data: tensor \"{}\" begins at {} but the previous "
                                "tensor ends at {}",
                                t.name, t.data_begin, expected_begin);
    }
    if (t.data_begin < expected_begin) {
      return Status::Corruption("tensor \"{}\" at data offset {} overlaps the previous tensor, "
                                "which ends at {}",
                                t.name, t.data_begin, expected_begin);
    }
    expected_begin = t.data_end;
  }
  if (expected_begin > data_size) {
    return Status::Corruption("truncated: tensors need {} data bytes but the file holds {} after "
                              "the header (file offset {})",
                              expected_begin, data_size, data_offset());
  }
  if (expected_begin < data_size) {
    return Status::Corruption("{} trailing bytes after the last tensor (file offset {})",
                              data_size - expected_begin, data_offset() + expected_begin);
  }
  for (size_t i = 0; i < tensors_.size(); ++i) by_name_[tensors_[i].name] = i;
  return Status::Ok();
}

const SafetensorsTensor* SafetensorsFile::Find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> SafetensorsFile::TensorBytes(const SafetensorsTensor& t) const {
  return bytes_.subspan(data_offset() + t.data_begin, t.num_bytes());
}

}  // namespace moedist
