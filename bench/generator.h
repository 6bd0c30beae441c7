#pragma once

// Deterministic, seeded generator of realistic trace data for the workload
// runner. Trace i is a pure function of (options, i): any trace can be
// regenerated later to verify what a store returns, and data sets larger
// than memory are produced in chunks.
//
// Reflow traces (GeneratorOptions defaults):
//   * 10 to 1,000 events, log-uniform (most traces are small); every 50th
//     trace has exactly 1,000 events (the get_trace workload reads those);
//   * 20 flows (names like "checkout"), 50 actors ("validator-2" ...); a
//     flow uses 6 to 14 of the actors, a trace all of its flow's actors;
//   * events: ActorCreated for each actor, then MessageSent / DataFlow
//     (with message snapshots) / MessageReceived / StateChanged, then
//     ActorCompleted; ~2 % of traces fail with an ActorFailed and a Failed
//     status carrying the error;
//   * every event carries G1 performance metrics, causality (root cause,
//     parent, span id) and custom attributes (message id, tenant, region,
//     nested route and labels), ~1 KB of Reflow JSON per event in total;
//   * traces start `trace_spacing_ns` apart (plus jitter), so a data set
//     covers a time range that time-window queries can cut.
//
// operonx request streams (MakeOperonxRequest): one trace per request_id,
// op_start / op_end pairs (with op_yield for generators), llm_usage,
// annotations and group markers, payloads as JSON text.
//
// The interleaving (Interleave) mixes the traces as concurrent producers
// would: up to `concurrency` traces are open at once and events of
// different traces alternate, as they arrive at a real server.

#include <cstdint>
#include <string>
#include <vector>

#include "schema/model.h"

namespace tracedb::bench {

struct GeneratorOptions {
  // Seed of everything. Default: 42.
  uint64_t seed = 42;
  // Events per trace, log-uniform in [min_events, max_events].
  // Default: 10 / 1000.
  uint32_t min_events = 10;
  uint32_t max_events = 1000;
  // Every `long_trace_every`-th trace has exactly max_events events.
  // Default: 50.
  uint32_t long_trace_every = 50;
  // Distinct actors and flows. Default: 50 / 20.
  uint32_t actors = 50;
  uint32_t flows = 20;
  // Fraction of failed traces. Default: 0.02.
  double failed_fraction = 0.02;
  // Bytes of serialized message data in a message snapshot (printed as a
  // JSON array of numbers, ~3.5 characters per byte). Default: 56.
  uint32_t message_bytes = 56;
  // Target Reflow JSON size of an event (tracedb_bench --event-bytes); 0
  // keeps the full events above (~1.2 KB). A smaller target drops the custom
  // attributes, state diffs and dependency chains and sizes the message
  // payloads to fit (no snapshot at all when there is no room for one);
  // every event still prints its fixed fields (ids, timestamps, metrics,
  // causality, nulls), so targets below that give the smallest events. The
  // ingest_bulk rows print the size obtained (B/event). Default: 0.
  uint32_t event_bytes = 0;
  // Start of trace 0 (ns since the epoch). Default: 2026-01-05T00:00:00Z.
  schema::TimestampNs base_ns = 1767571200LL * 1'000'000'000LL;
  // Distance between consecutive trace starts. Default: 20 ms.
  int64_t trace_spacing_ns = 20'000'000;
};

// A splittable 64-bit generator (SplitMix64): small, fast, deterministic.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t state_;
};

class Generator {
 public:
  explicit Generator(GeneratorOptions options) : options_(std::move(options)) {}

  const GeneratorOptions& options() const { return options_; }

  // Reflow trace number `index`, with its events in timestamp order, seq =
  // position (what the engine assigns on arrival) and status/end set as
  // the trace ends.
  schema::Trace MakeTrace(uint64_t index) const;

  // Number of events of trace `index` (cheap; no trace is built).
  uint32_t EventCount(uint64_t index) const;

  // True when trace `index` has status Failed.
  bool IsFailed(uint64_t index) const;

  // Id of trace `index` (cheap; equals MakeTrace(index).trace_id).
  schema::Id128 TraceIdOf(uint64_t index) const;

  // True when trace `index` has an event by actor ActorName(a). Its actors
  // are the first min(events, |actors of its flow|) actors of its flow.
  bool HasActor(uint64_t index, uint32_t a) const;

  // Start time of trace `index`.
  schema::TimestampNs StartOf(uint64_t index) const;

  // operonx request number `index` as a trace (source kOperonx,
  // external_id = request id, flow_id = workflow name).
  schema::Trace MakeOperonxRequest(uint64_t index) const;

  // Names used in the data, for queries: flow f, actor a.
  std::string FlowName(uint32_t f) const;
  std::string ActorName(uint32_t a) const;
  // The flow of trace `index`.
  uint32_t FlowOf(uint64_t index) const;
  // The actors of flow f (indexes into ActorName).
  std::vector<uint32_t> ActorsOfFlow(uint32_t f) const;

  // Smallest n such that traces [first, first+n) hold at least `events`
  // events.
  uint64_t TracesFor(uint64_t first, uint64_t events) const;

 private:
  GeneratorOptions options_;
};

// One step of an ingest stream: start, one event, or end of a trace.
// `trace` indexes the vector handed to Interleave; `event` the trace's events.
struct StreamOp {
  enum class Kind : uint8_t { kStart, kEvent, kEnd };
  Kind kind = Kind::kEvent;
  uint32_t trace = 0;
  uint32_t event = 0;
};

// Interleaves the traces' starts, events and ends: up to `concurrency`
// traces are open at once; each step emits 1 to 8 consecutive events of a
// random open trace. Events of one trace stay in order. Deterministic in
// `seed`.
std::vector<StreamOp> Interleave(const std::vector<schema::Trace>& traces, uint32_t concurrency, uint64_t seed);

}  // namespace tracedb::bench
