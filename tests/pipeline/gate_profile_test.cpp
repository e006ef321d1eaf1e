// ReadGateProfile on profile.json files with one defect each, written from a valid planted
// profile. Each was found reading the parser while writing profile_fuzz, which reproduces it
// (tests/fuzz/regressions/profile_fuzz/): an out-of-range float conversion (undefined
// behaviour) or two keys naming one layer.
#include "pipeline/gate_profile.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "planted_profile_testutil.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Defect {
  const char* name;
  std::function<void(json&)> apply;
};

TEST(ReadGateProfile, RefusesEachDefect) {
  const fs::path path = fs::temp_directory_path() /
                        ("moedist-profile-defect-" + std::to_string(::getpid()) + ".json");
  ASSERT_TRUE(WriteGateProfile(testing_util::MakePlantedProfile({}), path.string()).ok());
  std::ifstream in(path);
  const json valid = json::parse(in);
  ASSERT_TRUE(valid["layers"].contains("0")) << valid["layers"].dump().substr(0, 200);
  const Defect defects[] = {
      {"expert_bytes above 2^64", [](json& j) { j["model"]["expert_bytes"]["0"][0] = 1e30; }},
      {"expert_bytes a fraction", [](json& j) { j["model"]["expert_bytes"]["0"][0] = 1.5; }},
      {"num_layers 1e300", [](json& j) { j["model"]["num_layers"] = 1e300; }},
      {"top_k a float", [](json& j) { j["model"]["top_k"] = 4.0; }},
      {"moe_layers entry a float", [](json& j) { j["model"]["moe_layers"][0] = 1e20; }},
      {"tokens negative", [](json& j) { j["tokens"] = -1; }},
      {"prompt tokens above u32", [](json& j) { j["prompts"][0]["tokens"] = 1ull << 33; }},
      {"layer key 00 beside 0", [](json& j) { j["layers"]["00"] = j["layers"]["0"]; }},
      {"layer key with trailing text", [](json& j) { j["layers"]["0x"] = j["layers"]["0"]; }},
      {"selection_count a float", [](json& j) { j["layers"]["0"]["selection_count"][0] = 2.5; }},
  };
  for (const Defect& d : defects) {
    json j = valid;
    d.apply(j);
    std::ofstream(path) << j.dump();
    auto p = ReadGateProfile(path.string());
    EXPECT_FALSE(p.ok()) << d.name;
    if (!p.ok()) EXPECT_EQ(p.status().code(), StatusCode::kCorruption) << d.name;
  }
  std::ofstream(path) << valid.dump();
  EXPECT_TRUE(ReadGateProfile(path.string()).ok());
  fs::remove(path);
  fs::remove(path.string() + ".arrays.safetensors");
}

}  // namespace
}  // namespace moedist
