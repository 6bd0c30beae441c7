#pragma once

// OTLP/JSON (the OTLP specification's JSON encoding, which is NOT plain
// proto3 JSON): the request decoder and the two reply encoders.
//
// What the decoder accepts (everything else is an InvalidArgument naming the
// byte offset and the path, e.g.
//   "invalid OTLP JSON at byte 812 (resourceSpans[0].scopeSpans[0].spans[2].traceId):
//    invalid hex digit 'g'"):
//  - keys in lowerCamelCase only (`traceId`, `droppedAttributesCount`); any
//    other key, including the proto field names (`trace_id`), is an unknown
//    field and is ignored, as OTLP requires. Unknown values must still be
//    well-formed JSON. `null` for a known field means its default value.
//  - `traceId`, `spanId`, `parentSpanId` (spans and links): case-insensitive
//    hex. An even number of digits of any length decodes to that many bytes
//    (half the digits), "" to an empty id: the decoder keeps what arrived and
//    the mapping refuses wrong-length ids per span through partial_success
//    (otlp.h). An odd number of digits or a non-hex character fails the
//    whole request: the id cannot be represented at all.
//  - 64-bit integers (`*UnixNano`, `intValue`) and every other integer field:
//    a JSON number or a decimal string, parsed exactly (never through a
//    double), range-checked against the field's type. No exponents or
//    fractions.
//  - enums (`kind`, `status.code`): integers only (number or decimal string);
//    names such as "SPAN_KIND_SERVER" fail.
//  - `doubleValue`: a number, a decimal string, or "NaN", "Infinity",
//    "-Infinity".
//  - `bytesValue`: base64, standard or URL-safe alphabet, padding optional.
//  - AnyValue: at most one value member; `{}` is the empty value; nesting
//    deeper than kMaxAnyValueDepth (otlp_proto.h) fails.
// A key repeated within one object: the last occurrence wins (arrays too).
// The decoded values' memory is bounded as in DecodeProto
// (kMaxDecodeAmplification, otlp_proto.h).

#include <string>
#include <string_view>

#include "common/result.h"
#include "ingest/otel/otlp.h"
#include "schema/json_input.h"

namespace tracedb::ingest::otel {

// Decodes an OTLP/JSON ExportTraceServiceRequest. `body` is the decompressed
// request body (UTF-8); with InputPadding::kPadded the caller guarantees
// schema::kJsonPadding readable bytes after it and saves a copy. The result
// owns its data. Thread-safe: each thread uses its own parser.
Result<ExportTraceServiceRequest> DecodeJson(std::string_view body,
                                             schema::InputPadding padding = schema::InputPadding::kNone);

// The JSON ExportTraceServiceResponse: `{}` when `partial.empty()`, else
// `{"partialSuccess":{"rejectedSpans":"1","errorMessage":"..."}}` (int64 as a
// string, default-valued members left out, as OTLP/JSON writes them).
std::string EncodeJsonResponse(const PartialSuccess& partial);

// A JSON google.rpc.Status: `{"code":3,"message":"..."}` (members with
// default values left out).
std::string EncodeJsonStatus(int code, std::string_view message);

}  // namespace tracedb::ingest::otel
