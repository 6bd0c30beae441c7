#pragma once

// The ClickHouse table layout (docs/format.md, "ClickHouse layout"): the DDL
// tracedb runs at start, and the names the reads and writes use.
//
// Per shard, three tables and one materialized view, all partitioned by the
// day of the trace's start (retention drops whole partitions):
//   traces       one row per header version (ReplacingMergeTree(version),
//                ORDER BY trace_id): the encoded TraceRecord with its
//                bookkeeping, the generation of its events, every index
//                key the version holds (`keys`) and the ones it added
//                (`index_keys`). The latest version is the header.
//   trace_index  (key, start_ns, trace_id), ORDER BY (key, start_ns,
//                trace_id), fed by trace_index_mv from traces.index_keys:
//                the flow, actor, status, execution, time and flow-version
//                filters are key ranges. Entries are hints: a reader keeps a
//                trace only when its latest header still has the value.
//   events       one row per event (ReplacingMergeTree, ORDER BY (trace_id,
//                gen, event_fp), granularity 1024): the hot fields as
//                columns, the rest as the encoded EventRecord.
// Idempotent writes: a re-sent block repeats rows whose key (trace_id, gen,
// event_fp) or (trace_id, version) is already there; readers take one row
// per key (LIMIT 1 BY, argMax), and merges collapse them.
//
// Runs on ClickHouse 18.16 (no DateTime64, Map, codecs, skip indexes or
// TTL). A server of major version >= 20 also gets LowCardinality columns,
// ZSTD codecs on the encoded records and a bloom-filter skip index on
// event ids.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tracedb::clickhouse {

struct ServerVersion {
  uint32_t major = 0;
  uint32_t minor = 0;
  // Features beyond 18.16's: LowCardinality, column codecs, skip indexes, TTL.
  bool modern() const { return major >= 20; }
};

// Parses `SELECT version()` ("18.16.1", "24.3.2.23").
ServerVersion ParseServerVersion(std::string_view text);

struct LayoutOptions {
  std::string database = "tracedb";
  bool replicated = false;  // ReplicatedMergeTree with {shard}/{replica} macros
  ServerVersion version;
};

// The statements creating the database, the tables and the view, in order,
// each idempotent (IF NOT EXISTS). One statement per string.
std::vector<std::string> LayoutStatements(const LayoutOptions& options);

// The tables a retention pass drops partitions of.
inline constexpr std::string_view kPartitionedTables[] = {"traces", "trace_index", "events"};

// The index key kinds (first byte of trace_index.key); the rest of the key is
// the value: the flow, the actor, the status code byte, the 16-byte
// execution id; kVersionKey: flow + '\0' + the encoded FlowVersion.
inline constexpr char kTimeKey = 'T';
inline constexpr char kFlowKey = 'F';
inline constexpr char kActorKey = 'A';
inline constexpr char kStatusKey = 'S';
inline constexpr char kExecutionKey = 'X';
inline constexpr char kVersionKey = 'V';

}  // namespace tracedb::clickhouse
