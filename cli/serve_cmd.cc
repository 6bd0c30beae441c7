// `tracedb serve`: runs the WebSocket + HTTP server until SIGINT / SIGTERM,
// then shuts down gracefully and exits 0.

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"
#include "server/server.h"

namespace tracedb::cli {
namespace {

struct ServeOptions {
  std::string port_file;
  double drain_seconds = 10.0;
};

int Serve(const ConfigFlags& flags, const ServeOptions& opts) {
  // Block the signals in every thread (the server's threads inherit the
  // mask) and take them synchronously here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto loader = flags.Resolve();
  if (!loader.ok()) {
    fmt::print(stderr, "tracedb: {}\n", loader.status().message());
    return 2;
  }
  const server::Config& config = loader->config();
  auto engine = server::OpenEngine(config);
  if (!engine.ok()) {
    fmt::print(stderr, "tracedb: {}\n", engine.status().message());
    return 1;
  }
  auto server = server::Server::Start(config, engine->get());
  if (!server.ok()) {
    fmt::print(stderr, "tracedb: {}\n", server.status().message());
    return 1;
  }
  std::string store = config.backend == "memory" ? "memory" : config.data_dir;
  if (config.backend == "clickhouse") {
    const size_t n = config.clickhouse_shards.size();
    store = fmt::format("clickhouse ({} shard{}, database {})", n, n == 1 ? "" : "s", config.clickhouse_database);
  }
  fmt::print(stderr, "tracedb: listening on {} (ws:// and http://), store: {}\n", (*server)->address(), store);
  std::fflush(stderr);
  if (!opts.port_file.empty()) {
    std::string tmp = opts.port_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << (*server)->port() << "\n";
    }
    std::rename(tmp.c_str(), opts.port_file.c_str());
  }
  int sig = 0;
  sigwait(&signals, &sig);
  fmt::print(stderr, "tracedb: {} received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->Stop(opts.drain_seconds);
  server->reset();
  engine->reset();  // closes RocksDB cleanly (flushes the WAL)
  fmt::print(stderr, "tracedb: stopped\n");
  return 0;
}

Registrar kServe({"serve",
                  "Run the server: Reflow tracing protocol over WebSocket, /healthz /readyz /metrics over HTTP, "
                  "one port",
                  10, [](CLI::App* sub) -> RunFn {
                    auto flags = std::make_shared<ConfigFlags>(sub);
                    auto opts = std::make_shared<ServeOptions>();
                    sub->add_option("--port-file", opts->port_file,
                                    "Write the bound port to this file once listening (for scripts using port 0)");
                    sub->add_option("--drain-seconds", opts->drain_seconds,
                                    "On SIGTERM/SIGINT, how long sessions may take to flush replies before being cut")
                        ->capture_default_str();
                    return [flags, opts] { return Serve(*flags, *opts); };
                  }});

}  // namespace
}  // namespace tracedb::cli
