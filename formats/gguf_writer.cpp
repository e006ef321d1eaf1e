#include "formats/gguf_writer.h"

#include <algorithm>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/checked_math.h"
#include "formats/gguf_format.h"

namespace moedist {
namespace {

using gguf_internal::AppendLe;

// Forwards to an inner sink and counts, so a producer's byte count can be checked.
class CountingForwarder final : public ByteSink {
 public:
  explicit CountingForwarder(ByteSink& inner) : inner_(inner) {}
  Status Write(std::span<const uint8_t> bytes) override {
    count_ += bytes.size();
    return inner_.Write(bytes);
  }
  uint64_t count() const { return count_; }

 private:
  ByteSink& inner_;
  uint64_t count_ = 0;
};

// Serialises the header (everything before the data section) after validating each piece.
class HeaderEncoder {
 public:
  explicit HeaderEncoder(const GgufWriteOptions& options) : options_(options) {}
  std::vector<uint8_t>& bytes() { return out_; }

  void String(std::string_view s) {
    AppendLe(out_, s.size(), 8);
    out_.insert(out_.end(), s.begin(), s.end());
  }

  Status Kv(const GgufKv& kv) {
    RETURN_IF_ERROR(CheckGgufKey(kv.key, StatusCode::kInvalidArgument));
    const std::string what = fmt::format("metadata \"{}\"", kv.key);
    String(kv.key);
    AppendLe(out_, static_cast<uint32_t>(kv.value.type()), 4);
    if (const std::string* s = kv.value.string()) return StringValue(*s, what);
    if (const GgufArray* a = kv.value.array()) return Array(*a, what, 1);
    if (kv.value.type() == GgufValueType::kBool && kv.value.bits() > 1) {
      return Status::InvalidArgument("{}: bool holds {}, expected 0 or 1", what, kv.value.bits());
    }
    AppendLe(out_, kv.value.bits(), GetGgufValueTypeInfo(kv.value.type()).fixed_bytes);
    return Status::Ok();
  }

  void TensorInfo(const GgufTensorSource& t, uint64_t offset) {
    String(t.name);
    AppendLe(out_, t.ne.size(), 4);
    for (uint64_t d : t.ne) AppendLe(out_, d, 8);
    AppendLe(out_, GgmlTypeId(t.type), 4);
    AppendLe(out_, offset, 8);
  }

 private:
  Status StringValue(std::string_view s, const std::string& what) {
    if (s.size() > options_.limits.max_string_bytes) {
      return Status::InvalidArgument("{}: string of {} bytes exceeds the limit of {}", what,
                                     s.size(), options_.limits.max_string_bytes);
    }
    if (!IsValidUtf8(s)) return Status::InvalidArgument("{}: string is not valid UTF-8", what);
    String(s);
    return Status::Ok();
  }

  Status Array(const GgufArray& a, const std::string& what, uint32_t depth) {
    if (depth > 1 && !options_.allow_nested_arrays) {
      return Status::InvalidArgument("{}: nested arrays are refused by stock ggml; set "
                                     "GgufWriteOptions::allow_nested_arrays to write them",
                                     what);
    }
    if (depth > options_.limits.max_array_depth || a.size() > options_.limits.max_array_elements) {
      return Status::InvalidArgument("{}: array deeper than {} levels or longer than {} elements",
                                     what, options_.limits.max_array_depth,
                                     options_.limits.max_array_elements);
    }
    AppendLe(out_, static_cast<uint32_t>(a.element_type()), 4);
    AppendLe(out_, a.size(), 8);
    if (a.element_type() == GgufValueType::kString) {
      for (const std::string& s : a.strings()) RETURN_IF_ERROR(StringValue(s, what));
    } else if (a.element_type() == GgufValueType::kArray) {
      for (const GgufArray& inner : a.arrays()) RETURN_IF_ERROR(Array(inner, what, depth + 1));
    } else {
      auto raw = a.little_endian_bytes();
      if (a.element_type() == GgufValueType::kBool &&
          std::any_of(raw.begin(), raw.end(), [](uint8_t b) { return b > 1; })) {
        return Status::InvalidArgument("{}: bool array holds a byte other than 0 or 1", what);
      }
      out_.insert(out_.end(), raw.begin(), raw.end());
    }
    return Status::Ok();
  }

  const GgufWriteOptions& options_;
  std::vector<uint8_t> out_;
};

Result<uint32_t> AlignmentOf(const std::vector<GgufKv>& metadata) {
  for (const GgufKv& kv : metadata) {
    if (kv.key != kGgufAlignmentKey) continue;
    auto a = kv.value.Get<uint32_t>();
    if (!a) {
      return Status::InvalidArgument("{} is {}, expected UINT32", kGgufAlignmentKey,
                                     GgufValueTypeName(kv.value.type()));
    }
    if (!IsPowerOfTwo(*a) || *a < 8) {
      return Status::InvalidArgument("{} {} is not a power of two of at least 8",
                                     kGgufAlignmentKey, *a);
    }
    return *a;
  }
  return kGgufDefaultAlignment;
}

uint64_t AlignUp(uint64_t v, uint64_t alignment) {
  return v + (alignment - v % alignment) % alignment;
}

// Validates one tensor and returns its exact byte size.
Result<uint64_t> TensorBytes(const GgufTensorSource& t) {
  RETURN_IF_ERROR(CheckGgufTensorName(t.name, StatusCode::kInvalidArgument));
  const std::string what = fmt::format("tensor \"{}\"", t.name);
  if (FindGgmlType(GgmlTypeId(t.type)) == nullptr) {
    return Status::InvalidArgument("{}: unknown ggml type {}", what, GgmlTypeId(t.type));
  }
  if (t.ne.size() > kGgmlMaxDims) {
    return Status::InvalidArgument("{}: {} dims; ggml allows at most {}", what, t.ne.size(),
                                   kGgmlMaxDims);
  }
  auto size = ComputeGgmlTensorSize(t.type, t.ne, StatusCode::kInvalidArgument);
  if (!size.ok()) return size.status().WithContext(what);
  if (size->bytes > std::numeric_limits<uint64_t>::max() / 2) {
    return Status::InvalidArgument("{}: {} bytes is beyond any file", what, size->bytes);
  }
  return size->bytes;
}

Status Pad(ByteSink& sink, uint64_t bytes) {
  static constexpr uint8_t kZeros[256] = {};
  while (bytes > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes, sizeof(kZeros)));
    RETURN_IF_ERROR(sink.Write(std::span(kZeros, n)));
    bytes -= n;
  }
  return Status::Ok();
}

}  // namespace

GgufTensorSource GgufSourceFromBytes(std::string name, GgmlType type, std::vector<uint64_t> ne,
                                     std::span<const uint8_t> bytes) {
  return {std::move(name), type, std::move(ne),
          [bytes](ByteSink& sink) { return sink.Write(bytes); }};
}

Status WriteGguf(const std::vector<GgufKv>& metadata, std::vector<GgufTensorSource> tensors,
                 ByteSink& sink, const GgufWriteOptions& options, GgufLayout* layout_out) {
  GgufLayout layout;
  ASSIGN_OR_RETURN(layout.alignment, AlignmentOf(metadata));
  HeaderEncoder header(options);
  std::vector<uint8_t>& out = header.bytes();
  for (uint8_t b : kGgufMagic) out.push_back(b);  // (a range insert trips GCC 12's -Wstringop)
  AppendLe(out, kGgufVersion, 4);
  AppendLe(out, tensors.size(), 8);
  AppendLe(out, metadata.size(), 8);
  std::set<std::string_view> keys;
  for (const GgufKv& kv : metadata) {
    if (!keys.insert(kv.key).second) {
      return Status::InvalidArgument("GGUF writer: duplicate metadata key \"{}\"", kv.key);
    }
    RETURN_IF_ERROR(header.Kv(kv).WithContext("GGUF writer"));
  }
  std::set<std::string_view> names;
  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (const GgufTensorSource& t : tensors) {
    if (!names.insert(t.name).second) {
      return Status::InvalidArgument("GGUF writer: duplicate tensor name \"{}\"", t.name);
    }
    auto bytes_or = TensorBytes(t);
    if (!bytes_or.ok()) return bytes_or.status().WithContext("GGUF writer");
    const uint64_t bytes = *bytes_or;
    auto next = CheckedAdd(offset, AlignUp(bytes, layout.alignment));
    if (!next) return Status::InvalidArgument("GGUF writer: data section overflows 64 bits");
    header.TensorInfo(t, offset);
    layout.tensor_offsets.push_back(offset);
    sizes.push_back(bytes);
    offset = *next;
  }
  layout.header_bytes = out.size();
  layout.data_offset = AlignUp(out.size(), layout.alignment);
  if (layout.header_bytes > options.limits.max_header_bytes) {
    return Status::InvalidArgument("GGUF writer: header of {} bytes exceeds the limit of {}",
                                   layout.header_bytes, options.limits.max_header_bytes);
  }
  auto file_bytes = CheckedAdd(layout.data_offset, offset);
  if (!file_bytes) return Status::InvalidArgument("GGUF writer: file size overflows 64 bits");
  layout.file_bytes = *file_bytes;
  if (layout_out != nullptr) *layout_out = layout;

  RETURN_IF_ERROR(sink.Write(out));
  RETURN_IF_ERROR(Pad(sink, layout.data_offset - out.size()));
  for (size_t i = 0; i < tensors.size(); ++i) {
    CountingForwarder counted(sink);
    RETURN_IF_ERROR(tensors[i].produce(counted));
    if (counted.count() != sizes[i]) {
      return Status::Internal("GGUF writer: tensor \"{}\" produced {} bytes, expected {}",
                              tensors[i].name, counted.count(), sizes[i]);
    }
    RETURN_IF_ERROR(Pad(sink, AlignUp(sizes[i], layout.alignment) - sizes[i]));
  }
  return Status::Ok();
}

Status WriteGgufFile(const std::string& path, const std::vector<GgufKv>& metadata,
                     std::vector<GgufTensorSource> tensors, const GgufWriteOptions& options) {
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path));
  RETURN_IF_ERROR(WriteGguf(metadata, std::move(tensors), file, options).WithContext(path));
  return file.Commit();
}

}  // namespace moedist
