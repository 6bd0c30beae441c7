#pragma once

// Helpers shared by the query workloads: what the generator put in the read
// store, computed from the generator's cheap per-trace functions (no trace
// is rebuilt), and the expected first page of a trace query.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "bench/generator.h"
#include "bench/harness.h"
#include "bench/runner.h"
#include "schema/model.h"

namespace tracedb::bench {

struct TraceFacts {
  uint64_t index = 0;
  schema::TimestampNs start_ns = 0;
  uint32_t flow = 0;
  bool failed = false;
};

inline std::vector<TraceFacts> FactsOf(const Generator& gen, uint64_t traces) {
  std::vector<TraceFacts> out(traces);
  for (uint64_t i = 0; i < traces; ++i) out[i] = {i, gen.StartOf(i), gen.FlowOf(i), gen.IsFailed(i)};
  return out;
}

inline uint64_t EventsOf(const Generator& gen, uint64_t traces) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < traces; ++i) n += gen.EventCount(i);
  return n;
}

// The ids of `matches` in result order (newest start first, then id), at
// most `limit`.
inline std::vector<schema::Id128> ExpectedPage(const Generator& gen, std::vector<TraceFacts> matches, size_t limit) {
  std::vector<std::pair<schema::TimestampNs, schema::Id128>> keyed;
  keyed.reserve(matches.size());
  for (const TraceFacts& f : matches) keyed.emplace_back(f.start_ns, gen.TraceIdOf(f.index));
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<schema::Id128> out;
  for (size_t i = 0; i < keyed.size() && i < limit; ++i) out.push_back(keyed[i].second);
  return out;
}

// A read workload's starting point: its figures, the read store and what
// the generator put in it.
struct ReadRun {
  Figures f;
  engine::Engine* store = nullptr;
  uint64_t traces = 0;
  std::vector<TraceFacts> facts;
};

// Builds (or reuses) the read store. When that fails, the failure is
// recorded in *out and the result is empty.
inline std::optional<ReadRun> BeginReadWorkload(Context& ctx, const char* workload, std::vector<Figures>* out) {
  ReadRun run;
  run.f.workload = workload;
  run.f.system = "tracedb";
  run.f.unit = "queries/s";
  auto store = ctx.ReadStore(&run.traces);
  if (!store.ok()) {
    run.f.status = "FAILED: " + store.status().ToString();
    out->push_back(run.f);
    return std::nullopt;
  }
  run.store = *store;
  run.facts = FactsOf(ctx.generator(), run.traces);
  return run;
}

}  // namespace tracedb::bench
