#pragma once

// Parallel parsing of NDJSON lines for bulk ingest (bulk_ingest.h).
//
// The ingesting thread copies complete lines into ParseUnits (a few dozen
// lines each) and submits them here; a helper thread parses submitted units
// in submission order while the ingesting thread reads more of the body and
// the previous batch commits. When the ingesting thread needs a batch, it
// parses the units no helper has claimed yet itself (Claim) and waits for
// the others (Wait): parsing runs on two cores, and nothing about the
// result depends on which thread parsed which unit.
//
//   ingesting thread:  split lines → ParseUnit → Submit ─┐      Claim / Wait → map in line order → commit
//   helper thread:                                       └→ parse units, oldest first
//
// One parser serves the whole process (Shared()): its helper threads, their
// simdjson parsers and malloc arenas, and the units' buffers live as long
// as the process, so a request costs no thread start and no fresh memory
// (a helper per request spent a quarter of the server's time in page
// faults).
//
// Bounds: the queue holds only units that ingestors submitted and have not
// collected; a BulkIngestor collects every unit of a batch before it starts
// the next, so at most one batch of lines (IngestOptions::batch_lines) is
// queued per ingestor. The unit cache keeps at most kCachedUnits units of at
// most kCachedUnitBytes each (128 MiB at worst, a few MiB in practice).
//
// Thread-safety: all methods are thread-safe; a given unit is submitted,
// claimed, waited for and withdrawn by one thread (its ingestor's).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"
#include "ingest/reflow/reflow_protocol.h"

namespace tracedb::ingest {

// Complete lines of a body, copied out of it, parsed as one piece of work.
struct ParseUnit {
  struct Line {
    size_t offset = 0;     // in text
    size_t size = 0;
    uint64_t number = 0;   // 1-based line number in the body
    bool too_long = false; // over IngestOptions::max_line_bytes: not copied, rejected
  };
  enum class State : uint8_t { kQueued, kClaimed, kDone };

  // The lines back to back, each followed by '\n', then schema::kJsonPadding
  // spare bytes: every line can be parsed in place (InputPadding::kPadded).
  std::string text;
  std::vector<Line> lines;
  // The limit over-long lines exceeded (their rejection message names it).
  size_t max_line_bytes = 0;
  // One per line, in line order, once State::kDone.
  std::vector<Result<reflow::Request>> parsed;
  std::atomic<State> state{State::kQueued};

  // Appends one line (without its newline).
  void AddLine(std::string_view line, uint64_t number);
  // Records an over-long line (its bytes are not kept).
  void AddTooLong(uint64_t number);
  // Adds the padding; no lines may be added afterwards.
  void Seal();
  // Empties the unit for reuse (keeps its capacity).
  void Reset();
  bool empty() const { return lines.empty(); }
};

// Parses every line of `unit` into unit->parsed.
using ParseUnitFn = std::function<void(ParseUnit* unit)>;

// The Reflow parser: reflow::ParseRequest on each line, in place; an
// over-long line becomes InvalidArgument("line longer than N bytes"), N the
// unit's max_line_bytes.
ParseUnitFn ReflowParseUnitFn();

class ParallelLineParser {
 public:
  // The process's parser: Reflow lines (ReflowParseUnitFn), one helper per
  // core beyond the first (at least 1, at most 3).
  static ParallelLineParser& Shared();

  // Starts `helpers` helper threads (at least 1).
  ParallelLineParser(ParseUnitFn parse, size_t helpers);
  // Stops the helpers (a unit being parsed is finished first). Units
  // submitted and not collected are left unparsed.
  ~ParallelLineParser();
  ParallelLineParser(const ParallelLineParser&) = delete;
  ParallelLineParser& operator=(const ParallelLineParser&) = delete;

  // Queues a sealed unit. It must stay alive until Wait returned for it or
  // this parser is destroyed.
  void Submit(ParseUnit* unit);
  // Parses `unit` on this thread unless a helper claimed it already.
  // Returns whether it did.
  bool Claim(ParseUnit* unit);
  // Returns once `unit` is parsed (parsing it here if no helper has).
  void Wait(ParseUnit* unit);
  // Takes `unit` back unparsed if it is still queued, else waits until the
  // helper parsing it is done: afterwards no helper touches it.
  void Withdraw(ParseUnit* unit);

  // An empty unit, from the cache when it has one.
  std::unique_ptr<ParseUnit> TakeUnit();
  // Empties `unit` and keeps it for reuse (or frees it when the cache is full).
  void ReturnUnit(std::unique_ptr<ParseUnit> unit);

 private:
  static constexpr size_t kCachedUnits = 128;
  // A unit whose buffer grew past this (a line of up to
  // IngestOptions::max_line_bytes) is freed, not cached.
  static constexpr size_t kCachedUnitBytes = size_t{1} << 20;
  void HelperLoop();
  void Parse(ParseUnit* unit);

  const ParseUnitFn parse_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ParseUnit*> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;         // GUARDED_BY(mu_)
  std::mutex cache_mu_;
  std::vector<std::unique_ptr<ParseUnit>> cache_;  // GUARDED_BY(cache_mu_)
  std::vector<std::thread> helpers_;
};

}  // namespace tracedb::ingest
