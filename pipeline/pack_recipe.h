// PackRecipe: which encoding each tensor of a checkpoint gets in the bundles `pack` writes
// (docs/formats/recipe.md, schemas/recipe.schema.json).
//
// A recipe maps tensor classes (the taxonomy's, plus "overlay" for routed experts replicated on
// every node) to a type from quant/quant_type.h or "keep" (the source bytes unchanged), with a
// default and ordered glob overrides on tensor names. ResolveTensorType turns a request into
// what can be stored, never failing on shape: 1-D tensors are never block-quantized (they fall
// back to f32) and a row whose length is not a multiple of the block falls back along
// q4_k / q3_k / q2_k → q4_0 → q8_0 → f16 and q6_k / q5_k → q8_0 → f16 (bf16 instead of f16 for
// BF16 sources): the smallest 32-value type for the ≤ 4.5-bit k-quants, q8_0 for those q4_0
// would lose precision against. Every fallback is recorded in the choice's note. Unknown
// classes, types and fields are errors naming them. Thread safety: plain values and pure
// functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "formats/tensor_taxonomy.h"
#include "quant/dtype.h"
#include "quant/quant_type.h"

namespace moedist {

// A requested encoding: a QuantType, or nullopt for "keep".
struct RecipeType {
  std::optional<QuantType> type;
  std::string Name() const;  // "keep" or the table's spelling
  bool operator==(const RecipeType&) const = default;
};
Result<RecipeType> ParseRecipeType(std::string_view name);

struct RecipeOverride {
  std::string pattern;  // glob on the source tensor name: '*' any run of characters, '?' one
  RecipeType type;
};

struct PackRecipe {
  RecipeType default_type;                           // "keep" when the recipe gives none
  std::map<std::string, RecipeType> classes;         // recipe class name -> type
  std::vector<RecipeOverride> overrides;             // first match wins
  nlohmann::json source = nlohmann::json::object();  // the recipe as read, for the manifest
};

// Every class name a recipe may use, in documentation order.
const std::vector<std::string_view>& RecipeClassNames();
// The recipe class of a tensor: the taxonomy's class name, except that packed routed experts are
// "routed_expert" and routed experts held by the overlay are "overlay".
std::string_view RecipeClassOf(TensorClass cls, bool overlay);

Result<PackRecipe> ParseRecipe(std::string_view text, const std::string& source);
Result<PackRecipe> ReadRecipeFile(const std::string& path);
// The recipe with "keep" for everything.
PackRecipe KeepRecipe();

// The recipe `pack` uses: the file at `recipe_path` when one is given; else the "recipe" object a
// budget plan (`plan --node-bytes`) records in `plan_path`; else KeepRecipe(). `source` gets the
// file it came from ("plan.json#recipe" for the plan's), empty for keep.
Result<PackRecipe> ResolvePackRecipe(const std::string& recipe_path, const std::string& plan_path,
                                     std::string* source);

bool GlobMatch(std::string_view pattern, std::string_view text);

// What one tensor gets.
struct TypeChoice {
  RecipeType requested;  // what the recipe asked for
  RecipeType stored;     // what will be written
  std::string rule;      // which rule asked: "overrides[0]", "classes.attention", "default"
  std::string note;      // why stored differs from requested; empty when it does not
};

struct TensorFacts {
  std::string_view name;
  TensorClass cls;
  bool overlay = false;  // routed expert held by the overlay bundle
  DType source_dtype;
  std::vector<uint64_t> shape;  // logical shape of the values (FP8 weight shape, ...)
  bool is_float = true;         // the values decode to floats (weights, FP8 with scales)
};

// Picks the rule, then the stored type (fallbacks above). "keep" of a tensor stays "keep".
// A block type for a tensor that is not float data is an error naming the tensor.
Result<TypeChoice> ResolveTensorType(const PackRecipe& recipe, const TensorFacts& facts);

// The next type of the fallback chain after block type `type` (nullopt for f32/f16/bf16, which
// fit every row). Exposed for tests and docs.
std::optional<QuantType> FallbackType(QuantType type, DType source_dtype);

}  // namespace moedist
