#include "schema/record_codec.h"

#include <gtest/gtest.h>

#include <limits>

namespace tracedb::schema {
namespace {

Id128 Fill(uint8_t b) {
  Id128 id;
  id.fill(b);
  return id;
}

Event EmptyReflowEvent() {
  Event e;
  e.reflow = ReflowEventData{};
  return e;
}

Event MaximalReflowEvent() {
  Event e;
  e.type = EventType::kDataFlow;
  e.actor = "génerator-😀";
  e.to_actor = std::string("proc\0essor", 10);
  e.to_port = "in";
  ReflowEventData r;
  r.port = "";
  MessageSnapshot m;
  m.message_type = "SensorReading";
  m.size_bytes = std::numeric_limits<uint64_t>::max();
  m.checksum = "sha256:" + std::string(64, 'f');
  m.serialized_data = {0, 1, 2, 254, 255};
  m.has_g2_fields = true;
  m.content_codec = "zstd";
  m.content_format_version = std::numeric_limits<uint32_t>::max();
  m.stored_bytes = 0;
  r.message = m;
  r.state_diff = StateDiff{std::vector<uint8_t>{}, std::vector<uint8_t>(1000, 7), StateDiffType::kMemoryOnly};
  r.error = "boom \"quoted\" \n newline";
  r.metrics.execution_time_ns = std::numeric_limits<uint64_t>::max();
  r.metrics.memory_usage_bytes = 0;
  r.metrics.cpu_usage_percent = std::numeric_limits<float>::max();
  r.metrics.queue_depth = 1;
  r.metrics.throughput_msgs_per_sec = -0.0;
  r.custom_attributes_json = R"({"nested":{"a":[1,2,{"b":null}]},"ü":"✓"})";
  r.causality.parent_event_id = Fill(0xab);
  r.causality.root_cause_event_id = Fill(0xcd);
  r.causality.dependency_chain = {Fill(1), Fill(2), Fill(3)};
  r.causality.span_id = "span-日本";
  e.reflow = r;
  return e;
}

TEST(RecordCodec, EventRoundTripsEmptyMaximalAndUnicode) {
  for (const Event& e : {EmptyReflowEvent(), MaximalReflowEvent()}) {
    std::string bytes = EncodeEventRecord(e);
    Event back;
    ASSERT_TRUE(DecodeEventRecord(bytes, &back).ok());
    EXPECT_EQ(back, e);
  }
}

TEST(RecordCodec, AbsentAndEmptyOptionalsStayDistinct) {
  Event e = EmptyReflowEvent();
  e.reflow->state_diff = StateDiff{std::nullopt, {}, StateDiffType::kFull};
  Event back;
  ASSERT_TRUE(DecodeEventRecord(EncodeEventRecord(e), &back).ok());
  ASSERT_TRUE(back.reflow->state_diff.has_value());
  EXPECT_FALSE(back.reflow->state_diff->before.has_value());
  EXPECT_FALSE(back.reflow->port.has_value());
  EXPECT_FALSE(back.reflow->metrics.queue_depth.has_value());
  EXPECT_FALSE(back.reflow->causality.parent_event_id.has_value());
}

TEST(RecordCodec, OperonxAndOtelEventsRoundTrip) {
  Event op;
  op.type = EventType::kOperonxOther;
  op.actor = "";
  op.operonx = OperonxEvent{"future_kind", std::nullopt, {}, R"({"x":1})"};
  Event span;
  span.type = EventType::kSpan;
  OtelSpan s;
  s.span_id = {1, 2, 3, 4, 5, 6, 7, 8};
  s.parent_span_id = std::array<uint8_t, 8>{8, 7, 6, 5, 4, 3, 2, 1};
  s.name = "GET /";
  s.kind = 2;
  s.status_code = 2;
  s.end_ns = 99;
  AttributeValue v;
  v.kind = AttributeValue::Kind::kInt;
  v.i = -5;
  s.attributes.emplace_back("http.status_code", v);
  span.otel = s;
  for (const Event& e : {op, span}) {
    Event back;
    ASSERT_TRUE(DecodeEventRecord(EncodeEventRecord(e), &back).ok());
    EXPECT_EQ(back, e);
  }
}

TEST(RecordCodec, TraceRecordRoundTrips) {
  Trace t;
  t.source = Source::kOperonx;
  t.flow_id = "flöw";
  t.execution_id = Fill(9);
  t.version = FlowVersion{1, 2, 3, std::nullopt, -1};
  t.start_ns = std::numeric_limits<int64_t>::min();
  t.end_ns = 0;
  t.status = ExecutionStatus{StatusCode::kFailed, "timeout"};
  t.metadata.user_id = "";
  t.metadata.tags = {{"a", "1"}, {"", ""}};
  t.external_id = "req-1";
  t.attributes_json = R"({"partial":false})";
  TraceBookkeeping bk{7, 100, 3, {"a", "b"}, 55, true, 2, 4, 1, "g.a: boom"};
  Trace back;
  TraceBookkeeping bk_back;
  ASSERT_TRUE(DecodeTraceRecord(EncodeTraceRecord(t, bk), &back, &bk_back).ok());
  EXPECT_EQ(back, t);
  EXPECT_EQ(bk_back, bk);
  TimestampNs start = 1;
  ASSERT_TRUE(PeekTraceStart(EncodeTraceRecord(t, bk), &start));
  EXPECT_EQ(start, t.start_ns);

  Trace empty;
  ASSERT_TRUE(DecodeTraceRecord(EncodeTraceRecord(empty, {}), &back, nullptr).ok());
  EXPECT_EQ(back, empty);
}

TEST(RecordCodec, ColumnsRoundTrip) {
  Columns c;
  c.trace_start_ns = 5;
  c.timestamp_ns = {1, 2};
  c.seq = {0, 1};
  c.event_fp = {10, 11};
  c.type = {1, 10};
  c.actor = {0, 1};
  c.actors = {"a", "ß"};
  c.duration_ns = {UINT64_MAX, 3};
  c.size_bytes = {4, UINT64_MAX};
  c.status = {0, 2};
  Columns back;
  ASSERT_TRUE(DecodeColumns(EncodeColumns(c), &back).ok());
  EXPECT_EQ(back, c);
}

TEST(RecordCodec, CorruptBytesAreAnErrorNotACrash) {
  std::string good = EncodeEventRecord(MaximalReflowEvent());
  Event e;
  Trace t;
  Columns c;
  for (size_t cut : {size_t{0}, size_t{3}, good.size() / 2}) {
    std::string bad = good.substr(0, cut);
    EXPECT_EQ(DecodeEventRecord(bad, &e).code(), ::tracedb::StatusCode::kCorruption);
    EXPECT_EQ(DecodeTraceRecord(bad, &t, nullptr).code(), ::tracedb::StatusCode::kCorruption);
    EXPECT_EQ(DecodeColumns(bad, &c).code(), ::tracedb::StatusCode::kCorruption);
  }
  std::string flipped = good;
  for (size_t i = 0; i < flipped.size(); i += 7) flipped[i] = static_cast<char>(~flipped[i]);
  Status s = DecodeEventRecord(flipped, &e);  // either corruption or some decoded value; never a crash
  EXPECT_TRUE(s.ok() || s.code() == ::tracedb::StatusCode::kCorruption);
}

}  // namespace
}  // namespace tracedb::schema
