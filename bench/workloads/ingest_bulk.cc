// ingest_bulk: Reflow NDJSON bulk ingest, tracedb against SQLite and
// PostgreSQL doing the same work from the same bytes.
//
// The ingest data set is printed once as NDJSON request bodies of
// RunConfig::batch_events events each (StartTrace / RecordEvent / EndTrace
// lines, exactly as a Reflow client sends them on the WebSocket, printed by
// ingest/reflow/reflow_json.h). Every system parses those bytes, stores every
// event, maintains its indexes and commits each body durably (WAL; fsync
// with --sync) before answering:
//
//   tracedb         `tracedb serve --data DIR` as a child process on a free
//                   127.0.0.1 port; RunConfig::clients keep-alive HTTP
//                   clients POST the bodies to /v1/ingest/reflow, each
//                   waiting for its reply ({"accepted":N,"duplicates":N,"lines":N,...}).
//   tracedb-inproc  the same bodies fed, one after another, to one
//                   ingest::BulkIngestor in this process (the pipeline the
//                   server runs per request and `tracedb ingest FILE` runs per
//                   file: lines parsed on two threads while the previous batch
//                   commits), batches of RunConfig::batch_events lines, each
//                   committed with Engine::Write: tracedb's cost without
//                   HTTP, the like-for-like figure for the peers, which also
//                   run without HTTP. Latency: per body fed (a body's batch
//                   commits while the next body is parsed).
//   sqlite          bench/peers/sqlite_peer.cc (transaction per body).
//   postgres        bench/peers/postgres_peer.cc (COPY per body).
//
// Timed: from the first body to the last reply / commit. Latency: per body.
// Bytes per event: store size after compaction / checkpoint. RSS: the
// server's peak (tracedb serve, the PostgreSQL backend) or this process's
// growth (in-process systems).
// Verified: the reported/accepted event count, the stored trace and event
// counts, and sampled traces read back (events equal to the generated ones,
// flow, version and status as sent); the server exits 0 on SIGTERM. A
// system that cannot run (no server, no PostgreSQL) is "unavailable", which
// the runner counts as a failure (bench/main.cc).

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include <optional>

#include <fmt/format.h>

#include "bench/net.h"
#include "bench/runner.h"
#include "ingest/pipeline/bulk_ingest.h"
#include "ingest/reflow/reflow_json.h"
#include "schema/uuid.h"

namespace tracedb::bench {

namespace reflow = ingest::reflow;

namespace {

std::vector<uint64_t> SampleTraces(Context& ctx) {
  std::vector<uint64_t> out;
  const uint64_t n = ctx.traces().size();
  const uint64_t step = ctx.config().quick ? 1 : std::max<uint64_t>(1, n / 200);
  for (uint64_t i = 0; i < n; i += step) out.push_back(i);
  return out;
}

// Reads sampled traces from a tracedb store filled from NDJSON.
std::string VerifyEngine(Context& ctx, engine::Engine* eng) {
  uint64_t stored = 0;
  Status s = eng->ScanTraces([&](const schema::Trace&) {
    ++stored;
    return true;
  });
  if (!s.ok()) return s.ToString();
  if (stored != ctx.traces().size()) return fmt::format("{} traces stored, {} sent", stored, ctx.traces().size());
  for (uint64_t i : SampleTraces(ctx)) {
    const schema::Trace& expected = ctx.traces()[i];
    auto got = eng->GetTrace(expected.trace_id);
    if (!got.ok()) return got.status().ToString();
    if (!got->has_value()) return fmt::format("trace {} missing", i);
    // Reflow has no seq on the wire: the server numbers events in arrival
    // order, which concurrent clients interleave. Order is still checked.
    std::string diff = DiffTrace(expected, **got, HeaderCheck::kWireHeader, SeqCheck::kIgnore);
    if (!diff.empty()) return diff;
  }
  return "";
}

Figures RunInproc(Context& ctx) {
  Figures f;
  f.workload = "ingest_bulk";
  f.system = "tracedb-inproc";
  const auto& bodies = ctx.ndjson();
  std::string dir = ctx.NewDir("inproc");
  auto opened = engine::Engine::Open(BenchEngineOptions(ctx, dir));
  if (!opened.ok()) {
    f.status = "FAILED: " + opened.status().ToString();
    return f;
  }
  auto eng = std::move(opened).value();
  ResetPeakRss();
  double rss0 = CurrentRssMb();
  LatencyRecorder lat;
  uint64_t events = 0;
  std::optional<ProfileSection> profile(std::in_place);
  auto start = Clock::now();
  ingest::IngestOptions options;
  options.batch_lines = ctx.config().batch_events;
  ingest::BulkIngestor ingestor(options, ingest::WriteAsyncTo(eng.get()));
  for (const NdjsonBatch& b : bodies) {
    auto t0 = Clock::now();
    Status s = ingestor.Feed(b.body);
    if (!s.ok()) {
      f.status = "FAILED: " + s.ToString();
      return f;
    }
    lat.AddSince(t0);
  }
  auto report = ingestor.Finish();
  if (!report.ok() || !report->rejected.empty()) {
    f.status = "FAILED: " + (report.ok() ? report->ToJson().substr(0, 300) : report.status().ToString());
    return f;
  }
  events = report->events;
  f.seconds = SecondsSince(start);
  profile.reset();
  f.peak_rss_mb = PeakRssMb() - rss0;
  f.items = events;
  f.throughput = static_cast<double>(events) / f.seconds;
  f.p50_ms = lat.PercentileMs(0.5);
  f.p99_ms = lat.PercentileMs(0.99);
  Status cs = eng->CompactAll();
  f.bytes_per_event = static_cast<double>(eng->DiskUsageBytes()) / static_cast<double>(events);
  std::string problem = !cs.ok() ? cs.ToString()
                        : events != ctx.ingest_event_count()
                            ? fmt::format("{} events written, {} sent", events, ctx.ingest_event_count())
                            : VerifyEngine(ctx, eng.get());
  f.verified = problem.empty();
  if (!f.verified) f.status = "FAILED: " + problem;
  f.note = fmt::format("{:.0f} MB/s of NDJSON, {:.0f} B/event; BulkIngestor + engine, no HTTP",
                       static_cast<double>(ctx.ndjson_bytes()) / f.seconds / 1e6,
                       static_cast<double>(ctx.ndjson_bytes()) / static_cast<double>(ctx.ingest_event_count()));
  return f;
}

Figures RunServer(Context& ctx) {
  Figures f;
  f.workload = "ingest_bulk";
  f.system = "tracedb";
  const auto& bodies = ctx.ndjson();
  std::string dir = ctx.NewDir("server");
  ServerProcess server;
  std::vector<std::string> args = {"--data", dir + "/data"};
  Status s = server.Start(ctx.config().tracedb_binary, args);
  if (!s.ok()) {
    f.status = "unavailable: " + s.message();
    return f;
  }
  {
    HttpClient probe;
    s = probe.Connect("127.0.0.1", server.port());
    auto r = s.ok() ? probe.Request("POST", "/v1/ingest/reflow", "\n") : Result<HttpResponse>(s);
    if (!r.ok() || r->status == 404 || r->status == 405) {
      f.status = "unavailable: server has no POST /v1/ingest/reflow" +
                 (r.ok() ? fmt::format(" (HTTP {})", r->status) : " (" + r.status().ToString() + ")");
      return f;
    }
  }
  const uint32_t clients = std::max<uint32_t>(1, ctx.config().clients);
  std::vector<LatencyRecorder> lats(clients);
  std::vector<uint64_t> accepted(clients, 0);  // events newly stored
  std::vector<uint64_t> applied(clients, 0);   // lines applied
  std::vector<std::string> errors(clients);
  std::atomic<size_t> next{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (uint32_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      HttpClient client;
      Status cs = client.Connect("127.0.0.1", server.port());
      if (!cs.ok()) {
        errors[c] = cs.ToString();
        return;
      }
      for (size_t i = next++; i < bodies.size(); i = next++) {
        auto t0 = Clock::now();
        auto r = client.Request("POST", "/v1/ingest/reflow", bodies[i].body);
        if (!r.ok() || r->status != 200) {
          errors[c] = r.ok() ? fmt::format("HTTP {}: {}", r->status, r->body.substr(0, 300)) : r.status().ToString();
          return;
        }
        lats[c].AddSince(t0);
        boost::system::error_code ec;
        auto reply = boost::json::parse(r->body, ec);
        if (ec || !reply.is_object() || !reply.as_object().contains("accepted") ||
            !reply.as_object().contains("lines")) {
          errors[c] = "unexpected reply: " + r->body.substr(0, 300);
          return;
        }
        accepted[c] += reply.as_object().at("accepted").to_number<uint64_t>();
        applied[c] += reply.as_object().at("lines").to_number<uint64_t>();
      }
    });
  }
  for (auto& t : threads) t.join();
  f.seconds = SecondsSince(start);
  f.peak_rss_mb = server.PeakRssMb();
  for (const std::string& e : errors) {
    if (!e.empty()) {
      f.status = "FAILED: " + e;
      return f;
    }
  }
  LatencyRecorder merged;
  uint64_t total = 0, total_lines = 0;
  for (uint32_t c = 0; c < clients; ++c) {
    total += accepted[c];
    total_lines += applied[c];
    merged.Merge(lats[c]);
  }
  // "lines" counts lines applied (starts and ends included), "accepted" the
  // events newly stored; the store check below counts the events again.
  uint64_t lines = 0;
  for (const NdjsonBatch& b : bodies) lines += b.lines;
  f.items = ctx.ingest_event_count();
  f.throughput = static_cast<double>(f.items) / f.seconds;
  f.p50_ms = merged.PercentileMs(0.5);
  f.p99_ms = merged.PercentileMs(0.99);
  int st = server.Stop();
  auto opened = engine::Engine::Open(BenchEngineOptions(ctx, dir + "/data"));
  if (!opened.ok()) {
    f.status = fmt::format("FAILED: reopen after server exit ({}): {}", st, opened.status().ToString());
    return f;
  }
  auto eng = std::move(opened).value();
  Status cs = eng->CompactAll();
  f.bytes_per_event = static_cast<double>(eng->DiskUsageBytes()) / static_cast<double>(f.items);
  std::string problem = server.ExitProblem(st);
  if (problem.empty()) {
    problem = !cs.ok()        ? cs.ToString()
              : total_lines != lines ? fmt::format("{} lines applied, {} sent", total_lines, lines)
              : total != f.items     ? fmt::format("{} events accepted, {} sent", total, f.items)
                               : VerifyEngine(ctx, eng.get());
  }
  f.verified = problem.empty();
  if (!f.verified) f.status = "FAILED: " + problem;
  f.note = fmt::format("{} HTTP clients, {:.0f} MB/s of NDJSON, {:.0f} B/event", clients,
                       static_cast<double>(ctx.ndjson_bytes()) / f.seconds / 1e6,
                       static_cast<double>(ctx.ndjson_bytes()) / static_cast<double>(ctx.ingest_event_count()));
  return f;
}

Figures RunPeer(Context& ctx, const std::string& name) {
  Figures f;
  f.workload = "ingest_bulk";
  f.system = name;
  std::string dir = ctx.NewDir(name);
  auto opened = name == "sqlite" ? OpenSqlitePeer(dir, ctx.config().sync)
                                 : OpenPostgresPeer(dir, ctx.config().pg_bin, ctx.config().sync);
  if (!opened.ok()) {
    f.status = (opened.status().code() == StatusCode::kUnavailable ? "unavailable: " : "FAILED: ") +
               opened.status().ToString();
    return f;
  }
  auto peer = std::move(opened).value();
  const auto& bodies = ctx.ndjson();
  ResetPeakRss();
  double rss0 = CurrentRssMb();
  LatencyRecorder lat;
  uint64_t events = 0;
  auto start = Clock::now();
  for (const NdjsonBatch& b : bodies) {
    auto t0 = Clock::now();
    Status s = peer->Ingest(b.body, &events);
    if (!s.ok()) {
      f.status = "FAILED: " + s.ToString();
      return f;
    }
    lat.AddSince(t0);
  }
  f.seconds = SecondsSince(start);
  double server_rss = peer->ServerPeakRssMb();
  f.peak_rss_mb = server_rss >= 0 ? server_rss : PeakRssMb() - rss0;
  f.items = events;
  f.throughput = static_cast<double>(events) / f.seconds;
  f.p50_ms = lat.PercentileMs(0.5);
  f.p99_ms = lat.PercentileMs(0.99);
  Status s = peer->Finish();
  f.bytes_per_event = static_cast<double>(peer->DiskBytes()) / static_cast<double>(std::max<uint64_t>(events, 1));
  std::string problem;
  auto counts = peer->Counts();
  if (!s.ok()) problem = s.ToString();
  else if (!counts.ok()) problem = counts.status().ToString();
  else if (counts->first != ctx.traces().size() || counts->second != ctx.ingest_event_count())
    problem = fmt::format("{} traces / {} events stored, {} / {} sent", counts->first, counts->second,
                          ctx.traces().size(), ctx.ingest_event_count());
  for (uint64_t i : problem.empty() ? SampleTraces(ctx) : std::vector<uint64_t>()) {
    const schema::Trace& expected = ctx.traces()[i];
    auto got = peer->GetTrace(expected.trace_id);
    if (!got.ok()) problem = got.status().ToString();
    else if (!got->has_value()) problem = fmt::format("trace {} missing", i);
    else problem = DiffTrace(expected, **got, HeaderCheck::kWireHeader, SeqCheck::kIgnore);
    if (!problem.empty()) break;
  }
  f.verified = problem.empty();
  if (!f.verified) f.status = "FAILED: " + problem;
  f.note = peer->Describe();
  if (f.verified) ctx.loaded_peers().push_back(std::move(peer));
  return f;
}

}  // namespace

void RunIngestBulk(Context& ctx, std::vector<Figures>* out) {
  out->push_back(RunServer(ctx));
  out->push_back(RunInproc(ctx));
  for (const char* peer : {"sqlite", "postgres"}) {
    if (ctx.WantPeer(peer)) out->push_back(RunPeer(ctx, peer));
  }
}

}  // namespace tracedb::bench
