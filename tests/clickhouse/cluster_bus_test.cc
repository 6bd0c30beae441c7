// Live subscriptions across servers (server/cluster_bus.h): two in-process
// tracedb servers on one ClickHouse database, sharing the test cluster's
// NATS, with Reflow WebSocket subscribers.

#include "server/cluster_bus.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "tests/clickhouse/ch_test_util.h"
#include "tests/server/server_test_util.h"

namespace tracedb::server {
namespace {

using clickhouse::testing::StartNode;
using clickhouse::testing::StopNode;
using clickhouse::testing::TestNatsUrl;
using clickhouse::testing::TestShardUrls;
using clickhouse::testing::UniqueDatabase;
using testing::HttpGet;
using testing::MetricValue;
using testing::RecordEventJson;
using testing::StartTraceJson;
using testing::TestServer;
using testing::Uuid;
using testing::WaitUntil;
using testing::WsClient;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kAck[] = R"({"EventRecorded":{"success":true,"error":null}})";
constexpr char kAll[] = R"({"flow_ids":null,"actor_ids":null,"event_types":null,"status_filter":null})";

std::string SubscribeJson(const std::string& filters) {
  return fmt::format(R"({{"Subscribe":{{"filters":{}}}}})", filters);
}

std::string FlowFilter(const std::string& flow) {
  return fmt::format(R"({{"flow_ids":["{}"],"actor_ids":null,"event_types":null,"status_filter":null}})", flow);
}

// The event_id of an EventNotification push ("" when absent).
std::string PushedEventId(const std::string& json) {
  const std::string key = R"("event_id":")";
  size_t at = json.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  return json.substr(at, json.find('"', at) - at);
}

std::string PushedTraceId(const std::string& json) {
  const std::string key = R"({"EventNotification":{"trace_id":")";
  if (json.rfind(key, 0) != 0) return "";
  return json.substr(key.size(), 36);
}

// Marks every open descriptor close-on-exec. The cluster script starts
// nats-server as a daemon from this process: without it the daemon
// inherits the servers' and clients' sockets, keeps those connections open
// after both ends closed them, and each server's Stop waits out its drain.
void CloseOnExecAll() {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::atoi(entry.path().filename().c_str());
    if (fd > 2) fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
  }
}

std::string Event(const std::string& trace_id, uint64_t n) {
  return RecordEventJson(trace_id, testing::EventJson(Uuid(n, 77), "gen", R"("ActorStarted")"));
}

// ----- The message body and the subjects (no cluster needed) -----

TEST(ClusterBusFormat, MessageRoundTripsAndOtherVersionsAreRefused) {
  TraceInfo info{"flow.a", {schema::StatusCode::kFailed, "boom"}};
  schema::Event e;
  e.actor = "gen";
  e.type = schema::EventType::kDataFlow;
  e.to_actor = "proc";
  e.to_port = "in";
  std::string body = EncodeBusMessage(42, 7, &info, e, R"({"EventNotification":{}})");
  auto m = DecodeBusMessage(body);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->origin, 42u);
  EXPECT_EQ(m->seq, 7u);
  EXPECT_TRUE(m->trace_known);
  EXPECT_EQ(m->trace.flow_id, "flow.a");
  EXPECT_EQ(m->trace.status, info.status);
  EXPECT_EQ(m->event.actor, "gen");
  EXPECT_EQ(m->event.type, schema::EventType::kDataFlow);
  EXPECT_EQ(m->event.to_actor, "proc");
  EXPECT_EQ(m->event.to_port, "in");
  EXPECT_EQ(m->notification, R"({"EventNotification":{}})");

  auto unknown = DecodeBusMessage(EncodeBusMessage(1, 1, nullptr, e, "{}"));
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->trace_known);

  std::string v2 = body;
  v2[0] = 2;
  EXPECT_EQ(DecodeBusMessage(v2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBusMessage(body.substr(0, 20)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBusMessage("").status().code(), StatusCode::kInvalidArgument);
}

TEST(ClusterBusFormat, FlowTokensAreValidSubjectTokensAndInjective) {
  EXPECT_EQ(FlowSubjectToken("flow-1_A"), "flow-1_A");
  EXPECT_EQ(FlowSubjectToken("a.b"), "a~2Eb");
  EXPECT_EQ(FlowSubjectToken("a*>"), "a~2A~3E");
  EXPECT_EQ(FlowSubjectToken("~2E"), "~7E2E");  // '~' itself is escaped: no collision with "."
  EXPECT_EQ(FlowSubjectToken("a b"), "a~20b");
  EXPECT_EQ(FlowSubjectToken("\xC3\xA9"), "~C3~A9");
  EXPECT_EQ(FlowSubjectToken(""), "~");
  EXPECT_EQ(BusSubject("a.b"), "tracedb.ev.a~2Eb");
  std::set<std::string> tokens;
  for (const char* f : {"a.b", "a~2Eb", "a_b", "a-b", "", "~", "a b"}) tokens.insert(FlowSubjectToken(f));
  EXPECT_EQ(tokens.size(), 7u);
}

// ----- Two servers on one ClickHouse database, one NATS -----

class ClusterBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shards_ = TestShardUrls();
    nats_ = TestNatsUrl();
    ASSERT_EQ(shards_.size(), 2u);
    ASSERT_FALSE(nats_.empty());
    db_ = std::make_unique<UniqueDatabase>("bus");
    ASSERT_TRUE(a_.Start(ConfigFor(nats_)).ok());
    ASSERT_TRUE(b_.Start(ConfigFor(nats_)).ok());
    ASSERT_TRUE(WaitUntil([&] { return Connected(a_) && Connected(b_); })) << "servers did not connect to NATS";
  }

  void TearDown() override {
    b_.Stop();
    a_.Stop();
    db_.reset();
  }

  Config ConfigFor(const std::string& nats) {
    Config c = TestServer::DefaultConfig();
    c.backend = "clickhouse";
    c.clickhouse_shards = {{shards_[0]}, {shards_[1]}};
    c.clickhouse_database = db_->name();
    c.cluster_nats = nats;
    return c;
  }

  static bool Connected(TestServer& s) { return MetricValue(s.port(), "tracedb_cluster_connected") == 1; }

  static std::string Call(WsClient* c, const std::string& request) {
    EXPECT_TRUE(c->SendText(request).ok());
    auto r = c->ReceiveJson();
    EXPECT_TRUE(r.ok()) << r.status().ToString() << " after " << request.substr(0, 200);
    return r.ok() ? *r : "";
  }

  // Records `events` (pipelined) and expects every ack.
  static void RecordAll(WsClient* c, const std::vector<std::string>& events) {
    auto replies = c->Pipeline(events, events.size());
    ASSERT_TRUE(replies.ok()) << replies.status().ToString();
    for (const auto& r : *replies) ASSERT_EQ(r.data, kAck);
  }

  // Receives `n` pushes; their event ids in arrival order, per trace.
  static std::map<std::string, std::vector<std::string>> ReceivePushes(WsClient* c, size_t n) {
    std::map<std::string, std::vector<std::string>> by_trace;
    for (size_t i = 0; i < n; ++i) {
      auto m = c->ReceiveJson(std::chrono::seconds(10));
      EXPECT_TRUE(m.ok()) << "push " << i << " of " << n << " missing";
      if (!m.ok()) break;
      EXPECT_THAT(*m, StartsWith(R"({"EventNotification":)"));
      by_trace[PushedTraceId(*m)].push_back(PushedEventId(*m));
    }
    return by_trace;
  }

  // Nothing more arrives: after a pause, a Ping's Pong is the next message.
  static void ExpectNoMorePushes(WsClient* c, const char* who) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(Call(c, R"("Ping")"), R"("Pong")") << who << " got an unexpected push";
  }

  std::vector<std::string> shards_;
  std::string nats_;
  std::unique_ptr<UniqueDatabase> db_;
  TestServer a_;
  TestServer b_;
};

TEST_F(ClusterBusTest, SubscriberOnBGetsExactlyTheEventsOfItsFlowRecordedOnA) {
  EXPECT_EQ(MetricValue(b_.port(), "tracedb_cluster_subscribed"), 0);  // no subscribers: no bus subscription
  auto sub = b_.Connect();
  ASSERT_EQ(Call(sub.get(), SubscribeJson(FlowFilter("flow.x"))), kAck);
  EXPECT_EQ(MetricValue(b_.port(), "tracedb_cluster_subscribed"), 1);

  auto rec = a_.Connect();
  std::string x1 = Uuid(1), x2 = Uuid(2), y1 = Uuid(3);
  ASSERT_EQ(Call(rec.get(), StartTraceJson("flow.x", x1)).find("TraceStarted"), 2u);
  ASSERT_EQ(Call(rec.get(), StartTraceJson("flow.x", x2)).find("TraceStarted"), 2u);
  ASSERT_EQ(Call(rec.get(), StartTraceJson("flow.y", y1)).find("TraceStarted"), 2u);
  std::vector<std::string> events;
  std::map<std::string, std::vector<std::string>> want;
  for (uint64_t i = 0; i < 90; ++i) {
    const std::string& trace = i % 3 == 0 ? x1 : i % 3 == 1 ? x2 : y1;
    events.push_back(Event(trace, i));
    if (trace != y1) want[trace].push_back(Uuid(i, 77));
  }
  RecordAll(rec.get(), events);
  EXPECT_EQ(ReceivePushes(sub.get(), 60), want);  // each once, in order per trace
  ExpectNoMorePushes(sub.get(), "B's flow.x subscriber");
  EXPECT_EQ(MetricValue(b_.port(), "tracedb_cluster_received_total"), 90);  // the filter ran on B
  EXPECT_EQ(MetricValue(b_.port(), "tracedb_cluster_lost_total"), 0);
  EXPECT_EQ(MetricValue(a_.port(), "tracedb_cluster_published_total"), 90);

  ASSERT_EQ(Call(sub.get(), R"("Unsubscribe")"), kAck);
  EXPECT_TRUE(WaitUntil([&] { return MetricValue(b_.port(), "tracedb_cluster_subscribed") == 0; }));
}

TEST_F(ClusterBusTest, SubscriberOnAGetsAsOwnEventsOnceNotAgainThroughNats) {
  auto local = a_.Connect();
  auto remote = b_.Connect();
  ASSERT_EQ(Call(local.get(), SubscribeJson(kAll)), kAck);
  ASSERT_EQ(Call(remote.get(), SubscribeJson(kAll)), kAck);
  EXPECT_EQ(MetricValue(a_.port(), "tracedb_cluster_subscribed"), 1);  // A listens to the bus too

  auto rec = a_.Connect();
  std::string t = Uuid(10);
  ASSERT_EQ(Call(rec.get(), StartTraceJson("flow-own", t)).find("TraceStarted"), 2u);
  std::vector<std::string> events;
  std::vector<std::string> ids;
  for (uint64_t i = 100; i < 120; ++i) {
    events.push_back(Event(t, i));
    ids.push_back(Uuid(i, 77));
  }
  RecordAll(rec.get(), events);
  std::map<std::string, std::vector<std::string>> want{{t, ids}};
  EXPECT_EQ(ReceivePushes(local.get(), ids.size()), want);
  EXPECT_EQ(ReceivePushes(remote.get(), ids.size()), want);
  ExpectNoMorePushes(local.get(), "A's subscriber");
  ExpectNoMorePushes(remote.get(), "B's subscriber");
  EXPECT_EQ(MetricValue(a_.port(), "tracedb_cluster_received_total"), 0);  // its own never come back
  EXPECT_EQ(MetricValue(a_.port(), "tracedb_notifications_sent_total"), 20);
}

TEST_F(ClusterBusTest, NatsOutageKeepsIngestCountsTheDropAndDeliveryResumes) {
  auto sub = b_.Connect();
  ASSERT_EQ(Call(sub.get(), SubscribeJson(FlowFilter("flow-o"))), kAck);
  auto rec = a_.Connect();
  std::string t = Uuid(20);
  ASSERT_EQ(Call(rec.get(), StartTraceJson("flow-o", t)).find("TraceStarted"), 2u);
  RecordAll(rec.get(), {Event(t, 200)});
  EXPECT_EQ(ReceivePushes(sub.get(), 1), (std::map<std::string, std::vector<std::string>>{{t, {Uuid(200, 77)}}}));

  ASSERT_TRUE(StopNode("nats").ok());
  ASSERT_TRUE(WaitUntil([&] { return MetricValue(a_.port(), "tracedb_cluster_disconnects_total") == 1; }));
  ASSERT_TRUE(WaitUntil([&] { return MetricValue(b_.port(), "tracedb_cluster_disconnects_total") == 1; }));
  EXPECT_EQ(MetricValue(a_.port(), "tracedb_cluster_connected"), 0);
  // Ingest does not depend on the bus: acked, stored, readiness unchanged.
  std::vector<std::string> during;
  for (uint64_t i = 201; i < 206; ++i) during.push_back(Event(t, i));
  RecordAll(rec.get(), during);
  EXPECT_EQ(a_.EventCount(t), 6u);
  auto ready = HttpGet(a_.port(), "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(MetricValue(a_.port(), "tracedb_cluster_publish_dropped_total"), 5);

  CloseOnExecAll();
  ASSERT_TRUE(StartNode("nats").ok());
  ASSERT_TRUE(WaitUntil([&] { return Connected(a_) && Connected(b_); }, std::chrono::seconds(30)));
  EXPECT_EQ(MetricValue(a_.port(), "tracedb_cluster_reconnects_total"), 1);
  EXPECT_EQ(MetricValue(b_.port(), "tracedb_cluster_reconnects_total"), 1);
  // B's subscription is restored by the library on reconnect; until the
  // NATS server has it, A's events may still miss B: record one at a time
  // until one is pushed. (No receive timeouts: a timed-out read closes the
  // test client.)
  const int64_t sent_before = MetricValue(b_.port(), "tracedb_notifications_sent_total");
  bool resumed = false;
  for (uint64_t n = 300; n < 330 && !resumed; ++n) {
    RecordAll(rec.get(), {Event(t, n)});
    resumed = WaitUntil([&] { return MetricValue(b_.port(), "tracedb_notifications_sent_total") > sent_before; },
                        std::chrono::seconds(1));
  }
  ASSERT_TRUE(resumed) << "delivery did not resume after NATS came back";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Pushes queued before the Pong are sent before it: drain the probes.
  ASSERT_TRUE(sub->SendText(R"("Ping")").ok());
  for (auto m = sub->ReceiveJson(); m.ok() && *m != R"("Pong")"; m = sub->ReceiveJson()) {
    EXPECT_EQ(PushedTraceId(*m), t);
  }
  std::vector<std::string> after;
  std::vector<std::string> ids;
  for (uint64_t i = 400; i < 410; ++i) {
    after.push_back(Event(t, i));
    ids.push_back(Uuid(i, 77));
  }
  RecordAll(rec.get(), after);
  EXPECT_EQ(ReceivePushes(sub.get(), ids.size()), (std::map<std::string, std::vector<std::string>>{{t, ids}}));
  ExpectNoMorePushes(sub.get(), "B's subscriber after the outage");
  // None of the 5 events of the outage was delivered late.
  EXPECT_EQ(MetricValue(a_.port(), "tracedb_cluster_publish_dropped_total"), 5);
}

TEST_F(ClusterBusTest, EmptyNatsMakesNoConnectionAndKeepsTheLocalPath) {
  TestServer solo;
  ASSERT_TRUE(solo.Start(ConfigFor("")).ok());
  EXPECT_EQ(solo.server->service().cluster_bus(), nullptr);
  EXPECT_EQ(MetricValue(solo.port(), "tracedb_cluster_connected"), -1);  // no cluster families at all
  auto sub = solo.Connect();
  ASSERT_EQ(Call(sub.get(), SubscribeJson(kAll)), kAck);
  // A's events do not reach a server without the bus.
  auto rec = a_.Connect();
  std::string t = Uuid(30);
  ASSERT_EQ(Call(rec.get(), StartTraceJson("flow-solo", t)).find("TraceStarted"), 2u);
  RecordAll(rec.get(), {Event(t, 500)});
  ExpectNoMorePushes(sub.get(), "the server without cluster.nats");
  // Its own events still reach its subscriber, through the local path.
  auto own = solo.Connect();
  std::string u = Uuid(31);
  ASSERT_EQ(Call(own.get(), StartTraceJson("flow-solo", u)).find("TraceStarted"), 2u);
  RecordAll(own.get(), {Event(u, 501)});
  EXPECT_EQ(ReceivePushes(sub.get(), 1), (std::map<std::string, std::vector<std::string>>{{u, {Uuid(501, 77)}}}));
  EXPECT_TRUE(sub->Close().ok());
  EXPECT_TRUE(own->Close().ok());
  solo.Stop();
}

TEST_F(ClusterBusTest, UnreachableNatsAtStartStillServesAndStaysReady) {
  TestServer lone;
  Config c = ConfigFor("nats://127.0.0.1:1");
  ASSERT_TRUE(lone.Start(c).ok());
  ASSERT_NE(lone.server->service().cluster_bus(), nullptr);
  EXPECT_EQ(MetricValue(lone.port(), "tracedb_cluster_connected"), 0);
  auto ready = HttpGet(lone.port(), "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
  auto c1 = lone.Connect();
  ASSERT_EQ(Call(c1.get(), SubscribeJson(kAll)), kAck);  // acked without the bus
  std::string t = Uuid(40);
  ASSERT_EQ(Call(c1.get(), StartTraceJson("flow-lone", t)).find("TraceStarted"), 2u);
  ASSERT_TRUE(c1->SendText(Event(t, 600)).ok());
  auto push = c1->ReceiveJson();
  ASSERT_TRUE(push.ok());
  EXPECT_THAT(*push, HasSubstr(Uuid(600, 77)));  // the local path still delivers
  EXPECT_EQ(*c1->ReceiveJson(), kAck);
  EXPECT_EQ(lone.EventCount(t), 1u);
  EXPECT_EQ(MetricValue(lone.port(), "tracedb_cluster_publish_dropped_total"), 1);
  EXPECT_TRUE(c1->Close().ok());
  lone.Stop();
}

}  // namespace
}  // namespace tracedb::server
