// ingest_otlp: OTLP/HTTP protobuf ingest, what an OpenTelemetry SDK's batch
// span processor (or a collector) sends to tracedb's main port.
//
// The data set: --events spans (RunConfig::ingest_events) in traces of 8 to
// 20 spans (a SERVER root, CLIENT / INTERNAL children down to depth 3, each
// child's parent an earlier span of its trace) from 6 services, ~10
// attributes per span of mixed types (http.method, http.route,
// http.status_code, net.peer.name, net.peer.port, db.system, db.statement,
// thread.id, sample.ratio, cache.hit, ...), status ERROR with an "exception"
// event on ~3 % of spans. The span stream, trace by trace, is cut every 512
// spans into ExportTraceServiceRequest bodies (one ResourceSpans per service
// in the body, one scope each), so a trace may straddle two requests, as
// with a real batch processor. Encoded before timing with the libprotobuf
// oracle classes (tests/ingest/otel/otlp_oracle.proto); every body is
// checked to decode with tracedb's own decoder (ingest/otel/otlp_proto.h)
// to the same span count.
//
//   tracedb         `tracedb serve --data DIR` as a child process on a free
//                   127.0.0.1 port; RunConfig::clients keep-alive HTTP
//                   clients POST the bodies to /v1/traces
//                   (application/x-protobuf), each waiting for the 200 reply
//                   (sent once the spans are durable).
//   tracedb-inproc  the same bodies decoded in this process
//                   (ingest::otel::DecodeProto), mapped
//                   (AppendExportRequest) into one engine::WriteBatch per
//                   body and Engine::Write: tracedb's cost without HTTP.
//
// Timed: from the first body to the last reply. Latency: per request.
// Throughput: spans/s end to end. Bytes per span: the store after the
// server's clean exit, reopened and compacted, over the spans sent.
// Verified (both): the store holds exactly the generated traces, each with
// exactly its spans (span ids, names, parent ids); over HTTP also: every
// reply is 200 with an ExportTraceServiceResponse without
// partial_success and the server exits 0 on SIGTERM. A server without POST /v1/traces is "unavailable", which the
// runner counts as a failure (bench/main.cc).

#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "bench/net.h"
#include "bench/runner.h"
#include "ingest/otel/otlp_mapping.h"
#include "ingest/otel/otlp_proto.h"
#include "otlp_oracle.pb.h"

namespace tracedb::bench {

namespace {

namespace oracle = tracedb::otlp_oracle;

constexpr size_t kSpansPerRequest = 512;
constexpr std::string_view kContentType = "application/x-protobuf";

// What the store must hold for one span.
struct SpanKey {
  std::string span_id;  // 8 bytes
  std::string parent_span_id;
  std::string name;
};

struct GeneratedTrace {
  schema::Id128 trace_id{};
  std::vector<SpanKey> spans;
};

struct OtlpDataset {
  std::vector<std::string> bodies;
  std::vector<GeneratedTrace> traces;
  uint64_t spans = 0;
  uint64_t bytes = 0;
};

struct Service {
  const char* name;
  const char* peer;
  const char* db_system;  // "" = no database client spans
};

constexpr Service kServices[] = {
    {"frontend", "checkout.internal", ""},           {"checkout", "payments.internal", "postgresql"},
    {"payments", "bank-gateway.example", "postgresql"}, {"catalog", "catalog-db.internal", "mysql"},
    {"cart", "cart-cache.internal", "redis"},          {"shipping", "carrier-api.example", "mongodb"},
};
constexpr const char* kRoutes[] = {"/api/checkout", "/api/cart/{id}", "/api/products/{sku}", "/api/orders/{id}",
                                   "/api/shipping/quote", "/api/payments/{id}/capture"};
constexpr const char* kMethods[] = {"GET", "GET", "GET", "POST", "PUT", "DELETE"};
constexpr const char* kStatements[] = {"SELECT * FROM orders WHERE id = ?", "UPDATE carts SET items = ? WHERE id = ?",
                                       "INSERT INTO payments (order_id, amount) VALUES (?, ?)",
                                       "SELECT sku, price FROM products WHERE sku IN (?)"};

void Attr(google::protobuf::RepeatedPtrField<oracle::KeyValue>* kvs, std::string key, std::string value) {
  oracle::KeyValue* kv = kvs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_string_value(std::move(value));
}
void Attr(google::protobuf::RepeatedPtrField<oracle::KeyValue>* kvs, std::string key, int64_t value) {
  oracle::KeyValue* kv = kvs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_int_value(value);
}
void AttrD(google::protobuf::RepeatedPtrField<oracle::KeyValue>* kvs, std::string key, double value) {
  oracle::KeyValue* kv = kvs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_double_value(value);
}
void AttrB(google::protobuf::RepeatedPtrField<oracle::KeyValue>* kvs, std::string key, bool value) {
  oracle::KeyValue* kv = kvs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_bool_value(value);
}

// Builds request bodies span by span; a body is cut at kSpansPerRequest.
class RequestBuilder {
 public:
  explicit RequestBuilder(OtlpDataset* out) : out_(out) {}

  oracle::Span* AddSpan(size_t service) {
    if (spans_in_request_ == kSpansPerRequest) Flush();
    auto it = scope_of_service_.find(service);
    if (it == scope_of_service_.end()) {
      oracle::ResourceSpans* rs = request_.add_resource_spans();
      auto* attrs = rs->mutable_resource()->mutable_attributes();
      Attr(attrs, "service.name", kServices[service].name);
      Attr(attrs, "service.version", "1.4.2");
      Attr(attrs, "deployment.environment", "production");
      Attr(attrs, "host.name", fmt::format("{}-7d9f{}", kServices[service].name, service));
      Attr(attrs, "telemetry.sdk.language", "nodejs");
      oracle::ScopeSpans* ss = rs->add_scope_spans();
      ss->mutable_scope()->set_name("@opentelemetry/instrumentation-http");
      ss->mutable_scope()->set_version("0.57.0");
      it = scope_of_service_.emplace(service, ss).first;
    }
    ++spans_in_request_;
    return it->second->add_spans();
  }

  void Flush() {
    if (spans_in_request_ == 0) return;
    std::string body;
    request_.SerializeToString(&body);
    out_->bytes += body.size();
    out_->bodies.push_back(std::move(body));
    request_.Clear();
    scope_of_service_.clear();
    spans_in_request_ = 0;
  }

 private:
  OtlpDataset* out_;
  oracle::ExportTraceServiceRequest request_;
  std::unordered_map<size_t, oracle::ScopeSpans*> scope_of_service_;
  size_t spans_in_request_ = 0;
};

OtlpDataset Generate(uint64_t span_target, uint64_t seed) {
  OtlpDataset data;
  std::mt19937_64 rng(seed);
  auto uniform = [&](uint64_t n) { return rng() % n; };
  auto bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng() | 1);  // never all zero
    return s;
  };
  const int64_t base_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() -
                          int64_t{3600} * 1'000'000'000;
  RequestBuilder builder(&data);
  for (uint64_t t = 0; data.spans < span_target; ++t) {
    GeneratedTrace trace;
    std::string trace_id = bytes(16);
    std::copy(trace_id.begin(), trace_id.end(), trace.trace_id.begin());
    const size_t n = std::min<uint64_t>(8 + uniform(13), span_target - data.spans);
    const size_t root_service = t % std::size(kServices);
    const int64_t trace_start = base_ns + static_cast<int64_t>(t) * 1'000'000;
    std::vector<int> depth;
    for (size_t i = 0; i < n; ++i) {
      size_t parent = i == 0 ? 0 : uniform(i);
      while (i > 0 && depth[parent] >= 3) parent = uniform(i);
      depth.push_back(i == 0 ? 0 : depth[parent] + 1);
      const size_t service = i == 0 ? root_service : (root_service + uniform(3)) % std::size(kServices);
      const Service& svc = kServices[service];
      const bool db = svc.db_system[0] != '\0' && uniform(3) == 0;
      const bool error = uniform(32) == 0;
      oracle::Span* span = builder.AddSpan(service);
      span->set_trace_id(trace_id);
      span->set_span_id(bytes(8));
      if (i > 0) span->set_parent_span_id(trace.spans[parent].span_id);
      const char* route = kRoutes[uniform(std::size(kRoutes))];
      span->set_name(i == 0 ? fmt::format("{} {}", kMethods[uniform(std::size(kMethods))], route)
                     : db   ? fmt::format("{} {}", svc.db_system, "query")
                            : fmt::format("{} {}", svc.name, i % 2 ? "handle" : "render"));
      span->set_kind(i == 0 ? 2 : db ? 3 : 1);
      const int64_t start = trace_start + static_cast<int64_t>(i) * 150'000;
      span->set_start_time_unix_nano(static_cast<uint64_t>(start));
      span->set_end_time_unix_nano(static_cast<uint64_t>(start + 50'000 + static_cast<int64_t>(uniform(5'000'000))));
      span->set_flags(0x101);
      auto* attrs = span->mutable_attributes();
      Attr(attrs, "http.method", kMethods[uniform(std::size(kMethods))]);
      Attr(attrs, "http.route", route);
      Attr(attrs, "http.status_code", int64_t{error ? 500 : 200});
      Attr(attrs, "net.peer.name", svc.peer);
      Attr(attrs, "net.peer.port", int64_t{443});
      Attr(attrs, "thread.id", static_cast<int64_t>(uniform(64)));
      AttrD(attrs, "sample.ratio", 0.25);
      AttrB(attrs, "cache.hit", uniform(2) == 0);
      if (db) {
        Attr(attrs, "db.system", svc.db_system);
        Attr(attrs, "db.statement", kStatements[uniform(std::size(kStatements))]);
      } else {
        Attr(attrs, "http.user_agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0");
        Attr(attrs, "http.response_content_length", static_cast<int64_t>(uniform(65536)));
      }
      if (error) {
        span->mutable_status()->set_code(2);
        span->mutable_status()->set_message("upstream timed out");
        oracle::Span::Event* ev = span->add_events();
        ev->set_time_unix_nano(static_cast<uint64_t>(start + 40'000));
        ev->set_name("exception");
        Attr(ev->mutable_attributes(), "exception.type", "TimeoutError");
        Attr(ev->mutable_attributes(), "exception.message", "upstream timed out after 5000 ms");
      } else if (i == 0) {
        span->mutable_status()->set_code(1);
      }
      trace.spans.push_back({span->span_id(), span->parent_span_id(), span->name()});
      ++data.spans;
    }
    data.traces.push_back(std::move(trace));
  }
  builder.Flush();
  return data;
}

// Every body decodes with tracedb's own decoder to the spans it was built with.
std::string CheckBodies(const OtlpDataset& data) {
  uint64_t spans = 0;
  for (const std::string& body : data.bodies) {
    auto req = ingest::otel::DecodeProto(body);
    if (!req.ok()) return "a generated body does not decode: " + req.status().ToString();
    for (const auto& rs : req->resource_spans) {
      for (const auto& ss : rs.scope_spans) spans += ss.spans.size();
    }
  }
  return spans == data.spans ? "" : fmt::format("the bodies decode to {} spans, {} generated", spans, data.spans);
}

std::string VerifyStore(const OtlpDataset& data, engine::Engine* eng) {
  uint64_t stored = 0;
  Status s = eng->ScanTraces([&](const schema::Trace&) {
    ++stored;
    return true;
  });
  if (!s.ok()) return s.ToString();
  if (stored != data.traces.size()) return fmt::format("{} traces stored, {} sent", stored, data.traces.size());
  for (size_t t = 0; t < data.traces.size(); ++t) {
    const GeneratedTrace& want = data.traces[t];
    auto got = eng->GetTrace(want.trace_id);
    if (!got.ok()) return got.status().ToString();
    if (!got->has_value()) return fmt::format("trace {} missing", t);
    const auto& events = (*got)->events;
    if (events.size() != want.spans.size())
      return fmt::format("trace {}: {} spans stored, {} sent", t, events.size(), want.spans.size());
    std::unordered_map<std::string_view, const schema::Event*> by_id;
    for (const schema::Event& e : events) by_id.emplace(e.event_id, &e);
    for (const SpanKey& span : want.spans) {
      auto it = by_id.find(span.span_id);
      if (it == by_id.end()) return fmt::format("trace {}: span {} missing", t, span.name);
      const schema::Event& e = *it->second;
      if (e.actor != span.name || !e.otel)
        return fmt::format("trace {}: span {} stored as actor \"{}\"", t, span.name, e.actor);
      std::string parent = e.otel->parent_span_id ? std::string(e.otel->parent_span_id->begin(),
                                                                 e.otel->parent_span_id->end())
                                                  : std::string();
      if (parent != span.parent_span_id) return fmt::format("trace {}: span {} has another parent", t, span.name);
    }
  }
  return "";
}

// A 200 reply must be an ExportTraceServiceResponse without partial_success.
std::string CheckReply(const HttpResponse& r) {
  if (r.status != 200) return fmt::format("HTTP {}: {}", r.status, r.body.substr(0, 300));
  oracle::ExportTraceServiceResponse reply;
  if (!reply.ParseFromString(r.body)) return "a 200 reply is not an ExportTraceServiceResponse";
  if (reply.has_partial_success())
    return fmt::format("partial success: {} rejected: {}", reply.partial_success().rejected_spans(),
                       reply.partial_success().error_message());
  return "";
}

Figures RunInproc(Context& ctx, const OtlpDataset& data) {
  Figures f;
  f.workload = "ingest_otlp";
  f.system = "tracedb-inproc";
  f.unit = "spans/s";
  auto opened = engine::Engine::Open(BenchEngineOptions(ctx, ctx.NewDir("otlp-inproc")));
  if (!opened.ok()) {
    f.status = "FAILED: " + opened.status().ToString();
    return f;
  }
  auto eng = std::move(opened).value();
  ResetPeakRss();
  double rss0 = CurrentRssMb();
  LatencyRecorder lat;
  uint64_t written = 0;
  std::string problem;
  std::optional<ProfileSection> profile(std::in_place);
  auto start = Clock::now();
  for (const std::string& body : data.bodies) {
    auto t0 = Clock::now();
    auto req = ingest::otel::DecodeProto(body);
    if (!req.ok()) {
      problem = req.status().ToString();
      break;
    }
    engine::WriteBatch batch;
    ingest::otel::MapResult mapped = ingest::otel::AppendExportRequest(std::move(req).value(), &batch);
    if (!mapped.partial_success.empty()) {
      problem = mapped.partial_success.error_message;
      break;
    }
    auto r = eng->Write(batch);
    if (!r.ok()) {
      problem = r.status().ToString();
      break;
    }
    lat.AddSince(t0);
    written += r->events_written;
  }
  f.seconds = SecondsSince(start);
  profile.reset();
  RecordTiming(&f, PeakRssMb() - rss0, data.spans, lat);
  f.note = fmt::format("decode + mapping + engine, no HTTP; {:.0f} MB/s of protobuf",
                       static_cast<double>(data.bytes) / f.seconds / 1e6);
  if (problem.empty() && written != data.spans)
    problem = fmt::format("{} spans written, {} sent", written, data.spans);
  if (problem.empty()) {
    Status cs = eng->CompactAll();
    f.bytes_per_event = static_cast<double>(eng->DiskUsageBytes()) / static_cast<double>(data.spans);
    problem = cs.ok() ? VerifyStore(data, eng.get()) : cs.ToString();
  }
  RecordVerification(&f, problem);
  return f;
}

Figures RunServer(Context& ctx, const OtlpDataset& data) {
  Figures f;
  f.workload = "ingest_otlp";
  f.system = "tracedb";
  f.unit = "spans/s";
  std::string dir = ctx.NewDir("otlp");
  ServerProcess server;
  Status s = server.Start(ctx.config().tracedb_binary, {"--data", dir + "/data"});
  if (!s.ok()) {
    f.status = "unavailable: " + s.message();
    return f;
  }
  {
    // A request of one empty ResourceSpans (field 1, length 0) holds no
    // span: a full success. Anything but 200 means no OTLP receiver. (Not an
    // empty body: HttpClient sends no Content-Type with one.)
    HttpClient probe;
    s = probe.Connect("127.0.0.1", server.port());
    auto r = s.ok() ? probe.Request("POST", "/v1/traces", std::string_view("\x0a\x00", 2), kContentType)
                    : Result<HttpResponse>(s);
    if (!r.ok() || r->status != 200) {
      f.status = "unavailable: server has no POST /v1/traces" +
                 (r.ok() ? fmt::format(" (HTTP {})", r->status) : " (" + r.status().ToString() + ")");
      return f;
    }
  }
  const uint32_t clients = std::max<uint32_t>(1, ctx.config().clients);
  std::vector<LatencyRecorder> lats(clients);
  std::vector<std::string> errors(clients);
  std::atomic<size_t> next{0};
  std::optional<ProfileSection> profile(std::in_place);
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (uint32_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      HttpClient client;
      Status cs = client.Connect("127.0.0.1", server.port());
      if (!cs.ok()) {
        errors[c] = cs.ToString();
        return;
      }
      for (size_t i = next++; i < data.bodies.size(); i = next++) {
        auto t0 = Clock::now();
        auto r = client.Request("POST", "/v1/traces", data.bodies[i], kContentType);
        if (!r.ok()) {
          errors[c] = r.status().ToString();
          return;
        }
        lats[c].AddSince(t0);
        if (errors[c] = CheckReply(*r); !errors[c].empty()) return;
      }
    });
  }
  for (auto& t : threads) t.join();
  f.seconds = SecondsSince(start);
  profile.reset();
  LatencyRecorder merged;
  for (const LatencyRecorder& l : lats) merged.Merge(l);
  RecordTiming(&f, server.PeakRssMb(), data.spans, merged);
  f.note = fmt::format("{} HTTP clients, {} spans/request, {} traces, {:.0f} B/span of protobuf", clients,
                       kSpansPerRequest, data.traces.size(),
                       static_cast<double>(data.bytes) / static_cast<double>(data.spans));
  for (const std::string& e : errors) {
    if (!e.empty()) {
      f.status = "FAILED: " + e;
      return f;
    }
  }
  int st = server.Stop();
  std::string problem = server.ExitProblem(st);
  auto opened = engine::Engine::Open(BenchEngineOptions(ctx, dir + "/data"));
  if (problem.empty() && !opened.ok()) problem = "reopen after server exit: " + opened.status().ToString();
  if (problem.empty()) {
    auto eng = std::move(opened).value();
    Status cs = eng->CompactAll();
    f.bytes_per_event = static_cast<double>(eng->DiskUsageBytes()) / static_cast<double>(data.spans);
    problem = cs.ok() ? VerifyStore(data, eng.get()) : cs.ToString();
  }
  RecordVerification(&f, problem);
  return f;
}

}  // namespace

void RunIngestOtlp(Context& ctx, std::vector<Figures>* out) {
  ctx.Log("ingest_otlp: generating protobuf bodies (untimed)");
  const OtlpDataset data = Generate(ctx.config().ingest_events, ctx.config().seed);
  if (std::string problem = CheckBodies(data); !problem.empty()) {
    Figures f;
    f.workload = "ingest_otlp";
    f.system = "tracedb";
    f.status = "FAILED: " + problem;
    out->push_back(f);
    return;
  }
  out->push_back(RunServer(ctx, data));
  out->push_back(RunInproc(ctx, data));
}

}  // namespace tracedb::bench
