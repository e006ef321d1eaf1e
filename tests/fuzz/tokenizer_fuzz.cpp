// libFuzzer target: Tokenizer::FromJsonText (tokenizer.json, docs/tokenizer.md) on arbitrary
// bytes; an accepted tokenizer then encodes a short fixed text mixing ASCII, spaces, digits,
// accents, CJK and emoji, and decodes the ids. Promises checked: Encode of valid UTF-8 never
// fails for an accepted tokenizer, every id is in [0, vocab_size) and names a token, and Decode
// of those ids returns (it may differ from the text: normalizers change it).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime-min/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using moedist::fuzz::Fail;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = moedist::Tokenizer::FromJsonText(text, "fuzz/tokenizer.json");
  if (!t.ok()) return 0;
  static constexpr std::string_view kText =
      "Hello world! def f(x):\n  return x**2  # 12345 caf\u00e9 \u65e5\u672c\u8a9e \U0001F642 "
      "<|im_start|>";
  auto ids = t->Encode(kText);
  if (!ids.ok())
    Fail("an accepted tokenizer cannot encode valid UTF-8: " + ids.status().ToString());
  const int32_t vocab = t->vocab_size();
  for (int32_t id : *ids) {
    if (id < 0 || id >= vocab) Fail("id outside [0, vocab_size)");
    if (!t->IdToToken(id).has_value()) Fail("id that names no token");
  }
  (void)t->Decode(*ids);
  (void)t->Decode(*ids, /*skip_special_tokens=*/true);
  return 0;
}
