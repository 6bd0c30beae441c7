// GCC 12 at -O1 with ASan/UBSan (the sanitizer pass) reports a false
// -Wmaybe-uninitialized inside libstdc++'s std::function as <regex> uses it;
// the pragma must come before the first header that includes <functional>.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "tests/query/oracle_sql_util.h"

#include <cstdio>
#include <cstring>
#include <limits>
#include <regex>

namespace tracedb::query::oracle {

namespace {

// tdb_regex(text, pattern): RE2 and ECMAScript agree on the constructs the
// oracle's patterns use (literals, escapes, '.', classes, '*', '+', '?',
// '|', groups); std::regex_match anchors at both ends, as the language does.
void RegexFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc != 2 || sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  auto* re = static_cast<std::regex*>(sqlite3_get_auxdata(ctx, 1));
  if (re == nullptr) {
    const char* pat = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
    try {
      re = new std::regex(pat, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      sqlite3_result_error(ctx, e.what(), -1);
      return;
    }
    // SQLite owns the compiled pattern from here and frees it with the
    // statement (or at once, in which case `re` is still valid below).
    sqlite3_set_auxdata(ctx, 1, re, [](void* p) { delete static_cast<std::regex*>(p); });
    re = static_cast<std::regex*>(sqlite3_get_auxdata(ctx, 1));
    if (re == nullptr) {
      sqlite3_result_error(ctx, "regex cache lost", -1);
      return;
    }
  }
  const char* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  int len = sqlite3_value_bytes(argv[0]);
  sqlite3_result_int(ctx, std::regex_match(text, text + len, *re) ? 1 : 0);
}

// The field meanings of docs/query-language.md, over the raw copy of the
// model in `traces` and `events`.
constexpr const char* kSchema = R"sql(
CREATE TABLE traces(n INTEGER PRIMARY KEY, tid BLOB, trace_id TEXT, request_id TEXT, flow TEXT,
  execution_id TEXT, source TEXT, status INTEGER, error_text TEXT, start_ns INTEGER, end_ns INTEGER,
  vmaj INTEGER, vmin INTEGER, vpatch INTEGER, environment TEXT, hostname TEXT, user_id TEXT, session_id TEXT);
CREATE TABLE tags(trace INTEGER, key TEXT, value TEXT);
CREATE TABLE events(trace INTEGER, source TEXT, event_id TEXT, ts INTEGER, type INTEGER, actor TEXT,
  to_actor TEXT, to_port TEXT, port TEXT, message_type TEXT, msg_size INTEGER, exec_ns INTEGER,
  memory INTEGER, cpu REAL, queue INTEGER, throughput REAL, error TEXT, attrs TEXT, parent TEXT,
  root_cause TEXT, kind TEXT, op_name TEXT, op_short TEXT, ctx TEXT, payload TEXT);
CREATE INDEX events_by_trace ON events(trace);
CREATE INDEX tags_by_trace ON tags(trace, key);

-- status.error: the error text of a failed trace, absent otherwise.
-- duration: end - start, absent while open.
CREATE VIEW tr AS SELECT n, tid, trace_id, request_id, flow, execution_id, source, status,
  CASE WHEN status = 3 THEN error_text END AS status_error, start_ns, end_ns, end_ns - start_ns AS duration,
  vmaj, vmin, vpatch, environment, hostname, user_id, session_id FROM traces;

-- actor: absent when empty. to_actor/to_port: DataFlow (type 10) only.
-- event_status: Reflow ActorFailed (4) or an error -> error (2), ActorCompleted (3) -> ok (1);
--   operonx payload.status (ok 1, error 2, cancelled 3, truncated 4).
-- execution_time_ns: Reflow execution_time_ns; operonx duration_ms x 10^6.
-- size_bytes: Reflow message.size_bytes; operonx payload.size_bytes.
-- error: Reflow error; operonx payload.error (a string).
-- op_name: the operonx op (absent for other sources and for groups).
CREATE VIEW ev AS SELECT trace, event_id, ts, type,
  NULLIF(actor, '') AS actor,
  CASE WHEN type = 10 THEN to_actor END AS to_actor,
  CASE WHEN type = 10 THEN to_port END AS to_port,
  port, message_type, queue, memory, cpu, throughput, attrs, parent, root_cause, kind, ctx, payload,
  CASE source
    WHEN 'reflow' THEN error
    WHEN 'operonx' THEN CASE WHEN json_type(payload, '$.error') = 'text' THEN json_extract(payload, '$.error') END
  END AS error,
  CASE source
    WHEN 'reflow' THEN CASE WHEN type = 4 OR error IS NOT NULL THEN 2 WHEN type = 3 THEN 1 END
    WHEN 'operonx' THEN CASE WHEN json_type(payload, '$.status') = 'text' THEN
      CASE json_extract(payload, '$.status') WHEN 'ok' THEN 1 WHEN 'error' THEN 2 WHEN 'cancelled' THEN 3
        WHEN 'truncated' THEN 4 END END
  END AS event_status,
  CASE source
    WHEN 'reflow' THEN exec_ns
    WHEN 'operonx' THEN CASE WHEN json_type(payload, '$.duration_ms') IN ('integer', 'real')
        AND json_extract(payload, '$.duration_ms') >= 0
      THEN CAST(round(json_extract(payload, '$.duration_ms') * 1000000.0) AS INTEGER) END
  END AS exec_ns,
  CASE source
    WHEN 'reflow' THEN msg_size
    WHEN 'operonx' THEN CASE WHEN json_type(payload, '$.size_bytes') = 'integer'
        AND json_extract(payload, '$.size_bytes') >= 0 THEN json_extract(payload, '$.size_bytes') END
  END AS size_bytes,
  CASE WHEN source = 'operonx' THEN NULLIF(op_name, '') END AS op_name,
  CASE WHEN source = 'operonx' AND op_name <> '' THEN op_short END AS op_short
FROM events;
)sql";

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) == SQLITE_OK; }
  ~Stmt() { sqlite3_finalize(stmt_); }
  bool ok() const { return ok_; }
  sqlite3_stmt* get() { return stmt_; }

  void Null(int i) { sqlite3_bind_null(stmt_, i); }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Real(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Blob(int i, const void* p, size_t n) {
    sqlite3_bind_blob(stmt_, i, p, static_cast<int>(n), SQLITE_TRANSIENT);
  }
  template <typename T>
  void OptText(int i, const std::optional<T>& v) {
    if (v) Text(i, *v); else Null(i);
  }
  void OptU64(int i, const std::optional<uint64_t>& v) {
    if (!v) return Null(i);
    Int(i, *v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                            : static_cast<int64_t>(*v));
  }
  bool Step() {
    bool done = sqlite3_step(stmt_) == SQLITE_DONE;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return done;
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = false;
};

std::string_view SourceText(schema::Source s) {
  switch (s) {
    case schema::Source::kReflow: return "reflow";
    case schema::Source::kOperonx: return "operonx";
    case schema::Source::kOtel: return "otel";
  }
  return "?";
}

std::string Joined(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out.push_back(sep);
    out += parts[i];
  }
  return out;
}

Status InsertTrace(sqlite3* db, Stmt& trace, Stmt& tag, Stmt& event, int64_t n, const schema::Trace& t) {
  trace.Int(1, n);
  trace.Blob(2, t.trace_id.data(), t.trace_id.size());
  trace.Text(3, UuidText(t.trace_id));
  trace.Text(4, t.external_id.empty() ? UuidText(t.trace_id) : t.external_id);
  trace.Text(5, t.flow_id);
  trace.Text(6, UuidText(t.execution_id));
  trace.Text(7, std::string(SourceText(t.source)));
  trace.Int(8, static_cast<int64_t>(t.status.code));
  trace.Text(9, t.status.error);
  trace.Int(10, t.start_ns);
  if (t.end_ns) trace.Int(11, *t.end_ns); else trace.Null(11);
  trace.Int(12, t.version.major);
  trace.Int(13, t.version.minor);
  trace.Int(14, t.version.patch);
  trace.Text(15, t.metadata.environment);
  trace.Text(16, t.metadata.hostname);
  trace.OptText(17, t.metadata.user_id);
  trace.OptText(18, t.metadata.session_id);
  if (!trace.Step()) return Status::Internal(std::string("insert trace: ") + sqlite3_errmsg(db));
  for (const auto& [k, v] : t.metadata.tags) {
    tag.Int(1, n);
    tag.Text(2, k);
    tag.Text(3, v);
    if (!tag.Step()) return Status::Internal(std::string("insert tag: ") + sqlite3_errmsg(db));
  }
  for (const auto& e : t.events) {
    const schema::ReflowEventData* r = e.reflow ? &*e.reflow : nullptr;
    const schema::OperonxEvent* o = e.operonx ? &*e.operonx : nullptr;
    event.Int(1, n);
    event.Text(2, std::string(SourceText(t.source)));
    if (r && e.event_id.size() == 16) {
      schema::Id128 id;
      std::memcpy(id.data(), e.event_id.data(), 16);
      event.Text(3, UuidText(id));
    } else {
      event.Text(3, e.event_id);
    }
    event.Int(4, e.timestamp_ns);
    event.Int(5, static_cast<int64_t>(e.type));
    event.Text(6, e.actor);
    event.Text(7, e.to_actor);
    event.Text(8, e.to_port);
    if (r) {
      event.OptText(9, r->port);
      if (r->message) {
        event.Text(10, r->message->message_type);
        event.OptU64(11, r->message->size_bytes);
      }
      event.OptU64(12, r->metrics.execution_time_ns);
      event.OptU64(13, r->metrics.memory_usage_bytes);
      if (r->metrics.cpu_usage_percent) event.Real(14, *r->metrics.cpu_usage_percent);
      event.OptU64(15, r->metrics.queue_depth);
      if (r->metrics.throughput_msgs_per_sec) event.Real(16, *r->metrics.throughput_msgs_per_sec);
      event.OptText(17, r->error);
      event.Text(18, r->custom_attributes_json);
      if (r->causality.parent_event_id) event.Text(19, UuidText(*r->causality.parent_event_id));
      event.Text(20, UuidText(r->causality.root_cause_event_id));
    }
    if (o) {
      event.Text(21, o->kind);
      if (o->op_name) {
        event.Text(22, *o->op_name);
        size_t dot = o->op_name->rfind('.');
        event.Text(23, dot == std::string::npos ? *o->op_name : o->op_name->substr(dot + 1));
      }
      event.Text(24, Joined(o->ctx, '/'));
      event.Text(25, o->payload_json);
    }
    if (!event.Step()) return Status::Internal(std::string("insert event: ") + sqlite3_errmsg(db));
  }
  return Status::OK();
}

}  // namespace

std::string SqlValue::Text() const {
  switch (type) {
    case Type::kNull: return "NULL";
    case Type::kInt: return std::to_string(i);
    case Type::kReal: {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      return buf;
    }
    case Type::kText: return s;
  }
  return "?";
}

SqlDb::SqlDb() {
  if (sqlite3_open(":memory:", &db_) != SQLITE_OK) {
    sqlite3_close(db_);
    db_ = nullptr;
    return;
  }
  sqlite3_create_function(db_, "tdb_regex", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, RegexFunction,
                          nullptr, nullptr);
}

SqlDb::~SqlDb() { sqlite3_close(db_); }

Status SqlDb::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    return Status::Internal("sqlite: " + msg);
  }
  return Status::OK();
}

Result<std::vector<SqlRow>> SqlDb::Query(const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Status::Internal(std::string("sqlite prepare: ") + sqlite3_errmsg(db_) + "\n" + sql);
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  std::vector<SqlRow> rows;
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    SqlRow row(static_cast<size_t>(sqlite3_column_count(raw)));
    for (int c = 0; c < sqlite3_column_count(raw); ++c) {
      SqlValue& v = row[static_cast<size_t>(c)];
      switch (sqlite3_column_type(raw, c)) {
        case SQLITE_INTEGER: v.type = SqlValue::Type::kInt; v.i = sqlite3_column_int64(raw, c); break;
        case SQLITE_FLOAT: v.type = SqlValue::Type::kReal; v.d = sqlite3_column_double(raw, c); break;
        case SQLITE_NULL: break;
        default:
          v.type = SqlValue::Type::kText;
          v.s.assign(reinterpret_cast<const char*>(sqlite3_column_text(raw, c)),
                     static_cast<size_t>(sqlite3_column_bytes(raw, c)));
      }
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return Status::Internal(std::string("sqlite step: ") + sqlite3_errmsg(db_) + "\n" + sql);
  return rows;
}

std::string UuidText(const schema::Id128& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[id[i] >> 4]);
    out.push_back(kHex[id[i] & 15]);
  }
  return out;
}

Result<LoadedStore> LoadStore(engine::Engine* engine, SqlDb* db) {
  TRACEDB_RETURN_IF_ERROR(db->Exec(kSchema));
  std::vector<schema::Id128> ids;
  TRACEDB_RETURN_IF_ERROR(engine->ScanTraces([&](const schema::Trace& t) {
    ids.push_back(t.trace_id);
    return true;
  }));
  Stmt trace(db->handle(), "INSERT INTO traces VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)");
  Stmt tag(db->handle(), "INSERT INTO tags VALUES (?1,?2,?3)");
  Stmt event(db->handle(),
             "INSERT INTO events VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,"
             "?21,?22,?23,?24,?25)");
  if (!trace.ok() || !tag.ok() || !event.ok()) return Status::Internal(sqlite3_errmsg(db->handle()));
  TRACEDB_RETURN_IF_ERROR(db->Exec("BEGIN"));
  LoadedStore out;
  for (const auto& id : ids) {
    TRACEDB_ASSIGN_OR_RETURN(auto t, engine->GetTrace(id));
    if (!t) return Status::Internal("trace vanished during the load");
    int64_t n = static_cast<int64_t>(out.ids.size()) + 1;
    out.ids.push_back(id);
    out.numbers[id] = n;
    out.events += t->events.size();
    TRACEDB_RETURN_IF_ERROR(InsertTrace(db->handle(), trace, tag, event, n, *t));
  }
  TRACEDB_RETURN_IF_ERROR(db->Exec("COMMIT"));
  return out;
}

}  // namespace tracedb::query::oracle
