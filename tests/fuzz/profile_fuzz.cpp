// libFuzzer target: ReadGateProfile (profile.json plus its arrays sidecar,
// docs/formats/profile.md). The reader only takes a path, so the input is split at the first
// kSidecarMark: the bytes before it are written as profile.json, the bytes after it as
// profile.json.arrays.safetensors (no mark: no sidecar). Any input must give a profile or an
// error. An accepted profile is what plan and place index with: 1 <= top_k <= num_experts,
// 1 <= topm <= num_experts, every per-expert array of num_experts entries, layers ascending and
// distinct, token_prompt of `tokens` entries naming prompts that exist, top-m experts in range.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/gate_profile.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using moedist::fuzz::Fail;
constexpr std::string_view kSidecarMark = "\n--moedist-fuzz-sidecar--\n";

void CheckAccepted(const moedist::GateProfile& p) {
  const size_t E = static_cast<size_t>(p.num_experts), T = p.tokens, P = p.prompts.size();
  if (p.num_experts < 1 || p.top_k < 1 || p.top_k > p.num_experts) Fail("experts / top_k");
  if (p.topm < 1 || p.topm > p.num_experts) Fail("topm out of range");
  for (const auto& [layer, bytes] : p.expert_bytes) {
    if (bytes.size() != E) Fail("expert_bytes of the wrong length");
  }
  if (p.token_prompt.size() != T) Fail("token_prompt length differs from tokens");
  for (uint32_t idx : p.token_prompt) {
    if (idx >= P) Fail("token_prompt names a missing prompt");
  }
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const moedist::LayerGateProfile& l = p.layers[i];
    if (i > 0 && l.layer <= p.layers[i - 1].layer) Fail("layers not ascending and distinct");
    if (p.FindLayer(l.layer) != &l) Fail("FindLayer misses a layer");
    if (l.selection_count.size() != E || l.gate_mass.size() != E || l.routed_weight.size() != E) {
      Fail("per-expert array of the wrong length");
    }
    for (const auto& [domain, mass] : l.domain_mass) {
      if (mass.size() != E) Fail("domain_mass of the wrong length");
    }
    if (l.coactivation.size() != E * E || l.prompt_mass.size() != P * E) Fail("matrix shape");
    if (l.topm_experts.size() != T * p.topm || l.topm_probs.size() != T * p.topm) {
      Fail("top-m arrays of the wrong length");
    }
    for (uint16_t e : l.topm_experts) {
      if (e >= E) Fail("top-m expert out of range");
    }
    (void)moedist::ConcentrationCurve(l);
  }
  (void)moedist::RankingCsv(p, -1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto dir = moedist::fuzz::ScratchDir("profile");
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto json_path = dir / "profile.json";
  const auto sidecar_path = dir / "profile.json.arrays.safetensors";
  const size_t mark = input.find(kSidecarMark);
  moedist::fuzz::WriteFile(json_path, input.substr(0, mark));
  if (mark == std::string_view::npos) {
    std::filesystem::remove(sidecar_path);
  } else {
    moedist::fuzz::WriteFile(sidecar_path, input.substr(mark + kSidecarMark.size()));
  }
  auto profile = moedist::ReadGateProfile(json_path.string());
  if (profile.ok()) CheckAccepted(*profile);
  return 0;
}
