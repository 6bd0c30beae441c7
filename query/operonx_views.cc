#include "query/operonx_views.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <set>

#include "schema/json_writer.h"
#include "schema/rfc3339.h"

namespace tracedb::query::operonx {

namespace {

using schema::JsonWriter;

// The payload fields the views read, pulled out once per event.
struct Payload {
  std::string status;
  std::optional<double> duration_ms;
  uint64_t yield_count = 0;
  int64_t idx = -1;
  std::string name;
  std::string key;
  std::string value_json = "null";
  std::string model;
  std::optional<uint64_t> prompt_tokens, completion_tokens, total_tokens, cached_tokens;
  std::optional<double> cost_usd;
  bool cost_present_but_null = false;
  std::optional<std::string> error;
  bool has_usage_outputs = false;  // op_end outputs carry LLM usage (fallback)
  std::string extra_json = "{}";   // group_start metadata beyond name
};

std::optional<uint64_t> GetUint(simdjson::dom::element e) {
  uint64_t u;
  if (e.get_uint64().get(u) == simdjson::SUCCESS) return u;
  double d;
  if (e.get_double().get(d) == simdjson::SUCCESS && d >= 0 && std::isfinite(d)) return static_cast<uint64_t>(d);
  return std::nullopt;
}

std::optional<double> GetDouble(simdjson::dom::element e) {
  double d;
  if (e.get_double().get(d) == simdjson::SUCCESS) return d;
  return std::nullopt;
}

std::string GetString(simdjson::dom::element e) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  return {};
}

void ReadOutputsUsage(simdjson::dom::element outputs, Payload* p) {
  simdjson::dom::object obj;
  if (outputs.get_object().get(obj) != simdjson::SUCCESS) return;
  for (auto f : obj) {
    if (f.key == "usage") {
      simdjson::dom::object usage;
      if (f.value.get_object().get(usage) != simdjson::SUCCESS) continue;
      p->has_usage_outputs = true;
      for (auto u : usage) {
        if (u.key == "prompt_tokens") p->prompt_tokens = GetUint(u.value);
        if (u.key == "completion_tokens") p->completion_tokens = GetUint(u.value);
        if (u.key == "cached_tokens") p->cached_tokens = GetUint(u.value);
        if (u.key == "total_tokens") p->total_tokens = GetUint(u.value);
      }
    } else if (f.key == "model_used") {
      p->has_usage_outputs = true;
      p->model = GetString(f.value);
    } else if (f.key == "cost_usd") {
      p->has_usage_outputs = true;
      p->cost_usd = GetDouble(f.value);
      if (f.value.is_null()) p->cost_present_but_null = true;
    }
  }
}

Payload ParsePayload(simdjson::dom::parser& parser, const schema::Event& e) {
  Payload p;
  if (!e.operonx) return p;
  simdjson::dom::element root;
  if (parser.parse(e.operonx->payload_json).get(root) != simdjson::SUCCESS) return p;
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) return p;
  std::string extra;
  JsonWriter extra_w(&extra);
  extra_w.BeginObject();
  for (auto f : obj) {
    std::string_view k = f.key;
    if (k == "status") p.status = GetString(f.value);
    else if (k == "duration_ms") p.duration_ms = GetDouble(f.value);
    else if (k == "yield_count") p.yield_count = GetUint(f.value).value_or(0);
    else if (k == "idx") p.idx = static_cast<int64_t>(GetUint(f.value).value_or(0));
    else if (k == "name") p.name = GetString(f.value);
    else if (k == "key") p.key = GetString(f.value);
    else if (k == "value") p.value_json = simdjson::minify(f.value);
    else if (k == "model") p.model = GetString(f.value);
    else if (k == "prompt_tokens") p.prompt_tokens = GetUint(f.value);
    else if (k == "completion_tokens") p.completion_tokens = GetUint(f.value);
    else if (k == "total_tokens") p.total_tokens = GetUint(f.value);
    else if (k == "cost_usd") {
      p.cost_usd = GetDouble(f.value);
      if (f.value.is_null()) p.cost_present_but_null = true;
    } else if (k == "error") {
      if (!f.value.is_null()) p.error = f.value.is_string() ? GetString(f.value) : simdjson::minify(f.value);
    } else if (k == "outputs" && e.type == schema::EventType::kOpEnd) {
      ReadOutputsUsage(f.value, &p);
    }
    if (e.type == schema::EventType::kGroupStart && k != "name") {
      extra_w.Key(k);
      extra_w.Raw(simdjson::minify(f.value));
    }
  }
  extra_w.EndObject();
  p.extra_json = std::move(extra);
  return p;
}

std::vector<Payload> ParseAll(const schema::Trace& trace) {
  simdjson::dom::parser parser;
  std::vector<Payload> out;
  out.reserve(trace.events.size());
  for (const auto& e : trace.events) out.push_back(ParsePayload(parser, e));
  return out;
}

const std::string& OpName(const schema::Event& e) {
  static const std::string kEmpty;
  return (e.operonx && e.operonx->op_name) ? *e.operonx->op_name : kEmpty;
}

const std::vector<std::string>& Ctx(const schema::Event& e) {
  static const std::vector<std::string> kEmpty;
  return e.operonx ? e.operonx->ctx : kEmpty;
}

void WriteCtx(JsonWriter& w, const std::vector<std::string>& ctx) {
  w.BeginArray();
  for (const auto& s : ctx) w.String(s);
  w.EndArray();
}

void WriteTime(JsonWriter& w, int64_t ns) { w.String(schema::FormatRfc3339(ns)); }

void WriteOptDouble(JsonWriter& w, const std::optional<double>& d) {
  if (d) w.F64(*d);
  else w.Null();
}

std::string RequestId(const schema::Trace& t) { return t.external_id; }

std::string ShortName(const std::string& op) {
  size_t dot = op.rfind('.');
  return dot == std::string::npos ? op : op.substr(dot + 1);
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest-rank: the smallest value with at least q of the data at or below.
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
}

// An op run: a start and (maybe) its end, paired FIFO per (op_name, ctx).
struct OpRun {
  size_t start = SIZE_MAX;  // event index of op_start
  size_t end = SIZE_MAX;    // event index of op_end
};

using OpKey = std::pair<std::string, std::vector<std::string>>;

std::vector<OpRun> PairRuns(const schema::Trace& trace) {
  std::vector<OpRun> runs;
  std::map<OpKey, std::deque<size_t>> open;  // key -> indexes into runs
  for (size_t i = 0; i < trace.events.size(); ++i) {
    const auto& e = trace.events[i];
    if (e.type == schema::EventType::kOpStart) {
      open[{OpName(e), Ctx(e)}].push_back(runs.size());
      runs.push_back({i, SIZE_MAX});
    } else if (e.type == schema::EventType::kOpEnd) {
      auto& q = open[{OpName(e), Ctx(e)}];
      if (!q.empty()) {
        runs[q.front()].end = i;
        q.pop_front();
      } else {
        runs.push_back({SIZE_MAX, i});  // orphan end
      }
    }
  }
  return runs;
}

}  // namespace

std::string TimelineJson(const schema::Trace& trace) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("request_id");
  w.String(RequestId(trace));
  w.PlainKey("events");
  w.BeginArray();
  int64_t t0 = trace.events.empty() ? 0 : trace.events.front().timestamp_ns;
  for (const auto& e : trace.events) {
    w.BeginObject();
    w.PlainKey("time");
    WriteTime(w, e.timestamp_ns);
    w.PlainKey("offset_ms");
    w.F64(static_cast<double>(e.timestamp_ns - t0) / 1e6);
    w.PlainKey("kind");
    w.String(e.operonx ? e.operonx->kind : "");
    w.PlainKey("op_name");
    if (e.operonx && e.operonx->op_name) w.String(*e.operonx->op_name);
    else w.Null();
    w.PlainKey("ctx");
    WriteCtx(w, Ctx(e));
    w.PlainKey("seq");
    w.Uint(e.seq);
    w.PlainKey("event_id");
    w.String(e.event_id);
    w.PlainKey("payload");
    w.Raw(e.operonx ? e.operonx->payload_json : "{}");
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

Tree BuildTree(const schema::Trace& trace) {
  std::vector<Payload> payloads = ParseAll(trace);
  Tree tree;
  TreeNode root;
  root.kind = TreeNode::Kind::kRoot;
  root.status = "ok";
  tree.nodes.push_back(std::move(root));
  std::vector<OpRun> runs = PairRuns(trace);

  // Op nodes, keyed by (op_name, ctx) -> first node (the yield parent).
  std::map<OpKey, size_t> first_op;
  std::vector<size_t> op_nodes;
  for (const OpRun& run : runs) {
    const schema::Event& any = trace.events[run.start != SIZE_MAX ? run.start : run.end];
    TreeNode n;
    n.kind = TreeNode::Kind::kOp;
    n.op_name = OpName(any);
    n.ctx = Ctx(any);
    if (run.start != SIZE_MAX) n.start_ns = trace.events[run.start].timestamp_ns;
    if (run.end != SIZE_MAX) {
      const Payload& p = payloads[run.end];
      n.end_ns = trace.events[run.end].timestamp_ns;
      n.duration_ms = p.duration_ms;
      n.status = p.status.empty() ? "ok" : p.status;
      n.yield_count = p.yield_count;
    } else {
      n.status = "open";
    }
    first_op.emplace(OpKey{n.op_name, n.ctx}, tree.nodes.size());
    op_nodes.push_back(tree.nodes.size());
    tree.nodes.push_back(std::move(n));
  }

  // Yield containers keyed by their (child) ctx; first record wins.
  std::map<std::vector<std::string>, size_t> containers;
  for (size_t i = 0; i < trace.events.size(); ++i) {
    const auto& e = trace.events[i];
    if (e.type != schema::EventType::kOpYield || containers.count(Ctx(e))) continue;
    TreeNode n;
    n.kind = TreeNode::Kind::kYield;
    n.op_name = OpName(e);
    n.ctx = Ctx(e);
    n.start_ns = e.timestamp_ns;
    n.yield_index = payloads[i].idx;
    n.status = "ok";
    containers[n.ctx] = tree.nodes.size();
    tree.nodes.push_back(std::move(n));
  }

  auto parent_of_ctx = [&](const std::vector<std::string>& ctx, bool include_self) -> size_t {
    // The yield container at the longest prefix of ctx; a ctx deeper than
    // the root segment with no recorded yield gets a stand-in container.
    for (size_t len = ctx.size() - (include_self ? 0 : std::min<size_t>(1, ctx.size())); len >= 2; --len) {
      std::vector<std::string> prefix(ctx.begin(), ctx.begin() + static_cast<std::ptrdiff_t>(len));
      auto it = containers.find(prefix);
      if (it != containers.end()) return it->second;
    }
    return 0;
  };

  // Stand-ins for ctxs used by ops but never yielded.
  for (size_t idx : op_nodes) {
    const auto& ctx = tree.nodes[idx].ctx;
    if (ctx.size() >= 2 && !containers.count(ctx)) {
      TreeNode n;
      n.kind = TreeNode::Kind::kYield;
      n.ctx = ctx;
      n.stand_in = true;
      n.status = "ok";
      containers[ctx] = tree.nodes.size();
      tree.nodes.push_back(std::move(n));
    }
  }

  // Link yields under the op that yielded them (same name at the base ctx),
  // stand-ins under their ctx parent.
  for (auto& [ctx, idx] : containers) {
    TreeNode& n = tree.nodes[idx];
    size_t parent = 0;
    if (!n.stand_in) {
      std::vector<std::string> base(ctx.begin(), ctx.end() - 1);
      auto op = first_op.find(OpKey{n.op_name, base});
      parent = op != first_op.end() ? op->second : parent_of_ctx(ctx, /*include_self=*/false);
    } else {
      parent = parent_of_ctx(ctx, /*include_self=*/false);
    }
    tree.nodes[parent].children.push_back(idx);
  }

  // Ops: under graph containers for nested graph levels, under the ctx parent.
  std::map<std::pair<std::string, std::vector<std::string>>, size_t> graphs;
  for (size_t idx : op_nodes) {
    std::string name = tree.nodes[idx].op_name;
    std::vector<std::string> ctx = tree.nodes[idx].ctx;
    size_t parent = parent_of_ctx(ctx, /*include_self=*/true);
    // "g.sub.d": the top-level graph "g" is the request itself; "g.sub" is a
    // nested GraphOp whose members share one container per ctx.
    std::vector<size_t> dots;
    for (size_t p = name.find('.'); p != std::string::npos; p = name.find('.', p + 1)) dots.push_back(p);
    for (size_t d = 1; d < dots.size(); ++d) {
      std::string graph = name.substr(0, dots[d]);
      auto key = std::make_pair(graph, ctx);
      auto it = graphs.find(key);
      if (it == graphs.end()) {
        TreeNode g;
        g.kind = TreeNode::Kind::kGraph;
        g.op_name = graph;
        g.ctx = ctx;
        g.status = "ok";
        size_t gi = tree.nodes.size();
        tree.nodes.push_back(std::move(g));
        tree.nodes[parent].children.push_back(gi);
        it = graphs.emplace(key, gi).first;
      }
      parent = it->second;
    }
    tree.nodes[parent].children.push_back(idx);
  }
  return tree;
}

namespace {

const char* KindName(TreeNode::Kind k) {
  switch (k) {
    case TreeNode::Kind::kRoot: return "request";
    case TreeNode::Kind::kOp: return "op";
    case TreeNode::Kind::kYield: return "yield";
    case TreeNode::Kind::kGraph: return "graph";
  }
  return "op";
}

void WriteNode(JsonWriter& w, const Tree& tree, size_t idx, int depth) {
  const TreeNode& n = tree.nodes[idx];
  w.BeginObject();
  w.PlainKey("kind");
  w.PlainString(KindName(n.kind));
  w.PlainKey("op_name");
  w.String(n.op_name);
  w.PlainKey("name");
  w.String(ShortName(n.op_name));
  w.PlainKey("ctx");
  WriteCtx(w, n.ctx);
  w.PlainKey("start");
  if (n.start_ns) WriteTime(w, *n.start_ns);
  else w.Null();
  w.PlainKey("end");
  if (n.end_ns) WriteTime(w, *n.end_ns);
  else w.Null();
  w.PlainKey("duration_ms");
  WriteOptDouble(w, n.duration_ms);
  w.PlainKey("status");
  w.String(n.status);
  if (n.kind == TreeNode::Kind::kYield) {
    w.PlainKey("idx");
    w.Int(n.yield_index);
    w.PlainKey("stand_in");
    w.Bool(n.stand_in);
  }
  if (n.kind == TreeNode::Kind::kOp) {
    w.PlainKey("yield_count");
    w.Uint(n.yield_count);
  }
  w.PlainKey("children");
  w.BeginArray();
  // The tree is built from a DAG-free parent assignment; depth bounds it.
  if (depth < 256) {
    for (size_t c : n.children) WriteNode(w, tree, c, depth + 1);
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

std::string TreeJson(const schema::Trace& trace) {
  Tree tree = BuildTree(trace);
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("request_id");
  w.String(RequestId(trace));
  w.PlainKey("root");
  WriteNode(w, tree, 0, 0);
  w.EndObject();
  return out;
}

std::string TurnsJson(const schema::Trace& trace) {
  std::vector<Payload> payloads = ParseAll(trace);
  struct Group {
    size_t start;
    std::optional<size_t> end;
    std::string status = "open";
    std::vector<size_t> ops;          // op_start event indexes
    std::vector<size_t> annotations;  // op_name=null annotations
  };
  std::vector<Group> groups;
  std::vector<size_t> active;  // stack of indexes into groups
  std::vector<size_t> ungrouped;
  for (size_t i = 0; i < trace.events.size(); ++i) {
    const auto& e = trace.events[i];
    switch (e.type) {
      case schema::EventType::kGroupStart:
        active.push_back(groups.size());
        groups.push_back({i, std::nullopt, "open", {}, {}});
        break;
      case schema::EventType::kGroupEnd: {
        // Close the innermost open group of that name.
        for (size_t a = active.size(); a-- > 0;) {
          Group& g = groups[active[a]];
          if (payloads[g.start].name == payloads[i].name) {
            g.end = i;
            g.status = payloads[i].status.empty() ? "ok" : payloads[i].status;
            active.erase(active.begin() + static_cast<std::ptrdiff_t>(a));
            break;
          }
        }
        break;
      }
      case schema::EventType::kOpStart:
        if (active.empty()) ungrouped.push_back(i);
        else groups[active.back()].ops.push_back(i);
        break;
      case schema::EventType::kAnnotation:
        if (!(e.operonx && e.operonx->op_name) && !active.empty()) groups[active.back()].annotations.push_back(i);
        break;
      default:
        break;
    }
  }
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("request_id");
  w.String(RequestId(trace));
  w.PlainKey("groups");
  w.BeginArray();
  for (const Group& g : groups) {
    const schema::Event& s = trace.events[g.start];
    w.BeginObject();
    w.PlainKey("group_id");
    w.String(s.event_id);
    w.PlainKey("name");
    w.String(payloads[g.start].name);
    w.PlainKey("metadata");
    w.Raw(payloads[g.start].extra_json);
    w.PlainKey("start");
    WriteTime(w, s.timestamp_ns);
    w.PlainKey("end");
    if (g.end) WriteTime(w, trace.events[*g.end].timestamp_ns);
    else w.Null();
    w.PlainKey("status");
    w.String(g.status);
    w.PlainKey("ops");
    w.BeginArray();
    for (size_t i : g.ops) {
      w.BeginObject();
      w.PlainKey("op_name");
      w.String(OpName(trace.events[i]));
      w.PlainKey("ctx");
      WriteCtx(w, Ctx(trace.events[i]));
      w.PlainKey("start");
      WriteTime(w, trace.events[i].timestamp_ns);
      w.EndObject();
    }
    w.EndArray();
    w.PlainKey("annotations");
    w.BeginObject();
    for (size_t i : g.annotations) {
      w.Key(payloads[i].key);
      w.Raw(payloads[i].value_json);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.PlainKey("ungrouped_ops");
  w.Uint(ungrouped.size());
  w.EndObject();
  return out;
}

namespace {

struct CostTotals {
  uint64_t calls = 0;
  uint64_t unpriced = 0;
  uint64_t priced = 0;
  double cost = 0;
  uint64_t prompt_tokens = 0, completion_tokens = 0, total_tokens = 0, cached_tokens = 0;

  void Add(const Payload& p) {
    ++calls;
    if (p.cost_usd) {
      ++priced;
      cost += *p.cost_usd;
    } else {
      ++unpriced;
    }
    prompt_tokens += p.prompt_tokens.value_or(0);
    completion_tokens += p.completion_tokens.value_or(0);
    cached_tokens += p.cached_tokens.value_or(0);
    total_tokens += p.total_tokens.value_or(p.prompt_tokens.value_or(0) + p.completion_tokens.value_or(0));
  }

  void Write(JsonWriter& w) const {
    w.PlainKey("llm_calls");
    w.Uint(calls);
    w.PlainKey("cost_usd");
    if (priced > 0) w.F64(cost);
    else w.Null();
    w.PlainKey("unpriced");
    w.Uint(unpriced);
    w.PlainKey("prompt_tokens");
    w.Uint(prompt_tokens);
    w.PlainKey("completion_tokens");
    w.Uint(completion_tokens);
    w.PlainKey("total_tokens");
    w.Uint(total_tokens);
    w.PlainKey("cached_tokens");
    w.Uint(cached_tokens);
  }
};

void WriteCostMap(JsonWriter& w, const std::map<std::string, CostTotals>& m, const char* key_name) {
  w.BeginArray();
  for (const auto& [k, t] : m) {
    w.BeginObject();
    w.Key(key_name);
    w.String(k);
    t.Write(w);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

std::string CostJson(const schema::Trace& trace) {
  std::vector<Payload> payloads = ParseAll(trace);
  CostTotals total;
  std::map<std::string, CostTotals> by_model, by_op;
  std::set<OpKey> ops_with_usage;
  for (size_t i = 0; i < trace.events.size(); ++i) {
    const auto& e = trace.events[i];
    if (e.type != schema::EventType::kLlmUsage) continue;
    ops_with_usage.insert({OpName(e), Ctx(e)});
    total.Add(payloads[i]);
    by_model[payloads[i].model].Add(payloads[i]);
    by_op[OpName(e)].Add(payloads[i]);
  }
  // Fallback: LLM ops that reported usage only in their outputs.
  for (size_t i = 0; i < trace.events.size(); ++i) {
    const auto& e = trace.events[i];
    if (e.type != schema::EventType::kOpEnd || !payloads[i].has_usage_outputs) continue;
    if (ops_with_usage.count({OpName(e), Ctx(e)})) continue;
    total.Add(payloads[i]);
    by_model[payloads[i].model].Add(payloads[i]);
    by_op[OpName(e)].Add(payloads[i]);
  }
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("request_id");
  w.String(RequestId(trace));
  total.Write(w);
  w.PlainKey("by_model");
  WriteCostMap(w, by_model, "model");
  w.PlainKey("by_op");
  WriteCostMap(w, by_op, "op_name");
  w.EndObject();
  return out;
}

std::string SlowOpsJson(const schema::Trace& trace, size_t k) {
  std::vector<Payload> payloads = ParseAll(trace);
  struct End {
    size_t idx;
    double ms;
  };
  std::vector<End> ends;
  std::map<std::string, std::vector<double>> per_op;
  for (size_t i = 0; i < trace.events.size(); ++i) {
    if (trace.events[i].type != schema::EventType::kOpEnd || !payloads[i].duration_ms) continue;
    ends.push_back({i, *payloads[i].duration_ms});
    per_op[OpName(trace.events[i])].push_back(*payloads[i].duration_ms);
  }
  std::stable_sort(ends.begin(), ends.end(), [](const End& a, const End& b) { return a.ms > b.ms; });
  if (ends.size() > k) ends.resize(k);
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("request_id");
  w.String(RequestId(trace));
  w.PlainKey("top");
  w.BeginArray();
  for (const End& e : ends) {
    const auto& ev = trace.events[e.idx];
    w.BeginObject();
    w.PlainKey("op_name");
    w.String(OpName(ev));
    w.PlainKey("ctx");
    WriteCtx(w, Ctx(ev));
    w.PlainKey("duration_ms");
    w.F64(e.ms);
    w.PlainKey("status");
    w.String(payloads[e.idx].status);
    w.PlainKey("yield_count");
    w.Uint(payloads[e.idx].yield_count);
    w.EndObject();
  }
  w.EndArray();
  w.PlainKey("per_op");
  w.BeginArray();
  for (const auto& [op, v] : per_op) {
    w.BeginObject();
    w.PlainKey("op_name");
    w.String(op);
    w.PlainKey("count");
    w.Uint(v.size());
    w.PlainKey("p50_ms");
    w.F64(Percentile(v, 0.50));
    w.PlainKey("p95_ms");
    w.F64(Percentile(v, 0.95));
    w.PlainKey("p99_ms");
    w.F64(Percentile(v, 0.99));
    w.PlainKey("max_ms");
    w.F64(*std::max_element(v.begin(), v.end()));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

std::string ErrorsJson(const schema::Trace& trace) {
  std::vector<Payload> payloads = ParseAll(trace);
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("request_id");
  w.String(RequestId(trace));
  w.PlainKey("failed_ops");
  w.BeginArray();
  for (size_t i = 0; i < trace.events.size(); ++i) {
    const auto& e = trace.events[i];
    const Payload& p = payloads[i];
    if (e.type != schema::EventType::kOpEnd || (p.status != "error" && p.status != "cancelled")) continue;
    w.BeginObject();
    w.PlainKey("op_name");
    w.String(OpName(e));
    w.PlainKey("ctx");
    WriteCtx(w, Ctx(e));
    w.PlainKey("status");
    w.String(p.status);
    w.PlainKey("error");
    if (p.error) w.String(*p.error);
    else w.Null();
    w.PlainKey("time");
    WriteTime(w, e.timestamp_ns);
    w.EndObject();
  }
  w.EndArray();
  w.PlainKey("truncated_groups");
  w.BeginArray();
  for (size_t i = 0; i < trace.events.size(); ++i) {
    if (trace.events[i].type != schema::EventType::kGroupEnd || payloads[i].status != "truncated") continue;
    w.BeginObject();
    w.PlainKey("name");
    w.String(payloads[i].name);
    w.PlainKey("event_id");
    w.String(trace.events[i].event_id);
    w.EndObject();
  }
  w.EndArray();
  w.PlainKey("unfinished_ops");
  w.BeginArray();
  for (const OpRun& run : PairRuns(trace)) {
    if (run.start == SIZE_MAX || run.end != SIZE_MAX) continue;
    const auto& e = trace.events[run.start];
    w.BeginObject();
    w.PlainKey("op_name");
    w.String(OpName(e));
    w.PlainKey("ctx");
    WriteCtx(w, Ctx(e));
    w.PlainKey("start");
    WriteTime(w, e.timestamp_ns);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

}  // namespace tracedb::query::operonx
