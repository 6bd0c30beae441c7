// The WebSocket session (ws_session.h).

#include "server/ws_session.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>

#include "ingest/pipeline/decompress.h"
#include "server/ws_frame_reader.h"
#include "server/ws_frames.h"

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

[[maybe_unused]] void teardown(beast::role_type role, GatedStream& s, beast::error_code& ec) {
  teardown(role, s.next_layer(), ec);
}

template <class TeardownHandler>
void async_teardown(beast::role_type role, GatedStream& s, TeardownHandler&& handler) {
  async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
}

namespace {

// The threads that serve the requests of every WebSocket session
// (Service::Handle: JSON parsing, mapping, submitting), off the I/O
// threads, so that serving one burst of requests overlaps reading the next
// and writing the replies. Its queue holds at most one job per connection
// (WsSession::StartParsing). Lives until the process exits.
asio::thread_pool& ParsePool() {
  static asio::thread_pool pool(std::max(2u, std::thread::hardware_concurrency()));
  return pool;
}

constexpr size_t kReadChunk = 64 * 1024;
// One framed write carries replies up to about this many bytes (at least
// one reply), so that a burst of large replies does not pile up in memory.
constexpr size_t kMaxWriteBytes = 1 << 20;
// After its Close frame (a graceful stop) the server waits this long for
// the client's before it cuts the connection.
constexpr auto kCloseWait = std::chrono::seconds(5);

class WsSession : public Peer, public SessionControl, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(uint64_t id, Server::Impl* server, AnyStream&& stream)
      : Peer(id),
        server_(server),
        service_(server->service_.get()),
        metrics_(&service_->metrics()),
        ws_(std::move(stream)),
        read_wake_(ws_.get_executor()),
        write_wake_(ws_.get_executor()),
        parse_wake_(ws_.get_executor()),
        idle_timer_(ws_.get_executor()) {}

  // Accepts the upgrade `req`; `subprotocol` (may be empty) is echoed as
  // the accepted Sec-WebSocket-Protocol.
  awaitable<void> Run(http::request<http::string_body> req, std::string subprotocol) {
    auto self = shared_from_this();
    const Config& cfg = server_->config_;
    // Dead peers: Beast pings at half the idle timeout and closes a peer
    // that sent nothing, not even the pong, for the whole of it.
    // With permessage-deflate negotiated Beast reads the requests and
    // writes the replies (it compresses them); otherwise the session reads
    // the client's frames (ws_frame_reader.h) and frames its replies itself,
    // many per write (ws_frames.h). The server accepts whatever deflate
    // offer the client makes when it is enabled.
    frame_replies_ = !(cfg.permessage_deflate &&
                       beast::string_view(req[http::field::sec_websocket_extensions]).find("permessage-deflate") !=
                           beast::string_view::npos);
    websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    if (frame_replies_) {
      timeouts.idle_timeout = websocket::stream_base::none();  // IdleLoop's job
      timeouts.keep_alive_pings = false;
    } else {
      timeouts.idle_timeout = std::chrono::seconds(cfg.ws_idle_timeout_seconds);
      timeouts.keep_alive_pings = true;
    }
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
    if (frame_replies_) {
      asio::co_spawn(ws_.get_executor(), IdleLoop(self), asio::detached);
      co_await ReadFrames();
    } else {
      co_await ReadLoop();
    }
    // Every request read is served before the close (OnClose finalizes the
    // traces they started).
    while (parsing_) co_await Sleep(parse_wake_);
    closed_ = true;
    closed_flag_.store(true, std::memory_order_release);
    write_wake_.cancel();
    idle_timer_.cancel();
    if (frame_replies_) {
      // The close handshake is over (or the peer is gone): the server closes
      // the TCP connection first (RFC 6455 §7.1.1), before the session ends
      // and a stopping server stops running its I/O.
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
    }
    service_->OnClose(self);
  }

  // Replies arrive in bursts (every request of a group commit completes
  // at once on the writer thread): they gather in inbox_ and one post per
  // burst hands them to the strand. The inbox holds at most one reply per
  // in-flight request (max_inflight_per_connection).
  void Complete(uint64_t seq, Outgoing reply) override {
    bool first = false;
    {
      std::lock_guard lock(inbox_mu_);
      first = inbox_.empty();
      inbox_.push_back(Done{seq, std::move(reply)});
    }
    if (first) asio::post(ws_.get_executor(), [self = shared_from_this()] { self->TakeInbox(); });
  }

  // Bytes received before the session began: read first.
  void Preload(std::string_view bytes) { ws_.next_layer().Preload(bytes); }

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

  // A request read, waiting for the parse pool.
  struct Request {
    uint64_t seq;
    std::string data;  // the message as received
    bool binary;       // a Binary frame (compressed)
    Clock::time_point received;
  };

  struct Done {
    uint64_t seq;
    Outgoing out;
  };

  void TakeInbox() {
    taken_.clear();
    {
      std::lock_guard lock(inbox_mu_);
      taken_.swap(inbox_);
    }
    for (Done& d : taken_) OnComplete(d.seq, std::move(d.out));
    write_wake_.cancel();
  }

  void OnComplete(uint64_t seq, Outgoing out) {
    if (closed_ || seq < base_seq_ || seq - base_seq_ >= slots_.size()) return;
    Slot& slot = slots_[seq - base_seq_];
    slot.out = std::move(out);
    slot.ready = true;
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
      if (!co_await WaitForRoom()) co_return;
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
      std::string_view data(static_cast<const char*>(buf.data().data()), buf.size());
      Accept(too_big, total, too_big ? std::string() : std::string(data), !ws_.got_text());
    }
  }

  // Waits while the in-flight slots or a queue are full (backpressure).
  // False when the connection closed meanwhile.
  awaitable<bool> WaitForRoom() {
    auto self = shared_from_this();
    const Config& cfg = server_->config_;
    bool paused = false;
    while (!draining_ && (slots_.size() >= cfg.max_inflight_per_connection || service_->MustWait(self))) {
      if (!paused) metrics_->backpressure_pauses.fetch_add(1, std::memory_order_relaxed);
      paused = true;
      co_await Sleep(read_wake_);
      if (closed_flag_.load(std::memory_order_acquire)) co_return false;
    }
    co_return true;
  }

  // A message read (`size` payload bytes; dropped when `too_big`): takes
  // the next reply slot and queues it for the parse pool.
  void Accept(bool too_big, uint64_t size, std::string data, bool binary) {
    auto received = Clock::now();
    metrics_->messages_received.fetch_add(1, std::memory_order_relaxed);
    metrics_->bytes_received.fetch_add(size, std::memory_order_relaxed);
    uint64_t seq = base_seq_ + slots_.size();
    slots_.emplace_back();
    if (too_big) {
      service_->HandleInvalid(shared_from_this(), seq,
                              fmt::format("message of {} bytes exceeds the limit of {} bytes "
                                          "(server.max_message_bytes)",
                                          size, server_->config_.max_message_bytes),
                              received);
      return;
    }
    if (binary) OptInToCompression();  // a client that sends Binary frames reads them
    parse_queue_.push_back(Request{seq, std::move(data), binary, received});
    if (!parsing_) StartParsing();
  }

  // The read loop of a connection without permessage-deflate: one recv of
  // whatever arrived (up to kReadChunk), parsed into every message and
  // control frame it completes (ws_frame_reader.h). Answers pings; on the
  // client's Close it echoes the code, on a protocol error it closes with
  // 1002, then returns.
  awaitable<void> ReadFrames() {
    WsFrameReader reader(server_->config_.max_message_bytes);
    beast::flat_buffer in;
    std::vector<WsInbound> got;
    size_t next = 0;
    while (true) {
      if (next == got.size()) {
        got.clear();
        next = 0;
        auto [ec, n] = co_await ws_.next_layer().async_read_some(in.prepare(kReadChunk), kTuple);
        if (ec) co_return;  // closed by the peer, or cut
        in.commit(n);
        activity_ = true;
        const auto* data = static_cast<const char*>(in.data().data());
        in.consume(reader.Parse(std::string_view(data, in.size()), &got));
        continue;
      }
      WsInbound& e = got[next++];
      switch (e.kind) {
        case WsInbound::Kind::kMessage:
        case WsInbound::Kind::kTooBig:
          if (!co_await WaitForRoom()) co_return;
          if (draining_) break;  // shutting down: requests after the drain began are not served
          Accept(e.kind == WsInbound::Kind::kTooBig, e.size, std::move(e.payload), e.binary);
          break;
        case WsInbound::Kind::kPing:
          if (!close_sent_ && !co_await WriteControl(FrameKind::kPong, e.payload)) co_return;
          break;
        case WsInbound::Kind::kPong:
          break;
        case WsInbound::Kind::kClose: {
          // Echo the code (none when the client gave none), then the
          // session ends and the socket is closed (RFC 6455 §5.5.1).
          std::string body;
          if (e.code != 1005) body = {static_cast<char>(e.code >> 8), static_cast<char>(e.code & 0xFF)};
          if (!close_sent_) co_await WriteControl(FrameKind::kClose, body);
          co_return;
        }
        case WsInbound::Kind::kProtocolError:
          metrics_->invalid_messages.fetch_add(1, std::memory_order_relaxed);
          if (!close_sent_) co_await WriteControl(FrameKind::kClose, CloseBody(1002, e.payload));
          co_return;
      }
    }
  }

  // A Close frame's payload: the code and as much of `reason` as fits.
  static std::string CloseBody(uint16_t code, std::string_view reason) {
    std::string body = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    body.append(reason.substr(0, 123));
    return body;
  }

  // Writes one control frame (through the write gate, between the write
  // loop's writes). A Close frame is the last frame the session sends.
  // False on a write error.
  awaitable<bool> WriteControl(FrameKind kind, std::string_view payload) {
    if (close_sent_) co_return false;
    if (kind == FrameKind::kClose) close_sent_ = true;
    std::string frame;
    AppendServerFrame(kind, payload, &frame);
    auto [ec, n] = co_await ws_.next_layer().WriteAll(asio::buffer(frame));
    co_return !ec;
  }

  // The idle timeout of a connection ReadFrames reads (Beast's rule): a
  // peer that sent nothing for half of server.ws_idle_timeout_seconds is
  // pinged; one that sent nothing, not even the pong, for the whole of it
  // is cut.
  awaitable<void> IdleLoop(std::shared_ptr<WsSession> self) {
    const auto half = std::chrono::milliseconds(server_->config_.ws_idle_timeout_seconds * 500);
    bool pinged = false;
    while (!closed_) {
      idle_timer_.expires_after(half);
      co_await idle_timer_.async_wait(kTuple);
      if (closed_) break;
      if (activity_) {
        activity_ = false;
        pinged = false;
        continue;
      }
      if (!pinged) {
        pinged = true;
        if (!close_sent_) co_await WriteControl(FrameKind::kPing, {});
        continue;
      }
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);  // the read loop ends
      break;
    }
    (void)self;
  }

  // Hands the queued requests to the parse pool as one job. At most one job
  // of a connection is out at a time, so Service::Handle sees its requests
  // one at a time and in order (writes are submitted in request order).
  void StartParsing() {
    parsing_ = true;
    std::vector<Request> job;
    job.swap(parse_queue_);
    asio::post(ParsePool(), [self = shared_from_this(), job = std::move(job)]() mutable {
      {
        std::shared_ptr<Peer> peer = self;
        Service::Burst burst;
        for (Request& r : job) self->Parse(peer, r, &burst);
        self->service_->EndBurst(&burst);
      }
      // The job gives its reference to the strand: the session must never
      // be destroyed on a pool thread, after its server may be gone.
      auto executor = self->ws_.get_executor();
      asio::post(executor, [self = std::move(self)] {
        self->parsing_ = false;
        if (!self->parse_queue_.empty()) {
          self->StartParsing();
        } else {
          self->parse_wake_.cancel();
        }
      });
    });
  }

  // On a parse pool thread: decodes a Binary frame, then serves the request.
  void Parse(const std::shared_ptr<Peer>& peer, const Request& r, Service::Burst* burst) {
    if (!r.binary) {
      service_->Handle(peer, r.seq, r.data, r.received, burst);
      return;
    }
    auto text = DecompressFrame(r.data, server_->config_.max_message_bytes);
    if (!text.ok()) {
      service_->HandleInvalid(peer, r.seq, "Binary frame: " + text.status().message(), r.received);
    } else {
      service_->Handle(peer, r.seq, *text, r.received, burst);
    }
  }

  awaitable<void> WriteLoop(std::shared_ptr<WsSession> self) {
    std::string frames;  // reused between writes
    while (!closed_) {
      bool ready = !pushes_.empty() || (!slots_.empty() && slots_.front().ready);
      if (ready) {
        bool ok = frame_replies_ ? co_await WriteFramed(frames) : co_await WriteOneMessage();
        if (!ok) break;
        continue;
      }
      if (draining_ && slots_.empty()) {
        if (!frame_replies_) {
          co_await ws_.async_close(websocket::close_code::going_away, kTuple);
          break;
        }
        // Ours to close: send 1001, then wait (a while) for the client's
        // Close, which ends ReadFrames and the session.
        if (!close_sent_ && !co_await WriteControl(FrameKind::kClose, CloseBody(1001, ""))) break;

        const auto deadline = asio::steady_timer::clock_type::now() + kCloseWait;
        while (!closed_ && asio::steady_timer::clock_type::now() < deadline) {
          write_wake_.expires_at(deadline);
          co_await write_wake_.async_wait(kTuple);
        }
        break;
      }
      co_await Sleep(write_wake_);
    }
    // Make the read loop finish too (no-op when it already has).
    closed_flag_.store(true, std::memory_order_release);
    // Beast closed the socket after its close handshake; after ours (or a
    // read error) the server closes the TCP connection first (RFC 6455 §7.1.1).
    beast::error_code ignored;
    if (!closed_ || frame_replies_) beast::get_lowest_layer(ws_).socket().close(ignored);
    read_wake_.cancel();
    (void)self;
  }

  // Writes what is ready, in order, as frames of one write: the queued
  // pushes (a notification goes before the ack of the write that caused
  // it, which completes after it), then the replies ready at the front of
  // the slots, up to kMaxWriteBytes. False on a write error.
  awaitable<bool> WriteFramed(std::string& frames) {
    frames.clear();
    size_t pushes = 0, replies = 0, payload_bytes = 0;
    while (!pushes_.empty() && (frames.empty() || frames.size() < kMaxWriteBytes)) {
      AppendServerFrame(FrameKind::kText, *pushes_.front(), &frames);
      payload_bytes += pushes_.front()->size();
      pushes_.pop_front();
      ++pushes;
    }
    while (!slots_.empty() && slots_.front().ready && (frames.empty() || frames.size() < kMaxWriteBytes)) {
      const Outgoing& out = slots_.front().out;
      AppendServerFrame(out.binary ? FrameKind::kBinary : FrameKind::kText, out.payload, &frames);
      payload_bytes += out.payload.size();
      slots_.pop_front();
      ++base_seq_;
      ++replies;
    }
    if (replies > 0) read_wake_.cancel();  // in-flight slots freed up
    // Once a close began (Beast's or ours), no data frame may follow the
    // close frame.
    if (close_sent_ || !ws_.is_open()) co_return false;
    auto [ec, n] = co_await ws_.next_layer().WriteAll(asio::buffer(frames));
    push_count_.fetch_sub(pushes, std::memory_order_acq_rel);
    if (ec) co_return false;
    metrics_->messages_sent.fetch_add(replies, std::memory_order_relaxed);
    metrics_->bytes_sent.fetch_add(payload_bytes, std::memory_order_relaxed);
    co_return true;
  }

  // Writes the first push, or else the first reply, through Beast (which
  // compresses it when permessage-deflate is on). False on a write error.
  awaitable<bool> WriteOneMessage() {
    if (!pushes_.empty()) {
      std::shared_ptr<const std::string> msg = std::move(pushes_.front());
      pushes_.pop_front();
      ws_.text(true);
      auto [ec, n] = co_await ws_.async_write(asio::buffer(*msg), kTuple);
      push_count_.fetch_sub(1, std::memory_order_acq_rel);
      if (ec) co_return false;
      metrics_->bytes_sent.fetch_add(n, std::memory_order_relaxed);
      co_return true;
    }
    Outgoing out = std::move(slots_.front().out);
    slots_.pop_front();
    ++base_seq_;
    read_wake_.cancel();  // an in-flight slot freed up
    ws_.text(!out.binary);
    auto [ec, n] = co_await ws_.async_write(asio::buffer(out.payload), kTuple);
    if (ec) co_return false;
    metrics_->messages_sent.fetch_add(1, std::memory_order_relaxed);
    metrics_->bytes_sent.fetch_add(n, std::memory_order_relaxed);
    co_return true;
  }

  Server::Impl* server_;
  Service* service_;
  Metrics* metrics_;
  websocket::stream<GatedStream> ws_;
  asio::steady_timer read_wake_;   // the read loop waits on it for room
  asio::steady_timer write_wake_;  // the write loop waits on it for work
  asio::steady_timer parse_wake_;  // Run waits on it for the last parse job
  asio::steady_timer idle_timer_;  // IdleLoop's
  // Strand-only state.
  std::deque<Slot> slots_;  // replies of requests base_seq_, base_seq_ + 1, ...
  uint64_t base_seq_ = 0;
  std::deque<std::shared_ptr<const std::string>> pushes_;
  bool closed_ = false;
  bool draining_ = false;
  bool frame_replies_ = true;  // the session, not Beast, reads requests and writes replies and pushes
  bool close_sent_ = false;    // the session sent its Close frame (frame_replies_)
  bool activity_ = false;      // bytes arrived since IdleLoop last looked
  std::vector<Done> taken_;  // TakeInbox's, reused
  std::vector<Request> parse_queue_;  // read, not yet handed to the parse pool
  bool parsing_ = false;              // a parse job of this connection is out
  // Any thread.
  std::mutex inbox_mu_;
  std::vector<Done> inbox_;  // GUARDED_BY(inbox_mu_): replies not yet handed to the strand
  std::atomic<size_t> push_count_{0};
  std::atomic<bool> closed_flag_{false};
};

}  // namespace

awaitable<void> RunWebSocket(Server::Impl& impl, AnyStream stream, http::request<http::string_body> req,
                             std::string subprotocol, bool compress, std::string early) {
  auto session = std::make_shared<WsSession>(impl.next_id_.fetch_add(1), &impl, std::move(stream));
  session->Preload(early);
  if (compress) session->OptInToCompression();
  impl.SessionStarted(session->id(), session);
  co_await session->Run(std::move(req), std::move(subprotocol));
  impl.SessionEnded(session->id());
}

}  // namespace tracedb::server
