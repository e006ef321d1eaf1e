#include "manifest/release_verify.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "core/mapped_file.h"
#include "manifest/last_accepted.h"
#include "manifest/release_path.h"
#include "manifest/release_time.h"
#include "manifest/release_tree.h"

namespace moedist {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxProblemsListed = 1000;

VerifyProblem::Severity SeverityOf(const Status& st) {
  switch (st.code()) {
    case StatusCode::kIoError: return VerifyProblem::kIo;
    default: return VerifyProblem::kFailed;
  }
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class Verifier {
 public:
  explicit Verifier(const VerifyOptions& o) : o_(o), dist_(o.dist_dir) { r_.dist_dir = o.dist_dir; }

  VerifyReport Run() {
    if (ReadAndAuthenticate() && ParseBody()) {
      CheckExpiry();
      CheckRollback();
      std::vector<std::string> scope = ResolveScope();
      CheckTopLevel();
      for (const std::string& b : scope) CheckBundle(b);
      HashListedFiles();
      JudgeNodes();
      Record();
    }
    Finish();
    return std::move(r_);
  }

 private:
  void Add(VerifyCheck c, VerifyProblem::Severity s, std::string file, std::string message) {
    r_.problems.push_back({c, s, std::move(file), std::move(message)});
  }

  // Checks 1 (signature) before anything in the body is looked at. False: stop here.
  bool ReadAndAuthenticate() {
    const std::string manifest_path = (dist_ / kManifestFileName).string();
    const std::string sig_path = (dist_ / kSignatureFileName).string();
    std::error_code ec;
    if (!fs::is_directory(dist_, ec)) {
      Add(VerifyCheck::kManifest, VerifyProblem::kIo, "",
          fmt::format("{}: release directory does not exist or is not a directory", o_.dist_dir));
      return false;
    }
    if (fs::symlink_status(manifest_path, ec).type() == fs::file_type::symlink) {
      Add(VerifyCheck::kManifest, VerifyProblem::kMalformed, std::string(kManifestFileName),
          fmt::format("{}: is a symbolic link (refused, never followed)", kManifestFileName));
      return false;
    }
    auto bytes = ReadManifestFile(manifest_path);  // size checked before reading (row 20)
    if (!bytes.ok()) {
      const StatusCode code = bytes.status().code();
      Add(VerifyCheck::kManifest,
          code == StatusCode::kNotFound || code == StatusCode::kIoError ? VerifyProblem::kIo
                                                                        : VerifyProblem::kMalformed,
          std::string(kManifestFileName),
          code == StatusCode::kNotFound
              ? fmt::format("{}: missing (the release was never published or is incomplete)",
                            kManifestFileName)
              : bytes.status().message());
      return false;
    }
    manifest_bytes_ = std::move(bytes).value();
    r_.manifest_sha256 = Sha256Hex(manifest_bytes_).value();
    if (o_.allow_unsigned) return true;

    const std::string sig_name(kSignatureFileName);
    if (o_.trusted_keys.empty()) {
      Add(VerifyCheck::kSignature, VerifyProblem::kFailed, sig_name,
          "no trusted public key was given, so the signature cannot be checked");
      return false;
    }
    auto sig_bytes = ReadSmallFile(sig_path, kMaxSignatureFileBytes);
    if (!sig_bytes.ok()) {
      const bool missing = sig_bytes.status().code() == StatusCode::kNotFound;
      Add(VerifyCheck::kSignature, SeverityOf(sig_bytes.status()), sig_name,
          missing ? fmt::format("{}: missing: the release is not signed", sig_name)
                  : sig_bytes.status().message());
      return false;
    }
    auto sig = ParseSignature(*sig_bytes, sig_name);
    if (!sig.ok()) {
      Add(VerifyCheck::kSignature, VerifyProblem::kFailed, sig_name, sig.status().message());
      return false;
    }
    Status st = VerifyDetachedSignature(AsBytes(manifest_bytes_), *sig, o_.trusted_keys,
                                        kManifestFileName, sig_name);
    if (!st.ok()) {
      Add(VerifyCheck::kSignature, VerifyProblem::kFailed, sig_name, st.message());
      return false;
    }
    r_.signature_checked = true;
    r_.key_id = sig->key_id;
    return true;
  }

  bool ParseBody() {
    auto d = ParseDistribution(manifest_bytes_, kManifestFileName);
    if (!d.ok()) {
      Add(VerifyCheck::kSchema, VerifyProblem::kMalformed, std::string(kManifestFileName),
          d.status().message());
      return false;
    }
    d_ = std::move(d).value();
    r_.release = d_.release;
    now_ = o_.now ? *o_.now : NowUnixSeconds();
    return true;
  }

  void CheckExpiry() {
    const int64_t expires = ParseRfc3339Utc(d_.release.expires, "release.expires").value();
    if (now_ >= expires) {
      Add(VerifyCheck::kExpiry, VerifyProblem::kFailed, std::string(kManifestFileName),
          fmt::format("{}: release \"{}\" version {} expired at {} (now {}); refused",
                      kManifestFileName, d_.release.name, d_.release.version, d_.release.expires,
                      FormatRfc3339Utc(now_)));
    }
  }

  void CheckRollback() {
    if (!o_.last_accepted_path) return;
    auto last = ReadLastAccepted(*o_.last_accepted_path);
    if (!last.ok()) {
      Add(VerifyCheck::kRollback,
          last.status().code() == StatusCode::kCorruption ? VerifyProblem::kMalformed
                                                          : SeverityOf(last.status()),
          "", last.status().message());
      return;
    }
    last_ = *last;
    candidate_ = {d_.release.name, d_.release.version, r_.manifest_sha256, FormatRfc3339Utc(now_)};
    const Freshness f = JudgeFreshness(last_, candidate_);
    if (f == Freshness::kSame) r_.nothing_new = true;
    if (f != Freshness::kNew && f != Freshness::kSame) {
      Add(VerifyCheck::kRollback, VerifyProblem::kFailed, std::string(kManifestFileName),
          fmt::format("{}: {} (last accepted: {})", kManifestFileName,
                      DescribeFreshness(f, last_, candidate_), *o_.last_accepted_path));
    }
  }

  // The bundles to check, and check 6 for bundle references.
  std::vector<std::string> ResolveScope() {
    std::vector<const NodeEntry*> nodes;
    const bool partial = o_.node || !o_.bundles.empty();
    std::set<std::string> scope;
    for (const std::string& b : o_.bundles) {
      if (d_.bundles.count(b)) {
        scope.insert(b);
      } else {
        Add(VerifyCheck::kNodes, VerifyProblem::kFailed, "",
            fmt::format("bundle \"{}\" is not in the manifest", b));
      }
    }
    if (o_.node) {
      const NodeEntry* n = d_.FindNode(*o_.node);
      if (n == nullptr) {
        std::vector<std::string> ids;
        for (const NodeEntry& e : d_.nodes) ids.push_back(e.id);
        Add(VerifyCheck::kNodes, VerifyProblem::kFailed, "",
            fmt::format("node \"{}\" is not in the manifest (nodes: {})", *o_.node,
                        fmt::join(ids, ", ")));
        return {};
      }
      nodes.push_back(n);
    } else if (!partial) {
      for (const NodeEntry& n : d_.nodes) nodes.push_back(&n);
    }
    if (!partial) {
      for (const auto& [name, b] : d_.bundles) scope.insert(name);
    }
    for (const NodeEntry* n : nodes) {
      NodeVerdict v{n->id, true, {}};
      for (const std::string& b : n->bundles) {
        if (!d_.bundles.count(b)) {
          Add(VerifyCheck::kNodes, VerifyProblem::kFailed, "",
              fmt::format("node \"{}\" needs bundle \"{}\", which the manifest does not list",
                          n->id, b));
          v.ok = false;
          v.bad_bundles.push_back(b);
        } else {
          scope.insert(b);
        }
      }
      r_.nodes.push_back(std::move(v));
    }
    r_.bundles_checked.assign(scope.begin(), scope.end());
    return r_.bundles_checked;
  }

  // Top level: only distribution.json, its signature and bundle directories belong there.
  void CheckTopLevel() {
    std::error_code ec;
    fs::directory_iterator it(dist_, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      const std::string raw_name = it->path().filename().string();
      if (raw_name == kManifestFileName || raw_name == kSignatureFileName) continue;
      if (d_.bundles.count(raw_name)) continue;  // checked (or out of scope) below
      const std::string name = PrintableName(raw_name);
      const fs::file_type t = it->symlink_status(ec).type();
      const char* what = t == fs::file_type::directory ? "extra directory"
                         : t == fs::file_type::symlink ? "extra symbolic link"
                                                       : "extra file";
      Add(VerifyCheck::kFiles, VerifyProblem::kFailed, name,
          fmt::format("{}: {} at the top of the release: it is not in the manifest", name, what));
    }
    if (ec) {
      Add(VerifyCheck::kFiles, VerifyProblem::kIo, "",
          fmt::format("{}: cannot list: {}", o_.dist_dir, ec.message()));
    }
  }

  void CheckBundle(const std::string& bundle) {
    const BundleEntry& entry = d_.bundles.at(bundle);
    const std::string dir = (dist_ / bundle).string();
    auto tree = ListTree(dir);
    if (!tree.ok()) {
      uint64_t bytes = 0;
      for (const ManifestFile& f : entry.files) bytes += f.size;
      const bool missing = tree.status().code() == StatusCode::kNotFound;
      Add(VerifyCheck::kFiles, SeverityOf(tree.status()), bundle + "/",
          missing ? fmt::format("{}/: missing bundle directory ({} listed files, {} bytes)", bundle,
                                entry.files.size(), bytes)
                  : tree.status().message());
      return;
    }
    std::map<std::string, const ManifestFile*> listed;
    std::set<std::string> needed_dirs;
    for (const ManifestFile& f : entry.files) {
      listed[f.path] = &f;
      for (fs::path p = fs::path(f.path).parent_path(); !p.empty(); p = p.parent_path()) {
        needed_dirs.insert(p.generic_string());
      }
    }
    std::set<std::string> seen;
    for (const TreeEntry& e : *tree) {
      const std::string shown = bundle + "/" + PrintableName(e.path);
      auto it = listed.find(e.path);
      switch (e.kind) {
        case TreeEntry::kFile:
          if (it == listed.end()) {
            Add(VerifyCheck::kFiles, VerifyProblem::kFailed, shown,
                fmt::format("{}: extra file ({} bytes): it is not in the manifest", shown, e.size));
          } else if (e.size != it->second->size) {
            // Reading stops here: a file whose size differs is never hashed (row 20).
            seen.insert(e.path);
            Add(VerifyCheck::kFiles, VerifyProblem::kFailed, shown,
                fmt::format("{}: size mismatch: listed {} bytes, found {}", shown, it->second->size,
                            e.size));
          } else {
            seen.insert(e.path);
            jobs_.push_back({dir, e.path, e.size, e.size});
            job_files_.push_back({shown, it->second});
          }
          break;
        case TreeEntry::kDirectory:
          if (!needed_dirs.count(e.path)) {
            Add(VerifyCheck::kFiles, VerifyProblem::kFailed, shown + "/",
                fmt::format("{}/: extra directory: no listed file is inside it", shown));
          }
          break;
        case TreeEntry::kSymlink:
        case TreeEntry::kOther:
          if (it != listed.end()) seen.insert(e.path);
          Add(VerifyCheck::kFiles, VerifyProblem::kFailed, shown,
              fmt::format("{}: {} {}; only regular files are accepted", shown,
                          it != listed.end() ? "listed file is a" : "extra",
                          TreeEntryKindName(e.kind)));
          break;
      }
    }
    for (const ManifestFile& f : entry.files) {
      if (!seen.count(f.path)) {
        const std::string shown = bundle + "/" + f.path;
        Add(VerifyCheck::kFiles, VerifyProblem::kFailed, shown,
            fmt::format("{}: missing file (listed with {} bytes)", shown, f.size));
      }
    }
  }

  void HashListedFiles() {
    std::vector<Result<FileDigest>> digests = DigestFiles(jobs_, o_.threads, o_.digest);
    for (size_t i = 0; i < digests.size(); ++i) {
      const auto& [shown, listed] = job_files_[i];
      if (!digests[i].ok()) {
        const Status& st = digests[i].status();
        Add(VerifyCheck::kFiles, SeverityOf(st), shown,
            st.code() == StatusCode::kNotFound
                ? fmt::format("{}: missing file (disappeared while verifying)", shown)
                : st.message());
        continue;
      }
      ++r_.files_checked;
      r_.bytes_checked += digests[i]->size;
      if (digests[i]->size != listed->size) {
        Add(VerifyCheck::kFiles, VerifyProblem::kFailed, shown,
            fmt::format("{}: size mismatch: listed {} bytes, read {}", shown, listed->size,
                        digests[i]->size));
      } else if (digests[i]->sha256 != listed->sha256) {
        Add(VerifyCheck::kFiles, VerifyProblem::kFailed, shown,
            fmt::format("{}: SHA-256 mismatch: listed {}, found {}", shown, listed->sha256,
                        digests[i]->sha256));
      }
    }
  }

  void JudgeNodes() {
    std::set<std::string> bad_bundles;
    for (const VerifyProblem& p : r_.problems) {
      if (p.check != VerifyCheck::kFiles) continue;
      const size_t slash = p.file.find('/');
      if (slash != std::string::npos) bad_bundles.insert(p.file.substr(0, slash));
    }
    for (NodeVerdict& v : r_.nodes) {
      for (const std::string& b : d_.FindNode(v.id)->bundles) {
        if (bad_bundles.count(b)) {
          v.ok = false;
          v.bad_bundles.push_back(b);
        }
      }
    }
  }

  void Record() {
    if (!r_.ok() || !o_.last_accepted_path || r_.nothing_new) return;
    Status st = RecordLastAccepted(*o_.last_accepted_path, candidate_);
    if (!st.ok()) {
      Add(VerifyCheck::kRollback,
          st.code() == StatusCode::kFailedPrecondition ? VerifyProblem::kFailed
          : st.code() == StatusCode::kCorruption       ? VerifyProblem::kMalformed
                                                       : VerifyProblem::kIo,
          "", st.message());
      return;
    }
    r_.recorded = true;
  }

  void Finish() {
    std::stable_sort(r_.problems.begin(), r_.problems.end(),
                     [](const VerifyProblem& a, const VerifyProblem& b) {
                       return std::tie(a.check, a.file) < std::tie(b.check, b.file);
                     });
    if (r_.problems.size() > kMaxProblemsListed) {
      const size_t dropped = r_.problems.size() - kMaxProblemsListed;
      r_.problems.resize(kMaxProblemsListed);
      r_.problems.back().message += fmt::format(" (and {} more problems not listed)", dropped);
    }
  }

  const VerifyOptions& o_;
  const fs::path dist_;
  VerifyReport r_;
  std::string manifest_bytes_;
  Distribution d_;
  int64_t now_ = 0;
  std::optional<AcceptedRelease> last_;
  AcceptedRelease candidate_;
  std::vector<DigestJob> jobs_;
  std::vector<std::pair<std::string, const ManifestFile*>> job_files_;
};

}  // namespace

const char* VerifyCheckName(VerifyCheck c) {
  switch (c) {
    case VerifyCheck::kManifest: return "manifest";
    case VerifyCheck::kSignature: return "signature";
    case VerifyCheck::kSchema: return "schema";
    case VerifyCheck::kExpiry: return "expiry";
    case VerifyCheck::kRollback: return "rollback";
    case VerifyCheck::kFiles: return "files";
    case VerifyCheck::kNodes: return "nodes";
  }
  return "unknown";
}

int VerifyReport::ExitCode() const {
  bool failed = false, io = false;
  for (const VerifyProblem& p : problems) {
    if (p.severity == VerifyProblem::kMalformed) return 3;
    failed |= p.severity == VerifyProblem::kFailed;
    io |= p.severity == VerifyProblem::kIo;
  }
  return failed ? 1 : io ? 4 : 0;
}

VerifyReport VerifyRelease(const VerifyOptions& options) {
  return Verifier(options).Run();
}

nlohmann::json VerifyReportToJson(const VerifyReport& r) {
  using nlohmann::json;
  json problems = json::array();
  for (const VerifyProblem& p : r.problems) {
    static const char* kSeverity[] = {"failed", "malformed", "io"};
    problems.push_back({{"check", VerifyCheckName(p.check)},
                        {"severity", kSeverity[p.severity]},
                        {"file", p.file},
                        {"message", p.message}});
  }
  json nodes = json::array();
  for (const NodeVerdict& n : r.nodes) {
    nodes.push_back({{"id", n.id}, {"ok", n.ok}, {"bad_bundles", n.bad_bundles}});
  }
  json release = nullptr;
  if (r.release) {
    release = {{"name", r.release->name},
               {"version", r.release->version},
               {"created", r.release->created},
               {"expires", r.release->expires}};
  }
  return {{"ok", r.ok()},
          {"exit_code", r.ExitCode()},
          {"release_dir", r.dist_dir},
          {"release", release},
          {"manifest_sha256", r.manifest_sha256},
          {"signature", {{"checked", r.signature_checked}, {"key_id", r.key_id}}},
          {"bundles_checked", r.bundles_checked},
          {"nodes", nodes},
          {"files_checked", r.files_checked},
          {"bytes_checked", r.bytes_checked},
          {"nothing_new", r.nothing_new},
          {"recorded", r.recorded},
          {"problems", problems}};
}

}  // namespace moedist
