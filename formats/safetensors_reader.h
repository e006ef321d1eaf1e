// SafetensorsFile: a strict reader for the safetensors format (docs/formats/safetensors.md).
//
// Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON (an object mapping tensor
// names to {dtype, shape, data_offsets} plus an optional "__metadata__" string map), then the
// data section. The reader is a checklist: each rule of reliability.md rows 1–8 is one named
// check, and all checks run before any tensor is handed out. Tensor bytes are views into the
// mapped file, never copies; a view keeps the mapping alive.
//
// Zero-size tensors (a 0 in the shape) have begin == end and may share that offset with a
// neighbour; their view is an empty span, so no data is ever aliased (row 8's policy).
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
#include "quant/dtype.h"

namespace moedist {

struct SafetensorsLimits {
  uint64_t max_header_bytes = 100ull * 1000 * 1000;  // the reference implementation's cap
};

struct SafetensorsTensor {
  std::string name;
  DType dtype;
  std::vector<uint64_t> shape;
  uint64_t data_begin;  // relative to the start of the data section
  uint64_t data_end;
  uint64_t num_elements() const;
  uint64_t num_bytes() const { return data_end - data_begin; }
};

class SafetensorsFile {
 public:
  // Maps and validates `path`.
  static Result<std::shared_ptr<const SafetensorsFile>> Open(const std::string& path,
                                                             SafetensorsLimits limits = {});
  // Validates an already-mapped file (or test/fuzz bytes: `mapping` may be null, in which case
  // `bytes` must outlive the result).
  static Result<std::shared_ptr<const SafetensorsFile>> Parse(
      std::shared_ptr<const MappedFile> mapping, std::span<const uint8_t> bytes,
      std::string source, SafetensorsLimits limits = {});

  const std::string& path() const { return source_; }
  uint64_t file_size() const { return bytes_.size(); }
  uint64_t header_size() const { return header_size_; }      // N, the JSON length
  uint64_t data_offset() const { return 8 + header_size_; }  // absolute offset of byte 0 of data
  // Tensors sorted by data offset (the file's physical order).
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const SafetensorsTensor* Find(std::string_view name) const;
  // The tensor's bytes inside the mapping.
  std::span<const uint8_t> TensorBytes(const SafetensorsTensor& tensor) const;
  const std::shared_ptr<const MappedFile>& mapping() const { return mapping_; }

 private:
  SafetensorsFile() = default;
  Status ParseHeader(SafetensorsLimits limits);

  std::shared_ptr<const MappedFile> mapping_;
  std::span<const uint8_t> bytes_;
  std::string source_;
  uint64_t header_size_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t, std::less<>> by_name_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace moedist
