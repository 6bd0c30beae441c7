// graph_window: the data-flow graph of a one-hour window (GET /v1/graph
// without a filter, Jaeger's /api/dependencies).
//
// Store: the read store (--query-events; 10,000,000 for the issue-14 figure,
// docs/PERFORMANCE.md). Each of RunConfig::queries / 10 queries (at least
// 10) picks a one-hour window at a seeded position (whole microseconds, so
// it cuts aggregate slots at both ends): inside the store's time range when
// the store spans more than an hour, else anywhere that overlaps it (the
// generator's 10M events span ~15 minutes: most windows hold the whole
// store, the others cut it at one end, where the cut slot's traces are
// scanned). It runs, through the query API as the HTTP handler does:
//
//   query::BuildGraph(store, {filter "", start t0, end t0 + 1h - 1}) + GraphJson
//
// which reads the ingest-time aggregates of the window's whole 10 s slots
// and scans the traces of the two cut slots. Timed: each query (p50/p99 in
// the figures). Verified: the graph's trace count equals the window's
// traces (from the generator); its path is not the scan; and for a window
// of one minute (cut at both ends), every node and edge count equals what
// the scan path computes.

#include <optional>

#include <fmt/format.h>

#include "bench/runner.h"
#include "bench/workloads/query_common.h"
#include "query/graph.h"

namespace tracedb::bench {

namespace {

// Equal node and edge counts (events, errors, messages, bytes) on both
// paths; "" when they agree.
std::string CompareWithScan(engine::Engine* store, schema::TimestampNs t0, schema::TimestampNs t1) {
  query::GraphOptions o;
  o.start_ns = t0;
  o.end_ns = t1;
  auto agg = query::BuildGraph(store, o);
  o.force_scan = true;
  auto scan = query::BuildGraph(store, o);
  if (!agg.ok() || !scan.ok()) return "graph failed: " + (agg.ok() ? scan.status() : agg.status()).ToString();
  if (agg->traces != scan->traces || agg->nodes.size() != scan->nodes.size() ||
      agg->edges.size() != scan->edges.size()) {
    return fmt::format("aggregates {} traces / {} nodes / {} edges, scan {} / {} / {}", agg->traces,
                       agg->nodes.size(), agg->edges.size(), scan->traces, scan->nodes.size(), scan->edges.size());
  }
  for (const auto& [id, n] : scan->nodes) {
    auto it = agg->nodes.find(id);
    if (it == agg->nodes.end() || it->second.events != n.events || it->second.errors != n.errors) {
      return "node " + id + " differs from the scan";
    }
  }
  for (const auto& [key, e] : scan->edges) {
    auto it = agg->edges.find(key);
    if (it == agg->edges.end() || it->second.count != e.count || it->second.bytes != e.bytes ||
        it->second.errors != e.errors) {
      return "edge " + e.from + " -> " + e.to + " differs from the scan";
    }
  }
  return "";
}

}  // namespace

void RunGraphWindow(Context& ctx, std::vector<Figures>* out) {
  std::optional<ReadRun> run = BeginReadWorkload(ctx, "graph_window", out);
  if (!run) return;
  Figures& f = run->f;
  const Generator& gen = ctx.generator();
  const std::vector<TraceFacts>& facts = run->facts;
  constexpr int64_t kHourNs = 3600'000'000'000LL;
  const schema::TimestampNs first = facts.front().start_ns;
  const schema::TimestampNs last = facts.back().start_ns;
  const bool longer = last - first > kHourNs;
  Rng rng(ctx.config().seed ^ 0x64A9);
  struct Window {
    schema::TimestampNs t0, t1;  // inclusive
    uint64_t traces = 0;
  };
  std::vector<Window> windows;
  const uint32_t queries = std::max<uint32_t>(10, ctx.config().queries / 10);
  for (uint32_t i = 0; i < queries; ++i) {
    Window w;
    const schema::TimestampNs lo = longer ? first : first - kHourNs + 1;
    const schema::TimestampNs hi = longer ? last - kHourNs : last;
    w.t0 = (lo + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(hi - lo)))) / 1000 * 1000;
    w.t1 = w.t0 + kHourNs - 1;
    for (const TraceFacts& t : facts) w.traces += t.start_ns >= w.t0 && t.start_ns <= w.t1;
    windows.push_back(w);
  }

  std::string problem;
  {
    const schema::TimestampNs mid = first + (last - first) / 2 + 1234567;  // cuts slots at both ends
    problem = CompareWithScan(run->store, mid, mid + 60'000'000'000LL);
  }
  query::GraphOptions warm;
  warm.start_ns = windows[0].t0;
  warm.end_ns = windows[0].t1;
  query::BuildGraph(run->store, warm).status().IgnoreError();

  ResetPeakRss();
  double rss0 = CurrentRssMb();
  LatencyRecorder lat;
  uint64_t window_traces = 0, edges = 0, whole_store = 0;
  std::optional<ProfileSection> profile(std::in_place);
  auto start = Clock::now();
  for (const Window& w : windows) {
    if (!problem.empty()) break;
    query::GraphOptions o;
    o.start_ns = w.t0;
    o.end_ns = w.t1;
    o.now_ns = gen.options().base_ns;
    auto t0 = Clock::now();
    auto g = query::BuildGraph(run->store, o);
    if (!g.ok()) {
      problem = g.status().ToString();
      break;
    }
    const query::GraphPath path = g->path;
    const uint64_t traces = g->traces;
    edges += g->edges.size();
    std::string json = query::GraphJson(std::move(*g));
    lat.AddSince(t0);
    window_traces += w.traces;
    whole_store += w.traces == run->traces;
    if (path == query::GraphPath::kScan) problem = "the window was answered by the scan path";
    if (traces != w.traces) problem = fmt::format("{} traces in the graph, {} in the window", traces, w.traces);
    if (json.empty()) problem = "empty JSON";
  }
  f.seconds = SecondsSince(start);
  profile.reset();
  RecordTiming(&f, PeakRssMb() - rss0, lat.count(), lat);
  RecordVerification(&f, problem);
  const double n = std::max<double>(1, static_cast<double>(lat.count()));
  f.note = fmt::format("store {} traces / {} events over {:.0f} s; one-hour windows: {:.0f} traces, {:.0f} edges "
                       "on average, {:.0f}% hold the whole store",
                       run->traces, EventsOf(gen, run->traces), static_cast<double>(last - first) / 1e9,
                       static_cast<double>(window_traces) / n, static_cast<double>(edges) / n,
                       100.0 * static_cast<double>(whole_store) / n);
  out->push_back(f);
}

}  // namespace tracedb::bench
