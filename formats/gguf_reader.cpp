#include "formats/gguf_reader.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/checked_math.h"
#include "formats/gguf_format.h"

namespace moedist {
namespace {

// Smallest possible on-disk sizes, used to bound counts by the bytes left before reserving.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;              // key length, 1-byte key, type, u8
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 4 + 8;  // name, n_dims, type, offset

// Reads little-endian fields from the header window [0, end) of the file. Every read checks the
// bytes left first; a read that would cross the window is an error naming the field and offset.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, uint64_t end) : bytes_(bytes), end_(end) {}
  uint64_t pos() const { return pos_; }
  uint64_t left() const { return end_ - pos_; }
  // Appended to "N bytes remain" when the header limit, not the file, is what ends the window.
  std::string LimitNote() const {
    return end_ < bytes_.size()
               ? fmt::format(" before the {}-byte header limit (GgufLimits::max_header_bytes)",
                             end_)
               : std::string();
  }

  Status Need(uint64_t n, std::string_view what) const {
    if (n <= left()) return Status::Ok();
    if (end_ < bytes_.size()) {
      return Status::Corruption(
          "{} at offset {} needs {} bytes, past the {}-byte header limit "
          "(GgufLimits::max_header_bytes)",
          what, pos_, n, end_);
    }
    return Status::Corruption("truncated: {} at offset {} needs {} bytes but only {} remain", what,
                              pos_, n, left());
  }
  Result<uint64_t> Uint(size_t width, std::string_view what) {
    RETURN_IF_ERROR(Need(width, what));
    uint64_t v = gguf_internal::LoadLe(bytes_.data() + pos_, width);
    pos_ += width;
    return v;
  }
  Result<std::span<const uint8_t>> Bytes(uint64_t n, std::string_view what) {
    RETURN_IF_ERROR(Need(n, what));
    auto out = bytes_.subspan(static_cast<size_t>(pos_), static_cast<size_t>(n));
    pos_ += n;
    return out;
  }

 private:
  std::span<const uint8_t> bytes_;
  uint64_t end_;
  uint64_t pos_ = 0;
};

uint64_t AlignUp(uint64_t v, uint64_t alignment) {
  return v + (alignment - v % alignment) % alignment;
}

std::string_view AsText(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace

// Runs the checklist of docs/formats/gguf.md over one file, in file order.
class GgufParser {
 public:
  GgufParser(GgufFile& file, GgufLimits limits)
      : f_(file),
        limits_(limits),
        in_(file.bytes_, std::min<uint64_t>(file.bytes_.size(), limits.max_header_bytes)) {}

  Status Run() {
    RETURN_IF_ERROR(ParseHeader());
    for (uint64_t i = 0; i < kv_count_; ++i) RETURN_IF_ERROR(ParseKv(i));
    RETURN_IF_ERROR(ApplyAlignment());
    for (uint64_t i = 0; i < tensor_count_; ++i) RETURN_IF_ERROR(ParseTensorInfo(i));
    return CheckDataLayout();
  }

 private:
  // Checks 1–3: magic, version, and counts bounded by the bytes left.
  Status ParseHeader() {
    ASSIGN_OR_RETURN(auto magic, in_.Bytes(4, "magic"));
    if (!std::equal(magic.begin(), magic.end(), std::begin(kGgufMagic))) {
      return Status::Corruption(
          "bad magic {:02x} {:02x} {:02x} {:02x} at offset 0, expected "
          "\"GGUF\" (47 47 55 46)",
          magic[0], magic[1], magic[2], magic[3]);
    }
    ASSIGN_OR_RETURN(uint64_t version, in_.Uint(4, "version"));
    RETURN_IF_ERROR(CheckVersion(static_cast<uint32_t>(version)));
    f_.version_ = static_cast<uint32_t>(version);
    ASSIGN_OR_RETURN(tensor_count_, in_.Uint(8, "tensor_count"));
    ASSIGN_OR_RETURN(kv_count_, in_.Uint(8, "kv_count"));
    if (tensor_count_ > in_.left() / kMinTensorInfoBytes) {
      return Status::Corruption(
          "tensor_count {} needs at least {} bytes per tensor info but only "
          "{} bytes remain after the header{}",
          tensor_count_, kMinTensorInfoBytes, in_.left(), in_.LimitNote());
    }
    const uint64_t left_for_kvs = in_.left() - tensor_count_ * kMinTensorInfoBytes;
    if (kv_count_ > left_for_kvs / kMinKvBytes) {
      return Status::Corruption(
          "kv_count {} needs at least {} bytes per key/value pair but only "
          "{} bytes remain for them{}",
          kv_count_, kMinKvBytes, left_for_kvs, in_.LimitNote());
    }
    // No reserve() on the counts: an in-memory entry is larger than its smallest encoding, so
    // vectors grow with what was actually parsed rather than with what the header claims.
    return Status::Ok();
  }

  static Status CheckVersion(uint32_t version) {
    if (version == 0) return Status::Corruption("GGUF version 0 is invalid");
    if ((version & 0xFFFF) == 0) {
      return Status::Unsupported(
          "GGUF version 0x{:08x} looks byte-swapped: big-endian GGUF files "
          "are not supported",
          version);
    }
    if (version == 1) {
      return Status::Unsupported(
          "GGUF version 1 is no longer supported (it used 32-bit counts; "
          "ggml refuses it too)");
    }
    if (version > kGgufVersion) {
      return Status::Unsupported("GGUF version {} is newer than the supported version {}", version,
                                 kGgufVersion);
    }
    return Status::Ok();
  }

  // A GGUF string: u64 length, then that many bytes, bounded by the bytes left and by `cap`.
  Result<std::string_view> ReadString(std::string_view what, uint64_t cap) {
    ASSIGN_OR_RETURN(uint64_t n, in_.Uint(8, what));
    if (n > in_.left()) {
      return Status::Corruption("{}: string length {} at offset {} exceeds the {} bytes left{}",
                                what, n, in_.pos() - 8, in_.left(), in_.LimitNote());
    }
    if (n > cap) {
      return Status::Corruption("{}: string length {} exceeds the limit of {} bytes", what, n, cap);
    }
    ASSIGN_OR_RETURN(auto bytes, in_.Bytes(n, what));
    return AsText(bytes);
  }

  Result<GgufValueType> ReadValueType(std::string_view what) {
    ASSIGN_OR_RETURN(uint64_t id, in_.Uint(4, what));
    const GgufValueTypeInfo* info = FindGgufValueType(static_cast<uint32_t>(id));
    if (info == nullptr) {
      return Status::Corruption("{}: invalid value type {} at offset {} (valid: 0–12)", what, id,
                                in_.pos() - 4);
    }
    return info->type;
  }

  // Checks 4–8: key rules, no duplicate keys, valid types, bounded strings and arrays.
  Status ParseKv(uint64_t index) {
    ASSIGN_OR_RETURN(std::string_view key,
                     ReadString(fmt::format("key of metadata pair {}", index), kGgufMaxKeyBytes));
    RETURN_IF_ERROR(CheckGgufKey(key, StatusCode::kCorruption));
    auto [it, inserted] = f_.kv_index_.emplace(std::string(key), f_.kvs_.size());
    if (!inserted) {
      return Status::Corruption("duplicate metadata key \"{}\" (pairs {} and {})", key, it->second,
                                index);
    }
    const std::string what = fmt::format("metadata \"{}\"", key);
    ASSIGN_OR_RETURN(GgufValueType type, ReadValueType(what));
    ASSIGN_OR_RETURN(GgufValue value, ReadValue(type, what));
    f_.kvs_.push_back({std::string(key), std::move(value)});
    return Status::Ok();
  }

  Result<std::string_view> ReadUtf8String(const std::string& what) {
    ASSIGN_OR_RETURN(std::string_view s, ReadString(what, limits_.max_string_bytes));
    if (!IsValidUtf8(s)) return Status::Corruption("{}: string is not valid UTF-8", what);
    return s;
  }

  Result<GgufValue> ReadValue(GgufValueType type, const std::string& what) {
    if (type == GgufValueType::kString) {
      ASSIGN_OR_RETURN(std::string_view s, ReadUtf8String(what));
      return GgufValue::String(std::string(s));
    }
    if (type == GgufValueType::kArray) {
      ASSIGN_OR_RETURN(GgufArray array, ReadArray(what, 1));
      return GgufValue::Array(std::move(array));
    }
    const uint32_t width = GetGgufValueTypeInfo(type).fixed_bytes;
    ASSIGN_OR_RETURN(uint64_t bits, in_.Uint(width, what));
    if (type == GgufValueType::kBool && bits > 1) {
      return Status::Corruption("{}: bool byte is {} at offset {}; the spec allows only 0 or 1",
                                what, bits, in_.pos() - 1);
    }
    return GgufValue::FromBits(type, bits);
  }

  // An array at nesting level `depth` (1 = outermost): element type, u64 count, elements.
  Result<GgufArray> ReadArray(const std::string& what, uint32_t depth) {
    if (depth > limits_.max_array_depth) {
      return Status::Corruption("{}: arrays nested deeper than {} levels (offset {})", what,
                                limits_.max_array_depth, in_.pos());
    }
    ASSIGN_OR_RETURN(GgufValueType type, ReadValueType(what + " array element"));
    ASSIGN_OR_RETURN(uint64_t count, in_.Uint(8, what + " array count"));
    const GgufValueTypeInfo& info = GetGgufValueTypeInfo(type);
    auto min_bytes = CheckedMul(count, info.min_bytes);
    if (!min_bytes) {
      return Status::Corruption("{}: array count {} × {} bytes per {} overflows 64 bits", what,
                                count, info.min_bytes, info.name);
    }
    if (*min_bytes > in_.left()) {
      return Status::Corruption(
          "{}: array of {} {} needs at least {} bytes but only {} remain{} "
          "(offset {})",
          what, count, info.name, *min_bytes, in_.left(), in_.LimitNote(), in_.pos());
    }
    if (count > limits_.max_array_elements) {
      return Status::Corruption("{}: array of {} elements exceeds the limit of {}", what, count,
                                limits_.max_array_elements);
    }
    if (info.fixed_bytes != 0) return ReadFixedArray(what, type, count);
    std::vector<std::string> strings;
    std::vector<GgufArray> arrays;
    for (uint64_t i = 0; i < count; ++i) {
      if (type == GgufValueType::kString) {
        ASSIGN_OR_RETURN(std::string_view s, ReadUtf8String(what));
        strings.emplace_back(s);
      } else {
        ASSIGN_OR_RETURN(GgufArray inner, ReadArray(what, depth + 1));
        arrays.push_back(std::move(inner));
      }
    }
    return type == GgufValueType::kString ? GgufArray::Strings(std::move(strings))
                                          : GgufArray::Arrays(std::move(arrays));
  }

  Result<GgufArray> ReadFixedArray(const std::string& what, GgufValueType type, uint64_t count) {
    const uint64_t n = count * GetGgufValueTypeInfo(type).fixed_bytes;  // checked by the caller
    ASSIGN_OR_RETURN(auto bytes, in_.Bytes(n, what));
    if (type == GgufValueType::kBool) {
      auto bad = std::find_if(bytes.begin(), bytes.end(), [](uint8_t b) { return b > 1; });
      if (bad != bytes.end()) {
        return Status::Corruption("{}: bool byte is {} at offset {}; the spec allows only 0 or 1",
                                  what, *bad, in_.pos() - n + (bad - bytes.begin()));
      }
    }
    return GgufArray::FromLittleEndian(type, std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }

  // Check 9: general.alignment, when present, is a UINT32 non-zero power of two.
  Status ApplyAlignment() {
    const GgufValue* v = f_.FindValue(kGgufAlignmentKey);
    if (v == nullptr) return Status::Ok();
    if (v->type() != GgufValueType::kUint32) {
      return Status::Corruption("{} is {}, expected UINT32", kGgufAlignmentKey,
                                GgufValueTypeName(v->type()));
    }
    const uint32_t alignment = *v->Get<uint32_t>();
    if (!IsPowerOfTwo(alignment)) {
      return Status::Corruption("{} {} is not a non-zero power of two", kGgufAlignmentKey,
                                alignment);
    }
    f_.alignment_ = alignment;
    return Status::Ok();
  }

  // Checks 10–15: name, duplicates, n_dims, dims, element count, type, row/block, byte size.
  Status ParseTensorInfo(uint64_t index) {
    ASSIGN_OR_RETURN(std::string_view name,
                     ReadString(fmt::format("name of tensor {}", index), limits_.max_string_bytes));
    RETURN_IF_ERROR(CheckGgufTensorName(name, StatusCode::kCorruption)
                        .WithContext(fmt::format("tensor {}", index)));
    auto [it, inserted] = f_.tensor_index_.emplace(std::string(name), f_.tensors_.size());
    if (!inserted) {
      return Status::Corruption("duplicate tensor name \"{}\" (tensors {} and {})", name,
                                it->second, index);
    }
    GgufTensorInfo t;
    t.name = std::string(name);
    const std::string what = fmt::format("tensor \"{}\"", name);
    ASSIGN_OR_RETURN(uint64_t n_dims, in_.Uint(4, what + " n_dims"));
    if (n_dims > kGgmlMaxDims) {
      return Status::Corruption("{}: n_dims {} exceeds ggml's maximum of {}", what, n_dims,
                                kGgmlMaxDims);
    }
    for (uint64_t d = 0; d < n_dims; ++d) {
      ASSIGN_OR_RETURN(uint64_t ne, in_.Uint(8, what + " dims"));
      if (ne > static_cast<uint64_t>(INT64_MAX)) {
        return Status::Corruption("{}: ne[{}] = {} is negative as ggml's int64_t", what, d, ne);
      }
      t.ne.push_back(ne);
    }
    ASSIGN_OR_RETURN(uint64_t type_id, in_.Uint(4, what + " type"));
    const GgmlTypeInfo* type = FindGgmlType(static_cast<uint32_t>(type_id));
    if (type == nullptr) {
      return Status::Unsupported(
          "{}: unknown ggml type {} (removed from ggml or newer than "
          "moedist)",
          what, type_id);
    }
    t.type = type->type;
    auto size = ComputeGgmlTensorSize(t.type, t.ne, StatusCode::kCorruption);
    if (!size.ok()) return size.status().WithContext(what);
    t.elements = size->elements;
    t.num_bytes = size->bytes;
    ASSIGN_OR_RETURN(t.offset, in_.Uint(8, what + " offset"));
    f_.tensors_.push_back(std::move(t));
    return Status::Ok();
  }

  Status CheckZeroPadding(uint64_t begin, uint64_t end, std::string_view where) const {
    for (uint64_t p = begin; p < end; ++p) {
      if (f_.bytes_[p] != 0) {
        return Status::Corruption("non-zero padding byte 0x{:02x} at file offset {} ({})",
                                  f_.bytes_[p], p, where);
      }
    }
    return Status::Ok();
  }

  // Checks 16–19: the data section starts at the aligned end of the header; each tensor sits at
  // the running aligned offset; padding is zero; the data ends exactly at the end of the file.
  Status CheckDataLayout() {
    const uint64_t file_size = f_.bytes_.size();
    const uint64_t header_end = in_.pos();
    const uint64_t a = f_.alignment_;
    const uint64_t data_offset = AlignUp(header_end, a);  // header_end < 2^63: no overflow
    if (data_offset > file_size) {
      return Status::Corruption(
          "truncated: the data section starts at offset {} (alignment {}) "
          "but the file is {} bytes",
          data_offset, a, file_size);
    }
    RETURN_IF_ERROR(CheckZeroPadding(header_end, data_offset, "before the data section"));
    f_.data_offset_ = data_offset;
    uint64_t running = 0;
    for (const GgufTensorInfo& t : f_.tensors_) {
      if (t.offset % a != 0) {
        return Status::Corruption("tensor \"{}\": offset {} is not a multiple of the alignment {}",
                                  t.name, t.offset, a);
      }
      if (t.offset != running) {
        return Status::Corruption(
            "tensor \"{}\": offset {} is not the running aligned offset {} "
            "(tensors must follow each other in file order, padding only)",
            t.name, t.offset, running);
      }
      auto next = t.num_bytes > UINT64_MAX - (a - 1) ? std::nullopt
                                                     : CheckedAdd(running, AlignUp(t.num_bytes, a));
      if (!next) {
        return Status::Corruption(
            "tensor \"{}\": data section size overflows 64 bits (running "
            "offset {} + {} bytes)",
            t.name, running, t.num_bytes);
      }
      running = *next;
    }
    if (running > file_size - data_offset) {
      return Status::Corruption(
          "truncated: tensor data needs {} bytes from offset {} but the file "
          "holds {}",
          running, data_offset, file_size - data_offset);
    }
    if (running < file_size - data_offset) {
      return Status::Corruption(
          "{} trailing bytes after the last tensor's padded end (file "
          "offset {})",
          file_size - data_offset - running, data_offset + running);
    }
    for (const GgufTensorInfo& t : f_.tensors_) {
      const uint64_t end = data_offset + t.offset + t.num_bytes;
      RETURN_IF_ERROR(CheckZeroPadding(end, data_offset + t.offset + AlignUp(t.num_bytes, a),
                                       fmt::format("after tensor \"{}\"", t.name)));
    }
    return Status::Ok();
  }

  GgufFile& f_;
  GgufLimits limits_;
  Cursor in_;
  uint64_t tensor_count_ = 0;
  uint64_t kv_count_ = 0;
};

Result<std::shared_ptr<const GgufFile>> GgufFile::Open(const std::string& path, GgufLimits limits) {
  ASSIGN_OR_RETURN(auto mapping, MappedFile::Open(path));
  auto bytes = mapping->bytes();
  return Parse(std::move(mapping), bytes, path, limits);
}

Result<std::shared_ptr<const GgufFile>> GgufFile::Parse(std::shared_ptr<const MappedFile> mapping,
                                                        std::span<const uint8_t> bytes,
                                                        std::string source, GgufLimits limits) {
  std::shared_ptr<GgufFile> file(new GgufFile());
  file->mapping_ = std::move(mapping);
  file->bytes_ = bytes;
  file->source_ = std::move(source);
  GgufParser parser(*file, limits);
  RETURN_IF_ERROR(parser.Run().WithContext(file->source_));
  return std::shared_ptr<const GgufFile>(std::move(file));
}

const GgufValue* GgufFile::FindValue(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

Result<const GgufValue*> GgufFile::GetTyped(std::string_view key, GgufValueType type) const {
  const GgufValue* v = FindValue(key);
  if (v == nullptr) return Status::NotFound("{}: metadata key \"{}\" is absent", source_, key);
  if (v->type() != type) {
    return Status::Corruption("{}: metadata \"{}\" is {}, expected {}", source_, key,
                              GgufValueTypeName(v->type()), GgufValueTypeName(type));
  }
  return v;
}

Result<std::string_view> GgufFile::GetString(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, GetTyped(key, GgufValueType::kString));
  return std::string_view(*v->string());
}

Result<const GgufArray*> GgufFile::GetArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, GetTyped(key, GgufValueType::kArray));
  return v->array();
}

Result<const GgufArray*> GgufFile::GetArray(std::string_view key,
                                            GgufValueType element_type) const {
  ASSIGN_OR_RETURN(const GgufArray* a, GetArray(key));
  if (a->element_type() != element_type) {
    return Status::Corruption("{}: metadata \"{}\" is an array of {}, expected an array of {}",
                              source_, key, GgufValueTypeName(a->element_type()),
                              GgufValueTypeName(element_type));
  }
  return a;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> GgufFile::TensorBytes(const GgufTensorInfo& t) const {
  return bytes_.subspan(static_cast<size_t>(data_offset_ + t.offset),
                        static_cast<size_t>(t.num_bytes));
}

}  // namespace moedist
