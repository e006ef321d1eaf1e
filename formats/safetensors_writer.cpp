#include "formats/safetensors_writer.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/checked_math.h"

namespace moedist {
namespace {

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

}  // namespace

SafetensorsSource SourceFromBytes(std::string name, DType dtype, std::vector<uint64_t> shape,
                                  std::span<const uint8_t> bytes) {
  return {std::move(name), dtype, std::move(shape),
          [bytes](ByteSink& sink) { return sink.Write(bytes); }};
}

Status WriteSafetensors(std::vector<SafetensorsSource> sources,
                        const std::map<std::string, std::string>& metadata, ByteSink& sink) {
  std::sort(sources.begin(), sources.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (size_t i = 0; i < sources.size(); ++i) {
    const SafetensorsSource& s = sources[i];
    if (i > 0 && sources[i - 1].name == s.name) {
      return Status::InvalidArgument("safetensors writer: duplicate tensor name \"{}\"", s.name);
    }
    if (s.name == "__metadata__") {
      return Status::InvalidArgument("safetensors writer: \"__metadata__\" is reserved");
    }
    auto elements = CheckedProduct(s.shape);
    auto nbytes = elements ? DTypeStorageBytes(s.dtype, *elements) : std::nullopt;
    auto end = nbytes ? CheckedAdd(offset, *nbytes) : std::nullopt;
    if (!end) {
      return Status::InvalidArgument("safetensors writer: tensor \"{}\" size overflows or does "
                                     "not fill whole bytes",
                                     s.name);
    }
    header[s.name] = {{"dtype", DTypeName(s.dtype)},
                      {"shape", s.shape},
                      {"data_offsets", {offset, *end}}};
    sizes.push_back(*nbytes);
    offset = *end;
  }
  std::string text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t prefix[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<uint8_t>(n >> (8 * i));
  RETURN_IF_ERROR(sink.Write(prefix));
  RETURN_IF_ERROR(sink.WriteText(text));
  for (size_t i = 0; i < sources.size(); ++i) {
    CountingForwarder counted(sink);
    RETURN_IF_ERROR(sources[i].produce(counted));
    if (counted.count() != sizes[i]) {
      return Status::Internal("safetensors writer: tensor \"{}\" produced {} bytes, expected {}",
                              sources[i].name, counted.count(), sizes[i]);
    }
  }
  return Status::Ok();
}

Status WriteSafetensorsFile(const std::string& path, std::vector<SafetensorsSource> sources,
                            const std::map<std::string, std::string>& metadata) {
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path));
  RETURN_IF_ERROR(WriteSafetensors(std::move(sources), metadata, file).WithContext(path));
  return file.Commit();
}

}  // namespace moedist
