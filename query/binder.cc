#include "query/binder.h"

#include <re2/re2.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "query/syntax_error.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::query {

namespace {

struct FieldSpec {
  std::string_view name;
  FieldId id;
  Scope scope;
  ValueType type;
  bool hot;
  bool needs_path;  // tags.X, attr.X, payload.X
};

constexpr FieldSpec kFields[] = {
    {"trace_id", FieldId::kTraceId, Scope::kTrace, ValueType::kId, false, false},
    {"request_id", FieldId::kRequestId, Scope::kTrace, ValueType::kString, false, false},
    {"flow", FieldId::kFlow, Scope::kTrace, ValueType::kString, false, false},
    {"workflow", FieldId::kFlow, Scope::kTrace, ValueType::kString, false, false},
    {"execution_id", FieldId::kExecutionId, Scope::kTrace, ValueType::kId, false, false},
    {"source", FieldId::kSource, Scope::kTrace, ValueType::kString, false, false},
    {"status", FieldId::kStatus, Scope::kTrace, ValueType::kStatus, false, false},
    {"status_error", FieldId::kStatusError, Scope::kTrace, ValueType::kString, false, false},
    {"start", FieldId::kStart, Scope::kTrace, ValueType::kTime, false, false},
    {"end", FieldId::kEnd, Scope::kTrace, ValueType::kTime, false, false},
    {"duration", FieldId::kDuration, Scope::kTrace, ValueType::kDuration, false, false},
    {"version", FieldId::kVersion, Scope::kTrace, ValueType::kVersion, false, false},
    {"environment", FieldId::kEnvironment, Scope::kTrace, ValueType::kString, false, false},
    {"hostname", FieldId::kHostname, Scope::kTrace, ValueType::kString, false, false},
    {"user", FieldId::kUser, Scope::kTrace, ValueType::kString, false, false},
    {"session", FieldId::kSession, Scope::kTrace, ValueType::kString, false, false},
    {"tags", FieldId::kTag, Scope::kTrace, ValueType::kString, false, true},
    {"event_id", FieldId::kEventId, Scope::kEvent, ValueType::kString, false, false},
    {"timestamp", FieldId::kTimestamp, Scope::kEvent, ValueType::kTime, true, false},
    {"type", FieldId::kType, Scope::kEvent, ValueType::kEventType, true, false},
    {"actor", FieldId::kActor, Scope::kEvent, ValueType::kString, true, false},
    {"event_status", FieldId::kEventStatus, Scope::kEvent, ValueType::kEventStatus, true, false},
    {"size_bytes", FieldId::kSizeBytes, Scope::kEvent, ValueType::kInt, true, false},
    {"execution_time_ns", FieldId::kExecutionTimeNs, Scope::kEvent, ValueType::kDuration, true, false},
    {"port", FieldId::kPort, Scope::kEvent, ValueType::kString, false, false},
    {"to_actor", FieldId::kToActor, Scope::kEvent, ValueType::kString, false, false},
    {"to_port", FieldId::kToPort, Scope::kEvent, ValueType::kString, false, false},
    {"message_type", FieldId::kMessageType, Scope::kEvent, ValueType::kString, false, false},
    {"queue_depth", FieldId::kQueueDepth, Scope::kEvent, ValueType::kInt, false, false},
    {"memory_usage_bytes", FieldId::kMemoryUsageBytes, Scope::kEvent, ValueType::kInt, false, false},
    {"cpu_usage_percent", FieldId::kCpuUsagePercent, Scope::kEvent, ValueType::kFloat, false, false},
    {"throughput_msgs_per_sec", FieldId::kThroughput, Scope::kEvent, ValueType::kFloat, false, false},
    {"error", FieldId::kError, Scope::kEvent, ValueType::kString, false, false},
    {"attr", FieldId::kAttr, Scope::kEvent, ValueType::kJson, false, true},
    {"parent_event_id", FieldId::kParentEventId, Scope::kEvent, ValueType::kId, false, false},
    {"root_cause_event_id", FieldId::kRootCauseEventId, Scope::kEvent, ValueType::kId, false, false},
    {"kind", FieldId::kKind, Scope::kEvent, ValueType::kString, false, false},
    {"op_name", FieldId::kOpName, Scope::kEvent, ValueType::kString, true, false},
    {"ctx", FieldId::kCtx, Scope::kEvent, ValueType::kString, false, false},
    {"payload", FieldId::kPayload, Scope::kEvent, ValueType::kJson, false, true},
    {"service", FieldId::kService, Scope::kTrace, ValueType::kString, false, false},
    {"name", FieldId::kActor, Scope::kEvent, ValueType::kString, true, false},
    {"resource", FieldId::kResource, Scope::kEvent, ValueType::kJson, false, true},
};

// The OTLP SpanKind names, by code (`kind = server`, `kind = 2`).
constexpr std::string_view kSpanKinds[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "ActorCreated", "actor_created" and "actorcreated" all normalize alike.
std::string Normalize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '_' && c != '-') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

const schema::EventType kAllTypes[] = {
    schema::EventType::kActorCreated, schema::EventType::kActorStarted, schema::EventType::kActorCompleted,
    schema::EventType::kActorFailed, schema::EventType::kMessageSent, schema::EventType::kMessageReceived,
    schema::EventType::kStateChanged, schema::EventType::kPortConnected, schema::EventType::kPortDisconnected,
    schema::EventType::kDataFlow, schema::EventType::kNetworkEvent, schema::EventType::kOpStart,
    schema::EventType::kOpEnd, schema::EventType::kOpYield, schema::EventType::kAnnotation,
    schema::EventType::kGroupStart, schema::EventType::kGroupEnd, schema::EventType::kLlmUsage,
    schema::EventType::kMediaRef, schema::EventType::kOperonxOther, schema::EventType::kSpan,
};

// The narrowest `bucket()` width: finer buckets would print as many keys as
// there are distinct timestamps.
constexpr int64_t kMinBucketNs = 1000000;

// A width in the largest unit that divides it: 300000000000 -> "5m".
std::string DurationText(int64_t ns) {
  constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86400000000000, "d"}, {3600000000000, "h"}, {60000000000, "m"}, {1000000000, "s"},
      {1000000, "ms"},       {1000, "us"},
  };
  for (const auto& [unit, suffix] : kUnits) {
    if (ns % unit == 0) return std::to_string(ns / unit) + suffix;
  }
  return std::to_string(ns) + "ns";
}

class Binder {
 public:
  Binder(std::string_view text, schema::TimestampNs now) : text_(text), now_(now) {}

  Result<BoundQuery> Run(const ast::Query& q) {
    BoundQuery out;
    out.explain = q.explain;
    out.limit = q.limit;
    if (q.limit && *q.limit < 0) return Status::InvalidArgument("limit must not be negative");
    if (q.filter) {
      TRACEDB_ASSIGN_OR_RETURN(out.filter, Expr(*q.filter, /*in_event=*/false));
    }
    // Rows are events as soon as one field is an event field read in the
    // trace context; then every name is bound again in the event context,
    // so that `p99(duration) by (name)` is the spans' duration.
    bool event_level = false;
    for (const auto& call : q.aggregates) {
      TRACEDB_ASSIGN_OR_RETURN(Aggregate agg, Agg(call, FieldContext::kTrace));
      if (agg.field && agg.field->scope == Scope::kEvent) event_level = true;
    }
    for (const auto& key : q.group_by) {
      TRACEDB_ASSIGN_OR_RETURN(Field f, GroupField(key, FieldContext::kTrace));
      if (f.scope == Scope::kEvent) event_level = true;
    }
    FieldContext context = event_level ? FieldContext::kEvent : FieldContext::kTrace;
    for (const auto& call : q.aggregates) {
      TRACEDB_ASSIGN_OR_RETURN(Aggregate agg, Agg(call, context));
      out.aggregates.push_back(std::move(agg));
    }
    for (const auto& key : q.group_by) {
      TRACEDB_ASSIGN_OR_RETURN(Field f, GroupField(key, context));
      out.group_by.push_back(std::move(f));
    }
    out.level = event_level ? AggLevel::kEvent : AggLevel::kTrace;
    return out;
  }

 private:
  Status Error(size_t pos, std::string_view msg) const { return SyntaxError(text_, pos, msg); }

  // A `by` key. bucket(width) alone buckets the row's time: the trace's
  // start over traces, the event's timestamp over events (so it never makes
  // rows events by itself).
  Result<Field> GroupField(const ast::GroupKey& key, FieldContext context) {
    if (!key.bucket_ns) return FieldOf(key.field, context);
    Field f;
    if (key.field.path.empty()) {
      f = *ResolveField({context == FieldContext::kEvent ? "timestamp" : "start"});
    } else {
      TRACEDB_ASSIGN_OR_RETURN(f, FieldOf(key.field, context));
      if (f.type != ValueType::kTime) {
        return Error(key.field.pos, "bucket() needs a time field (start, end or timestamp), not '" + f.name + "'");
      }
    }
    if (*key.bucket_ns < kMinBucketNs) {
      return Error(key.width_pos, "a bucket width must be at least 1ms");
    }
    f.bucket_ns = *key.bucket_ns;
    f.name = "bucket(" + (key.field.path.empty() ? "" : f.name + ", ") + DurationText(f.bucket_ns) + ")";
    return f;
  }

  Result<Field> FieldOf(const ast::FieldRef& ref, FieldContext context = FieldContext::kTrace) {
    std::optional<Field> f = ResolveField(ref.path, context);
    if (!f) {
      std::string name = ref.path.empty() ? "" : ref.path[0];
      for (const auto& spec : kFields) {
        if (spec.needs_path && Lower(name) == spec.name) {
          return Error(ref.pos, "field '" + std::string(spec.name) + "' needs a key, e.g. " +
                                    std::string(spec.name) + ".name");
        }
      }
      return Error(ref.pos, "unknown field '" + name + "'");
    }
    return *f;
  }

  Result<Node> Expr(const ast::Expr& e, bool in_event) {
    Node n;
    switch (e.kind) {
      case ast::Expr::Kind::kAnd:
      case ast::Expr::Kind::kOr:
        n.kind = e.kind == ast::Expr::Kind::kAnd ? Node::Kind::kAnd : Node::Kind::kOr;
        for (const auto& c : e.children) {
          TRACEDB_ASSIGN_OR_RETURN(Node child, Expr(*c, in_event));
          n.children.push_back(std::move(child));
        }
        return n;
      case ast::Expr::Kind::kNot: {
        n.kind = Node::Kind::kNot;
        TRACEDB_ASSIGN_OR_RETURN(Node child, Expr(*e.children[0], in_event));
        n.children.push_back(std::move(child));
        return n;
      }
      case ast::Expr::Kind::kEvent: {
        if (in_event) return Error(e.pos, "event{...} blocks cannot be nested");
        n.kind = Node::Kind::kAnyEvent;
        Node inner;  // event{} : the trace has at least one event
        if (!e.children.empty()) {
          TRACEDB_ASSIGN_OR_RETURN(inner, Expr(*e.children[0], /*in_event=*/true));
        }
        n.children.push_back(std::move(inner));
        return n;
      }
      case ast::Expr::Kind::kCompare: {
        TRACEDB_ASSIGN_OR_RETURN(Predicate p, Compare(e, in_event ? FieldContext::kEvent : FieldContext::kTrace));
        n.kind = Node::Kind::kPredicate;
        bool event_field = p.field.scope == Scope::kEvent;
        n.pred = std::move(p);
        if (event_field && !in_event) {
          Node any;
          any.kind = Node::Kind::kAnyEvent;
          any.children.push_back(std::move(n));
          return any;
        }
        return n;
      }
    }
    return Status::Internal("unreachable");
  }

  Result<Predicate> Compare(const ast::Expr& e, FieldContext context) {
    Predicate p;
    TRACEDB_ASSIGN_OR_RETURN(p.field, FieldOf(e.field, context));
    using C = ast::CompareOp;
    switch (e.op) {
      case C::kEq: p.op = Op::kEq; break;
      case C::kNe: p.op = Op::kEq; p.negated = true; break;
      case C::kLt: p.op = Op::kLt; break;
      case C::kLe: p.op = Op::kLe; break;
      case C::kGt: p.op = Op::kGt; break;
      case C::kGe: p.op = Op::kGe; break;
      case C::kIn: p.op = Op::kIn; break;
      case C::kNotIn: p.op = Op::kIn; p.negated = true; break;
      case C::kMatch: p.op = Op::kRegex; break;
      case C::kNotMatch: p.op = Op::kRegex; p.negated = true; break;
      case C::kLike: p.op = Op::kGlob; break;
      case C::kNotLike: p.op = Op::kGlob; p.negated = true; break;
      case C::kContains: p.op = Op::kContains; break;
      case C::kPrefix: p.op = Op::kPrefix; break;
      case C::kExists: p.op = Op::kExists; break;
      case C::kNotExists: p.op = Op::kExists; p.negated = true; break;
    }
    TRACEDB_RETURN_IF_ERROR(CheckOp(p, e));
    for (const auto& lit : e.values) {
      TRACEDB_ASSIGN_OR_RETURN(Value v, Convert(p, lit));
      p.values.push_back(std::move(v));
    }
    if (p.op == Op::kRegex) {
      RE2::Options opts;
      opts.set_log_errors(false);
      opts.set_max_mem(8 << 20);
      auto re = std::make_shared<RE2>(p.values[0].s, opts);
      if (!re->ok()) return Error(e.values[0].pos, "invalid regular expression: " + re->error());
      p.regex = std::move(re);
    }
    return p;
  }

  Status CheckOp(const Predicate& p, const ast::Expr& e) {
    size_t at = e.values.empty() ? e.field.pos : e.values[0].pos;
    ValueType t = p.field.type;
    bool ordered = t == ValueType::kInt || t == ValueType::kFloat || t == ValueType::kTime ||
                   t == ValueType::kDuration || t == ValueType::kVersion || t == ValueType::kJson ||
                   t == ValueType::kString;
    bool textual = t == ValueType::kString || t == ValueType::kJson || t == ValueType::kId;
    switch (p.op) {
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
        if (!ordered) return Error(at, "'" + p.field.name + "' cannot be compared with < <= > >=");
        break;
      case Op::kRegex:
      case Op::kGlob:
      case Op::kContains:
      case Op::kPrefix:
        if (!textual) return Error(at, "'" + p.field.name + "' is not a string: use = or in");
        if (e.values.empty() || e.values[0].kind != ast::Literal::Kind::kString) {
          return Error(at, "expected a string pattern");
        }
        break;
      default:
        break;
    }
    return Status::OK();
  }

  Result<Value> Convert(const Predicate& p, const ast::Literal& lit) {
    using K = ast::Literal::Kind;
    const std::string& name = p.field.name;
    if (p.op == Op::kRegex || p.op == Op::kGlob || p.op == Op::kContains || p.op == Op::kPrefix) {
      return Value::String(lit.s);
    }
    if (p.field.id == FieldId::kKind) return KindValue(lit);
    switch (p.field.type) {
      case ValueType::kString:
        if (lit.kind == K::kString) return Value::String(lit.s);
        return Error(lit.pos, "expected a string for '" + name + "' (use quotes)");
      case ValueType::kInt:
      case ValueType::kFloat:
        if (lit.kind == K::kInt) return Value::Int(lit.i);
        if (lit.kind == K::kFloat) return Value::Float(lit.d);
        return Error(lit.pos, "expected a number for '" + name + "'");
      case ValueType::kDuration:
        if (lit.kind == K::kDuration || lit.kind == K::kInt) return Value::Int(lit.i);
        if (lit.kind == K::kFloat) return Value::Float(lit.d);
        return Error(lit.pos, "expected a duration such as 10ms for '" + name + "'");
      case ValueType::kTime:
        return Time(lit, name);
      case ValueType::kId: {
        schema::Id128 id;
        if (lit.kind == K::kString && schema::ParseUuid(lit.s, &id)) return Value::Id(id);
        return Error(lit.pos, "expected a UUID string for '" + name + "'");
      }
      case ValueType::kStatus:
        return StatusValue(lit);
      case ValueType::kEventType:
        return EventTypeValue(lit);
      case ValueType::kEventStatus:
        return EventStatusValue(lit);
      case ValueType::kVersion:
        return VersionValue(lit);
      case ValueType::kJson:
        switch (lit.kind) {
          case K::kString:
          case K::kWord: return Value::String(lit.s);
          case K::kInt:
          case K::kDuration:
          case K::kTimestamp: return Value::Int(lit.i);
          case K::kFloat: return Value::Float(lit.d);
          case K::kBool: return Value::Bool(lit.b);
          case K::kNow: return Value::Int(now_ + lit.i);
        }
    }
    return Error(lit.pos, "unsupported value");
  }

  Result<Value> Time(const ast::Literal& lit, const std::string& name) {
    using K = ast::Literal::Kind;
    switch (lit.kind) {
      case K::kTimestamp:
      case K::kInt: return Value::Int(lit.i);
      case K::kNow: return Value::Int(now_ + lit.i);
      case K::kString: {
        schema::TimestampNs ts;
        if (schema::ParseRfc3339(lit.s, &ts)) return Value::Int(ts);
        return Error(lit.pos, "invalid RFC 3339 timestamp");
      }
      default:
        return Error(lit.pos, "expected a time (RFC 3339, now-1h or ns) for '" + name + "'");
    }
  }

  static bool IsName(const ast::Literal& lit) {
    return lit.kind == ast::Literal::Kind::kWord || lit.kind == ast::Literal::Kind::kString;
  }

  Result<Value> StatusValue(const ast::Literal& lit) {
    if (IsName(lit)) {
      std::string n = Lower(lit.s);
      for (int c = 0; c <= 4; ++c) {
        if (n == StatusName(static_cast<schema::StatusCode>(c))) return Value::Int(c);
      }
    }
    return Error(lit.pos, "expected a status: pending, running, completed, failed or cancelled");
  }

  Result<Value> EventTypeValue(const ast::Literal& lit) {
    if (IsName(lit)) {
      std::string n = Normalize(lit.s);
      for (auto t : kAllTypes) {
        if (Normalize(EventTypeName(t)) == n) return Value::Int(static_cast<int64_t>(t));
      }
    }
    return Error(lit.pos, "unknown event type (e.g. actor_failed, message_sent, data_flow, op_end)");
  }

  Result<Value> EventStatusValue(const ast::Literal& lit) {
    if (IsName(lit)) {
      std::string n = Lower(lit.s);
      if (n == "unset" || n == "none") return Value::Int(0);  // an OTel span without a status
      for (uint8_t c = 1; c <= 4; ++c) {
        if (n == EventStatusName(c)) return Value::Int(c);
      }
    }
    return Error(lit.pos, "expected an event status: unset, ok, error, cancelled or truncated");
  }

  // `kind` is the operonx kind text or the OTel span kind name: strings are
  // taken as they are; bare words as well (lowercased, a "span_kind_" prefix
  // dropped: `kind = SPAN_KIND_SERVER`); integers are span kind codes.
  Result<Value> KindValue(const ast::Literal& lit) {
    using K = ast::Literal::Kind;
    if (lit.kind == K::kString) return Value::String(lit.s);
    if (lit.kind == K::kWord) {
      std::string n = Lower(lit.s);
      if (n.starts_with("span_kind_")) n.erase(0, 10);
      return Value::String(n);
    }
    if (lit.kind == K::kInt && lit.i >= 0 && lit.i <= 255) {
      size_t code = static_cast<size_t>(lit.i);
      return Value::String(code < std::size(kSpanKinds) ? std::string(kSpanKinds[code]) : std::to_string(code));
    }
    return Error(lit.pos, "expected a kind: a span kind (server, client, internal, producer, consumer, "
                          "unspecified or 0-5) or an operonx kind string");
  }

  Result<Value> VersionValue(const ast::Literal& lit) {
    if (lit.kind == ast::Literal::Kind::kString) {
      Value v;
      v.kind = Value::Kind::kVersion;
      std::string_view s = lit.s;
      size_t part = 0;
      bool ok = !s.empty();
      uint64_t acc = 0;
      bool digit = false;
      for (size_t i = 0; i <= s.size() && ok; ++i) {
        if (i == s.size() || s[i] == '.') {
          if (!digit || part >= 3) {
            ok = false;
            break;
          }
          v.version[part++] = static_cast<uint32_t>(acc);
          acc = 0;
          digit = false;
        } else if (s[i] >= '0' && s[i] <= '9' && acc < 0xffffffffULL / 10) {
          acc = acc * 10 + static_cast<uint64_t>(s[i] - '0');
          digit = true;
        } else {
          ok = false;
        }
      }
      if (ok) return v;
    }
    return Error(lit.pos, "expected a version string such as \"1.2.3\"");
  }

  Result<Aggregate> Agg(const ast::AggCall& call, FieldContext context) {
    static constexpr std::pair<std::string_view, AggFunc> kFuncs[] = {
        {"count", AggFunc::kCount}, {"sum", AggFunc::kSum}, {"avg", AggFunc::kAvg},
        {"min", AggFunc::kMin},     {"max", AggFunc::kMax}, {"p50", AggFunc::kP50},
        {"p90", AggFunc::kP90},     {"p95", AggFunc::kP95}, {"p99", AggFunc::kP99},
    };
    Aggregate agg;
    std::string fn = Lower(call.func);
    bool found = false;
    for (const auto& [name, f] : kFuncs) {
      if (fn == name) {
        agg.func = f;
        found = true;
      }
    }
    if (!found) return Error(call.pos, "unknown aggregate '" + call.func + "' (count sum avg min max p50 p90 p95 p99)");
    if (agg.func == AggFunc::kCount) {
      if (call.arg) return Error(call.arg->pos, "count() takes no argument");
      agg.label = "count()";
      return agg;
    }
    if (!call.arg) return Error(call.pos, fn + "() needs a numeric field");
    TRACEDB_ASSIGN_OR_RETURN(Field f, FieldOf(*call.arg, context));
    ValueType t = f.type;
    if (t != ValueType::kInt && t != ValueType::kFloat && t != ValueType::kDuration && t != ValueType::kTime &&
        t != ValueType::kJson) {
      return Error(call.arg->pos, "'" + f.name + "' is not numeric");
    }
    agg.label = fn + "(" + f.name + ")";
    agg.field = std::move(f);
    return agg;
  }

  std::string_view text_;
  schema::TimestampNs now_;
};

}  // namespace

namespace {

// A field whose meaning follows the context, bound in the event context:
// the event's value under the name the user wrote.
std::optional<Field> EventContextField(const std::string& head) {
  std::optional<Field> f;
  if (head == "duration") f = ResolveField({"execution_time_ns"});
  if (head == "status") f = ResolveField({"event_status"});
  if (head == "service") {
    f = ResolveField({"service"});
    f->scope = Scope::kEvent;
    f->hot = true;  // the service column, with the trace's flow (docs/format.md)
  }
  if (f) f->name = head;
  return f;
}

}  // namespace

std::optional<Field> ResolveField(const std::vector<std::string>& path, FieldContext context) {
  if (path.empty()) return std::nullopt;
  std::string head = Lower(path[0]);
  // "status.error" and "event.status" read naturally; accept both spellings.
  if (path.size() == 2 && head == "status" && Lower(path[1]) == "error") return ResolveField({"status_error"});
  if (path.size() == 2 && head == "event" && Lower(path[1]) == "status") return ResolveField({"event_status"});
  // trace.duration, trace.status, trace.service: the trace's, in any context.
  if (path.size() == 2 && head == "trace") {
    std::string tail = Lower(path[1]);
    if (tail != "duration" && tail != "status" && tail != "service") return std::nullopt;
    std::optional<Field> f = ResolveField({tail});
    f->name = "trace." + tail;
    return f;
  }
  if (path.size() == 1 && context == FieldContext::kEvent) {
    if (std::optional<Field> f = EventContextField(head)) return f;
  }
  if (head == "time") head = "timestamp";
  for (const auto& spec : kFields) {
    if (spec.name != head) continue;
    if (spec.needs_path != (path.size() > 1)) return std::nullopt;
    Field f;
    f.id = spec.id;
    f.scope = spec.scope;
    f.type = spec.type;
    f.hot = spec.hot;
    f.path.assign(path.begin() + 1, path.end());
    f.name = std::string(spec.name == "workflow" ? "flow" : spec.name);
    for (const auto& seg : f.path) {
      bool plain = !seg.empty() && std::all_of(seg.begin(), seg.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      }) && !std::isdigit(static_cast<unsigned char>(seg[0]));
      f.name += ".";
      if (plain) {
        f.name += seg;
      } else {
        f.name += "\"";
        for (char c : seg) {
          if (c == '"' || c == '\\') f.name += '\\';
          f.name += c;
        }
        f.name += "\"";
      }
    }
    return f;
  }
  return std::nullopt;
}

Result<BoundQuery> Bind(std::string_view text, const ast::Query& query, schema::TimestampNs now_ns) {
  return Binder(text, now_ns).Run(query);
}

std::vector<FieldName> KnownFields() {
  std::vector<FieldName> out;
  for (const auto& spec : kFields) {
    if (spec.name == "workflow") continue;  // an alias of flow
    out.push_back(FieldName{spec.name, spec.scope, spec.type, spec.hot, spec.needs_path});
  }
  return out;
}

std::vector<std::string> EnumValueNames(ValueType type) {
  std::vector<std::string> out;
  switch (type) {
    case ValueType::kStatus:
      for (auto code : {schema::StatusCode::kPending, schema::StatusCode::kRunning, schema::StatusCode::kCompleted,
                        schema::StatusCode::kFailed, schema::StatusCode::kCancelled}) {
        out.emplace_back(StatusName(code));
      }
      break;
    case ValueType::kEventType:
      for (auto t : kAllTypes) out.emplace_back(EventTypeName(t));
      break;
    case ValueType::kEventStatus:
      for (uint8_t code = 0; code <= 4; ++code) out.emplace_back(EventStatusName(code));
      break;
    default: break;
  }
  return out;
}

}  // namespace tracedb::query
