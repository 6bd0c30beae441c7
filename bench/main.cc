// tracedb_bench: the workload runner.
//
//   build-bench/tracedb_bench [--quick] [--workloads a,b] [--peers p,q]
//                             [--events N] [--query-events N] [--batch N]
//                             [--clients N] [--ws-rate N] [--sync] [--json FILE]
//                             [--clickhouse URL,URL] [--clickhouse-traces N]
//                             [--clickhouse-queries N]
//
// Runs the named workloads (bench/workloads/*.cc, each described at the top
// of its file) in order, with the peers measured in the same run on the same
// generated data, prints one table plus the tracedb / peer ratios, and
// optionally writes the figures as JSON. Exit status: 0 only when every
// selected workload produced a tracedb result and every result (tracedb and
// peers) ran and verified; 1 otherwise. A system that could not run (the
// server binary does not start, no PostgreSQL) is a failure, listed at the
// end, in --quick (the smoke test) as in a full run: leave a peer out with
// --peers, a workload with --workloads. The *_clickhouse workloads need a
// ClickHouse cluster (--clickhouse, one URL per shard): without it they are
// listed as skipped, with the reason, and are not a failure unless named in
// --workloads (then the run refuses to start).

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "bench/runner.h"

namespace {

// Every reason the run is not a pass: results that failed, were not
// verified or could not run, and selected workloads with no tracedb result
// at all (a workload that returned nothing must not pass by silence).
std::vector<std::string> Verdict(const tracedb::bench::RunConfig& config,
                                 const std::vector<tracedb::bench::Figures>& all) {
  using namespace tracedb::bench;
  std::vector<std::string> problems;
  for (const Figures& f : all) {
    if (!f.ok()) {
      problems.push_back(fmt::format("{} / {}: {}", f.workload, f.system, f.status));
    } else if (!f.verified) {
      problems.push_back(fmt::format("{} / {}: NOT VERIFIED", f.workload, f.system));
    }
  }
  for (const Workload& w : Workloads()) {
    bool selected = config.workloads.empty() ||
                    std::find(config.workloads.begin(), config.workloads.end(), w.name) != config.workloads.end();
    bool measured = std::any_of(all.begin(), all.end(), [&](const Figures& f) {
      return f.workload == w.name && f.system.rfind("tracedb", 0) == 0;
    });
    if (selected && !measured && SkipReason(w, config).empty()) problems.push_back(fmt::format("{}: no tracedb result", w.name));
  }
  return problems;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tracedb::bench;
  RunConfig config;
  CLI::App app{"tracedb workload runner: ingest and query benchmarks against raw RocksDB, SQLite and PostgreSQL"};
  std::string workloads, peers, json_path;
  bool quiet = false;
  app.add_flag("--quick", config.quick, "Small data (seconds): the smoke test the test suite runs");
  app.add_option("--workloads", workloads, "Comma-separated workloads to run (default: all)");
  app.add_option("--peers", peers, "Comma-separated peers to include: rocksdb_raw,sqlite,postgres (default: all)");
  app.add_option("--events", config.ingest_events, "Events in the ingest data set");
  app.add_option("--query-events", config.query_events, "Events in the store the read workloads query");
  app.add_option("--batch", config.batch_events, "Events per write batch / NDJSON request / transaction");
  app.add_option("--event-bytes", config.event_bytes,
                 "Target Reflow JSON bytes per ingest event (0: the full ~1.2 KB events; ~560 is the smallest)");
  app.add_option("--concurrency", config.concurrency, "Traces open at once in the interleaved stream");
  app.add_option("--clients", config.clients, "Concurrent HTTP clients / WebSocket connections");
  app.add_option("--ws-rate", config.ws_rate,
                 "ingest_ws: also run paced at N requests/s in total across the connections (StartTrace, "
                 "RecordEvent, EndTrace), a second row after the unlimited one; 0: unlimited only (default: 0)");
  app.add_option("--queries", config.queries, "Queries per read workload");
  app.add_option("--seed", config.seed, "Generator seed");
  app.add_flag("--sync", config.sync, "fsync every commit, in tracedb and in every peer");
  app.add_option("--tracedb-binary", config.tracedb_binary, "The tracedb server binary (default: next to this one)");
  app.add_option("--pg-bin", config.pg_bin, "PostgreSQL binaries directory");
  app.add_option("--json", json_path, "Also write the figures to this JSON file");
  app.add_flag("--keep", config.keep, "Keep the temporary stores");
  app.add_option("--read-store", config.read_store,
                 "Keep the read store in DIR and reuse it in later runs with the same --seed");
  app.add_flag("--quiet", quiet, "No progress lines");
  std::string clickhouse;
  app.add_option("--clickhouse", clickhouse,
                 "ClickHouse shards, comma-separated URLs (http://127.0.0.1:18123,http://127.0.0.1:28123): enables the "
                 "*_clickhouse workloads");
  app.add_option("--clickhouse-traces", config.clickhouse_traces,
                 "Traces both backends hold for query_clickhouse and get_trace_clickhouse");
  app.add_option("--clickhouse-queries", config.clickhouse_queries,
                 "query_clickhouse: queries per kind and backend; get_trace_clickhouse: fetches per backend");
  CLI11_PARSE(app, argc, argv);
  config.verbose = !quiet;

  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= s.size() && !s.empty()) {
      size_t c = s.find(',', pos);
      std::string part = s.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
      if (!part.empty()) out.push_back(part);
      if (c == std::string::npos) break;
      pos = c + 1;
    }
    return out;
  };
  config.workloads = split(workloads);
  config.peers = split(peers);
  config.clickhouse_shards = split(clickhouse);
  for (const std::string& w : config.workloads) {
    auto& all = Workloads();
    auto it = std::find_if(all.begin(), all.end(), [&](const Workload& x) { return w == x.name; });
    if (it == all.end()) {
      fmt::print(stderr, "unknown workload '{}'\n", w);
      return 2;
    }
    if (std::string why = SkipReason(*it, config); !why.empty()) {
      fmt::print(stderr, "workload '{}' {}\n", w, why);
      return 2;
    }
  }
  if (config.quick) {
    if (app.count("--events") == 0) config.ingest_events = 20'000;
    if (app.count("--query-events") == 0) config.query_events = 20'000;
    if (app.count("--queries") == 0) config.queries = 100;
    if (app.count("--batch") == 0) config.batch_events = 1000;
    if (app.count("--clickhouse-traces") == 0) config.clickhouse_traces = 300;
    if (app.count("--clickhouse-queries") == 0) config.clickhouse_queries = 5;
  }
  config.query_events = std::max(config.query_events, config.ingest_events);
  if (config.tracedb_binary.empty()) {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    config.tracedb_binary = ec ? "tracedb" : (self.parent_path() / "tracedb").string();
  }

  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  std::string machine = MachineDescription();
  std::string commit = GitCommit(TRACEDB_SOURCE_DIR);
  fmt::print("tracedb_bench  commit {}  {}\ncommand: {}\n", commit, machine, command);
  fmt::print("ingest data set: {} events, batches of {}, {} open traces; query store: {} events; sync={}\n",
             config.ingest_events, config.batch_events, config.concurrency, config.query_events, config.sync);

  std::vector<Figures> all;
  std::vector<std::string> skipped;
  {
    Context ctx(config);
    for (const Workload& w : Workloads()) {
      if (!config.workloads.empty() &&
          std::find(config.workloads.begin(), config.workloads.end(), w.name) == config.workloads.end()) {
        continue;
      }
      if (std::string why = SkipReason(w, config); !why.empty()) {
        skipped.push_back(fmt::format("{}: {}", w.name, why));
        continue;
      }
      ctx.Log(fmt::format("workload {}", w.name));
      size_t before = all.size();
      w.run(ctx, &all);
      for (size_t i = before; i < all.size(); ++i) {
        const Figures& f = all[i];
        ctx.Log(fmt::format("  {} / {}: {} {:.0f} {}{}", f.workload, f.system, f.status, f.throughput, f.unit,
                            f.ok() && !f.verified ? " (NOT VERIFIED)" : ""));
      }
    }
  }
  PrintTable(all);
  if (!skipped.empty()) fmt::print("\nskipped (not run, not measured):\n");
  for (const std::string& s : skipped) fmt::print("  {}\n", s);
  std::vector<std::string> problems = Verdict(config, all);
  if (!json_path.empty() && !WriteJson(json_path, all, "commit " + commit + ": " + command)) {
    problems.push_back("cannot write " + json_path);
  }
  if (!problems.empty()) {
    fmt::print("\nFAILED: {} problem(s); a result that did not run or did not verify is a failure:\n",
               problems.size());
    for (const std::string& p : problems) fmt::print("  {}\n", p);
    return 1;
  }
  fmt::print("\nall {} results verified\n", all.size());
  return 0;
}
