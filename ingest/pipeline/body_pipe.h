#pragma once

// Bulk ingest of a request body (HTTP POST /v1/ingest/{reflow|operonx}),
// independent of the transport: the network layer pushes the body's chunks,
// as received, into a BodyPipe; a worker thread runs IngestBody, which pops them,
// decompresses them (Content-Encoding) and feeds a BulkIngestor whose
// commit function is Service::CommitBatch. The pipe holds at most a few
// chunks, so a multi-gigabyte body is ingested in bounded memory and a slow
// store slows the client down (TCP backpressure) instead of buffering.
//
// Thread-safety: BodyPipe is thread-safe (one producer, one consumer);
// IngestBody runs on one thread. server/http_ingest.h turns the result
// into an HTTP reply.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "ingest/pipeline/bulk_ingest.h"
#include "ingest/pipeline/decompress.h"

namespace tracedb::ingest {

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
  // beyond this many decompressed bytes they fail (kTooLarge). 0: no limit.
  uint64_t max_atomic_bytes = 0;
};

// How a body ingest ended.
enum class BodyOutcome : uint8_t {
  kCommitted,  // the whole body was read; everything accepted is committed
  kAborted,    // the pipe was aborted before the end of the body
  kMalformed,  // the body does not decompress, or the ingestor refused it (InvalidArgument)
  kTooLarge,   // an all-or-nothing body over max_atomic_bytes
  kFailed,     // a commit failed (storage error)
};

// The result of one body ingest, before any protocol turns it into a reply.
struct BulkIngestResult {
  BodyOutcome outcome = BodyOutcome::kCommitted;
  Status status;          // why, unless kCommitted
  IngestReport report;    // what was committed (and rejected); empty for a failed all-or-nothing body
  uint64_t decoded_bytes = 0;
};

// Runs one request: pops `pipe` to its end, decodes, ingests, commits
// through `commit`. Aborts the pipe itself when it stops early so that the
// producer stops waiting.
BulkIngestResult IngestBody(const BulkIngestSpec& spec, BodyPipe* pipe, const AsyncCommitFn& commit);

}  // namespace tracedb::ingest
