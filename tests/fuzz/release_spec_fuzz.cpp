// libFuzzer target: ParseReleaseSpec (release.json, docs/formats/release.md) on arbitrary bytes.
// Any input must give a spec or an error naming the field. An accepted spec has every field in
// the range the format states, so `moedist build` can use it without checking again: required
// paths present, budget mode (nodes > 0) exactly when node_bytes is given, a known strategy
// (custom with an assignment file), a version >= 1, created before expires.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "manifest/release_time.h"
#include "pipeline/release_build_spec.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using moedist::fuzz::Fail;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto s = moedist::ParseReleaseSpec(text, "fuzz/release.json", "/base");
  if (!s.ok()) return 0;
  if (s->checkpoint.empty() || s->calibration.empty() || s->output.empty()) Fail("path missing");
  const auto& pr = s->profile;
  if (pr.max_tokens_per_prompt < 1 || pr.topm < 0) Fail("profile field out of range");
  const auto& pl = s->plan;
  if (pl.nodes < 0 || (pl.nodes > 0) != (pl.node_bytes > 0)) {
    Fail("budget mode without both nodes and node_bytes accepted");
  }
  if (pl.nodes == 0) {
    static const std::set<std::string> kStrategies = {"contiguous", "modulo", "snake", "placement",
                                                      "custom"};
    if (pl.groups < 1 || pl.overlay < -1 || !kStrategies.count(pl.strategy)) Fail("plan field");
    if (pl.strategy == "custom" && pl.assign.empty()) Fail("custom strategy without assign");
  }
  if (pl.measure < 1 || pl.measure_prompts < 0 || pl.measure_tokens < 2) Fail("measure field");
  if (s->pack.shard_bytes < 1) Fail("shard_bytes < 1 accepted");
  const auto& rel = s->release;
  if (rel.version < 1 || rel.valid_days < 1) Fail("release field out of range");
  auto created = moedist::ParseRfc3339Utc(rel.created, "created");
  if (!created.ok()) Fail("release.created accepted but not RFC 3339");
  if (!rel.expires.empty()) {
    auto expires = moedist::ParseRfc3339Utc(rel.expires, "expires");
    if (!expires.ok() || *expires <= *created) Fail("release.expires not after created");
  }
  if (!s->validate.is_object()) Fail("validate not an object");
  return 0;
}
