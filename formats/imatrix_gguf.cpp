#include "formats/imatrix_gguf.h"

#include <cmath>
#include <cstring>

#include "core/atomic_file.h"
#include "core/checked_math.h"
#include "core/mapped_file.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"

namespace moedist {
namespace {

// llama.cpp tools/imatrix/imatrix.cpp: LLM_KV_IMATRIX_* and the tensor name suffixes.
constexpr std::string_view kTypeKey = "general.type";
constexpr std::string_view kDatasetsKey = "imatrix.datasets";
constexpr std::string_view kChunkCountKey = "imatrix.chunk_count";
constexpr std::string_view kChunkSizeKey = "imatrix.chunk_size";
constexpr std::string_view kSum2Suffix = ".in_sum2";
constexpr std::string_view kCountsSuffix = ".counts";
constexpr std::string_view kSumSuffix = ".in_sum";

std::span<const uint8_t> FloatBytes(const std::vector<float>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float)};
}

Status CheckEntry(const std::string& name, const ImatrixEntry& e) {
  if (e.counts.empty() || e.in_features == 0) {
    return Status::InvalidArgument("imatrix entry \"{}\": no matrix or no input features", name);
  }
  auto values = CheckedMul(e.in_features, e.matrices());
  if (!values || *values != e.in_sum2.size()) {
    return Status::InvalidArgument(
        "imatrix entry \"{}\": {} in_sum2 values, expected {} matrices × {} input features", name,
        e.in_sum2.size(), e.matrices(), e.in_features);
  }
  return Status::Ok();
}

bool StripSuffix(std::string& name, std::string_view suffix) {
  if (!name.ends_with(suffix) || name.size() == suffix.size()) return false;
  name.resize(name.size() - suffix.size());
  return true;
}

std::vector<float> ReadFloats(const GgufFile& f, const GgufTensorInfo& t) {
  std::vector<float> out(t.elements);
  std::span<const uint8_t> bytes = f.TensorBytes(t);
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

// The tensor-level rules (the GGUF reader has checked sizes and offsets already).
Status CheckTensor(const GgufTensorInfo& t) {
  if (t.type != GgmlType::kF32) {
    return Status::Corruption("tensor \"{}\" has type {}, expected F32", t.name,
                              GgmlTypeName(t.type));
  }
  if (t.ne.size() != 2) {
    return Status::Corruption("tensor \"{}\" has {} dimensions, expected 2", t.name, t.ne.size());
  }
  return Status::Ok();
}

Status CheckValues(const std::string& tensor, const std::vector<float>& v, bool whole) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i]) || v[i] < 0 || (whole && v[i] != std::floor(v[i]))) {
      return Status::Corruption("tensor \"{}\" value {} is {}, expected a finite {} >= 0", tensor,
                                i, v[i], whole ? "whole number" : "value");
    }
  }
  return Status::Ok();
}

Result<Imatrix> FromGguf(const GgufFile& f) {
  Imatrix m;
  ASSIGN_OR_RETURN(std::string_view type, f.GetString(kTypeKey));
  if (type != "imatrix") {
    return Status::Corruption("{}: {} is \"{}\", expected \"imatrix\" (not an importance matrix)",
                              f.path(), kTypeKey, type);
  }
  ASSIGN_OR_RETURN(const GgufArray* datasets, f.GetArray(kDatasetsKey, GgufValueType::kString));
  m.datasets = datasets->strings();
  ASSIGN_OR_RETURN(m.chunk_count, f.GetU32(kChunkCountKey));
  ASSIGN_OR_RETURN(m.chunk_size, f.GetU32(kChunkSizeKey));

  std::map<std::string, const GgufTensorInfo*> sums, counts;
  for (const GgufTensorInfo& t : f.tensors()) {
    std::string base = t.name;
    if (StripSuffix(base, kSum2Suffix)) {
      RETURN_IF_ERROR(CheckTensor(t).WithContext(f.path()));
      sums[base] = &t;
    } else if (StripSuffix(base, kCountsSuffix)) {
      RETURN_IF_ERROR(CheckTensor(t).WithContext(f.path()));
      counts[base] = &t;
    } else if (StripSuffix(base, kSumSuffix)) {
      RETURN_IF_ERROR(
          CheckTensor(t).WithContext(f.path()));  // newer llama.cpp's plain sums: not needed here
    } else {
      return Status::Corruption("{}: tensor \"{}\" is not <weight>{}, {} or {}", f.path(), t.name,
                                kSum2Suffix, kCountsSuffix, kSumSuffix);
    }
  }
  for (const auto& [name, c] : counts) {
    if (!sums.count(name)) {
      return Status::Corruption("{}: tensor \"{}{}\" has no \"{}{}\" beside it", f.path(), name,
                                kCountsSuffix, name, kSum2Suffix);
    }
  }
  for (const auto& [name, s] : sums) {
    auto it = counts.find(name);
    if (it == counts.end()) {
      return Status::Corruption("{}: tensor \"{}{}\" has no \"{}{}\" beside it", f.path(), name,
                                kSum2Suffix, name, kCountsSuffix);
    }
    const GgufTensorInfo& c = *it->second;
    if (c.ne[0] != 1 || c.ne[1] != s->ne[1] || s->ne[0] == 0 || s->ne[1] == 0) {
      return Status::Corruption(
          "{}: tensor \"{}\" has ne [{}, {}], expected [1, {}] (one count per matrix of \"{}\")",
          f.path(), c.name, c.ne[0], c.ne[1], s->ne[1], s->name);
    }
    ImatrixEntry e;
    e.in_features = s->ne[0];
    e.in_sum2 = ReadFloats(f, *s);
    e.counts = ReadFloats(f, c);
    RETURN_IF_ERROR(CheckValues(s->name, e.in_sum2, false).WithContext(f.path()));
    RETURN_IF_ERROR(CheckValues(c.name, e.counts, true).WithContext(f.path()));
    m.entries.emplace(name, std::move(e));
  }
  if (m.entries.empty())
    return Status::Corruption("{}: no <weight>{} tensors", f.path(), kSum2Suffix);
  return m;
}

}  // namespace

std::vector<float> ImatrixEntry::Importance(uint64_t matrix) const {
  const float count = counts.at(matrix);
  std::vector<float> out(in_features, 1.0f);
  if (count > 0.0f) {
    const float* sums = in_sum2.data() + matrix * in_features;
    for (uint64_t i = 0; i < in_features; ++i) out[i] = sums[i] / count;
  }
  return out;
}

Status WriteImatrix(const Imatrix& m, ByteSink& sink) {
  std::vector<GgufKv> kvs;
  kvs.push_back({std::string(kTypeKey), GgufValue::String("imatrix")});
  kvs.push_back({std::string(kDatasetsKey), GgufValue::Array(GgufArray::Strings(m.datasets))});
  kvs.push_back({std::string(kChunkCountKey), GgufValue::U32(m.chunk_count)});
  kvs.push_back({std::string(kChunkSizeKey), GgufValue::U32(m.chunk_size)});
  std::vector<GgufTensorSource> tensors;
  for (const auto& [name, e] : m.entries) {
    RETURN_IF_ERROR(CheckEntry(name, e));
    tensors.push_back(GgufSourceFromBytes(name + std::string(kSum2Suffix), GgmlType::kF32,
                                          {e.in_features, e.matrices()}, FloatBytes(e.in_sum2)));
    tensors.push_back(GgufSourceFromBytes(name + std::string(kCountsSuffix), GgmlType::kF32,
                                          {1, e.matrices()}, FloatBytes(e.counts)));
  }
  return WriteGguf(kvs, std::move(tensors), sink);
}

Status WriteImatrixFile(const std::string& path, const Imatrix& m) {
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path));
  RETURN_IF_ERROR(WriteImatrix(m, file).WithContext(path));
  return file.Commit();
}

Result<Imatrix> ParseImatrix(std::span<const uint8_t> bytes, const std::string& source) {
  ASSIGN_OR_RETURN(auto f, GgufFile::Parse(nullptr, bytes, source));
  return FromGguf(*f);
}

Result<Imatrix> ReadImatrixFile(const std::string& path) {
  ASSIGN_OR_RETURN(auto f, GgufFile::Open(path));
  return FromGguf(*f);
}

}  // namespace moedist
