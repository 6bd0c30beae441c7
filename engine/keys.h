#pragma once

// Key encodings of every column family. docs/format.md is the reference;
// this is its implementation. All fixed-width integers are big-endian and
// all encodings are order-preserving (common/coding.h).
//
//   meta     key := "format_version" | "bucket_seconds" | "retention_cutoff"
//   traces   key := trace_id[16]                                  -> TraceRecord
//   events   key := fixed32(bucket) trace_id[16] ordered_i64(ts) fixed64(seq)
//                   event_id[rest]                                -> EventRecord
//   columns  key := fixed32(bucket) trace_id[16] fixed32(chunk)   -> ColumnChunk
//   index    key := 'T' desc_i64(start) trace_id[16]
//                 | 'F' escaped(flow_id) desc_i64(start) trace_id[16]
//                 | 'A' escaped(actor)   desc_i64(start) trace_id[16]
//                 | 'S' status[1]        desc_i64(start) trace_id[16]
//                 | 'X' execution_id[16] desc_i64(start) trace_id[16]
//                 | 'V' escaped(flow_id) fixed32(major) fixed32(minor)
//                       fixed32(patch) git_hash ordered_i64(version_ts)
//            git_hash := 0x00 | 0x01 escaped(hash)
//            value := empty
//
//   graph    key := fixed32(bucket) level[1] fixed32(cell)        -> GraphCell
//            The aggregates of the traces whose start lies in one cell: at
//            level L, cell c covers slots [c*n_L, (c+1)*n_L) of 1 s
//            (n = 1, 15, 300, 3600: 1 s, 15 s, 5 min, 1 h), every trace in
//            all four. bucket := BucketOf(trace start); a cell wider than
//            the bucket has one key per bucket it spans. slot := floor(start
//            / 1 s), 0 before the epoch. Written with Merge only (graph
//            merge operator: addition), one operand per cell per batch.
//   GraphCell := varint(n) (varint(klen) entry[klen] varint(vlen) GraphValue[vlen])[n]
//            entries ascending by bytes:
//            tag 'T' rest := empty                     (traces started)
//                'N' rest := kind[1] escaped(id)       (a node; kind 'a' actor,
//                                                       'o' op, 's' service)
//                'E' rest := escaped(from) escaped(from_port) escaped(to)
//                            escaped(to_port)          (an edge)
//   GraphValue := zz(f0) zz(f1) zz(f2)            node refs events errors |
//                                                 edge count bytes errors |
//                                                 traces count 0 0
//                 varint(n) (zz(index - previous index) zz(count))[n]
//                                                 latency sketch, ascending
//                 varint(m) (varint(len) name[len] zz(count))[m]  edge types
//            zz := zigzag varint64 (deltas may be negative while summed)
//
//   desc_i64(v) := fixed64(~(uint64(v) XOR 2^63)): newest first on a
//   forward scan, which RocksDB serves faster than a reverse one.
//
// The event id is the key's last field and needs no length: nothing follows.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/engine.h"

namespace tracedb::engine::keys {

constexpr size_t kTraceIdLen = 16;
constexpr size_t kTracePrefixLen = 4 + kTraceIdLen;  // bucket + trace id

std::string TraceKey(const Id128& trace_id);

// bucket + trace id: the prefix of all events and column chunks of a trace.
std::string TracePrefix(uint32_t bucket, const Id128& trace_id);

std::string EventKey(uint32_t bucket, const Id128& trace_id, TimestampNs ts, uint64_t seq,
                     std::string_view event_id);

// Appends the event key to *dst (no allocation beyond dst's growth).
void AppendEventKey(std::string* dst, uint32_t bucket, const Id128& trace_id, TimestampNs ts, uint64_t seq,
                    std::string_view event_id);

struct EventKeyParts {
  uint32_t bucket = 0;
  Id128 trace_id{};
  TimestampNs ts = 0;
  uint64_t seq = 0;
  std::string_view event_id;  // valid while the key bytes are
};
bool ParseEventKey(std::string_view key, EventKeyParts* parts);

std::string ColumnKey(uint32_t bucket, const Id128& trace_id, uint32_t chunk);

void PutDescI64(std::string* dst, int64_t v);
int64_t DecodeDescI64(const char* p);

// tag + encoded value: the prefix of all entries for one index value.
std::string IndexValuePrefix(IndexKind kind, std::string_view value);

// The full index key of one (value, start, trace) entry.
std::string IndexKey(IndexKind kind, std::string_view value, TimestampNs start, const Id128& trace_id);

// Appends the index key to *dst.
void AppendIndexKey(std::string* dst, IndexKind kind, std::string_view value, TimestampNs start,
                    const Id128& trace_id);

// Parses the (start, trace id) tail of an index key whose value prefix has
// length `prefix_len`.
bool ParseIndexTail(std::string_view key, size_t prefix_len, IndexEntry* entry);

// Parses any index key of kinds T/F/A/S/X into its value and entry (for the
// retention compaction filter and ListIndexValues).
bool ParseIndexKey(std::string_view key, IndexKind* kind, std::string* value, IndexEntry* entry);

// Width of a graph aggregate slot, the finest cell: 1 s of trace starts.
// A window reads the widest whole cells that tile it (at most ~90 for an
// hour) and scans the traces of the cut slots at its ends (docs/graph.md,
// "Index-backed windows").
constexpr int64_t kGraphSlotNs = int64_t{1'000'000'000};
inline constexpr int kGraphLevels = 4;
// Slots per cell at each level: 1 s, 15 s, 5 min, 1 h.
inline constexpr uint32_t kGraphLevelSlots[kGraphLevels] = {1, 15, 300, 3600};
// The slot of a trace start (0 before the epoch).
uint32_t GraphSlotOf(TimestampNs start_ns);
// bucket + slot: the write path's prefix of a trace's graph deltas (not
// stored: the deltas are stored in cells).
std::string GraphPrefix(uint32_t bucket, uint32_t slot);
constexpr size_t kGraphPrefixLen = 8;
std::string GraphCellKey(uint32_t bucket, int level, uint32_t cell);
constexpr size_t kGraphCellKeyLen = 9;

std::string FlowVersionKey(std::string_view flow_id, const schema::FlowVersion& v);
std::string FlowVersionPrefix(std::string_view flow_id);
bool ParseFlowVersionKey(std::string_view key, size_t prefix_len, schema::FlowVersion* v);

}  // namespace tracedb::engine::keys
