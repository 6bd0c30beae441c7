// Reads: traces by id (one point read + one prefix scan), index cursors,
// column chunks and full scans. Every read hides data older than the
// retention cutoff, so nothing expired is ever returned even before
// compaction has physically removed it.

#include <rocksdb/iterator.h>

#include <algorithm>
#include <cstring>

#include "common/coding.h"
#include "engine/keys.h"
#include "engine/rocks_engine.h"

namespace tracedb::engine {

namespace {

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Iterator over [lower, upper) of one column family. The bounds are owned
// here because RocksDB keeps pointers to them.
class BoundedIterator {
 public:
  BoundedIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string lower, std::string upper,
                  bool total_order)
      : lower_(std::move(lower)), upper_(std::move(upper)), upper_slice_(upper_) {
    rocksdb::ReadOptions ro;
    if (!upper_.empty()) ro.iterate_upper_bound = &upper_slice_;
    ro.total_order_seek = total_order;
    it_.reset(db->NewIterator(ro, cf));
    it_->Seek(lower_);
  }
  rocksdb::Iterator* operator->() { return it_.get(); }
  rocksdb::Iterator* get() { return it_.get(); }

 private:
  std::string lower_;
  std::string upper_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksIndexCursor final : public IndexCursor {
 public:
  RocksIndexCursor(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const IndexRange& range, TimestampNs cutoff)
      : prefix_(keys::IndexValuePrefix(range.kind, range.value)) {
    TimestampNs min_start = std::max(range.min_start, cutoff);
    if (min_start > range.max_start) return;  // empty window
    // Entries are ordered newest first: the window [min, max] is the key
    // range [prefix desc(max), prefix desc(min) + 1).
    std::string upper = prefix_;
    keys::PutDescI64(&upper, min_start);
    upper = coding::PrefixSuccessor(upper);
    if (upper.empty()) upper = coding::PrefixSuccessor(prefix_);
    upper_ = std::move(upper);
    upper_slice_ = rocksdb::Slice(upper_);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice_;
    it_.reset(db->NewIterator(ro, cf));
    std::string start = prefix_;
    keys::PutDescI64(&start, range.max_start);
    it_->Seek(start);
    Load();
  }

  bool Valid() const override { return valid_; }
  const IndexEntry& entry() const override { return entry_; }
  void Next() override {
    it_->Next();
    Load();
  }
  void Seek(const IndexEntry& target) override {
    if (!it_) return;
    std::string k = prefix_;
    keys::PutDescI64(&k, target.start_ns);
    k.append(reinterpret_cast<const char*>(target.trace_id.data()), target.trace_id.size());
    it_->Seek(k);
    Load();
  }
  Status status() const override { return status_; }

 private:
  void Load() {
    valid_ = false;
    if (!it_->Valid()) {
      if (!it_->status().ok()) status_ = FromRocks(it_->status(), "index scan");
      return;
    }
    std::string_view key = View(it_->key());
    if (key.size() < prefix_.size() || key.compare(0, prefix_.size(), prefix_) != 0) return;
    if (!keys::ParseIndexTail(key, prefix_.size(), &entry_)) {
      status_ = Status::Corruption("malformed index key");
      return;
    }
    valid_ = true;
  }

  std::string prefix_;
  std::string upper_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
  IndexEntry entry_;
  bool valid_ = false;
  Status status_;
};

}  // namespace

Result<std::optional<std::pair<schema::Trace, schema::TraceBookkeeping>>> RocksEngine::ReadHeader(const Id128& id) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), traces_cf_, keys::TraceKey(id), &value);
  if (s.IsNotFound()) return std::optional<std::pair<schema::Trace, schema::TraceBookkeeping>>();
  TRACEDB_RETURN_IF_ERROR(FromRocks(s, "read trace"));
  std::pair<schema::Trace, schema::TraceBookkeeping> out;
  out.first.trace_id = id;
  TRACEDB_RETURN_IF_ERROR(schema::DecodeTraceRecord(value, &out.first, &out.second));
  if (out.first.start_ns < retention_cutoff()) return std::optional<std::pair<schema::Trace, schema::TraceBookkeeping>>();
  return std::optional(std::move(out));
}

Result<std::shared_ptr<TraceState>> RocksEngine::LoadState(const Id128& id) {
  TRACEDB_ASSIGN_OR_RETURN(auto header, ReadHeader(id));
  if (!header) return std::shared_ptr<TraceState>();
  auto st = std::make_shared<TraceState>();
  st->header = std::move(header->first);
  st->bk = std::move(header->second);
  st->actor_set.insert(st->bk.actors.begin(), st->bk.actors.end());
  st->graph_prefix = keys::GraphPrefix(st->bk.bucket, keys::GraphSlotOf(st->header.start_ns));
  st->fingerprints.Reserve(st->bk.event_count);
  std::string prefix = keys::TracePrefix(st->bk.bucket, id);
  BoundedIterator it(db_.get(), columns_cf_, prefix, coding::PrefixSuccessor(prefix), false);
  schema::Columns chunk;
  for (; it->Valid(); it->Next()) {
    TRACEDB_RETURN_IF_ERROR(schema::DecodeColumns(View(it->value()), &chunk));
    for (uint64_t fp : chunk.event_fp) st->fingerprints.Insert(fp);
  }
  TRACEDB_RETURN_IF_ERROR(FromRocks(it->status(), "load trace state"));
  return st;
}

Result<std::optional<schema::Trace>> RocksEngine::GetTrace(const Id128& trace_id, const ReadOptions& options) {
  TRACEDB_ASSIGN_OR_RETURN(auto header, ReadHeader(trace_id));
  if (!header) return std::optional<schema::Trace>();
  schema::Trace trace = std::move(header->first);
  if (!options.include_events) return std::optional(std::move(trace));
  trace.events.reserve(header->second.event_count);
  std::string prefix = keys::TracePrefix(header->second.bucket, trace_id);
  BoundedIterator it(db_.get(), events_cf_, prefix, coding::PrefixSuccessor(prefix), false);
  for (; it->Valid(); it->Next()) {
    keys::EventKeyParts parts;
    if (!keys::ParseEventKey(View(it->key()), &parts)) return Status::Corruption("malformed event key");
    schema::Event& event = trace.events.emplace_back();
    TRACEDB_RETURN_IF_ERROR(schema::DecodeEventRecord(View(it->value()), &event));
    event.event_id.assign(parts.event_id);
    event.timestamp_ns = parts.ts;
    event.seq = parts.seq;
  }
  TRACEDB_RETURN_IF_ERROR(FromRocks(it->status(), "read events"));
  return std::optional(std::move(trace));
}

Result<std::vector<schema::FlowVersion>> RocksEngine::GetFlowVersions(std::string_view flow_id) {
  std::string prefix = keys::FlowVersionPrefix(flow_id);
  BoundedIterator it(db_.get(), index_cf_, prefix, coding::PrefixSuccessor(prefix), false);
  std::vector<schema::FlowVersion> out;
  for (; it->Valid(); it->Next()) {
    schema::FlowVersion v;
    if (!keys::ParseFlowVersionKey(View(it->key()), prefix.size(), &v)) {
      return Status::Corruption("malformed flow version key");
    }
    out.push_back(std::move(v));
  }
  TRACEDB_RETURN_IF_ERROR(FromRocks(it->status(), "read flow versions"));
  return out;
}

std::unique_ptr<IndexCursor> RocksEngine::ScanIndex(const IndexRange& range) {
  return std::make_unique<RocksIndexCursor>(db_.get(), index_cf_, range, retention_cutoff());
}

Result<std::vector<std::string>> RocksEngine::ListIndexValues(IndexKind kind, std::string_view prefix,
                                                              size_t limit) {
  if (kind != IndexKind::kFlow && kind != IndexKind::kActor) {
    return Status::InvalidArgument("ListIndexValues supports the flow and actor indexes");
  }
  std::string start(1, static_cast<char>(kind));
  coding::PutEscapedPrefix(&start, prefix);
  std::string tag(1, static_cast<char>(kind));
  BoundedIterator it(db_.get(), index_cf_, start, coding::PrefixSuccessor(tag), false);
  std::vector<std::string> out;
  while (it->Valid() && out.size() < limit) {
    std::string_view key = View(it->key());
    if (key.compare(0, start.size(), start) != 0) break;
    coding::Reader r(key.substr(1));
    std::string value;
    if (!r.GetEscaped(&value)) return Status::Corruption("malformed index key");
    out.push_back(value);
    // Skip every entry of this value: its keys all start with
    // tag escaped(value), whose successor is the next value's first key.
    std::string next = tag;
    coding::PutEscaped(&next, value);
    it->Seek(coding::PrefixSuccessor(next));
  }
  TRACEDB_RETURN_IF_ERROR(FromRocks(it->status(), "list index values"));
  return out;
}

Status RocksEngine::ReadColumns(const Id128& trace_id, const std::function<bool(const ColumnChunk&)>& fn) {
  TRACEDB_ASSIGN_OR_RETURN(auto header, ReadHeader(trace_id));
  if (!header) return Status::OK();
  return ReadColumnsAt(trace_id, header->first.start_ns, fn);
}

Status RocksEngine::ReadColumnsAt(const Id128& trace_id, TimestampNs start_ns,
                                  const std::function<bool(const ColumnChunk&)>& fn) {
  if (start_ns < retention_cutoff()) return Status::OK();
  // A trace's bucket is fixed by its start (docs/format.md): no header read.
  std::string prefix = keys::TracePrefix(BucketOf(start_ns, options_.bucket_seconds), trace_id);
  BoundedIterator it(db_.get(), columns_cf_, prefix, coding::PrefixSuccessor(prefix), false);
  ColumnChunk chunk;
  chunk.trace_id = trace_id;
  for (; it->Valid(); it->Next()) {
    TRACEDB_RETURN_IF_ERROR(schema::DecodeColumns(View(it->value()), &chunk));
    if (!fn(chunk)) return Status::OK();
  }
  return FromRocks(it->status(), "read columns");
}

namespace {

// ScanColumns takes the time index instead of a sequential scan when the
// window covers less than 1/kIndexPathRatio of the buckets it touches: a
// seek per trace in the window is then cheaper than stepping over every
// chunk of the buckets.
constexpr int64_t kIndexPathRatio = 8;

}  // namespace

Status RocksEngine::ScanColumns(TimestampNs min_start, TimestampNs max_start,
                                const std::function<bool(const ColumnChunk&)>& fn) {
  min_start = std::max(min_start, retention_cutoff());
  if (min_start > max_start) return Status::OK();
  const uint32_t first = BucketOf(min_start, options_.bucket_seconds);
  const uint32_t last = BucketOf(max_start, options_.bucket_seconds);
  const double bucket_span = (static_cast<double>(last) - first + 1) * options_.bucket_seconds * 1e9;
  const double window = static_cast<double>(max_start) - static_cast<double>(min_start);
  ColumnChunk chunk;
  if (window * kIndexPathRatio < bucket_span) {
    // Narrow window: the time index lists its traces; one iterator seeks to
    // each trace's chunks.
    IndexRange range;
    range.kind = IndexKind::kTime;
    range.min_start = min_start;
    range.max_start = max_start;
    std::unique_ptr<IndexCursor> cursor = ScanIndex(range);
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, columns_cf_));
    std::string prefix;
    for (; cursor->Valid(); cursor->Next()) {
      const IndexEntry& entry = cursor->entry();
      prefix = keys::TracePrefix(BucketOf(entry.start_ns, options_.bucket_seconds), entry.trace_id);
      chunk.trace_id = entry.trace_id;
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        TRACEDB_RETURN_IF_ERROR(schema::DecodeColumns(View(it->value()), &chunk));
        if (!fn(chunk)) return Status::OK();
      }
      TRACEDB_RETURN_IF_ERROR(FromRocks(it->status(), "scan columns"));
    }
    return cursor->status();
  }
  // Wide window: one sequential scan of the buckets; chunks of traces
  // outside the window are skipped on their start alone, undecoded.
  std::string lower, upper;
  coding::PutFixed32(&lower, first);
  if (last < UINT32_MAX) coding::PutFixed32(&upper, last + 1);
  BoundedIterator it(db_.get(), columns_cf_, lower, upper, /*total_order=*/true);
  for (; it->Valid(); it->Next()) {
    std::string_view key = View(it->key());
    if (key.size() < keys::kTracePrefixLen) return Status::Corruption("malformed column key");
    bool in_window;
    TRACEDB_RETURN_IF_ERROR(schema::DecodeColumnsIfStartIn(View(it->value()), min_start, max_start, &chunk, &in_window));
    if (!in_window) continue;
    std::memcpy(chunk.trace_id.data(), key.data() + 4, 16);
    if (!fn(chunk)) return Status::OK();
  }
  return FromRocks(it->status(), "scan columns");
}

Status RocksEngine::ScanTraces(const std::function<bool(const schema::Trace&)>& fn) {
  BoundedIterator it(db_.get(), traces_cf_, std::string(), std::string(), true);
  TimestampNs cutoff = retention_cutoff();
  for (; it->Valid(); it->Next()) {
    std::string_view key = View(it->key());
    if (key.size() != 16) return Status::Corruption("malformed trace key");
    schema::Trace trace;
    std::memcpy(trace.trace_id.data(), key.data(), 16);
    TRACEDB_RETURN_IF_ERROR(schema::DecodeTraceRecord(View(it->value()), &trace, nullptr));
    if (trace.start_ns < cutoff) continue;
    if (!fn(trace)) return Status::OK();
  }
  return FromRocks(it->status(), "scan traces");
}

}  // namespace tracedb::engine
