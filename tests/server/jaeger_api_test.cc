// Jaeger's query API (server/jaeger_api.h): every call Grafana's Jaeger data
// source and Jaeger UI make answers 200 in Jaeger's shapes; bad parameters
// answer 400 and unknown traces 404, in Jaeger's error envelope; the route
// is served by the real server.

#include "server/jaeger_api.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <set>

#include "query/encoding.h"
#include "tests/query/otel_data_util.h"
#include "tests/query/query_test_util.h"
#include "tests/server/server_test_util.h"

namespace tracedb::server {
namespace {

using query::testing::kSecond;
using query::testing::kT0;
using query::testing::TraceId;

constexpr schema::TimestampNs kNow = kT0 + 200 * kSecond;
constexpr int64_t kMs = 1'000'000;

class JaegerApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = query::testing::OpenMemoryEngine();
    ASSERT_TRUE(query::testing::WriteOtelDataset(engine_.get()).ok());
    // A Reflow flow with one DataFlow sensor:out -> validator:in.
    engine::WriteBatch b;
    schema::Trace h;
    h.trace_id = TraceId(0xabc);
    h.flow_id = "ingest";
    h.start_ns = kT0 + 100 * kSecond;
    b.StartTrace(h);
    schema::Event e;
    e.event_id = std::string(16, '\x01');
    e.timestamp_ns = h.start_ns + kMs;
    e.type = schema::EventType::kDataFlow;
    e.actor = "sensor";
    e.to_actor = "validator";
    e.to_port = "in";
    e.reflow.emplace();
    e.reflow->port = "out";
    b.AppendEvent(h.trace_id, e);
    b.EndTrace(h.trace_id, {schema::StatusCode::kCompleted, ""}, h.start_ns + 10 * kMs);
    ASSERT_TRUE(engine_->Write(b).ok());
  }

  ApiResponse Get(std::string_view target) {
    auto r = HandleJaegerApi("GET", target, engine_.get(), kNow);
    EXPECT_TRUE(r.has_value()) << target;
    return r.value_or(ApiResponse{});
  }

  // Parses a Jaeger envelope and checks its fields; returns `data`.
  simdjson::dom::element Data(const ApiResponse& r, std::string_view target) {
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    simdjson::dom::element doc;
    EXPECT_EQ(parser_.parse(r.body).get(doc), simdjson::SUCCESS) << r.body;
    int64_t total = -1;
    EXPECT_EQ(doc["total"].get(total), simdjson::SUCCESS) << r.body;
    EXPECT_TRUE(doc["errors"].is_null()) << r.body;
    EXPECT_EQ(int64_t(doc["limit"]), 0);
    EXPECT_EQ(int64_t(doc["offset"]), 0);
    simdjson::dom::array data;
    EXPECT_EQ(doc["data"].get(data), simdjson::SUCCESS) << r.body;
    EXPECT_EQ(static_cast<int64_t>(data.size()), total) << r.body;
    return doc["data"];
  }

  // A Jaeger error envelope with `code` (also the HTTP status).
  void ExpectError(std::string_view target, int code, std::string_view msg_part) {
    ApiResponse r = Get(target);
    EXPECT_EQ(r.status, code) << target << ": " << r.body;
    simdjson::dom::element doc;
    ASSERT_EQ(parser_.parse(r.body).get(doc), simdjson::SUCCESS) << r.body;
    EXPECT_TRUE(doc["data"].is_null()) << r.body;
    simdjson::dom::array errors;
    ASSERT_EQ(doc["errors"].get(errors), simdjson::SUCCESS) << r.body;
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(int64_t(errors.at(0)["code"]), code);
    std::string_view msg = errors.at(0)["msg"];
    EXPECT_NE(msg.find(msg_part), std::string_view::npos) << target << ": " << msg;
  }

  static void ExpectTraceShape(simdjson::dom::element trace) {
    std::string_view trace_id = trace["traceID"];
    EXPECT_EQ(trace_id.size(), 32u);
    simdjson::dom::object processes = trace["processes"];
    EXPECT_GT(processes.size(), 0u);
    for (auto p : processes) {
      std::string_view service;
      EXPECT_EQ(p.value["serviceName"].get(service), simdjson::SUCCESS);
      EXPECT_TRUE(p.value["tags"].is_array());
    }
    simdjson::dom::array spans = trace["spans"];
    EXPECT_GT(spans.size(), 0u);
    for (auto s : spans) {
      EXPECT_EQ(std::string_view(s["traceID"]), trace_id);
      EXPECT_EQ(std::string_view(s["spanID"]).size(), 16u);
      EXPECT_TRUE(s["operationName"].is_string());
      EXPECT_TRUE(s["startTime"].is_int64());
      EXPECT_TRUE(s["duration"].is_int64());
      EXPECT_TRUE(s["flags"].is_uint64() || s["flags"].is_int64());
      std::string_view pid = s["processID"];
      EXPECT_EQ(processes[pid].error(), simdjson::SUCCESS) << pid;
      for (auto ref : simdjson::dom::array(s["references"])) {
        std::string_view type = ref["refType"];
        EXPECT_TRUE(type == "CHILD_OF" || type == "FOLLOWS_FROM") << type;
        EXPECT_TRUE(ref["traceID"].is_string());
        EXPECT_TRUE(ref["spanID"].is_string());
      }
      for (auto tag : simdjson::dom::array(s["tags"])) {
        std::string_view type = tag["type"];
        static const std::set<std::string_view> kTypes{"string", "bool", "int64", "float64", "binary"};
        EXPECT_TRUE(kTypes.count(type)) << type;
        EXPECT_TRUE(tag["key"].is_string());
      }
      for (auto log : simdjson::dom::array(s["logs"])) {
        EXPECT_TRUE(log["timestamp"].is_int64());
        EXPECT_TRUE(log["fields"].is_array());
      }
    }
  }

  std::unique_ptr<engine::Engine> engine_;
  simdjson::dom::parser parser_;
};

std::string Us(int64_t ns) { return std::to_string(ns / 1000); }

// The calls Grafana's Jaeger data source makes (services and operations for
// the query editor, the search, one trace, the dependency graph), with the
// parameters it sends.
TEST_F(JaegerApiTest, EveryGrafanaCallAnswersInJaegerShape) {
  std::set<std::string> services;
  for (auto s : simdjson::dom::array(Data(Get("/api/services"), "services"))) services.insert(std::string(std::string_view(s)));
  EXPECT_EQ(services, (std::set<std::string>{"checkout", "db", "frontend", "ingest", "search"}));

  std::set<std::string> ops;
  for (auto s : simdjson::dom::array(Data(Get("/api/services/checkout/operations"), "ops"))) {
    ops.insert(std::string(std::string_view(s)));
  }
  EXPECT_TRUE(ops.count("GET /checkout") && ops.count("cache.get") && ops.count("db.query")) << ops.size();
  EXPECT_EQ(Data(Get("/api/services/nope/operations"), "none").get_array().size(), 0u);

  auto kinds = simdjson::dom::array(Data(Get("/api/operations?service=checkout&spanKind=server"), "operations"));
  ASSERT_EQ(kinds.size(), 1u);
  EXPECT_EQ(std::string_view(kinds.at(0)["name"]), "GET /checkout");
  EXPECT_EQ(std::string_view(kinds.at(0)["spanKind"]), "server");
  EXPECT_GE(simdjson::dom::array(Data(Get("/api/operations?service=checkout"), "all kinds")).size(), 3u);

  // Grafana: service, operation, tags (JSON), min/maxDuration, limit, start
  // and end in microseconds.
  std::string search = "/api/traces?service=checkout&operation=db.query&tags=%7B%22db.system%22%3A%22postgresql%22%7D"
                       "&minDuration=1ms&maxDuration=1s&limit=20&start=" +
                       Us(kT0) + "&end=" + Us(kNow);
  auto traces = simdjson::dom::array(Data(Get(search), search));
  EXPECT_GT(traces.size(), 0u);
  for (auto t : traces) ExpectTraceShape(t);
  // Jaeger UI: lookback with start/end, an empty tags object.
  std::string ui = "/api/traces?service=frontend&limit=20&lookback=1h&tags=%7B%7D&start=" + Us(kT0) + "&end=" + Us(kNow);
  EXPECT_EQ(simdjson::dom::array(Data(Get(ui), ui)).size(), 10u);
  EXPECT_EQ(simdjson::dom::array(Data(Get("/api/traces?service=frontend&limit=3"), "limit")).size(), 3u);

  std::string id = query::HexOf(TraceId(6));
  auto one = simdjson::dom::array(Data(Get("/api/traces/" + id), "trace"));
  ASSERT_EQ(one.size(), 1u);
  ExpectTraceShape(one.at(0));
  EXPECT_EQ(std::string_view(one.at(0)["traceID"]), id);
  // Leading zeros may be dropped, as Jaeger prints short ids.
  EXPECT_EQ(simdjson::dom::array(Data(Get("/api/traces/6"), "short id")).size(), 1u);
  auto by_ids = "/api/traces?traceID=" + id + "&traceID=" + query::HexOf(TraceId(7));
  EXPECT_EQ(simdjson::dom::array(Data(Get(by_ids), by_ids)).size(), 2u);

  std::string deps = "/api/dependencies?endTs=" + std::to_string(kNow / kMs) + "&lookback=" +
                     std::to_string(200 * 1000);
  std::set<std::string> edges;
  for (auto d : simdjson::dom::array(Data(Get(deps), deps))) {
    edges.insert(std::string(std::string_view(d["parent"])) + "->" + std::string(std::string_view(d["child"])) + ":" +
                 std::to_string(int64_t(d["callCount"])));
  }
  // Even traces call db: 5 checkout, 5 frontend, 5 search; the Reflow DataFlow.
  EXPECT_EQ(edges, (std::set<std::string>{"checkout->db:5", "frontend->db:5", "search->db:5", "sensor->validator:1"}));
  EXPECT_EQ(simdjson::dom::array(Data(Get("/api/dependencies?endTs=1000&lookback=1000"), "empty")).size(), 0u);
  Data(Get("/api/dependencies"), "defaults");
}

TEST_F(JaegerApiTest, BadParametersAre400InJaegerErrors) {
  ExpectError("/api/traces", 400, "parameter 'service' is required");
  ExpectError("/api/traces?service=checkout&start=yesterday", 400, "unable to parse param 'start'");
  ExpectError("/api/traces?service=checkout&end=1.5", 400, "unable to parse param 'end'");
  ExpectError("/api/traces?service=checkout&minDuration=fast", 400, "unable to parse param 'minDuration'");
  ExpectError("/api/traces?service=checkout&maxDuration=10", 400, "missing unit");
  ExpectError("/api/traces?service=checkout&minDuration=1s&maxDuration=1ms", 400,
              "'maxDuration' should be greater than 'minDuration'");
  ExpectError("/api/traces?service=checkout&tags=%7Bnot", 400, "malformed 'tags' parameter");
  ExpectError("/api/traces?service=checkout&tags=%7B%22a%22%3A1%7D", 400, "is not a string");
  ExpectError("/api/traces?service=checkout&tag=novalue", 400, "malformed 'tag' parameter");
  ExpectError("/api/traces?service=checkout&limit=-1", 400, "'limit'");
  ExpectError("/api/traces?service=checkout&lookback=forever", 400, "lookback");
  ExpectError("/api/traces?traceID=xyz", 400, "cannot parse traceID");
  ExpectError("/api/traces/not-hex", 400, "cannot parse traceID");
  ExpectError("/api/operations", 400, "parameter 'service' is required");
  ExpectError("/api/operations?service=checkout&spanKind=sideways", 400, "unsupported SpanKind");
  ExpectError("/api/dependencies?endTs=now", 400, "unable to parse param 'endTs'");
  ExpectError("/api/dependencies?lookback=-5", 400, "lookback");
}

TEST_F(JaegerApiTest, UnknownTracesAndPathsAre404) {
  ExpectError("/api/traces/" + query::HexOf(TraceId(999)), 404, "trace not found");
  ExpectError("/api/nope", 404, "no such endpoint");
  // An unknown id among several is skipped, as Jaeger does.
  EXPECT_EQ(simdjson::dom::array(Data(Get("/api/traces?traceID=3e7"), "missing")).size(), 0u);
  EXPECT_FALSE(HandleJaegerApi("GET", "/v1/traces", engine_.get(), kNow).has_value());
}

TEST(JaegerApiServer, RouteServesTheApiOnTheReadPool) {
  testing::TestServer ts;
  ASSERT_TRUE(ts.Start(testing::TestServer::DefaultConfig()).ok());
  auto r = testing::HttpGet(ts.port(), "/api/services");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"data":[],"total":0,"limit":0,"offset":0,"errors":null})");
  auto missing = testing::HttpGet(ts.port(), "/api/traces/0123");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find(R"("errors":[{"code":404)"), std::string::npos) << missing->body;
  ts.Stop();
}

}  // namespace
}  // namespace tracedb::server
