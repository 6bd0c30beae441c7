// Query micro-benchmarks on a small in-memory data set (5,000 traces,
// ~25,000 events): selective and unselective filters, time windows, event
// filters answered from column chunks or from decoded traces, aggregations
// over the column family and over trace headers, and the front end alone.
// The >= 1M-event runs belong to the workload runner (query_filter).

#include <benchmark/benchmark.h>

#include <memory>
#include <random>

#include "engine/engine.h"
#include "query/query.h"

namespace {

using tracedb::engine::Engine;
namespace schema = tracedb::schema;
namespace query = tracedb::query;

constexpr int64_t kT0 = 1752148800LL * 1000000000LL;
constexpr int64_t kSecond = 1000000000LL;
constexpr uint64_t kTraces = 5000;

schema::Id128 IdOf(uint64_t n) {
  schema::Id128 id{};
  for (int i = 0; i < 8; ++i) id[15 - i] = static_cast<uint8_t>(n >> (8 * i));
  return id;
}

// Built once per process: flows x10, actors x20, 0..9 events per trace.
Engine* Data() {
  static Engine* engine = [] {
    tracedb::engine::Options o;
    o.in_memory = true;
    auto r = Engine::Open(o);
    if (!r.ok()) return static_cast<Engine*>(nullptr);
    Engine* e = std::move(r).value().release();
    std::mt19937_64 rng(1);
    tracedb::engine::WriteBatch b;
    for (uint64_t n = 1; n <= kTraces; ++n) {
      schema::Trace t;
      t.trace_id = IdOf(n);
      t.execution_id = IdOf(n + 1000000);
      t.flow_id = "flow-" + std::to_string(rng() % 10);
      t.start_ns = kT0 + static_cast<int64_t>(n) * kSecond;
      t.metadata.environment = rng() % 4 == 0 ? "staging" : "prod";
      b.StartTrace(t);
      size_t events = rng() % 10;
      for (size_t k = 0; k < events; ++k) {
        schema::Event ev;
        ev.event_id = "e" + std::to_string(n) + "-" + std::to_string(k);
        ev.timestamp_ns = t.start_ns + static_cast<int64_t>(k) * 1000;
        ev.type = schema::EventType::kMessageSent;
        ev.actor = "actor-" + std::to_string(rng() % 20);
        auto& r = ev.reflow.emplace();
        r.metrics.execution_time_ns = rng() % 50000000;
        r.custom_attributes_json = "{\"retry\":" + std::to_string(rng() % 4) + "}";
        b.AppendEvent(t.trace_id, std::move(ev));
      }
      schema::ExecutionStatus st;
      st.code = rng() % 5 == 0 ? schema::StatusCode::kFailed : schema::StatusCode::kCompleted;
      b.EndTrace(t.trace_id, st, t.start_ns + static_cast<int64_t>(rng() % kSecond));
      if (b.size() > 2000) {
        if (!e->Write(b).ok()) return static_cast<Engine*>(nullptr);
        b.Clear();
      }
    }
    if (!e->Write(b).ok()) return static_cast<Engine*>(nullptr);
    return e;
  }();
  return engine;
}

void RunQuery(benchmark::State& state, const char* text, size_t limit, bool total) {
  Engine* e = Data();
  if (!e) {
    state.SkipWithError("engine setup failed");
    return;
  }
  query::QueryOptions o;
  o.limit = limit;
  o.count_total = total;
  o.now_ns = kT0 + static_cast<int64_t>(kTraces + 1) * kSecond;
  uint64_t candidates = 0;
  for (auto _ : state) {
    auto r = query::RunQuery(e, text, o);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    candidates += r->stats.candidates + r->stats.chunks_scanned;
    benchmark::DoNotOptimize(r->traces.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["candidates/query"] =
      benchmark::Counter(static_cast<double>(candidates) / static_cast<double>(state.iterations()));
}

void BM_Query_ParseBind(benchmark::State& state) {
  const char* text = "flow = \"flow-3\" and event{actor = \"actor-7\" and execution_time_ns > 10ms} and start > now-1h";
  for (auto _ : state) {
    auto r = query::ParseAndBind(text, kT0);
    benchmark::DoNotOptimize(r.ok());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Query_SelectiveFlowAndActor(benchmark::State& state) {
  RunQuery(state, "flow = \"flow-3\" and actor = \"actor-7\"", 20, false);
}
void BM_Query_SelectiveWithTotal(benchmark::State& state) {
  RunQuery(state, "flow = \"flow-3\" and status = failed", 20, true);
}
void BM_Query_UnselectiveHeaderResidual(benchmark::State& state) {
  RunQuery(state, "environment = \"staging\"", 20, true);
}
void BM_Query_TimeWindowNewest(benchmark::State& state) { RunQuery(state, "start > now-10m", 20, false); }
void BM_Query_EventFieldFromColumns(benchmark::State& state) {
  RunQuery(state, "execution_time_ns > 49ms", 20, true);
}
void BM_Query_EventFieldFromFullTraces(benchmark::State& state) {
  RunQuery(state, "start > now-10m and attr.retry = 3", 20, true);
}
void BM_Query_AggregateColumnScan(benchmark::State& state) {
  RunQuery(state, "start > now-1h | count(), p99(execution_time_ns) by (actor)", 20, false);
}
void BM_Query_AggregateTraceHeaders(benchmark::State& state) {
  RunQuery(state, "| count(), avg(duration), p95(duration) by (flow)", 20, false);
}

}  // namespace

BENCHMARK(BM_Query_ParseBind);
BENCHMARK(BM_Query_SelectiveFlowAndActor);
BENCHMARK(BM_Query_SelectiveWithTotal);
BENCHMARK(BM_Query_UnselectiveHeaderResidual);
BENCHMARK(BM_Query_TimeWindowNewest);
BENCHMARK(BM_Query_EventFieldFromColumns);
BENCHMARK(BM_Query_EventFieldFromFullTraces);
BENCHMARK(BM_Query_AggregateColumnScan);
BENCHMARK(BM_Query_AggregateTraceHeaders);
