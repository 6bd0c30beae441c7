#include "server/http_ingest.h"

#include <fmt/format.h>

#include "server/http_api.h"

namespace tracedb::server {

BodyPipe::BodyPipe(size_t max_bytes) : max_bytes_(max_bytes == 0 ? 1 : max_bytes) {}

void BodyPipe::SetOnRoom(std::function<void()> on_room) {
  std::lock_guard lock(mu_);
  on_room_ = std::move(on_room);
}

bool BodyPipe::Push(std::string chunk) {
  std::lock_guard lock(mu_);
  if (aborted_) return true;
  bytes_ += chunk.size();
  chunks_.push_back(std::move(chunk));
  cv_.notify_one();
  if (bytes_ >= max_bytes_) {
    producer_waiting_ = true;
    return false;
  }
  return true;
}

void BodyPipe::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  cv_.notify_one();
}

void BodyPipe::Abort() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (aborted_) return;
    aborted_ = true;
    chunks_.clear();
    bytes_ = 0;
    if (producer_waiting_) {
      producer_waiting_ = false;
      wake = on_room_;
    }
    cv_.notify_all();
  }
  if (wake) wake();
}

bool BodyPipe::Pop(std::string* chunk, bool* aborted) {
  std::function<void()> wake;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return aborted_ || closed_ || !chunks_.empty(); });
    *aborted = aborted_;
    if (aborted_ || chunks_.empty()) return false;
    *chunk = std::move(chunks_.front());
    chunks_.pop_front();
    bytes_ -= chunk->size();
    if (producer_waiting_ && bytes_ < max_bytes_) {
      producer_waiting_ = false;
      wake = on_room_;
    }
  }
  if (wake) wake();
  return true;
}

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

BulkIngestOutcome RunBulkIngest(const BulkIngestSpec& spec, BodyPipe* pipe, const CommitFn& commit) {
  IngestOptions options;
  options.format = spec.format;
  options.atomicity = spec.atomicity;
  options.batch_lines = spec.batch_lines;
  BulkIngestor ingestor(options, commit);
  auto decoder = StreamDecoder::Create(spec.codec);
  BulkIngestOutcome out;
  bool too_large = false;
  auto sink = [&](std::string_view piece) -> Status {
    out.decoded_bytes += piece.size();
    if (spec.atomicity == Atomicity::kAllOrNothing && spec.max_atomic_bytes > 0 &&
        out.decoded_bytes > spec.max_atomic_bytes) {
      too_large = true;
      return Status::ResourceExhausted(fmt::format(
          "an all-or-nothing (atomic=1) body is held in memory: it exceeds {} decompressed bytes "
          "(http.max_body_bytes); send it without atomic=1 or split it",
          spec.max_atomic_bytes));
    }
    return ingestor.Feed(piece);
  };
  Status status;
  std::string chunk;
  bool aborted = false;
  while (pipe->Pop(&chunk, &aborted)) {
    status = decoder->Decode(chunk, sink);
    if (!status.ok()) break;
  }
  if (status.ok() && aborted) {
    ingestor.Drain().IgnoreError();  // the report counts what was committed
    out.http_status = 499;
    out.report = ingestor.report();
    if (spec.atomicity == Atomicity::kAllOrNothing) out.report = IngestReport{};
    out.body = ErrorWithReport(499, "Aborted", Status::Unavailable("the request body was not received completely"),
                               out.report);
    return out;
  }
  if (status.ok()) status = decoder->Finish();
  if (status.ok()) {
    Result<IngestReport> report = ingestor.Finish();
    if (report.ok()) {
      out.report = std::move(report).value();
      out.http_status = 200;
      out.body = out.report.ToJson();
      return out;
    }
    status = report.status();
  }
  pipe->Abort();  // stop the producer
  ingestor.Drain().IgnoreError();  // `status` is the first error already
  out.report = ingestor.report();
  if (spec.atomicity == Atomicity::kAllOrNothing) {
    out.report.accepted = 0;
    out.report.duplicates = 0;
  }
  if (too_large) {
    out.http_status = 413;
    out.body = ErrorWithReport(413, "PayloadTooLarge", status, out.report);
  } else if (status.code() == StatusCode::kInvalidArgument) {
    out.http_status = 400;
    out.body = ErrorWithReport(400, "", Status::InvalidArgument("request body: " + status.message()), out.report);
  } else {
    out.http_status = HttpStatusFor(status);
    out.body = ErrorWithReport(out.http_status, "", status, out.report);
  }
  return out;
}

}  // namespace tracedb::server
