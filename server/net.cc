// The network layer: the only translation unit of server/ that includes
// Boost.Beast (compile cost, docs/server.md). Everything protocol-specific
// lives in service.cc.
//
// Per connection, all work runs on one strand: an HTTP loop that either
// answers plain requests or upgrades to a WsSession, whose read loop and
// write loop are two coroutines on that strand. State shared between them
// (reply slots, push queue, flags) is therefore touched only on the strand;
// other threads reach it through asio::post.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>

#include "server/server.h"

namespace tracedb::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using asio::awaitable;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadChunk = 64 * 1024;

class WsSession;

}  // namespace

class Server::Impl {
 public:
  Impl(const Config& config, engine::Engine* engine)
      : config_(config),
        engine_(engine),
        ioc_(static_cast<int>(config.io_threads)),
        listener_strand_(asio::make_strand(ioc_)),
        acceptor_(listener_strand_),
        accept_wake_(listener_strand_) {}

  Status Listen();
  void RunThreads();
  void Stop(double drain_seconds);

  awaitable<void> AcceptLoop();
  awaitable<void> HandleConnection(tcp::socket socket);
  http::response<http::string_body> HandleHttp(const http::request<http::string_body>& req);

  void SessionStarted(const std::shared_ptr<WsSession>& s);
  void SessionEnded(uint64_t id);
  void SocketClosed();

  const Config config_;
  engine::Engine* engine_;
  // Declared before service_: the Service (and the sessions its queues may
  // still reference) must be destroyed while the io_context exists.
  asio::io_context ioc_;
  std::unique_ptr<Service> service_;
  asio::strand<asio::io_context::executor_type> listener_strand_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_wake_;  // on listener_strand_
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> next_id_{1};
  // Shared with every connection coroutine, whose frames may be destroyed
  // with the io_context after the rest of Impl is gone.
  struct SocketCount {
    std::atomic<size_t> open{0};
    std::atomic<bool> stopping{false};
  };
  std::shared_ptr<SocketCount> sockets_ = std::make_shared<SocketCount>();
  std::atomic<bool> stopping_{false};
  uint16_t port_ = 0;

  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  std::map<uint64_t, std::weak_ptr<WsSession>> sessions_;  // GUARDED_BY(sessions_mu_)
  bool stopped_ = false;                                   // GUARDED_BY(sessions_mu_)
};

namespace {

class WsSession : public Peer, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(uint64_t id, Server::Impl* server, beast::tcp_stream&& stream)
      : Peer(id),
        server_(server),
        service_(server->service_.get()),
        metrics_(&service_->metrics()),
        ws_(std::move(stream)),
        read_wake_(ws_.get_executor()),
        write_wake_(ws_.get_executor()) {}

  awaitable<void> Run(http::request<http::string_body> req) {
    auto self = shared_from_this();
    const Config& cfg = server_->config_;
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    if (cfg.permessage_deflate) {
      websocket::permessage_deflate pmd;
      pmd.server_enable = true;
      ws_.set_option(pmd);
    }
    ws_.read_message_max(0);  // the limit is enforced in ReadLoop, keeping the connection
    ws_.auto_fragment(false);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "tracedb"); }));
    auto [ec] = co_await ws_.async_accept(req, kTuple);
    if (ec) co_return;
    service_->OnOpen(self);
    asio::co_spawn(ws_.get_executor(), WriteLoop(self), asio::detached);
    co_await ReadLoop();
    closed_ = true;
    closed_flag_.store(true, std::memory_order_release);
    write_wake_.cancel();
    service_->OnClose(self);
  }

  void Complete(uint64_t seq, Outgoing reply) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), seq, r = std::move(reply)]() mutable {
      self->OnComplete(seq, std::move(r));
    });
  }

  bool Push(std::shared_ptr<const std::string> json) override {
    if (closed_flag_.load(std::memory_order_acquire)) return false;
    if (push_count_.fetch_add(1, std::memory_order_acq_rel) >= server_->config_.subscriber_queue_capacity) {
      push_count_.fetch_sub(1, std::memory_order_acq_rel);
      return false;
    }
    asio::post(ws_.get_executor(), [self = shared_from_this(), json = std::move(json)]() mutable {
      if (self->closed_) {
        self->push_count_.fetch_sub(1, std::memory_order_acq_rel);
        return;
      }
      self->pushes_.push_back(std::move(json));
      self->write_wake_.cancel();
    });
    return true;
  }

  void Wake() override {
    asio::post(ws_.get_executor(), [self = shared_from_this()] { self->read_wake_.cancel(); });
  }

  // Graceful shutdown: stop taking requests, flush replies, close.
  void BeginShutdown() {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      self->draining_ = true;
      self->read_wake_.cancel();
      self->write_wake_.cancel();
    });
  }

  // Cuts the connection (shutdown deadline passed).
  void Abort() {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

 private:
  struct Slot {
    bool ready = false;
    Outgoing out;
  };

  void OnComplete(uint64_t seq, Outgoing out) {
    if (closed_ || seq < base_seq_ || seq - base_seq_ >= slots_.size()) return;
    Slot& slot = slots_[seq - base_seq_];
    slot.out = std::move(out);
    slot.ready = true;
    write_wake_.cancel();
  }

  awaitable<void> Sleep(asio::steady_timer& timer) {
    timer.expires_at(asio::steady_timer::time_point::max());
    co_await timer.async_wait(kTuple);
  }

  awaitable<void> ReadLoop() {
    auto self = shared_from_this();
    const Config& cfg = server_->config_;
    const size_t max = cfg.max_message_bytes;
    beast::flat_buffer buf;
    while (true) {
      bool paused = false;
      while (!draining_ && (slots_.size() >= cfg.max_inflight_per_connection || service_->MustWait(self))) {
        if (!paused) metrics_->backpressure_pauses.fetch_add(1, std::memory_order_relaxed);
        paused = true;
        co_await Sleep(read_wake_);
        if (closed_flag_.load(std::memory_order_acquire)) co_return;
      }
      buf.clear();
      size_t total = 0;
      bool too_big = false;
      do {
        auto [ec, n] = co_await ws_.async_read_some(buf, kReadChunk, kTuple);
        if (ec) co_return;  // closed by the peer, cut, or a protocol error
        total += n;
        if (buf.size() > max) {
          too_big = true;  // keep reading to the end of the message, dropping it
          buf.clear();
        }
      } while (!ws_.is_message_done());
      if (draining_) continue;  // shutting down: requests after the drain began are not served
      auto received = Clock::now();
      metrics_->messages_received.fetch_add(1, std::memory_order_relaxed);
      metrics_->bytes_received.fetch_add(total, std::memory_order_relaxed);
      uint64_t seq = base_seq_ + slots_.size();
      slots_.emplace_back();
      if (too_big) {
        service_->HandleInvalid(self, seq,
                                fmt::format("message of {} bytes exceeds the limit of {} bytes "
                                            "(server.max_message_bytes)",
                                            total, max),
                                received);
        continue;
      }
      std::string_view data(static_cast<const char*>(buf.data().data()), buf.size());
      if (ws_.got_text()) {
        service_->Handle(self, seq, data, received);
        continue;
      }
      auto text = DecompressFrame(data, max);
      if (!text.ok()) {
        service_->HandleInvalid(self, seq, "Binary frame: " + text.status().message(), received);
      } else {
        service_->Handle(self, seq, *text, received);
      }
    }
  }

  awaitable<void> WriteLoop(std::shared_ptr<WsSession> self) {
    while (!closed_) {
      if (!pushes_.empty()) {
        std::shared_ptr<const std::string> msg = std::move(pushes_.front());
        pushes_.pop_front();
        ws_.text(true);
        auto [ec, n] = co_await ws_.async_write(asio::buffer(*msg), kTuple);
        push_count_.fetch_sub(1, std::memory_order_acq_rel);
        if (ec) break;
        metrics_->bytes_sent.fetch_add(n, std::memory_order_relaxed);
        continue;
      }
      if (!slots_.empty() && slots_.front().ready) {
        Outgoing out = std::move(slots_.front().out);
        slots_.pop_front();
        ++base_seq_;
        read_wake_.cancel();  // an in-flight slot freed up
        ws_.text(!out.binary);
        auto [ec, n] = co_await ws_.async_write(asio::buffer(out.payload), kTuple);
        if (ec) break;
        metrics_->messages_sent.fetch_add(1, std::memory_order_relaxed);
        metrics_->bytes_sent.fetch_add(n, std::memory_order_relaxed);
        continue;
      }
      if (draining_ && slots_.empty()) {
        co_await ws_.async_close(websocket::close_code::going_away, kTuple);
        break;
      }
      co_await Sleep(write_wake_);
    }
    // Make the read loop finish too (no-op when it already has).
    closed_flag_.store(true, std::memory_order_release);
    beast::error_code ignored;
    if (!closed_) beast::get_lowest_layer(ws_).socket().close(ignored);
    read_wake_.cancel();
    (void)self;
  }

  Server::Impl* server_;
  Service* service_;
  Metrics* metrics_;
  websocket::stream<beast::tcp_stream> ws_;
  asio::steady_timer read_wake_;   // the read loop waits on it for room
  asio::steady_timer write_wake_;  // the write loop waits on it for work
  // Strand-only state.
  std::deque<Slot> slots_;  // replies of requests base_seq_, base_seq_ + 1, ...
  uint64_t base_seq_ = 0;
  std::deque<std::shared_ptr<const std::string>> pushes_;
  bool closed_ = false;
  bool draining_ = false;
  // Any thread.
  std::atomic<size_t> push_count_{0};
  std::atomic<bool> closed_flag_{false};
};

std::string JsonError(std::string_view code, std::string_view message) {
  std::string out = "{\"error\":{\"code\":\"";
  out += code;
  out += "\",\"message\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
  }
  out += "\"}}";
  return out;
}

}  // namespace

Status Server::Impl::Listen() {
  beast::error_code ec;
  auto addr = asio::ip::make_address(config_.host, ec);
  tcp::endpoint endpoint;
  if (ec) {
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(config_.host, std::to_string(config_.port), ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument(fmt::format("cannot resolve listen host '{}': {}", config_.host, ec.message()));
    }
    endpoint = results.begin()->endpoint();
  } else {
    endpoint = tcp::endpoint(addr, static_cast<uint16_t>(config_.port));
  }
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IoError(fmt::format("cannot listen on {}:{}: {}", config_.host, config_.port, ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  return Status::OK();
}

void Server::Impl::RunThreads() {
  asio::co_spawn(listener_strand_, AcceptLoop(), asio::detached);
  for (uint32_t i = 0; i < config_.io_threads; ++i) {
    threads_.emplace_back([this] { ioc_.run(); });
  }
}

awaitable<void> Server::Impl::AcceptLoop() {
  while (true) {
    while (sockets_->open.load() >= config_.max_connections && !stopping_) {
      accept_wake_.expires_at(asio::steady_timer::time_point::max());
      co_await accept_wake_.async_wait(kTuple);
    }
    if (stopping_) co_return;
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping_) co_return;
      continue;  // e.g. EMFILE: try again
    }
    sockets_->open.fetch_add(1);
    asio::ip::tcp::no_delay nd(true);
    socket.set_option(nd, ec);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, HandleConnection(std::move(socket)), asio::detached);
  }
}

void Server::Impl::SocketClosed() {
  sockets_->open.fetch_sub(1);
  asio::post(listener_strand_, [this] { accept_wake_.cancel(); });
}

awaitable<void> Server::Impl::HandleConnection(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  struct Closer {
    Impl* impl;
    std::shared_ptr<SocketCount> count;
    ~Closer() {
      if (count->stopping.load()) {
        count->open.fetch_sub(1);  // Impl may be gone (io_context teardown)
      } else {
        impl->SocketClosed();
      }
    }
  } closer{this, sockets_};
  while (!stopping_) {
    stream.expires_after(std::chrono::seconds(30));
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
    if (ec) co_return;
    http::request<http::string_body> req = parser.release();
    if (websocket::is_upgrade(req)) {
      stream.expires_never();
      auto session = std::make_shared<WsSession>(next_id_.fetch_add(1), this, std::move(stream));
      SessionStarted(session);
      co_await session->Run(std::move(req));
      SessionEnded(session->id());
      co_return;
    }
    service_->metrics().http_requests.fetch_add(1, std::memory_order_relaxed);
    http::response<http::string_body> res = HandleHttp(req);
    bool keep = res.keep_alive();
    auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
    if (wec || !keep) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

http::response<http::string_body> Server::Impl::HandleHttp(const http::request<http::string_body>& req) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set(http::field::server, "tracedb");
  std::string_view target(req.target().data(), req.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  auto json = [&](http::status status, std::string body) {
    res.result(status);
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
  };
  bool known = path == "/healthz" || path == "/readyz" || (config_.metrics_enabled && path == config_.metrics_endpoint);
  if (!known) {
    json(http::status::not_found, JsonError("NotFound", fmt::format("no such endpoint: {}", path)));
  } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
    json(http::status::method_not_allowed, JsonError("MethodNotAllowed", "only GET is supported"));
  } else if (path == "/healthz") {
    json(http::status::ok, "{\"status\":\"ok\"}");
  } else if (path == "/readyz") {
    if (service_->ready() && !stopping_) {
      json(http::status::ok, "{\"status\":\"ready\"}");
    } else {
      json(http::status::service_unavailable, "{\"status\":\"shutting down\"}");
    }
  } else {
    res.result(http::status::ok);
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = service_->RenderMetrics();
  }
  if (req.method() == http::verb::head) {
    res.content_length(res.body().size());
    res.body().clear();
    return res;
  }
  res.prepare_payload();
  return res;
}

void Server::Impl::SessionStarted(const std::shared_ptr<WsSession>& s) {
  std::lock_guard lock(sessions_mu_);
  sessions_[s->id()] = s;
  if (stopping_) s->BeginShutdown();
}

void Server::Impl::SessionEnded(uint64_t id) {
  std::lock_guard lock(sessions_mu_);
  sessions_.erase(id);
  sessions_cv_.notify_all();
}

void Server::Impl::Stop(double drain_seconds) {
  {
    std::lock_guard lock(sessions_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  stopping_ = true;
  asio::post(listener_strand_, [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    accept_wake_.cancel();
  });
  std::vector<std::shared_ptr<WsSession>> live;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, w] : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->BeginShutdown();
  live.clear();
  {
    std::unique_lock lock(sessions_mu_);
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(drain_seconds));
    if (!sessions_cv_.wait_until(lock, deadline, [&] { return sessions_.empty(); })) {
      for (auto& [id, w] : sessions_) {
        if (auto s = w.lock()) s->Abort();
      }
      sessions_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return sessions_.empty(); });
    }
  }
  sockets_->stopping = true;
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Commits every queued write, including the finalization of the traces
  // of the sessions that just closed.
  service_->Shutdown();
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (impl_) Stop();
}

Result<std::unique_ptr<Server>> Server::Start(const Config& config, engine::Engine* engine) {
  auto impl = std::make_unique<Impl>(config, engine);
  auto service = Service::Create(config, engine);
  if (!service.ok()) return service.status();
  impl->service_ = std::move(service).value();
  TRACEDB_RETURN_IF_ERROR(impl->Listen());
  impl->RunThreads();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::Stop(double drain_seconds) { impl_->Stop(drain_seconds); }

uint16_t Server::port() const { return impl_->port_; }

std::string Server::address() const { return fmt::format("{}:{}", impl_->config_.host, impl_->port_); }

Service& Server::service() { return *impl_->service_; }

}  // namespace tracedb::server
