#pragma once

// tracedb's storage engine: the one front door of engine/.
//
// The engine stores traces and their events in RocksDB under the layout of
// docs/format.md: events clustered per trace (one prefix scan reads a trace),
// hot event fields in per-trace column chunks, and time / flow / actor /
// status / execution secondary indexes that yield trace ids newest first.
//
// Its face toward the layers above is backend-neutral on purpose: write
// batches of model objects (WriteBatch), trace reads (GetTrace), index scans
// (ScanIndex), column scans (ScanColumns) and the data-flow graph
// aggregates kept at ingest (ReadGraphAggregates, optional). A PostgreSQL
// backend can implement the same operations.
//
// Thread-safety: an Engine is safe for concurrent use. Write() calls are
// serialized internally (they share the per-trace state cache); reads run
// concurrently with each other and with writes.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "engine/graph_aggregates.h"
#include "schema/hot_fields.h"
#include "schema/model.h"
#include "schema/record_codec.h"

namespace tracedb::engine {

using schema::Id128;
using schema::TimestampNs;

struct Options {
  // Directory of the RocksDB store. Ignored when in_memory. Default: "".
  std::string path;
  // Keep the store in memory (RocksDB on its in-memory Env): same engine, no
  // files. Default: false.
  bool in_memory = false;
  // fsync the WAL before Write() returns. Without it a committed batch is in
  // the OS page cache (survives a process crash, not a power loss).
  // Default: false.
  bool sync = false;
  // Width of a time bucket in seconds. Event and column keys lead with their
  // trace's bucket so that retention drops whole key ranges. Fixed when the
  // store is created (persisted). Default: 3600.
  uint32_t bucket_seconds = 3600;
  // Traces whose start is older than this are removed. 0 keeps everything.
  // Default: 0.
  int64_t retention_max_age_seconds = 0;
  // When live data exceeds this many bytes the oldest buckets are removed.
  // 0 means no limit. Default: 0.
  uint64_t retention_max_bytes = 0;
  // Traces whose write state (dedup fingerprints, indexed actors) stays in
  // memory. Evicted state is rebuilt from the store on the next write.
  // Default: 20000.
  size_t trace_cache_capacity = 20000;
  // ...and at most this many cached event fingerprints (8 bytes each, plus
  // hash-table slack). Default: 4M (~64 MiB).
  size_t trace_cache_fingerprints = size_t{4} << 20;
  // Seconds between background retention passes (when a limit is set).
  // Default: 60.
  uint32_t retention_interval_seconds = 60;
  // RocksDB block cache. Default: 256 MiB.
  size_t block_cache_bytes = size_t{256} << 20;
  // RocksDB memtable size per column family. Default: 64 MiB.
  size_t write_buffer_bytes = size_t{64} << 20;
  // Create the store when missing. Default: true.
  bool create_if_missing = true;
  // Free-space floor: while the store's filesystem has fewer bytes available
  // than this, Write() refuses with kStorageFull before RocksDB would meet
  // ENOSPC, and accepts again once space returns. 0 turns the floor off
  // (running out of space is still answered kStorageFull, never an abort).
  // Default: 256 MiB.
  uint64_t min_free_bytes = uint64_t{256} << 20;
};

// The free space of the store's filesystem, as Write() sees it.
struct StorageSpace {
  bool full = false;            // writes are refused: below the floor, or out of space
  uint64_t free_bytes = 0;      // available to the server (statvfs f_bavail); 0 in memory
  uint64_t min_free_bytes = 0;  // Options::min_free_bytes
};

// Why a trace was closed. Persisted in TraceRecord.ended_by.
enum class EndReason : uint8_t {
  kOpen = 0,
  kEnded = 1,      // EndTrace, StoreTrace, or an operonx final batch
  kFinalized = 2,  // closed by the server: the connection that started it went away
};

// Where EndTrace takes the final status from.
enum class StatusRule : uint8_t {
  kGiven = 0,       // the status passed to EndTrace
  // From the trace's events (operonx final batch): Failed when an event has
  // status error ("<actor>: error ..." of the first), else Cancelled when one
  // was cancelled, else Completed; end time = the newest event's timestamp.
  kFromEvents = 1,
};

// How StartTrace treats a trace that already exists.
enum class StartMode : uint8_t {
  // Keep the existing trace and its events; set flow, version and metadata
  // (Reflow StartTrace, operonx per-request metadata: latest wins).
  kUpsertHeader = 0,
  // Only create: an existing trace is left untouched.
  kCreateOnly = 1,
};

// How a header given to WriteBatch::MergeTrace ranks against the stored one
// when naming the trace (flow_id, name, metadata, attributes_json).
enum class HeaderRole : uint8_t {
  // From spans that do not include the trace's root: names the trace only
  // while no root has, and only when it starts earlier than the stored start.
  kPartial = 0,
  // From the root span: names the trace unless another root already did.
  kRoot = 1,
};

// A set of writes applied atomically by Engine::Write: all of it becomes
// visible and durable together, or none of it. Operations apply in the order
// they were added. Not thread-safe; build it on one thread, hand it over.
class WriteBatch {
 public:
  // Creates the trace or updates its header (flow_id, version, metadata,
  // execution_id, external_id, attributes) per `mode`. `header.events` is
  // ignored. start_ns and status are taken only when the trace is created.
  void StartTrace(schema::Trace header, StartMode mode = StartMode::kUpsertHeader);

  // Appends an event. An unknown trace is created lazily: source from the
  // event, flow "unknown", version 0.0.0, start at the event's timestamp,
  // Running. An event whose (trace, event_id) is stored already is a
  // duplicate: nothing is written and WriteResult::duplicates counts it.
  void AppendEvent(const Id128& trace_id, schema::Event event);

  // Sets the trace's status and end time. An unknown trace is a no-op
  // (counted in WriteResult::unknown_traces).
  void EndTrace(const Id128& trace_id, schema::ExecutionStatus status, TimestampNs end_ns,
                EndReason reason = EndReason::kEnded, StatusRule rule = StatusRule::kGiven);

  // Replaces the whole trace (header and every event) with `trace` (legacy
  // StoreTrace upsert). Event seq values are kept as given.
  void StoreTrace(schema::Trace trace);

  // Merges a partial view of a trace into its header, creating the trace
  // when absent; for sources whose traces arrive in pieces (OTel spans in
  // several export requests), so that the header converges whatever the
  // arrival order: start_ns = min, end_ns = max, status Failed (with the
  // first failure's text) once any piece failed, else the stored status.
  // Naming fields follow `role` (HeaderRole). `flows` are further flow-index
  // values of the trace (OTel: the service of every span), each indexed
  // once. Moving the start earlier re-keys the trace's index entries, column
  // chunks and, when its time bucket changes, its events.
  void MergeTrace(schema::Trace header, HeaderRole role, std::vector<std::string> flows = {});

  size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  void Clear() { ops_.clear(); }
  // Pre-sizes for `n` operations (avoids regrowth on large batches).
  void Reserve(size_t n) { ops_.reserve(n); }

  struct Op {
    enum class Kind : uint8_t { kStart, kAppend, kEnd, kStore, kMerge };
    Kind kind = Kind::kAppend;
    StartMode start_mode = StartMode::kUpsertHeader;
    EndReason end_reason = EndReason::kEnded;
    StatusRule status_rule = StatusRule::kGiven;
    HeaderRole role = HeaderRole::kPartial;  // kMerge
    Id128 trace_id{};
    TimestampNs end_ns = 0;
    schema::ExecutionStatus status;        // kEnd
    std::unique_ptr<schema::Trace> trace;  // kStart, kMerge (header), kStore (whole trace)
    schema::Event event;                   // kAppend
    std::vector<std::string> flows;        // kMerge
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

struct WriteResult {
  uint64_t events_written = 0;  // events newly stored
  uint64_t duplicates = 0;      // events already stored (also those a StoreTrace rewrote)
  uint64_t traces_created = 0;
  uint64_t traces_ended = 0;
  uint64_t unknown_traces = 0;  // EndTrace for a trace that does not exist
  uint64_t keys_written = 0;    // RocksDB entries in the batch (events + indexes + headers)
  uint64_t bytes_written = 0;   // WriteBatch data size
};

// The kinds of secondary index. Persisted as the index key's tag byte.
enum class IndexKind : uint8_t {
  kTime = 'T',       // every trace, by start time
  kFlow = 'F',       // value: flow_id (OTel: every service of the trace)
  kActor = 'A',      // value: an actor of the trace; kShortNameMarker + name for an
                     // operonx op's short name
  kStatus = 'S',     // value: one byte, schema::StatusCode (current status)
  kExecution = 'X',  // value: 16-byte execution id
};

// Prefixes the actor-index value of an operonx op's short name ("d" of
// "g.d"), so that a full-name lookup is exact and a short-name lookup
// (op_name semantics) asks for the marked value explicitly.
inline constexpr char kShortNameMarker = '\x01';

// One entry of a secondary index.
struct IndexEntry {
  TimestampNs start_ns = 0;
  Id128 trace_id{};
};

// "a comes before b" in index order: newest start first, then trace id.
inline bool IndexBefore(const IndexEntry& a, const IndexEntry& b) {
  if (a.start_ns != b.start_ns) return a.start_ns > b.start_ns;
  return a.trace_id < b.trace_id;
}

// What to scan: one value of one index, restricted to a start-time window.
struct IndexRange {
  IndexKind kind = IndexKind::kTime;
  std::string value;  // raw value (unused for kTime)
  TimestampNs min_start = INT64_MIN;  // inclusive
  TimestampNs max_start = INT64_MAX;  // inclusive
};

// A cursor over index entries in IndexBefore order. Starts positioned on the
// first entry. Not thread-safe. Valid while the Engine is alive.
class IndexCursor {
 public:
  virtual ~IndexCursor() = default;
  virtual bool Valid() const = 0;
  virtual const IndexEntry& entry() const = 0;
  virtual void Next() = 0;
  // Positions at the first entry e with !IndexBefore(e, target), i.e. the
  // target itself or the first entry after it.
  virtual void Seek(const IndexEntry& target) = 0;
  virtual Status status() const = 0;
};

// Hot fields of the events one write batch added to one trace (a column
// chunk), decoded into plain vectors of equal length (schema::Columns:
// timestamp_ns, seq, event_fp, type (schema::EventType), actor (index into
// actors), duration_ns, size_bytes, status (schema::EventStatusCode); with
// OTel spans also span_kind, service). kNone marks an absent u64 value.
struct ColumnChunk : schema::Columns {
  static constexpr uint64_t kNone = UINT64_MAX;
  Id128 trace_id{};
};

struct Stats {
  uint64_t live_sst_bytes = 0;
  uint64_t memtable_bytes = 0;
  uint64_t pending_compaction_bytes = 0;
  uint64_t write_stall_micros = 0;
  uint64_t estimated_keys = 0;
  uint64_t total_sst_files = 0;
};

// Counters since Open (process lifetime).
struct Counters {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> events_written{0};
  std::atomic<uint64_t> duplicates{0};
  std::atomic<uint64_t> traces_created{0};
  std::atomic<uint64_t> bytes_written{0};
  std::atomic<uint64_t> retention_runs{0};
  std::atomic<uint64_t> buckets_dropped{0};
  std::atomic<uint64_t> storage_full_refusals{0};  // Write() calls refused with kStorageFull

  // Accounts one committed batch. Thread-safe.
  void CountBatch(const WriteResult& r) {
    batches.fetch_add(1, std::memory_order_relaxed);
    events_written.fetch_add(r.events_written, std::memory_order_relaxed);
    duplicates.fetch_add(r.duplicates, std::memory_order_relaxed);
    traces_created.fetch_add(r.traces_created, std::memory_order_relaxed);
    bytes_written.fetch_add(r.bytes_written, std::memory_order_relaxed);
  }
};

struct ReadOptions {
  bool include_events = true;
};

// What Engine::Backup does (engine/backup.cc).
struct BackupOptions {
  // The backup directory; created when missing. Backups in one directory
  // share the files they have in common, so each new one copies only what
  // changed since the last (incremental). Default: "".
  std::string dir;
  // After the backup, delete all but the newest `keep` backups of `dir`.
  // 0 keeps every backup. Default: 0.
  uint32_t keep = 0;
};

// One backup of a backup directory.
struct BackupInfo {
  uint32_t id = 0;             // ascending within a directory
  int64_t timestamp_s = 0;     // when it was taken (Unix seconds)
  uint64_t size_bytes = 0;     // bytes of its files (shared files counted in every backup)
  uint32_t files = 0;
  uint32_t format_version = 0; // the store format it holds (docs/format.md)
};

// What Engine::Check does (engine/check.cc).
struct CheckOptions {
  // Rebuild derived data (index entries, column chunks, header bookkeeping)
  // from the records (trace headers and events). Default: false.
  bool repair = false;
  // Problems listed in CheckReport::problems; the rest are only counted.
  // Default: 100.
  size_t max_listed = 100;
};

struct CheckReport {
  uint64_t traces = 0;         // trace headers read
  uint64_t events = 0;         // event records read
  uint64_t column_chunks = 0;  // column chunks read
  uint64_t index_entries = 0;  // index entries read (every kind)
  uint64_t problems_found = 0;
  uint64_t problems_repaired = 0;  // with CheckOptions::repair
  uint64_t problems_unrepairable = 0;  // lost or undecodable records, block checksum failures
  std::vector<std::string> problems;   // the first max_listed, one line each
  bool clean() const { return problems_found == 0; }
};

class Engine {
 public:
  // Opens (or creates) the store. Fails with the reason when the directory
  // is locked by another process or holds an incompatible format.
  static Result<std::unique_ptr<Engine>> Open(const Options& options);

  virtual ~Engine() = default;

  // Applies `batch` atomically: one RocksDB WriteBatch with sorted keys.
  // Returns once the batch is in the WAL (fsynced when Options::sync).
  virtual Result<WriteResult> Write(const WriteBatch& batch) = 0;

  // What WriteAsync reports: Write's result, once the batch is durable.
  using WriteDone = std::function<void(Result<WriteResult>)>;
  // Write, pipelined: returns once `batch` is prepared (deduplicated,
  // indexed, encoded; it is not read afterwards), so that the caller can
  // prepare the next batch while this one goes through the WAL.
  // Returns the refusal when the batch cannot be prepared (nothing is
  // written, `done` is not called: a refused batch is the caller's to
  // split or report, e.g. through RunAfterCommits to keep its order).
  // Otherwise `done` runs once the batch is durable or failed, on the
  // engine's commit thread, in the order of the WriteAsync calls. A batch
  // is prepared against every batch queued before it, so when a commit
  // fails, the batches queued behind it fail too ("an earlier write
  // failed") and none of them is written. `done` must not call Write,
  // WriteAsync or RunAfterCommits' waiters, and must not block.
  // Default: Write on the caller's thread; a failure is a refusal.
  virtual Status WriteAsync(const WriteBatch& batch, WriteDone done) {
    Result<WriteResult> r = Write(batch);
    if (!r.ok()) return r.status();
    done(std::move(r));
    return Status::OK();
  }
  // Runs `fn` once every batch queued by WriteAsync so far has reported,
  // on the thread that reports them (the same rules as `done`). Default:
  // at once.
  virtual void RunAfterCommits(std::function<void()> fn) { fn(); }

  // The trace with its events in (timestamp, seq, event_id) order, or
  // nullopt when it does not exist (or has expired).
  virtual Result<std::optional<schema::Trace>> GetTrace(const Id128& trace_id,
                                                        const ReadOptions& options = {}) = 0;

  // Distinct versions of `flow_id`, ascending (major, minor, patch, git_hash,
  // timestamp). Unknown flow: empty.
  virtual Result<std::vector<schema::FlowVersion>> GetFlowVersions(std::string_view flow_id) = 0;

  // A cursor over one index value in a start window (IndexBefore order).
  virtual std::unique_ptr<IndexCursor> ScanIndex(const IndexRange& range) = 0;

  // Distinct values of `kind` starting with `prefix` (ascending), at most
  // `limit`. For flow and actor indexes.
  virtual Result<std::vector<std::string>> ListIndexValues(IndexKind kind, std::string_view prefix,
                                                           size_t limit) = 0;

  // Calls `fn` for each column chunk of `trace_id` in write order; stops
  // when fn returns false.
  virtual Status ReadColumns(const Id128& trace_id,
                             const std::function<bool(const ColumnChunk&)>& fn) = 0;

  // As ReadColumns, for a caller that already knows the trace's start (from
  // its header or an index entry): saves the header read.
  virtual Status ReadColumnsAt(const Id128& trace_id, TimestampNs start_ns,
                               const std::function<bool(const ColumnChunk&)>& fn) {
    (void)start_ns;
    return ReadColumns(trace_id, fn);
  }

  // Calls `fn` for every column chunk of traces whose start lies in
  // [min_start, max_start]; stops when fn returns false. Chunks of one trace
  // come in write order; traces come in no particular order. The path for
  // event aggregates over a time window.
  virtual Status ScanColumns(TimestampNs min_start, TimestampNs max_start,
                             const std::function<bool(const ColumnChunk&)>& fn) = 0;

  // Calls `fn` for every stored trace header (events not loaded), in no
  // particular order; stops when fn returns false. For brute-force checks
  // and maintenance.
  virtual Status ScanTraces(const std::function<bool(const schema::Trace&)>& fn) = 0;

  // The data-flow graph aggregates maintained at ingest (graph_aggregates.h)
  // for the traces whose start lies in [min_start, max_start]: whole
  // aggregate slots inside the window, summed. GraphAggregates::covered says
  // which part of the window they answer; the caller scans the rest. A
  // backend without aggregates keeps this default: nothing covered.
  virtual Result<GraphAggregates> ReadGraphAggregates(TimestampNs min_start, TimestampNs max_start) {
    (void)min_start;
    (void)max_start;
    return GraphAggregates{};
  }

  // Removes data older than the retention settings now; returns how many
  // buckets were dropped. Also runs periodically on a background thread.
  virtual Result<uint64_t> EnforceRetention(TimestampNs now_ns) = 0;

  // The smallest trace start still visible (retention cutoff).
  virtual TimestampNs retention_cutoff() const = 0;

  // Flushes memtables and compacts, so that disk figures are final. Slow.
  virtual Status CompactAll() = 0;

  virtual Stats GetStats() = 0;
  virtual const Counters& counters() const = 0;
  virtual const Options& options() const = 0;

  // Size of the store's files on disk (0 in memory).
  virtual uint64_t DiskUsageBytes() = 0;

  // The store's free space and whether writes are refused for the lack of
  // it (a fresh statvfs). Thread-safe.
  virtual StorageSpace Space() = 0;

  // Takes a consistent backup of the store into options.dir while writes go
  // on: every write that returned before the call is in it. Blocking (copies
  // files); run it off I/O threads. One backup at a time per process.
  // Fails for an in-memory store.
  virtual Result<BackupInfo> Backup(const BackupOptions& options) = 0;

  // Verifies the whole store (docs/operations.md, "Checking a store"):
  // block checksums, every record decodes, every index entry points to a
  // trace that has it and every trace has its entries, column chunks match
  // the events, header bookkeeping matches the events. With
  // CheckOptions::repair, rewrites what derives from the records. Reads the
  // whole store; meant for a store no server is writing to (repair holds
  // the write lock).
  virtual Result<CheckReport> Check(const CheckOptions& options) = 0;

  // An object a layer above attaches to this engine and finds again through
  // it, living as long as the engine: the query layer's backend for a
  // storage backend that runs searches itself (query/backend.h).
  void set_attachment(std::shared_ptr<void> attachment) { attachment_ = std::move(attachment); }
  void* attachment() const { return attachment_.get(); }

 private:
  std::shared_ptr<void> attachment_;
};

// The backups in backup directory `dir`, oldest first.
Result<std::vector<BackupInfo>> ListBackups(const std::string& dir);

// Restores backup `id` (the newest when nullopt) of `from` into `data_dir`,
// which must not hold a store. The backup's files are verified against
// their recorded sizes and checksums first.
Status RestoreBackup(const std::string& from, const std::string& data_dir, std::optional<uint32_t> id);

// The store format this build writes and reads (docs/format.md, "Format
// versions"): a store of a newer one is refused at Open.
inline constexpr uint32_t kFormatVersion = 3;
// The oldest format this build opens. An older-but-supported store is
// upgraded on open (docs/format.md says what each upgrade does).
inline constexpr uint32_t kOldestFormatVersion = 1;

// Fingerprint of an event id for dedup (xxh64, seed 0).
uint64_t EventFingerprint(std::string_view event_id);

// Time bucket of a start time for a given bucket width.
uint32_t BucketOf(TimestampNs start_ns, uint32_t bucket_seconds);

}  // namespace tracedb::engine
