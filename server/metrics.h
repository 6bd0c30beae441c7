#pragma once

// Server metrics: lock-free counters and fixed-bucket histograms, rendered
// in the Prometheus text exposition format (version 0.0.4) for GET /metrics
// and as Reflow's 7 GetMetrics counters.
//
// Thread-safety: every member may be updated from any thread (relaxed
// atomics); rendering reads a slightly inconsistent but monotone snapshot.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "engine/engine.h"

namespace tracedb::server {

// The kinds of request, one label value of the per-type metrics.
enum class RequestType : uint8_t {
  kStartTrace = 0,
  kRecordEvent,
  kEndTrace,
  kGetTrace,
  kQueryTraces,
  kGetFlowVersions,
  kPing,
  kSubscribe,
  kUnsubscribe,
  kStoreTrace,
  kLegacySubscribe,
  kGetMetrics,
  kInvalid,  // could not be parsed
  kCount,    // number of kinds (not a kind)
};

// "StartTrace", ... (the wire name; "Invalid" for kInvalid).
const char* RequestTypeName(RequestType type);

// A histogram over fixed bucket bounds (seconds).
class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                     0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                                     0.5,     1.0,    2.5,     10.0};
  void Observe(double seconds);
  // Appends the _bucket / _sum / _count lines of `name` with `labels`
  // ("" or `type="x"`).
  void Render(const std::string& name, const std::string& labels, std::string* out) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size()> buckets_{};  // not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};
};

struct Metrics {
  std::atomic<uint64_t> connections_total{0};
  std::atomic<int64_t> connections_open{0};
  std::atomic<uint64_t> messages_received{0};   // WebSocket messages in
  std::atomic<uint64_t> messages_sent{0};       // replies out (not pushes)
  std::atomic<uint64_t> bytes_received{0};      // WebSocket payload bytes in (as framed)
  std::atomic<uint64_t> bytes_sent{0};          // WebSocket payload bytes out
  std::atomic<uint64_t> errors_total{0};        // Error replies of any kind
  std::atomic<uint64_t> invalid_messages{0};    // unparseable / oversized / bad compression
  std::atomic<uint64_t> events_ingested{0};     // events newly stored
  std::atomic<uint64_t> events_duplicate{0};    // events already stored (idempotent retry)
  std::atomic<uint64_t> traces_stored{0};       // StoreTrace + EndTrace + finalizations applied
  std::atomic<uint64_t> traces_finalized{0};    // closed because their connection went away
  std::atomic<uint64_t> traces_queried{0};      // GetTrace + QueryTraces
  std::atomic<int64_t> subscriptions_active{0};
  std::atomic<uint64_t> notifications_sent{0};
  std::atomic<uint64_t> notifications_dropped{0};
  std::atomic<uint64_t> write_batches{0};
  std::atomic<uint64_t> write_batch_requests{0};
  std::atomic<uint64_t> write_errors{0};
  std::atomic<uint64_t> backpressure_pauses{0};  // a socket stopped being read
  std::atomic<int64_t> ingest_queue_depth{0};
  std::atomic<int64_t> read_queue_depth{0};
  std::atomic<uint64_t> http_requests{0};
  // The cluster bus (server/cluster_bus.h); rendered only when it is on.
  std::atomic<bool> cluster_bus_enabled{false};
  std::atomic<int64_t> cluster_connected{0};            // 1 while connected to NATS
  std::atomic<int64_t> cluster_subscribed{0};           // 1 while subscribed to tracedb.ev.>
  std::atomic<uint64_t> cluster_disconnects{0};         // established connections lost
  std::atomic<uint64_t> cluster_reconnects{0};          // reconnections that succeeded
  std::atomic<uint64_t> cluster_published{0};           // events handed to NATS
  std::atomic<uint64_t> cluster_publish_dropped{0};     // events not published (disconnected, error)
  std::atomic<uint64_t> cluster_received{0};            // messages of other servers received
  std::atomic<uint64_t> cluster_lost{0};                // gaps in other servers' sequences
  std::atomic<uint64_t> cluster_invalid{0};             // undecodable or of another version
  std::array<std::atomic<uint64_t>, static_cast<size_t>(RequestType::kCount)> requests{};
  std::array<Histogram, static_cast<size_t>(RequestType::kCount)> request_latency;
  Histogram write_batch_latency;

  void CountRequest(RequestType type, std::chrono::steady_clock::time_point start);

  // The Prometheus text of every metric; `stats` adds the storage gauges.
  // `stats` and `counters` (either may be null) add the engine's figures.
  std::string RenderPrometheus(const engine::Stats* stats, const engine::Counters* counters = nullptr,
                               const engine::StorageSpace* space = nullptr) const;

  // The tracedb_cluster_* families (called when cluster_bus_enabled).
  void RenderClusterBus(std::string* out) const;

  // Reflow's GetMetrics data object: the 7 upstream counters.
  std::string RenderReflowCounters() const;
};

}  // namespace tracedb::server
