// Reads of the graph column family (keys.h, "graph"): the aggregates of the
// whole slots inside a window, read from the widest cells that tile them
// (at most ~90 cells for an hour, whatever the events) and summed per node
// and edge.

#include <rocksdb/db.h>

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

struct Cell {
  int level;
  uint32_t index;
};

// The widest aligned cells that tile slots [first, last], in order.
std::vector<Cell> Tile(int64_t first, int64_t last) {
  std::vector<Cell> cells;
  int64_t s = first;
  while (s <= last) {
    for (int level = keys::kGraphLevels - 1; level >= 0; --level) {
      const int64_t n = keys::kGraphLevelSlots[level];
      if (s % n == 0 && s + n - 1 <= last) {
        cells.push_back({level, static_cast<uint32_t>(s / n)});
        s += n;
        break;
      }
    }
  }
  return cells;
}

Status AddNode(std::string_view rest, const GraphAccumulator& v, GraphAggregates* out) {
  if (v.fields[0] <= 0) return Status::OK();  // no longer referenced
  coding::Reader r(rest);
  uint8_t kind = 0;
  GraphNodeAggregate& n = out->nodes.emplace_back();
  if (!r.GetByte(&kind) || !r.GetEscaped(&n.id) || !r.empty()) return Status::Corruption("malformed graph node key");
  n.kind = static_cast<GraphNodeKind>(kind);
  n.events = static_cast<uint64_t>(std::max<int64_t>(v.fields[1], 0));
  n.errors = static_cast<uint64_t>(std::max<int64_t>(v.fields[2], 0));
  n.exec_ns = v.Sketch();
  return Status::OK();
}

Status AddEdge(std::string_view rest, const GraphAccumulator& v, GraphAggregates* out) {
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
  e.transfer_ns = v.Sketch();
  for (const auto& [name, n] : v.types) {
    if (n > 0) e.message_types.emplace_back(name);
  }
  std::sort(e.message_types.begin(), e.message_types.end());
  return Status::OK();
}

}  // namespace

// The slots that hold any aggregates: [first, last] of the oldest and the
// newest stored cell (a bound for unbounded windows: their tiles stop there).
Status RocksEngine::GraphSlotRange(int64_t* first, int64_t* last) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), graph_cf_));
  it->SeekToFirst();
  if (!it->Valid()) {
    *first = 1;
    *last = 0;
    return FromRocks(it->status(), "read graph aggregates");
  }
  auto parse = [](std::string_view key, int* level, uint32_t* cell) {
    if (key.size() != keys::kGraphCellKeyLen) return false;
    *level = static_cast<uint8_t>(key[4]);
    *cell = coding::DecodeFixed32(key.data() + 5);
    return *level < keys::kGraphLevels;
  };
  int level = 0;
  uint32_t cell = 0;
  if (!parse(View(it->key()), &level, &cell)) return Status::Corruption("malformed graph key");
  *first = int64_t{cell} * keys::kGraphLevelSlots[level];
  it->SeekToLast();
  if (!it->Valid() || !parse(View(it->key()), &level, &cell)) {
    return it->status().ok() ? Status::Corruption("malformed graph key") : FromRocks(it->status(), "read graph");
  }
  // The last key of the newest bucket is its widest level's newest cell.
  *last = (int64_t{cell} + 1) * keys::kGraphLevelSlots[level] - 1;
  return Status::OK();
}

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

  // Only the stored range needs reading: an unbounded window is not
  // billions of empty cells.
  int64_t stored_first = 0, stored_last = 0;
  TRACEDB_RETURN_IF_ERROR(GraphSlotRange(&stored_first, &stored_last));
  // Tiles stay aligned to the window (a cell must lie inside it), so the
  // stored range only trims whole empty cells at the ends.
  const int64_t from = std::max(first, stored_first - stored_first % keys::kGraphLevelSlots[keys::kGraphLevels - 1]);
  const int64_t to = std::min(last, stored_last);
  std::vector<std::string> cell_keys;
  if (from <= to) {
    for (const Cell& c : Tile(from, to)) {
      const int64_t n = keys::kGraphLevelSlots[c.level];
      const int64_t t0 = int64_t{c.index} * n * keys::kGraphSlotNs;
      const int64_t t1 = t0 + n * keys::kGraphSlotNs - 1;
      for (uint32_t b = BucketOf(t0, options_.bucket_seconds); b <= BucketOf(t1, options_.bucket_seconds); ++b) {
        cell_keys.push_back(keys::GraphCellKey(b, c.level, c.index));
      }
    }
  }
  out.slots = cell_keys.size();
  std::vector<rocksdb::Slice> slices(cell_keys.begin(), cell_keys.end());
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(cell_keys.size(), graph_cf_);
  std::vector<std::string> values;
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  std::vector<rocksdb::Status> statuses = db_->MultiGet(ro, cfs, slices, &values);
  db_->ReleaseSnapshot(snapshot);
  GraphCellSum sum;
  for (size_t i = 0; i < statuses.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    TRACEDB_RETURN_IF_ERROR(FromRocks(statuses[i], "read graph aggregates"));
    if (!sum.Add(values[i])) return Status::Corruption("malformed graph cell");
  }
  Status status;
  bool ok = sum.ForEach([&](std::string_view key, const GraphAccumulator& v) {
    if (!status.ok() || key.empty()) {
      if (status.ok()) status = Status::Corruption("empty graph entry key");
      return;
    }
    std::string_view rest = key.substr(1);
    switch (key[0]) {
      case 'T': out.traces += static_cast<uint64_t>(std::max<int64_t>(v.fields[0], 0)); break;
      case 'N': status = AddNode(rest, v, &out); break;
      case 'E': status = AddEdge(rest, v, &out); break;
      default: status = Status::Corruption("unknown graph key tag");
    }
  });
  if (!ok) return Status::Corruption("malformed graph value");
  TRACEDB_RETURN_IF_ERROR(status);
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
