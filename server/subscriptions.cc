#include "server/subscriptions.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "ingest/reflow/reflow_json.h"

namespace tracedb::server {

namespace reflow = ingest::reflow;

bool FiltersNeedTrace(const reflow::SubscriptionFilters& filters) {
  return filters.flow_ids.has_value() || filters.status_filter.has_value();
}

bool FiltersMatch(const reflow::SubscriptionFilters& f, const schema::Event& event, const TraceInfo* info) {
  if (f.actor_ids && std::find(f.actor_ids->begin(), f.actor_ids->end(), event.actor) == f.actor_ids->end()) {
    return false;
  }
  if (f.event_types) {
    bool any = false;
    for (const auto& t : *f.event_types) {
      if (t.type != event.type) continue;
      if (t.type == schema::EventType::kDataFlow && (t.to_actor != event.to_actor || t.to_port != event.to_port)) {
        continue;
      }
      any = true;
      break;
    }
    if (!any) return false;
  }
  if (f.flow_ids) {
    if (info == nullptr) return false;
    if (std::find(f.flow_ids->begin(), f.flow_ids->end(), info->flow_id) == f.flow_ids->end()) return false;
  }
  if (f.status_filter) {
    if (info == nullptr) return false;
    if (std::find(f.status_filter->begin(), f.status_filter->end(), info->status) == f.status_filter->end()) {
      return false;
    }
  }
  return true;
}

void Subscriptions::Set(const std::shared_ptr<Peer>& peer, reflow::SubscriptionFilters filters) {
  std::unique_lock lock(mu_);
  auto [it, inserted] = entries_.insert_or_assign(peer->id(), Entry{peer, std::move(filters)});
  (void)it;
  if (inserted) {
    count_.fetch_add(1, std::memory_order_release);
    metrics_->subscriptions_active.fetch_add(1, std::memory_order_relaxed);
  }
}

bool Subscriptions::Remove(uint64_t peer_id) {
  std::unique_lock lock(mu_);
  if (entries_.erase(peer_id) == 0) return false;
  count_.fetch_sub(1, std::memory_order_release);
  metrics_->subscriptions_active.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

size_t Subscriptions::Notify(const schema::Id128& trace_id, const schema::Event& event,
                             const std::function<const TraceInfo*()>& info) {
  return NotifyPrinted(event, info, [&] {
    auto json = std::make_shared<std::string>();
    reflow::AppendTracingResponse(reflow::EventNotification{trace_id, event}, json.get());
    return std::shared_ptr<const std::string>(std::move(json));
  });
}

size_t Subscriptions::NotifyPrinted(const schema::Event& event, const std::function<const TraceInfo*()>& info,
                                    const std::function<std::shared_ptr<const std::string>()>& json) {
  std::vector<std::shared_ptr<Peer>> targets;
  {
    std::shared_lock lock(mu_);
    const TraceInfo* trace = nullptr;
    bool fetched = false;
    for (const auto& [id, entry] : entries_) {
      if (FiltersNeedTrace(entry.filters) && !fetched) {
        trace = info();
        fetched = true;
      }
      if (!FiltersMatch(entry.filters, event, trace)) continue;
      if (auto p = entry.peer.lock()) targets.push_back(std::move(p));
    }
  }
  if (targets.empty()) return 0;
  std::shared_ptr<const std::string> shared = json();
  size_t pushed = 0;
  for (const auto& p : targets) {
    if (p->Push(shared)) {
      ++pushed;
      metrics_->notifications_sent.fetch_add(1, std::memory_order_relaxed);
    } else {
      metrics_->notifications_dropped.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return pushed;
}

}  // namespace tracedb::server
