#pragma once

// Conversion between the data model (schema/model.h) and the FlatBuffers
// records stored by the engine (schema/records.fbs). Decoding verifies the
// buffer first: corrupt bytes give Status::Corruption, never a crash.

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "schema/model.h"

namespace tracedb::schema {

// Deepest nesting of arrays and key-value lists inside one attribute value
// that a stored record may hold (a scalar is depth 0, an array of scalars 1).
// Writers refuse deeper values (the OTLP mapping does); the decoder's
// verifier is sized for it.
inline constexpr uint32_t kMaxAttributeDepth = 32;

// Engine bookkeeping stored with a trace header (TraceRecord fields beyond
// the model).
struct TraceBookkeeping {
  uint32_t bucket = 0;
  uint64_t event_count = 0;
  uint32_t chunk_count = 0;
  std::vector<std::string> actors;
  TimestampNs last_event_ns = 0;
  bool has_flow_version = false;
  uint8_t ended_by = 0;
  uint64_t error_events = 0;
  uint64_t cancelled_events = 0;
  std::string first_error;
  // Flow-index values of the trace beyond header.flow_id (OTel: the other
  // services of the trace), each indexed once.
  std::vector<std::string> flows{};
  // The header's naming fields came from a root span (OTel).
  bool has_root = false;

  friend bool operator==(const TraceBookkeeping&, const TraceBookkeeping&) = default;
};

// Encodes the header of `trace` (its events are ignored) and `bk`.
std::string EncodeTraceRecord(const Trace& trace, const TraceBookkeeping& bk);

// Decodes a TraceRecord into `trace` (header only; trace_id is not in the
// value and is left as is) and `bk` (may be null).
Status DecodeTraceRecord(std::string_view bytes, Trace* trace, TraceBookkeeping* bk);

// Reads only start_ns from an encoded TraceRecord (for the retention
// compaction filter). Returns false when the bytes are not a TraceRecord.
bool PeekTraceStart(std::string_view bytes, TimestampNs* start_ns);

// Encodes an event's value. event_id, timestamp and seq are not included:
// they live in the event's key.
std::string EncodeEventRecord(const Event& event);

// Reusable event encoder for hot paths: keeps its FlatBuffers builder
// between calls, so encoding allocates nothing once warmed up. Not
// thread-safe.
class EventEncoder {
 public:
  // Encodes `event` like EncodeEventRecord. The view stays valid until the
  // next Encode call or the encoder's destruction.
  std::string_view Encode(const Event& event);

 private:
  flatbuffers::FlatBufferBuilder fbb_{1024};
};

// Decodes an event value; the caller supplies the key fields. Spans that
// shared one resource or scope when encoded get equal but separate copies.
Status DecodeEventRecord(std::string_view bytes, Event* event);

// The columnar hot fields of events (one ColumnChunk record).
struct Columns {
  TimestampNs trace_start_ns = 0;
  std::vector<TimestampNs> timestamp_ns;
  std::vector<uint64_t> seq;
  std::vector<uint64_t> event_fp;
  std::vector<uint8_t> type;
  std::vector<uint16_t> actor;
  std::vector<std::string> actors;
  std::vector<uint64_t> duration_ns;
  std::vector<uint64_t> size_bytes;
  std::vector<uint8_t> status;
  // OTLP SpanKind of OTel spans (0 for every other event): empty when every
  // value is 0 (it is stored only otherwise), else n values. Read it with
  // span_kind_at.
  std::vector<uint8_t> span_kind;
  // The service of each event (an OTel span's resource `service.name`,
  // schema::OtelServiceName), dictionary-encoded like actors: an index into
  // `services`, or kNoService for an event that is not an OTel span (its
  // service is its trace's flow). Both empty when the chunk holds no OTel
  // span (then nothing is stored, and chunks written before the column
  // existed read the same way), else `service` has n values.
  std::vector<uint16_t> service;
  std::vector<std::string> services;

  static constexpr uint16_t kNoService = UINT16_MAX;

  size_t size() const { return timestamp_ns.size(); }
  uint8_t span_kind_at(size_t i) const { return span_kind.empty() ? 0 : span_kind[i]; }
  // The stored service of event i, or nullptr when it has none (not an OTel
  // span, or a chunk without the column). Valid while `services` is.
  const std::string* service_at(size_t i) const {
    if (service.empty() || service[i] == kNoService) return nullptr;
    return &services[service[i]];
  }
  friend bool operator==(const Columns&, const Columns&) = default;
};

std::string EncodeColumns(const Columns& columns);
Status DecodeColumns(std::string_view bytes, Columns* columns);

// As DecodeColumns, for window scans: the chunk is verified once and, when
// its trace started outside [min_start, max_start], *in_window is false and
// *columns is left as it was (nothing copied).
Status DecodeColumnsIfStartIn(std::string_view bytes, TimestampNs min_start, TimestampNs max_start,
                              Columns* columns, bool* in_window);

}  // namespace tracedb::schema
