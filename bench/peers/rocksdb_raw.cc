// rocksdb_raw: the ceiling of what RocksDB itself does with tracedb's
// event bytes on this machine. The ingest data set's events, encoded as
// the engine encodes them (schema::EncodeEventRecord, the engine's event
// key), written one key per event in the same batches, through the WAL with
// the same sync setting, into one column family with the engine's events
// options (engine::EventsCfOptions: LZ4, ZSTD with a dictionary at the
// bottom, 32 KiB blocks, 64 MiB memtables x 4, two background jobs), and
// nothing else: no headers, no indexes, no column
// chunks, no dedup. Values are encoded before the clock starts (the time
// encoding takes is reported in the note); the timed part is building each
// rocksdb::WriteBatch and DB::Write.

#include <rocksdb/cache.h>
#include <rocksdb/db.h>

#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "bench/runner.h"
#include "engine/keys.h"
#include "engine/rocks_engine.h"
#include "schema/record_codec.h"

namespace tracedb::bench {

Figures RunRawRocksdb(Context& ctx) {
  Figures f;
  f.workload = "ingest_engine";
  f.system = "rocksdb_raw";
  const auto& traces = ctx.traces();
  const auto& stream = ctx.stream();
  const auto& cuts = ctx.cuts();

  // Untimed: keys and values of every batch.
  auto enc_start = Clock::now();
  std::vector<std::vector<std::pair<std::string, std::string>>> kvs(cuts.size());
  const uint32_t bucket_seconds = engine::Options().bucket_seconds;
  for (size_t b = 0; b < cuts.size(); ++b) {
    for (size_t i = cuts[b].first; i < cuts[b].second; ++i) {
      const StreamOp& op = stream[i];
      if (op.kind != StreamOp::Kind::kEvent) continue;
      const schema::Trace& t = traces[op.trace];
      const schema::Event& e = t.events[op.event];
      kvs[b].emplace_back(engine::keys::EventKey(engine::BucketOf(t.start_ns, bucket_seconds), t.trace_id,
                                                 e.timestamp_ns, e.seq, e.event_id),
                          schema::EncodeEventRecord(e));
    }
  }
  double encode_s = SecondsSince(enc_start);

  std::string dir = ctx.NewDir("rocksdb-raw");
  // Exactly the engine's settings for its events column family.
  const engine::Options engine_options;
  rocksdb::Options opts(engine::StoreDbOptions(engine_options),
                        engine::EventsCfOptions(engine_options, rocksdb::NewLRUCache(engine_options.block_cache_bytes)));
  opts.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opts, dir, &raw);
  if (!s.ok()) {
    f.status = "FAILED: " + s.ToString();
    return f;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions wo;
  wo.sync = ctx.config().sync;

  ResetPeakRss();
  double rss0 = CurrentRssMb();
  LatencyRecorder lat;
  uint64_t events = 0;
  std::optional<ProfileSection> profile(std::in_place);
  auto start = Clock::now();
  for (const auto& batch : kvs) {
    auto t0 = Clock::now();
    rocksdb::WriteBatch wb;
    for (const auto& [k, v] : batch) wb.Put(k, v);
    s = db->Write(wo, &wb);
    if (!s.ok()) {
      f.status = "FAILED: " + s.ToString();
      return f;
    }
    lat.AddSince(t0);
    events += batch.size();
  }
  f.seconds = SecondsSince(start);
  profile.reset();
  f.peak_rss_mb = PeakRssMb() - rss0;
  f.items = events;
  f.throughput = static_cast<double>(events) / f.seconds;
  f.p50_ms = lat.PercentileMs(0.50);
  f.p99_ms = lat.PercentileMs(0.99);
  db->Flush(rocksdb::FlushOptions());
  rocksdb::CompactRangeOptions cro;
  db->CompactRange(cro, nullptr, nullptr);
  f.bytes_per_event = static_cast<double>(DirectoryBytes(dir)) / static_cast<double>(events);

  // Verify: every key is there with its bytes.
  uint64_t found = 0;
  bool same = true;
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  std::unordered_map<std::string, const std::string*> expected;
  for (const auto& batch : kvs) {
    for (const auto& [k, v] : batch) expected.emplace(k, &v);
  }
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++found;
    auto e = expected.find(it->key().ToString());
    if (e == expected.end() || *e->second != it->value().ToString()) same = false;
  }
  f.verified = same && found == events && it->status().ok();
  if (!f.verified) f.note = fmt::format("read back {} of {} keys, bytes equal: {}", found, events, same);
  else f.note = fmt::format("1 key/event, no index; encode (untimed) {:.2f} s = {:.0f} ns/event", encode_s,
                            encode_s * 1e9 / static_cast<double>(events));
  return f;
}

}  // namespace tracedb::bench
