// The data-flow graph (query/graph.h): a differential test of every node and
// edge aggregate (counts, bytes, errors, percentiles, message types) against
// a brute-force computation over the generated stores, with filters and time
// windows (also windows that cut the hour buckets in half); the JSON and DOT
// renderings; errors.

#include "query/graph.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "query/query.h"
#include "schema/hot_fields.h"
#include "tests/query/otel_data_util.h"
#include "tests/query/query_test_util.h"

namespace tracedb::query {
namespace {

using testing::kSecond;
using testing::kT0;

constexpr int64_t kNow = kT0 + 100000 * kSecond;

// Nearest rank, written out independently of query::Percentile.
std::optional<int64_t> Rank(std::vector<int64_t> v, int p) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  size_t k = (static_cast<size_t>(p) * v.size() + 99) / 100;  // ceil(p n / 100)
  return v[std::max<size_t>(k, 1) - 1];
}

struct Expected {
  uint64_t count = 0, bytes = 0, errors = 0;
  std::vector<int64_t> times;
  std::set<std::string> types;
};

// The brute-force graph: every trace the filter's reference evaluation
// matches (testing::BruteForce), then each event on its own.
void CheckAgainstBruteForce(engine::Engine* engine, const std::string& filter, std::optional<int64_t> start,
                            std::optional<int64_t> end) {
  SCOPED_TRACE("filter '" + filter + "' window [" + (start ? std::to_string(*start - kT0) : "-") + ", " +
               (end ? std::to_string(*end - kT0) : "-") + "]");
  auto bound = ParseAndBind(filter, kNow);
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  auto ids = testing::BruteForce(engine, bound->filter);
  ASSERT_TRUE(ids.ok());
  std::map<std::string, Expected> nodes;  // events as count, errors, exec times
  std::map<std::tuple<std::string, std::string, std::string, std::string>, Expected> edges;
  uint64_t traces = 0;
  for (const auto& id : *ids) {
    auto t = engine->GetTrace(id);
    ASSERT_TRUE(t.ok() && t->has_value());
    const schema::Trace& tr = **t;
    if ((start && tr.start_ns < *start) || (end && tr.start_ns > *end)) continue;
    ++traces;
    std::map<schema::SpanId, std::string> service;
    for (const auto& e : tr.events) {
      static const schema::OtelResource kNone;
      if (e.otel) service[e.otel->span_id] = schema::OtelServiceName(e.otel->resource ? *e.otel->resource : kNone);
    }
    for (const auto& e : tr.events) {
      if (e.reflow && !e.actor.empty()) {
        bool err = e.type == schema::EventType::kActorFailed || e.reflow->error.has_value();
        auto& n = nodes[e.actor];
        n.count++;
        n.errors += err;
        auto exec = e.reflow->metrics.execution_time_ns;
        if (e.type != schema::EventType::kDataFlow) {
          if (exec) n.times.push_back(static_cast<int64_t>(*exec));
        } else if (!e.to_actor.empty()) {
          nodes[e.to_actor];
          auto& x = edges[{e.actor, e.reflow->port.value_or(""), e.to_actor, e.to_port}];
          x.count++;
          x.errors += err;
          if (e.reflow->message) {
            x.bytes += e.reflow->message->size_bytes;
            x.types.insert(e.reflow->message->message_type);
          }
          if (exec) x.times.push_back(static_cast<int64_t>(*exec));
        }
      }
      bool op_event = e.type == schema::EventType::kOpStart || e.type == schema::EventType::kOpEnd;
      if (e.operonx && e.operonx->op_name && !e.operonx->op_name->empty() && op_event) {
        auto& n = nodes[*e.operonx->op_name];
        if (e.type == schema::EventType::kOpStart) n.count++;
        if (e.type == schema::EventType::kOpEnd) {
          n.errors += e.operonx->payload_json.find("\"status\":\"error\"") != std::string::npos;
          auto d = e.operonx->payload_json.find("\"duration_ms\":");
          if (d != std::string::npos) {
            n.times.push_back(static_cast<int64_t>(std::llround(std::stod(e.operonx->payload_json.substr(d + 14)) * 1e6)));
          }
        }
      }
      if (e.otel) {
        const std::string& svc = service[e.otel->span_id];
        auto& n = nodes[svc];
        n.count++;
        n.errors += e.otel->status_code == 2;
        n.times.push_back(e.otel->end_ns - e.timestamp_ns);
        if (e.otel->parent_span_id && service.count(*e.otel->parent_span_id) &&
            service[*e.otel->parent_span_id] != svc) {
          auto& x = edges[{service[*e.otel->parent_span_id], "", svc, ""}];
          x.count++;
          x.errors += e.otel->status_code == 2;
          x.times.push_back(e.otel->end_ns - e.timestamp_ns);
        }
      }
    }
  }
  GraphOptions o;
  o.filter = filter;
  o.start_ns = start;
  o.end_ns = end;
  o.now_ns = kNow;
  auto g = BuildGraph(engine, o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->traces, traces);
  ASSERT_EQ(g->nodes.size(), nodes.size());
  for (auto& [id, want] : nodes) {
    ASSERT_TRUE(g->nodes.count(id)) << id;
    GraphNode& got = g->nodes[id];
    EXPECT_EQ(got.events, want.count) << id;
    EXPECT_EQ(got.errors, want.errors) << id;
    EXPECT_EQ(Percentile(&got.exec_ns, 50), Rank(want.times, 50)) << id;
    EXPECT_EQ(Percentile(&got.exec_ns, 99), Rank(want.times, 99)) << id;
  }
  ASSERT_EQ(g->edges.size(), edges.size());
  for (auto& [key, want] : edges) {
    ASSERT_TRUE(g->edges.count(key)) << std::get<0>(key) << " -> " << std::get<2>(key);
    GraphEdge& got = g->edges[key];
    EXPECT_EQ(got.count, want.count);
    EXPECT_EQ(got.bytes, want.bytes);
    EXPECT_EQ(got.errors, want.errors);
    EXPECT_EQ(got.message_types, want.types);
    EXPECT_EQ(Percentile(&got.transfer_ns, 50), Rank(want.times, 50));
    EXPECT_EQ(Percentile(&got.transfer_ns, 99), Rank(want.times, 99));
  }
}

class GraphTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    reflow_ = testing::OpenMemoryEngine().release();
    // Traces 30 min apart: windows below cut hour buckets in half.
    testing::DatasetOptions d;
    d.traces = 300;
    d.spacing_ns = 1800 * kSecond;
    ASSERT_TRUE(testing::WriteDataset(reflow_, d).ok());
    otel_ = testing::OpenMemoryEngine().release();
    ASSERT_TRUE(testing::WriteOtelDataset(otel_).ok());
  }
  static void TearDownTestSuite() {
    delete reflow_;
    delete otel_;
  }
  static engine::Engine* reflow_;
  static engine::Engine* otel_;
};

engine::Engine* GraphTest::reflow_ = nullptr;
engine::Engine* GraphTest::otel_ = nullptr;

TEST_F(GraphTest, ReflowAndOperonxAggregatesMatchBruteForce) {
  constexpr int64_t kHour = 3600 * kSecond;
  for (const char* filter : {"", "source = \"reflow\"", "source = \"operonx\"", "status = failed",
                             "event{type = data_flow and to_actor = \"db\"}", "tags.region = \"eu\""}) {
    CheckAgainstBruteForce(reflow_, filter, std::nullopt, std::nullopt);
    CheckAgainstBruteForce(reflow_, filter, kT0 + 10 * kHour + kHour / 2, kT0 + 40 * kHour - kHour / 2);
  }
  CheckAgainstBruteForce(reflow_, "", kT0 + 7 * kHour + 1, kT0 + 7 * kHour + 2);  // empty window
  CheckAgainstBruteForce(reflow_, "", kT0 + 100 * kHour + kHour / 4, std::nullopt);
}

TEST_F(GraphTest, OtelServiceCallsMatchBruteForce) {
  CheckAgainstBruteForce(otel_, "", std::nullopt, std::nullopt);
  CheckAgainstBruteForce(otel_, "service = \"checkout\"", std::nullopt, std::nullopt);
  CheckAgainstBruteForce(otel_, "", kT0 + 5 * kSecond, kT0 + 17 * kSecond);
}

TEST_F(GraphTest, TheDataSetHasEdges) {
  GraphOptions o;
  auto g = BuildGraph(reflow_, o);
  ASSERT_TRUE(g.ok());
  EXPECT_GT(g->edges.size(), 5u);
  uint64_t bytes = 0;
  for (const auto& [k, e] : g->edges) bytes += e.bytes;
  EXPECT_GT(bytes, 0u);
}

TEST(Graph, JsonAndDotRenderEveryAggregate) {
  Graph g;
  schema::Trace t;
  t.source = schema::Source::kReflow;
  for (int i = 0; i < 4; ++i) {
    schema::Event e;
    e.type = schema::EventType::kDataFlow;
    e.actor = "sensor";
    e.to_actor = "validator";
    e.to_port = "in";
    auto& r = e.reflow.emplace();
    r.port = "out";
    r.message.emplace().message_type = i % 2 ? "A" : "B";
    r.message->size_bytes = 100;
    r.metrics.execution_time_ns = (i + 1) * 1'000'000;
    if (i == 3) r.error = "lost";
    t.events.push_back(e);
  }
  schema::Event done;
  done.type = schema::EventType::kActorCompleted;
  done.actor = "validator";
  done.reflow.emplace().metrics.execution_time_ns = 7'000'000;
  t.events.push_back(done);
  g.Add(t);
  EXPECT_EQ(GraphJson(g),
            R"({"traces":1,"nodes":[{"id":"sensor","kind":"actor","events":4,"errors":1,"p50_ns":null,"p99_ns":null},)"
            R"({"id":"validator","kind":"actor","events":1,"errors":0,"p50_ns":7000000,"p99_ns":7000000}],)"
            R"("edges":[{"from":"sensor","from_port":"out","to":"validator","to_port":"in","count":4,"bytes":400,)"
            R"("errors":1,"p50_ns":2000000,"p99_ns":4000000,"message_types":["A","B"]}]})");
  std::string dot = GraphDot(g);
  EXPECT_NE(dot.find("digraph tracedb {"), std::string::npos);
  EXPECT_NE(dot.find(R"("sensor" -> "validator" [label="out -> in\n4 msgs, 400 B, 1 errors\np50 2ms, p99 4ms", color=red];)"),
            std::string::npos)
      << dot;
  EXPECT_EQ(DependenciesJson(g), R"([{"parent":"sensor","child":"validator","callCount":4}])");
}

TEST(Graph, SvgIsLaidOutByGraphviz) {
  Graph g;
  auto svg = GraphSvg(GraphDot(g) + "");
  ASSERT_TRUE(svg.ok()) << svg.status().ToString();
  EXPECT_NE(svg->find("<svg"), std::string::npos);
  EXPECT_FALSE(GraphSvg("digraph {").ok());
}

TEST_F(GraphTest, BadFiltersAndAggregationsAreRefused) {
  GraphOptions o;
  o.filter = "flow = and";
  auto bad = BuildGraph(reflow_, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("^"), std::string::npos);
  o.filter = "| count()";
  EXPECT_EQ(BuildGraph(reflow_, o).status().code(), StatusCode::kInvalidArgument);
  o.filter = "";
  o.max_traces = 3;
  EXPECT_NE(BuildGraph(reflow_, o).status().message().find("more than 3 traces"), std::string::npos);
}

}  // namespace
}  // namespace tracedb::query
