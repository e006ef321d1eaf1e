// Running the built moedist as a process, for the CLI tests: its exit code and what it printed.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace moedist::cli_testing {

struct CliResult {
  int code = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs the shell command `command_line` with stdout and stderr captured in files under
// `scratch` (and stdin from `stdin_file` when given).
inline CliResult RunCommand(const std::string& command_line, const std::filesystem::path& scratch,
                            const std::string& stdin_file = "") {
  const std::filesystem::path out = scratch / "stdout", err = scratch / "stderr";
  std::string cmd = command_line + " >" + out.string() + " 2>" + err.string();
  if (!stdin_file.empty()) cmd += " <" + stdin_file;
  const int status = std::system(cmd.c_str());
  int code = -1;
  if (WIFEXITED(status)) code = WEXITSTATUS(status);  // sh reports a killed child as 128 + sig
  if (WIFSIGNALED(status)) code = 128 + WTERMSIG(status);
  return {code, Slurp(out), Slurp(err)};
}

// `moedist ARGS` (the executable this test binary was built with).
inline CliResult RunMoedist(const std::string& args, const std::filesystem::path& scratch,
                            const std::string& stdin_file = "") {
  return RunCommand(std::string(MOEDIST_EXE) + " " + args, scratch, stdin_file);
}

}  // namespace moedist::cli_testing
