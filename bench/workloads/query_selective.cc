// query_selective: the first page of a selective filter.
//
// Store: the read store (RunConfig::query_events events, compacted; the
// issue's target is stated for 10M events, see docs/PERFORMANCE.md for the
// size used). Each of RunConfig::queries queries picks a flow f and an actor
// a of that flow (seeded) and runs, through query::RunQuery (lexer, parser,
// binder, planner, executor):
//
//   flow = "<f>" and status = failed and actor = "<a>"        (limit 20)
//
// About 0.1 % of the traces match (1 flow in 20, 2 % failed; the actor
// appears in every trace of its flow, so the planner must intersect the
// flow, status and actor indexes rather than scan). Timed: each query,
// first page only. Verified: every page equals the expected one (the
// matching traces, newest first, computed from the generator without
// reading the store).

#include <optional>

#include <fmt/format.h>

#include "bench/runner.h"
#include "bench/workloads/query_common.h"
#include "query/query.h"
#include "schema/uuid.h"

namespace tracedb::bench {

void RunQuerySelective(Context& ctx, std::vector<Figures>* out) {
  std::optional<ReadRun> run = BeginReadWorkload(ctx, "query_selective", out);
  if (!run) return;
  Figures& f = run->f;
  const uint64_t traces = run->traces;
  const Generator& gen = ctx.generator();
  const std::vector<TraceFacts>& facts = run->facts;
  Rng rng(ctx.config().seed ^ 0x5E1EC7);
  struct Q {
    std::string text;
    std::vector<schema::Id128> expected;
  };
  std::vector<Q> qs;
  for (uint32_t i = 0; i < ctx.config().queries; ++i) {
    uint32_t flow = static_cast<uint32_t>(rng.Below(gen.options().flows));
    std::vector<uint32_t> actors = gen.ActorsOfFlow(flow);
    uint32_t actor = actors[rng.Below(std::min<size_t>(actors.size(), 6))];
    std::vector<TraceFacts> matches;
    for (const TraceFacts& t : facts) {
      if (t.flow == flow && t.failed && gen.HasActor(t.index, actor)) matches.push_back(t);
    }
    qs.push_back({fmt::format("flow = \"{}\" and status = failed and actor = \"{}\"", gen.FlowName(flow),
                              gen.ActorName(actor)),
                  ExpectedPage(gen, std::move(matches), 20)});
  }
  query::QueryOptions opts;
  opts.limit = 20;
  opts.now_ns = gen.options().base_ns;
  for (size_t i = 0; i < std::min<size_t>(20, qs.size()); ++i) query::RunQuery(run->store, qs[i].text, opts).status().IgnoreError();

  ResetPeakRss();
  double rss0 = CurrentRssMb();
  LatencyRecorder lat;
  std::string problem;
  uint64_t candidates = 0;
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
    candidates += r->stats.candidates;
    std::vector<schema::Id128> got;
    for (const schema::Trace& t : r->traces) got.push_back(t.trace_id);
    if (got != q.expected) {
      problem = fmt::format("'{}': {} traces returned, {} expected{}", q.text, got.size(), q.expected.size(),
                            got.size() == q.expected.size() ? " (different ids)" : "");
      break;
    }
  }
  f.seconds = SecondsSince(start);
  profile.reset();
  RecordTiming(&f, PeakRssMb() - rss0, lat.count(), lat);
  RecordVerification(&f, problem);
  f.note = fmt::format("store {} traces / {} events; {:.0f} index entries examined per query", traces,
                       EventsOf(gen, traces), static_cast<double>(candidates) / std::max<double>(1, f.items));
  out->push_back(f);
}

}  // namespace tracedb::bench
