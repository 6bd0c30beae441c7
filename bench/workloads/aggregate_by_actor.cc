// aggregate_by_actor: per-actor event statistics over a time window.
//
// Store: the read store. Each query picks one of 8 windows of 20 s
// (seeded; ~1,000 traces, ~230,000 events each; --quick: the whole store)
// and runs, through query::RunQuery:
//
//   start >= <t0> and start < <t1> | count(), avg(execution_time_ns),
//                                    p99(execution_time_ns) by (actor)
//
// which the executor answers from the column chunks (no event record is
// decoded). Throughput: queries/s, and events aggregated per second in the
// note. Verified: for every window, the groups are exactly the actors of
// the window's events, and each count and average equals what the
// generator produced (the window's traces are regenerated once, untimed).

#include <map>

#include <optional>

#include <fmt/format.h>

#include "bench/runner.h"
#include "bench/workloads/query_common.h"
#include "query/query.h"
#include "schema/rfc3339.h"

namespace tracedb::bench {

namespace {

struct Expected {
  std::map<std::string, std::pair<uint64_t, double>> by_actor;  // count, sum of execution_time_ns
  uint64_t events = 0;
};

std::string CheckRows(const query::QueryResult& r, const Expected& e) {
  if (r.rows.size() != e.by_actor.size()) {
    return fmt::format("{} groups returned, {} expected", r.rows.size(), e.by_actor.size());
  }
  for (const query::AggregateRow& row : r.rows) {
    if (row.group.size() != 1 || row.values.size() != 3) return "unexpected row shape";
    auto it = e.by_actor.find(row.group[0]);
    if (it == e.by_actor.end()) return "unexpected group " + row.group[0];
    const auto [count, sum] = it->second;
    if (!row.values[0] || *row.values[0] != static_cast<double>(count)) {
      return fmt::format("actor {}: count {} != {}", row.group[0], row.values[0].value_or(-1), count);
    }
    double avg = sum / static_cast<double>(count);
    if (!row.values[1] || std::abs(*row.values[1] - avg) > 1e-6 * avg) {
      return fmt::format("actor {}: avg {} != {}", row.group[0], row.values[1].value_or(-1), avg);
    }
  }
  return "";
}

}  // namespace

void RunAggregateByActor(Context& ctx, std::vector<Figures>* out) {
  std::optional<ReadRun> run = BeginReadWorkload(ctx, "aggregate_by_actor", out);
  if (!run) return;
  Figures& f = run->f;
  const uint64_t traces = run->traces;
  const Generator& gen = ctx.generator();
  const std::vector<TraceFacts>& facts = run->facts;
  const schema::TimestampNs first = facts.front().start_ns;
  const schema::TimestampNs last = facts.back().start_ns + 1;
  const int64_t window = ctx.config().quick ? last - first + 2000 : 20'000'000'000LL;
  const int kWindows = ctx.config().quick ? 1 : 8;
  Rng rng(ctx.config().seed ^ 0xA66);
  std::vector<std::string> texts;
  std::vector<Expected> expected;
  for (int w = 0; w < kWindows; ++w) {
    int64_t span = std::max<int64_t>(1, last - first - window);
    schema::TimestampNs t0 = ctx.config().quick ? first : first + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(span)));
    t0 = t0 / 1000 * 1000;
    schema::TimestampNs t1 = t0 + window;
    Expected e;
    for (const TraceFacts& t : facts) {
      if (t.start_ns < t0 || t.start_ns >= t1) continue;
      schema::Trace tr = gen.MakeTrace(t.index);
      for (const schema::Event& ev : tr.events) {
        auto& [count, sum] = e.by_actor[ev.actor];
        ++count;
        sum += static_cast<double>(ev.reflow->metrics.execution_time_ns.value_or(0));
        ++e.events;
      }
    }
    texts.push_back(fmt::format("start >= {} and start < {} | count(), avg(execution_time_ns), p99(execution_time_ns) by (actor)",
                                schema::FormatRfc3339(t0), schema::FormatRfc3339(t1)));
    expected.push_back(std::move(e));
  }
  query::QueryOptions opts;
  opts.now_ns = gen.options().base_ns;
  const uint32_t queries = std::max<uint32_t>(kWindows, ctx.config().queries / 20);
  query::RunQuery(run->store, texts[0], opts).status().IgnoreError();

  ResetPeakRss();
  double rss0 = CurrentRssMb();
  LatencyRecorder lat;
  std::string problem;
  uint64_t events = 0;
  std::optional<ProfileSection> profile(std::in_place);
  auto start = Clock::now();
  for (uint32_t q = 0; q < queries && problem.empty(); ++q) {
    const size_t w = q % texts.size();
    auto t0 = Clock::now();
    auto r = query::RunQuery(run->store, texts[w], opts);
    lat.AddSince(t0);
    if (!r.ok()) {
      problem = r.status().ToString();
      break;
    }
    events += expected[w].events;
    problem = CheckRows(*r, expected[w]);
    if (!problem.empty()) problem = "'" + texts[w] + "': " + problem;
  }
  f.seconds = SecondsSince(start);
  profile.reset();
  RecordTiming(&f, PeakRssMb() - rss0, lat.count(), lat);
  RecordVerification(&f, problem);
  f.note = fmt::format("{:.0f} events per window, {:.0f} events/s aggregated; store {} events",
                       static_cast<double>(events) / std::max<double>(1, f.items),
                       static_cast<double>(events) / f.seconds, EventsOf(gen, traces));
  out->push_back(f);
}

}  // namespace tracedb::bench
