#include "server/otlp_export.h"

#include <fmt/format.h>

#include <cctype>

#include "engine/engine.h"
#include "ingest/otel/otlp_json.h"
#include "ingest/otel/otlp_mapping.h"
#include "ingest/otel/otlp_proto.h"
#include "server/http_api.h"
#include "schema/json_input.h"

namespace tracedb::server {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The media type of a Content-Type value: lower case, parameters and
// blanks dropped.
std::string MediaType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  return Lower(t);
}

// gRPC status codes (google.rpc.Code).
int GrpcCodeFor(int http_status) {
  switch (http_status) {
    case 400: return 3;   // INVALID_ARGUMENT
    case 401: return 16;  // UNAUTHENTICATED
    case 403: return 7;   // PERMISSION_DENIED
    case 404: return 5;   // NOT_FOUND
    case 413:             // RESOURCE_EXHAUSTED
    case 429: return 8;
    case 503: return 14;  // UNAVAILABLE
    case 500: return 13;  // INTERNAL
    default: return 2;    // UNKNOWN
  }
}

OtlpExportOutcome Fail(const OtlpExportSpec& spec, int http_status, std::string_view message) {
  OtlpExportOutcome out;
  out.http_status = http_status;
  out.body = OtlpStatusBody(spec.encoding, http_status, message);
  return out;
}

}  // namespace

Result<OtlpEncoding> OtlpEncodingFor(std::string_view content_type) {
  std::string media = MediaType(content_type);
  if (media == "application/x-protobuf" || media == "application/protobuf") return OtlpEncoding::kProtobuf;
  if (media == "application/json") return OtlpEncoding::kJson;
  return Status::InvalidArgument(fmt::format(
      "Content-Type '{}' is not supported; OTLP/HTTP takes application/x-protobuf or application/json",
      content_type));
}

std::string_view OtlpContentType(OtlpEncoding encoding) {
  return encoding == OtlpEncoding::kJson ? "application/json" : "application/x-protobuf";
}

OtlpEncoding OtlpErrorEncoding(std::string_view content_type) {
  return MediaType(content_type).find("json") != std::string::npos ? OtlpEncoding::kJson : OtlpEncoding::kProtobuf;
}

std::string OtlpStatusBody(OtlpEncoding encoding, int http_status, std::string_view message) {
  int code = GrpcCodeFor(http_status);
  return encoding == OtlpEncoding::kJson ? ingest::otel::EncodeJsonStatus(code, message)
                                         : ingest::otel::EncodeProtoStatus(code, message);
}

OtlpExportOutcome RunOtlpExport(const OtlpExportSpec& spec, BodyPipe* pipe, const CommitFn& commit) {
  // Decompress the whole body (a request is one message), capped.
  std::string body;
  auto decoder = ingest::StreamDecoder::Create(spec.codec);
  const uint64_t limit = spec.max_request_bytes;
  bool too_large = false;
  Status decode_status;
  std::string chunk;
  bool aborted = false;
  while (pipe->Pop(&chunk, &aborted)) {
    if (!decode_status.ok() || too_large) continue;  // unreachable: the pipe was aborted below
    decode_status = decoder->Decode(chunk, [&](std::string_view piece) {
      if (limit > 0 && body.size() + piece.size() > limit) {
        too_large = true;
        return Status::InvalidArgument("too large");
      }
      body.append(piece);
      return Status::OK();
    });
    if (too_large) {
      pipe->Abort();
      return Fail(spec, 413,
                  fmt::format("the decompressed request exceeds the limit of {} bytes (otlp.max_request_bytes)",
                              limit));
    }
    if (!decode_status.ok()) {
      pipe->Abort();
      return Fail(spec, 400, fmt::format("the body does not decompress: {}", decode_status.message()));
    }
  }
  if (aborted) {
    OtlpExportOutcome out;
    out.http_status = 499;
    return out;
  }
  if (Status s = decoder->Finish(); !s.ok()) {
    return Fail(spec, 400, fmt::format("the body does not decompress: {}", s.message()));
  }
  const uint64_t decoded_bytes = body.size();

  Result<ingest::otel::ExportTraceServiceRequest> request = Status::Internal("not decoded");
  if (spec.encoding == OtlpEncoding::kJson) {
    const size_t size = body.size();
    body.append(schema::kJsonPadding, '\0');
    request = ingest::otel::DecodeJson(std::string_view(body.data(), size), schema::InputPadding::kPadded);
  } else {
    request = ingest::otel::DecodeProto(body);
  }
  if (!request.ok()) {
    OtlpExportOutcome out = Fail(spec, 400, fmt::format("undecodable ExportTraceServiceRequest ({}): {}",
                                                         spec.encoding == OtlpEncoding::kJson ? "JSON" : "protobuf",
                                                         request.status().message()));
    out.decoded_bytes = decoded_bytes;
    return out;
  }
  body = std::string();  // the request owns its strings

  engine::WriteBatch batch;
  ingest::otel::MapResult mapped = ingest::otel::AppendExportRequest(std::move(request).value(), &batch);
  OtlpExportOutcome out;
  out.decoded_bytes = decoded_bytes;
  out.rejected_spans = static_cast<uint64_t>(mapped.partial_success.rejected_spans);
  if (mapped.accepted_spans > 0) {
    Result<engine::WriteResult> written = commit(batch);
    if (!written.ok()) {
      const Status& s = written.status();
      if (auto refusal = RefusalForStorageError(s)) {
        // Nothing of the request is acknowledged; the exporter's retry of the
        // same spans is deduplicated.
        OtlpExportOutcome failed =
            Fail(spec, RefusalReplyFor(*refusal).status,
                 fmt::format("the spans were not stored: the storage backend is unavailable ({})", s.message()));
        failed.refusal = refusal;
        failed.decoded_bytes = decoded_bytes;
        return failed;
      }
      // A full disk is 503 here, not 507: OTLP exporters retry 503 (with
      // Retry-After) and drop the spans on any other 5xx.
      const int http_status = s.code() == StatusCode::kStorageFull ? 503 : HttpStatusFor(s);
      OtlpExportOutcome failed = Fail(spec, http_status, fmt::format("the spans were not stored: {}", s.message()));
      failed.decoded_bytes = decoded_bytes;
      return failed;
    }
    out.duplicate_spans = written->duplicates;
  }
  // One span is one event: what was not a duplicate was newly stored.
  out.accepted_spans = mapped.accepted_spans - out.duplicate_spans;
  out.body = spec.encoding == OtlpEncoding::kJson ? ingest::otel::EncodeJsonResponse(mapped.partial_success)
                                                  : ingest::otel::EncodeProtoResponse(mapped.partial_success);
  return out;
}

}  // namespace tracedb::server
