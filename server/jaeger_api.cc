#include "server/jaeger_api.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "query/graph.h"
#include "query/jaeger.h"
#include "query/query.h"
#include "schema/json_writer.h"
#include "schema/uuid.h"

namespace tracedb::server {

namespace {

namespace jg = query::jaeger;
using Params = std::vector<std::pair<std::string, std::string>>;

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 10000;
// Operations of a service are read from its newest traces (Jaeger keeps a
// separate operations table; tracedb's actor index has no service column).
constexpr size_t kOperationTraces = 1000;
constexpr int64_t kDayMs = 24LL * 3600 * 1000;

// Jaeger's envelope around `data` (raw JSON).
ApiResponse Envelope(std::string_view data, size_t total) {
  std::string out = "{\"data\":";
  out.append(data);
  out += ",\"total\":" + std::to_string(total) + ",\"limit\":0,\"offset\":0,\"errors\":null}";
  return ApiResponse{200, "application/json", std::move(out)};
}

ApiResponse JaegerError(int code, std::string_view msg) {
  std::string out = "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":" +
                    std::to_string(code) + ",\"msg\":";
  schema::AppendJsonString(msg, &out);
  out += "}]}";
  return ApiResponse{code, "application/json", std::move(out)};
}

ApiResponse JaegerError(const Status& s) { return JaegerError(HttpStatusFor(s), s.message()); }

std::optional<std::string> Param(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name && !v.empty()) return v;
  }
  return std::nullopt;
}

Result<std::optional<int64_t>> IntParam(const Params& params, std::string_view name) {
  auto text = Param(params, name);
  if (!text) return std::optional<int64_t>();
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || p != text->data() + text->size()) {
    return Status::InvalidArgument("unable to parse param '" + std::string(name) + "': strconv.ParseInt: parsing \"" +
                                   *text + "\": invalid syntax");
  }
  return std::optional<int64_t>(v);
}

Result<std::optional<int64_t>> DurationParam(const Params& params, std::string_view name) {
  auto text = Param(params, name);
  if (!text) return std::optional<int64_t>();
  auto d = jg::ParseGoDuration(*text);
  if (!d.ok()) {
    return Status::InvalidArgument("unable to parse param '" + std::string(name) + "': " + d.status().message());
  }
  return std::optional<int64_t>(*d);
}

// Jaeger's trace id: 1 to 32 hex digits (leading zeros may be dropped), or
// tracedb's UUID spelling of the same 16 bytes.
std::optional<schema::Id128> ParseTraceId(std::string_view text) {
  schema::Id128 id;
  if (text.size() == 36 && schema::ParseUuid(text, &id)) return id;
  if (text.empty() || text.size() > 32) return std::nullopt;
  if (text.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) return std::nullopt;
  std::string padded = std::string(32 - text.size(), '0') + std::string(text);
  if (!schema::ParseUuid(padded, &id)) return std::nullopt;
  return id;
}

Status ParseTags(const Params& params, std::vector<std::pair<std::string, std::string>>* out) {
  for (const auto& [k, v] : params) {
    if (k == "tag") {
      size_t colon = v.find(':');
      if (colon == std::string::npos) {
        return Status::InvalidArgument("malformed 'tag' parameter, expecting key:value, received: " + v);
      }
      out->emplace_back(v.substr(0, colon), v.substr(colon + 1));
    }
  }
  auto json = Param(params, "tags");
  if (!json) return Status::OK();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object obj;
  if (parser.parse(json->data(), json->size()).get(root) != simdjson::SUCCESS ||
      root.get_object().get(obj) != simdjson::SUCCESS) {
    return Status::InvalidArgument("malformed 'tags' parameter, cannot unmarshal JSON: expected an object of strings, got " +
                                   *json);
  }
  for (auto field : obj) {
    std::string_view value;
    if (field.value.get_string().get(value) != simdjson::SUCCESS) {
      return Status::InvalidArgument("malformed 'tags' parameter, cannot unmarshal JSON: the value of '" +
                                     std::string(field.key) + "' is not a string");
    }
    out->emplace_back(std::string(field.key), std::string(value));
  }
  return Status::OK();
}

Result<std::string> TraceJson(engine::Engine* engine, const schema::Id128& id) {
  auto trace = engine->GetTrace(id);
  if (!trace.ok()) return trace.status();
  if (!trace->has_value()) return Status::NotFound("trace not found");
  std::string out;
  jg::AppendTraceJson(jg::ToJaeger(**trace), &out);
  return out;
}

ApiResponse Services(engine::Engine* engine) {
  auto values = engine->ListIndexValues(engine::IndexKind::kFlow, "", kMaxLimit);
  if (!values.ok()) return JaegerError(values.status());
  std::string data;
  schema::JsonWriter w(&data);
  w.BeginArray();
  for (const auto& v : *values) w.String(v);
  w.EndArray();
  return Envelope(data, values->size());
}

Result<std::set<jg::Operation>> OperationsOf(engine::Engine* engine, const std::string& service,
                                             schema::TimestampNs now_ns) {
  jg::SearchParams p;
  p.service = service;
  query::QueryOptions o;
  o.limit = kOperationTraces;
  o.now_ns = now_ns;
  TRACEDB_ASSIGN_OR_RETURN(query::QueryResult found, query::RunQuery(engine, jg::SearchFilter(p), o));
  std::vector<jg::Operation> ops;
  for (const auto& header : found.traces) {
    TRACEDB_ASSIGN_OR_RETURN(std::optional<schema::Trace> trace, engine->GetTrace(header.trace_id));
    if (trace) jg::CollectOperations(jg::ToJaeger(*trace), service, &ops);
  }
  return std::set<jg::Operation>(ops.begin(), ops.end());
}

ApiResponse ServiceOperations(engine::Engine* engine, const std::string& service, schema::TimestampNs now_ns) {
  auto ops = OperationsOf(engine, service, now_ns);
  if (!ops.ok()) return JaegerError(ops.status());
  std::set<std::string> names;
  for (const auto& op : *ops) names.insert(op.name);
  std::string data;
  schema::JsonWriter w(&data);
  w.BeginArray();
  for (const auto& n : names) w.String(n);
  w.EndArray();
  return Envelope(data, names.size());
}

ApiResponse Operations(engine::Engine* engine, const Params& params, schema::TimestampNs now_ns) {
  auto service = Param(params, "service");
  if (!service) return JaegerError(400, "parameter 'service' is required");
  std::string kind = Param(params, "spanKind").value_or("");
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::set<std::string> kKinds{"", "server", "client", "producer", "consumer", "internal"};
  if (!kKinds.count(kind)) {
    return JaegerError(400, "unsupported SpanKind: '" + kind +
                                "', expecting one of server, client, producer, consumer, internal");
  }
  auto ops = OperationsOf(engine, *service, now_ns);
  if (!ops.ok()) return JaegerError(ops.status());
  std::string data;
  schema::JsonWriter w(&data);
  w.BeginArray();
  size_t n = 0;
  for (const auto& op : *ops) {
    if (!kind.empty() && op.kind != kind) continue;
    w.BeginObject();
    w.PlainKey("name");
    w.String(op.name);
    w.PlainKey("spanKind");
    w.String(op.kind);
    w.EndObject();
    ++n;
  }
  w.EndArray();
  return Envelope(data, n);
}

ApiResponse TracesById(engine::Engine* engine, const Params& params) {
  std::string data = "[";
  size_t n = 0;
  for (const auto& [k, v] : params) {
    if (k != "traceID") continue;
    auto id = ParseTraceId(v);
    if (!id) return JaegerError(400, "cannot parse traceID param: '" + v + "'");
    auto json = TraceJson(engine, *id);
    if (!json.ok() && json.status().code() == StatusCode::kNotFound) continue;
    if (!json.ok()) return JaegerError(json.status());
    data += (n++ ? "," : "") + *json;
  }
  return Envelope(data + "]", n);
}

Result<jg::SearchParams> SearchParamsFrom(const Params& params, schema::TimestampNs now_ns, size_t* limit) {
  jg::SearchParams p;
  p.service = Param(params, "service").value_or("");
  if (p.service.empty()) return Status::InvalidArgument("parameter 'service' is required");
  p.operation = Param(params, "operation").value_or("");
  TRACEDB_RETURN_IF_ERROR(ParseTags(params, &p.tags));
  TRACEDB_ASSIGN_OR_RETURN(std::optional<int64_t> start, IntParam(params, "start"));
  TRACEDB_ASSIGN_OR_RETURN(std::optional<int64_t> end, IntParam(params, "end"));
  TRACEDB_ASSIGN_OR_RETURN(p.min_duration_ns, DurationParam(params, "minDuration"));
  TRACEDB_ASSIGN_OR_RETURN(p.max_duration_ns, DurationParam(params, "maxDuration"));
  if (p.min_duration_ns && p.max_duration_ns && *p.max_duration_ns < *p.min_duration_ns) {
    return Status::InvalidArgument("'maxDuration' should be greater than 'minDuration'");
  }
  TRACEDB_ASSIGN_OR_RETURN(std::optional<int64_t> lim, IntParam(params, "limit"));
  if (lim && (*lim < 0 || static_cast<size_t>(*lim) > kMaxLimit)) {
    return Status::InvalidArgument("parameter 'limit' must be between 0 and " + std::to_string(kMaxLimit));
  }
  *limit = lim && *lim > 0 ? static_cast<size_t>(*lim) : kDefaultLimit;
  if (start) p.start_ns = *start * 1000;
  p.end_ns = end ? *end * 1000 : now_ns;
  if (start && end && *start > *end) return Status::InvalidArgument("'start' must not be after 'end'");
  // The UI sends lookback ("1h", "2d", "custom") with start and end; it only
  // decides the window when start is missing.
  if (!start) {
    if (auto lookback = Param(params, "lookback"); lookback && *lookback != "custom") {
      auto d = jg::ParseGoDuration(*lookback);
      if (!d.ok()) return Status::InvalidArgument("unable to parse param 'lookback': " + d.status().message());
      p.start_ns = *p.end_ns - *d;
    }
  }
  return p;
}

ApiResponse Search(engine::Engine* engine, const Params& params, schema::TimestampNs now_ns) {
  if (Param(params, "traceID")) return TracesById(engine, params);
  size_t limit = kDefaultLimit;
  auto p = SearchParamsFrom(params, now_ns, &limit);
  if (!p.ok()) return JaegerError(p.status());
  query::QueryOptions o;
  o.limit = limit;
  o.now_ns = now_ns;
  auto found = query::RunQuery(engine, jg::SearchFilter(*p), o);
  if (!found.ok()) return JaegerError(found.status());
  std::string data = "[";
  size_t n = 0;
  for (const auto& header : found->traces) {
    auto json = TraceJson(engine, header.trace_id);
    if (!json.ok() && json.status().code() == StatusCode::kNotFound) continue;  // expired meanwhile
    if (!json.ok()) return JaegerError(json.status());
    data += (n++ ? "," : "") + *json;
  }
  return Envelope(data + "]", n);
}

ApiResponse GetTrace(engine::Engine* engine, const std::string& id_text) {
  auto id = ParseTraceId(id_text);
  if (!id) return JaegerError(400, "cannot parse traceID param: '" + id_text + "'");
  auto json = TraceJson(engine, *id);
  if (!json.ok()) return JaegerError(json.status());
  return Envelope("[" + *json + "]", 1);
}

ApiResponse Dependencies(engine::Engine* engine, const Params& params, schema::TimestampNs now_ns) {
  auto end = IntParam(params, "endTs");
  if (!end.ok()) return JaegerError(end.status());
  auto lookback = IntParam(params, "lookback");
  if (!lookback.ok()) return JaegerError(lookback.status());
  if (*lookback && **lookback < 0) return JaegerError(400, "parameter 'lookback' must not be negative");
  int64_t end_ms = end->value_or(now_ns / 1'000'000);
  query::GraphOptions o;
  o.end_ns = end_ms * 1'000'000;
  o.start_ns = (end_ms - lookback->value_or(kDayMs)) * 1'000'000;
  o.now_ns = now_ns;
  auto graph = query::BuildGraph(engine, o);
  if (!graph.ok()) return JaegerError(graph.status());
  std::string data = query::DependenciesJson(*graph);
  size_t total = static_cast<size_t>(std::count(data.begin(), data.end(), '{'));
  return Envelope(data, total);
}

ApiResponse Dispatch(std::string_view method, std::string_view path, std::string_view query_string,
                     engine::Engine* engine, schema::TimestampNs now_ns) {
  if (method != "GET" && method != "HEAD") return JaegerError(405, "method " + std::string(method) + " not allowed");
  std::vector<std::string> seg = PathSegments(path);
  Params params = ParseQueryString(query_string);
  size_t n = seg.size();
  if (n == 2 && seg[1] == "services") return Services(engine);
  if (n == 4 && seg[1] == "services" && seg[3] == "operations") return ServiceOperations(engine, seg[2], now_ns);
  if (n == 2 && seg[1] == "operations") return Operations(engine, params, now_ns);
  if (n == 2 && seg[1] == "traces") return Search(engine, params, now_ns);
  if (n == 3 && seg[1] == "traces") return GetTrace(engine, seg[2]);
  if (n == 2 && seg[1] == "dependencies") return Dependencies(engine, params, now_ns);
  return JaegerError(404, "no such endpoint: " + std::string(path));
}

}  // namespace

std::optional<ApiResponse> HandleJaegerApi(std::string_view method, std::string_view target, engine::Engine* engine,
                                           schema::TimestampNs now_ns) {
  size_t qmark = target.find('?');
  std::string_view path = target.substr(0, qmark);
  std::string_view query_string = qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
  if (path.substr(0, 5) != "/api/") return std::nullopt;
  // As in HandleReadApi: an exception is a bug and costs one request, never
  // the read pool's thread.
  try {
    return Dispatch(method, path, query_string, engine, now_ns);
  } catch (const std::exception& e) {
    return JaegerError(500, std::string("internal error while serving the request: ") + e.what());
  } catch (...) {
    return JaegerError(500, "internal error while serving the request: unknown exception");
  }
}

}  // namespace tracedb::server
