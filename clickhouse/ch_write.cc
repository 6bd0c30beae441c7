// The ClickHouse write path: a WriteBatch becomes, per shard, one RowBinary
// block of events and one of header versions (layout.h). The header rules
// (StartTrace upsert, lazy creation, EndTrace status rules, StoreTrace
// replacement, MergeTrace convergence) are the RocksDB engine's
// (engine/write_path.cc); the differential tests hold the two to the same
// answers.

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>

#include <fmt/format.h>

#include "clickhouse/ch_engine_impl.h"
#include "clickhouse/row_binary.h"
#include "engine/trace_rules.h"
#include "schema/hot_fields.h"

namespace tracedb::clickhouse {

using engine::EndReason;
using engine::HeaderRole;
using engine::Id128;
using engine::IndexKind;
using engine::StartMode;
using engine::StatusRule;
using engine::TimestampNs;
using engine::WriteBatch;
using engine::WriteResult;
using engine::CountEventStatus;
using engine::StatusFromEvents;

namespace {

bool IsZero(const Id128& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

std::string_view ShortName(std::string_view op_name) {
  size_t dot = op_name.rfind('.');
  return dot == std::string_view::npos ? op_name : op_name.substr(dot + 1);
}

std::string Key(IndexKind kind, std::string_view value) {
  std::string k(1, static_cast<char>(kind));
  k.append(value);
  return k;
}

template <typename T>
void AppendFixed(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

// The index keys a header holds now: time, flows, status, execution, actors.
std::vector<std::string> CurrentKeys(const ChTraceState& st) {
  std::vector<std::string> keys;
  keys.reserve(4 + st.bk.flows.size() + st.bk.actors.size());
  keys.push_back(Key(IndexKind::kTime, {}));
  keys.push_back(Key(IndexKind::kFlow, st.header.flow_id));
  for (const auto& f : st.bk.flows) keys.push_back(Key(IndexKind::kFlow, f));
  keys.push_back(Key(IndexKind::kStatus, std::string(1, static_cast<char>(st.header.status.code))));
  if (!IsZero(st.header.execution_id)) {
    keys.push_back(Key(IndexKind::kExecution,
                       std::string_view(reinterpret_cast<const char*>(st.header.execution_id.data()), 16)));
  }
  for (const auto& a : st.bk.actors) keys.push_back(Key(IndexKind::kActor, a));
  return keys;
}

}  // namespace

std::string FlowVersionKey(std::string_view flow, const schema::FlowVersion& v) {
  std::string k(1, kVersionKey);
  k.append(flow);
  k.push_back('\0');
  AppendFixed(&k, v.major);
  AppendFixed(&k, v.minor);
  AppendFixed(&k, v.patch);
  AppendFixed(&k, v.timestamp_ns);
  k.push_back(v.git_hash ? '\1' : '\0');
  if (v.git_hash) k.append(*v.git_hash);
  return k;
}

bool DecodeFlowVersionKey(std::string_view key, size_t flow_size, schema::FlowVersion* v) {
  size_t p = 1 + flow_size + 1;
  if (key.size() < p + 12 + 8 + 1) return false;
  std::memcpy(&v->major, key.data() + p, 4);
  std::memcpy(&v->minor, key.data() + p + 4, 4);
  std::memcpy(&v->patch, key.data() + p + 8, 4);
  std::memcpy(&v->timestamp_ns, key.data() + p + 12, 8);
  p += 20;
  if (key[p] == '\1') {
    v->git_hash = std::string(key.substr(p + 1));
  } else {
    v->git_hash.reset();
  }
  return true;
}

// One Write() call, under ChEngine::write_mu_.
class ChWritePath {
 public:
  explicit ChWritePath(ChEngine* e) : e_(e), events_(e->shard_count()), headers_(e->shard_count()) {}

  Result<WriteResult> Run(const WriteBatch& batch) {
    TRACEDB_RETURN_IF_ERROR(Prefetch(batch));
    for (const auto& op : batch.ops()) {
      Status s;
      switch (op.kind) {
        case WriteBatch::Op::Kind::kStart: s = Start(*op.trace, op.start_mode); break;
        case WriteBatch::Op::Kind::kAppend: s = Append(op.trace_id, op.event, /*assign_seq=*/true); break;
        case WriteBatch::Op::Kind::kEnd: s = End(op.trace_id, op.status, op.end_ns, op.end_reason, op.status_rule); break;
        case WriteBatch::Op::Kind::kStore: s = Store(*op.trace); break;
        case WriteBatch::Op::Kind::kMerge: s = Merge(*op.trace, op.role, op.flows); break;
      }
      if (!s.ok()) return Abandon(s);
    }
    FinishStates();
    Status s = Commit();
    if (!s.ok()) return Abandon(s);
    for (auto& [id, st] : touched_) {
      st->dirty = false;
      st->moved = false;
      st->extra_keys.clear();
      e_->CachePut(id, st);
    }
    return result_;
  }

 private:
  Result<WriteResult> Abandon(const Status& s) {
    // The cached states may hold this batch's changes: forget them, the next
    // write reads what ClickHouse has.
    for (auto& [id, st] : touched_) e_->CacheErase(id);
    return s;
  }

  // Loads the state of every trace of the batch that is not cached: one
  // header query and one fingerprint query per shard.
  Status Prefetch(const WriteBatch& batch) {
    std::vector<std::vector<Id128>> missing(e_->shard_count());
    std::unordered_set<Id128, IdHash> seen;
    for (const auto& op : batch.ops()) {
      const Id128& id = op.trace ? op.trace->trace_id : op.trace_id;
      if (!seen.insert(id).second) continue;
      if (auto st = e_->CacheGet(id)) {
        touched_.emplace(id, std::move(st));
        continue;
      }
      missing[ShardOf(id, e_->shard_count())].push_back(id);
    }
    for (size_t s = 0; s < missing.size(); ++s) {
      if (missing[s].empty()) continue;
      std::string ids;
      for (const auto& id : missing[s]) {
        if (!ids.empty()) ids += ',';
        ids += IdLiteral(id);
      }
      std::string sql = fmt::format(
          "SELECT trace_id, argMax(header, version), argMax(gen, version) FROM {0}.traces "
          "WHERE trace_id IN ({1}) GROUP BY trace_id FORMAT RowBinary",
          e_->db(), ids);
      TRACEDB_ASSIGN_OR_RETURN(std::string body, e_->shard(s).Query(sql));
      RowReader r(body);
      std::unordered_map<Id128, std::shared_ptr<ChTraceState>, IdHash> found;
      while (!r.done()) {
        std::string_view id_bytes, header;
        uint32_t gen = 0;
        if (!r.FixedString(16, &id_bytes) || !r.String(&header) || !r.U32(&gen)) {
          return Status::Corruption("clickhouse: truncated header rows");
        }
        auto st = std::make_shared<ChTraceState>();
        std::memcpy(st->header.trace_id.data(), id_bytes.data(), 16);
        TRACEDB_RETURN_IF_ERROR(schema::DecodeTraceRecord(header, &st->header, &st->bk));
        st->gen = gen;
        for (const auto& a : st->bk.actors) st->actor_set.insert(a);
        for (auto& k : CurrentKeys(*st)) st->stored_keys.insert(std::move(k));
        found.emplace(st->header.trace_id, std::move(st));
      }
      if (!found.empty()) {
        std::string fids;
        for (const auto& [id, st] : found) {
          if (!fids.empty()) fids += ',';
          fids += IdLiteral(id);
        }
        std::string fsql = fmt::format(
            "SELECT trace_id, gen, event_fp FROM {0}.events WHERE trace_id IN ({1}) FORMAT RowBinary", e_->db(), fids);
        TRACEDB_ASSIGN_OR_RETURN(std::string fbody, e_->shard(s).Query(fsql));
        RowReader fr(fbody);
        while (!fr.done()) {
          std::string_view id_bytes;
          uint32_t gen = 0;
          uint64_t fp = 0;
          if (!fr.FixedString(16, &id_bytes) || !fr.U32(&gen) || !fr.U64(&fp)) {
            return Status::Corruption("clickhouse: truncated fingerprint rows");
          }
          Id128 id;
          std::memcpy(id.data(), id_bytes.data(), 16);
          auto it = found.find(id);
          if (it != found.end() && it->second->gen == gen) it->second->fingerprints.insert(fp);
        }
      }
      for (auto& [id, st] : found) touched_.emplace(id, std::move(st));
    }
    return Status::OK();
  }

  std::shared_ptr<ChTraceState> Lookup(const Id128& id) {
    auto it = touched_.find(id);
    return it == touched_.end() ? nullptr : it->second;
  }

  void AddVersionKey(ChTraceState* st) {
    st->extra_keys.push_back(FlowVersionKey(st->header.flow_id, st->header.version));
  }

  std::shared_ptr<ChTraceState> Create(schema::Trace header, bool has_flow_version, uint32_t gen = 0) {
    auto st = std::make_shared<ChTraceState>();
    header.events.clear();
    st->header = std::move(header);
    st->gen = gen;
    st->bk.has_flow_version = has_flow_version;
    st->bk.last_event_ns = st->header.start_ns;
    if (has_flow_version && st->header.source == schema::Source::kReflow) AddVersionKey(st.get());
    if (st->header.end_ns || st->header.status.code != schema::StatusCode::kRunning) {
      st->bk.ended_by = static_cast<uint8_t>(EndReason::kEnded);
    }
    st->moved = true;  // every key is new
    st->dirty = true;
    ++result_.traces_created;
    touched_[st->header.trace_id] = st;
    return st;
  }

  Status Start(const schema::Trace& header, StartMode mode) {
    std::shared_ptr<ChTraceState> st = Lookup(header.trace_id);
    if (!st) {
      Create(header, /*has_flow_version=*/true);
      return Status::OK();
    }
    if (mode == StartMode::kCreateOnly) return Status::OK();
    schema::Trace& h = st->header;
    h.flow_id = header.flow_id;
    if (h.execution_id != header.execution_id && !IsZero(header.execution_id)) h.execution_id = header.execution_id;
    h.version = header.version;
    h.metadata = header.metadata;
    if (!header.external_id.empty()) h.external_id = header.external_id;
    if (header.attributes_json != "{}") h.attributes_json = header.attributes_json;
    if (h.source == schema::Source::kReflow) {
      st->bk.has_flow_version = true;
      AddVersionKey(st.get());
    }
    st->dirty = true;
    return Status::OK();
  }

  std::shared_ptr<ChTraceState> CreateLazy(const Id128& id, const schema::Event& event) {
    schema::Trace h;
    h.trace_id = id;
    h.source = event.operonx ? schema::Source::kOperonx : event.otel ? schema::Source::kOtel : schema::Source::kReflow;
    h.flow_id = "unknown";
    h.execution_id = id;
    h.start_ns = event.timestamp_ns;
    h.version.timestamp_ns = event.timestamp_ns;
    h.status.code = schema::StatusCode::kRunning;
    h.metadata.environment = "unknown";
    h.metadata.hostname = "unknown";
    return Create(std::move(h), /*has_flow_version=*/false);
  }

  void IndexActor(ChTraceState* st, std::string_view name) {
    if (name.empty() || st->actor_set.contains(name)) return;
    st->actor_set.emplace(name);
    st->bk.actors.emplace_back(name);
  }

  Status Append(const Id128& id, const schema::Event& event, bool assign_seq) {
    std::shared_ptr<ChTraceState> st = Lookup(id);
    if (!st) st = CreateLazy(id, event);
    const uint64_t fp = engine::EventFingerprint(event.event_id);
    if (!st->fingerprints.insert(fp).second) {
      ++result_.duplicates;
      return Status::OK();
    }
    const uint64_t seq = (assign_seq && event.reflow) ? st->bk.event_count : event.seq;
    IndexActor(st.get(), event.actor);
    if (event.operonx && ShortName(event.actor).size() != event.actor.size()) {
      IndexActor(st.get(), std::string(1, engine::kShortNameMarker) + std::string(ShortName(event.actor)));
    }
    const schema::HotFields hot = schema::ExtractHotFields(event);
    RowWriter& w = events_[ShardOf(id, e_->shard_count())];
    w.FixedString(std::string_view(reinterpret_cast<const char*>(id.data()), 16), 16);
    w.U32(st->gen);
    w.U64(fp);
    w.I64(st->header.start_ns);
    w.I64(event.timestamp_ns);
    w.U64(seq);
    w.String(event.event_id);
    w.U8(static_cast<uint8_t>(event.type));
    w.String(event.actor);
    w.U8(static_cast<uint8_t>(hot.status));
    w.U64(hot.duration_ns.value_or(engine::ColumnChunk::kNone));
    w.U64(hot.size_bytes.value_or(engine::ColumnChunk::kNone));
    w.U8(hot.span_kind);
    if (event.otel) {
      static const schema::OtelResource kNoResource;
      w.U8(1);
      w.String(schema::OtelServiceName(event.otel->resource ? *event.otel->resource : kNoResource));
    } else {
      w.U8(0);
      w.String({});
    }
    w.String(encoder_.Encode(event));
    ++event_rows_;

    CountEventStatus(&st->bk, event, hot.status);
    ++st->bk.event_count;
    st->bk.last_event_ns = std::max(st->bk.last_event_ns, event.timestamp_ns);
    st->dirty = true;
    ++result_.events_written;
    return Status::OK();
  }


  Status End(const Id128& id, schema::ExecutionStatus status, TimestampNs end_ns, EndReason reason, StatusRule rule) {
    std::shared_ptr<ChTraceState> st = Lookup(id);
    if (!st) {
      ++result_.unknown_traces;
      return Status::OK();
    }
    if (rule == StatusRule::kFromEvents) {
      status = StatusFromEvents(st->bk);
      end_ns = st->bk.last_event_ns;
    }
    if (reason == EndReason::kFinalized && st->bk.ended_by != static_cast<uint8_t>(EndReason::kOpen)) {
      return Status::OK();
    }
    st->header.status = status;
    st->header.end_ns = end_ns;
    st->bk.ended_by = static_cast<uint8_t>(reason);
    st->dirty = true;
    ++result_.traces_ended;
    return Status::OK();
  }

  Status Merge(const schema::Trace& header, HeaderRole role, const std::vector<std::string>& flows) {
    std::shared_ptr<ChTraceState> st = Lookup(header.trace_id);
    if (!st) {
      st = Create(header, /*has_flow_version=*/false);
      st->bk.has_root = role == HeaderRole::kRoot;
    } else {
      schema::Trace& h = st->header;
      bool names = role == HeaderRole::kRoot ? !st->bk.has_root : !st->bk.has_root && header.start_ns < h.start_ns;
      if (names) Rename(st.get(), header);
      if (role == HeaderRole::kRoot) st->bk.has_root = true;
      if (header.start_ns < h.start_ns) {
        h.start_ns = header.start_ns;
        st->moved = true;
      }
      if (header.end_ns && (!h.end_ns || *header.end_ns > *h.end_ns)) h.end_ns = header.end_ns;
      if (header.status.code == schema::StatusCode::kFailed && h.status.code != schema::StatusCode::kFailed) {
        h.status = header.status;
      }
      if (h.end_ns && st->bk.ended_by == static_cast<uint8_t>(EndReason::kOpen)) {
        st->bk.ended_by = static_cast<uint8_t>(EndReason::kEnded);
      }
    }
    for (const auto& flow : flows) {
      if (flow == st->header.flow_id) continue;
      if (std::find(st->bk.flows.begin(), st->bk.flows.end(), flow) != st->bk.flows.end()) continue;
      st->bk.flows.push_back(flow);
    }
    st->dirty = true;
    return Status::OK();
  }

  void Rename(ChTraceState* st, const schema::Trace& header) {
    schema::Trace& h = st->header;
    if (h.flow_id != header.flow_id) {
      auto it = std::find(st->bk.flows.begin(), st->bk.flows.end(), header.flow_id);
      if (it != st->bk.flows.end()) st->bk.flows.erase(it);
      st->bk.flows.push_back(std::move(h.flow_id));
      h.flow_id = header.flow_id;
    }
    h.name = header.name;
    h.metadata = header.metadata;
    h.attributes_json = header.attributes_json;
  }

  Status Store(const schema::Trace& trace) {
    std::shared_ptr<ChTraceState> old = Lookup(trace.trace_id);
    std::unordered_set<uint64_t> held;
    uint32_t gen = 0;
    if (old) {
      held = std::move(old->fingerprints);
      gen = old->gen + 1;  // the old generation's events are no longer read
      --result_.traces_created;
    }
    std::shared_ptr<ChTraceState> st = Create(trace, /*has_flow_version=*/true, gen);
    st->bk.ended_by = static_cast<uint8_t>(trace.end_ns ? EndReason::kEnded : EndReason::kOpen);
    uint64_t position = 0;
    for (const auto& event : trace.events) {
      schema::Event copy = event;
      if (copy.reflow) copy.seq = position;
      ++position;
      const uint64_t written = result_.events_written;
      TRACEDB_RETURN_IF_ERROR(Append(trace.trace_id, copy, /*assign_seq=*/false));
      if (result_.events_written != written && held.count(engine::EventFingerprint(event.event_id)) != 0) {
        --result_.events_written;
        ++result_.duplicates;
      }
    }
    return Status::OK();
  }

  // One header row per changed trace: the new version, and the index keys
  // it adds (all of them when the trace is new, was replaced or moved).
  void FinishStates() {
    for (auto& [id, st] : touched_) {
      if (!st->dirty) continue;
      std::vector<std::string> keys = CurrentKeys(*st);
      std::vector<std::string> added;
      std::vector<std::string> all = keys;
      if (st->moved) {
        st->stored_keys.clear();
        added = keys;
      } else {
        for (const auto& k : keys) {
          if (st->stored_keys.count(k) == 0) added.push_back(k);
        }
      }
      for (auto& k : keys) st->stored_keys.insert(std::move(k));
      for (auto& k : st->extra_keys) added.push_back(std::move(k));
      RowWriter& w = headers_[ShardOf(id, e_->shard_count())];
      w.FixedString(std::string_view(reinterpret_cast<const char*>(id.data()), 16), 16);
      w.U64(e_->NextVersion());
      w.U32(st->gen);
      w.I64(st->header.start_ns);
      w.String(schema::EncodeTraceRecord(st->header, st->bk));
      w.StringArray(all);
      w.StringArray(added);
      ++header_rows_;
    }
  }

  // Per shard, events first, then the header versions that point at them;
  // the shards in parallel. A re-sent block repeats rows that readers take
  // once.
  Status Commit() {
    const std::string events_sql = fmt::format("INSERT INTO {}.events FORMAT RowBinary", e_->db());
    const std::string traces_sql = fmt::format("INSERT INTO {}.traces FORMAT RowBinary", e_->db());
    auto one = [&](size_t s) -> Status {
      if (events_[s].size() > 0) TRACEDB_RETURN_IF_ERROR(e_->shard(s).Insert(events_sql, events_[s].data()));
      if (headers_[s].size() > 0) TRACEDB_RETURN_IF_ERROR(e_->shard(s).Insert(traces_sql, headers_[s].data()));
      return Status::OK();
    };
    std::vector<size_t> busy;
    for (size_t s = 0; s < e_->shard_count(); ++s) {
      if (events_[s].size() > 0 || headers_[s].size() > 0) busy.push_back(s);
    }
    std::vector<std::future<Status>> others;
    for (size_t i = 1; i < busy.size(); ++i) others.push_back(std::async(std::launch::async, one, busy[i]));
    Status first = busy.empty() ? Status::OK() : one(busy[0]);
    for (auto& f : others) {
      Status s = f.get();
      if (first.ok() && !s.ok()) first = s;
    }
    TRACEDB_RETURN_IF_ERROR(first);
    for (size_t s = 0; s < e_->shard_count(); ++s) result_.bytes_written += events_[s].size() + headers_[s].size();
    result_.keys_written = event_rows_ + header_rows_;
    return Status::OK();
  }

  ChEngine* e_;
  std::vector<RowWriter> events_;
  std::vector<RowWriter> headers_;
  std::unordered_map<Id128, std::shared_ptr<ChTraceState>, IdHash> touched_;
  schema::EventEncoder encoder_;
  WriteResult result_;
  uint64_t event_rows_ = 0;
  uint64_t header_rows_ = 0;
};

Result<WriteResult> ChEngine::Write(const WriteBatch& batch) {
  std::lock_guard<std::mutex> lock(write_mu_);
  ChWritePath path(this);
  auto r = path.Run(batch);
  write_epoch_.fetch_add(1, std::memory_order_release);
  if (r.ok()) {
    counters_.CountBatch(*r);
  }
  return r;
}

uint64_t ChEngine::NextVersion() {
  auto now = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  last_version_ = std::max(now, last_version_ + 1);
  return last_version_;
}

std::shared_ptr<ChTraceState> ChEngine::CacheGet(const engine::Id128& id) {
  auto it = cache_.find(id);
  if (it == cache_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.pos);
  return it->second.state;
}

void ChEngine::CachePut(const engine::Id128& id, std::shared_ptr<ChTraceState> st) {
  auto it = cache_.find(id);
  if (it != cache_.end()) {
    it->second.state = std::move(st);
    lru_.splice(lru_.begin(), lru_, it->second.pos);
    return;
  }
  lru_.push_front(id);
  cache_.emplace(id, CacheEntry{std::move(st), lru_.begin()});
  while (cache_.size() > std::max<size_t>(options_.trace_cache_capacity, 1)) {
    cache_.erase(lru_.back());
    lru_.pop_back();
  }
}

void ChEngine::CacheErase(const engine::Id128& id) {
  auto it = cache_.find(id);
  if (it == cache_.end()) return;
  lru_.erase(it->second.pos);
  cache_.erase(it);
}

}  // namespace tracedb::clickhouse
