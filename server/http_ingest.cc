#include "server/http_ingest.h"

#include "server/http_api.h"

namespace tracedb::server {

Result<Atomicity> ParseIngestParams(std::string_view query) {
  Atomicity atomicity = Atomicity::kPerLine;
  for (const auto& [key, value] : ParseQueryString(query)) {
    if (key == "atomic") {
      if (value == "1" || value == "true" || value == "yes" || value.empty()) {
        atomicity = Atomicity::kAllOrNothing;
      } else if (value == "0" || value == "false" || value == "no") {
        atomicity = Atomicity::kPerLine;
      } else {
        return Status::InvalidArgument("parameter 'atomic' must be 1 or 0, got '" + value + "'");
      }
    } else {
      return Status::InvalidArgument("unknown parameter '" + key + "' (supported: atomic)");
    }
  }
  return atomicity;
}

std::string IngestErrorJson(std::string_view code, std::string_view message, const IngestReport& report) {
  std::string error = ErrorResponse(0, code, message).body;
  IngestReport committed = report;
  committed.committed = true;  // the report lists what was committed
  std::string rep = committed.ToJson();
  // Splice: drop the closing brace of the error object and the opening one
  // of the report.
  error.pop_back();
  return error + "," + rep.substr(1);
}

namespace {

std::string ErrorWithReport(int, std::string_view code, const Status& status, const IngestReport& report) {
  return IngestErrorJson(code.empty() ? StatusCodeName(status.code()) : code, status.message(), report);
}

}  // namespace

BulkIngestOutcome RunBulkIngest(const BulkIngestSpec& spec, BodyPipe* pipe, const AsyncCommitFn& commit) {
  ingest::BulkIngestResult result = ingest::IngestBody(spec, pipe, commit);
  BulkIngestOutcome out;
  out.report = std::move(result.report);
  out.decoded_bytes = result.decoded_bytes;
  switch (result.outcome) {
    case ingest::BodyOutcome::kCommitted:
      out.http_status = 200;
      out.body = out.report.ToJson();
      break;
    case ingest::BodyOutcome::kAborted:
      out.http_status = 499;
      out.body = ErrorWithReport(499, "Aborted", result.status, out.report);
      break;
    case ingest::BodyOutcome::kTooLarge:
      out.http_status = 413;
      out.body = ErrorWithReport(413, "PayloadTooLarge", result.status, out.report);
      break;
    case ingest::BodyOutcome::kMalformed:
      out.http_status = 400;
      out.body = ErrorWithReport(400, "", result.status, out.report);
      break;
    case ingest::BodyOutcome::kFailed:
      if (auto refusal = RefusalForStorageError(result.status)) {
        // Batches are committed one after another: the report holds those
        // that committed before; the failed batch and the rest of the body
        // were not acknowledged. Resending the whole body is safe (events
        // are deduplicated).
        const RefusalReply reply = RefusalReplyFor(*refusal);
        out.refusal = refusal;
        out.http_status = reply.status;
        out.body = IngestErrorJson(reply.code,
                                   "the storage backend is unavailable (" + result.status.message() +
                                       "); only the events reported as accepted were committed: retry the body",
                                   out.report);
        break;
      }
      out.http_status = HttpStatusFor(result.status);
      out.body = ErrorWithReport(out.http_status, "", result.status, out.report);
      break;
  }
  return out;
}

}  // namespace tracedb::server
