// moedist build as a library (pipeline/release_build.h) on the example Qwen3-MoE checkpoint with
// small suites: what a second build skips, what a change re-runs, the lock, the dry run, and
// the release spec's refusals.
#include "pipeline/release_build.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "manifest/release_signing.h"
#include "manifest/release_stage.h"
#include "manifest/release_verify.h"
#include "pipeline/release_build_lock.h"
#include "pipeline/release_build_makefile.h"
#include "pipeline/release_build_spec.h"
#include "pipeline/release_build_validate.h"
#include "tests/pipeline/pack_fixture_testutil.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using pack_testing::TempDir;

const std::string kExample = std::string(moedist::test_dirs::SourceDir()) + "/examples";

// The first `n` lines of a suite, so the profile step takes a fraction of a second.
void WriteHead(const std::string& from, const std::string& to, int n) {
  std::ifstream in(from);
  std::ofstream out(to);
  std::string line;
  for (int i = 0; i < n && std::getline(in, line); ++i) out << line << "\n";
}

json BaseSpec(const TempDir& d) {
  WriteHead(kExample + "/calibration/calibration.jsonl", d.Sub("cal.jsonl"), 6);
  WriteHead(kExample + "/calibration/eval.jsonl", d.Sub("eval.jsonl"), 2);
  if (!fs::exists(d.Sub("key.pem"))) {
    EXPECT_TRUE(GenerateKeyFiles(d.Sub("key.pem"), d.Sub("key.pub"), false).ok());
  }
  return {
      {"schema_version", 1},
      {"checkpoint", kExample + "/model/checkpoint"},
      {"calibration", "cal.jsonl"},
      {"profile", {{"layers", "all"}, {"max_tokens_per_prompt", 16}}},
      {"plan", {{"groups", 2}, {"overlay", 2}, {"strategy", "placement"}}},
      {"release", {{"name", "test"}, {"created", "2026-01-01T00:00:00Z"}, {"valid_days", 3650}}},
      {"signing_key", "key.pem"},
      {"output", "out"}};
}

std::string WriteSpec(const TempDir& d, const json& spec) {
  const std::string path = d.Sub("release.json");
  std::ofstream(path) << spec.dump(2);
  return path;
}

ReleaseBuildReport Build(const std::string& release, bool dry_run = false) {
  ReleaseBuildOptions o;
  o.release_path = release;
  o.tool_version = "test";
  o.dry_run = dry_run;
  auto r = RunReleaseBuild(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ReleaseBuildReport{};
}

// A build of `release` that a held lock refuses: FailedPrecondition, naming `what`.
void ExpectRefusedNaming(const std::string& release, const std::string& what) {
  ReleaseBuildOptions o;
  o.release_path = release;
  auto r = RunReleaseBuild(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
}

std::map<std::string, std::string> States(const ReleaseBuildReport& r) {
  std::map<std::string, std::string> m;
  for (const StepOutcome& s : r.steps) m[s.name] = s.state;
  return m;
}

struct FileStamp {
  ino_t ino;
  int64_t mtime_ns;
  int64_t ctime_ns;
  off_t size;
  bool operator==(const FileStamp&) const = default;
};

// Every file under `dir` with its inode, mtime and ctime (a rename, link or chmod changes ctime).
std::map<std::string, FileStamp> Stamps(const std::string& dir) {
  std::map<std::string, FileStamp> m;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    m[fs::relative(e.path(), dir).string()] = {
        st.st_ino, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
        st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec, st.st_size};
  }
  return m;
}

TEST(ReleaseBuild, FirstBuildRunsEveryStepAndPublishesTheRelease) {
  TempDir d;
  const ReleaseBuildReport r = Build(WriteSpec(d, BaseSpec(d)));
  const auto states = States(r);
  for (const char* step : {"inspect", "profile", "plan", "pack", "sign"}) {
    EXPECT_EQ(states.at(step), "ran") << step;
  }
  EXPECT_EQ(states.at("validate"), "skipped");  // no eval suite in the spec
  for (const char* f :
       {"inspect/inspect.json", "profile/profile.json", "plan/plan.json", "dist/distribution.json",
        "dist/distribution.json.sig", "dist/node-0/moedist_node.json", "dist/node-1/config.json"}) {
    EXPECT_TRUE(fs::exists(d.Sub("out/" + std::string(f)))) << f;
  }
  // plan.json names the published profile, not the cache entry it was read from.
  std::ifstream plan(d.Sub("out/plan/plan.json"));
  EXPECT_EQ(json::parse(plan)["profile"]["path"], "profile/profile.json");
}

TEST(ReleaseBuild, ValidateRunsLastAndItsManifestUpdateIsPublished) {
  TempDir d;
  json spec = BaseSpec(d);
  spec["eval"] = "eval.jsonl";
  spec["validate"] = {
      {"max_prompt_tokens", 12},    {"generation_prompts", 1}, {"generation_prompt_tokens", 4},
      {"generation_new_tokens", 4}, {"min_distinct_2", 0.0},   {"max_distinct_2_drop", 1.0},
      {"tier_bytes", "64K"}};
  const std::string release = WriteSpec(d, spec);
  const ReleaseBuildReport r = Build(release);
  ASSERT_EQ(States(r).at("validate"), "ran");
  EXPECT_NE(r.validation_table.find("node-0"), std::string::npos) << r.validation_table;
  EXPECT_NE(r.validation_table.find("node-1"), std::string::npos) << r.validation_table;
  EXPECT_TRUE(fs::exists(d.Sub("out/validate/validation.json")));
  std::ifstream manifest(d.Sub("out/dist/distribution.json"));
  const json m = json::parse(manifest);
  ASSERT_TRUE(m.contains("validation")) << "validate's manifest did not replace pack's";
  EXPECT_EQ(m["validation"]["nodes"].size(), 2u);
  // validate.tier_bytes reached validate, which had the build's profile and the eval suite.
  ASSERT_TRUE(m.contains("tiers"));
  EXPECT_EQ(m["tiers"]["resident"]["budget_bytes"], 64u << 10);
  EXPECT_LE(m["tiers"]["resident"]["bytes"].get<uint64_t>(), 64u << 10);
  EXPECT_TRUE(m["tiers"]["resident"].contains("eval"));
  // The signature published is validate's, over the manifest published.
  auto key = PrivateKey::Load(d.Sub("key.pem"));
  ASSERT_TRUE(key.ok());
  std::ifstream sig_in(d.Sub("out/dist/distribution.json.sig"));
  const json sig = json::parse(sig_in);
  EXPECT_EQ(sig["key_id"], key->key_id());
  const auto again = States(Build(release));
  EXPECT_EQ(again.at("validate"), "cached");
}

TEST(ReleaseBuild, NoChangeRebuildSkipsEveryStepInUnderASecondAndRewritesNothing) {
  TempDir d;
  const std::string release = WriteSpec(d, BaseSpec(d));
  Build(release);
  const auto before = Stamps(d.Sub("out"));
  const auto start = std::chrono::steady_clock::now();
  const ReleaseBuildReport r = Build(release);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& [step, state] : States(r)) {
    EXPECT_TRUE(state == "cached" || (step == "validate" && state == "skipped"))
        << step << " " << state;
  }
  EXPECT_LT(seconds, 1.0);
  EXPECT_TRUE(r.published.empty());
  EXPECT_TRUE(r.removed.empty());
  EXPECT_EQ(Stamps(d.Sub("out")), before);
}

TEST(ReleaseBuild, OverlayChangeRerunsOnlyPlanAndWhatFollowsAndKeepsTheTrunk) {
  TempDir d;
  json spec = BaseSpec(d);
  const std::string release = WriteSpec(d, spec);
  Build(release);
  const auto before = Stamps(d.Sub("out"));
  spec["plan"]["overlay"] = 1;
  WriteSpec(d, spec);
  const ReleaseBuildReport r = Build(release);
  const std::map<std::string, std::string> want = {{"inspect", "cached"}, {"profile", "cached"},
                                                   {"plan", "ran"},       {"pack", "ran"},
                                                   {"sign", "ran"},       {"validate", "skipped"}};
  EXPECT_EQ(States(r), want);
  const auto after = Stamps(d.Sub("out"));
  const std::set<std::string> published(r.published.begin(), r.published.end());
  EXPECT_TRUE(published.count("plan/plan.json"));
  EXPECT_TRUE(published.count("dist/distribution.json"));
  EXPECT_TRUE(std::any_of(published.begin(), published.end(), [](const std::string& p) {
    return p.starts_with("dist/overlay/") || p.starts_with("dist/group-");
  }));
  int trunk_files = 0;
  for (const auto& [path, stamp] : before) {
    if (path.starts_with("inspect/") || path.starts_with("profile/") ||
        path.starts_with("dist/trunk/")) {
      // Unchanged bytes stay the same file: not republished, not rewritten (the new cache
      // entry's link to the same inode changes only its ctime).
      EXPECT_EQ(after.at(path).ino, stamp.ino) << path;
      EXPECT_EQ(after.at(path).mtime_ns, stamp.mtime_ns) << path;
      EXPECT_FALSE(published.count(path)) << path;
      trunk_files += path.starts_with("dist/trunk/");
    }
  }
  EXPECT_GT(trunk_files, 0);
  EXPECT_NE(after.at("plan/plan.json"), before.at("plan/plan.json"));
}

TEST(ReleaseBuild, ProfileOptionChangeRerunsProfileButNotInspect) {
  TempDir d;
  json spec = BaseSpec(d);
  const std::string release = WriteSpec(d, spec);
  Build(release);
  spec["profile"]["max_tokens_per_prompt"] = 12;
  WriteSpec(d, spec);
  const auto states = States(Build(release));
  EXPECT_EQ(states.at("inspect"), "cached");
  EXPECT_EQ(states.at("profile"), "ran");
}

TEST(ReleaseBuild, SecondBuildIntoALockedOutputFailsFastNamingTheLock) {
  TempDir d;
  const std::string release = WriteSpec(d, BaseSpec(d));
  auto held = AcquireBuildLock(d.Sub("out"));
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  const auto start = std::chrono::steady_clock::now();
  ExpectRefusedNaming(release, kBuildLockFile);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
  EXPECT_FALSE(fs::exists(d.Sub("out/.moedist-cache")));
}

// `pack --out OUT/dist` while a build publishes there (or the other way round) shares one lock:
// the second writer fails at once and names it.
TEST(ReleaseBuild, ABuildIntoAReleaseAnotherCommandIsWritingFailsNamingTheReleaseLock) {
  TempDir d;
  const std::string release = WriteSpec(d, BaseSpec(d));
  auto held = LockRelease(d.Sub("out/dist"));
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  ExpectRefusedNaming(release, ReleaseLockPath(d.Sub("out/dist")));
  EXPECT_FALSE(fs::exists(d.Sub("out/dist")));
}

// A published file (the same inode as its cache entry) changed in place with its size and mtime
// restored: the stamp check cannot see it, the digest check before publication does. The
// damaged steps run again and the release published verifies; the bad bytes are never
// published under a signature.
TEST(ReleaseBuild, ACachedReleaseFileChangedInPlaceIsRebuiltNotPublished) {
  TempDir d;
  const std::string release = WriteSpec(d, BaseSpec(d));
  Build(release);
  std::string shard;
  for (const auto& e : fs::recursive_directory_iterator(d.Sub("out/dist/trunk"))) {
    if (e.path().extension() == ".safetensors") shard = e.path().string();
  }
  ASSERT_FALSE(shard.empty());
  const std::string good = pack_testing::ReadAll(shard);
  struct stat before;
  ASSERT_EQ(::stat(shard.c_str(), &before), 0);
  ASSERT_EQ(::chmod(shard.c_str(), 0644), 0);
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(good.size() / 2));
    f.put(static_cast<char>(good[good.size() / 2] ^ 0x01));
  }
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, shard.c_str(), times, 0), 0);
  ASSERT_EQ(::chmod(shard.c_str(), before.st_mode & 07777), 0);

  std::vector<std::string> log;
  ReleaseBuildOptions o;
  o.release_path = release;
  o.tool_version = "test";
  o.log = [&log](const std::string& line) { log.push_back(line); };
  auto r = RunReleaseBuild(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(States(*r).at("pack"), "ran");
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& l) {
    return l.find("fails verification") != std::string::npos;
  }));
  EXPECT_TRUE(pack_testing::ReadAll(shard) == good) << "the published shard was not rebuilt";
  auto key = PrivateKey::Load(d.Sub("key.pem"));
  ASSERT_TRUE(key.ok());
  VerifyOptions v;
  v.dist_dir = d.Sub("out/dist");
  v.trusted_keys = {key->public_key()};
  const VerifyReport verified = VerifyRelease(v);
  EXPECT_TRUE(verified.ok()) << (verified.problems.empty() ? "" : verified.problems[0].message);
}

TEST(ReleaseBuild, DryRunWritesNothingAndNamesWhatWouldRun) {
  TempDir d;
  json spec = BaseSpec(d);
  const std::string release = WriteSpec(d, spec);
  const ReleaseBuildReport fresh = Build(release, /*dry_run=*/true);
  EXPECT_FALSE(fs::exists(d.Sub("out")));
  EXPECT_EQ(States(fresh).at("inspect"), "would run");
  EXPECT_EQ(States(fresh).at("pack"), "would run");
  Build(release);
  spec["plan"]["overlay"] = 1;
  WriteSpec(d, spec);
  const auto before = Stamps(d.Sub("out"));
  const auto states = States(Build(release, /*dry_run=*/true));
  EXPECT_EQ(states.at("profile"), "cached");
  EXPECT_EQ(states.at("plan"), "would run");
  EXPECT_EQ(states.at("sign"), "would run");
  EXPECT_EQ(Stamps(d.Sub("out")), before);
}

TEST(ReleaseBuild, ChangedCheckpointBytesAreSeenThroughTheDigest) {
  TempDir d;
  json spec = BaseSpec(d);
  fs::copy(kExample + "/model/checkpoint", d.Sub("ckpt"));
  spec["checkpoint"] = "ckpt";
  const std::string release = WriteSpec(d, spec);
  Build(release);
  // Same size, same mtime: only the digest tells (reliability row 35).
  const std::string gen = d.Sub("ckpt/generation_config.json");
  struct stat st;
  ASSERT_EQ(::stat(gen.c_str(), &st), 0);
  std::string text;
  {
    std::ifstream in(gen);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text[text.rfind('}') - 1] = text[text.rfind('}') - 1] == ' ' ? '\t' : ' ';
  std::ofstream(gen, std::ios::trunc) << text;
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, gen.c_str(), times, 0), 0);
  const auto states = States(Build(release));
  EXPECT_EQ(states.at("inspect"), "ran");
  EXPECT_EQ(states.at("profile"), "ran");
}

TEST(ReleaseSpecParse, RefusesWhatIsWrongNamingTheField) {
  const json good = {{"schema_version", 1},
                     {"checkpoint", "c"},
                     {"calibration", "s"},
                     {"plan", {{"groups", 2}}},
                     {"release", {{"created", "2026-01-01T00:00:00Z"}}},
                     {"output", "o"}};
  ASSERT_TRUE(ParseReleaseSpec(good.dump(), "r.json", "/base").ok());
  auto with = [&](const json& patch) {
    json j = good;
    j.merge_patch(patch);
    return j;
  };
  const std::vector<std::pair<json, std::string>> cases = {
      {with(json{{"extra", 1}}), "unknown field \"extra\""},
      {with(json{{"plan", {{"groups", 0}}}}), "plan.groups"},
      {with(json{{"plan", {{"strategy", "random"}}}}), "plan.strategy"},
      {with(json{{"plan", {{"strategy", "custom"}}}}), "\"assign\""},
      {with(json{{"plan", {{"overlay", 1}, {"overlay_bytes", 9}}}}), "not both"},
      {with(json{{"release", {{"created", nullptr}}}}), "\"created\""},
      {with(json{{"release", {{"created", "yesterday"}}}}), "release.created"},
      {with(json{{"profile", {{"max_tokens_per_prompt", "8"}}}}), "profile.max_tokens_per_prompt"},
      {with(json{{"output", nullptr}}), "\"output\""},
      {with(json{{"schema_version", 2}}), "schema_version 2"},
      {with(json{{"max_rss", 0}}), "r.json.max_rss"},
      {with(json{{"max_rss", "lots"}}), "r.json.max_rss"},
      {with(json{{"pack", {{"layout", "expert"}}}}), "pack.layout"},
      {with(json{{"plan", {{"standins", "constant"}}}}), "plan.standins"},
      {with(json{{"plan", {{"proxies_per_group", 3}}}}), "needs \"standins\""},
      {with(json{{"plan", {{"standins", "proxy-fit"}, {"proxies_per_group", 0}}}}),
       "proxies_per_group"},
  };
  for (const auto& [spec, want] : cases) {
    auto r = ParseReleaseSpec(spec.dump(), "r.json", "/base");
    ASSERT_FALSE(r.ok()) << spec.dump();
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
  }
  auto r = ParseReleaseSpec(good.dump(), "r.json", "/base");
  EXPECT_EQ(r->checkpoint, "/base/c");
  EXPECT_EQ(r->max_rss, 0u);
  EXPECT_EQ(ParseReleaseSpec(with(json{{"max_rss", "2G"}}).dump(), "r.json", "/base")->max_rss,
            2ull << 30);
  EXPECT_EQ(r->pack.layout, "groups");
  TempDir d;  // ReleaseMakefile lists the checkpoint's files
  fs::create_directories(d.Sub("c"));
  std::ofstream(d.Sub("c/config.json")) << "{}";
  auto experts =
      ParseReleaseSpec(with(json{{"pack", {{"layout", "experts"}}}}).dump(), "r.json", d.path());
  ASSERT_TRUE(experts.ok()) << experts.status().ToString();
  EXPECT_EQ(experts->pack.layout, "experts");
  // The Makefile's pack step gets the same layout as build's own pack step.
  auto mk = ReleaseMakefile(*experts, {"moedist", 1, "r.json"});
  ASSERT_TRUE(mk.ok()) << mk.status().ToString();
  EXPECT_NE(mk->find("--layout experts"), std::string::npos) << *mk;
  // Stand-ins: build's plan step fits them; the Makefile asks plan for the same.
  auto proxies = ParseReleaseSpec(
      with(json{{"plan", {{"standins", "proxy-fit"}, {"proxies_per_group", 4}}}}).dump(), "r.json",
      d.path());
  ASSERT_TRUE(proxies.ok()) << proxies.status().ToString();
  EXPECT_EQ(proxies->plan.standins, "proxy-fit");
  EXPECT_EQ(proxies->plan.proxies_per_group, 4);
  mk = ReleaseMakefile(*proxies, {"moedist", 1, "r.json"});
  ASSERT_TRUE(mk.ok()) << mk.status().ToString();
  EXPECT_NE(mk->find("--standins proxy-fit --proxies-per-group 4"), std::string::npos) << *mk;
}

// validate.tier_bytes: the byte sizes --tier-bytes takes, refused otherwise naming the field; the
// Makefile passes the integer, so no spelling of it reaches the shell.
TEST(ReleaseSpecParse, TierBytesIsAByteSizeInBothFrontEnds) {
  EXPECT_EQ(*SpecByteSize(json("4M"), "v.tier_bytes"), 4ull << 20);
  EXPECT_EQ(*SpecByteSize(json(12345), "v.tier_bytes"), 12345u);
  for (const json& bad : {json(-1), json(1.5), json("lots"), json(true)}) {
    auto r = SpecByteSize(bad, "release.json validate.tier_bytes");
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_NE(r.status().message().find("validate.tier_bytes"), std::string::npos)
        << r.status().message();
  }
  TempDir d;
  json spec = BaseSpec(d);
  spec["eval"] = "eval.jsonl";
  spec["validate"] = {{"tier_bytes", "3M"}};
  auto parsed = ParseReleaseSpec(spec.dump(), "r.json", d.path());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto mk = ReleaseMakefile(*parsed, {.moedist_exe = "/bin/moedist", .release_source = "r.json"});
  ASSERT_TRUE(mk.ok()) << mk.status().ToString();
  EXPECT_NE(mk->find(fmt::format("--tier-bytes {}", 3ull << 20)), std::string::npos) << *mk;
}

// release.json's max_rss reaches the build: a cap no step can meet stops it with nothing
// published, naming the cap.
TEST(ReleaseBuild, AMemoryCapNoStepCanMeetStopsTheBuildNamingIt) {
  TempDir d;
  json spec = BaseSpec(d);
  spec["max_rss"] = "4M";
  const std::string release = WriteSpec(d, spec);
  ReleaseBuildOptions o;
  o.release_path = release;
  auto r = RunReleaseBuild(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("max"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(d.Sub("out/dist")));
  EXPECT_FALSE(fs::exists(d.Sub("out/profile")));
}

TEST(ReleaseSpecParse, BudgetPlanFields) {
  json spec = {{"schema_version", 1},
               {"checkpoint", "c"},
               {"calibration", "s"},
               {"plan", {{"nodes", 4}, {"node_bytes", "8M"}, {"measure", 3}}},
               {"release", {{"created", "2026-01-01T00:00:00Z"}}},
               {"output", "o"}};
  auto r = ParseReleaseSpec(spec.dump(), "r.json", "/base");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->plan.nodes, 4);
  EXPECT_EQ(r->plan.node_bytes, 8u << 20);
  EXPECT_EQ(r->plan.measure, 3);
  spec["plan"]["node_bytes"] = 123456;
  r = ParseReleaseSpec(spec.dump(), "r.json", "/base");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->plan.node_bytes, 123456u);

  const std::vector<std::pair<json, std::string>> bad = {
      {{{"nodes", 4}}, "needs \"node_bytes\""},
      {{{"nodes", 4}, {"node_bytes", "lots"}}, "node_bytes"},
      {{{"nodes", 4}, {"node_bytes", 0}}, "positive byte count"},
      {{{"nodes", 4}, {"node_bytes", 9}, {"groups", 2}}, "fixed split"},
      {{{"groups", 2}, {"measure", 2}}, "needs \"nodes\""},
      {{{"nodes", 4}, {"node_bytes", 9}, {"standins", "proxy-fit"}}, "fixed split"},
      {{{"nodes", 0}, {"node_bytes", 9}}, "plan.nodes"},
      // Was accepted as a fixed split of 2 groups, node_bytes ignored (release_spec_fuzz).
      {{{"node_bytes", "1G"}}, "needs \"nodes\""},
  };
  for (const auto& [plan, want] : bad) {
    json j = spec;
    j["plan"] = plan;
    auto e = ParseReleaseSpec(j.dump(), "r.json", "/base");
    ASSERT_FALSE(e.ok()) << plan.dump();
    EXPECT_NE(e.status().message().find(want), std::string::npos) << e.status().message();
  }
}

}  // namespace
}  // namespace moedist
