// End-to-end tests of the HTTP side of the server port: bulk ingest
// (compressed, chunked, partial rejections, atomic mode), the read API,
// access control and every refusal path, graceful shutdown with an
// in-flight ingest. A real server on 127.0.0.1 with a free port; requests
// are sent byte for byte (tests/server/ws_client.h).

#include <atomic>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/reflow/reflow_json.h"
#include "schema/uuid.h"
#include "ingest/pipeline/decompress.h"
#include "server/http_ingest.h"
#include "server/http_support.h"
#include "tests/server/server_test_util.h"

namespace tracedb::server::testing {
namespace {

using ::testing::HasSubstr;
using ingest::CodecName;
using ingest::CompressBody;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith(TestServer::DefaultConfig()); }
  void TearDown() override { ts_.Stop(); }

  void StartWith(const Config& c) {
    ts_.Stop();
    Status s = ts_.Start(c);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  HttpResult Do(const HttpRequestSpec& spec) {
    auto r = HttpRequest(ts_.port(), spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResult{};
  }

  HttpResult Post(const std::string& target, const std::string& body,
                  std::vector<std::pair<std::string, std::string>> headers = {}, bool chunked = false,
                  size_t chunk_size = 4096) {
    HttpRequestSpec spec;
    spec.method = "POST";
    spec.target = target;
    spec.body = body;
    spec.headers = std::move(headers);
    spec.chunked = chunked;
    spec.chunk_size = chunk_size;
    return Do(spec);
  }

  HttpResult Get(const std::string& target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequestSpec spec;
    spec.target = target;
    spec.headers = std::move(headers);
    return Do(spec);
  }


  TestServer ts_;
};

// `n` RecordEvent lines for trace `trace` (event ids n0..n0+n-1), after its
// StartTrace line.
std::string ReflowBody(const std::string& trace, int n, int n0 = 0) {
  std::string body = StartTraceJson("bulk", trace) + "\n";
  for (int i = 0; i < n; ++i) {
    body += RecordEventJson(trace, EventJson(Uuid(static_cast<uint64_t>(n0 + i), 7), "a" + std::to_string(i % 3),
                                             R"("ActorCreated")")) +
            "\n";
  }
  return body;
}

TEST_F(HttpTest, BulkIngestReflowNdjsonAndDuplicates) {
  std::string id = Uuid(1);
  HttpResult r = Post("/v1/ingest/reflow", ReflowBody(id, 10));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  // accepted = events newly stored; the StartTrace line stores none.
  EXPECT_EQ(r.body, R"({"accepted":10,"duplicates":0,"lines":11,"rejected":[]})");
  EXPECT_EQ(ts_.EventCount(id), 10u);
  // A retried delivery stores nothing twice, and says so: 0 new, 10 old.
  r = Post("/v1/ingest/reflow", ReflowBody(id, 10));
  EXPECT_EQ(r.body, R"({"accepted":0,"duplicates":10,"lines":11,"rejected":[]})");
  // Half new, half resent.
  r = Post("/v1/ingest/reflow", ReflowBody(id, 10, 5));
  EXPECT_EQ(r.body, R"({"accepted":5,"duplicates":5,"lines":11,"rejected":[]})");
  EXPECT_EQ(ts_.EventCount(id), 15u);
  HttpResult m = Get("/metrics");
  EXPECT_THAT(m.body, HasSubstr("tracedb_ingest_accepted_total 15\n"));
  EXPECT_THAT(m.body, HasSubstr("tracedb_ingest_duplicates_total 15\n"));
}

TEST_F(HttpTest, MalformedLinesAreRejectedAloneUnlessAtomic) {
  std::string id = Uuid(2);
  std::string body = StartTraceJson("partial", id) + "\n{\"RecordEvent\":{\"trace_id\":42}}\n" +
                     RecordEventJson(id, EventJson(Uuid(1, 8), "x", R"("ActorCreated")")) + "\nnot json\n" +
                     R"({"Ping":null})" + "\n";
  HttpResult r = Post("/v1/ingest/reflow", body);
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr(R"("accepted":1,"duplicates":0,"lines":2,"rejected":[{"line":2,"error":")"));
  EXPECT_THAT(r.body, HasSubstr(R"({"line":4,"error":")"));
  EXPECT_THAT(r.body, HasSubstr(R"({"line":5,"error":"not an ingest request)"));
  EXPECT_EQ(ts_.EventCount(id), 1u);

  // atomic=1: one bad line and nothing is committed.
  std::string id2 = Uuid(3);
  std::string bad = ReflowBody(id2, 5) + "garbage\n";
  r = Post("/v1/ingest/reflow?atomic=1", bad);
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr(R"("accepted":0)"));
  EXPECT_THAT(r.body, HasSubstr(R"("line":7)"));
  EXPECT_THAT(r.body, HasSubstr(R"("committed":false)"));
  EXPECT_EQ(ts_.EventCount(id2), 0u);
  EXPECT_EQ(Get("/v1/traces/" + id2).status, 404);
  r = Post("/v1/ingest/reflow?atomic=1", ReflowBody(id2, 5));
  EXPECT_EQ(r.body, R"({"accepted":5,"duplicates":0,"lines":6,"rejected":[]})");
  EXPECT_EQ(ts_.EventCount(id2), 5u);
  EXPECT_EQ(Post("/v1/ingest/reflow?atomic=maybe", "").status, 400);
  EXPECT_EQ(Post("/v1/ingest/reflow?bogus=1", "").status, 400);
}

TEST_F(HttpTest, CompressedAndChunkedBodiesStream) {
  Config cfg = TestServer::DefaultConfig();
  cfg.ingest_batch_lines = 50;  // many engine batches per request
  StartWith(cfg);
  int n = 0;
  size_t body_bytes = 0;
  for (Codec codec : {Codec::kNone, Codec::kGzip, Codec::kZstd, Codec::kLz4}) {
    for (bool chunked : {false, true}) {
      std::string id = Uuid(100 + static_cast<uint64_t>(n++));
      std::string body = CompressBody(ReflowBody(id, 3000), codec);
      body_bytes += body.size();
      std::vector<std::pair<std::string, std::string>> headers;
      if (codec != Codec::kNone) headers.emplace_back("Content-Encoding", std::string(CodecName(codec)));
      HttpResult r = Post("/v1/ingest/reflow", body, headers, chunked, 777);
      EXPECT_EQ(r.status, 200) << CodecName(codec) << " " << r.body;
      EXPECT_EQ(r.body, R"({"accepted":3000,"duplicates":0,"lines":3001,"rejected":[]})") << CodecName(codec);
      EXPECT_EQ(ts_.EventCount(id), 3000u) << CodecName(codec) << (chunked ? " chunked" : "");
    }
  }
  // A corrupt body is a 400 naming the codec; an unknown encoding is 415.
  std::string gz = CompressBody(ReflowBody(Uuid(199), 10), Codec::kGzip);
  for (size_t i = 20; i < gz.size(); i += 7) gz[i] = static_cast<char>(gz[i] ^ 0x55);
  HttpResult bad = Post("/v1/ingest/reflow", gz, {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_THAT(bad.body, HasSubstr("gzip"));
  HttpResult br = Post("/v1/ingest/reflow", "x", {{"Content-Encoding", "br"}});
  EXPECT_EQ(br.status, 415);
  EXPECT_THAT(br.body, HasSubstr("'br'"));
  // Metrics count what came in: 8 bodies of 3000 events; 9 requests went to
  // a worker (the 415 did not), 10 were answered on the ingest route. The
  // received bytes are the 8 bodies' and what was read of the corrupt one.
  HttpResult m = Get("/metrics");
  EXPECT_THAT(m.body, HasSubstr("tracedb_ingest_accepted_total 24000\n"));
  EXPECT_THAT(m.body, HasSubstr("tracedb_events_ingested_total 24000\n"));
  EXPECT_THAT(m.body, HasSubstr("tracedb_ingest_requests_total 9\n"));
  int64_t received = MetricValue(ts_.port(), "tracedb_ingest_received_bytes_total");
  EXPECT_GT(received, static_cast<int64_t>(body_bytes));
  EXPECT_LE(received, static_cast<int64_t>(body_bytes + gz.size()));
  EXPECT_THAT(m.body, HasSubstr("tracedb_http_request_duration_seconds_count{route=\"ingest\"} 10\n"));
}

TEST_F(HttpTest, OperonxEnvelopesAndViews) {
  std::string env =
      R"({"request_id":"rq-1","metadata":{"workflow_name":"wf","partial":false},"events":[)"
      R"({"event_id":"e1","request_id":"rq-1","kind":"op_start","op_name":"g.root","ctx":["main"],"timestamp":"2025-07-10T12:00:00Z","seq":0,"payload":{}},)"
      R"({"event_id":"e2","request_id":"rq-1","kind":"op_end","op_name":"g.root","ctx":["main"],"timestamp":"2025-07-10T12:00:01Z","seq":1,"payload":{"status":"error","duration_ms":1000}}]})";
  HttpResult r = Post("/v1/ingest/operonx", env + "\n");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"("rejected":[])"));
  HttpResult t = Get("/v1/traces/rq-1");
  EXPECT_EQ(t.status, 200) << t.body;
  EXPECT_THAT(t.body, HasSubstr(R"("request_id":"rq-1")"));
  EXPECT_THAT(t.body, HasSubstr(R"("workflow_name":"wf")"));
  for (const char* view : {"timeline", "tree", "turns", "cost", "slow", "errors"}) {
    EXPECT_EQ(Get(std::string("/v1/operonx/requests/rq-1/") + view).status, 200) << view;
  }
  EXPECT_THAT(Get("/v1/operonx/requests/rq-1/errors").body, HasSubstr("g.root"));
  // Redelivery: duplicates, nothing new.
  EXPECT_THAT(Post("/v1/ingest/operonx", env + "\n").body, HasSubstr(R"("duplicates":2)"));
}

TEST_F(HttpTest, ReadApiOverHttp) {
  std::string id = Uuid(5);
  ASSERT_EQ(Post("/v1/ingest/reflow", ReflowBody(id, 4)).status, 200);
  HttpResult t = Get("/v1/traces/" + id);
  ASSERT_EQ(t.status, 200);
  auto trace = ingest::reflow::ParseTrace(t.body);
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  EXPECT_EQ(trace->events.size(), 4u);
  HttpResult s = Get("/v1/traces?q=flow%20%3D%20%22bulk%22&limit=5&count=1");
  EXPECT_EQ(s.status, 200);
  EXPECT_THAT(s.body, HasSubstr(id));
  EXPECT_THAT(s.body, HasSubstr(R"("total_count":1,)"));
  HttpResult bad = Get("/v1/traces?q=flow%20%3D%20and");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("^"));
  HttpResult agg = Get("/v1/aggregate?q=%7C%20count()");
  EXPECT_EQ(agg.status, 200);
  EXPECT_EQ(agg.body, R"x({"columns":["count()"],"rows":[{"count()":1.0}]})x"
                      "\n");
  EXPECT_EQ(Get("/v1/query?q=%7C%20count()%20by%20(actor)&format=table").content_type.rfind("text/plain", 0), 0u);
  HttpResult versions = Get("/v1/flows/bulk/versions");
  EXPECT_EQ(versions.status, 200);
  EXPECT_EQ(versions.body,
            R"({"flow_id":"bulk","versions":[{"major":1,"minor":0,"patch":0,"git_hash":null,)"
            R"("timestamp":"2025-07-10T12:00:00Z"}]})");
  EXPECT_EQ(Get("/v1/nothing").status, 404);
  // POST /v1/traces is the OTLP export (otlp_http_test.cc); the read API
  // takes GET only.
  EXPECT_EQ(Post("/v1/aggregate", "").status, 405);
  EXPECT_EQ(Post("/v1/traces/0123", "").status, 405);
  EXPECT_EQ(Get("/v1/ingest/reflow").status, 405);
  EXPECT_EQ(Post("/v1/ingest/other", "").status, 404);
}

TEST_F(HttpTest, ApiKeysGuardEverythingButHealth) {
  Config cfg = TestServer::DefaultConfig();
  cfg.api_keys = {"k1", "secret-2"};
  StartWith(cfg);
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_EQ(Get("/readyz").status, 200);
  HttpResult no = Get("/v1/traces?q=");
  EXPECT_EQ(no.status, 401);
  EXPECT_THAT(no.body, HasSubstr(R"("code":"Unauthorized")"));
  EXPECT_EQ(Get("/v1/traces?q=", {{"Authorization", "Bearer nope"}}).status, 401);
  EXPECT_EQ(Get("/v1/traces?q=", {{"Authorization", "Basic k1"}}).status, 401);
  EXPECT_EQ(Get("/v1/traces?q=", {{"Authorization", "Bearer k1"}}).status, 200);
  EXPECT_EQ(Get("/v1/traces?q=", {{"Authorization", "bearer secret-2"}}).status, 200);
  EXPECT_EQ(Get("/metrics").status, 401);
  EXPECT_EQ(Get("/metrics", {{"Authorization", "Bearer k1"}}).status, 200);
  EXPECT_EQ(Post("/v1/ingest/reflow", ReflowBody(Uuid(6), 2)).status, 401);
  EXPECT_EQ(ts_.EventCount(Uuid(6)), 0u);
  EXPECT_EQ(Post("/v1/ingest/reflow", ReflowBody(Uuid(6), 2), {{"Authorization", "Bearer k1"}}).status, 200);
  EXPECT_EQ(ts_.EventCount(Uuid(6)), 2u);

  // WebSocket upgrades: 401 without a key; ?token= or a bearer.<key>
  // subprotocol (echoed) or the header open a session.
  auto upgrade = [&](const std::string& target, std::vector<std::pair<std::string, std::string>> extra) {
    HttpRequestSpec spec;
    spec.target = target;
    spec.close = false;
    spec.headers = {{"Upgrade", "websocket"},
                    {"Connection", "Upgrade"},
                    {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                    {"Sec-WebSocket-Version", "13"}};
    for (auto& h : extra) spec.headers.push_back(h);
    return Do(spec);
  };
  HttpResult ws = upgrade("/", {});
  EXPECT_EQ(ws.status, 401);
  EXPECT_THAT(ws.body, HasSubstr("Unauthorized"));
  EXPECT_EQ(upgrade("/?token=bad", {}).status, 401);
  EXPECT_EQ(upgrade("/?token=k1", {}).status, 101);
  EXPECT_EQ(upgrade("/", {{"Authorization", "Bearer secret-2"}}).status, 101);
  HttpResult sub = upgrade("/", {{"Sec-WebSocket-Protocol", "reflow, bearer.k1"}});
  EXPECT_EQ(sub.status, 101);
  EXPECT_EQ(sub.subprotocol, "bearer.k1");
  EXPECT_EQ(upgrade("/", {{"Sec-WebSocket-Protocol", "bearer.zzz"}}).status, 401);
  auto c = WsClient::Connect(ts_.port(), false, "/?token=k1");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE((*c)->SendText(R"("Ping")").ok());
  auto pong = (*c)->ReceiveJson();
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(*pong, R"("Pong")");
  EXPECT_TRUE((*c)->Close().ok());

  cfg.metrics_requires_key = false;
  StartWith(cfg);
  EXPECT_EQ(Get("/metrics").status, 200);
  HttpResult m = Get("/metrics");
  EXPECT_THAT(m.body, HasSubstr("tracedb_http_refusals_total{reason=\"unauthorized\"} 0\n"));
}

TEST_F(HttpTest, OriginAllowListForWebSocketUpgrades) {
  Config cfg = TestServer::DefaultConfig();
  cfg.allowed_origins = {"https://ui.example.com"};
  StartWith(cfg);
  auto upgrade = [&](std::vector<std::pair<std::string, std::string>> extra) {
    HttpRequestSpec spec;
    spec.close = false;
    spec.headers = {{"Upgrade", "websocket"},
                    {"Connection", "Upgrade"},
                    {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                    {"Sec-WebSocket-Version", "13"}};
    for (auto& h : extra) spec.headers.push_back(h);
    return Do(spec);
  };
  HttpResult evil = upgrade({{"Origin", "https://evil.example.com"}});
  EXPECT_EQ(evil.status, 403);
  EXPECT_THAT(evil.body, HasSubstr("https://evil.example.com"));
  EXPECT_EQ(upgrade({{"Origin", "https://UI.example.com"}}).status, 101);
  EXPECT_EQ(upgrade({}).status, 101);  // non-browser client: no Origin
  HttpResult m = Get("/metrics");
  EXPECT_THAT(m.body, HasSubstr("tracedb_http_refusals_total{reason=\"forbidden_origin\"} 1\n"));
}

TEST_F(HttpTest, BodySizeCapIs413) {
  Config cfg = TestServer::DefaultConfig();
  cfg.max_body_bytes = 10000;
  cfg.ingest_batch_lines = 10;
  StartWith(cfg);
  std::string id = Uuid(7);
  std::string body = ReflowBody(id, 200);  // ~ 100 KB
  ASSERT_GT(body.size(), 10000u);
  HttpResult r = Post("/v1/ingest/reflow", body);  // Content-Length: refused before reading
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.body, HasSubstr("PayloadTooLarge"));
  EXPECT_EQ(ts_.EventCount(id), 0u);
  // Atomic mode: decompressed bytes beyond the cap are refused, nothing kept.
  std::string id2 = Uuid(8);
  std::string zs = CompressBody(ReflowBody(id2, 200), Codec::kZstd);
  ASSERT_LT(zs.size(), 10000u);
  r = Post("/v1/ingest/reflow?atomic=1", zs, {{"Content-Encoding", "zstd"}});
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(ts_.EventCount(id2), 0u);
  // Other endpoints take 64 KiB at most.
  HttpRequestSpec big;
  big.method = "GET";
  big.target = "/healthz";
  big.body = std::string(100000, 'x');
  EXPECT_EQ(Do(big).status, 413);
  big.chunked = true;
  EXPECT_EQ(Do(big).status, 413);

  // Chunked: refused when the limit is crossed; what was committed is told.
  // The server hands a chunked body to its worker 64 KiB at a time: the
  // first 64 KiB are sent and their batches stored, then the rest crosses
  // the limit.
  cfg.max_body_bytes = 100000;
  StartWith(cfg);
  std::string id3 = Uuid(9);
  std::string long_body = ReflowBody(id3, 400);
  ASSERT_GT(long_body.size(), 100000u);
  HttpRequestSpec spec;
  spec.method = "POST";
  spec.target = "/v1/ingest/reflow";
  spec.chunked = true;
  spec.close = false;
  auto c = RawHttpConnection::Connect(ts_.port());
  ASSERT_TRUE(c.ok());
  constexpr size_t kFirst = 70000;
  ASSERT_TRUE((*c)->Send(BuildHttpHead(spec) + HttpChunk(long_body.substr(0, kFirst))).ok());
  ASSERT_TRUE(WaitUntil([&] { return ts_.EventCount(id3) >= 9; })) << ts_.EventCount(id3);
  std::string rest;
  for (size_t at = kFirst; at < long_body.size(); at += 1000) rest += HttpChunk(long_body.substr(at, 1000));
  ASSERT_TRUE((*c)->Send(rest + HttpChunk("")).ok());
  auto refused = (*c)->ReadResponse();
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_EQ(refused->status, 413) << refused->body;
  auto accepted_at = refused->body.find(R"("accepted":)");
  ASSERT_NE(accepted_at, std::string::npos) << refused->body;
  uint64_t accepted = std::stoull(refused->body.substr(accepted_at + 11));
  // What was committed before the limit is exactly what is reported: the
  // stored events.
  EXPECT_GE(accepted, 9u);
  EXPECT_EQ(accepted, ts_.EventCount(id3));
}

TEST_F(HttpTest, RateLimitIs429WithRetryAfter) {
  Config cfg = TestServer::DefaultConfig();
  cfg.rate_limit_per_second = 1;
  cfg.rate_limit_burst = 3;
  StartWith(cfg);
  int ok = 0, limited = 0;
  std::string retry;
  for (int i = 0; i < 6; ++i) {
    HttpResult r = Get("/v1/traces?q=");
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      retry = r.retry_after;
      EXPECT_THAT(r.body, HasSubstr("TooManyRequests"));
    }
  }
  EXPECT_GE(ok, 3);
  EXPECT_LE(ok, 4);
  EXPECT_GE(limited, 2);
  EXPECT_EQ(retry, "1");
  EXPECT_EQ(Get("/healthz").status, 200);  // probes are not limited
  // A token comes back as time passes (1 per second).
  EXPECT_TRUE(WaitUntil([&] { return Get("/v1/traces?q=").status == 200; }, std::chrono::seconds(20)));
}

TEST_F(HttpTest, ConnectionCapIs503) {
  Config cfg = TestServer::DefaultConfig();
  cfg.max_connections = 2;
  StartWith(cfg);
  std::vector<std::unique_ptr<RawHttpConnection>> held;
  HttpRequestSpec ping;
  ping.target = "/healthz";
  ping.close = false;
  for (int i = 0; i < 2; ++i) {
    auto c = RawHttpConnection::Connect(ts_.port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->Send(BuildHttpRequest(ping)).ok());
    auto r = (*c)->ReadResponse();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200);
    held.push_back(std::move(*c));
  }
  HttpResult third = Get("/healthz");
  EXPECT_EQ(third.status, 503);
  EXPECT_EQ(third.retry_after, "1");
  EXPECT_THAT(third.body, HasSubstr("max_connections"));
  held.clear();  // closing frees the slots (once the server saw the FINs)
  HttpResult after;
  EXPECT_TRUE(WaitUntil([&] {
    after = Get("/healthz");
    return after.status == 200;
  })) << after.status;
}

TEST_F(HttpTest, IngestOverloadIs503AndNothingIsLost) {
  Config cfg = TestServer::DefaultConfig();
  cfg.max_concurrent_ingests = 1;
  StartWith(cfg);
  std::string id = Uuid(9);
  std::string body = ReflowBody(id, 100);
  HttpRequestSpec slow;
  slow.method = "POST";
  slow.target = "/v1/ingest/reflow";
  slow.chunked = true;
  auto c = RawHttpConnection::Connect(ts_.port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send(BuildHttpHead(slow) + HttpChunk(body.substr(0, 1000))).ok());
  // The first request holds the only ingest worker: the next one is refused.
  ASSERT_TRUE(WaitForMetric(ts_.port(), "tracedb_ingest_requests_active", 1));
  HttpResult r = Post("/v1/ingest/reflow", ReflowBody(Uuid(10), 3));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.retry_after, "1");
  EXPECT_EQ(ts_.EventCount(Uuid(10)), 0u);
  ASSERT_TRUE((*c)->Send(HttpChunk(body.substr(1000)) + HttpChunk("")).ok());
  auto done = (*c)->ReadResponse();
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->body, R"({"accepted":100,"duplicates":0,"lines":101,"rejected":[]})");
  EXPECT_EQ(ts_.EventCount(id), 100u);
  // The worker's slot is free before its reply goes out: a client that
  // sends its next request as soon as it has the reply is admitted, every
  // time (WorkerPool::TryAdd's `then`).
  for (int i = 0; i < 40; ++i) {
    r = Post("/v1/ingest/reflow", ReflowBody(Uuid(10), 3, 3 * i));
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.body;
  }
  EXPECT_EQ(ts_.EventCount(Uuid(10)), 120u);
  EXPECT_THAT(Get("/metrics").body, HasSubstr("tracedb_http_refusals_total{reason=\"ingest_overload\"} 1\n"));
}

// The idle timeout is time without bytes: an upload that keeps sending,
// however slowly, is not cut (both body framings), while a stalled one is.
TEST_F(HttpTest, SlowButSteadyUploadsOutliveTheIdleTimeout) {
  Config cfg = TestServer::DefaultConfig();
  cfg.idle_timeout_seconds = 1;
  StartWith(cfg);
  for (bool chunked : {true, false}) {
    std::string id = Uuid(chunked ? 21 : 22);
    std::string body = ReflowBody(id, 20);
    HttpRequestSpec spec;
    spec.method = "POST";
    spec.target = "/v1/ingest/reflow";
    spec.chunked = chunked;
    spec.body = body;  // sizes the Content-Length; the bytes go out below
    auto c = RawHttpConnection::Connect(ts_.port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->Send(BuildHttpHead(spec)).ok());
    // About 2.4 s in all, never more than 0.2 s without a byte.
    const size_t piece = body.size() / 12 + 1;
    for (size_t off = 0; off < body.size(); off += piece) {
      std::string part = body.substr(off, piece);
      ASSERT_TRUE((*c)->Send(chunked ? HttpChunk(part) : part).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (chunked) {
      ASSERT_TRUE((*c)->Send(HttpChunk("")).ok());
    }
    auto done = (*c)->ReadResponse();
    ASSERT_TRUE(done.ok()) << (chunked ? "chunked: " : "content-length: ") << done.status().ToString();
    EXPECT_EQ(done->status, 200) << done->body;
    EXPECT_EQ(ts_.EventCount(id), 20u);
  }
  // A body that stops is still cut after the timeout: no reply, closed.
  HttpRequestSpec stalled;
  stalled.method = "POST";
  stalled.target = "/v1/ingest/reflow";
  stalled.chunked = true;
  auto c = RawHttpConnection::Connect(ts_.port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send(BuildHttpHead(stalled) + HttpChunk(ReflowBody(Uuid(23), 2).substr(0, 50))).ok());
  auto cut = (*c)->ReadResponse(std::chrono::seconds(5));
  EXPECT_FALSE(cut.ok());
}

TEST_F(HttpTest, StopFinishesAnInFlightIngestFirst) {
  TempDir dir;
  Config cfg = TestServer::DefaultConfig();
  cfg.backend = "rocksdb";
  cfg.data_dir = dir.path.string();
  StartWith(cfg);
  std::string id = Uuid(11);
  std::string body = ReflowBody(id, 500);
  HttpRequestSpec slow;
  slow.method = "POST";
  slow.target = "/v1/ingest/reflow";
  slow.chunked = true;
  auto c = RawHttpConnection::Connect(ts_.port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send(BuildHttpHead(slow) + HttpChunk(body.substr(0, 5000))).ok());
  // The request is in flight (its worker has it) when Stop begins.
  ASSERT_TRUE(WaitForMetric(ts_.port(), "tracedb_ingest_requests_active", 1));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    ts_.server->Stop(30.0);
    stopped = true;
  });
  HttpRequestSpec ready;
  ready.target = "/readyz";
  EXPECT_TRUE(WaitUntil([&] { return !HttpRequest(ts_.port(), ready).ok(); }));  // the acceptor is closed
  EXPECT_FALSE(stopped.load());  // waiting for the request
  ASSERT_TRUE((*c)->Send(HttpChunk(body.substr(5000)) + HttpChunk("")).ok());
  auto r = (*c)->ReadResponse();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"accepted":500,"duplicates":0,"lines":501,"rejected":[]})");
  stopper.join();
  ts_.Stop();
  StartWith(cfg);
  EXPECT_EQ(ts_.EventCount(id), 500u);
}

TEST(HttpSupport, RateLimiterRefillsAndForgets) {
  RateLimiter off(0, 0);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(off.Acquire("a", t0), 0u);
  RateLimiter rl(2, 2);
  EXPECT_EQ(rl.Acquire("a", t0), 0u);
  EXPECT_EQ(rl.Acquire("a", t0), 0u);
  EXPECT_EQ(rl.Acquire("a", t0), 1u);
  EXPECT_EQ(rl.Acquire("b", t0), 0u);  // per client
  EXPECT_EQ(rl.Acquire("a", t0 + std::chrono::milliseconds(600)), 0u);
  RateLimiter slow(0.1, 1);
  EXPECT_EQ(slow.Acquire("a", t0), 0u);
  EXPECT_EQ(slow.Acquire("a", t0), 10u);
}

TEST(HttpSupport, AccessControl) {
  Config cfg;
  cfg.api_keys = {"abc"};
  cfg.allowed_origins = {"https://a.example"};
  auto ac = AccessControl::Create(cfg);
  ASSERT_TRUE(ac.ok());
  EXPECT_TRUE(ac->CheckAuthorization("Bearer abc"));
  EXPECT_TRUE(ac->CheckAuthorization("  BEARER   abc "));
  EXPECT_FALSE(ac->CheckAuthorization("Bearer abcd"));
  EXPECT_FALSE(ac->CheckAuthorization("Bearer "));
  EXPECT_FALSE(ac->CheckAuthorization("abc"));
  bool found = false;
  EXPECT_EQ(ac->FindBearerSubprotocol("x, bearer.abc", &found), "bearer.abc");
  EXPECT_TRUE(found);
  EXPECT_EQ(ac->FindBearerSubprotocol("bearer.zz", &found), "");
  EXPECT_TRUE(found);
  EXPECT_TRUE(ac->OriginAllowed(""));
  EXPECT_TRUE(ac->OriginAllowed("https://A.example"));
  EXPECT_FALSE(ac->OriginAllowed("https://b.example"));
  TempDir dir;
  cfg.api_keys_file = (dir.path / "keys").string();
  EXPECT_FALSE(AccessControl::Create(cfg).ok());  // missing file
  {
    std::FILE* f = std::fopen(cfg.api_keys_file.c_str(), "w");
    std::fputs("# keys\n\nfromfile\n", f);
    std::fclose(f);
  }
  auto with_file = AccessControl::Create(cfg);
  ASSERT_TRUE(with_file.ok());
  EXPECT_TRUE(with_file->IsValidKey("fromfile"));
  EXPECT_TRUE(with_file->IsValidKey("abc"));
  EXPECT_FALSE(with_file->IsValidKey("# keys"));
}

// A storage backend that cannot be reached (a ClickHouse shard down) is the
// refusal kBackendUnavailable: 503, code BackendUnavailable, the message
// naming the shard, and the report of the batches committed before.
TEST(HttpIngest, AnUnreachableBackendIsBackendUnavailableWithWhatCommittedBefore) {
  RefusalReply reply = RefusalReplyFor(Refusal::kBackendUnavailable);
  EXPECT_EQ(reply.status, 503);
  EXPECT_STREQ(reply.code, "BackendUnavailable");
  EXPECT_TRUE(reply.retry_after);
  EXPECT_FALSE(reply.close);
  EXPECT_STREQ(RefusalName(Refusal::kBackendUnavailable), "backend_unavailable");
  EXPECT_EQ(RefusalForStorageError(Status::Unavailable("shard 2 unavailable")), Refusal::kBackendUnavailable);
  EXPECT_EQ(RefusalForStorageError(Status::StorageFull("full")), std::nullopt);
  EXPECT_EQ(RefusalForStorageError(Status::IoError("io")), std::nullopt);

  const std::string body = ReflowBody(Uuid(1), 3);  // StartTrace + 3 events: batches of 2 lines
  int commits = 0;
  CommitFn commit = [&](const engine::WriteBatch& batch) -> Result<engine::WriteResult> {
    if (++commits == 2) return Status::Unavailable("shard 2 unavailable: clickhouse http://h2:8123: refused");
    engine::WriteResult written;
    for (const auto& op : batch.ops()) written.events_written += op.kind == engine::WriteBatch::Op::Kind::kAppend;
    return written;
  };
  BulkIngestSpec spec;
  spec.batch_lines = 2;
  BodyPipe pipe(uint64_t{1} << 20);
  pipe.Push(body);
  pipe.Close();
  BulkIngestOutcome out = RunBulkIngest(spec, &pipe, ingest::AsAsync(commit));
  EXPECT_EQ(out.http_status, 503);
  EXPECT_EQ(out.refusal, Refusal::kBackendUnavailable);
  EXPECT_THAT(out.body, HasSubstr("\"code\":\"BackendUnavailable\""));
  EXPECT_THAT(out.body, HasSubstr("shard 2 unavailable: clickhouse http://h2:8123"));
  EXPECT_THAT(out.body, HasSubstr("\"accepted\":1,\"duplicates\":0,\"lines\":2"));
  EXPECT_EQ(out.report.events, 1u);
  EXPECT_EQ(commits, 2);
}

}  // namespace
}  // namespace tracedb::server::testing
