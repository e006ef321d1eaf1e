// libFuzzer target: ParseCalibrationSuite (calibration JSONL, docs/formats/calibration.md) on
// arbitrary bytes. Any input must give a suite or an error naming the line. An accepted suite
// has at least one prompt, unique non-empty ids and domains, exactly one of text (non-empty) and
// ids (non-empty, each in [0, INT32_MAX]) per prompt, and its prompts written back as JSONL
// (valid UTF-8, or dump() throws) parse to the same prompts.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "pipeline/calibration_suite.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using moedist::fuzz::Fail;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto suite = moedist::ParseCalibrationSuite(text, "fuzz/calibration.jsonl");
  if (!suite.ok()) return 0;
  if (suite->prompts.empty()) Fail("empty suite accepted");
  std::set<std::string> ids;
  std::string jsonl;
  for (const moedist::CalibrationPrompt& p : suite->prompts) {
    if (p.id.empty() || p.domain.empty() || !ids.insert(p.id).second) Fail("bad or repeated id");
    if (p.text.empty() == p.ids.empty()) Fail("prompt without exactly one of text and ids");
    for (int32_t id : p.ids) {
      if (id < 0) Fail("negative token id accepted");
    }
    nlohmann::json j = {{"id", p.id}, {"domain", p.domain}};
    if (p.pretokenized()) {
      j["ids"] = p.ids;
    } else {
      j["text"] = p.text;
    }
    jsonl += j.dump() + "\n";
  }
  auto again = moedist::ParseCalibrationSuite(jsonl, "fuzz/rewritten.jsonl");
  if (!again.ok()) Fail("rewritten suite refused: " + again.status().ToString());
  if (again->prompts.size() != suite->prompts.size()) Fail("rewritten suite lost prompts");
  for (size_t i = 0; i < suite->prompts.size(); ++i) {
    const auto &a = suite->prompts[i], &b = again->prompts[i];
    if (a.id != b.id || a.domain != b.domain || a.text != b.text || a.ids != b.ids) {
      Fail("rewritten suite differs");
    }
  }
  return 0;
}
