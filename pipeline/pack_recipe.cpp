#include "pipeline/pack_recipe.h"

#include <algorithm>

#include "core/json_strict.h"
#include "core/mapped_file.h"

namespace moedist {
namespace {

constexpr uint64_t kMaxRecipeBytes = 1ull << 20;

std::string ValidClassList() {
  std::string out;
  for (std::string_view c : RecipeClassNames()) out += (out.empty() ? "" : ", ") + std::string(c);
  return out;
}

Result<RecipeType> TypeField(const nlohmann::json& j, const std::string& where) {
  if (!j.is_string())
    return Status::InvalidArgument("{}: expected a type name, found {}", where, j.dump());
  auto t = ParseRecipeType(j.get<std::string>());
  if (!t.ok()) return t.status().WithContext(where);
  return t;
}

bool IsBlockType(QuantType t) {
  return GetQuantTypeInfo(t).block_elements > 1;
}

}  // namespace

std::string RecipeType::Name() const {
  return type ? std::string(QuantTypeName(*type)) : std::string("keep");
}

Result<RecipeType> ParseRecipeType(std::string_view name) {
  if (name == "keep") return RecipeType{};
  auto t = ParseQuantType(name);
  if (!t.ok()) {
    return Status::InvalidArgument("unknown type \"{}\" (expected keep, {})", name,
                                   QuantTypeNameList());
  }
  return RecipeType{*t};
}

const std::vector<std::string_view>& RecipeClassNames() {
  static const std::vector<std::string_view> kNames = {"embedding",
                                                       "attention",
                                                       "norm",
                                                       "router_weight",
                                                       "router_bias",
                                                       "shared_expert",
                                                       "shared_expert_gate",
                                                       "dense_mlp",
                                                       "routed_expert",
                                                       "overlay",
                                                       "lm_head",
                                                       "vision"};
  return kNames;
}

std::string_view RecipeClassOf(TensorClass cls, bool overlay) {
  if (IsRoutedExpertClass(cls)) return overlay ? "overlay" : "routed_expert";
  return TensorClassName(cls);
}

bool GlobMatch(std::string_view p, std::string_view t) {
  // Iterative matcher with one backtrack point for the last '*' (linear in practice).
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Result<PackRecipe> ParseRecipe(std::string_view text, const std::string& source) {
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(text, source));
  if (!j.is_object()) return Status::InvalidArgument("{}: a recipe is a JSON object", source);
  PackRecipe r;
  r.source = j;
  for (const auto& [key, value] : j.items()) {
    if (key == "description" || key == "name") {
      if (!value.is_string())
        return Status::InvalidArgument("{}: \"{}\" must be a string", source, key);
    } else if (key == "default") {
      ASSIGN_OR_RETURN(r.default_type, TypeField(value, source + ": default"));
    } else if (key == "classes") {
      if (!value.is_object())
        return Status::InvalidArgument("{}: \"classes\" must be an object", source);
      const auto& names = RecipeClassNames();
      for (const auto& [cls, type] : value.items()) {
        if (std::find(names.begin(), names.end(), cls) == names.end()) {
          return Status::InvalidArgument("{}: unknown tensor class \"{}\" (expected one of {})",
                                         source, cls, ValidClassList());
        }
        ASSIGN_OR_RETURN(r.classes[cls],
                         TypeField(type, fmt::format("{}: classes.{}", source, cls)));
      }
    } else if (key == "overrides") {
      if (!value.is_array())
        return Status::InvalidArgument("{}: \"overrides\" must be a list", source);
      for (size_t i = 0; i < value.size(); ++i) {
        const auto& o = value[i];
        const std::string where = fmt::format("{}: overrides[{}]", source, i);
        if (!o.is_object() || o.size() != 2 || !o.contains("pattern") || !o.contains("type") ||
            !o["pattern"].is_string() || o["pattern"].get<std::string>().empty()) {
          return Status::InvalidArgument(
              "{}: expected {{\"pattern\": \"<glob>\", \"type\": \"<type>\"}}", where);
        }
        ASSIGN_OR_RETURN(RecipeType t, TypeField(o["type"], where + ".type"));
        r.overrides.push_back({o["pattern"].get<std::string>(), t});
      }
    } else {
      return Status::InvalidArgument(
          "{}: unknown field \"{}\" (expected default, classes, "
          "overrides, name, description)",
          source, key);
    }
  }
  return r;
}

Result<PackRecipe> ReadRecipeFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxRecipeBytes));
  return ParseRecipe(text, path);
}

PackRecipe KeepRecipe() {
  PackRecipe r;
  r.source = {{"default", "keep"}};
  return r;
}

Result<PackRecipe> ResolvePackRecipe(const std::string& recipe_path, const std::string& plan_path,
                                     std::string* source) {
  if (!recipe_path.empty()) {
    if (source != nullptr) *source = recipe_path;
    return ReadRecipeFile(recipe_path);
  }
  if (source != nullptr) source->clear();
  if (plan_path.empty()) return KeepRecipe();
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(plan_path, 64ull << 20));
  ASSIGN_OR_RETURN(nlohmann::json plan, ParseJsonStrict(text, plan_path));
  if (!plan.is_object() || !plan.contains("recipe")) return KeepRecipe();
  const std::string where = plan_path + "#recipe";
  if (source != nullptr) *source = where;
  return ParseRecipe(plan["recipe"].dump(), where);
}

std::optional<QuantType> FallbackType(QuantType type, DType source_dtype) {
  switch (type) {
    case QuantType::kQ4_K:
    case QuantType::kQ3_K:
    case QuantType::kQ2_K: return QuantType::kQ4_0;
    case QuantType::kQ6_K:
    case QuantType::kQ5_K:
    case QuantType::kQ4_0: return QuantType::kQ8_0;
    case QuantType::kQ8_0: return source_dtype == DType::kBF16 ? QuantType::kBF16 : QuantType::kF16;
    default: return std::nullopt;
  }
}

Result<TypeChoice> ResolveTensorType(const PackRecipe& recipe, const TensorFacts& f) {
  TypeChoice c;
  bool matched = false;
  for (size_t i = 0; i < recipe.overrides.size() && !matched; ++i) {
    if (GlobMatch(recipe.overrides[i].pattern, f.name)) {
      c.requested = recipe.overrides[i].type;
      c.rule = fmt::format("overrides[{}] \"{}\"", i, recipe.overrides[i].pattern);
      matched = true;
    }
  }
  if (!matched) {
    const std::string cls(RecipeClassOf(f.cls, f.overlay));
    if (auto it = recipe.classes.find(cls); it != recipe.classes.end()) {
      c.requested = it->second;
      c.rule = "classes." + cls;
    } else if (auto rt = recipe.classes.find("routed_expert");
               f.overlay && rt != recipe.classes.end()) {
      c.requested = rt->second;
      c.rule = "classes.routed_expert";
    } else {
      c.requested = recipe.default_type;
      c.rule = "default";
    }
  }
  c.stored = c.requested;
  if (!c.requested.type) return c;
  if (!f.is_float) {
    return Status::InvalidArgument(
        "tensor \"{}\" ({}) holds {} values that are not floats; {} "
        "asks for {}, but only keep applies",
        f.name, TensorClassName(f.cls), DTypeName(f.source_dtype), c.rule, c.requested.Name());
  }
  QuantType t = *c.requested.type;
  if (IsBlockType(t) && f.shape.size() < 2) {
    c.stored.type = QuantType::kF32;
    c.note =
        fmt::format("1-D tensor, never block-quantized: {} instead of {}", "f32", QuantTypeName(t));
    return c;
  }
  const uint64_t row = f.shape.empty() ? 1 : f.shape.back();
  while (IsBlockType(t) && row % GetQuantTypeInfo(t).block_elements != 0) {
    const QuantType next = *FallbackType(t, f.source_dtype);
    c.note += fmt::format("{}row length {} is not a multiple of the {}-value {} block: {}",
                          c.note.empty() ? "" : "; ", row, GetQuantTypeInfo(t).block_elements,
                          QuantTypeName(t), QuantTypeName(next));
    t = next;
  }
  c.stored.type = t;
  return c;
}

}  // namespace moedist
