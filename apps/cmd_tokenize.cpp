// moedist tokenize --tokenizer FILE (--text S | --texts FILE.json) [--json]: token ids of each
// text, as Hugging Face tokenizers give them with add_special_tokens=False (no BOS/EOS).
// Prints one line of space-separated ids per text, or with --json one JSON array of id arrays.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "apps/command_registry.h"
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "runtime-min/tokenizer.h"

namespace moedist::cli {
namespace {

constexpr uint64_t kMaxTextsFileBytes = uint64_t{1} << 30;

struct TokenizeOptions {
  std::string tokenizer_path;
  std::string text;
  bool has_text = false;
  std::string texts_path;
  bool json = false;
};

Result<std::vector<std::string>> ReadTexts(const std::string& path) {
  ASSIGN_OR_RETURN(std::string raw, ReadSmallFile(path, kMaxTextsFileBytes));
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(raw, path));
  if (!j.is_array()) return Status::Corruption("{}: expected a JSON array of strings", path);
  std::vector<std::string> texts;
  texts.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string()) {
      return Status::Corruption("{}: element {} is not a string", path, i);
    }
    texts.push_back(j[i].get<std::string>());
  }
  return texts;
}

int RunTokenize(const TokenizeOptions& o) {
  if (o.has_text == !o.texts_path.empty()) {
    return ReportError("tokenize", Status::InvalidArgument("give exactly one of --text and "
                                                           "--texts"));
  }
  auto tokenizer = Tokenizer::LoadFile(o.tokenizer_path);
  if (!tokenizer.ok()) return ReportError("tokenize", tokenizer.status());
  std::vector<std::string> texts;
  if (o.has_text) {
    texts.push_back(o.text);
  } else {
    auto read = ReadTexts(o.texts_path);
    if (!read.ok()) return ReportError("tokenize", read.status());
    texts = std::move(read).value();
  }
  nlohmann::json all = nlohmann::json::array();
  for (size_t i = 0; i < texts.size(); ++i) {
    auto ids = tokenizer->Encode(texts[i]);
    if (!ids.ok()) {
      return ReportError("tokenize", ids.status().WithContext(fmt::format("text {}", i)));
    }
    if (o.json) {
      all.push_back(*ids);
    } else {
      fmt::print("{}\n", fmt::join(*ids, " "));
    }
  }
  if (o.json) fmt::print("{}\n", all.dump());
  return kExitOk;
}

Registrar registrar(
    {"tokenize", 50,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<TokenizeOptions>();
       sub.add_option("--tokenizer", o->tokenizer_path, "Hugging Face tokenizer.json")->required();
       auto* text = sub.add_option("--text", o->text, "one text to tokenize");
       auto* texts =
           sub.add_option("--texts", o->texts_path, "JSON file holding an array of texts");
       text->excludes(texts);
       sub.add_flag("--json", o->json, "print a JSON array of id arrays, one per text");
       return [o, text] {
         o->has_text = text->count() > 0;
         return RunTokenize(*o);
       };
     },
     "token ids of texts, as Hugging Face tokenizers encode them without "
     "special tokens"});

}  // namespace
}  // namespace moedist::cli
