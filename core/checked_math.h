// Overflow-checked arithmetic for sizes read from untrusted headers (reliability rows 1, 4, 13).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace moedist {

// a + b, or nullopt if it does not fit in 64 bits.
std::optional<uint64_t> CheckedAdd(uint64_t a, uint64_t b);
// a * b, or nullopt if it does not fit in 64 bits.
std::optional<uint64_t> CheckedMul(uint64_t a, uint64_t b);
// Product of all dims (1 for an empty shape), or nullopt on overflow.
std::optional<uint64_t> CheckedProduct(std::span<const uint64_t> dims);

}  // namespace moedist
