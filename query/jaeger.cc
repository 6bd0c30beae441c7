#include "query/jaeger.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>

#include "query/bound.h"
#include "query/encoding.h"
#include "query/operonx_views.h"
#include "schema/hot_fields.h"
#include "schema/json_writer.h"
#include "schema/uuid.h"

namespace tracedb::query::jaeger {

Tag Tag::String(std::string key, std::string value) {
  Tag t;
  t.key = std::move(key);
  t.str = std::move(value);
  return t;
}

Tag Tag::Bool(std::string key, bool value) {
  Tag t;
  t.key = std::move(key);
  t.type = Type::kBool;
  t.i = value ? 1 : 0;
  return t;
}

Tag Tag::Int(std::string key, int64_t value) {
  Tag t;
  t.key = std::move(key);
  t.type = Type::kInt64;
  t.i = value;
  return t;
}

Tag Tag::Float(std::string key, double value) {
  Tag t;
  t.key = std::move(key);
  t.type = Type::kFloat64;
  t.d = value;
  return t;
}

const std::string& Trace::ServiceOf(const Span& span) const {
  static const std::string kNone;
  for (const auto& [id, p] : processes) {
    if (id == span.process_id) return p.service;
  }
  return kNone;
}

namespace {

constexpr std::string_view kSpanKinds[] = {"", "internal", "server", "client", "producer", "consumer"};

int64_t Micros(int64_t ns) { return ns / 1000; }

// Synthetic span ids (Reflow, operonx): the span's position, 1 = the root.
std::string SyntheticSpanId(size_t position) {
  schema::SpanId id{};
  uint64_t v = position;
  for (int i = 7; i >= 0; --i, v >>= 8) id[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
  return HexOf(id);
}

std::string EventIdText(const std::string& event_id) {
  if (event_id.size() == 16) {
    schema::Id128 id;
    std::copy(event_id.begin(), event_id.end(), id.begin());
    return schema::FormatUuid(id);
  }
  return event_id;
}

// ---- OpenTelemetry

void AppendAttributeJson(const schema::AttributeValue& v, std::string* out) {
  using K = schema::AttributeValue::Kind;
  schema::JsonWriter w(out);
  switch (v.kind) {
    case K::kString: w.String(v.str); break;
    case K::kBool: w.Bool(v.i != 0); break;
    case K::kInt: w.Int(v.i); break;
    case K::kDouble: w.F64(v.d); break;
    case K::kBytes: w.String(Base64(v.str)); break;
    case K::kJson: w.Raw(v.str); break;
    case K::kEmpty: w.Null(); break;
    case K::kArray:
      out->push_back('[');
      for (size_t i = 0; i < v.array.size(); ++i) {
        if (i) out->push_back(',');
        AppendAttributeJson(v.array[i], out);
      }
      out->push_back(']');
      break;
    case K::kKvList:
      out->push_back('{');
      for (size_t i = 0; i < v.kvlist.size(); ++i) {
        if (i) out->push_back(',');
        schema::AppendJsonString(v.kvlist[i].first, out);
        out->push_back(':');
        AppendAttributeJson(v.kvlist[i].second, out);
      }
      out->push_back('}');
      break;
  }
}

// OTLP AnyValue -> Jaeger tag, as Jaeger's OTLP translator does: scalars
// keep their type, bytes are binary, arrays and maps are their JSON text.
Tag AttributeTag(const std::string& key, const schema::AttributeValue& v) {
  using K = schema::AttributeValue::Kind;
  switch (v.kind) {
    case K::kString: return Tag::String(key, v.str);
    case K::kBool: return Tag::Bool(key, v.i != 0);
    case K::kInt: return Tag::Int(key, v.i);
    case K::kDouble: return Tag::Float(key, v.d);
    case K::kBytes: {
      Tag t = Tag::String(key, v.str);
      t.type = Tag::Type::kBinary;
      return t;
    }
    case K::kEmpty: return Tag::String(key, "");
    default: {
      std::string json;
      AppendAttributeJson(v, &json);
      return Tag::String(key, std::move(json));
    }
  }
}

void AttributeTags(const schema::Attributes& attrs, std::vector<Tag>* out, std::string_view skip = {}) {
  for (const auto& [k, v] : attrs) {
    if (!skip.empty() && k == skip) continue;
    out->push_back(AttributeTag(k, v));
  }
}

std::string ProcessFor(const schema::OtelSpan& s, Trace* out, std::vector<const schema::OtelResource*>* seen) {
  static const schema::OtelResource kNoResource;
  const schema::OtelResource& r = s.resource ? *s.resource : kNoResource;
  for (size_t i = 0; i < seen->size(); ++i) {
    if (*(*seen)[i] == r) return out->processes[i].first;
  }
  seen->push_back(&r);
  Process p;
  p.service = std::string(schema::OtelServiceName(r));
  AttributeTags(r.attributes, &p.tags, "service.name");
  std::string id = "p" + std::to_string(seen->size());
  out->processes.emplace_back(id, std::move(p));
  return id;
}

Span OtelSpanToJaeger(const std::string& trace_id, const schema::Event& e, const schema::OtelSpan& s,
                      std::string process_id) {
  Span j;
  j.span_id = HexOf(s.span_id);
  j.operation = s.name;
  if (s.parent_span_id) j.references.push_back({Reference::Type::kChildOf, trace_id, HexOf(*s.parent_span_id)});
  for (const auto& l : s.links) {
    j.references.push_back({Reference::Type::kFollowsFrom, Hex(l.trace_id), Hex(l.span_id)});
  }
  j.flags = s.flags & 0xff;
  j.start_us = Micros(e.timestamp_ns);
  j.duration_us = Micros(s.end_ns) - j.start_us;
  AttributeTags(s.attributes, &j.tags);
  if (s.kind > 0 && s.kind < std::size(kSpanKinds)) {
    j.kind = std::string(kSpanKinds[s.kind]);
    j.tags.push_back(Tag::String("span.kind", j.kind));
  }
  if (s.status_code == 1) j.tags.push_back(Tag::String("otel.status_code", "OK"));
  if (s.status_code == 2) {
    j.tags.push_back(Tag::String("otel.status_code", "ERROR"));
    j.tags.push_back(Tag::Bool("error", true));
  }
  if (!s.status_message.empty()) j.tags.push_back(Tag::String("otel.status_description", s.status_message));
  if (s.scope && !s.scope->name.empty()) j.tags.push_back(Tag::String("otel.scope.name", s.scope->name));
  if (s.scope && !s.scope->version.empty()) j.tags.push_back(Tag::String("otel.scope.version", s.scope->version));
  if (!s.trace_state.empty()) j.tags.push_back(Tag::String("w3c.tracestate", s.trace_state));
  for (const auto& ev : s.events) {
    Log log;
    log.timestamp_us = Micros(ev.time_ns);
    log.fields.push_back(Tag::String("event", ev.name));
    AttributeTags(ev.attributes, &log.fields);
    j.logs.push_back(std::move(log));
  }
  j.process_id = std::move(process_id);
  return j;
}

void OtelToJaeger(const schema::Trace& t, Trace* out) {
  std::vector<const schema::OtelResource*> seen;
  for (const auto& e : t.events) {
    if (!e.otel) continue;
    std::string pid = ProcessFor(*e.otel, out, &seen);
    out->spans.push_back(OtelSpanToJaeger(out->trace_id, e, *e.otel, std::move(pid)));
  }
}

// ---- Reflow and operonx: one process per trace

Process TraceProcess(const schema::Trace& t) {
  Process p;
  p.service = t.flow_id;
  if (t.source == schema::Source::kReflow) {
    const auto& v = t.version;
    p.tags.push_back(Tag::String(
        "flow.version", std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.patch)));
    p.tags.push_back(Tag::String("execution_id", schema::FormatUuid(t.execution_id)));
  } else {
    p.tags.push_back(Tag::String("request_id", t.external_id));
  }
  const auto& m = t.metadata;
  if (!m.hostname.empty()) p.tags.push_back(Tag::String("hostname", m.hostname));
  if (!m.environment.empty()) p.tags.push_back(Tag::String("environment", m.environment));
  if (m.process_id != 0) p.tags.push_back(Tag::Int("process_id", m.process_id));
  if (m.user_id) p.tags.push_back(Tag::String("user", *m.user_id));
  if (m.session_id) p.tags.push_back(Tag::String("session", *m.session_id));
  for (const auto& [k, v] : m.tags) p.tags.push_back(Tag::String("tags." + k, v));
  return p;
}

int64_t TraceEndNs(const schema::Trace& t) {
  int64_t end = t.end_ns.value_or(t.start_ns);
  for (const auto& e : t.events) end = std::max(end, e.timestamp_ns);
  return end;
}

void StatusTags(const schema::Trace& t, std::vector<Tag>* tags) {
  tags->push_back(Tag::String("status", std::string(StatusName(t.status.code))));
  if (t.status.code == schema::StatusCode::kFailed) {
    tags->push_back(Tag::Bool("error", true));
    if (!t.status.error.empty()) tags->push_back(Tag::String("error.message", t.status.error));
  }
}

Span RootSpan(const schema::Trace& t, const std::string& operation) {
  Span root;
  root.span_id = SyntheticSpanId(1);
  root.operation = operation;
  root.flags = 1;
  root.start_us = Micros(t.start_ns);
  root.duration_us = Micros(TraceEndNs(t)) - root.start_us;
  root.process_id = "p1";
  root.synthetic_root = true;
  StatusTags(t, &root.tags);
  return root;
}

Log ReflowLog(const schema::Event& e) {
  Log log;
  log.timestamp_us = Micros(e.timestamp_ns);
  log.fields.push_back(Tag::String("event", std::string(EventTypeName(e.type))));
  log.fields.push_back(Tag::String("event_id", EventIdText(e.event_id)));
  if (!e.to_actor.empty() || e.type == schema::EventType::kDataFlow) {
    log.fields.push_back(Tag::String("to_actor", e.to_actor));
    log.fields.push_back(Tag::String("to_port", e.to_port));
  }
  if (!e.reflow) return log;
  const auto& r = *e.reflow;
  if (r.port) log.fields.push_back(Tag::String("port", *r.port));
  if (r.message) {
    log.fields.push_back(Tag::String("message_type", r.message->message_type));
    log.fields.push_back(Tag::Int("size_bytes", static_cast<int64_t>(r.message->size_bytes)));
  }
  if (r.error) log.fields.push_back(Tag::String("error", *r.error));
  if (r.metrics.execution_time_ns) {
    log.fields.push_back(Tag::Int("execution_time_ns", static_cast<int64_t>(*r.metrics.execution_time_ns)));
  }
  if (r.custom_attributes_json != "{}") log.fields.push_back(Tag::String("custom_attributes", r.custom_attributes_json));
  return log;
}

void ReflowToJaeger(const schema::Trace& t, Trace* out) {
  out->processes.emplace_back("p1", TraceProcess(t));
  out->spans.push_back(RootSpan(t, t.flow_id));
  std::map<std::string, size_t> span_of;  // actor -> index into out->spans
  auto actor_span = [&](const std::string& actor, int64_t ts) -> Span& {
    auto [it, added] = span_of.emplace(actor, out->spans.size());
    if (added) {
      Span s;
      s.span_id = SyntheticSpanId(out->spans.size() + 1);
      s.operation = actor;
      s.flags = 1;
      s.start_us = Micros(ts);
      s.process_id = "p1";
      s.references.push_back({Reference::Type::kChildOf, out->trace_id, out->spans[0].span_id});
      out->spans.push_back(std::move(s));
    }
    return out->spans[it->second];
  };
  std::map<size_t, int64_t> end_us;
  auto extend = [&](Span& s, int64_t ts) {
    size_t idx = static_cast<size_t>(&s - out->spans.data());
    s.start_us = std::min(s.start_us, Micros(ts));
    end_us[idx] = std::max(end_us.count(idx) ? end_us[idx] : s.start_us, Micros(ts));
  };
  for (const auto& e : t.events) {
    if (e.actor.empty()) continue;
    extend(actor_span(e.actor, e.timestamp_ns), e.timestamp_ns);
    Span& s = out->spans[span_of[e.actor]];
    s.logs.push_back(ReflowLog(e));
    bool failed = e.type == schema::EventType::kActorFailed || (e.reflow && e.reflow->error);
    if (failed && std::none_of(s.tags.begin(), s.tags.end(), [](const Tag& g) { return g.key == "error"; })) {
      s.tags.push_back(Tag::Bool("error", true));
      if (e.reflow && e.reflow->error) s.tags.push_back(Tag::String("error.message", *e.reflow->error));
    }
    if (e.type != schema::EventType::kDataFlow || e.to_actor.empty()) continue;
    std::string port = e.reflow && e.reflow->port ? *e.reflow->port : "";
    std::string to = e.to_actor + ":" + e.to_port;
    auto has = [](const Span& sp, std::string_view key, std::string_view value) {
      return std::any_of(sp.tags.begin(), sp.tags.end(),
                         [&](const Tag& g) { return g.key == key && g.str == value; });
    };
    if (!has(s, "dataflow.to", to)) s.tags.push_back(Tag::String("dataflow.to", to));
    std::string sender_id = s.span_id;
    std::string from = e.actor + ":" + port;
    Span& receiver = actor_span(e.to_actor, e.timestamp_ns);
    extend(receiver, e.timestamp_ns);
    if (!has(receiver, "dataflow.from", from)) {
      receiver.tags.push_back(Tag::String("dataflow.from", from));
      bool linked = std::any_of(receiver.references.begin(), receiver.references.end(),
                                [&](const Reference& r) { return r.span_id == sender_id; });
      if (!linked) receiver.references.push_back({Reference::Type::kFollowsFrom, out->trace_id, sender_id});
    }
  }
  for (auto& [idx, end] : end_us) out->spans[idx].duration_us = end - out->spans[idx].start_us;
}

// ---- operonx

void PayloadTags(std::string_view json, std::string_view prefix, std::vector<Tag>* out) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) return;
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) return;
  for (auto field : obj) {
    std::string key = std::string(prefix) + std::string(field.key);
    simdjson::dom::element v = field.value;
    switch (v.type()) {
      case simdjson::dom::element_type::STRING: out->push_back(Tag::String(key, std::string(v.get_string().value_unsafe()))); break;
      case simdjson::dom::element_type::INT64: out->push_back(Tag::Int(key, v.get_int64().value_unsafe())); break;
      case simdjson::dom::element_type::UINT64:
        out->push_back(Tag::Float(key, static_cast<double>(v.get_uint64().value_unsafe())));
        break;
      case simdjson::dom::element_type::DOUBLE: out->push_back(Tag::Float(key, v.get_double().value_unsafe())); break;
      case simdjson::dom::element_type::BOOL: out->push_back(Tag::Bool(key, v.get_bool().value_unsafe())); break;
      case simdjson::dom::element_type::NULL_VALUE: break;
      default: out->push_back(Tag::String(key, simdjson::minify(v))); break;
    }
  }
}

std::string JoinCtx(const std::vector<std::string>& ctx) {
  std::string out;
  for (size_t i = 0; i < ctx.size(); ++i) out += (i ? "/" : "") + ctx[i];
  return out;
}

// Fills absent container times from their children (post-order, iterative).
void FillTimes(operonx::Tree* tree, int64_t start, int64_t end) {
  std::vector<std::pair<size_t, bool>> stack{{0, false}};
  std::vector<bool> done(tree->nodes.size(), false);
  while (!stack.empty()) {
    auto [idx, expanded] = stack.back();
    stack.pop_back();
    if (done[idx]) continue;
    auto& n = tree->nodes[idx];
    if (!expanded) {
      stack.push_back({idx, true});
      for (size_t c : n.children) {
        if (!done[c]) stack.push_back({c, false});
      }
      continue;
    }
    done[idx] = true;
    for (size_t c : n.children) {
      const auto& ch = tree->nodes[c];
      if (ch.start_ns && (!n.start_ns || *ch.start_ns < *n.start_ns) && n.kind != operonx::TreeNode::Kind::kOp) {
        n.start_ns = ch.start_ns;
      }
      if (ch.end_ns && (!n.end_ns || *ch.end_ns > *n.end_ns) && n.kind != operonx::TreeNode::Kind::kOp) {
        n.end_ns = ch.end_ns;
      }
    }
  }
  for (auto& n : tree->nodes) {
    if (!n.start_ns) n.start_ns = start;
    if (!n.end_ns) n.end_ns = std::max(*n.start_ns, end);
  }
}

std::string NodeOperation(const operonx::TreeNode& n, const schema::Trace& t) {
  switch (n.kind) {
    case operonx::TreeNode::Kind::kRoot: return t.flow_id;
    case operonx::TreeNode::Kind::kYield: return "yield " + JoinCtx(n.ctx);
    default: return n.op_name;
  }
}

void OperonxToJaeger(const schema::Trace& t, Trace* out) {
  out->processes.emplace_back("p1", TraceProcess(t));
  operonx::Tree tree = operonx::BuildTree(t);
  int64_t end = TraceEndNs(t);
  FillTimes(&tree, t.start_ns, end);
  std::vector<size_t> parent(tree.nodes.size(), SIZE_MAX);
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    for (size_t c : tree.nodes[i].children) parent[c] = i;
  }
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    const auto& n = tree.nodes[i];
    Span s;
    s.span_id = SyntheticSpanId(i + 1);
    s.operation = NodeOperation(n, t);
    s.flags = 1;
    s.start_us = Micros(*n.start_ns);
    s.duration_us = Micros(*n.end_ns) - s.start_us;
    s.process_id = "p1";
    if (parent[i] != SIZE_MAX) {
      s.references.push_back({Reference::Type::kChildOf, out->trace_id, SyntheticSpanId(parent[i] + 1)});
    }
    if (n.kind == operonx::TreeNode::Kind::kRoot) {
      s.synthetic_root = true;
      StatusTags(t, &s.tags);
    } else {
      if (!n.ctx.empty()) s.tags.push_back(Tag::String("ctx", JoinCtx(n.ctx)));
      if (!n.status.empty()) s.tags.push_back(Tag::String("status", n.status));
      if (n.status == "error") s.tags.push_back(Tag::Bool("error", true));
      if (n.duration_ms) s.tags.push_back(Tag::Float("duration_ms", *n.duration_ms));
      if (n.kind == operonx::TreeNode::Kind::kOp && n.yield_count > 0) {
        s.tags.push_back(Tag::Int("yield_count", static_cast<int64_t>(n.yield_count)));
      }
    }
    out->spans.push_back(std::move(s));
  }
  // Events as logs of the op run that holds them (same op and ctx, inside
  // its time span), else of the first run of that op, else of the request.
  for (const auto& e : t.events) {
    if (!e.operonx) continue;
    size_t target = 0;
    if (e.operonx->op_name) {
      size_t first = SIZE_MAX;
      for (size_t i = 1; i < tree.nodes.size(); ++i) {
        const auto& n = tree.nodes[i];
        if (n.kind != operonx::TreeNode::Kind::kOp || n.op_name != *e.operonx->op_name || n.ctx != e.operonx->ctx) {
          continue;
        }
        if (first == SIZE_MAX) first = i;
        if (*n.start_ns <= e.timestamp_ns && e.timestamp_ns <= *n.end_ns) {
          first = i;
          break;
        }
      }
      if (first != SIZE_MAX) target = first;
    }
    Span& s = out->spans[target];
    Log log;
    log.timestamp_us = Micros(e.timestamp_ns);
    log.fields.push_back(Tag::String("event", e.operonx->kind));
    log.fields.push_back(Tag::String("event_id", e.event_id));
    if (e.operonx->payload_json != "{}") log.fields.push_back(Tag::String("payload", e.operonx->payload_json));
    s.logs.push_back(std::move(log));
    if (e.type == schema::EventType::kLlmUsage) PayloadTags(e.operonx->payload_json, "llm.", &s.tags);
  }
}

// ---- JSON

const char* TagTypeName(Tag::Type t) {
  switch (t) {
    case Tag::Type::kString: return "string";
    case Tag::Type::kBool: return "bool";
    case Tag::Type::kInt64: return "int64";
    case Tag::Type::kFloat64: return "float64";
    case Tag::Type::kBinary: return "binary";
  }
  return "string";
}

void WriteTags(const std::vector<Tag>& tags, schema::JsonWriter* w) {
  w->BeginArray();
  for (const auto& t : tags) {
    w->BeginObject();
    w->PlainKey("key");
    w->String(t.key);
    w->PlainKey("type");
    w->PlainString(TagTypeName(t.type));
    w->PlainKey("value");
    switch (t.type) {
      case Tag::Type::kString: w->String(t.str); break;
      case Tag::Type::kBool: w->Bool(t.i != 0); break;
      case Tag::Type::kInt64: w->Int(t.i); break;
      case Tag::Type::kFloat64: w->F64(t.d); break;
      case Tag::Type::kBinary: w->String(Base64(t.str)); break;
    }
    w->EndObject();
  }
  w->EndArray();
}

void WriteSpan(const std::string& trace_id, const Span& s, schema::JsonWriter* w) {
  w->BeginObject();
  w->PlainKey("traceID");
  w->String(trace_id);
  w->PlainKey("spanID");
  w->String(s.span_id);
  w->PlainKey("flags");
  w->Uint(s.flags);
  w->PlainKey("operationName");
  w->String(s.operation);
  w->PlainKey("references");
  w->BeginArray();
  for (const auto& r : s.references) {
    w->BeginObject();
    w->PlainKey("refType");
    w->PlainString(r.type == Reference::Type::kChildOf ? "CHILD_OF" : "FOLLOWS_FROM");
    w->PlainKey("traceID");
    w->String(r.trace_id);
    w->PlainKey("spanID");
    w->String(r.span_id);
    w->EndObject();
  }
  w->EndArray();
  w->PlainKey("startTime");
  w->Int(s.start_us);
  w->PlainKey("duration");
  w->Int(s.duration_us);
  w->PlainKey("tags");
  WriteTags(s.tags, w);
  w->PlainKey("logs");
  w->BeginArray();
  for (const auto& l : s.logs) {
    w->BeginObject();
    w->PlainKey("timestamp");
    w->Int(l.timestamp_us);
    w->PlainKey("fields");
    WriteTags(l.fields, w);
    w->EndObject();
  }
  w->EndArray();
  w->PlainKey("processID");
  w->String(s.process_id);
  w->PlainKey("warnings");
  w->Null();
  w->EndObject();
}

void AppendLiteral(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\t': out->append("\\t"); break;
      case '\r': out->append("\\r"); break;
      default: out->push_back(c);
    }
  }
  out->push_back('"');
}

// The alternatives of one tag k=v (see SearchFilter).
std::string TagCondition(const std::string& key, const std::string& value) {
  std::vector<std::string> alts;
  std::string k;
  AppendLiteral(key, &k);
  std::string v;
  AppendLiteral(value, &v);
  std::vector<std::string> literals{v};
  int64_t i = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), i);
  if (!value.empty() && ec == std::errc() && p == value.data() + value.size()) {
    literals.push_back(std::to_string(i));
  } else if (!value.empty()) {
    char* end = nullptr;
    std::string copy = value;
    double d = std::strtod(copy.c_str(), &end);
    if (end == copy.c_str() + copy.size() && std::isfinite(d) &&
        copy.find_first_not_of("0123456789.eE+-") == std::string::npos) {
      literals.push_back(copy);
    }
  }
  if (value == "true" || value == "false") literals.push_back(value);
  for (const char* scope : {"attr.", "resource."}) {
    for (const auto& lit : literals) alts.push_back(std::string(scope) + k + " = " + lit);
  }
  if (key == "error" && value == "true") alts.push_back("status = error");
  std::string out = "(";
  for (size_t n = 0; n < alts.size(); ++n) out += (n ? " or " : "") + alts[n];
  return out + ")";
}

}  // namespace

Trace ToJaeger(const schema::Trace& trace) {
  Trace out;
  out.trace_id = HexOf(trace.trace_id);
  switch (trace.source) {
    case schema::Source::kOtel: OtelToJaeger(trace, &out); break;
    case schema::Source::kReflow: ReflowToJaeger(trace, &out); break;
    case schema::Source::kOperonx: OperonxToJaeger(trace, &out); break;
  }
  return out;
}

void AppendTraceJson(const Trace& trace, std::string* out) {
  schema::JsonWriter w(out);
  w.BeginObject();
  w.PlainKey("traceID");
  w.String(trace.trace_id);
  w.PlainKey("spans");
  w.BeginArray();
  for (const auto& s : trace.spans) WriteSpan(trace.trace_id, s, &w);
  w.EndArray();
  w.PlainKey("processes");
  w.BeginObject();
  for (const auto& [id, p] : trace.processes) {
    w.Key(id);
    w.BeginObject();
    w.PlainKey("serviceName");
    w.String(p.service);
    w.PlainKey("tags");
    WriteTags(p.tags, &w);
    w.EndObject();
  }
  w.EndObject();
  w.PlainKey("warnings");
  if (trace.warnings.empty()) {
    w.Null();
  } else {
    w.BeginArray();
    for (const auto& s : trace.warnings) w.String(s);
    w.EndArray();
  }
  w.EndObject();
}

void CollectOperations(const Trace& trace, std::string_view service, std::vector<Operation>* out) {
  for (const auto& s : trace.spans) {
    if (!s.synthetic_root && trace.ServiceOf(s) == service) out->push_back({s.operation, s.kind});
  }
}

std::string SearchFilter(const SearchParams& p) {
  std::vector<std::string> trace_terms;
  std::vector<std::string> span_terms;
  if (!p.service.empty()) {
    std::string lit;
    AppendLiteral(p.service, &lit);
    trace_terms.push_back("service = " + lit);
  }
  if (p.start_ns) trace_terms.push_back("start >= " + std::to_string(*p.start_ns));
  if (p.end_ns) trace_terms.push_back("start <= " + std::to_string(*p.end_ns));
  if (!p.operation.empty()) {
    std::string lit;
    AppendLiteral(p.operation, &lit);
    span_terms.push_back("name = " + lit);
  }
  if (p.min_duration_ns) span_terms.push_back("duration >= " + std::to_string(*p.min_duration_ns));
  if (p.max_duration_ns) span_terms.push_back("duration <= " + std::to_string(*p.max_duration_ns));
  for (const auto& [k, v] : p.tags) span_terms.push_back(TagCondition(k, v));
  // The service of the one span: only needed when the span has other
  // conditions (the flow index already answers "some span of the service").
  if (!span_terms.empty() && !p.service.empty()) {
    std::string lit;
    AppendLiteral(p.service, &lit);
    span_terms.insert(span_terms.begin() + (p.operation.empty() ? 0 : 1), "service = " + lit);
  }
  std::string out;
  for (const auto& t : trace_terms) out += (out.empty() ? "" : " and ") + t;
  if (!span_terms.empty()) {
    std::string block = "event{";
    for (size_t i = 0; i < span_terms.size(); ++i) block += (i ? " and " : "") + span_terms[i];
    out += (out.empty() ? "" : " and ") + block + "}";
  }
  return out;
}

Result<int64_t> ParseGoDuration(std::string_view text) {
  auto invalid = [&] { return Status::InvalidArgument("time: invalid duration \"" + std::string(text) + "\""); };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return invalid();
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"ns", 1},       {"us", 1e3},     {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3}, {"ms", 1e6},
      {"s", 1e9},      {"m", 60e9},     {"h", 3600e9},      {"d", 86400e9},
  };
  double total = 0;
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && ((s[n] >= '0' && s[n] <= '9') || s[n] == '.')) ++n;
    if (n == 0 || s.substr(0, n) == ".") return invalid();
    std::string number(s.substr(0, n));
    if (std::count(number.begin(), number.end(), '.') > 1) return invalid();
    double value = std::strtod(number.c_str(), nullptr);
    s.remove_prefix(n);
    size_t u = 0;
    while (u < s.size() && !((s[u] >= '0' && s[u] <= '9') || s[u] == '.')) ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    auto it = std::find_if(std::begin(kUnits), std::end(kUnits), [&](const auto& e) { return e.first == unit; });
    if (it == std::end(kUnits)) {
      if (unit.empty()) return Status::InvalidArgument("time: missing unit in duration \"" + std::string(text) + "\"");
      return Status::InvalidArgument("time: unknown unit \"" + std::string(unit) + "\" in duration \"" +
                                     std::string(text) + "\"");
    }
    total += value * it->second;
  }
  if (total > 9.2e18) return invalid();
  int64_t ns = static_cast<int64_t>(std::llround(total));
  return negative ? -ns : ns;
}

}  // namespace tracedb::query::jaeger
