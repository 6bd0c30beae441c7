#include "bench/dataset.h"

#include <fmt/format.h>

#include "ingest/reflow/reflow_json.h"
#include "ingest/reflow/reflow_protocol.h"
#include "schema/uuid.h"

namespace tracedb::bench {

namespace reflow = ingest::reflow;

void AppendNdjsonLine(const std::vector<schema::Trace>& traces, const StreamOp& op, std::string* out) {
  const schema::Trace& t = traces[op.trace];
  switch (op.kind) {
    case StreamOp::Kind::kStart: {
      reflow::StartTrace s;
      s.trace_id = t.trace_id;
      s.flow_id = t.flow_id;
      s.version = t.version;
      reflow::AppendTracingRequest(reflow::TracingRequest(std::move(s)), out);
      break;
    }
    case StreamOp::Kind::kEvent: {
      // Printed directly (no copy of the event): the RecordEvent envelope
      // around the codec's TraceEvent, byte-identical to printing a
      // reflow::RecordEvent.
      out->append("{\"RecordEvent\":{\"trace_id\":\"");
      schema::AppendUuid(t.trace_id, out);
      out->append("\",\"event\":");
      reflow::AppendEvent(t.events[op.event], out);
      out->append("}}");
      break;
    }
    case StreamOp::Kind::kEnd: {
      reflow::EndTrace e;
      e.trace_id = t.trace_id;
      e.status = t.status;
      reflow::AppendTracingRequest(reflow::TracingRequest(std::move(e)), out);
      break;
    }
  }
  out->push_back('\n');
}

std::vector<std::pair<size_t, size_t>> CutBatches(const std::vector<StreamOp>& stream, uint32_t batch_events) {
  std::vector<std::pair<size_t, size_t>> cuts;
  size_t begin = 0;
  uint32_t events = 0;
  for (size_t i = 0; i < stream.size(); ++i) {
    if (stream[i].kind == StreamOp::Kind::kEvent && ++events == batch_events) {
      // Ends that directly follow the last event ride in this batch.
      size_t end = i + 1;
      while (end < stream.size() && stream[end].kind == StreamOp::Kind::kEnd) ++end;
      cuts.emplace_back(begin, end);
      begin = end;
      i = end - 1;
      events = 0;
    }
  }
  if (begin < stream.size()) cuts.emplace_back(begin, stream.size());
  return cuts;
}

std::vector<NdjsonBatch> BuildNdjson(const std::vector<schema::Trace>& traces, const std::vector<StreamOp>& stream,
                                     const std::vector<std::pair<size_t, size_t>>& cuts) {
  std::vector<NdjsonBatch> out;
  out.reserve(cuts.size());
  for (auto [begin, end] : cuts) {
    NdjsonBatch b;
    for (size_t i = begin; i < end; ++i) {
      AppendNdjsonLine(traces, stream[i], &b.body);
      ++b.lines;
      if (stream[i].kind == StreamOp::Kind::kEvent) ++b.events;
    }
    out.push_back(std::move(b));
  }
  return out;
}

std::vector<engine::WriteBatch> BuildWriteBatches(const std::vector<schema::Trace>& traces,
                                                  const std::vector<StreamOp>& stream,
                                                  const std::vector<std::pair<size_t, size_t>>& cuts) {
  std::vector<engine::WriteBatch> out;
  out.reserve(cuts.size());
  for (auto [begin, end] : cuts) {
    engine::WriteBatch b;
    for (size_t i = begin; i < end; ++i) {
      const StreamOp& op = stream[i];
      const schema::Trace& t = traces[op.trace];
      switch (op.kind) {
        case StreamOp::Kind::kStart: {
          schema::Trace header = t;
          header.events.clear();
          header.end_ns.reset();
          header.status = {};
          b.StartTrace(std::move(header), engine::StartMode::kUpsertHeader);
          break;
        }
        case StreamOp::Kind::kEvent:
          b.AppendEvent(t.trace_id, t.events[op.event]);
          break;
        case StreamOp::Kind::kEnd:
          b.EndTrace(t.trace_id, t.status, *t.end_ns);
          break;
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

std::string DiffTrace(const schema::Trace& expected, const schema::Trace& actual, HeaderCheck check, SeqCheck seq) {
  const std::string id = schema::FormatUuid(expected.trace_id);
  if (actual.trace_id != expected.trace_id) return "trace " + id + ": trace_id differs";
  if (actual.flow_id != expected.flow_id) return fmt::format("trace {}: flow {} != {}", id, actual.flow_id, expected.flow_id);
  if (!(actual.version == expected.version)) return "trace " + id + ": version differs";
  if (!(actual.status == expected.status)) {
    return fmt::format("trace {}: status {} '{}' != {} '{}'", id, static_cast<int>(actual.status.code),
                       actual.status.error, static_cast<int>(expected.status.code), expected.status.error);
  }
  if (check == HeaderCheck::kFullHeader) {
    if (actual.execution_id != expected.execution_id) return "trace " + id + ": execution_id differs";
    if (actual.start_ns != expected.start_ns) return "trace " + id + ": start differs";
    if (actual.end_ns != expected.end_ns) return "trace " + id + ": end differs";
    if (!(actual.metadata == expected.metadata)) return "trace " + id + ": metadata differs";
  }
  if (actual.events.size() != expected.events.size()) {
    return fmt::format("trace {}: {} events read back, {} written", id, actual.events.size(), expected.events.size());
  }
  for (size_t k = 0; k < expected.events.size(); ++k) {
    schema::Event a = actual.events[k];
    const schema::Event& e = expected.events[k];
    if (seq == SeqCheck::kIgnore) a.seq = e.seq;
    if (!(a == e)) {
      std::string what = a.event_id != e.event_id           ? "event_id"
                         : a.timestamp_ns != e.timestamp_ns ? "timestamp"
                         : a.seq != e.seq                   ? fmt::format("seq {} != {}", a.seq, e.seq)
                         : a.type != e.type                 ? "type"
                         : a.actor != e.actor               ? "actor"
                         : !(a.reflow == e.reflow)          ? "reflow data"
                                                            : "other field";
      return fmt::format("trace {}: event {} differs ({})", id, k, what);
    }
  }
  return "";
}

}  // namespace tracedb::bench
