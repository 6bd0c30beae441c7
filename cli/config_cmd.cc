// `tracedb config`: prints the effective configuration and the origin of
// each value, or (--keys) every key with its environment variable and
// default.

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"

namespace tracedb::cli {
namespace {

int PrintKeys() {
  for (const auto& k : server::AllKeys()) {
    fmt::print("{}\n    env: {}\n    default: {}\n    {}\n", k.key, k.env,
               k.default_text.empty() ? "(none)" : k.default_text, k.help);
  }
  fmt::print(
      "\nReflow variables: REFLOW_TRACING_HOST -> server.host, REFLOW_TRACING_PORT -> server.port,\n"
      "REFLOW_TRACING_STORAGE_BACKEND -> storage.backend, REFLOW_TRACING_SQLITE_PATH -> storage.data_dir\n"
      "(TRACEDB_* variables win over them).\n");
  return 0;
}

Registrar kConfig({"config",
                   "Print the effective configuration and where each value came from "
                   "(default, file, env, flag)",
                   20, [](CLI::App* sub) -> RunFn {
                     auto flags = std::make_shared<ConfigFlags>(sub);
                     auto keys = std::make_shared<bool>(false);
                     sub->add_flag("--keys", *keys, "List every key with its environment variable, default and meaning");
                     return [flags, keys] {
                       if (*keys) return PrintKeys();
                       auto loader = flags->Resolve();
                       if (!loader.ok()) {
                         fmt::print(stderr, "tracedb: {}\n", loader.status().message());
                         return 2;
                       }
                       fmt::print("{}", loader->Describe());
                       return 0;
                     };
                   }});

}  // namespace
}  // namespace tracedb::cli
