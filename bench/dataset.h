#pragma once

// The data every system under test is given, built once per run from the
// generator: the same traces in the same interleaved order, cut into the
// same batches, as engine write batches (direct API), as Reflow NDJSON
// (the bulk-ingest body: StartTrace / RecordEvent / EndTrace lines, printed
// by the project's codec ingest/reflow/reflow_json.h), and as raw key/value pairs
// (the raw RocksDB ceiling).

#include <cstdint>
#include <string>
#include <vector>

#include "bench/generator.h"
#include "common/result.h"
#include "engine/engine.h"
#include "schema/model.h"

namespace tracedb::bench {

// One NDJSON request body: `lines` lines holding `events` RecordEvents.
struct NdjsonBatch {
  std::string body;
  uint32_t events = 0;
  uint32_t lines = 0;
};

// Lines of one trace's stream as the Reflow protocol sends them (G2 shapes):
//   {"StartTrace":{"trace_id":..,"flow_id":..,"version":..}}
//   {"RecordEvent":{"trace_id":..,"event":E}}      (one per event)
//   {"EndTrace":{"trace_id":..,"status":..}}
// Appends the line (with '\n') for `op` of `traces` to *out.
void AppendNdjsonLine(const std::vector<schema::Trace>& traces, const StreamOp& op, std::string* out);

// Cuts `stream` into batches of `batch_events` events (a batch also holds
// the starts and ends between its events).
std::vector<std::pair<size_t, size_t>> CutBatches(const std::vector<StreamOp>& stream, uint32_t batch_events);

// NDJSON bodies of the batches.
std::vector<NdjsonBatch> BuildNdjson(const std::vector<schema::Trace>& traces, const std::vector<StreamOp>& stream,
                                     const std::vector<std::pair<size_t, size_t>>& cuts);

// Engine write batches of the same cuts. StartTrace carries the whole
// header (the direct API has room for metadata and execution id). Events
// are copied from `traces`.
std::vector<engine::WriteBatch> BuildWriteBatches(const std::vector<schema::Trace>& traces,
                                                  const std::vector<StreamOp>& stream,
                                                  const std::vector<std::pair<size_t, size_t>>& cuts);

// Compares what a store returned with what was generated: the header fields
// the given path transports (kFullHeader for the direct API, kWireHeader for
// Reflow requests: flow, version, status) and every event (seq compared only
// with SeqCheck::kCompare: a peer that stores the wire JSON has no seq).
// Returns a description of the first difference, or "" when equal.
enum class HeaderCheck : uint8_t { kFullHeader, kWireHeader };
enum class SeqCheck : uint8_t { kCompare, kIgnore };
std::string DiffTrace(const schema::Trace& expected, const schema::Trace& actual, HeaderCheck check,
                      SeqCheck seq = SeqCheck::kCompare);

}  // namespace tracedb::bench
