// Planner and executor behaviour: access choice, limit pushdown, what is
// read per candidate, the column-scan aggregate path, and page cursors.

#include <gtest/gtest.h>

#include "query/page_token.h"
#include "query/query.h"
#include "tests/query/query_test_util.h"

namespace tracedb::query {
namespace {

using testing::kT0;

class ExecutorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine_ = testing::OpenMemoryEngine().release();
    ASSERT_TRUE(testing::WriteDataset(engine_, testing::DatasetOptions{}).ok());
  }
  static void TearDownTestSuite() { delete engine_; }

  static QueryResult Run(const std::string& text, QueryOptions o = {}) {
    o.now_ns = kT0 + 200 * testing::kSecond;
    auto r = RunQuery(engine_, text, o);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    return r.ok() ? *r : QueryResult();
  }

  static engine::Engine* engine_;
};

engine::Engine* ExecutorTest::engine_ = nullptr;

TEST_F(ExecutorTest, ExactIndexAccessPushesTheLimitDown) {
  QueryOptions o;
  o.limit = 3;
  auto r = Run("flow = \"checkout\" and status = failed", o);
  EXPECT_EQ(r.traces.size(), 3u);
  EXPECT_FALSE(r.next_cursor.empty());
  // 3 page entries + 1 to learn that a next page exists; only the page's
  // headers are read.
  EXPECT_EQ(r.stats.candidates, 4u);
  EXPECT_EQ(r.stats.headers_read, 3u);
  EXPECT_EQ(r.stats.traces_decoded, 0u);
}

TEST_F(ExecutorTest, ResidualReadsColumnsForHotFieldsAndWholeTracesOtherwise) {
  auto hot = Run("flow = \"checkout\" and execution_time_ns > 40ms");
  EXPECT_GT(hot.stats.columns_read, 0u);
  EXPECT_EQ(hot.stats.traces_decoded, 0u);
  auto cold = Run("flow = \"checkout\" and attr.retry = 3");
  EXPECT_GT(cold.stats.traces_decoded, 0u);
  EXPECT_EQ(cold.stats.columns_read, 0u);
}

TEST_F(ExecutorTest, SelectiveIndexLimitsTheCandidates) {
  QueryOptions o;
  o.count_total = true;
  auto r = Run("flow = \"checkout\" and actor = \"validator\"", o);
  // The true answer, read trace by trace (no index, no query code).
  std::vector<schema::Id128> checkout;
  ASSERT_TRUE(engine_
                  ->ScanTraces([&](const schema::Trace& header) {
                    if (header.flow_id == "checkout") checkout.push_back(header.trace_id);
                    return true;
                  })
                  .ok());
  uint64_t want = 0;
  for (const auto& id : checkout) {
    auto t = engine_->GetTrace(id);
    ASSERT_TRUE(t.ok() && t->has_value());
    bool validator = false;
    for (const auto& e : (*t)->events) validator = validator || e.actor == "validator";
    if (validator) ++want;
  }
  ASSERT_GT(want, 0u);
  ASSERT_TRUE(r.total_count.has_value());
  EXPECT_EQ(*r.total_count, want);
  // Only the intersection is examined, never the 200 traces: both indexes
  // are exact, so the candidates are the matches.
  EXPECT_LE(r.stats.candidates, 29u);
  EXPECT_EQ(r.stats.candidates, want);
  EXPECT_NE(r.plan.find("leapfrog intersection"), std::string::npos);
}

TEST_F(ExecutorTest, ColumnScanAggregateEqualsThePerTracePath) {
  // The first runs on ScanColumns alone; adding a trace predicate that is
  // always true forces the per-trace path over the same events.
  auto scan = Run("start >= 2025-07-10T12:01:00Z and execution_time_ns > 1ms | count(), p95(execution_time_ns) by (type)");
  auto per_trace = Run(
      "start >= 2025-07-10T12:01:00Z and execution_time_ns > 1ms and hostname prefix \"host\" | count(), "
      "p95(execution_time_ns) by (type)");
  EXPECT_NE(scan.plan.find("column scan"), std::string::npos);
  EXPECT_EQ(per_trace.plan.find("column scan"), std::string::npos);
  EXPECT_GT(scan.stats.chunks_scanned, 0u);
  EXPECT_EQ(scan.stats.headers_read + scan.stats.traces_decoded, 0u);
  EXPECT_EQ(RenderResult(scan, OutputFormat::kTable), RenderResult(per_trace, OutputFormat::kTable));
  ASSERT_FALSE(scan.rows.empty());
}

TEST_F(ExecutorTest, EventServiceColumnScanEqualsTheDecodedPath) {
  // Reflow events have no service column: their service is the trace's
  // flow, read from one header per trace. The second query decodes every
  // trace (event_id is not hot) over the same events.
  const std::string by = " | count(), max(execution_time_ns) by (service, actor)";
  auto scan = Run("start >= 2025-07-10T12:01:00Z" + by);
  auto decoded = Run("start >= 2025-07-10T12:01:00Z and event{event_id exists}" + by);
  EXPECT_NE(scan.plan.find("column scan"), std::string::npos) << scan.plan;
  EXPECT_NE(decoded.plan.find("aggregate reads: full trace"), std::string::npos) << decoded.plan;
  EXPECT_GT(scan.stats.chunks_scanned, 0u);
  EXPECT_GT(scan.stats.headers_read, 0u);
  EXPECT_EQ(scan.stats.traces_decoded, 0u);
  EXPECT_GT(decoded.stats.traces_decoded, 0u);
  EXPECT_EQ(RenderResult(scan, OutputFormat::kTable), RenderResult(decoded, OutputFormat::kTable));
  ASSERT_FALSE(scan.rows.empty());
}

TEST_F(ExecutorTest, PercentilesUseNearestRank) {
  // Over traces 1..200 starts: p50 of 200 values is the 100th smallest.
  auto r = Run("| p50(start), p99(start), min(start), max(start), count()");
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(*r.rows[0].values[0], static_cast<double>(kT0 + 99 * testing::kSecond));
  EXPECT_EQ(*r.rows[0].values[1], static_cast<double>(kT0 + 197 * testing::kSecond));
  EXPECT_EQ(*r.rows[0].values[2], static_cast<double>(kT0));
  EXPECT_EQ(*r.rows[0].values[3], static_cast<double>(kT0 + 199 * testing::kSecond));
  EXPECT_EQ(*r.rows[0].values[4], 200.0);
}

TEST_F(ExecutorTest, PageTokensRoundTripAndRejectGarbage) {
  engine::IndexEntry e{-5, testing::TraceId(77)};
  auto back = DecodePageToken(EncodePageToken(e));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->start_ns, -5);
  EXPECT_EQ(back->trace_id, e.trace_id);
  EXPECT_FALSE(DecodePageToken("").ok());
  EXPECT_FALSE(DecodePageToken("c1zz").ok());
  QueryOptions o;
  o.cursor = "garbage";
  auto r = RunQuery(engine_, "flow = \"checkout\"", o);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ExecutorTest, CursorStaysStableWhenNewerTracesArrive) {
  auto engine = testing::OpenMemoryEngine();
  ASSERT_TRUE(testing::WriteDataset(engine.get(), testing::DatasetOptions{}).ok());
  QueryOptions o;
  o.limit = 5;
  auto first = RunQuery(engine.get(), "flow = \"search\"", o);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->traces.size(), 5u);
  // A newer trace of the same flow arrives between pages.
  engine::WriteBatch b;
  schema::Trace t;
  t.trace_id = testing::TraceId(999);
  t.flow_id = "search";
  t.start_ns = kT0 + 1000 * testing::kSecond;
  b.StartTrace(t);
  ASSERT_TRUE(engine->Write(b).ok());
  o.cursor = first->next_cursor;
  auto second = RunQuery(engine.get(), "flow = \"search\"", o);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->traces.size(), 5u);
  QueryOptions all;
  all.limit = 1000;
  auto whole = RunQuery(engine.get(), "flow = \"search\"", all);
  ASSERT_TRUE(whole.ok());
  ASSERT_GE(whole->traces.size(), 11u);
  EXPECT_EQ(testing::ShortId(whole->traces[0].trace_id), "t999");
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(second->traces[i].trace_id, whole->traces[6 + i].trace_id);
}

TEST_F(ExecutorTest, ExplainReadsNoTraces) {
  auto r = Run("explain flow = \"checkout\" and attr.retry = 1");
  EXPECT_EQ(r.kind, QueryResult::Kind::kExplain);
  EXPECT_TRUE(r.traces.empty());
  EXPECT_NE(r.plan.find("residual reads: full trace"), std::string::npos);
}

TEST_F(ExecutorTest, RenderFormats) {
  QueryOptions o;
  o.limit = 2;
  o.count_total = true;
  auto r = Run("trace_id = \"00000000-0000-0000-0000-00000000000a\"", o);
  std::string table = RenderResult(r, OutputFormat::kTable);
  EXPECT_EQ(table.substr(0, table.find('\n')), "TRACE_ID                              FLOW    STATUS     START                 DURATION     SOURCE");
  EXPECT_NE(table.find("1 trace(s) of 1"), std::string::npos);
  std::string json = RenderResult(r, OutputFormat::kJson);
  EXPECT_EQ(json.rfind("{\"traces\":[{\"trace_id\":\"00000000-0000-0000-0000-00000000000a\"", 0), 0u) << json;
  EXPECT_NE(json.find("\"total_count\":1,\"next_cursor\":null}"), std::string::npos) << json;
  std::string nd = RenderResult(Run("| count() by (source)"), OutputFormat::kNdjson);
  EXPECT_EQ(nd, "{\"source\":\"operonx\",\"count()\":62.0}\n{\"source\":\"reflow\",\"count()\":138.0}\n");
}

}  // namespace
}  // namespace tracedb::query
