// ByteSink: where a writer's bytes go. One write routine serves the real file (AtomicFile),
// the size estimate (CountingSink) and digests (a hashing sink), so all three always agree.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/status.h"

namespace moedist {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(std::span<const uint8_t> bytes) = 0;
  Status WriteText(std::string_view text) {
    return Write(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
};

// Counts bytes and discards them.
class CountingSink final : public ByteSink {
 public:
  Status Write(std::span<const uint8_t> bytes) override {
    count_ += bytes.size();
    return Status::Ok();
  }
  uint64_t count() const { return count_; }

 private:
  uint64_t count_ = 0;
};

}  // namespace moedist
