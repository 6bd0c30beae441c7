#include "query/bound.h"

#include <cstdio>

#include "schema/json_writer.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::query {

std::string_view EventTypeName(schema::EventType type) {
  using T = schema::EventType;
  switch (type) {
    case T::kActorCreated: return "actor_created";
    case T::kActorStarted: return "actor_started";
    case T::kActorCompleted: return "actor_completed";
    case T::kActorFailed: return "actor_failed";
    case T::kMessageSent: return "message_sent";
    case T::kMessageReceived: return "message_received";
    case T::kStateChanged: return "state_changed";
    case T::kPortConnected: return "port_connected";
    case T::kPortDisconnected: return "port_disconnected";
    case T::kDataFlow: return "data_flow";
    case T::kNetworkEvent: return "network_event";
    case T::kOpStart: return "op_start";
    case T::kOpEnd: return "op_end";
    case T::kOpYield: return "op_yield";
    case T::kAnnotation: return "annotation";
    case T::kGroupStart: return "group_start";
    case T::kGroupEnd: return "group_end";
    case T::kLlmUsage: return "llm_usage";
    case T::kMediaRef: return "media_ref";
    case T::kOperonxOther: return "operonx_other";
    case T::kSpan: return "span";
  }
  return "unknown";
}

std::string_view StatusName(schema::StatusCode code) {
  switch (code) {
    case schema::StatusCode::kPending: return "pending";
    case schema::StatusCode::kRunning: return "running";
    case schema::StatusCode::kCompleted: return "completed";
    case schema::StatusCode::kFailed: return "failed";
    case schema::StatusCode::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string_view EventStatusName(uint8_t code) {
  switch (code) {
    case 1: return "ok";
    case 2: return "error";
    case 3: return "cancelled";
    case 4: return "truncated";
    default: return "unset";
  }
}

namespace {

std::string FormatValue(const Field& field, const Value& v) {
  std::string out;
  switch (v.kind) {
    case Value::Kind::kNull: return "null";
    case Value::Kind::kBool: return v.b ? "true" : "false";
    case Value::Kind::kFloat: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v.d);
      out = buf;
      if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
      return out;
    }
    case Value::Kind::kString: schema::AppendJsonString(v.s, &out); return out;
    case Value::Kind::kId: return "\"" + schema::FormatUuid(v.id) + "\"";
    case Value::Kind::kVersion:
      return "\"" + std::to_string(v.version[0]) + "." + std::to_string(v.version[1]) + "." +
             std::to_string(v.version[2]) + "\"";
    case Value::Kind::kInt:
      switch (field.type) {
        case ValueType::kTime: return schema::FormatRfc3339(v.i);
        case ValueType::kDuration: return std::to_string(v.i) + "ns";
        case ValueType::kStatus: return std::string(StatusName(static_cast<schema::StatusCode>(v.i)));
        case ValueType::kEventType: return std::string(EventTypeName(static_cast<schema::EventType>(v.i)));
        case ValueType::kEventStatus: return std::string(EventStatusName(static_cast<uint8_t>(v.i)));
        default: return std::to_string(v.i);
      }
  }
  return out;
}

const char* OpText(const Predicate& p) {
  switch (p.op) {
    case Op::kEq: return p.negated ? "!=" : "=";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kIn: return p.negated ? "not in" : "in";
    case Op::kRegex: return p.negated ? "!~" : "=~";
    case Op::kGlob: return p.negated ? "not like" : "like";
    case Op::kContains: return "contains";
    case Op::kPrefix: return "prefix";
    case Op::kExists: return p.negated ? "not exists" : "exists";
  }
  return "?";
}

std::string Child(const Node& n) {
  bool wrap = n.kind == Node::Kind::kAnd || n.kind == Node::Kind::kOr;
  return wrap ? "(" + ToString(n) + ")" : ToString(n);
}

}  // namespace

std::string ToString(const Predicate& p) {
  std::string out = p.field.name + " " + OpText(p);
  if (p.op == Op::kExists) return out;
  if (p.op == Op::kIn) {
    out += " (";
    for (size_t i = 0; i < p.values.size(); ++i) {
      if (i) out += ", ";
      out += FormatValue(p.field, p.values[i]);
    }
    return out + ")";
  }
  if (p.op == Op::kRegex || p.op == Op::kGlob || p.op == Op::kContains || p.op == Op::kPrefix) {
    std::string s;
    schema::AppendJsonString(p.values[0].s, &s);
    return out + " " + s;
  }
  return out + " " + FormatValue(p.field, p.values[0]);
}

std::string ToString(const Node& node) {
  switch (node.kind) {
    case Node::Kind::kTrue: return "true";
    case Node::Kind::kPredicate: return ToString(node.pred);
    case Node::Kind::kNot: {
      const Node& c = node.children[0];
      bool wrap = c.kind != Node::Kind::kAnyEvent;
      return wrap ? "not (" + ToString(c) + ")" : "not " + ToString(c);
    }
    case Node::Kind::kAnyEvent:
      return node.children[0].kind == Node::Kind::kTrue ? "event{}" : "event{" + ToString(node.children[0]) + "}";
    case Node::Kind::kAnd:
    case Node::Kind::kOr: {
      std::string out;
      for (size_t i = 0; i < node.children.size(); ++i) {
        if (i) out += node.kind == Node::Kind::kAnd ? " and " : " or ";
        out += Child(node.children[i]);
      }
      return out;
    }
  }
  return "?";
}

}  // namespace tracedb::query
