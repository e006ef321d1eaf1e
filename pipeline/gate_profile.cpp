#include "pipeline/gate_profile.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>
#include <stdexcept>
#include <type_traits>

#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "formats/safetensors_reader.h"
#include "formats/safetensors_writer.h"

namespace moedist {
namespace {

constexpr uint64_t kMaxProfileJsonBytes = 256ull << 20;

template <typename T>
std::span<const uint8_t> AsBytes(const std::vector<T>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T)};
}

std::string ArrayName(int layer, const char* what) {
  return "layer." + std::to_string(layer) + "." + what;
}

// Copies a sidecar tensor into `out`, checking dtype and element count.
template <typename T>
Status ReadArray(const SafetensorsFile& f, const std::string& name, DType dtype, uint64_t count,
                 std::vector<T>* out) {
  const SafetensorsTensor* t = f.Find(name);
  if (t == nullptr) return Status::Corruption("{}: missing array \"{}\"", f.path(), name);
  if (t->dtype != dtype || t->num_elements() != count) {
    return Status::Corruption("{}: array \"{}\" is {} × {}, expected {} × {}", f.path(), name,
                              t->num_elements(), DTypeName(t->dtype), count, DTypeName(dtype));
  }
  out->resize(count);
  auto bytes = f.TensorBytes(*t);
  if (!bytes.empty()) std::memcpy(out->data(), bytes.data(), bytes.size());
  return Status::Ok();
}

// An integer field as T. nlohmann's get<int>() of 1e300 or of 2^40 is an out-of-range
// conversion (undefined for a float), so the value must be a JSON integer that T holds; throws
// std::out_of_range otherwise, which ReadGateProfile reports as "not a moedist profile".
template <typename T>
T Whole(const nlohmann::json& v) {
  using Limits = std::numeric_limits<T>;
  bool fits = false;
  if (v.is_number_unsigned()) {
    fits = v.get<uint64_t>() <= static_cast<uint64_t>(Limits::max());
  } else if (v.is_number_integer()) {  // negative: the parser gives others as unsigned
    fits = std::is_signed_v<T> && v.get<int64_t>() >= static_cast<int64_t>(Limits::min());
  }
  if (!fits) throw std::out_of_range(v.dump() + " is not an integer in range");
  return v.get<T>();
}

// A layer key: a decimal int without sign, leading zeros or trailing text, so that two keys
// never name one layer ("1" and "01" would).
int LayerKey(const std::string& key) {
  size_t used = 0;
  const int layer = std::stoi(key, &used);
  if (used != key.size() || layer < 0 || std::to_string(layer) != key) {
    throw std::out_of_range("layer key \"" + key + "\" is not a layer number");
  }
  return layer;
}

// A JSON array of exactly `n` non-negative finite numbers; integers only when T is integral.
template <typename T>
Result<std::vector<T>> NumberArray(const nlohmann::json& j, size_t n, const std::string& what) {
  if (!j.is_array() || j.size() != n) {
    return Status::Corruption("{}: expected an array of {} numbers", what, n);
  }
  std::vector<T> out;
  out.reserve(n);
  for (const auto& v : j) {
    if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_unsigned()) {
        return Status::Corruption("{}: {} is not a non-negative integer", what, v.dump());
      }
      out.push_back(v.get<T>());
    } else {
      if (!v.is_number()) return Status::Corruption("{}: {} is not a number", what, v.dump());
      const double d = v.get<double>();
      if (!std::isfinite(d) || d < 0) return Status::Corruption("{}: {} out of range", what, d);
      out.push_back(static_cast<T>(d));
    }
  }
  return out;
}

}  // namespace

const LayerGateProfile* GateProfile::FindLayer(int layer) const {
  for (const auto& l : layers) {
    if (l.layer == layer) return &l;
  }
  return nullptr;
}

std::vector<std::string> GateProfile::Domains() const {
  std::set<std::string> d;
  for (const auto& p : prompts) d.insert(p.domain);
  return {d.begin(), d.end()};
}

std::vector<double> ConcentrationCurve(const LayerGateProfile& layer) {
  std::vector<double> mass = layer.gate_mass;
  std::sort(mass.begin(), mass.end(), std::greater<>());
  const double total = std::accumulate(mass.begin(), mass.end(), 0.0);
  std::vector<double> curve;
  double running = 0;
  for (double m : mass) {
    running += m;
    curve.push_back(total > 0 ? running / total : 0.0);
  }
  return curve;
}

Status WriteGateProfile(const GateProfile& p, const std::string& json_path) {
  nlohmann::json j;
  j["schema_version"] = 1;
  j["model"] = {
      {"family", p.family},           {"scoring", p.scoring}, {"num_layers", p.num_layers},
      {"num_experts", p.num_experts}, {"top_k", p.top_k},     {"moe_layers", p.moe_layers},
      {"trunk_bytes", p.trunk_bytes}};
  if (p.router_groups > 1) {
    j["model"]["router_groups"] = p.router_groups;
    j["model"]["router_groups_used"] = p.router_groups_used;
  }
  nlohmann::json eb = nlohmann::json::object();
  for (const auto& [layer, bytes] : p.expert_bytes) eb[std::to_string(layer)] = bytes;
  j["model"]["expert_bytes"] = eb;
  j["provenance"] = {
      {"checkpoint", p.checkpoint}, {"suite", p.suite_path}, {"suite_sha256", p.suite_sha256}};
  j["tokens"] = p.tokens;
  j["topm"] = p.topm;
  nlohmann::json prompts = nlohmann::json::array();
  for (const auto& pr : p.prompts) {
    prompts.push_back({{"id", pr.id}, {"domain", pr.domain}, {"tokens", pr.tokens}});
  }
  j["prompts"] = prompts;
  nlohmann::json layers = nlohmann::json::object();
  std::vector<SafetensorsSource> arrays;
  arrays.push_back(SourceFromBytes("token_prompt", DType::kU32, {p.token_prompt.size()},
                                   AsBytes(p.token_prompt)));
  const uint64_t E = p.num_experts, P = p.prompts.size(), T = p.token_prompt.size();
  for (const LayerGateProfile& l : p.layers) {
    nlohmann::json lj;
    lj["selection_count"] = l.selection_count;
    lj["gate_mass"] = l.gate_mass;
    lj["routed_weight"] = l.routed_weight;
    lj["domain_mass"] = l.domain_mass;
    lj["concentration"] = ConcentrationCurve(l);
    lj["nonfinite_tokens"] = l.nonfinite_tokens;
    layers[std::to_string(l.layer)] = lj;
    arrays.push_back(SourceFromBytes(ArrayName(l.layer, "coactivation"), DType::kU32, {E, E},
                                     AsBytes(l.coactivation)));
    arrays.push_back(SourceFromBytes(ArrayName(l.layer, "prompt_mass"), DType::kF32, {P, E},
                                     AsBytes(l.prompt_mass)));
    arrays.push_back(SourceFromBytes(ArrayName(l.layer, "topm_experts"), DType::kU16,
                                     {T, static_cast<uint64_t>(p.topm)}, AsBytes(l.topm_experts)));
    arrays.push_back(SourceFromBytes(ArrayName(l.layer, "topm_probs"), DType::kF32,
                                     {T, static_cast<uint64_t>(p.topm)}, AsBytes(l.topm_probs)));
  }
  j["layers"] = layers;
  if (!p.execution.mode.empty()) {
    j["execution"] = {{"mode", p.execution.mode},
                      {"max_rss_bytes", p.execution.max_rss},
                      {"estimated_peak_bytes", p.execution.estimated_peak},
                      {"peak_rss_bytes", p.execution.peak_rss}};
  }
  // The arrays first: a profile.json never names a sidecar that is not complete.
  RETURN_IF_ERROR(WriteSafetensorsFile(json_path + ".arrays.safetensors", std::move(arrays),
                                       {{"moedist", "profile arrays"}}));
  return WriteFileAtomically(json_path, DumpJsonStable(j) + "\n");
}

Result<GateProfile> ReadGateProfile(const std::string& json_path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(json_path, kMaxProfileJsonBytes));
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(text, json_path));
  GateProfile p;
  try {
    if (j.at("schema_version") != 1) {
      return Status::Unsupported("{}: schema_version {} (expected 1)", json_path,
                                 j["schema_version"].dump());
    }
    const auto& m = j.at("model");
    p.family = m.at("family").get<std::string>();
    p.scoring = m.at("scoring").get<std::string>();
    p.num_layers = Whole<int>(m.at("num_layers"));
    p.num_experts = Whole<int>(m.at("num_experts"));
    p.top_k = Whole<int>(m.at("top_k"));
    for (const auto& l : m.at("moe_layers")) p.moe_layers.push_back(Whole<int>(l));
    p.trunk_bytes = Whole<uint64_t>(m.at("trunk_bytes"));
    if (p.num_experts < 1 || p.num_experts > 65535 || p.top_k < 1 || p.top_k > p.num_experts) {
      return Status::Corruption("{}: model.num_experts {} / top_k {} out of range", json_path,
                                p.num_experts, p.top_k);
    }
    if (m.contains("router_groups") || m.contains("router_groups_used")) {
      p.router_groups = Whole<int>(m.at("router_groups"));
      p.router_groups_used = Whole<int>(m.at("router_groups_used"));
      if (p.router_groups < 2 || p.num_experts % p.router_groups != 0 || p.router_groups_used < 1 ||
          p.router_groups_used > p.router_groups) {
        return Status::Corruption(
            "{}: model.router_groups {} / router_groups_used {} do not fit {} experts", json_path,
            p.router_groups, p.router_groups_used, p.num_experts);
      }
    }
    for (const auto& [layer, bytes] : m.at("expert_bytes").items()) {
      ASSIGN_OR_RETURN(
          p.expert_bytes[LayerKey(layer)],
          NumberArray<uint64_t>(bytes, p.num_experts, json_path + ": model.expert_bytes." + layer));
    }
    p.checkpoint = j.at("provenance").at("checkpoint").get<std::string>();
    p.suite_path = j.at("provenance").at("suite").get<std::string>();
    p.suite_sha256 = j.at("provenance").at("suite_sha256").get<std::string>();
    p.tokens = Whole<uint64_t>(j.at("tokens"));
    p.topm = Whole<int>(j.at("topm"));
    if (p.topm < 1 || p.topm > p.num_experts) {
      return Status::Corruption("{}: topm {} out of range 1..{}", json_path, p.topm, p.num_experts);
    }
    for (const auto& pr : j.at("prompts")) {
      p.prompts.push_back({pr.at("id").get<std::string>(), pr.at("domain").get<std::string>(),
                           Whole<uint32_t>(pr.at("tokens"))});
    }
    if (j.contains("execution")) {
      const auto& ex = j.at("execution");
      p.execution = {ex.at("mode").get<std::string>(), Whole<uint64_t>(ex.at("max_rss_bytes")),
                     Whole<uint64_t>(ex.at("estimated_peak_bytes")),
                     Whole<uint64_t>(ex.at("peak_rss_bytes"))};
    }
    for (const auto& [key, lj] : j.at("layers").items()) {
      LayerGateProfile l;
      l.layer = LayerKey(key);
      const std::string where = json_path + ": layers." + key;
      ASSIGN_OR_RETURN(l.selection_count,
                       NumberArray<uint64_t>(lj.at("selection_count"), p.num_experts, where));
      ASSIGN_OR_RETURN(l.gate_mass, NumberArray<double>(lj.at("gate_mass"), p.num_experts, where));
      ASSIGN_OR_RETURN(l.routed_weight,
                       NumberArray<double>(lj.at("routed_weight"), p.num_experts, where));
      for (const auto& [domain, mass] : lj.at("domain_mass").items()) {
        ASSIGN_OR_RETURN(l.domain_mass[domain],
                         NumberArray<double>(mass, p.num_experts, where + ".domain_mass"));
      }
      l.nonfinite_tokens = Whole<uint64_t>(lj.at("nonfinite_tokens"));
      p.layers.push_back(std::move(l));
    }
  } catch (const std::exception& e) {
    return Status::Corruption("{}: not a moedist profile: {}", json_path, e.what());
  }
  std::sort(p.layers.begin(), p.layers.end(),
            [](const auto& a, const auto& b) { return a.layer < b.layer; });
  // Arrays from the sidecar.
  const std::string sidecar = json_path + ".arrays.safetensors";
  ASSIGN_OR_RETURN(auto f, SafetensorsFile::Open(sidecar));
  const SafetensorsTensor* tp = f->Find("token_prompt");
  if (tp == nullptr) return Status::Corruption("{}: missing array \"token_prompt\"", sidecar);
  const uint64_t T = tp->num_elements(), E = p.num_experts, P = p.prompts.size();
  if (T != p.tokens) {
    return Status::Corruption("{}: {} token rows but profile.json says {} tokens", sidecar, T,
                              p.tokens);
  }
  RETURN_IF_ERROR(ReadArray(*f, "token_prompt", DType::kU32, T, &p.token_prompt));
  for (uint32_t idx : p.token_prompt) {
    if (idx >= P) return Status::Corruption("{}: token_prompt {} ≥ {} prompts", sidecar, idx, P);
  }
  for (LayerGateProfile& l : p.layers) {
    RETURN_IF_ERROR(
        ReadArray(*f, ArrayName(l.layer, "coactivation"), DType::kU32, E * E, &l.coactivation));
    RETURN_IF_ERROR(
        ReadArray(*f, ArrayName(l.layer, "prompt_mass"), DType::kF32, P * E, &l.prompt_mass));
    RETURN_IF_ERROR(ReadArray(*f, ArrayName(l.layer, "topm_experts"), DType::kU16, T * p.topm,
                              &l.topm_experts));
    RETURN_IF_ERROR(
        ReadArray(*f, ArrayName(l.layer, "topm_probs"), DType::kF32, T * p.topm, &l.topm_probs));
    for (uint16_t e : l.topm_experts) {
      if (e >= E)
        return Status::Corruption("{}: layer {} names expert {} ≥ {}", sidecar, l.layer, e, E);
    }
  }
  return p;
}

std::string RankingCsv(const GateProfile& p, int layer) {
  std::vector<double> mass(p.num_experts, 0.0);
  std::vector<uint64_t> count(p.num_experts, 0);
  for (const auto& l : p.layers) {
    if (layer >= 0 && l.layer != layer) continue;
    for (int e = 0; e < p.num_experts; ++e) {
      mass[e] += l.gate_mass[e];
      count[e] += l.selection_count[e];
    }
  }
  const double total = std::accumulate(mass.begin(), mass.end(), 0.0);
  std::vector<int> order(p.num_experts);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return mass[a] > mass[b]; });
  std::string out =
      fmt::format("# moedist gate-mass ranking, {}\n",
                  layer >= 0 ? fmt::format("layer {}", layer) : "all profiled layers");
  out += fmt::format("# family {}, {} experts, top-{}, {} tokens, {} prompts\n", p.family,
                     p.num_experts, p.top_k, p.tokens, p.prompts.size());
  out += "expert_id,gate_mass,mass_pct,selection_count\n";
  for (int e : order) {
    out += fmt::format("{},{:.6f},{:.4f},{}\n", e, mass[e],
                       total > 0 ? 100.0 * mass[e] / total : 0.0, count[e]);
  }
  return out;
}

}  // namespace moedist
