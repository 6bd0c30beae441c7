// Graph aggregate deltas. Each function mirrors one branch of
// query/graph.cc's scan (AddReflow, AddOperonx, AddOtel) so that a window
// answered from aggregates and one answered by scanning count the same.

#include "engine/graph_delta.h"

#include <cstring>

#include "common/coding.h"

namespace tracedb::engine {

namespace {

uint64_t SpanKey(const schema::SpanId& id) {
  uint64_t k;
  std::memcpy(&k, id.data(), sizeof(k));
  return k;
}

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Sums `cells` (and `base` when set) into *out; false when one is malformed.
template <class Cells>
bool SumCells(const rocksdb::Slice* base, const Cells& cells, std::string* out) {
  GraphCellSum sum;
  if (base && !sum.Add(View(*base))) return false;
  for (const rocksdb::Slice& cell : cells) {
    if (!sum.Add(View(cell))) return false;
  }
  out->clear();
  sum.AppendTo(out);
  return true;
}

// Sums graph cells (keys.h, "graph"): every operand at once, so a cell with
// many operands is decoded and encoded once, not once per pair.
class GraphMergeOperator final : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    return SumCells(in.existing_value, in.operand_list, &out->new_value);
  }
  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    return SumCells(nullptr, operands, new_value);
  }
  const char* Name() const override { return "tracedb.GraphCellSum"; }
};

}  // namespace

GraphValue& GraphDelta::At() {
  auto it = values_.find(std::string_view(scratch_));
  if (it == values_.end()) it = values_.emplace(scratch_, GraphValue()).first;
  return it->second;
}

GraphValue& GraphDelta::Node(std::string_view prefix, GraphNodeKind kind, std::string_view id) {
  scratch_.assign(prefix);
  scratch_.push_back('N');
  scratch_.push_back(static_cast<char>(kind));
  coding::PutEscaped(&scratch_, id);
  return At();
}

void GraphDelta::AddTrace(std::string_view prefix, int64_t sign) {
  scratch_.assign(prefix);
  scratch_.push_back('T');
  At().fields[0] += sign;
}

void GraphDelta::AddReflowEvent(std::string_view prefix, const schema::Event& e, int64_t sign) {
  if (e.actor.empty()) return;
  const schema::ReflowEventData* r = e.reflow ? &*e.reflow : nullptr;
  const bool error = e.type == schema::EventType::kActorFailed || (r && r->error);
  const bool has_exec = r && r->metrics.execution_time_ns.has_value();
  const int64_t exec = has_exec ? static_cast<int64_t>(*r->metrics.execution_time_ns) : 0;
  GraphValue& node = Node(prefix, GraphNodeKind::kActor, e.actor);
  node.fields[0] += sign;
  node.fields[1] += sign;
  if (error) node.fields[2] += sign;
  if (e.type != schema::EventType::kDataFlow) {
    if (has_exec) node.sketch.Add(exec, sign);
    return;
  }
  if (e.to_actor.empty()) return;
  Node(prefix, GraphNodeKind::kActor, e.to_actor).fields[0] += sign;
  scratch_.assign(prefix);
  scratch_.push_back('E');
  coding::PutEscaped(&scratch_, e.actor);
  coding::PutEscaped(&scratch_, r && r->port ? std::string_view(*r->port) : std::string_view());
  coding::PutEscaped(&scratch_, e.to_actor);
  coding::PutEscaped(&scratch_, e.to_port);
  GraphValue& edge = At();
  edge.fields[0] += sign;
  if (error) edge.fields[2] += sign;
  if (r && r->message) {
    edge.fields[1] += sign * static_cast<int64_t>(r->message->size_bytes);
    auto it = edge.types.try_emplace(r->message->message_type, 0).first;
    it->second += sign;
    if (it->second == 0) edge.types.erase(it);
  }
  if (has_exec) edge.sketch.Add(exec, sign);
}

void GraphDelta::AddOperonxEvent(std::string_view prefix, const schema::Event& e, const schema::HotFields& hot,
                                 int64_t sign) {
  if (!e.operonx || !e.operonx->op_name || e.operonx->op_name->empty()) return;
  if (e.type != schema::EventType::kOpStart && e.type != schema::EventType::kOpEnd) return;
  GraphValue& node = Node(prefix, GraphNodeKind::kOp, *e.operonx->op_name);
  node.fields[0] += sign;
  if (e.type == schema::EventType::kOpStart) {
    node.fields[1] += sign;
    return;
  }
  if (hot.status == schema::EventStatusCode::kError) node.fields[2] += sign;
  if (hot.duration_ns) node.sketch.Add(static_cast<int64_t>(*hot.duration_ns), sign);
}

void GraphDelta::AddOtelSpan(std::string_view prefix, std::string_view service, const schema::Event& e,
                             int64_t sign) {
  GraphValue& node = Node(prefix, GraphNodeKind::kService, service);
  node.fields[0] += sign;
  node.fields[1] += sign;
  if (e.otel->status_code == 2) node.fields[2] += sign;
  node.sketch.Add(e.otel->end_ns - e.timestamp_ns, sign);
}

void GraphDelta::AddOtelCall(std::string_view prefix, std::string_view parent, std::string_view child, bool error,
                             int64_t duration_ns, int64_t sign) {
  scratch_.assign(prefix);
  scratch_.push_back('E');
  coding::PutEscaped(&scratch_, parent);
  coding::PutEscaped(&scratch_, "");
  coding::PutEscaped(&scratch_, child);
  coding::PutEscaped(&scratch_, "");
  GraphValue& edge = At();
  edge.fields[0] += sign;
  if (error) edge.fields[2] += sign;
  edge.sketch.Add(duration_ns, sign);
}

void GraphDelta::AddWholeTrace(std::string_view prefix, schema::Source source,
                               const std::vector<schema::Event>& events, int64_t sign) {
  switch (source) {
    case schema::Source::kReflow:
      for (const auto& e : events) AddReflowEvent(prefix, e, sign);
      break;
    case schema::Source::kOperonx:
      for (const auto& e : events) AddOperonxEvent(prefix, e, schema::ExtractHotFields(e), sign);
      break;
    case schema::Source::kOtel: {
      OtelGraphState state;
      GraphDelta added;
      for (const auto& e : events) {
        if (e.otel) state.AddSpan(e, prefix, &added);
      }
      for (const auto& [key, v] : added.values_) {
        auto it = values_.try_emplace(key).first;
        it->second.Merge(v, sign);
      }
      break;
    }
  }
}

std::string_view SpanService(const schema::Event& e) {
  static const schema::OtelResource kNone;
  return schema::OtelServiceName(e.otel->resource ? *e.otel->resource : kNone);
}

void OtelGraphState::AddSpan(const schema::Event& e, std::string_view prefix, GraphDelta* delta) {
  const schema::OtelSpan& s = *e.otel;
  std::string_view service = SpanService(e);
  const bool error = s.status_code == 2;
  const int64_t duration = s.end_ns - e.timestamp_ns;
  const uint64_t id = SpanKey(s.span_id);
  service_of[id] = std::string(service);
  if (delta) delta->AddOtelSpan(prefix, service, e, 1);
  if (s.parent_span_id) {
    auto parent = service_of.find(SpanKey(*s.parent_span_id));
    if (parent == service_of.end()) {
      waiting.emplace(SpanKey(*s.parent_span_id), Pending{std::string(service), error, duration});
    } else if (delta && parent->second != service) {
      delta->AddOtelCall(prefix, parent->second, service, error, duration, 1);
    }
  }
  auto [first, last] = waiting.equal_range(id);
  for (auto it = first; it != last; ++it) {
    if (delta && it->second.service != service) {
      delta->AddOtelCall(prefix, service, it->second.service, it->second.error, it->second.duration_ns, 1);
    }
  }
  waiting.erase(first, last);
}

std::shared_ptr<rocksdb::MergeOperator> NewGraphMergeOperator() { return std::make_shared<GraphMergeOperator>(); }

}  // namespace tracedb::engine
