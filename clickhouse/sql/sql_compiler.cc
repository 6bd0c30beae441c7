#include "clickhouse/sql/sql_compiler.h"

#include <fmt/format.h>

#include "clickhouse/ch_engine.h"
#include "clickhouse/row_binary.h"

namespace tracedb::clickhouse::sql {

namespace {

using query::FieldId;
using query::Node;
using query::Op;
using query::Predicate;
using query::Value;

std::string Key(engine::IndexKind kind, std::string_view value) {
  std::string k(1, static_cast<char>(kind));
  k.append(value);
  return k;
}

const char* CompareOp(Op op) {
  switch (op) {
    case Op::kEq: return "=";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    default: return nullptr;
  }
}

Compiled Negate(Compiled c, bool negated) {
  if (!negated) return c;
  if (!c.exact || c.where.empty()) return Compiled{};  // no superset of the negation is known
  c.where = "NOT (" + c.where + ")";
  c.hint_keys.clear();
  return c;
}

// has(k, key1) OR has(k, key2) ...; the keys are also hints.
Compiled AnyKey(const std::vector<std::string>& keys, bool exact) {
  Compiled c;
  for (const auto& k : keys) {
    c.where += (c.where.empty() ? "" : " OR ") + fmt::format("has(k, {})", Quote(k));
    c.hint_keys.push_back(k);
  }
  c.exact = exact;
  return c;
}

class Compiler {
 public:
  Compiler(std::string db, engine::TimestampNs min_start) : db_(std::move(db)), min_start_(min_start) {}

  Compiled Trace(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kTrue: return Compiled{"", {}, true};
      case Node::Kind::kAnd: return And(n, /*event=*/false);
      case Node::Kind::kOr: return Or(n, /*event=*/false);
      case Node::Kind::kNot: return Negate(Trace(n.children[0]), true);
      case Node::Kind::kPredicate: return TracePredicate(n.pred);
      case Node::Kind::kAnyEvent: {
        Compiled e = n.children.empty() ? Compiled{"", {}, true} : Event(n.children[0]);
        Compiled out;
        out.where = fmt::format("(trace_id, g) IN (SELECT trace_id, gen FROM {}.events WHERE trace_start_ns >= {}{})",
                                db_, min_start_, e.where.empty() ? "" : " AND (" + e.where + ")");
        out.hint_keys = std::move(e.hint_keys);  // actor keys: an actor's traces hold its key
        out.exact = false;
        return out;
      }
    }
    return Compiled{};
  }

 private:
  Compiled And(const Node& n, bool event) {
    Compiled out{"", {}, true};
    for (const auto& child : n.children) {
      Compiled c = event ? Event(child) : Trace(child);
      out.exact = out.exact && c.exact;
      if (c.where.empty()) continue;
      out.where += (out.where.empty() ? "(" : " AND (") + c.where + ")";
      if (out.hint_keys.empty()) out.hint_keys = std::move(c.hint_keys);
    }
    return out;
  }

  Compiled Or(const Node& n, bool event) {
    Compiled out{"", {}, true};
    bool hintless = false;
    for (const auto& child : n.children) {
      Compiled c = event ? Event(child) : Trace(child);
      if (c.where.empty()) return Compiled{"", {}, c.exact};  // a branch with no restriction
      out.exact = out.exact && c.exact;
      out.where += (out.where.empty() ? "(" : " OR (") + c.where + ")";
      // Hints only when every branch has some: a match holds one of them.
      if (c.hint_keys.empty()) hintless = true;
      out.hint_keys.insert(out.hint_keys.end(), c.hint_keys.begin(), c.hint_keys.end());
    }
    if (hintless) out.hint_keys.clear();
    return out;
  }

  Compiled TracePredicate(const Predicate& p) {
    const auto& f = p.field;
    switch (f.id) {
      case FieldId::kStatus: {
        if (p.op != Op::kEq && p.op != Op::kIn) return Compiled{};
        std::vector<std::string> keys;
        for (const auto& v : p.values) keys.push_back(Key(engine::IndexKind::kStatus, std::string(1, static_cast<char>(v.i))));
        return Negate(AnyKey(keys, true), p.negated);
      }
      case FieldId::kFlow: {
        if (p.negated || (p.op != Op::kEq && p.op != Op::kIn)) return Compiled{};
        std::vector<std::string> keys;
        for (const auto& v : p.values) keys.push_back(Key(engine::IndexKind::kFlow, v.s));
        return AnyKey(keys, false);  // the flow keys also hold an OTel trace's other services
      }
      case FieldId::kExecutionId: {
        if (p.op != Op::kEq && p.op != Op::kIn) return Compiled{};
        std::vector<std::string> keys;
        for (const auto& v : p.values) {
          if (std::all_of(v.id.begin(), v.id.end(), [](uint8_t b) { return b == 0; })) return Compiled{};
          keys.push_back(Key(engine::IndexKind::kExecution,
                             std::string_view(reinterpret_cast<const char*>(v.id.data()), v.id.size())));
        }
        return Negate(AnyKey(keys, true), p.negated);
      }
      case FieldId::kStart: {
        const char* op = CompareOp(p.op);
        if (op == nullptr || p.values.size() != 1) return Compiled{};
        return Negate(Compiled{fmt::format("s {} {}", op, p.values[0].i), {}, true}, p.negated);
      }
      case FieldId::kTraceId: {
        if (p.op != Op::kEq && p.op != Op::kIn) return Compiled{};
        std::string list;
        for (const auto& v : p.values) {
          if (v.kind != Value::Kind::kId) return Compiled{};
          list += (list.empty() ? "" : ", ") + IdLiteral(v.id);
        }
        return Negate(Compiled{"trace_id IN (" + list + ")", {}, true}, p.negated);
      }
      default: return Compiled{};
    }
  }

  Compiled Event(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kTrue: return Compiled{"", {}, true};
      case Node::Kind::kAnd: return And(n, /*event=*/true);
      case Node::Kind::kOr: return Or(n, /*event=*/true);
      case Node::Kind::kNot: return Negate(Event(n.children[0]), true);
      case Node::Kind::kPredicate: return EventPredicate(n.pred);
      case Node::Kind::kAnyEvent: return Compiled{};
    }
    return Compiled{};
  }

  Compiled EventPredicate(const Predicate& p) {
    const auto& f = p.field;
    if (f.scope != query::Scope::kEvent) return Compiled{};
    switch (f.id) {
      case FieldId::kType: {
        if (p.op != Op::kEq && p.op != Op::kIn) return Compiled{};
        std::string list;
        for (const auto& v : p.values) list += (list.empty() ? "" : ", ") + std::to_string(v.i);
        return Negate(Compiled{"type IN (" + list + ")", {}, true}, p.negated);
      }
      case FieldId::kActor: {
        if (p.negated) return Compiled{};
        if (p.op == Op::kEq || p.op == Op::kIn) {
          std::string list;
          std::vector<std::string> keys;
          for (const auto& v : p.values) {
            if (v.kind != Value::Kind::kString || v.s.empty()) return Compiled{};
            list += (list.empty() ? "" : ", ") + Quote(v.s);
            keys.push_back(Key(engine::IndexKind::kActor, v.s));
          }
          return Compiled{"actor IN (" + list + ")", keys, false};
        }
        if (p.op == Op::kContains && p.values.size() == 1) {
          return Compiled{fmt::format("position(actor, {}) > 0", Quote(p.values[0].s)), {}, false};
        }
        if (p.op == Op::kPrefix && p.values.size() == 1) {
          return Compiled{fmt::format("substring(actor, 1, {}) = {}", p.values[0].s.size(), Quote(p.values[0].s)), {},
                          false};
        }
        return Compiled{};
      }
      case FieldId::kTimestamp: {
        const char* op = CompareOp(p.op);
        if (op == nullptr || p.values.size() != 1) return Compiled{};
        return Negate(Compiled{fmt::format("ts_ns {} {}", op, p.values[0].i), {}, true}, p.negated);
      }
      case FieldId::kExecutionTimeNs:
      case FieldId::kSizeBytes: {
        const char* op = CompareOp(p.op);
        if (p.negated || op == nullptr || p.values.size() != 1 || p.values[0].kind != Value::Kind::kInt ||
            p.values[0].i < 0) {
          return Compiled{};
        }
        const char* col = f.id == FieldId::kSizeBytes ? "size_bytes" : "duration_ns";
        return Compiled{fmt::format("{0} != 18446744073709551615 AND {0} {1} {2}", col, op, p.values[0].i), {}, false};
      }
      default: return Compiled{};
    }
  }

  std::string db_;
  engine::TimestampNs min_start_;
};

class ClickHouseQueryBackend final : public query::QueryBackend {
 public:
  explicit ClickHouseQueryBackend(std::string database) : db_(std::move(database)) {}

  Status Refine(engine::Engine* engine, const query::BoundQuery& query, query::Plan* plan) override {
    if (plan->access == query::Plan::Access::kEmpty || plan->access == query::Plan::Access::kTraceIds) {
      return Status::OK();
    }
    if (plan->access == query::Plan::Access::kColumnScan) {
      // Event aggregates over a window: tracedb's aggregator over the event
      // columns of the window's traces, read by one statement per shard and page.
      plan->backend_text = "  access: clickhouse column scan of the window, on every shard (pages of 200000 rows):\n    " +
                           ColumnScanSql(db_, std::max(plan->min_start, engine->retention_cutoff()), plan->max_start,
                                         std::nullopt, 200000) +
                           "\n";
      return Status::OK();
    }
    Compiled c = Compile(query.filter, db_, plan->min_start);
    SqlScan scan;
    scan.hint_keys = c.hint_keys;
    scan.where = c.where;
    scan.min_start = plan->min_start;
    scan.max_start = plan->max_start;
    plan->backend_access = [engine, scan]() -> Result<std::unique_ptr<engine::IndexCursor>> {
      auto cursor = ScanWhere(engine, scan);
      if (!cursor) return Status::Internal("the ClickHouse query backend is attached to another engine");
      return cursor;
    };
    plan->backend_text = "  access: clickhouse, on every shard (pages of 1024):\n    " +
                         ScanSql(db_, scan, std::nullopt, false, 1024) + "\n";
    // What SQL answers exactly is not re-checked: the top-level conjuncts
    // that compiled exactly leave the residual.
    Node residual;
    if (!c.exact) {
      if (query.filter.kind == Node::Kind::kAnd) {
        residual.kind = Node::Kind::kAnd;
        for (const auto& child : query.filter.children) {
          if (!Compile(child, db_, plan->min_start).exact) residual.children.push_back(child);
        }
        if (residual.children.size() == 1) {
          Node only = std::move(residual.children[0]);
          residual = std::move(only);
        } else if (residual.children.empty()) {
          residual = Node{};
        }
      } else {
        residual = query.filter;
      }
    }
    plan->residual = std::move(residual);
    if (plan->residual.kind != Node::Kind::kTrue) plan->residual_needs = query::NeedsOf(plan->residual);
    return Status::OK();
  }

 private:
  std::string db_;
};

}  // namespace

Compiled Compile(const Node& filter, const std::string& database, engine::TimestampNs min_start) {
  Compiler c(database, min_start == INT64_MIN ? 0 : min_start);
  return c.Trace(filter);
}

std::shared_ptr<query::QueryBackend> MakeQueryBackend(std::string database) {
  return std::make_shared<ClickHouseQueryBackend>(std::move(database));
}

}  // namespace tracedb::clickhouse::sql
