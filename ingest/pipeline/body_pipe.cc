#include "ingest/pipeline/body_pipe.h"

#include <fmt/format.h>

namespace tracedb::ingest {

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

BulkIngestResult IngestBody(const BulkIngestSpec& spec, BodyPipe* pipe, const AsyncCommitFn& commit) {
  IngestOptions options;
  options.format = spec.format;
  options.atomicity = spec.atomicity;
  options.batch_lines = spec.batch_lines;
  BulkIngestor ingestor(options, commit);
  auto decoder = StreamDecoder::Create(spec.codec);
  BulkIngestResult out;
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
    out.outcome = BodyOutcome::kAborted;
    out.status = Status::Unavailable("the request body was not received completely");
    out.report = ingestor.report();
    if (spec.atomicity == Atomicity::kAllOrNothing) out.report = IngestReport{};
    return out;
  }
  if (status.ok()) status = decoder->Finish();
  if (status.ok()) {
    Result<IngestReport> report = ingestor.Finish();
    if (report.ok()) {
      out.report = std::move(report).value();
      return out;
    }
    status = report.status();
  }
  pipe->Abort();  // stop the producer
  ingestor.Drain().IgnoreError();  // `status` is the first error already
  out.report = ingestor.report();
  if (spec.atomicity == Atomicity::kAllOrNothing) {
    out.report.lines = 0;
    out.report.events = 0;
    out.report.duplicates = 0;
  }
  if (too_large) {
    out.outcome = BodyOutcome::kTooLarge;
    out.status = std::move(status);
  } else if (status.code() == StatusCode::kInvalidArgument) {
    out.outcome = BodyOutcome::kMalformed;
    out.status = Status::InvalidArgument("request body: " + status.message());
  } else {
    out.outcome = BodyOutcome::kFailed;
    out.status = std::move(status);
  }
  return out;
}

}  // namespace tracedb::ingest
