#include "ingest/pipeline/bulk_ingest.h"

#include <algorithm>

#include <chrono>

#include "schema/json_writer.h"
#include "ingest/reflow/reflow_json.h"
#include "ingest/reflow/reflow_mapping.h"
#include "ingest/operonx/operonx_mapping.h"

namespace tracedb::ingest {


namespace {

// A unit is submitted for parsing at this many lines or bytes: small enough
// that parsing starts while the body is still arriving and that the two
// parsing threads share a batch evenly, large enough that the hand-over
// costs nothing per line.
constexpr size_t kUnitLines = 64;
constexpr size_t kUnitBytes = size_t{128} << 10;

std::string TooLongMessage(size_t max) { return "line longer than " + std::to_string(max) + " bytes"; }

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

}  // namespace

std::string IngestReport::ToJson() const {
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("accepted");
  w.Uint(committed ? events : 0);
  w.PlainKey("duplicates");
  w.Uint(committed ? duplicates : 0);
  w.PlainKey("lines");
  w.Uint(committed ? lines : 0);
  w.PlainKey("rejected");
  w.BeginArray();
  for (const auto& r : rejected) {
    w.BeginObject();
    w.PlainKey("line");
    w.Uint(r.line);
    w.PlainKey("error");
    w.String(r.error);
    w.EndObject();
  }
  w.EndArray();
  if (!committed) {
    w.PlainKey("committed");
    w.Bool(false);
  }
  w.EndObject();
  return out;
}

AsyncCommitFn AsAsync(CommitFn commit) {
  return [commit = std::move(commit)](const engine::WriteBatch& batch,
                                      std::function<void(Result<engine::WriteResult>)> done) { done(commit(batch)); };
}

AsyncCommitFn WriteAsyncTo(engine::Engine* engine) {
  return [engine](const engine::WriteBatch& batch, std::function<void(Result<engine::WriteResult>)> done) {
    Status refused = engine->WriteAsync(batch, done);
    if (!refused.ok()) done(refused);
  };
}

BulkIngestor::BulkIngestor(IngestOptions options, CommitFn commit)
    : BulkIngestor(std::move(options), AsAsync(std::move(commit))) {
  async_ = false;
}

BulkIngestor::BulkIngestor(IngestOptions options, AsyncCommitFn commit)
    : options_(std::move(options)), commit_(std::move(commit)), async_(true) {
  if (!options_.now) {
    options_.now = [] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  if (options_.batch_lines == 0) options_.batch_lines = 1;
}

void BulkIngestor::Reject(uint64_t line, std::string error) {
  if (report_.rejected.size() < options_.max_reported_rejections) {
    report_.rejected.push_back({line, std::move(error)});
  }
}

Status BulkIngestor::Feed(std::string_view bytes) {
  report_.bytes += bytes.size();
  if (array_mode_) {
    pending_.append(bytes);
    return Status::OK();
  }
  // An operonx body that starts with '[' is one JSON array (the file
  // exporter's final form): it cannot be split into lines, so buffer it.
  if (!saw_content_) {
    size_t i = 0;
    while (i < bytes.size() && IsBlank(bytes.substr(i, 1))) ++i;
    if (i < bytes.size()) {
      saw_content_ = true;
      if (options_.format == IngestFormat::kOperonx && bytes[i] == '[' && pending_.empty()) {
        array_mode_ = true;
        pending_.append(bytes);
        return Status::OK();
      }
    }
  }
  size_t start = 0;
  while (start < bytes.size()) {
    size_t nl = bytes.find('\n', start);
    std::string_view piece = bytes.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!skipping_line_ && pending_.size() + piece.size() > options_.max_line_bytes) {
      // Stop buffering an oversized line; reject it at its newline.
      skipping_line_ = true;
      pending_.clear();
    }
    if (nl == std::string_view::npos) {
      if (!skipping_line_) pending_.append(piece);
      break;
    }
    start = nl + 1;
    if (skipping_line_) {
      skipping_line_ = false;
      TRACEDB_RETURN_IF_ERROR(OnTooLongLine());
    } else if (!pending_.empty()) {
      pending_.append(piece);
      std::string line = std::move(pending_);
      pending_.clear();
      TRACEDB_RETURN_IF_ERROR(OnLine(line));
    } else {
      TRACEDB_RETURN_IF_ERROR(OnLine(piece));
    }
  }
  return Status::OK();
}

Status BulkIngestor::OnLine(std::string_view line) {
  if (options_.format != IngestFormat::kReflow) return ProcessLine(line);
  ++line_no_;
  if (IsBlank(line)) return Status::OK();
  if (!open_) open_ = NewUnit();
  open_->AddLine(line, line_no_);
  return AfterUnitLine();
}

Status BulkIngestor::OnTooLongLine() {
  ++line_no_;
  if (options_.format != IngestFormat::kReflow) {
    Reject(line_no_, TooLongMessage(options_.max_line_bytes));
    return Status::OK();
  }
  // Through a unit, so that the rejection is reported in line order.
  if (!open_) open_ = NewUnit();
  open_->AddTooLong(line_no_);
  return AfterUnitLine();
}

Status BulkIngestor::AfterUnitLine() {
  if (open_->lines.size() >= kUnitLines || open_->text.size() >= kUnitBytes) {
    SubmitOpenUnit();
    TRACEDB_RETURN_IF_ERROR(AddDoneUnits());
  }
  // A batch is http.ingest_batch_lines *accepted* lines (AddParsed commits
  // it). Collect as soon as the queued lines could complete it: a batch is
  // committed when the line that completes it arrives, as line by line.
  if (options_.atomicity == Atomicity::kPerLine && ++queued_lines_ + batch_lines_ >= options_.batch_lines) {
    return CollectUnits();
  }
  return Status::OK();
}

std::unique_ptr<ParseUnit> BulkIngestor::NewUnit() {
  std::unique_ptr<ParseUnit> unit = ParallelLineParser::Shared().TakeUnit();
  unit->max_line_bytes = options_.max_line_bytes;
  return unit;
}

void BulkIngestor::SubmitOpenUnit() {
  if (!open_ || open_->empty()) return;
  open_->Seal();
  if (options_.parse_helpers > 0) ParallelLineParser::Shared().Submit(open_.get());
  submitted_.push_back(std::move(open_));
}

// Adds the oldest units the helpers finished, without waiting: the batch
// is built while it fills, and their buffers are reused sooner.
Status BulkIngestor::AddDoneUnits() {
  while (!submitted_.empty() &&
         submitted_.front()->state.load(std::memory_order_acquire) == ParseUnit::State::kDone) {
    queued_lines_ -= std::min(queued_lines_, submitted_.front()->lines.size());
    TRACEDB_RETURN_IF_ERROR(AddParsed(submitted_.front().get()));
    ParallelLineParser::Shared().ReturnUnit(std::move(submitted_.front()));
    submitted_.pop_front();
  }
  return Status::OK();
}

Status BulkIngestor::CollectUnits() {
  SubmitOpenUnit();
  ParallelLineParser& parser = ParallelLineParser::Shared();
  if (options_.parse_helpers > 0) {
    // Parse here what the helpers have not started, oldest first (they
    // take the oldest too, so the threads meet in the middle).
    for (auto& unit : submitted_) parser.Claim(unit.get());
  }
  for (auto& unit : submitted_) {
    if (options_.parse_helpers > 0) {
      parser.Wait(unit.get());
    } else {
      if (!parse_) parse_ = ReflowParseUnitFn();
      parse_(unit.get());
    }
    Status added = AddParsed(unit.get());
    parser.ReturnUnit(std::move(unit));
    if (!added.ok()) {
      // The rest stays queued: the destructor withdraws it.
      submitted_.erase(submitted_.begin(), std::find_if(submitted_.begin(), submitted_.end(),
                                                        [](const auto& u) { return u != nullptr; }));
      return added;
    }
  }
  submitted_.clear();
  queued_lines_ = 0;
  return Status::OK();
}

Status BulkIngestor::AddParsed(ParseUnit* unit) {
  for (size_t i = 0; i < unit->lines.size(); ++i) {
    const uint64_t number = unit->lines[i].number;
    Result<reflow::Request>& request = unit->parsed[i];
    if (!request.ok()) {
      Reject(number, request.status().message());
      continue;
    }
    Status s = reflow::AddReflowRequest(std::move(request).value(), options_.now(), &batch_);
    if (!s.ok()) {
      Reject(number, s.message());
      continue;
    }
    ++batch_lines_applied_;
    if (options_.atomicity == Atomicity::kPerLine && ++batch_lines_ >= options_.batch_lines) {
      TRACEDB_RETURN_IF_ERROR(Commit());
    }
  }
  return Status::OK();
}

Status BulkIngestor::ProcessLine(std::string_view line) {
  ++line_no_;
  if (IsBlank(line)) return Status::OK();
  Status s = operonx_.AddLine(line);
  if (!s.ok()) {
    Reject(line_no_, s.message());
    return Status::OK();
  }
  ++batch_lines_applied_;
  if (options_.atomicity == Atomicity::kPerLine && ++batch_lines_ >= options_.batch_lines) return Commit();
  return Status::OK();
}

Status BulkIngestor::ProcessOperonxArray(std::string_view body) {
  line_no_ = 1;
  uint64_t added = 0;
  Status s = operonx_.AddArray(body, &added);
  if (!s.ok()) {
    Reject(line_no_, s.message());
    return Status::OK();
  }
  batch_lines_applied_ += added;
  return Status::OK();
}

BulkIngestor::~BulkIngestor() {
  // Units of an unfinished body may still be queued in the shared parser.
  for (auto& unit : submitted_) ParallelLineParser::Shared().Withdraw(unit.get());
  if (handing_.valid()) handing_.wait();
  for (auto& f : inflight_) f.result.wait();
}

Status BulkIngestor::DrainOldest() {
  InFlight f = std::move(inflight_.front());
  inflight_.pop_front();
  Result<engine::WriteResult> r = f.result.get();
  if (!r.ok()) return r.status();
  report_.lines += f.lines;
  report_.duplicates += r->duplicates;
  report_.events += r->events_written;
  return Status::OK();
}

Status BulkIngestor::Drain() {
  if (handing_.valid()) handing_.wait();
  Status first;
  while (!inflight_.empty()) {
    Status s = DrainOldest();
    if (first.ok()) first = s;
  }
  return first;
}

Status BulkIngestor::Commit() {
  // A synchronous commit is durable when its hand-off returns: one batch in
  // flight, parsed while it commits. An asynchronous one (the engine's
  // pipeline) may have a second awaiting its result.
  constexpr size_t kMaxAwaiting = 2;
  batch_lines_ = 0;
  if (handing_.valid()) handing_.wait();
  while (inflight_.size() >= (async_ ? kMaxAwaiting : 1)) TRACEDB_RETURN_IF_ERROR(DrainOldest());
  if (batch_.empty()) {
    report_.lines += batch_lines_applied_;
    batch_lines_applied_ = 0;
    return Status::OK();
  }
  InFlight f;
  f.batch = std::make_unique<engine::WriteBatch>();
  std::swap(*f.batch, batch_);  // batch_ keeps its address (operonx_ builds into it)
  f.lines = batch_lines_applied_;
  batch_lines_applied_ = 0;
  operonx_.Reset();
  auto promise = std::make_shared<std::promise<Result<engine::WriteResult>>>();
  f.result = promise->get_future();
  const engine::WriteBatch* batch = f.batch.get();
  inflight_.push_back(std::move(f));
  handing_ = std::async(std::launch::async, [this, batch, promise] {
    commit_(*batch, [promise](Result<engine::WriteResult> r) { promise->set_value(std::move(r)); });
  });
  return Status::OK();
}

Result<IngestReport> BulkIngestor::Finish() {
  if (array_mode_) {
    TRACEDB_RETURN_IF_ERROR(ProcessOperonxArray(pending_));
    pending_.clear();
  } else if (skipping_line_) {
    skipping_line_ = false;
    TRACEDB_RETURN_IF_ERROR(OnTooLongLine());
  } else if (!pending_.empty()) {
    std::string line = std::move(pending_);
    pending_.clear();
    TRACEDB_RETURN_IF_ERROR(OnLine(line));
  }
  TRACEDB_RETURN_IF_ERROR(CollectUnits());
  if (options_.atomicity == Atomicity::kAllOrNothing && !report_.rejected.empty()) {
    report_.committed = false;
    batch_.Clear();
    operonx_.Reset();
    return report_;
  }
  TRACEDB_RETURN_IF_ERROR(Commit());
  TRACEDB_RETURN_IF_ERROR(Drain());
  return report_;
}

}  // namespace tracedb::ingest
