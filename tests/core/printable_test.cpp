#include "core/printable.h"

#include <gtest/gtest.h>

namespace moedist {
namespace {

TEST(Printable, KeepsTextAndWellFormedUtf8) {
  EXPECT_EQ(Printable("model-00001-of-00002.safetensors"), "model-00001-of-00002.safetensors");
  EXPECT_EQ(Printable("gewichte_\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80"),
            "gewichte_\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80");
}

TEST(Printable, EscapesControlsAndEveryByteOutsideWellFormedUtf8) {
  EXPECT_EQ(Printable("a\x1b[31mb"), "a\\x1b[31mb");  // a terminal colour escape
  EXPECT_EQ(Printable("x\x7fy"), "x\\x7fy");
  EXPECT_EQ(Printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(Printable("\xc3"), "\\xc3");                             // truncated sequence
  EXPECT_EQ(Printable("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(Printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a UTF-16 surrogate
  EXPECT_EQ(Printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(Printable("\xc2\x9b"), "\\xc2\\x9b");                    // C1 CSI
  EXPECT_EQ(Printable(std::string_view("a\0b", 3)), "a\\x00b");
}

TEST(Printable, OptionsForMessagesAndQuotedNames) {
  EXPECT_EQ(Printable("one\ntwo\t3"), "one\\x0atwo\\x093");
  EXPECT_EQ(Printable("one\ntwo\t3", {.keep_newlines = true}), "one\ntwo\t3");
  EXPECT_EQ(Printable("a\"b\\c", {.escape_quotes = true}), "a\\x22b\\x5cc");
  EXPECT_EQ(Printable("abcdef", {.max_bytes = 3}), "abc...");
  EXPECT_EQ(Printable("abc", {.max_bytes = 3}), "abc");
}

}  // namespace
}  // namespace moedist
