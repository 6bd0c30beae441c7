// Micro-benchmarks of the JSON codecs (ingest/reflow/reflow_json.h,
// ingest/operonx/operonx_json.h) and the evidence for the parser choice recorded in
// docs/json.md: the hot ingest path parses RecordEvent messages, measured
// here with simdjson on-demand (the shipped codec) against a Boost.JSON DOM
// parse plus conversion into the same schema::Event.
//
//   BM_ReflowJson_ParseRecordEventSimdjson        shipped path (ParseRequest: the canonical fast
//                                                 path, reflow_fast.h), input copied into a padded buffer
//   BM_ReflowJson_ParseRecordEventSimdjsonPadded  shipped path, caller-provided padding
//   BM_ReflowJson_ParseRecordEventGeneral         the general on-demand parser alone (ParseTracingRequest)
//   BM_ReflowJson_ParseRecordEventPayload[General] the same with a 300-byte message snapshot, as in
//                                                 the workload runner's ~1.2 KB events
//   BM_ReflowJson_ParseRecordEventBoostDom        boost::json::parse + DOM -> schema::Event
//   BM_ReflowJson_PrintRecordEvent                JsonWriter output of the same message
//   BM_ReflowJson_PrintRecordEventBoost           boost::json::serialize of its DOM (reference)
//   BM_ReflowJson_ParseStoreTrace                 legacy path: TracingRequest attempt, then TraceMessage
//   BM_OperonxJson_ParseEvent / ParseBatch100     operonx event and a 100-event batch envelope
//   BM_JsonWriter_F64                             ryu-compatible float printing
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include <string>

#include "schema/json_writer.h"
#include "ingest/operonx/operonx_json.h"
#include "ingest/reflow/reflow_json.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::schema {
namespace {

namespace reflow = ::tracedb::ingest::reflow;
namespace operonx = ::tracedb::ingest::operonx;

// A ~1 KiB RecordEvent as the Reflow client sends it (DataFlow with a
// message snapshot, metrics, nested custom attributes, a causality chain).
const std::string& RecordEventJson() {
  static const std::string kJson =
      R"({"RecordEvent":{"trace_id":"8e898b0a-d020-464c-8822-775b99128fc3","event":{"event_id":"fb232cc9-8b26-47a9-a46e-605ff9331882","timestamp":"2026-11-24T09:41:10.133974050Z","event_type":{"DataFlow":{"to_actor":"actor_2","to_port":"in"}},"actor_id":"actor_1","data":{"port":"out","message":{"message_type":"SensorReading","size_bytes":257,"checksum":"sha256:5aa762ae383fbb727af3c7a36d4940a5b8c40a989452d2304fc958ff3f354e7a","serialized_data":[0,1,2,254,255]},"state_diff":null,"error":null,"performance_metrics":{"execution_time_ns":1000003,"memory_usage_bytes":4096,"cpu_usage_percent":2.5,"queue_depth":1,"throughput_msgs_per_sec":1000.5},"custom_attributes":{"nested":{"a":[1,2,{"b":null}],"ok":true},"message_id":"msg_1"}},"causality":{"parent_event_id":"0e433173-6955-49ea-9165-2052ecff17b6","root_cause_event_id":"f2610b2c-8556-447c-b5aa-df9be2ef8e60","dependency_chain":["7983f95e-cd3b-4d30-8da0-3273e2e20bf0","0270ba21-253a-474b-b6b8-59b0fda0d379"],"span_id":"d43ff0cc-2076-49b4-a1ca-fa2b2ad0da81"}}}})";
  return kJson;
}

// The event above with a 300-byte snapshot: the shape of tracedb_bench's
// ingest events, where the byte array is a third of the text.
const std::string& PayloadEventJson() {
  static const std::string kJson = [] {
    std::string bytes;
    for (int i = 0; i < 300; ++i) bytes += (i > 0 ? "," : "") + std::to_string((i * 37) % 256);
    std::string s = RecordEventJson();
    const std::string from = "[0,1,2,254,255]";
    s.replace(s.find(from), from.size(), "[" + bytes + "]");
    return s;
  }();
  return kJson;
}

// Parses `json` once per iteration; `items` values per parse.
template <typename Parse>
void ParseLoop(benchmark::State& state, std::string_view json, Parse parse, int64_t items = 1) {
  for (auto _ : state) {
    auto r = parse(json);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * items);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(json.size()));
}

void BM_ReflowJson_ParseRecordEventGeneral(benchmark::State& state) {
  ParseLoop(state, RecordEventJson(), [](std::string_view j) { return reflow::ParseTracingRequest(j); });
}
BENCHMARK(BM_ReflowJson_ParseRecordEventGeneral);

void BM_ReflowJson_ParseRecordEventPayload(benchmark::State& state) {
  ParseLoop(state, PayloadEventJson(), [](std::string_view j) { return reflow::ParseRequest(j); });
}
BENCHMARK(BM_ReflowJson_ParseRecordEventPayload);

void BM_ReflowJson_ParseRecordEventPayloadGeneral(benchmark::State& state) {
  ParseLoop(state, PayloadEventJson(), [](std::string_view j) { return reflow::ParseTracingRequest(j); });
}
BENCHMARK(BM_ReflowJson_ParseRecordEventPayloadGeneral);

void BM_ReflowJson_ParseRecordEventSimdjson(benchmark::State& state) {
  ParseLoop(state, RecordEventJson(), [](std::string_view j) { return reflow::ParseRequest(j); });
}
BENCHMARK(BM_ReflowJson_ParseRecordEventSimdjson);

void BM_ReflowJson_ParseRecordEventSimdjsonPadded(benchmark::State& state) {
  const std::string& json = RecordEventJson();
  const std::string padded = json + std::string(kJsonPadding, ' ');
  const std::string_view view(padded.data(), json.size());
  ParseLoop(state, view, [](std::string_view j) { return reflow::ParseRequest(j, InputPadding::kPadded); });
}
BENCHMARK(BM_ReflowJson_ParseRecordEventSimdjsonPadded);

// ---- the Boost.JSON DOM alternative: same output, same checks ----

namespace bj = boost::json;

bool BjString(const bj::object& o, std::string_view k, std::string* out) {
  const bj::value* v = o.if_contains(k);
  const bj::string* s = v != nullptr ? v->if_string() : nullptr;
  if (s == nullptr) return false;
  out->assign(s->data(), s->size());
  return true;
}

bool BjOptString(const bj::object& o, std::string_view k, std::optional<std::string>* out) {
  const bj::value* v = o.if_contains(k);
  if (v == nullptr || v->is_null()) return true;
  const bj::string* s = v->if_string();
  if (s == nullptr) return false;
  out->emplace(s->data(), s->size());
  return true;
}

bool BjU64(const bj::value* v, std::optional<uint64_t>* out) {
  if (v == nullptr || v->is_null()) return true;
  if (const uint64_t* u = v->if_uint64()) {
    *out = *u;
    return true;
  }
  if (const int64_t* i = v->if_int64(); i != nullptr && *i >= 0) {
    *out = static_cast<uint64_t>(*i);
    return true;
  }
  return false;
}

bool BjUuid(const bj::value* v, Id128* out) {
  const bj::string* s = v != nullptr ? v->if_string() : nullptr;
  return s != nullptr && ParseUuid(std::string_view(s->data(), s->size()), out);
}

bool BjBytes(const bj::value* v, std::vector<uint8_t>* out) {
  const bj::array* a = v != nullptr ? v->if_array() : nullptr;
  if (a == nullptr) return false;
  for (const bj::value& e : *a) {
    std::optional<uint64_t> b;
    if (!BjU64(&e, &b) || !b || *b > 255) return false;
    out->push_back(static_cast<uint8_t>(*b));
  }
  return true;
}

bool BjEvent(const bj::value& v, Event* out) {
  const bj::object* o = v.if_object();
  if (o == nullptr) return false;
  Id128 id;
  if (!BjUuid(o->if_contains("event_id"), &id)) return false;
  out->event_id.assign(reinterpret_cast<const char*>(id.data()), 16);
  std::string ts;
  if (!BjString(*o, "timestamp", &ts) || !ParseRfc3339(ts, &out->timestamp_ns)) return false;
  const bj::value* et = o->if_contains("event_type");
  if (et == nullptr) return false;
  if (const bj::object* df = et->if_object()) {
    const bj::value* inner = df->if_contains("DataFlow");
    if (df->size() != 1 || inner == nullptr || !inner->is_object()) return false;
    out->type = EventType::kDataFlow;
    if (!BjString(inner->get_object(), "to_actor", &out->to_actor) ||
        !BjString(inner->get_object(), "to_port", &out->to_port)) {
      return false;
    }
  } else if (!et->is_string()) {
    return false;
  }
  if (!BjString(*o, "actor_id", &out->actor)) return false;
  const bj::value* dv = o->if_contains("data");
  if (dv == nullptr || !dv->is_object()) return false;
  const bj::object& d = dv->get_object();
  ReflowEventData& rd = out->reflow.emplace();
  if (!BjOptString(d, "port", &rd.port) || !BjOptString(d, "error", &rd.error)) return false;
  if (const bj::value* m = d.if_contains("message"); m != nullptr && !m->is_null()) {
    if (!m->is_object()) return false;
    const bj::object& mo = m->get_object();
    MessageSnapshot& ms = rd.message.emplace();
    std::optional<uint64_t> size;
    if (!BjString(mo, "message_type", &ms.message_type) || !BjU64(mo.if_contains("size_bytes"), &size) ||
        !size || !BjString(mo, "checksum", &ms.checksum) ||
        !BjBytes(mo.if_contains("serialized_data"), &ms.serialized_data)) {
      return false;
    }
    ms.size_bytes = *size;
  }
  const bj::value* pm = d.if_contains("performance_metrics");
  if (pm == nullptr || !pm->is_object()) return false;
  const bj::object& p = pm->get_object();
  if (!BjU64(p.if_contains("execution_time_ns"), &rd.metrics.execution_time_ns) ||
      !BjU64(p.if_contains("memory_usage_bytes"), &rd.metrics.memory_usage_bytes) ||
      !BjU64(p.if_contains("queue_depth"), &rd.metrics.queue_depth)) {
    return false;
  }
  boost::system::error_code ec;
  if (const bj::value* c = p.if_contains("cpu_usage_percent"); c != nullptr && !c->is_null()) {
    rd.metrics.cpu_usage_percent = static_cast<float>(c->to_number<double>(ec));
    if (ec) return false;
  }
  if (const bj::value* t = p.if_contains("throughput_msgs_per_sec"); t != nullptr && !t->is_null()) {
    rd.metrics.throughput_msgs_per_sec = t->to_number<double>(ec);
    if (ec) return false;
  }
  const bj::value* ca = d.if_contains("custom_attributes");
  if (ca == nullptr || !ca->is_object()) return false;
  rd.custom_attributes_json = bj::serialize(*ca);
  const bj::value* cv = o->if_contains("causality");
  if (cv == nullptr || !cv->is_object()) return false;
  const bj::object& c = cv->get_object();
  if (const bj::value* pid = c.if_contains("parent_event_id"); pid != nullptr && !pid->is_null()) {
    if (!BjUuid(pid, &rd.causality.parent_event_id.emplace())) return false;
  }
  if (!BjUuid(c.if_contains("root_cause_event_id"), &rd.causality.root_cause_event_id)) return false;
  const bj::value* chain = c.if_contains("dependency_chain");
  if (chain == nullptr || !chain->is_array()) return false;
  for (const bj::value& e : chain->get_array()) {
    if (!BjUuid(&e, &rd.causality.dependency_chain.emplace_back())) return false;
  }
  return BjString(c, "span_id", &rd.causality.span_id);
}

void BM_ReflowJson_ParseRecordEventBoostDom(benchmark::State& state) {
  const std::string& json = RecordEventJson();
  for (auto _ : state) {
    // The allocator Boost.JSON recommends for parse-and-drop: a stack buffer.
    unsigned char buf[16384];
    bj::monotonic_resource mr(buf, sizeof(buf));
    boost::system::error_code ec;
    bj::value root = bj::parse(json, ec, &mr);
    reflow::RecordEvent re;
    const bj::object* o = ec ? nullptr : root.if_object();
    const bj::value* inner = o != nullptr && o->size() == 1 ? o->if_contains("RecordEvent") : nullptr;
    if (inner == nullptr || !inner->is_object() ||
        !BjUuid(inner->get_object().if_contains("trace_id"), &re.trace_id) ||
        inner->get_object().if_contains("event") == nullptr ||
        !BjEvent(*inner->get_object().if_contains("event"), &re.event)) {
      state.SkipWithError("Boost.JSON conversion failed");
      break;
    }
    benchmark::DoNotOptimize(re);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(json.size()));
}
BENCHMARK(BM_ReflowJson_ParseRecordEventBoostDom);

void BM_ReflowJson_PrintRecordEvent(benchmark::State& state) {
  auto req = reflow::ParseRequest(RecordEventJson());
  if (!req.ok()) {
    state.SkipWithError(req.status().ToString().c_str());
    return;
  }
  std::string out;
  for (auto _ : state) {
    out.clear();
    reflow::AppendRequest(*req, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(out.size()));
}
BENCHMARK(BM_ReflowJson_PrintRecordEvent);

void BM_ReflowJson_PrintRecordEventBoost(benchmark::State& state) {
  const bj::value dom = bj::parse(RecordEventJson());
  size_t bytes = 0;
  for (auto _ : state) {
    std::string s = bj::serialize(dom);
    bytes = s.size();
    benchmark::DoNotOptimize(s.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
BENCHMARK(BM_ReflowJson_PrintRecordEventBoost);

void BM_ReflowJson_ParseStoreTrace(benchmark::State& state) {
  std::string json = R"({"StoreTrace":{"trace":{"trace_id":"4e6fb379-6fd3-47eb-b230-fdb8896db5a5","flow_id":"flow-1","execution_id":"a8f3d4fa-a14b-4f79-adf2-827c2f91a736","version":{"major":1,"minor":2,"patch":3,"git_hash":"abc123","timestamp":"2026-11-24T09:41:10.134024578Z"},"start_time":"2026-11-24T09:41:05.134024622Z","end_time":null,"status":"Running","events":[)";
  auto req = reflow::ParseRequest(RecordEventJson());
  const std::string event = reflow::PrintEvent(std::get<reflow::RecordEvent>(std::get<reflow::TracingRequest>(*req)).event);
  for (int i = 0; i < 10; ++i) json += (i > 0 ? "," : "") + event;
  json += R"(],"metadata":{"user_id":"u1","session_id":null,"environment":"test","hostname":"h","process_id":42,"thread_id":"main","tags":{"env":"test"}}}}})";
  ParseLoop(state, json, [](std::string_view j) { return reflow::ParseRequest(j); });
}
BENCHMARK(BM_ReflowJson_ParseStoreTrace);

const char kOperonxEvent[] =
    R"({"event_id":"r1-1","request_id":"r1","kind":"op_end","op_name":"g.d","ctx":["main"],"timestamp":"2026-05-10T09:00:00.011204Z","seq":1,"payload":{"outputs":{"y":10},"status":"ok","duration_ms":10.9,"yield_count":0,"media_refs":[]}})";

void BM_OperonxJson_ParseEvent(benchmark::State& state) {
  ParseLoop(state, kOperonxEvent, [](std::string_view j) { return operonx::ParseEvent(j); });
}
BENCHMARK(BM_OperonxJson_ParseEvent);

void BM_OperonxJson_ParseBatch100(benchmark::State& state) {
  std::string json = R"({"request_id":"r1","metadata":{"workflow_name":"wf","user_id":"u","session_id":"s","tags":["a"],"partial":true},"events":[)";
  for (int i = 0; i < 100; ++i) json += std::string(i > 0 ? "," : "") + kOperonxEvent;
  json += "]}";
  ParseLoop(state, json, [](std::string_view j) { return operonx::ParseBatch(j); }, 100);
}
BENCHMARK(BM_OperonxJson_ParseBatch100);

void BM_JsonWriter_F64(benchmark::State& state) {
  const double values[] = {0.0, 1000.5, 1e21, 1.5e-7, 0.1, 123456.789, 3.141592653589793, 2.5};
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (double v : values) AppendJsonF64(v, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(std::size(values)));
}
BENCHMARK(BM_JsonWriter_F64);

}  // namespace
}  // namespace tracedb::schema
