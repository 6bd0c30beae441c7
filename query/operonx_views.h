#pragma once

// Views over one operonx request (a trace whose events are operonx
// TraceEvents): the timeline, the op tree rebuilt from (op_name, ctx), grouped
// turns, LLM cost and tokens, slow ops and errors. The rules follow
// /shared/reference/operonx-events.md §4, §5, §9; docs/operonx.md states
// them. Each view is a pure function of the trace (its events in
// (timestamp, seq, event_id) order, as Engine::GetTrace returns them) and
// renders itself as JSON.
//
// Thread-safety: pure functions; no shared state.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/model.h"

namespace tracedb::query::operonx {

// {"request_id", "events":[{"time","offset_ms","kind","op_name","ctx","seq",
// "event_id","payload"}...]}.
std::string TimelineJson(const schema::Trace& trace);

// One node of the rebuilt tree.
struct TreeNode {
  enum class Kind : uint8_t { kRoot, kOp, kYield, kGraph };
  Kind kind = Kind::kOp;
  std::string op_name;            // full name ("" for the root and stand-ins)
  std::vector<std::string> ctx;
  std::optional<int64_t> start_ns;
  std::optional<int64_t> end_ns;
  std::optional<double> duration_ms;  // op_end payload (authoritative)
  std::string status;             // ok / error / cancelled / open
  int64_t yield_index = -1;       // yields: idx
  uint64_t yield_count = 0;       // ops: payload.yield_count
  bool stand_in = false;          // a yield container nobody recorded
  std::vector<size_t> children;   // indexes into Tree::nodes
};

struct Tree {
  std::vector<TreeNode> nodes;  // nodes[0] is the root (the request)
};

// Rebuilds the tree. Parent rules: a yield record (op_yield, child ctx
// base+[seg]) nests under the op that yielded it (same op_name at the base
// ctx); an op at ctx C nests under the yield container whose ctx is the
// longest prefix of C (C itself first), under a graph container for each
// nested graph level of its full name ("g.sub.d" -> container "g.sub"), or
// under the root. `[N]` and `yield_N` segments are treated alike (no
// assumption about segment format). A ctx with no recorded yield gets a
// stand-in container. Several start/end pairs per (op_name, ctx) pair FIFO.
Tree BuildTree(const schema::Trace& trace);
std::string TreeJson(const schema::Trace& trace);

// Groups keyed by group_start.event_id; ops attach to the innermost group
// active at their op_start; op_name=null annotations attach to the active
// group's metadata.
std::string TurnsJson(const schema::Trace& trace);

// Cost and tokens per request, per model, per op from llm_usage events
// (fallback: op_end.outputs.usage / model_used / cost_usd of ops without an
// llm_usage). An unpriced call is counted in `unpriced`, never as $0; a cost
// total is null when nothing was priced.
std::string CostJson(const schema::Trace& trace);

// Top-k op_end by payload.duration_ms, and per-op count/p50/p95/p99/max.
std::string SlowOpsJson(const schema::Trace& trace, size_t k);

// op_end with status error/cancelled, truncated groups, ops started and
// never ended.
std::string ErrorsJson(const schema::Trace& trace);

}  // namespace tracedb::query::operonx
