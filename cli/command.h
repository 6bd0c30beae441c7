#pragma once

// The subcommand registry of the `tracedb` binary: the extension point for
// new commands.
//
// A command lives in its own file cli/<name>_cmd.cc and registers itself
// with a static registrar; cli/CMakeLists.txt globs cli/*.cc into the
// binary, so no other file changes:
//
//   namespace {
//   tracedb::cli::Registrar kQuery({
//       "query", "Run a query against a data directory", /*order=*/30,
//       [](CLI::App* sub) -> tracedb::cli::RunFn {
//         auto flags = std::make_shared<tracedb::cli::ConfigFlags>(sub);  // --config/--data/...
//         auto text = std::make_shared<std::string>();
//         sub->add_option("filter", *text, "The filter expression")->required();
//         return [flags, text] { ...; return 0; };   // exit code
//       }});
//   }  // namespace
//
// `setup` runs before parsing: it declares the subcommand's options (CLI11
// binds them to variables the returned closure captures). The closure runs
// after a successful parse when that subcommand was chosen; its return value
// is the process exit code. Commands print errors to stderr themselves.
//
// Thread-safety: registration happens during static initialization; the
// registry is read-only afterwards.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/engine.h"
#include "server/config.h"

namespace tracedb::cli {

// Runs a parsed command; returns the exit code.
using RunFn = std::function<int()>;

struct Command {
  std::string name;         // "serve"
  std::string description;  // one line for `tracedb --help`
  int order = 100;          // position in --help (ascending), then name
  std::function<RunFn(CLI::App* sub)> setup;
};

// Adds `command` to the registry. Duplicate names abort at startup.
void RegisterCommand(Command command);

// Every registered command, in help order.
std::vector<Command> Commands();

// Registers a command from a static initializer.
struct Registrar {
  explicit Registrar(Command command) { RegisterCommand(std::move(command)); }
};

// The configuration flags shared by commands that open a store or a server:
//   --config FILE      TOML configuration file (else $TRACEDB_CONFIG)
//   --listen HOST:PORT server.host and server.port
//   --data DIR         storage.data_dir (on-disk store)
//   --memory           storage.backend = memory
//   --set KEY=VALUE    any configuration key (repeatable)
// Construct it in `setup` (it adds the options to `sub`), call Resolve() in
// the run closure.
class ConfigFlags {
 public:
  // `with_listen`: add --listen (commands that do not serve omit it).
  explicit ConfigFlags(CLI::App* sub, bool with_listen = true);

  // Applies defaults, the file, the environment, then these flags, and
  // validates. On error the message names the key and its source.
  Result<server::ConfigLoader> Resolve() const;

 private:
  std::string config_file_;
  std::string listen_;
  std::string data_;
  bool memory_ = false;
  std::vector<std::string> sets_;
};

// Opens the store `config` describes (storage.*), creating its data
// directory: what commands that run without a server (`tracedb ingest`,
// `tracedb query`) write to or read from. Errors name the store.
Result<std::unique_ptr<engine::Engine>> OpenStore(const server::Config& config);

// Opens an existing on-disk store for maintenance (`tracedb backup`,
// `tracedb check`): never creates one, starts no retention thread. Prints
// the error, prefixed with `tracedb <command>:`, and returns nullptr on
// failure.
std::unique_ptr<engine::Engine> OpenExistingStore(const ConfigFlags& flags, const char* command);

}  // namespace tracedb::cli
