// Reflow TraceQuery compiles to the same plan as the language and follows
// QueryTraces semantics (reflow-protocol.md §7.4, §8).

#include <gtest/gtest.h>

#include "query/query.h"
#include "tests/query/query_test_util.h"

namespace tracedb::query {
namespace {

using testing::kSecond;
using testing::kT0;

class TraceQueryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine_ = testing::OpenMemoryEngine().release();
    ASSERT_TRUE(testing::WriteDataset(engine_, testing::DatasetOptions{}).ok());
  }
  static void TearDownTestSuite() { delete engine_; }

  static std::string Ids(const QueryResult& r) {
    std::string out;
    for (const auto& t : r.traces) out += testing::ShortId(t.trace_id) + " ";
    return out;
  }

  // The same question asked in the language.
  static QueryResult Language(const std::string& text, size_t limit, size_t offset) {
    QueryOptions o;
    o.limit = limit;
    o.offset = offset;
    o.count_total = true;
    auto r = RunQuery(engine_, text, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : QueryResult();
  }

  static engine::Engine* engine_;
};

engine::Engine* TraceQueryTest::engine_ = nullptr;

TEST_F(TraceQueryTest, EmptyQueryMatchesAllNewestFirst) {
  auto r = RunTraceQuery(engine_, {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->traces.size(), 200u);
  EXPECT_EQ(r->total_count, 200u);
  EXPECT_EQ(testing::ShortId(r->traces.front().trace_id), "t200");
  for (size_t i = 1; i < r->traces.size(); ++i) EXPECT_GE(r->traces[i - 1].start_ns, r->traces[i].start_ns);
}

TEST_F(TraceQueryTest, TotalCountIsEveryMatchNotThePage) {
  TraceQueryFilter f;
  f.flow_id = "checkout";
  f.limit = 3;
  f.offset = 2;
  auto r = RunTraceQuery(engine_, f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->traces.size(), 3u);
  EXPECT_EQ(r->total_count, 29u);
  EXPECT_EQ(Ids(*r), Ids(Language("flow = \"checkout\"", 3, 2)));
}

TEST_F(TraceQueryTest, OffsetWithoutLimitWorks) {
  TraceQueryFilter f;
  f.flow_id = "search";
  f.offset = 27;
  auto r = RunTraceQuery(engine_, f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->traces.size(), 2u);
  EXPECT_EQ(r->total_count, 29u);
}

TEST_F(TraceQueryTest, TimeRangeBoundsTheStartInclusively) {
  TraceQueryFilter f;
  f.time_range = std::make_pair(kT0 + 10 * kSecond, kT0 + 19 * kSecond);  // traces 11..20
  auto r = RunTraceQuery(engine_, f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Ids(*r), "t20 t19 t18 t17 t16 t15 t14 t13 t12 t11 ");
  EXPECT_EQ(r->total_count, 10u);
}

TEST_F(TraceQueryTest, FailedStatusComparesTheErrorText) {
  TraceQueryFilter f;
  f.status = schema::ExecutionStatus{schema::StatusCode::kFailed, "timeout"};
  auto timeout = RunTraceQuery(engine_, f);
  f.status->error = "actor failed";
  auto other = RunTraceQuery(engine_, f);
  f.status->error = "no such error";
  auto none = RunTraceQuery(engine_, f);
  ASSERT_TRUE(timeout.ok() && other.ok() && none.ok());
  EXPECT_GT(*timeout->total_count, 0u);
  EXPECT_GT(*other->total_count, 0u);
  EXPECT_EQ(*none->total_count, 0u);
  auto all_failed = Language("status = failed", 1000, 0);
  EXPECT_EQ(*timeout->total_count + *other->total_count, *all_failed.total_count);
  EXPECT_EQ(Ids(*timeout), Ids(Language("status = failed and status.error = \"timeout\"", 1000, 0)));
  for (const auto& t : timeout->traces) EXPECT_EQ(t.status.error, "timeout");
}

TEST_F(TraceQueryTest, ActorFilterIsASubstringOfAnyEventActor) {
  TraceQueryFilter f;
  f.actor_filter = "gate";  // matches "payment.gateway"
  auto r = RunTraceQuery(engine_, f);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->traces.size(), 0u);
  EXPECT_EQ(Ids(*r), Ids(Language("actor contains \"gate\"", 1000, 0)));
  EXPECT_EQ(Ids(*r), Ids(Language("actor = \"payment.gateway\"", 1000, 0)));
}

TEST_F(TraceQueryTest, CombinedFiltersEqualTheLanguage) {
  TraceQueryFilter f;
  f.flow_id = "billing";
  f.status = schema::ExecutionStatus{schema::StatusCode::kCompleted, ""};
  f.actor_filter = "o";
  f.time_range = std::make_pair(kT0, kT0 + 150 * kSecond);
  f.execution_id = testing::TraceId(1000080);
  auto r = RunTraceQuery(engine_, f);
  ASSERT_TRUE(r.ok());
  auto l = Language(
      "flow = \"billing\" and status = completed and actor contains \"o\" and start >= 2025-07-10T12:00:00Z and "
      "start <= 2025-07-10T12:02:30Z and execution_id = \"00000000-0000-0000-0000-0000000f4290\"",
      1000, 0);
  EXPECT_EQ(Ids(*r), Ids(l));
  EXPECT_EQ(Ids(*r), "t80 ");
}

TEST_F(TraceQueryTest, CompilesToTheSameBoundFilterAsTheLanguage) {
  TraceQueryFilter f;
  f.flow_id = "x";
  f.status = schema::ExecutionStatus{schema::StatusCode::kFailed, "e"};
  f.actor_filter = "a";
  EXPECT_EQ(ToString(CompileTraceQuery(f).filter),
            "flow = \"x\" and status = failed and status_error = \"e\" and event{actor contains \"a\"}");
}

}  // namespace
}  // namespace tracedb::query
