// The C++ tracing client (client/cpp) against a real in-process tracedb
// server on 127.0.0.1: delivery and dedup, a server that is down at start,
// the spool across client restarts, a server that stops reading, and
// concurrent recording (these suites run under ThreadSanitizer too).

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "client/cpp/include/tracedb/client.h"
#include "server/server.h"
#include "tests/server/server_test_util.h"

namespace tracedb::client {
namespace {

using namespace std::chrono_literals;
using server::testing::GatedEngine;
using server::testing::TempDir;
using server::testing::TestServer;
using server::testing::WaitUntil;

std::string Url(uint16_t port) { return "ws://127.0.0.1:" + std::to_string(port); }

Options FastOptions(uint16_t port) {
  Options o;
  o.url = Url(port);
  o.batch_timeout = 5ms;
  o.backoff_initial = 20ms;
  o.backoff_max = 200ms;
  o.connect_timeout = 2s;
  return o;
}

Event MakeEvent(int i) {
  Event e;
  e.type = i % 2 ? EventType::kActorCompleted : EventType::kActorStarted;
  e.actor_id = "actor-" + std::to_string(i % 7);
  e.port = "out";
  e.custom_attributes_json = R"({"i":)" + std::to_string(i) + "}";
  return e;
}

// A free port: bind a server, note its port, stop it.
uint16_t FreePort() {
  TestServer ts;
  EXPECT_TRUE(ts.Start(TestServer::DefaultConfig()).ok());
  uint16_t port = ts.port();
  ts.Stop();
  return port;
}

TEST(Client, EveryRequestIsAcknowledgedAndStoredOnce) {
  TestServer ts;
  ASSERT_TRUE(ts.Start(TestServer::DefaultConfig()).ok());
  auto client = Client::Create(FastOptions(ts.port()));
  ASSERT_NE(client, nullptr);
  TraceId trace = client->StartTrace("client-test");
  for (int i = 0; i < 500; ++i) client->Record(trace, MakeEvent(i));
  client->EndTrace(trace, ExecutionStatus::Completed());
  ASSERT_TRUE(client->Flush(20s));
  Counters c = client->counters();
  EXPECT_EQ(c.recorded, 502u);
  EXPECT_EQ(c.acked, 502u);
  EXPECT_EQ(c.rejected, 0u);
  EXPECT_EQ(c.dropped, 0u);
  EXPECT_EQ(c.buffered, 0u);
  EXPECT_TRUE(c.connected);
  EXPECT_TRUE(c.compressed) << "tracedb reads zstd Binary frames: the probe must find that";
  EXPECT_EQ(ts.EventCount(trace.ToString()), 500u);
  auto stored = ts.engine->GetTrace(trace.bytes);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->flow_id, "client-test");
  EXPECT_EQ((*stored)->status.code, schema::StatusCode::kCompleted);
  EXPECT_TRUE(client->Shutdown(5s));
}

TEST(Client, TextFramesWhenCompressionIsOff) {
  TestServer ts;
  ASSERT_TRUE(ts.Start(TestServer::DefaultConfig()).ok());
  Options o = FastOptions(ts.port());
  o.compression = Compression::kOff;
  auto client = Client::Create(o);
  TraceId trace = client->StartTrace("text");
  for (int i = 0; i < 50; ++i) client->Record(trace, MakeEvent(i));
  ASSERT_TRUE(client->Flush(20s));
  EXPECT_FALSE(client->counters().compressed);
  EXPECT_EQ(ts.EventCount(trace.ToString()), 50u);
}

TEST(Client, ServerDownAtStartIsRetriedWithBackoff) {
  uint16_t port = FreePort();
  auto client = Client::Create(FastOptions(port));
  ASSERT_NE(client, nullptr);
  TraceId trace = client->StartTrace("late-server");
  for (int i = 0; i < 100; ++i) client->Record(trace, MakeEvent(i));
  ASSERT_TRUE(WaitUntil([&] { return client->counters().connect_failures >= 2; }));
  Counters before = client->counters();
  EXPECT_FALSE(before.connected);
  EXPECT_EQ(before.acked, 0u);
  EXPECT_EQ(before.buffered, 101u);
  EXPECT_FALSE(client->Flush(50ms));

  TestServer ts;
  server::Config cfg = TestServer::DefaultConfig();
  cfg.port = port;
  ASSERT_TRUE(ts.Start(cfg).ok());
  ASSERT_TRUE(client->Flush(20s));
  EXPECT_EQ(client->counters().acked, 101u);
  EXPECT_EQ(ts.EventCount(trace.ToString()), 100u);
}

TEST(Client, ResendsAfterLostAcksAreDeduplicatedByTheServer) {
  TempDir spool;
  TestServer ts;
  ASSERT_TRUE(ts.Start(TestServer::DefaultConfig()).ok());
  Options o = FastOptions(ts.port());
  o.spool_dir = spool.path.string();
  TraceId trace;
  {
    auto client = Client::Create(o);
    trace = client->StartTrace("dedup");
    for (int i = 0; i < 200; ++i) client->Record(trace, MakeEvent(i));
    ASSERT_TRUE(client->Shutdown(20s));
  }
  ASSERT_EQ(ts.EventCount(trace.ToString()), 200u);
  // Forget every ack, as a client that crashed before persisting them would:
  // the next client resends all 201 requests.
  std::ofstream(spool.path / "acked") << "0\n";
  auto again = Client::Create(o);
  ASSERT_TRUE(again->Flush(20s));
  Counters c = again->counters();
  EXPECT_EQ(c.recorded, 201u);
  EXPECT_EQ(c.acked, 201u);
  EXPECT_EQ(ts.EventCount(trace.ToString()), 200u) << "a resent event was stored twice";
}

TEST(Client, SpoolKeepsRequestsAcrossAClientRestart) {
  TempDir spool;
  uint16_t port = FreePort();
  Options o = FastOptions(port);
  o.spool_dir = spool.path.string();
  TraceId trace;
  {
    auto client = Client::Create(o);
    trace = client->StartTrace("spooled");
    for (int i = 0; i < 300; ++i) client->Record(trace, MakeEvent(i));
    client->EndTrace(trace, ExecutionStatus::Failed("boom"));
    EXPECT_FALSE(client->Shutdown(200ms)) << "nothing can be acknowledged: the server is down";
  }
  TestServer ts;
  server::Config cfg = TestServer::DefaultConfig();
  cfg.port = port;
  ASSERT_TRUE(ts.Start(cfg).ok());
  auto client = Client::Create(o);
  ASSERT_TRUE(client->Flush(20s));
  EXPECT_EQ(client->counters().acked, 302u);
  EXPECT_EQ(ts.EventCount(trace.ToString()), 300u);
  auto stored = ts.engine->GetTrace(trace.bytes);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->status.code, schema::StatusCode::kFailed);
  EXPECT_EQ((*stored)->status.error, "boom");
  ASSERT_TRUE(client->Shutdown(5s));
  // Everything acknowledged: a third client has nothing to resend.
  auto third = Client::Create(o);
  EXPECT_EQ(third->counters().buffered, 0u);
}

TEST(Client, SpoolIgnoresATornTail) {
  TempDir spool;
  uint16_t port = FreePort();
  Options o = FastOptions(port);
  o.spool_dir = spool.path.string();
  {
    auto client = Client::Create(o);
    TraceId trace = client->StartTrace("torn");
    for (int i = 0; i < 10; ++i) client->Record(trace, MakeEvent(i));
    EXPECT_FALSE(client->Shutdown(100ms));
  }
  // A crash in the middle of an append: a partial record at the end.
  for (const auto& entry : std::filesystem::directory_iterator(spool.path)) {
    if (entry.path().extension() == ".log" && entry.file_size() > 0) {
      std::ofstream(entry.path(), std::ios::app | std::ios::binary) << std::string("\x40\x00\x00\x00\x01\x02", 6);
    }
  }
  auto client = Client::Create(o);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->counters().buffered, 11u);
  EXPECT_FALSE(client->Shutdown(0ms));
}

// A server whose writer is held: it stops acking, then (its queues full)
// stops reading. Callers never wait with kDropOldest, memory stays within
// max_buffered, and the counters say what was dropped.
TEST(Client, StalledServerKeepsMemoryBoundedAndCountsDrops) {
  server::Config cfg = TestServer::DefaultConfig();
  auto base = server::OpenEngine(cfg);
  ASSERT_TRUE(base.ok());
  auto gated = std::make_unique<GatedEngine>(std::move(base).value());
  GatedEngine* gate = gated.get();
  TestServer ts;
  ts.config = cfg;
  ts.engine = std::move(gated);
  auto started = server::Server::Start(cfg, ts.engine.get());
  ASSERT_TRUE(started.ok());
  ts.server = std::move(started).value();
  gate->CloseGate();

  Options o = FastOptions(ts.port());
  o.max_buffered = 1000;
  o.max_in_flight = 256;
  o.overflow = OverflowPolicy::kDropOldest;
  auto client = Client::Create(o);
  TraceId trace = client->StartTrace("stalled");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) client->Record(trace, MakeEvent(t * 5000 + i));
    });
  }
  for (auto& th : threads) th.join();
  Counters c = client->counters();
  EXPECT_EQ(c.recorded, 20001u);
  EXPECT_LE(c.buffered, 1000u);
  EXPECT_EQ(c.acked, 0u);
  EXPECT_GE(c.dropped, 19000u);
  EXPECT_EQ(c.recorded, c.acked + c.dropped + c.buffered);

  gate->OpenGate();
  ASSERT_TRUE(client->Flush(30s));
  c = client->counters();
  EXPECT_EQ(c.buffered, 0u);
  EXPECT_EQ(c.recorded, c.acked + c.dropped);
  EXPECT_EQ(ts.EventCount(trace.ToString()), c.acked - 1);  // minus the StartTrace
}

// A WebSocket server that completes the handshake and then never reads:
// the client's writes block once the socket buffers are full. Memory stays
// within max_buffered, drops are counted, and ack_timeout cuts and retries
// the connection.
TEST(Client, ServerThatStopsReadingIsCutAndMemoryStaysBounded) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  acceptor.set_option(asio::socket_base::receive_buffer_size(4096));
  uint16_t port = acceptor.local_endpoint().port();
  std::atomic<bool> stop{false};
  std::atomic<int> accepted{0};
  std::vector<std::unique_ptr<boost::beast::websocket::stream<asio::ip::tcp::socket>>> held;
  std::thread server([&] {
    while (!stop) {
      boost::system::error_code ec;
      asio::ip::tcp::socket sock(ioc);
      acceptor.accept(sock, ec);
      if (ec || stop) break;
      auto ws = std::make_unique<boost::beast::websocket::stream<asio::ip::tcp::socket>>(std::move(sock));
      ws->accept(ec);
      if (!ec) ++accepted;
      held.push_back(std::move(ws));  // kept open, never read
    }
  });

  Options o = FastOptions(port);
  o.compression = Compression::kOff;
  o.max_buffered = 2000;
  o.overflow = OverflowPolicy::kDropOldest;
  o.ack_timeout = 500ms;
  auto client = Client::Create(o);
  TraceId trace = client->StartTrace("stuck");
  for (int i = 0; i < 20000; ++i) client->Record(trace, MakeEvent(i));
  ASSERT_TRUE(WaitUntil([&] { return accepted.load() >= 2 && client->counters().retried > 0; }));
  Counters c = client->counters();
  EXPECT_EQ(c.recorded, 20001u);
  EXPECT_EQ(c.acked, 0u);
  EXPECT_LE(c.buffered, 2000u);
  EXPECT_GE(c.dropped, 18000u);
  EXPECT_EQ(c.recorded, c.dropped + c.buffered);
  EXPECT_GT(c.sent, 0u);
  EXPECT_FALSE(client->Shutdown(0ms));
  client.reset();
  stop = true;
  boost::system::error_code ignored;
  asio::ip::tcp::socket poke(ioc);
  poke.connect(acceptor.local_endpoint(), ignored);  // unblocks accept()
  server.join();
}

TEST(Client, ConcurrentRecordersWithBlockingOverflowLoseNothing) {
  TestServer ts;
  ASSERT_TRUE(ts.Start(TestServer::DefaultConfig()).ok());
  Options o = FastOptions(ts.port());
  o.max_buffered = 300;
  o.batch_size = 64;
  auto client = Client::Create(o);
  constexpr int kThreads = 4, kPerThread = 1500;
  std::vector<TraceId> traces(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      traces[t] = client->StartTrace("concurrent-" + std::to_string(t));
      for (int i = 0; i < kPerThread; ++i) {
        client->Record(traces[t], MakeEvent(i));
        if (i % 500 == 0) (void)client->counters();
      }
      client->EndTrace(traces[t], ExecutionStatus::Completed());
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(client->Flush(60s));
  Counters c = client->counters();
  EXPECT_EQ(c.acked, uint64_t{kThreads} * (kPerThread + 2));
  EXPECT_EQ(c.dropped, 0u);
  for (const TraceId& t : traces) EXPECT_EQ(ts.EventCount(t.ToString()), size_t{kPerThread});
}

TEST(Client, ServerRestartMidStreamLosesNothing) {
  TempDir data;
  server::Config cfg = TestServer::DefaultConfig();
  cfg.backend = "rocksdb";
  cfg.data_dir = data.path.string();
  TestServer ts;
  ASSERT_TRUE(ts.Start(cfg).ok());
  cfg.port = ts.port();
  auto client = Client::Create(FastOptions(ts.port()));
  TraceId trace = client->StartTrace("restart");
  for (int i = 0; i < 1000; ++i) client->Record(trace, MakeEvent(i));
  ASSERT_TRUE(WaitUntil([&] { return client->counters().acked > 0; }));
  ts.Stop();  // graceful: the session is closed (going away), the rest is resent
  ASSERT_TRUE(ts.Start(cfg).ok());
  for (int i = 1000; i < 2000; ++i) client->Record(trace, MakeEvent(i));
  ASSERT_TRUE(client->Flush(30s));
  Counters c = client->counters();
  EXPECT_EQ(c.acked, 2001u);
  EXPECT_GE(c.connects, 2u);
  EXPECT_EQ(ts.EventCount(trace.ToString()), 2000u);
}

TEST(Connection, SubscribeReceivesEventsAndQueriesAnswer) {
  TestServer ts;
  ASSERT_TRUE(ts.Start(TestServer::DefaultConfig()).ok());
  Status error;
  auto sub = Connection::Open(Url(ts.port()), 5s, &error);
  ASSERT_NE(sub, nullptr) << error.message();
  SubscriptionFilters filters;
  filters.actor_ids = std::vector<std::string>{"actor-1"};
  std::string reply;
  ASSERT_TRUE(sub->Request(SubscribeJson(filters), &reply, 5s).ok());
  EXPECT_EQ(reply, R"({"EventRecorded":{"success":true,"error":null}})");

  auto client = Client::Create(FastOptions(ts.port()));
  TraceId trace = client->StartTrace("subscribed");
  for (int i = 0; i < 14; ++i) client->Record(trace, MakeEvent(i));
  client->EndTrace(trace, ExecutionStatus::Completed());
  ASSERT_TRUE(client->Flush(20s));
  int seen = 0;
  std::string msg;
  while (sub->Receive(&msg, 500ms, &error)) {
    EXPECT_TRUE(msg.starts_with(R"({"EventNotification":)")) << msg;
    EXPECT_NE(msg.find(R"("actor_id":"actor-1")"), std::string::npos) << msg;
    ++seen;
  }
  EXPECT_TRUE(error.ok()) << error.message();
  EXPECT_EQ(seen, 2);  // i = 1 and i = 8

  TraceQuery q;
  q.flow_id = "subscribed";
  ASSERT_TRUE(sub->Request(QueryTracesJson(q), &reply, 5s).ok());
  EXPECT_TRUE(reply.starts_with(R"({"QueryResults":)")) << reply.substr(0, 200);
  EXPECT_NE(reply.find(trace.ToString()), std::string::npos);

  auto compressed = Connection::Open(Url(ts.port()), 5s, &error, /*compress=*/true);
  ASSERT_NE(compressed, nullptr);
  ASSERT_TRUE(compressed->Request(GetTraceJson(trace), &reply, 5s).ok());  // > 1 KiB: a zstd Binary reply
  EXPECT_TRUE(reply.starts_with(R"({"TraceData":{"trace":{)")) << reply.substr(0, 200);
}

// With auth.api_keys on, a client with a valid key is acknowledged; one
// without is refused at the upgrade and keeps retrying, nothing acked.
TEST(Client, ApiKeysAreSentAsBearerTokens) {
  TestServer ts;
  server::Config cfg = TestServer::DefaultConfig();
  cfg.api_keys = {"s3cret-key"};
  ASSERT_TRUE(ts.Start(cfg).ok());
  Options with_key = FastOptions(ts.port());
  with_key.api_key = "s3cret-key";
  auto client = Client::Create(with_key);
  ASSERT_NE(client, nullptr);
  TraceId trace = client->StartTrace("keyed");
  for (int i = 0; i < 10; ++i) client->Record(trace, MakeEvent(i));
  ASSERT_TRUE(client->Flush(20s));
  EXPECT_EQ(client->counters().acked, 11u);
  EXPECT_EQ(ts.EventCount(trace.ToString()), 10u);
  EXPECT_TRUE(client->Shutdown(5s));

  Options wrong = FastOptions(ts.port());
  wrong.api_key = "not-the-key";
  auto refused = Client::Create(wrong);
  ASSERT_NE(refused, nullptr);
  TraceId other = refused->StartTrace("refused");
  refused->Record(other, MakeEvent(0));
  EXPECT_FALSE(refused->Flush(1s));
  EXPECT_EQ(refused->counters().acked, 0u);
  EXPECT_FALSE(refused->counters().connected);
  EXPECT_EQ(ts.EventCount(other.ToString()), 0u);
  EXPECT_FALSE(refused->Shutdown(200ms));

  Status error;
  EXPECT_EQ(Connection::Open(Url(ts.port()), 2s, &error), nullptr);
  auto conn = Connection::Open(Url(ts.port()), 2s, &error, false, "s3cret-key");
  ASSERT_NE(conn, nullptr) << error.message();
  std::string reply;
  ASSERT_TRUE(conn->Request(R"("Ping")", &reply, 5s).ok());
  EXPECT_EQ(reply, R"("Pong")");
}

TEST(Client, BadUrlIsAnError) {
  Options o;
  o.url = "http://nowhere";
  Status error;
  EXPECT_EQ(Client::Create(o, &error), nullptr);
  EXPECT_NE(error.message().find("ws://"), std::string::npos);
}

}  // namespace
}  // namespace tracedb::client
