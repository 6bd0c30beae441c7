// The ClickHouse storage backend next to the RocksDB engine, in the same run
// on the same data (docs/scale-out.md). Enabled by --clickhouse URL,URL (one
// URL per shard); without it the three workloads are listed as skipped.
// Each run creates its own database (tracedb_bench_<pid>_<unix time>) on
// every shard and drops it at exit.
//
// ingest_clickhouse: the ingest_engine data set (same generator, same
//   interleaved stream, same batches of RunConfig::batch_events events) is
//   written through Engine::Write to a fresh RocksDB engine, then to the
//   ClickHouse engine. Timed: every Write (batches built beforehand);
//   latency per batch. Bytes per event: DiskUsageBytes() after CompactAll()
//   (RocksDB: SST files; ClickHouse: active parts after OPTIMIZE ... FINAL,
//   summed over shards). Verified, per backend: WriteResult totals, the
//   number of stored traces and GetTrace of sampled traces equal to the
//   generated ones.
//
// query_clickhouse: both engines are topped up (untimed) to
//   RunConfig::clickhouse_traces traces and compacted; the ClickHouse one
//   has the SQL query backend attached (clickhouse/sql). Kinds, each run
//   RunConfig::clickhouse_queries times per backend through query::RunQuery
//   (first page of 20 for searches), parameters drawn at random (seeded):
//     flow       flow = "<f>"
//     status     status = failed
//     actor      actor = "<a>"
//     window     start >= <t0> and start < <t1>           (1/20 of the span)
//     residual   flow = "<f>" and actor =~ "<prefix>.*"   (regex: re-checked
//                                                          by the evaluator)
//     count_by_flow   <window> | count() by (flow)
//     p99_by_actor    <window> | p99(execution_time_ns) by (actor)
//   One row per kind and backend; the kind leads the note. Verified: every
//   answer of ClickHouse equals RocksDB's for the same query (page ids in
//   order; aggregate groups and values), searches return at least one trace,
//   and the flow pages equal the page computed from the generator. A
//   difference fails the run, naming the query.
//
// get_trace_clickhouse: Engine::GetTrace of 1,000-event traces among the
//   RunConfig::clickhouse_traces, the same picks on both backends. Verified:
//   every answer equals the generated trace (header and events) for the
//   first 20 picks, the event count and first/last ids for the rest.

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bench/runner.h"
#include "bench/workloads/query_common.h"
#include "clickhouse/ch_engine.h"
#include "clickhouse/http_client.h"
#include "clickhouse/sql/sql_compiler.h"
#include "query/backend.h"
#include "query/query.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::bench {

namespace {

constexpr const char* kRocks = "tracedb-rocksdb";
constexpr const char* kCh = "tracedb-clickhouse";

Figures Failed(const char* workload, const char* system, const std::string& why) {
  Figures f;
  f.workload = workload;
  f.system = system;
  f.status = "FAILED: " + why;
  return f;
}

// On 18.16, dropping a database of a few hundred MB was seen to take
// minutes on the loaded 2-core machine (the server finishes it after the
// client gives up), hence the long timeout and the message.
void DropDatabase(const std::vector<std::string>& shards, const std::string& database) {
  clickhouse::ClientOptions options;
  options.request_timeout = std::chrono::milliseconds(120000);
  for (const std::string& url : shards) {
    auto client = clickhouse::HttpClient::Create(url, options);
    if (!client.ok()) continue;
    auto reply = (*client)->Query("DROP DATABASE IF EXISTS " + database);
    if (!reply.ok()) {
      fmt::print(stderr, "[bench] DROP DATABASE {} on {} did not finish: {} (the server may still complete it: check "
                 "SHOW DATABASES)\n", database, url, reply.status().ToString());
    }
  }
}

// Opens both engines, empty: RocksDB in a fresh directory, ClickHouse in a
// database of this run's own.
Result<std::unique_ptr<BackendPair>> OpenPair(Context& ctx) {
  auto pair = std::make_unique<BackendPair>();
  const RunConfig& config = ctx.config();
  TRACEDB_ASSIGN_OR_RETURN(pair->rocksdb, engine::Engine::Open(BenchEngineOptions(ctx, ctx.NewDir("ch-peer-rocksdb"))));
  pair->database = fmt::format("tracedb_bench_{}_{}", getpid(),
                               std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch()).count());
  clickhouse::ClickHouseOptions options;
  for (const std::string& url : config.clickhouse_shards) options.shards.push_back({url});
  options.database = pair->database;
  std::vector<std::string> shards = config.clickhouse_shards;
  std::string database = pair->database;
  pair->drop = [shards, database] { DropDatabase(shards, database); };
  DropDatabase(shards, database);
  TRACEDB_ASSIGN_OR_RETURN(pair->clickhouse, clickhouse::OpenClickHouse(options));
  query::AttachQueryBackend(pair->clickhouse.get(), clickhouse::sql::MakeQueryBackend(pair->database));
  ctx.Log(fmt::format("clickhouse: database {} on {} shard(s)", pair->database, shards.size()));
  return pair;
}

// Checks a store against the generated traces [0, traces).
std::string VerifyStore(Context& ctx, engine::Engine* eng, uint64_t traces) {
  uint64_t stored = 0;
  Status s = eng->ScanTraces([&](const schema::Trace&) {
    ++stored;
    return true;
  });
  if (!s.ok()) return s.ToString();
  if (stored != traces) return fmt::format("{} traces stored, {} written", stored, traces);
  const uint64_t step = ctx.config().quick ? 1 : std::max<uint64_t>(1, traces / 200);
  for (uint64_t i = 0; i < traces; i += step) {
    schema::Trace expected = ctx.generator().MakeTrace(i);
    auto got = eng->GetTrace(expected.trace_id);
    if (!got.ok()) return got.status().ToString();
    if (!got->has_value()) return fmt::format("trace {} missing", i);
    std::string diff = DiffTrace(expected, **got, HeaderCheck::kFullHeader);
    if (!diff.empty()) return fmt::format("trace {}: {}", i, diff);
  }
  return "";
}

Figures TimedIngest(Context& ctx, const char* system, engine::Engine* eng,
                    const std::vector<engine::WriteBatch>& batches) {
  Figures f;
  f.workload = "ingest_clickhouse";
  f.system = system;
  const uint64_t expected_events = ctx.ingest_event_count();
  const uint64_t expected_traces = ctx.traces().size();
  ResetPeakRss();
  double rss0 = CurrentRssMb();
  LatencyRecorder lat;
  engine::WriteResult total;
  auto start = Clock::now();
  for (const engine::WriteBatch& b : batches) {
    auto t0 = Clock::now();
    auto r = eng->Write(b);
    lat.AddSince(t0);
    if (!r.ok()) return Failed(f.workload.c_str(), system, r.status().ToString());
    total.events_written += r->events_written;
    total.duplicates += r->duplicates;
    total.traces_created += r->traces_created;
    total.traces_ended += r->traces_ended;
    total.bytes_written += r->bytes_written;
  }
  f.seconds = SecondsSince(start);
  RecordTiming(&f, PeakRssMb() - rss0, total.events_written, lat);
  auto compact_start = Clock::now();
  Status cs = eng->CompactAll();
  double compact_s = SecondsSince(compact_start);
  f.bytes_per_event = static_cast<double>(eng->DiskUsageBytes()) / static_cast<double>(std::max<uint64_t>(1, f.items));
  std::string problem;
  if (!cs.ok()) {
    problem = "compact: " + cs.ToString();
  } else if (total.events_written != expected_events || total.duplicates != 0) {
    problem = fmt::format("{} events written ({} duplicates), {} expected", total.events_written, total.duplicates,
                          expected_events);
  } else if (total.traces_created != expected_traces || total.traces_ended != expected_traces) {
    problem = fmt::format("{} traces created, {} ended, {} expected", total.traces_created, total.traces_ended,
                          expected_traces);
  } else {
    problem = VerifyStore(ctx, eng, expected_traces);
  }
  RecordVerification(&f, problem);
  f.note = fmt::format("{:.0f} B/event written; compact {:.1f} s", static_cast<double>(total.bytes_written) /
                                                                          static_cast<double>(std::max<uint64_t>(1, f.items)),
                       compact_s);
  return f;
}

// The pair holding RunConfig::clickhouse_traces traces, compacted (the
// ingest_clickhouse stores topped up, or new ones). Untimed.
Result<BackendPair*> QueryPair(Context& ctx) {
  std::unique_ptr<BackendPair>& pair = ctx.backend_pair();
  if (!pair) {
    TRACEDB_ASSIGN_OR_RETURN(pair, OpenPair(ctx));
  }
  if (pair->topped_up) return pair.get();
  const uint64_t want = std::max(pair->traces, ctx.config().clickhouse_traces);
  for (auto [name, eng] : {std::pair{kRocks, pair->rocksdb.get()}, std::pair{kCh, pair->clickhouse.get()}}) {
    auto start = Clock::now();
    TRACEDB_RETURN_IF_ERROR(LoadTraces(ctx, eng, pair->traces, want - pair->traces));
    double load_s = SecondsSince(start);
    TRACEDB_RETURN_IF_ERROR(eng->CompactAll());
    ctx.Log(fmt::format("{}: loaded traces {}..{} in {:.1f} s ({:.0f} events/s, untimed), compacted in {:.1f} s", name,
                        pair->traces, want, load_s,
                        static_cast<double>(EventsOf(ctx.generator(), want) - EventsOf(ctx.generator(), pair->traces)) /
                            load_s,
                        SecondsSince(start) - load_s));
  }
  pair->traces = want;
  pair->topped_up = true;
  return pair.get();
}

struct Kind {
  std::string name;
  std::vector<std::string> texts;
};

std::string PageIds(const query::QueryResult& r) {
  std::string out;
  for (const schema::Trace& t : r.traces) out += schema::FormatUuid(t.trace_id) + " ";
  return out;
}

// "" when `a` (RocksDB) and `b` (ClickHouse) give the same answer.
std::string CompareAnswers(const query::QueryResult& a, const query::QueryResult& b) {
  if (a.kind != b.kind) return "result kinds differ";
  if (a.kind == query::QueryResult::Kind::kTraces) {
    if (a.traces.empty()) return "no trace matched on rocksdb (the query set is wrong)";
    if (a.traces.size() != b.traces.size()) {
      return fmt::format("{} traces on rocksdb, {} on clickhouse", a.traces.size(), b.traces.size());
    }
    for (size_t i = 0; i < a.traces.size(); ++i) {
      if (a.traces[i].trace_id != b.traces[i].trace_id) {
        return fmt::format("page differs at {}: rocksdb [{}] clickhouse [{}]", i, PageIds(a), PageIds(b));
      }
    }
    return "";
  }
  if (a.rows.empty()) return "no group on rocksdb (the query set is wrong)";
  if (a.columns != b.columns) return "columns differ";
  if (a.rows.size() != b.rows.size()) return fmt::format("{} groups on rocksdb, {} on clickhouse", a.rows.size(), b.rows.size());
  for (size_t i = 0; i < a.rows.size(); ++i) {
    const query::AggregateRow& x = a.rows[i];
    const query::AggregateRow& y = b.rows[i];
    if (x.group != y.group) return fmt::format("group {} differs", i);
    if (x.values.size() != y.values.size()) return "row shapes differ";
    for (size_t v = 0; v < x.values.size(); ++v) {
      bool same = x.values[v].has_value() == y.values[v].has_value() &&
                  (!x.values[v] || std::abs(*x.values[v] - *y.values[v]) <= 1e-9 * std::max(1.0, std::abs(*x.values[v])));
      if (!same) {
        return fmt::format("group {} value {}: rocksdb {} clickhouse {}", fmt::join(x.group, ","), v,
                           x.values[v].value_or(NAN), y.values[v].value_or(NAN));
      }
    }
  }
  return "";
}

std::vector<Kind> MakeKinds(Context& ctx, uint64_t traces) {
  const Generator& gen = ctx.generator();
  const uint32_t n = ctx.config().clickhouse_queries;
  Rng rng(ctx.config().seed ^ 0xC11C);
  const schema::TimestampNs first = gen.StartOf(0);
  const schema::TimestampNs last = gen.StartOf(traces - 1) + 1;
  const int64_t window = std::max<int64_t>(1000, (last - first) / 20);
  auto window_text = [&] {
    schema::TimestampNs t0 = first + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(std::max<int64_t>(1, last - first - window))));
    t0 = t0 / 1000 * 1000;
    return fmt::format("start >= {} and start < {}", schema::FormatRfc3339(t0), schema::FormatRfc3339(t0 + window));
  };
  std::vector<Kind> kinds = {{"flow", {}},     {"status", {}},        {"actor", {}},       {"window", {}},
                             {"residual", {}}, {"count_by_flow", {}}, {"p99_by_actor", {}}};
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t flow = static_cast<uint32_t>(rng.Below(gen.options().flows));
    std::vector<uint32_t> actors = gen.ActorsOfFlow(flow);
    std::string actor = gen.ActorName(actors[rng.Below(actors.size())]);
    std::string prefix = actor.substr(0, actor.find('-'));
    kinds[0].texts.push_back(fmt::format("flow = \"{}\"", gen.FlowName(flow)));
    kinds[1].texts.push_back("status = failed");
    kinds[2].texts.push_back(fmt::format("actor = \"{}\"", actor));
    kinds[3].texts.push_back(window_text());
    kinds[4].texts.push_back(fmt::format("flow = \"{}\" and actor =~ \"{}.*\"", gen.FlowName(flow), prefix));
    kinds[5].texts.push_back(window_text() + " | count() by (flow)");
    kinds[6].texts.push_back(window_text() + " | p99(execution_time_ns) by (actor)");
  }
  return kinds;
}

// The generated first page of `flow = "<f>"` (the page RocksDB must return).
std::string CheckFlowPage(Context& ctx, uint64_t traces, const std::string& text, const query::QueryResult& r) {
  const Generator& gen = ctx.generator();
  std::vector<TraceFacts> matches;
  for (const TraceFacts& t : FactsOf(gen, traces)) {
    if (text == fmt::format("flow = \"{}\"", gen.FlowName(t.flow))) matches.push_back(t);
  }
  std::vector<schema::Id128> expected = ExpectedPage(gen, std::move(matches), 20);
  std::vector<schema::Id128> got;
  for (const schema::Trace& t : r.traces) got.push_back(t.trace_id);
  return got == expected ? "" : "rocksdb page differs from the generated one";
}

}  // namespace

void RunIngestClickHouse(Context& ctx, std::vector<Figures>* out) {
  if (ctx.backend_pair()) ctx.backend_pair().reset();
  auto opened = OpenPair(ctx);
  if (!opened.ok()) {
    out->push_back(Failed("ingest_clickhouse", kCh, opened.status().ToString()));
    return;
  }
  std::unique_ptr<BackendPair> pair = std::move(opened).value();
  std::vector<engine::WriteBatch> batches = BuildWriteBatches(ctx.traces(), ctx.stream(), ctx.cuts());
  Figures rocks = TimedIngest(ctx, kRocks, pair->rocksdb.get(), batches);
  Figures ch = TimedIngest(ctx, kCh, pair->clickhouse.get(), batches);
  ch.note += fmt::format("; {} shards", ctx.config().clickhouse_shards.size());
  if (rocks.ok() && ch.ok() && rocks.throughput > 0) {
    ch.note += fmt::format("; {:.2f}x rocksdb's events/s", ch.throughput / rocks.throughput);
  }
  bool both = rocks.ok() && ch.ok();
  out->push_back(rocks);
  out->push_back(ch);
  if (both) {
    pair->traces = ctx.traces().size();
    ctx.backend_pair() = std::move(pair);
  }
}

void RunQueryClickHouse(Context& ctx, std::vector<Figures>* out) {
  auto pair = QueryPair(ctx);
  if (!pair.ok()) {
    out->push_back(Failed("query_clickhouse", kCh, pair.status().ToString()));
    return;
  }
  const uint64_t traces = (*pair)->traces;
  query::QueryOptions opts;
  opts.limit = 20;
  opts.now_ns = ctx.generator().options().base_ns;
  for (const Kind& kind : MakeKinds(ctx, traces)) {
    Figures f[2];
    engine::Engine* engines[2] = {(*pair)->rocksdb.get(), (*pair)->clickhouse.get()};
    std::vector<query::QueryResult> answers[2];
    std::string problem[2];
    for (int b = 0; b < 2; ++b) {
      f[b].workload = "query_clickhouse";
      f[b].system = b == 0 ? kRocks : kCh;
      f[b].unit = "queries/s";
      query::RunQuery(engines[b], kind.texts[0], opts).status().IgnoreError();  // warm-up
      ResetPeakRss();
      double rss0 = CurrentRssMb();
      LatencyRecorder lat;
      auto start = Clock::now();
      for (const std::string& text : kind.texts) {
        auto t0 = Clock::now();
        auto r = query::RunQuery(engines[b], text, opts);
        lat.AddSince(t0);
        if (!r.ok()) {
          problem[b] = "'" + text + "': " + r.status().ToString();
          break;
        }
        answers[b].push_back(std::move(r).value());
      }
      f[b].seconds = SecondsSince(start);
      RecordTiming(&f[b], PeakRssMb() - rss0, lat.count(), lat);
    }
    for (size_t i = 0; problem[0].empty() && problem[1].empty() && i < kind.texts.size(); ++i) {
      std::string diff = CompareAnswers(answers[0][i], answers[1][i]);
      if (diff.empty() && kind.name == "flow") {
        problem[0] = CheckFlowPage(ctx, traces, kind.texts[i], answers[0][i]);
        if (!problem[0].empty()) problem[0] = "'" + kind.texts[i] + "': " + problem[0];
      }
      if (!diff.empty()) {
        problem[1] = "ANSWERS DIFFER for '" + kind.texts[i] + "': " + diff;
        fmt::print(stderr, "[bench] query_clickhouse: {}\n", problem[1]);
      }
    }
    for (int b = 0; b < 2; ++b) {
      RecordVerification(&f[b], problem[b]);
      f[b].note = fmt::format("[{}] e.g. {}; {} traces", kind.name, kind.texts[0], traces);
      if (b == 1 && f[0].p50_ms > 0) f[b].note += fmt::format("; p50 {:.1f}x rocksdb's", f[1].p50_ms / f[0].p50_ms);
      out->push_back(f[b]);
    }
  }
}

void RunGetTraceClickHouse(Context& ctx, std::vector<Figures>* out) {
  auto pair = QueryPair(ctx);
  if (!pair.ok()) {
    out->push_back(Failed("get_trace_clickhouse", kCh, pair.status().ToString()));
    return;
  }
  const Generator& gen = ctx.generator();
  std::vector<uint64_t> long_traces;
  for (uint64_t i = 0; i < (*pair)->traces; ++i) {
    if (gen.EventCount(i) == gen.options().max_events) long_traces.push_back(i);
  }
  if (long_traces.empty()) {
    out->push_back(Failed("get_trace_clickhouse", kCh, "no 1,000-event trace among the loaded traces"));
    return;
  }
  Rng rng(ctx.config().seed ^ 0x6E7C);
  std::vector<schema::Trace> picks;
  for (uint32_t q = 0; q < ctx.config().clickhouse_queries; ++q) {
    picks.push_back(gen.MakeTrace(long_traces[rng.Below(long_traces.size())]));
  }
  engine::Engine* engines[2] = {(*pair)->rocksdb.get(), (*pair)->clickhouse.get()};
  for (int b = 0; b < 2; ++b) {
    Figures f;
    f.workload = "get_trace_clickhouse";
    f.system = b == 0 ? kRocks : kCh;
    f.unit = "traces/s";
    engines[b]->GetTrace(picks[0].trace_id).status().IgnoreError();  // warm-up
    ResetPeakRss();
    double rss0 = CurrentRssMb();
    LatencyRecorder lat;
    std::string problem;
    auto start = Clock::now();
    for (size_t i = 0; i < picks.size() && problem.empty(); ++i) {
      const schema::Trace& expected = picks[i];
      auto t0 = Clock::now();
      auto r = engines[b]->GetTrace(expected.trace_id);
      lat.AddSince(t0);
      if (!r.ok()) {
        problem = r.status().ToString();
      } else if (!r->has_value()) {
        problem = "trace missing";
      } else if ((*r)->events.size() != expected.events.size() ||
                 (*r)->events.front().event_id != expected.events.front().event_id ||
                 (*r)->events.back().event_id != expected.events.back().event_id) {
        problem = fmt::format("pick {}: {} events or ids differ", i, (*r)->events.size());
      } else if (i < 20) {
        problem = DiffTrace(expected, **r, HeaderCheck::kFullHeader);
      }
    }
    f.seconds = SecondsSince(start);
    RecordTiming(&f, PeakRssMb() - rss0, lat.count(), lat);
    RecordVerification(&f, problem);
    f.note = fmt::format("1,000 events/trace; {} traces loaded", (*pair)->traces);
    out->push_back(f);
  }
}

}  // namespace tracedb::bench
