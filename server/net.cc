// The network layer: the only translation unit of server/ that includes
// Boost.Beast (compile cost, docs/server.md). Everything protocol-specific
// lives in service.cc (WebSocket), http_api.cc (read API), http_ingest.cc
// (bulk ingest) and http_support.cc (access control, limits, metrics).
//
// Per connection, all work runs on one strand: an HTTP loop that answers
// plain requests, streams bulk ingest bodies to a worker thread, or
// upgrades to a WsSession, whose read loop and write loop are two
// coroutines on that strand. State shared between them (reply slots, push
// queue, flags) is therefore touched only on the strand; other threads
// reach it through asio::post.
//
// Plain TCP or TLS (tls.cert_file / tls.key_file) is hidden behind
// AnyStream, so the HTTP and WebSocket code is instantiated once.

// Must match every other translation unit that includes Boost.Asio and is
// linked with this one: tracedb_server gives BOOST_ASIO_NO_DEPRECATED to its
// users (INTERFACE, server/CMakeLists.txt), so the tests' WebSocket/HTTP
// client code is built with it. The macro changes the return type of
// Asio's synchronous `error_code&` overloads (basic_socket::shutdown, close,
// ...: void instead of error_code) but not their mangled names, so without
// it here the linker keeps one of two incompatible copies and this file
// calls the other with the wrong calling convention (the caller's hidden
// return slot becomes `this`). Optimized builds inline the calls and hid
// it; the sanitizer build crashed in socket shutdown (docs/server.md,
// "Sanitizers").
#ifndef BOOST_ASIO_NO_DEPRECATED
#define BOOST_ASIO_NO_DEPRECATED 1
#endif

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>

#include "server/http_api.h"
#include "server/http_ingest.h"
#include "server/http_support.h"
#include "server/server.h"

namespace tracedb::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadChunk = 64 * 1024;
// A Content-Length ingest body is read in chunks of up to this many bytes
// (each read waits for at least a quarter of it).
constexpr size_t kBodyChunk = 1 << 20;
// Body of a request other than bulk ingest (GET, WebSocket upgrade...).
constexpr size_t kSmallBodyLimit = 64 * 1024;
// Bytes of an ingest body queued for its worker before reading pauses
// (a few body chunks: reading and parsing overlap).
constexpr size_t kPipeBytes = 4 << 20;
// Connections beyond server.max_connections that are still read (to answer
// 503); beyond these, new connections wait in the TCP backlog.
constexpr uint32_t kRejectSlots = 64;
// After a refusal with an unread body: bytes read and dropped at most, so
// that the client sees the reply rather than a reset.
constexpr size_t kLingerBytes = 4 << 20;

schema::TimestampNs NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A TCP connection, plain or TLS, as one stream type.
class AnyStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  using next_layer_type = beast::tcp_stream;

  explicit AnyStream(tcp::socket socket) : tcp_(std::in_place, std::move(socket)) {}
  AnyStream(tcp::socket socket, ssl::context& ctx) : tls_(std::in_place, beast::tcp_stream(std::move(socket)), ctx) {}

  executor_type get_executor() { return next_layer().get_executor(); }
  beast::tcp_stream& next_layer() { return tls_ ? tls_->next_layer() : *tcp_; }
  bool is_tls() const { return tls_.has_value(); }
  beast::ssl_stream<beast::tcp_stream>& tls() { return *tls_; }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          if (tls_) {
            tls_->async_read_some(b, std::move(handler));
          } else {
            tcp_->async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            tcp_->async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  std::optional<beast::tcp_stream> tcp_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
};

// WebSocket close for AnyStream (found by ADL).
[[maybe_unused]] void teardown(beast::role_type role, AnyStream& s, beast::error_code& ec) {
  using beast::websocket::teardown;
  if (s.is_tls()) {
    teardown(role, s.tls(), ec);
  } else {
    teardown(role, s.next_layer().socket(), ec);
  }
}

template <class TeardownHandler>
void async_teardown(beast::role_type role, AnyStream& s, TeardownHandler&& handler) {
  using beast::websocket::async_teardown;
  if (s.is_tls()) {
    async_teardown(role, s.tls(), std::forward<TeardownHandler>(handler));
  } else {
    async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
  }
}

// A flag another thread sets through the connection's executor (post
// Notify there) and the connection's coroutine awaits. Safe without locks:
// both run on the strand, and a posted Notify runs only once the coroutine
// is suspended.
struct Signal {
  explicit Signal(const asio::any_io_executor& ex) : timer(ex) {}
  void Notify() {
    set = true;
    timer.cancel();
  }
  awaitable<void> Wait() {
    while (!set) {
      timer.expires_at(asio::steady_timer::time_point::max());
      co_await timer.async_wait(kTuple);
    }
  }
  asio::steady_timer timer;
  bool set = false;
};

// One bulk ingest request: the body pipe to its worker and the reply.
struct IngestJob {
  explicit IngestJob(const asio::any_io_executor& ex) : pipe(kPipeBytes), room(ex), done(ex) {}
  BodyPipe pipe;
  Signal room;  // the pipe has room again
  Signal done;  // the worker finished: outcome is set
  BulkIngestOutcome outcome;
};

// One read API request run on the read pool.
struct ReadJob {
  explicit ReadJob(const asio::any_io_executor& ex) : done(ex) {}
  Signal done;
  ApiResponse response;
};

// A reply to a plain HTTP request.
struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<http::field, std::string>> headers;
  bool close = false;  // close the connection after it
};

Reply JsonReply(int status, std::string_view code, std::string_view message) {
  return Reply{status, "application/json", ErrorResponse(status, code, message).body, {}, false};
}

enum class Next { kKeepAlive, kClose, kUpgraded };

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
        accept_wake_(listener_strand_),
        limiter_(static_cast<double>(config.rate_limit_per_second), static_cast<double>(config.rate_limit_burst)) {}

  Status Setup();
  Status Listen();
  void RunThreads();
  void Stop(double drain_seconds);

  // A connection and what its requests share.
  struct Conn {
    AnyStream stream;
    beast::flat_buffer buffer;
    std::string client;  // remote IP address (rate limit key)
    bool rejected;       // beyond server.max_connections: every request gets 503
  };
  using HeaderParser = http::request_parser<http::empty_body>;

  awaitable<void> AcceptLoop();
  awaitable<void> HandleConnection(tcp::socket socket, bool rejected);
  awaitable<Next> ServeRequest(Conn& c, HeaderParser& hp);
  awaitable<Next> ServeIngest(Conn& c, HeaderParser& hp, std::string_view path, std::string_view query,
                              Clock::time_point start);
  awaitable<Next> ServeRead(Conn& c, const http::request_header<>& req, Clock::time_point start);
  // `reply` is moved from; it must outlive the co_await (a named local:
  // GCC 12 destroys brace-initialized temporaries of a co_await twice).
  awaitable<Next> Send(Conn& c, const http::request_header<>& req, Reply& reply, Route route, Clock::time_point start,
                       bool body_unread);
  awaitable<void> Linger(Conn& c);
  // How reading an ingest body ended.
  enum class BodyEnd { kComplete, kFailed, kTooLarge };
  // Ends the body for the worker (close or abort the pipe), waits for its
  // outcome and answers: the shared tail of both body-reading paths.
  awaitable<Next> FinishIngest(Conn& c, IngestJob& job, const BulkIngestSpec& spec, const http::request_header<>& req,
                               Clock::time_point start, BodyEnd end, bool body_unread);
  // Hands a chunk of an ingest body to its worker; waits while the pipe
  // is full.
  awaitable<void> PushBody(IngestJob& job, std::string chunk);
  // Adds a finished bulk ingest request to the HTTP metrics.
  void CountIngest(const BulkIngestOutcome& out);
  Reply Basic(http::verb method, std::string_view path);
  Reply Refuse(Refusal why, int status, std::string_view code, std::string message);

  void SessionStarted(const std::shared_ptr<WsSession>& s);
  void SessionEnded(uint64_t id);
  void SocketClosed();
  // In-flight plain HTTP requests (Stop waits for them).
  void RequestBegan();
  void RequestEnded();

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
  std::unique_ptr<ssl::context> tls_;  // set when TLS is configured
  AccessControl access_;
  RateLimiter limiter_;
  HttpMetrics http_metrics_;
  std::unique_ptr<WorkerPool> read_pool_;
  std::unique_ptr<WorkerPool> ingest_pool_;
  // Shared with every connection coroutine, whose frames may be destroyed
  // with the io_context after the rest of Impl is gone.
  struct SocketCount {
    std::atomic<size_t> open{0};
    std::atomic<size_t> rejecting{0};
    std::atomic<bool> stopping{false};
  };
  std::shared_ptr<SocketCount> sockets_ = std::make_shared<SocketCount>();
  std::atomic<bool> stopping_{false};
  uint16_t port_ = 0;

  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  std::map<uint64_t, std::weak_ptr<WsSession>> sessions_;  // GUARDED_BY(sessions_mu_)
  size_t active_requests_ = 0;                             // GUARDED_BY(sessions_mu_)
  std::set<std::shared_ptr<IngestJob>> ingest_jobs_;       // GUARDED_BY(sessions_mu_)
  bool stopped_ = false;                                   // GUARDED_BY(sessions_mu_)
};

namespace {

class WsSession : public Peer, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(uint64_t id, Server::Impl* server, AnyStream&& stream)
      : Peer(id),
        server_(server),
        service_(server->service_.get()),
        metrics_(&service_->metrics()),
        ws_(std::move(stream)),
        read_wake_(ws_.get_executor()),
        write_wake_(ws_.get_executor()) {}

  // Accepts the upgrade `req`; `subprotocol` (may be empty) is echoed as
  // the accepted Sec-WebSocket-Protocol.
  awaitable<void> Run(http::request<http::string_body> req, std::string subprotocol) {
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
    ws_.set_option(websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
      res.set(http::field::server, "tracedb");
      if (!subprotocol.empty()) res.set(http::field::sec_websocket_protocol, subprotocol);
    }));
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

  // While corked, the kernel holds partial TCP segments, so a burst of
  // small frames (the acks of one group commit) leaves in full segments and
  // wakes the client once rather than once per frame. Uncorking sends what
  // is held at once.
  void Cork(bool on) {
    if (corked_ == on) return;
    corked_ = on;
    int v = on ? 1 : 0;
    ::setsockopt(beast::get_lowest_layer(ws_).socket().native_handle(), IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
  }

  awaitable<void> WriteLoop(std::shared_ptr<WsSession> self) {
    while (!closed_) {
      // More than one frame ready: cork for the burst.
      size_t ready = pushes_.size();
      for (size_t i = 0; i < slots_.size() && slots_[i].ready && ready < 2; ++i) ++ready;
      if (ready >= 2) Cork(true);
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
      Cork(false);  // nothing more to write now: send what is held
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
  websocket::stream<AnyStream> ws_;
  asio::steady_timer read_wake_;   // the read loop waits on it for room
  asio::steady_timer write_wake_;  // the write loop waits on it for work
  // Strand-only state.
  std::deque<Slot> slots_;  // replies of requests base_seq_, base_seq_ + 1, ...
  uint64_t base_seq_ = 0;
  std::deque<std::shared_ptr<const std::string>> pushes_;
  bool closed_ = false;
  bool draining_ = false;
  bool corked_ = false;  // TCP_CORK set on the socket (WriteLoop)
  // Any thread.
  std::atomic<size_t> push_count_{0};
  std::atomic<bool> closed_flag_{false};
};

std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

// The value of query parameter `name` in `query` ("" when absent).
std::string QueryParam(std::string_view query, std::string_view name) {
  for (const auto& [k, v] : ParseQueryString(query)) {
    if (k == name) return v;
  }
  return {};
}

// Whether the client wants the connection kept open (HTTP/1.1 default,
// HTTP/1.0 with "Connection: keep-alive").
bool KeepAlive(const http::request_header<>& h) {
  bool close = false, keep = false;
  for (auto token : http::token_list{h[http::field::connection]}) {
    if (beast::iequals(token, "close")) close = true;
    if (beast::iequals(token, "keep-alive")) keep = true;
  }
  return h.version() >= 11 ? !close : keep;
}

Route RouteOf(std::string_view path, const Config& config) {
  if (path == "/healthz" || path == "/readyz") return Route::kHealth;
  if (config.metrics_enabled && path == config.metrics_endpoint) return Route::kMetrics;
  if (path.rfind("/v1/ingest/", 0) == 0 || path == "/v1/ingest") return Route::kIngest;
  if (path.rfind("/v1/", 0) == 0) return Route::kApi;
  return Route::kOther;
}

}  // namespace

Status Server::Impl::Setup() {
  auto access = AccessControl::Create(config_);
  if (!access.ok()) return access.status();
  access_ = std::move(access).value();
  if (!config_.tls_cert_file.empty()) {
    tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
    beast::error_code ec;
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                      ec);
    tls_->use_certificate_chain_file(config_.tls_cert_file, ec);
    if (ec) {
      return Status::InvalidArgument(
          fmt::format("tls.cert_file '{}': cannot load the certificate chain: {}", config_.tls_cert_file, ec.message()));
    }
    tls_->use_private_key_file(config_.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return Status::InvalidArgument(
          fmt::format("tls.key_file '{}': cannot load the private key: {}", config_.tls_key_file, ec.message()));
    }
  }
  read_pool_ = std::make_unique<WorkerPool>(config_.read_threads, config_.read_queue_capacity);
  ingest_pool_ = std::make_unique<WorkerPool>(config_.max_concurrent_ingests, 0);
  return Status::OK();
}

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
    while (sockets_->open.load() + sockets_->rejecting.load() >= size_t{config_.max_connections} + kRejectSlots &&
           !stopping_) {
      accept_wake_.expires_at(asio::steady_timer::time_point::max());
      co_await accept_wake_.async_wait(kTuple);
    }
    if (stopping_) co_return;
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping_) co_return;
      continue;  // e.g. EMFILE: try again
    }
    bool rejected = sockets_->open.load() >= config_.max_connections;
    if (rejected) {
      sockets_->rejecting.fetch_add(1);
    } else {
      sockets_->open.fetch_add(1);
      http_metrics_.connections_open.fetch_add(1, std::memory_order_relaxed);
    }
    asio::ip::tcp::no_delay nd(true);
    socket.set_option(nd, ec);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, HandleConnection(std::move(socket), rejected), asio::detached);
  }
}

void Server::Impl::SocketClosed() {
  asio::post(listener_strand_, [this] { accept_wake_.cancel(); });
}

void Server::Impl::RequestBegan() {
  std::lock_guard lock(sessions_mu_);
  ++active_requests_;
}

void Server::Impl::RequestEnded() {
  std::lock_guard lock(sessions_mu_);
  --active_requests_;
  sessions_cv_.notify_all();
}

awaitable<void> Server::Impl::HandleConnection(tcp::socket socket, bool rejected) {
  struct Closer {
    Impl* impl;
    std::shared_ptr<SocketCount> count;
    bool rejected;
    ~Closer() {
      (rejected ? count->rejecting : count->open).fetch_sub(1);
      if (count->stopping.load()) return;  // Impl may be gone (io_context teardown)
      if (!rejected) impl->http_metrics_.connections_open.fetch_sub(1, std::memory_order_relaxed);
      impl->SocketClosed();
    }
  } closer{this, sockets_, rejected};
  beast::error_code ec;
  std::string client = socket.remote_endpoint(ec).address().to_string();
  Conn c{tls_ ? AnyStream(std::move(socket), *tls_) : AnyStream(std::move(socket)), {}, std::move(client), rejected};
  const auto idle = std::chrono::seconds(config_.idle_timeout_seconds);
  if (c.stream.is_tls()) {
    c.stream.next_layer().expires_after(idle);
    auto [hec] = co_await c.stream.tls().async_handshake(ssl::stream_base::server, kTuple);
    if (hec) co_return;
  }
  while (true) {
    c.stream.next_layer().expires_after(idle);
    HeaderParser hp;
    hp.header_limit(64 * 1024);
    hp.body_limit(boost::none);  // limits are enforced per route (ServeRequest, ServeIngest)
    auto [rec, n] = co_await http::async_read_header(c.stream, c.buffer, hp, kTuple);
    if (rec) co_return;
    RequestBegan();
    struct Ended {
      Impl* impl;
      std::shared_ptr<SocketCount> count;
      ~Ended() {
        if (!count->stopping.load()) impl->RequestEnded();
      }
    } ended{this, sockets_};
    Next next = co_await ServeRequest(c, hp);
    if (next == Next::kUpgraded) co_return;
    if (next == Next::kClose) break;
  }
  if (c.stream.is_tls()) {
    c.stream.next_layer().expires_after(std::chrono::seconds(1));
    co_await c.stream.tls().async_shutdown(kTuple);
  } else {
    c.stream.next_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
  }
}

Reply Server::Impl::Refuse(Refusal why, int status, std::string_view code, std::string message) {
  http_metrics_.Refuse(why);
  return JsonReply(status, code, message);
}

awaitable<void> Server::Impl::Linger(Conn& c) {
  beast::error_code ec;
  if (!c.stream.is_tls()) c.stream.next_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
  c.stream.next_layer().expires_after(std::chrono::seconds(2));
  std::vector<char> buf(16 * 1024);
  size_t total = 0;
  while (total < kLingerBytes) {
    auto [rec, n] = co_await c.stream.async_read_some(asio::buffer(buf), kTuple);
    if (rec) break;
    total += n;
  }
}

awaitable<Next> Server::Impl::Send(Conn& c, const http::request_header<>& req, Reply& reply, Route route,
                                   Clock::time_point start, bool body_unread) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.result(static_cast<unsigned>(reply.status));
  res.set(http::field::server, "tracedb");
  res.set(http::field::content_type, reply.content_type);
  for (auto& [field, value] : reply.headers) res.set(field, value);
  bool keep = KeepAlive(req) && !reply.close && !body_unread && !stopping_;
  res.keep_alive(keep);
  if (req.method() == http::verb::head) {
    res.content_length(reply.body.size());
  } else {
    res.body() = std::move(reply.body);
    res.prepare_payload();
  }
  http_metrics_.Responded(route, reply.status, start);
  c.stream.next_layer().expires_after(std::chrono::seconds(config_.idle_timeout_seconds));
  auto [ec, n] = co_await http::async_write(c.stream, res, kTuple);
  if (ec) co_return Next::kClose;
  if (!keep) {
    if (body_unread) co_await Linger(c);
    co_return Next::kClose;
  }
  co_return Next::kKeepAlive;
}

Reply Server::Impl::Basic(http::verb method, std::string_view path) {
  if (method != http::verb::get && method != http::verb::head) {
    Reply r = JsonReply(405, "MethodNotAllowed", "only GET is supported");
    r.headers.emplace_back(http::field::allow, "GET, HEAD");
    return r;
  }
  if (path == "/healthz") return Reply{200, "application/json", "{\"status\":\"ok\"}", {}, false};
  if (path == "/readyz") {
    if (service_->ready() && !stopping_) return Reply{200, "application/json", "{\"status\":\"ready\"}", {}, false};
    return Reply{503, "application/json", "{\"status\":\"shutting down\"}", {}, false};
  }
  std::string text = service_->RenderMetrics();
  http_metrics_.Render(&text);
  return Reply{200, "text/plain; version=0.0.4; charset=utf-8", std::move(text), {}, false};
}

awaitable<Next> Server::Impl::ServeRequest(Conn& c, HeaderParser& hp) {
  auto start = Clock::now();
  const auto& req = hp.get();
  std::string target(Sv(req.target()));
  size_t qmark = target.find('?');
  std::string path = target.substr(0, qmark);
  std::string query = qmark == std::string::npos ? std::string() : target.substr(qmark + 1);
  Route route = RouteOf(path, config_);
  bool body_unread = !hp.is_done();
  bool upgrade = websocket::is_upgrade(req);
  service_->metrics().http_requests.fetch_add(1, std::memory_order_relaxed);

  if (c.rejected) {
    Reply r = Refuse(Refusal::kConnectionLimit, 503, "Unavailable",
                     fmt::format("too many connections (server.max_connections = {}); retry later",
                                 config_.max_connections));
    r.headers.emplace_back(http::field::retry_after, "1");
    r.close = true;
    co_return co_await Send(c, req, r, route, start, body_unread);
  }
  if (route != Route::kHealth) {
    if (uint32_t wait = limiter_.Acquire(c.client, start); wait > 0) {
      Reply r = Refuse(Refusal::kRateLimited, 429, "TooManyRequests",
                       fmt::format("rate limit of {} requests/s per client exceeded (http.rate_limit_per_second)",
                                   config_.rate_limit_per_second));
      r.headers.emplace_back(http::field::retry_after, std::to_string(wait));
      co_return co_await Send(c, req, r, route, start, body_unread);
    }
    if (stopping_) {
      Reply r = Refuse(Refusal::kShuttingDown, 503, "Unavailable", "server is shutting down");
      r.headers.emplace_back(http::field::retry_after, "1");
      r.close = true;
      co_return co_await Send(c, req, r, route, start, body_unread);
    }
  }

  if (upgrade) {
    if (!access_.OriginAllowed(Sv(req[http::field::origin]))) {
      Reply r = Refuse(Refusal::kForbiddenOrigin, 403, "Forbidden",
                       fmt::format("origin '{}' is not allowed (server.allowed_origins)", Sv(req[http::field::origin])));
      co_return co_await Send(c, req, r, route, start, body_unread);
    }
    bool offered_bearer = false;
    std::string subprotocol = access_.FindBearerSubprotocol(Sv(req[http::field::sec_websocket_protocol]), &offered_bearer);
    if (access_.keys_required()) {
      bool ok = access_.CheckAuthorization(Sv(req[http::field::authorization])) ||
                access_.IsValidKey(QueryParam(query, "token")) || !subprotocol.empty();
      if (!ok) {
        Reply r = Refuse(Refusal::kUnauthorized, 401, "Unauthorized",
                         "an API key is required: Authorization: Bearer <key>, ?token=<key> or the "
                         "Sec-WebSocket-Protocol bearer.<key>");
        r.headers.emplace_back(http::field::www_authenticate, "Bearer realm=\"tracedb\"");
        co_return co_await Send(c, req, r, route, start, body_unread);
      }
    }
    if (body_unread) {
      Reply r = JsonReply(400, "InvalidArgument", "a WebSocket upgrade has no body");
      co_return co_await Send(c, req, r, route, start, body_unread);
    }
    http::request<http::string_body> wreq(std::move(hp.get().base()));
    c.stream.next_layer().expires_never();
    auto session = std::make_shared<WsSession>(next_id_.fetch_add(1), this, std::move(c.stream));
    SessionStarted(session);
    co_await session->Run(std::move(wreq), std::move(subprotocol));
    SessionEnded(session->id());
    co_return Next::kUpgraded;
  }

  bool needs_key = access_.keys_required() && route != Route::kHealth &&
                   (route != Route::kMetrics || access_.metrics_requires_key());
  if (needs_key && !access_.CheckAuthorization(Sv(req[http::field::authorization]))) {
    Reply r = Refuse(Refusal::kUnauthorized, 401, "Unauthorized",
                     "an API key is required: send Authorization: Bearer <key> (auth.api_keys)");
    r.headers.emplace_back(http::field::www_authenticate, "Bearer realm=\"tracedb\"");
    co_return co_await Send(c, req, r, route, start, body_unread);
  }

  if (route == Route::kIngest) co_return co_await ServeIngest(c, hp, path, query, start);

  // Any other request carries a small body at most: read and ignore it.
  if (auto length = hp.content_length(); length && *length > kSmallBodyLimit) {
    Reply r = Refuse(Refusal::kBodyTooLarge, 413, "PayloadTooLarge",
                     fmt::format("this endpoint takes a body of at most {} bytes", kSmallBodyLimit));
    r.close = true;
    co_return co_await Send(c, req, r, route, start, body_unread);
  }
  if (body_unread) {
    http::request_parser<http::string_body> sp(std::move(hp));
    sp.body_limit(kSmallBodyLimit);
    c.stream.next_layer().expires_after(std::chrono::seconds(config_.idle_timeout_seconds));
    auto [ec, n] = co_await http::async_read(c.stream, c.buffer, sp, kTuple);
    if (ec == http::error::body_limit) {
      Reply r = Refuse(Refusal::kBodyTooLarge, 413, "PayloadTooLarge",
                       fmt::format("this endpoint takes a body of at most {} bytes", kSmallBodyLimit));
      r.close = true;
      co_return co_await Send(c, sp.get().base(), r, route, start, true);
    }
    if (ec) co_return Next::kClose;
    http::request_header<> header = sp.get().base();
    if (route == Route::kApi) co_return co_await ServeRead(c, header, start);
    if (route == Route::kOther) {
      Reply r = JsonReply(404, "NotFound", fmt::format("no such endpoint: {}", path));
      co_return co_await Send(c, header, r, route, start, false);
    }
    Reply r = Basic(header.method(), path);
    co_return co_await Send(c, header, r, route, start, false);
  }

  if (route == Route::kApi) co_return co_await ServeRead(c, req, start);
  if (route == Route::kOther) {
    Reply r = JsonReply(404, "NotFound", fmt::format("no such endpoint: {}", path));
    co_return co_await Send(c, req, r, route, start, false);
  }
  Reply r = Basic(req.method(), path);
  co_return co_await Send(c, req, r, route, start, false);
}

awaitable<Next> Server::Impl::ServeRead(Conn& c, const http::request_header<>& req, Clock::time_point start) {
  auto job = std::make_shared<ReadJob>(c.stream.get_executor());
  std::string method(Sv(req.method_string()));
  std::string target(Sv(req.target()));
  if (!read_pool_->TryAdd([this, job, method, target] {
        auto r = HandleReadApi(method, target, engine_, NowNs());
        ApiResponse resp = r ? std::move(*r)
                             : ErrorResponse(404, "NotFound",
                                             "no such endpoint: " + target.substr(0, target.find('?')));
        asio::post(job->done.timer.get_executor(), [job, resp = std::move(resp)]() mutable {
          job->response = std::move(resp);
          job->done.Notify();
        });
      })) {
    Reply r = Refuse(Refusal::kReadOverload, 503, "Unavailable", "too many queued reads; retry later");
    r.headers.emplace_back(http::field::retry_after, "1");
    co_return co_await Send(c, req, r, Route::kApi, start, false);
  }
  co_await job->done.Wait();
  Reply r;
  r.status = job->response.status;
  r.content_type = job->response.content_type;
  r.body = std::move(job->response.body);
  co_return co_await Send(c, req, r, Route::kApi, start, false);
}

awaitable<Next> Server::Impl::ServeIngest(Conn& c, HeaderParser& hp, std::string_view path, std::string_view query,
                                          Clock::time_point start) {
  const auto& req = hp.get();
  bool body_unread = !hp.is_done();
  auto send = [&](Reply& r) { return Send(c, req, r, Route::kIngest, start, body_unread); };
  if (req.method() != http::verb::post) {
    Reply r = JsonReply(405, "MethodNotAllowed", "bulk ingest takes POST");
    r.headers.emplace_back(http::field::allow, "POST");
    co_return co_await send(r);
  }
  BulkIngestSpec spec;
  if (path == "/v1/ingest/reflow") {
    spec.format = IngestFormat::kReflow;
  } else if (path == "/v1/ingest/operonx") {
    spec.format = IngestFormat::kOperonx;
  } else {
    Reply r = JsonReply(404, "NotFound",
                        fmt::format("no such endpoint: {} (use /v1/ingest/reflow or /v1/ingest/operonx)", path));
    co_return co_await send(r);
  }
  auto atomicity = ParseIngestParams(query);
  if (!atomicity.ok()) {
    Reply r = JsonReply(400, "InvalidArgument", atomicity.status().message());
    co_return co_await send(r);
  }
  spec.atomicity = *atomicity;
  auto codec = CodecFromContentEncoding(Sv(req[http::field::content_encoding]));
  if (!codec.ok()) {
    Reply r = JsonReply(415, "UnsupportedMediaType", codec.status().message());
    co_return co_await send(r);
  }
  spec.codec = *codec;
  spec.batch_lines = config_.ingest_batch_lines;
  spec.max_atomic_bytes = config_.max_body_bytes;
  const uint64_t max_body = config_.max_body_bytes;
  if (auto length = hp.content_length(); length && max_body > 0 && *length > max_body) {
    Reply r = Refuse(Refusal::kBodyTooLarge, 413, "PayloadTooLarge",
                     fmt::format("body of {} bytes exceeds the limit of {} bytes (http.max_body_bytes)", *length,
                                 max_body));
    r.close = true;
    co_return co_await send(r);
  }
  if (service_->metrics().ingest_queue_depth.load(std::memory_order_relaxed) >=
      static_cast<int64_t>(config_.ingest_queue_capacity)) {
    Reply r = Refuse(Refusal::kIngestOverload, 503, "Unavailable",
                     "the store is not keeping up (ingest queue full); retry later");
    r.headers.emplace_back(http::field::retry_after, "1");
    co_return co_await send(r);
  }

  auto job = std::make_shared<IngestJob>(c.stream.get_executor());
  std::weak_ptr<IngestJob> weak = job;
  job->pipe.SetOnRoom([weak] {
    if (auto j = weak.lock()) asio::post(j->room.timer.get_executor(), [j] { j->room.Notify(); });
  });
  Service* service = service_.get();
  bool admitted = ingest_pool_->TryAdd([job, spec, service] {
    BulkIngestOutcome out = RunBulkIngest(spec, &job->pipe, [service](const engine::WriteBatch& batch) {
      return service->CommitBatch(batch);
    });
    asio::post(job->done.timer.get_executor(), [job, out = std::move(out)]() mutable {
      job->outcome = std::move(out);
      job->done.Notify();
    });
  });
  if (!admitted) {
    Reply r = Refuse(Refusal::kIngestOverload, 503, "Unavailable",
                     fmt::format("too many bulk ingest requests in progress (http.max_concurrent_ingests = {}); "
                                 "retry later",
                                 config_.max_concurrent_ingests));
    r.headers.emplace_back(http::field::retry_after, "1");
    co_return co_await send(r);
  }
  {
    std::lock_guard lock(sessions_mu_);
    ingest_jobs_.insert(job);
  }
  struct Unregister {
    Impl* impl;
    std::shared_ptr<IngestJob> job;
    std::shared_ptr<SocketCount> count;
    ~Unregister() {
      job->pipe.Abort();  // no-op once the worker finished
      if (count->stopping.load()) return;
      std::lock_guard lock(impl->sessions_mu_);
      impl->ingest_jobs_.erase(job);
    }
  } unregister{this, job, sockets_};
  http_metrics_.ingest_active.fetch_add(1, std::memory_order_relaxed);
  struct Inactive {
    HttpMetrics* m;
    ~Inactive() { m->ingest_active.fetch_sub(1, std::memory_order_relaxed); }
  } inactive{&http_metrics_};

  if (beast::iequals(req[http::field::expect], "100-continue")) {
    http::response<http::empty_body> cont{http::status::continue_, req.version()};
    auto [ec, n] = co_await http::async_write(c.stream, cont, kTuple);
    if (ec) co_return Next::kClose;
  }

  BodyEnd end = BodyEnd::kComplete;
  // A Content-Length body is read straight from the socket in large
  // chunks (the limit was checked above): one copy, few reads and wakeups.
  // A chunked body goes through Beast's parser below.
  if (auto length = hp.content_length(); length && !hp.chunked()) {
    uint64_t remaining = *length;
    auto buffered = c.buffer.data();
    size_t first = static_cast<size_t>(std::min<uint64_t>(buffered.size(), remaining));
    if (first > 0) {
      std::string chunk(static_cast<const char*>(buffered.data()), first);
      c.buffer.consume(first);
      remaining -= first;
      co_await PushBody(*job, std::move(chunk));
    }
    while (remaining > 0 && !job->done.set) {
      std::string chunk(static_cast<size_t>(std::min<uint64_t>(remaining, kBodyChunk)), '\0');
      c.stream.next_layer().expires_after(std::chrono::seconds(config_.idle_timeout_seconds));
      auto [ec, n] = co_await asio::async_read(
          c.stream, asio::buffer(chunk), asio::transfer_at_least(std::min(chunk.size(), kBodyChunk / 4)), kTuple);
      chunk.resize(n);
      remaining -= n;
      if (n > 0) co_await PushBody(*job, std::move(chunk));
      if (ec) {
        end = BodyEnd::kFailed;
        break;
      }
    }
    co_return co_await FinishIngest(c, *job, spec, req, start, end, remaining > 0);
  }

  // Stream the body to the worker, chunk by chunk.
  http::request_parser<http::buffer_body> bp(std::move(hp));
  if (max_body > 0) {
    bp.body_limit(max_body);
  } else {
    bp.body_limit(boost::none);
  }
  std::vector<char> buf(kReadChunk);
  while (!bp.is_done()) {
    bp.get().body().data = buf.data();
    bp.get().body().size = buf.size();
    c.stream.next_layer().expires_after(std::chrono::seconds(config_.idle_timeout_seconds));
    auto [ec, n] = co_await http::async_read(c.stream, c.buffer, bp, kTuple);
    if (ec == http::error::need_buffer) ec = {};
    size_t got = buf.size() - bp.get().body().size;
    if (got > 0) co_await PushBody(*job, std::string(buf.data(), got));
    if (ec) {
      end = ec == http::error::body_limit ? BodyEnd::kTooLarge : BodyEnd::kFailed;
      break;
    }
    if (job->done.set) break;  // the worker stopped early (bad body, storage error)
  }
  co_return co_await FinishIngest(c, *job, spec, bp.get().base(), start, end, !bp.is_done());
}

awaitable<Next> Server::Impl::FinishIngest(Conn& c, IngestJob& job, const BulkIngestSpec& spec,
                                           const http::request_header<>& req, Clock::time_point start, BodyEnd end,
                                           bool body_unread) {
  if (end == BodyEnd::kComplete) {
    job.pipe.Close();
  } else {
    job.pipe.Abort();
  }
  co_await job.done.Wait();
  BulkIngestOutcome& out = job.outcome;
  CountIngest(out);
  if (end == BodyEnd::kTooLarge) {
    http_metrics_.Refuse(Refusal::kBodyTooLarge);
    IngestReport committed = out.report;
    if (spec.atomicity == Atomicity::kAllOrNothing) committed = IngestReport{};
    Reply r;
    r.status = 413;
    r.body = IngestErrorJson("PayloadTooLarge",
                             fmt::format("body exceeds the limit of {} bytes (http.max_body_bytes); the lines "
                                         "reported as accepted were committed",
                                         config_.max_body_bytes),
                             committed);
    r.close = true;
    co_return co_await Send(c, req, r, Route::kIngest, start, true);
  }
  if (end == BodyEnd::kFailed) co_return Next::kClose;  // the client went away or stalled: nobody to answer
  Reply r;
  r.status = out.http_status;
  r.body = std::move(out.body);
  if (out.http_status == 503) r.headers.emplace_back(http::field::retry_after, "1");
  co_return co_await Send(c, req, r, Route::kIngest, start, body_unread);
}

awaitable<void> Server::Impl::PushBody(IngestJob& job, std::string chunk) {
  http_metrics_.ingest_bytes.fetch_add(chunk.size(), std::memory_order_relaxed);
  job.room.set = false;
  if (!job.pipe.Push(std::move(chunk))) co_await job.room.Wait();
}

void Server::Impl::CountIngest(const BulkIngestOutcome& out) {
  http_metrics_.ingest_requests.fetch_add(1, std::memory_order_relaxed);
  http_metrics_.ingest_accepted.fetch_add(out.report.accepted, std::memory_order_relaxed);
  http_metrics_.ingest_duplicates.fetch_add(out.report.duplicates, std::memory_order_relaxed);
  http_metrics_.ingest_rejected.fetch_add(out.report.rejected.size(), std::memory_order_relaxed);
  http_metrics_.ingest_decoded_bytes.fetch_add(out.decoded_bytes, std::memory_order_relaxed);
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
    // Sessions flush their replies; in-flight HTTP requests (bulk ingest
    // bodies included) are read to their end, committed and answered.
    std::unique_lock lock(sessions_mu_);
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(drain_seconds));
    auto drained = [&] { return sessions_.empty() && active_requests_ == 0; };
    if (!sessions_cv_.wait_until(lock, deadline, drained)) {
      for (auto& [id, w] : sessions_) {
        if (auto s = w.lock()) s->Abort();
      }
      for (const auto& job : ingest_jobs_) job->pipe.Abort();
      sessions_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return sessions_.empty(); });
    }
  }
  sockets_->stopping = true;
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  {
    std::lock_guard lock(sessions_mu_);
    for (const auto& job : ingest_jobs_) job->pipe.Abort();
  }
  ingest_pool_->Shutdown();
  read_pool_->Shutdown();
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
  TRACEDB_RETURN_IF_ERROR(impl->Setup());
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
