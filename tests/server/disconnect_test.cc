// Abrupt disconnects: a client that vanishes in the middle of a request
// (a TCP reset or a FIN inside an HTTP header, an ingest body or a
// WebSocket frame, or with pipelined requests still unanswered) must cost
// the server nothing. Every connection, session, subscription and ingest
// job is released (the gauges of /metrics return to zero), an
// all-or-nothing ingest cut short commits nothing, and the next clients are
// served normally. The sanitizer pass of scripts/test.sh runs these with
// LeakSanitizer on, so a leaked coroutine frame, session or job fails them.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "schema/uuid.h"
#include "tests/server/server_test_util.h"

namespace tracedb::server::testing {
namespace {

class DisconnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = ts_.Start(TestServer::DefaultConfig());
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override { ts_.Stop(); }

  // The value of the unlabelled metric `name` in /metrics (-1 when absent).
  int64_t Metric(const std::string& name) { return MetricValue(ts_.port(), name); }

  // Waits until `name` reads `want`; false after 20 s.
  bool WaitFor(const std::string& name, int64_t want) { return WaitForMetric(ts_.port(), name, want); }

  // Everything the cut connections held is released, and the server still
  // answers HTTP, bulk ingest and WebSocket clients.
  void ExpectHealthy() {
    // The /metrics request's own connection is the only one left open.
    EXPECT_TRUE(WaitFor("tracedb_http_connections_open", 1)) << Metric("tracedb_http_connections_open");
    EXPECT_TRUE(WaitFor("tracedb_connections_open", 0)) << Metric("tracedb_connections_open");
    EXPECT_TRUE(WaitFor("tracedb_ingest_requests_active", 0)) << Metric("tracedb_ingest_requests_active");
    EXPECT_TRUE(WaitFor("tracedb_subscriptions_active", 0)) << Metric("tracedb_subscriptions_active");
    auto health = HttpGet(ts_.port(), "/healthz");
    ASSERT_TRUE(health.ok()) << health.status().ToString();
    EXPECT_EQ(health->status, 200);
    std::string id = Uuid(next_id_++, 0xabc);
    HttpRequestSpec post;
    post.method = "POST";
    post.target = "/v1/ingest/reflow";
    post.body = Body(id, 3);
    auto r = HttpRequest(ts_.port(), post);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, R"({"accepted":3,"duplicates":0,"lines":4,"rejected":[]})");
    EXPECT_EQ(ts_.EventCount(id), 3u);
    auto ws = ts_.Connect();
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->SendText(R"("Ping")").ok());
    auto pong = ws->ReceiveJson();
    ASSERT_TRUE(pong.ok()) << pong.status().ToString();
    EXPECT_EQ(*pong, R"("Pong")");
    EXPECT_TRUE(ws->Close().ok());
  }

  // StartTrace and `n` RecordEvent lines for `trace`, as NDJSON.
  static std::string Body(const std::string& trace, int n) {
    std::string body = StartTraceJson("cut", trace) + "\n";
    for (int i = 0; i < n; ++i) {
      body += RecordEventJson(trace, EventJson(Uuid(static_cast<uint64_t>(i), 0xcu), "a", R"("ActorCreated")")) + "\n";
    }
    return body;
  }


  std::unique_ptr<RawHttpConnection> Raw() {
    auto c = RawHttpConnection::Connect(ts_.port());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  // Cuts `c`: a reset, or a plain close (FIN) with nothing more sent.
  static void Cut(std::unique_ptr<RawHttpConnection>& c, bool reset) {
    if (reset) c->Abort();
    c.reset();
  }

  TestServer ts_;
  uint64_t next_id_ = 1;
};

TEST_F(DisconnectTest, HttpIngestCutMidBodyCommitsNothingAtomicAndReleasesTheJob) {
  uint64_t n = 100;
  for (bool reset : {true, false}) {
    for (bool chunked : {true, false}) {
      SCOPED_TRACE(fmt::format("{} {}", reset ? "reset" : "close", chunked ? "chunked" : "content-length"));
      std::string id = Uuid(n++, 0xc);
      HttpRequestSpec spec;
      spec.method = "POST";
      spec.target = "/v1/ingest/reflow?atomic=1";
      spec.chunked = chunked;
      spec.close = false;
      spec.body = Body(id, 2000);
      std::string half = spec.body.substr(0, spec.body.size() / 2);
      auto c = Raw();
      ASSERT_NE(c, nullptr);
      ASSERT_TRUE(c->Send(BuildHttpHead(spec) + (chunked ? HttpChunk(half) : half)).ok());
      // The body is streaming to its worker when the client goes away.
      ASSERT_TRUE(WaitFor("tracedb_ingest_requests_active", 1));
      Cut(c, reset);
      ASSERT_TRUE(WaitFor("tracedb_ingest_requests_active", 0));
      EXPECT_EQ(ts_.EventCount(id), 0u);  // all or nothing: the cut body is not committed
    }
  }
  ExpectHealthy();
}

TEST_F(DisconnectTest, HttpCutMidHeaderMidSmallBodyAndWithPipelinedRequestsUnread) {
  for (bool reset : {true, false}) {
    // Inside the request head.
    auto c = Raw();
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->Send("POST /v1/ingest/reflow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le").ok());
    Cut(c, reset);
    // Inside the (small) body of a non-ingest request.
    c = Raw();
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n0123456789").ok());
    Cut(c, reset);
    // Keep-alive requests pipelined (health, metrics, read API on the read
    // pool), none of the replies read.
    std::string many;
    for (int i = 0; i < 40; ++i) {
      for (const char* target : {"/healthz", "/metrics", "/v1/traces?limit=5"}) {
        HttpRequestSpec spec;
        spec.target = target;
        spec.close = false;
        many += BuildHttpRequest(spec);
      }
    }
    c = Raw();
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->Send(many).ok());
    Cut(c, reset);
  }
  ExpectHealthy();
}

TEST_F(DisconnectTest, WebSocketCutMidPipelineMidFrameAndWithPushesPending) {
  // A subscriber that reads nothing: pushes and acks queue up for it.
  auto subscriber = ts_.Connect();
  ASSERT_NE(subscriber, nullptr);
  ASSERT_TRUE(subscriber
                  ->SendText(R"({"Subscribe":{"filters":{"flow_ids":null,"actor_ids":null,"event_types":null,)"
                             R"("status_filter":null}}})")
                  .ok());
  ASSERT_TRUE(WaitFor("tracedb_subscriptions_active", 1));
  // A recorder that pipelines requests and vanishes without reading a reply.
  std::string trace = Uuid(200, 0xc);
  auto recorder = ts_.Connect();
  ASSERT_NE(recorder, nullptr);
  ASSERT_TRUE(recorder->SendText(StartTraceJson("cut", trace)).ok());
  for (uint64_t i = 0; i < 300; ++i) {
    ASSERT_TRUE(recorder->SendText(RecordEventJson(trace, EventJson(Uuid(i, 0xd), "a", R"("ActorCreated")"))).ok());
  }
  recorder->Abort();
  subscriber->Abort();
  // A client cut inside a frame: a masked Text frame announcing 1000 bytes,
  // 10 of them sent.
  auto raw = Raw();
  ASSERT_NE(raw, nullptr);
  HttpRequestSpec upgrade;
  upgrade.target = "/";
  upgrade.close = false;
  upgrade.headers = {{"Upgrade", "websocket"},
                     {"Connection", "Upgrade"},
                     {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                     {"Sec-WebSocket-Version", "13"}};
  ASSERT_TRUE(raw->Send(BuildHttpHead(upgrade)).ok());
  auto switched = raw->ReadResponse();
  ASSERT_TRUE(switched.ok()) << switched.status().ToString();
  ASSERT_EQ(switched->status, 101);
  ASSERT_TRUE(raw->Send(std::string("\x81\xfe\x03\xe8\x01\x02\x03\x04", 8) + "0123456789").ok());
  raw->Abort();

  ExpectHealthy();
  // The recorder's trace was finalized when its connection went away (its
  // StartTrace was acted on before the cut, whatever else was).
  schema::Id128 id;
  ASSERT_TRUE(schema::ParseUuid(trace, &id));
  EXPECT_TRUE(WaitUntil([&] {
    auto t = ts_.engine->GetTrace(id);
    EXPECT_TRUE(t.ok());
    return t.ok() && t->has_value() && (*t)->end_ns.has_value();
  })) << "the cut recorder's trace was not finalized";
}

}  // namespace
}  // namespace tracedb::server::testing
