#pragma once

// The ClickHouse storage backend: engine::Engine over a ClickHouse cluster
// (docs/scale-out.md; the table layout and its DDL are in layout.h and
// docs/format.md, "ClickHouse layout").
//
// tracedb servers stay stateless: every row lives in ClickHouse. A trace
// belongs to one shard (xxh64 of its id modulo the shard count), so a trace
// read is one shard's business; searches and scans ask every shard and merge.
// A write batch becomes, per shard, one RowBinary block of events and one of
// header versions, sent over keep-alive HTTP; Write() returns once every
// shard accepted its blocks, and a failed block is re-sent, byte for byte,
// to the same shard (another replica of it when one is configured).
//
// What a server keeps in memory is a cache: the write state of recently
// written traces (header, bookkeeping, event fingerprints), rebuilt from
// ClickHouse on a miss with one query per shard per batch.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"

namespace tracedb::clickhouse {

struct ClickHouseOptions {
  // Shards, each a list of replica URLs ("http://127.0.0.1:8123"). Rows of
  // a trace go to shard xxh64(trace id) % shards.size(). Required.
  std::vector<std::vector<std::string>> shards;
  // Database holding the tables; created with them when absent.
  // Default: "tracedb".
  std::string database = "tracedb";
  std::string user = "default";
  std::string password;
  // Use ReplicatedMergeTree (needs ZooKeeper and the {shard}/{replica}
  // macros on every node). Default: false.
  bool replicated = false;
  // Attempts for one block (the identical bytes each time) before Write()
  // fails with kUnavailable. Default: 3.
  uint32_t insert_attempts = 3;
  // A fan-out read whose shard is down: false fails the read naming the
  // shard; true answers from the shards that are up (callers that asked for
  // partial results are told; see Engine::Partial). Default: false.
  bool allow_partial = false;
  // Traces whose write state stays cached. Default: 20000.
  size_t trace_cache_capacity = 20000;
  // Retention (by whole days: DROP PARTITION). 0 keeps everything.
  int64_t retention_max_age_seconds = 0;
  uint32_t retention_interval_seconds = 60;
  // Request timeouts.
  uint32_t connect_timeout_ms = 2000;
  uint32_t request_timeout_ms = 60000;
};

// Opens the backend: connects to every shard (a shard none of whose
// replicas answers is an error naming its URLs), reads the server version,
// creates the database and tables when absent (modern servers get codecs,
// LowCardinality and skip indexes; layout.h).
Result<std::unique_ptr<engine::Engine>> OpenClickHouse(const ClickHouseOptions& options);

// A search pushed down to ClickHouse (the query layer's SQL compiler,
// clickhouse/sql/): the traces whose latest header version satisfies
// `where` and starts in [min_start, max_start], newest first. `where` is a
// ClickHouse boolean expression over the columns s (start_ns), k (index
// keys, layout.h), g (event generation) and trace_id; "" is true.
// `hint_keys` are trace_index keys of which every match holds at least one
// (fewer traces to group); empty: the time key.
struct SqlScan {
  std::vector<std::string> hint_keys;
  std::string where;
  engine::TimestampNs min_start = INT64_MIN;
  engine::TimestampNs max_start = INT64_MAX;
};

// A cursor over `scan` on every shard, merged newest first; nullptr when
// `engine` is not a ClickHouse backend.
std::unique_ptr<engine::IndexCursor> ScanWhere(engine::Engine* engine, const SqlScan& scan);

// The statement one shard runs for a page of `scan` (EXPLAIN shows it):
// after (or from, when inclusive) `from`, at most `limit` rows.
std::string ScanSql(std::string_view database, const SqlScan& scan, const std::optional<engine::IndexEntry>& from,
                    bool inclusive, size_t limit);

// The statement one shard runs for a page of Engine::ScanColumns (the
// event columns of the traces that start in the window, by trace id).
std::string ColumnScanSql(std::string_view database, engine::TimestampNs min_start, engine::TimestampNs max_start,
                          const std::optional<engine::Id128>& after, size_t limit);

// A SQL literal of a trace id: toFixedString(unhex('…'), 16).
std::string IdLiteral(const engine::Id128& id);

// The shard a trace's rows go to.
size_t ShardOf(const engine::Id128& trace_id, size_t shard_count);

}  // namespace tracedb::clickhouse
