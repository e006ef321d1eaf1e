// GgufFile: a strict reader for GGUF version 2 and 3 files (docs/formats/gguf.md).
//
// Layout: magic "GGUF", version, tensor_count, kv_count, the metadata key/value pairs, the tensor
// infos, zero padding to the alignment, then the data section in which every tensor sits at its
// aligned offset. The reader is a checklist: each rule of reliability.md rows 12–15 is one named
// check, every count, length and size is bounded by the bytes that actually remain (with checked
// arithmetic) before anything is reserved, and all checks run before the file is handed out.
// Metadata is copied into GgufValue objects (bounded by GgufLimits); tensor bytes are views into
// the mapped file, never copies, and a view keeps the mapping alive.
//
// Policies (what ggml leaves open): zero-sized dims are accepted (ggml allows them; their view is
// an empty span); every padding byte must be zero; the file must end exactly at the last tensor's
// padded end (both reference writers pad the last tensor); nested arrays are accepted up to
// GgufLimits::max_array_depth; strings must be valid UTF-8 and bools 0 or 1 (the spec's rules).
// Thread safety: immutable after Open(); any thread may read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "core/status.h"
#include "formats/gguf_types.h"
#include "formats/gguf_value.h"

namespace moedist {

// Bounds on what a file may make the reader hold in memory. Defaults are far above any real
// model (a 256k-token vocabulary's whole header is ~20 MB) and far below what hurts.
struct GgufLimits {
  uint64_t max_header_bytes = 128ull << 20;      // everything before the data section
  uint64_t max_string_bytes = 64ull << 20;       // one string value
  uint64_t max_array_elements = 64ull << 20;     // one array
  uint32_t max_array_depth = 4;                  // nested arrays, outermost counts 1
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // ggml dims, ne[0] is the row (fastest varying); at most 4
  GgmlType type;
  uint64_t offset;     // relative to the start of the data section; aligned
  uint64_t elements;   // product of ne
  uint64_t num_bytes;  // exact size, without padding
};

class GgufFile {
 public:
  // Maps and validates `path`.
  static Result<std::shared_ptr<const GgufFile>> Open(const std::string& path,
                                                      GgufLimits limits = {});
  // Validates an already-mapped file (or test/fuzz bytes: `mapping` may be null, in which case
  // `bytes` must outlive the result). Every error message starts with `source`.
  static Result<std::shared_ptr<const GgufFile>> Parse(std::shared_ptr<const MappedFile> mapping,
                                                       std::span<const uint8_t> bytes,
                                                       std::string source,
                                                       GgufLimits limits = {});

  const std::string& path() const { return source_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return bytes_.size(); }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute offset of the data section

  // Metadata in file order, and lookups by key.
  const std::vector<GgufKv>& metadata() const { return kvs_; }
  const GgufValue* FindValue(std::string_view key) const;
  // Typed getters: NotFound if the key is absent, Corruption naming both types if the value has
  // another type.
  Result<uint8_t> GetU8(std::string_view key) const { return GetScalar<uint8_t>(key); }
  Result<int8_t> GetI8(std::string_view key) const { return GetScalar<int8_t>(key); }
  Result<uint16_t> GetU16(std::string_view key) const { return GetScalar<uint16_t>(key); }
  Result<int16_t> GetI16(std::string_view key) const { return GetScalar<int16_t>(key); }
  Result<uint32_t> GetU32(std::string_view key) const { return GetScalar<uint32_t>(key); }
  Result<int32_t> GetI32(std::string_view key) const { return GetScalar<int32_t>(key); }
  Result<float> GetF32(std::string_view key) const { return GetScalar<float>(key); }
  Result<bool> GetBool(std::string_view key) const { return GetScalar<bool>(key); }
  Result<uint64_t> GetU64(std::string_view key) const { return GetScalar<uint64_t>(key); }
  Result<int64_t> GetI64(std::string_view key) const { return GetScalar<int64_t>(key); }
  Result<double> GetF64(std::string_view key) const { return GetScalar<double>(key); }
  Result<std::string_view> GetString(std::string_view key) const;
  // The array, optionally requiring its element type.
  Result<const GgufArray*> GetArray(std::string_view key) const;
  Result<const GgufArray*> GetArray(std::string_view key, GgufValueType element_type) const;

  // Tensors in file order (which is also data order).
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(std::string_view name) const;
  // The tensor's bytes inside the mapping (num_bytes long, padding excluded).
  std::span<const uint8_t> TensorBytes(const GgufTensorInfo& tensor) const;
  const std::shared_ptr<const MappedFile>& mapping() const { return mapping_; }

 private:
  friend class GgufParser;
  GgufFile() = default;
  Result<const GgufValue*> GetTyped(std::string_view key, GgufValueType type) const;
  template <typename T>
  Result<T> GetScalar(std::string_view key) const {
    ASSIGN_OR_RETURN(const GgufValue* v, GetTyped(key, GgufTypeOf<T>::value));
    return *v->Get<T>();
  }

  std::shared_ptr<const MappedFile> mapping_;
  std::span<const uint8_t> bytes_;
  std::string source_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKv> kvs_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace moedist
