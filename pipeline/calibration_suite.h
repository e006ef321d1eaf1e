// CalibrationSuite: prompts for profiling and evaluation, read from JSONL
// (schemas/calibration.schema.json, docs/formats/calibration.md). One prompt per line:
//   {"id": "py-001", "domain": "code-python", "text": "def f(x):\n ..."}
//   {"id": "x-7", "domain": "numbers", "ids": [151643, 17, 10, 17]}   (pre-tokenized)
// Refused with the file and line number: invalid JSON or UTF-8, unknown or missing fields,
// blank lines, empty text or ids, duplicate ids, lines over 16 MiB, more than 1 000 000 lines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace moedist {

struct CalibrationPrompt {
  std::string id;
  std::string domain;
  std::string text;          // empty when pre-tokenized
  std::vector<int32_t> ids;  // pre-tokenized ids, or empty
  bool pretokenized() const { return !ids.empty(); }
};

struct CalibrationSuite {
  std::string path;
  std::string sha256;  // of the file's bytes, for provenance
  std::vector<CalibrationPrompt> prompts;
};

Result<CalibrationSuite> ReadCalibrationSuite(const std::string& path);
// The same rules on text already in memory; `source` names it in errors.
Result<CalibrationSuite> ParseCalibrationSuite(std::string_view text, const std::string& source);

}  // namespace moedist
