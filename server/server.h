#pragma once

// tracedb's network server: the one front door of server/.
//
// One TCP port (plain, or TLS when tls.cert_file / tls.key_file are set;
// otlp.listen adds a second one serving the same) speaks both protocols: a request carrying a WebSocket upgrade (any path)
// becomes a Reflow tracing session (server/service.h for the semantics);
// any other HTTP request is served as
//   GET /healthz          200 {"status":"ok"} while the process runs
//   GET /readyz           200 {"status":"ready"}, 503 while shutting down
//   GET <metrics.endpoint> Prometheus text format 0.0.4 (default /metrics)
//   POST /v1/ingest/{reflow|operonx}[?atomic=1]  bulk ingest, body streamed
//                         (server/http_ingest.h)
//   POST /v1/traces       OTLP/HTTP export (server/otlp_export.h)
//   GET /v1/...           the query API (server/http_api.h)
//   anything else         404 {"error":{"code":"NotFound","message":...}}
// (the rows of server/routes.h, the one route table)
// Access control and limits (API keys, Origin allow-list, body cap,
// connection cap, per-client rate limit, ingest overload) answer 401, 403,
// 413, 503, 429, 503 with JSON errors. docs/server.md describes the threads,
// queues, framing, compression and every refusal.
//
// Thread-safety: Server methods may be called from any thread; Stop() is
// idempotent and must not be called from an I/O thread.

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/status.h"
#include "engine/engine.h"
#include "server/config.h"
#include "server/service.h"

namespace tracedb::server {

class Server {
 public:
  // Binds config.host:config.port (port 0: a free port), starts the I/O,
  // writer, read and ingest threads and returns once the socket listens.
  // `engine` must outlive the Server. Fails when the address cannot be
  // bound, or the TLS certificate / key or auth.api_keys_file cannot be read
  // (the message names the key). With cluster.nats set it also connects the
  // cluster bus (server/cluster_bus.h); an unreachable NATS server does not
  // fail the start (logged, retried in the background), a malformed URL does.
  static Result<std::unique_ptr<Server>> Start(const Config& config, engine::Engine* engine);

  // Stop()s.
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Graceful shutdown: stops accepting; each WebSocket session stops
  // reading, sends every pending reply, and closes (going away); HTTP
  // requests in flight (bulk ingest bodies included) are read, committed and
  // answered; traces of closed sessions are finalized; queued writes are
  // committed; threads are joined. Sessions and requests that do not finish
  // within `drain_seconds` are cut. The engine is left open (its owner
  // closes it).
  void Stop(double drain_seconds = 10.0);

  // The bound port (useful with port 0).
  uint16_t port() const;
  // The port of the otlp.listen listener; 0 when there is none.
  uint16_t otlp_port() const;
  // "host:port" as bound.
  std::string address() const;

  Service& service();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Engine options for `config` (storage.* keys; backend "memory" -> in
// memory, "rocksdb"/"sqlite" -> on disk in storage.data_dir).
engine::Options EngineOptionsFor(const Config& config);

// Opens the engine described by `config`, creating data_dir when missing.
Result<std::unique_ptr<engine::Engine>> OpenEngine(const Config& config);

}  // namespace tracedb::server
