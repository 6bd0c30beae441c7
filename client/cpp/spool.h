#pragma once

// The on-disk spool of a Client (Options::spool_dir): every request is
// appended before it is sent and forgotten once acknowledged, so that
// unacknowledged requests survive a server outage and a client crash or
// restart. Internal to client/cpp.
//
// Directory layout:
//   seg-<first seq, 16 hex>.log   append-only segments, rolled at kSegmentBytes
//   acked                         the ack watermark: decimal seq + "\n",
//                                 replaced atomically (write acked.tmp, rename)
// Segment grammar (little-endian):
//   segment := record*
//   record  := len: fixed32  hash: fixed32  payload: byte[len]
//   payload := seq: fixed64  kind: u8 (internal::RequestKind)  json: byte[len - 9]
//   hash    := XXH32(payload, seed 0)
// Sequence numbers grow by one per request, across segments and restarts.
// Acks arrive in send order, so the acknowledged requests are exactly those
// with seq <= watermark, except requests dropped by kDropOldest, which stay
// in their segment and are resent after a restart (the server dedups them).
// A torn or corrupt record ends its segment (a crash mid-append); the
// records before it are kept. A segment is deleted once every record in it
// is at or below the watermark and a later segment exists.
//
// Thread-safety: none; the Client's I/O thread owns it.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/cpp/codec.h"
#include "client/cpp/include/tracedb/client.h"

namespace tracedb::client::internal {

struct SpoolRecord {
  uint64_t seq = 0;
  RequestKind kind = RequestKind::kRecordEvent;
  std::string json;
};

class Spool {
 public:
  static constexpr size_t kSegmentBytes = 8 << 20;

  // Opens (creating) `dir`; appends to *replay the records above the
  // watermark, in seq order.
  static std::unique_ptr<Spool> Open(const std::string& dir, bool fsync, std::vector<SpoolRecord>* replay,
                                     Status* error);
  ~Spool();

  // The seq the next appended record must carry.
  uint64_t next_seq() const { return next_seq_; }

  // Buffers a record (seq must be next_seq()); Commit() writes the buffered
  // records.
  void Add(uint64_t seq, RequestKind kind, std::string_view json);
  Status Commit();

  // Requests up to `seq` are acknowledged. Persisted by Sync().
  void Acked(uint64_t seq) {
    if (seq > acked_) acked_ = seq;
  }
  // Writes the watermark if it moved and deletes fully acknowledged segments.
  Status Sync();

 private:
  Spool(std::string dir, bool fsync) : dir_(std::move(dir)), fsync_(fsync) {}
  Status Load(std::vector<SpoolRecord>* replay);
  Status Roll();

  std::string dir_;
  bool fsync_;
  std::FILE* file_ = nullptr;  // current segment
  std::string pending_;        // records added, not yet committed
  size_t file_bytes_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t acked_ = 0;
  uint64_t acked_persisted_ = 0;
  std::vector<uint64_t> segments_;  // first seq of each segment, ascending (the last is file_)
};

}  // namespace tracedb::client::internal
