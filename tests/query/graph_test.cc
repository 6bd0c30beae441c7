// The data-flow graph (query/graph.h): a differential test of every node and
// edge aggregate (counts, bytes, errors, percentiles, message types) against
// a brute-force computation over the generated stores, with filters and time
// windows (also windows that cut the hour buckets and the aggregate slots
// in half), on both paths: the scan, and the ingest-time aggregates
// (engine::ReadGraphAggregates) with the cut ends scanned, over stores
// generated with OTel spans in any order, resent duplicates, starts that
// move to an earlier slot, replaced traces, retention and evicted write
// state; the JSON and DOT renderings; errors.

#include "query/graph.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "ingest/otel/otlp_mapping.h"
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

// A percentile from the aggregates' sketch: within its bound of the exact
// nearest rank (engine::kSketchRelativeError of the value, plus 1 ns of
// rounding).
void ExpectNear(std::optional<int64_t> got, std::optional<int64_t> want, bool exact, const std::string& what) {
  ASSERT_EQ(got.has_value(), want.has_value()) << what;
  if (!want) return;
  if (exact) {
    EXPECT_EQ(*got, *want) << what;
    return;
  }
  double bound = engine::kSketchRelativeError * std::abs(static_cast<double>(*want)) + 1;
  EXPECT_LE(std::abs(static_cast<double>(*got - *want)), bound) << what << ": got " << *got << " want " << *want;
}

struct Expected {
  uint64_t count = 0, bytes = 0, errors = 0;
  std::vector<int64_t> times;
  std::set<std::string> types;
};

// The brute-force graph: every trace the filter's reference evaluation
// matches (testing::BruteForce), then each event on its own.
// Returns the path the default (non-forced) build took.
GraphPath CheckAgainstBruteForce(engine::Engine* engine, const std::string& filter, std::optional<int64_t> start,
                                 std::optional<int64_t> end) {
  GraphPath path = GraphPath::kScan;
  [&] {
    // Relative to kT0 when that fits in int64 (a window may be INT64_MIN..).
    auto rel = [](std::optional<int64_t> v) {
      int64_t d = 0;
      if (!v) return std::string("-");
      return __builtin_sub_overflow(*v, kT0, &d) ? std::to_string(*v) + " (absolute)" : std::to_string(d);
    };
    SCOPED_TRACE("filter '" + filter + "' window [" + rel(start) + ", " + rel(end) + "]");
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
              n.times.push_back(
                  static_cast<int64_t>(std::llround(std::stod(e.operonx->payload_json.substr(d + 14)) * 1e6)));
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
    for (bool force_scan : {true, false}) {
      SCOPED_TRACE(force_scan ? "scan path" : "default path");
      GraphOptions o;
      o.filter = filter;
      o.start_ns = start;
      o.end_ns = end;
      o.now_ns = kNow;
      o.force_scan = force_scan;
      auto g = BuildGraph(engine, o);
      ASSERT_TRUE(g.ok()) << g.status().ToString();
      if (!force_scan) path = g->path;
      if (force_scan || !filter.empty()) {
        EXPECT_EQ(g->path, GraphPath::kScan);
      }
      const bool exact = g->path == GraphPath::kScan;
      EXPECT_EQ(g->traces, traces);
      ASSERT_EQ(g->nodes.size(), nodes.size());
      for (auto& [id, want] : nodes) {
        ASSERT_TRUE(g->nodes.count(id)) << id;
        GraphNode& got = g->nodes[id];
        EXPECT_EQ(got.events, want.count) << id;
        EXPECT_EQ(got.errors, want.errors) << id;
        ExpectNear(ExecPercentile(&got, 50), Rank(want.times, 50), exact, id + " p50");
        ExpectNear(ExecPercentile(&got, 99), Rank(want.times, 99), exact, id + " p99");
      }
      ASSERT_EQ(g->edges.size(), edges.size());
      for (auto& [key, want] : edges) {
        std::string name = std::get<0>(key) + " -> " + std::get<2>(key);
        ASSERT_TRUE(g->edges.count(key)) << name;
        GraphEdge& got = g->edges[key];
        EXPECT_EQ(got.count, want.count) << name;
        EXPECT_EQ(got.bytes, want.bytes) << name;
        EXPECT_EQ(got.errors, want.errors) << name;
        EXPECT_EQ(got.message_types, want.types) << name;
        ExpectNear(TransferPercentile(&got, 50), Rank(want.times, 50), exact, name + " p50");
        ExpectNear(TransferPercentile(&got, 99), Rank(want.times, 99), exact, name + " p99");
      }
    }
  }();
  return path;
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
  // Without a filter the whole slots come from the aggregates: windows
  // that cut a slot (and an hour bucket) scan only the cut ends.
  EXPECT_EQ(CheckAgainstBruteForce(reflow_, "", std::nullopt, std::nullopt), GraphPath::kAggregates);
  EXPECT_EQ(CheckAgainstBruteForce(reflow_, "", kT0 + 10 * kHour, kT0 + 40 * kHour - 1), GraphPath::kAggregates);
  EXPECT_EQ(CheckAgainstBruteForce(reflow_, "", kT0 + 10 * kHour + 17 * kSecond, kT0 + 40 * kHour + 29 * kSecond),
            GraphPath::kAggregatesScan);
  EXPECT_EQ(CheckAgainstBruteForce(reflow_, "", kT0 + 30 * kHour - kSecond, kT0 + 30 * kHour + 61 * kSecond),
            GraphPath::kAggregatesScan);
  EXPECT_EQ(CheckAgainstBruteForce(reflow_, "", kT0 + 30 * kHour - kSecond, kT0 + 30 * kHour + 8 * kSecond),
            GraphPath::kAggregatesScan);
  // Shorter than a slot (1 s): nothing whole, all scanned.
  EXPECT_EQ(CheckAgainstBruteForce(reflow_, "", kT0 + 30 * kHour - kSecond / 3, kT0 + 30 * kHour + kSecond / 2),
            GraphPath::kScan);
  // Empty windows: before every trace, and end before start.
  EXPECT_EQ(CheckAgainstBruteForce(reflow_, "", kT0 - 10 * kHour, kT0 - 2 * kHour - 1), GraphPath::kAggregates);
  CheckAgainstBruteForce(reflow_, "", kT0 + 10 * kHour, kT0 + 9 * kHour);
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
            R"("errors":1,"p50_ns":2000000,"p99_ns":4000000,"message_types":["A","B"]}],"path":"scan"})");
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
  o.filter = "source = \"reflow\"";  // the scan path reads traces; aggregates have no such limit
  o.max_traces = 3;
  EXPECT_NE(BuildGraph(reflow_, o).status().message().find("more than 3 traces"), std::string::npos);
}

namespace otel = ingest::otel;

constexpr int64_t kHour = 3600 * kSecond;

engine::Options SmallOptions() {
  engine::Options o;
  o.in_memory = true;
  o.block_cache_bytes = 8 << 20;
  o.write_buffer_bytes = 8 << 20;
  o.trace_cache_capacity = 16;  // the minimum: most traces' write state is evicted and reloaded
  return o;
}

// A generated OTel store, written through the real OTLP mapping: traces of
// 1-8 spans over five services, starting near hour (bucket) and slot
// boundaries; each trace's spans are exported in 1-3 requests in shuffled
// order (children before their parents, the root often last, so the
// trace's start moves earlier, at times into the previous slot or
// bucket); one request in eight is sent twice.
Status WriteGeneratedOtel(engine::Engine* engine, uint64_t seed, int traces) {
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return rng() % n; };
  static const char* kServices[] = {"api", "auth", "db", "cache", "queue"};
  std::vector<otel::ExportTraceServiceRequest> requests;
  for (int n = 1; n <= traces; ++n) {
    schema::Id128 id = testing::TraceId(static_cast<uint64_t>(5000 + n));
    // Around one of six hour boundaries, a few seconds either side.
    int64_t start = kT0 + static_cast<int64_t>(1 + pick(6)) * kHour + static_cast<int64_t>(pick(8000)) * kSecond / 1000 -
                    4 * kSecond;
    size_t spans = 1 + pick(8);
    std::vector<otel::ResourceSpans> parts;
    for (size_t k = 0; k < spans; ++k) {
      otel::Span s;
      s.trace_id.assign(reinterpret_cast<const char*>(id.data()), id.size());
      s.span_id = std::string(8, '\0');
      s.span_id[0] = static_cast<char>(k + 1);
      s.span_id[7] = static_cast<char>(n);
      if (k > 0) {
        s.parent_span_id = std::string(8, '\0');
        s.parent_span_id[0] = static_cast<char>(1 + pick(k));
        s.parent_span_id[7] = static_cast<char>(n);
      }
      s.name = "op" + std::to_string(pick(4));
      s.kind = 2;
      // Children start after the root, by up to 5 s.
      auto begin = static_cast<uint64_t>(start + (k == 0 ? 0 : static_cast<int64_t>(1 + pick(5'000'000)) * 1000));
      s.start_time_unix_nano = begin;
      s.end_time_unix_nano = begin + 1000 * (1 + pick(3'000'000));
      if (pick(10) == 0) s.status.code = 2;
      otel::ResourceSpans rs;
      otel::KeyValue kv;
      kv.key = "service.name";
      kv.value.kind = otel::AnyValue::Kind::kString;
      kv.value.str = kServices[pick(5)];
      rs.resource.attributes.push_back(kv);
      rs.scope_spans.emplace_back().spans.push_back(std::move(s));
      parts.push_back(std::move(rs));
    }
    std::shuffle(parts.begin(), parts.end(), rng);
    size_t pieces = 1 + pick(3);
    for (size_t p = 0; p < pieces; ++p) {
      otel::ExportTraceServiceRequest r;
      for (size_t k = p; k < parts.size(); k += pieces) r.resource_spans.push_back(parts[k]);
      if (!r.resource_spans.empty()) requests.push_back(std::move(r));
    }
  }
  std::shuffle(requests.begin(), requests.end(), rng);
  engine::WriteBatch batch;
  for (auto& request : requests) {
    int copies = pick(8) == 0 ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      otel::MapResult r = otel::AppendExportRequest(request, &batch);
      if (!r.partial_success.empty()) return Status::Internal("generated spans refused");
      if (pick(3) == 0) {  // batches of one to a few requests
        TRACEDB_RETURN_IF_ERROR(engine->Write(batch).status());
        batch.Clear();
      }
    }
  }
  return engine->Write(batch).status();
}

// Windows over the generated stores: whole, hour-aligned, cutting the hour
// buckets and the slots in half, shorter than a slot.
void CheckWindows(engine::Engine* engine) {
  EXPECT_EQ(CheckAgainstBruteForce(engine, "", std::nullopt, std::nullopt), GraphPath::kAggregates);
  EXPECT_EQ(CheckAgainstBruteForce(engine, "", kT0 + kHour, kT0 + 4 * kHour - 1), GraphPath::kAggregates);
  EXPECT_EQ(CheckAgainstBruteForce(engine, "", kT0 + kHour / 2, kT0 + 3 * kHour + kHour / 2 + 30 * kSecond),
            GraphPath::kAggregatesScan);
  EXPECT_EQ(CheckAgainstBruteForce(engine, "", kT0 + 2 * kHour - 2 * kSecond, kT0 + 5 * kHour + kSecond),
            GraphPath::kAggregatesScan);
  CheckAgainstBruteForce(engine, "", kT0 + 3 * kHour - 3 * kSecond, kT0 + 3 * kHour + 3 * kSecond);
  CheckAgainstBruteForce(engine, "", kT0 + 3 * kHour, std::nullopt);
  CheckAgainstBruteForce(engine, "service = \"db\"", kT0 + kHour / 2, kT0 + 5 * kHour);
}

TEST(GraphAggregates, OtelSpansInAnyOrderWithDuplicatesMatchBruteForce) {
  auto e = engine::Engine::Open(SmallOptions());
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(WriteGeneratedOtel(e->get(), 7, 120).ok());
  EXPECT_GT((*e)->counters().duplicates.load(), 0u);
  CheckWindows(e->get());
  // The same requests again: every span is a duplicate, nothing changes.
  ASSERT_TRUE(WriteGeneratedOtel(e->get(), 7, 120).ok());
  CheckWindows(e->get());
  auto g = BuildGraph(e->get(), GraphOptions{});
  ASSERT_TRUE(g.ok());
  EXPECT_GE(g->edges.size(), 10u);  // the data set has calls to check
}

TEST(GraphAggregates, ResentReflowEventsAndReplacedTracesMatchBruteForce) {
  auto e = engine::Engine::Open(SmallOptions());
  ASSERT_TRUE(e.ok());
  testing::DatasetOptions d;
  d.traces = 150;
  d.spacing_ns = 97 * kSecond;  // across slots and a few hour buckets
  d.seed = 11;
  ASSERT_TRUE(testing::WriteDataset(e->get(), d).ok());
  ASSERT_TRUE(testing::WriteDataset(e->get(), d).ok());  // resent: all duplicates
  EXPECT_GT((*e)->counters().duplicates.load(), 100u);
  // StoreTrace replaces traces: fewer events, a start in another slot or
  // another hour.
  for (uint64_t n : {3, 40, 77, 120}) {
    auto t = (*e)->GetTrace(testing::TraceId(n));
    ASSERT_TRUE(t.ok() && t->has_value());
    schema::Trace trace = std::move(**t);
    if (trace.events.size() > 1) trace.events.pop_back();
    trace.start_ns += (n % 2 ? 1 : -2) * kHour + 61 * kSecond;
    engine::WriteBatch b;
    b.StoreTrace(std::move(trace));
    ASSERT_TRUE((*e)->Write(b).ok());
  }
  for (auto [lo, hi] : std::vector<std::pair<int64_t, int64_t>>{{INT64_MIN, INT64_MAX},
                                                               {kT0 + kHour / 2 + 7 * kSecond, kT0 + 3 * kHour},
                                                               {kT0 - 3 * kHour, kT0 + kHour + 90 * kSecond}}) {
    EXPECT_NE(CheckAgainstBruteForce(e->get(), "", lo, hi), GraphPath::kScan);
  }
}

// Buckets of 1,000 s: 5-minute and 1-hour cells straddle bucket borders
// and are stored as one key per bucket; a window reads all of them.
TEST(GraphAggregates, CellsWiderThanABucketMatchBruteForce) {
  engine::Options o = SmallOptions();
  o.bucket_seconds = 1000;
  auto e = engine::Engine::Open(o);
  ASSERT_TRUE(e.ok());
  testing::DatasetOptions d;
  d.traces = 120;
  d.spacing_ns = 173 * kSecond;  // ~5.8 hours: many buckets, every cell width
  d.seed = 5;
  ASSERT_TRUE(testing::WriteDataset(e->get(), d).ok());
  ASSERT_TRUE(WriteGeneratedOtel(e->get(), 9, 60).ok());
  EXPECT_EQ(CheckAgainstBruteForce(e->get(), "", std::nullopt, std::nullopt), GraphPath::kAggregates);
  EXPECT_EQ(CheckAgainstBruteForce(e->get(), "", kT0, kT0 + 4 * kHour - 1), GraphPath::kAggregates);
  EXPECT_EQ(CheckAgainstBruteForce(e->get(), "", kT0 + 999 * kSecond + kSecond / 2, kT0 + 2 * kHour + 1001 * kSecond),
            GraphPath::kAggregatesScan);
  EXPECT_EQ(CheckAgainstBruteForce(e->get(), "", kT0 + kHour - 7 * kSecond, kT0 + 5 * kHour + 300 * kSecond - 1),
            GraphPath::kAggregates);
}

TEST(GraphAggregates, RetentionRemovesAggregatesWithTheirBuckets) {
  engine::Options o = SmallOptions();
  o.retention_max_age_seconds = 3 * 3600;
  auto e = engine::Engine::Open(o);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(WriteGeneratedOtel(e->get(), 21, 80).ok());
  auto before = BuildGraph(e->get(), GraphOptions{});
  ASSERT_TRUE(before.ok());
  // Keeps the buckets from kT0 + 4h on.
  auto dropped = (*e)->EnforceRetention(kT0 + 7 * kHour + kHour / 2);
  ASSERT_TRUE(dropped.ok());
  EXPECT_GT(*dropped, 0u);
  auto after = BuildGraph(e->get(), GraphOptions{});
  ASSERT_TRUE(after.ok());
  EXPECT_LT(after->traces, before->traces);
  EXPECT_GT(after->traces, 0u);
  CheckAgainstBruteForce(e->get(), "", std::nullopt, std::nullopt);
  CheckAgainstBruteForce(e->get(), "", kT0, kT0 + 5 * kHour + 10 * kSecond);
}

TEST(GraphAggregates, AggregatesOnDiskSurviveAReopen) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("tracedb-graph-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  engine::Options o = SmallOptions();
  o.in_memory = false;
  o.path = dir.string();
  {
    auto e = engine::Engine::Open(o);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE(WriteGeneratedOtel(e->get(), 5, 60).ok());
  }
  {
    // Reopened: the merge operator reads the stored operands, and more
    // spans (all resent, then new traces) reload the OTel state from disk.
    auto e = engine::Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    ASSERT_TRUE(WriteGeneratedOtel(e->get(), 5, 90).ok());
    CheckWindows(e->get());
  }
  std::filesystem::remove_all(dir);
}

TEST(GraphAggregates, UnknownIdsAndEmptyStoresGiveEmptyGraphs) {
  auto e = engine::Engine::Open(SmallOptions());
  ASSERT_TRUE(e.ok());
  GraphOptions o;
  auto g = BuildGraph(e->get(), o);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(GraphJson(*g), R"({"traces":0,"nodes":[],"edges":[],"path":"aggregates"})");
  o.filter = "trace_id = \"00000000000000000000000000000abc\"";
  g = BuildGraph(e->get(), o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(GraphJson(*g), R"({"traces":0,"nodes":[],"edges":[],"path":"scan"})");
}

}  // namespace
}  // namespace tracedb::query
