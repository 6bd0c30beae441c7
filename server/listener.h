#pragma once

// The listener: Server::Impl, what every connection of the server shares.
// It binds the port, accepts connections (server.max_connections, with a few
// extra slots that only answer 503), hands each socket to an HTTP session
// (http_session.h), keeps the registry of WebSocket sessions and in-flight
// requests that a graceful Stop drains, and owns the shared pieces: the
// Service (group commit, reads, subscriptions), access control, the rate
// limiter, the worker pools, the route table and the HTTP metrics.
//
// Beast's own structure: listener -> HTTP session -> (upgrade) WebSocket
// session, one file each (listener.cc, http_session.cc, ws_session.cc).
//
// Thread-safety: the registry is guarded by sessions_mu_; the rest is
// immutable after Start or thread-safe itself.

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "server/net_stream.h"
#include "server/http_ingest.h"
#include "server/http_support.h"
#include "server/routes.h"
#include "server/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace tracedb::server {

// A WebSocket session as the listener sees it (ws_session.cc).
class SessionControl {
 public:
  virtual ~SessionControl() = default;
  // Graceful shutdown: stop taking requests, flush replies, close.
  virtual void BeginShutdown() = 0;
  // Cut the connection (the shutdown deadline passed).
  virtual void Abort() = 0;
};

class Server::Impl {
 public:
  Impl(const Config& config, engine::Engine* engine);

  Status Setup();
  Status Listen();
  void RunThreads();
  void Stop(double drain_seconds);

  // For the sessions.
  void SessionStarted(uint64_t id, const std::shared_ptr<SessionControl>& s);
  void SessionEnded(uint64_t id);
  // In-flight plain HTTP requests (Stop waits for them).
  void RequestBegan();
  void RequestEnded();
  // Streamed request bodies (Stop aborts them when the drain times out).
  void BodyStarted(const std::shared_ptr<BodyPipe>& pipe);
  void BodyEnded(const std::shared_ptr<BodyPipe>& pipe);
  // A socket closed: the accept loop may take more.
  void SocketClosed();
  bool stopping() const { return stopping_.load(); }

  // Shared with every connection coroutine, whose frames may be destroyed
  // with the io_context after the rest of Impl is gone.
  struct SocketCount {
    std::atomic<size_t> open{0};
    std::atomic<size_t> rejecting{0};
    std::atomic<bool> stopping{false};
  };

  const Config config_;
  engine::Engine* engine_;
  // Declared before service_: the Service (and the sessions its queues may
  // still reference) must be destroyed while the io_context exists.
  asio::io_context ioc_;
  std::unique_ptr<Service> service_;
  const RouteTable routes_;
  std::atomic<uint64_t> next_id_{1};
  std::unique_ptr<ssl::context> tls_;  // set when TLS is configured
  AccessControl access_;
  RateLimiter limiter_;
  HttpMetrics http_metrics_;
  std::unique_ptr<WorkerPool> read_pool_;
  std::unique_ptr<WorkerPool> ingest_pool_;
  std::unique_ptr<WorkerPool> admin_pool_;  // one thread, no queue: one admin job at a time
  std::shared_ptr<SocketCount> sockets_ = std::make_shared<SocketCount>();
  uint16_t port_ = 0;
  uint16_t otlp_port_ = 0;  // the otlp.listen listener's port; 0: none

 private:
  // Binds `host`:`port` (port 0: a free one) into a new acceptor; *bound
  // gets the port.
  Status Bind(const std::string& host, uint32_t port, std::string_view key, uint16_t* bound);
  awaitable<void> AcceptLoop(tcp::acceptor& acceptor);

  asio::strand<asio::io_context::executor_type> listener_strand_;
  // The main listener, then otlp.listen's when configured. Every acceptor
  // serves the same routes; the connection cap counts them together.
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  asio::steady_timer accept_wake_;  // on listener_strand_
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};

  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  std::map<uint64_t, std::weak_ptr<SessionControl>> sessions_;  // GUARDED_BY(sessions_mu_)
  size_t active_requests_ = 0;                                  // GUARDED_BY(sessions_mu_)
  std::set<std::shared_ptr<BodyPipe>> bodies_;                  // GUARDED_BY(sessions_mu_)
  bool stopped_ = false;                                        // GUARDED_BY(sessions_mu_)
};

// Serves one accepted connection (http_session.cc): HTTP requests until it
// closes, or a WebSocket session after an upgrade. `rejected`: the
// connection is beyond server.max_connections and every request gets 503.
awaitable<void> RunHttpSession(Server::Impl& impl, tcp::socket socket, bool rejected);

}  // namespace tracedb::server
