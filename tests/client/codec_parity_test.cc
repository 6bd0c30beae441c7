// The client's enums and the server's model agree: every client EventType
// and ExecutionStatus, encoded by the client (client/cpp/codec.h), is parsed
// by the server's Reflow codec (ingest/reflow/reflow_json.h) into the model
// value of the same meaning (schema/model.h). A type added on one side only
// fails here.

#include <gtest/gtest.h>

#include <variant>

#include "client/cpp/codec.h"
#include "ingest/reflow/reflow_json.h"
#include "schema/model.h"

namespace tracedb::client {
namespace {

namespace reflow = ingest::reflow;

// The server's reading of one client request.
reflow::TracingRequest Parse(const internal::RawRequest& raw) {
  std::string json = internal::Encode(raw);
  auto parsed = reflow::ParseRequest(json);
  EXPECT_TRUE(parsed.ok()) << json << ": " << parsed.status().ToString();
  if (!parsed.ok()) return reflow::Ping{};
  EXPECT_TRUE(std::holds_alternative<reflow::TracingRequest>(*parsed)) << json;
  if (!std::holds_alternative<reflow::TracingRequest>(*parsed)) return reflow::Ping{};
  return std::get<reflow::TracingRequest>(*parsed);
}

TEST(CodecParity, EveryClientEventTypeIsTheModelsTypeOfTheSameNumber) {
  int covered = 0;
  // The client's enum is Reflow's TraceEventType: 1..11, as in the model.
  for (int n = static_cast<int>(EventType::kActorCreated); n <= static_cast<int>(EventType::kNetworkEvent); ++n) {
    SCOPED_TRACE(n);
    internal::RecordEventRequest r;
    r.trace_id = TraceId::Random();
    r.event.event_id = Uuid::Random();
    r.event.root_cause_event_id = r.event.event_id;
    r.event.timestamp_ns = 1'752'148'800'000'000'000;
    r.event.type = static_cast<EventType>(n);
    r.event.actor_id = "a";
    if (r.event.type == EventType::kDataFlow) {
      r.event.to_actor = "b";
      r.event.to_port = "in";
    }
    internal::RawRequest raw;
    raw.body = r;
    auto req = Parse(raw);
    ASSERT_TRUE(std::holds_alternative<reflow::RecordEvent>(req));
    EXPECT_EQ(static_cast<int>(std::get<reflow::RecordEvent>(req).event.type), n);
    ++covered;
  }
  EXPECT_EQ(covered, 11);
  // The model's Reflow range ends where the client's does.
  EXPECT_EQ(static_cast<int>(schema::EventType::kNetworkEvent), static_cast<int>(EventType::kNetworkEvent));
  EXPECT_EQ(static_cast<int>(schema::EventType::kActorCreated), static_cast<int>(EventType::kActorCreated));
}

TEST(CodecParity, EveryClientExecutionStatusIsTheModelsStatus) {
  const std::pair<ExecutionStatus::Code, schema::StatusCode> kPairs[] = {
      {ExecutionStatus::Code::kPending, schema::StatusCode::kPending},
      {ExecutionStatus::Code::kRunning, schema::StatusCode::kRunning},
      {ExecutionStatus::Code::kCompleted, schema::StatusCode::kCompleted},
      {ExecutionStatus::Code::kFailed, schema::StatusCode::kFailed},
      {ExecutionStatus::Code::kCancelled, schema::StatusCode::kCancelled},
  };
  for (const auto& [client_code, model_code] : kPairs) {
    SCOPED_TRACE(static_cast<int>(client_code));
    internal::EndTraceRequest r;
    r.trace_id = TraceId::Random();
    r.status.code = client_code;
    if (client_code == ExecutionStatus::Code::kFailed) r.status.error = "boom";
    internal::RawRequest raw;
    raw.body = r;
    auto req = Parse(raw);
    ASSERT_TRUE(std::holds_alternative<reflow::EndTrace>(req));
    const schema::ExecutionStatus& got = std::get<reflow::EndTrace>(req).status;
    EXPECT_EQ(got.code, model_code);
    if (client_code == ExecutionStatus::Code::kFailed) {
      EXPECT_EQ(got.error, "boom");
    }
  }
}

}  // namespace
}  // namespace tracedb::client
