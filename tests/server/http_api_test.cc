#include "server/http_api.h"

#include <gtest/gtest.h>

#include "ingest/reflow/reflow_json.h"
#include "ingest/pipeline/bulk_ingest.h"

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
