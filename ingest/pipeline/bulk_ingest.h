#pragma once

// Bulk ingest of NDJSON streams (HTTP POST /v1/ingest/reflow and
// /v1/ingest/operonx, `tracedb ingest FILE…`), independent of the transport.
//
// A BulkIngestor is fed decompressed bytes in any slicing; it splits lines,
// parses each one, and adds it to an engine::WriteBatch. Every
// `batch_lines` accepted lines the batch is handed to the commit function (the
// engine, or the server's writer thread), which runs on a helper thread
// while the ingestor reads and parses the next batch: parsing and storage
// overlap, and at most one batch is in flight, so memory stays bounded by
// two batches whatever the body size.
//
// Reflow lines are parsed in parallel (parallel_parse.h): the feeding thread
// copies complete lines into units of a few dozen lines, the process's
// helper threads parse them as they come, and at the end of a batch the feeding thread
// parses whatever the helper has not reached and adds the parsed requests
// to the batch in line order. The result does not depend on the threads:
// the same batches, the same rejections in line order, the same clock
// readings (taken in line order while the batch is built). Operonx lines
// are parsed on the feeding thread (the operonx builder keeps per-request
// state from line to line).
//
// A line that does not parse is rejected alone (its number and the parser's
// message are reported) unless the ingestor is all-or-nothing, in which
// case nothing is committed when any line is rejected (and the whole body is
// held in one batch, so such requests are capped by the body limit).
//
// Not thread-safe: one ingestor per request.

#include <cstdint>
#include <functional>
#include <deque>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"
#include "ingest/pipeline/parallel_parse.h"
#include "ingest/reflow/reflow_protocol.h"
#include "ingest/operonx/operonx_mapping.h"

namespace tracedb::ingest {

enum class IngestFormat : uint8_t {
  kReflow,   // each line a Reflow request: StartTrace, RecordEvent, EndTrace, StoreTrace
  kOperonx,  // each line an operonx TraceEvent or a batch envelope; or one JSON array
};

enum class Atomicity : uint8_t {
  kPerLine,     // a malformed line rejects that line only (default)
  kAllOrNothing,
};

struct RejectedLine {
  uint64_t line = 0;  // 1-based
  std::string error;
};

struct IngestReport {
  uint64_t lines = 0;       // lines (or array elements) applied
  uint64_t events = 0;      // events newly stored: the reply's "accepted"
  uint64_t duplicates = 0;  // events that were already stored
  uint64_t bytes = 0;       // decompressed bytes read
  std::vector<RejectedLine> rejected;
  bool committed = true;    // false: all-or-nothing request with rejections

  // {"accepted":N,"duplicates":N,"lines":N,"rejected":[{"line":N,"error":"…"}]}
  // accepted = events newly stored, duplicates = events already stored,
  // lines = lines (array elements) applied, rejected = refused lines. A
  // line may carry no event (StartTrace) or several (a batch envelope).
  std::string ToJson() const;
};

// Commits one batch durably. Called from a helper thread, one call at a
// time, in batch order; the batch stays alive until it returns.
using CommitFn = std::function<Result<engine::WriteResult>(const engine::WriteBatch&)>;
// Hands one batch to storage (Engine::WriteAsync, GroupCommit::CommitAsync)
// and returns once it is prepared or queued; `done` gets the result once it
// is durable, exactly once, possibly before the call returns, on any
// thread; the batch stays alive until then. Called from a helper thread,
// one call at a time, in batch order. Up to two batches are awaiting
// their result while the next one is parsed: the engine prepares one while
// it commits the other.
using AsyncCommitFn =
    std::function<void(const engine::WriteBatch&, std::function<void(Result<engine::WriteResult>)> done)>;
// A synchronous commit as an AsyncCommitFn (`done` runs before it returns).
AsyncCommitFn AsAsync(CommitFn commit);
// Engine::WriteAsync as an AsyncCommitFn: a batch the engine refuses is
// reported through `done` (before the call returns).
AsyncCommitFn WriteAsyncTo(engine::Engine* engine);

struct IngestOptions {
  IngestFormat format = IngestFormat::kReflow;
  Atomicity atomicity = Atomicity::kPerLine;
  // Accepted lines per committed batch (blank and rejected lines are not
  // counted: a batch is what docs/server.md promises to commit at once).
  // Default: 2000.
  size_t batch_lines = 2000;
  // Whether Reflow lines are also parsed by the process's helper threads
  // (ParallelLineParser::Shared, one per core beyond the first); 0 parses
  // on the feeding thread only (the sequential path). Default: 1.
  size_t parse_helpers = 1;
  // Longest accepted line. Default: 16 MiB.
  size_t max_line_bytes = size_t{16} << 20;
  // Rejections reported in detail (all are counted). Default: 1000.
  size_t max_reported_rejections = 1000;
  // Clock for server-side times (StartTrace start, EndTrace end). Called on
  // the feeding thread, in line order.
  std::function<schema::TimestampNs()> now;
};

class BulkIngestor {
 public:
  BulkIngestor(IngestOptions options, CommitFn commit);
  BulkIngestor(IngestOptions options, AsyncCommitFn commit);
  ~BulkIngestor();  // waits for the batches in flight

  // Consumes more of the decompressed body. Fails only when a commit fails
  // (storage error): what was committed before stays committed.
  Status Feed(std::string_view bytes);
  // Processes a final line without a newline and commits the rest.
  Result<IngestReport> Finish();

  // What was committed and accounted for so far (not the batches in flight).
  const IngestReport& report() const { return report_; }
  // Waits for the batches in flight and accounts for them: afterwards
  // report() covers everything committed. Returns the first commit error.
  Status Drain();

 private:
  // A complete line (without its newline), in body order.
  Status OnLine(std::string_view line);
  Status OnTooLongLine();
  Status ProcessLine(std::string_view line);
  Status ProcessOperonxArray(std::string_view body);
  // Reflow: after a line joined open_; submits it when full and commits at
  // the end of a batch.
  Status AfterUnitLine();
  std::unique_ptr<ParseUnit> NewUnit();
  // Reflow: queues the open unit for parsing.
  void SubmitOpenUnit();
  Status AddDoneUnits();
  // Reflow: waits for every submitted unit (parsing those no helper took)
  // and adds their requests to batch_ in line order.
  Status CollectUnits();
  Status AddParsed(ParseUnit* unit);
  // Hands batch_ to the helper thread (after the previous hand-off, and
  // once fewer than kMaxAwaiting batches await their result).
  Status Commit();
  // Waits for the oldest batch in flight and accounts for it.
  Status DrainOldest();
  void Reject(uint64_t line, std::string error);

  IngestOptions options_;
  AsyncCommitFn commit_;
  bool async_ = false;  // commit_ returns before the batch is durable
  std::string pending_;   // bytes of an incomplete line
  bool skipping_line_ = false;  // the current line exceeded max_line_bytes
  bool array_mode_ = false;  // operonx body is a JSON array (buffered whole)
  bool saw_content_ = false;
  uint64_t line_no_ = 0;
  size_t batch_lines_ = 0;   // accepted lines in batch_ (kPerLine commits at batch_lines)
  size_t queued_lines_ = 0;  // Reflow lines split into units and not yet added
  uint64_t batch_lines_applied_ = 0;
  engine::WriteBatch batch_;
  operonx::OperonxBatchBuilder operonx_{&batch_};
  IngestReport report_;
  // Reflow: units of the current batch, submitted to the shared parser
  // (ParallelLineParser::Shared) and not yet added to batch_ (oldest
  // first), and the unit being filled.
  std::deque<std::unique_ptr<ParseUnit>> submitted_;
  std::unique_ptr<ParseUnit> open_;
  ParseUnitFn parse_;  // parse_helpers == 0: units are parsed here
  // Batches handed over and not yet accounted for (oldest first), with the
  // lines they carry, and the helper thread's hand-off of the newest.
  // Declared last: the hand-off (std::async) is waited for first.
  struct InFlight {
    std::unique_ptr<engine::WriteBatch> batch;
    uint64_t lines = 0;
    std::future<Result<engine::WriteResult>> result;
  };
  std::deque<InFlight> inflight_;
  std::future<void> handing_;
};

}  // namespace tracedb::ingest
