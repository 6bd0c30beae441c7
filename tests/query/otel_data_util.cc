#include "tests/query/otel_data_util.h"

#include "ingest/otel/otlp_mapping.h"
#include "tests/query/query_test_util.h"

namespace tracedb::query::testing {

namespace {

namespace otel = ingest::otel;

constexpr int64_t kMs = 1'000'000;

otel::AnyValue Str(std::string s) {
  otel::AnyValue v;
  v.kind = otel::AnyValue::Kind::kString;
  v.str = std::move(s);
  return v;
}
otel::AnyValue Int(int64_t i) {
  otel::AnyValue v;
  v.kind = otel::AnyValue::Kind::kInt;
  v.i = i;
  return v;
}
otel::AnyValue Dbl(double d) {
  otel::AnyValue v;
  v.kind = otel::AnyValue::Kind::kDouble;
  v.d = d;
  return v;
}
otel::AnyValue Bool(bool b) {
  otel::AnyValue v;
  v.kind = otel::AnyValue::Kind::kBool;
  v.i = b ? 1 : 0;
  return v;
}

std::string SpanId(uint64_t n, uint8_t k) {
  std::string id(8, '\0');
  id[0] = static_cast<char>(k);
  id[7] = static_cast<char>(n);
  return id;
}

otel::Span MakeSpan(uint64_t n, uint8_t k, uint8_t parent, std::string name, int32_t kind, int64_t start,
                    int64_t duration) {
  schema::Id128 id = TraceId(n);
  otel::Span s;
  s.trace_id.assign(reinterpret_cast<const char*>(id.data()), id.size());
  s.span_id = SpanId(n, k);
  if (parent) s.parent_span_id = SpanId(n, parent);
  s.name = std::move(name);
  s.kind = kind;
  s.start_time_unix_nano = static_cast<uint64_t>(start);
  s.end_time_unix_nano = static_cast<uint64_t>(start + duration);
  return s;
}

otel::ResourceSpans Resource(std::string service, std::string pod, std::vector<otel::Span> spans) {
  otel::ResourceSpans rs;
  rs.resource.attributes.push_back({"service.name", Str(std::move(service))});
  rs.resource.attributes.push_back({"k8s.pod.name", Str(std::move(pod))});
  otel::ScopeSpans ss;
  ss.scope.name = "tracedb-test";
  ss.scope.version = "1.0";
  ss.spans = std::move(spans);
  rs.scope_spans.push_back(std::move(ss));
  return rs;
}

}  // namespace

std::string RootService(uint64_t n) {
  static const char* kServices[] = {"checkout", "frontend", "search"};
  return kServices[n % 3];
}

std::string RootName(uint64_t n) { return "GET /" + RootService(n); }

int64_t DbQueryMs(uint64_t n) { return static_cast<int64_t>((n * 7) % 23 + 1); }

Status WriteOtelDataset(engine::Engine* engine) {
  engine::WriteBatch batch;
  for (uint64_t n = 1; n <= kOtelTraces; ++n) {
    int64_t t0 = kT0 + static_cast<int64_t>(n) * kSecond;
    otel::Span root = MakeSpan(n, 1, 0, RootName(n), 2, t0, (50 + static_cast<int64_t>(n)) * kMs);
    root.attributes.push_back({"http.route", Str("/" + RootService(n))});
    root.attributes.push_back({"http.status_code", Int(n % 6 == 0 ? 500 : 200)});
    if (n % 6 == 0) {
      root.status.code = 2;
      root.status.message = "boom";
    }
    otel::Span db = MakeSpan(n, 2, 1, "db.query", 3, t0 + kMs, DbQueryMs(n) * kMs);
    db.status.code = 1;
    db.attributes.push_back({"db.system", Str("postgresql")});
    db.attributes.push_back({"db.rows", Int(static_cast<int64_t>(n % 7))});
    otel::Span cache = MakeSpan(n, 3, 1, "cache.get", 1, t0 + 2 * kMs, static_cast<int64_t>(n % 3) * kMs + kMs / 2);
    cache.attributes.push_back({"cache.hit", Bool(n % 2 == 0)});
    cache.attributes.push_back({"ratio", Dbl(static_cast<double>(n) / 8)});
    std::vector<otel::Span> own = {root, cache};
    if (n % 4 == 0) {
      otel::Span publish = MakeSpan(n, 4, 1, "publish", 4, t0 + 3 * kMs, kMs);
      publish.status.code = 1;
      own.push_back(publish);
    }
    otel::ExportTraceServiceRequest request;
    if (n % 2 == 0) {
      request.resource_spans.push_back(Resource(RootService(n), "pod-" + std::to_string(n % 4), std::move(own)));
      otel::ResourceSpans db_resource = Resource("db", "db-0", {db});
      request.resource_spans.push_back(std::move(db_resource));
    } else {
      own.push_back(db);
      request.resource_spans.push_back(Resource(RootService(n), "pod-" + std::to_string(n % 4), std::move(own)));
    }
    otel::MapResult r = otel::AppendExportRequest(std::move(request), &batch);
    if (!r.partial_success.empty()) return Status::Internal("otel test data refused");
  }
  return engine->Write(batch).status();
}

}  // namespace tracedb::query::testing
