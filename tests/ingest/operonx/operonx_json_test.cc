#include "ingest/operonx/operonx_json.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "schema/rfc3339.h"
#include "tests/schema/json_value_util.h"

namespace tracedb::ingest::operonx {
namespace {

using schema::OperonxEvent;
using schema::ParseRfc3339;
using schema::TimestampNs;

constexpr char kStart[] =
    R"({"event_id":"r1-0","request_id":"r1","kind":"op_start","op_name":"g.d","ctx":["main"],"timestamp":"2026-05-10T09:00:00Z","seq":0,"payload":{"inputs":{"x":5},"media_refs":[]}})";
constexpr char kEnd[] =
    R"({"event_id":"r1-1","request_id":"r1","kind":"op_end","op_name":"g.d","ctx":["main"],"timestamp":"2026-05-10T09:00:00.011204Z","seq":1,"payload":{"outputs":{"y":10},"status":"ok","duration_ms":10.9,"yield_count":0,"media_refs":[]}})";

TEST(OperonxJson, ParsesPythonExporterLines) {
  auto s = ParseEvent(kStart);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->request_id, "r1");
  const Event& e = s->event;
  EXPECT_EQ(e.event_id, "r1-0");
  EXPECT_EQ(e.type, EventType::kOpStart);
  EXPECT_EQ(e.actor, "g.d");
  EXPECT_EQ(e.seq, 0u);
  EXPECT_EQ(e.timestamp_ns, *ParseRfc3339(std::string_view("2026-05-10T09:00:00Z")));
  ASSERT_TRUE(e.operonx.has_value());
  EXPECT_FALSE(e.reflow.has_value());
  EXPECT_EQ(e.operonx->kind, "op_start");
  EXPECT_EQ(e.operonx->ctx, (std::vector<std::string>{"main"}));
  EXPECT_EQ(e.operonx->payload_json, R"({"inputs":{"x":5},"media_refs":[]})");

  auto en = ParseEvent(kEnd);
  ASSERT_TRUE(en.ok());
  EXPECT_EQ(en->event.type, EventType::kOpEnd);
  EXPECT_EQ(en->event.seq, 1u);
  EXPECT_EQ(en->event.timestamp_ns % 1'000'000'000, 11'204'000);
  // Printed back in the Rust form (6 fraction digits): equal as JSON except
  // for the timestamp text, which parses to the same instant.
  const std::string printed = PrintEvent(en->request_id, en->event);
  EXPECT_EQ(printed, kEnd);
  const std::string start_printed = PrintEvent(s->request_id, s->event);
  EXPECT_NE(start_printed.find("\"timestamp\":\"2026-05-10T09:00:00.000000Z\""), std::string::npos);
}

TEST(OperonxJson, ToleratesAbsentNullAndUnknown) {
  auto r = ParseEvent(
      R"({"event_id":"r1-grp-start","request_id":"r1","kind":"group_start","timestamp":"2026-05-10T11:00:00+02:00","seq":3,"extra":[1,{"z":null}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->event.operonx->op_name.has_value());
  EXPECT_EQ(r->event.actor, "");
  EXPECT_TRUE(r->event.operonx->ctx.empty());
  EXPECT_EQ(r->event.operonx->payload_json, "{}");
  EXPECT_EQ(r->event.timestamp_ns, *ParseRfc3339(std::string_view("2026-05-10T09:00:00Z")));
  EXPECT_NE(PrintEvent("r1", r->event).find("\"op_name\":null,\"ctx\":[]"), std::string::npos);

  auto u = ParseEvent(
      R"({"event_id":"e","request_id":"r","kind":"checkpoint","op_name":null,"ctx":null,"timestamp":"2026-05-10T09:00:00.123456789Z","seq":18446744073709551615,"payload":null})");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->event.type, EventType::kOperonxOther);
  EXPECT_EQ(u->event.operonx->kind, "checkpoint");
  EXPECT_EQ(u->event.seq, UINT64_MAX);
  EXPECT_NE(PrintEvent("r", u->event).find("\"kind\":\"checkpoint\""), std::string::npos);
  EXPECT_NE(PrintEvent("r", u->event).find("09:00:00.123456789Z"), std::string::npos);

  for (const char* kind : {"op_start", "op_end", "op_yield", "annotation", "group_start", "group_end",
                           "llm_usage", "media_ref"}) {
    EXPECT_NE(EventTypeForKind(kind), EventType::kOperonxOther) << kind;
    EXPECT_EQ(KindForEventType(EventTypeForKind(kind)), kind);
  }
}

TEST(OperonxJson, RejectsMissingRequiredAndWrongTypesWithPath) {
  struct Case {
    std::string json;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {R"({"event_id":"e","request_id":"r","kind":"op_start","timestamp":"2026-05-10T09:00:00Z"})",
       "missing field at byte 0: `seq`"},
      {R"({"event_id":"e","request_id":"r","kind":"op_start","timestamp":"2026-05-10T09:00:00Z","seq":1.5})",
       "invalid type at byte 92 (seq)"},
      {R"({"event_id":"e","request_id":"r","kind":"op_start","timestamp":"yesterday","seq":1})",
       "invalid value at byte 63 (timestamp)"},
      {R"({"event_id":"e","request_id":"r","kind":"op_start","timestamp":"2026-05-10T09:00:00Z","seq":1,"payload":[]})",
       "(payload): expected a JSON object"},
      {R"({"event_id":"e","request_id":"r","kind":"op_start","ctx":["main",3],"timestamp":"2026-05-10T09:00:00Z","seq":1})",
       "(ctx[1])"},
      {R"({"event_id":7})", "(event_id)"},
      {R"([1])", "expected a TraceEvent object"},
  };
  for (const Case& c : cases) {
    auto r = ParseEvent(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos)
        << c.json << "\n" << r.status().message() << "\nexpected: " << c.expected;
  }
}

TEST(OperonxJson, BatchEnvelopeAndArrayRoundTrip) {
  const std::string batch_json =
      std::string(R"({"request_id":"r1","metadata":{"workflow_name":"wf","user_id":"u","session_id":null,"tags":["a","b"],"partial":true},"events":[)") +
      kStart + "," + kEnd + "]}";
  auto b = ParseBatch(batch_json);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->request_id, "r1");
  EXPECT_EQ(b->metadata.workflow_name, "wf");
  EXPECT_FALSE(b->metadata.session_id.has_value());
  EXPECT_EQ(b->metadata.tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(b->metadata.partial);
  ASSERT_EQ(b->events.size(), 2u);
  auto again = ParseBatch(PrintBatch(*b));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *b);

  auto minimal = ParseBatch(R"({"request_id":"r","events":[]})");
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(minimal->metadata, BatchMetadata{});
  auto bad = ParseBatch(std::string(R"({"request_id":"r","events":[)") + kStart + R"(,{"event_id":"x"}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("(events[1])"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(ParseBatch(R"({"events":[]})").ok());

  auto arr = ParseEventArray(std::string("[") + kStart + ",\n  " + kEnd + "]");
  ASSERT_TRUE(arr.ok());
  ASSERT_EQ(arr->size(), 2u);
  std::string printed;
  AppendEventArray(*arr, &printed);
  auto arr2 = ParseEventArray(printed);
  ASSERT_TRUE(arr2.ok());
  EXPECT_EQ(*arr2, *arr);
}

TEST(OperonxJson, RandomEventsRoundTrip) {
  std::mt19937_64 rng(9);
  const char* kinds[] = {"op_start", "op_end", "op_yield", "annotation", "group_end", "weird\n\"kind"};
  for (int i = 0; i < 3000; ++i) {
    ParsedEvent p;
    p.request_id = "req-" + std::to_string(rng() % 100) + "\t\x01é";
    Event& e = p.event;
    OperonxEvent& ox = e.operonx.emplace();
    ox.kind = kinds[rng() % std::size(kinds)];
    e.type = EventTypeForKind(ox.kind);
    if (rng() % 2) ox.op_name = "g.op" + std::to_string(rng() % 10);
    e.actor = ox.op_name.value_or("");
    for (uint64_t n = rng() % 3; n > 0; --n) ox.ctx.push_back("[" + std::to_string(rng() % 5) + "]");
    e.event_id = p.request_id + "-" + std::to_string(i);
    e.seq = rng();
    // Microsecond timestamps within +-142 years of the epoch (no overflow in ns).
    e.timestamp_ns = (static_cast<TimestampNs>(rng() % 9'000'000'000'000'000ULL) - 4'500'000'000'000'000LL) * 1000;
    if (rng() % 2) e.timestamp_ns += static_cast<TimestampNs>(rng() % 1000) * (e.timestamp_ns < 0 ? 0 : 1);
    ox.payload_json = rng() % 2 ? "{}" : R"({"outputs":{"y":[1,2.5,"x"]},"status":"ok","duration_ms":null})";
    const std::string json = PrintEvent(p.request_id, e);
    auto back = ParseEvent(json);
    ASSERT_TRUE(back.ok()) << json << "\n" << back.status().ToString();
    ASSERT_EQ(*back, p) << json;
  }
}

}  // namespace
}  // namespace tracedb::ingest::operonx
