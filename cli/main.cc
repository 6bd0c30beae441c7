// The tracedb binary: dispatches to the registered subcommands
// (cli/command.h).

#include <cstdio>
#include <map>

#include <CLI/CLI.hpp>

#include "cli/command.h"

int main(int argc, char** argv) {
  CLI::App app{
      "tracedb: a trace database speaking the Reflow tracing protocol.\n"
      "Configuration precedence: defaults < TOML file (--config) < environment (REFLOW_TRACING_*, "
      "TRACEDB_*) < flags.",
      "tracedb"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every command and exit");
  std::map<CLI::App*, tracedb::cli::RunFn> runs;
  for (const auto& command : tracedb::cli::Commands()) {
    CLI::App* sub = app.add_subcommand(command.name, command.description);
    runs[sub] = command.setup(sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& [sub, run] : runs) {
    if (sub->parsed()) return run();
  }
  return 2;
}
