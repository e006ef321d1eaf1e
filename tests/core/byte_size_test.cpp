#include "core/byte_size.h"

#include <gtest/gtest.h>

namespace moedist {
namespace {

struct Good {
  const char* text;
  uint64_t bytes;
};

TEST(ByteSize, ParsesNumbersWithBinarySuffixes) {
  const Good cases[] = {
      {"0", 0},
      {"1073741824", 1073741824},
      {"512B", 512},
      {"1K", 1024},
      {"1k", 1024},
      {"512M", 512ull << 20},
      {"2G", 2ull << 30},
      {"2GiB", 2ull << 30},
      {"2GB", 2ull << 30},
      {"1.5G", 3ull << 29},
      {"0.5K", 512},
      {"3T", 3ull << 40},
      {"16777215T", 16777215ull << 40},
  };
  for (const Good& c : cases) {
    auto r = ParseByteSize(c.text, "--max-rss");
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
    EXPECT_EQ(*r, c.bytes) << c.text;
  }
}

TEST(ByteSize, RefusesWhatIsNotASize) {
  const char* bad[] = {"",          "G",   "-1",    "+5",  "1X",  "1GG",
                       "1GiBs",     "1.5", "1..5G", " 1G", "1 G", "18446744073709551616",
                       "16777216T", "1P"};
  for (const char* text : bad) {
    auto r = ParseByteSize(text, "--max-rss");
    ASSERT_FALSE(r.ok()) << "\"" << text << "\" was accepted as " << *r;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("--max-rss \"" + std::string(text) + "\""),
              std::string::npos)
        << r.status().message();
  }
}

TEST(ByteSize, FormatsWithBinaryUnits) {
  EXPECT_EQ(FormatByteSize(0), "0 B");
  EXPECT_EQ(FormatByteSize(1023), "1023 B");
  EXPECT_EQ(FormatByteSize(1536), "1.50 KiB");
  EXPECT_EQ(FormatByteSize(3ull << 30), "3.00 GiB");
  // What FormatByteSize prints, ParseByteSize reads back (to the printed precision).
  auto r = ParseByteSize("3.00GiB", "x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3ull << 30);
}

}  // namespace
}  // namespace moedist
