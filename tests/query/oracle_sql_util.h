#pragma once

// The SQLite side of the query oracle (tests/query/oracle_test.cc): a small
// SQLite wrapper and a loader that copies every trace and event of a store
// into SQLite tables, with views that give each field of the query language
// its documented meaning (docs/query-language.md, "Fields").
//
// Nothing here uses the query pipeline (lexer, parser, binder, planner,
// evaluator, aggregator): the store is read through the engine's GetTrace
// and the field semantics are written again, in SQL, from the docs. A bug in
// the pipeline therefore shows up as a disagreement instead of being copied.
//
// Schema (`n` numbers traces 1.. in load order):
//   tr(n, tid, trace_id, request_id, flow, execution_id, source, status,
//      status_error, start_ns, end_ns, duration, vmaj, vmin, vpatch,
//      environment, hostname, user_id, session_id)       -- one row a trace
//   tags(trace, key, value)                              -- tags, in order
//   ev(trace, event_id, ts, type, actor, event_status, size_bytes, exec_ns,
//      port, to_actor, to_port, message_type, queue, memory, cpu,
//      throughput, error, attrs, parent, root_cause, kind, op_name,
//      op_short, ctx, payload)                           -- one row an event
// An absent value is NULL. Ids are lowercase hyphenated UUID text; `tid` is
// the 16 id bytes (a BLOB, so ORDER BY sorts it bytewise). attrs and payload
// are JSON text. SQL function tdb_regex(text, pattern) is a fully anchored
// std::regex (ECMAScript) match.

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"

namespace tracedb::query::oracle {

struct SqlValue {
  enum class Type : uint8_t { kNull, kInt, kReal, kText };
  Type type = Type::kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;

  bool null() const { return type == Type::kNull; }
  // Integers and reals as a double (precondition: numeric).
  double AsDouble() const { return type == Type::kInt ? static_cast<double>(i) : d; }
  // Text of any value ("NULL" for null), for messages.
  std::string Text() const;
};

using SqlRow = std::vector<SqlValue>;

// An in-memory SQLite database. Not thread-safe.
class SqlDb {
 public:
  SqlDb();
  ~SqlDb();
  SqlDb(const SqlDb&) = delete;
  SqlDb& operator=(const SqlDb&) = delete;

  bool ok() const { return db_ != nullptr; }
  sqlite3* handle() { return db_; }
  // Runs statements that return no rows.
  Status Exec(const std::string& sql);
  // Runs one query; every row, every column.
  Result<std::vector<SqlRow>> Query(const std::string& sql);

 private:
  sqlite3* db_ = nullptr;
};

// Lowercase hyphenated UUID text of 16 bytes (written here, not borrowed).
std::string UuidText(const schema::Id128& id);

// What the loader saw: trace ids by their number `n`.
struct LoadedStore {
  std::vector<schema::Id128> ids;  // ids[n - 1]
  std::map<schema::Id128, int64_t> numbers;
  size_t events = 0;
};

// Creates the schema in `db` and copies every trace of `engine` into it.
Result<LoadedStore> LoadStore(engine::Engine* engine, SqlDb* db);

}  // namespace tracedb::query::oracle
