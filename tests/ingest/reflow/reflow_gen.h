#pragma once

// Random values of every Reflow protocol type, for the codec's property
// tests (reflow_json_test.cc) and the fast path's differential test
// (reflow_fast_test.cc). Strings draw from a pool that needs every JSON
// escape, control characters and multi-byte UTF-8.

#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ingest/reflow/reflow_protocol.h"
#include "schema/json_writer.h"

namespace tracedb::ingest::reflow {

using schema::AppendJsonF64;
using schema::AppendJsonString;
using schema::MessageSnapshot;
using schema::ReflowEventData;
using schema::StateDiff;
using schema::StateDiffType;
using schema::StatusCode;

class Gen {
 public:
  // Plain: strings never need a JSON escape (printable ASCII except '"' and
  // '\\', and multi-byte UTF-8).
  enum class Strings : uint8_t { kAny, kPlain };
  explicit Gen(uint64_t seed, Strings strings = Strings::kAny) : rng_(seed), plain_(strings == Strings::kPlain) {}

  uint64_t U(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool Coin() { return U(2) == 0; }

  std::string Str() {
    static const char32_t kPool[] = {'a', 'Z', '0', ' ', '"', '\\', '/', '\b', '\f', '\n', '\r', '\t', 0x00,
                                     0x01, 0x1f, 0x7f, 0xe9, 0x65e5, 0x1F600, 0x2028, 0xFFFD};
    std::string s;
    const size_t n = U(12);
    static const char32_t kPlainPool[] = {'a', 'Z', '0', ' ', '/', 0x7f, 0xe9, 0x65e5, 0x1F600, 0x2028, 0xFFFD};
    for (size_t i = 0; i < n; ++i) {
      char32_t c = Coin() ? (plain_ ? kPlainPool[U(std::size(kPlainPool))] : kPool[U(std::size(kPool))])
                          : static_cast<char32_t>(0x20 + U(0x5f));
      if (plain_ && (c == '"' || c == '\\')) c = '_';
      Utf8(c, &s);
    }
    return s;
  }
  std::optional<std::string> OptStr() { return Coin() ? std::optional<std::string>(Str()) : std::nullopt; }

  Id128 Id() {
    Id128 id;
    for (auto& b : id) b = static_cast<uint8_t>(rng_());
    return id;
  }
  TimestampNs Ts() {
    TimestampNs v = static_cast<TimestampNs>(rng_());
    const int64_t unit[] = {1'000'000'000, 1'000'000, 1'000, 1};
    const int64_t u = unit[U(4)];
    return v / u * u;
  }
  float F32() {
    switch (U(5)) {
      case 0: return 0.0f;
      case 1: return static_cast<float>(U(1000)) / 4;
      default: {
        float f;
        do {
          uint32_t bits = static_cast<uint32_t>(rng_());
          std::memcpy(&f, &bits, 4);
        } while (!std::isfinite(f));
        return f;
      }
    }
  }
  double F64() {
    if (Coin()) return static_cast<double>(U(100000)) / 8;
    double d;
    do {
      uint64_t bits = rng_();
      std::memcpy(&d, &bits, 8);
    } while (!std::isfinite(d));
    return d;
  }
  std::vector<uint8_t> Bytes() {
    std::vector<uint8_t> v(U(6));
    for (auto& b : v) b = static_cast<uint8_t>(rng_());
    return v;
  }
  ExecutionStatus Status() {
    ExecutionStatus s;
    s.code = static_cast<StatusCode>(U(5));
    if (s.code == StatusCode::kFailed) s.error = Str();
    return s;
  }
  TraceEventType EvType() {
    TraceEventType t;
    t.type = static_cast<EventType>(1 + U(11));
    if (t.type == EventType::kDataFlow) {
      t.to_actor = Str();
      t.to_port = Str();
    }
    return t;
  }
  FlowVersion Version() {
    return FlowVersion{static_cast<uint32_t>(rng_()), static_cast<uint32_t>(U(3)), static_cast<uint32_t>(U(3)),
                       OptStr(), Ts()};
  }
  std::string Attrs() {
    std::string s = "{";
    const size_t n = U(3);
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) s += ",";
      AppendJsonString(Str() + std::to_string(i), &s);
      s += ":";
      switch (U(4)) {
        case 0: AppendJsonString(Str(), &s); break;
        case 1: s += "[1,-2.5e-3,null,true,{}]"; break;
        case 2: s += "{\"n\":{\"m\":[]}}"; break;
        default: AppendJsonF64(F64(), &s);
      }
    }
    return s + "}";
  }
  Event Ev() {
    Event e;
    Id128 id = Id();
    e.event_id.assign(reinterpret_cast<const char*>(id.data()), 16);
    e.timestamp_ns = Ts();
    TraceEventType t = EvType();
    e.type = t.type;
    e.to_actor = t.to_actor;
    e.to_port = t.to_port;
    e.actor = Str();
    ReflowEventData& d = e.reflow.emplace();
    d.port = OptStr();
    if (Coin()) {
      MessageSnapshot m;
      m.message_type = Str();
      m.size_bytes = rng_();
      m.checksum = Str();
      m.serialized_data = Bytes();
      if (Coin()) {
        m.has_g2_fields = true;
        m.content_codec = Str();
        m.content_format_version = static_cast<uint32_t>(rng_());
        if (Coin()) m.stored_bytes = rng_();
      }
      d.message = m;
    }
    if (Coin()) {
      StateDiff sd;
      if (Coin()) sd.before = Bytes();
      sd.after = Bytes();
      sd.diff_type = static_cast<StateDiffType>(U(3));
      d.state_diff = sd;
    }
    d.error = OptStr();
    if (Coin()) d.metrics.execution_time_ns = rng_();
    if (Coin()) d.metrics.memory_usage_bytes = rng_();
    if (Coin()) d.metrics.cpu_usage_percent = F32();
    if (Coin()) d.metrics.queue_depth = U(10);
    if (Coin()) d.metrics.throughput_msgs_per_sec = F64();
    d.custom_attributes_json = Attrs();
    if (Coin()) d.causality.parent_event_id = Id();
    d.causality.root_cause_event_id = Id();
    for (size_t i = U(3); i > 0; --i) d.causality.dependency_chain.push_back(Id());
    d.causality.span_id = Str();
    return e;
  }
  Trace Tr() {
    Trace t;
    t.trace_id = Id();
    t.flow_id = Str();
    t.execution_id = Id();
    t.version = Version();
    t.start_ns = Ts();
    if (Coin()) t.end_ns = Ts();
    t.status = Status();
    for (size_t i = U(3); i > 0; --i) t.events.push_back(Ev());
    t.metadata.user_id = OptStr();
    t.metadata.session_id = OptStr();
    t.metadata.environment = Str();
    t.metadata.hostname = Str();
    t.metadata.process_id = static_cast<uint32_t>(rng_());
    t.metadata.thread_id = Str();
    for (size_t i = U(3); i > 0; --i) t.metadata.tags.emplace_back(Str() + "#" + std::to_string(i), Str());
    return t;
  }
  TraceQuery Query() {
    TraceQuery q;
    q.flow_id = OptStr();
    if (Coin()) q.execution_id = Id();
    if (Coin()) q.time_range.emplace(Ts(), Ts());
    if (Coin()) q.status = Status();
    q.actor_filter = OptStr();
    if (Coin()) q.limit = rng_();
    if (Coin()) q.offset = U(100);
    return q;
  }
  SubscriptionFilters Filters() {
    SubscriptionFilters f;
    if (Coin()) f.flow_ids = std::vector<std::string>{Str(), Str()};
    if (Coin()) f.actor_ids = std::vector<std::string>{};
    if (Coin()) f.event_types = std::vector<TraceEventType>{EvType(), EvType()};
    if (Coin()) f.status_filter = std::vector<ExecutionStatus>{Status()};
    return f;
  }
  std::optional<Id128> OptId() { return Coin() ? std::optional<Id128>(Id()) : std::nullopt; }

  TracingRequest Req() {
    switch (U(9)) {
      case 0: return StartTrace{OptId(), Str(), Version()};
      case 1: return RecordEvent{Id(), Ev()};
      case 2: return GetTrace{OptId(), Id()};
      case 3: return QueryTraces{OptId(), Query()};
      case 4: return GetFlowVersions{Str()};
      case 5: return Ping{};
      case 6: return Subscribe{Filters()};
      case 7: return Unsubscribe{};
      default: return EndTrace{Id(), Status()};
    }
  }
  TraceMessage Legacy() {
    switch (U(5)) {
      case 0: return StoreTrace{Tr()};
      case 1: return QueryTraces{std::nullopt, Query()};
      case 2: return GetTrace{std::nullopt, Id()};
      case 3: return LegacySubscribe{Filters()};
      default: return GetMetrics{};
    }
  }
  TracingResponse Resp() {
    switch (U(8)) {
      case 0: return TraceStarted{Id()};
      case 1: return EventRecorded{Coin(), OptStr()};
      case 2: return TraceData{OptId(), Coin() ? std::optional<Trace>(Tr()) : std::nullopt};
      case 3: return QueryResults{OptId(), {Tr(), Tr()}, rng_()};
      case 4: return FlowVersions{{Version(), Version()}};
      case 5: return Pong{};
      case 6: return EventNotification{Id(), Ev()};
      default: return Error{Str(), static_cast<ErrorCode>(U(6))};
    }
  }
  TraceResponse LegacyResp() {
    switch (U(5)) {
      case 0: return TraceStored{Id()};
      case 1: return TracesFound{{Tr()}};
      case 2: return LegacyTraceData{Tr()};
      case 3: return LegacyError{Str()};
      default: return Metrics{Attrs()};
    }
  }

 private:
  static void Utf8(char32_t c, std::string* s) {
    if (c < 0x80) {
      s->push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      s->push_back(static_cast<char>(0xC0 | (c >> 6)));
      s->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      s->push_back(static_cast<char>(0xE0 | (c >> 12)));
      s->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      s->push_back(static_cast<char>(0xF0 | (c >> 18)));
      s->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  std::mt19937_64 rng_;
  bool plain_ = false;
};

}  // namespace tracedb::ingest::reflow
