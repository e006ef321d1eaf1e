// One named test per malformed-GGUF defect (tests/formats/gguf_corpus_testutil.h): each file is
// refused with the expected code and a defect-specific message that names the source.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "formats/gguf_reader.h"
#include "tests/formats/gguf_corpus_testutil.h"

namespace moedist {
namespace {

using gguf_corpus::GgufDefect;

TEST(GgufCorpus, BaseFileIsValid) {
  std::vector<uint8_t> bytes = gguf_corpus::MakeValidGguf();
  auto file = GgufFile::Parse(nullptr, bytes, "base.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->tensors().size(), 3u);
  EXPECT_EQ((*file)->metadata().size(), 6u);
  EXPECT_EQ(*(*file)->GetString("general.architecture"), "llama");
  EXPECT_GT((*file)->data_offset(), 0u);
}

TEST(GgufCorpus, EveryDefectHasARowAndAUniqueName) {
  auto all = gguf_corpus::AllGgufDefects();
  EXPECT_EQ(all.size(), static_cast<size_t>(GgufDefect::kNonZeroHeaderPadding) + 1);
  std::set<std::string_view> names;
  for (GgufDefect d : all) EXPECT_TRUE(names.insert(gguf_corpus::GgufDefectName(d)).second);
}

class GgufDefectTest : public ::testing::TestWithParam<GgufDefect> {};

TEST_P(GgufDefectTest, IsRefusedWithANamedError) {
  const GgufDefect defect = GetParam();
  std::vector<uint8_t> bytes = gguf_corpus::MakeGgufWithDefect(defect);
  ASSERT_NE(bytes, gguf_corpus::MakeValidGguf());
  auto file = GgufFile::Parse(nullptr, bytes, "corpus.gguf");
  ASSERT_FALSE(file.ok()) << gguf_corpus::GgufDefectName(defect) << " was accepted";
  const auto expected = gguf_corpus::ExpectedRefusal(defect);
  EXPECT_EQ(file.status().code(), expected.code) << file.status().ToString();
  EXPECT_NE(file.status().message().find(expected.message_substring), std::string::npos)
      << "message: " << file.status().message() << "\nexpected to contain: "
      << expected.message_substring;
  EXPECT_EQ(file.status().message().rfind("corpus.gguf: ", 0), 0u) << file.status().message();
}

INSTANTIATE_TEST_SUITE_P(Defects, GgufDefectTest,
                         ::testing::ValuesIn(gguf_corpus::AllGgufDefects()),
                         [](const ::testing::TestParamInfo<GgufDefect>& info) {
                           return std::string(gguf_corpus::GgufDefectName(info.param));
                         });

// The same corpus through the file path (mmap), for the defects small enough to write.
TEST(GgufCorpus, EveryDefectIsRefusedFromDisk) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "gguf_corpus";
  fs::create_directories(dir);
  for (GgufDefect d : gguf_corpus::AllGgufDefects()) {
    const fs::path path = dir / (std::string(gguf_corpus::GgufDefectName(d)) + ".gguf");
    std::vector<uint8_t> bytes = gguf_corpus::MakeGgufWithDefect(d);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    auto file = GgufFile::Open(path.string());
    EXPECT_FALSE(file.ok()) << path;
    EXPECT_NE(file.status().message().find(gguf_corpus::ExpectedRefusal(d).message_substring),
              std::string::npos)
        << file.status().message();
  }
}

// Every proper prefix of the valid file is refused (no read past the end, no crash).
TEST(GgufCorpus, EveryPrefixOfTheValidFileIsRefused) {
  std::vector<uint8_t> bytes = gguf_corpus::MakeValidGguf();
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    auto file = GgufFile::Parse(nullptr, prefix, "prefix");
    EXPECT_FALSE(file.ok()) << "prefix of " << n << " bytes accepted";
  }
}

// Flipping any single byte of the header never crashes; most flips are refused, and any that
// are accepted still describe a file the reader can serve views of.
TEST(GgufCorpus, SingleByteFlipsInTheHeaderNeverCrash) {
  std::vector<uint8_t> bytes = gguf_corpus::MakeValidGguf();
  auto base = GgufFile::Parse(nullptr, bytes, "base");
  ASSERT_TRUE(base.ok());
  for (size_t i = 0; i < (*base)->data_offset(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xFF}) {
      std::vector<uint8_t> mutated = bytes;
      mutated[i] ^= mask;
      auto file = GgufFile::Parse(nullptr, mutated, "flip");
      if (!file.ok()) continue;
      for (const GgufTensorInfo& t : (*file)->tensors()) {
        auto view = (*file)->TensorBytes(t);
        EXPECT_LE(view.data() + view.size(), mutated.data() + mutated.size());
      }
    }
  }
}

TEST(GgufLimits, HeaderLimitIsEnforced) {
  std::vector<uint8_t> bytes = gguf_corpus::MakeValidGguf();
  GgufLimits limits;
  limits.max_header_bytes = 100;
  auto file = GgufFile::Parse(nullptr, bytes, "limited", limits);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("100-byte header limit (GgufLimits::max_header_bytes)"), std::string::npos)
      << file.status().message();
}

TEST(GgufLimits, StringAndArrayLimitsAreEnforced) {
  std::vector<uint8_t> bytes = gguf_corpus::MakeValidGguf();
  GgufLimits strings;
  strings.max_string_bytes = 4;
  auto a = GgufFile::Parse(nullptr, bytes, "s", strings);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("exceeds the limit of 4 bytes"), std::string::npos)
      << a.status().message();
  GgufLimits arrays;
  arrays.max_array_elements = 2;
  auto b = GgufFile::Parse(nullptr, bytes, "a", arrays);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("array of 3 elements exceeds the limit of 2"),
            std::string::npos)
      << b.status().message();
}

}  // namespace
}  // namespace moedist
