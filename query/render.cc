// Text renderings of a QueryResult: an aligned table for people, JSON and
// NDJSON for programs.

#include <cmath>
#include <cstdio>

#include "query/query.h"
#include "schema/json_writer.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::query {

namespace {

std::string_view SourceText(schema::Source s) {
  switch (s) {
    case schema::Source::kReflow: return "reflow";
    case schema::Source::kOperonx: return "operonx";
    case schema::Source::kOtel: return "otel";
  }
  return "unknown";
}

// Integers print whole; other values with up to 6 decimals, trailing
// zeros trimmed (no exponent notation: figures stay comparable by eye).
std::string Number(const std::optional<double>& v) {
  if (!v) return "null";
  if (!std::isfinite(*v)) return *v > 0 ? "inf" : (*v < 0 ? "-inf" : "nan");
  char buf[400];
  if (std::floor(*v) == *v && std::fabs(*v) < 1e18) {
    std::snprintf(buf, sizeof buf, "%.0f", *v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.6f", *v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string DurationText(const schema::Trace& t) {
  if (!t.end_ns) return "-";
  return std::to_string(*t.end_ns - t.start_ns) + "ns";
}

void Table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
           std::string* out) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c) l += "  ";
      l += cells[c];
      if (c + 1 < cells.size()) l.append(width[c] - cells[c].size(), ' ');
    }
    *out += l + "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

void TraceJson(const schema::Trace& t, schema::JsonWriter* w) {
  w->BeginObject();
  w->PlainKey("trace_id");
  w->String(TraceIdText(t));
  w->PlainKey("flow");
  w->String(t.flow_id);
  w->PlainKey("execution_id");
  w->String(schema::FormatUuid(t.execution_id));
  w->PlainKey("source");
  w->String(SourceText(t.source));
  w->PlainKey("status");
  w->String(StatusName(t.status.code));
  if (t.status.code == schema::StatusCode::kFailed) {
    w->PlainKey("error");
    w->String(t.status.error);
  }
  w->PlainKey("start");
  w->String(schema::FormatRfc3339(t.start_ns));
  w->PlainKey("end");
  if (t.end_ns) {
    w->String(schema::FormatRfc3339(*t.end_ns));
  } else {
    w->Null();
  }
  w->PlainKey("duration_ns");
  if (t.end_ns) {
    w->Int(*t.end_ns - t.start_ns);
  } else {
    w->Null();
  }
  if (!t.external_id.empty()) {
    w->PlainKey("request_id");
    w->String(t.external_id);
  }
  w->EndObject();
}

void RowJson(const QueryResult& r, const AggregateRow& row, schema::JsonWriter* w) {
  w->BeginObject();
  size_t c = 0;
  for (const auto& g : row.group) {
    w->Key(r.columns[c++]);
    w->String(g);
  }
  for (const auto& v : row.values) {
    w->Key(r.columns[c++]);
    if (v) {
      w->F64(*v);
    } else {
      w->Null();
    }
  }
  w->EndObject();
}

std::string RenderTable(const QueryResult& r) {
  std::string out;
  if (r.kind == QueryResult::Kind::kExplain) return r.plan;
  if (r.kind == QueryResult::Kind::kAggregate) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : r.rows) {
      std::vector<std::string> cells = row.group;
      for (const auto& v : row.values) cells.push_back(Number(v));
      rows.push_back(std::move(cells));
    }
    Table(r.columns, rows, &out);
    return out;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : r.traces) {
    rows.push_back({TraceIdText(t), t.flow_id, std::string(StatusName(t.status.code)),
                    schema::FormatRfc3339(t.start_ns), DurationText(t), std::string(SourceText(t.source))});
  }
  Table({"TRACE_ID", "FLOW", "STATUS", "START", "DURATION", "SOURCE"}, rows, &out);
  out += std::to_string(r.traces.size()) + " trace(s)";
  if (r.total_count) out += " of " + std::to_string(*r.total_count);
  out += "\n";
  if (!r.next_cursor.empty()) out += "next cursor: " + r.next_cursor + "\n";
  return out;
}

std::string RenderJson(const QueryResult& r) {
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  if (r.kind == QueryResult::Kind::kExplain) {
    w.PlainKey("plan");
    w.String(r.plan);
  } else if (r.kind == QueryResult::Kind::kAggregate) {
    w.PlainKey("columns");
    w.BeginArray();
    for (const auto& c : r.columns) w.String(c);
    w.EndArray();
    w.PlainKey("rows");
    w.BeginArray();
    for (const auto& row : r.rows) RowJson(r, row, &w);
    w.EndArray();
  } else {
    w.PlainKey("traces");
    w.BeginArray();
    for (const auto& t : r.traces) TraceJson(t, &w);
    w.EndArray();
    w.PlainKey("total_count");
    if (r.total_count) {
      w.Uint(*r.total_count);
    } else {
      w.Null();
    }
    w.PlainKey("next_cursor");
    if (r.next_cursor.empty()) {
      w.Null();
    } else {
      w.String(r.next_cursor);
    }
  }
  w.EndObject();
  return out + "\n";
}

std::string RenderNdjson(const QueryResult& r) {
  if (r.kind == QueryResult::Kind::kExplain) return RenderJson(r);
  std::string out;
  if (r.kind == QueryResult::Kind::kAggregate) {
    for (const auto& row : r.rows) {
      schema::JsonWriter w(&out);
      RowJson(r, row, &w);
      out += "\n";
    }
    return out;
  }
  for (const auto& t : r.traces) {
    schema::JsonWriter w(&out);
    TraceJson(t, &w);
    out += "\n";
  }
  return out;
}

}  // namespace

std::string RenderResult(const QueryResult& result, OutputFormat format) {
  switch (format) {
    case OutputFormat::kTable: return RenderTable(result);
    case OutputFormat::kJson: return RenderJson(result);
    case OutputFormat::kNdjson: return RenderNdjson(result);
  }
  return "";
}

}  // namespace tracedb::query
