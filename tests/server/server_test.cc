// End-to-end tests: a real server on 127.0.0.1 (free port) driven by a
// WebSocket client, for every request variant of the Reflow protocol.

#include <atomic>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/reflow/reflow_json.h"
#include "schema/uuid.h"
#include "ingest/pipeline/decompress.h"
#include "tests/server/server_test_util.h"

namespace tracedb::server::testing {
namespace {

namespace reflow = ingest::reflow;
using ::testing::HasSubstr;
using ingest::Codec;
using ingest::CompressMessage;
using ::testing::StartsWith;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith(TestServer::DefaultConfig()); }
  void TearDown() override { ts_.Stop(); }

  void StartWith(const Config& c) {
    ts_.Stop();
    Status s = ts_.Start(c);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Sends `request` and returns the next message as JSON.
  std::string Call(WsClient* c, const std::string& request) {
    Status s = c->SendText(request);
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto r = c->ReceiveJson();
    EXPECT_TRUE(r.ok()) << r.status().ToString() << " after " << request.substr(0, 200);
    return r.ok() ? *r : "";
  }

  reflow::TracingResponse Parse(const std::string& json) {
    auto r = reflow::ParseTracingResponse(json);
    EXPECT_TRUE(r.ok()) << r.status().ToString() << ": " << json.substr(0, 300);
    return r.ok() ? *r : reflow::TracingResponse{reflow::Error{"unparsed", std::nullopt}};
  }

  std::optional<schema::Trace> GetTrace(WsClient* c, const std::string& id) {
    auto r = Parse(Call(c, fmt::format(R"({{"GetTrace":{{"trace_id":"{}"}}}})", id)));
    auto* d = std::get_if<reflow::TraceData>(&r);
    EXPECT_NE(d, nullptr);
    return d ? d->trace : std::nullopt;
  }

  TestServer ts_;
};

constexpr char kAck[] = R"({"EventRecorded":{"success":true,"error":null}})";

TEST_F(ServerTest, PingVariantsAndBadPings) {
  auto c = ts_.Connect();
  EXPECT_EQ(Call(c.get(), R"("Ping")"), R"("Pong")");
  EXPECT_EQ(Call(c.get(), R"({"Ping":null})"), R"("Pong")");
  EXPECT_THAT(Call(c.get(), R"({"Ping":{}})"), StartsWith(R"({"Error":{"message":"Invalid message format: )"));
  EXPECT_THAT(Call(c.get(), R"("ping")"), StartsWith(R"({"Error":{"message":"Invalid message format: )"));
  EXPECT_EQ(Call(c.get(), R"("Ping")"), R"("Pong")");  // still open
}

TEST_F(ServerTest, StartTraceInventsOrEchoesTheId) {
  auto c = ts_.Connect();
  auto r = Parse(Call(c.get(), StartTraceJson("flow-a")));
  auto* started = std::get_if<reflow::TraceStarted>(&r);
  ASSERT_NE(started, nullptr);
  EXPECT_EQ(started->trace_id[6] >> 4, 4);  // a v4 UUID
  EXPECT_TRUE(GetTrace(c.get(), schema::FormatUuid(started->trace_id)).has_value());
  std::string id = Uuid(7);
  EXPECT_EQ(Call(c.get(), StartTraceJson("flow-a", id)), fmt::format(R"({{"TraceStarted":{{"trace_id":"{}"}}}})", id));
}

TEST_F(ServerTest, TraceLifecycleStartRecordGetEndQuery) {
  auto c = ts_.Connect();
  std::string id = Uuid(1);
  Call(c.get(), StartTraceJson("life", id));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Call(c.get(), RecordEventJson(id, EventJson(Uuid(100 + i, 1), "actor" + std::to_string(i),
                                                          R"("ActorCreated")",
                                                          fmt::format("2025-07-10T12:00:0{}Z", i)))),
              kAck);
  }
  auto t = GetTrace(c.get(), id);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->status.code, schema::StatusCode::kRunning);
  EXPECT_EQ(t->flow_id, "life");
  ASSERT_EQ(t->events.size(), 3u);
  EXPECT_EQ(t->events[0].actor, "actor0");
  EXPECT_EQ(t->events[2].actor, "actor2");
  EXPECT_EQ(Call(c.get(), fmt::format(R"({{"EndTrace":{{"trace_id":"{}","status":{{"Failed":{{"error":"boom"}}}}}}}})", id)),
            kAck);
  t = GetTrace(c.get(), id);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->status, (schema::ExecutionStatus{schema::StatusCode::kFailed, "boom"}));
  EXPECT_TRUE(t->end_ns.has_value());
  auto q = Parse(Call(c.get(), R"({"QueryTraces":{"query":{"flow_id":"life"}}})"));
  auto* res = std::get_if<reflow::QueryResults>(&q);
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->total_count, 1u);
  ASSERT_EQ(res->traces.size(), 1u);
  EXPECT_EQ(res->traces[0].events.size(), 3u);
}

TEST_F(ServerTest, RecordEventForUnknownTraceCreatesALazyTrace) {
  auto c = ts_.Connect();
  std::string id = Uuid(2);
  EXPECT_EQ(Call(c.get(), RecordEventJson(id, EventJson(Uuid(1, 2), "gen", R"("MessageSent")"))), kAck);
  auto t = GetTrace(c.get(), id);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->flow_id, "unknown");
  EXPECT_EQ(t->events.size(), 1u);
}

TEST_F(ServerTest, GetTraceMissingIsNullAndEchoesRequestId) {
  auto c = ts_.Connect();
  EXPECT_EQ(Call(c.get(), fmt::format(R"({{"GetTrace":{{"trace_id":"{}"}}}})", Uuid(99))), R"({"TraceData":{"trace":null}})");
  std::string rid = Uuid(5, 7);
  EXPECT_EQ(Call(c.get(), fmt::format(R"({{"GetTrace":{{"request_id":"{}","trace_id":"{}"}}}})", rid, Uuid(99))),
            fmt::format(R"({{"TraceData":{{"request_id":"{}","trace":null}}}})", rid));
}

TEST_F(ServerTest, QueryTracesFiltersOrderOffsetLimitAndTrueTotal) {
  auto c = ts_.Connect();
  // Five lazy traces in flow "unknown" with distinct start times and actors.
  for (int i = 0; i < 5; ++i) {
    Call(c.get(), RecordEventJson(Uuid(10 + i), EventJson(Uuid(i, 3), i % 2 ? "odd-actor" : "even-actor",
                                                          R"("ActorStarted")",
                                                          fmt::format("2025-07-10T12:00:0{}Z", i))));
  }
  Call(c.get(), fmt::format(R"({{"EndTrace":{{"trace_id":"{}","status":"Completed"}}}})", Uuid(11)));
  auto query = [&](const std::string& q) {
    auto r = Parse(Call(c.get(), fmt::format(R"({{"QueryTraces":{{"query":{}}}}})", q)));
    auto* res = std::get_if<reflow::QueryResults>(&r);
    EXPECT_NE(res, nullptr);
    return res ? *res : reflow::QueryResults{};
  };
  auto all = query("{}");
  EXPECT_EQ(all.total_count, 5u);
  ASSERT_EQ(all.traces.size(), 5u);
  EXPECT_EQ(schema::FormatUuid(all.traces[0].trace_id), Uuid(14));  // newest first
  EXPECT_EQ(schema::FormatUuid(all.traces[4].trace_id), Uuid(10));
  auto page = query(R"({"limit":2,"offset":1})");
  EXPECT_EQ(page.total_count, 5u);
  ASSERT_EQ(page.traces.size(), 2u);
  EXPECT_EQ(schema::FormatUuid(page.traces[0].trace_id), Uuid(13));
  auto offset_only = query(R"({"offset":3})");
  EXPECT_EQ(offset_only.traces.size(), 2u);
  EXPECT_EQ(query(R"({"actor_filter":"odd"})").total_count, 2u);
  EXPECT_EQ(query(R"({"actor_filter":"actor"})").total_count, 5u);
  EXPECT_EQ(query(R"({"status":"Completed"})").total_count, 1u);
  EXPECT_EQ(query(R"({"status":"Running"})").total_count, 4u);
  EXPECT_EQ(query(R"({"status":{"Failed":{"error":"x"}}})").total_count, 0u);
  EXPECT_EQ(query(R"({"time_range":["2025-07-10T12:00:01Z","2025-07-10T12:00:03Z"]})").total_count, 3u);
  EXPECT_EQ(query(R"({"flow_id":"unknown","limit":0})").total_count, 5u);
  EXPECT_EQ(query(R"({"flow_id":"nope"})").total_count, 0u);
  std::string rid = Uuid(1, 9);
  EXPECT_THAT(Call(c.get(), fmt::format(R"({{"QueryTraces":{{"request_id":"{}","query":{{"flow_id":"nope"}}}}}})", rid)),
              HasSubstr(rid));
}

TEST_F(ServerTest, GetFlowVersionsListsVersions) {
  auto c = ts_.Connect();
  Call(c.get(), StartTraceJson("versioned", Uuid(20)));
  std::string r = Call(c.get(), R"({"GetFlowVersions":{"flow_id":"versioned"}})");
  EXPECT_THAT(r, StartsWith(R"({"FlowVersions":{"versions":[{"major":1,"minor":0,"patch":0)"));
  EXPECT_EQ(Call(c.get(), R"({"GetFlowVersions":{"flow_id":"none"}})"), R"({"FlowVersions":{"versions":[]}})");
}

TEST_F(ServerTest, LegacyStoreTraceRoundTripsAndLegacyPaths) {
  auto c = ts_.Connect();
  std::ifstream in(std::string(TRACEDB_SHARED_DIR) + "/data/reflow-wire-samples.ndjson");
  ASSERT_TRUE(in) << "missing wire samples";
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 29u);
  // Lines 25-29: StoreTrace with each ExecutionStatus (same trace id).
  for (size_t i = 24; i < 29; ++i) {
    auto req = reflow::ParseTraceMessage(lines[i]);
    ASSERT_TRUE(req.ok()) << req.status().ToString();
    const auto& stored = std::get<reflow::StoreTrace>(*req).trace;
    std::string id = schema::FormatUuid(stored.trace_id);
    EXPECT_EQ(Call(c.get(), lines[i]), fmt::format(R"({{"TraceStored":{{"trace_id":"{}"}}}})", id));
    auto t = GetTrace(c.get(), id);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(reflow::PrintTrace(*t), reflow::PrintTrace(stored)) << "line " << i + 1;
  }
  EXPECT_EQ(Call(c.get(), lines[11]),
            R"({"Error":{"message":"Legacy subscription format - use TracingRequest::Subscribe instead"}})");
  std::string m = Call(c.get(), R"("GetMetrics")");
  EXPECT_THAT(m, StartsWith(R"({"Metrics":{"data":{"connections_active":1,"connections_total":)"));
  for (const char* key : {"messages_received", "messages_sent", "errors_total", "traces_stored", "traces_queried"}) {
    EXPECT_THAT(m, HasSubstr(key));
  }
}

TEST_F(ServerTest, SubscribersGetOnlyMatchingNotificationsPushBeforeAck) {
  auto recorder = ts_.Connect();
  auto by_actor = ts_.Connect();
  auto by_dataflow = ts_.Connect();
  auto by_flow = ts_.Connect();
  auto by_status = ts_.Connect();
  auto nothing = ts_.Connect();
  auto everything = ts_.Connect();
  auto sub = [&](WsClient* c, const std::string& filters) {
    EXPECT_EQ(Call(c, fmt::format(R"({{"Subscribe":{{"filters":{}}}}})", filters)), kAck);
  };
  sub(by_actor.get(), R"({"flow_ids":null,"actor_ids":["gen"],"event_types":null,"status_filter":null})");
  sub(by_dataflow.get(),
      R"({"flow_ids":null,"actor_ids":null,"event_types":[{"DataFlow":{"to_actor":"proc","to_port":"in"}}],"status_filter":null})");
  sub(by_flow.get(), R"({"flow_ids":["flow-s"],"actor_ids":null,"event_types":null,"status_filter":null})");
  sub(by_status.get(), R"({"flow_ids":null,"actor_ids":null,"event_types":null,"status_filter":[{"Failed":{"error":"x"}}]})");
  sub(nothing.get(), R"({"flow_ids":[],"actor_ids":null,"event_types":null,"status_filter":null})");
  sub(everything.get(), R"({"flow_ids":null,"actor_ids":null,"event_types":null,"status_filter":null})");
  sub(recorder.get(), R"({"flow_ids":null,"actor_ids":["gen"],"event_types":null,"status_filter":null})");

  std::string t1 = Uuid(30), t2 = Uuid(31);
  Call(recorder.get(), StartTraceJson("flow-s", t1));
  // e1: gen, DataFlow to proc/in, trace flow-s.
  std::string e1 = RecordEventJson(t1, EventJson(Uuid(1, 30), "gen", R"({"DataFlow":{"to_actor":"proc","to_port":"in"}})"));
  ASSERT_TRUE(recorder->SendText(e1).ok());
  auto push = recorder->ReceiveJson();
  ASSERT_TRUE(push.ok());
  EXPECT_THAT(*push, StartsWith(R"({"EventNotification":{"trace_id":")" + t1));  // push before own ack
  EXPECT_EQ(*recorder->ReceiveJson(), kAck);
  // e2: other actor, DataFlow to proc/out, lazy trace (flow "unknown").
  std::string e2 = RecordEventJson(t2, EventJson(Uuid(2, 30), "other", R"({"DataFlow":{"to_actor":"proc","to_port":"out"}})"));
  EXPECT_EQ(Call(recorder.get(), e2), kAck);
  // e3: in t2 after it failed with "x".
  Call(recorder.get(), fmt::format(R"({{"EndTrace":{{"trace_id":"{}","status":{{"Failed":{{"error":"x"}}}}}}}})", t2));
  std::string e3 = RecordEventJson(t2, EventJson(Uuid(3, 30), "other", R"("ActorFailed")"));
  EXPECT_EQ(Call(recorder.get(), e3), kAck);
  auto expect_pushes = [&](WsClient* c, std::vector<std::string> event_ids, const char* who) {
    for (const auto& id : event_ids) {
      auto m = c->ReceiveJson(std::chrono::seconds(5));
      ASSERT_TRUE(m.ok()) << who << " missing push " << id;
      EXPECT_THAT(*m, StartsWith(R"({"EventNotification":)")) << who;
      EXPECT_THAT(*m, HasSubstr(id)) << who;
    }
    // Nothing else: a Ping's Pong is the very next message.
    EXPECT_EQ(Call(c, R"("Ping")"), R"("Pong")") << who << " got an unexpected push";
  };
  expect_pushes(everything.get(), {Uuid(1, 30), Uuid(2, 30), Uuid(3, 30)}, "everything");
  // After Unsubscribe, `everything` gets nothing more.
  EXPECT_EQ(Call(everything.get(), R"("Unsubscribe")"), kAck);
  std::string e4 = RecordEventJson(t1, EventJson(Uuid(4, 30), "gen", R"("ActorCompleted")"));
  ASSERT_TRUE(recorder->SendText(e4).ok());
  EXPECT_THAT(*recorder->ReceiveJson(), HasSubstr(Uuid(4, 30)));
  EXPECT_EQ(*recorder->ReceiveJson(), kAck);

  expect_pushes(by_actor.get(), {Uuid(1, 30), Uuid(4, 30)}, "by_actor");
  expect_pushes(by_dataflow.get(), {Uuid(1, 30)}, "by_dataflow");
  expect_pushes(by_flow.get(), {Uuid(1, 30), Uuid(4, 30)}, "by_flow");
  expect_pushes(by_status.get(), {Uuid(3, 30)}, "by_status");
  expect_pushes(nothing.get(), {}, "nothing");
  expect_pushes(everything.get(), {}, "everything after Unsubscribe");
}

TEST_F(ServerTest, PipelinedTenThousandRecordEventsAreAckedInOrder) {
  auto c = ts_.Connect();
  std::string trace = Uuid(40);
  std::vector<std::string> reqs;
  constexpr int kEvents = 10000;
  for (int i = 0; i < kEvents; ++i) {
    reqs.push_back(RecordEventJson(trace, EventJson(Uuid(i, 40), "a", R"("MessageSent")")));
    if (i % 1000 == 999) {
      reqs.push_back(fmt::format(R"({{"GetTrace":{{"request_id":"{}","trace_id":"{}"}}}})", Uuid(i, 41), Uuid(999)));
    }
  }
  auto replies = c->Pipeline(reqs, reqs.size());
  ASSERT_TRUE(replies.ok()) << replies.status().ToString();
  ASSERT_EQ(replies->size(), reqs.size());
  int events = 0;
  for (size_t k = 0; k < reqs.size(); ++k) {
    const std::string& r = (*replies)[k].data;
    if (reqs[k].rfind(R"({"GetTrace")", 0) == 0) {
      EXPECT_EQ(r, fmt::format(R"({{"TraceData":{{"request_id":"{}","trace":null}}}})", Uuid(events - 1, 41)))
          << "reply " << k << " out of order";
    } else {
      ++events;
      ASSERT_EQ(r, kAck) << "reply " << k;
    }
  }
  auto t = GetTrace(c.get(), trace);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->events.size(), static_cast<size_t>(kEvents));
  EXPECT_EQ(ts_.engine->counters().events_written.load(), static_cast<uint64_t>(kEvents));
  EXPECT_GT(ts_.server->service().metrics().write_batches.load(), 0u);
}

TEST_F(ServerTest, BackpressureWithTinyQueuesLosesNothing) {
  Config cfg = TestServer::DefaultConfig();
  cfg.max_inflight_per_connection = 8;
  cfg.ingest_queue_capacity = 4;
  cfg.ingest_max_batch = 3;
  StartWith(cfg);
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(ts_.Connect());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      std::vector<std::string> reqs;
      for (int k = 0; k < 2000; ++k) {
        reqs.push_back(RecordEventJson(Uuid(50 + i), EventJson(Uuid(k, 50 + i), "a", R"("MessageSent")")));
      }
      auto replies = clients[i]->Pipeline(reqs, reqs.size());
      if (!replies.ok()) {
        ADD_FAILURE() << "client " << i << ": " << replies.status().ToString();
        return;
      }
      for (const auto& r : *replies) {
        if (r.data == kAck) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6000);
  EXPECT_EQ(ts_.engine->counters().events_written.load(), 6000u);
  EXPECT_GT(ts_.server->service().metrics().backpressure_pauses.load(), 0u);
}

TEST_F(ServerTest, CompressedBinaryRequestsZstdLz4GzipAndRaw) {
  auto c = ts_.Connect();
  for (auto algo : {Codec::kZstd, Codec::kLz4, Codec::kGzip}) {
    ASSERT_TRUE(c->SendBinary(CompressMessage(R"("Ping")", algo, 3)).ok());
    EXPECT_EQ(*c->ReceiveJson(), R"("Pong")");
    std::string ev = RecordEventJson(Uuid(60), EventJson(Uuid(static_cast<int>(algo), 60), "z", R"("ActorCreated")"));
    ASSERT_TRUE(c->SendBinary(CompressMessage(ev, algo, 3)).ok());
    EXPECT_EQ(*c->ReceiveJson(), kAck);
  }
  ASSERT_TRUE(c->SendBinary(R"("Ping")").ok());  // uncompressed JSON in a Binary frame
  EXPECT_EQ(*c->ReceiveJson(), R"("Pong")");
  ASSERT_TRUE(c->SendBinary(std::string("\x28\xb5\x2f\xfd garbage", 12)).ok());
  EXPECT_THAT(*c->ReceiveJson(), StartsWith(R"({"Error":{"message":"Invalid message format: Binary frame: )"));
  EXPECT_EQ(Call(c.get(), R"("Ping")"), R"("Pong")");
  EXPECT_EQ(GetTrace(c.get(), Uuid(60))->events.size(), 3u);
}

// compression.replies = "always" (upstream's behaviour): every connection
// gets large replies as zstd Binary frames.
TEST_F(ServerTest, LargeRepliesAreBinaryZstdSmallOnesText) {
  Config cfg = TestServer::DefaultConfig();
  cfg.compression_replies = "always";
  StartWith(cfg);
  auto c = ts_.Connect();
  for (int i = 0; i < 10; ++i) Call(c.get(), RecordEventJson(Uuid(70), EventJson(Uuid(i, 70), "big", R"("ActorCreated")")));
  ASSERT_TRUE(c->SendText(fmt::format(R"({{"GetTrace":{{"trace_id":"{}"}}}})", Uuid(70))).ok());
  auto m = c->Receive();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->binary);
  EXPECT_EQ(static_cast<uint8_t>(m->data[0]), 0x28);  // zstd magic
  auto json = ingest::DecompressFrame(m->data, 1 << 30);
  ASSERT_TRUE(json.ok());
  EXPECT_THAT(*json, StartsWith(R"({"TraceData":{"trace":{)"));
  ASSERT_TRUE(c->SendText(R"("Ping")").ok());
  EXPECT_FALSE(c->Receive()->binary);
  // Closed, so that restarting the server need not wait out its drain.
  EXPECT_TRUE(c->Close().ok());

  cfg = TestServer::DefaultConfig();
  cfg.compression_replies = "always";
  cfg.compression_enabled = false;
  StartWith(cfg);
  auto c2 = ts_.Connect();
  for (int i = 0; i < 10; ++i) Call(c2.get(), RecordEventJson(Uuid(70), EventJson(Uuid(i, 70), "big", R"("ActorCreated")")));
  ASSERT_TRUE(c2->SendText(fmt::format(R"({{"GetTrace":{{"trace_id":"{}"}}}})", Uuid(70))).ok());
  m = c2->Receive();
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->binary);
  EXPECT_GT(m->data.size(), 1024u);
}

// The default, compression.replies = "opt-in": the G1 client
// (reflow_tracing_protocol 0.2.1) drops Binary frames, so a connection gets
// compressed replies only once it asked: it sent a Binary frame, or
// connected with ?compress=1.
TEST_F(ServerTest, LargeRepliesAreTextUnlessTheClientOptedIn) {
  auto g1 = ts_.Connect();
  for (int i = 0; i < 10; ++i) Call(g1.get(), RecordEventJson(Uuid(71), EventJson(Uuid(i, 71), "big", R"("ActorCreated")")));
  const std::string get = fmt::format(R"({{"GetTrace":{{"trace_id":"{}"}}}})", Uuid(71));
  ASSERT_TRUE(g1->SendText(get).ok());
  auto m = g1->Receive();
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->binary);  // a text-only client reads its large reply
  EXPECT_GT(m->data.size(), 1024u);
  EXPECT_THAT(m->data, StartsWith(R"({"TraceData":{"trace":{)"));
  // The same client sends one Binary frame: from then on large replies are
  // compressed (a client that writes Binary frames reads them).
  ASSERT_TRUE(g1->SendBinary(get).ok());
  m = g1->Receive();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->binary);
  EXPECT_EQ(static_cast<uint8_t>(m->data[0]), 0x28);  // zstd magic
  EXPECT_TRUE(g1->Close().ok());
  // Asked for in the URL.
  auto asked = ts_.Connect(false, "/?compress=1");
  ASSERT_TRUE(asked->SendText(get).ok());
  m = asked->Receive();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->binary);
  auto json = ingest::DecompressFrame(m->data, 1 << 30);
  ASSERT_TRUE(json.ok());
  EXPECT_THAT(*json, StartsWith(R"({"TraceData":{"trace":{)"));
  EXPECT_TRUE(asked->Close().ok());
}

TEST_F(ServerTest, PermessageDeflateIsNegotiated) {
  auto c = ts_.Connect(/*deflate=*/true);
  EXPECT_TRUE(c->deflate_negotiated());
  EXPECT_EQ(Call(c.get(), R"("Ping")"), R"("Pong")");
  EXPECT_EQ(Call(c.get(), RecordEventJson(Uuid(80), EventJson(Uuid(1, 80), "d", R"("ActorCreated")"))), kAck);
  auto plain = ts_.Connect(false);
  EXPECT_FALSE(plain->deflate_negotiated());
}

TEST_F(ServerTest, BadInputGetsAnErrorNamingTheProblemAndTheConnectionStaysOpen) {
  Config cfg = TestServer::DefaultConfig();
  cfg.max_message_bytes = 64 * 1024;
  StartWith(cfg);
  auto c = ts_.Connect();
  struct Case {
    std::string input;
    std::string expect;  // substring of the error message
  };
  std::vector<Case> cases = {
      {"{not json", "Invalid message format: "},
      {R"({"Frobnicate":{}})", "Frobnicate"},
      {R"({"GetTrace":{"trace_id":42}})", "trace_id"},
      {R"({"GetTrace":{}})", "trace_id"},
      {R"({"GetFlowVersions":{"flow_id":7}})", "flow_id"},
      {R"({"RecordEvent":{"trace_id":"not-a-uuid","event":{}}})", "Invalid message format: "},
      {R"([1,2,3])", "Invalid message format: "},
      {"", "Invalid message format: "},
      {std::string(100 * 1024, ' ') + R"("Ping")", "exceeds the limit of 65536 bytes"},
  };
  for (const auto& k : cases) {
    std::string r = Call(c.get(), k.input);
    EXPECT_THAT(r, StartsWith(R"({"Error":{"message":"Invalid message format)")) << k.input.substr(0, 80);
    EXPECT_THAT(r, HasSubstr(k.expect)) << k.input.substr(0, 80);
    EXPECT_EQ(Call(c.get(), R"("Ping")"), R"("Pong")") << "connection broken after " << k.input.substr(0, 80);
  }
  EXPECT_GE(ts_.server->service().metrics().invalid_messages.load(), cases.size());
}

TEST_F(ServerTest, DisconnectWithoutEndTraceFinalizesTraces) {
  std::string started = Uuid(90), lazy = Uuid(91), ended = Uuid(92);
  {
    auto a = ts_.Connect();
    Call(a.get(), StartTraceJson("fin", started));
    Call(a.get(), RecordEventJson(started, EventJson(Uuid(1, 90), "x", R"("ActorCreated")")));
    Call(a.get(), RecordEventJson(lazy, EventJson(Uuid(2, 90), "x", R"("ActorCreated")")));
    Call(a.get(), StartTraceJson("fin", ended));
    Call(a.get(), fmt::format(R"({{"EndTrace":{{"trace_id":"{}","status":"Cancelled"}}}})", ended));
    a->Abort();  // no Close frame, no EndTrace
  }
  auto b = ts_.Connect();
  std::optional<schema::Trace> t;
  ASSERT_TRUE(WaitUntil([&] {
    t = GetTrace(b.get(), started);
    return t && t->end_ns;
  })) << "trace not finalized";
  EXPECT_EQ(t->status.code, schema::StatusCode::kCompleted);
  auto l = GetTrace(b.get(), lazy);
  ASSERT_TRUE(l && l->end_ns);
  EXPECT_EQ(GetTrace(b.get(), ended)->status.code, schema::StatusCode::kCancelled);  // not overwritten
  EXPECT_EQ(ts_.server->service().metrics().traces_finalized.load(), 2u);
}

TEST_F(ServerTest, FinalizeStatusIsConfigurable) {
  Config cfg = TestServer::DefaultConfig();
  cfg.finalize_status = "Cancelled";
  StartWith(cfg);
  {
    auto a = ts_.Connect();
    Call(a.get(), StartTraceJson("fin", Uuid(93)));
    ASSERT_TRUE(a->Close().ok());
  }
  auto b = ts_.Connect();
  std::optional<schema::Trace> t;
  ASSERT_TRUE(WaitUntil([&] {
    t = GetTrace(b.get(), Uuid(93));
    return t && t->end_ns;
  })) << "trace not finalized";
  EXPECT_EQ(t->status.code, schema::StatusCode::kCancelled);
}

TEST_F(ServerTest, RestartFindsAllAcknowledgedData) {
  TempDir dir;
  Config cfg = TestServer::DefaultConfig();
  cfg.backend = "rocksdb";
  cfg.data_dir = dir.path.string();
  StartWith(cfg);
  std::vector<std::string> reqs;
  for (int i = 0; i < 500; ++i) reqs.push_back(RecordEventJson(Uuid(100 + i % 5), EventJson(Uuid(i, 100), "r", R"("ActorCreated")")));
  {
    auto c = ts_.Connect();
    Call(c.get(), StartTraceJson("durable", Uuid(100)));
    auto replies = c->Pipeline(reqs, reqs.size());
    ASSERT_TRUE(replies.ok());
    for (const auto& r : *replies) ASSERT_EQ(r.data, kAck);
  }
  ts_.Stop();
  StartWith(cfg);
  auto c = ts_.Connect();
  size_t total = 0;
  for (int t = 0; t < 5; ++t) {
    auto trace = GetTrace(c.get(), Uuid(100 + t));
    ASSERT_TRUE(trace.has_value());
    total += trace->events.size();
  }
  EXPECT_EQ(total, 500u);
  EXPECT_EQ(GetTrace(c.get(), Uuid(100))->flow_id, "durable");
}

TEST_F(ServerTest, HttpEndpointsOnTheSamePort) {
  auto h = HttpGet(ts_.port(), "/healthz");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, R"({"status":"ok"})");
  auto r = HttpGet(ts_.port(), "/readyz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  auto c = ts_.Connect(false, "/any/path/works");
  EXPECT_EQ(Call(c.get(), RecordEventJson(Uuid(110), EventJson(Uuid(1, 110), "m", R"("ActorCreated")"))), kAck);
  auto m = HttpGet(ts_.port(), "/metrics");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->status, 200);
  EXPECT_THAT(m->content_type, StartsWith("text/plain; version=0.0.4"));
  EXPECT_THAT(m->body, HasSubstr("tracedb_events_ingested_total 1\n"));
  EXPECT_THAT(m->body, HasSubstr("tracedb_connections_open 1\n"));
  EXPECT_THAT(m->body, HasSubstr("tracedb_request_duration_seconds_bucket{type=\"RecordEvent\",le=\"+Inf\"} 1\n"));
  EXPECT_THAT(m->body, HasSubstr("tracedb_rocksdb_memtable_bytes "));
  EXPECT_THAT(m->body, HasSubstr("tracedb_write_batch_duration_seconds_count 1\n"));  // the one RecordEvent
  auto nf = HttpGet(ts_.port(), "/nope");
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nf->content_type, "application/json");
  EXPECT_THAT(nf->body, HasSubstr(R"("code":"NotFound")"));
}

TEST_F(ServerTest, GracefulStopSendsPendingRepliesAndFinalizes) {
  TempDir dir;
  Config cfg = TestServer::DefaultConfig();
  cfg.backend = "rocksdb";
  cfg.data_dir = dir.path.string();
  // The server writes through a gate the test holds, so that acks stay
  // pending while Stop runs.
  ts_.Stop();
  ts_.config = cfg;
  auto base = OpenEngine(cfg);
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  auto owned = std::make_unique<GatedEngine>(std::move(base).value());
  GatedEngine* gate = owned.get();
  ts_.engine = std::move(owned);
  auto started = Server::Start(cfg, ts_.engine.get());
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  ts_.server = std::move(started).value();

  auto c = ts_.Connect();
  // An idle client, connected after `c`: Stop tells its session to drain
  // after c's (sessions in id order, one I/O thread), so its close frame
  // shows that c's session is draining too.
  auto probe = ts_.Connect();
  std::string id = Uuid(120);
  EXPECT_EQ(Call(c.get(), StartTraceJson("stop", id)), fmt::format(R"({{"TraceStarted":{{"trace_id":"{}"}}}})", id));
  gate->CloseGate();
  constexpr int kPending = 3;
  for (int i = 0; i < kPending; ++i) {
    ASSERT_TRUE(c->SendText(RecordEventJson(id, EventJson(Uuid(i, 120), "s", R"("ActorCreated")"))).ok());
  }
  // Every request was read (so none is refused as arriving after the drain
  // began) and the writer is held: no ack can have been sent.
  auto& metrics = ts_.server->service().metrics();
  ASSERT_TRUE(WaitUntil([&] { return metrics.messages_received.load() == 1 + kPending; }));
  ASSERT_TRUE(gate->WaitForBlockedWrites(1));
  EXPECT_LE(metrics.messages_sent.load(), 1u);  // the TraceStarted at most

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    ts_.server->Stop();
    stopped = true;
  });
  auto probe_end = probe->Receive(std::chrono::seconds(20));
  ASSERT_FALSE(probe_end.ok());
  EXPECT_THAT(probe_end.status().message(), HasSubstr("closed")) << "the drain did not begin";
  EXPECT_FALSE(stopped.load()) << "Stop returned with replies pending";
  gate->OpenGate();
  // Every pending ack arrives, in order, then the close (going away).
  for (int i = 0; i < kPending; ++i) {
    auto m = c->ReceiveJson(std::chrono::seconds(20));
    ASSERT_TRUE(m.ok()) << "pending reply " << i << " lost: " << m.status().ToString();
    EXPECT_EQ(*m, kAck);
  }
  auto end = c->Receive(std::chrono::seconds(20));
  ASSERT_FALSE(end.ok());
  EXPECT_THAT(end.status().message(), HasSubstr("closed"));
  stopper.join();
  ts_.Stop();

  StartWith(cfg);
  auto c2 = ts_.Connect();
  auto t = GetTrace(c2.get(), id);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->events.size(), static_cast<size_t>(kPending));
  EXPECT_TRUE(t->end_ns.has_value());  // finalized during shutdown
}

}  // namespace
}  // namespace tracedb::server::testing
