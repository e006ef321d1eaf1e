// Tokenizer tests, in layers: exact ids against Hugging Face references (Qwen3 from
// tests/fixtures/, Llama-2 and DeepSeek-V3 from tests/runtime-min/data, computed by
// tokref/make_tokenizer_refs.mjs with @huggingface/tokenizers), decode round trips, table-driven
// unit tests of the parts (regex engine, NFC, BPE merge order, added tokens, split behaviors) on
// toy tokenizers, malformed tokenizer.json files, and long inputs that would expose quadratic time.
#include "runtime-min/tokenizer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "manifest/file_digest.h"
#include "manifest/zstd_stream.h"
#include "runtime-min/tokenizer_pretokenize.h"
#include "runtime-min/tokenizer_regex.h"
#include "runtime-min/unicode_nfc.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Ids = std::vector<int32_t>;

const fs::path kQwen3Dir =
    fs::path(moedist::test_dirs::FixtureRoot()) / "fixtures" / "tokenizers" / "qwen3";
const fs::path kDataDir =
    fs::path(moedist::test_dirs::SourceDir()) / "tests" / "runtime-min" / "data";

// The three large tokenizer.json fixtures are stored compressed (zstd -19: 21 MB become 3.5 MB,
// which keeps the repository small enough to travel to the GPU machine); decompress with
// `zstd -d` to look at one.
fs::path TokenizerPath(const std::string& name) {
  if (name == "qwen3") return kQwen3Dir / "tokenizer.json.zst";
  return kDataDir / (name + "_tokenizer.json.zst");
}

Result<std::string> ReadZstdFile(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::NotFound("{}: cannot open", path.string());
  ASSIGN_OR_RETURN(auto z, ZstdDecompressor::Create(fd.get(), path.string()));
  std::string out;
  std::vector<uint8_t> buffer(1 << 20);
  while (true) {
    ASSIGN_OR_RETURN(const size_t n, z->Read(buffer));
    if (n == 0) return out;
    out.append(reinterpret_cast<const char*>(buffer.data()), n);
  }
}

json ReadJson(const fs::path& path) {
  auto text = ReadSmallFile(path.string(), uint64_t{64} << 20);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  if (!text.ok()) return json();
  auto parsed = ParseJsonStrict(*text, path.string());
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : json();
}

// Loading the big vocabularies takes a fraction of a second each; load each once.
const Tokenizer* Load(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second.get();
  const fs::path path = TokenizerPath(name);
  std::unique_ptr<Tokenizer> loaded;
  if (fs::exists(path)) {
    auto text = ReadZstdFile(path);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    if (!text.ok()) return nullptr;
    auto t = Tokenizer::FromJsonText(*text, path.string());
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    if (t.ok()) loaded = std::make_unique<Tokenizer>(std::move(t).value());
  }
  return cache.emplace(name, std::move(loaded)).first->second.get();
}

Ids EncodeOrDie(const Tokenizer& t, std::string_view text) {
  auto ids = t.Encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status().ToString();
  return ids.ok() ? *ids : Ids{};
}

// ---------------------------------------------------------------------------------------------
// Exact ids against Hugging Face.

TEST(TokenizerReference, Qwen3FixtureIdsMatchExactly) {
  const Tokenizer* t = Load("qwen3");
  ASSERT_NE(t, nullptr) << "missing " << TokenizerPath("qwen3");
  const json refs = ReadJson(kQwen3Dir / "reference_ids.json");
  ASSERT_TRUE(refs.is_array());
  ASSERT_GE(refs.size(), 10u);
  for (const json& r : refs) {
    const std::string text = r.at("text").get<std::string>();
    EXPECT_EQ(EncodeOrDie(*t, text), r.at("ids").get<Ids>()) << "text: " << text;
  }
}

class TokenizerRefs : public testing::TestWithParam<std::string> {};

TEST_P(TokenizerRefs, IdsAndDecodedTextMatchHuggingFace) {
  const std::string name = GetParam();
  if (!fs::exists(TokenizerPath(name))) {
    GTEST_SKIP() << TokenizerPath(name) << " is absent; see tests/runtime-min/tokref";
  }
  const Tokenizer* t = Load(name);
  ASSERT_NE(t, nullptr);
  const json refs = ReadJson(kDataDir / "tokenizer_refs.json");
  const json& cases = refs.at("tokenizers").at(name);
  ASSERT_GE(cases.size(), 100u);
  int mismatches = 0;
  for (const json& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    const Ids expected = c.at("ids").get<Ids>();
    const Ids got = EncodeOrDie(*t, text);
    EXPECT_EQ(got, expected) << name << " text: " << json(text).dump();
    EXPECT_EQ(t->Decode(expected), c.at("decoded").get<std::string>())
        << name << " text: " << json(text).dump();
    mismatches += got != expected;
  }
  EXPECT_EQ(mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(AllTokenizers, TokenizerRefs,
                         testing::Values("qwen3", "llama2", "deepseek_v3"));

// ---------------------------------------------------------------------------------------------
// Round trips: byte-level tokenizers give back the (normalized) text exactly; Llama-2's
// decoder drops the "▁" its normalizer prepended, so plain text comes back unchanged too.

const std::vector<std::string> kRoundTripTexts = {
    "",
    "Hello World",
    "  two leading spaces\n\n\tand a tab",
    "def f(x):\n    return x ** 2  # square\n",
    "日本語のテキスト 안녕하세요 مرحبا",
    "emoji 🙂🚀 👩‍👩‍👧 and ∑∫√∞",
    "caf\u00e9 na\u00efve \u00c5ngstr\u00f6m",
    "numbers 1234567890 and 3.14159",
    std::string(1000, ' ') + "x",
};

TEST(TokenizerRoundTrip, DecodeOfEncodeGivesTheText) {
  for (const char* name : {"qwen3", "llama2", "deepseek_v3"}) {
    if (!fs::exists(TokenizerPath(name))) continue;
    const Tokenizer* t = Load(name);
    ASSERT_NE(t, nullptr);
    for (const std::string& text : kRoundTripTexts) {
      const std::string expected = std::string(name) == "qwen3" ? unicode::ToNfc(text) : text;
      EXPECT_EQ(t->Decode(EncodeOrDie(*t, text)), expected) << name << ": " << text;
    }
  }
}

TEST(TokenizerRoundTrip, SpecialTokensDecodeAsTheirTextUnlessSkipped) {
  const Tokenizer* t = Load("qwen3");
  ASSERT_NE(t, nullptr);
  const Ids ids = EncodeOrDie(*t, "<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(t->Decode(ids), "<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(t->Decode(ids, /*skip_special_tokens=*/true), "user\nhi");
  EXPECT_EQ(t->TokenToId("<|im_end|>"), 151645);
  EXPECT_EQ(t->IdToToken(151645), "<|im_end|>");
  EXPECT_EQ(t->vocab_size(), 151669);
  // Ids past the vocabulary (padded embedding rows) decode to nothing.
  EXPECT_EQ(t->Decode(Ids{9707, 151900, 4337}), "Hello World");
}

// ---------------------------------------------------------------------------------------------
// Toy tokenizers: a byte-level and a SentencePiece-style one built from JSON in the test.

json ByteLevelToy() {
  // Vocabulary: every byte's table character, plus merged tokens.
  json vocab = json::object();
  int id = 0;
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
    std::string s;
    if (c < 0x80) {
      s += static_cast<char>(c);
    } else {
      s += static_cast<char>(0xC0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3F));
    }
    vocab[s] = id++;
  }
  for (const char* t : {"ab", "bc", "abc", "aa", "aaa", "aaaa",
                        "\xc4\xa0"
                        "a"})
    vocab[t] = id++;
  return {
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", {"a b", "b c", "ab c", "a a", "aa a", "aa aa", "\xc4\xa0 a"}}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", " ?[a-z]+|\\s+|[0-9]"}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"added_tokens", json::array()},
  };
}

Tokenizer FromJsonOrDie(const json& j) {
  auto t = Tokenizer::FromJsonText(j.dump(), "toy tokenizer");
  if (!t.ok()) {
    ADD_FAILURE() << t.status().ToString();
    std::abort();  // the tests below cannot go on without their tokenizer
  }
  return std::move(t).value();
}

int32_t Id(const Tokenizer& t, const std::string& token) {
  auto id = t.TokenToId(token);
  EXPECT_TRUE(id.has_value()) << token;
  return id.value_or(-1);
}

TEST(TokenizerBpe, MergesLowestRankFirstAndLeftmostAmongEqualRanks) {
  const Tokenizer t = FromJsonOrDie(ByteLevelToy());
  // "abc": a+b (rank 0) beats b+c (rank 1), then ab+c.
  EXPECT_EQ(EncodeOrDie(t, "abc"), (Ids{Id(t, "abc")}));
  // "aaaaa": a+a (rank 3) merges leftmost first, twice -> aa aa a; then aa+a (rank 4) beats
  // aa+aa (rank 5) -> aa aaa.
  EXPECT_EQ(EncodeOrDie(t, "aaaaa"), (Ids{Id(t, "aa"), Id(t, "aaa")}));
  EXPECT_EQ(EncodeOrDie(t, "aaa"), (Ids{Id(t, "aaa")}));
  EXPECT_EQ(EncodeOrDie(t, " a"), (Ids{Id(t,
                                          "\xc4\xa0"
                                          "a")}));
  EXPECT_EQ(t.Decode(EncodeOrDie(t, "x aaab 12\n")), "x aaab 12\n");
}

TEST(TokenizerBpe, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  json j = ByteLevelToy();
  // With merges a b / b c / ab c, "abc" merges to "abc" either way; make "bc" unreachable by
  // merges and check ignore_merges emits it whole.
  j["model"]["merges"] = {"a a"};
  j["model"]["vocab"].erase("aaa");
  j["model"]["vocab"].erase("aaaa");
  j["model"]["vocab"].erase("abc");
  j["model"]["vocab"].erase(
      "\xc4\xa0"
      "a");
  j["model"]["vocab"].erase("ab");
  EXPECT_EQ(EncodeOrDie(FromJsonOrDie(j), "bc").size(), 2u);
  j["model"]["ignore_merges"] = true;
  const Tokenizer t = FromJsonOrDie(j);
  EXPECT_EQ(EncodeOrDie(t, "bc"), (Ids{Id(t, "bc")}));
}

json SentencePieceToy() {
  json vocab = {{"<unk>", 0},
                {"<s>", 1},
                {"</s>", 2},
                {"\xe2\x96\x81", 3},
                {"a", 4},
                {"b", 5},
                {"\xe2\x96\x81"
                 "a",
                 6},
                {"\xe2\x96\x81"
                 "ab",
                 7}};
  for (int b = 0; b < 256; ++b) vocab[fmt::format("<0x{:02X}>", b)] = 8 + b;
  return {
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\xe2\x96\x81"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xe2\x96\x81"}}}}}},
      {"pre_tokenizer", nullptr},
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", json::array({json::array({"\xe2\x96\x81", "a"}), json::array({"\xe2\x96\x81"
                                                                                 "a",
                                                                                 "b"})})},
        {"unk_token", "<unk>"},
        {"byte_fallback", true},
        {"fuse_unk", true}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\xe2\x96\x81"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"added_tokens",
       {{{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
        {{"id", 2}, {"content", "</s>"}, {"special", true}, {"normalized", false}}}},
  };
}

TEST(TokenizerBpe, SentencePieceStyleByteFallbackAndUnk) {
  const Tokenizer t = FromJsonOrDie(SentencePieceToy());
  EXPECT_EQ(EncodeOrDie(t, "ab a"), (Ids{7, 6}));
  // "é" is not in the vocabulary: its two UTF-8 bytes come out as <0xC3> <0xA9>.
  EXPECT_EQ(EncodeOrDie(t, "aé"), (Ids{6, 8 + 0xC3, 8 + 0xA9}));
  EXPECT_EQ(t.Decode(EncodeOrDie(t, "aé b")), "aé b");
  // Added tokens split the text first; each stretch gets its own "▁".
  EXPECT_EQ(EncodeOrDie(t, "a</s>a"), (Ids{6, 2, 6}));
  EXPECT_EQ(EncodeOrDie(t, "<s>"), (Ids{1}));
  // Without byte tokens, unknown characters become one fused <unk>.
  json j = SentencePieceToy();
  j["model"]["byte_fallback"] = false;
  EXPECT_EQ(EncodeOrDie(FromJsonOrDie(j), "aéé"), (Ids{6, 0}));
  j["model"]["fuse_unk"] = false;
  EXPECT_EQ(EncodeOrDie(FromJsonOrDie(j), "aéé"), (Ids{6, 0, 0}));
  // Invalid byte runs decode to U+FFFD per byte, as Hugging Face's ByteFallback does.
  EXPECT_EQ(t.Decode(Ids{8 + 0xC3, 4}),
            "\xEF\xBF\xBD"
            "a");
}

TEST(TokenizerAddedTokens, LongestMatchLstripRstripAndSingleWord) {
  json j = SentencePieceToy();
  j["added_tokens"] = {
      {{"id", 300}, {"content", "<x>"}, {"normalized", false}},
      {{"id", 301}, {"content", "<x>>"}, {"normalized", false}},
      {{"id", 302}, {"content", "[L]"}, {"normalized", false}, {"lstrip", true}},
      {{"id", 303}, {"content", "[R]"}, {"normalized", false}, {"rstrip", true}},
      {{"id", 304}, {"content", "ab"}, {"normalized", false}, {"single_word", true}},
  };
  const Tokenizer t = FromJsonOrDie(j);
  EXPECT_EQ(EncodeOrDie(t, "<x>>"), (Ids{301}));
  EXPECT_EQ(EncodeOrDie(t, "a  [L]"), (Ids{6, 302}));
  EXPECT_EQ(EncodeOrDie(t, "[R]  a"), (Ids{303, 6}));
  EXPECT_EQ(EncodeOrDie(t, "a ab"), (Ids{6, 3, 304}));
  EXPECT_EQ(EncodeOrDie(t, "aab"), (Ids{6, 4, 5}));  // "ab" inside a word is not the token
}

// ---------------------------------------------------------------------------------------------
// Pre-tokenizer split behaviors (Hugging Face's SplitDelimiterBehavior), Digits and ByteLevel's
// own GPT-2 regex.

std::vector<std::string> WordsOf(const json& config, const std::string& text) {
  auto p = PreTokenizer::FromJson(config, JsonPath{"toy", "pre_tokenizer"});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return {};
  PreTokenizeScratch scratch;
  std::vector<std::string_view> words;
  p->Split(text, &scratch, &words);
  return {words.begin(), words.end()};
}

TEST(TokenizerPreTokenize, SplitBehaviorsFollowHuggingFace) {
  using W = std::vector<std::string>;
  auto split = [](const char* behavior, bool invert = false) {
    return json{{"type", "Split"},
                {"pattern", {{"String", "-"}}},
                {"behavior", behavior},
                {"invert", invert}};
  };
  const std::string text = "a-b--c";
  EXPECT_EQ(WordsOf(split("Isolated"), text), (W{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(WordsOf(split("Removed"), text), (W{"a", "b", "c"}));
  EXPECT_EQ(WordsOf(split("MergedWithPrevious"), text), (W{"a-", "b-", "-", "c"}));
  EXPECT_EQ(WordsOf(split("MergedWithNext"), text), (W{"a", "-b", "-", "-c"}));
  EXPECT_EQ(WordsOf(split("Contiguous"), text), (W{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(WordsOf(split("Removed", /*invert=*/true), text), (W{"-", "-", "-"}));
  EXPECT_EQ(WordsOf({{"type", "Digits"}, {"individual_digits", true}}, "ab12c"),
            (W{"ab", "1", "2", "c"}));
  EXPECT_EQ(WordsOf({{"type", "Digits"}, {"individual_digits", false}}, "ab12c\u0663"),
            (W{"ab", "12", "c", "\u0663"}));
  EXPECT_EQ(WordsOf({{"type", "ByteLevel"}, {"add_prefix_space", true}}, "Hi there's 42!"),
            (W{" Hi", " there", "'s", " 42", "!"}));
  EXPECT_EQ(WordsOf({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}},
                    "Hi there"),
            (W{"Hi there"}));
  EXPECT_EQ(WordsOf(nullptr, "Hi there"), (W{"Hi there"}));
}

// ---------------------------------------------------------------------------------------------
// The regex engine, table-driven: pattern, text, expected matches.

struct RegexCase {
  const char* pattern;
  const char* text;
  std::vector<std::string> matches;
};

std::vector<std::string> AllMatches(const TokenizerRegex& re, const std::string& text) {
  std::u32string cps;
  std::vector<size_t> offsets;
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<uint8_t>(text[i]);
    const size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t cp = n == 1 ? b : b & (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (text[i + k] & 0x3F);
    cps += cp;
    offsets.push_back(i);
    i += n;
  }
  offsets.push_back(text.size());
  std::vector<std::string> out;
  size_t pos = 0, b, e;
  while (pos <= cps.size() && re.Find(std::u32string_view(cps), pos, &b, &e)) {
    out.push_back(text.substr(offsets[b], offsets[e] - offsets[b]));
    pos = e > b ? e : b + 1;
  }
  return out;
}

TEST(TokenizerRegexEngine, MatchesLikeOnigurumaAndJs) {
  const char* qwen =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const std::vector<RegexCase> cases = {
      {qwen, "I'M fine", {"I", "'M", " fine"}},
      {qwen, "a  b", {"a", " ", " b"}},
      {qwen, "x \n\n y", {"x", " \n\n", " y"}},
      {qwen, "x123", {"x", "1", "2", "3"}},
      {qwen, "(hi)!!\n", {"(hi", ")!!\n"}},
      {R"(\p{N}{1,3})", "12345a6", {"123", "45", "6"}},
      {R"([一-龥]+)", "ab中文cd", {"中文"}},
      {R"([!\-/\[\\\]^]x)", "-x ]x \\x ^x", {"-x", "]x", "\\x", "^x"}},
      {R"(a+?b)", "aaab", {"aaab"}},
      {R"(a{2})", "aaaaa", {"aa", "aa"}},
      {R"((?:ab){2,3})", "abababab", {"ababab"}},
      {R"(x(?=y))", "xz xy", {"x"}},
      {R"(\P{L}+)", "ab12 cd", {"12 "}},
      {R"([^\s\p{L}])", "a b1", {"1"}},
      {R"(\x41\u0042\x{43})", "ABC", {"ABC"}},
      {R"(.)", "a\nb", {"a", "b"}},
      {R"(\s+)", "a\u00a0\u3000b\u200bc", {"\u00a0\u3000"}},  // U+200B is not White_Space
      {R"(\d+)", "a\u0663\u0664b", {"\u0663\u0664"}},
      {R"((?i:[a-c]x))", "Ax BX cX", {"Ax", "BX", "cX"}},
      {R"(a|ab)", "ab", {"a"}},  // first alternative wins, not the longest
  };
  for (const RegexCase& c : cases) {
    auto re = TokenizerRegex::Compile(c.pattern);
    ASSERT_TRUE(re.ok()) << c.pattern << ": " << re.status().ToString();
    EXPECT_EQ(AllMatches(*re, c.text), c.matches) << c.pattern << " on " << c.text;
  }
}

TEST(TokenizerRegexEngine, RefusesWhatItDoesNotImplement) {
  for (const char* p :
       {"(?<=a)b", "^a", "a$", "\\w+", "\\bx", "\\p{Han}", "[[a]]", "a++", "(a)\\1", "(?:a)+"}) {
    auto re = TokenizerRegex::Compile(p);
    ASSERT_FALSE(re.ok()) << p;
    EXPECT_EQ(re.status().code(), StatusCode::kUnsupported) << p << ": " << re.status().ToString();
  }
  for (const char* p : {"(a", "a)", "[a", "*a", "a{3,1}", "\\"}) {
    auto re = TokenizerRegex::Compile(p);
    ASSERT_FALSE(re.ok()) << p;
    EXPECT_EQ(re.status().code(), StatusCode::kCorruption) << p << ": " << re.status().ToString();
  }
}

// ---------------------------------------------------------------------------------------------
// NFC: the canonical examples of UAX #15 and the hard cases (reordering, blocked marks,
// singletons, exclusions, Hangul).

TEST(TokenizerNfc, ComposesReordersAndRespectsExclusions) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"e\u0301", "\u00e9"},
      {"A\u030a", "\u00c5"},
      {"\u212b", "\u00c5"},                // singleton decomposition
      {"\u1e9b\u0323", "\u1e9b\u0323"},    // long s with dot below and above
      {"q\u0307\u0323", "q\u0323\u0307"},  // reordered, no composite
      {"a\u0323\u0302", "\u1ead"},         // a + dot below + circumflex
      {"a\u0302\u0323", "\u1ead"},         // same after reordering
      {"\u0958", "\u0915\u093c"},          // composition exclusion
      {"\u1100\u1161\u11a8", "\uac01"},    // Hangul L V T
      {"\uac00\u11a8", "\uac01"},          // Hangul LV + T
      {"e\u0301\u0301", "\u00e9\u0301"},   // the second acute is blocked
      {"plain ascii", "plain ascii"},
      {"\u65e5\u672c", "\u65e5\u672c"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(unicode::ToNfc(in), out) << in;
}

// ---------------------------------------------------------------------------------------------
// Malformed and unsupported tokenizer.json files: errors that name the field, never a crash.

struct BadCase {
  const char* what;
  std::function<void(json&)> mutate;
  StatusCode code;
  const char* message_part;
};

TEST(TokenizerLoad, RefusesMalformedAndUnsupportedFiles) {
  const std::vector<BadCase> cases = {
      {"no model", [](json& j) { j.erase("model"); }, StatusCode::kCorruption, "model"},
      {"model not an object", [](json& j) { j["model"] = 3; }, StatusCode::kCorruption, "model"},
      {"unknown model type", [](json& j) { j["model"]["type"] = "Unigram"; },
       StatusCode::kUnsupported, "Unigram"},
      {"merge of unknown token", [](json& j) { j["model"]["merges"].push_back("zz q"); },
       StatusCode::kCorruption, "model.merges[7]"},
      {"merge result not in vocab", [](json& j) { j["model"]["merges"].push_back("c a"); },
       StatusCode::kCorruption, "merged token \"ca\""},
      {"merge without space", [](json& j) { j["model"]["merges"].push_back("ab"); },
       StatusCode::kCorruption, "two tokens"},
      {"negative id", [](json& j) { j["model"]["vocab"]["a"] = -1; }, StatusCode::kCorruption,
       "model.vocab"},
      {"huge id", [](json& j) { j["model"]["vocab"]["a"] = 1 << 30; }, StatusCode::kCorruption,
       "model.vocab"},
      {"duplicate id", [](json& j) { j["model"]["vocab"]["zz"] = 0; }, StatusCode::kCorruption,
       "id 0"},
      {"dropout", [](json& j) { j["model"]["dropout"] = 0.1; }, StatusCode::kUnsupported,
       "dropout"},
      {"unknown pre-tokenizer",
       [](json& j) {
         j["pre_tokenizer"] = {{"type", "Metaspace"}};
       },
       StatusCode::kUnsupported, "Metaspace"},
      {"regex lookbehind",
       [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(?<=a)b"; },
       StatusCode::kUnsupported, "pre_tokenizer.pretokenizers[0].pattern.Regex"},
      {"ByteLevel not last",
       [](json& j) {
         j["pre_tokenizer"]["pretokenizers"].push_back({{"type", "Digits"}});
       },
       StatusCode::kUnsupported, "ByteLevel must be last"},
      {"unknown normalizer",
       [](json& j) {
         j["normalizer"] = {{"type", "NFKC"}};
       },
       StatusCode::kUnsupported, "NFKC"},
      {"unknown decoder",
       [](json& j) {
         j["decoder"] = {{"type", "WordPiece"}};
       },
       StatusCode::kUnsupported, "WordPiece"},
      {"added token without content",
       [](json& j) {
         j["added_tokens"] = {{{"id", 5}}};
       },
       StatusCode::kCorruption, "added_tokens[0].content"},
      {"added token id reused",
       [](json& j) {
         j["added_tokens"] = {{{"id", 5}, {"content", "<a>"}}, {{"id", 5}, {"content", "<b>"}}};
       },
       StatusCode::kCorruption, "already used"},
      {"vocab not an object", [](json& j) { j["model"]["vocab"] = json::array(); },
       StatusCode::kCorruption, "model.vocab"},
  };
  for (const BadCase& c : cases) {
    json j = ByteLevelToy();
    c.mutate(j);
    auto t = Tokenizer::FromJsonText(j.dump(), "bad.json");
    ASSERT_FALSE(t.ok()) << c.what;
    EXPECT_EQ(t.status().code(), c.code) << c.what << ": " << t.status().ToString();
    EXPECT_NE(t.status().message().find(c.message_part), std::string::npos)
        << c.what << ": " << t.status().ToString();
    EXPECT_NE(t.status().message().find("bad.json"), std::string::npos) << c.what;
  }
  for (const char* text :
       {"", "not json", "[1, 2]", "{\"model\": {\"type\": \"BPE\"", "{\"a\":1,\"a\":2}"}) {
    auto t = Tokenizer::FromJsonText(text, "bad.json");
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_EQ(t.status().code(), StatusCode::kCorruption) << text;
  }
  auto missing = Tokenizer::LoadFile("/nonexistent/tokenizer.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(TokenizerEncode, RefusesInvalidUtf8) {
  const Tokenizer t = FromJsonOrDie(ByteLevelToy());
  for (const char* text : {"\xff", "a\xc3", "\xed\xa0\x80", "\xc0\xaf"}) {
    auto ids = t.Encode(text);
    ASSERT_FALSE(ids.ok());
    EXPECT_EQ(ids.status().code(), StatusCode::kInvalidArgument);
  }
}

// ---------------------------------------------------------------------------------------------
// Long inputs: a quadratic merge loop or regex would take minutes here.

TEST(TokenizerEncode, LongInputsTakeLinearTime) {
  const auto start = std::chrono::steady_clock::now();
  const size_t n = size_t{1} << 18;  // quadratic work here would be ~10^11 steps
  for (const char* name : {"qwen3", "llama2", "deepseek_v3"}) {
    if (!fs::exists(TokenizerPath(name))) continue;
    const Tokenizer* t = Load(name);
    ASSERT_NE(t, nullptr);
    for (const std::string& text :
         {std::string(n, ' '), std::string(n, 'a'), std::string(n, '7'), std::string(n, '\n'),
          std::string(n / 2, ' ') + std::string(n / 2, '\n') + "x"}) {
      auto ids = t->Encode(text);
      ASSERT_TRUE(ids.ok());
      EXPECT_FALSE(ids->empty());
      EXPECT_EQ(t->Decode(*ids), text) << name;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 120.0);  // about 2 s in a release build; generous for sanitizers
}

}  // namespace
}  // namespace moedist
