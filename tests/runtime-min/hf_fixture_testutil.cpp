#include "hf_fixture_testutil.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "tests/test_dirs.h"

namespace moedist::testing {

std::string FixtureDir(const std::string& family) {
  return std::string(moedist::test_dirs::FixtureRoot()) + "/fixtures/hf-tiny/" + family;
}

Reference LoadReference(const std::string& family) {
  Reference r;
  auto file = SafetensorsFile::Open(FixtureDir(family) + "/reference.safetensors");
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  if (file.ok()) r.tensors = *file;
  std::ifstream in(FixtureDir(family) + "/reference.json");
  std::stringstream ss;
  ss << in.rdbuf();
  r.json = nlohmann::json::parse(ss.str());
  return r;
}

std::vector<float> Reference::F32(const std::string& name) const {
  const SafetensorsTensor* t = tensors->Find(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {};
  EXPECT_EQ(t->dtype, DType::kF32) << name;
  std::vector<float> v(t->num_elements());
  std::memcpy(v.data(), tensors->TensorBytes(*t).data(), v.size() * 4);
  return v;
}

std::vector<int64_t> Reference::I64(const std::string& name) const {
  const SafetensorsTensor* t = tensors->Find(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {};
  EXPECT_EQ(t->dtype, DType::kI64) << name;
  std::vector<int64_t> v(t->num_elements());
  std::memcpy(v.data(), tensors->TensorBytes(*t).data(), v.size() * 8);
  return v;
}

std::vector<std::vector<int32_t>> Reference::InputIds() const {
  return json["input_ids"].get<std::vector<std::vector<int32_t>>>();
}

void RoutingRecorder::OnRouting(const RoutingBatch& b) {
  auto& ex = experts[b.layer];
  auto& we = weights[b.layer];
  auto& pr = probs[b.layer];
  for (int t = 0; t < b.num_tokens; ++t) {
    const size_t idx = base_ + b.first_position + t;
    if (ex.size() <= idx) {
      ex.resize(idx + 1);
      we.resize(idx + 1);
      pr.resize(idx + 1);
    }
    ex[idx].assign(b.experts + t * b.top_k, b.experts + (t + 1) * b.top_k);
    we[idx].assign(b.weights + t * b.top_k, b.weights + (t + 1) * b.top_k);
    pr[idx].assign(b.probs + t * b.num_experts, b.probs + (t + 1) * b.num_experts);
  }
}

}  // namespace moedist::testing
