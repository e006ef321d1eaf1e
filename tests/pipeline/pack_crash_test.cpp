// A pack that dies mid-way (reliability rows 30-31) leaves no file under a final name that is not
// complete, no distribution.json, and a rerun completes with the same bytes as a clean pack.
// Two failures are simulated through PackRequest::after_tensor: an error returned after N
// tensors (the writer unwinds and removes its temporary), and a child process that exits at once
// after N tensors, like kill -9 (its temporary stays behind for the rerun to remove).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "formats/safetensors_reader.h"
#include "manifest/build_distribution.h"
#include "pack_fixture_testutil.h"

namespace moedist::pack_testing {
namespace {

namespace fs = std::filesystem;

// Every file at a final name is complete: safetensors parse strictly (a prefix would not), JSON
// parses. Returns the number of temporaries.
int CheckOnlyCompleteFiles(const std::string& dist) {
  int temporaries = 0;
  for (const std::string& rel : ListFiles(dist)) {
    const std::string name = fs::path(rel).filename().string();
    if (IsAtomicTemporaryName(name)) {
      ++temporaries;
      continue;
    }
    EXPECT_NE(name, "distribution.json") << "the release became visible";
    if (name.ends_with(".safetensors")) {
      auto f = SafetensorsFile::Open(dist + "/" + rel);
      EXPECT_TRUE(f.ok()) << rel << ": " << f.status().ToString();
    } else {
      EXPECT_TRUE(nlohmann::json::accept(ReadAll(dist + "/" + rel))) << rel;
    }
  }
  return temporaries;
}

void ExpectSameFiles(const std::string& a, const std::string& b) {
  const auto files = ListFiles(a);
  ASSERT_EQ(files, ListFiles(b));
  for (const std::string& f : files) {
    EXPECT_TRUE(ReadAll(a + "/" + f) == ReadAll(b + "/" + f)) << f << " differs";
  }
}

PackRequest Request(const std::string& out) {
  auto config = LoadModelConfig(FixtureDir("olmoe"));
  EXPECT_TRUE(config.ok());
  PackRequest req = MakeRequest(FixtureDir("olmoe"), TwoGroupPlan(*config), out);
  req.shard_bytes = 96 << 10;
  return req;
}

TEST(PackCrash, ErrorAfterNTensorsLeavesNothingHalfWrittenAndRerunCompletes) {
  TempDir tmp;
  ASSERT_TRUE(PackRelease(Request(tmp.Sub("clean"))).ok());
  for (uint64_t n : {1u, 40u, 110u}) {
    SCOPED_TRACE("fail after " + std::to_string(n));
    const std::string dist = tmp.Sub("dist-" + std::to_string(n));
    PackRequest req = Request(dist);
    req.threads = 2;
    req.after_tensor = [n](uint64_t written) {
      return written >= n ? Status::IoError("injected failure after {} tensors", written)
                          : Status::Ok();
    };
    auto r = PackRelease(req);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("injected failure"), std::string::npos)
        << r.status().ToString();
    EXPECT_EQ(CheckOnlyCompleteFiles(dist), 0) << "a failed writer left its temporary";
    auto rerun = PackRelease(Request(dist));
    ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
    ExpectSameFiles(dist, tmp.Sub("clean"));
  }
}

TEST(PackCrash, KilledMidShardLeavesOnlyATemporaryAndRerunCompletes) {
  TempDir tmp;
  ASSERT_TRUE(PackRelease(Request(tmp.Sub("clean"))).ok());
  const std::string dist = tmp.Sub("dist");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    PackRequest req = Request(dist);
    req.after_tensor = [](uint64_t written) {
      if (written == 60) ::_exit(9);  // no unwinding, no destructors: like kill -9
      return Status::Ok();
    };
    (void)PackRelease(req);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 9) << "the child did not die mid-pack";
  EXPECT_GE(CheckOnlyCompleteFiles(dist), 1) << "expected the killed shard's temporary";
  auto rerun = PackRelease(Request(dist));
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  ExpectSameFiles(dist, tmp.Sub("clean"));
}

}  // namespace
}  // namespace moedist::pack_testing
