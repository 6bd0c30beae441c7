#include "bench/generator.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace tracedb::bench {

namespace {

using schema::Event;
using schema::EventType;
using schema::Id128;
using schema::Trace;

constexpr const char* kFlowNames[] = {
    "checkout",      "ingest-sensors", "fraud-score",  "invoice-render", "user-signup",
    "search-index",  "email-digest",   "image-resize", "payment-settle", "inventory-sync",
    "ml-feature",    "log-compact",    "geo-enrich",   "cart-abandon",   "report-daily",
    "webhook-relay", "video-encode",   "price-update", "audit-trail",    "session-close"};
constexpr const char* kActorRoles[] = {"reader",     "parser",   "validator", "enricher", "router",
                                       "writer",     "scorer",   "notifier",  "cache",    "aggregator"};
constexpr const char* kMessageTypes[] = {"SensorReading", "OrderEvent", "UserAction", "Invoice",
                                         "FeatureVector", "ImageChunk", "PaymentIntent", "Notification"};
constexpr const char* kRegions[] = {"eu-west-1", "us-east-1", "ap-south-1", "us-west-2"};
constexpr const char* kErrors[] = {"timeout after 30s waiting for upstream", "validation failed: missing field sku",
                                   "connection reset by peer", "quota exceeded for tenant"};

uint64_t Mix(uint64_t a, uint64_t b) {
  Rng r(a ^ (b * 0xD6E8FEB86659FD93ULL));
  return r.Next();
}

Id128 RandomUuid(Rng& rng) {
  Id128 id;
  uint64_t a = rng.Next(), b = rng.Next();
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<uint8_t>(a >> (8 * i));
    id[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  id[6] = static_cast<uint8_t>((id[6] & 0x0F) | 0x40);  // version 4
  id[8] = static_cast<uint8_t>((id[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return id;
}

std::string UuidText(const Id128& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[id[i] >> 4]);
    s.push_back(kHex[id[i] & 15]);
  }
  return s;
}

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// A serialized message as Reflow carries it: the JSON text of a small
// record, padded to `n` bytes with a realistic notes field.
std::vector<uint8_t> MessageBody(Rng& rng, uint32_t n, std::string_view type) {
  std::string s = fmt::format("{{\"type\":\"{}\",\"id\":{},\"value\":{:.3f},\"unit\":\"ms\",\"notes\":\"", type,
                              rng.Below(1000000), rng.Unit() * 1000);
  static constexpr char kWords[] = "abcdefghijklmnopqrstuvwxyz      ";
  while (s.size() + 2 < n) s.push_back(kWords[rng.Below(sizeof(kWords) - 1)]);
  s += "\"}";
  return Bytes(s);
}

}  // namespace

std::string Generator::FlowName(uint32_t f) const {
  constexpr uint32_t kNames = sizeof(kFlowNames) / sizeof(kFlowNames[0]);
  if (f < kNames) return kFlowNames[f];
  return fmt::format("{}-{}", kFlowNames[f % kNames], f / kNames);
}

std::string Generator::ActorName(uint32_t a) const {
  constexpr uint32_t kRoles = sizeof(kActorRoles) / sizeof(kActorRoles[0]);
  return fmt::format("{}-{}", kActorRoles[a % kRoles], a / kRoles);
}

std::vector<uint32_t> Generator::ActorsOfFlow(uint32_t f) const {
  Rng rng(Mix(options_.seed, 0xF10F0000ULL + f));
  uint32_t n = 6 + static_cast<uint32_t>(rng.Below(9));
  n = std::min(n, options_.actors);
  std::vector<uint32_t> out;
  while (out.size() < n) {
    uint32_t a = static_cast<uint32_t>(rng.Below(options_.actors));
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  return out;
}

uint32_t Generator::EventCount(uint64_t index) const {
  if (options_.long_trace_every > 0 && index % options_.long_trace_every == options_.long_trace_every - 1) {
    return options_.max_events;
  }
  Rng rng(Mix(options_.seed, index * 3 + 1));
  double lo = std::log(static_cast<double>(options_.min_events));
  double hi = std::log(static_cast<double>(options_.max_events) + 1);
  auto n = static_cast<uint32_t>(std::exp(lo + rng.Unit() * (hi - lo)));
  return std::clamp(n, options_.min_events, options_.max_events);
}

bool Generator::IsFailed(uint64_t index) const {
  Rng rng(Mix(options_.seed, index * 3 + 2));
  return rng.Unit() < options_.failed_fraction;
}

uint32_t Generator::FlowOf(uint64_t index) const {
  Rng rng(Mix(options_.seed, index * 3 + 3));
  return static_cast<uint32_t>(rng.Below(options_.flows));
}

schema::TimestampNs Generator::StartOf(uint64_t index) const {
  Rng rng(Mix(options_.seed, index * 7 + 5));
  return options_.base_ns + static_cast<int64_t>(index) * options_.trace_spacing_ns +
         static_cast<int64_t>(rng.Below(static_cast<uint64_t>(options_.trace_spacing_ns)));
}

uint64_t Generator::TracesFor(uint64_t first, uint64_t events) const {
  uint64_t n = 0, total = 0;
  while (total < events) total += EventCount(first + n++);
  return n;
}

schema::Id128 Generator::TraceIdOf(uint64_t index) const {
  Rng rng(Mix(options_.seed, index * 11 + 7));
  return RandomUuid(rng);
}

bool Generator::HasActor(uint64_t index, uint32_t a) const {
  std::vector<uint32_t> actors = ActorsOfFlow(FlowOf(index));
  size_t used = std::min<size_t>(actors.size(), EventCount(index));
  return std::find(actors.begin(), actors.begin() + static_cast<std::ptrdiff_t>(used), a) !=
         actors.begin() + static_cast<std::ptrdiff_t>(used);
}

Trace Generator::MakeTrace(uint64_t index) const {
  Rng rng(Mix(options_.seed, index * 11 + 7));
  const uint32_t flow = FlowOf(index);
  const uint32_t n = EventCount(index);
  const bool failed = IsFailed(index);
  const std::vector<uint32_t> actors = ActorsOfFlow(flow);

  Trace t;
  t.trace_id = RandomUuid(rng);
  t.source = schema::Source::kReflow;
  t.flow_id = FlowName(flow);
  t.execution_id = RandomUuid(rng);
  t.version.major = 1 + flow % 3;
  t.version.minor = static_cast<uint32_t>((index / 5000) % 4);
  t.version.patch = flow % 7;
  t.version.git_hash = fmt::format("{:07x}", (flow * 2654435761u + t.version.minor) & 0xFFFFFFF);
  t.version.timestamp_ns = options_.base_ns - 86'400'000'000'000LL + t.version.minor * 3'600'000'000'000LL;
  t.start_ns = StartOf(index);
  t.status.code = schema::StatusCode::kRunning;
  if (rng.Below(4) != 0) t.metadata.user_id = fmt::format("user-{}", rng.Below(5000));
  if (rng.Below(2) != 0) t.metadata.session_id = fmt::format("sess-{:08x}", rng.Below(1u << 30));
  t.metadata.environment = rng.Below(10) == 0 ? "staging" : "production";
  t.metadata.hostname = fmt::format("worker-{:02}", rng.Below(24));
  t.metadata.process_id = 1000 + static_cast<uint32_t>(rng.Below(60000));
  t.metadata.thread_id = fmt::format("ThreadId({})", rng.Below(16));
  const char* region = kRegions[rng.Below(4)];
  t.metadata.tags = {{"region", region}, {"tenant", fmt::format("t-{}", rng.Below(200))}};

  // Event layout: creations, a body of message traffic, completions.
  const uint32_t created = std::min<uint32_t>(static_cast<uint32_t>(actors.size()), n / 3);
  const uint32_t completed = std::min<uint32_t>(static_cast<uint32_t>(actors.size()), (n - created) / 2);
  const uint32_t fail_at = failed ? n - completed - 1 + (completed == 0 ? 1 : 0) : UINT32_MAX;
  const std::string tenant = t.metadata.tags[1].second;
  const std::string span = UuidText(RandomUuid(rng));

  // --event-bytes: a compact event (no custom attributes, state diffs or
  // dependency chains; no message snapshot unless there is room for a
  // payload) prints ~690 bytes. Half the events carry the snapshot: ~100
  // bytes of fields plus ~3.5 characters per payload byte.
  const bool compact = options_.event_bytes != 0 && options_.event_bytes < 1100;
  const int64_t room = (static_cast<int64_t>(options_.event_bytes) - 690) * 2 - 100;
  const uint32_t message_bytes =
      !compact ? options_.message_bytes : static_cast<uint32_t>(std::max<int64_t>(0, room * 2 / 7));
  t.events.reserve(n);
  schema::TimestampNs ts = t.start_ns;
  Id128 root{}, prev{};
  for (uint32_t k = 0; k < n; ++k) {
    ts += 10'000 + static_cast<int64_t>(rng.Below(2'000'000));
    Event e;
    Id128 eid = RandomUuid(rng);
    e.event_id.assign(reinterpret_cast<const char*>(eid.data()), eid.size());
    e.timestamp_ns = ts;
    e.seq = k;
    schema::ReflowEventData d;
    uint32_t a = actors[k % actors.size()];
    uint32_t b = actors[(k + 1 + rng.Below(actors.size() - 1)) % actors.size()];
    const char* msg_type = kMessageTypes[(a + flow) % 8];
    if (k < created) {
      e.type = EventType::kActorCreated;
    } else if (k == fail_at) {
      e.type = EventType::kActorFailed;
      d.error = kErrors[rng.Below(4)];
    } else if (k >= n - completed) {
      e.type = EventType::kActorCompleted;
      a = actors[(n - 1 - k) % actors.size()];
    } else {
      switch (rng.Below(8)) {
        case 0: case 1: e.type = EventType::kMessageSent; break;
        case 2: case 3: case 4: e.type = EventType::kDataFlow; break;
        case 5: case 6: e.type = EventType::kMessageReceived; break;
        default: e.type = EventType::kStateChanged; break;
      }
    }
    e.actor = ActorName(a);
    switch (e.type) {
      case EventType::kDataFlow:
        e.to_actor = ActorName(b);
        e.to_port = "in";
        [[fallthrough]];
      case EventType::kMessageSent:
      case EventType::kMessageReceived: {
        d.port = e.type == EventType::kMessageReceived ? "in" : "out";
        schema::MessageSnapshot m;
        m.message_type = msg_type;
        m.serialized_data = MessageBody(rng, message_bytes, msg_type);
        m.size_bytes = m.serialized_data.size() + rng.Below(4096);
        m.checksum = fmt::format("xxh3:{:016x}", rng.Next());
        if (!compact || message_bytes > 0) d.message = std::move(m);
        break;
      }
      case EventType::kStateChanged: {
        schema::StateDiff sd;
        sd.before = Bytes(fmt::format("{{\"count\":{},\"state\":\"idle\"}}", k));
        sd.after = Bytes(fmt::format("{{\"count\":{},\"state\":\"busy\"}}", k + 1));
        sd.diff_type = schema::StateDiffType::kIncremental;
        if (!compact) d.state_diff = std::move(sd);
        break;
      }
      default:
        break;
    }
    d.metrics.execution_time_ns = static_cast<uint64_t>(std::exp(9.0 + rng.Unit() * 9.0));  // 8 us .. 66 ms
    d.metrics.memory_usage_bytes = (1u << 20) + rng.Below(64u << 20);
    d.metrics.cpu_usage_percent = static_cast<float>(rng.Below(1000)) / 10.0f;
    d.metrics.queue_depth = rng.Below(32);
    d.metrics.throughput_msgs_per_sec = static_cast<double>(rng.Below(200000)) / 10.0;
    if (!compact) d.custom_attributes_json = fmt::format(
        "{{\"message_id\":\"msg_{}_{}\",\"tenant\":\"{}\",\"region\":\"{}\",\"retry\":{},"
        "\"route\":{{\"hop\":{},\"path\":[\"{}\",\"{}\"]}},\"labels\":{{\"priority\":\"{}\",\"sla_ms\":{}}}}}",
        index, k, tenant, region, rng.Below(3), k % 7, e.actor, ActorName(b), rng.Below(3) == 0 ? "high" : "normal",
        50 * (1 + rng.Below(10)));
    if (k == 0) root = eid;
    d.causality.root_cause_event_id = root;
    if (k > 0) d.causality.parent_event_id = prev;
    if (e.type == EventType::kDataFlow && k > 0 && !compact) d.causality.dependency_chain = {root, prev};
    d.causality.span_id = span;
    e.reflow = std::move(d);
    prev = eid;
    t.events.push_back(std::move(e));
  }
  t.end_ns = ts + 1'000'000;
  if (failed) {
    t.status.code = schema::StatusCode::kFailed;
    t.status.error = t.events[std::min(fail_at, n - 1)].reflow->error.value_or("failed");
  } else {
    t.status.code = schema::StatusCode::kCompleted;
  }
  return t;
}

Trace Generator::MakeOperonxRequest(uint64_t index) const {
  Rng rng(Mix(options_.seed, index * 13 + 9));
  Trace t;
  t.source = schema::Source::kOperonx;
  t.external_id = fmt::format("req-{:08x}-{}", rng.Below(1u << 31), index);
  t.flow_id = FlowName(static_cast<uint32_t>(rng.Below(options_.flows)));
  t.start_ns = StartOf(index);
  t.metadata.user_id = fmt::format("user-{}", rng.Below(5000));
  t.metadata.session_id = fmt::format("sess-{}", rng.Below(1000));
  t.attributes_json = "{\"partial\":false}";
  const uint32_t ops = 3 + static_cast<uint32_t>(rng.Below(20));
  schema::TimestampNs ts = t.start_ns;
  uint64_t seq = 0;
  auto add = [&](EventType type, const char* kind, std::string op, std::vector<std::string> ctx, std::string payload) {
    Event e;
    e.event_id = fmt::format("{}-{}", t.external_id, seq);
    ts += 50'000 + static_cast<int64_t>(rng.Below(5'000'000));
    e.timestamp_ns = ts;
    e.seq = seq++;
    e.type = type;
    e.actor = op;
    schema::OperonxEvent o;
    o.kind = kind;
    if (!op.empty()) o.op_name = op;
    o.ctx = std::move(ctx);
    o.payload_json = std::move(payload);
    e.operonx = std::move(o);
    t.events.push_back(std::move(e));
  };
  add(EventType::kGroupStart, "group_start", "", {}, "{\"name\":\"turn-0\",\"turn_index\":0}");
  for (uint32_t i = 0; i < ops; ++i) {
    std::string op = fmt::format("g.{}", kActorRoles[rng.Below(10)]);
    add(EventType::kOpStart, "op_start", op, {"main"}, fmt::format("{{\"inputs\":{{\"x\":{}}}}}", rng.Below(100)));
    uint32_t yields = rng.Below(4) == 0 ? 1 + static_cast<uint32_t>(rng.Below(3)) : 0;
    for (uint32_t y = 0; y < yields; ++y) {
      add(EventType::kOpYield, "op_yield", op, {"main", fmt::format("[{}]", y)},
          fmt::format("{{\"yielded\":{{\"chunk\":{}}},\"idx\":{}}}", y, y));
    }
    if (rng.Below(5) == 0) {
      add(EventType::kLlmUsage, "llm_usage", op, {"main"},
          fmt::format("{{\"model\":\"gpt-x\",\"prompt_tokens\":{},\"completion_tokens\":{},\"total_tokens\":{},"
                      "\"cost_usd\":{:.5f}}}",
                      100, 50, 150, rng.Unit() / 100));
    }
    const char* status = rng.Below(50) == 0 ? "error" : "ok";
    add(EventType::kOpEnd, "op_end", op, {"main"},
        fmt::format("{{\"outputs\":{{\"y\":{}}},\"status\":\"{}\",\"duration_ms\":{:.3f},\"yield_count\":{}}}",
                    rng.Below(100), status, rng.Unit() * 50, yields));
  }
  add(EventType::kGroupEnd, "group_end", "", {}, "{\"name\":\"turn-0\",\"status\":\"ok\"}");
  t.end_ns = ts;
  t.status.code = schema::StatusCode::kCompleted;
  return t;
}

std::vector<StreamOp> Interleave(const std::vector<Trace>& traces, uint32_t concurrency, uint64_t seed) {
  Rng rng(seed ^ 0x1A7E4EAFULL);
  std::vector<StreamOp> out;
  size_t total = 0;
  for (const Trace& t : traces) total += t.events.size() + 2;
  out.reserve(total);
  struct Open {
    uint32_t trace;
    uint32_t next;
  };
  std::vector<Open> open;
  uint32_t next_trace = 0;
  concurrency = std::max<uint32_t>(concurrency, 1);
  while (next_trace < traces.size() || !open.empty()) {
    while (open.size() < concurrency && next_trace < traces.size()) {
      out.push_back({StreamOp::Kind::kStart, next_trace, 0});
      open.push_back({next_trace++, 0});
    }
    size_t pick = rng.Below(open.size());
    Open& o = open[pick];
    const uint32_t n = static_cast<uint32_t>(traces[o.trace].events.size());
    uint32_t burst = 1 + static_cast<uint32_t>(rng.Below(8));
    for (uint32_t i = 0; i < burst && o.next < n; ++i) out.push_back({StreamOp::Kind::kEvent, o.trace, o.next++});
    if (o.next == n) {
      out.push_back({StreamOp::Kind::kEnd, o.trace, 0});
      open[pick] = open.back();
      open.pop_back();
    }
  }
  return out;
}

}  // namespace tracedb::bench
