#pragma once

// The workload runner's shared state: the run's configuration, the data set
// (built once, handed to every system under test), the stores that later
// workloads read, and the registry of named workloads. Each workload lives
// in bench/workloads/<name>.cc with its description at the top.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/dataset.h"
#include "bench/generator.h"
#include "bench/harness.h"
#include "bench/peers/peer.h"
#include "engine/engine.h"

namespace tracedb::bench {

struct RunConfig {
  // Small data, seconds: what the bench_quick test runs. Default: false.
  bool quick = false;
  // Events in the ingest data set (all ingest workloads and peers).
  // Default: 1,000,000 (quick: 20,000).
  uint64_t ingest_events = 1'000'000;
  // Events in the store the read workloads query (>= ingest_events; the
  // store is topped up with further traces, untimed). Default: 2,000,000
  // (quick: 20,000).
  uint64_t query_events = 2'000'000;
  // Events per write batch / NDJSON request / peer transaction.
  // Default: 2,000.
  uint32_t batch_events = 2000;
  // Traces open at once in the interleaved stream. Default: 32.
  uint32_t concurrency = 32;
  // Target Reflow JSON bytes per ingest event (GeneratorOptions::event_bytes);
  // 0: the generator's full events (~1.2 KB). Default: 0.
  uint32_t event_bytes = 0;
  // Concurrent HTTP clients (ingest_bulk, ingest_otlp) / WebSocket connections
  // (ingest_ws).
  // Default: 2.
  uint32_t clients = 2;
  // ingest_ws: when > 0, a second, paced run follows the unlimited one:
  // this many requests per second (StartTrace, RecordEvent, EndTrace) in
  // total, each connection sending its share on a steady schedule.
  // Default: 0 (only the unlimited run).
  uint64_t ws_rate = 0;
  // fsync every commit (tracedb sync, SQLite synchronous=FULL, PostgreSQL
  // fsync+synchronous_commit). Default: false: every system writes its WAL
  // per commit without fsync (survives a process crash, not a power loss).
  bool sync = false;
  // Queries per read workload. Default: 2,000 (quick: 100).
  uint32_t queries = 2000;
  // Generator seed. Default: 42.
  uint64_t seed = 42;
  // Workloads to run (empty = all) and peers to include (empty = all).
  std::vector<std::string> workloads;
  std::vector<std::string> peers;
  // build/tracedb (ingest_bulk, ingest_ws, ingest_otlp start it as a child
  // process).
  std::string tracedb_binary;
  // PostgreSQL binaries. Default: /usr/lib/postgresql/15/bin.
  std::string pg_bin = "/usr/lib/postgresql/15/bin";
  // Keep the temporary stores. Default: false.
  bool keep = false;
  // When set, the read store lives here and is kept: a later run with the
  // same seed reuses it (topped up if it holds fewer traces).
  std::string read_store;
  // Print progress lines. Default: true.
  bool verbose = true;
  // ClickHouse shards (one URL each) for the *_clickhouse workloads, which
  // are skipped without them. Default: none.
  std::vector<std::string> clickhouse_shards;
  // Traces both backends hold for query_clickhouse / get_trace_clickhouse
  // (the ingest_clickhouse traces, topped up). Default: 5,000 (quick: 300).
  uint64_t clickhouse_traces = 5000;
  // Queries per query kind and backend in query_clickhouse, and trace
  // fetches per backend in get_trace_clickhouse. Default: 50 (quick: 5).
  uint32_t clickhouse_queries = 50;
};

// The RocksDB engine and the ClickHouse engine the *_clickhouse workloads
// compare, holding the same traces (bench/workloads/clickhouse.cc). The
// ClickHouse database is the run's own and is dropped on every shard when
// this is destroyed.
struct BackendPair {
  std::unique_ptr<engine::Engine> rocksdb;
  std::unique_ptr<engine::Engine> clickhouse;
  std::string database;
  uint64_t traces = 0;        // traces [0, traces) of the generator
  bool topped_up = false;     // holds RunConfig::clickhouse_traces, compacted
  std::function<void()> drop; // drops `database`; run after the engines close
  ~BackendPair() {
    clickhouse.reset();
    rocksdb.reset();
    if (drop) drop();
  }
};

class Context {
 public:
  explicit Context(RunConfig config);
  ~Context();

  const RunConfig& config() const { return config_; }
  const Generator& generator() const { return generator_; }

  // The ingest data set: traces [0, n), their interleaved stream and cuts.
  const std::vector<schema::Trace>& traces();
  const std::vector<StreamOp>& stream();
  const std::vector<std::pair<size_t, size_t>>& cuts();
  uint64_t ingest_event_count();
  // NDJSON bodies of the cuts (printed once, on first use).
  const std::vector<NdjsonBatch>& ndjson();
  uint64_t ndjson_bytes();

  // A fresh directory for one store; removed at exit unless keep.
  std::string NewDir(std::string_view tag);

  bool WantPeer(std::string_view name) const;

  // The tracedb store the read workloads query: the one ingest_engine left
  // (adopted with AdoptStore), topped up to query_events, or built here.
  // Untimed. Returns the engine and sets *traces to the number of traces.
  Result<engine::Engine*> ReadStore(uint64_t* traces);
  void AdoptStore(std::unique_ptr<engine::Engine> engine, uint64_t traces);

  // Peers that hold the ingest data set after ingest_bulk (for get_trace).
  std::vector<std::unique_ptr<NdjsonPeer>>& loaded_peers() { return loaded_peers_; }

  // The stores the *_clickhouse workloads share (null until the first one).
  std::unique_ptr<BackendPair>& backend_pair() { return backend_pair_; }

  void Log(std::string_view line) const;

 private:
  void BuildDataset();

  RunConfig config_;
  Generator generator_;
  bool built_ = false;
  std::vector<schema::Trace> traces_;
  std::vector<StreamOp> stream_;
  std::vector<std::pair<size_t, size_t>> cuts_;
  uint64_t events_ = 0;
  bool ndjson_built_ = false;
  std::vector<NdjsonBatch> ndjson_;
  uint64_t ndjson_bytes_ = 0;
  std::vector<std::string> dirs_;
  std::unique_ptr<engine::Engine> store_;
  uint64_t store_traces_ = 0;
  bool store_topped_up_ = false;
  std::vector<std::unique_ptr<NdjsonPeer>> loaded_peers_;
  std::unique_ptr<BackendPair> backend_pair_;
};

// A named workload: appends the figures of tracedb and of its peers.
// `needs_clickhouse`: runs only with RunConfig::clickhouse_shards, and is
// listed as skipped (never as a result) without them.
enum class NeedsClickHouse : uint8_t { kNo, kYes };
struct Workload {
  const char* name;
  std::function<void(Context&, std::vector<Figures>*)> run;
  NeedsClickHouse needs_clickhouse = NeedsClickHouse::kNo;
};

// Why `w` cannot run with `config` ("" when it can).
std::string SkipReason(const Workload& w, const RunConfig& config);

// All workloads in run order.
const std::vector<Workload>& Workloads();

// Workload entry points (bench/workloads/*.cc).
void RunIngestEngine(Context& ctx, std::vector<Figures>* out);
void RunIngestBulk(Context& ctx, std::vector<Figures>* out);
void RunIngestWs(Context& ctx, std::vector<Figures>* out);
void RunIngestOtlp(Context& ctx, std::vector<Figures>* out);
void RunGetTrace(Context& ctx, std::vector<Figures>* out);
void RunQuerySelective(Context& ctx, std::vector<Figures>* out);
void RunQueryTimeWindow(Context& ctx, std::vector<Figures>* out);
void RunGraphWindow(Context& ctx, std::vector<Figures>* out);
void RunAggregateByActor(Context& ctx, std::vector<Figures>* out);
void RunIngestClickHouse(Context& ctx, std::vector<Figures>* out);
void RunQueryClickHouse(Context& ctx, std::vector<Figures>* out);
void RunGetTraceClickHouse(Context& ctx, std::vector<Figures>* out);

// The raw RocksDB ceiling (bench/peers/rocksdb_raw.cc): the ingest data
// set's event records, one key per event, no index, same WAL and sync.
Figures RunRawRocksdb(Context& ctx);

// Engine options every tracedb store of the runner uses.
engine::Options BenchEngineOptions(const Context& ctx, const std::string& dir);

// Writes traces [first, first + count) of the generator to `engine` in the
// runner's batch shape (untimed helper for building read stores).
Status LoadTraces(const Context& ctx, engine::Engine* engine, uint64_t first, uint64_t count);

}  // namespace tracedb::bench
