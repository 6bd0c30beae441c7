#pragma once

// Bulk ingest over HTTP (POST /v1/ingest/{reflow|operonx}): the HTTP face of
// ingest/pipeline/body_pipe.h. The network layer pushes the body into a
// BodyPipe; a worker thread runs RunBulkIngest, which ingests it
// (ingest::IngestBody, committing through Service::CommitBatch) and turns the
// result into the reply.
//
// Thread-safety: the functions are thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "ingest/pipeline/body_pipe.h"
#include "ingest/pipeline/bulk_ingest.h"
#include "ingest/pipeline/decompress.h"
#include "server/http_support.h"

namespace tracedb::server {

// The ingest names the network layer uses unqualified.
using ingest::Atomicity;
using ingest::BodyPipe;
using ingest::BulkIngestSpec;
using ingest::Codec;
using ingest::CodecFromContentEncoding;
using ingest::AsyncCommitFn;
using ingest::CommitFn;
using ingest::DecompressFrame;
using ingest::IngestFormat;
using ingest::IngestReport;

// The reply of a bulk ingest request.
struct BulkIngestOutcome {
  int http_status = 200;
  // 200: IngestReport::ToJson(). Errors: {"error":{"code","message"}} plus
  // the report of what was committed before the error ("accepted",
  // "duplicates", "rejected").
  std::string body;
  // Set when the reply is a refusal of the one refusal map (a storage
  // backend that could not be reached: 503 BackendUnavailable, Retry-After).
  std::optional<Refusal> refusal;
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
// body over max_atomic_bytes, 503/500 when a commit fails (503
// "BackendUnavailable", refusal set, when the storage backend could not be
// reached: nothing of the failed batch is acknowledged, and the report says
// what earlier batches committed), 499 ("client closed") when the pipe was
// aborted. Aborts the pipe itself when it stops
// early so that the producer stops waiting.
BulkIngestOutcome RunBulkIngest(const BulkIngestSpec& spec, BodyPipe* pipe, const AsyncCommitFn& commit);

}  // namespace tracedb::server
