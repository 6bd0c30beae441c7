// Reads of the graph column family (keys.h, "graph"): the aggregates of the
// whole slots inside a window, summed per node and edge. A one-hour window
// reads 360 slots x (nodes + edges + 1) keys, whatever the events.

#include <rocksdb/db.h>

#include <map>

#include "common/coding.h"
#include "engine/keys.h"
#include "engine/rocks_engine.h"

namespace tracedb::engine {

namespace {

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Whole slots inside [min_start, max_start]: [*first, *last]. Slot 0
// also holds the starts before the epoch, the last slot those after it:
// they are whole only for an unbounded window end.
bool WholeSlots(TimestampNs min_start, TimestampNs max_start, int64_t* first, int64_t* last) {
  if (max_start < keys::kGraphSlotNs - 1) return false;
  if (min_start == INT64_MIN) {
    *first = 0;
  } else if (min_start <= 0) {
    *first = 1;
  } else {
    *first = min_start / keys::kGraphSlotNs + (min_start % keys::kGraphSlotNs != 0);
  }
  // Slot m is whole when m*slot + slot - 1 <= max_start.
  *last = max_start == INT64_MAX ? max_start / keys::kGraphSlotNs : (max_start + 1) / keys::kGraphSlotNs - 1;
  *last = std::min<int64_t>(*last, max_start == INT64_MAX ? UINT32_MAX : UINT32_MAX - 1);
  return *first <= *last;
}

struct Summed {
  std::map<std::string, GraphValue> by_key;  // tag + rest
  uint64_t slots = 0;
};

Status AddNode(std::string_view rest, const GraphValue& v, GraphAggregates* out) {
  if (v.fields[0] <= 0) return Status::OK();  // no longer referenced
  coding::Reader r(rest);
  uint8_t kind = 0;
  GraphNodeAggregate& n = out->nodes.emplace_back();
  if (!r.GetByte(&kind) || !r.GetEscaped(&n.id) || !r.empty()) return Status::Corruption("malformed graph node key");
  n.kind = static_cast<GraphNodeKind>(kind);
  n.events = static_cast<uint64_t>(std::max<int64_t>(v.fields[1], 0));
  n.errors = static_cast<uint64_t>(std::max<int64_t>(v.fields[2], 0));
  n.exec_ns = v.sketch;
  return Status::OK();
}

Status AddEdge(std::string_view rest, const GraphValue& v, GraphAggregates* out) {
  if (v.fields[0] <= 0) return Status::OK();
  coding::Reader r(rest);
  GraphEdgeAggregate& e = out->edges.emplace_back();
  if (!r.GetEscaped(&e.from) || !r.GetEscaped(&e.from_port) || !r.GetEscaped(&e.to) || !r.GetEscaped(&e.to_port) ||
      !r.empty()) {
    return Status::Corruption("malformed graph edge key");
  }
  e.count = static_cast<uint64_t>(v.fields[0]);
  e.bytes = static_cast<uint64_t>(std::max<int64_t>(v.fields[1], 0));
  e.errors = static_cast<uint64_t>(std::max<int64_t>(v.fields[2], 0));
  e.transfer_ns = v.sketch;
  for (const auto& [name, n] : v.types) {
    if (n > 0) e.message_types.push_back(name);
  }
  return Status::OK();
}

}  // namespace

Result<GraphAggregates> RocksEngine::ReadGraphAggregates(TimestampNs min_start, TimestampNs max_start) {
  GraphAggregates out;
  // Below the retention cutoff nothing is visible; below graph_since the
  // aggregates are incomplete: both start the covered range later.
  int64_t first = 0, last = 0;
  if (!WholeSlots(std::max(min_start, retention_cutoff()), max_start, &first, &last)) return out;
  first = std::max<int64_t>(first, graph_since_);
  if (first > last) return out;
  const int64_t lo = first == 0 ? INT64_MIN : first * keys::kGraphSlotNs;
  const int64_t hi = max_start == INT64_MAX ? INT64_MAX : last * keys::kGraphSlotNs + (keys::kGraphSlotNs - 1);
  out.covered = {lo, hi};

  std::string lower = keys::GraphPrefix(BucketOf(lo, options_.bucket_seconds), 0);
  std::string hi_bucket;
  coding::PutFixed32(&hi_bucket, BucketOf(hi, options_.bucket_seconds));
  std::string upper = coding::PrefixSuccessor(hi_bucket);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, graph_cf_));
  Summed sum;
  std::string last_slot;
  GraphValue v;
  for (it->Seek(lower); it->Valid(); it->Next()) {
    std::string_view key = View(it->key());
    if (key.size() <= keys::kGraphPrefixLen) return Status::Corruption("malformed graph key");
    uint32_t slot = coding::DecodeFixed32(key.data() + 4);
    if (slot < first || slot > last) continue;
    if (!DecodeGraphValue(View(it->value()), &v)) return Status::Corruption("malformed graph value");
    if (key.substr(0, keys::kGraphPrefixLen) != last_slot) {
      last_slot.assign(key.substr(0, keys::kGraphPrefixLen));
      ++sum.slots;
    }
    auto [at, added] = sum.by_key.try_emplace(std::string(key.substr(keys::kGraphPrefixLen)));
    if (added) {
      at->second = std::move(v);
    } else {
      at->second.Merge(v);
    }
  }
  TRACEDB_RETURN_IF_ERROR(FromRocks(it->status(), "read graph aggregates"));
  out.slots = sum.slots;
  for (const auto& [key, value] : sum.by_key) {
    std::string_view rest = std::string_view(key).substr(1);
    switch (key[0]) {
      case 'T': out.traces += static_cast<uint64_t>(std::max<int64_t>(value.fields[0], 0)); break;
      case 'N': TRACEDB_RETURN_IF_ERROR(AddNode(rest, value, &out)); break;
      case 'E': TRACEDB_RETURN_IF_ERROR(AddEdge(rest, value, &out)); break;
      default: return Status::Corruption("unknown graph key tag");
    }
  }
  return out;
}

Status RocksEngine::ReadStoredEvents(uint32_t bucket, const Id128& id, std::vector<schema::Event>* events) {
  std::string prefix = keys::TracePrefix(bucket, id);
  std::string upper = coding::PrefixSuccessor(prefix);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_cf_));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    keys::EventKeyParts parts;
    if (!keys::ParseEventKey(View(it->key()), &parts)) return Status::Corruption("malformed event key");
    schema::Event& event = events->emplace_back();
    TRACEDB_RETURN_IF_ERROR(schema::DecodeEventRecord(View(it->value()), &event));
    event.event_id.assign(parts.event_id);
    event.timestamp_ns = parts.ts;
    event.seq = parts.seq;
  }
  return FromRocks(it->status(), "read events");
}

}  // namespace tracedb::engine
