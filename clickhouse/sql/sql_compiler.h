#pragma once

// The query language on the ClickHouse backend: a bound filter compiled to
// one ClickHouse SQL statement per shard (docs/scale-out.md, "Queries").
//
// The statement selects the traces whose latest header version satisfies
// the compiled predicate, newest first, in pages (clickhouse::SqlScan): the
// header's index keys (flow, status, execution, actors), its start, its id,
// and events' columns (type, actor, timestamp, duration, size) through
// `(trace_id, g) IN (SELECT trace_id, gen FROM events WHERE …)`. What SQL
// answers exactly is not re-checked; anything else (JSON paths, attributes,
// patterns SQL cannot express with the same meaning) is re-checked by the
// evaluator on the candidates, whose headers, columns or events are read
// ahead in batches. Results are the language's on every backend: the
// differential tests (tests/clickhouse/differential_test.cc) compare them
// with RocksDB's.

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "query/backend.h"
#include "query/bound.h"

namespace tracedb::clickhouse::sql {

struct Compiled {
  std::string where;                    // "" = no restriction
  std::vector<std::string> hint_keys;   // trace_index keys every match holds one of
  bool exact = false;                   // `where` is the filter itself
};

// Compiles `filter` for a database `database`; `min_start` bounds the
// events subqueries' partitions.
Compiled Compile(const query::Node& filter, const std::string& database, engine::TimestampNs min_start);

// The QueryBackend of a ClickHouse engine: attach it with
// query::AttachQueryBackend(engine, MakeQueryBackend(database)).
std::shared_ptr<query::QueryBackend> MakeQueryBackend(std::string database);

}  // namespace tracedb::clickhouse::sql
