// The `sparsify` command: one subcommand per row of commands.def.
#include <cstdio>
#include <exception>

#include "apps/sparsify/cli.h"

int main(int argc, char** argv) {
  using namespace sparsify::cli;
  CLI::App app{"sparsify: sparsify neural networks with recipes and run them fast on CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sparsify 0.1.0");
  CommandRunner run;
#define SPARSIFY_COMMAND(name, description, add_fn) add_fn(app, &run);
#include "apps/sparsify/commands.def"
#undef SPARSIFY_COMMAND
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message (or the help); its own codes (e.g. 104, 105) all mean "usage".
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  try {
    return run ? run() : kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal: %s\n", e.what());
    return kExitInternal;
  }
}
