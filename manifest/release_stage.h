// Replacing a release directory as one step (docs/publication.md).
//
// Every command that writes a release directory DIST takes its lock first: an exclusive flock
// on PARENT/.NAME.moedist-lock (LockRelease). The lock file sits beside DIST, not in it, because
// DIST itself is swapped: a lock on the directory would stay with the old one.
//
// A writer builds the new release in PARENT/.NAME.moedist-staging (ReleaseStage), empty or seeded
// with hard links to DIST's files (a manifest update costs no copy), then Publish() switches it
// in with one renameat2(RENAME_EXCHANGE): a reader, or a crash at any instant, sees the whole old
// release or the whole new one at DIST, never a mix. The old release then sits at the staging
// path and is deleted. Where the filesystem lacks RENAME_EXCHANGE, DIST is renamed to
// PARENT/.NAME.moedist-previous and the staging directory to DIST; the next writer finishes an
// interrupted switch (the previous release goes back when DIST is missing, or is deleted).
// Processes that hold files of the old release open keep reading them (they are unlinked, not
// overwritten). The cost: free space for the new release while the old one exists.
// Thread safety: one ReleaseStage per DIST, under its lock.
#pragma once

#include <functional>
#include <string>

#include "core/file_lock.h"
#include "core/status.h"

namespace moedist {

// PARENT/.NAME.moedist-lock for DIST = PARENT/NAME.
std::string ReleaseLockPath(const std::string& dist);

// Locks DIST without waiting (creating PARENT if missing); a held lock fails with
// FailedPrecondition naming the lock file. DIST need not exist; a symbolic link or a file at
// DIST is refused (the switch would replace the link, not the release it points to).
Result<FileLock> LockRelease(const std::string& dist);

class ReleaseStage {
 public:
  enum class Seed {
    kEmpty,        // the writer writes every file
    kLinkCurrent,  // hard links to DIST's files (and its directories), to change a few of them
  };
  // The caller holds LockRelease(dist). Finishes an interrupted switch, removes a staging
  // directory a killed writer left, then creates the new one.
  static Result<ReleaseStage> Begin(const std::string& dist, Seed seed);
  ReleaseStage(ReleaseStage&& other) noexcept;
  ReleaseStage& operator=(ReleaseStage&&) = delete;
  ReleaseStage(const ReleaseStage&) = delete;
  ~ReleaseStage();  // removes the staging directory unless it was published

  const std::string& path() const { return stage_; }
  const std::string& dist() const { return dist_; }
  // True when Begin() removed what an interrupted writer left (a staging directory, or the old
  // release of a half-done switch).
  bool removed_leftovers() const { return removed_leftovers_; }

  // Syncs the staged tree, switches it in at DIST, deletes the old release and syncs PARENT.
  // `after_switch` (may be empty) runs between the switch and the deletion: a crash-test hook.
  Status Publish(const std::function<void()>& after_switch = {});

  // Test hook: use the two-rename switch even where RENAME_EXCHANGE works.
  static void UseTwoRenameSwitchForTesting(bool on);

 private:
  ReleaseStage(std::string dist, std::string stage)
      : dist_(std::move(dist)), stage_(std::move(stage)) {}
  std::string dist_;
  std::string stage_;
  bool removed_leftovers_ = false;
};

}  // namespace moedist
