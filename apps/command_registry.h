// The moedist CLI: each subcommand lives in its own cmd_*.cpp, registers itself here with a
// static Registrar, adds its flags to a CLI11 subcommand, and returns an exit code
// (docs/exit-codes.md). Subcommands parse and print; the work is one library call.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/status.h"

namespace moedist::cli {

// Exit codes shared by every subcommand (docs/exit-codes.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitCheckFailed = 1,  // the command ran and its check failed (verify, validate, diff --check)
  kExitUsage = 2,        // bad flags or arguments
  kExitBadInput = 3,     // an input file is corrupt, inconsistent or unsupported
  kExitIo = 4,           // the operating system refused (missing file, disk full, fsync)
  kExitInternal = 5,     // a bug in moedist
};

// Prints "moedist <command>: error: <message>" to stderr and maps the status to an exit code.
int ReportError(const std::string& command, const Status& status);

struct Command {
  std::string name;
  int order;  // position in --help: pipeline order
  // Adds the subcommand's flags; returns the action that runs after parsing.
  std::function<std::function<int()>(CLI::App& sub)> setup;
  std::string description;
};

std::vector<Command>& Commands();

struct Registrar {
  explicit Registrar(Command c) { Commands().push_back(std::move(c)); }
};

}  // namespace moedist::cli
