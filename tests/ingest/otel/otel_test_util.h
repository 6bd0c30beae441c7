#pragma once

// Shared by the OTLP decoder tests: the golden request's expected values,
// value builders, a random request generator, an OTLP/JSON writer and the
// conversion to the libprotobuf oracle (tests/ingest/otel/otlp_oracle.proto).

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "ingest/otel/otlp.h"
#include "otlp_oracle.pb.h"

namespace tracedb::ingest::otel::testing {

// The bytes of tests/ingest/otel/golden/<name>.
std::string ReadGolden(std::string_view name);

// "5b8e..." -> raw bytes. Precondition: valid hex of even length.
std::string Unhex(std::string_view hex);

AnyValue Str(std::string s);
AnyValue Int(int64_t i);
AnyValue Dbl(double d);
AnyValue Bool(bool b);
AnyValue Bytes(std::string b);
AnyValue Array(std::vector<AnyValue> values);
AnyValue KvList(std::vector<KeyValue> values);

// What the JS exporter sent in golden/js_exporter.{json,binpb}: written out
// by hand from capture_golden.mjs, independently of both decoders.
ExportTraceServiceRequest GoldenRequest();

// A random request: 0-3 resources, scopes and spans, random attributes
// (every AnyValue kind, nested up to `max_depth` levels), events, links.
// Built to exercise decoders, so many spans are invalid for storage: ids are
// mostly 16 / 8 bytes but 1 in 8 has length 0, 1, 3 or 17; times are random
// 64-bit values; kind and status code are drawn from {0..6, -1, INT32_MIN}.
// No NaN doubles, so that operator== compares. Deterministic for a given
// generator state.
ExportTraceServiceRequest RandomRequest(std::mt19937_64& rng, int max_depth = 3);

// The same values as a libprotobuf message. With `unknown_fields`, adds
// unknown fields of every wire type to the messages, which a decoder must
// skip.
tracedb::otlp_oracle::ExportTraceServiceRequest ToOracle(const ExportTraceServiceRequest& r,
                                                         std::mt19937_64* unknown_fields = nullptr);

// An OTLP/JSON text of `r`, written with random but valid choices: 64-bit
// integers as strings or numbers, hex ids in upper or lower case, unknown
// members sprinkled in, defaults sometimes left out.
std::string ToOtlpJson(const ExportTraceServiceRequest& r, std::mt19937_64& rng);

}  // namespace tracedb::ingest::otel::testing
