#include "tests/query/oracle_query_util.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tracedb::query::oracle {

namespace {

FieldDef Trace(std::string name, Kind kind, std::string sql) {
  FieldDef f;
  f.spellings = {name};
  f.name = std::move(name);
  f.kind = kind;
  f.sql = std::move(sql);
  return f;
}

FieldDef Event(std::string name, Kind kind, std::string sql) {
  FieldDef f = Trace(std::move(name), kind, std::move(sql));
  f.event = true;
  return f;
}

FieldDef Tag(const std::string& key) {
  FieldDef f = Trace("tags." + key, Kind::kString,
                     "(SELECT g.value FROM tags g WHERE g.trace = t.n AND g.key = '" + key +
                         "' ORDER BY g.rowid LIMIT 1)");
  f.spellings.push_back("tags.\"" + key + "\"");
  f.groupable = true;
  return f;
}

FieldDef Json(const std::string& root, const std::string& column, const std::string& path) {
  std::string dotted = path;
  FieldDef f = Event(root + "." + dotted, Kind::kJson, "e." + column);
  f.json_path = "$." + path;
  return f;
}

// A JSON field whose canonical name quotes segments (`attr.list."0"`).
FieldDef JsonAt(std::string name, std::vector<std::string> spellings, const std::string& column,
                std::string json_path) {
  FieldDef f = Event(std::move(name), Kind::kJson, "e." + column);
  f.spellings.insert(f.spellings.end(), spellings.begin(), spellings.end());
  f.json_path = std::move(json_path);
  return f;
}

FieldDef With(FieldDef f, bool groupable, bool aggregatable) {
  f.groupable = groupable;
  f.aggregatable = aggregatable;
  return f;
}

FieldDef Alias(FieldDef f, std::string spelling) {
  f.spellings.push_back(std::move(spelling));
  return f;
}

std::vector<FieldDef> MakeFields() {
  std::vector<FieldDef> v;
  v.push_back(Trace("trace_id", Kind::kId, "t.trace_id"));
  v.push_back(Trace("request_id", Kind::kString, "t.request_id"));
  v.push_back(With(Alias(Trace("flow", Kind::kString, "t.flow"), "workflow"), true, false));
  v.push_back(Trace("execution_id", Kind::kId, "t.execution_id"));
  v.push_back(With(Trace("source", Kind::kString, "t.source"), true, false));
  // `status` and `duration` follow the context (the event's inside event{}
  // and in event aggregates); `trace.status` / `trace.duration` are the
  // trace's everywhere, which is what this column holds.
  v.push_back(With(Trace("trace.status", Kind::kStatus, "t.status"), true, false));
  v.push_back(With(Alias(Trace("status_error", Kind::kString, "t.status_error"), "status.error"), true, false));
  v.push_back(With(Trace("start", Kind::kTime, "t.start_ns"), false, true));
  v.push_back(With(Trace("end", Kind::kTime, "t.end_ns"), false, true));
  v.push_back(With(Trace("trace.duration", Kind::kDuration, "t.duration"), false, true));
  v.push_back(With(Trace("version", Kind::kVersion, "t.vmaj"), true, false));
  v.push_back(With(Trace("environment", Kind::kString, "t.environment"), true, false));
  v.push_back(With(Trace("hostname", Kind::kString, "t.hostname"), true, false));
  v.push_back(With(Trace("user", Kind::kString, "t.user_id"), true, false));
  v.push_back(With(Trace("session", Kind::kString, "t.session_id"), true, false));
  v.push_back(Tag("region"));
  v.push_back(Tag("tier"));
  v.push_back(Tag("zone"));  // never set
  FieldDef dotted = Trace("tags.\"a.b\"", Kind::kString,
                          "(SELECT g.value FROM tags g WHERE g.trace = t.n AND g.key = 'a.b' ORDER BY g.rowid LIMIT 1)");
  dotted.groupable = true;
  v.push_back(dotted);

  v.push_back(Event("event_id", Kind::kString, "e.event_id"));
  v.push_back(With(Alias(Event("timestamp", Kind::kTime, "e.ts"), "time"), false, true));
  v.push_back(With(Event("type", Kind::kEventType, "e.type"), true, false));
  v.push_back(With(Event("actor", Kind::kString, "e.actor"), true, false));
  v.push_back(With(Alias(Event("event_status", Kind::kEventStatus, "e.event_status"), "event.status"), true, false));
  v.push_back(With(Event("size_bytes", Kind::kInt, "e.size_bytes"), true, true));
  v.push_back(With(Event("execution_time_ns", Kind::kDuration, "e.exec_ns"), false, true));
  v.push_back(With(Event("port", Kind::kString, "e.port"), true, false));
  v.push_back(With(Event("to_actor", Kind::kString, "e.to_actor"), true, false));
  v.push_back(With(Event("to_port", Kind::kString, "e.to_port"), true, false));
  v.push_back(With(Event("message_type", Kind::kString, "e.message_type"), true, false));
  v.push_back(With(Event("queue_depth", Kind::kInt, "e.queue"), true, true));
  v.push_back(With(Event("memory_usage_bytes", Kind::kInt, "e.memory"), false, true));
  v.push_back(With(Event("cpu_usage_percent", Kind::kFloat, "e.cpu"), false, true));
  v.push_back(With(Event("throughput_msgs_per_sec", Kind::kFloat, "e.throughput"), false, true));
  v.push_back(With(Event("error", Kind::kString, "e.error"), true, false));
  v.push_back(With(Json("attr", "attrs", "retry"), true, true));
  v.push_back(With(Alias(Json("attr", "attrs", "tenant"), "attr.\"tenant\""), true, true));
  v.push_back(With(Json("attr", "attrs", "nested"), true, false));
  v.push_back(With(Json("attr", "attrs", "nested.k"), true, false));
  v.push_back(Json("attr", "attrs", "none"));
  // JSON shapes of the edge-case traces (oracle_data_util.h).
  v.push_back(With(Json("attr", "attrs", "list"), true, false));
  v.push_back(With(JsonAt("attr.list.\"0\"", {"attr.list.0"}, "attrs", "$.list[0]"), true, true));
  v.push_back(With(JsonAt("attr.list.\"1\"", {"attr.list.1"}, "attrs", "$.list[1]"), true, false));
  v.push_back(With(JsonAt("attr.list.\"2\".k", {"attr.list.2.k"}, "attrs", "$.list[2].k"), false, true));
  v.push_back(With(Json("attr", "attrs", "flag"), true, false));
  v.push_back(Json("attr", "attrs", "nul"));
  v.push_back(With(Json("attr", "attrs", "neg"), false, true));
  v.push_back(With(Json("attr", "attrs", "f"), false, true));
  v.push_back(With(Json("attr", "attrs", "e"), true, true));
  v.push_back(With(JsonAt("attr.\"dot.key\"", {}, "attrs", "$.\"dot.key\""), true, false));
  v.push_back(With(Json("attr", "attrs", "esc"), true, false));
  v.push_back(Event("parent_event_id", Kind::kId, "e.parent"));
  v.push_back(Event("root_cause_event_id", Kind::kId, "e.root_cause"));
  v.push_back(With(Event("kind", Kind::kString, "e.kind"), true, false));
  FieldDef op = With(Event("op_name", Kind::kString, "e.op_name"), true, false);
  op.short_sql = "e.op_short";
  v.push_back(op);
  FieldDef ctx = With(Event("ctx", Kind::kString, "e.ctx"), true, false);
  ctx.segment_prefix = true;
  v.push_back(ctx);
  v.push_back(With(Json("payload", "payload", "status"), true, true));
  v.push_back(With(Json("payload", "payload", "duration_ms"), false, true));
  v.push_back(With(Json("payload", "payload", "model"), true, false));
  v.push_back(With(Json("payload", "payload", "cost_usd"), false, true));
  v.push_back(With(Json("payload", "payload", "total_tokens"), false, true));
  v.push_back(With(Json("payload", "payload", "key"), true, false));
  v.push_back(With(Json("payload", "payload", "value"), true, true));
  v.push_back(With(Json("payload", "payload", "inputs"), true, false));
  v.push_back(With(Json("payload", "payload", "size_bytes"), false, true));
  v.push_back(With(Json("payload", "payload", "error"), true, false));
  return v;
}

template <size_t N>
std::string CaseOf(const std::string& v, const NamedCode (&names)[N]) {
  std::string out = "CASE " + v;
  for (const auto& n : names) out += " WHEN " + std::to_string(n.code) + " THEN '" + n.name + "'";
  return out + " ELSE '(none)' END";
}

// A tracedb glob (`*`, `?`, `\` escapes) as an SQLite GLOB pattern, where
// `[c]` is the only way to write a literal `*`, `?` or `[`.
std::string GlobToSqlite(const std::string& pat) {
  std::string out;
  auto literal = [&](char c) {
    if (c == '*' || c == '?' || c == '[') {
      out += '[';
      out += c;
      out += ']';
    } else {
      out += c;
    }
  };
  for (size_t i = 0; i < pat.size(); ++i) {
    char c = pat[i];
    if (c == '\\' && i + 1 < pat.size()) {
      literal(pat[++i]);
    } else if (c == '*' || c == '?') {
      out += c;
    } else {
      literal(c);
    }
  }
  return out;
}

const Node& Effective(const Node& n) {
  const Node* p = &n;
  while ((p->kind == Node::Kind::kAnd || p->kind == Node::Kind::kOr) && p->kids.size() == 1) p = &p->kids[0];
  return *p;
}

void Flatten(const Node& n, std::vector<const Node*>* out) {
  const Node& e = Effective(n);
  if (e.kind == Node::Kind::kAnd) {
    for (const auto& k : e.kids) Flatten(k, out);
  } else {
    out->push_back(&e);
  }
}

// ---- text ----

class TextWriter {
 public:
  explicit TextWriter(bool upper) : upper_(upper) {}
  std::string Kw(const std::string& w) const { return upper_ ? Upper(w) : w; }

  std::string PredText(const Pred& p) const {
    std::string out = p.field->spellings[p.spelling] + " ";
    auto one = [&](const std::string& op) { return out + op + " " + p.values[0].text; };
    auto list = [&](const std::string& op) {
      std::string s = out + op + " (";
      for (size_t i = 0; i < p.values.size(); ++i) s += (i ? ", " : "") + p.values[i].text;
      return s + ")";
    };
    switch (p.op) {
      case Op::kEq: return one(p.double_eq ? "==" : "=");
      case Op::kNe: return one("!=");
      case Op::kLt: return one("<");
      case Op::kLe: return one("<=");
      case Op::kGt: return one(">");
      case Op::kGe: return one(">=");
      case Op::kIn: return list(Kw("in"));
      case Op::kNotIn: return list(Kw("not") + " " + Kw("in"));
      case Op::kRegex: return one("=~");
      case Op::kNotRegex: return one("!~");
      case Op::kGlob: return one(Kw("like"));
      case Op::kNotGlob: return one(Kw("not") + " " + Kw("like"));
      case Op::kContains: return one(Kw("contains"));
      case Op::kPrefix: return one(Kw("prefix"));
      case Op::kExists: return out + Kw("exists");
      case Op::kNotExists: return out + Kw("not") + " " + Kw("exists");
    }
    return out;
  }

  std::string NodeText(const Node& node) const {
    const Node& n = Effective(node);
    switch (n.kind) {
      case Node::Kind::kPred: return PredText(n.pred);
      case Node::Kind::kEvent: return Kw("event") + "{" + (n.kids.empty() ? "" : NodeText(n.kids[0])) + "}";
      case Node::Kind::kNot: {
        const Node& k = Effective(n.kids[0]);
        bool simple = k.kind == Node::Kind::kPred || k.kind == Node::Kind::kEvent || k.kind == Node::Kind::kNot;
        return Kw("not") + " " + (simple ? NodeText(k) : "(" + NodeText(k) + ")");
      }
      case Node::Kind::kAnd:
      case Node::Kind::kOr: {
        bool is_and = n.kind == Node::Kind::kAnd;
        std::string out;
        for (size_t i = 0; i < n.kids.size(); ++i) {
          const Node& k = Effective(n.kids[i]);
          bool compound = k.kind == Node::Kind::kAnd || k.kind == Node::Kind::kOr;
          bool bare = compound && !is_and && k.kind == Node::Kind::kAnd && n.bare_and_in_or;
          if (i) out += " " + Kw(is_and ? "and" : "or") + " ";
          out += compound && !bare ? "(" + NodeText(k) + ")" : NodeText(k);
        }
        return out;
      }
    }
    return "";
  }

 private:
  bool upper_;
};

// ---- SQL ----

std::string JsonType(const FieldDef& f) { return "json_type(" + f.sql + ", '" + f.json_path + "')"; }
std::string JsonValue(const FieldDef& f) { return "json_extract(" + f.sql + ", '" + f.json_path + "')"; }

std::string CmpOp(Op op) {
  switch (op) {
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    default: return "=";
  }
}

// `v op lit` for one literal, with the language's typing rules.
std::string Compare(const FieldDef& f, const std::string& v, const std::string& op, const Lit& lit) {
  if (f.kind == Kind::kVersion) return "((t.vmaj, t.vmin, t.vpatch) " + op + " " + lit.sql + ")";
  if (f.kind != Kind::kJson) return "(" + v + " " + op + " " + lit.sql + ")";
  std::string jt = JsonType(f);
  switch (lit.type) {
    case Lit::Type::kText: return "(" + jt + " = 'text' AND " + JsonValue(f) + " " + op + " " + lit.sql + ")";
    case Lit::Type::kNumber:
      return "(" + jt + " IN ('integer', 'real') AND " + JsonValue(f) + " " + op + " " + lit.sql + ")";
    case Lit::Type::kBool:
      return "(" + jt + " IN ('true', 'false') AND (" + jt + " = 'true') " + op + " " + lit.sql + ")";
  }
  return "0";
}

std::string TextOp(const Pred& p, const std::string& v) {
  const std::string& raw = p.values[0].raw;
  switch (p.op) {
    case Op::kRegex:
    case Op::kNotRegex: return "tdb_regex(" + v + ", " + SqlQuote(raw) + ")";
    case Op::kGlob:
    case Op::kNotGlob: return "(" + v + " GLOB " + SqlQuote(GlobToSqlite(raw)) + ")";
    case Op::kContains: return "(instr(" + v + ", " + SqlQuote(raw) + ") > 0)";
    case Op::kPrefix: {
      std::string n = std::to_string(raw.size());
      if (p.field->segment_prefix) {
        return "(" + SqlQuote(raw) + " = '' OR " + v + " = " + SqlQuote(raw) + " OR substr(" + v + ", 1, " +
               std::to_string(raw.size() + 1) + ") = " + SqlQuote(raw + "/") + ")";
      }
      return "(substr(" + v + ", 1, " + n + ") = " + SqlQuote(raw) + ")";
    }
    default: return "0";
  }
}

// The positive form of the predicate on value expression `v`.
std::string Positive(const Pred& p, const std::string& v) {
  const FieldDef& f = *p.field;
  switch (p.op) {
    case Op::kEq:
    case Op::kNe:
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: return Compare(f, v, CmpOp(p.op), p.values[0]);
    case Op::kIn:
    case Op::kNotIn: {
      std::string out = "(";
      for (size_t i = 0; i < p.values.size(); ++i) out += (i ? " OR " : "") + Compare(f, v, "=", p.values[i]);
      return out + ")";
    }
    default:
      if (f.kind == Kind::kJson) return "(" + JsonType(f) + " = 'text' AND " + TextOp(p, JsonValue(f)) + ")";
      return TextOp(p, v);
  }
}

bool Negated(Op op) {
  return op == Op::kNe || op == Op::kNotIn || op == Op::kNotRegex || op == Op::kNotGlob || op == Op::kNotExists;
}

// Two-valued: absent fails every operator but `not exists`.
std::string PredSql(const Pred& p) {
  const FieldDef& f = *p.field;
  std::string present = f.kind == Kind::kJson ? "(" + JsonType(f) + " IS NOT NULL AND " + JsonType(f) + " <> 'null')"
                                              : "(" + f.sql + " IS NOT NULL)";
  if (p.op == Op::kExists) return present;
  if (p.op == Op::kNotExists) return "(NOT " + present + ")";
  std::string pos = Positive(p, f.sql);
  // op_name: the full or the short name matches.
  if (!f.short_sql.empty()) pos = "(" + pos + " OR " + Positive(p, f.short_sql) + ")";
  return "(" + present + " AND " + (Negated(p.op) ? "NOT " : "") + "IFNULL(" + pos + ", 0))";
}

std::string Exists(const std::string& cond) {
  return "EXISTS (SELECT 1 FROM ev e WHERE e.trace = t.n AND " + cond + ")";
}

std::string NodeSql(const Node& n, bool in_event) {
  switch (n.kind) {
    case Node::Kind::kPred:
      return n.pred.field->event && !in_event ? Exists(PredSql(n.pred)) : PredSql(n.pred);
    case Node::Kind::kEvent: return Exists(n.kids.empty() ? "1" : NodeSql(n.kids[0], true));
    case Node::Kind::kNot: return "(NOT " + NodeSql(n.kids[0], in_event) + ")";
    case Node::Kind::kAnd:
    case Node::Kind::kOr: {
      std::string out = "(";
      for (size_t i = 0; i < n.kids.size(); ++i) {
        out += (i ? (n.kind == Node::Kind::kAnd ? " AND " : " OR ") : "") + NodeSql(n.kids[i], in_event);
      }
      return out + ")";
    }
  }
  return "0";
}

std::string GroupKeySql(const FieldDef& f) {
  switch (f.kind) {
    case Kind::kString:
    case Kind::kId: return "COALESCE(" + f.sql + ", '(none)')";
    case Kind::kStatus: return CaseOf(f.sql, kStatuses);
    case Kind::kEventType: return CaseOf(f.sql, kEventTypes);
    case Kind::kEventStatus: return CaseOf(f.sql, kEventStatuses);
    case Kind::kVersion: return "(t.vmaj || '.' || t.vmin || '.' || t.vpatch)";
    case Kind::kJson: {
      std::string jt = JsonType(f);
      return "CASE " + jt + " WHEN 'text' THEN " + JsonValue(f) + " WHEN 'integer' THEN CAST(" + JsonValue(f) +
             " AS TEXT) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'object' THEN '<json>' WHEN "
             "'array' THEN '<json>' WHEN 'real' THEN CASE WHEN " + JsonValue(f) + " = CAST(" + JsonValue(f) +
             " AS INTEGER) AND abs(" + JsonValue(f) + ") < 9e15 THEN CAST(CAST(" + JsonValue(f) +
             " AS INTEGER) AS TEXT) ELSE printf('%g', " + JsonValue(f) + ") END ELSE '(none)' END";
    }
    default: return "COALESCE(CAST(" + f.sql + " AS TEXT), '(none)')";
  }
}

std::string AggValueSql(const FieldDef& f) {
  if (f.kind == Kind::kJson) {
    return "CASE WHEN " + JsonType(f) + " IN ('integer', 'real') THEN " + JsonValue(f) + " END";
  }
  return f.sql;
}

// FROM ... WHERE ... of the aggregate rows.
std::string RowsSql(const Query& q) {
  bool events = EventLevel(q);
  std::string out = events ? " FROM tr t JOIN ev e ON e.trace = t.n WHERE " : " FROM tr t WHERE ";
  out += q.filter ? NodeSql(*q.filter, false) : "1";
  if (events && q.filter) {
    std::vector<const Node*> conj;
    Flatten(*q.filter, &conj);
    for (const Node* c : conj) {
      if (c->kind == Node::Kind::kPred && c->pred.field->event) out += " AND " + PredSql(c->pred);
      if (c->kind == Node::Kind::kEvent && !c->kids.empty()) out += " AND " + NodeSql(c->kids[0], true);
    }
  }
  return out;
}

std::string KeyList(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? ", k" : "k") + std::to_string(i);
  return out;
}

}  // namespace

const NamedCode kStatuses[] = {{0, "pending"}, {1, "running"}, {2, "completed"}, {3, "failed"}, {4, "cancelled"}};
const NamedCode kEventStatuses[] = {{1, "ok"}, {2, "error"}, {3, "cancelled"}, {4, "truncated"}};
const NamedCode kEventTypes[] = {
    {1, "actor_created"}, {2, "actor_started"},   {3, "actor_completed"},   {4, "actor_failed"},
    {5, "message_sent"},  {6, "message_received"}, {7, "state_changed"},    {8, "port_connected"},
    {9, "port_disconnected"}, {10, "data_flow"},   {11, "network_event"},   {32, "op_start"},
    {33, "op_end"},       {34, "op_yield"},        {35, "annotation"},      {36, "group_start"},
    {37, "group_end"},    {38, "llm_usage"},       {39, "media_ref"},       {47, "operonx_other"},  {64, "span"},
};

std::string SqlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

const std::vector<FieldDef>& Fields() {
  static const std::vector<FieldDef> kFields = MakeFields();
  return kFields;
}

const FieldDef* FieldNamed(const std::string& name) {
  for (const auto& f : Fields()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string Text(const Query& q) {
  TextWriter w(q.upper_keywords);
  std::string out = q.filter ? w.NodeText(*q.filter) : "";
  if (!q.aggs.empty()) {
    out += out.empty() ? "| " : " | ";
    for (size_t i = 0; i < q.aggs.size(); ++i) {
      std::string label = AggLabel(q.aggs[i]);
      out += (i ? ", " : "") + (q.upper_keywords ? Upper(label.substr(0, label.find('('))) +
                                                       label.substr(label.find('('))
                                                 : label);
    }
    if (!q.by.empty()) {
      out += " " + w.Kw("by") + " (";
      for (size_t i = 0; i < q.by.size(); ++i) out += (i ? ", " : "") + q.by[i]->spellings[0];
      out += ")";
    }
  }
  if (q.limit) out += (out.empty() ? "" : " ") + w.Kw("limit") + " " + std::to_string(*q.limit);
  if ((q.knob >> 40) % 16 == 0) out += "  # a comment runs to the end of the line";
  return out;
}

bool EventLevel(const Query& q) {
  for (const auto& a : q.aggs) {
    if (a.field && a.field->event) return true;
  }
  for (const auto* f : q.by) {
    if (f->event) return true;
  }
  return false;
}

std::string SearchSql(const Query& q, const std::string& tail, const std::string& limit_sql) {
  std::string where = q.filter ? NodeSql(*q.filter, false) : "1";
  if (!tail.empty()) where += " AND " + tail;
  return "SELECT t.n FROM tr t WHERE " + where + " ORDER BY t.start_ns DESC, t.tid ASC" +
         (limit_sql.empty() ? "" : " " + limit_sql);
}

size_t Percent(AggFn fn) {
  switch (fn) {
    case AggFn::kP50: return 50;
    case AggFn::kP90: return 90;
    case AggFn::kP95: return 95;
    case AggFn::kP99: return 99;
    default: return 0;
  }
}

std::string AggLabel(const Agg& a) {
  static const char* const kNames[] = {"count", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99"};
  std::string name = kNames[static_cast<size_t>(a.fn)];
  return name + "(" + (a.field ? a.field->name : "") + ")";
}

std::string AggregateSql(const Query& q) {
  std::string sel = "SELECT ";
  for (size_t i = 0; i < q.by.size(); ++i) sel += GroupKeySql(*q.by[i]) + " AS k" + std::to_string(i) + ", ";
  for (size_t i = 0; i < q.aggs.size(); ++i) {
    const Agg& a = q.aggs[i];
    std::string v = a.field ? AggValueSql(*a.field) : "";
    std::string col;
    switch (a.fn) {
      case AggFn::kCount: col = "COUNT(*)"; break;
      case AggFn::kSum: col = "CASE WHEN COUNT(" + v + ") > 0 THEN TOTAL(" + v + ") END"; break;
      case AggFn::kAvg: col = "CASE WHEN COUNT(" + v + ") > 0 THEN TOTAL(" + v + ") / COUNT(" + v + ") END"; break;
      case AggFn::kMin: col = "MIN(" + v + ")"; break;
      case AggFn::kMax: col = "MAX(" + v + ")"; break;
      default: col = "MIN(NULL)";  // PercentileSql; an aggregate keeps one row without `by`
    }
    sel += (i ? ", " : "") + col;
  }
  std::string out = sel + RowsSql(q);
  if (!q.by.empty()) out += " GROUP BY " + KeyList(q.by.size()) + " ORDER BY " + KeyList(q.by.size());
  if (q.limit) out += " LIMIT " + std::to_string(*q.limit);
  return out;
}

std::string PercentileSql(const Query& q, size_t i) {
  const Agg& a = q.aggs[i];
  std::string keys = KeyList(q.by.size());
  std::string inner = "SELECT ";
  for (size_t k = 0; k < q.by.size(); ++k) inner += GroupKeySql(*q.by[k]) + " AS k" + std::to_string(k) + ", ";
  inner += AggValueSql(*a.field) + " AS v" + RowsSql(q);
  std::string part = q.by.empty() ? "" : "PARTITION BY " + keys + " ";
  std::string p = std::to_string(Percent(a.fn));
  return "SELECT " + (keys.empty() ? "" : keys + ", ") + "v FROM (SELECT " + (keys.empty() ? "" : keys + ", ") +
         "v, ROW_NUMBER() OVER (" + part + "ORDER BY v) AS rn, COUNT(*) OVER (" + part + ") AS cnt FROM (" + inner +
         ") WHERE v IS NOT NULL) WHERE rn = (" + p + " * cnt + 99) / 100";
}

Result<Pools> LoadPools(SqlDb* db) {
  Pools pools;
  for (const auto& f : Fields()) {
    std::string from = f.event ? " FROM ev e" : " FROM tr t";
    std::string sql;
    switch (f.kind) {
      case Kind::kStatus:
      case Kind::kEventType:
      case Kind::kEventStatus: continue;
      case Kind::kVersion: sql = "SELECT DISTINCT t.vmaj, t.vmin, t.vpatch" + from + " ORDER BY 1, 2, 3"; break;
      case Kind::kJson:
        sql = "SELECT DISTINCT " + JsonType(f) + ", " + JsonValue(f) + from + " WHERE " + JsonType(f) +
              " IN ('text', 'integer', 'real', 'true', 'false') ORDER BY 1, 2";
        break;
      default: sql = "SELECT DISTINCT " + f.sql + from + " WHERE " + f.sql + " IS NOT NULL ORDER BY 1";
    }
    TRACEDB_ASSIGN_OR_RETURN(pools.values[f.name], db->Query(sql));
  }
  return pools;
}

// ---- shrinking ----

namespace {

void NodeShrinks(const Node& n, std::vector<Node>* out) {
  switch (n.kind) {
    case Node::Kind::kPred:
      if ((n.pred.op == Op::kIn || n.pred.op == Op::kNotIn) && n.pred.values.size() > 1) {
        for (size_t i = 0; i < n.pred.values.size(); ++i) {
          Node c = n;
          c.pred.values.erase(c.pred.values.begin() + static_cast<std::ptrdiff_t>(i));
          out->push_back(std::move(c));
        }
      }
      return;
    case Node::Kind::kEvent:
      if (n.kids.empty()) return;
      out->push_back(n.kids[0]);  // the block's body as bare predicates
      break;
    case Node::Kind::kNot: out->push_back(n.kids[0]); break;
    case Node::Kind::kAnd:
    case Node::Kind::kOr:
      for (const auto& k : n.kids) out->push_back(k);
      if (n.kids.size() > 1) {
        for (size_t i = 0; i < n.kids.size(); ++i) {
          Node c = n;
          c.kids.erase(c.kids.begin() + static_cast<std::ptrdiff_t>(i));
          out->push_back(std::move(c));
        }
      }
      break;
  }
  for (size_t i = 0; i < n.kids.size(); ++i) {
    std::vector<Node> smaller;
    NodeShrinks(n.kids[i], &smaller);
    for (auto& s : smaller) {
      Node c = n;
      c.kids[i] = std::move(s);
      out->push_back(std::move(c));
    }
  }
}

}  // namespace

std::vector<Query> Shrinks(const Query& q) {
  std::vector<Query> out;
  if (q.filter) {
    Query c = q;
    c.filter.reset();
    out.push_back(std::move(c));
    std::vector<Node> smaller;
    NodeShrinks(*q.filter, &smaller);
    for (auto& s : smaller) {
      Query d = q;
      d.filter = std::move(s);
      out.push_back(std::move(d));
    }
  }
  if (q.limit) {
    Query c = q;
    c.limit.reset();
    out.push_back(std::move(c));
  }
  for (size_t i = 0; q.aggs.size() > 1 && i < q.aggs.size(); ++i) {
    Query c = q;
    c.aggs.erase(c.aggs.begin() + static_cast<std::ptrdiff_t>(i));
    out.push_back(std::move(c));
  }
  for (size_t i = 0; i < q.by.size(); ++i) {
    Query c = q;
    c.by.erase(c.by.begin() + static_cast<std::ptrdiff_t>(i));
    out.push_back(std::move(c));
  }
  if (q.upper_keywords) {
    Query c = q;
    c.upper_keywords = false;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace tracedb::query::oracle
