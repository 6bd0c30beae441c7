#pragma once

// OTLP/HTTP binary protobuf: the request decoder and the two reply encoders.
// Hand-written over the field numbers of otlp.h; no libprotobuf at run time
// (the evidence is in docs/dependencies.md).
//
// Wire rules (protobuf encoding spec, proto3):
//   message := field*
//   field   := tag:varint value      tag = field_number << 3 | wire_type
//   value   := varint (wire type 0) | fixed64 (1) | len:varint bytes[len] (2) | fixed32 (5)
// Unknown fields of wire types 0, 1, 2 and 5 are skipped; the deprecated
// group wire types 3 and 4, and 6 and 7, are refused. A known field with the
// wrong wire type is refused (libprotobuf would silently skip it as unknown;
// a sender that does this is broken and the user should hear it). As in
// proto3, a scalar field seen twice keeps its last value, a message field
// seen twice is merged, and repeated fields append. int32 / uint32 fields
// take the low 32 bits of the varint, as libprotobuf does.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"
#include "ingest/otel/otlp.h"

namespace tracedb::ingest::otel {

// Nested AnyValues (array_value / kvlist_value inside each other) deeper than
// this are refused: it bounds the decoders' recursion, whatever the input.
// Default: 64 (libprotobuf's own limit is 100 nested messages; an AnyValue
// level costs two messages).
inline constexpr int kMaxAnyValueDepth = 64;

// The decoded values may take at most this many times the body's size, plus
// 1 MiB, in element memory (the structs of spans, attributes, values, ...;
// string bytes are never more than the body's). The request of
// bench/micro/otlp_decode_bench.cc needs about 4x (by sizeof: 2,376 bytes of
// structs per span against 560 bytes of protobuf); a body of empty repeated
// messages would need up to 164x (a 2-byte empty span becomes a 328-byte
// Span), which this refuses before a 64 MiB body costs 10 GiB. Applies to
// DecodeJson too. Default: 64.
inline constexpr size_t kMaxDecodeAmplification = 64;

// Decodes a binary ExportTraceServiceRequest. `body` is the decompressed
// request body; the result owns copies of everything it needs (nothing
// borrows from `body`).
//
// Errors: InvalidArgument with the byte offset, the message and field, and
// the path from the root, e.g.
//   "invalid OTLP protobuf at byte 57 (resource_spans[0].scope_spans[0].spans[0]
//    .start_time_unix_nano; Span field 7): wire type 0, expected 1 (fixed64)".
// Strings (names, keys, string values) must be UTF-8, as in proto3. A body
// whose values would exceed the kMaxDecodeAmplification budget is refused
// (InvalidArgument, "... would take more than N bytes of memory").
// Thread-safe: no shared state.
Result<ExportTraceServiceRequest> DecodeProto(std::string_view body);

// The binary ExportTraceServiceResponse: field 1 partial_success
// {1 rejected_spans int64, 2 error_message}. Empty (0 bytes) when
// `partial.empty()`, as OTLP requires on full success.
std::string EncodeProtoResponse(const PartialSuccess& partial);

// A binary google.rpc.Status {1 code int32, 2 message}: the body of a 4xx/5xx
// reply. Fields with default values are omitted, as proto3 does.
std::string EncodeProtoStatus(int code, std::string_view message);

}  // namespace tracedb::ingest::otel
