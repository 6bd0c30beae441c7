#include "cli/command.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "server/server.h"

namespace tracedb::cli {

namespace {

std::vector<Command>& Registry() {
  static std::vector<Command> commands;
  return commands;
}

}  // namespace

void RegisterCommand(Command command) {
  for (const auto& c : Registry()) {
    if (c.name == command.name) {
      std::fprintf(stderr, "tracedb: command '%s' registered twice\n", command.name.c_str());
      std::abort();
    }
  }
  Registry().push_back(std::move(command));
}

std::vector<Command> Commands() {
  std::vector<Command> out = Registry();
  std::sort(out.begin(), out.end(), [](const Command& a, const Command& b) {
    return a.order != b.order ? a.order < b.order : a.name < b.name;
  });
  return out;
}

ConfigFlags::ConfigFlags(CLI::App* sub, bool with_listen) {
  sub->add_option("--config", config_file_,
                  "TOML configuration file (default: $TRACEDB_CONFIG if set; see tracedb.example.toml)");
  if (with_listen) {
    sub->add_option("--listen", listen_,
                    "Address to listen on, HOST:PORT (sets server.host, server.port; default 127.0.0.1:8080; "
                    "port 0 picks a free port)");
  }
  sub->add_option("--data", data_, "Directory of the on-disk store (sets storage.data_dir; default ./data)");
  sub->add_flag("--memory", memory_, "Keep the store in memory, nothing on disk (sets storage.backend = memory)");
  sub->add_option("--set", sets_,
                  "Set any configuration key, KEY=VALUE (repeatable), e.g. --set ingest.max_batch=1024; "
                  "`tracedb config --keys` lists the keys")
      ->take_all();
}

Result<server::ConfigLoader> ConfigFlags::Resolve() const {
  server::ConfigLoader loader;
  std::string file = config_file_;
  if (file.empty()) {
    if (const char* env = std::getenv("TRACEDB_CONFIG"); env != nullptr && *env != '\0') file = env;
  }
  if (!file.empty()) TRACEDB_RETURN_IF_ERROR(loader.LoadFile(file));
  TRACEDB_RETURN_IF_ERROR(loader.LoadEnv(server::ProcessEnvironment()));
  if (!listen_.empty()) {
    std::string host;
    uint32_t port = 0;
    TRACEDB_RETURN_IF_ERROR(server::ParseListen(listen_, &host, &port));
    TRACEDB_RETURN_IF_ERROR(loader.SetFromFlag("server.host", host, "--listen"));
    TRACEDB_RETURN_IF_ERROR(loader.SetFromFlag("server.port", std::to_string(port), "--listen"));
  }
  if (!data_.empty()) {
    TRACEDB_RETURN_IF_ERROR(loader.SetFromFlag("storage.data_dir", data_, "--data"));
  }
  if (memory_) TRACEDB_RETURN_IF_ERROR(loader.SetFromFlag("storage.backend", "memory", "--memory"));
  for (const auto& s : sets_) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("--set '" + s + "': expected KEY=VALUE");
    }
    TRACEDB_RETURN_IF_ERROR(loader.SetFromFlag(s.substr(0, eq), s.substr(eq + 1), "--set " + s.substr(0, eq)));
  }
  if (!data_.empty() && memory_) {
    return Status::InvalidArgument("--data and --memory exclude each other");
  }
  TRACEDB_RETURN_IF_ERROR(loader.Validate());
  return loader;
}

Result<std::unique_ptr<engine::Engine>> OpenStore(const server::Config& config) {
  return server::OpenEngine(config);
}

}  // namespace tracedb::cli
