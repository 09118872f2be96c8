// Exit codes and error reporting for the CLI.
#include "apps/sparsify/cli.h"

#include <cstdio>

namespace sparsify::cli {

int exit_code(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitInvalidArgument;
    case StatusCode::kUnsupported: return kExitUnsupported;
    case StatusCode::kNotFound: return kExitNotFound;
    case StatusCode::kIoError: return kExitIoError;
    case StatusCode::kNetwork: return kExitNetwork;
    case StatusCode::kChecksumMismatch: return kExitChecksumMismatch;
    case StatusCode::kInternal: return kExitInternal;
  }
  return kExitInternal;
}

int report_error(const Status& status, const std::string& hint) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  if (!hint.empty()) std::fprintf(stderr, "hint: %s\n", hint.c_str());
  return exit_code(status);
}

}  // namespace sparsify::cli
