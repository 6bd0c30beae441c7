#include "tests/query/query_test_util.h"

#include <algorithm>
#include <random>

#include "query/evaluator.h"
#include "schema/uuid.h"

namespace tracedb::query::testing {

namespace {

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  uint64_t Next() { return rng_(); }
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool Chance(int percent) { return static_cast<int>(rng_() % 100) < percent; }
  template <typename T, size_t N>
  const T& Of(const T (&arr)[N]) { return arr[Pick(N)]; }

 private:
  std::mt19937_64 rng_;
};

const char* const kReflowFlows[] = {"checkout", "checkout-v2", "billing", "search", "unknown"};
const char* const kOperonxFlows[] = {"callbot", "summarize"};
const char* const kActors[] = {"validator", "router", "payment.gateway", "db", "cache"};
const char* const kOps[] = {"g.fetch", "g.llm", "g.sub.parse", "tts"};
const char* const kModels[] = {"gpt-4o", "claude-3"};
const schema::EventType kReflowTypes[] = {
    schema::EventType::kActorStarted,  schema::EventType::kActorCompleted,  schema::EventType::kActorFailed,
    schema::EventType::kMessageSent,   schema::EventType::kMessageReceived, schema::EventType::kDataFlow,
    schema::EventType::kStateChanged,
};

std::string EventId16(uint64_t n) {
  schema::Id128 id = TraceId(n);
  id[0] = 0xE0;
  return std::string(reinterpret_cast<const char*>(id.data()), 16);
}

schema::Event ReflowEvent(Gen& g, uint64_t trace_n, size_t k, int64_t ts) {
  schema::Event e;
  e.event_id = EventId16(trace_n * 100 + k);
  e.timestamp_ns = ts;
  e.type = g.Of(kReflowTypes);
  e.actor = g.Of(kActors);
  auto& r = e.reflow.emplace();
  if (g.Chance(60)) r.port = g.Chance(50) ? "in" : "out";
  if (e.type == schema::EventType::kDataFlow) {
    e.to_actor = g.Of(kActors);
    e.to_port = "in";
  }
  if (g.Chance(50)) {
    auto& m = r.message.emplace();
    m.message_type = g.Chance(50) ? "Order" : "Invoice";
    m.size_bytes = 64 + g.Pick(4000);
  }
  if (e.type == schema::EventType::kActorFailed || g.Chance(5)) r.error = g.Chance(50) ? "timeout" : "out of memory";
  if (g.Chance(85)) r.metrics.execution_time_ns = 1000 * (1 + g.Pick(50000));  // 1us .. 50ms
  if (g.Chance(80)) r.metrics.memory_usage_bytes = 1024 * (1 + g.Pick(1000));
  if (g.Chance(80)) r.metrics.cpu_usage_percent = static_cast<float>(g.Pick(1000)) / 10.0f;
  if (g.Chance(80)) r.metrics.queue_depth = g.Pick(20);
  std::string attrs = "{\"retry\":" + std::to_string(g.Pick(4));
  if (g.Chance(50)) attrs += ",\"tenant\":\"" + std::string(g.Chance(50) ? "acme" : "globex") + "\"";
  if (g.Chance(30)) attrs += ",\"nested\":{\"k\":\"v" + std::to_string(g.Pick(3)) + "\"}";
  attrs += "}";
  r.custom_attributes_json = attrs;
  if (k > 0 && g.Chance(70)) r.causality.parent_event_id = TraceId(trace_n * 100 + k - 1);
  r.causality.root_cause_event_id = TraceId(trace_n * 100);
  return e;
}

schema::Event OperonxEvent(Gen& g, uint64_t trace_n, size_t k, int64_t ts, bool* failed) {
  schema::Event e;
  e.event_id = "req-" + std::to_string(trace_n) + "-" + std::to_string(k);
  e.timestamp_ns = ts;
  e.seq = k;
  auto& o = e.operonx.emplace();
  size_t kind = g.Pick(6);
  std::string op = g.Of(kOps);
  o.ctx = {"main"};
  if (g.Chance(30)) o.ctx.push_back("[" + std::to_string(g.Pick(3)) + "]");
  switch (kind) {
    case 0:
      e.type = schema::EventType::kOpStart;
      o.kind = "op_start";
      o.payload_json = "{\"inputs\":{}}";
      break;
    case 1:
    case 2: {
      e.type = schema::EventType::kOpEnd;
      o.kind = "op_end";
      const char* st = g.Chance(75) ? "ok" : (g.Chance(60) ? "error" : "cancelled");
      if (std::string(st) == "error") *failed = true;
      o.payload_json = "{\"status\":\"" + std::string(st) + "\",\"duration_ms\":" + std::to_string(g.Pick(500)) +
                       "." + std::to_string(g.Pick(10)) + ",\"yield_count\":0}";
      break;
    }
    case 3:
      e.type = schema::EventType::kLlmUsage;
      o.kind = "llm_usage";
      o.payload_json = "{\"model\":\"" + std::string(g.Of(kModels)) + "\",\"total_tokens\":" +
                       std::to_string(100 + g.Pick(900)) + ",\"cost_usd\":0.0" + std::to_string(1 + g.Pick(9)) + "}";
      break;
    case 4:
      e.type = schema::EventType::kAnnotation;
      o.kind = "annotation";
      o.payload_json = "{\"key\":\"turn\",\"value\":" + std::to_string(g.Pick(5)) + "}";
      break;
    default:
      e.type = g.Chance(50) ? schema::EventType::kGroupStart : schema::EventType::kGroupEnd;
      o.kind = e.type == schema::EventType::kGroupStart ? "group_start" : "group_end";
      o.payload_json = e.type == schema::EventType::kGroupStart ? "{\"name\":\"turn\"}"
                                                                : "{\"name\":\"turn\",\"status\":\"truncated\"}";
      o.ctx.clear();
      op.clear();
  }
  if (!op.empty()) o.op_name = op;
  e.actor = op;
  return e;
}

}  // namespace

schema::Id128 TraceId(uint64_t n) {
  schema::Id128 id{};
  for (int i = 0; i < 8; ++i) id[15 - i] = static_cast<uint8_t>(n >> (8 * i));
  return id;
}

std::string ShortId(const schema::Id128& id) {
  bool small = std::all_of(id.begin(), id.begin() + 8, [](uint8_t b) { return b == 0; });
  if (!small) return schema::FormatUuid(id);
  uint64_t n = 0;
  for (int i = 8; i < 16; ++i) n = (n << 8) | id[i];
  return "t" + std::to_string(n);
}

std::unique_ptr<engine::Engine> OpenMemoryEngine() {
  engine::Options o;
  o.in_memory = true;
  o.block_cache_bytes = 8 << 20;
  o.write_buffer_bytes = 8 << 20;
  auto r = engine::Engine::Open(o);
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

Status WriteDataset(engine::Engine* engine, const DatasetOptions& options) {
  Gen g(options.seed);
  engine::WriteBatch batch;
  engine::WriteBatch late;  // second chunk for some traces
  size_t slots = std::max<size_t>(1, options.traces / 4);
  for (uint64_t n = 1; n <= options.traces; ++n) {
    bool operonx = g.Chance(30);
    schema::Trace h;
    h.trace_id = TraceId(n);
    h.source = operonx ? schema::Source::kOperonx : schema::Source::kReflow;
    h.flow_id = operonx ? g.Of(kOperonxFlows) : g.Of(kReflowFlows);
    h.execution_id = TraceId(1000000 + n);
    h.version = {static_cast<uint32_t>(g.Pick(3)), static_cast<uint32_t>(g.Pick(5)),
                 static_cast<uint32_t>(g.Pick(10)), std::nullopt, kT0};
    int64_t slot = options.ties ? static_cast<int64_t>(g.Pick(slots)) : static_cast<int64_t>(n - 1);
    h.start_ns = kT0 + slot * options.spacing_ns;
    h.status.code = g.Chance(10) ? schema::StatusCode::kPending : schema::StatusCode::kRunning;
    h.metadata.environment = g.Chance(70) ? "prod" : "staging";
    h.metadata.hostname = "host-" + std::to_string(g.Pick(4));
    if (g.Chance(70)) h.metadata.user_id = "u" + std::to_string(g.Pick(5));
    if (g.Chance(50)) h.metadata.session_id = "s" + std::to_string(g.Pick(10));
    h.metadata.tags.emplace_back("region", g.Chance(50) ? "eu" : "us");
    if (g.Chance(50)) h.metadata.tags.emplace_back("tier", g.Chance(50) ? "gold" : "silver");
    if (operonx) h.external_id = "req-" + std::to_string(n);
    batch.StartTrace(h);

    size_t events = g.Pick(9);  // 0..8
    bool failed = false;
    int64_t ts = h.start_ns;
    for (size_t k = 0; k < events; ++k) {
      ts += static_cast<int64_t>(1000 * (1 + g.Pick(100000)));
      schema::Event e = operonx ? OperonxEvent(g, n, k, ts, &failed) : ReflowEvent(g, n, k, ts);
      if (e.type == schema::EventType::kActorFailed) failed = true;
      (k >= 5 && g.Chance(50) ? late : batch).AppendEvent(h.trace_id, std::move(e));
    }
    if (g.Chance(80)) {
      schema::ExecutionStatus st;
      size_t pick = g.Pick(10);
      st.code = failed || pick < 2 ? schema::StatusCode::kFailed
                : pick < 3         ? schema::StatusCode::kCancelled
                                   : schema::StatusCode::kCompleted;
      if (st.code == schema::StatusCode::kFailed) st.error = g.Chance(50) ? "timeout" : "actor failed";
      late.EndTrace(h.trace_id, st, ts + static_cast<int64_t>(1000 * (1 + g.Pick(1000000))));
    }
    if (batch.size() > 200) {
      TRACEDB_RETURN_IF_ERROR(engine->Write(batch).status());
      batch.Clear();
    }
  }
  TRACEDB_RETURN_IF_ERROR(engine->Write(batch).status());
  TRACEDB_RETURN_IF_ERROR(engine->Write(late).status());
  return Status::OK();
}

Result<std::vector<schema::Id128>> BruteForce(engine::Engine* engine, const Node& filter) {
  std::vector<engine::IndexEntry> ids;
  TRACEDB_RETURN_IF_ERROR(engine->ScanTraces([&](const schema::Trace& t) {
    ids.push_back({t.start_ns, t.trace_id});
    return true;
  }));
  std::sort(ids.begin(), ids.end(), engine::IndexBefore);
  std::vector<schema::Id128> out;
  for (const auto& e : ids) {
    TRACEDB_ASSIGN_OR_RETURN(auto t, engine->GetTrace(e.trace_id));
    if (!t) continue;
    FullTraceView view(*t);
    if (Evaluate(filter, view)) out.push_back(e.trace_id);
  }
  return out;
}

}  // namespace tracedb::query::testing
