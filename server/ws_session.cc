// The WebSocket session (ws_session.h).

#include "server/ws_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <deque>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>

#include "ingest/pipeline/decompress.h"

namespace tracedb::server {

namespace http = beast::http;
namespace websocket = beast::websocket;

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

namespace {

constexpr size_t kReadChunk = 64 * 1024;

class WsSession : public Peer, public SessionControl, public std::enable_shared_from_this<WsSession> {
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
    // Dead peers: Beast pings at half the idle timeout and closes a peer
    // that sent nothing, not even the pong, for the whole of it.
    websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = std::chrono::seconds(cfg.ws_idle_timeout_seconds);
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
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
  void BeginShutdown() override {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      self->draining_ = true;
      self->read_wake_.cancel();
      self->write_wake_.cancel();
    });
  }

  // Cuts the connection (shutdown deadline passed).
  void Abort() override {
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
      if (!ws_.got_text()) OptInToCompression();  // a client that sends Binary frames reads them
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

}  // namespace

awaitable<void> RunWebSocket(Server::Impl& impl, AnyStream stream, http::request<http::string_body> req,
                             std::string subprotocol, bool compress) {
  auto session = std::make_shared<WsSession>(impl.next_id_.fetch_add(1), &impl, std::move(stream));
  if (compress) session->OptInToCompression();
  impl.SessionStarted(session->id(), session);
  co_await session->Run(std::move(req), std::move(subprotocol));
  impl.SessionEnded(session->id());
}

}  // namespace tracedb::server
