#pragma once

// One OTLP/HTTP export request (POST /v1/traces), independent of the
// transport: the network layer pushes the body's chunks into a BodyPipe; a
// worker thread runs RunOtlpExport, which decompresses them (capped at
// otlp.max_request_bytes *after* decompression, as the OTLP specification
// requires), decodes the ExportTraceServiceRequest (ingest/otel), maps it
// onto one engine::WriteBatch, commits it through the group commit and
// builds the reply in the request's encoding:
//   200 ExportTraceServiceResponse, partial_success naming refused spans
//       (sent only after the commit returned: the spans are durable);
//   400 google.rpc.Status: the body does not decompress or decode;
//   413 Status: the decompressed body exceeds the limit;
//   503 Status (+ Retry-After): the store refused the write (a full disk,
//       or a storage backend that could not be reached: refusal
//       kBackendUnavailable, the message names the shard);
//   500 Status: any other storage error.
// A retried export is not stored twice: a span's event id is its span id,
// and the engine drops events it already holds.
//
// Thread-safety: RunOtlpExport runs on one thread per request; the other
// functions are pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "server/http_ingest.h"

namespace tracedb::server {

enum class OtlpEncoding : uint8_t { kProtobuf, kJson };

// The encoding of a Content-Type value: "application/x-protobuf" (also
// "application/protobuf") or "application/json", parameters ignored,
// case-insensitive. Anything else is InvalidArgument naming the value.
Result<OtlpEncoding> OtlpEncodingFor(std::string_view content_type);
// "application/x-protobuf" or "application/json".
std::string_view OtlpContentType(OtlpEncoding encoding);
// The encoding an error reply to a request with this Content-Type uses:
// JSON when it names json, else protobuf.
OtlpEncoding OtlpErrorEncoding(std::string_view content_type);

// A google.rpc.Status body for an HTTP error status: its code is the gRPC
// code matching the HTTP status (400 INVALID_ARGUMENT, 401 UNAUTHENTICATED,
// 403 PERMISSION_DENIED, 404 NOT_FOUND, 413 / 429 RESOURCE_EXHAUSTED,
// 503 UNAVAILABLE, else INTERNAL / UNKNOWN).
std::string OtlpStatusBody(OtlpEncoding encoding, int http_status, std::string_view message);

struct OtlpExportSpec {
  OtlpEncoding encoding = OtlpEncoding::kProtobuf;
  Codec codec = Codec::kNone;
  // Largest decompressed body; beyond it 413. Default: 64 MiB.
  uint64_t max_request_bytes = uint64_t{64} << 20;
};

struct OtlpExportOutcome {
  int http_status = 200;
  std::string body;  // in spec.encoding
  uint64_t accepted_spans = 0;   // newly stored
  uint64_t rejected_spans = 0;   // refused through partial_success
  uint64_t duplicate_spans = 0;  // already stored (a retried export)
  uint64_t decoded_bytes = 0;
  // Set when the reply is a refusal of the one refusal map (503, a storage
  // backend that could not be reached).
  std::optional<Refusal> refusal;
};

// Runs one export: pops `pipe` to its end, decompresses, decodes, maps,
// commits through `commit`. Aborts the pipe when it stops early (413, 400)
// so that the producer stops waiting; a pipe aborted by the producer is
// 499 with no commit.
OtlpExportOutcome RunOtlpExport(const OtlpExportSpec& spec, BodyPipe* pipe, const CommitFn& commit);

}  // namespace tracedb::server
