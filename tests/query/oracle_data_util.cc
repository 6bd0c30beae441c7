#include "tests/query/oracle_data_util.h"

#include <string>
#include <utility>

namespace tracedb::query::oracle {

namespace {

schema::Id128 EdgeId(uint64_t tag, uint64_t n) {
  schema::Id128 id{};
  for (int i = 0; i < 8; ++i) {
    id[static_cast<size_t>(i)] = static_cast<uint8_t>(tag >> (56 - 8 * i));
    id[static_cast<size_t>(8 + i)] = static_cast<uint8_t>(n >> (56 - 8 * i));
  }
  return id;
}

schema::Trace Header(uint64_t n, schema::Source source, std::string flow, int64_t start) {
  schema::Trace h;
  h.trace_id = EdgeId(0xED6E, n);
  h.source = source;
  h.flow_id = std::move(flow);
  h.execution_id = EdgeId(0xED6E00, n);
  h.version = {static_cast<uint32_t>(n % 3), 10, 0, std::nullopt, start};
  h.start_ns = start;
  h.status.code = schema::StatusCode::kRunning;
  h.metadata.environment = "edge";
  h.metadata.hostname = "host-*";
  return h;
}

schema::Event Reflow(uint64_t n, int64_t ts, std::string actor, schema::EventType type, std::string attrs) {
  schema::Event e;
  schema::Id128 id = EdgeId(0xE0E0, n);
  e.event_id.assign(reinterpret_cast<const char*>(id.data()), id.size());
  e.timestamp_ns = ts;
  e.type = type;
  e.actor = std::move(actor);
  auto& r = e.reflow.emplace();
  r.custom_attributes_json = std::move(attrs);
  r.causality.root_cause_event_id = EdgeId(0xE0E0, n);
  return e;
}

schema::Event Operonx(uint64_t n, int64_t ts, std::string kind, schema::EventType type, std::string op,
                      std::vector<std::string> ctx, std::string payload) {
  schema::Event e;
  e.event_id = "edge-" + std::to_string(n);
  e.timestamp_ns = ts;
  e.seq = n;
  e.type = type;
  e.actor = op;
  auto& o = e.operonx.emplace();
  o.kind = std::move(kind);
  if (!op.empty()) o.op_name = op;
  o.ctx = std::move(ctx);
  o.payload_json = std::move(payload);
  return e;
}

}  // namespace

Status WriteEdgeCases(engine::Engine* engine, int64_t start_ns) {
  using T = schema::EventType;
  engine::WriteBatch b;
  int64_t s = start_ns;
  const int64_t ms = 1000000;

  // Reflow: names full of glob/regex metacharacters, JSON edge values.
  schema::Trace t1 = Header(1, schema::Source::kReflow, "a*b?c[d]\\e", s);
  t1.metadata.tags = {{"a.b", "dotted"}, {"region", "eu"}};
  t1.metadata.user_id = "";
  b.StartTrace(t1);
  schema::Event e1 = Reflow(1, s + ms, "re.ac+or(1)", T::kActorStarted,
                            R"({"list":[1,"two",{"k":3}],"flag":true,"nul":null,"neg":-5,"f":1.5,"e":2E2,)"
                            R"("dot.key":"v","esc":"a\"b","retry":2.0,"tenant":"acme"})");
  e1.reflow->metrics.execution_time_ns = 0;
  e1.reflow->metrics.queue_depth = 0;
  e1.reflow->metrics.cpu_usage_percent = 0.0f;
  e1.reflow->metrics.throughput_msgs_per_sec = 12.5;
  b.AppendEvent(t1.trace_id, std::move(e1));
  schema::Event e2 = Reflow(2, s + 2 * ms, "", T::kDataFlow, R"({"list":[],"flag":false,"retry":"3"})");
  e2.to_actor = "";
  e2.to_port = "in";
  e2.reflow->error = "";
  b.AppendEvent(t1.trace_id, std::move(e2));
  schema::Event e3 = Reflow(3, s + 2 * ms, "a*b", T::kActorCompleted, "{}");  // same timestamp as e2
  auto& m = e3.reflow->message.emplace();
  m.message_type = "";
  m.size_bytes = 0;
  b.AppendEvent(t1.trace_id, std::move(e3));
  b.EndTrace(t1.trace_id, {schema::StatusCode::kFailed, ""}, s + 5 * ms);

  // operonx: ops without dots and with an empty short name, odd payloads.
  schema::Trace t2 = Header(2, schema::Source::kOperonx, "callbot", s + 1000 * ms);
  t2.external_id = "req-edge-2";
  b.StartTrace(t2);
  int64_t u = t2.start_ns;
  b.AppendEvent(t2.trace_id, Operonx(10, u + ms, "op_end", T::kOpEnd, "plain", {"main", "[0]", "x"},
                                     R"({"status":"weird","duration_ms":-4,"error":"boom"})"));
  b.AppendEvent(t2.trace_id, Operonx(11, u + 2 * ms, "op_end", T::kOpEnd, "graph.", {"mainx"},
                                     R"({"status":"cancelled","duration_ms":1e3,"error":7})"));
  b.AppendEvent(t2.trace_id, Operonx(12, u + 3 * ms, "media_ref", T::kMediaRef, "g.tts", {},
                                     R"({"size_bytes":4096,"status":"ok","duration_ms":0.0005})"));
  b.AppendEvent(t2.trace_id, Operonx(13, u + 4 * ms, "custom_kind", T::kOperonxOther, "", {"main"},
                                     R"({"status":null,"model":"m*","cost_usd":-0.5,"list":[{"a":1}]})"));
  b.EndTrace(t2.trace_id, {schema::StatusCode::kCompleted, ""}, u + 10 * ms);

  // Traces without events, open and closed, with an empty flow.
  b.StartTrace(Header(3, schema::Source::kReflow, "", s + 2000 * ms));
  schema::Trace t4 = Header(4, schema::Source::kOperonx, "summarize", s + 3000 * ms);
  t4.metadata.session_id = "s*";
  b.StartTrace(t4);
  b.EndTrace(t4.trace_id, {schema::StatusCode::kCancelled, ""}, s + 3000 * ms);

  // Equal starts (the id breaks the tie) with regex-looking flows.
  for (uint64_t n = 5; n <= kEdgeTraces; ++n) {
    schema::Trace t = Header(n, schema::Source::kReflow, n % 2 ? "(billing|search)" : "chk.*", s + 4000 * ms);
    b.StartTrace(t);
    schema::Event e = Reflow(100 + n, t.start_ns + static_cast<int64_t>(n), n % 2 ? "db" : "validator",
                             n % 2 ? T::kActorFailed : T::kMessageSent, R"({"retry":1,"nested":{"k":"v1"}})");
    e.reflow->metrics.execution_time_ns = 45 * ms;
    b.AppendEvent(t.trace_id, std::move(e));
  }
  return engine->Write(b).status();
}

}  // namespace tracedb::query::oracle
