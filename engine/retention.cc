// Retention: data is removed a whole time bucket at a time. Event and column
// keys lead with their trace's bucket, so expiring buckets [0, b) is one
// DeleteRange per column family plus DeleteFilesInRange, which frees whole
// SST files in O(files) instead of rewriting every expired key (Jaeger's
// per-key TTL, whose disk never shrinks); graph aggregates likewise. Trace
// headers and index entries are hidden by the persisted cutoff at once and
// removed by compaction filters.

#include <rocksdb/convenience.h>

#include <chrono>

#include "common/coding.h"
#include "engine/keys.h"
#include "engine/rocks_engine.h"

namespace tracedb::engine {

namespace {

std::string BucketKey(uint32_t bucket) {
  std::string k;
  coding::PutFixed32(&k, bucket);
  return k;
}

}  // namespace

Status RocksEngine::DropBucketsBelow(uint32_t bucket) {
  TimestampNs cutoff = static_cast<TimestampNs>(bucket) * options_.bucket_seconds * 1'000'000'000LL;
  // Not advancing: only events that arrived below the cutoff after it was
  // set are removed; their headers and index entries (a few bytes a trace)
  // wait for the next advance's compactions.
  const bool advance = cutoff > retention_cutoff();
  if (advance) {
    // Persist the cutoff first: once it is durable, readers hide everything
    // below it, so a crash part-way through the deletes exposes nothing.
    std::string v;
    coding::PutOrderedI64(&v, cutoff);
    rocksdb::WriteOptions sync;
    sync.sync = true;
    TRACEDB_RETURN_IF_ERROR(FromRocks(db_->Put(sync, meta_cf_, "retention_cutoff", v), "persist cutoff"));
    cutoff_->store(cutoff, std::memory_order_release);
  }

  std::string begin = BucketKey(0);
  std::string end = BucketKey(bucket);
  rocksdb::Slice b(begin), e(end);
  // Graph aggregates lead with the same bucket: they leave with their events.
  for (auto* cf : {events_cf_, columns_cf_, graph_cf_}) {
    TRACEDB_RETURN_IF_ERROR(FromRocks(db_->DeleteRange(rocksdb::WriteOptions(), cf, b, e), "delete range"));
    TRACEDB_RETURN_IF_ERROR(FromRocks(rocksdb::DeleteFilesInRange(db_.get(), cf, &b, &e), "delete files"));
    TRACEDB_RETURN_IF_ERROR(FromRocks(db_->CompactRange(rocksdb::CompactRangeOptions(), cf, &b, &e), "compact"));
  }
  if (advance) {
    // Run the retention compaction filters over headers and indexes.
    for (auto* cf : {traces_cf_, index_cf_}) {
      TRACEDB_RETURN_IF_ERROR(FromRocks(db_->Flush(rocksdb::FlushOptions(), cf), "flush"));
      TRACEDB_RETURN_IF_ERROR(FromRocks(db_->CompactRange(rocksdb::CompactRangeOptions(), cf, nullptr, nullptr),
                                        "compact"));
    }
  }
  // A WAL file is deleted only once no family holds unflushed data from it,
  // and the cutoff just written sits in the rarely written default family:
  // without this flush the logs that carried the dropped events stay on disk.
  return FromRocks(db_->Flush(rocksdb::FlushOptions(), handles_), "flush");
}

Result<uint64_t> RocksEngine::EnforceRetention(TimestampNs now_ns) {
  // Writers may hold a cached state of a trace that is about to expire; the
  // write path re-checks the cutoff on every lookup, so no lock is needed
  // beyond the one that orders retention passes.
  static std::mutex pass_mu;
  std::lock_guard<std::mutex> lock(pass_mu);
  const uint64_t bucket_ns = uint64_t{options_.bucket_seconds} * 1'000'000'000ULL;
  uint32_t target = 0;
  if (options_.retention_max_age_seconds > 0) {
    TimestampNs oldest_kept = now_ns - options_.retention_max_age_seconds * 1'000'000'000LL;
    target = BucketOf(oldest_kept, options_.bucket_seconds);
  }

  // Buckets present, oldest first (one seek per bucket). The scan starts
  // below the cutoff: events of an expired trace may still arrive after it
  // was set (a late exporter, a backfill); they are never visible, and this
  // pass removes them from disk.
  std::vector<uint32_t> present;
  {
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_cf_));
    for (it->Seek(BucketKey(0)); it->Valid();) {
      if (it->key().size() < 4) break;
      uint32_t b = coding::DecodeFixed32(it->key().data());
      present.push_back(b);
      if (b == UINT32_MAX) break;
      it->Seek(BucketKey(b + 1));
    }
    TRACEDB_RETURN_IF_ERROR(FromRocks(it->status(), "scan buckets"));
  }

  if (options_.retention_max_bytes > 0 && !options_.in_memory) {
    // Drop oldest buckets until the estimate fits, never the newest one.
    uint64_t live = GetStats().live_sst_bytes;
    size_t i = 0;
    while (live > options_.retention_max_bytes && i + 1 < present.size()) {
      std::string lo = BucketKey(present[i]), hi = BucketKey(present[i] + 1);
      rocksdb::Range r(lo, hi);
      uint64_t size = 0;
      db_->GetApproximateSizes(&r, 1, &size).PermitUncheckedError();
      uint64_t csize = 0;
      rocksdb::SizeApproximationOptions so;
      so.include_memtables = true;
      db_->GetApproximateSizes(so, columns_cf_, &r, 1, &csize).PermitUncheckedError();
      rocksdb::SizeApproximationOptions eo;
      eo.include_memtables = true;
      db_->GetApproximateSizes(eo, events_cf_, &r, 1, &size).PermitUncheckedError();
      live = live > size + csize ? live - size - csize : 0;
      target = std::max(target, present[i] + 1);
      ++i;
    }
  }

  uint64_t dropped = 0;
  for (uint32_t b : present) {
    if (b < target) ++dropped;
  }
  const TimestampNs target_ns = static_cast<TimestampNs>(uint64_t{target} * bucket_ns);
  if (target > 0 && (dropped > 0 || target_ns > retention_cutoff())) {
    TRACEDB_RETURN_IF_ERROR(DropBucketsBelow(target));
  }
  counters_.retention_runs.fetch_add(1, std::memory_order_relaxed);
  counters_.buckets_dropped.fetch_add(dropped, std::memory_order_relaxed);
  return dropped;
}

void RocksEngine::RetentionLoop() {
  std::unique_lock<std::mutex> lock(retention_mu_);
  while (!stop_) {
    retention_cv_.wait_for(lock, std::chrono::seconds(options_.retention_interval_seconds));
    if (stop_) break;
    lock.unlock();
    auto now = std::chrono::system_clock::now().time_since_epoch();
    EnforceRetention(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()).status().IgnoreError();
    lock.lock();
  }
}

}  // namespace tracedb::engine
