#include "pipeline/release_build_spec.h"

#include <filesystem>
#include <set>

#include "core/byte_size.h"
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "core/printable.h"
#include "manifest/release_path.h"
#include "manifest/release_time.h"
#include "pipeline/pack_layout_kind.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxReleaseSpecBytes = 1 << 20;

// Reads the fields of one JSON object, refusing unknown and ill-typed ones by name.
class FieldReader {
 public:
  FieldReader(const nlohmann::json& obj, std::string where, std::string base_dir)
      : obj_(obj), where_(std::move(where)), base_(std::move(base_dir)) {}

  Status CheckObject(const std::set<std::string>& allowed) const {
    if (!obj_.is_object()) return Status::InvalidArgument("{}: expected a JSON object", where_);
    for (const auto& [key, value] : obj_.items()) {
      if (!allowed.count(key)) {
        return Status::InvalidArgument("{}: unknown field \"{}\"", where_, key);
      }
    }
    return Status::Ok();
  }
  bool Has(const std::string& key) const { return obj_.contains(key); }
  Status String(const std::string& key, std::string* out, bool required = false) const {
    if (!Has(key)) return Missing(key, required);
    if (!obj_[key].is_string() || obj_[key].get<std::string>().empty()) {
      return Status::InvalidArgument("{}.{}: expected a non-empty string", where_, key);
    }
    *out = obj_[key].get<std::string>();
    return Status::Ok();
  }
  Status Path(const std::string& key, std::string* out, bool required = false) const {
    RETURN_IF_ERROR(String(key, out, required));
    if (!out->empty()) *out = Resolve(*out);
    return Status::Ok();
  }
  template <typename Int>
  Status Integer(const std::string& key, Int* out, int64_t lo, int64_t hi) const {
    if (!Has(key)) return Status::Ok();
    const nlohmann::json& v = obj_[key];
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
      return Status::InvalidArgument("{}.{}: expected an integer in {}..{}, found {}", where_, key,
                                     lo, hi, v.dump());
    }
    *out = static_cast<Int>(v.get<int64_t>());
    return Status::Ok();
  }
  Status Bool(const std::string& key, bool* out) const {
    if (!Has(key)) return Status::Ok();
    if (!obj_[key].is_boolean()) {
      return Status::InvalidArgument("{}.{}: expected true or false", where_, key);
    }
    *out = obj_[key].get<bool>();
    return Status::Ok();
  }
  FieldReader Sub(const std::string& key) const {
    static const nlohmann::json kEmpty = nlohmann::json::object();
    return FieldReader(Has(key) ? obj_[key] : kEmpty, where_ + "." + key, base_);
  }

 private:
  Status Missing(const std::string& key, bool required) const {
    if (required) return Status::InvalidArgument("{}: missing required field \"{}\"", where_, key);
    return Status::Ok();
  }
  std::string Resolve(const std::string& p) const {
    // Absolute, so outputs that record a path (profile.json names its suite) are the same
    // whichever directory the build or the emitted Makefile runs in.
    std::error_code ec;
    const fs::path joined =
        fs::path(p).is_absolute() || base_.empty() ? fs::path(p) : fs::path(base_) / p;
    const fs::path abs = fs::absolute(joined, ec);
    return (ec ? joined : abs).lexically_normal().string();
  }

  const nlohmann::json& obj_;
  std::string where_;
  std::string base_;
};

Status ParseProfile(const FieldReader& r, ReleaseSpecProfile* p) {
  RETURN_IF_ERROR(r.CheckObject({"layers", "max_tokens_per_prompt", "topm"}));
  RETURN_IF_ERROR(r.String("layers", &p->layers));
  RETURN_IF_ERROR(r.Integer("max_tokens_per_prompt", &p->max_tokens_per_prompt, 1, 1 << 20));
  return r.Integer("topm", &p->topm, 0, 65536);
}

// "node_bytes", "max_rss": an integer, or a size as the CLI takes it ("24G").
Status ParseByteCount(const nlohmann::json& v, uint64_t* out, const std::string& where) {
  if (v.is_number_integer() && v.get<int64_t>() > 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return Status::Ok();
  }
  if (v.is_string()) {
    ASSIGN_OR_RETURN(*out, ParseByteSize(v.get<std::string>(), where));
    if (*out > 0) return Status::Ok();
  }
  return Status::InvalidArgument(
      "{}: expected a positive byte count (integer or \"24G\"), found {}", where, v.dump());
}

Status ParseBudgetPlan(const FieldReader& r, const nlohmann::json& obj, ReleaseSpecPlan* p,
                       const std::string& where) {
  for (const char* fixed : {"groups", "overlay", "overlay_bytes", "strategy", "assign",
                            "split_router_groups", "standins", "proxies_per_group"}) {
    if (r.Has(fixed)) {
      return Status::InvalidArgument(
          "{}: \"{}\" belongs to a fixed split; with \"nodes\" the planner chooses the layout",
          where, fixed);
    }
  }
  // Without "nodes" the spec would fall back to a fixed split and drop node_bytes unsaid.
  if (!r.Has("nodes")) return Status::InvalidArgument("{}: \"node_bytes\" needs \"nodes\"", where);
  RETURN_IF_ERROR(r.Integer("nodes", &p->nodes, 1, 65536));
  if (!r.Has("node_bytes")) {
    return Status::InvalidArgument("{}: \"nodes\" needs \"node_bytes\"", where);
  }
  RETURN_IF_ERROR(ParseByteCount(obj["node_bytes"], &p->node_bytes, where + ".node_bytes"));
  RETURN_IF_ERROR(r.Integer("measure", &p->measure, 1, 1000));
  RETURN_IF_ERROR(r.Integer("measure_prompts", &p->measure_prompts, 0, 1000000));
  RETURN_IF_ERROR(r.Integer("measure_tokens", &p->measure_tokens, 2, 1000000));
  RETURN_IF_ERROR(r.Integer("min_experts", &p->min_experts, -1, 65536));
  return r.Bool("force", &p->force);
}

Status ParsePlan(const FieldReader& r, const nlohmann::json& obj, ReleaseSpecPlan* p,
                 const std::string& where) {
  RETURN_IF_ERROR(
      r.CheckObject({"groups", "overlay", "overlay_bytes", "strategy", "assign", "min_experts",
                     "force", "split_router_groups", "standins", "proxies_per_group", "nodes",
                     "node_bytes", "measure", "measure_prompts", "measure_tokens"}));
  if (r.Has("nodes") || r.Has("node_bytes")) return ParseBudgetPlan(r, obj, p, where);
  for (const char* budget : {"measure", "measure_prompts", "measure_tokens"}) {
    if (r.Has(budget)) {
      return Status::InvalidArgument("{}: \"{}\" needs \"nodes\" and \"node_bytes\"", where,
                                     budget);
    }
  }
  if (!r.Has("groups"))
    return Status::InvalidArgument("{}: missing required field \"groups\"", where);
  RETURN_IF_ERROR(r.Integer("groups", &p->groups, 1, 65536));
  if (r.Has("overlay") && r.Has("overlay_bytes")) {
    return Status::InvalidArgument("{}: give \"overlay\" or \"overlay_bytes\", not both", where);
  }
  RETURN_IF_ERROR(r.Integer("overlay", &p->overlay, 0, 65536));
  RETURN_IF_ERROR(r.Integer("overlay_bytes", &p->overlay_bytes, 0, int64_t{1} << 60));
  RETURN_IF_ERROR(r.String("strategy", &p->strategy));
  static const std::set<std::string> kStrategies = {"contiguous", "modulo", "snake", "placement",
                                                    "custom"};
  if (!kStrategies.count(p->strategy)) {
    return Status::InvalidArgument(
        "{}.strategy: \"{}\" is not one of contiguous, modulo, snake, placement, custom", where,
        p->strategy);
  }
  RETURN_IF_ERROR(r.Path("assign", &p->assign, p->strategy == "custom"));
  RETURN_IF_ERROR(r.Integer("min_experts", &p->min_experts, -1, 65536));
  RETURN_IF_ERROR(r.Bool("split_router_groups", &p->split_router_groups));
  RETURN_IF_ERROR(r.String("standins", &p->standins));
  if (!p->standins.empty() && p->standins != "proxy-fit" && p->standins != "proxy-average") {
    return Status::InvalidArgument(
        "{}.standins: \"{}\" is not proxy-fit or proxy-average (constant stand-ins have no file "
        "form)",
        where, p->standins);
  }
  if (r.Has("proxies_per_group") && p->standins.empty()) {
    return Status::InvalidArgument("{}: \"proxies_per_group\" needs \"standins\"", where);
  }
  RETURN_IF_ERROR(r.Integer("proxies_per_group", &p->proxies_per_group, 1, 65536));
  return r.Bool("force", &p->force);
}

Status ParseRelease(const FieldReader& r, ReleaseSpecRelease* p, const std::string& where) {
  RETURN_IF_ERROR(r.CheckObject({"name", "version", "created", "expires", "valid_days"}));
  RETURN_IF_ERROR(r.String("name", &p->name));
  if (!p->name.empty()) RETURN_IF_ERROR(CheckReleaseName(p->name, where + ".name"));
  RETURN_IF_ERROR(r.Integer("version", &p->version, 1, (int64_t{1} << 53) - 1));
  RETURN_IF_ERROR(r.String("created", &p->created, true));
  ASSIGN_OR_RETURN(int64_t created, ParseRfc3339Utc(p->created, where + ".created"));
  if (r.Has("expires") && r.Has("valid_days")) {
    return Status::InvalidArgument("{}: give \"expires\" or \"valid_days\", not both", where);
  }
  RETURN_IF_ERROR(r.String("expires", &p->expires));
  if (!p->expires.empty()) {
    ASSIGN_OR_RETURN(int64_t expires, ParseRfc3339Utc(p->expires, where + ".expires"));
    if (expires <= created) {
      return Status::InvalidArgument("{}.expires: {} is not after created {}", where, p->expires,
                                     p->created);
    }
  }
  return r.Integer("valid_days", &p->valid_days, 1, 36500);
}

}  // namespace

Result<ReleaseSpec> ParseReleaseSpec(std::string_view text, const std::string& source,
                                     const std::string& base_dir) {
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(text, source));
  FieldReader r(j, source, base_dir);
  RETURN_IF_ERROR(
      r.CheckObject({"schema_version", "checkpoint", "calibration", "eval", "profile", "plan",
                     "pack", "release", "signing_key", "validate", "output", "max_rss"}));
  int version = 0;
  RETURN_IF_ERROR(r.Integer("schema_version", &version, 1, 1 << 20));
  if (version != 1) {
    return Status::Unsupported("{}: schema_version {} (this moedist reads 1)", source, version);
  }
  ReleaseSpec s;
  s.source = source;
  RETURN_IF_ERROR(r.Path("checkpoint", &s.checkpoint, true));
  RETURN_IF_ERROR(r.Path("calibration", &s.calibration, true));
  RETURN_IF_ERROR(r.Path("eval", &s.eval));
  RETURN_IF_ERROR(r.Path("signing_key", &s.signing_key));
  RETURN_IF_ERROR(r.Path("output", &s.output, true));
  if (r.Has("max_rss"))
    RETURN_IF_ERROR(ParseByteCount(j["max_rss"], &s.max_rss, source + ".max_rss"));
  RETURN_IF_ERROR(ParseProfile(r.Sub("profile"), &s.profile));
  if (!r.Has("plan")) return Status::InvalidArgument("{}: missing required field \"plan\"", source);
  RETURN_IF_ERROR(ParsePlan(r.Sub("plan"), j["plan"], &s.plan, source + ".plan"));
  FieldReader pack = r.Sub("pack");
  RETURN_IF_ERROR(pack.CheckObject({"recipe", "imatrix", "shard_bytes", "layout"}));
  RETURN_IF_ERROR(pack.Path("recipe", &s.pack.recipe));
  RETURN_IF_ERROR(pack.Path("imatrix", &s.pack.imatrix));
  RETURN_IF_ERROR(pack.Integer("shard_bytes", &s.pack.shard_bytes, 1, int64_t{1} << 50));
  RETURN_IF_ERROR(pack.String("layout", &s.pack.layout));
  if (!ParsePackLayoutKind(s.pack.layout)) {
    return Status::InvalidArgument("{}.pack.layout: \"{}\" is not one of groups, experts", source,
                                   Printable(s.pack.layout));
  }
  if (!r.Has("release")) {
    return Status::InvalidArgument("{}: missing required field \"release\"", source);
  }
  RETURN_IF_ERROR(ParseRelease(r.Sub("release"), &s.release, source + ".release"));
  if (r.Has("validate")) {
    if (!j["validate"].is_object()) {
      return Status::InvalidArgument("{}.validate: expected a JSON object", source);
    }
    s.validate = j["validate"];
  }
  return s;
}

Result<ReleaseSpec> ReadReleaseSpec(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxReleaseSpecBytes));
  const std::string base = fs::path(path).parent_path().string();
  return ParseReleaseSpec(text, path, base);
}

}  // namespace moedist
