#pragma once

// ChEngine: engine::Engine over ClickHouse (internal to clickhouse/;
// ch_engine.h is the face). ch_engine.cc holds opening, reads and
// retention; ch_write.cc the write path.

#include <atomic>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "clickhouse/ch_engine.h"
#include "clickhouse/layout.h"
#include "clickhouse/shard.h"
#include "common/string_hash.h"
#include "schema/record_codec.h"

namespace tracedb::clickhouse {

struct IdHash {
  size_t operator()(const engine::Id128& id) const {
    uint64_t a, b;
    std::memcpy(&a, id.data(), 8);
    std::memcpy(&b, id.data() + 8, 8);
    return a ^ (b * 0x9E3779B97F4A7C15ULL);
  }
};

// What the write path knows of a trace: the latest header version, its
// bookkeeping, the generation its events are stored under (StoreTrace
// starts a new one) and the fingerprints of those events.
struct ChTraceState {
  schema::Trace header;  // events empty
  schema::TraceBookkeeping bk;
  uint32_t gen = 0;
  std::unordered_set<uint64_t> fingerprints;
  StringSet actor_set;  // looked up by string_view (no copy when present)
  // Index keys the stored latest version holds (layout.h); a new version
  // sends the ones it adds, or all of them when the start moved.
  std::unordered_set<std::string> stored_keys;
  std::vector<std::string> extra_keys;  // flow-version keys of this batch
  bool moved = false;
  bool dirty = false;
};

// The latest header version of a trace: header, bookkeeping, and the
// generation its events are stored under.
struct StoredHeader {
  schema::Trace header;
  schema::TraceBookkeeping bk;
  uint32_t gen = 0;
};


// The trace_index key of a flow version (layout.h, kVersionKey) and back;
// `flow_size` is the length of the flow the key was looked up by.
std::string FlowVersionKey(std::string_view flow, const schema::FlowVersion& version);
bool DecodeFlowVersionKey(std::string_view key, size_t flow_size, schema::FlowVersion* version);

class ChEngine final : public engine::Engine {
 public:
  static Result<std::unique_ptr<engine::Engine>> Open(const ClickHouseOptions& options);
  ~ChEngine() override;

  Result<engine::WriteResult> Write(const engine::WriteBatch& batch) override;
  Result<std::optional<schema::Trace>> GetTrace(const engine::Id128& trace_id,
                                                const engine::ReadOptions& options) override;
  Result<std::vector<schema::FlowVersion>> GetFlowVersions(std::string_view flow_id) override;
  std::unique_ptr<engine::IndexCursor> ScanIndex(const engine::IndexRange& range) override;
  std::unique_ptr<engine::IndexCursor> ScanWhere(const SqlScan& scan);
  Result<std::vector<std::string>> ListIndexValues(engine::IndexKind kind, std::string_view prefix,
                                                   size_t limit) override;
  Status ReadColumns(const engine::Id128& trace_id,
                     const std::function<bool(const engine::ColumnChunk&)>& fn) override;
  Status ReadColumnsAt(const engine::Id128& trace_id, engine::TimestampNs start_ns,
                       const std::function<bool(const engine::ColumnChunk&)>& fn) override;
  Status ScanColumns(engine::TimestampNs min_start, engine::TimestampNs max_start,
                     const std::function<bool(const engine::ColumnChunk&)>& fn) override;
  Status ScanTraces(const std::function<bool(const schema::Trace&)>& fn) override;
  Result<uint64_t> EnforceRetention(engine::TimestampNs now_ns) override;
  engine::TimestampNs retention_cutoff() const override { return cutoff_.load(std::memory_order_relaxed); }
  Status CompactAll() override;
  engine::Stats GetStats() override;
  const engine::Counters& counters() const override { return counters_; }
  const engine::Options& options() const override { return engine_options_; }
  uint64_t DiskUsageBytes() override;
  engine::StorageSpace Space() override { return {}; }
  Result<engine::BackupInfo> Backup(const engine::BackupOptions& options) override;
  Result<engine::CheckReport> Check(const engine::CheckOptions& options) override;

  // Read-ahead (ch_engine.cc): an index cursor registers each page of
  // candidates it reads on the calling thread; the first header, column or
  // trace read of a registered candidate loads the next kReadAhead of its
  // page in one query, and each loaded value serves one read.
  void RegisterCandidates(const std::vector<engine::IndexEntry>& page);

  // Internal, for the cursor and the write path.
  const std::string& db() const { return options_.database; }
  size_t shard_count() const { return shards_.size(); }
  Shard& shard(size_t i) { return *shards_[i]; }
  Shard& ShardFor(const engine::Id128& id) { return *shards_[ShardOf(id, shards_.size())]; }
  // Runs `sql` on every shard; an unreachable shard fails the read unless
  // allow_partial (then it is skipped and counted in partial_reads).
  Status ForEachShard(const std::string& sql, const std::function<Status(size_t, std::string_view)>& fn);
  // A fan-out read leaves out a shard that failed with `s` (allow_partial
  // and the shard unreachable).
  bool SkipsShard(const Status& s) const {
    return options_.allow_partial && s.code() == StatusCode::kUnavailable;
  }

 private:
  friend class ChWritePath;
  explicit ChEngine(const ClickHouseOptions& options);
  Status Init();
  void RetentionLoop();

  Result<std::optional<StoredHeader>> ReadHeader(const engine::Id128& id);
  Status ReadChunk(const engine::Id128& id, const StoredHeader& h,
                   const std::function<bool(const engine::ColumnChunk&)>& fn);
  enum class Load : uint8_t { kHeader, kTrace, kColumns };
  // Loads `load` for the read-ahead batch of `id`; false when `id` is not a
  // registered candidate.
  Result<bool> ReadAhead(const engine::Id128& id, Load load);
  // Bulk loads of one shard's traces.
  Result<std::vector<std::pair<engine::Id128, StoredHeader>>> ReadHeaders(size_t shard,
                                                                            const std::vector<engine::Id128>& ids);

  // Write-state cache (LRU); only the write path (under write_mu_) uses it.
  std::shared_ptr<ChTraceState> CacheGet(const engine::Id128& id);
  void CachePut(const engine::Id128& id, std::shared_ptr<ChTraceState> st);
  void CacheErase(const engine::Id128& id);
  uint64_t NextVersion();

  ClickHouseOptions options_;
  engine::Options engine_options_;
  engine::Counters counters_;
  std::vector<std::unique_ptr<Shard>> shards_;
  ServerVersion version_;
  std::atomic<engine::TimestampNs> cutoff_{INT64_MIN};

  std::mutex write_mu_;
  using LruList = std::list<engine::Id128>;
  struct CacheEntry {
    std::shared_ptr<ChTraceState> state;
    LruList::iterator pos;
  };
  std::unordered_map<engine::Id128, CacheEntry, IdHash> cache_;
  LruList lru_;
  uint64_t last_version_ = 0;
  // Bumped after every Write(): read-ahead loaded before it is dropped.
  std::atomic<uint64_t> write_epoch_{0};

  std::mutex retention_mu_;
  std::condition_variable retention_cv_;
  bool stopping_ = false;
  std::thread retention_thread_;
};

}  // namespace tracedb::clickhouse
