#pragma once

// Live subscriptions (Reflow Subscribe / Unsubscribe) and the filter
// semantics of reflow-protocol.md §7.3 with §8's corrections:
//   flow_ids      the flow_id of the event's trace (lazy traces: "unknown");
//   actor_ids     exact Event::actor (the source actor of a DataFlow);
//   event_types   exact type, DataFlow's to_actor / to_port included;
//   status_filter the trace's current status, QueryTraces equality
//                 (Failed compares its error text too).
// nullopt = no filter; an empty list matches nothing; filters AND.
//
// Thread-safety: Subscriptions is safe for concurrent use (a shared mutex
// guards the map; Notify holds it shared).

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>

#include "schema/model.h"
#include "ingest/reflow/reflow_protocol.h"
#include "server/metrics.h"
#include "server/peer.h"

namespace tracedb::server {

// What a notification needs to know about the event's trace.
struct TraceInfo {
  std::string flow_id = "unknown";
  schema::ExecutionStatus status;
};

// True when `filters` select `event` of a trace described by `info`
// (`info` may be null when the filters have no flow_ids / status_filter).
bool FiltersMatch(const ingest::reflow::SubscriptionFilters& filters, const schema::Event& event,
                  const TraceInfo* info);

// True when `filters` test the trace (flow_ids or status_filter set).
bool FiltersNeedTrace(const ingest::reflow::SubscriptionFilters& filters);

class Subscriptions {
 public:
  explicit Subscriptions(Metrics* metrics) : metrics_(metrics) {}

  // Registers or replaces the subscription of `peer` (one per connection).
  void Set(const std::shared_ptr<Peer>& peer, ingest::reflow::SubscriptionFilters filters);
  // Removes the subscription of connection `peer_id`; false when none.
  bool Remove(uint64_t peer_id);

  // True when no subscription exists (lets ingest skip all notify work).
  bool empty() const { return count_.load(std::memory_order_acquire) == 0; }

  // Pushes {"EventNotification":{trace_id, event}} to every matching
  // subscriber. `info` is called at most once, only when a subscription
  // tests the trace; it may return null (trace unknown: such filters fail).
  // The JSON is printed once, only when some subscriber matches. Returns
  // the number of subscribers pushed to.
  size_t Notify(const schema::Id128& trace_id, const schema::Event& event,
                const std::function<const TraceInfo*()>& info);

  // The same, for an event whose EventNotification JSON is already printed
  // (`json` returns it; called at most once, only when some subscriber
  // matches): the local path when the cluster bus is on, and the events of
  // other servers (server/cluster_bus.h). Only event.actor, type, to_actor
  // and to_port are read.
  size_t NotifyPrinted(const schema::Event& event, const std::function<const TraceInfo*()>& info,
                       const std::function<std::shared_ptr<const std::string>()>& json);

 private:
  struct Entry {
    std::weak_ptr<Peer> peer;
    ingest::reflow::SubscriptionFilters filters;
  };

  Metrics* metrics_;
  mutable std::shared_mutex mu_;
  std::map<uint64_t, Entry> entries_;  // GUARDED_BY(mu_), by connection id
  std::atomic<size_t> count_{0};
};

}  // namespace tracedb::server
