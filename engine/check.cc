// The store checker behind `tracedb check` (docs/operations.md).
//
// The records are the trace headers' naming and status fields and the
// events; everything else is derived from them by the write path and can be
// rebuilt: index entries, column chunks, and the header's bookkeeping
// (event count, actors, error and cancelled counts, chunk count). The check
// reads the store in four passes, each one sequential scan:
//
//   A. events, grouped per trace prefix: each record decodes; the trace's
//      header exists and its bookkeeping matches the events; its column
//      chunks hold exactly the events' hot fields; its index entries exist;
//   B. traces: each header decodes; those without events (A did not see
//      them) have their index entries and no bookkeeping of events;
//   C. columns: every chunk belongs to a trace whose events A checked;
//   D. index: every time/flow/actor/status/execution entry belongs to a
//      header that has it. Flow-version entries ('V') and key kinds this
//      build does not know are counted, not checked: they are not derived
//      per trace, and a later format may add derived ranges.
//
// Everything older than the retention cutoff is skipped: it is hidden from
// readers and leaves with the next compaction. A repair (CheckOptions::repair)
// holds the write lock and rewrites, per damaged trace, its header's
// bookkeeping, its chunks and its index entries; it deletes index entries
// and chunks that belong to no trace. Lost or undecodable records cannot be
// rebuilt: they are reported as unrepairable.

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <unordered_set>

#include "common/coding.h"
#include "engine/keys.h"
#include "engine/rocks_engine.h"
#include "schema/hot_fields.h"

namespace tracedb::engine {

namespace {

// As the write path: a chunk holds at most this many events.
constexpr size_t kMaxChunkEvents = 8192;

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

std::string Hex(const Id128& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : id) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string Printable(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\x";
      out += "0123456789abcdef"[(c >> 4) & 15];
      out += "0123456789abcdef"[c & 15];
    } else {
      out += c;
    }
  }
  return out;
}

const char* KindName(IndexKind kind) {
  switch (kind) {
    case IndexKind::kTime: return "time";
    case IndexKind::kFlow: return "flow";
    case IndexKind::kActor: return "actor";
    case IndexKind::kStatus: return "status";
    case IndexKind::kExecution: return "execution";
  }
  return "?";
}

bool IsZero(const Id128& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

// One event's hot fields as a column chunk row, comparable.
struct Row {
  TimestampNs ts = 0;
  uint64_t seq = 0;
  uint64_t fp = 0;
  uint8_t type = 0;
  std::string actor;
  uint64_t duration = 0;
  uint64_t size = 0;
  uint8_t status = 0;
  uint8_t span_kind = 0;
  std::optional<std::string> service;
  auto Tie() const { return std::tie(ts, seq, fp, type, actor, duration, size, status, span_kind, service); }
  bool operator<(const Row& o) const { return Tie() < o.Tie(); }
  bool operator==(const Row& o) const { return Tie() == o.Tie(); }
};

// What the events of one trace say about it.
struct Derived {
  uint64_t events = 0;
  std::vector<Row> rows;  // key order
  std::set<std::string> actors;
  uint64_t error_events = 0;
  uint64_t cancelled_events = 0;
  std::string first_error;
  TimestampNs min_ts = INT64_MAX;
  TimestampNs max_ts = INT64_MIN;
  std::optional<schema::Source> source;
  uint64_t undecodable = 0;  // event records that do not decode
};

// The index entries (kind, value) a trace with this header has.
std::vector<std::pair<IndexKind, std::string>> ExpectedIndex(const schema::Trace& h, const schema::TraceBookkeeping& bk) {
  std::vector<std::pair<IndexKind, std::string>> out;
  out.emplace_back(IndexKind::kTime, "");
  out.emplace_back(IndexKind::kFlow, h.flow_id);
  for (const auto& flow : bk.flows) out.emplace_back(IndexKind::kFlow, flow);
  out.emplace_back(IndexKind::kStatus, std::string(1, static_cast<char>(h.status.code)));
  if (!IsZero(h.execution_id)) {
    out.emplace_back(IndexKind::kExecution,
                     std::string(reinterpret_cast<const char*>(h.execution_id.data()), h.execution_id.size()));
  }
  for (const auto& actor : bk.actors) out.emplace_back(IndexKind::kActor, actor);
  return out;
}

// Column chunks of `rows` (key order) as the write path would build them
// in one batch.
std::vector<schema::Columns> BuildChunks(const std::vector<Row>& rows, TimestampNs start) {
  std::vector<schema::Columns> chunks;
  std::map<std::string, uint16_t> actor_ids, service_ids;
  for (const Row& r : rows) {
    if (chunks.empty() || chunks.back().size() >= kMaxChunkEvents) {
      chunks.emplace_back().trace_start_ns = start;
      actor_ids.clear();
      service_ids.clear();
    }
    schema::Columns& c = chunks.back();
    c.timestamp_ns.push_back(r.ts);
    c.seq.push_back(r.seq);
    c.event_fp.push_back(r.fp);
    c.type.push_back(r.type);
    auto [a, added] = actor_ids.emplace(r.actor, static_cast<uint16_t>(c.actors.size()));
    if (added) c.actors.push_back(r.actor);
    c.actor.push_back(a->second);
    c.duration_ns.push_back(r.duration);
    c.size_bytes.push_back(r.size);
    c.status.push_back(r.status);
    if (r.span_kind != 0 || !c.span_kind.empty()) {
      c.span_kind.resize(c.size() - 1, 0);
      c.span_kind.push_back(r.span_kind);
    }
    if (r.service) {
      auto [s, new_service] = service_ids.emplace(*r.service, static_cast<uint16_t>(c.services.size()));
      if (new_service) c.services.push_back(*r.service);
      c.service.resize(c.size() - 1, schema::Columns::kNoService);
      c.service.push_back(s->second);
    } else if (!c.service.empty()) {
      c.service.push_back(schema::Columns::kNoService);
    }
  }
  return chunks;
}

}  // namespace

class StoreChecker {
 public:
  StoreChecker(RocksEngine* e, const CheckOptions& options) : e_(e), db_(e->db_.get()), options_(options) {}

  Result<CheckReport> Run() {
    cutoff_ = e_->retention_cutoff();
    cutoff_bucket_ = cutoff_ == INT64_MIN ? 0 : BucketOf(cutoff_, e_->options_.bucket_seconds);
    rocksdb::Status cs = db_->VerifyChecksum();
    if (!cs.ok()) {
      Problem("block checksums: " + cs.ToString(), kUnrepairable);
      // Reads stop at the damaged block: a repair from what remains
      // readable would delete what only looks orphaned.
      if (options_.repair) {
        options_.repair = false;
        Problem("repair skipped: a table file fails its checksum; restore a backup", kUnrepairable);
      }
    }
    snapshot_ = db_->GetSnapshot();
    Status s = PassEvents();
    if (s.ok()) s = PassTraces();
    if (s.ok()) s = PassColumns();
    if (s.ok()) s = PassIndex();
    db_->ReleaseSnapshot(snapshot_);
    TRACEDB_RETURN_IF_ERROR(s);
    return report_;
  }

 private:
  enum Repairability : uint8_t { kRepairable, kUnrepairable };

  void Problem(std::string what, Repairability r) {
    ++report_.problems_found;
    bool fixed = r == kRepairable && options_.repair;
    if (fixed) ++report_.problems_repaired;
    if (r == kUnrepairable) ++report_.problems_unrepairable;
    if (report_.problems.size() < options_.max_listed) {
      report_.problems.push_back(fixed ? what + " (repaired)" : r == kUnrepairable ? what + " (not repairable)" : what);
    }
  }

  // A scan that stopped at an unreadable block: the rest of that column
  // family is not checked; the next pass runs.
  Status Unreadable(const char* family, const rocksdb::Status& s) {
    Problem(std::string("the ") + family + " column family is unreadable from some point on, not checked further: " +
                s.ToString(),
            kUnrepairable);
    return Status::OK();
  }

  rocksdb::ReadOptions Scan() const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot_;
    ro.total_order_seek = true;
    ro.fill_cache = false;
    return ro;
  }

  // A point read: in the snapshot, or (repair, passes after A) the live
  // store, which then includes the repairs made so far.
  rocksdb::Status Get(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string* value, bool live) const {
    rocksdb::ReadOptions ro;
    if (!live) ro.snapshot = snapshot_;
    return db_->Get(ro, cf, rocksdb::Slice(key.data(), key.size()), value);
  }

  Status Write(rocksdb::WriteBatch* wb) {
    if (wb->Count() == 0) return Status::OK();
    rocksdb::WriteOptions wo;
    wo.sync = true;
    Status s = FromRocks(db_->Write(wo, wb), "check: write repair");
    wb->Clear();
    return s;
  }

  // Pass A.
  Status PassEvents() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(Scan(), e_->events_cf_));
    std::string prefix;
    Derived d;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view key = View(it->key());
      ++report_.events;
      keys::EventKeyParts parts;
      if (!keys::ParseEventKey(key, &parts)) {
        Problem("malformed event key of " + std::to_string(key.size()) + " bytes", kUnrepairable);
        continue;
      }
      if (key.substr(0, keys::kTracePrefixLen) != prefix) {
        if (!prefix.empty()) TRACEDB_RETURN_IF_ERROR(FinishTrace(prefix, std::move(d)));
        prefix.assign(key.substr(0, keys::kTracePrefixLen));
        d = Derived();
      }
      AddEvent(parts, View(it->value()), &d);
    }
    if (!it->status().ok()) return Unreadable("events", it->status());
    if (!prefix.empty()) TRACEDB_RETURN_IF_ERROR(FinishTrace(prefix, std::move(d)));
    return Status::OK();
  }

  void AddEvent(const keys::EventKeyParts& parts, std::string_view value, Derived* d) {
    ++d->events;
    d->min_ts = std::min(d->min_ts, parts.ts);
    d->max_ts = std::max(d->max_ts, parts.ts);
    schema::Event event;
    Status s = schema::DecodeEventRecord(value, &event);
    if (!s.ok()) {
      Problem("trace " + Hex(parts.trace_id) + ": event record (ts " + std::to_string(parts.ts) + ", seq " +
                  std::to_string(parts.seq) + ") does not decode: " + s.message(),
              kUnrepairable);
      ++d->undecodable;
      return;
    }
    event.event_id.assign(parts.event_id);
    event.timestamp_ns = parts.ts;
    event.seq = parts.seq;
    if (!d->source) {
      d->source = event.operonx ? schema::Source::kOperonx : event.otel ? schema::Source::kOtel : schema::Source::kReflow;
    }
    if (!event.actor.empty()) d->actors.insert(event.actor);
    if (event.operonx) {
      size_t dot = event.actor.rfind('.');
      if (dot != std::string::npos) d->actors.insert(std::string(1, kShortNameMarker) + event.actor.substr(dot + 1));
    }
    schema::HotFields hot = schema::ExtractHotFields(event);
    if (hot.status == schema::EventStatusCode::kCancelled) ++d->cancelled_events;
    if (hot.status == schema::EventStatusCode::kError && d->error_events++ == 0) {
      std::string detail = "error";
      if (event.reflow && event.reflow->error) detail = *event.reflow->error;
      if (event.otel && !event.otel->status_message.empty()) detail = event.otel->status_message;
      d->first_error = event.actor.empty() ? detail : event.actor + ": " + detail;
    }
    Row r;
    r.ts = parts.ts;
    r.seq = parts.seq;
    r.fp = EventFingerprint(parts.event_id);
    r.type = static_cast<uint8_t>(event.type);
    r.actor = event.actor;
    r.duration = hot.duration_ns.value_or(ColumnChunk::kNone);
    r.size = hot.size_bytes.value_or(ColumnChunk::kNone);
    r.status = static_cast<uint8_t>(hot.status);
    r.span_kind = hot.span_kind;
    if (event.otel) {
      static const schema::OtelResource kNoResource;
      r.service = std::string(schema::OtelServiceName(event.otel->resource ? *event.otel->resource : kNoResource));
    }
    d->rows.push_back(std::move(r));
  }

  // The end of one trace's events in pass A.
  Status FinishTrace(const std::string& prefix, Derived d) {
    uint32_t bucket = coding::DecodeFixed32(prefix.data());
    Id128 id;
    std::memcpy(id.data(), prefix.data() + 4, keys::kTraceIdLen);
    if (bucket < cutoff_bucket_) return Status::OK();  // expired; leaves with compaction
    const std::string who = "trace " + Hex(id);
    std::string value;
    rocksdb::Status gs = Get(e_->traces_cf_, keys::TraceKey(id), &value, false);
    schema::Trace h;
    schema::TraceBookkeeping bk;
    if (gs.IsNotFound()) {
      Problem(who + ": " + std::to_string(d.events) +
                  " events but no header (repair writes a placeholder header: flow \"unknown\", status Running)",
              kRepairable);
      checked_ids_.insert(id);
      checked_prefixes_.insert(prefix);
      if (!options_.repair) return Status::OK();
      h = PlaceholderHeader(id, bucket, d);
      bk.bucket = bucket;
      bk.last_event_ns = h.start_ns;
      return RepairTrace(prefix, h, bk, d);
    }
    TRACEDB_RETURN_IF_ERROR(FromRocks(gs, "check: read header"));
    if (!schema::DecodeTraceRecord(value, &h, &bk).ok()) return Status::OK();  // pass B reports it
    h.trace_id = id;
    if (h.start_ns < cutoff_) return Status::OK();
    checked_ids_.insert(id);
    if (bk.bucket != bucket) {
      Problem(who + ": " + std::to_string(d.events) + " events under bucket " + std::to_string(bucket) +
                  " but the header says bucket " + std::to_string(bk.bucket) + " (they are invisible)",
              kUnrepairable);
      return Status::OK();
    }
    checked_prefixes_.insert(prefix);
    if (d.undecodable > 0) {
      // What derives from the lost events is unknown: only the index is
      // checked, nothing is rewritten (restore a backup).
      CheckIndex(who, h, bk);
      return Status::OK();
    }
    bool damaged = !CheckBookkeeping(who, h, bk, d);
    damaged |= !CheckColumns(who, prefix, h, bk, d);
    damaged |= !CheckIndex(who, h, bk);
    if (damaged && options_.repair) return RepairTrace(prefix, h, bk, d);
    return Status::OK();
  }

  schema::Trace PlaceholderHeader(const Id128& id, uint32_t bucket, const Derived& d) const {
    schema::Trace h;
    h.trace_id = id;
    h.source = d.source.value_or(schema::Source::kReflow);
    h.flow_id = "unknown";
    h.execution_id = id;
    uint32_t width = e_->options_.bucket_seconds;
    h.start_ns = BucketOf(d.min_ts, width) == bucket ? d.min_ts
                                                      : static_cast<TimestampNs>(bucket) * width * 1'000'000'000;
    h.version.timestamp_ns = h.start_ns;
    h.status.code = schema::StatusCode::kRunning;
    h.metadata.environment = "unknown";
    h.metadata.hostname = "unknown";
    return h;
  }

  bool CheckBookkeeping(const std::string& who, const schema::Trace& h, const schema::TraceBookkeeping& bk,
                        const Derived& d) {
    bool ok = true;
    auto mismatch = [&](const std::string& field, const std::string& stored, const std::string& derived) {
      Problem(who + ": header " + field + " is " + stored + ", its events say " + derived, kRepairable);
      ok = false;
    };
    if (bk.event_count != d.events) mismatch("event_count", std::to_string(bk.event_count), std::to_string(d.events));
    if (bk.error_events != d.error_events) {
      mismatch("error_events", std::to_string(bk.error_events), std::to_string(d.error_events));
    }
    if (bk.cancelled_events != d.cancelled_events) {
      mismatch("cancelled_events", std::to_string(bk.cancelled_events), std::to_string(d.cancelled_events));
    }
    std::set<std::string> actors(bk.actors.begin(), bk.actors.end());
    if (actors != d.actors) {
      mismatch("actors", std::to_string(actors.size()) + " actors", std::to_string(d.actors.size()) + " actors");
    }
    if (!d.rows.empty() && bk.last_event_ns < d.max_ts) {
      mismatch("last_event_ns", std::to_string(bk.last_event_ns), "at least " + std::to_string(d.max_ts));
    }
    if (BucketOf(h.start_ns, e_->options_.bucket_seconds) != bk.bucket) {
      Problem(who + ": header start " + std::to_string(h.start_ns) + " is not in its bucket " +
                  std::to_string(bk.bucket),
              kUnrepairable);
    }
    return ok;
  }

  // Compares the trace's chunks with the rows of its events.
  bool CheckColumns(const std::string& who, const std::string& prefix, const schema::Trace& h,
                    const schema::TraceBookkeeping& bk, const Derived& d) {
    std::string upper = coding::PrefixSuccessor(prefix);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions ro = Scan();
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, e_->columns_cf_));
    std::vector<Row> stored;
    bool ok = true;
    bool lacks_service = false;
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      std::string_view key = View(it->key());
      schema::Columns c;
      Status s = schema::DecodeColumns(View(it->value()), &c);
      uint32_t chunk = key.size() == keys::kTracePrefixLen + 4 ? coding::DecodeFixed32(key.data() + keys::kTracePrefixLen)
                                                               : UINT32_MAX;
      const std::string what = who + ": column chunk " + std::to_string(chunk);
      if (!s.ok()) {
        Problem(what + " does not decode: " + s.message(), kRepairable);
        ok = false;
        continue;
      }
      if (chunk >= bk.chunk_count) {
        Problem(what + " is beyond the header's chunk_count " + std::to_string(bk.chunk_count), kRepairable);
        ok = false;
      }
      if (c.trace_start_ns != h.start_ns) {
        Problem(what + " has trace_start_ns " + std::to_string(c.trace_start_ns) + ", the header " +
                    std::to_string(h.start_ns),
                kRepairable);
        ok = false;
      }
      if (c.services.empty()) lacks_service = true;
      for (size_t i = 0; i < c.size(); ++i) {
        Row r;
        r.ts = c.timestamp_ns[i];
        r.seq = i < c.seq.size() ? c.seq[i] : 0;
        r.fp = i < c.event_fp.size() ? c.event_fp[i] : 0;
        r.type = i < c.type.size() ? c.type[i] : 0;
        r.actor = i < c.actor.size() && c.actor[i] < c.actors.size() ? c.actors[c.actor[i]] : std::string("\x01?");
        r.duration = i < c.duration_ns.size() ? c.duration_ns[i] : 0;
        r.size = i < c.size_bytes.size() ? c.size_bytes[i] : 0;
        r.status = i < c.status.size() ? c.status[i] : 0;
        r.span_kind = c.span_kind.empty() || i >= c.span_kind.size() ? 0 : c.span_kind[i];
        if (i < c.service.size() && c.service[i] < c.services.size()) r.service = c.services[c.service[i]];
        stored.push_back(std::move(r));
      }
      ++report_.column_chunks;
    }
    if (!it->status().ok()) {
      Problem(who + ": column chunks unreadable: " + it->status().ToString(), kRepairable);
      return false;
    }
    std::vector<Row> expected = d.rows;
    // Chunks written before the service column existed carry none (docs/format.md).
    if (lacks_service) {
      for (auto& r : expected) r.service.reset();
      for (auto& r : stored) r.service.reset();
    }
    std::sort(expected.begin(), expected.end());
    std::sort(stored.begin(), stored.end());
    if (expected != stored) {
      Problem(who + ": column chunks hold " + std::to_string(stored.size()) + " rows that differ from its " +
                  std::to_string(expected.size()) + " decodable events",
              kRepairable);
      ok = false;
    }
    return ok;
  }

  // Whether every index entry of the trace exists.
  bool CheckIndex(const std::string& who, const schema::Trace& h, const schema::TraceBookkeeping& bk) {
    bool ok = true;
    for (const auto& [kind, value] : ExpectedIndex(h, bk)) {
      std::string v;
      rocksdb::Status s = Get(e_->index_cf_, keys::IndexKey(kind, value, h.start_ns, h.trace_id), &v, false);
      if (s.IsNotFound()) {
        Problem(who + ": " + KindName(kind) + " index entry \"" + Printable(value) + "\" is missing", kRepairable);
        ok = false;
      } else if (!s.ok()) {
        Problem(who + ": index read failed: " + s.ToString(), kUnrepairable);
      }
    }
    return ok;
  }

  // Rewrites what derives from the trace's records.
  Status RepairTrace(const std::string& prefix, schema::Trace h, schema::TraceBookkeeping bk, const Derived& d) {
    bk.event_count = d.events;
    bk.actors.assign(d.actors.begin(), d.actors.end());
    bk.error_events = d.error_events;
    bk.cancelled_events = d.cancelled_events;
    if (d.error_events == 0) {
      bk.first_error.clear();
    } else if (bk.first_error.empty()) {
      bk.first_error = d.first_error;
    }
    if (!d.rows.empty()) bk.last_event_ns = std::max(bk.last_event_ns, d.max_ts);
    std::vector<schema::Columns> chunks = BuildChunks(d.rows, h.start_ns);
    bk.chunk_count = static_cast<uint32_t>(chunks.size());
    rocksdb::WriteBatch wb;
    std::string upper = coding::PrefixSuccessor(prefix);
    TRACEDB_RETURN_IF_ERROR(FromRocks(wb.DeleteRange(e_->columns_cf_, prefix, upper), "check: repair"));
    for (uint32_t i = 0; i < chunks.size(); ++i) {
      TRACEDB_RETURN_IF_ERROR(FromRocks(
          wb.Put(e_->columns_cf_, keys::ColumnKey(bk.bucket, h.trace_id, i), schema::EncodeColumns(chunks[i])),
          "check: repair"));
    }
    for (const auto& [kind, value] : ExpectedIndex(h, bk)) {
      TRACEDB_RETURN_IF_ERROR(
          FromRocks(wb.Put(e_->index_cf_, keys::IndexKey(kind, value, h.start_ns, h.trace_id), ""), "check: repair"));
    }
    TRACEDB_RETURN_IF_ERROR(FromRocks(
        wb.Put(e_->traces_cf_, keys::TraceKey(h.trace_id), schema::EncodeTraceRecord(h, bk)), "check: repair"));
    return Write(&wb);
  }

  // Pass B.
  Status PassTraces() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(Scan(), e_->traces_cf_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report_.traces;
      std::string_view key = View(it->key());
      if (key.size() != keys::kTraceIdLen) {
        Problem("malformed trace key of " + std::to_string(key.size()) + " bytes", kUnrepairable);
        continue;
      }
      Id128 id;
      std::memcpy(id.data(), key.data(), keys::kTraceIdLen);
      schema::Trace h;
      schema::TraceBookkeeping bk;
      Status s = schema::DecodeTraceRecord(View(it->value()), &h, &bk);
      if (!s.ok()) {
        Problem("trace " + Hex(id) + ": header does not decode: " + s.message(), kUnrepairable);
        continue;
      }
      h.trace_id = id;
      if (h.start_ns < cutoff_ || checked_ids_.count(id) != 0) continue;
      // A trace without events.
      Derived none;
      const std::string who = "trace " + Hex(id);
      bool damaged = !CheckBookkeeping(who, h, bk, none);
      damaged |= !CheckIndex(who, h, bk);
      if (damaged && options_.repair) {
        TRACEDB_RETURN_IF_ERROR(RepairTrace(keys::TracePrefix(bk.bucket, id), h, bk, none));
      }
    }
    if (!it->status().ok()) return Unreadable("traces", it->status());
    return Status::OK();
  }

  // Pass C.
  Status PassColumns() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(Scan(), e_->columns_cf_));
    rocksdb::WriteBatch wb;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view key = View(it->key());
      if (key.size() < keys::kTracePrefixLen) {
        Problem("malformed column key of " + std::to_string(key.size()) + " bytes", kRepairable);
        if (options_.repair) TRACEDB_RETURN_IF_ERROR(FromRocks(wb.Delete(e_->columns_cf_, it->key()), "check"));
        continue;
      }
      std::string prefix(key.substr(0, keys::kTracePrefixLen));
      if (coding::DecodeFixed32(prefix.data()) < cutoff_bucket_ || checked_prefixes_.count(prefix) != 0) continue;
      ++report_.column_chunks;
      Id128 id;
      std::memcpy(id.data(), prefix.data() + 4, keys::kTraceIdLen);
      Problem("trace " + Hex(id) + ": column chunk without events in bucket " +
                  std::to_string(coding::DecodeFixed32(prefix.data())),
              kRepairable);
      if (options_.repair) TRACEDB_RETURN_IF_ERROR(FromRocks(wb.Delete(e_->columns_cf_, it->key()), "check"));
    }
    if (!it->status().ok()) return Unreadable("columns", it->status());
    return Write(&wb);
  }

  // Pass D.
  Status PassIndex() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(Scan(), e_->index_cf_));
    rocksdb::WriteBatch wb;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report_.index_entries;
      std::string_view key = View(it->key());
      IndexKind kind;
      std::string value;
      IndexEntry entry;
      // Flow versions and kinds this build does not know: counted only.
      if (!keys::ParseIndexKey(key, &kind, &value, &entry)) continue;
      if (entry.start_ns < cutoff_) continue;
      const std::string what = "trace " + Hex(entry.trace_id) + ": " + KindName(kind) + " index entry \"" +
                               Printable(value) + "\" at start " + std::to_string(entry.start_ns);
      std::string header;
      rocksdb::Status s = Get(e_->traces_cf_, keys::TraceKey(entry.trace_id), &header, options_.repair);
      if (s.IsNotFound()) {
        Problem(what + " points to no trace", kRepairable);
        if (options_.repair) TRACEDB_RETURN_IF_ERROR(FromRocks(wb.Delete(e_->index_cf_, it->key()), "check"));
        continue;
      }
      TRACEDB_RETURN_IF_ERROR(FromRocks(s, "check: read header"));
      schema::Trace h;
      schema::TraceBookkeeping bk;
      if (!schema::DecodeTraceRecord(header, &h, &bk).ok()) continue;  // reported by pass B
      auto expected = ExpectedIndex(h, bk);
      bool found = h.start_ns == entry.start_ns &&
                   std::find(expected.begin(), expected.end(), std::pair(kind, value)) != expected.end();
      if (!found) {
        Problem(what + " is stale (the trace does not have it)", kRepairable);
        if (options_.repair) TRACEDB_RETURN_IF_ERROR(FromRocks(wb.Delete(e_->index_cf_, it->key()), "check"));
      }
    }
    if (!it->status().ok()) return Unreadable("index", it->status());
    return Write(&wb);
  }

  RocksEngine* e_;
  rocksdb::DB* db_;
  CheckOptions options_;
  CheckReport report_;
  const rocksdb::Snapshot* snapshot_ = nullptr;
  TimestampNs cutoff_ = INT64_MIN;
  uint32_t cutoff_bucket_ = 0;
  std::unordered_set<Id128, Id128Hash> checked_ids_;  // traces pass A checked
  std::unordered_set<std::string> checked_prefixes_;  // their event prefixes
};

Result<CheckReport> RocksEngine::Check(const CheckOptions& options) {
  // Held throughout: a repair must not race the write path, and a check
  // of a store being written would report batches half read.
  std::lock_guard<std::mutex> lock(write_mu_);
  SettleCommits();
  pinned_.clear();
  StoreChecker checker(this, options);
  Result<CheckReport> report = checker.Run();
  if (options.repair) {
    // The cached write states may disagree with what was rewritten.
    ResetTraceCache();
  }
  return report;
}

}  // namespace tracedb::engine
