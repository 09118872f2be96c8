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
    return app.exit(e);
  }
  try {
    return run ? run() : kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal: %s\n", e.what());
    return kExitInternal;
  }
}
