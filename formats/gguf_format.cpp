#include "formats/gguf_format.h"

#include "formats/gguf_value.h"

namespace moedist {

Status CheckGgufKey(std::string_view key, StatusCode code) {
  if (key.empty()) return Status(code, "metadata key is empty");
  if (key.size() > kGgufMaxKeyBytes) {
    return Status(code, fmt::format("metadata key is {} bytes; keys are at most {}", key.size(),
                                    kGgufMaxKeyBytes));
  }
  for (size_t i = 0; i < key.size(); ++i) {
    const auto c = static_cast<uint8_t>(key[i]);
    if (c <= 0x20 || c >= 0x7F) {
      return Status(code, fmt::format("metadata key {:?} has byte 0x{:02x} at {}; keys are "
                                      "printable ASCII without spaces",
                                      key.substr(0, 64), c, i));
    }
  }
  return Status::Ok();
}

Status CheckGgufTensorName(std::string_view name, StatusCode code) {
  if (name.empty()) return Status(code, "tensor name is empty");
  if (name.size() > kGgmlMaxNameBytes) {
    return Status(code, fmt::format("tensor name \"{}…\" is {} bytes; ggml allows at most {}",
                                    name.substr(0, 32), name.size(), kGgmlMaxNameBytes));
  }
  if (name.find('\0') != std::string_view::npos || !IsValidUtf8(name)) {
    return Status(code, "tensor name is not valid UTF-8 or contains a NUL byte");
  }
  return Status::Ok();
}

}  // namespace moedist
