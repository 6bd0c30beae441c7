#include "query/lineage.h"

#include <simdjson.h>

#include <map>
#include <queue>
#include <set>
#include <tuple>

#include "query/bound.h"
#include "query/encoding.h"
#include "query/query.h"
#include "schema/json_writer.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::query {

namespace {

// The raw id of an event's causal parent inside its trace, if any.
std::optional<std::string> ParentKey(const schema::Event& e) {
  if (e.reflow && e.reflow->causality.parent_event_id) {
    const auto& p = *e.reflow->causality.parent_event_id;
    return std::string(p.begin(), p.end());
  }
  if (e.otel && e.otel->parent_span_id) {
    const auto& p = *e.otel->parent_span_id;
    return std::string(p.begin(), p.end());
  }
  return std::nullopt;
}

int64_t EndNs(const schema::Event& e) { return e.otel ? e.otel->end_ns : e.timestamp_ns; }

std::string RawIdString(const schema::Trace& t, std::string_view raw) {
  if (t.source == schema::Source::kOperonx) return std::string(raw);
  if (raw.size() == 16) {
    schema::Id128 id;
    std::copy(raw.begin(), raw.end(), id.begin());
    return schema::FormatUuid(id);
  }
  return Hex(raw);
}

void WriteEvent(const schema::Trace& t, const schema::Event& e, schema::JsonWriter* w) {
  w->PlainKey("trace_id");
  w->String(TraceIdText(t));
  w->PlainKey("event_id");
  w->String(EventIdString(t, e));
  w->PlainKey("timestamp");
  w->String(schema::FormatRfc3339(e.timestamp_ns));
  w->PlainKey("timestamp_ns");
  w->Int(e.timestamp_ns);
  w->PlainKey("actor");
  w->String(e.actor);
  w->PlainKey("type");
  w->String(EventTypeName(e.type));
  const schema::ReflowEventData* r = e.reflow ? &*e.reflow : nullptr;
  w->PlainKey("port");
  if (r && r->port) w->String(*r->port);
  else w->Null();
  w->PlainKey("to_actor");
  w->String(e.to_actor);
  w->PlainKey("to_port");
  w->String(e.to_port);
  w->PlainKey("message_type");
  if (r && r->message) w->String(r->message->message_type);
  else w->Null();
  w->PlainKey("parent_event_id");
  if (auto p = ParentKey(e)) w->String(RawIdString(t, *p));
  else w->Null();
}

std::optional<std::string> MessageId(const schema::Event& e) {
  if (!e.reflow || e.reflow->custom_attributes_json.find("message_id") == std::string::npos) return std::nullopt;
  thread_local simdjson::dom::parser parser;
  const std::string& json = e.reflow->custom_attributes_json;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::element v;
  if (root["message_id"].get(v) != simdjson::SUCCESS) return std::nullopt;
  std::string_view s;
  if (v.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  if (v.is_int64()) return std::to_string(int64_t(v));
  return std::nullopt;
}

std::string Literal(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

struct Hop {
  size_t trace;
  size_t event;
  bool matched;
};

}  // namespace

std::string EventIdString(const schema::Trace& trace, const schema::Event& event) {
  return RawIdString(trace, event.event_id);
}

Result<std::string> LineageJson(engine::Engine* engine, std::string_view message_id, const LineageOptions& options) {
  std::string filter = "attr.message_id = " + Literal(message_id);
  if (options.start_ns) filter += " and start >= " + std::to_string(*options.start_ns);
  if (options.end_ns) filter += " and start <= " + std::to_string(*options.end_ns);
  QueryOptions q;
  q.limit = options.max_traces;
  TRACEDB_ASSIGN_OR_RETURN(QueryResult found, RunQuery(engine, filter, q));
  std::vector<schema::Trace> traces;
  for (const auto& h : found.traces) {
    TRACEDB_ASSIGN_OR_RETURN(std::optional<schema::Trace> t, engine->GetTrace(h.trace_id));
    if (t) traces.push_back(std::move(*t));
  }
  // The hops: matched events and their ancestors; edges parent -> child.
  std::map<std::pair<size_t, size_t>, size_t> hop_of;
  std::vector<Hop> hops;
  std::vector<std::optional<size_t>> parent_hop;
  auto hop_for = [&](size_t ti, size_t ev, bool matched) -> std::pair<size_t, bool> {
    auto [it, added] = hop_of.emplace(std::make_pair(ti, ev), hops.size());
    if (added) {
      hops.push_back({ti, ev, matched});
      parent_hop.emplace_back();
    } else {
      hops[it->second].matched |= matched;
    }
    return {it->second, added};
  };
  for (size_t ti = 0; ti < traces.size(); ++ti) {
    const auto& events = traces[ti].events;
    std::map<std::string, size_t> by_id;
    for (size_t i = 0; i < events.size(); ++i) by_id.emplace(events[i].event_id, i);
    for (size_t i = 0; i < events.size(); ++i) {
      if (MessageId(events[i]) != message_id) continue;
      auto [h, added] = hop_for(ti, i, true);
      // Walk up the parents; a hop seen before had its ancestors walked, and
      // that also ends a cycle.
      for (size_t cur = i; added;) {
        auto p = ParentKey(events[cur]);
        auto it = p ? by_id.find(*p) : by_id.end();
        if (it == by_id.end()) break;
        auto [ph, padded] = hop_for(ti, it->second, false);
        parent_hop[h] = ph;
        h = ph;
        added = padded;
        cur = it->second;
      }
    }
  }
  // Causal then time order: Kahn's algorithm, earliest ready hop first.
  std::vector<std::vector<size_t>> children(hops.size());
  std::vector<size_t> pending(hops.size(), 0);
  for (size_t h = 0; h < hops.size(); ++h) {
    if (parent_hop[h] && *parent_hop[h] < hops.size() && *parent_hop[h] != h) {
      children[*parent_hop[h]].push_back(h);
      pending[h]++;
    }
  }
  auto key = [&](size_t h) {
    const auto& e = traces[hops[h].trace].events[hops[h].event];
    return std::make_tuple(e.timestamp_ns, hops[h].trace, hops[h].event, h);
  };
  using Key = decltype(key(0));
  std::priority_queue<Key, std::vector<Key>, std::greater<Key>> ready;
  for (size_t h = 0; h < hops.size(); ++h) {
    if (pending[h] == 0) ready.push(key(h));
  }
  std::vector<size_t> order;
  while (!ready.empty()) {
    size_t h = std::get<3>(ready.top());
    ready.pop();
    order.push_back(h);
    for (size_t c : children[h]) {
      if (--pending[c] == 0) ready.push(key(c));
    }
  }
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("message_id");
  w.String(message_id);
  w.PlainKey("traces");
  w.Uint(traces.size());
  w.PlainKey("hops");
  w.BeginArray();
  std::optional<int64_t> previous;
  for (size_t h : order) {
    const schema::Trace& t = traces[hops[h].trace];
    const schema::Event& e = t.events[hops[h].event];
    w.BeginObject();
    WriteEvent(t, e, &w);
    w.PlainKey("matched");
    w.Bool(hops[h].matched);
    w.PlainKey("latency_ns");
    std::optional<int64_t> from = previous;
    if (parent_hop[h]) from = traces[hops[*parent_hop[h]].trace].events[hops[*parent_hop[h]].event].timestamp_ns;
    if (from) w.Int(e.timestamp_ns - *from);
    else w.Null();
    w.EndObject();
    previous = e.timestamp_ns;
  }
  w.EndArray();
  w.EndObject();
  return out;
}

Result<std::string> CausalityJson(const schema::Trace& t, std::string_view event_id) {
  std::map<std::string, size_t> by_id;
  std::optional<size_t> start;
  for (size_t i = 0; i < t.events.size(); ++i) {
    by_id.emplace(t.events[i].event_id, i);
    if (EventIdString(t, t.events[i]) == event_id) start = i;
  }
  if (!start) return Status::NotFound("no event " + std::string(event_id) + " in trace " + TraceIdText(t));
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("trace_id");
  w.String(TraceIdText(t));
  w.PlainKey("event_id");
  w.String(event_id);
  const schema::Event& first = t.events[*start];
  w.PlainKey("root_cause_event_id");
  if (first.reflow) {
    const auto& rc = first.reflow->causality.root_cause_event_id;
    w.String(RawIdString(t, std::string_view(reinterpret_cast<const char*>(rc.data()), rc.size())));
  } else {
    w.Null();
  }
  w.PlainKey("chain");
  w.BeginArray();
  std::set<size_t> seen;
  for (std::optional<size_t> cur = start; cur && seen.insert(*cur).second;) {
    const schema::Event& e = t.events[*cur];
    w.BeginObject();
    WriteEvent(t, e, &w);
    w.EndObject();
    auto p = ParentKey(e);
    auto it = p ? by_id.find(*p) : by_id.end();
    cur = it == by_id.end() ? std::nullopt : std::optional<size_t>(it->second);
  }
  w.EndArray();
  w.EndObject();
  return out;
}

std::string CriticalPathJson(const schema::Trace& t) {
  std::map<std::string, size_t> by_id;
  for (size_t i = 0; i < t.events.size(); ++i) by_id.emplace(t.events[i].event_id, i);
  std::vector<std::optional<size_t>> parent(t.events.size());
  for (size_t i = 0; i < t.events.size(); ++i) {
    auto p = ParentKey(t.events[i]);
    auto it = p ? by_id.find(*p) : by_id.end();
    if (it != by_id.end() && it->second != i) parent[i] = it->second;
  }
  // The chain ending at each event is its parent chain; keep the longest by
  // time (then by hops), among chains of two events or more.
  std::vector<size_t> best;
  int64_t best_ns = -1;
  for (size_t i = 0; i < t.events.size(); ++i) {
    if (!parent[i]) continue;
    std::vector<size_t> chain{i};
    std::set<size_t> seen{i};
    for (auto cur = parent[i]; cur && seen.insert(*cur).second; cur = parent[*cur]) chain.push_back(*cur);
    int64_t ns = EndNs(t.events[i]) - t.events[chain.back()].timestamp_ns;
    if (ns > best_ns || (ns == best_ns && chain.size() > best.size())) {
      best_ns = ns;
      best.assign(chain.rbegin(), chain.rend());
    }
  }
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("trace_id");
  w.String(TraceIdText(t));
  w.PlainKey("duration_ns");
  if (best.empty()) w.Null();
  else w.Int(best_ns);
  w.PlainKey("events");
  w.BeginArray();
  for (size_t i : best) {
    w.BeginObject();
    WriteEvent(t, t.events[i], &w);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

}  // namespace tracedb::query
