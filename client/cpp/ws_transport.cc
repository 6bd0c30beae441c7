// The client's network side: the Client's I/O thread (connect, reconnect
// with backoff, pipelined sends, acks) and the request/reply Connection.
// The only translation unit of client/cpp that includes Boost.Beast.

#include <functional>
#include <zstd.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <random>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "client/cpp/buffer.h"
#include "client/cpp/codec.h"
#include "client/cpp/include/tracedb/client.h"
#include "client/cpp/spool.h"

namespace tracedb::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::awaitable;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using WsStream = websocket::stream<beast::tcp_stream>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr size_t kMaxReplyBytes = 64 << 20;

struct Url {
  std::string host;
  std::string port;
  std::string target;  // path + query
};

bool ParseUrl(const std::string& url, Url* out, Status* error) {
  std::string_view rest = url;
  if (!rest.starts_with("ws://")) {
    *error = Status::Error("url " + url + ": only ws://HOST:PORT[/path] is supported");
    return false;
  }
  rest.remove_prefix(5);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out->target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    out->host = std::string(authority);
    out->port = "80";
  } else {
    out->host = std::string(authority.substr(0, colon));
    out->port = std::string(authority.substr(colon + 1));
  }
  if (out->host.starts_with('[') && out->host.ends_with(']')) out->host = out->host.substr(1, out->host.size() - 2);
  if (out->host.empty() || out->port.empty()) {
    *error = Status::Error("url " + url + ": expected ws://HOST:PORT[/path]");
    return false;
  }
  return true;
}

bool IsZstd(std::string_view data) {
  return data.size() >= 4 && static_cast<uint8_t>(data[0]) == 0x28 && static_cast<uint8_t>(data[1]) == 0xb5 &&
         static_cast<uint8_t>(data[2]) == 0x2f && static_cast<uint8_t>(data[3]) == 0xfd;
}

// A Binary reply: zstd (what tracedb and upstream send), else the JSON itself.
bool DecodeBinary(std::string_view data, std::string* out) {
  if (!IsZstd(data)) {
    out->assign(data);
    return true;
  }
  out->clear();
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  char chunk[16384];
  while (true) {
    ZSTD_outBuffer o{chunk, sizeof(chunk), 0};
    size_t r = ZSTD_decompressStream(dctx.get(), &o, &in);
    if (ZSTD_isError(r)) return false;
    out->append(chunk, o.pos);
    if (out->size() > kMaxReplyBytes) return false;
    if (r == 0 && in.pos == in.size) return true;
    if (o.pos == 0 && in.pos == in.size) return false;  // truncated
  }
}

}  // namespace

// ---------------------------------------------------------------- Client

// The upgrade request's extra headers: our User-Agent, and the API key as a
// bearer token when there is one (server/http_support.h, AccessControl).
static std::function<void(websocket::request_type&)> HandshakeHeaders(const std::string& api_key) {
  return [api_key](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "tracedb-client-cpp");
    if (!api_key.empty()) req.set(beast::http::field::authorization, "Bearer " + api_key);
  };
}

class Client::Impl {
 public:
  explicit Impl(const Options& options)
      : options_(options), buffer_(options, [this] { Wake(); }), wake_timer_(ioc_) {}

  ~Impl() {
    if (thread_.joinable()) Stop();
  }

  Status Start() {
    Status error;
    if (!ParseUrl(options_.url, &url_, &error)) return error;
    if (options_.max_in_flight == 0 || options_.max_buffered == 0 || options_.batch_size == 0) {
      return Status::Error("options: max_in_flight, max_buffered and batch_size must be > 0");
    }
    if (!options_.spool_dir.empty()) {
      std::vector<internal::SpoolRecord> replay;
      spool_ = internal::Spool::Open(options_.spool_dir, options_.spool_fsync, &replay, &error);
      if (spool_ == nullptr) return error;
      std::vector<internal::Outgoing> items;
      items.reserve(replay.size());
      auto now = Clock::now();
      for (auto& r : replay) {
        items.push_back({r.seq, r.kind, std::make_shared<const std::string>(std::move(r.json)), now});
      }
      buffer_.Enqueue(std::move(items), 0, /*replayed=*/true);
    }
    cctx_.reset(ZSTD_createCCtx());
    asio::co_spawn(ioc_, Main(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
    return Status();
  }

  internal::RequestBuffer& buffer() { return buffer_; }
  const Options& options() const { return options_; }

  bool Shutdown(std::chrono::milliseconds timeout) {
    if (!thread_.joinable()) return buffer_.counters().buffered == 0;
    bool all = buffer_.WaitEmpty(timeout);
    buffer_.Close();
    if (thread_.joinable()) Stop();
    return all;
  }

 private:
  void Stop() {
    asio::post(ioc_, [this] {
      stop_now_ = true;
      wake_timer_.cancel();
      CloseSocket();
    });
    thread_.join();
    if (spool_ != nullptr) spool_->Sync().IgnoreError();
  }

  // Any thread: make the I/O loop look at the buffer now.
  void Wake() {
    if (wake_posted_.exchange(true, std::memory_order_acq_rel)) return;
    asio::post(ioc_, [this] {
      wake_posted_.store(false, std::memory_order_release);
      WakeLocal();
    });
  }
  void WakeLocal() {
    woken_ = true;
    wake_timer_.cancel();
  }

  awaitable<void> Sleep(Clock::duration d) {
    if (woken_ || stop_now_) co_return;
    wake_timer_.expires_after(d);
    co_await wake_timer_.async_wait(kTuple);
  }

  void CloseSocket() {
    if (!ws_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*ws_).socket().close(ignored);
  }

  // Encodes what callers recorded and appends it to the spool.
  void Pump() {
    std::vector<internal::RawRequest> raws = buffer_.TakeIncoming();
    if (raws.empty()) return;
    std::vector<internal::Outgoing> items;
    items.reserve(raws.size());
    for (const auto& raw : raws) {
      std::string json = internal::Encode(raw);
      uint64_t seq = 0;
      if (spool_ != nullptr) {
        seq = spool_->next_seq();
        spool_->Add(seq, internal::KindOf(raw), json);
      }
      items.push_back({seq, internal::KindOf(raw), std::make_shared<const std::string>(std::move(json)), raw.recorded});
    }
    if (spool_ != nullptr) {
      Status s = spool_->Commit();
      if (!s.ok() && !spool_error_reported_) {
        std::fprintf(stderr, "tracedb client: %s (requests stay in memory)\n", s.message().c_str());
        spool_error_reported_ = true;
      }
    }
    buffer_.Enqueue(std::move(items), raws.size(), false);
  }

  void MaybeSyncSpool() {
    if (spool_ == nullptr) return;
    auto now = Clock::now();
    if (now - last_spool_sync_ < std::chrono::milliseconds(100)) return;
    last_spool_sync_ = now;
    spool_->Sync().IgnoreError();  // a failed watermark write only means resends after a restart
  }

  std::chrono::milliseconds Jittered(std::chrono::milliseconds base) {
    std::uniform_real_distribution<double> dist(0.5, 1.0);
    return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(base.count()) * dist(rng_)));
  }

  awaitable<void> Main() {
    auto backoff = options_.backoff_initial;
    while (!stop_now_) {
      Pump();
      bool ok = co_await Connect();
      buffer_.CountConnect(ok);
      if (!ok) {
        CloseSocket();
        auto until = Clock::now() + Jittered(backoff);
        backoff = std::min(backoff * 2, options_.backoff_max);
        // Keep spooling what callers record while the server is away.
        while (!stop_now_ && Clock::now() < until) {
          woken_ = false;
          co_await Sleep(std::min<Clock::duration>(until - Clock::now(), options_.batch_timeout));
          Pump();
          MaybeSyncSpool();
        }
        continue;
      }
      backoff = options_.backoff_initial;
      co_await Session();
      buffer_.OnDisconnect();
      CloseSocket();
    }
    if (spool_ != nullptr) spool_->Sync().IgnoreError();
  }

  awaitable<bool> Connect() {
    ws_.emplace(ioc_);
    auto& stream = beast::get_lowest_layer(*ws_);
    tcp::resolver resolver(ioc_);
    auto [rec, results] = co_await resolver.async_resolve(url_.host, url_.port, kTuple);
    if (rec || stop_now_) co_return false;
    stream.expires_after(options_.connect_timeout);
    auto [cec, ep] = co_await stream.async_connect(results, kTuple);
    if (cec || stop_now_) co_return false;
    beast::error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    ws_->set_option(websocket::stream_base::decorator(HandshakeHeaders(options_.api_key)));
    auto [hec] = co_await ws_->async_handshake(url_.host + ":" + url_.port, url_.target, kTuple);
    if (hec || stop_now_) co_return false;
    ws_->read_message_max(kMaxReplyBytes);
    ws_->auto_fragment(false);
    compressed_ = options_.compression == Compression::kOn;
    if (options_.compression == Compression::kAuto && !probe_refused_) {
      // A server that reads zstd Binary frames answers this Ping with Pong;
      // one that does not answers an error (or closes, as upstream does).
      std::string frame = Compress("\"Ping\"");
      ws_->binary(true);
      auto [wec, wn] = co_await ws_->async_write(asio::buffer(frame), kTuple);
      if (wec) co_return false;
      beast::flat_buffer buf;
      auto [pec, pn] = co_await ws_->async_read(buf, kTuple);
      if (pec) {
        probe_refused_ = true;
        co_return false;
      }
      std::string text;
      std::string_view data(static_cast<const char*>(buf.data().data()), buf.size());
      if (ws_->got_text()) text.assign(data); else if (!DecodeBinary(data, &text)) text.clear();
      compressed_ = internal::ClassifyReply(text) == internal::ReplyKind::kPong;
      if (!compressed_) probe_refused_ = true;
    }
    stream.expires_never();
    co_return true;
  }

  std::string Compress(std::string_view json) {
    std::string out(ZSTD_compressBound(json.size()), '\0');
    size_t n = ZSTD_compressCCtx(cctx_.get(), out.data(), out.size(), json.data(), json.size(), 1);
    if (ZSTD_isError(n)) return std::string(json);  // the server reads raw JSON in a Binary frame too
    out.resize(n);
    return out;
  }

  awaitable<void> Session() {
    alive_ = true;
    reader_running_ = true;
    buffer_.SetConnected(true, compressed_);
    last_progress_ = Clock::now();
    asio::co_spawn(ioc_, ReadLoop(), asio::detached);
    watchdog_running_ = true;
    asio::co_spawn(ioc_, Watchdog(), asio::detached);
    std::string frame;
    while (alive_ && !stop_now_) {
      woken_ = false;
      Pump();
      bool was_idle = buffer_.in_flight() == 0;
      while (alive_) {
        std::shared_ptr<const std::string> json = buffer_.NextToSend();
        if (json == nullptr) break;
        if (was_idle) {
          last_progress_ = Clock::now();
          was_idle = false;
        }
        bool binary = compressed_ && json->size() >= options_.compress_min_bytes;
        if (binary) frame = Compress(*json);
        ws_->binary(binary);
        auto [ec, n] = co_await ws_->async_write(asio::buffer(binary ? frame : *json), kTuple);
        if (ec) alive_ = false;
      }
      MaybeSyncSpool();
      if (!alive_ || stop_now_) break;
      co_await Sleep(options_.batch_timeout);
    }
    alive_ = false;
    if (stop_now_ && reader_running_) {
      beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(1));
      co_await ws_->async_close(websocket::close_code::normal, kTuple);
    }
    CloseSocket();
    // A real wait (Sleep returns at once while stopping, which would spin
    // without letting the reader and the watchdog finish).
    asio::steady_timer done(ioc_);
    while (reader_running_ || watchdog_running_) {
      done.expires_after(std::chrono::milliseconds(5));
      co_await done.async_wait(kTuple);
    }
  }

  // Cuts a connection whose requests in flight got no ack for ack_timeout,
  // also when the write loop is blocked because the server stopped reading.
  awaitable<void> Watchdog() {
    asio::steady_timer timer(ioc_);
    while (alive_ && !stop_now_) {
      timer.expires_after(std::chrono::milliseconds(100));
      co_await timer.async_wait(kTuple);
      if (alive_ && buffer_.in_flight() > 0 && Clock::now() - last_progress_ > options_.ack_timeout) {
        alive_ = false;
        CloseSocket();
      }
    }
    watchdog_running_ = false;
    WakeLocal();
  }

  awaitable<void> ReadLoop() {
    beast::flat_buffer buf;
    std::string text;
    while (alive_) {
      buf.clear();
      auto [ec, n] = co_await ws_->async_read(buf, kTuple);
      if (ec) break;
      std::string_view data(static_cast<const char*>(buf.data().data()), buf.size());
      if (!ws_->got_text()) {
        if (!DecodeBinary(data, &text)) break;
        data = text;
      }
      internal::ReplyKind kind = internal::ClassifyReply(data);
      if (kind == internal::ReplyKind::kNotification) continue;
      if (kind != internal::ReplyKind::kAck && kind != internal::ReplyKind::kRejected) break;  // retry or protocol error
      uint64_t seq = buffer_.OnAck(kind == internal::ReplyKind::kAck);
      if (spool_ != nullptr && seq != 0) spool_->Acked(seq);
      last_progress_ = Clock::now();
      WakeLocal();  // room in the window
    }
    alive_ = false;
    reader_running_ = false;
    WakeLocal();
  }

  const Options options_;
  internal::RequestBuffer buffer_;
  Url url_;
  std::unique_ptr<internal::Spool> spool_;  // null without a spool; I/O thread after Start
  asio::io_context ioc_;
  std::thread thread_;
  std::atomic<bool> wake_posted_{false};
  // I/O thread only.
  asio::steady_timer wake_timer_;
  std::optional<WsStream> ws_;
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx_{nullptr, ZSTD_freeCCtx};
  std::mt19937_64 rng_{std::random_device{}()};
  bool woken_ = false;
  bool stop_now_ = false;
  bool alive_ = false;
  bool reader_running_ = false;
  bool watchdog_running_ = false;
  bool compressed_ = false;
  bool probe_refused_ = false;
  bool spool_error_reported_ = false;
  Clock::time_point last_progress_;
  Clock::time_point last_spool_sync_;
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() { (void)impl_->Shutdown(impl_->options().shutdown_timeout); }

std::unique_ptr<Client> Client::Create(const Options& options, Status* error) {
  auto impl = std::make_unique<Impl>(options);
  Status s = impl->Start();
  if (!s.ok()) {
    if (error != nullptr) *error = s;
    return nullptr;
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

TraceId Client::StartTrace(std::string_view flow_id, uint32_t major, uint32_t minor, uint32_t patch) {
  TraceId id = Uuid::Random();
  internal::StartTraceRequest r{id, std::string(flow_id), major, minor, patch, internal::NowNs()};
  impl_->buffer().Add({std::move(r), Clock::now()});
  return id;
}

void Client::Record(const TraceId& trace, Event event) {
  if (event.event_id.IsNil()) event.event_id = Uuid::Random();
  if (event.timestamp_ns == 0) event.timestamp_ns = internal::NowNs();
  impl_->buffer().Add({internal::RecordEventRequest{trace, std::move(event)}, Clock::now()});
}

void Client::EndTrace(const TraceId& trace, const ExecutionStatus& status) {
  impl_->buffer().Add({internal::EndTraceRequest{trace, status}, Clock::now()});
}

bool Client::Flush(std::chrono::milliseconds timeout) { return impl_->buffer().WaitEmpty(timeout); }

bool Client::Shutdown(std::chrono::milliseconds timeout) { return impl_->Shutdown(timeout); }

Counters Client::counters() const { return impl_->buffer().counters(); }

std::vector<uint32_t> Client::AckLatenciesUs() const { return impl_->buffer().AckLatenciesUs(); }

// ------------------------------------------------------------ Connection

class Connection::Impl {
 public:
  Status Open(const std::string& url, std::chrono::milliseconds timeout, bool compress, const std::string& api_key) {
    Url u;
    Status error;
    if (!ParseUrl(url, &u, &error)) return error;
    if (compress) u.target += (u.target.find('?') == std::string::npos ? "?" : "&") + std::string("compress=1");
    ws_.emplace(ioc_);
    bool done = false;
    beast::error_code result;
    asio::co_spawn(
        ioc_,
        [&]() -> awaitable<void> {
          tcp::resolver resolver(ioc_);
          auto [rec, results] = co_await resolver.async_resolve(u.host, u.port, kTuple);
          if (rec) {
            result = rec;
            co_return;
          }
          auto& stream = beast::get_lowest_layer(*ws_);
          stream.expires_after(timeout);
          auto [cec, ep] = co_await stream.async_connect(results, kTuple);
          if (cec) {
            result = cec;
            co_return;
          }
          ws_->set_option(websocket::stream_base::decorator(HandshakeHeaders(api_key)));
          auto [hec] = co_await ws_->async_handshake(u.host + ":" + u.port, u.target, kTuple);
          result = hec;
          stream.expires_never();
        },
        [&](std::exception_ptr) { done = true; });
    if (!RunUntil(done, timeout + std::chrono::seconds(1))) return Status::Error("connect " + url + ": timed out");
    if (result) return Status::Error("connect " + url + ": " + result.message());
    ws_->read_message_max(kMaxReplyBytes);
    return Status();
  }

  Status Send(std::string_view json) {
    bool done = false;
    beast::error_code result;
    ws_->text(true);
    ws_->async_write(asio::buffer(json), [&](beast::error_code ec, size_t) {
      result = ec;
      done = true;
    });
    if (!RunUntil(done, std::chrono::seconds(30))) return Status::Error("send: timed out");
    if (result) return Status::Error("send: " + result.message());
    return Status();
  }

  bool Receive(std::string* json, std::chrono::milliseconds timeout, Status* error) {
    *error = Status();
    if (!reading_) {
      reading_ = true;
      read_done_ = false;
      buf_.clear();
      ws_->async_read(buf_, [this](beast::error_code ec, size_t) {
        read_ec_ = ec;
        read_done_ = true;
      });
    }
    if (!RunUntil(read_done_, timeout)) return false;
    reading_ = false;
    if (read_ec_) {
      *error = Status::Error(read_ec_ == websocket::error::closed ? "connection closed by the server"
                                                                   : "receive: " + read_ec_.message());
      return false;
    }
    std::string_view data(static_cast<const char*>(buf_.data().data()), buf_.size());
    if (ws_->got_text()) {
      json->assign(data);
    } else if (!DecodeBinary(data, json)) {
      *error = Status::Error("receive: undecodable Binary frame");
      return false;
    }
    return true;
  }

  void Close() {
    if (!ws_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
    ioc_.restart();
    ioc_.poll();
  }

 private:
  bool RunUntil(bool& done, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    ioc_.restart();
    while (!done) {
      if (ioc_.run_one_until(deadline) == 0) break;
    }
    return done;
  }

  asio::io_context ioc_;
  std::optional<WsStream> ws_;
  beast::flat_buffer buf_;
  bool reading_ = false;
  bool read_done_ = false;
  beast::error_code read_ec_;
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() { impl_->Close(); }

std::unique_ptr<Connection> Connection::Open(const std::string& url, std::chrono::milliseconds timeout,
                                             Status* error, bool compress, const std::string& api_key) {
  auto impl = std::make_unique<Impl>();
  Status s = impl->Open(url, timeout, compress, api_key);
  if (!s.ok()) {
    if (error != nullptr) *error = s;
    return nullptr;
  }
  return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

Status Connection::Send(std::string_view json) { return impl_->Send(json); }

bool Connection::Receive(std::string* json, std::chrono::milliseconds timeout, Status* error) {
  return impl_->Receive(json, timeout, error);
}

Status Connection::Request(std::string_view json, std::string* reply, std::chrono::milliseconds timeout) {
  Status s = Send(json);
  if (!s.ok()) return s;
  auto deadline = Clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Status::Error("no reply within the timeout");
    if (!Receive(reply, left, &s)) {
      if (s.ok()) return Status::Error("no reply within the timeout");
      return s;
    }
    if (!reply->starts_with(R"({"EventNotification":)")) return Status();
  }
}

}  // namespace tracedb::client
