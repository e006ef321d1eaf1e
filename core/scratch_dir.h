// ScratchDir: a working directory for intermediate files — the caller's (created if missing,
// kept afterwards) or a fresh one under the system temporary directory (removed with its content
// when the ScratchDir is destroyed). Used by validate and the budget planner, which pack whole
// releases they only read back.
// Thread safety: a plain value; one owner.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace moedist {

class ScratchDir {
 public:
  // `given` empty: a new "<tmp>/<prefix>-XXXXXX" directory, owned.
  static Result<ScratchDir> Make(const std::string& given, std::string_view prefix);
  ScratchDir(ScratchDir&& o) noexcept;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();
  const std::string& path() const { return path_; }

 private:
  ScratchDir(std::string p, bool owned) : path_(std::move(p)), owned_(owned) {}
  std::string path_;
  bool owned_ = false;
};

}  // namespace moedist
