#include "server/subscriptions.h"

#include <gtest/gtest.h>

namespace tracedb::server {
namespace {

namespace reflow = ingest::reflow;

schema::Event Ev(std::string actor, schema::EventType type, std::string to_actor = "", std::string to_port = "") {
  schema::Event e;
  e.actor = std::move(actor);
  e.type = type;
  e.to_actor = std::move(to_actor);
  e.to_port = std::move(to_port);
  return e;
}

TEST(SubscriptionFilters, NullMatchesEverythingEmptyMatchesNothing) {
  reflow::SubscriptionFilters f;
  TraceInfo info{"flow", {}};
  EXPECT_TRUE(FiltersMatch(f, Ev("a", schema::EventType::kActorCreated), &info));
  f.actor_ids = std::vector<std::string>{};
  EXPECT_FALSE(FiltersMatch(f, Ev("a", schema::EventType::kActorCreated), &info));
}

TEST(SubscriptionFilters, DataFlowMatchesTargetExactly) {
  reflow::SubscriptionFilters f;
  f.event_types = std::vector<reflow::TraceEventType>{{schema::EventType::kDataFlow, "p", "in"}};
  EXPECT_TRUE(FiltersMatch(f, Ev("a", schema::EventType::kDataFlow, "p", "in"), nullptr));
  EXPECT_FALSE(FiltersMatch(f, Ev("a", schema::EventType::kDataFlow, "p", "out"), nullptr));
  EXPECT_FALSE(FiltersMatch(f, Ev("a", schema::EventType::kMessageSent), nullptr));
}

TEST(SubscriptionFilters, FlowAndStatusUseTheTraceAndAnd) {
  reflow::SubscriptionFilters f;
  f.flow_ids = std::vector<std::string>{"unknown"};
  f.status_filter = std::vector<schema::ExecutionStatus>{{schema::StatusCode::kFailed, "x"}};
  EXPECT_TRUE(FiltersNeedTrace(f));
  TraceInfo failed_x{"unknown", {schema::StatusCode::kFailed, "x"}};
  TraceInfo failed_y{"unknown", {schema::StatusCode::kFailed, "y"}};
  TraceInfo other_flow{"f", {schema::StatusCode::kFailed, "x"}};
  auto e = Ev("a", schema::EventType::kActorFailed);
  EXPECT_TRUE(FiltersMatch(f, e, &failed_x));
  EXPECT_FALSE(FiltersMatch(f, e, &failed_y));
  EXPECT_FALSE(FiltersMatch(f, e, &other_flow));
  EXPECT_FALSE(FiltersMatch(f, e, nullptr));
  f.actor_ids = std::vector<std::string>{"b"};
  EXPECT_FALSE(FiltersMatch(f, e, &failed_x));
}

}  // namespace
}  // namespace tracedb::server
