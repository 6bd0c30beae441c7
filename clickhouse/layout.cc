#include "clickhouse/layout.h"

#include <charconv>

#include <fmt/format.h>

namespace tracedb::clickhouse {

ServerVersion ParseServerVersion(std::string_view text) {
  ServerVersion v;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end && (*p == ' ' || *p == '\n')) ++p;
  auto r = std::from_chars(p, end, v.major);
  if (r.ec == std::errc() && r.ptr < end && *r.ptr == '.') std::from_chars(r.ptr + 1, end, v.minor);
  return v;
}

namespace {

// The day partition of a nanosecond start time (negative times: day 0).
std::string DayOf(std::string_view column) {
  return fmt::format("toYYYYMMDD(toDateTime(toUInt32(intDiv(greatest({}, 0), 1000000000))))", column);
}

std::string Engine(const LayoutOptions& o, std::string_view table, std::string_view args) {
  if (!o.replicated) return fmt::format("ReplacingMergeTree({})", args);
  std::string path = fmt::format("'/clickhouse/tables/{{shard}}/{}/{}', '{{replica}}'", o.database, table);
  if (!args.empty()) path += fmt::format(", {}", args);
  return fmt::format("ReplicatedReplacingMergeTree({})", path);
}

}  // namespace

std::vector<std::string> LayoutStatements(const LayoutOptions& o) {
  const bool modern = o.version.modern();
  const std::string_view str = modern ? "LowCardinality(String)" : "String";
  const std::string_view blob = modern ? "String CODEC(ZSTD(3))" : "String";
  const std::string& db = o.database;
  std::vector<std::string> out;
  out.push_back(fmt::format("CREATE DATABASE IF NOT EXISTS {}", db));
  out.push_back(fmt::format(
      "CREATE TABLE IF NOT EXISTS {0}.traces (\n"
      "  trace_id FixedString(16),\n"
      "  version UInt64,\n"
      "  gen UInt32,\n"
      "  start_ns Int64,\n"
      "  header {1},\n"
      "  keys Array(String),\n"
      "  index_keys Array(String)\n"
      ") ENGINE = {2}\n"
      "PARTITION BY {3}\n"
      "ORDER BY trace_id",
      db, blob, Engine(o, "traces", "version"), DayOf("start_ns")));
  out.push_back(fmt::format(
      "CREATE TABLE IF NOT EXISTS {0}.trace_index (\n"
      "  key String,\n"
      "  start_ns Int64,\n"
      "  trace_id FixedString(16)\n"
      ") ENGINE = {1}\n"
      "PARTITION BY {2}\n"
      "ORDER BY (key, start_ns, trace_id)",
      db, Engine(o, "trace_index", ""), DayOf("start_ns")));
  out.push_back(fmt::format(
      "CREATE MATERIALIZED VIEW IF NOT EXISTS {0}.trace_index_mv TO {0}.trace_index AS\n"
      "SELECT arrayJoin(index_keys) AS key, start_ns, trace_id FROM {0}.traces",
      db));
  out.push_back(fmt::format(
      "CREATE TABLE IF NOT EXISTS {0}.events (\n"
      "  trace_id FixedString(16),\n"
      "  gen UInt32,\n"
      "  event_fp UInt64,\n"
      "  trace_start_ns Int64,\n"
      "  ts_ns Int64,\n"
      "  seq UInt64,\n"
      "  event_id String,\n"
      "  type UInt8,\n"
      "  actor {1},\n"
      "  status UInt8,\n"
      "  duration_ns UInt64,\n"
      "  size_bytes UInt64,\n"
      "  span_kind UInt8,\n"
      "  has_service UInt8,\n"
      "  service {1},\n"
      "  record {2}{3}\n"
      ") ENGINE = {4}\n"
      "PARTITION BY {5}\n"
      "ORDER BY (trace_id, gen, event_fp)\n"
      "SETTINGS index_granularity = 1024",
      db, str, blob, modern ? ",\n  INDEX event_id_bf event_id TYPE bloom_filter(0.01) GRANULARITY 4" : "",
      Engine(o, "events", ""), DayOf("trace_start_ns")));
  return out;
}

}  // namespace tracedb::clickhouse
