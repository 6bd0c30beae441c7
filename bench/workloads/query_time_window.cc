// query_time_window: the newest traces of a time window, with their count.
//
// Store: the read store. Each of RunConfig::queries queries picks a 60 s
// window inside the store's time range (seeded; traces start every ~20 ms,
// so a window holds ~3,000 traces) and runs, through query::RunQuery with
// count_total (QueryTraces semantics: the page plus the number of matches):
//
//   start >= <t0> and start < <t0 + 60s>                       (limit 50)
//
// Timed: each query. Verified: the page equals the expected 50 newest
// traces of the window and total_count equals the number of traces in it
// (both from the generator, without reading the store).

#include <optional>

#include <fmt/format.h>

#include "bench/runner.h"
#include "bench/workloads/query_common.h"
#include "query/query.h"
#include "schema/rfc3339.h"

namespace tracedb::bench {

void RunQueryTimeWindow(Context& ctx, std::vector<Figures>* out) {
  std::optional<ReadRun> run = BeginReadWorkload(ctx, "query_time_window", out);
  if (!run) return;
  Figures& f = run->f;
  const uint64_t traces = run->traces;
  const Generator& gen = ctx.generator();
  const std::vector<TraceFacts>& facts = run->facts;
  constexpr int64_t kWindowNs = 60'000'000'000LL;
  const schema::TimestampNs first = facts.front().start_ns;
  const schema::TimestampNs last = facts.back().start_ns;
  const int64_t span = std::max<int64_t>(1, last - first - kWindowNs);
  Rng rng(ctx.config().seed ^ 0x71DE);
  struct Q {
    std::string text;
    std::vector<schema::Id128> expected;
    uint64_t total = 0;
  };
  std::vector<Q> qs;
  uint64_t window_traces = 0;
  for (uint32_t i = 0; i < ctx.config().queries; ++i) {
    // Whole microseconds: the query text carries RFC 3339 instants.
    schema::TimestampNs t0 = (first + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(span)))) / 1000 * 1000;
    schema::TimestampNs t1 = t0 + kWindowNs;
    std::vector<TraceFacts> matches;
    for (const TraceFacts& t : facts) {
      if (t.start_ns >= t0 && t.start_ns < t1) matches.push_back(t);
    }
    Q q;
    q.total = matches.size();
    window_traces += q.total;
    q.text = fmt::format("start >= {} and start < {}", schema::FormatRfc3339(t0), schema::FormatRfc3339(t1));
    q.expected = ExpectedPage(gen, std::move(matches), 50);
    qs.push_back(std::move(q));
  }
  query::QueryOptions opts;
  opts.limit = 50;
  opts.count_total = true;
  opts.now_ns = gen.options().base_ns;
  for (size_t i = 0; i < std::min<size_t>(20, qs.size()); ++i) query::RunQuery(run->store, qs[i].text, opts).status().IgnoreError();

  ResetPeakRss();
  double rss0 = CurrentRssMb();
  LatencyRecorder lat;
  std::string problem;
  std::optional<ProfileSection> profile(std::in_place);
  auto start = Clock::now();
  for (const Q& q : qs) {
    auto t0 = Clock::now();
    auto r = query::RunQuery(run->store, q.text, opts);
    lat.AddSince(t0);
    if (!r.ok()) {
      problem = r.status().ToString();
      break;
    }
    std::vector<schema::Id128> got;
    for (const schema::Trace& t : r->traces) got.push_back(t.trace_id);
    if (got != q.expected || r->total_count.value_or(UINT64_MAX) != q.total) {
      problem = fmt::format("'{}': {} traces (total {}) returned, {} (total {}) expected", q.text, got.size(),
                            r->total_count.value_or(0), q.expected.size(), q.total);
      break;
    }
  }
  f.seconds = SecondsSince(start);
  profile.reset();
  RecordTiming(&f, PeakRssMb() - rss0, lat.count(), lat);
  RecordVerification(&f, problem);
  f.note = fmt::format("store {} traces / {} events; {:.0f} traces per window, page 50 + count", traces,
                       EventsOf(gen, traces), static_cast<double>(window_traces) / std::max<double>(1, qs.size()));
  out->push_back(f);
}

}  // namespace tracedb::bench
