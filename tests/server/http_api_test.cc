#include "server/http_api.h"

#include <gtest/gtest.h>

#include "ingest/reflow/reflow_json.h"
#include "ingest/pipeline/bulk_ingest.h"
#include "server/routes.h"

namespace tracedb::server {
namespace {

using ingest::BulkIngestor;
using ingest::IngestFormat;
using ingest::IngestOptions;

constexpr char kTrace[] = "5e1ec7ed-0000-4000-8000-000000000001";
constexpr schema::TimestampNs kNow = 1'752'148'800'000'000'000;  // 2025-07-10T12:00:00Z

std::string Event(int n, const std::string& actor) {
  char id[64];
  std::snprintf(id, sizeof(id), "11111111-1111-4111-8111-%012d", n);
  return R"({"RecordEvent":{"trace_id":")" + std::string(kTrace) + R"(","event":{"event_id":")" + id +
         R"(","timestamp":"2025-07-10T12:00:0)" + std::to_string(n) + R"(Z","event_type":"ActorCompleted","actor_id":")" +
         actor +
         R"(","data":{"port":null,"message":null,"state_diff":null,"error":null,"performance_metrics":{"execution_time_ns":)" +
         std::to_string(n * 1000000) +
         R"(,"memory_usage_bytes":0,"cpu_usage_percent":0.0,"queue_depth":0,"throughput_msgs_per_sec":0.0},"custom_attributes":{"k":1}},"causality":{"parent_event_id":null,"root_cause_event_id":"22222222-2222-4222-8222-222222222222","dependency_chain":[],"span_id":"s"}}}})";
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine::Options o;
    o.in_memory = true;
    engine_ = std::move(engine::Engine::Open(o)).value();
    std::string body = R"({"StartTrace":{"trace_id":")" + std::string(kTrace) +
                       R"(","flow_id":"checkout","version":{"major":1,"minor":2,"patch":3,"git_hash":"abc","timestamp":"2025-07-10T11:00:00Z"}}})" "\n";
    for (int i = 1; i <= 3; ++i) body += Event(i, i == 2 ? "validator" : "gen") + "\n";
    Ingest(body, IngestFormat::kReflow, [] { return kNow - 1'000'000'000; });
    std::string ox = R"({"request_id":"req-1","metadata":{"workflow_name":"callbot","user_id":null,"session_id":null,"tags":[],"partial":false},"events":[)"
                     R"({"event_id":"req-1-0","request_id":"req-1","kind":"op_start","op_name":"g.a","ctx":["main"],"timestamp":"2025-07-10T11:30:00Z","seq":0,"payload":{}},)"
                     R"({"event_id":"req-1-1","request_id":"req-1","kind":"op_end","op_name":"g.a","ctx":["main"],"timestamp":"2025-07-10T11:30:01Z","seq":1,"payload":{"status":"ok","duration_ms":7}}]})" "\n";
    Ingest(ox, IngestFormat::kOperonx, nullptr);
  }

  void Ingest(const std::string& body, IngestFormat format, std::function<schema::TimestampNs()> now) {
    IngestOptions o;
    o.format = format;
    o.now = std::move(now);
    BulkIngestor ingestor(o, [this](const engine::WriteBatch& b) { return engine_->Write(b); });
    ASSERT_TRUE(ingestor.Feed(body).ok());
    auto r = ingestor.Finish();
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->rejected.empty()) << r->ToJson();
  }

  ApiResponse Get(std::string_view target) {
    auto r = HandleReadApi("GET", target, engine_.get(), kNow);
    EXPECT_TRUE(r.has_value()) << target;
    return r.value_or(ApiResponse{});
  }

  std::unique_ptr<engine::Engine> engine_;
};

TEST_F(HttpApiTest, SearchReturnsMatchingTraces) {
  ApiResponse r = Get("/v1/traces?q=flow%20%3D%20%22checkout%22%20and%20actor%20%3D%20%22validator%22&count=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(kTrace), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("total_count":1)"), std::string::npos) << r.body;
  ApiResponse none = Get("/v1/traces?q=flow+%3D+%22nope%22");
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.body.find(kTrace), std::string::npos);
}

TEST_F(HttpApiTest, BadQueriesAre400WithTheCaret) {
  ApiResponse r = Get("/v1/traces?q=flow%20%3D%20and");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("InvalidArgument"), std::string::npos);
  EXPECT_NE(r.body.find("^"), std::string::npos) << r.body;
  EXPECT_EQ(Get("/v1/traces?q=&limit=x").status, 400);
  EXPECT_EQ(Get("/v1/traces?q=&format=xml").status, 400);
}

TEST_F(HttpApiTest, AggregatesAndTheirEndpoint) {
  ApiResponse r = Get("/v1/aggregate?q=source%20%3D%20%22reflow%22%20%7C%20count()%20by%20(actor)");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("validator"), std::string::npos) << r.body;
  EXPECT_EQ(Get("/v1/aggregate?q=flow%20%3D%20%22checkout%22").status, 400);
  EXPECT_EQ(Get("/v1/traces?q=%7C%20count()").status, 400);
  ApiResponse table = Get("/v1/aggregate?q=%7C%20count()&format=table");
  EXPECT_EQ(table.content_type.rfind("text/plain", 0), 0u);
}

TEST_F(HttpApiTest, TraceByIdIsTheReflowFlowTraceShape) {
  ApiResponse r = Get(std::string("/v1/traces/") + kTrace);
  ASSERT_EQ(r.status, 200);
  auto trace = ingest::reflow::ParseTrace(r.body);
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  EXPECT_EQ(trace->flow_id, "checkout");
  EXPECT_EQ(trace->events.size(), 3u);
  ApiResponse missing = Get("/v1/traces/00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("NotFound"), std::string::npos);
}

// An OTel trace written as the OTLP mapping writes it (a merged header, one
// span event), with every OtelSpan field set.
void WriteOtelTrace(engine::Engine* engine) {
  schema::Id128 id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(0xa0 + i);
  schema::Trace header;
  header.trace_id = id;
  header.source = schema::Source::kOtel;
  header.flow_id = "checkout";
  header.name = "GET /cart";
  header.start_ns = kNow;
  header.end_ns = kNow + 5'000'000;
  header.status.code = schema::StatusCode::kCompleted;

  auto value = [](schema::AttributeValue::Kind kind) {
    schema::AttributeValue v;
    v.kind = kind;
    return v;
  };
  schema::OtelSpan span;
  span.span_id = {1, 2, 3, 4, 5, 6, 7, 8};
  span.parent_span_id = schema::SpanId{9, 9, 9, 9, 9, 9, 9, 9};
  span.name = "GET /cart";
  span.kind = 2;
  span.status_code = 2;
  span.status_message = "deadline";
  span.end_ns = kNow + 5'000'000;
  schema::AttributeValue s = value(schema::AttributeValue::Kind::kString);
  s.str = "/cart";
  schema::AttributeValue i = value(schema::AttributeValue::Kind::kInt);
  i.i = -9007199254740993;  // not a double: must print as a string
  schema::AttributeValue d = value(schema::AttributeValue::Kind::kDouble);
  d.d = 0.25;
  schema::AttributeValue b = value(schema::AttributeValue::Kind::kBool);
  b.i = 1;
  schema::AttributeValue bytes = value(schema::AttributeValue::Kind::kBytes);
  bytes.str = std::string("\x00\xff", 2);
  schema::AttributeValue arr = value(schema::AttributeValue::Kind::kArray);
  arr.array = {i, s};
  schema::AttributeValue kv = value(schema::AttributeValue::Kind::kKvList);
  kv.kvlist = {{"inner", b}};
  span.attributes = {{"http.route", s}, {"big", i}, {"ratio", d}, {"ok", b}, {"raw", bytes},
                     {"list", arr},     {"map", kv}, {"nothing", value(schema::AttributeValue::Kind::kEmpty)}};
  span.trace_state = "k=v";
  span.flags = 0x101;
  span.dropped_attributes_count = 3;
  span.events = {{kNow + 1, "retry", {{"n", i}}, 4}};
  span.dropped_events_count = 5;
  span.links = {{std::string(16, '\x11'), std::string(8, '\x22'), "lk=1", {{"why", s}}, 6, 1}};
  span.dropped_links_count = 7;
  auto resource = std::make_shared<schema::OtelResource>();
  resource->attributes = {{"service.name", s}};
  resource->dropped_attributes_count = 8;
  resource->schema_url = "https://r";
  span.resource = resource;
  auto scope = std::make_shared<schema::OtelScope>();
  scope->name = "lib";
  scope->version = "2.0";
  scope->dropped_attributes_count = 9;
  scope->schema_url = "https://s";
  span.scope = scope;

  schema::Event event;
  event.event_id.assign(reinterpret_cast<const char*>(span.span_id.data()), 8);
  event.timestamp_ns = kNow;
  event.type = schema::EventType::kSpan;
  event.actor = span.name;
  event.otel = std::move(span);
  engine::WriteBatch batch;
  batch.MergeTrace(header, engine::HeaderRole::kRoot, {"checkout"});
  batch.AppendEvent(id, std::move(event));
  ASSERT_TRUE(engine->Write(batch).ok());
}

TEST_F(HttpApiTest, OtelTraceByHexIdRendersEverySpanField) {
  WriteOtelTrace(engine_.get());
  const std::string hex = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";
  ApiResponse r = Get("/v1/traces/" + hex);
  ASSERT_EQ(r.status, 200) << r.body;
  // The UUID spelling of the same 16 bytes reads the same trace.
  EXPECT_EQ(Get("/v1/traces/a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf").body, r.body);
  EXPECT_EQ(Get("/v1/traces/A0A1A2A3A4A5A6A7A8A9AAABACADAEAF").body, r.body);
  const char* expected[] = {
      R"("trace_id":"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf","source":"otel","service":"checkout","name":"GET /cart")",
      R"("span_id":"0102030405060708","parent_span_id":"0909090909090909")",
      R"("kind":"server","kind_code":2)",
      R"("start_time_unix_nano":"1752148800000000000","end_time_unix_nano":"1752148800005000000","duration_ns":"5000000")",
      R"("status":{"code":"error","code_value":2,"message":"deadline"})",
      R"("trace_state":"k=v","flags":257)",
      R"({"key":"http.route","value":{"stringValue":"/cart"}})",
      R"({"key":"big","value":{"intValue":"-9007199254740993"}})",
      R"({"key":"ratio","value":{"doubleValue":0.25}})",
      R"({"key":"ok","value":{"boolValue":true}})",
      R"({"key":"raw","value":{"bytesValue":"AP8="}})",
      R"({"key":"list","value":{"arrayValue":{"values":[{"intValue":"-9007199254740993"},{"stringValue":"/cart"}]}}})",
      R"({"key":"map","value":{"kvlistValue":{"values":[{"key":"inner","value":{"boolValue":true}}]}}})",
      R"({"key":"nothing","value":{}})",
      R"("dropped_attributes_count":3)",
      R"("events":[{"time_unix_nano":"1752148800000000001","name":"retry","attributes":[{"key":"n","value":{"intValue":"-9007199254740993"}}],"dropped_attributes_count":4}],"dropped_events_count":5)",
      R"("links":[{"trace_id":"11111111111111111111111111111111","span_id":"2222222222222222","trace_state":"lk=1","attributes":[{"key":"why","value":{"stringValue":"/cart"}}],"dropped_attributes_count":6,"flags":1}],"dropped_links_count":7)",
      R"("resource":{"attributes":[{"key":"service.name","value":{"stringValue":"/cart"}}],"dropped_attributes_count":8,"schema_url":"https://r"})",
      R"("scope":{"name":"lib","version":"2.0","attributes":[],"dropped_attributes_count":9,"schema_url":"https://s"})",
  };
  for (const char* part : expected) EXPECT_NE(r.body.find(part), std::string::npos) << part << "\nin " << r.body;
}

TEST_F(HttpApiTest, OtelTraceIdsAreHexInSearchResults) {
  WriteOtelTrace(engine_.get());
  ApiResponse r = Get("/v1/traces?q=service%20%3D%20%22checkout%22%20and%20source%20%3D%20%22otel%22");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("trace_id":"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")"), std::string::npos) << r.body;
  // Reflow traces keep the UUID form.
  ApiResponse reflow = Get("/v1/traces?q=flow%20%3D%20%22checkout%22%20and%20source%20%3D%20%22reflow%22");
  EXPECT_NE(reflow.body.find(std::string(R"("trace_id":")") + kTrace + "\""), std::string::npos) << reflow.body;
}

TEST_F(HttpApiTest, OperonxRequestsAndViews) {
  ApiResponse r = Get("/v1/traces/req-1");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("request_id":"req-1")"), std::string::npos);
  EXPECT_NE(r.body.find(R"("status":"completed")"), std::string::npos) << r.body;
  for (const char* view : {"timeline", "tree", "turns", "cost", "slow", "errors"}) {
    ApiResponse v = Get(std::string("/v1/operonx/requests/req-1/") + view);
    EXPECT_EQ(v.status, 200) << view << ": " << v.body;
  }
  EXPECT_NE(Get("/v1/operonx/requests/req-1/slow?k=1").body.find(R"("duration_ms":7.0)"), std::string::npos);
  EXPECT_EQ(Get("/v1/operonx/requests/req-1/bogus").status, 404);
  EXPECT_EQ(Get("/v1/operonx/requests/nope/tree").status, 404);
}

TEST_F(HttpApiTest, FlowVersions) {
  ApiResponse r = Get("/v1/flows/checkout/versions");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            R"({"flow_id":"checkout","versions":[{"major":1,"minor":2,"patch":3,"git_hash":"abc","timestamp":"2025-07-10T11:00:00Z"}]})");
  EXPECT_EQ(Get("/v1/flows/none/versions").body, R"({"flow_id":"none","versions":[]})");
}

TEST_F(HttpApiTest, OtherPathsAndMethods) {
  EXPECT_FALSE(HandleReadApi("GET", "/metrics", engine_.get(), kNow).has_value());
  EXPECT_FALSE(HandleReadApi("GET", "/v1/ingest/reflow", engine_.get(), kNow).has_value());
  auto post = HandleReadApi("POST", "/v1/traces", engine_.get(), kNow);
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->status, 405);
}

TEST(QueryString, DecodesPercentAndPlus) {
  auto p = ParseQueryString("q=a%20b+c&x=%zz&flag&e=");
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].second, "a b c");
  EXPECT_EQ(p[1].second, "%zz");
  EXPECT_EQ(p[2].first, "flag");
  EXPECT_EQ(p[3].second, "");
}

}  // namespace
}  // namespace tracedb::server

namespace tracedb::server {
namespace {

TEST_F(HttpApiTest, GraphInEveryFormat) {
  ApiResponse j = Get("/v1/graph?q=flow%20%3D%20%22checkout%22");
  EXPECT_EQ(j.status, 200) << j.body;
  EXPECT_EQ(j.body,
            R"({"traces":1,"nodes":[{"id":"gen","kind":"actor","events":2,"errors":0,"p50_ns":1000000,"p99_ns":3000000},)"
            R"({"id":"validator","kind":"actor","events":1,"errors":0,"p50_ns":2000000,"p99_ns":2000000}],"edges":[],"path":"scan"})");
  ApiResponse all = Get("/v1/graph");
  // Without a filter the aggregates answer: p50 7 ms within the sketch's 1 % (docs/graph.md).
  EXPECT_NE(all.body.find(R"({"id":"g.a","kind":"op","events":1,"errors":0,"p50_ns":70)"), std::string::npos)
      << all.body;
  EXPECT_NE(all.body.find(R"("path":"aggregates")"), std::string::npos) << all.body;
  ApiResponse dot = Get("/v1/graph?format=dot");
  EXPECT_EQ(dot.content_type, "text/vnd.graphviz; charset=utf-8");
  EXPECT_EQ(dot.body.rfind("digraph tracedb {", 0), 0u) << dot.body;
  ApiResponse svg = Get("/v1/graph?format=svg");
  EXPECT_EQ(svg.status, 200) << svg.body;
  EXPECT_EQ(svg.content_type, "image/svg+xml");
  EXPECT_NE(svg.body.find("<svg"), std::string::npos);
  // A window before every trace: an empty graph, not an error.
  ApiResponse empty = Get("/v1/graph?end=2020-01-01T00:00:00Z");
  EXPECT_EQ(empty.body, R"({"traces":0,"nodes":[],"edges":[],"path":"aggregates+scan"})");
  EXPECT_EQ(Get("/v1/graph?start=1752148700000000000&end=1752148900000000000").status, 200);
}

TEST_F(HttpApiTest, GraphRefusesBadParameters) {
  EXPECT_EQ(Get("/v1/graph?format=png").status, 400);
  EXPECT_EQ(Get("/v1/graph?start=yesterday").status, 400);
  ApiResponse bad = Get("/v1/graph?q=flow%20%3D%20and");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("^"), std::string::npos) << bad.body;
  EXPECT_EQ(Get("/v1/graph?q=%7C%20count()").status, 400);
}

}  // namespace
}  // namespace tracedb::server

namespace tracedb::server {
namespace {

TEST_F(HttpApiTest, LineageCausalityAndCriticalPath) {
  EXPECT_EQ(Get("/v1/lineage").status, 400);
  ApiResponse none = Get("/v1/lineage?message_id=m1");
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.body, R"({"message_id":"m1","traces":0,"hops":[]})");
  EXPECT_EQ(Get("/v1/lineage?message_id=m1&start=soon").status, 400);
  ApiResponse chain = Get(std::string("/v1/traces/") + kTrace + "/events/11111111-1111-4111-8111-000000000002/causality");
  EXPECT_EQ(chain.status, 200) << chain.body;
  EXPECT_NE(chain.body.find(R"("chain":[{"trace_id":")"), std::string::npos) << chain.body;
  EXPECT_NE(chain.body.find(R"("actor":"validator")"), std::string::npos) << chain.body;
  EXPECT_EQ(Get(std::string("/v1/traces/") + kTrace + "/events/nope/causality").status, 404);
  ApiResponse path = Get(std::string("/v1/traces/") + kTrace + "/critical_path");
  EXPECT_EQ(path.status, 200);
  EXPECT_NE(path.body.find(R"("duration_ns":null,"events":[])"), std::string::npos) << path.body;
  EXPECT_EQ(Get("/v1/traces/5e1ec7ed-0000-4000-8000-0000000000ff/critical_path").status, 404);
}

}  // namespace
}  // namespace tracedb::server

namespace tracedb::server {
namespace {

TEST_F(HttpApiTest, FieldsListsTheLanguageWithTypes) {
  ApiResponse r = Get("/v1/fields");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"({"name":"actor","type":"string","scope":"event","hot":true,"needs_key":false})"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"({"name":"flow","type":"string","scope":"trace","hot":false,"needs_key":false})"),
            std::string::npos);
  EXPECT_NE(r.body.find(R"("name":"status","type":"status","scope":"trace","hot":false,"needs_key":false,)"
                        R"("values":["pending","running","completed","failed","cancelled"])"),
            std::string::npos);
  EXPECT_NE(r.body.find(R"({"name":"tags","type":"string","scope":"trace","hot":false,"needs_key":true})"),
            std::string::npos);
  EXPECT_EQ(r.body.find(R"("name":"workflow")"), std::string::npos) << "aliases are not listed";
}

TEST_F(HttpApiTest, FieldValuesAreTheTopValuesWithCounts) {
  // Events of the checkout trace: gen twice, validator once.
  ApiResponse r = Get("/v1/fields/actor/values?q=flow+%3D+%22checkout%22");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"field":"actor","rows":"events","distinct":2,"values":[)"
                    R"({"value":"gen","count":2},{"value":"validator","count":1}]})");
  // A prefix, case-insensitive.
  EXPECT_EQ(Get("/v1/fields/actor/values?q=flow+%3D+%22checkout%22&prefix=VAL").body,
            R"({"field":"actor","rows":"events","distinct":1,"values":[{"value":"validator","count":1}]})");
  // The limit keeps the most frequent; distinct counts them all.
  EXPECT_EQ(Get("/v1/fields/actor/values?q=flow+%3D+%22checkout%22&limit=1").body,
            R"({"field":"actor","rows":"events","distinct":2,"values":[{"value":"gen","count":2}]})");
  // A trace field counts traces; both sources are listed.
  EXPECT_EQ(Get("/v1/fields/flow/values").body, R"({"field":"flow","rows":"traces","distinct":2,"values":[)"
                                                R"({"value":"callbot","count":1},{"value":"checkout","count":1}]})");
  // The window bounds the trace start: the operonx request (11:30) is before it.
  EXPECT_EQ(Get("/v1/fields/flow/values?start=2025-07-10T11:45:00Z").body,
            R"({"field":"flow","rows":"traces","distinct":1,"values":[{"value":"checkout","count":1}]})");
  EXPECT_EQ(Get("/v1/fields/flow/values?end=2025-07-10T11:45:00Z").body,
            R"({"field":"flow","rows":"traces","distinct":1,"values":[{"value":"callbot","count":1}]})");
  // Enumerated values print as the language writes them.
  EXPECT_NE(Get("/v1/fields/type/values?q=flow+%3D+%22checkout%22").body.find(R"({"value":"actor_completed","count":3})"),
            std::string::npos);
  // Keyed families: attr.k of the Reflow events.
  EXPECT_EQ(Get("/v1/fields/attr.k/values?q=flow+%3D+%22checkout%22").body,
            R"({"field":"attr.k","rows":"events","distinct":1,"values":[{"value":"1","count":3}]})");
}

TEST_F(HttpApiTest, FieldValuesRefuseBadInput) {
  ApiResponse unknown = Get("/v1/fields/nope/values");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("unknown field 'nope'"), std::string::npos) << unknown.body;
  EXPECT_EQ(Get("/v1/fields/tags/values").status, 400) << "tags needs a key";
  ApiResponse bad = Get("/v1/fields/actor/values?q=flow+%3D+and");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("error at 1:8"), std::string::npos) << bad.body;
  EXPECT_EQ(Get("/v1/fields/actor/values?q=%7C+count()").status, 400);
  EXPECT_EQ(Get("/v1/fields/actor/values?limit=x").status, 400);
  EXPECT_EQ(Get("/v1/fields/actor/values?start=yesterday").status, 400);
  EXPECT_EQ(Get("/v1/fields/actor").status, 404);
}

TEST(Routes, FieldsIsAReadApiRow) {
  RouteTable routes = RouteTable::For(Config{});
  RouteMatch m = routes.Find("GET", "/v1/fields/actor/values");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->path, "/v1/fields");
  EXPECT_EQ(m.route->handler, Handler::kReadApi);
  EXPECT_EQ(m.route->key, KeyPolicy::kApiKey);
}

}  // namespace
}  // namespace tracedb::server
