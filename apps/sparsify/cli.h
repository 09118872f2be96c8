// Shared pieces of the sparsify CLI: exit codes per Status code, error printing, command hooks.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "engine/base/status.h"

namespace sparsify::cli {

/// Distinct exit codes, one per Status code (0 ok; 2 is CLI11's usage error).
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,
  kExitInvalidArgument = 3,
  kExitUnsupported = 4,
  kExitNotFound = 5,
  kExitIoError = 6,
  kExitNetwork = 7,
  kExitChecksumMismatch = 8,
  kExitWarningsAsErrors = 9,
  kExitInternal = 70,
};
int exit_code(const Status& status);

/// Prints "error: <message>" and a one-line hint to stderr; returns the exit code for the status.
int report_error(const Status& status, const std::string& hint = "");

/// A command's body runs after parsing; it returns the process exit code.
using CommandRunner = std::function<int()>;
/// Each command adds its subcommand to `app` and stores its runner in *run (called if chosen).
#define SPARSIFY_COMMAND(name, description, add_fn) void add_fn(CLI::App& app, CommandRunner* run);
#include "apps/sparsify/commands.def"
#undef SPARSIFY_COMMAND

}  // namespace sparsify::cli
