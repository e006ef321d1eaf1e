#include "runtime-min/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

namespace moedist {
namespace {

Result<double> Field(const nlohmann::json& rs, const char* key, std::optional<double> fallback) {
  if (!rs.contains(key) || rs[key].is_null()) {
    if (fallback) return *fallback;
    return Status::Corruption("config.json: rope_scaling lacks \"{}\"", key);
  }
  if (!rs[key].is_number()) {
    return Status::Corruption("config.json: rope_scaling \"{}\" is {}, expected a number", key,
                              rs[key].dump());
  }
  return rs[key].get<double>();
}

void ApplyLlama3(std::vector<float>& inv, double factor, double low, double high, double old_len) {
  const double low_wavelen = old_len / low, high_wavelen = old_len / high;
  for (float& f : inv) {
    const double wavelen = 2 * std::numbers::pi / f;
    if (wavelen < high_wavelen) continue;  // high frequency: kept
    if (wavelen > low_wavelen) {           // low frequency: interpolated
      f = static_cast<float>(f / factor);
      continue;
    }
    const double smooth = (old_len / wavelen - low) / (high - low);
    f = static_cast<float>((1 - smooth) * f / factor + smooth * f);
  }
}

double YarnMscale(double scale, double mscale) {
  return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

Status ApplyYarn(Rope& rope, const nlohmann::json& rs, double theta, int max_pos) {
  ASSIGN_OR_RETURN(double factor, Field(rs, "factor", std::nullopt));
  ASSIGN_OR_RETURN(double orig, Field(rs, "original_max_position_embeddings",
                                      max_pos > 0 ? std::optional<double>(max_pos) : std::nullopt));
  ASSIGN_OR_RETURN(double beta_fast, Field(rs, "beta_fast", 32.0));
  ASSIGN_OR_RETURN(double beta_slow, Field(rs, "beta_slow", 1.0));
  ASSIGN_OR_RETURN(double mscale, Field(rs, "mscale", 0.0));
  ASSIGN_OR_RETURN(double mscale_all_dim, Field(rs, "mscale_all_dim", 0.0));
  const int dim = rope.rotary_dim;
  auto correction_dim = [&](double rotations) {
    return dim * std::log(orig / (rotations * 2 * std::numbers::pi)) / (2 * std::log(theta));
  };
  double low = std::max(0.0, std::floor(correction_dim(beta_fast)));
  double high = std::min(static_cast<double>(dim - 1), std::ceil(correction_dim(beta_slow)));
  if (low == high) high += 0.001;
  for (int i = 0; i < dim / 2; ++i) {
    const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
    const double extrapolation = 1.0 - ramp;  // share of the unscaled frequency
    const double f = rope.inv_freq[i];
    rope.inv_freq[i] = static_cast<float>(f / factor * (1 - extrapolation) + f * extrapolation);
  }
  rope.attention_scaling = static_cast<float>(
      mscale != 0 && mscale_all_dim != 0
          ? YarnMscale(factor, mscale) / YarnMscale(factor, mscale_all_dim)
          : YarnMscale(factor, 1.0));
  if (mscale_all_dim != 0) {
    const double m = YarnMscale(factor, mscale_all_dim);
    rope.softmax_mscale = m * m;
  }
  return Status::Ok();
}

}  // namespace

Result<Rope> MakeRope(const AttentionConfig& a, int rotary_dim, bool pairs, int max_pos) {
  if (rotary_dim <= 0 || rotary_dim % 2 != 0) {
    return Status::Corruption("config.json: rotary width {} is not a positive even number",
                              rotary_dim);
  }
  Rope rope;
  rope.rotary_dim = rotary_dim;
  rope.pairs = pairs;
  rope.inv_freq.resize(rotary_dim / 2);
  for (int i = 0; i < rotary_dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(rotary_dim);
    rope.inv_freq[i] = 1.0f / std::pow(static_cast<float>(a.rope_theta), exponent);
  }
  const nlohmann::json& rs = a.rope_scaling;
  if (rs.is_null()) return rope;
  if (!rs.is_object()) {
    return Status::Corruption("config.json: rope_scaling is {}, expected an object or null",
                              rs.dump());
  }
  std::string type;
  for (const char* key : {"rope_type", "type"}) {
    if (rs.contains(key) && rs[key].is_string()) {
      type = rs[key].get<std::string>();
      break;
    }
  }
  if (type == "default") return rope;
  if (type == "linear") {
    ASSIGN_OR_RETURN(double factor, Field(rs, "factor", std::nullopt));
    for (float& f : rope.inv_freq) f = static_cast<float>(f / factor);
    return rope;
  }
  if (type == "llama3") {
    ASSIGN_OR_RETURN(double factor, Field(rs, "factor", std::nullopt));
    ASSIGN_OR_RETURN(double low, Field(rs, "low_freq_factor", std::nullopt));
    ASSIGN_OR_RETURN(double high, Field(rs, "high_freq_factor", std::nullopt));
    ASSIGN_OR_RETURN(double old_len, Field(rs, "original_max_position_embeddings", std::nullopt));
    if (high == low) {
      return Status::Corruption("config.json: rope_scaling high_freq_factor equals "
                                "low_freq_factor ({})", low);
    }
    ApplyLlama3(rope.inv_freq, factor, low, high, old_len);
    return rope;
  }
  if (type == "yarn") {
    RETURN_IF_ERROR(ApplyYarn(rope, rs, a.rope_theta, max_pos));
    return rope;
  }
  return Status::Unsupported("config.json: rope_scaling type \"{}\" is not supported by "
                             "runtime-min (null, default, linear, llama3, yarn)",
                             type.empty() ? rs.dump() : type);
}

void Rope::Angles(int64_t position, float* cos, float* sin) const {
  const float pos = static_cast<float>(position);
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    const float angle = inv_freq[i] * pos;  // f32 product, as torch forms it
    cos[i] = static_cast<float>(std::cos(static_cast<double>(angle))) * attention_scaling;
    sin[i] = static_cast<float>(std::sin(static_cast<double>(angle))) * attention_scaling;
  }
}

void Rope::Rotate(float* x, const float* cos, const float* sin) const {
  const int half = rotary_dim / 2;
  for (int i = 0; i < half; ++i) {
    float* a = pairs ? x + 2 * i : x + i;
    float* b = pairs ? x + 2 * i + 1 : x + i + half;
    const float x0 = *a, x1 = *b;
    *a = x0 * cos[i] - x1 * sin[i];
    *b = x1 * cos[i] + x0 * sin[i];
  }
}

}  // namespace moedist
