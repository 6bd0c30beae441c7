// ChEngine: opening, reads, index cursors and retention over ClickHouse
// (the write path is ch_write.cc; the layout layout.h).

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>
#include <xxhash.h>

#include "clickhouse/ch_engine_impl.h"
#include "clickhouse/row_binary.h"

namespace tracedb::clickhouse {

using engine::ColumnChunk;
using engine::Id128;
using engine::IndexEntry;
using engine::IndexKind;
using engine::IndexRange;
using engine::TimestampNs;

size_t ShardOf(const Id128& trace_id, size_t shard_count) {
  if (shard_count <= 1) return 0;
  return static_cast<size_t>(XXH64(trace_id.data(), trace_id.size(), 0) % shard_count);
}

std::string IdLiteral(const Id128& id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "toFixedString(unhex('";
  for (uint8_t b : id) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  out += "'), 16)";
  return out;
}

namespace {

// The smallest string greater than every string starting with `prefix`
// ("" when there is none: the range is open above).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    auto c = static_cast<unsigned char>(prefix.back());
    if (c != 0xFF) {
      prefix.back() = static_cast<char>(c + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

Id128 ReadId(std::string_view bytes) {
  Id128 id;
  std::memcpy(id.data(), bytes.data(), 16);
  return id;
}

Status Truncated(std::string_view what) { return Status::Corruption(fmt::format("clickhouse: truncated {} rows", what)); }

// Reads one events row of the columns list kColumnList into chunk.
constexpr std::string_view kColumnList =
    "ts_ns, seq, event_fp, type, actor, status, duration_ns, size_bytes, span_kind, has_service, service";

struct ChunkBuilder {
  ColumnChunk chunk;
  std::unordered_map<std::string, uint16_t> actor_ids;
  std::unordered_map<std::string, uint16_t> service_ids;
  bool any_kind = false;
  bool any_service = false;
  std::vector<uint8_t> kinds;
  std::vector<uint16_t> services;

  bool Add(RowReader& r) {
    int64_t ts;
    uint64_t seq, fp, dur, size;
    uint8_t type, status, kind, has_service;
    std::string_view actor, service;
    if (!r.I64(&ts) || !r.U64(&seq) || !r.U64(&fp) || !r.U8(&type) || !r.String(&actor) || !r.U8(&status) ||
        !r.U64(&dur) || !r.U64(&size) || !r.U8(&kind) || !r.U8(&has_service) || !r.String(&service)) {
      return false;
    }
    chunk.timestamp_ns.push_back(ts);
    chunk.seq.push_back(seq);
    chunk.event_fp.push_back(fp);
    chunk.type.push_back(type);
    auto [it, added] = actor_ids.emplace(std::string(actor), static_cast<uint16_t>(chunk.actors.size()));
    if (added) chunk.actors.emplace_back(actor);
    chunk.actor.push_back(it->second);
    chunk.status.push_back(status);
    chunk.duration_ns.push_back(dur);
    chunk.size_bytes.push_back(size);
    kinds.push_back(kind);
    any_kind = any_kind || kind != 0;
    if (has_service) {
      auto [sit, sadded] = service_ids.emplace(std::string(service), static_cast<uint16_t>(chunk.services.size()));
      if (sadded) chunk.services.emplace_back(service);
      services.push_back(sit->second);
      any_service = true;
    } else {
      services.push_back(schema::Columns::kNoService);
    }
    return true;
  }

  // Finishes the chunk (optional columns stay empty when unused, as the
  // RocksDB engine stores them) and resets the builder.
  ColumnChunk Take(const Id128& id, TimestampNs start) {
    chunk.trace_id = id;
    chunk.trace_start_ns = start;
    if (any_kind) chunk.span_kind = std::move(kinds);
    if (any_service) chunk.service = std::move(services);
    ColumnChunk out = std::move(chunk);
    *this = ChunkBuilder();
    return out;
  }
};

// A cursor over one index value of every shard, merged in IndexBefore
// order. Each shard is read in pages with a keyset condition; an entry is
// kept only when the trace's latest header still holds the value and its
// latest start lies in the window.
class ChIndexCursor final : public engine::IndexCursor {
 public:
  ChIndexCursor(ChEngine* e, const SqlScan& scan, TimestampNs cutoff) : e_(e), scan_(scan) {
    scan_.min_start = std::max(scan_.min_start, cutoff);
    streams_.resize(e_->shard_count());
    for (size_t s = 0; s < streams_.size(); ++s) Fill(s, std::nullopt, /*inclusive=*/false);
    Settle();
  }

  bool Valid() const override { return valid_; }
  const IndexEntry& entry() const override { return entry_; }

  void Next() override {
    if (!valid_) return;
    Stream& st = streams_[current_];
    st.pos++;
    if (st.pos >= st.rows.size() && !st.exhausted) Fill(current_, st.rows.back(), /*inclusive=*/false);
    Settle();
  }

  void Seek(const IndexEntry& target) override {
    if (!status_.ok()) return;
    for (size_t s = 0; s < streams_.size(); ++s) {
      Stream& st = streams_[s];
      while (st.pos < st.rows.size() && engine::IndexBefore(st.rows[st.pos], target)) st.pos++;
      if (st.pos >= st.rows.size() && !st.exhausted) Fill(s, target, /*inclusive=*/true);
    }
    Settle();
  }

  Status status() const override { return status_; }

 private:
  static constexpr size_t kPage = 1024;
  struct Stream {
    std::vector<IndexEntry> rows;
    size_t pos = 0;
    bool exhausted = false;
  };

  // Loads the next page of shard s after (or from, when inclusive) `from`.
  void Fill(size_t s, const std::optional<IndexEntry>& from, bool inclusive) {
    Stream& st = streams_[s];
    st.rows.clear();
    st.pos = 0;
    if (!status_.ok()) {
      st.exhausted = true;
      return;
    }
    std::string sql = ScanSql(e_->db(), scan_, from, inclusive, kPage);
    auto body = e_->shard(s).Query(sql);
    if (!body.ok()) {
      status_ = body.status();
      st.exhausted = true;
      return;
    }
    RowReader r(*body);
    while (!r.done()) {
      IndexEntry entry;
      std::string_view id;
      if (!r.I64(&entry.start_ns) || !r.FixedString(16, &id)) {
        status_ = Truncated("index");
        break;
      }
      entry.trace_id = ReadId(id);
      st.rows.push_back(entry);
    }
    st.exhausted = st.rows.size() < kPage;
    e_->RegisterCandidates(st.rows);
  }

  void Settle() {
    valid_ = false;
    if (!status_.ok()) return;
    for (size_t s = 0; s < streams_.size(); ++s) {
      const Stream& st = streams_[s];
      if (st.pos >= st.rows.size()) continue;
      if (!valid_ || engine::IndexBefore(st.rows[st.pos], entry_)) {
        entry_ = st.rows[st.pos];
        current_ = s;
        valid_ = true;
      }
    }
  }

  ChEngine* e_;
  SqlScan scan_;
  std::vector<Stream> streams_;
  IndexEntry entry_;
  size_t current_ = 0;
  bool valid_ = false;
  Status status_;
};

// The read-ahead state of one thread (ChEngine::RegisterCandidates).
constexpr size_t kReadAhead = 128;
constexpr auto kReadAheadTtl = std::chrono::seconds(2);
constexpr size_t kReadAheadMaxIds = 1 << 17;

struct Loaded {
  bool absent = false;
  std::optional<StoredHeader> header;
  std::optional<std::vector<schema::Event>> events;
  std::optional<ColumnChunk> chunk;
};

struct ReadAheadState {
  const void* engine = nullptr;
  uint64_t epoch = 0;
  std::chrono::steady_clock::time_point born;
  std::unordered_map<Id128, std::pair<std::shared_ptr<const std::vector<Id128>>, size_t>, IdHash> where;
  std::unordered_map<Id128, Loaded, IdHash> loaded;

  // Forgets everything when the engine wrote since, when it is another
  // engine's, or when it is older than the TTL.
  void Check(const void* e, uint64_t write_epoch) {
    auto now = std::chrono::steady_clock::now();
    if (engine != e || epoch != write_epoch || now - born > kReadAheadTtl || where.size() > kReadAheadMaxIds) {
      where.clear();
      loaded.clear();
      engine = e;
      epoch = write_epoch;
      born = now;
    }
  }
};

thread_local ReadAheadState tl_read_ahead;

}  // namespace

ChEngine::ChEngine(const ClickHouseOptions& options) : options_(options) {
  engine_options_.retention_max_age_seconds = options.retention_max_age_seconds;
  engine_options_.retention_interval_seconds = options.retention_interval_seconds;
  engine_options_.trace_cache_capacity = options.trace_cache_capacity;
  engine_options_.min_free_bytes = 0;
}

ChEngine::~ChEngine() {
  {
    std::lock_guard<std::mutex> lock(retention_mu_);
    stopping_ = true;
  }
  retention_cv_.notify_all();
  if (retention_thread_.joinable()) retention_thread_.join();
}

Result<std::unique_ptr<engine::Engine>> OpenClickHouse(const ClickHouseOptions& options) {
  return ChEngine::Open(options);
}

Result<std::unique_ptr<engine::Engine>> ChEngine::Open(const ClickHouseOptions& options) {
  if (options.shards.empty()) return Status::InvalidArgument("clickhouse.shards is empty: give at least one shard");
  if (options.database.empty()) return Status::InvalidArgument("clickhouse.database is empty");
  for (char c : options.database) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return Status::InvalidArgument(
          fmt::format("clickhouse.database '{}': only letters, digits and '_' are allowed", options.database));
    }
  }
  std::unique_ptr<ChEngine> e(new ChEngine(options));
  TRACEDB_RETURN_IF_ERROR(e->Init());
  if (options.retention_max_age_seconds > 0) {
    e->retention_thread_ = std::thread([raw = e.get()] { raw->RetentionLoop(); });
  }
  return std::unique_ptr<engine::Engine>(std::move(e));
}

Status ChEngine::Init() {
  ClientOptions co;
  co.user = options_.user;
  co.password = options_.password;
  co.connect_timeout = std::chrono::milliseconds(options_.connect_timeout_ms);
  co.request_timeout = std::chrono::milliseconds(options_.request_timeout_ms);
  for (size_t i = 0; i < options_.shards.size(); ++i) {
    TRACEDB_ASSIGN_OR_RETURN(auto shard, Shard::Create(i + 1, options_.shards[i], co, options_.insert_attempts));
    shards_.push_back(std::move(shard));
  }
  for (auto& shard : shards_) {
    for (size_t r = 0; r < shard->replica_count(); ++r) {
      auto v = shard->replica(r).Query("SELECT version()");
      if (!v.ok()) {
        return v.status().WithContext(fmt::format("cannot reach the clickhouse cluster ({})", shard->Describe()));
      }
      if (shard->index() == 1 && r == 0) version_ = ParseServerVersion(*v);
    }
  }
  LayoutOptions lo;
  lo.database = options_.database;
  lo.replicated = options_.replicated;
  lo.version = version_;
  for (auto& shard : shards_) {
    for (const auto& stmt : LayoutStatements(lo)) {
      Status s = options_.replicated ? shard->Query(stmt).status() : shard->QueryAll(stmt);
      if (!s.ok()) return s.WithContext("creating the clickhouse tables");
    }
  }
  if (options_.retention_max_age_seconds > 0) {
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch());
    cutoff_.store(now.count() - options_.retention_max_age_seconds * 1'000'000'000, std::memory_order_relaxed);
  }
  return Status::OK();
}

Status ChEngine::ForEachShard(const std::string& sql, const std::function<Status(size_t, std::string_view)>& fn) {
  for (size_t s = 0; s < shards_.size(); ++s) {
    auto body = shards_[s]->Query(sql);
    if (!body.ok()) {
      if (SkipsShard(body.status())) continue;
      return body.status();
    }
    TRACEDB_RETURN_IF_ERROR(fn(s, *body));
  }
  return Status::OK();
}

Result<std::optional<StoredHeader>> ChEngine::ReadHeader(const Id128& id) {
  std::string sql = fmt::format(
      "SELECT argMax(header, version), argMax(gen, version) FROM {}.traces WHERE trace_id = {} GROUP BY trace_id "
      "FORMAT RowBinary",
      db(), IdLiteral(id));
  TRACEDB_ASSIGN_OR_RETURN(std::string body, ShardFor(id).Query(sql));
  if (body.empty()) return std::optional<StoredHeader>();
  RowReader r(body);
  std::string_view header;
  StoredHeader out;
  if (!r.String(&header) || !r.U32(&out.gen)) return Truncated("header");
  out.header.trace_id = id;
  TRACEDB_RETURN_IF_ERROR(schema::DecodeTraceRecord(header, &out.header, &out.bk));
  if (out.header.start_ns < retention_cutoff()) return std::optional<StoredHeader>();
  return std::optional(std::move(out));
}

void ChEngine::RegisterCandidates(const std::vector<IndexEntry>& page) {
  if (page.empty()) return;
  ReadAheadState& ra = tl_read_ahead;
  ra.Check(this, write_epoch_.load(std::memory_order_acquire));
  auto ids = std::make_shared<std::vector<Id128>>();
  ids->reserve(page.size());
  for (const auto& e : page) ids->push_back(e.trace_id);
  for (size_t i = 0; i < ids->size(); ++i) ra.where[(*ids)[i]] = {ids, i};
}

Result<std::vector<std::pair<Id128, StoredHeader>>> ChEngine::ReadHeaders(size_t shard, const std::vector<Id128>& ids) {
  std::vector<std::pair<Id128, StoredHeader>> out;
  if (ids.empty()) return out;
  std::string list;
  for (const auto& id : ids) {
    if (!list.empty()) list += ',';
    list += IdLiteral(id);
  }
  std::string sql = fmt::format(
      "SELECT trace_id, argMax(header, version), argMax(gen, version) FROM {}.traces WHERE trace_id IN ({}) "
      "GROUP BY trace_id FORMAT RowBinary",
      db(), list);
  TRACEDB_ASSIGN_OR_RETURN(std::string body, shards_[shard]->Query(sql));
  RowReader r(body);
  const TimestampNs cutoff = retention_cutoff();
  while (!r.done()) {
    std::string_view id_bytes, header;
    StoredHeader h;
    if (!r.FixedString(16, &id_bytes) || !r.String(&header) || !r.U32(&h.gen)) return Truncated("header");
    h.header.trace_id = ReadId(id_bytes);
    TRACEDB_RETURN_IF_ERROR(schema::DecodeTraceRecord(header, &h.header, &h.bk));
    if (h.header.start_ns < cutoff) continue;
    out.emplace_back(h.header.trace_id, std::move(h));
  }
  return out;
}

Result<bool> ChEngine::ReadAhead(const Id128& id, Load load) {
  ReadAheadState& ra = tl_read_ahead;
  auto w = ra.where.find(id);
  if (w == ra.where.end()) return false;
  const auto page = w->second.first;
  const size_t from = w->second.second;
  const size_t shard = ShardOf(id, shards_.size());
  // The batch: this candidate and the next ones of its page that lack `load`.
  std::vector<Id128> batch;
  for (size_t i = from; i < page->size() && batch.size() < kReadAhead; ++i) {
    const Id128& c = (*page)[i];
    if (ShardOf(c, shards_.size()) != shard) continue;
    auto l = ra.loaded.find(c);
    if (l != ra.loaded.end()) {
      const Loaded& x = l->second;
      if (x.absent || (load == Load::kHeader && x.header) || (load == Load::kTrace && x.events) ||
          (load == Load::kColumns && x.chunk)) {
        if (c == id) return true;
        continue;
      }
    }
    batch.push_back(c);
  }
  std::vector<Id128> need_headers;
  for (const auto& c : batch) {
    auto l = ra.loaded.find(c);
    if (l == ra.loaded.end() || !l->second.header) need_headers.push_back(c);
  }
  TRACEDB_ASSIGN_OR_RETURN(auto headers, ReadHeaders(shard, need_headers));
  for (auto& [hid, h] : headers) ra.loaded[hid].header = std::move(h);
  std::string pairs;
  for (const auto& c : batch) {
    Loaded& x = ra.loaded[c];
    if (!x.header) {
      x.absent = true;
      continue;
    }
    if (!pairs.empty()) pairs += ',';
    pairs += fmt::format("({}, {})", IdLiteral(c), x.header->gen);
  }
  if (load == Load::kHeader || pairs.empty()) return true;
  if (load == Load::kTrace) {
    std::string sql = fmt::format(
        "SELECT trace_id, event_id, ts_ns, seq, record FROM {}.events WHERE (trace_id, gen) IN ({}) "
        "ORDER BY trace_id, ts_ns, seq, event_id LIMIT 1 BY trace_id, event_fp FORMAT RowBinary",
        db(), pairs);
    TRACEDB_ASSIGN_OR_RETURN(std::string body, shards_[shard]->Query(sql));
    for (const auto& c : batch) {
      Loaded& x = ra.loaded[c];
      if (!x.absent) x.events.emplace();
    }
    RowReader r(body);
    while (!r.done()) {
      std::string_view id_bytes, event_id, record;
      schema::Event ev;
      if (!r.FixedString(16, &id_bytes) || !r.String(&event_id) || !r.I64(&ev.timestamp_ns) || !r.U64(&ev.seq) ||
          !r.String(&record)) {
        return Truncated("event");
      }
      TRACEDB_RETURN_IF_ERROR(schema::DecodeEventRecord(record, &ev));
      ev.event_id = std::string(event_id);
      ra.loaded[ReadId(id_bytes)].events->push_back(std::move(ev));
    }
    return true;
  }
  std::string sql = fmt::format(
      "SELECT trace_id, {} FROM {}.events WHERE (trace_id, gen) IN ({}) "
      "ORDER BY trace_id, ts_ns, seq, event_id LIMIT 1 BY trace_id, event_fp FORMAT RowBinary",
      kColumnList, db(), pairs);
  TRACEDB_ASSIGN_OR_RETURN(std::string body, shards_[shard]->Query(sql));
  RowReader r(body);
  ChunkBuilder b;
  std::optional<Id128> cur;
  auto finish = [&] {
    if (cur) {
      Loaded& x = ra.loaded[*cur];
      x.chunk = b.Take(*cur, x.header->header.start_ns);
    }
  };
  while (!r.done()) {
    std::string_view id_bytes;
    if (!r.FixedString(16, &id_bytes)) return Truncated("column");
    Id128 cid = ReadId(id_bytes);
    if (cur && *cur != cid) finish();
    cur = cid;
    if (!b.Add(r)) return Truncated("column");
  }
  finish();
  for (const auto& c : batch) {
    Loaded& x = ra.loaded[c];
    if (!x.absent && !x.chunk) x.chunk.emplace();  // a trace without events: an empty chunk
  }
  return true;
}

Result<std::optional<schema::Trace>> ChEngine::GetTrace(const Id128& trace_id, const engine::ReadOptions& options) {
  ReadAheadState& ra = tl_read_ahead;
  ra.Check(this, write_epoch_.load(std::memory_order_acquire));
  const Load load = options.include_events ? Load::kTrace : Load::kHeader;
  TRACEDB_ASSIGN_OR_RETURN(bool ahead, ReadAhead(trace_id, load));
  if (ahead) {
    auto l = ra.loaded.find(trace_id);
    if (l != ra.loaded.end()) {
      Loaded& x = l->second;
      if (x.absent) return std::optional<schema::Trace>();
      if (x.header && (load == Load::kHeader || x.events)) {
        schema::Trace t = x.header->header;
        if (load == Load::kTrace) t.events = std::move(*x.events), x.events.reset();
        return std::optional(std::move(t));
      }
    }
  }
  TRACEDB_ASSIGN_OR_RETURN(auto h, ReadHeader(trace_id));
  if (!h) return std::optional<schema::Trace>();
  schema::Trace trace = std::move(h->header);
  if (options.include_events) {
    std::string sql = fmt::format(
        "SELECT event_id, ts_ns, seq, record FROM {}.events WHERE trace_id = {} AND gen = {} "
        "ORDER BY ts_ns, seq, event_id LIMIT 1 BY event_fp FORMAT RowBinary",
        db(), IdLiteral(trace_id), h->gen);
    TRACEDB_ASSIGN_OR_RETURN(std::string body, ShardFor(trace_id).Query(sql));
    RowReader r(body);
    while (!r.done()) {
      std::string_view event_id, record;
      schema::Event ev;
      if (!r.String(&event_id) || !r.I64(&ev.timestamp_ns) || !r.U64(&ev.seq) || !r.String(&record)) {
        return Truncated("event");
      }
      TRACEDB_RETURN_IF_ERROR(schema::DecodeEventRecord(record, &ev));
      ev.event_id = std::string(event_id);
      trace.events.push_back(std::move(ev));
    }
  }
  return std::optional(std::move(trace));
}

Result<std::vector<schema::FlowVersion>> ChEngine::GetFlowVersions(std::string_view flow_id) {
  std::string prefix(1, kVersionKey);
  prefix.append(flow_id);
  prefix.push_back('\0');
  std::string sql = fmt::format("SELECT DISTINCT key FROM {}.trace_index WHERE key >= {} AND key < {} FORMAT RowBinary",
                                db(), Quote(prefix), Quote(PrefixEnd(prefix)));
  std::set<std::string> keys;
  TRACEDB_RETURN_IF_ERROR(ForEachShard(sql, [&](size_t, std::string_view body) {
    RowReader r(body);
    while (!r.done()) {
      std::string_view k;
      if (!r.String(&k)) return Truncated("flow version");
      keys.emplace(k);
    }
    return Status::OK();
  }));
  std::vector<schema::FlowVersion> out;
  for (const auto& k : keys) {
    schema::FlowVersion v;
    if (DecodeFlowVersionKey(k, flow_id.size(), &v)) out.push_back(std::move(v));
  }
  auto tie = [](const schema::FlowVersion& v) {
    return std::make_tuple(v.major, v.minor, v.patch, v.git_hash.has_value(), v.git_hash.value_or(""), v.timestamp_ns);
  };
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return tie(a) < tie(b); });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::unique_ptr<engine::IndexCursor> ChEngine::ScanIndex(const IndexRange& range) {
  SqlScan scan;
  std::string key(1, static_cast<char>(range.kind));
  if (range.kind != IndexKind::kTime) key.append(range.value);
  scan.hint_keys = {key};
  if (range.kind != IndexKind::kTime) scan.where = fmt::format("has(k, {})", Quote(key));
  scan.min_start = range.min_start;
  scan.max_start = range.max_start;
  return std::make_unique<ChIndexCursor>(this, scan, retention_cutoff());
}

std::unique_ptr<engine::IndexCursor> ChEngine::ScanWhere(const SqlScan& scan) {
  return std::make_unique<ChIndexCursor>(this, scan, retention_cutoff());
}

std::unique_ptr<engine::IndexCursor> ScanWhere(engine::Engine* engine, const SqlScan& scan) {
  auto* ch = dynamic_cast<ChEngine*>(engine);
  if (ch == nullptr) return nullptr;
  return ch->ScanWhere(scan);
}

std::string ColumnScanSql(std::string_view database, TimestampNs min_start, TimestampNs max_start,
                          const std::optional<Id128>& after, size_t limit) {
  const std::string window = fmt::format("start_ns >= {} AND start_ns <= {}", min_start, max_start);
  const std::string hints =
      fmt::format("SELECT trace_id FROM {}.trace_index WHERE key = 'T' AND {}", database, window);
  const std::string lower = after ? fmt::format(" AND trace_id > {}", IdLiteral(*after)) : "";
  return fmt::format(
      "SELECT trace_id, s, {cols} FROM ("
      "SELECT trace_id, gen, event_fp, event_id, {cols} FROM {db}.events WHERE trace_id IN ({hints}){lower}) "
      "ALL INNER JOIN ("
      "SELECT trace_id, argMax(gen, version) AS g, argMax(start_ns, version) AS s FROM {db}.traces "
      "WHERE trace_id IN ({hints}){lower} GROUP BY trace_id HAVING s >= {lo} AND s <= {hi}) USING trace_id "
      "WHERE gen = g ORDER BY trace_id, ts_ns, seq, event_id LIMIT 1 BY trace_id, event_fp LIMIT {page} "
      "FORMAT RowBinary",
      fmt::arg("cols", kColumnList), fmt::arg("db", database), fmt::arg("hints", hints), fmt::arg("lower", lower),
      fmt::arg("lo", min_start), fmt::arg("hi", max_start), fmt::arg("page", limit));
}

std::string ScanSql(std::string_view database, const SqlScan& scan, const std::optional<IndexEntry>& from,
                    bool inclusive, size_t limit) {
  std::string hint_keys;
  for (const auto& k : scan.hint_keys) hint_keys += (hint_keys.empty() ? "" : ", ") + Quote(k);
  if (hint_keys.empty()) hint_keys = Quote(std::string(1, static_cast<char>(IndexKind::kTime)));
  std::string window = fmt::format("start_ns >= {} AND start_ns <= {}", scan.min_start, scan.max_start);
  std::string outer = fmt::format("s >= {} AND s <= {}", scan.min_start, scan.max_start);
  std::string keyset;
  if (from) {
    keyset = fmt::format(" AND (s < {0} OR (s = {0} AND trace_id {1} {2}))", from->start_ns, inclusive ? ">=" : ">",
                         IdLiteral(from->trace_id));
    window += fmt::format(" AND start_ns <= {}", from->start_ns);
  }
  // Index entries are hints (a status that changed, a start that moved):
  // the predicate runs on the trace's latest header version (`k` its index
  // keys, `s` its start, `g` its event generation).
  return fmt::format(
      "SELECT s, trace_id FROM ("
      "SELECT trace_id, argMax(start_ns, version) AS s, argMax(keys, version) AS k, argMax(gen, version) AS g "
      "FROM {db}.traces "
      "WHERE trace_id IN (SELECT trace_id FROM {db}.trace_index WHERE key IN ({hints}) AND {window}) "
      "GROUP BY trace_id) "
      "WHERE {outer}{where}{keyset} "
      "ORDER BY s DESC, trace_id LIMIT {limit} FORMAT RowBinary",
      fmt::arg("db", database), fmt::arg("hints", hint_keys), fmt::arg("window", window), fmt::arg("outer", outer),
      fmt::arg("where", scan.where.empty() ? "" : " AND (" + scan.where + ")"), fmt::arg("keyset", keyset),
      fmt::arg("limit", limit));
}

Result<std::vector<std::string>> ChEngine::ListIndexValues(IndexKind kind, std::string_view prefix, size_t limit) {
  std::string lo(1, static_cast<char>(kind));
  lo.append(prefix);
  std::string sql = fmt::format(
      "SELECT DISTINCT key FROM {}.trace_index WHERE key >= {} AND key < {} ORDER BY key LIMIT {} FORMAT RowBinary", db(),
      Quote(lo), Quote(PrefixEnd(lo)), limit);
  std::set<std::string> values;
  TRACEDB_RETURN_IF_ERROR(ForEachShard(sql, [&](size_t, std::string_view body) {
    RowReader r(body);
    while (!r.done()) {
      std::string_view k;
      if (!r.String(&k)) return Truncated("index value");
      values.emplace(k.substr(1));
    }
    return Status::OK();
  }));
  std::vector<std::string> out;
  for (auto& v : values) {
    if (out.size() >= limit) break;
    out.push_back(v);
  }
  return out;
}

Status ChEngine::ReadChunk(const Id128& id, const StoredHeader& h,
                           const std::function<bool(const ColumnChunk&)>& fn) {
  std::string sql = fmt::format(
      "SELECT {} FROM {}.events WHERE trace_id = {} AND gen = {} ORDER BY ts_ns, seq, event_id LIMIT 1 BY event_fp "
      "FORMAT RowBinary",
      kColumnList, db(), IdLiteral(id), h.gen);
  TRACEDB_ASSIGN_OR_RETURN(std::string body, ShardFor(id).Query(sql));
  if (body.empty()) return Status::OK();
  RowReader r(body);
  ChunkBuilder b;
  while (!r.done()) {
    if (!b.Add(r)) return Truncated("column");
  }
  fn(b.Take(id, h.header.start_ns));
  return Status::OK();
}

Status ChEngine::ReadColumnsAt(const Id128& trace_id, TimestampNs, const std::function<bool(const ColumnChunk&)>& fn) {
  return ReadColumns(trace_id, fn);
}

Status ChEngine::ReadColumns(const Id128& trace_id, const std::function<bool(const ColumnChunk&)>& fn) {
  ReadAheadState& ra = tl_read_ahead;
  ra.Check(this, write_epoch_.load(std::memory_order_acquire));
  TRACEDB_ASSIGN_OR_RETURN(bool ahead, ReadAhead(trace_id, Load::kColumns));
  if (ahead) {
    auto l = ra.loaded.find(trace_id);
    if (l != ra.loaded.end() && (l->second.absent || l->second.chunk)) {
      if (l->second.absent) return Status::OK();
      ColumnChunk chunk = std::move(*l->second.chunk);
      l->second.chunk.reset();
      if (chunk.size() > 0) fn(chunk);
      return Status::OK();
    }
  }
  TRACEDB_ASSIGN_OR_RETURN(auto h, ReadHeader(trace_id));
  if (!h) return Status::OK();
  return ReadChunk(trace_id, *h, fn);
}

Status ChEngine::ScanColumns(TimestampNs min_start, TimestampNs max_start,
                             const std::function<bool(const ColumnChunk&)>& fn) {
  min_start = std::max(min_start, retention_cutoff());
  if (min_start > max_start) return Status::OK();
  bool stop = false;
  for (size_t s = 0; s < shards_.size() && !stop; ++s) {
    // Paged by trace id; a page ends at a trace boundary (its last, possibly
    // cut, trace is read again by the next page).
    std::optional<Id128> after;
    size_t page = 200000;
    while (!stop) {
      std::string sql = ColumnScanSql(db(), min_start, max_start, after, page);
      auto body = shards_[s]->Query(sql);
      if (!body.ok()) {
        if (SkipsShard(body.status())) break;
        return body.status();
      }
      RowReader r(*body);
      size_t rows = 0;
      std::vector<ColumnChunk> chunks;
      ChunkBuilder b;
      std::optional<Id128> cur;
      TimestampNs cur_start = 0;
      while (!r.done()) {
        std::string_view id_bytes;
        TimestampNs start;
        if (!r.FixedString(16, &id_bytes) || !r.I64(&start)) return Truncated("column");
        Id128 id = ReadId(id_bytes);
        if (cur && *cur != id) chunks.push_back(b.Take(*cur, cur_start));
        cur = id;
        cur_start = start;
        if (!b.Add(r)) return Truncated("column");
        ++rows;
      }
      const bool full = rows >= page;
      if (cur) {
        if (!full) {
          chunks.push_back(b.Take(*cur, cur_start));
        } else if (chunks.empty()) {
          page *= 4;  // one trace fills the page: read it whole
          continue;
        }
      }
      for (const auto& c : chunks) {
        if (!fn(c)) {
          stop = true;
          break;
        }
      }
      if (!full) break;
      after = chunks.back().trace_id;
    }
  }
  return Status::OK();
}

Status ChEngine::ScanTraces(const std::function<bool(const schema::Trace&)>& fn) {
  const TimestampNs cutoff = retention_cutoff();
  for (size_t s = 0; s < shards_.size(); ++s) {
    std::optional<Id128> after;
    constexpr size_t kPage = 10000;
    for (;;) {
      std::string lower = after ? fmt::format("WHERE trace_id > {} ", IdLiteral(*after)) : "";
      std::string sql = fmt::format(
          "SELECT trace_id, argMax(header, version) FROM {}.traces {}GROUP BY trace_id ORDER BY trace_id LIMIT {} "
          "FORMAT RowBinary",
          db(), lower, kPage);
      auto body = shards_[s]->Query(sql);
      if (!body.ok()) {
        if (SkipsShard(body.status())) break;
        return body.status();
      }
      RowReader r(*body);
      size_t rows = 0;
      while (!r.done()) {
        std::string_view id_bytes, header;
        if (!r.FixedString(16, &id_bytes) || !r.String(&header)) return Truncated("header");
        schema::Trace t;
        t.trace_id = ReadId(id_bytes);
        TRACEDB_RETURN_IF_ERROR(schema::DecodeTraceRecord(header, &t, nullptr));
        after = t.trace_id;
        ++rows;
        if (t.start_ns < cutoff) continue;
        if (!fn(t)) return Status::OK();
      }
      if (rows < kPage) break;
    }
  }
  return Status::OK();
}

Result<uint64_t> ChEngine::EnforceRetention(TimestampNs now_ns) {
  if (options_.retention_max_age_seconds <= 0) return uint64_t{0};
  const TimestampNs cutoff = now_ns - options_.retention_max_age_seconds * 1'000'000'000;
  cutoff_.store(std::max(cutoff_.load(std::memory_order_relaxed), cutoff), std::memory_order_relaxed);
  // Whole days older than the cutoff's day are dropped; the rest of the
  // cutoff's day stays on disk but is never read (reads filter by cutoff).
  const auto cutoff_s = static_cast<time_t>(cutoff / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&cutoff_s, &tm);
  const uint32_t cutoff_day = static_cast<uint32_t>((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
  std::set<std::string> dropped;
  for (auto& shard : shards_) {
    for (std::string_view table : kPartitionedTables) {
      std::string sql = fmt::format(
          "SELECT DISTINCT partition FROM system.parts WHERE database = {} AND table = {} AND active FORMAT TSV",
          Quote(db()), Quote(table));
      TRACEDB_ASSIGN_OR_RETURN(std::string body, shard->Query(sql));
      size_t p = 0;
      while (p < body.size()) {
        size_t nl = body.find('\n', p);
        if (nl == std::string::npos) nl = body.size();
        std::string part = body.substr(p, nl - p);
        p = nl + 1;
        if (part.empty() || std::strtoul(part.c_str(), nullptr, 10) >= cutoff_day) continue;
        TRACEDB_RETURN_IF_ERROR(shard->QueryAll(fmt::format("ALTER TABLE {}.{} DROP PARTITION {}", db(), table, part)));
        dropped.insert(part);
      }
    }
  }
  counters_.retention_runs.fetch_add(1, std::memory_order_relaxed);
  counters_.buckets_dropped.fetch_add(dropped.size(), std::memory_order_relaxed);
  return static_cast<uint64_t>(dropped.size());
}

void ChEngine::RetentionLoop() {
  std::unique_lock<std::mutex> lock(retention_mu_);
  while (!stopping_) {
    retention_cv_.wait_for(lock, std::chrono::seconds(std::max<uint32_t>(options_.retention_interval_seconds, 1)));
    if (stopping_) break;
    lock.unlock();
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch());
    (void)EnforceRetention(now.count());  // a failed pass is retried on the next tick
    lock.lock();
  }
}

Status ChEngine::CompactAll() {
  for (auto& shard : shards_) {
    for (std::string_view table : kPartitionedTables) {
      TRACEDB_RETURN_IF_ERROR(shard->QueryAll(fmt::format("OPTIMIZE TABLE {}.{} FINAL", db(), table)));
    }
  }
  return Status::OK();
}

engine::Stats ChEngine::GetStats() {
  engine::Stats stats;
  std::string sql = fmt::format(
      "SELECT sum(bytes), sum(rows), count() FROM system.parts WHERE database = {} AND active FORMAT TSV", Quote(db()));
  for (auto& shard : shards_) {
    auto body = shard->Query(sql);
    if (!body.ok()) continue;
    unsigned long long bytes = 0, rows = 0, parts = 0;
    if (std::sscanf(body->c_str(), "%llu\t%llu\t%llu", &bytes, &rows, &parts) == 3) {
      stats.live_sst_bytes += bytes;
      stats.estimated_keys += rows;
      stats.total_sst_files += parts;
    }
  }
  return stats;
}

uint64_t ChEngine::DiskUsageBytes() { return GetStats().live_sst_bytes; }

Result<engine::BackupInfo> ChEngine::Backup(const engine::BackupOptions&) {
  return Status::InvalidArgument(
      "backup is not supported by the clickhouse backend: back up the ClickHouse tables (docs/scale-out.md)");
}

Result<engine::CheckReport> ChEngine::Check(const engine::CheckOptions&) {
  return Status::InvalidArgument("check is not supported by the clickhouse backend (docs/scale-out.md)");
}

}  // namespace tracedb::clickhouse
