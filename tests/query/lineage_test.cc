// Message lineage, an event's causality chain and a trace's critical path
// (query/lineage.h) over a hand-made Reflow pipeline: sensor -> validator ->
// store, carrying message m1, with an unrelated m2 and a side branch.

#include "query/lineage.h"

#include <gtest/gtest.h>

#include "query/query.h"
#include "schema/uuid.h"
#include "tests/query/query_test_util.h"

namespace tracedb::query {
namespace {

using testing::kT0;
constexpr int64_t kMs = 1'000'000;

std::string Raw(uint64_t n) {
  schema::Id128 id = testing::TraceId(n);
  return std::string(id.begin(), id.end());
}

std::string Uuid(uint64_t n) { return schema::FormatUuid(testing::TraceId(n)); }

schema::Event Ev(uint64_t n, std::optional<uint64_t> parent, std::string actor, schema::EventType type, int64_t ms,
                 std::string attrs = "{}") {
  schema::Event e;
  e.event_id = Raw(n);
  e.timestamp_ns = kT0 + ms * kMs;
  e.type = type;
  e.actor = std::move(actor);
  auto& r = e.reflow.emplace();
  r.custom_attributes_json = std::move(attrs);
  if (parent) r.causality.parent_event_id = testing::TraceId(*parent);
  r.causality.root_cause_event_id = testing::TraceId(101);
  return e;
}

class LineageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = testing::OpenMemoryEngine();
    using T = schema::EventType;
    engine::WriteBatch b;
    schema::Trace h;
    h.trace_id = testing::TraceId(1);
    h.flow_id = "pipeline";
    h.start_ns = kT0;
    b.StartTrace(h);
    // 101 starts the sensor; 102 sends m1 (its parent 101); 103 receives m1;
    // 104 forwards m1 to the store; 105 the store's completion (no id); 106 an
    // unrelated m2 from 101 later.
    b.AppendEvent(h.trace_id, Ev(101, std::nullopt, "sensor", T::kActorStarted, 0));
    schema::Event send = Ev(102, 101, "sensor", T::kDataFlow, 2, R"({"message_id":"m1"})");
    send.to_actor = "validator";
    send.to_port = "in";
    b.AppendEvent(h.trace_id, send);
    b.AppendEvent(h.trace_id, Ev(103, 102, "validator", T::kMessageReceived, 5, R"({"message_id":"m1"})"));
    schema::Event fwd = Ev(104, 103, "validator", T::kDataFlow, 9, R"({"message_id":"m1"})");
    fwd.to_actor = "store";
    fwd.to_port = "in";
    b.AppendEvent(h.trace_id, fwd);
    b.AppendEvent(h.trace_id, Ev(105, 104, "store", T::kActorCompleted, 30));
    b.AppendEvent(h.trace_id, Ev(106, 101, "sensor", T::kDataFlow, 12, R"({"message_id":"m2"})"));
    ASSERT_TRUE(engine_->Write(b).ok());
  }
  std::unique_ptr<engine::Engine> engine_;
};

TEST_F(LineageTest, HopsFollowCausalityWithLatencies) {
  auto json = LineageJson(engine_.get(), "m1", {});
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  // 101 (the ancestor that started it), then 102, 103, 104 carrying m1.
  std::vector<std::string> order;
  size_t pos = 0;
  while ((pos = json->find("\"event_id\":\"", pos)) != std::string::npos) {
    pos += 12;
    order.push_back(json->substr(pos, 36));
  }
  EXPECT_EQ(order, (std::vector<std::string>{Uuid(101), Uuid(102), Uuid(103), Uuid(104)})) << *json;
  EXPECT_NE(json->find(R"("matched":false,"latency_ns":null)"), std::string::npos) << *json;
  EXPECT_NE(json->find(R"("matched":true,"latency_ns":3000000)"), std::string::npos) << *json;  // 102 -> 103
  EXPECT_NE(json->find(R"("matched":true,"latency_ns":4000000)"), std::string::npos) << *json;  // 103 -> 104
  EXPECT_NE(json->find(R"("to_actor":"store")"), std::string::npos);
  auto none = LineageJson(engine_.get(), "nobody", {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, R"({"message_id":"nobody","traces":0,"hops":[]})");
}

TEST_F(LineageTest, CausalityChainRunsToTheRoot) {
  auto t = engine_->GetTrace(testing::TraceId(1));
  ASSERT_TRUE(t.ok() && t->has_value());
  auto json = CausalityJson(**t, Uuid(105));
  ASSERT_TRUE(json.ok());
  std::vector<size_t> at;
  for (uint64_t n : {105, 104, 103, 102, 101}) at.push_back(json->find("\"event_id\":\"" + Uuid(n)));
  for (size_t i = 0; i < at.size(); ++i) {
    ASSERT_NE(at[i], std::string::npos) << i << *json;
    if (i > 0) {
      EXPECT_LT(at[i - 1], at[i]);
    }
  }
  EXPECT_NE(json->find("\"root_cause_event_id\":\"" + Uuid(101)), std::string::npos);
  EXPECT_EQ(CausalityJson(**t, Uuid(999)).status().code(), StatusCode::kNotFound);
}

TEST_F(LineageTest, CriticalPathIsTheLongestChainByTime) {
  auto t = engine_->GetTrace(testing::TraceId(1));
  ASSERT_TRUE(t.ok() && t->has_value());
  std::string json = CriticalPathJson(**t);
  // 101 -> 102 -> 103 -> 104 -> 105: 30 ms (the m2 branch ends at 12 ms).
  EXPECT_NE(json.find(R"("duration_ns":30000000)"), std::string::npos) << json;
  EXPECT_EQ(json.find(Uuid(106)), std::string::npos);
  EXPECT_LT(json.find(Uuid(101)), json.find(Uuid(105)));
  schema::Trace lone;
  EXPECT_NE(CriticalPathJson(lone).find(R"("duration_ns":null,"events":[])"), std::string::npos);
}

}  // namespace
}  // namespace tracedb::query
