#pragma once

// The cluster bus: live subscriptions across tracedb servers over NATS
// (`[cluster] nats`, docs/scale-out.md "Live subscriptions").
//
// Every server publishes each RecordEvent it committed (after the engine's
// Write returned) on subject `tracedb.ev.<flow token>` (FlowSubjectToken).
// While a server has at least one local subscriber it subscribes to
// `tracedb.ev.>` and hands every message of another server to its local
// subscriptions, which filter it with the same code as local events
// (server/subscriptions.h). A server ignores its own messages (NoEcho on the
// connection, and the origin id in every message).
//
// Message body (docs/format.md, "Cluster bus messages"), version 1:
//   message      := version:u8(=1) origin:fixed64le seq:fixed64le
//                   trace_known:u8(0|1) status_code:u8 event_type:u8
//                   flow:str status_error:str actor:str to_actor:str to_port:str
//                   notification
//   str          := length:fixed32le bytes[length]
//   notification := the rest: {"EventNotification":{...}} exactly as a local
//                   subscriber receives it
// `seq` counts the messages one origin handed to NATS (1, 2, ...); a
// receiver counts a gap in it as lost messages. A message of another
// version is ignored and counted invalid.
//
// Delivery is NATS core pub/sub: at most once, ordered per publisher (so
// per trace when one server records a trace). While the connection is down,
// events are not published (counted dropped) and the library reconnects in
// the background forever; live starts at the subscription (the Reflow
// protocol has no history replay): the Subscribe ack is sent only after the
// NATS server confirmed the bus subscription, so an event published after
// the ack reaches the subscriber.
//
// Thread-safety: every public method is thread-safe. Publish is called by
// the writer thread; `deliver` runs on the NATS subscription thread.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "schema/model.h"
#include "server/metrics.h"
#include "server/subscriptions.h"

namespace tracedb::server {

// The subject prefix of every cluster bus message.
inline constexpr std::string_view kBusSubjectPrefix = "tracedb.ev.";
// The version of the message layout this server writes and reads.
inline constexpr uint8_t kBusMessageVersion = 1;

// A flow id as one NATS subject token: bytes in [A-Za-z0-9_-] stay, every
// other byte (including '.', '*', '>', '~', spaces, UTF-8) becomes ~XX (two
// upper-case hex digits); the empty flow id is "~". Injective, so distinct
// flows never share a subject.
std::string FlowSubjectToken(std::string_view flow_id);
// "tracedb.ev." + FlowSubjectToken(flow_id).
std::string BusSubject(std::string_view flow_id);

// One decoded bus message.
struct BusMessage {
  uint64_t origin = 0;     // the publishing server's id
  uint64_t seq = 0;        // its publish sequence number
  bool trace_known = false;
  TraceInfo trace;         // meaningful when trace_known
  schema::Event event;     // only actor, type, to_actor, to_port (what filters test)
  std::string notification;  // the EventNotification JSON
};

// The body of a message (grammar above). `trace` null: the trace was not
// found when the event was published (flow / status filters fail on it, as
// they do locally).
std::string EncodeBusMessage(uint64_t origin, uint64_t seq, const TraceInfo* trace, const schema::Event& event,
                             std::string_view notification);
// Parses a body; InvalidArgument when truncated or of another version.
Result<BusMessage> DecodeBusMessage(std::string_view body);

struct ClusterBusOptions {
  // NATS server URL(s), comma-separated ("nats://host:4222").
  std::string url;
  // This server's id, carried by every message it publishes. Must differ
  // between the servers of a cluster (Service draws it at random).
  uint64_t server_id = 0;
  // Wait between reconnect attempts; attempts never stop. Default: 1000.
  int reconnect_wait_ms = 1000;
  // How long a new bus subscription waits for the NATS server's
  // confirmation before the Subscribe ack is sent anyway. Default: 2000.
  int subscribe_confirm_ms = 2000;
  // Messages buffered by the library for the bus subscription; beyond it
  // messages are dropped (and counted lost). Default: 65536.
  int pending_messages = 65536;
};

class ClusterBus {
 public:
  // Called with every message of another server, on the NATS subscription
  // thread, one message at a time.
  using Deliver = std::function<void(const BusMessage&)>;
  // True while the server has local subscribers (read on the bus thread).
  using Wanted = std::function<bool()>;

  // Connects to options.url. An unreachable NATS server is not an error:
  // the bus logs one line naming the URL and keeps connecting in the
  // background. InvalidArgument (naming cluster.nats) for a malformed URL.
  // `metrics` must outlive the bus; `wanted` and `deliver` must stay
  // callable until Close() returned.
  static Result<std::unique_ptr<ClusterBus>> Start(const ClusterBusOptions& options, Metrics* metrics,
                                                   Wanted wanted, Deliver deliver);
  ~ClusterBus();  // Close()

  ClusterBus(const ClusterBus&) = delete;
  ClusterBus& operator=(const ClusterBus&) = delete;

  // Publishes one committed event (`notification` is its EventNotification
  // JSON) on BusSubject(trace->flow_id) ("unknown" when `trace` is null).
  // Never blocks on the network beyond the library's buffered socket write;
  // while disconnected the message is dropped and counted.
  void Publish(const TraceInfo* trace, const schema::Event& event, std::string_view notification);

  // Makes the bus subscription follow `wanted` (call after a local
  // subscription was added or removed). `done` (may be empty) runs on the
  // bus thread once the subscription exists and the NATS server confirmed
  // it, or the confirmation failed or timed out.
  void Reconcile(std::function<void()> done = {});

  // Unsubscribes, runs the pending `done` callbacks, closes the connection
  // and joins the bus thread; after it no callback runs. Idempotent.
  void Close();

  uint64_t server_id() const { return options_.server_id; }
  // True while connected to a NATS server.
  bool connected() const;
  // True while subscribed to tracedb.ev.> (read by tests).
  bool subscribed() const;

 private:
  struct Nats;  // the libnats handles (cluster_bus.cc)

  ClusterBus(const ClusterBusOptions& options, Metrics* metrics, Wanted wanted, Deliver deliver);
  void Run();
  void Subscribe();
  void Unsubscribe();
  void OnMessage(std::string_view body);

  const ClusterBusOptions options_;
  Metrics* const metrics_;
  const Wanted wanted_;
  const Deliver deliver_;
  std::unique_ptr<Nats> nats_;
  uintptr_t id_ = 0;  // the connection callbacks' closure (cluster_bus.cc)

  std::mutex publish_mu_;  // orders seq with the bytes handed to NATS
  uint64_t next_seq_ = 1;  // GUARDED_BY(publish_mu_)

  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = false;                        // GUARDED_BY(mu_)
  bool stopping_ = false;                     // GUARDED_BY(mu_)
  std::vector<std::function<void()>> done_;   // GUARDED_BY(mu_)
  std::thread thread_;

  std::mutex seen_mu_;
  // Last seq received per origin, since the current bus subscription.
  std::unordered_map<uint64_t, uint64_t> last_seq_;  // GUARDED_BY(seen_mu_)
};

}  // namespace tracedb::server
