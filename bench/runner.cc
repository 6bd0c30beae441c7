#include "bench/runner.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

namespace tracedb::bench {

Context::Context(RunConfig config) : config_(std::move(config)), generator_([&] {
  GeneratorOptions g;
  g.seed = config_.seed;
  g.event_bytes = config_.event_bytes;
  return g;
}()) {}

Context::~Context() {
  loaded_peers_.clear();  // stops private servers before their directories go
  backend_pair_.reset();  // closes its RocksDB engine before its directory goes
  store_.reset();
  if (!config_.keep) {
    for (const std::string& d : dirs_) RemoveTree(d);
  } else {
    for (const std::string& d : dirs_) Log("kept " + d);
  }
}

void Context::Log(std::string_view line) const {
  if (config_.verbose) fmt::print(stderr, "[bench] {}\n", line);
}

void Context::BuildDataset() {
  if (built_) return;
  built_ = true;
  auto start = Clock::now();
  uint64_t n = generator_.TracesFor(0, config_.ingest_events);
  traces_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    traces_.push_back(generator_.MakeTrace(i));
    events_ += traces_.back().events.size();
  }
  stream_ = Interleave(traces_, config_.concurrency, config_.seed);
  cuts_ = CutBatches(stream_, config_.batch_events);
  Log(fmt::format("data set: {} traces, {} events, {} batches ({:.1f} s to generate)", n, events_, cuts_.size(),
                  SecondsSince(start)));
}

const std::vector<schema::Trace>& Context::traces() {
  BuildDataset();
  return traces_;
}
const std::vector<StreamOp>& Context::stream() {
  BuildDataset();
  return stream_;
}
const std::vector<std::pair<size_t, size_t>>& Context::cuts() {
  BuildDataset();
  return cuts_;
}
uint64_t Context::ingest_event_count() {
  BuildDataset();
  return events_;
}

const std::vector<NdjsonBatch>& Context::ndjson() {
  BuildDataset();
  if (!ndjson_built_) {
    ndjson_built_ = true;
    auto start = Clock::now();
    ndjson_ = BuildNdjson(traces_, stream_, cuts_);
    for (const NdjsonBatch& b : ndjson_) ndjson_bytes_ += b.body.size();
    Log(fmt::format("NDJSON: {:.1f} MB, {:.0f} bytes per event ({:.1f} s to print)", ndjson_bytes_ / 1e6,
                    static_cast<double>(ndjson_bytes_) / static_cast<double>(std::max<uint64_t>(events_, 1)),
                    SecondsSince(start)));
  }
  return ndjson_;
}

uint64_t Context::ndjson_bytes() {
  ndjson();
  return ndjson_bytes_;
}

std::string Context::NewDir(std::string_view tag) {
  std::string d = MakeTempDir(tag);
  if (!d.empty()) dirs_.push_back(d);
  return d;
}

bool Context::WantPeer(std::string_view name) const {
  if (config_.peers.empty()) return true;
  return std::find(config_.peers.begin(), config_.peers.end(), name) != config_.peers.end();
}

engine::Options BenchEngineOptions(const Context& ctx, const std::string& dir) {
  engine::Options o;
  o.path = dir;
  o.sync = ctx.config().sync;
  return o;
}

Status LoadTraces(const Context& ctx, engine::Engine* engine, uint64_t first, uint64_t count) {
  constexpr uint64_t kChunk = 2000;  // traces generated and interleaved at a time
  for (uint64_t begin = first; begin < first + count; begin += kChunk) {
    uint64_t end = std::min(first + count, begin + kChunk);
    std::vector<schema::Trace> traces;
    traces.reserve(end - begin);
    for (uint64_t i = begin; i < end; ++i) traces.push_back(ctx.generator().MakeTrace(i));
    std::vector<StreamOp> stream = Interleave(traces, ctx.config().concurrency, ctx.config().seed + begin);
    auto cuts = CutBatches(stream, ctx.config().batch_events);
    std::vector<engine::WriteBatch> batches = BuildWriteBatches(traces, stream, cuts);
    traces.clear();
    for (const engine::WriteBatch& b : batches) {
      auto r = engine->Write(b);
      if (!r.ok()) return r.status();
    }
  }
  return Status::OK();
}

void Context::AdoptStore(std::unique_ptr<engine::Engine> engine, uint64_t traces) {
  store_ = std::move(engine);
  store_traces_ = traces;
  store_topped_up_ = false;
}

Result<engine::Engine*> Context::ReadStore(uint64_t* traces) {
  // A kept read store records how many traces (of this seed) it holds.
  const std::string marker = config_.read_store.empty() ? "" : config_.read_store + "/bench-traces";
  if (!store_) {
    std::string dir = config_.read_store.empty() ? NewDir("read-store") : config_.read_store;
    TRACEDB_ASSIGN_OR_RETURN(store_, engine::Engine::Open(BenchEngineOptions(*this, dir)));
    store_traces_ = 0;
    if (!marker.empty()) {
      std::ifstream in(marker);
      uint64_t seed = 0, traces = 0;
      if (in >> seed >> traces && seed == config_.seed) store_traces_ = traces;
      if (store_traces_ > 0) Log(fmt::format("read store: reusing {} traces in {}", store_traces_, dir));
    }
  }
  if (!store_topped_up_) {
    store_topped_up_ = true;
    uint64_t want = generator_.TracesFor(0, std::max(config_.query_events, config_.ingest_events));
    if (want > store_traces_) {
      auto start = Clock::now();
      Log(fmt::format("read store: loading traces {}..{} (untimed)", store_traces_, want));
      TRACEDB_RETURN_IF_ERROR(LoadTraces(*this, store_.get(), store_traces_, want - store_traces_));
      TRACEDB_RETURN_IF_ERROR(store_->CompactAll());
      Log(fmt::format("read store: {} traces ready ({:.1f} s)", want, SecondsSince(start)));
      store_traces_ = want;
      if (!marker.empty()) std::ofstream(marker) << config_.seed << " " << want << "\n";
    }
  }
  *traces = store_traces_;
  return store_.get();
}

const std::vector<Workload>& Workloads() {
  static const std::vector<Workload> kAll = {
      {"ingest_engine", RunIngestEngine},       {"ingest_bulk", RunIngestBulk},
      {"ingest_ws", RunIngestWs},               {"ingest_otlp", RunIngestOtlp},
      {"get_trace", RunGetTrace},
      {"query_selective", RunQuerySelective},   {"query_time_window", RunQueryTimeWindow},
      {"aggregate_by_actor", RunAggregateByActor}, {"graph_window", RunGraphWindow},
      {"ingest_clickhouse", RunIngestClickHouse, NeedsClickHouse::kYes},
      {"query_clickhouse", RunQueryClickHouse, NeedsClickHouse::kYes},
      {"get_trace_clickhouse", RunGetTraceClickHouse, NeedsClickHouse::kYes},
  };
  return kAll;
}

std::string SkipReason(const Workload& w, const RunConfig& config) {
  if (w.needs_clickhouse == NeedsClickHouse::kYes && config.clickhouse_shards.empty()) {
    return "needs a ClickHouse cluster: --clickhouse URL,URL (one URL per shard)";
  }
  return "";
}

}  // namespace tracedb::bench
