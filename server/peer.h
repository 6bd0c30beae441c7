#pragma once

// A client connection as the protocol service (server/service.h) sees it.
// The network layer (server/net.cc) implements it on a WebSocket session;
// tests may implement it directly.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

#include "schema/model.h"

namespace tracedb::server {

// One reply, ready to send: the JSON text, or its compressed form in a
// Binary frame.
struct Outgoing {
  std::string payload;
  bool binary = false;
  bool is_error = false;  // an Error reply (for metrics)
};

// Hash of an Id128 (its first 8 bytes: ids are random or UUID-like).
struct Id128Hash {
  size_t operator()(const schema::Id128& id) const {
    uint64_t h = 0;
    for (int i = 0; i < 8; ++i) h = (h << 8) | id[i];
    return static_cast<size_t>(h ^ (static_cast<uint64_t>(id[15]) << 3));
  }
};

class Peer {
 public:
  explicit Peer(uint64_t id) : id_(id) {}
  virtual ~Peer() = default;
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  // Completes request `seq` (numbered 0, 1, 2... in arrival order on this
  // connection) with `reply`. Replies are sent in seq order whatever order
  // Complete is called in. Thread-safe; callable from any thread. A closed
  // peer drops the reply.
  virtual void Complete(uint64_t seq, Outgoing reply) = 0;

  // Queues an EventNotification (always a Text frame). Pushes are sent
  // before any reply completed after them. Thread-safe. Returns false when
  // the peer's bounded push queue is full or the peer is closed: the
  // notification is dropped (the caller counts it).
  virtual bool Push(std::shared_ptr<const std::string> json) = 0;

  // Tells the peer that a bounded queue it waited on has room again.
  // Thread-safe.
  virtual void Wake() = 0;

  // A process-unique connection id.
  uint64_t id() const { return id_; }

  // Traces this connection started or recorded into and has not ended:
  // finalized when it closes. Touched only on the connection's own strand
  // (Service::Handle / Service::OnClose), hence unguarded.
  std::unordered_set<schema::Id128, Id128Hash>& owned_traces() { return owned_traces_; }
  // Set when owned_traces hit its cap (further traces are not tracked).
  bool owned_overflow = false;

  // Whether this connection opted in to compressed replies (it sent a
  // Binary frame, or connected with ?compress=1): compression.replies.
  // Thread-safe.
  bool compress_replies() const { return compress_replies_.load(std::memory_order_relaxed); }
  void OptInToCompression() { compress_replies_.store(true, std::memory_order_relaxed); }

 private:
  const uint64_t id_;
  std::atomic<bool> compress_replies_{false};
  std::unordered_set<schema::Id128, Id128Hash> owned_traces_;
};

}  // namespace tracedb::server
