// Fuzz target for the OTLP protobuf decoder (ingest/otel/otlp_proto.h).
// Every input must decode or fail with an InvalidArgument that says where,
// never crash. Whatever decodes must hold the decoder's promises (strings are
// UTF-8, AnyValue nesting within the limit) and must decode to the same
// value when an unknown field is appended (unknown fields are skipped).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "ingest/otel/otlp_proto.h"

namespace {

using namespace tracedb::ingest::otel;  // NOLINT: fuzz harness

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "otlp_proto_fuzz: %s\n", what);
    std::abort();
  }
}

bool Utf8(const std::string& s) { return simdjson::validate_utf8(s.data(), s.size()); }

// Checks the decoder's promises, and replaces NaN doubles by 0 so that two
// decodes of the same bits compare equal (NaN != NaN).
void CheckAttributes(std::vector<KeyValue>* kvs, int depth);

void CheckValue(AnyValue* v, int depth) {
  Check(depth <= kMaxAnyValueDepth, "AnyValue deeper than the limit");
  if (v->kind == AnyValue::Kind::kString) Check(Utf8(v->str), "string value is not UTF-8");
  if (v->d != v->d) v->d = 0;
  for (AnyValue& e : v->array) CheckValue(&e, depth + 1);
  CheckAttributes(&v->kvlist, depth + 1);
}

void CheckAttributes(std::vector<KeyValue>* kvs, int depth) {
  for (KeyValue& kv : *kvs) {
    Check(Utf8(kv.key), "key is not UTF-8");
    CheckValue(&kv.value, depth);
  }
}

void CheckRequest(ExportTraceServiceRequest* r) {
  for (ResourceSpans& rs : r->resource_spans) {
    CheckAttributes(&rs.resource.attributes, 1);
    for (ScopeSpans& ss : rs.scope_spans) {
      Check(Utf8(ss.scope.name) && Utf8(ss.scope.version), "scope is not UTF-8");
      CheckAttributes(&ss.scope.attributes, 1);
      for (Span& s : ss.spans) {
        Check(Utf8(s.name) && Utf8(s.trace_state) && Utf8(s.status.message), "span string is not UTF-8");
        CheckAttributes(&s.attributes, 1);
        for (SpanEvent& e : s.events) CheckAttributes(&e.attributes, 1);
        for (SpanLink& l : s.links) CheckAttributes(&l.attributes, 1);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto r = DecodeProto(input);
  if (!r.ok()) {
    Check(r.status().code() == tracedb::StatusCode::kInvalidArgument, "error is not InvalidArgument");
    Check(r.status().message().find("at byte ") != std::string::npos, "error does not say where");
    return 0;
  }
  CheckRequest(&*r);
  // Field 99, wire type 2, three bytes: unknown at the top level.
  const std::string extended = std::string(input) + std::string("\x9a\x06\x03xyz", 6);
  auto again = DecodeProto(extended);
  if (!again.ok()) std::fprintf(stderr, "%s\n", again.status().ToString().c_str());
  Check(again.ok(), "an appended unknown field made the input fail");
  CheckRequest(&*again);
  Check(*again == *r, "an appended unknown field changed the result");
  return 0;
}
