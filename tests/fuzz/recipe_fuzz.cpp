// libFuzzer target: ParseRecipe (pack recipes, docs/formats/recipe.md) on arbitrary bytes. Any
// input must give a recipe or an error. An accepted recipe names only known classes, parses the
// same from the source it records, and resolves a few representative tensors without crashing:
// whatever it asks for, the stored type of a 1-D tensor is never block-quantized and a
// block-quantized row holds a whole number of blocks (the fallbacks of ResolveTensorType).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/pack_recipe.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using moedist::fuzz::Fail;

bool IsBlockType(moedist::QuantType t) {
  return moedist::GetQuantTypeInfo(t).block_elements > 1;
}

void CheckResolved(const moedist::PackRecipe& recipe) {
  using moedist::DType;
  using moedist::TensorClass;
  const std::vector<moedist::TensorFacts> tensors = {
      {"model.embed_tokens.weight", TensorClass::kEmbedding, false, DType::kBF16, {151936, 2048}},
      {"model.layers.0.self_attn.q_proj.weight",
       TensorClass::kAttention,
       false,
       DType::kBF16,
       {4096, 2048}},
      {"model.layers.0.input_layernorm.weight", TensorClass::kNorm, false, DType::kF32, {2048}},
      {"model.layers.0.mlp.gate.weight", TensorClass::kRouterWeight, false, DType::kF16, {128, 96}},
      {"model.layers.0.mlp.experts.3.down_proj.weight",
       TensorClass::kRoutedExpert,
       true,
       DType::kBF16,
       {2048, 768}},
      {"model.layers.0.mlp.experts.4.up_proj.weight",
       TensorClass::kRoutedExpert,
       false,
       DType::kF16,
       {100, 48}},
      {"lm_head.weight", TensorClass::kLmHead, false, DType::kF32, {1000, 40}},
  };
  for (const moedist::TensorFacts& t : tensors) {
    auto choice = moedist::ResolveTensorType(recipe, t);
    if (!choice.ok()) Fail("float tensor refused: " + choice.status().ToString());
    if (!choice->stored.type) continue;  // keep
    const auto& info = moedist::GetQuantTypeInfo(*choice->stored.type);
    if (IsBlockType(*choice->stored.type) &&
        (t.shape.size() < 2 || t.shape.back() % info.block_elements != 0)) {
      Fail("block type stored for a tensor whose rows do not hold whole blocks");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto recipe = moedist::ParseRecipe(text, "fuzz/recipe.json");
  if (!recipe.ok()) return 0;
  const auto& names = moedist::RecipeClassNames();
  for (const auto& [cls, type] : recipe->classes) {
    if (std::find(names.begin(), names.end(), cls) == names.end()) Fail("unknown class accepted");
  }
  auto again = moedist::ParseRecipe(recipe->source.dump(), "fuzz/recipe-source.json");
  if (!again.ok()) Fail("recorded source refused: " + again.status().ToString());
  if (!(again->default_type == recipe->default_type) || again->classes != recipe->classes ||
      again->overrides.size() != recipe->overrides.size()) {
    Fail("recorded source parses differently");
  }
  for (size_t i = 0; i < recipe->overrides.size(); ++i) {
    if (again->overrides[i].pattern != recipe->overrides[i].pattern ||
        !(again->overrides[i].type == recipe->overrides[i].type)) {
      Fail("recorded source parses to other overrides");
    }
  }
  CheckResolved(*recipe);
  // Glob matching on input-derived text must terminate quickly whatever the pattern.
  for (const auto& o : recipe->overrides) (void)moedist::GlobMatch(o.pattern, text.substr(0, 256));
  return 0;
}
