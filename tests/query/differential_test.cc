// The planner (indexes, leapfrog, residual on columns or full traces,
// limit pushdown, page cursors) must give exactly the answers of a
// brute-force scan that evaluates the bound filter on every decoded trace.

#include <gtest/gtest.h>

#include <random>

#include "query/query.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"
#include "tests/query/query_test_util.h"

namespace tracedb::query {
namespace {

using testing::kSecond;
using testing::kT0;

class QueryGen {
 public:
  explicit QueryGen(uint64_t seed, size_t traces) : rng_(seed), traces_(traces) {}

  std::string Query() { return Expr(0); }

 private:
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  template <size_t N>
  std::string Of(const char* const (&arr)[N]) { return arr[Pick(N)]; }

  std::string Time() {
    int64_t t = kT0 + static_cast<int64_t>(Pick(traces_ + 2)) * kSecond - kSecond;
    return Pick(2) ? schema::FormatRfc3339(t) : "\"" + schema::FormatRfc3339(t) + "\"";
  }

  std::string TracePred() {
    static const char* const kFlows[] = {"\"checkout\"", "\"checkout-v2\"", "\"billing\"", "\"search\"",
                                         "\"callbot\"", "\"summarize\"", "\"nope\""};
    static const char* const kStatus[] = {"pending", "running", "completed", "failed", "cancelled", "\"Failed\""};
    switch (Pick(22)) {
      case 0: return "flow = " + Of(kFlows);
      case 1: return "flow in (" + Of(kFlows) + ", " + Of(kFlows) + ")";
      case 2: return "flow like \"check*\"";
      case 3: return "flow =~ \"(billing|sum.*)\"";
      case 4: return "flow contains \"out\"";
      case 5: return "flow != " + Of(kFlows);
      case 6: return "status = " + Of(kStatus);
      case 7: return "status in (" + Of(kStatus) + ", " + Of(kStatus) + ")";
      case 8: return "start >= " + Time();
      case 9: return "start < " + Time();
      case 10: return "start <= " + Time() + " and start > " + Time();
      case 11: return Pick(2) ? "duration > " + std::to_string(1 + Pick(900)) + "ms" : "end exists";
      case 12: return "environment = \"prod\"";
      case 13: return Pick(2) ? "user = \"u" + std::to_string(Pick(5)) + "\"" : "session not exists";
      case 14: return Pick(2) ? "tags.region = \"eu\"" : "tags.tier exists";
      case 15: return "version >= \"1.2.0\"";
      case 16: return "source = \"operonx\"";
      case 17: return "trace_id in (\"" + schema::FormatUuid(testing::TraceId(1 + Pick(traces_))) + "\", \"" +
                      schema::FormatUuid(testing::TraceId(1 + Pick(traces_))) + "\")";
      case 18: return "execution_id = \"" + schema::FormatUuid(testing::TraceId(1000001 + Pick(traces_))) + "\"";
      case 19: return "status_error = \"timeout\"";
      case 20: return "request_id = \"req-" + std::to_string(1 + Pick(traces_)) + "\"";
      default: return "hostname != \"host-1\"";
    }
  }

  std::string EventPred() {
    static const char* const kActors[] = {"\"validator\"", "\"router\"", "\"payment.gateway\"", "\"db\"",
                                          "\"cache\"", "\"gateway\""};
    static const char* const kTypes[] = {"message_sent", "actor_failed", "ActorCompleted", "data_flow",
                                         "op_end", "llm_usage", "group_end"};
    switch (Pick(26)) {
      case 0: return "actor = " + Of(kActors);
      case 1: return "actor in (" + Of(kActors) + ", " + Of(kActors) + ")";
      case 2: return "actor like \"*a*\"";
      case 3: return "actor =~ \"(db|cache)\"";
      case 4: return "actor contains \"out\"";
      case 5: return "type = " + Of(kTypes);
      case 6: return "event_status = error";
      case 7: return "execution_time_ns > " + std::to_string(1 + Pick(50)) + "ms";
      case 8: return "size_bytes >= " + std::to_string(Pick(4000));
      case 9: return "queue_depth >= " + std::to_string(Pick(20));
      case 10: return "cpu_usage_percent > " + std::to_string(Pick(100)) + ".5";
      case 11: return Pick(2) ? "error exists" : "error = \"timeout\"";
      case 12: return "attr.retry >= " + std::to_string(Pick(4));
      case 13: return Pick(2) ? "attr.tenant = \"acme\"" : "attr.nested.k = \"v1\"";
      case 14: return "port = \"in\"";
      case 15: return "to_actor = " + Of(kActors);
      case 16: return "message_type = \"Order\"";
      case 17: return "op_name = \"" + std::string(Pick(2) ? "fetch" : "g.llm") + "\"";
      case 18: return "kind = \"op_end\"";
      case 19: return "payload.status = " + std::string(Pick(2) ? "error" : "\"ok\"");
      case 20: return "payload.duration_ms > " + std::to_string(Pick(500));
      case 21: return "payload.model = \"gpt-4o\"";
      case 22: return Pick(2) ? "ctx prefix \"main\"" : "ctx = \"main/[1]\"";
      case 23: return "parent_event_id exists";
      case 24: return "memory_usage_bytes < " + std::to_string(Pick(1000) * 1024);
      default: return "op_name like \"*parse\"";
    }
  }

  std::string Expr(int depth) {
    size_t choice = Pick(depth >= 3 ? 3 : 8);
    switch (choice) {
      case 0: return TracePred();
      case 1: return EventPred();
      case 2: return Pick(2) ? TracePred() : EventPred();
      case 3: return Expr(depth + 1) + " and " + Expr(depth + 1);
      case 4: return "(" + Expr(depth + 1) + " or " + Expr(depth + 1) + ")";
      case 5: return "not " + (Pick(2) ? EventPred() : "(" + Expr(depth + 1) + ")");
      case 6: return "event{" + EventPred() + (Pick(2) ? " and " : " or ") + EventPred() + "}";
      default: return TracePred() + " and " + EventPred() + (Pick(2) ? " and " + TracePred() : "");
    }
  }

  std::mt19937_64 rng_;
  size_t traces_;
};

std::string Names(const std::vector<schema::Id128>& ids) {
  std::string out;
  for (const auto& id : ids) out += testing::ShortId(id) + " ";
  return out;
}

void RunDifferential(const testing::DatasetOptions& data, uint64_t query_seed, int queries) {
  auto engine = testing::OpenMemoryEngine();
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(testing::WriteDataset(engine.get(), data).ok());
  QueryGen gen(query_seed, data.traces);
  std::mt19937_64 rng(query_seed + 1);
  int non_empty = 0;
  for (int q = 0; q < queries; ++q) {
    std::string text = gen.Query();
    SCOPED_TRACE("query: " + text);
    auto bound = ParseAndBind(text, kT0);
    ASSERT_TRUE(bound.ok()) << bound.status().ToString();
    auto want = testing::BruteForce(engine.get(), bound->filter);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    if (!want->empty()) ++non_empty;

    QueryOptions all;
    all.limit = 1000000;
    all.count_total = true;
    all.max_expanded_values = 1 + rng() % 8;  // sometimes forces pattern fallback
    auto got = Execute(engine.get(), *bound, all);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    std::vector<schema::Id128> ids;
    for (const auto& t : got->traces) ids.push_back(t.trace_id);
    ASSERT_EQ(Names(ids), Names(*want)) << got->plan;
    ASSERT_EQ(got->total_count.value_or(~0ULL), want->size());
    EXPECT_TRUE(got->next_cursor.empty());

    if (q % 4 == 0) {
      // Page through with cursors; the pages concatenate to the answer.
      QueryOptions page;
      page.limit = 1 + rng() % 7;
      page.count_total = rng() % 2 == 0;
      std::vector<schema::Id128> paged;
      for (int guard = 0; guard < 1000; ++guard) {
        auto r = Execute(engine.get(), *bound, page);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        if (page.count_total) {
          ASSERT_EQ(r->total_count.value_or(~0ULL), want->size());
        }
        ASSERT_LE(r->traces.size(), page.limit);
        for (const auto& t : r->traces) paged.push_back(t.trace_id);
        if (r->next_cursor.empty()) break;
        page.cursor = r->next_cursor;
      }
      ASSERT_EQ(Names(paged), Names(*want));
    } else if (q % 4 == 1) {
      QueryOptions off;
      off.offset = rng() % 10;
      off.limit = 1 + rng() % 5;
      auto r = Execute(engine.get(), *bound, off);
      ASSERT_TRUE(r.ok());
      std::vector<schema::Id128> expect;
      for (size_t i = off.offset; i < want->size() && expect.size() < off.limit; ++i) expect.push_back((*want)[i]);
      std::vector<schema::Id128> page_ids;
      for (const auto& t : r->traces) page_ids.push_back(t.trace_id);
      ASSERT_EQ(Names(page_ids), Names(expect));
      ASSERT_EQ(r->next_cursor.empty(), off.offset + off.limit >= want->size());
    }
  }
  // The generator must produce meaningful queries, not only empty answers.
  EXPECT_GT(non_empty, queries / 5);
}

TEST(Differential, RandomQueriesMatchBruteForceOnSpreadStarts) {
  testing::DatasetOptions data;
  data.seed = 11;
  data.traces = 250;
  RunDifferential(data, 1234, 700);
}

TEST(Differential, RandomQueriesMatchBruteForceWithTiedStarts) {
  testing::DatasetOptions data;
  data.seed = 29;
  data.traces = 160;
  data.ties = true;
  RunDifferential(data, 98765, 500);
}

}  // namespace
}  // namespace tracedb::query
