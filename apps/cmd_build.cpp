// moedist build release.json [-j N] [--dry-run] [--only node-K] [--emit-makefile FILE]
//               [-o OUT] [--key KEY] [--keep-cache] [--json]
// Test hook: MOEDIST_BUILD_KILL_AT=n makes the build SIGKILL itself at its n-th checkpoint.
#include <fmt/format.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "apps/command_registry.h"
#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "pipeline/release_build.h"
#include "pipeline/release_build_makefile.h"
#include "pipeline/release_build_spec.h"

namespace moedist::cli {
namespace {

struct BuildCliOptions {
  ReleaseBuildOptions lib;
  std::string makefile;
  bool json = false;
};

std::string SelfPath() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "moedist";
}

int EmitMakefile(const BuildCliOptions& o) {
  auto spec = LoadReleaseSpecForBuild(o.lib);
  if (!spec.ok()) return ReportError("build", spec.status());
  auto text = ReleaseMakefile(*spec, {SelfPath(), o.lib.threads, o.lib.release_path});
  if (!text.ok()) return ReportError("build", text.status());
  Status st = WriteFileAtomically(o.makefile, *text);
  if (!st.ok()) return ReportError("build", st);
  fmt::print("wrote {} (make -f {})\n", o.makefile, o.makefile);
  return kExitOk;
}

void PrintReport(const ReleaseBuildReport& r, bool dry_run) {
  std::map<std::string, int> counts;
  for (const StepOutcome& s : r.steps) {
    counts[s.state]++;
    fmt::print("{:<9} {:<10} {:<12} {}\n", s.name, s.state, s.key.substr(0, 12),
               s.state == "ran" ? fmt::format("{:.2f} s: {}", s.seconds, s.note) : s.note);
  }
  std::string summary;
  for (const auto& [state, n] : counts)
    summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, state);
  if (dry_run) {
    fmt::print("dry run: {}; nothing written\n", summary);
    return;
  }
  fmt::print("built {} in {:.2f} s: {}; {} files published, {} removed\n", r.out_dir, r.seconds,
             summary, r.published.size(), r.removed.size());
  if (!r.validation_table.empty()) fmt::print("\n{}", r.validation_table);
}

int RunBuild(BuildCliOptions& o) {
  if (o.lib.threads > 0) ::setenv("MOEDIST_THREADS", std::to_string(o.lib.threads).c_str(), 1);
  if (!o.makefile.empty()) return EmitMakefile(o);
  if (const char* kill = std::getenv("MOEDIST_BUILD_KILL_AT")) {
    o.lib.kill_at_checkpoint = std::strtoull(kill, nullptr, 10);
  }
  o.lib.tool_version = MOEDIST_VERSION;
  if (!o.json) o.lib.log = [](const std::string& line) { fmt::print(stderr, "build: {}\n", line); };
  auto report = RunReleaseBuild(o.lib);
  if (!report.ok()) return ReportError("build", report.status());
  if (o.json) {
    fmt::print("{}\n", DumpJsonStable(ReleaseBuildReportToJson(*report)));
  } else {
    PrintReport(*report, o.lib.dry_run);
  }
  return report->validation_failed ? kExitCheckFailed : kExitOk;
}

Registrar registrar(
    {"build", 90,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<BuildCliOptions>();
       sub.add_option("release", o->lib.release_path, "release.json (docs/formats/release.md)")
           ->required();
       sub.add_option("-j,--jobs", o->lib.threads, "threads each step uses (default 1)")
           ->check(CLI::Range(1, 1024));
       sub.add_flag("--dry-run", o->lib.dry_run,
                    "print which steps would run and which are up to date; write nothing");
       sub.add_option("--only", o->lib.only_node, "validate only this node (node-K)");
       sub.add_option("--emit-makefile", o->makefile,
                      "write the equivalent Makefile (moedist subcommands) and stop");
       sub.add_option("-o,--out", o->lib.out_override,
                      "output directory (default: release.json output)");
       sub.add_option("--key", o->lib.key_override,
                      "Ed25519 private key to sign with (default: release.json signing_key)");
       sub.add_flag("--keep-cache", o->lib.keep_unused_cache,
                    "keep cache entries this build did not use (default: delete them)");
       sub.add_flag("--json", o->json, "print the build report as JSON");
       return [o] { return RunBuild(*o); };
     },
     "run inspect, profile, plan, pack, sign and validate from a release.json, incrementally"});

}  // namespace
}  // namespace moedist::cli
