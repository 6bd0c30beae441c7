// ingest_engine: tracedb's storage engine through its direct API.
//
// The ingest data set (RunConfig::ingest_events Reflow events, traces of
// 10-1,000 events interleaved as concurrent producers send them) is written
// as engine::WriteBatch objects of RunConfig::batch_events events: each
// batch holds the StartTrace (full header), AppendEvent and EndTrace
// operations of its slice of the stream, and Engine::Write commits it
// atomically through the WAL (fsync per batch with --sync). Every index
// (time, flow, actor, status, execution, flow versions), the column chunks
// and dedup state are maintained, as in production.
//
// Timed: Engine::WriteAsync of every batch until the last is durable
// (batches are built beforehand; the engine prepares each while the one
// before commits). Latency: per batch, from WriteAsync to its result. Bytes per event: store size after CompactAll / events.
// RSS: growth of this process during the writes (the data set is resident
// before the clock starts).
// Verified: WriteResult totals (events, no duplicates, traces created and
// ended), the number of stored traces, and GetTrace of sampled traces
// (every trace in --quick) equal to the generated trace, header and events.
//
// Peer in the same run: rocksdb_raw (bench/peers/rocksdb_raw.cc), the same
// event bytes one key per event with no index: the ceiling.

#include <condition_variable>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "bench/runner.h"
#include "ingest/pipeline/bulk_ingest.h"

namespace tracedb::bench {

namespace {

// Checks the store against the generated traces; "" when everything matches.
std::string VerifyStore(Context& ctx, engine::Engine* eng, uint64_t traces) {
  uint64_t stored = 0;
  Status s = eng->ScanTraces([&](const schema::Trace&) {
    ++stored;
    return true;
  });
  if (!s.ok()) return s.ToString();
  if (stored != traces) return fmt::format("{} traces stored, {} written", stored, traces);
  const uint64_t step = ctx.config().quick ? 1 : std::max<uint64_t>(1, traces / 300);
  for (uint64_t i = 0; i < traces; i += step) {
    schema::Trace expected = ctx.generator().MakeTrace(i);
    auto got = eng->GetTrace(expected.trace_id);
    if (!got.ok()) return got.status().ToString();
    if (!got->has_value()) return fmt::format("trace {} missing", i);
    std::string diff = DiffTrace(expected, **got, HeaderCheck::kFullHeader);
    if (!diff.empty()) return diff;
  }
  return "";
}

}  // namespace

void RunIngestEngine(Context& ctx, std::vector<Figures>* out) {
  Figures f;
  f.workload = "ingest_engine";
  f.system = "tracedb";
  const uint64_t expected_events = ctx.ingest_event_count();
  const uint64_t expected_traces = ctx.traces().size();
  std::vector<engine::WriteBatch> batches = BuildWriteBatches(ctx.traces(), ctx.stream(), ctx.cuts());

  std::string dir = ctx.NewDir("engine");
  auto opened = engine::Engine::Open(BenchEngineOptions(ctx, dir));
  if (!opened.ok()) {
    f.status = "FAILED: " + opened.status().ToString();
    out->push_back(f);
    return;
  }
  std::unique_ptr<engine::Engine> eng = std::move(opened).value();

  ResetPeakRss();
  double rss0 = CurrentRssMb();
  LatencyRecorder lat;
  engine::WriteResult total;
  // WriteAsync: the next batch is prepared while the last one commits, as
  // the server's group commit does. The results arrive on the engine's
  // commit thread, in order; the last one is waited for below.
  std::mutex done_mu;
  std::condition_variable done_cv;
  size_t done_count = 0;
  Status failure;
  const ingest::AsyncCommitFn write = ingest::WriteAsyncTo(eng.get());
  std::optional<ProfileSection> profile(std::in_place);
  auto start = Clock::now();
  for (const engine::WriteBatch& b : batches) {
    auto t0 = Clock::now();
    write(b, [&, t0](Result<engine::WriteResult> r) {
      std::lock_guard<std::mutex> lock(done_mu);
      lat.AddSince(t0);
      if (!r.ok()) {
        if (failure.ok()) failure = r.status();
      } else {
        total.events_written += r->events_written;
        total.duplicates += r->duplicates;
        total.traces_created += r->traces_created;
        total.traces_ended += r->traces_ended;
        total.keys_written += r->keys_written;
        total.bytes_written += r->bytes_written;
      }
      ++done_count;
      done_cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(done_mu);
    done_cv.wait(lock, [&] { return done_count == batches.size(); });
  }
  if (!failure.ok()) {
    f.status = "FAILED: " + failure.ToString();
    out->push_back(f);
    return;
  }
  f.seconds = SecondsSince(start);
  profile.reset();
  f.peak_rss_mb = PeakRssMb() - rss0;
  batches.clear();
  f.items = total.events_written;
  f.throughput = static_cast<double>(f.items) / f.seconds;
  f.p50_ms = lat.PercentileMs(0.50);
  f.p99_ms = lat.PercentileMs(0.99);
  engine::Stats stats = eng->GetStats();
  Status cs = eng->CompactAll();
  f.bytes_per_event = static_cast<double>(eng->DiskUsageBytes()) / static_cast<double>(f.items);

  std::string problem;
  if (!cs.ok()) problem = cs.ToString();
  else if (total.events_written != expected_events || total.duplicates != 0)
    problem = fmt::format("{} events written ({} duplicates), {} expected", total.events_written, total.duplicates,
                          expected_events);
  else if (total.traces_created != expected_traces || total.traces_ended != expected_traces)
    problem = fmt::format("{} traces created, {} ended, {} expected", total.traces_created, total.traces_ended,
                          expected_traces);
  else
    problem = VerifyStore(ctx, eng.get(), expected_traces);
  f.verified = problem.empty();
  if (!f.verified) {
    f.status = "FAILED: " + problem;
  } else {
    f.note = fmt::format("{:.1f} keys/event, {:.0f} B/event into WriteBatch, stall {} ms",
                         static_cast<double>(total.keys_written) / static_cast<double>(f.items),
                         static_cast<double>(total.bytes_written) / static_cast<double>(f.items),
                         stats.write_stall_micros / 1000);
  }
  out->push_back(f);
  if (f.verified) ctx.AdoptStore(std::move(eng), expected_traces);

  if (ctx.WantPeer("rocksdb_raw")) out->push_back(RunRawRocksdb(ctx));
}

}  // namespace tracedb::bench
