// SQLite peer: the Reflow server's default backend, driven the fastest
// honest way: WAL journal, one transaction per NDJSON request body,
// prepared statements reused for every row, a 256 MiB page cache (tracedb's
// block cache size). synchronous=NORMAL commits through the WAL without
// fsync (as tracedb without sync); FULL with --sync. Schema: peer.h.

#include <sqlite3.h>

#include <fmt/format.h>

#include "bench/harness.h"
#include "bench/peers/peer.h"

namespace tracedb::bench {

namespace {

class SqlitePeer final : public NdjsonPeer {
 public:
  ~SqlitePeer() override {
    for (sqlite3_stmt* s : {ins_event_, ins_actor_, ins_trace_, upd_trace_, get_trace_, get_events_}) {
      sqlite3_finalize(s);
    }
    if (db_ != nullptr) sqlite3_close(db_);
  }

  Status Open(const std::string& dir, bool sync) {
    dir_ = dir;
    sync_ = sync;
    if (sqlite3_open((dir + "/peer.db").c_str(), &db_) != SQLITE_OK) return Error("open");
    const char* schema = R"sql(
      PRAGMA page_size = 4096;
      PRAGMA journal_mode = WAL;
      PRAGMA cache_size = -262144;
      PRAGMA temp_store = MEMORY;
      CREATE TABLE traces(trace_id BLOB PRIMARY KEY, flow_id TEXT NOT NULL, execution_id BLOB NOT NULL,
        version_major INTEGER NOT NULL, version_minor INTEGER NOT NULL, version_patch INTEGER NOT NULL,
        version_git_hash TEXT, version_ts INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER,
        status INTEGER NOT NULL, error TEXT) WITHOUT ROWID;
      CREATE INDEX traces_time ON traces(start_ns DESC);
      CREATE INDEX traces_flow ON traces(flow_id, start_ns DESC);
      CREATE INDEX traces_status ON traces(status, start_ns DESC);
      CREATE INDEX traces_exec ON traces(execution_id, start_ns DESC);
      CREATE TABLE trace_actors(actor TEXT NOT NULL, start_ns INTEGER NOT NULL, trace_id BLOB NOT NULL,
        PRIMARY KEY(actor, start_ns, trace_id)) WITHOUT ROWID;
      CREATE TABLE events(trace_id BLOB NOT NULL, ts INTEGER NOT NULL, seq INTEGER NOT NULL,
        event_id BLOB NOT NULL, type TEXT NOT NULL, actor TEXT NOT NULL, duration_ns INTEGER,
        size_bytes INTEGER, status INTEGER NOT NULL, data TEXT NOT NULL);
      CREATE INDEX events_trace ON events(trace_id, ts, seq);
    )sql";
    TRACEDB_RETURN_IF_ERROR(Exec(schema));
    TRACEDB_RETURN_IF_ERROR(Exec(sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"));
    TRACEDB_RETURN_IF_ERROR(Prepare(
        "INSERT INTO events(trace_id,ts,seq,event_id,type,actor,duration_ns,size_bytes,status,data) "
        "VALUES(?,?,?,?,?,?,?,?,?,?)",
        &ins_event_));
    TRACEDB_RETURN_IF_ERROR(Prepare("INSERT INTO trace_actors(actor,start_ns,trace_id) VALUES(?,?,?)", &ins_actor_));
    TRACEDB_RETURN_IF_ERROR(Prepare(
        "INSERT INTO traces(trace_id,flow_id,execution_id,version_major,version_minor,version_patch,"
        "version_git_hash,version_ts,start_ns,end_ns,status,error) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
        &ins_trace_));
    TRACEDB_RETURN_IF_ERROR(
        Prepare("UPDATE traces SET status = ?, error = ?, end_ns = ? WHERE trace_id = ?", &upd_trace_));
    TRACEDB_RETURN_IF_ERROR(Prepare(
        "SELECT flow_id,version_major,version_minor,version_patch,version_git_hash,version_ts,status,error "
        "FROM traces WHERE trace_id = ?",
        &get_trace_));
    TRACEDB_RETURN_IF_ERROR(Prepare("SELECT data FROM events WHERE trace_id = ? ORDER BY ts, seq", &get_events_));
    return Status::OK();
  }

  std::string name() const override { return "sqlite"; }

  std::string Describe() const override {
    return fmt::format("SQLite {} WAL synchronous={} cache 256MiB, txn per request, prepared statements",
                       sqlite3_libversion(), sync_ ? "FULL" : "NORMAL");
  }

  Status Ingest(std::string_view ndjson, uint64_t* events) override {
    TRACEDB_RETURN_IF_ERROR(BuildRows(&parser_, ndjson, &state_, &rows_));
    TRACEDB_RETURN_IF_ERROR(Exec("BEGIN"));
    static const schema::Id128 kZeroId{};
    for (const EventRow& r : rows_.events) {
      sqlite3_bind_blob(ins_event_, 1, r.trace_id.data(), 16, SQLITE_STATIC);
      sqlite3_bind_int64(ins_event_, 2, r.ts);
      sqlite3_bind_int64(ins_event_, 3, static_cast<int64_t>(r.seq));
      sqlite3_bind_blob(ins_event_, 4, r.event_id.data(), static_cast<int>(r.event_id.size()), SQLITE_STATIC);
      sqlite3_bind_text(ins_event_, 5, r.type.data(), static_cast<int>(r.type.size()), SQLITE_STATIC);
      sqlite3_bind_text(ins_event_, 6, r.actor.data(), static_cast<int>(r.actor.size()), SQLITE_STATIC);
      BindOptional(ins_event_, 7, r.duration_ns);
      BindOptional(ins_event_, 8, r.size_bytes);
      sqlite3_bind_int(ins_event_, 9, r.status);
      sqlite3_bind_text(ins_event_, 10, r.data.data(), static_cast<int>(r.data.size()), SQLITE_STATIC);
      TRACEDB_RETURN_IF_ERROR(Step(ins_event_));
    }
    for (const ActorRow& r : rows_.actors) {
      sqlite3_bind_text(ins_actor_, 1, r.actor.data(), static_cast<int>(r.actor.size()), SQLITE_STATIC);
      sqlite3_bind_int64(ins_actor_, 2, r.start_ns);
      sqlite3_bind_blob(ins_actor_, 3, r.trace_id.data(), 16, SQLITE_STATIC);
      TRACEDB_RETURN_IF_ERROR(Step(ins_actor_));
    }
    for (const TraceRow& r : rows_.traces) {
      if (r.insert) {
        sqlite3_stmt* s = ins_trace_;
        sqlite3_bind_blob(s, 1, r.trace_id.data(), 16, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, r.flow_id.data(), static_cast<int>(r.flow_id.size()), SQLITE_STATIC);
        sqlite3_bind_blob(s, 3, kZeroId.data(), 16, SQLITE_STATIC);  // Reflow requests carry none
        sqlite3_bind_int64(s, 4, r.version.major);
        sqlite3_bind_int64(s, 5, r.version.minor);
        sqlite3_bind_int64(s, 6, r.version.patch);
        if (r.version.git_hash) {
          sqlite3_bind_text(s, 7, r.version.git_hash->data(), static_cast<int>(r.version.git_hash->size()),
                            SQLITE_STATIC);
        } else {
          sqlite3_bind_null(s, 7);
        }
        sqlite3_bind_int64(s, 8, r.version.timestamp_ns);
        sqlite3_bind_int64(s, 9, r.start_ns);
        BindOptional(s, 10, r.end_ns ? *r.end_ns : -1);
        sqlite3_bind_int(s, 11, r.status_code);
        sqlite3_bind_text(s, 12, r.error.data(), static_cast<int>(r.error.size()), SQLITE_STATIC);
        TRACEDB_RETURN_IF_ERROR(Step(s));
      } else {
        sqlite3_stmt* s = upd_trace_;
        sqlite3_bind_int(s, 1, r.status_code);
        sqlite3_bind_text(s, 2, r.error.data(), static_cast<int>(r.error.size()), SQLITE_STATIC);
        BindOptional(s, 3, r.end_ns ? *r.end_ns : -1);
        sqlite3_bind_blob(s, 4, r.trace_id.data(), 16, SQLITE_STATIC);
        TRACEDB_RETURN_IF_ERROR(Step(s));
      }
    }
    TRACEDB_RETURN_IF_ERROR(Exec("COMMIT"));
    *events += rows_.events.size();
    return Status::OK();
  }

  Status Finish() override { return Exec("PRAGMA wal_checkpoint(TRUNCATE)"); }

  uint64_t DiskBytes() override { return DirectoryBytes(dir_); }
  double ServerPeakRssMb() override { return -1; }

  Result<std::optional<schema::Trace>> GetTrace(const schema::Id128& trace_id) override {
    sqlite3_bind_blob(get_trace_, 1, trace_id.data(), 16, SQLITE_STATIC);
    int rc = sqlite3_step(get_trace_);
    if (rc == SQLITE_DONE) {
      sqlite3_reset(get_trace_);
      return std::optional<schema::Trace>();
    }
    if (rc != SQLITE_ROW) return Error("get trace");
    std::string flow(reinterpret_cast<const char*>(sqlite3_column_text(get_trace_, 0)));
    schema::FlowVersion v;
    v.major = static_cast<uint32_t>(sqlite3_column_int64(get_trace_, 1));
    v.minor = static_cast<uint32_t>(sqlite3_column_int64(get_trace_, 2));
    v.patch = static_cast<uint32_t>(sqlite3_column_int64(get_trace_, 3));
    if (sqlite3_column_type(get_trace_, 4) != SQLITE_NULL) {
      v.git_hash = reinterpret_cast<const char*>(sqlite3_column_text(get_trace_, 4));
    }
    v.timestamp_ns = sqlite3_column_int64(get_trace_, 5);
    int status = sqlite3_column_int(get_trace_, 6);
    std::string error;
    if (sqlite3_column_type(get_trace_, 7) != SQLITE_NULL) {
      error = reinterpret_cast<const char*>(sqlite3_column_text(get_trace_, 7));
    }
    sqlite3_reset(get_trace_);
    std::vector<std::string> jsons;
    sqlite3_bind_blob(get_events_, 1, trace_id.data(), 16, SQLITE_STATIC);
    while ((rc = sqlite3_step(get_events_)) == SQLITE_ROW) {
      jsons.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(get_events_, 0)),
                         static_cast<size_t>(sqlite3_column_bytes(get_events_, 0)));
    }
    sqlite3_reset(get_events_);
    if (rc != SQLITE_DONE) return Error("get events");
    TRACEDB_ASSIGN_OR_RETURN(schema::Trace t, TraceFromRows(trace_id, flow, v, status, error, jsons));
    return std::optional<schema::Trace>(std::move(t));
  }

  Result<std::pair<uint64_t, uint64_t>> Counts() override {
    TRACEDB_ASSIGN_OR_RETURN(uint64_t traces, Count("SELECT count(*) FROM traces"));
    TRACEDB_ASSIGN_OR_RETURN(uint64_t events, Count("SELECT count(*) FROM events"));
    return std::make_pair(traces, events);
  }

 private:
  Status Error(std::string_view what) {
    return Status::IoError(fmt::format("sqlite {}: {}", what, db_ ? sqlite3_errmsg(db_) : "no db"));
  }
  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      return Status::IoError("sqlite exec: " + msg);
    }
    return Status::OK();
  }
  Status Prepare(const char* sql, sqlite3_stmt** stmt) {
    if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) return Error("prepare");
    return Status::OK();
  }
  Status Step(sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return Error("step");
    return Status::OK();
  }
  static void BindOptional(sqlite3_stmt* s, int i, int64_t v) {
    if (v < 0) {
      sqlite3_bind_null(s, i);
    } else {
      sqlite3_bind_int64(s, i, v);
    }
  }
  Result<uint64_t> Count(const char* sql) {
    sqlite3_stmt* s = nullptr;
    TRACEDB_RETURN_IF_ERROR(Prepare(sql, &s));
    uint64_t n = 0;
    if (sqlite3_step(s) == SQLITE_ROW) n = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
    sqlite3_finalize(s);
    return n;
  }

  std::string dir_;
  bool sync_ = false;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* ins_event_ = nullptr;
  sqlite3_stmt* ins_actor_ = nullptr;
  sqlite3_stmt* ins_trace_ = nullptr;
  sqlite3_stmt* upd_trace_ = nullptr;
  sqlite3_stmt* get_trace_ = nullptr;
  sqlite3_stmt* get_events_ = nullptr;
  WireParser parser_;
  PeerTraceMap state_;
  BatchRows rows_;
};

}  // namespace

Result<std::unique_ptr<NdjsonPeer>> OpenSqlitePeer(const std::string& dir, bool sync) {
  auto peer = std::make_unique<SqlitePeer>();
  TRACEDB_RETURN_IF_ERROR(peer->Open(dir, sync));
  return std::unique_ptr<NdjsonPeer>(std::move(peer));
}

}  // namespace tracedb::bench
