// The write path: turns a WriteBatch of model operations into one sorted
// RocksDB WriteBatch. Per-trace state (TraceState) lets it decide, without
// reading, whether an event is a duplicate and which index entries are new,
// so index writes happen once per trace (time, flow, execution, status) or
// once per (trace, actor), never once per event.
//
// A trace merged from pieces (MergeTrace, OTel) may learn an earlier start
// later. Every key that embeds the start moves with it in the same batch:
// index entries at once, column chunks (they carry trace_start_ns) and, when
// the time bucket changes, events and chunks under the new bucket prefix at
// the end of the batch, so that "bucket = BucketOf(start)" keeps holding
// for the readers. It is rare (a trace's root usually arrives last but
// starts in the same bucket) and touches one trace's keys.
//
// Graph aggregates (keys.h, "graph") are RocksDB Merge operands summed per
// batch: only events that pass dedup count, under the trace's start slot
// (TraceState::graph_prefix). A trace whose start slot moves, or which
// StoreTrace replaces, has its stored figures subtracted from the old
// slot (read back from its events: rare, one trace) and added to the new.

#include <pthread.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <deque>
#include <future>
#include <map>

#include "common/coding.h"
#include "engine/keys.h"
#include "engine/rocks_engine.h"
#include "engine/trace_rules.h"
#include "schema/hot_fields.h"

namespace tracedb::engine {

void WriteBatch::StartTrace(schema::Trace header, StartMode mode) {
  Op op;
  op.kind = Op::Kind::kStart;
  op.start_mode = mode;
  op.trace_id = header.trace_id;
  header.events.clear();
  op.trace = std::make_unique<schema::Trace>(std::move(header));
  ops_.push_back(std::move(op));
}

void WriteBatch::AppendEvent(const Id128& trace_id, schema::Event event) {
  Op op;
  op.kind = Op::Kind::kAppend;
  op.trace_id = trace_id;
  op.event = std::move(event);
  ops_.push_back(std::move(op));
}

void WriteBatch::EndTrace(const Id128& trace_id, schema::ExecutionStatus status, TimestampNs end_ns,
                          EndReason reason, StatusRule rule) {
  Op op;
  op.kind = Op::Kind::kEnd;
  op.trace_id = trace_id;
  op.status = std::move(status);
  op.end_ns = end_ns;
  op.end_reason = reason;
  op.status_rule = rule;
  ops_.push_back(std::move(op));
}

void WriteBatch::StoreTrace(schema::Trace trace) {
  Op op;
  op.kind = Op::Kind::kStore;
  op.trace_id = trace.trace_id;
  op.trace = std::make_unique<schema::Trace>(std::move(trace));
  ops_.push_back(std::move(op));
}

void WriteBatch::MergeTrace(schema::Trace header, HeaderRole role, std::vector<std::string> flows) {
  Op op;
  op.kind = Op::Kind::kMerge;
  op.role = role;
  op.trace_id = header.trace_id;
  header.events.clear();
  op.trace = std::make_unique<schema::Trace>(std::move(header));
  op.flows = std::move(flows);
  ops_.push_back(std::move(op));
}

namespace {

// A column chunk is closed early when it reaches this many events, so that
// actor indexes fit in 16 bits and chunks stay small enough to scan.
constexpr size_t kMaxChunkEvents = 8192;

// The engine's reusable write buffers are released after a batch larger
// than this.
constexpr size_t kKeepBufferBytes = size_t{32} << 20;
// Batches prepared ahead of the one being committed, at most.
constexpr size_t kMaxQueuedCommits = 2;

bool IsZero(const Id128& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

std::string StatusValue(schema::StatusCode code) { return std::string(1, static_cast<char>(code)); }

std::string IdValue(const Id128& id) { return std::string(reinterpret_cast<const char*>(id.data()), id.size()); }

std::string_view ShortName(std::string_view op_name) {
  size_t dot = op_name.rfind('.');
  return dot == std::string_view::npos ? op_name : op_name.substr(dot + 1);
}

}  // namespace

// Prepares one batch, under write_mu_: its operations applied to the trace
// states, and the RocksDB WriteBatch built in `buffers`, ready to commit.
class WritePath {
 public:
  WritePath(RocksEngine* engine, RocksEngine::WriteBuffers* buffers)
      : e_(engine), arena_(buffers->arena), entries_(buffers->entries), wb_(buffers->batch) {}

  // On failure the touched states are forgotten (Abandon) and nothing is
  // to be written.
  Status Prepare(const WriteBatch& batch) {
    arena_.clear();
    entries_.clear();
    entries_.reserve(batch.size() + 16);
    arena_.reserve(batch.size() * 800);
    for (const auto& op : batch.ops()) {
      Status s;
      switch (op.kind) {
        case WriteBatch::Op::Kind::kStart: s = Start(*op.trace, op.start_mode); break;
        case WriteBatch::Op::Kind::kAppend: s = Append(op.trace_id, op.event, /*assign_seq=*/true); break;
        case WriteBatch::Op::Kind::kEnd:
          s = End(op.trace_id, op.status, op.end_ns, op.end_reason, op.status_rule);
          break;
        case WriteBatch::Op::Kind::kStore: s = Store(*op.trace); break;
        case WriteBatch::Op::Kind::kMerge: s = Merge(*op.trace, op.role, op.flows); break;
      }
      if (!s.ok()) {
        Abandon();
        return s;
      }
    }
    Status s = FinishStates();
    if (s.ok()) s = Build();
    if (!s.ok()) {
      Abandon();
      return s;
    }
    return Status::OK();
  }

  const WriteResult& result() const { return result_; }
  // The states this batch touched (nullptr: absent), as they are after it.
  std::unordered_map<Id128, std::shared_ptr<TraceState>, Id128Hash>& touched() { return touched_; }

 private:
  enum class Cf : uint8_t { kTraces = 0, kEvents = 1, kColumns = 2, kIndex = 3, kGraph = 4 };
  // kSkip: an entry superseded later in the same batch (a relocated chunk).
  enum class Kind : uint8_t { kPut, kDelete, kDeleteRange, kSkip, kMerge };
  // Keys and values live in one arena string (no allocation per entry);
  // entries refer to them by offset because the arena may grow.
  using Entry = RocksEngine::WriteBuffers::Entry;

  std::string_view Bytes(uint32_t off, uint32_t len) const { return std::string_view(arena_).substr(off, len); }

  // Starts an entry whose key the caller appends to arena_ next; FinishKey
  // records its length.
  size_t BeginKey() const { return arena_.size(); }
  void AddEntry(Cf cf, Kind kind, size_t key_off, std::string_view value) {
    auto key_len = static_cast<uint32_t>(arena_.size() - key_off);
    auto val_off = static_cast<uint32_t>(arena_.size());
    arena_.append(value);
    entries_.push_back({static_cast<uint8_t>(cf), static_cast<uint8_t>(kind), static_cast<uint32_t>(key_off), key_len,
                        val_off, static_cast<uint32_t>(value.size())});
  }
  void Put(Cf cf, std::string_view key, std::string_view value) {
    size_t off = BeginKey();
    arena_.append(key);
    AddEntry(cf, Kind::kPut, off, value);
  }
  void Delete(Cf cf, std::string_view key) {
    size_t off = BeginKey();
    arena_.append(key);
    AddEntry(cf, Kind::kDelete, off, {});
  }

  rocksdb::ColumnFamilyHandle* Handle(Cf cf) const {
    switch (cf) {
      case Cf::kTraces: return e_->traces_cf_;
      case Cf::kEvents: return e_->events_cf_;
      case Cf::kColumns: return e_->columns_cf_;
      case Cf::kIndex: return e_->index_cf_;
      case Cf::kGraph: return e_->graph_cf_;
    }
    return nullptr;
  }

  // The state of `id` as of the ops applied so far: nullptr when absent.
  Result<std::shared_ptr<TraceState>> Lookup(const Id128& id) {
    auto it = touched_.find(id);
    if (it != touched_.end()) return it->second;
    std::shared_ptr<TraceState> state = e_->cache_.Find(id);
    bool pinned = false;
    if (!state) state = e_->FindPinned(id, &pinned);
    if (state && state->header.start_ns < e_->retention_cutoff()) {
      e_->cache_.Erase(id);
      state.reset();
    } else if (!state && !pinned) {
      TRACEDB_ASSIGN_OR_RETURN(state, e_->LoadState(id));
    }
    touched_[id] = state;
    return state;
  }

  void IndexPut(IndexKind kind, std::string_view value, const TraceState& st) {
    size_t off = BeginKey();
    keys::AppendIndexKey(&arena_, kind, value, st.header.start_ns, st.header.trace_id);
    AddEntry(Cf::kIndex, Kind::kPut, off, {});
  }
  void IndexDelete(IndexKind kind, std::string_view value, const TraceState& st) {
    size_t off = BeginKey();
    keys::AppendIndexKey(&arena_, kind, value, st.header.start_ns, st.header.trace_id);
    AddEntry(Cf::kIndex, Kind::kDelete, off, {});
  }

  // Calls fn(kind, value) for every index entry the trace has (all of them
  // carry its start).
  template <typename Fn>
  static void ForEachIndexEntry(const TraceState& st, Fn&& fn) {
    fn(IndexKind::kTime, std::string_view());
    fn(IndexKind::kFlow, std::string_view(st.header.flow_id));
    for (const auto& flow : st.bk.flows) fn(IndexKind::kFlow, std::string_view(flow));
    fn(IndexKind::kStatus, std::string_view(StatusValue(st.header.status.code)));
    if (!IsZero(st.header.execution_id)) fn(IndexKind::kExecution, std::string_view(IdValue(st.header.execution_id)));
    for (const auto& actor : st.bk.actors) fn(IndexKind::kActor, std::string_view(actor));
  }

  // Adds `flow` to the trace's flow-index values (bk.flows beside flow_id).
  void IndexFlow(TraceState* st, const std::string& flow) {
    if (flow == st->header.flow_id) return;
    if (std::find(st->bk.flows.begin(), st->bk.flows.end(), flow) != st->bk.flows.end()) return;
    st->bk.flows.push_back(flow);
    IndexPut(IndexKind::kFlow, flow, *st);
  }

  std::shared_ptr<TraceState> Create(schema::Trace header, bool has_flow_version) {
    auto st = std::make_shared<TraceState>();
    header.events.clear();
    st->header = std::move(header);
    st->bk.bucket = BucketOf(st->header.start_ns, e_->options_.bucket_seconds);
    st->bk.has_flow_version = has_flow_version;
    st->bk.last_event_ns = st->header.start_ns;
    st->graph_prefix = GraphPrefixOf(st->header.start_ns);
    graph_.AddTrace(st->graph_prefix, 1);
    if (st->header.source == schema::Source::kOtel) st->otel_graph = std::make_unique<OtelGraphState>();
    IndexPut(IndexKind::kTime, {}, *st);
    IndexPut(IndexKind::kFlow, st->header.flow_id, *st);
    IndexPut(IndexKind::kStatus, StatusValue(st->header.status.code), *st);
    if (!IsZero(st->header.execution_id)) IndexPut(IndexKind::kExecution, IdValue(st->header.execution_id), *st);
    if (has_flow_version && st->header.source == schema::Source::kReflow) {
      Put(Cf::kIndex, keys::FlowVersionKey(st->header.flow_id, st->header.version), {});
    }
    if (st->header.end_ns || st->header.status.code != schema::StatusCode::kRunning) {
      st->bk.ended_by = static_cast<uint8_t>(EndReason::kEnded);
    }
    st->dirty = true;
    ++result_.traces_created;
    touched_[st->header.trace_id] = st;
    return st;
  }

  Status Start(const schema::Trace& header, StartMode mode) {
    TRACEDB_ASSIGN_OR_RETURN(std::shared_ptr<TraceState> st, Lookup(header.trace_id));
    if (!st) {
      Create(header, /*has_flow_version=*/true);
      return Status::OK();
    }
    if (mode == StartMode::kCreateOnly) return Status::OK();
    schema::Trace& h = st->header;
    if (h.flow_id != header.flow_id) {
      IndexDelete(IndexKind::kFlow, h.flow_id, *st);
      h.flow_id = header.flow_id;
      IndexPut(IndexKind::kFlow, h.flow_id, *st);
    }
    if (h.execution_id != header.execution_id && !IsZero(header.execution_id)) {
      if (!IsZero(h.execution_id)) IndexDelete(IndexKind::kExecution, IdValue(h.execution_id), *st);
      h.execution_id = header.execution_id;
      IndexPut(IndexKind::kExecution, IdValue(h.execution_id), *st);
    }
    h.version = header.version;
    h.metadata = header.metadata;
    if (!header.external_id.empty()) h.external_id = header.external_id;
    if (header.attributes_json != "{}") h.attributes_json = header.attributes_json;
    if (h.source == schema::Source::kReflow) {
      st->bk.has_flow_version = true;
      Put(Cf::kIndex, keys::FlowVersionKey(h.flow_id, h.version), {});
    }
    st->dirty = true;
    return Status::OK();
  }

  std::shared_ptr<TraceState> CreateLazy(const Id128& id, const schema::Event& event) {
    schema::Trace h;
    h.trace_id = id;
    h.source = event.operonx ? schema::Source::kOperonx
               : event.otel  ? schema::Source::kOtel
                             : schema::Source::kReflow;
    h.flow_id = "unknown";
    h.execution_id = id;
    h.start_ns = event.timestamp_ns;
    h.version.timestamp_ns = event.timestamp_ns;
    h.status.code = schema::StatusCode::kRunning;
    h.metadata.environment = "unknown";
    h.metadata.hostname = "unknown";
    return Create(std::move(h), /*has_flow_version=*/false);
  }

  void IndexActor(TraceState* st, std::string_view name) {
    if (name.empty() || st->actor_set.contains(name)) return;
    st->actor_set.emplace(name);
    st->bk.actors.emplace_back(name);
    IndexPut(IndexKind::kActor, name, *st);
  }

  uint16_t ChunkActor(TraceState* st, const std::string& actor) {
    auto it = st->pending_actor_ids.find(std::string_view(actor));
    if (it != st->pending_actor_ids.end()) return it->second;
    const auto id = static_cast<uint16_t>(st->pending.actors.size());
    st->pending_actor_ids.emplace(actor, id);
    st->pending.actors.push_back(actor);
    return id;
  }

  // The service column (schema::Columns::service): stored only once the
  // chunk holds an OTel span, so chunks of other sources are unchanged.
  void ChunkService(TraceState* st, const schema::Event& event) {
    schema::Columns& c = st->pending;
    if (!event.otel) {
      if (!c.service.empty()) c.service.push_back(schema::Columns::kNoService);
      return;
    }
    static const schema::OtelResource kNoResource;
    std::string_view name = schema::OtelServiceName(event.otel->resource ? *event.otel->resource : kNoResource);
    auto it = st->pending_service_ids.find(name);
    if (it == st->pending_service_ids.end()) {
      it = st->pending_service_ids.emplace(name, static_cast<uint16_t>(c.services.size())).first;
      c.services.push_back(it->first);
    }
    c.service.resize(c.size() - 1, schema::Columns::kNoService);
    c.service.push_back(it->second);
  }

  void FlushChunk(const Id128& id, TraceState* st) {
    if (st->pending.size() == 0) return;
    st->pending.trace_start_ns = st->header.start_ns;
    Put(Cf::kColumns, keys::ColumnKey(st->bk.bucket, id, st->bk.chunk_count++), schema::EncodeColumns(st->pending));
    st->pending = schema::Columns();
    st->pending_actor_ids.clear();
    st->pending_service_ids.clear();
  }

  std::string GraphPrefixOf(TimestampNs start) const {
    return keys::GraphPrefix(BucketOf(start, e_->options_.bucket_seconds), keys::GraphSlotOf(start));
  }

  // Adds a newly stored event to the graph deltas, as query/graph.cc counts
  // it for the trace's source.
  Status CountInGraph(const Id128& id, TraceState* st, const schema::Event& event, const schema::HotFields& hot) {
    switch (st->header.source) {
      case schema::Source::kReflow: graph_.AddReflowEvent(st->graph_prefix, event, 1); break;
      case schema::Source::kOperonx: graph_.AddOperonxEvent(st->graph_prefix, event, hot, 1); break;
      case schema::Source::kOtel:
        if (!event.otel) break;
        if (!st->otel_graph) {
          // Loaded state: rebuild the span map from the stored spans (this
          // batch has appended none of this trace's spans yet).
          auto graph = std::make_unique<OtelGraphState>();
          std::vector<schema::Event> stored;
          e_->SettleCommits();
          TRACEDB_RETURN_IF_ERROR(e_->ReadStoredEvents(st->bk.bucket, id, &stored));
          for (const auto& e : stored) {
            if (e.otel) graph->AddSpan(e, st->graph_prefix, nullptr);
          }
          st->otel_graph = std::move(graph);
        }
        st->otel_graph->AddSpan(event, st->graph_prefix, &graph_);
        break;
    }
    return Status::OK();
  }

  // The trace's start slot moved (MergeTrace): its figures so far (stored
  // events and this batch's, all counted under the old slot) move along.
  Status MoveGraph(const Id128& id, TraceState* st) {
    std::string prefix = GraphPrefixOf(st->header.start_ns);
    if (prefix == st->graph_prefix) return Status::OK();
    std::vector<schema::Event> events;
    e_->SettleCommits();
    TRACEDB_RETURN_IF_ERROR(e_->ReadStoredEvents(st->bk.bucket, id, &events));
    const std::string event_prefix = keys::TracePrefix(st->bk.bucket, id);
    for (const Entry& entry : entries_) {
      if (static_cast<Cf>(entry.cf) != Cf::kEvents || static_cast<Kind>(entry.kind) != Kind::kPut) continue;
      std::string_view key = Bytes(entry.key_off, entry.key_len);
      if (!key.starts_with(event_prefix)) continue;
      keys::EventKeyParts parts;
      if (!keys::ParseEventKey(key, &parts)) return Status::Internal("malformed event key in batch");
      schema::Event& e = events.emplace_back();
      TRACEDB_RETURN_IF_ERROR(schema::DecodeEventRecord(Bytes(entry.val_off, entry.val_len), &e));
      e.timestamp_ns = parts.ts;
    }
    graph_.AddWholeTrace(st->graph_prefix, st->header.source, events, -1);
    graph_.AddTrace(st->graph_prefix, -1);
    graph_.AddWholeTrace(prefix, st->header.source, events, 1);
    graph_.AddTrace(prefix, 1);
    st->graph_prefix = std::move(prefix);
    return Status::OK();
  }

  // StoreTrace replaces `st`'s trace: its stored figures leave the graph.
  Status UncountStored(const Id128& id, const TraceState& st) {
    std::vector<schema::Event> events;
    e_->SettleCommits();
    TRACEDB_RETURN_IF_ERROR(e_->ReadStoredEvents(st.bk.bucket, id, &events));
    graph_.AddWholeTrace(st.graph_prefix, st.header.source, events, -1);
    graph_.AddTrace(st.graph_prefix, -1);
    return Status::OK();
  }

  // One merge operand per cell per level (keys.h, "graph"): the batch's
  // deltas of each 1 s slot become one cell, and the cells of a coarser
  // level are the sum of its slots' (most batches touch one or two slots).
  Status FlushGraph() {
    if (graph_.empty()) return Status::OK();
    std::map<std::string_view, std::vector<std::pair<std::string_view, const GraphValue*>>> by_slot;
    for (const auto& [key, value] : graph_.values()) {
      if (value.IsZero()) continue;
      std::string_view k(key);
      by_slot[k.substr(0, keys::kGraphPrefixLen)].emplace_back(k.substr(keys::kGraphPrefixLen), &value);
    }
    // Level 0: one cell per slot. Level L > 0: the sum of the level L - 1
    // cells inside it (each level's width is a multiple of the one below),
    // so a coarse cell sums the already merged entries of finer cells, not
    // every slot again; a cell with one part reuses that part's bytes.
    struct Cell {
      uint32_t bucket;
      uint32_t slot;  // the first slot it covers
      std::string_view value;
    };
    std::deque<std::string> storage;  // encoded cells (stable addresses)
    std::vector<Cell> level_cells;
    level_cells.reserve(by_slot.size());
    for (auto& [prefix, entries] : by_slot) {
      std::sort(entries.begin(), entries.end());
      AppendGraphCell(&storage.emplace_back(), entries);
      level_cells.push_back({coding::DecodeFixed32(prefix.data()), coding::DecodeFixed32(prefix.data() + 4),
                             storage.back()});
    }
    std::vector<Cell> next;
    for (int level = 0; level < keys::kGraphLevels; ++level) {
      const uint32_t width = keys::kGraphLevelSlots[level];
      next.clear();
      // level_cells is ordered by (bucket, slot): the parts of a cell are
      // consecutive.
      for (size_t i = 0; i < level_cells.size();) {
        const Cell& first = level_cells[i];
        size_t j = i + 1;
        while (j < level_cells.size() && level_cells[j].bucket == first.bucket &&
               level_cells[j].slot / width == first.slot / width) {
          ++j;
        }
        std::string_view value = first.value;
        if (j - i > 1) {
          GraphCellSum sum;
          for (size_t k = i; k < j; ++k) {
            if (!sum.Add(level_cells[k].value)) return Status::Internal("graph cell encoding");
          }
          sum.AppendTo(&storage.emplace_back());
          value = storage.back();
        }
        size_t off = BeginKey();
        arena_.append(keys::GraphCellKey(first.bucket, level, first.slot / width));
        AddEntry(Cf::kGraph, Kind::kMerge, off, value);
        next.push_back({first.bucket, first.slot, value});
        i = j;
      }
      level_cells.swap(next);
    }
    return Status::OK();
  }

  Status Append(const Id128& id, const schema::Event& event, bool assign_seq) {
    TRACEDB_ASSIGN_OR_RETURN(std::shared_ptr<TraceState> st, Lookup(id));
    if (!st) st = CreateLazy(id, event);
    uint64_t fp = EventFingerprint(event.event_id);
    if (!st->fingerprints.Insert(fp)) {
      ++result_.duplicates;
      return Status::OK();
    }
    // Reflow has no seq on the wire: arrival order breaks timestamp ties.
    uint64_t seq = (assign_seq && event.reflow) ? st->bk.event_count : event.seq;
    size_t key_off = BeginKey();
    keys::AppendEventKey(&arena_, st->bk.bucket, id, event.timestamp_ns, seq, event.event_id);
    AddEntry(Cf::kEvents, Kind::kPut, key_off, encoder_.Encode(event));
    IndexActor(st.get(), event.actor);
    if (event.operonx && ShortName(event.actor).size() != event.actor.size()) {
      IndexActor(st.get(), std::string(1, kShortNameMarker) + std::string(ShortName(event.actor)));
    }

    if (st->pending.size() >= kMaxChunkEvents || st->pending.actors.size() >= UINT16_MAX ||
        st->pending.services.size() >= schema::Columns::kNoService) {
      FlushChunk(id, st.get());
      early_flushed_.insert(id);
    }
    schema::HotFields hot = schema::ExtractHotFields(event);
    schema::Columns& c = st->pending;
    c.timestamp_ns.push_back(event.timestamp_ns);
    c.seq.push_back(seq);
    c.event_fp.push_back(fp);
    c.type.push_back(static_cast<uint8_t>(event.type));
    c.actor.push_back(ChunkActor(st.get(), event.actor));
    c.duration_ns.push_back(hot.duration_ns.value_or(ColumnChunk::kNone));
    c.size_bytes.push_back(hot.size_bytes.value_or(ColumnChunk::kNone));
    c.status.push_back(static_cast<uint8_t>(hot.status));
    TRACEDB_RETURN_IF_ERROR(CountInGraph(id, st.get(), event, hot));
    if (hot.span_kind != 0 || !c.span_kind.empty()) {  // empty while every kind is 0 (Columns)
      c.span_kind.resize(c.size() - 1, 0);
      c.span_kind.push_back(hot.span_kind);
    }
    ChunkService(st.get(), event);
    CountEventStatus(&st->bk, event, hot.status);

    ++st->bk.event_count;
    st->bk.last_event_ns = std::max(st->bk.last_event_ns, event.timestamp_ns);
    st->dirty = true;
    ++result_.events_written;
    return Status::OK();
  }


  Status End(const Id128& id, schema::ExecutionStatus status, TimestampNs end_ns, EndReason reason,
             StatusRule rule) {
    TRACEDB_ASSIGN_OR_RETURN(std::shared_ptr<TraceState> st, Lookup(id));
    if (!st) {
      ++result_.unknown_traces;
      return Status::OK();
    }
    if (rule == StatusRule::kFromEvents) {
      status = StatusFromEvents(st->bk);
      end_ns = st->bk.last_event_ns;
    }
    // Finalizing never overrides an explicit end.
    if (reason == EndReason::kFinalized && st->bk.ended_by != static_cast<uint8_t>(EndReason::kOpen)) {
      return Status::OK();
    }
    MoveStatus(st.get(), status);
    st->header.end_ns = end_ns;
    st->bk.ended_by = static_cast<uint8_t>(reason);
    st->dirty = true;
    ++result_.traces_ended;
    return Status::OK();
  }

  void MoveStatus(TraceState* st, const schema::ExecutionStatus& status) {
    if (st->header.status.code != status.code) {
      IndexDelete(IndexKind::kStatus, StatusValue(st->header.status.code), *st);
      IndexPut(IndexKind::kStatus, StatusValue(status.code), *st);
    }
    st->header.status = status;
  }

  Status Merge(const schema::Trace& header, HeaderRole role, const std::vector<std::string>& flows) {
    TRACEDB_ASSIGN_OR_RETURN(std::shared_ptr<TraceState> st, Lookup(header.trace_id));
    if (!st) {
      st = Create(header, /*has_flow_version=*/false);
      st->bk.has_root = role == HeaderRole::kRoot;
    } else {
      schema::Trace& h = st->header;
      bool names = role == HeaderRole::kRoot ? !st->bk.has_root : !st->bk.has_root && header.start_ns < h.start_ns;
      if (names) Rename(st.get(), header);
      if (role == HeaderRole::kRoot) st->bk.has_root = true;
      if (header.start_ns < h.start_ns) MoveStart(st.get(), header.start_ns);
      if (header.end_ns && (!h.end_ns || *header.end_ns > *h.end_ns)) h.end_ns = header.end_ns;
      if (header.status.code == schema::StatusCode::kFailed && h.status.code != schema::StatusCode::kFailed) {
        MoveStatus(st.get(), header.status);
      }
      if (h.end_ns && st->bk.ended_by == static_cast<uint8_t>(EndReason::kOpen)) {
        st->bk.ended_by = static_cast<uint8_t>(EndReason::kEnded);
      }
    }
    for (const auto& flow : flows) IndexFlow(st.get(), flow);
    st->dirty = true;
    return Status::OK();
  }

  // Takes the naming fields of `header`. The old flow stays a flow-index
  // value of the trace (its spans are still there).
  void Rename(TraceState* st, const schema::Trace& header) {
    schema::Trace& h = st->header;
    if (h.flow_id != header.flow_id) {
      auto it = std::find(st->bk.flows.begin(), st->bk.flows.end(), header.flow_id);
      if (it != st->bk.flows.end()) {
        st->bk.flows.erase(it);  // indexed already
      } else {
        IndexPut(IndexKind::kFlow, header.flow_id, *st);
      }
      st->bk.flows.push_back(std::move(h.flow_id));
      h.flow_id = header.flow_id;
    }
    h.name = header.name;
    h.metadata = header.metadata;
    h.attributes_json = header.attributes_json;
  }

  // Re-keys the trace's index entries under an earlier start; its chunks and
  // events follow in Relocate at the end of the batch.
  void MoveStart(TraceState* st, TimestampNs start) {
    ForEachIndexEntry(*st, [&](IndexKind kind, std::string_view value) { IndexDelete(kind, value, *st); });
    st->header.start_ns = start;
    ForEachIndexEntry(*st, [&](IndexKind kind, std::string_view value) { IndexPut(kind, value, *st); });
    moved_.insert(st->header.trace_id);
  }

  // Rewrites the column chunks of a trace whose start moved (they carry
  // trace_start_ns) and, when its bucket changed, moves its events and
  // chunks to the new bucket prefix: this batch's entries in place, stored
  // ones by copy and range delete.
  Status Relocate(const Id128& id, TraceState* st) {
    const uint32_t old_bucket = st->bk.bucket;
    const uint32_t bucket = BucketOf(st->header.start_ns, e_->options_.bucket_seconds);
    const std::string old_prefix = keys::TracePrefix(old_bucket, id);
    const std::string prefix = keys::TracePrefix(bucket, id);
    st->bk.bucket = bucket;
    if (bucket != old_bucket || early_flushed_.count(id) != 0) {
      TRACEDB_RETURN_IF_ERROR(RelocateBatchEntries(old_prefix, prefix, st->header.start_ns));
    }
    TRACEDB_RETURN_IF_ERROR(RelocateStored(Cf::kColumns, old_prefix, prefix, st->header.start_ns));
    if (bucket != old_bucket) {
      TRACEDB_RETURN_IF_ERROR(RelocateStored(Cf::kEvents, old_prefix, prefix, st->header.start_ns));
      for (Cf cf : {Cf::kEvents, Cf::kColumns}) {
        size_t off = BeginKey();
        arena_.append(old_prefix);
        AddEntry(cf, Kind::kDeleteRange, off, coding::PrefixSuccessor(old_prefix));
      }
    }
    return Status::OK();
  }

  Status RelocateBatchEntries(const std::string& old_prefix, const std::string& prefix, TimestampNs start) {
    std::vector<size_t> chunks;
    for (size_t i = 0; i < entries_.size(); ++i) {
      Entry& entry = entries_[i];
      auto cf = static_cast<Cf>(entry.cf);
      if ((cf != Cf::kEvents && cf != Cf::kColumns) || static_cast<Kind>(entry.kind) != Kind::kPut) continue;
      if (!Bytes(entry.key_off, entry.key_len).starts_with(old_prefix)) continue;
      if (cf == Cf::kColumns) {
        chunks.push_back(i);
      } else {
        arena_.replace(entry.key_off, prefix.size(), prefix);  // same length: only the bucket differs
      }
    }
    for (size_t i : chunks) {
      // Copies: Put below may grow the arena under the views.
      std::string key(Bytes(entries_[i].key_off, entries_[i].key_len));
      std::string value(Bytes(entries_[i].val_off, entries_[i].val_len));
      entries_[i].kind = static_cast<uint8_t>(Kind::kSkip);
      TRACEDB_RETURN_IF_ERROR(PutRelocatedChunk(key, value, prefix, start));
    }
    return Status::OK();
  }

  Status PutRelocatedChunk(std::string_view key, std::string_view value, const std::string& prefix,
                           TimestampNs start) {
    schema::Columns chunk;
    TRACEDB_RETURN_IF_ERROR(schema::DecodeColumns(value, &chunk));
    chunk.trace_start_ns = start;
    Put(Cf::kColumns, Rebucketed(key, prefix), schema::EncodeColumns(chunk));
    return Status::OK();
  }

  // `key` (an event or chunk key of the trace) under the trace prefix
  // `prefix`: the prefixes differ only in their bucket, so have one length.
  static std::string Rebucketed(std::string_view key, const std::string& prefix) {
    std::string out = prefix;
    out.append(key.substr(prefix.size()));
    return out;
  }

  Status RelocateStored(Cf cf, const std::string& old_prefix, const std::string& prefix, TimestampNs start) {
    std::string upper = coding::PrefixSuccessor(old_prefix);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice;
    e_->SettleCommits();
    std::unique_ptr<rocksdb::Iterator> it(e_->db_->NewIterator(ro, Handle(cf)));
    for (it->Seek(old_prefix); it->Valid(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      std::string_view value(it->value().data(), it->value().size());
      if (cf == Cf::kColumns) {
        TRACEDB_RETURN_IF_ERROR(PutRelocatedChunk(key, value, prefix, start));
      } else {
        Put(cf, Rebucketed(key, prefix), value);
      }
    }
    return FromRocks(it->status(), "relocate trace");
  }

  // Removes every key of a stored trace (header kept for the caller to
  // overwrite): events and columns by range, index entries one by one.
  void Remove(const Id128& id, const TraceState& st) {
    std::string prefix = keys::TracePrefix(st.bk.bucket, id);
    std::string end = coding::PrefixSuccessor(prefix);
    for (Cf cf : {Cf::kEvents, Cf::kColumns}) {
      size_t off = BeginKey();
      arena_.append(prefix);
      AddEntry(cf, Kind::kDeleteRange, off, end);
    }
    ForEachIndexEntry(st, [&](IndexKind kind, std::string_view value) { IndexDelete(kind, value, st); });
  }

  Status Store(const schema::Trace& trace) {
    TRACEDB_ASSIGN_OR_RETURN(std::shared_ptr<TraceState> old, Lookup(trace.trace_id));
    // The events the replaced trace held are rewritten, but they are not new:
    // they count as duplicates (a resent StoreTrace stores nothing new).
    FingerprintSet held;
    if (old) {
      held = old->fingerprints;
      TRACEDB_RETURN_IF_ERROR(UncountStored(trace.trace_id, *old));
      Remove(trace.trace_id, *old);
      moved_.erase(trace.trace_id);
      --result_.traces_created;  // Create below counts it again; a replace is not a creation
    }
    std::shared_ptr<TraceState> st = Create(trace, /*has_flow_version=*/true);
    st->bk.ended_by = static_cast<uint8_t>(trace.end_ns ? EndReason::kEnded : EndReason::kOpen);
    uint64_t position = 0;
    for (const auto& event : trace.events) {
      schema::Event copy = event;
      if (copy.reflow) copy.seq = position;
      ++position;
      const uint64_t written = result_.events_written;
      TRACEDB_RETURN_IF_ERROR(Append(trace.trace_id, copy, /*assign_seq=*/false));
      if (result_.events_written != written && held.Contains(EventFingerprint(event.event_id))) {
        --result_.events_written;
        ++result_.duplicates;
      }
    }
    return Status::OK();
  }

  Status FinishStates() {
    for (auto& [id, st] : touched_) {
      if (!st || !st->dirty) continue;
      if (moved_.count(id) != 0) {
        TRACEDB_RETURN_IF_ERROR(MoveGraph(id, st.get()));  // before Relocate re-keys the batch's events
        TRACEDB_RETURN_IF_ERROR(Relocate(id, st.get()));
      }
      FlushChunk(id, st.get());
      Put(Cf::kTraces, keys::TraceKey(id), schema::EncodeTraceRecord(st->header, st->bk));
      st->dirty = false;
    }
    return FlushGraph();
  }

  // Sorts the entries and builds the RocksDB batch from them.
  Status Build() {
    // Stable: operations on one key keep their order (a status that moves
    // twice in one batch deletes and re-puts the same key).
    std::stable_sort(entries_.begin(), entries_.end(), [this](const Entry& a, const Entry& b) {
      if (a.cf != b.cf) return a.cf < b.cf;
      return Bytes(a.key_off, a.key_len) < Bytes(b.key_off, b.key_len);
    });
    rocksdb::WriteBatch& wb = wb_;
    wb.Clear();
    uint64_t skipped = 0;
    for (const auto& entry : entries_) {
      rocksdb::ColumnFamilyHandle* cf = Handle(static_cast<Cf>(entry.cf));
      rocksdb::Slice key(arena_.data() + entry.key_off, entry.key_len);
      rocksdb::Slice value(arena_.data() + entry.val_off, entry.val_len);
      rocksdb::Status s;
      switch (static_cast<Kind>(entry.kind)) {
        case Kind::kPut: s = wb.Put(cf, key, value); break;
        case Kind::kDelete: s = wb.Delete(cf, key); break;
        case Kind::kDeleteRange: s = wb.DeleteRange(cf, key, value); break;
        case Kind::kMerge: s = wb.Merge(cf, key, value); break;
        case Kind::kSkip: ++skipped; break;
      }
      TRACEDB_RETURN_IF_ERROR(FromRocks(s, "build write batch"));
    }
    result_.keys_written = entries_.size() - skipped;
    result_.bytes_written = wb.GetDataSize();
    return Status::OK();
  }

  // A failed batch leaves the cached states half-applied: forget them, so
  // the next write reloads what is actually stored (once the batches
  // queued before, which may have touched them too, are).
  void Abandon() {
    e_->SettleCommits();
    for (auto& [id, st] : touched_) e_->cache_.Erase(id);
  }

  RocksEngine* e_;
  std::unordered_map<Id128, std::shared_ptr<TraceState>, Id128Hash> touched_;
  std::string& arena_;            // the batch's WriteBuffers
  std::vector<Entry>& entries_;  // the batch's WriteBuffers
  rocksdb::WriteBatch& wb_;       // the batch's WriteBuffers
  schema::EventEncoder encoder_;
  WriteResult result_;
  GraphDelta graph_;  // this batch's graph aggregate deltas
  // Traces whose start moved earlier in this batch (MergeTrace).
  std::unordered_set<Id128, Id128Hash> moved_;
  // Traces that closed a column chunk before the end of this batch.
  std::unordered_set<Id128, Id128Hash> early_flushed_;
};

// One batch on its way through the commit pipeline, or (no buffers) a
// function to run once the batches before it have reported.
struct RocksEngine::PendingWrite {
  std::unique_ptr<WriteBuffers> buffers;  // the prepared RocksDB batch
  WriteResult result;
  // The states the batch touched, findable until it is committed.
  std::unordered_map<Id128, std::shared_ptr<TraceState>, Id128Hash> states;
  uint64_t epoch = 0;  // failed_epoch_ when it was prepared
  WriteDone done;
  std::function<void()> after;  // RunAfterCommits
  std::atomic<bool> committed{false};
};

Result<WriteResult> RocksEngine::Write(const WriteBatch& batch) {
  std::promise<Result<WriteResult>> promise;
  std::future<Result<WriteResult>> future = promise.get_future();
  bool commit_here = true;  // when nothing is queued: no hand-off to the commit thread and back
  std::shared_ptr<PendingWrite> w;
  TRACEDB_ASSIGN_OR_RETURN(
      w, Prepare(batch, [&promise](Result<WriteResult> r) { promise.set_value(std::move(r)); }, &commit_here));
  if (!commit_here) return future.get();
  Result<WriteResult> r = CommitPending(*w);
  Retire(std::move(w), /*inline_commit=*/true);
  return r;
}

Status RocksEngine::WriteAsync(const WriteBatch& batch, WriteDone done) {
  bool commit_here = false;
  return Prepare(batch, std::move(done), &commit_here).status();
}

Result<std::shared_ptr<RocksEngine::PendingWrite>> RocksEngine::Prepare(const WriteBatch& batch, WriteDone done,
                                                                         bool* commit_here) {
  auto pending = std::make_shared<PendingWrite>();
  std::unique_lock<std::mutex> lock(write_mu_);
  BeginPrepare();
  {
    std::lock_guard<std::mutex> cl(commit_mu_);
    pending->epoch = failed_epoch_;
    if (!free_buffers_.empty()) {
      pending->buffers = std::move(free_buffers_.back());
      free_buffers_.pop_back();
    }
  }
  if (!pending->buffers) pending->buffers = std::make_unique<WriteBuffers>();
  TRACEDB_RETURN_IF_ERROR(CheckSpace());
  WritePath path(this, pending->buffers.get());
  Status s = path.Prepare(batch);
  if (!s.ok()) {
    NoteStorageFull(s);
    return s;
  }
  pending->result = path.result();
  pending->states = std::move(path.touched());
  for (auto& [id, state] : pending->states) {
    if (state) cache_.Insert(id, state);
  }
  pinned_.push_back(pending);
  // Queued (or claimed) under write_mu_: batches commit in the order they
  // were prepared.
  if (*commit_here) {
    std::lock_guard<std::mutex> cl(commit_mu_);
    *commit_here = in_flight_ == 0;
    if (*commit_here) {
      in_flight_ = 1;
      inline_commit_ = true;
      return pending;
    }
  }
  pending->done = std::move(done);
  Enqueue(pending);
  return pending;
}

void RocksEngine::RunAfterCommits(std::function<void()> fn) {
  auto marker = std::make_shared<PendingWrite>();
  marker->after = std::move(fn);
  marker->committed.store(true, std::memory_order_relaxed);
  Enqueue(std::move(marker));
}

void RocksEngine::Enqueue(std::shared_ptr<PendingWrite> w) {
  std::unique_lock<std::mutex> cl(commit_mu_);
  commit_cv_.wait(cl, [&] { return in_flight_ < kMaxQueuedCommits; });
  ++in_flight_;
  commit_queue_.push_back(std::move(w));
  commit_cv_.notify_all();
}

std::shared_ptr<TraceState> RocksEngine::FindPinned(const Id128& id, bool* found) const {
  for (auto it = pinned_.rbegin(); it != pinned_.rend(); ++it) {
    auto s = (*it)->states.find(id);
    if (s != (*it)->states.end()) {
      *found = true;
      return s->second;
    }
  }
  *found = false;
  return nullptr;
}

void RocksEngine::BeginPrepare() {
  while (!pinned_.empty() && pinned_.front()->committed.load(std::memory_order_acquire)) pinned_.pop_front();
  uint64_t failed;
  {
    std::lock_guard<std::mutex> cl(commit_mu_);
    failed = failed_epoch_;
  }
  if (failed == seen_epoch_) return;
  // A commit failed: the states prepared since it are not what is stored.
  // Once the batches behind it have failed too, forget every state.
  SettleCommits();
  pinned_.clear();
  ResetTraceCache();
  std::lock_guard<std::mutex> cl(commit_mu_);
  seen_epoch_ = failed_epoch_;
}

void RocksEngine::SettleCommits() {
  std::unique_lock<std::mutex> cl(commit_mu_);
  commit_cv_.wait(cl, [&] { return in_flight_ == 0; });
}

void RocksEngine::CommitLoop() {
  pthread_setname_np(pthread_self(), "tracedb:commit");  // in top, perf and gdb
  std::unique_lock<std::mutex> cl(commit_mu_);
  while (true) {
    // An inline commit (Write on an idle pipeline) goes first.
    commit_cv_.wait(cl, [&] { return (commit_stop_ || !commit_queue_.empty()) && !inline_commit_; });
    if (commit_queue_.empty()) return;  // stopping, and every batch written
    std::shared_ptr<PendingWrite> w = std::move(commit_queue_.front());
    commit_queue_.pop_front();
    cl.unlock();
    if (!w->buffers) {  // RunAfterCommits
      w->after();
      w->after = nullptr;
    } else {
      Result<WriteResult> r = CommitPending(*w);
      if (w->done) w->done(std::move(r));
      // What `done` holds goes now, on this thread: the batch stays pinned
      // (its states) until the next batch is prepared.
      w->done = nullptr;
    }
    Retire(std::move(w), /*inline_commit=*/false);
    cl.lock();
  }
}

Result<WriteResult> RocksEngine::CommitPending(PendingWrite& w) {
  bool poisoned;
  {
    std::lock_guard<std::mutex> cl(commit_mu_);
    poisoned = w.epoch != failed_epoch_;
  }
  Result<WriteResult> r = w.result;
  if (poisoned) {
    r = Status::Unavailable("not written: an earlier write failed before it; retry");
  } else if (w.buffers->batch.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync;
    Status s = FromRocks(db_->Write(wo, &w.buffers->batch), "write batch");
    if (!s.ok()) {
      NoteStorageFull(s);
      r = std::move(s);
    }
  }
  if (r.ok()) {
    counters_.CountBatch(*r);
  } else if (!poisoned) {
    // Before the caller hears of it: a batch prepared once it knows is
    // prepared against the forgotten states, not poisoned.
    std::lock_guard<std::mutex> cl(commit_mu_);
    ++failed_epoch_;
  }
  return r;
}

void RocksEngine::Retire(std::shared_ptr<PendingWrite> w, bool inline_commit) {
  w->committed.store(true, std::memory_order_release);
  std::lock_guard<std::mutex> cl(commit_mu_);
  // One huge batch (an atomic bulk request) must not pin its memory.
  if (w->buffers && w->buffers->arena.capacity() <= kKeepBufferBytes && free_buffers_.size() <= kMaxQueuedCommits) {
    free_buffers_.push_back(std::move(w->buffers));
  }
  if (inline_commit) inline_commit_ = false;
  --in_flight_;
  commit_cv_.notify_all();
}

}  // namespace tracedb::engine
