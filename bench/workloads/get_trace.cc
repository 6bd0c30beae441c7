// get_trace: read one whole 1,000-event trace by id.
//
// Store: the read store (the ingest_engine store topped up to
// RunConfig::query_events events, compacted). Every 50th generated trace has
// exactly 1,000 events; RunConfig::queries lookups pick among those in the
// ingest data set at random (seeded), so that the peers that hold the same
// data (SQLite and PostgreSQL, loaded by ingest_bulk) answer the same
// lookups. A lookup returns the model trace (header + decoded events) in
// timestamp order: Engine::GetTrace for tracedb (one header read plus one
// prefix scan), "SELECT ... WHERE trace_id = ?" plus "SELECT data ... ORDER
// BY ts, seq" and the codec for the peers.
//
// Timed: each lookup (after one untimed warm-up pass over 50 lookups).
// Verified: every answer has 1,000 events with the generated first and last
// event ids; the first 20 answers equal the generated trace field by field.

#include <optional>

#include <fmt/format.h>

#include "bench/runner.h"

namespace tracedb::bench {

namespace {

template <typename Fetch>
Figures Measure(Context& ctx, const std::string& system, const std::vector<uint64_t>& picks, HeaderCheck check,
                SeqCheck seq, Fetch fetch) {
  Figures f;
  f.workload = "get_trace";
  f.system = system;
  f.unit = "traces/s";
  for (size_t i = 0; i < std::min<size_t>(50, picks.size()); ++i) {
    const schema::Trace& t = ctx.traces()[picks[i]];
    auto r = fetch(t.trace_id);
    if (!r.ok()) {
      f.status = "FAILED: " + r.status().ToString();
      return f;
    }
  }
  ResetPeakRss();
  double rss0 = CurrentRssMb();
  LatencyRecorder lat;
  std::string problem;
  uint64_t events = 0;
  std::optional<ProfileSection> profile(std::in_place);
  auto start = Clock::now();
  for (size_t i = 0; i < picks.size() && problem.empty(); ++i) {
    const schema::Trace& expected = ctx.traces()[picks[i]];
    auto t0 = Clock::now();
    auto r = fetch(expected.trace_id);
    lat.AddSince(t0);
    if (!r.ok()) {
      problem = r.status().ToString();
    } else if (!r->has_value()) {
      problem = "trace missing";
    } else {
      const schema::Trace& got = **r;
      events += got.events.size();
      if (got.events.size() != expected.events.size() || got.events.front().event_id != expected.events.front().event_id ||
          got.events.back().event_id != expected.events.back().event_id) {
        problem = fmt::format("trace {}: {} events or ids differ", picks[i], got.events.size());
      } else if (i < 20) {
        problem = DiffTrace(expected, got, check, seq);
      }
    }
  }
  f.seconds = SecondsSince(start);
  profile.reset();
  RecordTiming(&f, PeakRssMb() - rss0, lat.count(), lat);
  RecordVerification(&f, problem);
  f.note = fmt::format("{:.0f} events/trace, {:.0f} events/s", static_cast<double>(events) / std::max<double>(1, f.items),
                       static_cast<double>(events) / f.seconds);
  return f;
}

}  // namespace

void RunGetTrace(Context& ctx, std::vector<Figures>* out) {
  uint64_t store_traces = 0;
  auto store = ctx.ReadStore(&store_traces);
  if (!store.ok()) {
    Figures f;
    f.workload = "get_trace";
    f.system = "tracedb";
    f.status = "FAILED: " + store.status().ToString();
    out->push_back(f);
    return;
  }
  engine::Engine* eng = *store;
  const auto& traces = ctx.traces();
  std::vector<uint64_t> long_traces;
  for (uint64_t i = 0; i < traces.size(); ++i) {
    if (traces[i].events.size() == ctx.generator().options().max_events) long_traces.push_back(i);
  }
  std::vector<uint64_t> picks;
  Rng rng(ctx.config().seed ^ 0x6E7);
  for (uint32_t q = 0; q < ctx.config().queries && !long_traces.empty(); ++q) {
    picks.push_back(long_traces[rng.Below(long_traces.size())]);
  }
  if (picks.empty()) {
    Figures f;
    f.workload = "get_trace";
    f.system = "tracedb";
    f.status = "FAILED: no 1,000-event trace in the data set";
    out->push_back(f);
    return;
  }
  Figures ours = Measure(ctx, "tracedb", picks, HeaderCheck::kFullHeader, SeqCheck::kCompare,
                         [&](const schema::Id128& id) { return eng->GetTrace(id); });
  ours.note += fmt::format("; store {} traces", store_traces);
  out->push_back(ours);
  for (auto& peer : ctx.loaded_peers()) {
    out->push_back(Measure(ctx, peer->name(), picks, HeaderCheck::kWireHeader, SeqCheck::kIgnore,
                           [&](const schema::Id128& id) { return peer->GetTrace(id); }));
  }
}

}  // namespace tracedb::bench
