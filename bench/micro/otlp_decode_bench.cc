// Micro-benchmarks of the OTLP request decoders (ingest/otel/) and the
// evidence for the choices recorded in docs/dependencies.md ("OTLP"):
//
//   BM_OtlpProto_DecodeHandWritten     shipped: DecodeProto -> otel::ExportTraceServiceRequest
//   BM_OtlpProto_LibprotobufParse      libprotobuf 3.21 ParseFromString into generated classes
//                                      (our own .proto), a lower bound: no conversion
//   BM_OtlpProto_LibprotobufToValues   the same plus conversion into the otel:: values, i.e.
//                                      what a libprotobuf-based decoder would cost
//   BM_OtlpProto_LibprotobufArena      ParseFromString on an arena (no conversion)
//   BM_OtlpJson_DecodeSimdjson         shipped: DecodeJson (simdjson on-demand)
//   BM_OtlpJson_BoostDomParse          boost::json::parse of the same body only: a lower
//                                      bound for a Boost.JSON decoder
//
// The request: one resource (5 attributes), one scope, 512 spans with
// 16-byte trace ids, 8-byte span and parent ids, 10 attributes (string, int,
// double, bool) and 2 events of 2 attributes each: what an instrumented HTTP
// service's batch span processor sends. Items are spans.
#include <benchmark/benchmark.h>

#include <google/protobuf/arena.h>

#include <boost/json.hpp>

#include <random>
#include <string>

#include "ingest/otel/otlp_json.h"
#include "ingest/otel/otlp_proto.h"
#include "otlp_oracle.pb.h"

namespace tracedb::ingest::otel {
namespace {

namespace oracle = tracedb::otlp_oracle;

constexpr int kSpans = 512;

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Appends a KeyValue to both encodings: `json_value` is the AnyValue JSON.
void Attr(google::protobuf::RepeatedPtrField<oracle::KeyValue>* kvs, std::string* json, bool first,
          const std::string& key, const oracle::AnyValue& value, const std::string& json_value) {
  oracle::KeyValue* kv = kvs->Add();
  kv->set_key(key);
  *kv->mutable_value() = value;
  if (!first) json->push_back(',');
  *json += R"({"key":")" + key + R"(","value":)" + json_value + "}";
}

oracle::AnyValue S(const std::string& s) {
  oracle::AnyValue v;
  v.set_string_value(s);
  return v;
}
oracle::AnyValue I(int64_t i) {
  oracle::AnyValue v;
  v.set_int_value(i);
  return v;
}

struct Bodies {
  std::string proto;
  std::string json;
};

const Bodies& Request() {
  static const Bodies kBodies = [] {
    std::mt19937_64 rng(7);
    auto bytes = [&](int n) {
      std::string s(n, '\0');
      for (char& c : s) c = static_cast<char>(rng());
      return s;
    };
    oracle::ExportTraceServiceRequest req;
    std::string json = R"({"resourceSpans":[{"resource":{"attributes":[)";
    oracle::ResourceSpans* rs = req.add_resource_spans();
    auto* res = rs->mutable_resource()->mutable_attributes();
    const char* res_keys[] = {"service.name", "service.version", "host.name", "k8s.pod.name", "deployment.environment"};
    for (int i = 0; i < 5; ++i) {
      const std::string v = std::string("value-") + res_keys[i];
      Attr(res, &json, i == 0, res_keys[i], S(v), R"({"stringValue":")" + v + R"("})");
    }
    json += R"(],"droppedAttributesCount":0},"scopeSpans":[{"scope":{"name":"@opentelemetry/instrumentation-http","version":"0.57.0"},"spans":[)";
    oracle::ScopeSpans* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("@opentelemetry/instrumentation-http");
    ss->mutable_scope()->set_version("0.57.0");
    const std::string trace = bytes(16);
    const uint64_t t0 = 1796533263631000123;
    for (int i = 0; i < kSpans; ++i) {
      oracle::Span* s = ss->add_spans();
      s->set_trace_id(i % 8 == 0 ? bytes(16) : trace);
      s->set_span_id(bytes(8));
      s->set_parent_span_id(bytes(8));
      s->set_name("GET /api/v1/orders/{id}");
      s->set_kind(2);
      s->set_start_time_unix_nano(t0 + i * 1000);
      s->set_end_time_unix_nano(t0 + i * 1000 + 250000);
      s->set_flags(257);
      s->mutable_status()->set_code(i % 50 == 0 ? 2 : 0);
      if (i > 0) json.push_back(',');
      json += R"({"traceId":")" + Hex(s->trace_id()) + R"(","spanId":")" + Hex(s->span_id()) +
              R"(","parentSpanId":")" + Hex(s->parent_span_id()) + R"(","name":")" + s->name() +
              R"(","kind":2,"startTimeUnixNano":")" + std::to_string(s->start_time_unix_nano()) +
              R"(","endTimeUnixNano":")" + std::to_string(s->end_time_unix_nano()) + R"(","attributes":[)";
      auto* a = s->mutable_attributes();
      Attr(a, &json, true, "http.request.method", S("GET"), R"({"stringValue":"GET"})");
      Attr(a, &json, false, "http.route", S("/api/v1/orders/{id}"), R"({"stringValue":"/api/v1/orders/{id}"})");
      Attr(a, &json, false, "url.path", S("/api/v1/orders/" + std::to_string(i)),
           R"({"stringValue":"/api/v1/orders/)" + std::to_string(i) + R"("})");
      Attr(a, &json, false, "http.response.status_code", I(200), R"({"intValue":200})");
      Attr(a, &json, false, "server.address", S("orders.internal"), R"({"stringValue":"orders.internal"})");
      Attr(a, &json, false, "server.port", I(8080), R"({"intValue":8080})");
      Attr(a, &json, false, "network.protocol.version", S("1.1"), R"({"stringValue":"1.1"})");
      oracle::AnyValue d;
      d.set_double_value(0.125 * i);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", 0.125 * i);
      Attr(a, &json, false, "app.score", d, R"({"doubleValue":)" + std::string(buf) + "}");
      oracle::AnyValue b;
      b.set_bool_value(i % 2 == 0);
      Attr(a, &json, false, "app.cache_hit", b, i % 2 == 0 ? R"({"boolValue":true})" : R"({"boolValue":false})");
      Attr(a, &json, false, "user_agent.original", S("Mozilla/5.0 (X11; Linux x86_64)"),
           R"j({"stringValue":"Mozilla/5.0 (X11; Linux x86_64)"})j");
      json += R"(],"droppedAttributesCount":0,"events":[)";
      for (int e = 0; e < 2; ++e) {
        oracle::Span::Event* ev = s->add_events();
        ev->set_time_unix_nano(t0 + i * 1000 + 100 * (e + 1));
        ev->set_name(e == 0 ? "db.query.start" : "db.query.end");
        if (e > 0) json.push_back(',');
        json += R"({"timeUnixNano":")" + std::to_string(ev->time_unix_nano()) + R"(","name":")" + ev->name() +
                R"(","attributes":[)";
        Attr(ev->mutable_attributes(), &json, true, "db.system", S("postgresql"), R"({"stringValue":"postgresql"})");
        Attr(ev->mutable_attributes(), &json, false, "db.rows", I(42 + e), R"({"intValue":)" + std::to_string(42 + e) + "}");
        json += R"(],"droppedAttributesCount":0})";
      }
      json += R"(],"droppedEventsCount":0,"links":[],"droppedLinksCount":0,"status":{"code":)" +
              std::to_string(s->status().code()) + R"(},"flags":257})";
    }
    json += "]}]}]}";
    return Bodies{req.SerializeAsString(), json};
  }();
  return kBodies;
}

void Done(benchmark::State& state, size_t bytes) {
  state.SetItemsProcessed(state.iterations() * kSpans);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

void BM_OtlpProto_DecodeHandWritten(benchmark::State& state) {
  const std::string& body = Request().proto;
  for (auto _ : state) {
    auto r = DecodeProto(body);
    if (!r.ok() || r->resource_spans[0].scope_spans[0].spans.size() != kSpans) {
      state.SkipWithError(r.ok() ? "wrong span count" : r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  Done(state, body.size());
}
BENCHMARK(BM_OtlpProto_DecodeHandWritten);

void BM_OtlpProto_LibprotobufParse(benchmark::State& state) {
  const std::string& body = Request().proto;
  for (auto _ : state) {
    oracle::ExportTraceServiceRequest req;
    if (!req.ParseFromString(body) || req.resource_spans(0).scope_spans(0).spans_size() != kSpans) {
      state.SkipWithError("ParseFromString failed");
      break;
    }
    benchmark::DoNotOptimize(req);
  }
  Done(state, body.size());
}
BENCHMARK(BM_OtlpProto_LibprotobufParse);

void BM_OtlpProto_LibprotobufArena(benchmark::State& state) {
  const std::string& body = Request().proto;
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* req = google::protobuf::Arena::CreateMessage<oracle::ExportTraceServiceRequest>(&arena);
    if (!req->ParseFromString(body)) {
      state.SkipWithError("ParseFromString failed");
      break;
    }
    benchmark::DoNotOptimize(req);
  }
  Done(state, body.size());
}
BENCHMARK(BM_OtlpProto_LibprotobufArena);

// ---- libprotobuf -> otel:: values, as a libprotobuf-based decoder would do ----

void FromOracle(const google::protobuf::RepeatedPtrField<oracle::KeyValue>& in, std::vector<KeyValue>* out);

void FromOracle(const oracle::AnyValue& in, AnyValue* out) {
  switch (in.value_case()) {
    case oracle::AnyValue::kStringValue: out->kind = AnyValue::Kind::kString; out->str = in.string_value(); break;
    case oracle::AnyValue::kBoolValue: out->kind = AnyValue::Kind::kBool; out->i = in.bool_value(); break;
    case oracle::AnyValue::kIntValue: out->kind = AnyValue::Kind::kInt; out->i = in.int_value(); break;
    case oracle::AnyValue::kDoubleValue: out->kind = AnyValue::Kind::kDouble; out->d = in.double_value(); break;
    case oracle::AnyValue::kBytesValue: out->kind = AnyValue::Kind::kBytes; out->str = in.bytes_value(); break;
    case oracle::AnyValue::kArrayValue:
      out->kind = AnyValue::Kind::kArray;
      for (const auto& v : in.array_value().values()) FromOracle(v, &out->array.emplace_back());
      break;
    case oracle::AnyValue::kKvlistValue:
      out->kind = AnyValue::Kind::kKvList;
      FromOracle(in.kvlist_value().values(), &out->kvlist);
      break;
    case oracle::AnyValue::VALUE_NOT_SET: break;
  }
}

void FromOracle(const google::protobuf::RepeatedPtrField<oracle::KeyValue>& in, std::vector<KeyValue>* out) {
  out->reserve(in.size());
  for (const auto& kv : in) {
    KeyValue& o = out->emplace_back();
    o.key = kv.key();
    FromOracle(kv.value(), &o.value);
  }
}

ExportTraceServiceRequest FromOracle(const oracle::ExportTraceServiceRequest& in) {
  ExportTraceServiceRequest out;
  for (const auto& rs : in.resource_spans()) {
    ResourceSpans& ors = out.resource_spans.emplace_back();
    FromOracle(rs.resource().attributes(), &ors.resource.attributes);
    ors.resource.dropped_attributes_count = rs.resource().dropped_attributes_count();
    ors.schema_url = rs.schema_url();
    for (const auto& ss : rs.scope_spans()) {
      ScopeSpans& oss = ors.scope_spans.emplace_back();
      oss.scope.name = ss.scope().name();
      oss.scope.version = ss.scope().version();
      FromOracle(ss.scope().attributes(), &oss.scope.attributes);
      oss.schema_url = ss.schema_url();
      oss.spans.reserve(ss.spans_size());
      for (const auto& s : ss.spans()) {
        Span& o = oss.spans.emplace_back();
        o.trace_id = s.trace_id();
        o.span_id = s.span_id();
        o.trace_state = s.trace_state();
        o.parent_span_id = s.parent_span_id();
        o.name = s.name();
        o.kind = s.kind();
        o.start_time_unix_nano = s.start_time_unix_nano();
        o.end_time_unix_nano = s.end_time_unix_nano();
        FromOracle(s.attributes(), &o.attributes);
        o.dropped_attributes_count = s.dropped_attributes_count();
        for (const auto& e : s.events()) {
          SpanEvent& oe = o.events.emplace_back();
          oe.time_unix_nano = e.time_unix_nano();
          oe.name = e.name();
          FromOracle(e.attributes(), &oe.attributes);
        }
        for (const auto& l : s.links()) {
          SpanLink& ol = o.links.emplace_back();
          ol.trace_id = l.trace_id();
          ol.span_id = l.span_id();
          ol.trace_state = l.trace_state();
          FromOracle(l.attributes(), &ol.attributes);
          ol.flags = l.flags();
        }
        o.status.code = s.status().code();
        o.status.message = s.status().message();
        o.flags = s.flags();
      }
    }
  }
  return out;
}

void BM_OtlpProto_LibprotobufToValues(benchmark::State& state) {
  const std::string& body = Request().proto;
  const ExportTraceServiceRequest want = *DecodeProto(body);
  for (auto _ : state) {
    oracle::ExportTraceServiceRequest req;
    if (!req.ParseFromString(body)) {
      state.SkipWithError("ParseFromString failed");
      break;
    }
    ExportTraceServiceRequest r = FromOracle(req);
    benchmark::DoNotOptimize(r);
    if (state.iterations() == 0 && !(r == want)) {
      state.SkipWithError("libprotobuf and DecodeProto disagree");
      break;
    }
  }
  Done(state, body.size());
}
BENCHMARK(BM_OtlpProto_LibprotobufToValues);

void BM_OtlpJson_DecodeSimdjson(benchmark::State& state) {
  const Bodies& b = Request();
  const ExportTraceServiceRequest want = *DecodeProto(b.proto);
  for (auto _ : state) {
    auto r = DecodeJson(b.json);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    if (state.iterations() == 0 && !(*r == want)) {
      state.SkipWithError("JSON and protobuf bodies decode differently");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  Done(state, b.json.size());
}
BENCHMARK(BM_OtlpJson_DecodeSimdjson);

void BM_OtlpJson_BoostDomParse(benchmark::State& state) {
  const std::string& body = Request().json;
  for (auto _ : state) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(body, ec);
    if (ec) {
      state.SkipWithError(ec.message().c_str());
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  Done(state, body.size());
}
BENCHMARK(BM_OtlpJson_BoostDomParse);

}  // namespace
}  // namespace tracedb::ingest::otel
