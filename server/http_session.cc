// The HTTP session: one accepted connection (listener.h, RunHttpSession).
// It reads requests until the connection closes, looks each one up in the
// route table (routes.h) and serves the row: refusals first (connection
// limit, rate limit, shutdown, API key; one mapping, RefusalReplyFor), then
// the handler. Small bodies are read and ignored; streamed bodies (bulk
// ingest, OTLP export) go chunk by chunk to a worker thread through a
// BodyPipe, so a multi-gigabyte body is ingested in bounded memory. A
// WebSocket upgrade hands the stream to a WebSocket session (ws_session.h).
//
// Everything of one connection runs on its strand.

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <fmt/format.h>

#include "ingest/pipeline/decompress.h"
#include "server/admin_api.h"
#include "server/http_api.h"
#include "server/jaeger_api.h"
#include "server/http_ingest.h"
#include "server/listener.h"
#include "server/otlp_export.h"
#include "server/web_assets.h"
#include "server/ws_session.h"

namespace tracedb::server {

namespace http = beast::http;

namespace {

constexpr size_t kReadChunk = 64 * 1024;
// A Content-Length body is read in chunks of up to this many bytes (each
// read waits for at least a quarter of it).
constexpr size_t kBodyChunk = 1 << 20;
// Body of a request whose route does not stream it (GET, upgrade...).
constexpr size_t kSmallBodyLimit = 64 * 1024;
// Bytes of a streamed body queued for its worker before reading pauses
// (a few body chunks: reading and parsing overlap).
constexpr size_t kPipeBytes = 4 << 20;
// After a refusal with an unread body: bytes read and dropped at most, so
// that the client sees the reply rather than a reset.
constexpr size_t kLingerBytes = 4 << 20;

schema::TimestampNs NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

// A reply to a plain HTTP request.
struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<http::field, std::string>> headers;
  bool close = false;  // close the connection after it
};

// What a streamed request's worker answers.
struct StreamedOutcome {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  IngestReport report;  // bulk ingest: what was committed (for a 413 cut)
  bool atomic = false;  // bulk ingest all-or-nothing: a cut commits nothing
};

// One streamed request: the body pipe to its worker and the reply.
struct BodyJob {
  explicit BodyJob(const asio::any_io_executor& ex) : pipe(kPipeBytes), room(ex), done(ex) {}
  BodyPipe pipe;
  Signal room;  // the pipe has room again
  Signal done;  // the worker finished: outcome is set
  StreamedOutcome outcome;
};

// One read API request run on the read pool.
struct ReadJob {
  explicit ReadJob(const asio::any_io_executor& ex) : done(ex) {}
  Signal done;
  ApiResponse response;
};

enum class Next { kKeepAlive, kClose, kUpgraded };
// How reading a streamed body ended.
enum class BodyEnd { kComplete, kFailed, kTooLarge };

using HeaderParser = http::request_parser<http::empty_body>;

class HttpSession {
 public:
  HttpSession(Server::Impl& impl, AnyStream stream, std::string client, bool rejected)
      : impl_(impl), stream_(std::move(stream)), client_(std::move(client)), rejected_(rejected) {}

  awaitable<void> Run();

 private:
  // The request being served: its route and how errors are written.
  struct Request {
    const RouteSpec* route = nullptr;
    Route label = Route::kOther;
    ErrorStyle errors = ErrorStyle::kJson;
    OtlpEncoding otlp_errors = OtlpEncoding::kProtobuf;
    Clock::time_point start;
  };

  awaitable<Next> ServeRequest(HeaderParser& hp);
  awaitable<Next> ServeUpgrade(HeaderParser& hp, Request& r, std::string_view query, bool body_unread);
  awaitable<Next> ServeRead(const http::request_header<>& req, Request& r);
  awaitable<Next> ServeAdmin(const http::request_header<>& req, Request& r, std::string query);
  // Why the admin API refuses this request ("" when it may proceed).
  std::string AdminRefusal(const http::request_header<>& req) const;
  awaitable<Next> ServeStreamed(HeaderParser& hp, Request& r, std::string_view query);
  awaitable<Next> FinishStreamed(BodyJob& job, const http::request_header<>& req, Request& r, BodyEnd end,
                                 bool body_unread);
  awaitable<void> PushBody(BodyJob& job, std::string chunk);
  // `reply` is moved from; it must outlive the co_await (a named local:
  // GCC 12 destroys brace-initialized temporaries of a co_await twice).
  awaitable<Next> Send(const http::request_header<>& req, Reply& reply, const Request& r, bool body_unread);
  awaitable<void> Linger();

  // An error reply in the route's style.
  Reply Error(const Request& r, int status, std::string_view code, std::string_view message) const;
  // A refusal: counted, and answered per RefusalReplyFor.
  Reply Refuse(const Request& r, Refusal why, std::string_view message, uint32_t retry_after = 1);
  Reply Basic(Handler handler);
  // A file of the web UI (server/web_assets.h).
  Reply WebUi(const http::request_header<>& req, std::string_view path) const;

  Server::Impl& impl_;
  AnyStream stream_;
  beast::flat_buffer buffer_;
  std::string client_;  // remote IP address (rate limit key)
  bool rejected_;       // beyond server.max_connections: every request gets 503
};

awaitable<void> HttpSession::Run() {
  const auto idle = std::chrono::seconds(impl_.config_.idle_timeout_seconds);
  if (stream_.is_tls()) {
    stream_.next_layer().expires_after(idle);
    auto [hec] = co_await stream_.tls().async_handshake(ssl::stream_base::server, kTuple);
    if (hec) co_return;
  }
  auto sockets = impl_.sockets_;
  while (true) {
    stream_.next_layer().expires_after(idle);
    HeaderParser hp;
    hp.header_limit(64 * 1024);
    hp.body_limit(boost::none);  // limits are enforced per route
    auto [rec, n] = co_await http::async_read_header(stream_, buffer_, hp, kTuple);
    if (rec) co_return;
    impl_.RequestBegan();
    struct Ended {
      Server::Impl* impl;
      std::shared_ptr<Server::Impl::SocketCount> count;
      ~Ended() {
        if (!count->stopping.load()) impl->RequestEnded();
      }
    } ended{&impl_, sockets};
    Next next = co_await ServeRequest(hp);
    if (next == Next::kUpgraded) co_return;
    if (next == Next::kClose) break;
  }
  beast::error_code ec;
  if (stream_.is_tls()) {
    stream_.next_layer().expires_after(std::chrono::seconds(1));
    co_await stream_.tls().async_shutdown(kTuple);
  } else {
    stream_.next_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
  }
}

Reply HttpSession::Error(const Request& r, int status, std::string_view code, std::string_view message) const {
  if (r.errors == ErrorStyle::kOtlp) {
    return Reply{status, std::string(OtlpContentType(r.otlp_errors)), OtlpStatusBody(r.otlp_errors, status, message),
                 {}, false};
  }
  return Reply{status, "application/json", ErrorResponse(status, code, message).body, {}, false};
}

Reply HttpSession::Refuse(const Request& r, Refusal why, std::string_view message, uint32_t retry_after) {
  impl_.http_metrics_.Refuse(why);
  RefusalReply policy = RefusalReplyFor(why);
  Reply reply = Error(r, policy.status, policy.code, message);
  if (policy.retry_after) reply.headers.emplace_back(http::field::retry_after, std::to_string(retry_after));
  if (why == Refusal::kUnauthorized) {
    reply.headers.emplace_back(http::field::www_authenticate, "Bearer realm=\"tracedb\"");
  }
  reply.close = policy.close;
  return reply;
}

awaitable<void> HttpSession::Linger() {
  beast::error_code ec;
  if (!stream_.is_tls()) stream_.next_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.next_layer().expires_after(std::chrono::seconds(2));
  std::vector<char> buf(16 * 1024);
  size_t total = 0;
  while (total < kLingerBytes) {
    auto [rec, n] = co_await stream_.async_read_some(asio::buffer(buf), kTuple);
    if (rec) break;
    total += n;
  }
}

awaitable<Next> HttpSession::Send(const http::request_header<>& req, Reply& reply, const Request& r,
                                  bool body_unread) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.result(static_cast<unsigned>(reply.status));
  res.set(http::field::server, "tracedb");
  res.set(http::field::content_type, reply.content_type);
  for (auto& [field, value] : reply.headers) res.set(field, value);
  bool keep = KeepAlive(req) && !reply.close && !body_unread && !impl_.stopping();
  res.keep_alive(keep);
  if (req.method() == http::verb::head) {
    res.content_length(reply.body.size());
  } else {
    res.body() = std::move(reply.body);
    res.prepare_payload();
  }
  impl_.http_metrics_.Responded(r.label, reply.status, r.start);
  stream_.next_layer().expires_after(std::chrono::seconds(impl_.config_.idle_timeout_seconds));
  auto [ec, n] = co_await http::async_write(stream_, res, kTuple);
  if (ec) co_return Next::kClose;
  if (!keep) {
    if (body_unread) co_await Linger();
    co_return Next::kClose;
  }
  co_return Next::kKeepAlive;
}

Reply HttpSession::Basic(Handler handler) {
  if (handler == Handler::kHealth) return Reply{200, "application/json", "{\"status\":\"ok\"}", {}, false};
  if (handler == Handler::kReady) {
    if (!impl_.service_->ready() || impl_.stopping()) {
      return Reply{503, "application/json", "{\"status\":\"shutting down\"}", {}, false};
    }
    engine::StorageSpace space = impl_.service_->storage_space();
    if (space.full) {
      // Not ready for ingest; reads are still answered.
      return Reply{503, "application/json",
                   fmt::format(R"({{"status":"storage full","free_bytes":{},"min_free_bytes":{}}})", space.free_bytes,
                               space.min_free_bytes),
                   {}, false};
    }
    return Reply{200, "application/json", "{\"status\":\"ready\"}", {}, false};
  }
  std::string text = impl_.service_->RenderMetrics();
  impl_.http_metrics_.Render(&text);
  return Reply{200, "text/plain; version=0.0.4; charset=utf-8", std::move(text), {}, false};
}

Reply HttpSession::WebUi(const http::request_header<>& req, std::string_view path) const {
  WebAssetRequest request{path, Sv(req[http::field::if_none_match]), AcceptsGzip(Sv(req[http::field::accept_encoding]))};
  WebAssetReply asset = ServeWebAsset(request);
  Reply reply{asset.status, std::move(asset.content_type), std::move(asset.body), {}, false};
  if (!asset.content_encoding.empty()) reply.headers.emplace_back(http::field::content_encoding, asset.content_encoding);
  if (!asset.etag.empty()) reply.headers.emplace_back(http::field::etag, std::move(asset.etag));
  if (!asset.cache_control.empty()) reply.headers.emplace_back(http::field::cache_control, std::move(asset.cache_control));
  reply.headers.emplace_back(http::field::vary, "Accept-Encoding");
  return reply;
}

awaitable<Next> HttpSession::ServeRequest(HeaderParser& hp) {
  const auto& req = hp.get();
  std::string target(Sv(req.target()));
  size_t qmark = target.find('?');
  std::string path = target.substr(0, qmark);
  std::string query = qmark == std::string::npos ? std::string() : target.substr(qmark + 1);
  RouteMatch match = impl_.routes_.Find(Sv(req.method_string()), path);
  Request r;
  r.start = Clock::now();
  r.route = match.route;
  if (r.route != nullptr) {
    r.label = r.route->label;
    r.errors = r.route->errors;
    r.otlp_errors = OtlpErrorEncoding(Sv(req[http::field::content_type]));
  }
  bool body_unread = !hp.is_done();
  bool upgrade = beast::websocket::is_upgrade(req);
  const Config& config = impl_.config_;
  impl_.service_->metrics().http_requests.fetch_add(1, std::memory_order_relaxed);

  if (rejected_) {
    Reply reply = Refuse(r, Refusal::kConnectionLimit,
                         fmt::format("too many connections (server.max_connections = {}); retry later",
                                     config.max_connections));
    co_return co_await Send(req, reply, r, body_unread);
  }
  if (r.label != Route::kHealth) {
    if (uint32_t wait = impl_.limiter_.Acquire(client_, r.start); wait > 0) {
      Reply reply = Refuse(r, Refusal::kRateLimited,
                           fmt::format("rate limit of {} requests/s per client exceeded (http.rate_limit_per_second)",
                                       config.rate_limit_per_second),
                           wait);
      co_return co_await Send(req, reply, r, body_unread);
    }
    if (impl_.stopping()) {
      Reply reply = Refuse(r, Refusal::kShuttingDown, "server is shutting down");
      co_return co_await Send(req, reply, r, body_unread);
    }
  }
  if (upgrade) co_return co_await ServeUpgrade(hp, r, query, body_unread);

  const AccessControl& access = impl_.access_;
  bool needs_key = access.keys_required() &&
                   (r.route == nullptr || r.route->key == KeyPolicy::kApiKey || r.route->key == KeyPolicy::kAdmin ||
                    (r.route->key == KeyPolicy::kMetrics && access.metrics_requires_key()));
  if (needs_key && !access.CheckAuthorization(Sv(req[http::field::authorization]))) {
    Reply reply = Refuse(r, Refusal::kUnauthorized,
                         "an API key is required: send Authorization: Bearer <key> (auth.api_keys)");
    co_return co_await Send(req, reply, r, body_unread);
  }

  if (r.route != nullptr && r.route->key == KeyPolicy::kAdmin) {
    if (std::string why = AdminRefusal(req); !why.empty()) {
      Reply reply = Error(r, 403, "Forbidden", why);
      co_return co_await Send(req, reply, r, body_unread);
    }
  }
  if (r.route != nullptr && r.route->body == BodyPolicy::kStreamed) co_return co_await ServeStreamed(hp, r, query);

  // Any other request carries a small body at most: read and ignore it.
  const std::string too_large = fmt::format("this endpoint takes a body of at most {} bytes", kSmallBodyLimit);
  if (auto length = hp.content_length(); length && *length > kSmallBodyLimit) {
    Reply reply = Refuse(r, Refusal::kBodyTooLarge, too_large);
    co_return co_await Send(req, reply, r, body_unread);
  }
  http::request_header<> header;
  if (body_unread) {
    http::request_parser<http::string_body> sp(std::move(hp));
    sp.body_limit(kSmallBodyLimit);
    stream_.next_layer().expires_after(std::chrono::seconds(config.idle_timeout_seconds));
    auto [ec, n] = co_await http::async_read(stream_, buffer_, sp, kTuple);
    if (ec == http::error::body_limit) {
      Reply reply = Refuse(r, Refusal::kBodyTooLarge, too_large);
      co_return co_await Send(sp.get().base(), reply, r, true);
    }
    if (ec) co_return Next::kClose;
    header = sp.get().base();
  } else {
    header = req;
  }

  if (r.route == nullptr) {
    if (!match.allow.empty()) {
      Reply reply = Error(r, 405, "MethodNotAllowed",
                          fmt::format("{} takes {}, not {}", path, match.allow, Sv(header.method_string())));
      reply.headers.emplace_back(http::field::allow, match.allow);
      co_return co_await Send(header, reply, r, false);
    }
    Reply reply = Error(r, 404, "NotFound", fmt::format("no such endpoint: {}", path));
    co_return co_await Send(header, reply, r, false);
  }
  switch (r.route->handler) {
    case Handler::kReadApi:
    case Handler::kJaegerApi: co_return co_await ServeRead(header, r);
    case Handler::kIngestUnknown: {
      Reply reply = Error(r, 404, "NotFound",
                          fmt::format("no such endpoint: {} (use /v1/ingest/reflow or /v1/ingest/operonx)", path));
      co_return co_await Send(header, reply, r, false);
    }
    case Handler::kWebUi: {
      Reply reply = WebUi(header, path);
      co_return co_await Send(header, reply, r, false);
    }
    case Handler::kHealth:
    case Handler::kReady:
    case Handler::kMetrics: {
      Reply reply = Basic(r.route->handler);
      co_return co_await Send(header, reply, r, false);
    }
    case Handler::kAdminBackup: co_return co_await ServeAdmin(header, r, query);
    case Handler::kIngestReflow:
    case Handler::kIngestOperonx:
    case Handler::kOtlpTraces: break;  // streamed (above)
  }
  Reply reply = Error(r, 500, "Internal", "route without a handler");
  co_return co_await Send(header, reply, r, false);
}

awaitable<Next> HttpSession::ServeUpgrade(HeaderParser& hp, Request& r, std::string_view query, bool body_unread) {
  const auto& req = hp.get();
  const AccessControl& access = impl_.access_;
  r.errors = ErrorStyle::kJson;
  if (!access.OriginAllowed(Sv(req[http::field::origin]))) {
    Reply reply = Refuse(r, Refusal::kForbiddenOrigin,
                         fmt::format("origin '{}' is not allowed (server.allowed_origins)", Sv(req[http::field::origin])));
    co_return co_await Send(req, reply, r, body_unread);
  }
  bool offered_bearer = false;
  std::string subprotocol = access.FindBearerSubprotocol(Sv(req[http::field::sec_websocket_protocol]), &offered_bearer);
  if (access.keys_required()) {
    bool ok = access.CheckAuthorization(Sv(req[http::field::authorization])) ||
              access.IsValidKey(QueryParam(query, "token")) || !subprotocol.empty();
    if (!ok) {
      Reply reply = Refuse(r, Refusal::kUnauthorized,
                           "an API key is required: Authorization: Bearer <key>, ?token=<key> or the "
                           "Sec-WebSocket-Protocol bearer.<key>");
      co_return co_await Send(req, reply, r, body_unread);
    }
  }
  if (body_unread) {
    Reply reply = Error(r, 400, "InvalidArgument", "a WebSocket upgrade has no body");
    co_return co_await Send(req, reply, r, body_unread);
  }
  http::request<http::string_body> wreq(std::move(hp.get().base()));
  stream_.next_layer().expires_never();
  std::string compress = QueryParam(query, "compress");
  bool opt_in = compress == "1" || compress == "true" || compress == "yes";
  // Frames the client sent right behind its upgrade request may already
  // sit in the HTTP read buffer: they are the session's first bytes.
  std::string early(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  buffer_.consume(buffer_.size());
  co_await RunWebSocket(impl_, std::move(stream_), std::move(wreq), std::move(subprotocol), opt_in,
                        std::move(early));
  co_return Next::kUpgraded;
}

awaitable<Next> HttpSession::ServeRead(const http::request_header<>& req, Request& r) {
  auto job = std::make_shared<ReadJob>(stream_.get_executor());
  std::string method(Sv(req.method_string()));
  std::string target(Sv(req.target()));
  engine::Engine* engine = impl_.engine_;
  auto handle = r.route->handler == Handler::kJaegerApi ? &HandleJaegerApi : &HandleReadApi;
  if (!impl_.read_pool_->TryAdd(
          [job, method, target, engine, handle] {
            auto result = handle(method, target, engine, NowNs());
            job->response = result ? std::move(*result)
                                   : ErrorResponse(404, "NotFound",
                                                   "no such endpoint: " + target.substr(0, target.find('?')));
          },
          [job] { asio::post(job->done.timer.get_executor(), [job] { job->done.Notify(); }); })) {
    Reply reply = Refuse(r, Refusal::kReadOverload, "too many queued reads; retry later");
    co_return co_await Send(req, reply, r, false);
  }
  co_await job->done.Wait();
  Reply reply;
  reply.status = job->response.status;
  reply.content_type = job->response.content_type;
  reply.body = std::move(job->response.body);
  // 503 on a read: the storage backend (a shard) could not be reached.
  if (reply.status == 503) reply.headers.emplace_back(http::field::retry_after, "1");
  co_return co_await Send(req, reply, r, false);
}

std::string HttpSession::AdminRefusal(const http::request_header<>& req) const {
  const AccessControl& access = impl_.access_;
  if (access.keys_required()) {
    if (access.CheckAdminAuthorization(Sv(req[http::field::authorization]))) return {};
    return "this endpoint needs an admin key (auth.admin_keys)";
  }
  // No keys at all: the admin API writes files on this machine, so only a
  // client on this machine may call it.
  if (client_ == "127.0.0.1" || client_ == "::1" || client_ == "::ffff:127.0.0.1") return {};
  return "the admin API needs auth.admin_keys, or a client on the server's loopback address";
}

awaitable<Next> HttpSession::ServeAdmin(const http::request_header<>& req, Request& r, std::string query) {
  auto job = std::make_shared<ReadJob>(stream_.get_executor());
  engine::Engine* engine = impl_.engine_;
  if (!impl_.admin_pool_->TryAdd(
          [job, query = std::move(query), engine] { job->response = HandleAdminBackup(query, engine); },
          [job] { asio::post(job->done.timer.get_executor(), [job] { job->done.Notify(); }); })) {
    Reply reply = Error(r, 409, "Conflict", "another admin job (a backup) is running; retry when it is done");
    co_return co_await Send(req, reply, r, false);
  }
  co_await job->done.Wait();
  Reply reply;
  reply.status = job->response.status;
  reply.content_type = job->response.content_type;
  reply.body = std::move(job->response.body);
  co_return co_await Send(req, reply, r, false);
}

awaitable<Next> HttpSession::ServeStreamed(HeaderParser& hp, Request& r, std::string_view query) {
  const auto& req = hp.get();
  const Config& config = impl_.config_;
  bool body_unread = !hp.is_done();
  auto send = [&](Reply& reply) { return Send(req, reply, r, body_unread); };
  const Handler handler = r.route->handler;

  auto codec = CodecFromContentEncoding(Sv(req[http::field::content_encoding]));
  if (!codec.ok()) {
    Reply reply = Error(r, 415, "UnsupportedMediaType", codec.status().message());
    co_return co_await send(reply);
  }
  const uint64_t max_body = config.max_body_bytes;
  if (auto length = hp.content_length(); length && max_body > 0 && *length > max_body) {
    Reply reply = Refuse(r, Refusal::kBodyTooLarge,
                         fmt::format("body of {} bytes exceeds the limit of {} bytes (http.max_body_bytes)", *length,
                                     max_body));
    co_return co_await send(reply);
  }

  // The worker that consumes the body, per handler.
  std::function<StreamedOutcome(BodyPipe*)> work;
  Service* service = impl_.service_.get();
  HttpMetrics* metrics = &impl_.http_metrics_;
  CommitFn commit = [service](const engine::WriteBatch& batch) { return service->CommitBatch(batch); };
  AsyncCommitFn commit_async = [service](const engine::WriteBatch& batch,
                                         std::function<void(Result<engine::WriteResult>)> done) {
    service->CommitBatchAsync(batch, std::move(done));
  };
  if (handler == Handler::kOtlpTraces) {
    auto encoding = OtlpEncodingFor(Sv(req[http::field::content_type]));
    if (!encoding.ok()) {
      Reply reply = Error(r, 415, "UnsupportedMediaType", encoding.status().message());
      co_return co_await send(reply);
    }
    OtlpExportSpec spec;
    spec.encoding = *encoding;
    spec.codec = *codec;
    spec.max_request_bytes = config.otlp_max_request_bytes;
    if (auto length = hp.content_length();
        length && spec.codec == Codec::kNone && spec.max_request_bytes > 0 && *length > spec.max_request_bytes) {
      Reply reply = Refuse(r, Refusal::kBodyTooLarge,
                           fmt::format("request of {} bytes exceeds the limit of {} bytes (otlp.max_request_bytes)",
                                       *length, spec.max_request_bytes));
      co_return co_await send(reply);
    }
    work = [spec, commit, metrics](BodyPipe* pipe) {
      OtlpExportOutcome out = RunOtlpExport(spec, pipe, commit);
      metrics->otlp_requests.fetch_add(1, std::memory_order_relaxed);
      metrics->otlp_spans_accepted.fetch_add(out.accepted_spans, std::memory_order_relaxed);
      metrics->otlp_spans_duplicates.fetch_add(out.duplicate_spans, std::memory_order_relaxed);
      metrics->otlp_spans_rejected.fetch_add(out.rejected_spans, std::memory_order_relaxed);
      metrics->ingest_decoded_bytes.fetch_add(out.decoded_bytes, std::memory_order_relaxed);
      if (out.refusal) metrics->Refuse(*out.refusal);
      return StreamedOutcome{out.http_status, std::string(OtlpContentType(spec.encoding)), std::move(out.body), {},
                             false};
    };
  } else {
    auto atomicity = ParseIngestParams(query);
    if (!atomicity.ok()) {
      Reply reply = Error(r, 400, "InvalidArgument", atomicity.status().message());
      co_return co_await send(reply);
    }
    BulkIngestSpec spec;
    spec.format = handler == Handler::kIngestOperonx ? IngestFormat::kOperonx : IngestFormat::kReflow;
    spec.atomicity = *atomicity;
    spec.codec = *codec;
    spec.batch_lines = config.ingest_batch_lines;
    spec.max_atomic_bytes = config.max_body_bytes;
    work = [spec, commit_async, metrics](BodyPipe* pipe) {
      BulkIngestOutcome out = RunBulkIngest(spec, pipe, commit_async);
      metrics->ingest_requests.fetch_add(1, std::memory_order_relaxed);
      metrics->ingest_accepted.fetch_add(out.report.events, std::memory_order_relaxed);
      metrics->ingest_duplicates.fetch_add(out.report.duplicates, std::memory_order_relaxed);
      metrics->ingest_rejected.fetch_add(out.report.rejected.size(), std::memory_order_relaxed);
      metrics->ingest_decoded_bytes.fetch_add(out.decoded_bytes, std::memory_order_relaxed);
      if (out.refusal) metrics->Refuse(*out.refusal);
      return StreamedOutcome{out.http_status, "application/json", std::move(out.body), std::move(out.report),
                             spec.atomicity == Atomicity::kAllOrNothing};
    };
  }

  if (service->metrics().ingest_queue_depth.load(std::memory_order_relaxed) >=
      static_cast<int64_t>(config.ingest_queue_capacity)) {
    Reply reply = Refuse(r, Refusal::kIngestOverload, "the store is not keeping up (ingest queue full); retry later");
    co_return co_await send(reply);
  }

  auto job = std::make_shared<BodyJob>(stream_.get_executor());
  std::weak_ptr<BodyJob> weak = job;
  job->pipe.SetOnRoom([weak] {
    if (auto j = weak.lock()) asio::post(j->room.timer.get_executor(), [j] { j->room.Notify(); });
  });
  // The worker writes job->outcome; the strand reads it after the posted
  // Notify (the post orders the two).
  bool admitted = impl_.ingest_pool_->TryAdd(
      [job, work = std::move(work)] { job->outcome = work(&job->pipe); },
      [job] { asio::post(job->done.timer.get_executor(), [job] { job->done.Notify(); }); });
  if (!admitted) {
    Reply reply = Refuse(r, Refusal::kIngestOverload,
                         fmt::format("too many ingest requests in progress (http.max_concurrent_ingests = {}); "
                                     "retry later",
                                     config.max_concurrent_ingests));
    co_return co_await send(reply);
  }
  std::shared_ptr<BodyPipe> pipe(job, &job->pipe);
  impl_.BodyStarted(pipe);
  struct Unregister {
    Server::Impl* impl;
    std::shared_ptr<BodyPipe> pipe;
    std::shared_ptr<Server::Impl::SocketCount> count;
    ~Unregister() {
      pipe->Abort();  // no-op once the worker finished
      if (!count->stopping.load()) impl->BodyEnded(pipe);
    }
  } unregister{&impl_, pipe, impl_.sockets_};
  impl_.http_metrics_.ingest_active.fetch_add(1, std::memory_order_relaxed);
  struct Inactive {
    HttpMetrics* m;
    ~Inactive() { m->ingest_active.fetch_sub(1, std::memory_order_relaxed); }
  } inactive{&impl_.http_metrics_};

  if (beast::iequals(req[http::field::expect], "100-continue")) {
    http::response<http::empty_body> cont{http::status::continue_, req.version()};
    auto [ec, n] = co_await http::async_write(stream_, cont, kTuple);
    if (ec) co_return Next::kClose;
  }

  BodyEnd end = BodyEnd::kComplete;
  // A Content-Length body is read straight from the socket in large
  // chunks (the limit was checked above): one copy, few reads and wakeups.
  // A chunked body goes through Beast's parser below.
  if (auto length = hp.content_length(); length && !hp.chunked()) {
    uint64_t remaining = *length;
    auto buffered = buffer_.data();
    size_t first = static_cast<size_t>(std::min<uint64_t>(buffered.size(), remaining));
    if (first > 0) {
      std::string chunk(static_cast<const char*>(buffered.data()), first);
      buffer_.consume(first);
      remaining -= first;
      co_await PushBody(*job, std::move(chunk));
    }
    while (remaining > 0 && !job->done.set) {
      // Fill at least a quarter of a chunk before handing it on (few
      // wakeups of the worker), but give every read its own deadline: the
      // idle timeout is time without bytes, not time per chunk, so a slow
      // upload that keeps sending is never cut.
      std::string chunk(static_cast<size_t>(std::min<uint64_t>(remaining, kBodyChunk)), '\0');
      const size_t want = std::min(chunk.size(), kBodyChunk / 4);
      size_t filled = 0;
      beast::error_code ec;
      while (filled < want) {
        stream_.next_layer().expires_after(std::chrono::seconds(config.idle_timeout_seconds));
        auto [rec, n] = co_await stream_.async_read_some(asio::buffer(chunk.data() + filled, chunk.size() - filled),
                                                         kTuple);
        filled += n;
        if (rec) {
          ec = rec;
          break;
        }
      }
      chunk.resize(filled);
      remaining -= filled;
      if (filled > 0) co_await PushBody(*job, std::move(chunk));
      if (ec) {
        end = BodyEnd::kFailed;
        break;
      }
    }
    co_return co_await FinishStreamed(*job, req, r, end, remaining > 0);
  }

  // Stream the body to the worker, chunk by chunk.
  http::request_parser<http::buffer_body> bp(std::move(hp));
  if (max_body > 0) {
    bp.body_limit(max_body);
  } else {
    bp.body_limit(boost::none);
  }
  // Each read has its own deadline (time without bytes, as above); the
  // body is handed on when the block is full or the body ends.
  std::vector<char> buf(kReadChunk);
  size_t got = 0;
  bp.get().body().data = buf.data();
  bp.get().body().size = buf.size();
  while (!bp.is_done()) {
    stream_.next_layer().expires_after(std::chrono::seconds(config.idle_timeout_seconds));
    auto [ec, n] = co_await http::async_read_some(stream_, buffer_, bp, kTuple);
    if (ec == http::error::need_buffer) ec = {};
    got = buf.size() - bp.get().body().size;
    bool full = bp.get().body().size == 0;
    if (got > 0 && (full || bp.is_done() || ec)) {
      co_await PushBody(*job, std::string(buf.data(), got));
      got = 0;
      bp.get().body().data = buf.data();
      bp.get().body().size = buf.size();
    }
    if (ec) {
      end = ec == http::error::body_limit ? BodyEnd::kTooLarge : BodyEnd::kFailed;
      break;
    }
    if (job->done.set) break;  // the worker stopped early (bad body, storage error)
  }
  co_return co_await FinishStreamed(*job, bp.get().base(), r, end, !bp.is_done());
}

awaitable<Next> HttpSession::FinishStreamed(BodyJob& job, const http::request_header<>& req, Request& r,
                                            BodyEnd end, bool body_unread) {
  if (end == BodyEnd::kComplete) {
    job.pipe.Close();
  } else {
    job.pipe.Abort();
  }
  co_await job.done.Wait();
  StreamedOutcome& out = job.outcome;
  if (end == BodyEnd::kTooLarge) {
    const uint64_t limit = impl_.config_.max_body_bytes;
    Reply reply = Refuse(r, Refusal::kBodyTooLarge, fmt::format("body exceeds the limit of {} bytes "
                                                                "(http.max_body_bytes)", limit));
    if (r.errors == ErrorStyle::kJson) {
      // Bulk ingest: say what was committed before the cut.
      IngestReport committed = out.report;
      if (out.atomic) committed = IngestReport{};
      reply.body = IngestErrorJson("PayloadTooLarge",
                                   fmt::format("body exceeds the limit of {} bytes (http.max_body_bytes); the lines "
                                               "reported as accepted were committed",
                                               limit),
                                   committed);
    }
    co_return co_await Send(req, reply, r, true);
  }
  if (end == BodyEnd::kFailed) co_return Next::kClose;  // the client went away or stalled: nobody to answer
  Reply reply;
  reply.status = out.status;
  reply.content_type = std::move(out.content_type);
  reply.body = std::move(out.body);
  if (out.status == 503) reply.headers.emplace_back(http::field::retry_after, "1");
  if (out.status == 507) reply.headers.emplace_back(http::field::retry_after, "5");  // a full disk
  co_return co_await Send(req, reply, r, body_unread);
}

awaitable<void> HttpSession::PushBody(BodyJob& job, std::string chunk) {
  impl_.http_metrics_.ingest_bytes.fetch_add(chunk.size(), std::memory_order_relaxed);
  job.room.set = false;
  if (!job.pipe.Push(std::move(chunk))) co_await job.room.Wait();
}

}  // namespace

awaitable<void> RunHttpSession(Server::Impl& impl, tcp::socket socket, bool rejected) {
  struct Closer {
    Server::Impl* impl;
    std::shared_ptr<Server::Impl::SocketCount> count;
    bool rejected;
    ~Closer() {
      (rejected ? count->rejecting : count->open).fetch_sub(1);
      if (count->stopping.load()) return;  // Impl may be gone (io_context teardown)
      if (!rejected) impl->http_metrics_.connections_open.fetch_sub(1, std::memory_order_relaxed);
      impl->SocketClosed();
    }
  } closer{&impl, impl.sockets_, rejected};
  beast::error_code ec;
  std::string client = socket.remote_endpoint(ec).address().to_string();
  AnyStream stream = impl.tls_ ? AnyStream(std::move(socket), *impl.tls_) : AnyStream(std::move(socket));
  HttpSession session(impl, std::move(stream), std::move(client), rejected);
  co_await session.Run();
}

}  // namespace tracedb::server
