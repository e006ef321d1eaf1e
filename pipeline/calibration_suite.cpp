#include "pipeline/calibration_suite.h"

#include <openssl/evp.h>

#include <set>

#include "core/json_strict.h"
#include "core/mapped_file.h"

namespace moedist {
namespace {

constexpr size_t kMaxLineBytes = 16u << 20;
constexpr size_t kMaxLines = 1000000;

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

Result<CalibrationPrompt> ParseLine(std::string_view line, const std::string& where) {
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(line, where));
  if (!j.is_object()) return Status::Corruption("{}: expected a JSON object", where);
  CalibrationPrompt p;
  for (const auto& [key, value] : j.items()) {
    if (key == "id" || key == "domain" || key == "text") {
      if (!value.is_string()) {
        return Status::Corruption("{}: \"{}\" must be a string, found {}", where, key,
                                  value.type_name());
      }
      (key == "id" ? p.id : key == "domain" ? p.domain : p.text) = value.get<std::string>();
    } else if (key == "ids") {
      if (!value.is_array()) return Status::Corruption("{}: \"ids\" must be a list", where);
      for (const auto& v : value) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
          return Status::Corruption("{}: \"ids\" holds {}, expected token ids ≥ 0", where,
                                    v.dump());
        }
        p.ids.push_back(v.get<int32_t>());
      }
    } else {
      return Status::Corruption("{}: unknown field \"{}\" (expected id, domain, text or ids)",
                                where, key);
    }
  }
  if (p.id.empty()) return Status::Corruption("{}: missing or empty \"id\"", where);
  if (p.domain.empty()) return Status::Corruption("{}: missing or empty \"domain\"", where);
  const bool has_text = j.contains("text"), has_ids = j.contains("ids");
  if (has_text == has_ids) {
    return Status::Corruption("{}: prompt \"{}\" needs exactly one of \"text\" and \"ids\"", where,
                              p.id);
  }
  if (has_text && p.text.empty()) {
    return Status::Corruption("{}: prompt \"{}\" has empty text", where, p.id);
  }
  if (has_ids && p.ids.empty()) {
    return Status::Corruption("{}: prompt \"{}\" has an empty ids list", where, p.id);
  }
  return p;
}

}  // namespace

Result<CalibrationSuite> ParseCalibrationSuite(std::string_view text, const std::string& source) {
  CalibrationSuite suite;
  suite.path = source;
  suite.sha256 = Sha256Hex(text);
  std::set<std::string> ids;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    const std::string where = fmt::format("{}:{}", source, line_no);
    if (line_no > kMaxLines) {
      return Status::Corruption("{}: more than {} lines", source, kMaxLines);
    }
    if (end - pos > kMaxLineBytes) {
      return Status::Corruption("{}: line is {} bytes, over the {} byte limit", where, end - pos,
                                kMaxLineBytes);
    }
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      return Status::Corruption("{}: blank line (one JSON object per line expected)", where);
    }
    ASSIGN_OR_RETURN(CalibrationPrompt p, ParseLine(line, where));
    if (!ids.insert(p.id).second) {
      return Status::Corruption("{}: duplicate prompt id \"{}\"", where, p.id);
    }
    suite.prompts.push_back(std::move(p));
    pos = end + 1;
  }
  if (suite.prompts.empty()) return Status::Corruption("{}: no prompts", source);
  return suite;
}

Result<CalibrationSuite> ReadCalibrationSuite(const std::string& path) {
  // Mapped, not read: a huge line is measured before anything is allocated for it.
  ASSIGN_OR_RETURN(auto file, MappedFile::Open(path));
  auto bytes = file->bytes();
  return ParseCalibrationSuite(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

}  // namespace moedist
