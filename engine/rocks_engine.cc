#include "engine/rocks_engine.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <xxhash.h>

#include <sys/statvfs.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <filesystem>

#include "common/coding.h"
#include "engine/keys.h"

namespace tracedb::engine {

namespace {

constexpr char kMetaFormat[] = "format_version";
constexpr char kMetaBucket[] = "bucket_seconds";
constexpr char kMetaCutoff[] = "retention_cutoff";
constexpr char kMetaGraphSince[] = "graph_since";

// Drops index entries of traces that started before the retention cutoff.
// Readers already skip them (they clamp scans at the cutoff); this reclaims
// their space during compaction.
class IndexRetentionFilter final : public rocksdb::CompactionFilter {
 public:
  explicit IndexRetentionFilter(std::shared_ptr<std::atomic<int64_t>> cutoff) : cutoff_(std::move(cutoff)) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice&, std::string*, bool*) const override {
    IndexKind kind;
    std::string value;
    IndexEntry entry;
    if (!keys::ParseIndexKey(std::string_view(key.data(), key.size()), &kind, &value, &entry)) return false;
    return entry.start_ns < cutoff_->load(std::memory_order_relaxed);
  }
  const char* Name() const override { return "tracedb.IndexRetention"; }

 private:
  std::shared_ptr<std::atomic<int64_t>> cutoff_;
};

// Drops trace headers that started before the retention cutoff.
class TraceRetentionFilter final : public rocksdb::CompactionFilter {
 public:
  explicit TraceRetentionFilter(std::shared_ptr<std::atomic<int64_t>> cutoff) : cutoff_(std::move(cutoff)) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*, bool*) const override {
    TimestampNs start;
    if (!schema::PeekTraceStart(std::string_view(value.data(), value.size()), &start)) return false;
    return start < cutoff_->load(std::memory_order_relaxed);
  }
  const char* Name() const override { return "tracedb.TraceRetention"; }

 private:
  std::shared_ptr<std::atomic<int64_t>> cutoff_;
};

rocksdb::BlockBasedTableOptions TableOptions(const std::shared_ptr<rocksdb::Cache>& cache, size_t block_size,
                                             int bloom_bits, bool whole_key) {
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.block_size = block_size;
  t.cache_index_and_filter_blocks = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.format_version = 5;
  // XXH3 block checksums: Debian's librocksdb computes CRC32C in software
  // (no SSE4.2 build), which makes every flush and compaction pay more.
  t.checksum = rocksdb::kXXH3;
  if (bloom_bits > 0) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(bloom_bits, false));
  t.whole_key_filtering = whole_key;
  return t;
}

// What every column family shares: 4 memtables, LZ4 on upper levels, ZSTD
// at the bottom, where data stays longest.
rocksdb::ColumnFamilyOptions BaseCfOptions(const Options& options, const std::shared_ptr<rocksdb::Cache>& cache,
                                           size_t block_size, int bloom_bits, bool whole_key) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = options.write_buffer_bytes;
  cf.max_write_buffer_number = 4;
  cf.level0_slowdown_writes_trigger = 30;
  cf.level0_stop_writes_trigger = 48;
  cf.compression = rocksdb::kLZ4Compression;
  cf.bottommost_compression = rocksdb::kZSTD;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(TableOptions(cache, block_size, bloom_bits, whole_key)));
  return cf;
}

}  // namespace

Status CheckFormatVersion(std::string_view stored, std::string_view path) {
  if (stored.size() != 4) return Status::Corruption("store " + std::string(path) + ": malformed format_version in meta");
  uint32_t version = coding::DecodeFixed32(stored.data());
  if (version > kFormatVersion) {
    return Status::InvalidArgument("store " + std::string(path) + " was written by a newer tracedb (format version " +
                                   std::to_string(version) + "; this build reads format version " +
                                   std::to_string(kFormatVersion) +
                                   "): run a tracedb that supports it, or restore a backup made with this version");
  }
  if (version < kOldestFormatVersion) {
    return Status::Corruption("store " + std::string(path) + ": unknown format version " + std::to_string(version));
  }
  return Status::OK();
}

// Reads "format_version" from a store RocksDB would not open read-write
// (read-only, the meta family alone): an error when it names a format this
// build does not read, else OK (the caller reports its own error).
static Status CheckStoredFormatReadOnly(const std::string& path) {
  rocksdb::DBOptions options;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(options, path, cfs, &handles, &raw).ok()) return Status::OK();
  std::string v;
  rocksdb::Status got = raw->Get(rocksdb::ReadOptions(), handles[0], kMetaFormat, &v);
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  delete raw;
  return got.ok() ? CheckFormatVersion(v, path) : Status::OK();
}

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::OK();
  std::string msg(context);
  msg += ": ";
  msg += s.ToString();
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  // ENOSPC, also as the background error that stops writes after it.
  if (s.IsNoSpace() || msg.find("No space left on device") != std::string::npos) {
    return Status::StorageFull(std::move(msg));
  }
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsInvalidArgument() || s.IsNotSupported()) return Status::InvalidArgument(std::move(msg));
  if (s.IsBusy() || s.IsTimedOut() || s.IsIncomplete() || s.IsTryAgain()) {
    return Status::ResourceExhausted(std::move(msg));
  }
  return Status::IoError(std::move(msg));
}

uint64_t EventFingerprint(std::string_view event_id) { return XXH64(event_id.data(), event_id.size(), 0); }

uint32_t BucketOf(TimestampNs start_ns, uint32_t bucket_seconds) {
  int64_t secs = start_ns / 1'000'000'000;
  if (start_ns < 0 && start_ns % 1'000'000'000 != 0) --secs;
  if (secs < 0) return 0;
  return static_cast<uint32_t>(std::min<int64_t>(secs / bucket_seconds, UINT32_MAX));
}

namespace {

// RocksDB's info log, on stderr. RocksDB's own LOG file lives on the store's
// disk: when that fills, its next line after a failed one trips an assertion
// in Debian's librocksdb (WritableFileWriter, `sync_without_flush_called_`)
// and aborts the process. stderr has no such failure mode.
class StderrLogger final : public rocksdb::Logger {
 public:
  explicit StderrLogger(rocksdb::InfoLogLevel level) : rocksdb::Logger(level) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    int n = std::vsnprintf(line, sizeof(line), format, ap);
    if (n < 0) return;
    std::fprintf(stderr, "rocksdb: %s\n", line);
  }
};

}  // namespace

rocksdb::DBOptions StoreDbOptions(const Options& options) {
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = options.create_if_missing;
  db_opts.create_missing_column_families = true;
  db_opts.IncreaseParallelism(2);
  db_opts.max_background_jobs = 2;
  db_opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;  // Debian's build defaults to DEBUG
  db_opts.info_log = std::make_shared<StderrLogger>(db_opts.info_log_level);
  db_opts.keep_log_file_num = 3;
  db_opts.max_total_wal_size = uint64_t{512} << 20;
  db_opts.bytes_per_sync = 1 << 20;
  return db_opts;
}

rocksdb::ColumnFamilyOptions EventsCfOptions(const Options& options, const std::shared_ptr<rocksdb::Cache>& cache) {
  // One prefix scan per trace -> prefix bloom on bucket+trace id, 32 KiB
  // blocks (records are big and compress better together).
  rocksdb::ColumnFamilyOptions events = BaseCfOptions(options, cache, 32 << 10, 10, false);
  events.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(keys::kTracePrefixLen));
  events.memtable_prefix_bloom_size_ratio = 0.05;
  // At the bottom level, ZSTD level 6 with a 16 KiB dictionary trained per
  // file: event records repeat field names and actor/port vocabulary, which
  // a dictionary shares across blocks (bench ingest_engine: 157 -> 133 bytes
  // per event on disk; docs/PERFORMANCE.md).
  events.bottommost_compression_opts.enabled = true;
  events.bottommost_compression_opts.level = 6;
  events.bottommost_compression_opts.max_dict_bytes = 16 << 10;
  events.bottommost_compression_opts.zstd_max_train_bytes = 100 * (16 << 10);
  // Flushes write L0 uncompressed: a flush runs beside the writes it must
  // keep up with, and LZ4 was two thirds of its CPU (docs/PERFORMANCE.md,
  // Run N); the first compaction out of L0 compresses.
  events.compression_per_level.assign(events.num_levels, rocksdb::kLZ4Compression);
  events.compression_per_level[0] = rocksdb::kNoCompression;
  return events;
}

Result<std::unique_ptr<Engine>> Engine::Open(const Options& options) { return RocksEngine::OpenImpl(options); }

Result<std::unique_ptr<Engine>> RocksEngine::OpenImpl(const Options& options) {
  if (!options.in_memory && options.path.empty()) return Status::InvalidArgument("engine: no data directory given");
  if (options.bucket_seconds == 0) return Status::InvalidArgument("engine: bucket_seconds must be > 0");
  std::unique_ptr<RocksEngine> engine(new RocksEngine());
  engine->options_ = options;
  engine->ResetTraceCache();
  TRACEDB_RETURN_IF_ERROR(engine->OpenDb());
  engine->commit_thread_ = std::thread([e = engine.get()] { e->CommitLoop(); });
  TRACEDB_RETURN_IF_ERROR(engine->LoadMeta());
  if (options.retention_max_age_seconds > 0 || options.retention_max_bytes > 0) {
    engine->retention_thread_ = std::thread([e = engine.get()] { e->RetentionLoop(); });
  }
  return std::unique_ptr<Engine>(std::move(engine));
}

Status RocksEngine::OpenDb() {
  rocksdb::DBOptions db_opts = StoreDbOptions(options_);
  statistics_ = rocksdb::CreateDBStatistics();
  statistics_->set_stats_level(rocksdb::StatsLevel::kExceptTimers);
  db_opts.statistics = statistics_;
  std::string path = options_.path;
  if (options_.in_memory) {
    mem_env_.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    db_opts.env = mem_env_.get();
    db_opts.info_log = nullptr;  // RocksDB's LOG in the in-memory Env: no disk to fill
    path = "/tracedb-memory";
  } else {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::IoError("engine: cannot create " + path + ": " + ec.message());
  }

  auto cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
  auto base = [&](size_t block_size, int bloom_bits, bool whole_key) {
    return BaseCfOptions(options_, cache, block_size, bloom_bits, whole_key);
  };
  // traces: point lookups by id -> whole-key bloom, small blocks.
  rocksdb::ColumnFamilyOptions traces = base(8 << 10, 10, true);
  filters_.push_back(std::make_unique<TraceRetentionFilter>(cutoff_));
  traces.compaction_filter = filters_.back().get();
  rocksdb::ColumnFamilyOptions events = EventsCfOptions(options_, cache);
  // columns: same prefix layout, small values scanned in bulk.
  rocksdb::ColumnFamilyOptions columns = base(16 << 10, 10, false);
  columns.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(keys::kTracePrefixLen));
  // index: key-only range scans -> no bloom, LZ4 everywhere (cheap to decode).
  rocksdb::ColumnFamilyOptions index = base(16 << 10, 0, false);
  index.bottommost_compression = rocksdb::kLZ4Compression;
  filters_.push_back(std::make_unique<IndexRetentionFilter>(cutoff_));
  index.compaction_filter = filters_.back().get();
  // graph: per-slot aggregates written with Merge (additions) and read
  // by range: few, small keys.
  rocksdb::ColumnFamilyOptions graph = base(16 << 10, 0, false);
  graph.merge_operator = NewGraphMergeOperator();
  graph_options_ = graph;
  rocksdb::ColumnFamilyOptions meta;
  // RocksDB's recovery from ENOSPC waits for as much free space as the
  // largest memtable of any column family: meta's default (64 MiB) must not
  // be the one that decides it.
  meta.write_buffer_size = options_.write_buffer_bytes;

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, meta}, {"traces", traces}, {"events", events},
      {"columns", columns},                      {"index", index},   {"graph", graph}};
  rocksdb::DB* raw = nullptr;
  rocksdb::Status opened = rocksdb::DB::Open(db_opts, path, cfs, &handles_, &raw);
  if (!opened.ok() && !options_.in_memory) {
    // A newer format may have added a column family this build does not
    // open: say that, not RocksDB's complaint about it.
    TRACEDB_RETURN_IF_ERROR(CheckStoredFormatReadOnly(path));
  }
  TRACEDB_RETURN_IF_ERROR(FromRocks(opened, "open " + path));
  db_.reset(raw);
  meta_cf_ = handles_[0];
  traces_cf_ = handles_[1];
  events_cf_ = handles_[2];
  columns_cf_ = handles_[3];
  index_cf_ = handles_[4];
  graph_cf_ = handles_[5];
  return Status::OK();
}

Status RocksEngine::LoadMeta() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaFormat, &v);
  if (s.IsNotFound()) {
    rocksdb::WriteBatch wb;
    std::string fv, bs;
    coding::PutFixed32(&fv, kFormatVersion);
    coding::PutFixed32(&bs, options_.bucket_seconds);
    wb.Put(meta_cf_, kMetaFormat, fv);
    wb.Put(meta_cf_, kMetaBucket, bs);
    std::string since;
    coding::PutFixed32(&since, 0);
    wb.Put(meta_cf_, kMetaGraphSince, since);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->Write(wo, &wb), "write meta");
  }
  TRACEDB_RETURN_IF_ERROR(FromRocks(s, "read meta"));
  TRACEDB_RETURN_IF_ERROR(CheckFormatVersion(v, options_.in_memory ? "memory" : options_.path));
  const uint32_t stored_version = coding::DecodeFixed32(v.data());
  TRACEDB_RETURN_IF_ERROR(FromRocks(db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaBucket, &v), "read meta"));
  if (v.size() != 4) return Status::Corruption("bad bucket_seconds in meta");
  // The bucket width is part of the key layout: the stored one wins.
  options_.bucket_seconds = coding::DecodeFixed32(v.data());
  s = db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaCutoff, &v);
  if (s.ok() && v.size() == 8) cutoff_->store(coding::DecodeOrderedI64(v.data()));
  if (stored_version == 2) {
    // Format 2 -> 3: graph aggregates moved from one key per node and edge
    // in 10 s slots to cells (keys.h, "graph"). The old ones are dropped with
    // their family and graph_since restarts now: older windows are scanned.
    // Redone whole if interrupted (the version is written last).
    TRACEDB_RETURN_IF_ERROR(RecreateGraphFamily());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    TRACEDB_RETURN_IF_ERROR(FromRocks(db_->Delete(wo, meta_cf_, kMetaGraphSince), "upgrade graph_since"));
  }
  TRACEDB_RETURN_IF_ERROR(LoadGraphSince());
  if (stored_version < kFormatVersion) {
    // Format 1 -> 2 (-> 3): the graph family is created empty
    // (create_missing_column_families) and LoadGraphSince recorded the slot
    // from which aggregates are complete; the records and indexes are
    // unchanged.
    std::string fv;
    coding::PutFixed32(&fv, kFormatVersion);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    TRACEDB_RETURN_IF_ERROR(FromRocks(db_->Put(wo, meta_cf_, kMetaFormat, fv), "upgrade the format version"));
  }
  return Status::OK();
}

Status RocksEngine::RecreateGraphFamily() {
  TRACEDB_RETURN_IF_ERROR(FromRocks(db_->DropColumnFamily(graph_cf_), "drop the old graph aggregates"));
  TRACEDB_RETURN_IF_ERROR(FromRocks(db_->DestroyColumnFamilyHandle(graph_cf_), "drop the old graph aggregates"));
  graph_cf_ = handles_[5] = nullptr;
  rocksdb::ColumnFamilyHandle* h = nullptr;
  TRACEDB_RETURN_IF_ERROR(FromRocks(db_->CreateColumnFamily(graph_options_, "graph", &h), "create the graph family"));
  graph_cf_ = handles_[5] = h;
  return Status::OK();
}

// A store written before graph aggregates existed has none for its traces:
// they start with the next slot, older windows are scanned.
Status RocksEngine::LoadGraphSince() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaGraphSince, &v);
  if (s.ok() && v.size() == 4) {
    graph_since_ = coding::DecodeFixed32(v.data());
    return Status::OK();
  }
  if (!s.IsNotFound()) return s.ok() ? Status::Corruption("bad graph_since in meta") : FromRocks(s, "read meta");
  auto now = std::chrono::system_clock::now().time_since_epoch();
  graph_since_ = keys::GraphSlotOf(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) + 1;
  v.clear();
  coding::PutFixed32(&v, graph_since_);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, meta_cf_, kMetaGraphSince, v), "write meta");
}

RocksEngine::~RocksEngine() {
  {
    std::lock_guard<std::mutex> lock(retention_mu_);
    stop_ = true;
  }
  retention_cv_.notify_all();
  if (retention_thread_.joinable()) retention_thread_.join();
  {
    std::lock_guard<std::mutex> lock(commit_mu_);
    commit_stop_ = true;
  }
  commit_cv_.notify_all();
  if (commit_thread_.joinable()) commit_thread_.join();  // after every queued batch is written
  if (db_) {
    db_->FlushWAL(true).PermitUncheckedError();
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
}

Status RocksEngine::CompactAll() {
  for (auto* h : handles_) {
    TRACEDB_RETURN_IF_ERROR(FromRocks(db_->Flush(rocksdb::FlushOptions(), h), "flush"));
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    TRACEDB_RETURN_IF_ERROR(FromRocks(db_->CompactRange(co, h, nullptr, nullptr), "compact"));
  }
  return Status::OK();
}

Stats RocksEngine::GetStats() {
  Stats st;
  for (auto* h : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kLiveSstFilesSize, &v)) st.live_sst_bytes += v;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) st.memtable_bytes += v;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kEstimatePendingCompactionBytes, &v)) {
      st.pending_compaction_bytes += v;
    }
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kEstimateNumKeys, &v)) st.estimated_keys += v;
  }
  st.write_stall_micros = statistics_->getTickerCount(rocksdb::STALL_MICROS);
  std::vector<rocksdb::LiveFileMetaData> files;
  db_->GetLiveFilesMetaData(&files);
  st.total_sst_files = files.size();
  return st;
}

namespace {

// Bytes available to this process on the filesystem holding `path`, or
// nullopt when statvfs fails (the floor is then not enforced).
std::optional<uint64_t> AvailableBytes(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
}

// With the floor off, RocksDB is only resumed after ENOSPC once this much is
// free again: resuming flushes the memtables, which needs room.
constexpr uint64_t kResumeMinFreeBytes = uint64_t{4} << 20;

}  // namespace

void RocksEngine::ResetTraceCache() {
  cache_ = TraceCache(std::max<size_t>(options_.trace_cache_capacity, 16),
                      std::max<size_t>(options_.trace_cache_fingerprints, 1024));
}

void RocksEngine::NoteStorageFull(const Status& s) {
  if (s.code() != StatusCode::kStorageFull) return;
  storage_full_.store(true, std::memory_order_relaxed);
  counters_.storage_full_refusals.fetch_add(1, std::memory_order_relaxed);
}

Status RocksEngine::CheckSpace() {
  if (options_.in_memory) return Status::OK();
  std::optional<uint64_t> free = AvailableBytes(options_.path);
  if (!free) return Status::OK();
  const uint64_t floor = options_.min_free_bytes;
  if (floor > 0 && *free < floor) {
    storage_full_.store(true, std::memory_order_relaxed);
    counters_.storage_full_refusals.fetch_add(1, std::memory_order_relaxed);
    return Status::StorageFull("storage full: " + std::to_string(*free) + " bytes free on " + options_.path +
                               ", below storage.min_free_bytes (" + std::to_string(floor) +
                               "); writes resume once space is freed");
  }
  if (!storage_full_.load(std::memory_order_relaxed)) return Status::OK();
  if (*free < std::max(floor, kResumeMinFreeBytes)) {
    counters_.storage_full_refusals.fetch_add(1, std::memory_order_relaxed);
    return Status::StorageFull("storage full: " + std::to_string(*free) + " bytes free on " + options_.path +
                               "; writes resume once space is freed");
  }
  SettleCommits();  // nothing in flight while RocksDB resumes
  // RocksDB stops writing after ENOSPC (a background error) until resumed.
  // Resume() flushes and switches the WAL; it is a no-op when nothing is
  // stopped (the floor refused before RocksDB failed).
  rocksdb::Status s = db_->Resume();
  if (s.IsBusy()) {
    // RocksDB is recovering by itself (its SstFileManager polls for space).
    counters_.storage_full_refusals.fetch_add(1, std::memory_order_relaxed);
    return Status::StorageFull("storage full: recovering after running out of space; writes resume shortly");
  }
  if (!s.ok()) {
    counters_.storage_full_refusals.fetch_add(1, std::memory_order_relaxed);
    return Status::StorageFull("storage full: resuming after running out of space failed: " + s.ToString());
  }
  storage_full_.store(false, std::memory_order_relaxed);
  return Status::OK();
}

StorageSpace RocksEngine::Space() {
  StorageSpace out;
  out.min_free_bytes = options_.min_free_bytes;
  if (options_.in_memory) return out;
  std::optional<uint64_t> free = AvailableBytes(options_.path);
  out.free_bytes = free.value_or(0);
  out.full = storage_full_.load(std::memory_order_relaxed) ||
             (free && options_.min_free_bytes > 0 && *free < options_.min_free_bytes);
  return out;
}

uint64_t RocksEngine::DiskUsageBytes() {
  if (options_.in_memory) return 0;
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(options_.path, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

std::shared_ptr<TraceState> TraceCache::Find(const Id128& id) {
  auto it = map_.find(id);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->state;
}

void TraceCache::Insert(const Id128& id, std::shared_ptr<TraceState> state) {
  size_t weight = state->fingerprints.size() + 1;
  auto it = map_.find(id);
  if (it != map_.end()) {
    weight_ = weight_ - it->second->weight + weight;
    it->second->state = std::move(state);
    it->second->weight = weight;
    lru_.splice(lru_.begin(), lru_, it->second);
  } else {
    lru_.push_front(Entry{id, std::move(state), weight});
    map_[id] = lru_.begin();
    weight_ += weight;
  }
  // Evict least recently used, never the entry just inserted.
  while (map_.size() > 1 && (map_.size() > max_traces_ || weight_ > max_fingerprints_)) {
    weight_ -= lru_.back().weight;
    map_.erase(lru_.back().id);
    lru_.pop_back();
  }
}

void TraceCache::Erase(const Id128& id) {
  auto it = map_.find(id);
  if (it == map_.end()) return;
  weight_ -= it->second->weight;
  lru_.erase(it->second);
  map_.erase(it);
}

namespace {

size_t SlotOf(uint64_t fp, size_t mask) { return static_cast<size_t>((fp * 0x9E3779B97F4A7C15ULL) >> 17) & mask; }

}  // namespace

bool FingerprintSet::Contains(uint64_t fp) const {
  if (fp == 0) return has_zero_;
  if (slots_.empty()) return false;
  size_t mask = slots_.size() - 1;
  for (size_t i = SlotOf(fp, mask);; i = (i + 1) & mask) {
    if (slots_[i] == fp) return true;
    if (slots_[i] == 0) return false;
  }
}

bool FingerprintSet::Insert(uint64_t fp) {
  if (fp == 0) {
    if (has_zero_) return false;
    has_zero_ = true;
    ++size_;
    return true;
  }
  // Keep the load factor at most 1/2.
  if ((size_ + 1) * 2 > slots_.size()) Grow((size_ + 1) * 2);
  size_t mask = slots_.size() - 1;
  for (size_t i = SlotOf(fp, mask);; i = (i + 1) & mask) {
    if (slots_[i] == fp) return false;
    if (slots_[i] == 0) {
      slots_[i] = fp;
      ++size_;
      return true;
    }
  }
}

void FingerprintSet::Reserve(size_t n) {
  if (n * 2 > slots_.size()) Grow(n * 2);
}

void FingerprintSet::Grow(size_t min_slots) {
  size_t n = 16;
  while (n < min_slots) n <<= 1;
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(n, 0);
  size_t mask = n - 1;
  for (uint64_t fp : old) {
    if (fp == 0) continue;
    size_t i = SlotOf(fp, mask);
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = fp;
  }
}

}  // namespace tracedb::engine
