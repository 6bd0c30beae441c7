#pragma once

// Bulk ingest over HTTP (POST /v1/ingest/{reflow|operonx}), independent of
// the transport: the network layer pushes the body's chunks, as received,
// into a BodyPipe; a worker thread runs RunBulkIngest, which pops them,
// decompresses them (Content-Encoding) and feeds a BulkIngestor whose
// commit function is Service::CommitBatch. The pipe holds at most a few
// chunks, so a multi-gigabyte body is ingested in bounded memory and a slow
// store slows the client down (TCP backpressure) instead of buffering.
//
// Thread-safety: BodyPipe is thread-safe (one producer, one consumer);
// RunBulkIngest runs on one thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "server/bulk_ingest.h"
#include "server/decompress.h"

namespace tracedb::server {

// A bounded queue of body chunks from the I/O thread to the ingest worker.
class BodyPipe {
 public:
  // Push() reports "full" once `max_bytes` are queued.
  explicit BodyPipe(size_t max_bytes);

  // Called (on the consumer's thread, without locks held) when a producer
  // that was told "full" may push again, or when the pipe was aborted.
  void SetOnRoom(std::function<void()> on_room);

  // Producer. Queues `chunk`; returns false when the pipe is now full: the
  // producer must wait for on_room before pushing more. Chunks pushed after
  // Abort are dropped (returns true).
  bool Push(std::string chunk);
  // Producer: the body is complete.
  void Close();
  // Either side: stop; queued chunks are dropped, Pop returns false with
  // *aborted. Idempotent.
  void Abort();

  // Consumer: blocks for the next chunk. False at the end of the body
  // (*aborted false) or after Abort (*aborted true).
  bool Pop(std::string* chunk, bool* aborted);

 private:
  const size_t max_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;  // GUARDED_BY(mu_)
  size_t bytes_ = 0;                // GUARDED_BY(mu_)
  bool closed_ = false;             // GUARDED_BY(mu_)
  bool aborted_ = false;            // GUARDED_BY(mu_)
  bool producer_waiting_ = false;   // GUARDED_BY(mu_)
  std::function<void()> on_room_;
};

// What one bulk ingest request asks for.
struct BulkIngestSpec {
  IngestFormat format = IngestFormat::kReflow;
  Atomicity atomicity = Atomicity::kPerLine;
  Codec codec = Codec::kNone;
  // Lines per engine write batch.
  size_t batch_lines = 2000;
  // All-or-nothing requests hold the whole decompressed body in one batch:
  // beyond this many decompressed bytes they fail with 413. 0: no limit.
  uint64_t max_atomic_bytes = 0;
};

// The reply of a bulk ingest request.
struct BulkIngestOutcome {
  int http_status = 200;
  // 200: IngestReport::ToJson(). Errors: {"error":{"code","message"}} plus
  // the report of what was committed before the error ("accepted",
  // "duplicates", "rejected").
  std::string body;
  IngestReport report;       // what was committed (and rejected)
  uint64_t decoded_bytes = 0;
};

// Parses the query string of /v1/ingest/*: atomic=1|true|yes selects
// all-or-nothing, atomic=0|false|no (or none) per-line. Other parameters
// are InvalidArgument naming them.
Result<Atomicity> ParseIngestParams(std::string_view query);

// {"error":{"code":<code>,"message":<message>},"accepted":…,"duplicates":…,
// "rejected":[…]}: an error reply that also tells what was committed.
std::string IngestErrorJson(std::string_view code, std::string_view message, const IngestReport& report);

// Runs one request: pops `pipe` to its end, decodes, ingests, commits
// through `commit`. Returns 200 with the report once everything accepted is
// committed; 400 for a body that does not decompress, 413 for an atomic
// body over max_atomic_bytes, 503/500 when a commit fails, 499 ("client
// closed") when the pipe was aborted. Aborts the pipe itself when it stops
// early so that the producer stops waiting.
BulkIngestOutcome RunBulkIngest(const BulkIngestSpec& spec, BodyPipe* pipe, const CommitFn& commit);

}  // namespace tracedb::server
