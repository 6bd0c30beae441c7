#include "server/http_api.h"

#include <charconv>

#include "query/fields.h"
#include "query/graph.h"
#include "query/lineage.h"
#include "query/operonx_views.h"
#include "query/query.h"
#include "schema/json_writer.h"
#include "ingest/operonx/operonx_json.h"
#include "ingest/reflow/reflow_json.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"
#include "ingest/operonx/operonx_mapping.h"
#include "server/http_support.h"

namespace tracedb::server {

namespace {

constexpr size_t kMaxLimit = 10000;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Param(const std::vector<std::pair<std::string, std::string>>& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

bool Flag(const std::vector<std::pair<std::string, std::string>>& params, std::string_view name) {
  std::string v = Param(params, name);
  return v == "1" || v == "true" || v == "yes";
}

Result<size_t> SizeParam(const std::string& text, std::string_view name, size_t def, size_t max) {
  if (text.empty()) return def;
  size_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument("parameter '" + std::string(name) + "' must be a non-negative integer, got '" +
                                   text + "'");
  }
  if (v > max) {
    return Status::InvalidArgument("parameter '" + std::string(name) + "' must be at most " + std::to_string(max));
  }
  return v;
}

Result<query::OutputFormat> FormatParam(const std::string& text) {
  if (text.empty() || text == "json") return query::OutputFormat::kJson;
  if (text == "ndjson") return query::OutputFormat::kNdjson;
  if (text == "table") return query::OutputFormat::kTable;
  return Status::InvalidArgument("parameter 'format' must be json, ndjson or table, got '" + text + "'");
}

std::string_view ContentTypeFor(query::OutputFormat f) {
  switch (f) {
    case query::OutputFormat::kJson: return "application/json";
    case query::OutputFormat::kNdjson: return "application/x-ndjson";
    case query::OutputFormat::kTable: return "text/plain; charset=utf-8";
  }
  return "application/json";
}

ApiResponse Json(std::string body, int status = 200) { return ApiResponse{status, "application/json", std::move(body)}; }

enum class Endpoint { kTraces, kAggregate, kAny };

// /v1/traces (searches), /v1/aggregate (aggregations), /v1/query (either).
ApiResponse Search(const std::vector<std::pair<std::string, std::string>>& params, engine::Engine* engine,
                   schema::TimestampNs now_ns, Endpoint endpoint) {
  std::string q = Param(params, "q");
  auto limit = SizeParam(Param(params, "limit"), "limit", 20, kMaxLimit);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto format = FormatParam(Param(params, "format"));
  if (!format.ok()) return ErrorResponse(format.status());
  query::QueryOptions options;
  options.limit = *limit;
  options.cursor = Param(params, "cursor");
  options.now_ns = now_ns;
  options.count_total = Flag(params, "count");
  options.explain = Flag(params, "explain");
  auto result = query::RunQuery(engine, q, options);
  if (!result.ok()) return ErrorResponse(result.status());
  if (endpoint == Endpoint::kAggregate && result->kind == query::QueryResult::Kind::kTraces) {
    return ErrorResponse(Status::InvalidArgument(
        "/v1/aggregate needs an aggregation, e.g. '" + q + " | count() by (flow)'; use /v1/traces for searches"));
  }
  if (endpoint == Endpoint::kTraces && result->kind == query::QueryResult::Kind::kAggregate) {
    return ErrorResponse(Status::InvalidArgument("this query is an aggregation: use /v1/aggregate"));
  }
  return ApiResponse{200, std::string(ContentTypeFor(*format)), query::RenderResult(*result, *format)};
}

// A trace id in a URL: a UUID or 32 hex digits (the OTel form; ParseUuid
// reads both), else an operonx request id.
schema::Id128 TraceIdFromPath(std::string_view text) {
  schema::Id128 id;
  if (schema::ParseUuid(text, &id)) return id;
  return ingest::operonx::OperonxTraceId(text);
}

std::string OperonxTraceJson(const schema::Trace& t) {
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("request_id");
  w.String(t.external_id);
  w.PlainKey("trace_id");
  w.String(schema::FormatUuid(t.trace_id));
  w.PlainKey("workflow_name");
  w.String(t.flow_id);
  w.PlainKey("user_id");
  if (t.metadata.user_id) w.String(*t.metadata.user_id);
  else w.Null();
  w.PlainKey("session_id");
  if (t.metadata.session_id) w.String(*t.metadata.session_id);
  else w.Null();
  w.PlainKey("tags");
  w.BeginArray();
  for (const auto& [k, v] : t.metadata.tags) w.String(k);
  w.EndArray();
  w.PlainKey("status");
  w.String(t.status.code == schema::StatusCode::kRunning     ? "running"
           : t.status.code == schema::StatusCode::kCompleted ? "completed"
           : t.status.code == schema::StatusCode::kFailed    ? "failed"
           : t.status.code == schema::StatusCode::kCancelled ? "cancelled"
                                                             : "pending");
  w.PlainKey("start");
  w.String(schema::FormatRfc3339(t.start_ns));
  w.PlainKey("end");
  if (t.end_ns) w.String(schema::FormatRfc3339(*t.end_ns));
  else w.Null();
  w.PlainKey("events");
  w.BeginArray();
  for (const auto& e : t.events) {
    std::string event;
    ingest::operonx::AppendEvent(t.external_id, e, &event);
    w.Raw(event);
  }
  w.EndArray();
  w.EndObject();
  return out;
}

ApiResponse GetTrace(std::string_view id_text, engine::Engine* engine) {
  auto trace = engine->GetTrace(TraceIdFromPath(id_text));
  if (!trace.ok()) return ErrorResponse(trace.status());
  if (!trace->has_value()) return ErrorResponse(Status::NotFound("no trace " + std::string(id_text)));
  const schema::Trace& t = **trace;
  if (t.source == schema::Source::kOperonx) return Json(OperonxTraceJson(t));
  if (t.source == schema::Source::kOtel) return Json(query::RenderOtelTraceJson(t));
  return Json(ingest::reflow::PrintTrace(t));
}

ApiResponse FlowVersions(std::string_view flow, engine::Engine* engine) {
  auto versions = engine->GetFlowVersions(flow);
  if (!versions.ok()) return ErrorResponse(versions.status());
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("flow_id");
  w.String(flow);
  w.PlainKey("versions");
  w.BeginArray();
  for (const auto& v : *versions) {
    std::string version;
    ingest::reflow::AppendFlowVersion(v, &version);
    w.Raw(version);
  }
  w.EndArray();
  w.EndObject();
  return Json(std::move(out));
}

ApiResponse OperonxView(std::string_view request_id, std::string_view view,
                        const std::vector<std::pair<std::string, std::string>>& params, engine::Engine* engine) {
  auto k = SizeParam(Param(params, "k"), "k", 10, kMaxLimit);
  if (!k.ok()) return ErrorResponse(k.status());
  auto trace = engine->GetTrace(ingest::operonx::OperonxTraceId(request_id));
  if (!trace.ok()) return ErrorResponse(trace.status());
  if (!trace->has_value() || (*trace)->source != schema::Source::kOperonx) {
    return ErrorResponse(Status::NotFound("no operonx request " + std::string(request_id)));
  }
  const schema::Trace& t = **trace;
  namespace ox = query::operonx;
  if (view == "timeline") return Json(ox::TimelineJson(t));
  if (view == "tree") return Json(ox::TreeJson(t));
  if (view == "turns") return Json(ox::TurnsJson(t));
  if (view == "cost") return Json(ox::CostJson(t));
  if (view == "slow") return Json(ox::SlowOpsJson(t, *k));
  if (view == "errors") return Json(ox::ErrorsJson(t));
  return ErrorResponse(Status::NotFound("unknown view '" + std::string(view) +
                                        "' (timeline, tree, turns, cost, slow, errors)"));
}

// A graph window bound: RFC 3339 or integer nanoseconds since the epoch.
Result<std::optional<schema::TimestampNs>> TimeParam(const std::string& text, std::string_view name) {
  if (text.empty()) return std::optional<schema::TimestampNs>();
  int64_t ns = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), ns);
  if (ec == std::errc() && ptr == text.data() + text.size()) return std::optional<schema::TimestampNs>(ns);
  if (schema::ParseRfc3339(text, &ns)) return std::optional<schema::TimestampNs>(ns);
  return Status::InvalidArgument("parameter '" + std::string(name) +
                                 "' must be RFC 3339 or nanoseconds since the epoch, got '" + text + "'");
}

// The `start` and `end` parameters of a window (either may be absent) into
// options with start_ns / end_ns.
template <class Options>
Status WindowParams(const std::vector<std::pair<std::string, std::string>>& params, Options* o) {
  auto start = TimeParam(Param(params, "start"), "start");
  if (!start.ok()) return start.status();
  auto end = TimeParam(Param(params, "end"), "end");
  if (!end.ok()) return end.status();
  o->start_ns = *start;
  o->end_ns = *end;
  return Status::OK();
}

// GET /v1/graph?q=&start=&end=&format=json|dot|svg (query/graph.h).
ApiResponse Graph(const std::vector<std::pair<std::string, std::string>>& params, engine::Engine* engine,
                  schema::TimestampNs now_ns) {
  std::string format = Param(params, "format");
  if (format.empty()) format = "json";
  if (format != "json" && format != "dot" && format != "svg") {
    return ErrorResponse(Status::InvalidArgument("parameter 'format' must be json, dot or svg, got '" + format + "'"));
  }
  query::GraphOptions o;
  o.filter = Param(params, "q");
  o.now_ns = now_ns;
  if (Status window = WindowParams(params, &o); !window.ok()) return ErrorResponse(window);
  auto graph = query::BuildGraph(engine, o);
  if (!graph.ok()) return ErrorResponse(graph.status());
  if (format == "json") return Json(query::GraphJson(std::move(*graph)));
  std::string dot = query::GraphDot(std::move(*graph));
  if (format == "dot") return ApiResponse{200, "text/vnd.graphviz; charset=utf-8", std::move(dot)};
  auto svg = query::GraphSvg(dot);
  if (!svg.ok()) return ErrorResponse(svg.status());
  return ApiResponse{200, "image/svg+xml", std::move(*svg)};
}

// GET /v1/lineage?message_id=ID&start=&end= (query/lineage.h).
ApiResponse Lineage(const std::vector<std::pair<std::string, std::string>>& params, engine::Engine* engine) {
  std::string id = Param(params, "message_id");
  if (id.empty()) return ErrorResponse(Status::InvalidArgument("parameter 'message_id' is required"));
  query::LineageOptions o;
  if (Status window = WindowParams(params, &o); !window.ok()) return ErrorResponse(window);
  auto json = query::LineageJson(engine, id, o);
  if (!json.ok()) return ErrorResponse(json.status());
  return Json(std::move(*json));
}

// GET /v1/traces/{id}/critical_path and /v1/traces/{id}/events/{event_id}/causality.
ApiResponse TraceView(std::string_view id_text, std::string_view view, std::string_view event_id,
                      engine::Engine* engine) {
  auto trace = engine->GetTrace(TraceIdFromPath(id_text));
  if (!trace.ok()) return ErrorResponse(trace.status());
  if (!trace->has_value()) return ErrorResponse(Status::NotFound("no trace " + std::string(id_text)));
  if (view == "critical_path") return Json(query::CriticalPathJson(**trace));
  auto json = query::CausalityJson(**trace, event_id);
  if (!json.ok()) return ErrorResponse(json.status());
  return Json(std::move(*json));
}

// GET /v1/fields/{name}/values?q=&start=&end=&prefix=&limit= (query/fields.h).
ApiResponse FieldValues(std::string_view field, const std::vector<std::pair<std::string, std::string>>& params,
                        engine::Engine* engine, schema::TimestampNs now_ns) {
  query::FieldValuesOptions o;
  o.filter = Param(params, "q");
  o.prefix = Param(params, "prefix");
  o.now_ns = now_ns;
  auto limit = SizeParam(Param(params, "limit"), "limit", 20, 1000);
  if (!limit.ok()) return ErrorResponse(limit.status());
  o.limit = *limit;
  if (Status window = WindowParams(params, &o); !window.ok()) return ErrorResponse(window);
  auto values = query::TopFieldValues(engine, field, o);
  if (!values.ok()) return ErrorResponse(values.status());
  return Json(query::FieldValuesJson(*values));
}

}  // namespace

std::vector<std::string> PathSegments(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(PercentDecode(path.substr(i, j - i), /*plus_is_space=*/false));
    i = j;
  }
  return out;
}

std::string PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i <= query.size()) {
    size_t amp = query.find('&', i);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(i, amp - i);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string_view k = pair.substr(0, eq);
      std::string_view v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      out.emplace_back(PercentDecode(k, true), PercentDecode(v, true));
    }
    i = amp + 1;
  }
  return out;
}

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kResourceExhausted: return 503;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kStorageFull: return 507;
    case StatusCode::kCorruption:
    case StatusCode::kIoError:
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

ApiResponse ErrorResponse(const Status& status) {
  // A read that needed an unreachable shard fails whole (never a silently
  // partial answer) and says so with the refusal's code.
  if (auto refusal = RefusalForStorageError(status)) {
    const RefusalReply reply = RefusalReplyFor(*refusal);
    return ErrorResponse(reply.status, reply.code, status.message());
  }
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("error");
  w.BeginObject();
  w.PlainKey("code");
  w.String(StatusCodeName(status.code()));
  w.PlainKey("message");
  w.String(status.message());
  w.EndObject();
  w.EndObject();
  return ApiResponse{HttpStatusFor(status), "application/json", std::move(out)};
}

ApiResponse ErrorResponse(int http_status, std::string_view code, std::string_view message) {
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("error");
  w.BeginObject();
  w.PlainKey("code");
  w.String(code);
  w.PlainKey("message");
  w.String(message);
  w.EndObject();
  w.EndObject();
  return ApiResponse{http_status, "application/json", std::move(out)};
}

namespace {

std::optional<ApiResponse> Dispatch(std::string_view method, std::string_view target, engine::Engine* engine,
                                    schema::TimestampNs now_ns) {
  size_t qmark = target.find('?');
  std::string_view path = target.substr(0, qmark);
  std::string_view query = qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
  std::vector<std::string> seg = PathSegments(path);
  if (seg.empty() || seg[0] != "v1") return std::nullopt;
  bool known = (seg.size() >= 2 && (seg[1] == "traces" || seg[1] == "aggregate" || seg[1] == "flows" ||
                                    seg[1] == "query" || seg[1] == "graph" ||
                                    seg[1] == "lineage" || seg[1] == "fields")) ||
               (seg.size() >= 2 && seg[1] == "operonx" && seg.size() >= 3 && seg[2] == "requests");
  if (!known) return std::nullopt;
  if (method != "GET" && method != "HEAD") {
    ApiResponse r = ErrorResponse(Status::InvalidArgument("method " + std::string(method) + " not allowed; use GET"));
    r.status = 405;
    return r;
  }
  auto params = ParseQueryString(query);
  if (seg.size() == 2 && seg[1] == "traces") return Search(params, engine, now_ns, Endpoint::kTraces);
  if (seg.size() == 2 && seg[1] == "aggregate") return Search(params, engine, now_ns, Endpoint::kAggregate);
  if (seg.size() == 2 && seg[1] == "query") return Search(params, engine, now_ns, Endpoint::kAny);
  if (seg.size() == 2 && seg[1] == "graph") return Graph(params, engine, now_ns);
  if (seg.size() == 2 && seg[1] == "lineage") return Lineage(params, engine);
  if (seg.size() == 2 && seg[1] == "fields") return Json(query::FieldsJson());
  if (seg.size() == 4 && seg[1] == "fields" && seg[3] == "values") return FieldValues(seg[2], params, engine, now_ns);
  if (seg.size() == 3 && seg[1] == "traces") return GetTrace(seg[2], engine);
  if (seg.size() == 4 && seg[1] == "traces" && seg[3] == "critical_path") {
    return TraceView(seg[2], seg[3], "", engine);
  }
  if (seg.size() == 6 && seg[1] == "traces" && seg[3] == "events" && seg[5] == "causality") {
    return TraceView(seg[2], seg[5], seg[4], engine);
  }
  if (seg.size() == 4 && seg[1] == "flows" && seg[3] == "versions") return FlowVersions(seg[2], engine);
  if (seg.size() == 5 && seg[1] == "operonx") return OperonxView(seg[3], seg[4], params, engine);
  return ErrorResponse(Status::NotFound("no such endpoint: " + std::string(path)));
}

}  // namespace

std::optional<ApiResponse> HandleReadApi(std::string_view method, std::string_view target, engine::Engine* engine,
                                         schema::TimestampNs now_ns) {
  // The query pipeline reports errors as Status; an exception here is a bug,
  // but it must cost one request (a 500 that says what happened), never the
  // process: these run on the read pool's threads, where an escaping
  // exception would call std::terminate.
  try {
    return Dispatch(method, target, engine, now_ns);
  } catch (const std::exception& e) {
    return ErrorResponse(500, "Internal", std::string("internal error while serving the request: ") + e.what());
  } catch (...) {
    return ErrorResponse(500, "Internal", "internal error while serving the request: unknown exception");
  }
}

}  // namespace tracedb::server
