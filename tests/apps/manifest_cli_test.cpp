// moedist keygen / sign / verify / diff, run as a user would. The release directory and its
// distribution.json are written here independently of manifest/ (nlohmann + OpenSSL directly),
// so these tests also check that moedist reads a manifest it did not write itself.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/apps/cli_testutil.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using moedist::cli_testing::CliResult;
using moedist::cli_testing::Slurp;

void Spit(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

std::string Sha256(const std::string& bytes) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    s += hex[md[i] >> 4];
    s += hex[md[i] & 15];
  }
  return s;
}

class ManifestCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("moedist-manifest-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliResult Moedist(const std::string& args) {
    return moedist::cli_testing::RunMoedist(args, dir_);
  }

  // A two-node release with version `version`; group-1's bytes depend on the version.
  fs::path MakeRelease(const std::string& name, int version) {
    const fs::path dist = dir_ / name;
    const std::map<std::string, std::map<std::string, std::string>> bundles = {
        {"trunk", {{"model.safetensors", std::string(4000, 't')}, {"sub/config.json", "{}\n"}}},
        {"group-0", {{"experts.safetensors", std::string(2000, '0')}}},
        {"group-1", {{"experts.safetensors", std::string(2000, '1') + std::to_string(version)}}},
    };
    json jb = json::object();
    for (const auto& [bundle, files] : bundles) {
      json list = json::array();
      for (const auto& [path, bytes] : files) {
        Spit(dist / bundle / path, bytes);
        list.push_back({{"path", path}, {"size", bytes.size()}, {"sha256", Sha256(bytes)}});
      }
      jb[bundle] = {{"files", list}};
    }
    json m = {
        {"schema_version", 1},
        {"release",
         {{"name", "cli"},
          {"version", version},
          {"created", "2025-01-01T00:00:00Z"},
          {"expires", "2030-01-01T00:00:00Z"}}},
        {"source", {{"family", "qwen3_moe"}, {"files", json::array()}}},
        {"routing", json::object()},
        {"calibration", json::object()},
        {"partition",
         {{"layers",
           {{"0",
             {{"groups", version == 1 ? json{{0, 1}, {2, 3}} : json{{0, 2}, {1, 3}}},
              {"overlay", json::array()}}}}}}},
        {"overlay", json::object()},
        {"recipe", {{"experts", version == 1 ? "q4_k" : "q6_k"}}},
        {"validation", json::object()},
        {"bundles", jb},
        {"nodes",
         {{{"id", "node-0"}, {"bundles", {"trunk", "group-0"}}},
          {{"id", "node-1"}, {"bundles", {"trunk", "group-1"}}}}},
    };
    Spit(dist / "distribution.json", m.dump(1) + "\n");
    return dist;
  }

  void KeyPair(const std::string& name) {
    CliResult r = Moedist("keygen --out " + (dir_ / name).string());
    ASSERT_EQ(r.code, 0) << r.err;
  }

  std::string Key(const std::string& name) { return (dir_ / name).string(); }
  std::string Pub(const std::string& name) { return (dir_ / (name + ".pub")).string(); }
  const std::string kNow = " --now 2026-01-01T00:00:00Z";

  fs::path dir_;
};

TEST_F(ManifestCli, KeygenWritesA0600PrivateKeyAndRefusesToOverwrite) {
  CliResult r = Moedist("keygen --out " + Key("k"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("key id"), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat(Key("k").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(fs::exists(Pub("k")));
  const std::string before = Slurp(Key("k"));
  CliResult again = Moedist("keygen --out " + Key("k"));
  EXPECT_EQ(again.code, 3);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(Slurp(Key("k")), before);
}

TEST_F(ManifestCli, SignThenVerifyOkAndJsonReport) {
  KeyPair("k");
  const fs::path dist = MakeRelease("v1", 1);
  CliResult unsigned_run = Moedist("verify " + dist.string() + " --unsigned" + kNow);
  EXPECT_EQ(unsigned_run.code, 0) << unsigned_run.out << unsigned_run.err;
  EXPECT_NE(unsigned_run.out.find("NOT CHECKED"), std::string::npos);
  CliResult s = Moedist("sign " + dist.string() + " --key " + Key("k"));
  ASSERT_EQ(s.code, 0) << s.err;
  const json sig = json::parse(Slurp(dist / "distribution.json.sig"));
  EXPECT_EQ(sig["algorithm"], "ed25519");
  EXPECT_EQ(sig["key_id"].get<std::string>().size(), 64u);
  CliResult v = Moedist("verify " + dist.string() + " --pubkey " + Pub("k") + " -j 2" + kNow);
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("verify: OK"), std::string::npos) << v.out;
  CliResult j = Moedist("verify " + dist.string() + " --pubkey " + Pub("k") + " --json" + kNow);
  ASSERT_EQ(j.code, 0);
  const json report = json::parse(j.out);
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["files_checked"], 4);
  EXPECT_EQ(report["signature"]["key_id"], sig["key_id"]);
}

TEST_F(ManifestCli, VerifyExitCodes) {
  KeyPair("k");
  KeyPair("other");
  const fs::path dist = MakeRelease("v1", 1);
  ASSERT_EQ(Moedist("sign " + dist.string() + " --key " + Key("k")).code, 0);
  const std::string verify = "verify " + dist.string() + " --pubkey " + Pub("k");

  EXPECT_EQ(Moedist("verify " + dist.string()).code, 2) << "no --pubkey and no --unsigned";
  EXPECT_EQ(Moedist("verify").code, 2);
  EXPECT_EQ(Moedist(verify + " --now yesterday").code, 2);

  CliResult wrong_key = Moedist("verify " + dist.string() + " --pubkey " + Pub("other") + kNow);
  EXPECT_EQ(wrong_key.code, 1);
  EXPECT_NE(wrong_key.out.find("unknown key id"), std::string::npos) << wrong_key.out;
  // Several trusted keys (rotation): the right one is found by key id.
  EXPECT_EQ(Moedist(verify + " --pubkey " + Pub("other") + kNow).code, 0);

  CliResult expired = Moedist(verify + " --now 2031-01-01T00:00:00Z");
  EXPECT_EQ(expired.code, 1);
  EXPECT_NE(expired.out.find("expired"), std::string::npos);

  CliResult unknown_node = Moedist(verify + " --node node-9" + kNow);
  EXPECT_EQ(unknown_node.code, 1);

  CliResult no_dir = Moedist("verify " + (dir_ / "nope").string() + " --pubkey " + Pub("k") + kNow);
  EXPECT_EQ(no_dir.code, 4);

  // Flip one bit of one bundle file: exit 1, the file is named.
  std::string bytes = Slurp(dist / "group-0/experts.safetensors");
  bytes[100] ^= 0x10;
  Spit(dist / "group-0/experts.safetensors", bytes);
  CliResult flipped = Moedist(verify + kNow);
  EXPECT_EQ(flipped.code, 1);
  EXPECT_NE(flipped.out.find("group-0/experts.safetensors: SHA-256 mismatch"), std::string::npos)
      << flipped.out;
  EXPECT_NE(flipped.out.find("node-0"), std::string::npos);
  EXPECT_EQ(Moedist(verify + " --node node-1" + kNow).code, 0) << "node-1 does not need group-0";

  // A signed but malformed manifest: exit 3.
  const fs::path bad = MakeRelease("bad", 1);
  json m = json::parse(Slurp(bad / "distribution.json"));
  m["bundles"]["trunk"]["files"][0]["path"] = "../escape";
  Spit(bad / "distribution.json", m.dump() + "\n");
  ASSERT_EQ(Moedist("sign " + bad.string() + " --key " + Key("k")).code, 3)
      << "sign refuses a malformed manifest";
  CliResult unsigned_bad = Moedist("verify " + bad.string() + " --unsigned" + kNow);
  EXPECT_EQ(unsigned_bad.code, 3);
  EXPECT_NE(unsigned_bad.out.find("../escape"), std::string::npos) << unsigned_bad.out;
}

TEST_F(ManifestCli, LastAcceptedAcrossRuns) {
  KeyPair("k");
  const fs::path v1 = MakeRelease("v1", 1), v2 = MakeRelease("v2", 2);
  ASSERT_EQ(Moedist("sign " + v1.string() + " --key " + Key("k")).code, 0);
  ASSERT_EQ(Moedist("sign " + v2.string() + " --key " + Key("k")).code, 0);
  const std::string state = (dir_ / "accepted.json").string();
  auto verify = [&](const fs::path& d) {
    return Moedist("verify " + d.string() + " --pubkey " + Pub("k") + " --last-accepted " + state +
                   kNow);
  };
  EXPECT_EQ(verify(v1).code, 0);
  EXPECT_EQ(json::parse(Slurp(state))["version"], 1);
  CliResult r2 = verify(v2);
  EXPECT_EQ(r2.code, 0);
  EXPECT_NE(r2.out.find("recorded version 2"), std::string::npos) << r2.out;
  CliResult back = verify(v1);
  EXPECT_EQ(back.code, 1);
  EXPECT_NE(back.out.find("rollback refused"), std::string::npos) << back.out;
  CliResult same = verify(v2);
  EXPECT_EQ(same.code, 0);
  EXPECT_NE(same.out.find("nothing new"), std::string::npos) << same.out;
}

TEST_F(ManifestCli, DiffTextAndJson) {
  const fs::path v1 = MakeRelease("v1", 1), v2 = MakeRelease("v2", 2);
  CliResult t = Moedist("diff " + v1.string() + " " + (v2 / "distribution.json").string());
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("version 1 -> cli version 2"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("2 experts moved"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("recipe"), std::string::npos);
  CliResult j = Moedist("diff " + v1.string() + " " + v2.string() + " --json");
  ASSERT_EQ(j.code, 0);
  const json d = json::parse(j.out);
  EXPECT_EQ(d["old_release"]["version"], 1);
  EXPECT_EQ(d["new_release"]["version"], 2);
  EXPECT_EQ(d["sections_changed"]["recipe"][0]["key"], "/experts");
  ASSERT_EQ(d["files"].size(), 1u);
  EXPECT_EQ(d["files"][0]["path"], "experts.safetensors");
  EXPECT_EQ(d["files"][0]["bundle"], "group-1");
  EXPECT_EQ(d["nodes"][0]["download_bytes"], 0);
  EXPECT_EQ(d["nodes"][1]["download_bytes"], 2001);
  EXPECT_EQ(Moedist("diff " + v1.string() + " " + (dir_ / "missing").string()).code, 4);
  // Unverified unless asked: said on stderr and in the JSON.
  EXPECT_NE(t.err.find("neither release was verified"), std::string::npos) << t.err;
  EXPECT_EQ(d["verified"]["old"], "none");
  // --unsigned checks both releases' files: the digests pass, then a changed file fails (exit 3,
  // the release named).
  CliResult checked = Moedist("diff " + v1.string() + " " + v2.string() + " --unsigned --json");
  ASSERT_EQ(checked.code, 0) << checked.err;
  EXPECT_EQ(json::parse(checked.out)["verified"]["new"], "digests");
  Spit(v2 / "group-1" / "experts.safetensors", "tampered");
  CliResult tampered = Moedist("diff " + v1.string() + " " + v2.string() + " --unsigned");
  EXPECT_EQ(tampered.code, 3) << tampered.err;
  EXPECT_NE(tampered.err.find(v2.string()), std::string::npos) << tampered.err;
}

}  // namespace
