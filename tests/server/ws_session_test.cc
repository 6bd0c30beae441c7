// The WebSocket session (server/ws_session.cc): replies framed many per
// write (server/ws_frames.h), requests served on the parse pool, and what
// must not change with either: one reply per request, in request order,
// errors per request, Beast's own writes (permessage-deflate) on the same
// connection.

#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/server/server_test_util.h"

namespace tracedb::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kAck[] = R"({"EventRecorded":{"success":true,"error":null}})";

class WsSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = ts_.Start(TestServer::DefaultConfig());
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override { ts_.Stop(); }

  TestServer ts_;
};

// What one request of a pipeline must be answered with.
struct Expect {
  Expect(std::string request, std::string reply_prefix, std::string reply_has = "")
      : request(std::move(request)), reply_prefix(std::move(reply_prefix)), reply_has(std::move(reply_has)) {}
  std::string request;
  std::string reply_prefix;  // the reply starts with it
  std::string reply_has;     // and contains it ("" : no check)
};

std::string GetTraceJson(const std::string& request_id, const std::string& trace_id) {
  return fmt::format(R"({{"GetTrace":{{"request_id":"{}","trace_id":"{}"}}}})", request_id, trace_id);
}

// Checks `replies` against `expects`, index by index (the order is the
// request order).
void CheckReplies(const std::vector<Expect>& expects, const std::vector<WsMessage>& replies) {
  ASSERT_EQ(replies.size(), expects.size());
  for (size_t i = 0; i < expects.size(); ++i) {
    ASSERT_FALSE(replies[i].binary) << "reply " << i;
    ASSERT_THAT(replies[i].data, StartsWith(expects[i].reply_prefix))
        << "reply " << i << " to " << expects[i].request.substr(0, 120);
    if (!expects[i].reply_has.empty()) {
      ASSERT_THAT(replies[i].data, HasSubstr(expects[i].reply_has)) << "reply " << i;
    }
  }
}

TEST_F(WsSessionTest, PipelinedMixedRequestsGetOneReplyEachInOrderWithErrorsPerRequest) {
  auto c = ts_.Connect();
  std::vector<Expect> expects;
  for (int t = 0; t < 20; ++t) {
    std::string trace = Uuid(t, 300);
    expects.push_back({StartTraceJson("flow-ws", trace), fmt::format(R"({{"TraceStarted":{{"trace_id":"{}"}}}})", trace)});
    for (int e = 0; e < 200; ++e) {
      expects.push_back({RecordEventJson(trace, EventJson(Uuid(t * 1000 + e, 301), "a", R"("MessageSent")")), kAck});
      // Errors and other replies between the acks, each answered in its place.
      if (e % 50 == 7) expects.push_back({"{not json", R"({"Error":{"message":"Invalid message format)"});
      if (e % 50 == 19) {
        expects.push_back({R"({"RecordEvent":{"trace_id":"not-a-uuid","event":{}}})",
                           R"({"Error":{"message":"Invalid message format)"});
      }
      if (e % 50 == 31) expects.push_back({R"("Ping")", R"("Pong")"});
      if (e % 50 == 43) {
        std::string id = Uuid(t * 1000 + e, 302);
        expects.push_back({GetTraceJson(id, Uuid(999999, 303)), R"({"TraceData":)", fmt::format(R"("request_id":"{}")", id)});
      }
    }
  }
  std::vector<std::string> requests;
  for (const Expect& x : expects) requests.push_back(x.request);
  auto replies = c->Pipeline(requests, requests.size());
  ASSERT_TRUE(replies.ok()) << replies.status().ToString();
  CheckReplies(expects, *replies);
  for (int t = 0; t < 20; ++t) EXPECT_EQ(ts_.EventCount(Uuid(t, 300)), 200u) << "trace " << t;
  // Counted once a framed write returned, which may be after the client read it.
  EXPECT_TRUE(WaitUntil([&] { return ts_.server->service().metrics().messages_sent.load() == requests.size(); }))
      << ts_.server->service().metrics().messages_sent.load() << " of " << requests.size() << " counted as sent";
}

// Replies of every frame length encoding (7-bit, 16-bit and 64-bit
// lengths) written together in one burst read back intact.
TEST_F(WsSessionTest, RepliesOfEveryFrameSizeInOneBurstReadBackIntact) {
  auto c = ts_.Connect();
  std::string big = Uuid(1, 310), small = Uuid(2, 310);
  std::vector<std::string> setup;
  for (int e = 0; e < 600; ++e) setup.push_back(RecordEventJson(big, EventJson(Uuid(e, 311), "actor-big", R"("MessageSent")")));
  setup.push_back(RecordEventJson(small, EventJson(Uuid(1, 312), "actor-small", R"("MessageSent")")));
  auto acks = c->Pipeline(setup, setup.size());
  ASSERT_TRUE(acks.ok()) << acks.status().ToString();
  for (const WsMessage& m : *acks) ASSERT_EQ(m.data, kAck);

  std::vector<Expect> expects;
  for (int k = 0; k < 30; ++k) {
    expects.push_back({R"("Ping")", R"("Pong")"});                                          // < 126 bytes
    expects.push_back({GetTraceJson(Uuid(k, 313), small), R"({"TraceData":)", "actor-small"});  // < 64 KiB
    expects.push_back({GetTraceJson(Uuid(k, 314), big), R"({"TraceData":)", "actor-big"});      // > 64 KiB
  }
  std::vector<std::string> requests;
  for (const Expect& x : expects) requests.push_back(x.request);
  auto replies = c->Pipeline(requests, requests.size());
  ASSERT_TRUE(replies.ok()) << replies.status().ToString();
  CheckReplies(expects, *replies);
  EXPECT_LT((*replies)[1].data.size(), 65536u);
  EXPECT_GT((*replies)[1].data.size(), 125u);
  EXPECT_GT((*replies)[2].data.size(), 65535u);
  for (size_t i = 2; i < replies->size(); i += 3) {
    // Every big reply carries all 600 events.
    size_t events = 0;
    for (size_t at = (*replies)[i].data.find("actor-big"); at != std::string::npos;
         at = (*replies)[i].data.find("actor-big", at + 1)) {
      ++events;
    }
    EXPECT_EQ(events, 600u) << "reply " << i;
  }
}

// With permessage-deflate Beast writes the replies (compressed); they stay
// in order beside its pings and the close.
TEST_F(WsSessionTest, PipelinedAcksInOrderWithPermessageDeflate) {
  auto c = ts_.Connect(/*deflate=*/true);
  ASSERT_TRUE(c->deflate_negotiated());
  std::vector<Expect> expects;
  std::string trace = Uuid(1, 320);
  for (int e = 0; e < 2000; ++e) {
    expects.push_back({RecordEventJson(trace, EventJson(Uuid(e, 321), "a", R"("MessageSent")")), kAck});
    if (e % 100 == 50) expects.push_back({"[1,2,3]", R"({"Error":{"message":"Invalid message format)"});
  }
  std::vector<std::string> requests;
  for (const Expect& x : expects) requests.push_back(x.request);
  auto replies = c->Pipeline(requests, requests.size());
  ASSERT_TRUE(replies.ok()) << replies.status().ToString();
  CheckReplies(expects, *replies);
  EXPECT_EQ(ts_.EventCount(trace), 2000u);
  EXPECT_TRUE(c->Close().ok());
}

// Requests still queued for the parse pool when the client goes away are
// served before the connection's traces are finalized: nothing read is
// lost, and the trace ends.
TEST_F(WsSessionTest, RequestsReadBeforeADisconnectAreServedThenTheTraceIsFinalized) {
  std::string trace = Uuid(1, 330);
  {
    auto c = ts_.Connect();
    ASSERT_TRUE(c->SendText(StartTraceJson("flow-gone", trace)).ok());
    for (int e = 0; e < 500; ++e) {
      ASSERT_TRUE(c->SendText(RecordEventJson(trace, EventJson(Uuid(e, 331), "a", R"("MessageSent")"))).ok());
    }
    ASSERT_TRUE(c->SendText(R"("Ping")").ok());
    // The Pong follows every earlier reply; then drop the connection.
    for (int k = 0; k < 502; ++k) {
      auto m = c->Receive();
      ASSERT_TRUE(m.ok()) << m.status().ToString();
    }
    c->Abort();
  }
  ASSERT_TRUE(WaitUntil([&] { return ts_.server->service().metrics().traces_finalized.load() == 1; }))
      << "the trace was not finalized";
  EXPECT_EQ(ts_.EventCount(trace), 500u);
}

}  // namespace
}  // namespace tracedb::server::testing
