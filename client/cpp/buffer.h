#pragma once

// The bounded buffer between the threads that record and the Client's I/O
// thread. Internal to client/cpp; no Beast.
//
//   callers --Add()--> incoming_ --TakeIncoming()/Enqueue() (I/O thread:
//   encode, spool)--> unacked_ = [ in flight (sent) | waiting to be sent ]
//   --OnAck()--> gone
//
// Bound: incoming_ + being encoded + unacked_ <= max_buffered. When full,
// Add() waits (kBlock) or drops the oldest RecordEvent not yet sent
// (kDropOldest); StartTrace/EndTrace are never dropped. The critical
// section of Add() is a deque push plus counters.
//
// Thread-safety: Add/Flush/Close/counters from any thread; the rest from
// the I/O thread only.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/cpp/codec.h"
#include "client/cpp/include/tracedb/client.h"

namespace tracedb::client::internal {

// An encoded request, kept until acknowledged.
struct Outgoing {
  uint64_t seq = 0;  // spool sequence number (0 without a spool)
  RequestKind kind = RequestKind::kRecordEvent;
  std::shared_ptr<const std::string> json;
  std::chrono::steady_clock::time_point recorded;
};

class RequestBuffer {
 public:
  // `wake` is called (outside the lock) when batch_size requests are waiting
  // or a flush begins; it must be cheap and thread-safe.
  RequestBuffer(const Options& options, std::function<void()> wake);

  // ---- any thread ----
  void Add(RawRequest request);
  // Waits until the buffer is empty (everything acked or dropped); false on timeout.
  bool WaitEmpty(std::chrono::milliseconds timeout);
  // Further Add() calls drop their request; blocked callers return.
  void Close();
  Counters counters() const;
  std::vector<uint32_t> AckLatenciesUs() const;

  // ---- I/O thread ----
  // Moves the waiting raw requests out (counted as being encoded).
  std::vector<RawRequest> TakeIncoming();
  // Appends encoded requests (the result of TakeIncoming, or replayed from
  // the spool with `replayed`), ending their "being encoded" state.
  void Enqueue(std::vector<Outgoing> items, size_t taken, bool replayed);
  // The next request to send on this connection, marking it in flight;
  // null when none is waiting or max_in_flight are in flight.
  std::shared_ptr<const std::string> NextToSend();
  // The oldest in-flight request was answered. `ok`: acked; otherwise
  // rejected (counted as acked and rejected). Returns its seq.
  uint64_t OnAck(bool ok);
  // The connection is gone: in-flight requests go back to waiting.
  void OnDisconnect();
  size_t in_flight() const;
  bool HasWork() const;  // something to send, or incoming waiting
  void SetConnected(bool connected, bool compressed);
  void CountConnect(bool ok);

 private:
  bool DropOldestLocked();  // REQUIRES mu_

  const Options options_;
  const std::function<void()> wake_;
  mutable std::mutex mu_;
  std::condition_variable room_cv_;   // signalled when space frees up
  std::condition_variable empty_cv_;  // signalled when the buffer drains
  std::deque<RawRequest> incoming_;   // GUARDED_BY(mu_)
  size_t encoding_ = 0;               // GUARDED_BY(mu_): taken, not yet enqueued
  std::deque<Outgoing> unacked_;      // GUARDED_BY(mu_): [0, in_flight_) are sent
  size_t in_flight_ = 0;              // GUARDED_BY(mu_)
  bool closed_ = false;               // GUARDED_BY(mu_)
  Counters counters_;                 // GUARDED_BY(mu_)
  std::vector<uint32_t> latencies_;   // GUARDED_BY(mu_): ring of the last kLatencies acks
  size_t latency_next_ = 0;           // GUARDED_BY(mu_)
};

}  // namespace tracedb::client::internal
