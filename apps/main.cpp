// moedist entry point: builds the CLI from the registered subcommands and runs one.
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>

#include "apps/command_registry.h"
#include "core/printable.h"

namespace moedist::cli {

std::vector<Command>& Commands() {
  static std::vector<Command> commands;
  return commands;
}

int ReportError(const std::string& command, const Status& status) {
  // Messages quote names and bytes from the input: never let them reach the terminal raw.
  fmt::print(stderr, "moedist {}: error: {}\n", command,
             Printable(status.message(), {.keep_newlines = true}));
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitUsage;
    case StatusCode::kNotFound:
    case StatusCode::kIoError: return kExitIo;
    case StatusCode::kCorruption:
    case StatusCode::kUnsupported:
    case StatusCode::kFailedPrecondition: return kExitBadInput;
    case StatusCode::kInternal: return kExitInternal;
  }
  return kExitInternal;
}

}  // namespace moedist::cli

int main(int argc, char** argv) {
  using namespace moedist::cli;
  CLI::App app{"moedist: turn a Mixture-of-Experts checkpoint into signed per-node bundles"};
  app.set_version_flag("--version", std::string("moedist ") + MOEDIST_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 check failed, 2 usage, 3 bad input, 4 I/O, 5 internal "
      "(docs/exit-codes.md).");
  auto& commands = Commands();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return a.order < b.order; });
  std::function<int()> action;
  for (const Command& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.description);
    auto run = c.setup(*sub);
    sub->callback([&action, run] { action = run; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  return action ? action() : kExitUsage;
}
