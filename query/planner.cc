#include "query/planner.h"

#include <re2/re2.h>

#include <algorithm>

#include "index/index.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::query {

namespace {

using engine::IndexKind;

void Flatten(const Node& n, std::vector<Node>* out) {
  if (n.kind == Node::Kind::kAnd) {
    for (const auto& c : n.children) Flatten(c, out);
  } else if (n.kind != Node::Kind::kTrue) {
    out->push_back(n);
  }
}

Node AndOf(std::vector<Node> nodes) {
  if (nodes.empty()) return Node();
  if (nodes.size() == 1) return std::move(nodes[0]);
  Node n;
  n.kind = Node::Kind::kAnd;
  n.children = std::move(nodes);
  return n;
}

bool Positive(const Predicate& p) { return !p.negated; }

// Narrows [min, max] by a start predicate; false when `p` is not one.
bool ApplyStart(const Predicate& p, schema::TimestampNs* min, schema::TimestampNs* max) {
  if (p.field.id != FieldId::kStart || p.negated || p.values.size() != 1 ||
      p.values[0].kind != Value::Kind::kInt) {
    return false;
  }
  int64_t v = p.values[0].i;
  switch (p.op) {
    case Op::kEq: *min = std::max(*min, v); *max = std::min(*max, v); return true;
    case Op::kLt: if (v == INT64_MIN) { *max = INT64_MIN; *min = INT64_MAX; } else { *max = std::min(*max, v - 1); } return true;
    case Op::kLe: *max = std::min(*max, v); return true;
    case Op::kGt: if (v == INT64_MAX) { *min = INT64_MAX; *max = INT64_MIN; } else { *min = std::max(*min, v + 1); } return true;
    case Op::kGe: *min = std::max(*min, v); return true;
    default: return false;
  }
}

std::string RawValue(const Value& v, ValueType type) {
  if (type == ValueType::kStatus) return std::string(1, static_cast<char>(v.i));
  if (type == ValueType::kId) return std::string(reinterpret_cast<const char*>(v.id.data()), v.id.size());
  return v.s;
}

// A matcher over index values equivalent to a string predicate.
struct ValueMatcher {
  std::string prefix;
  std::function<bool(std::string_view)> match;
  std::vector<std::string> exact_values;  // Eq / In: no listing needed
  bool listing = false;
};

bool MatcherFor(const Predicate& p, ValueMatcher* m) {
  if (!Positive(p)) return false;
  switch (p.op) {
    case Op::kEq:
    case Op::kIn:
      for (const auto& v : p.values) m->exact_values.push_back(RawValue(v, p.field.type));
      return true;
    case Op::kGlob: {
      std::string pat = p.values[0].s;
      m->listing = true;
      m->prefix = index::GlobLiteralPrefix(pat);
      m->match = [pat](std::string_view v) { return index::GlobMatch(pat, v); };
      return true;
    }
    case Op::kRegex: {
      auto re = p.regex;
      if (!re) return false;
      m->listing = true;
      m->match = [re](std::string_view v) { return RE2::FullMatch(v, *re); };
      return true;
    }
    case Op::kContains: {
      std::string s = p.values[0].s;
      m->listing = true;
      m->match = [s](std::string_view v) { return v.find(s) != std::string_view::npos; };
      return true;
    }
    case Op::kPrefix: {
      // The listing is narrowed to the prefix, but the matcher is still
      // needed: AdaptToActorIndex wraps it and may widen the listing.
      std::string s = p.values[0].s;
      m->listing = true;
      m->prefix = s;
      m->match = [s](std::string_view v) { return v.starts_with(s); };
      return true;
    }
    default:
      return false;
  }
}

// The actor index holds full names (Reflow actor_id, operonx op_name) as
// they are and operonx short names behind engine::kShortNameMarker. An actor
// predicate looks at full names only; an op_name predicate (operonx: full or
// short name) looks at both, with the marker stripped before matching.
void AdaptToActorIndex(const Predicate& p, ValueMatcher* m) {
  const std::string marker(1, engine::kShortNameMarker);
  if (p.field.id == FieldId::kOpName) {
    size_t n = m->exact_values.size();
    for (size_t i = 0; i < n; ++i) m->exact_values.push_back(marker + m->exact_values[i]);
    if (m->listing) {
      auto match = m->match;
      m->match = [match](std::string_view v) {
        if (!v.empty() && v[0] == engine::kShortNameMarker) v.remove_prefix(1);
        return match(v);
      };
      // The marked names do not share the prefix: list everything.
      m->prefix.clear();
    }
  } else if (m->listing) {
    auto match = m->match;
    m->match = [match](std::string_view v) { return (v.empty() || v[0] != engine::kShortNameMarker) && match(v); };
  }
}

Result<std::optional<IndexAccess>> AccessFor(engine::Engine* engine, const Predicate& p, IndexKind kind,
                                             bool exact, const PlanOptions& options) {
  ValueMatcher m;
  if (!MatcherFor(p, &m)) return std::optional<IndexAccess>();
  if (kind == IndexKind::kActor) AdaptToActorIndex(p, &m);
  IndexAccess a;
  a.kind = kind;
  a.exact = exact;
  a.description = ToString(p);
  if (!m.listing) {
    a.values = std::move(m.exact_values);
    return std::optional(std::move(a));
  }
  auto values = index::ExpandValues(engine, kind, m.prefix, m.match, options.max_expanded_values);
  if (!values.ok()) {
    if (values.status().code() == StatusCode::kResourceExhausted) return std::optional<IndexAccess>();
    return values.status();
  }
  a.values = std::move(values).value();
  return std::optional(std::move(a));
}

// An actor-index access for a "some event" conjunct, from the first
// positive actor / op_name predicate among the conjuncts of its child. It
// answers the conjunct exactly when that conjunct is nothing but an actor
// predicate that cannot match the empty name (the index lists every
// non-empty full actor name of a trace); op_name also matches Reflow actors
// of that name in the index, so it is re-checked.
Result<std::optional<IndexAccess>> EventAccess(engine::Engine* engine, const Node& any, const PlanOptions& options) {
  std::vector<Node> inner;
  Flatten(any.children[0], &inner);
  for (const auto& n : inner) {
    if (n.kind != Node::Kind::kPredicate) continue;
    const Predicate& p = n.pred;
    if (p.field.id != FieldId::kActor && p.field.id != FieldId::kOpName) continue;
    // The empty name is never indexed: a predicate that can match it cannot
    // use the index at all.
    ValueMatcher probe;
    if (!MatcherFor(p, &probe)) continue;
    bool matches_empty = probe.listing ? probe.match("") : false;
    for (const auto& v : probe.exact_values) matches_empty = matches_empty || v.empty();
    if (matches_empty) continue;
    bool exact = inner.size() == 1 && p.field.id == FieldId::kActor;
    TRACEDB_ASSIGN_OR_RETURN(auto a, AccessFor(engine, p, IndexKind::kActor, exact, options));
    if (a) {
      a->description = "event{" + ToString(p) + "}";
      return a;
    }
  }
  return std::optional<IndexAccess>();
}

bool IdList(const Predicate& p, std::vector<schema::Id128>* ids) {
  if (p.field.id != FieldId::kTraceId || p.negated || (p.op != Op::kEq && p.op != Op::kIn)) return false;
  for (const auto& v : p.values) ids->push_back(v.id);
  return true;
}

std::string TimeText(schema::TimestampNs t) {
  if (t == INT64_MIN) return "-inf";
  if (t == INT64_MAX) return "+inf";
  return schema::FormatRfc3339(t);
}

std::string_view KindName(IndexKind k) {
  switch (k) {
    case IndexKind::kTime: return "time";
    case IndexKind::kFlow: return "flow";
    case IndexKind::kActor: return "actor";
    case IndexKind::kStatus: return "status";
    case IndexKind::kExecution: return "execution";
  }
  return "?";
}

std::string_view NeedsName(Needs n) {
  switch (n) {
    case Needs::kHeader: return "trace header";
    case Needs::kColumns: return "header + column chunks";
    case Needs::kFullTrace: return "full trace";
  }
  return "?";
}

bool IsEventService(const Field& f) { return f.id == FieldId::kService && f.scope == Scope::kEvent; }

bool ReadsEventService(const Node& n) {
  if (n.kind == Node::Kind::kPredicate) return IsEventService(n.pred.field);
  return std::any_of(n.children.begin(), n.children.end(), ReadsEventService);
}

bool HotEventOnly(const Node& n) {
  if (n.kind == Node::Kind::kPredicate) return n.pred.field.scope == Scope::kEvent && n.pred.field.hot;
  if (n.kind == Node::Kind::kAnyEvent) return false;
  for (const auto& c : n.children) {
    if (!HotEventOnly(c)) return false;
  }
  return true;
}

}  // namespace

Result<Plan> MakePlan(engine::Engine* engine, const BoundQuery& query, const PlanOptions& options) {
  Plan plan;
  std::vector<Node> conjuncts;
  Flatten(query.filter, &conjuncts);
  std::vector<bool> covered(conjuncts.size(), false);
  std::vector<bool> start_conjunct(conjuncts.size(), false);

  std::vector<IndexAccess> candidates;
  bool have_ids = false;
  for (size_t i = 0; i < conjuncts.size(); ++i) {
    const Node& c = conjuncts[i];
    std::optional<IndexAccess> access;
    if (c.kind == Node::Kind::kPredicate) {
      const Predicate& p = c.pred;
      if (ApplyStart(p, &plan.min_start, &plan.max_start)) {
        start_conjunct[i] = true;
        continue;
      }
      if (!have_ids && IdList(p, &plan.trace_ids)) {
        have_ids = true;
        covered[i] = true;
        continue;
      }
      if (p.field.id == FieldId::kFlow || p.field.id == FieldId::kService) {
        // The flow index lists every service of a trace (OTel: each span's
        // service.name; other sources: the flow), which is what a trace's
        // `service` predicate tests (TracePredicate).
        TRACEDB_ASSIGN_OR_RETURN(access, AccessFor(engine, p, IndexKind::kFlow, true, options));
      } else if (p.field.id == FieldId::kStatus) {
        TRACEDB_ASSIGN_OR_RETURN(access, AccessFor(engine, p, IndexKind::kStatus, true, options));
      } else if (p.field.id == FieldId::kExecutionId && (p.op == Op::kEq || p.op == Op::kIn)) {
        // The execution index holds raw id bytes: patterns over the UUID
        // text (like, =~, contains, prefix) are checked per trace instead.
        TRACEDB_ASSIGN_OR_RETURN(access, AccessFor(engine, p, IndexKind::kExecution, true, options));
      }
    } else if (c.kind == Node::Kind::kAnyEvent) {
      TRACEDB_ASSIGN_OR_RETURN(access, EventAccess(engine, c, options));
    }
    if (access) {
      access->conjunct = i;
      candidates.push_back(std::move(*access));
    }
  }

  if (plan.min_start > plan.max_start) {
    plan.access = Plan::Access::kEmpty;
  } else if (have_ids) {
    plan.access = Plan::Access::kTraceIds;
    // Point reads ignore the window: keep the start conjuncts as residual.
    for (size_t i = 0; i < conjuncts.size(); ++i) {
      if (start_conjunct[i]) start_conjunct[i] = false;
    }
    plan.unused = std::move(candidates);
  } else {
    for (auto& a : candidates) {
      if (!options.probe_indexes) {
        a.estimate = kProbeCap;  // unknown
        continue;
      }
      auto cursor = index::ScanValues(engine, a.kind, a.values, plan.min_start, plan.max_start);
      a.estimate = index::CountUpTo(cursor.get(), kProbeCap);
      TRACEDB_RETURN_IF_ERROR(cursor->status());
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const IndexAccess& a, const IndexAccess& b) { return a.estimate < b.estimate; });
    // The most selective access drives; every other one is intersected
    // with it unless it is both saturated and a union of many values (a
    // seek in it costs one seek per value). A leapfrog seek costs far less
    // than the header or column read a residual check would need.
    for (size_t k = 0; k < candidates.size(); ++k) {
      if (k == 0 || candidates[k].estimate < kProbeCap || candidates[k].values.size() <= kMaxIntersectedValues) {
        if (candidates[k].exact) covered[candidates[k].conjunct] = true;
        plan.used.push_back(std::move(candidates[k]));
      } else {
        plan.unused.push_back(std::move(candidates[k]));
      }
    }
    if (plan.used.empty()) {
      if (options.probe_indexes) {
        auto cursor = index::ScanValues(engine, IndexKind::kTime, {""}, plan.min_start, plan.max_start);
        plan.time_estimate = index::CountUpTo(cursor.get(), kProbeCap);
        TRACEDB_RETURN_IF_ERROR(cursor->status());
      } else {
        plan.time_estimate = kProbeCap;
      }
      plan.access = Plan::Access::kTimeScan;
    } else {
      plan.access = plan.used.front().estimate == 0 ? Plan::Access::kEmpty : Plan::Access::kIndexes;
    }
  }

  std::vector<Node> residual;
  std::vector<Node> event_conjuncts;
  bool residual_only_events = true;
  for (size_t i = 0; i < conjuncts.size(); ++i) {
    if (conjuncts[i].kind == Node::Kind::kAnyEvent) event_conjuncts.push_back(conjuncts[i].children[0]);
    if (covered[i] || start_conjunct[i]) continue;
    if (conjuncts[i].kind != Node::Kind::kAnyEvent || !HotEventOnly(conjuncts[i].children[0])) {
      residual_only_events = false;
    }
    residual.push_back(conjuncts[i]);
  }
  plan.residual = AndOf(std::move(residual));
  plan.residual_needs = NeedsOf(plan.residual);

  if (!query.aggregates.empty()) {
    plan.aggregate = true;
    Needs needs = plan.residual_needs;
    bool trace_fields = false;
    if (query.level == AggLevel::kEvent) {
      plan.event_filter = AndOf(std::move(event_conjuncts));
      needs = std::max(needs, std::max(Needs::kColumns, NeedsOf(plan.event_filter)));
    }
    for (const auto& agg : query.aggregates) {
      if (!agg.field) continue;
      needs = std::max(needs, NeedsOf(*agg.field));
      if (agg.field->scope == Scope::kTrace) trace_fields = true;
      plan.reads_service = plan.reads_service || IsEventService(*agg.field);
    }
    for (const auto& f : query.group_by) {
      needs = std::max(needs, NeedsOf(f));
      if (f.scope == Scope::kTrace) trace_fields = true;
      plan.reads_service = plan.reads_service || IsEventService(f);
    }
    plan.reads_service = plan.reads_service || ReadsEventService(plan.event_filter);
    plan.aggregate_needs = needs;
    // Every remaining conjunct is a hot "some event" test that the per-event
    // filter implies: the column family alone answers the aggregate.
    if (query.level == AggLevel::kEvent && plan.access == Plan::Access::kTimeScan && residual_only_events &&
        needs == Needs::kColumns && !trace_fields) {
      plan.access = Plan::Access::kColumnScan;
    }
  }
  return plan;
}

Result<std::unique_ptr<engine::IndexCursor>> OpenAccess(engine::Engine* engine, const Plan& plan) {
  if (plan.backend_access && plan.access != Plan::Access::kEmpty) return plan.backend_access();
  switch (plan.access) {
    case Plan::Access::kEmpty:
    case Plan::Access::kColumnScan:
      return index::Empty();
    case Plan::Access::kTimeScan:
      return index::ScanValues(engine, IndexKind::kTime, {""}, plan.min_start, plan.max_start);
    case Plan::Access::kIndexes: {
      std::vector<std::unique_ptr<engine::IndexCursor>> cursors;
      for (const auto& a : plan.used) {
        cursors.push_back(index::ScanValues(engine, a.kind, a.values, plan.min_start, plan.max_start));
      }
      return index::Intersect(std::move(cursors));
    }
    case Plan::Access::kTraceIds: {
      std::vector<engine::IndexEntry> entries;
      engine::ReadOptions ro;
      ro.include_events = false;
      for (const auto& id : plan.trace_ids) {
        TRACEDB_ASSIGN_OR_RETURN(auto t, engine->GetTrace(id, ro));
        if (t) entries.push_back({t->start_ns, id});
      }
      return index::FromEntries(std::move(entries));
    }
  }
  return Status::Internal("unknown access");
}

std::string ExplainPlan(const Plan& plan, const BoundQuery& query) {
  std::string out = query.aggregates.empty() ? "search traces, newest first\n" : "aggregate\n";
  out += "  window: start in [" + TimeText(plan.min_start) + ", " + TimeText(plan.max_start) + "]\n";
  if (plan.backend_text.empty()) {
    switch (plan.access) {
      case Plan::Access::kEmpty:
        out += "  access: none (no trace can match)\n";
        break;
      case Plan::Access::kTimeScan:
        out += "  access: time index scan (est " + std::string(plan.time_estimate >= kProbeCap ? ">=" : "") +
               std::to_string(plan.time_estimate) + ")\n";
        break;
      case Plan::Access::kColumnScan:
        out += "  access: column scan of the window (Engine::ScanColumns)\n";
        break;
      case Plan::Access::kTraceIds:
        out += "  access: point reads of " + std::to_string(plan.trace_ids.size()) + " trace id(s)\n";
        break;
      case Plan::Access::kIndexes:
        out += plan.used.size() > 1 ? "  access: leapfrog intersection of\n" : "  access: index scan of\n";
        break;
    }
  }
  auto line = [](const IndexAccess& a) {
    return std::string(KindName(a.kind)) + " index: " + a.description + " (" + std::to_string(a.values.size()) +
           " value(s), est " + (a.estimate >= kProbeCap ? ">=" : "") + std::to_string(a.estimate) +
           (a.exact ? ", exact" : ", re-checked") + ")\n";
  };
  if (!plan.backend_text.empty()) {
    out += plan.backend_text;
  } else {
    for (const auto& a : plan.used) out += "    " + line(a);
    for (const auto& a : plan.unused) out += "  not used: " + line(a);
  }
  if (plan.residual.kind == Node::Kind::kTrue) {
    out += "  residual: none (the access answers the filter)\n";
  } else {
    out += "  residual: " + ToString(plan.residual) + "\n";
    out += "  residual reads: " + std::string(NeedsName(plan.residual_needs)) + "\n";
  }
  if (plan.aggregate) {
    out += "  aggregates:";
    for (const auto& a : query.aggregates) out += " " + a.label;
    if (!query.group_by.empty()) {
      out += " by (";
      for (size_t i = 0; i < query.group_by.size(); ++i) out += (i ? ", " : "") + query.group_by[i].name;
      out += ")";
    }
    out += query.level == AggLevel::kEvent ? " over events" : " over traces";
    out += "\n";
    if (query.level == AggLevel::kEvent && plan.event_filter.kind != Node::Kind::kTrue) {
      out += "  event filter: " + ToString(plan.event_filter) + "\n";
    }
    std::string reads = std::string(NeedsName(plan.aggregate_needs));
    if (plan.access == Plan::Access::kColumnScan) {
      reads = plan.reads_service ? "column chunks (+ the header of a trace with events that are not spans)"
                                 : "column chunks only";
    }
    out += "  aggregate reads: " + reads + "\n";
  }
  return out;
}

}  // namespace tracedb::query
