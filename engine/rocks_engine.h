#pragma once

// RocksDB implementation of engine::Engine (internal to engine/).

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/statistics.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/engine.h"
#include "engine/graph_delta.h"
#include "schema/record_codec.h"

namespace tracedb::engine {

// Converts a rocksdb::Status: the one place that does.
Status FromRocks(const rocksdb::Status& s, std::string_view context);

// OK when `stored` (the meta value "format_version") is a format this build
// reads; else the reason, naming `path` (a newer format says so).
Status CheckFormatVersion(std::string_view stored, std::string_view path);

// The DB-wide RocksDB options of a store opened with `options` (threads,
// WAL limits, logging). Statistics, Env and paths are set by the engine.
rocksdb::DBOptions StoreDbOptions(const Options& options);

// The options of the events column family (docs/format.md, "Column
// families"): exposed so that the raw RocksDB ceiling in bench/ writes with
// exactly the engine's settings.
rocksdb::ColumnFamilyOptions EventsCfOptions(const Options& options, const std::shared_ptr<rocksdb::Cache>& cache);

struct Id128Hash {
  size_t operator()(const Id128& id) const {
    uint64_t a, b;
    std::memcpy(&a, id.data(), 8);
    std::memcpy(&b, id.data() + 8, 8);
    return a ^ (b * 0x9E3779B97F4A7C15ULL);
  }
};

// An open-addressing set of 64-bit event fingerprints: one flat array, no
// allocation per insert (the write path inserts one per event).
class FingerprintSet {
 public:
  // Returns false when `fp` was present already.
  bool Insert(uint64_t fp);
  bool Contains(uint64_t fp) const;
  size_t size() const { return size_; }
  void Reserve(size_t n);

 private:
  void Grow(size_t min_slots);
  std::vector<uint64_t> slots_;  // 0 = empty; fingerprint 0 is kept in has_zero_
  size_t size_ = 0;
  bool has_zero_ = false;
};

// What the write path must know about a trace to write it without reading:
// its header (for index moves), the event fingerprints stored (dedup), and
// the actors already indexed (index writes amortized per trace).
struct TraceState {
  schema::Trace header;  // events empty
  schema::TraceBookkeeping bk;
  FingerprintSet fingerprints;
  // Looked up by string_view: an actor already seen costs no string copy.
  StringSet actor_set;
  // Per-batch scratch: hot fields of events appended in the current batch,
  // and the chunk's actor and service dictionaries.
  schema::Columns pending;
  StringMap<uint16_t> pending_actor_ids;
  StringMap<uint16_t> pending_service_ids;
  bool dirty = false;
  // keys::GraphPrefix of the start the trace's graph aggregates are stored
  // under (moved with the start at the end of a batch).
  std::string graph_prefix;
  // OTel traces: the spans' services and unresolved calls; built on the
  // first append after a load (from the stored spans).
  std::unique_ptr<OtelGraphState> otel_graph;
};

// A bounded LRU of TraceState, bounded both in traces and in cached
// fingerprints (memory). Guarded by RocksEngine::write_mu_.
class TraceCache {
 public:
  TraceCache(size_t max_traces, size_t max_fingerprints)
      : max_traces_(max_traces), max_fingerprints_(max_fingerprints) {}
  std::shared_ptr<TraceState> Find(const Id128& id);
  // Inserts or refreshes `id` (its weight is re-read from the state).
  void Insert(const Id128& id, std::shared_ptr<TraceState> state);
  void Erase(const Id128& id);
  size_t size() const { return map_.size(); }

 private:
  struct Entry {
    Id128 id;
    std::shared_ptr<TraceState> state;
    size_t weight;
  };
  size_t max_traces_;
  size_t max_fingerprints_;
  size_t weight_ = 0;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<Id128, std::list<Entry>::iterator, Id128Hash> map_;
};

class RocksEngine final : public Engine {
 public:
  ~RocksEngine() override;

  static Result<std::unique_ptr<Engine>> OpenImpl(const Options& options);

  Result<WriteResult> Write(const WriteBatch& batch) override;
  Status WriteAsync(const WriteBatch& batch, WriteDone done) override;
  void RunAfterCommits(std::function<void()> fn) override;
  Result<std::optional<schema::Trace>> GetTrace(const Id128& trace_id, const ReadOptions& options) override;
  Result<std::vector<schema::FlowVersion>> GetFlowVersions(std::string_view flow_id) override;
  std::unique_ptr<IndexCursor> ScanIndex(const IndexRange& range) override;
  Result<std::vector<std::string>> ListIndexValues(IndexKind kind, std::string_view prefix,
                                                   size_t limit) override;
  Status ReadColumns(const Id128& trace_id, const std::function<bool(const ColumnChunk&)>& fn) override;
  Status ReadColumnsAt(const Id128& trace_id, TimestampNs start_ns,
                       const std::function<bool(const ColumnChunk&)>& fn) override;
  Status ScanColumns(TimestampNs min_start, TimestampNs max_start,
                     const std::function<bool(const ColumnChunk&)>& fn) override;
  Status ScanTraces(const std::function<bool(const schema::Trace&)>& fn) override;
  Result<GraphAggregates> ReadGraphAggregates(TimestampNs min_start, TimestampNs max_start) override;
  Result<uint64_t> EnforceRetention(TimestampNs now_ns) override;
  TimestampNs retention_cutoff() const override { return cutoff_->load(std::memory_order_acquire); }
  Status CompactAll() override;
  Stats GetStats() override;
  const Counters& counters() const override { return counters_; }
  const Options& options() const override { return options_; }
  uint64_t DiskUsageBytes() override;
  StorageSpace Space() override;
  Result<BackupInfo> Backup(const BackupOptions& options) override;  // engine/backup.cc
  Result<CheckReport> Check(const CheckOptions& options) override;   // engine/check.cc

 private:
  friend class WritePath;
  friend class StoreChecker;
  RocksEngine() = default;

  Status OpenDb();
  Status LoadMeta();
  Status LoadGraphSince();
  // Drops the graph family and creates it empty (the format 2 -> 3 upgrade).
  Status RecreateGraphFamily();
  // The 1 s slots from the oldest to the end of the newest stored graph
  // cell (first > last when there is none).
  Status GraphSlotRange(int64_t* first, int64_t* last);
  // Reads a trace header (no events); nullopt when absent or expired.
  Result<std::optional<std::pair<schema::Trace, schema::TraceBookkeeping>>> ReadHeader(const Id128& id);
  Result<std::shared_ptr<TraceState>> LoadState(const Id128& id);
  Status DropBucketsBelow(uint32_t bucket);
  // Called by Write() before a batch, under write_mu_: refuses below the
  // free-space floor, and resumes RocksDB (stopped by an ENOSPC background
  // error) once space is back.
  Status CheckSpace();
  // The stored events of a trace under `bucket` (timestamps, seq and ids
  // from their keys), appended to *events.
  Status ReadStoredEvents(uint32_t bucket, const Id128& id, std::vector<schema::Event>* events);
  void RetentionLoop();

  // The commit pipeline (write_path.cc).
  struct PendingWrite;
  // The committing thread: writes the queued batches in order.
  void CommitLoop();
  // Waits until every queued batch is written and its `done` has run
  // (write_mu_ held): before the write path reads what is stored, and
  // before states are forgotten.
  void SettleCommits();
  // Queues `w` for the commit thread, waiting for room.
  void Enqueue(std::shared_ptr<PendingWrite> w);
  // Prepares `batch` (write_mu_ taken here): its RocksDB batch built, its
  // states cached and pinned; then queues it with `done`, or, when
  // *commit_here and nothing is queued, claims the commit for the caller
  // (*commit_here stays true).
  Result<std::shared_ptr<PendingWrite>> Prepare(const WriteBatch& batch, WriteDone done, bool* commit_here);
  // Writes a prepared batch, or fails it when a commit failed since it was
  // prepared (the caller is the only one committing); counts it.
  Result<WriteResult> CommitPending(PendingWrite& w);
  // After a batch reported: unpins it, recycles its buffers, makes room.
  void Retire(std::shared_ptr<PendingWrite> w, bool inline_commit);
  // Before a batch is prepared (write_mu_ held): unpins committed batches,
  // and after a failed commit forgets every cached state (once its
  // followers have failed too).
  void BeginPrepare();
  // The state of `id` pinned by a queued batch (newest first), if any.
  std::shared_ptr<TraceState> FindPinned(const Id128& id, bool* found) const;
  // Forgets every cached trace state (an empty cache of options_' size).
  void ResetTraceCache();
  // A write refused or failed for lack of space: RocksDB is to be resumed
  // (CheckSpace) and the refusal counted. No-op for other statuses.
  void NoteStorageFull(const Status& s);

  Options options_;
  std::unique_ptr<rocksdb::Env> mem_env_;  // outlives db_
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::shared_ptr<std::atomic<int64_t>> cutoff_ = std::make_shared<std::atomic<int64_t>>(INT64_MIN);
  std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters_;  // outlive db_
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* traces_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* events_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* columns_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* index_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* graph_cf_ = nullptr;
  rocksdb::ColumnFamilyOptions graph_options_;
  // The first slot whose graph aggregates are complete (meta
  // "graph_since": 0 for a store created with them).
  uint32_t graph_since_ = 0;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  // Serializes the preparing of batches; guards cache_, pinned_,
  // seen_epoch_.
  std::mutex write_mu_;
  // What one Write() fills and the next reuses: keys and values (arena),
  // their entries, and the rocksdb::WriteBatch; reusing them saves the
  // page faults of fresh megabyte buffers on every batch.
  struct WriteBuffers {
    struct Entry {
      uint8_t cf;
      uint8_t kind;
      uint32_t key_off, key_len;
      uint32_t val_off, val_len;  // put: value; range delete: end key
    };
    std::string arena;
    std::vector<Entry> entries;
    rocksdb::WriteBatch batch;
  };
  // Batches prepared and not yet known to be committed, oldest first: the
  // states they touched stay findable (write_mu_) though the cache may
  // evict them, since the store does not have them yet.
  std::deque<std::shared_ptr<PendingWrite>> pinned_;
  uint64_t seen_epoch_ = 0;  // failed_epoch_ as of the last BeginPrepare

  // Batches wait for the commit thread in commit_queue_ (at most
  // kMaxQueuedCommits, so preparing runs at most that far ahead).
  std::mutex commit_mu_;
  std::condition_variable commit_cv_;  // the queue, in_flight_, failed_epoch_ changed
  std::deque<std::shared_ptr<PendingWrite>> commit_queue_;  // GUARDED_BY(commit_mu_)
  size_t in_flight_ = 0;        // queued or being written; GUARDED_BY(commit_mu_)
  uint64_t failed_epoch_ = 0;   // bumped by each failed commit; GUARDED_BY(commit_mu_)
  bool commit_stop_ = false;    // GUARDED_BY(commit_mu_)
  // Write() is committing on its own thread (the pipeline was idle): the
  // commit thread waits. GUARDED_BY(commit_mu_)
  bool inline_commit_ = false;
  std::vector<std::unique_ptr<WriteBuffers>> free_buffers_;  // GUARDED_BY(commit_mu_)
  std::thread commit_thread_;
  // A write met ENOSPC or the floor; cleared by CheckSpace once RocksDB
  // resumed. Written under write_mu_, read by Space() from any thread.
  std::atomic<bool> storage_full_{false};
  TraceCache cache_{20000, 4 << 20};

  std::mutex retention_mu_;  // guards stop_
  std::condition_variable retention_cv_;
  bool stop_ = false;
  std::thread retention_thread_;

  Counters counters_;
};

}  // namespace tracedb::engine
