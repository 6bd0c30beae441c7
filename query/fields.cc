#include "query/fields.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "query/binder.h"
#include "query/query.h"
#include "schema/json_writer.h"

namespace tracedb::query {

namespace {

std::string_view TypeName(ValueType t) {
  switch (t) {
    case ValueType::kString: return "string";
    case ValueType::kInt: return "int";
    case ValueType::kFloat: return "float";
    case ValueType::kTime: return "time";
    case ValueType::kDuration: return "duration";
    case ValueType::kId: return "id";
    case ValueType::kStatus: return "status";
    case ValueType::kEventType: return "event_type";
    case ValueType::kEventStatus: return "event_status";
    case ValueType::kVersion: return "version";
    case ValueType::kJson: return "json";
  }
  return "string";
}

std::vector<std::string> SplitName(std::string_view name) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= name.size()) {
    size_t dot = name.find('.', i);
    if (dot == std::string_view::npos) dot = name.size();
    out.emplace_back(name.substr(i, dot - i));
    i = dot + 1;
  }
  return out;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (prefix.size() > s.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

Node StartBound(Op op, schema::TimestampNs ns) {
  Node n;
  n.kind = Node::Kind::kPredicate;
  n.pred.field = *ResolveField({"start"});
  n.pred.op = op;
  n.pred.values.push_back(Value::Int(ns));
  return n;
}

}  // namespace

std::string FieldsJson() {
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("fields");
  w.BeginArray();
  for (const FieldName& f : KnownFields()) {
    w.BeginObject();
    w.PlainKey("name");
    w.String(f.name);
    w.PlainKey("type");
    w.String(TypeName(f.type));
    w.PlainKey("scope");
    w.String(f.scope == Scope::kTrace ? "trace" : "event");
    w.PlainKey("hot");
    w.Bool(f.hot);
    w.PlainKey("needs_key");
    w.Bool(f.needs_key);
    std::vector<std::string> names = EnumValueNames(f.type);
    if (!names.empty()) {
      w.PlainKey("values");
      w.BeginArray();
      for (const auto& n : names) w.String(n);
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

Result<FieldValues> TopFieldValues(engine::Engine* engine, std::string_view field,
                                   const FieldValuesOptions& options) {
  std::optional<Field> f = ResolveField(SplitName(field));
  if (!f) {
    return Status::InvalidArgument("unknown field '" + std::string(field) +
                                   "' (GET /v1/fields lists them; tags, attr, payload and resource need a key)");
  }
  schema::TimestampNs now = options.now_ns ? *options.now_ns : 0;
  if (!options.now_ns) {
    now = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
  }
  TRACEDB_ASSIGN_OR_RETURN(BoundQuery q, ParseAndBind(options.filter, now));
  if (!q.aggregates.empty() || q.explain) {
    return Status::InvalidArgument("the filter of a value listing must be a plain filter, without '|' or explain");
  }
  std::vector<Node> conjuncts;
  if (q.filter.kind != Node::Kind::kTrue) conjuncts.push_back(std::move(q.filter));
  if (options.start_ns) conjuncts.push_back(StartBound(Op::kGe, *options.start_ns));
  if (options.end_ns) conjuncts.push_back(StartBound(Op::kLe, *options.end_ns));
  q.filter = Node{};
  if (conjuncts.size() == 1) {
    q.filter = std::move(conjuncts[0]);
  } else if (conjuncts.size() > 1) {
    q.filter.kind = Node::Kind::kAnd;
    q.filter.children = std::move(conjuncts);
  }
  Aggregate count;
  count.func = AggFunc::kCount;
  count.label = "count()";
  q.aggregates.push_back(std::move(count));
  q.group_by.push_back(*f);
  q.level = f->scope == Scope::kEvent ? AggLevel::kEvent : AggLevel::kTrace;
  q.limit.reset();
  QueryOptions qo;
  qo.now_ns = now;
  TRACEDB_ASSIGN_OR_RETURN(QueryResult r, Execute(engine, q, qo));

  FieldValues out;
  out.field = f->name;
  out.event_rows = q.level == AggLevel::kEvent;
  for (auto& row : r.rows) {
    if (row.group.empty() || row.group[0] == "(none)" || !row.values[0]) continue;
    if (!StartsWithNoCase(row.group[0], options.prefix)) continue;
    out.values.push_back(ValueCount{std::move(row.group[0]), static_cast<uint64_t>(*row.values[0])});
  }
  out.distinct = out.values.size();
  std::sort(out.values.begin(), out.values.end(), [](const ValueCount& a, const ValueCount& b) {
    return a.count != b.count ? a.count > b.count : a.value < b.value;
  });
  if (out.values.size() > options.limit) out.values.resize(options.limit);
  return out;
}

std::string FieldValuesJson(const FieldValues& values) {
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("field");
  w.String(values.field);
  w.PlainKey("rows");
  w.String(values.event_rows ? "events" : "traces");
  w.PlainKey("distinct");
  w.Uint(values.distinct);
  w.PlainKey("values");
  w.BeginArray();
  for (const auto& v : values.values) {
    w.BeginObject();
    w.PlainKey("value");
    w.String(v.value);
    w.PlainKey("count");
    w.Uint(v.count);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

}  // namespace tracedb::query
