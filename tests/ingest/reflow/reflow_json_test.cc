#include "ingest/reflow/reflow_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "schema/json_writer.h"
#include "schema/uuid.h"
#include "tests/ingest/reflow/reflow_gen.h"
#include "tests/schema/json_value_util.h"

namespace tracedb::ingest::reflow {
namespace {

using schema::AppendJsonF64;
using schema::AppendJsonString;
using schema::FormatUuid;
using schema::kJsonPadding;
using schema::PerformanceMetrics;
using schema::ReflowEventData;
using schema::Source;
using schema::StateDiff;
using schema::StateDiffType;
using schema::StatusCode;
namespace testing = schema::testing;

using testing::JsonEqual;

std::vector<std::string> GoldenLines() {
  std::vector<std::string> lines;
  std::istringstream in(testing::ReadSharedFile("data/reflow-wire-samples.ndjson"));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// Lines 30-49 are replies; 1-29 are requests.
bool IsReply(size_t line_no) { return line_no >= 30; }

TEST(ReflowJsonGolden, EveryLineParsesAndPrintsBackEqual) {
  const auto lines = GoldenLines();
  ASSERT_EQ(lines.size(), 49u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t line_no = i + 1;
    SCOPED_TRACE("line " + std::to_string(line_no));
    std::string printed;
    if (IsReply(line_no)) {
      auto r = ParseResponse(lines[i]);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      printed = PrintResponse(*r);
    } else {
      auto r = ParseRequest(lines[i]);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      printed = PrintRequest(*r);
    }
    std::string why;
    EXPECT_TRUE(JsonEqual(lines[i], printed, &why)) << why << "\n" << printed;
    // Maps are printed in arrival order and custom_attributes verbatim, so
    // the golden lines (compact serde_json output) come back byte for byte.
    EXPECT_EQ(printed, lines[i]);
  }
}

TEST(ReflowJsonGolden, DispatchPicksTheUpstreamEnum) {
  const auto lines = GoldenLines();
  // Requests 1-8 are TracingRequest; 9 and 12-13 only parse as legacy; 10-11
  // (QueryTraces, GetTrace) have identical shapes and take the modern path.
  for (size_t line_no : {1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 14, 24}) {
    auto r = ParseRequest(lines[line_no - 1]);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(std::holds_alternative<TracingRequest>(*r)) << line_no;
  }
  for (size_t line_no : {9, 12, 13, 25, 29}) {
    auto r = ParseRequest(lines[line_no - 1]);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(std::holds_alternative<TraceMessage>(*r)) << line_no;
  }
  // Replies: legacy Error without code and Metrics are TraceResponse.
  for (size_t line_no : {45, 46, 48, 49}) {
    auto r = ParseResponse(lines[line_no - 1]);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(std::holds_alternative<TraceResponse>(*r)) << line_no;
  }
  for (size_t line_no : {30, 33, 34, 39, 47}) {
    auto r = ParseResponse(lines[line_no - 1]);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(std::holds_alternative<TracingResponse>(*r)) << line_no;
  }
}

constexpr char kE[] =
    R"({"event_id":"11111111-1111-4111-8111-111111111111","timestamp":"2025-07-10T12:00:01.500Z","event_type":{"DataFlow":{"to_actor":"processor","to_port":"in"}},"actor_id":"generator","data":{"port":"out","message":{"message_type":"String","size_bytes":7,"checksum":"","serialized_data":[]},"state_diff":null,"error":null,"performance_metrics":{"execution_time_ns":0,"memory_usage_bytes":0,"cpu_usage_percent":0.0,"queue_depth":0,"throughput_msgs_per_sec":0.0},"custom_attributes":{}},"causality":{"parent_event_id":null,"root_cause_event_id":"22222222-2222-4222-8222-222222222222","dependency_chain":[],"span_id":"3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"}})";

std::string T() {
  return std::string(
             R"({"trace_id":"5e1ec7ed-0000-4000-8000-000000000001","flow_id":"simple-example","execution_id":"e7ec0000-0000-4000-8000-000000000002","version":{"major":1,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"},"start_time":"2025-07-10T12:00:00.123456789Z","end_time":null,"status":"Running","events":[)") +
         kE +
         R"J(],"metadata":{"user_id":null,"session_id":null,"environment":"unknown","hostname":"unknown","process_id":4242,"thread_id":"ThreadId(7)","tags":{}}})J";
}

std::string Sub(std::string s) {
  for (size_t p; (p = s.find("@E")) != std::string::npos;) s.replace(p, 2, kE);
  for (size_t p; (p = s.find("@T")) != std::string::npos;) s.replace(p, 2, T());
  return s;
}

// The message shapes of reflow-protocol.md §5 and §6 print back byte for byte.
TEST(ReflowJsonShapes, ProtocolDocumentShapesRoundTrip) {
  const std::vector<std::string> requests = {
      R"({"StartTrace":{"flow_id":"simple-example","version":{"major":1,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}}})",
      R"({"RecordEvent":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001","event":@E}})",
      R"({"GetTrace":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001"}})",
      R"({"QueryTraces":{"query":{"flow_id":"simple-example","execution_id":null,"time_range":["2025-07-10T11:00:00Z","2025-07-10T13:00:00Z"],"status":{"Failed":{"error":"boom"}},"actor_filter":"gen","limit":50,"offset":0}}})",
      R"({"GetFlowVersions":{"flow_id":"simple-example"}})",
      R"("Ping")",
      R"({"Subscribe":{"filters":{"flow_ids":null,"actor_ids":["generator"],"event_types":["ActorCreated",{"DataFlow":{"to_actor":"processor","to_port":"in"}}],"status_filter":null}}})",
      R"("Unsubscribe")",
      R"({"StoreTrace":{"trace":@T}})",
      R"({"Subscribe":{"filter":{"flow_ids":null,"actor_ids":null,"event_types":null,"status_filter":null}}})",
      R"("GetMetrics")",
      // G2
      R"({"StartTrace":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001","flow_id":"simple-example","version":{"major":1,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}}})",
      R"({"EndTrace":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001","status":"Completed"}})",
      R"({"GetTrace":{"request_id":"07e90000-0000-4000-8000-000000000003","trace_id":"5e1ec7ed-0000-4000-8000-000000000001"}})",
      R"({"QueryTraces":{"request_id":"07e90000-0000-4000-8000-000000000003","query":{"flow_id":null,"execution_id":null,"time_range":null,"status":null,"actor_filter":null,"limit":null,"offset":null}}})",
  };
  for (const std::string& raw : requests) {
    const std::string json = Sub(raw);
    auto r = ParseRequest(json);
    ASSERT_TRUE(r.ok()) << json << "\n" << r.status().ToString();
    EXPECT_EQ(PrintRequest(*r), json);
  }
  const std::vector<std::string> replies = {
      R"({"TraceStarted":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001"}})",
      R"({"EventRecorded":{"success":true,"error":null}})",
      R"({"TraceData":{"trace":null}})",
      R"({"TraceData":{"trace":@T}})",
      R"({"QueryResults":{"traces":[@T],"total_count":1}})",
      R"({"FlowVersions":{"versions":[{"major":1,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}]}})",
      R"("Pong")",
      R"({"EventNotification":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001","event":@E}})",
      R"({"Error":{"message":"GetFlowVersions not implemented yet","code":"NotFound"}})",
      R"({"TraceStored":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001"}})",
      R"({"TracesFound":{"traces":[]}})",
      R"({"Error":{"message":"Invalid message format"}})",
      R"({"Metrics":{"data":{"connections_active":1,"connections_total":3,"messages_received":10,"messages_sent":10,"errors_total":0,"traces_stored":2,"traces_queried":1}}})",
      // G2
      R"({"TraceData":{"request_id":"07e90000-0000-4000-8000-000000000003","trace":null}})",
      R"({"QueryResults":{"request_id":"07e90000-0000-4000-8000-000000000003","traces":[],"total_count":0}})",
  };
  for (const std::string& raw : replies) {
    const std::string json = Sub(raw);
    auto r = ParseResponse(json);
    ASSERT_TRUE(r.ok()) << json << "\n" << r.status().ToString();
    EXPECT_EQ(PrintResponse(*r), json);
  }
}

TEST(ReflowJsonShapes, G2MessageSnapshotAndNullMetricsArePreserved) {
  std::string e = kE;
  const std::string g1_msg = R"({"message_type":"String","size_bytes":7,"checksum":"","serialized_data":[]})";
  const std::string g2_msg =
      R"({"message_type":"String","size_bytes":7,"checksum":"sha256:5aa762ae383fbb727af3c7a36d4940a5b8c40a989452d2304fc958ff3f354e7a","serialized_data":[],"content_codec":"none","content_format_version":1,"stored_bytes":null})";
  e.replace(e.find(g1_msg), g1_msg.size(), g2_msg);
  const std::string g1_metrics =
      R"({"execution_time_ns":0,"memory_usage_bytes":0,"cpu_usage_percent":0.0,"queue_depth":0,"throughput_msgs_per_sec":0.0})";
  const std::string g2_metrics =
      R"({"execution_time_ns":1500000,"memory_usage_bytes":null,"cpu_usage_percent":null,"queue_depth":2,"throughput_msgs_per_sec":null})";
  e.replace(e.find(g1_metrics), g1_metrics.size(), g2_metrics);
  auto ev = ParseEvent(e);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  const MessageSnapshot& m = *ev->reflow->message;
  EXPECT_TRUE(m.has_g2_fields);
  EXPECT_EQ(m.content_format_version, 1u);
  EXPECT_FALSE(m.stored_bytes.has_value());
  EXPECT_EQ(ev->reflow->metrics.execution_time_ns, 1500000u);
  EXPECT_FALSE(ev->reflow->metrics.cpu_usage_percent.has_value());
  EXPECT_EQ(PrintEvent(*ev), e);

  auto g1 = ParseEvent(kE);
  ASSERT_TRUE(g1.ok());
  EXPECT_FALSE(g1->reflow->message->has_g2_fields);
  EXPECT_EQ(PrintEvent(*g1), kE);

  // G2 defaults: serialized_data and every metric may be absent.
  std::string sparse = kE;
  sparse.replace(sparse.find(g1_msg), g1_msg.size(),
                 R"({"message_type":"String","size_bytes":7,"checksum":"","stored_bytes":12})");
  sparse.replace(sparse.find(g1_metrics), g1_metrics.size(), "{}");
  auto sp = ParseEvent(sparse);
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  EXPECT_TRUE(sp->reflow->message->has_g2_fields);
  EXPECT_EQ(sp->reflow->message->content_codec, "none");
  EXPECT_EQ(sp->reflow->message->stored_bytes, 12u);
  EXPECT_EQ(sp->reflow->metrics, PerformanceMetrics{});
}

TEST(ReflowJsonModel, RecordEventMapsOntoTheDataModel) {
  auto r = ParseTracingRequest(Sub(R"({"RecordEvent":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001","event":@E}})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& re = std::get<RecordEvent>(*r);
  EXPECT_EQ(FormatUuid(re.trace_id), "5e1ec7ed-0000-4000-8000-000000000001");
  const Event& e = re.event;
  ASSERT_EQ(e.event_id.size(), 16u);
  EXPECT_EQ(static_cast<uint8_t>(e.event_id[0]), 0x11);
  EXPECT_EQ(e.timestamp_ns, 1752148801500000000LL);
  EXPECT_EQ(e.type, EventType::kDataFlow);
  EXPECT_EQ(e.actor, "generator");
  EXPECT_EQ(e.to_actor, "processor");
  EXPECT_EQ(e.to_port, "in");
  EXPECT_EQ(e.seq, 0u);
  ASSERT_TRUE(e.reflow.has_value());
  EXPECT_FALSE(e.operonx.has_value());
  EXPECT_EQ(e.reflow->port, "out");
  EXPECT_EQ(e.reflow->custom_attributes_json, "{}");
  EXPECT_EQ(e.reflow->metrics.cpu_usage_percent, 0.0f);
  EXPECT_EQ(FormatUuid(e.reflow->causality.root_cause_event_id), "22222222-2222-4222-8222-222222222222");

  auto t = ParseTrace(T());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->source, Source::kReflow);
  EXPECT_EQ(t->start_ns, 1752148800123456789LL);
  EXPECT_EQ(t->status.code, StatusCode::kRunning);
  EXPECT_EQ(t->metadata.process_id, 4242u);
  ASSERT_EQ(t->events.size(), 1u);
}

// serde's acceptance rules, case by case.
TEST(ReflowJsonSerde, EnumForms) {
  EXPECT_TRUE(ParseTracingRequest(R"("Ping")").ok());
  EXPECT_TRUE(ParseTracingRequest(R"({"Ping":null})").ok());
  EXPECT_TRUE(ParseTracingRequest(" \n\"Ping\"\t ").ok());
  EXPECT_FALSE(ParseTracingRequest(R"({"Ping":{}})").ok());
  EXPECT_FALSE(ParseTracingRequest(R"("ping")").ok());
  EXPECT_FALSE(ParseTracingRequest(R"({})").ok());
  EXPECT_FALSE(ParseTracingRequest(R"({"Ping":null,"Unsubscribe":null})").ok());
  EXPECT_FALSE(ParseTracingRequest(R"("StartTrace")").ok());
  EXPECT_FALSE(ParseTracingRequest(R"(["Ping"])").ok());
  EXPECT_FALSE(ParseTracingRequest(R"("Ping" "Ping")").ok());
  EXPECT_FALSE(ParseTracingRequest(R"({"GetTrace":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001"}} x)").ok());
  EXPECT_FALSE(ParseTracingRequest(R"({"EndTrace":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001","status":"DataFlow"}})").ok());
  // Bare "DataFlow" is a struct variant: rejected.
  EXPECT_FALSE(ParseRequest(R"({"Subscribe":{"filters":{"event_types":["DataFlow"]}}})").ok());
  auto s = ParseRequest(R"({"Subscribe":{"filters":{"event_types":[{"ActorFailed":null}],"status_filter":[{"Failed":{"error":"x"}}]}}})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const auto& f = std::get<Subscribe>(std::get<TracingRequest>(*s)).filters;
  EXPECT_FALSE(f.flow_ids.has_value());
  ASSERT_TRUE(f.event_types.has_value());
  EXPECT_EQ((*f.event_types)[0].type, EventType::kActorFailed);
  EXPECT_EQ((*f.status_filter)[0], (ExecutionStatus{StatusCode::kFailed, "x"}));
}

TEST(ReflowJsonSerde, FieldRules) {
  const std::string id = "5e1ec7ed-0000-4000-8000-000000000001";
  // Unknown fields are ignored everywhere, but must still be valid JSON.
  EXPECT_TRUE(ParseTracingRequest(R"({"GetTrace":{"x":[1,{"y":null}],"trace_id":")" + id + R"(","z":1.5e3}})").ok());
  EXPECT_FALSE(ParseTracingRequest(R"({"GetTrace":{"x":[1,tru],"trace_id":")" + id + R"("}})").ok());
  // Missing required field, duplicate field, null for a required field.
  EXPECT_FALSE(ParseTracingRequest(R"({"GetTrace":{}})").ok());
  EXPECT_FALSE(ParseTracingRequest(R"({"GetTrace":{"trace_id":")" + id + R"(","trace_id":")" + id + R"("}})").ok());
  EXPECT_FALSE(ParseTracingRequest(R"({"GetTrace":{"trace_id":null}})").ok());
  // UUID text forms.
  for (const std::string& form : {std::string("5E1EC7ED-0000-4000-8000-000000000001"),
                                  std::string("5e1ec7ed000040008000000000000001"),
                                  "{" + id + "}", "urn:uuid:" + id}) {
    auto r = ParseTracingRequest(R"({"GetTrace":{"trace_id":")" + form + R"("}})");
    ASSERT_TRUE(r.ok()) << form;
    EXPECT_EQ(PrintRequest(Request(*r)), R"({"GetTrace":{"trace_id":")" + id + R"("}})");
  }
  // Integers: non-negative JSON integers only, u32 range-checked.
  auto q = [](const std::string& limit) {
    return ParseTracingRequest(R"({"QueryTraces":{"query":{"limit":)" + limit + "}}}");
  };
  EXPECT_TRUE(q("18446744073709551615").ok());
  for (const char* bad : {"1.0", "1e3", "-1", "18446744073709551616", "\"5\"", "true"}) {
    EXPECT_FALSE(q(bad).ok()) << bad;
  }
  EXPECT_TRUE(q("null").ok());
  auto v = [](const std::string& major) {
    return ParseTracingRequest(R"({"GetFlowVersions":{"flow_id":"f"},"x":1})").ok() ||
           ParseTracingRequest(R"({"StartTrace":{"flow_id":"f","version":{"major":)" + major +
                               R"(,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}}})")
               .ok();
  };
  EXPECT_TRUE(v("4294967295"));
  EXPECT_FALSE(v("4294967296"));
  // Floats accept integers.
  auto e = ParseEvent(std::string(kE).replace(std::string(kE).find("\"cpu_usage_percent\":0.0"), 23,
                                              "\"cpu_usage_percent\":7"));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->reflow->metrics.cpu_usage_percent, 7.0f);
  // Byte arrays: integers 0-255.
  auto bytes = [](const std::string& arr) {
    std::string s = kE;
    s.replace(s.find("\"serialized_data\":[]"), 20, "\"serialized_data\":" + arr);
    return ParseEvent(s);
  };
  EXPECT_TRUE(bytes("[0,255]").ok());
  EXPECT_FALSE(bytes("[256]").ok());
  EXPECT_FALSE(bytes("\"AAE=\"").ok());
  // Well-formed arrays (the direct scanner) read every value, whatever the
  // spacing; everything else is rejected as serde rejects it, with the
  // position of the offending element.
  auto data = [&](const std::string& arr) {
    auto r = bytes(arr);
    EXPECT_TRUE(r.ok()) << arr << ": " << r.status().ToString();
    return r.ok() ? r->reflow->message->serialized_data : std::vector<uint8_t>{};
  };
  EXPECT_EQ(data("[]"), std::vector<uint8_t>{});
  EXPECT_EQ(data("[ ]"), std::vector<uint8_t>{});
  EXPECT_EQ(data("[0]"), std::vector<uint8_t>{0});
  EXPECT_EQ(data("[ 1 ,\n 20\t,\r\n255 ]"), (std::vector<uint8_t>{1, 20, 255}));
  EXPECT_EQ(data("[9,99,100,199,200,249,250,255]"), (std::vector<uint8_t>{9, 99, 100, 199, 200, 249, 250, 255}));
  for (const char* bad : {"[1,256]", "[-1]", "[01]", "[1.0]", "[1e2]", "[1,]", "[,1]", "[1 2]", "[1000]",
                          "[\"1\"]", "[[1]]", "[null]", "[1,2"}) {
    auto r = bytes(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto over = bytes("[1, 2, 300]");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("300"), std::string::npos) << over.status().ToString();
  EXPECT_NE(over.status().message().find("u8"), std::string::npos) << over.status().ToString();
  // time_range is a 2-tuple.
  EXPECT_FALSE(ParseTracingRequest(R"({"QueryTraces":{"query":{"time_range":["2025-07-10T11:00:00Z"]}}})").ok());
  EXPECT_FALSE(ParseTracingRequest(
                   R"({"QueryTraces":{"query":{"time_range":["2025-07-10T11:00:00Z","2025-07-10T11:00:00Z","2025-07-10T11:00:00Z"]}}})")
                   .ok());
  // G2 EndTrace and request ids; absent ids stay absent (never invented).
  auto st = ParseTracingRequest(R"({"StartTrace":{"flow_id":"f","version":{"major":1,"minor":0,"patch":0,"timestamp":"2025-07-10T12:00:00+02:00"}}})");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_FALSE(std::get<StartTrace>(*st).trace_id.has_value());
  EXPECT_FALSE(std::get<StartTrace>(*st).version.git_hash.has_value());
  EXPECT_EQ(std::get<StartTrace>(*st).version.timestamp_ns, 1752141600LL * 1'000'000'000);
  // custom_attributes: required, any object, kept minified.
  std::string ca = kE;
  ca.replace(ca.find("\"custom_attributes\":{}"), 22, "\"custom_attributes\": { \"a\" : [ 1 , \"\\u00e9\" ] , \"b\":{}}");
  auto cae = ParseEvent(ca);
  ASSERT_TRUE(cae.ok()) << cae.status().ToString();
  EXPECT_EQ(cae->reflow->custom_attributes_json, R"({"a":[1,"\u00e9"],"b":{}})");
  std::string no_ca = kE;
  no_ca.replace(no_ca.find(",\"custom_attributes\":{}"), 23, "");
  EXPECT_FALSE(ParseEvent(no_ca).ok());
  std::string arr_ca = kE;
  arr_ca.replace(arr_ca.find("\"custom_attributes\":{}"), 22, "\"custom_attributes\":[]");
  EXPECT_FALSE(ParseEvent(arr_ca).ok());
}

TEST(ReflowJsonSerde, LegacyErrorWithoutCodeIsNotATracingResponse) {
  EXPECT_FALSE(ParseTracingResponse(R"({"Error":{"message":"x"}})").ok());
  auto r = ParseResponse(R"({"Error":{"message":"x"}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<LegacyError>(std::get<TraceResponse>(*r)).message, "x");
  // A TracingResponse Error without a code prints the legacy shape.
  EXPECT_EQ(PrintResponse(TracingResponse(Error{"Invalid message format", std::nullopt})),
            R"({"Error":{"message":"Invalid message format"}})");
  EXPECT_EQ(PrintResponse(TracingResponse(Error{"m", ErrorCode::kInternalError})),
            R"({"Error":{"message":"m","code":"InternalError"}})");
}

// Each error names the field path and the byte offset.
TEST(ReflowJsonErrors, NameFieldPathAndOffset) {
  struct Case {
    std::string json;
    std::string expected;  // substring of the status message
  };
  const std::string id = "5e1ec7ed-0000-4000-8000-000000000001";
  std::string bad_ts = Sub(R"({"RecordEvent":{"trace_id":")" + id + R"(","event":@E}})");
  bad_ts.replace(bad_ts.find("\"2025-07-10T12:00:01.500Z\""), 26, "17");
  const size_t ts_off = bad_ts.find(":17,") + 1;
  std::string bad_qd = Sub(R"({"RecordEvent":{"trace_id":")" + id + R"(","event":@E}})");
  bad_qd.replace(bad_qd.find("\"queue_depth\":0"), 15, "\"queue_depth\":-3");
  const size_t qd_off = bad_qd.find("-3");
  const std::vector<Case> cases = {
      {bad_ts, "invalid type at byte " + std::to_string(ts_off) +
                   " (RecordEvent.event.timestamp): expected RFC 3339 string"},
      {bad_qd, "at byte " + std::to_string(qd_off) + " (RecordEvent.event.data.performance_metrics.queue_depth)"},
      {R"({"GetTrace":{}})", "missing field at byte 12 (GetTrace): `trace_id`"},
      {R"({"Bogus":null})", "unknown variant at byte 0: `Bogus`"},
      {R"("ping")", "unknown variant at byte 0: `ping`"},
      {R"({"Ping":{}})", "invalid type at byte 8 (Ping)"},
      {R"({"GetTrace":{"trace_id":"nope"}})", "invalid value at byte 24 (GetTrace.trace_id): expected a UUID"},
      {R"({"GetTrace":{"trace_id":12}})", "invalid type at byte 24 (GetTrace.trace_id)"},
      {R"({"QueryTraces":{"query":{"limit":1.0}}})", "invalid type at byte 33 (QueryTraces.query.limit)"},
      {R"({"Subscribe":{"filters":{"actor_ids":["a",7]}}})", "(Subscribe.filters.actor_ids[1])"},
      {R"({"GetTrace":{"trace_id":")" + id + R"(","trace_id":")" + id + R"("}})", "duplicate field"},
      {R"({"Ping":null,"Pong":null})", "found a second key"},
      {R"({"GetTrace":{"trace_id":)", "invalid JSON"},
      {"", "invalid JSON at byte 0"},
      {"\"Ping\" x", "trailing characters at byte 7"},
  };
  for (const Case& c : cases) {
    auto r = ParseTracingRequest(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), ::tracedb::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos)
        << "json: " << c.json << "\nmessage: " << r.status().message() << "\nexpected: " << c.expected;
  }
}

TEST(ReflowJsonErrors, DispatchReportsTheErrorThatGotFurther) {
  // Not a TracingRequest variant; the legacy parse fails deeper, in the trace.
  auto r = ParseRequest(R"({"StoreTrace":{"trace":{"trace_id":"x"}}})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("StoreTrace.trace.trace_id"), std::string::npos) << r.status().message();
  auto s = ParseRequest(R"({"Subscribe":{"filters":{"actor_ids":7}}})");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("Subscribe.filters.actor_ids"), std::string::npos) << s.status().message();
}

TEST(ReflowJsonErrors, HostileInputNeverCrashes) {
  const std::string deep_array(100000, '[');
  EXPECT_FALSE(ParseRequest(deep_array).ok());
  std::string deep_attrs = kE;
  std::string nest;
  for (int i = 0; i < 5000; ++i) nest += "{\"a\":";
  nest += "1";
  for (int i = 0; i < 5000; ++i) nest += "}";
  deep_attrs.replace(deep_attrs.find("\"custom_attributes\":{}"), 22, "\"custom_attributes\":" + nest);
  auto d = ParseEvent(deep_attrs);
  ASSERT_FALSE(d.ok());
  EXPECT_FALSE(ParseRequest(std::string("\"Pi\xff\xfeng\"")).ok());  // invalid UTF-8
  EXPECT_FALSE(ParseRequest(std::string("{\"Ping\":null}\0", 14)).ok());
  // Every prefix of a valid message is rejected cleanly.
  const std::string full = Sub(R"({"StoreTrace":{"trace":@T}})");
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_FALSE(ParseRequest(std::string_view(full).substr(0, n)).ok()) << n;
  }
}

TEST(ReflowJsonInput, PaddedAndLargeInputsParse) {
  const std::string msg = Sub(R"({"RecordEvent":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001","event":@E}})");
  std::string padded = msg + std::string(kJsonPadding, ' ');
  auto r = ParseRequest(std::string_view(padded.data(), msg.size()), InputPadding::kPadded);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(PrintRequest(*r), msg);
  // Above the cached-parser limit (1 MiB) a private parser is used.
  std::string big = kE;
  std::string filler(2 << 20, 'x');
  big.replace(big.find("\"custom_attributes\":{}"), 22, "\"custom_attributes\":{\"f\":\"" + filler + "\"}");
  auto e = ParseEvent(big);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(PrintEvent(*e), big);
}

// ---- property test: parse(print(x)) == x (Gen: reflow_gen.h) ----


TEST(ReflowJsonProperty, RequestsRoundTrip) {
  Gen g(1);
  for (int i = 0; i < 3000; ++i) {
    const TracingRequest req = g.Req();
    const std::string json = PrintRequest(req);
    auto back = ParseTracingRequest(json);
    ASSERT_TRUE(back.ok()) << json << "\n" << back.status().ToString();
    ASSERT_TRUE(*back == req) << json;
    auto via_dispatch = ParseRequest(json);
    ASSERT_TRUE(via_dispatch.ok());
    ASSERT_TRUE(std::holds_alternative<TracingRequest>(*via_dispatch)) << json;
    EXPECT_EQ(PrintRequest(*via_dispatch), json);

    const TraceMessage legacy = g.Legacy();
    const std::string ljson = PrintRequest(legacy);
    auto lback = ParseTraceMessage(ljson);
    ASSERT_TRUE(lback.ok()) << ljson << "\n" << lback.status().ToString();
    ASSERT_TRUE(*lback == legacy) << ljson;
  }
}

TEST(ReflowJsonProperty, ResponsesRoundTrip) {
  Gen g(2);
  for (int i = 0; i < 2000; ++i) {
    const TracingResponse resp = g.Resp();
    const std::string json = PrintResponse(resp);
    auto back = ParseTracingResponse(json);
    ASSERT_TRUE(back.ok()) << json << "\n" << back.status().ToString();
    ASSERT_TRUE(*back == resp) << json;

    const TraceResponse legacy = g.LegacyResp();
    const std::string ljson = PrintResponse(legacy);
    auto lback = ParseTraceResponse(ljson);
    ASSERT_TRUE(lback.ok()) << ljson << "\n" << lback.status().ToString();
    ASSERT_TRUE(*lback == legacy) << ljson;
  }
}

TEST(ReflowJsonProperty, TracesAndEventsRoundTrip) {
  Gen g(3);
  for (int i = 0; i < 2000; ++i) {
    const Trace t = g.Tr();
    const std::string json = PrintTrace(t);
    auto back = ParseTrace(json);
    ASSERT_TRUE(back.ok()) << json << "\n" << back.status().ToString();
    ASSERT_TRUE(*back == t) << json;
    const Event e = g.Ev();
    const std::string ejson = PrintEvent(e);
    auto eback = ParseEvent(ejson);
    ASSERT_TRUE(eback.ok()) << ejson << "\n" << eback.status().ToString();
    ASSERT_TRUE(*eback == e) << ejson;
  }
}

}  // namespace
}  // namespace tracedb::ingest::reflow
