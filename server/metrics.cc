#include "server/metrics.h"

#include <fmt/format.h>

namespace tracedb::server {

const char* RequestTypeName(RequestType type) {
  switch (type) {
    case RequestType::kStartTrace: return "StartTrace";
    case RequestType::kRecordEvent: return "RecordEvent";
    case RequestType::kEndTrace: return "EndTrace";
    case RequestType::kGetTrace: return "GetTrace";
    case RequestType::kQueryTraces: return "QueryTraces";
    case RequestType::kGetFlowVersions: return "GetFlowVersions";
    case RequestType::kPing: return "Ping";
    case RequestType::kSubscribe: return "Subscribe";
    case RequestType::kUnsubscribe: return "Unsubscribe";
    case RequestType::kStoreTrace: return "StoreTrace";
    case RequestType::kLegacySubscribe: return "LegacySubscribe";
    case RequestType::kGetMetrics: return "GetMetrics";
    case RequestType::kInvalid: return "Invalid";
    case RequestType::kCount: break;
  }
  return "Unknown";
}

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  if (i < kBounds.size()) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void Histogram::Render(const std::string& name, const std::string& labels, std::string* out) const {
  std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    *out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, kBounds[i], cumulative);
  }
  uint64_t count = count_.load(std::memory_order_relaxed);
  if (count < cumulative) count = cumulative;
  *out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, count);
  std::string braces = labels.empty() ? "" : "{" + labels + "}";
  *out += fmt::format("{}_sum{} {}\n", name, braces, sum_nanos_.load(std::memory_order_relaxed) / 1e9);
  *out += fmt::format("{}_count{} {}\n", name, braces, count);
}

void Metrics::CountRequest(RequestType type, std::chrono::steady_clock::time_point start) {
  auto i = static_cast<size_t>(type);
  requests[i].fetch_add(1, std::memory_order_relaxed);
  request_latency[i].Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

namespace {

void Family(std::string* out, const char* name, const char* type, const char* help) {
  *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

template <typename T>
void One(std::string* out, const char* name, const char* type, const char* help, const T& value) {
  Family(out, name, type, help);
  *out += fmt::format("{} {}\n", name, value.load(std::memory_order_relaxed));
}

void Value(std::string* out, const char* name, const char* type, const char* help, double value) {
  Family(out, name, type, help);
  *out += fmt::format("{} {}\n", name, value);
}

}  // namespace

std::string Metrics::RenderPrometheus(const engine::Stats* stats, const engine::Counters* counters,
                                      const engine::StorageSpace* space) const {
  std::string out;
  out.reserve(16 << 10);
  One(&out, "tracedb_connections_open", "gauge", "Open WebSocket connections.", connections_open);
  One(&out, "tracedb_connections_total", "counter", "WebSocket connections accepted.", connections_total);
  One(&out, "tracedb_ws_messages_received_total", "counter", "WebSocket messages received.", messages_received);
  One(&out, "tracedb_ws_replies_sent_total", "counter", "Replies sent (notifications excluded).", messages_sent);
  One(&out, "tracedb_ws_received_bytes_total", "counter", "WebSocket payload bytes received.", bytes_received);
  One(&out, "tracedb_ws_sent_bytes_total", "counter", "WebSocket payload bytes sent.", bytes_sent);
  One(&out, "tracedb_error_replies_total", "counter", "Error replies sent.", errors_total);
  One(&out, "tracedb_invalid_messages_total", "counter",
      "Messages rejected as unparseable, oversized or badly compressed.", invalid_messages);
  One(&out, "tracedb_events_ingested_total", "counter", "Events newly stored.", events_ingested);
  One(&out, "tracedb_events_duplicate_total", "counter", "Events received again (already stored, not rewritten).",
      events_duplicate);
  One(&out, "tracedb_traces_stored_total", "counter", "Traces ended, finalized or stored whole.", traces_stored);
  One(&out, "tracedb_traces_finalized_total", "counter",
      "Traces closed by the server because their connection went away.", traces_finalized);
  One(&out, "tracedb_traces_queried_total", "counter", "GetTrace and QueryTraces requests served.",
      traces_queried);
  One(&out, "tracedb_subscriptions_active", "gauge", "Active subscriptions.", subscriptions_active);
  One(&out, "tracedb_notifications_sent_total", "counter", "EventNotification pushes queued to subscribers.",
      notifications_sent);
  One(&out, "tracedb_notifications_dropped_total", "counter",
      "EventNotification pushes dropped because the subscriber's queue was full.", notifications_dropped);
  One(&out, "tracedb_write_batches_total", "counter", "Engine write batches committed (group commits).",
      write_batches);
  One(&out, "tracedb_write_batch_requests_total", "counter", "Write requests merged into committed batches.",
      write_batch_requests);
  One(&out, "tracedb_write_errors_total", "counter", "Engine writes that failed.", write_errors);
  One(&out, "tracedb_backpressure_pauses_total", "counter",
      "Times a socket stopped being read because a bounded queue was full.", backpressure_pauses);
  One(&out, "tracedb_ingest_queue_depth", "gauge", "Write requests waiting for the writer thread.",
      ingest_queue_depth);
  One(&out, "tracedb_read_queue_depth", "gauge", "Read tasks waiting for a read thread.", read_queue_depth);
  One(&out, "tracedb_http_requests_total", "counter", "Plain HTTP requests served.", http_requests);
  if (cluster_bus_enabled.load(std::memory_order_relaxed)) RenderClusterBus(&out);

  Family(&out, "tracedb_requests_total", "counter", "WebSocket requests by type.");
  for (size_t i = 0; i < requests.size(); ++i) {
    out += fmt::format("tracedb_requests_total{{type=\"{}\"}} {}\n", RequestTypeName(static_cast<RequestType>(i)),
                       requests[i].load(std::memory_order_relaxed));
  }
  Family(&out, "tracedb_request_duration_seconds", "histogram",
         "Time from receiving a request to its reply being ready, by type.");
  for (size_t i = 0; i < request_latency.size(); ++i) {
    request_latency[i].Render("tracedb_request_duration_seconds",
                              fmt::format("type=\"{}\"", RequestTypeName(static_cast<RequestType>(i))), &out);
  }
  Family(&out, "tracedb_write_batch_duration_seconds", "histogram", "Duration of one engine write batch.");
  write_batch_latency.Render("tracedb_write_batch_duration_seconds", "", &out);

  if (stats != nullptr) {
    Value(&out, "tracedb_rocksdb_memtable_bytes", "gauge", "RocksDB memtable bytes.",
          static_cast<double>(stats->memtable_bytes));
    Value(&out, "tracedb_rocksdb_pending_compaction_bytes", "gauge", "RocksDB estimated pending compaction bytes.",
          static_cast<double>(stats->pending_compaction_bytes));
    Value(&out, "tracedb_rocksdb_live_sst_bytes", "gauge", "RocksDB live SST file bytes.",
          static_cast<double>(stats->live_sst_bytes));
    Value(&out, "tracedb_rocksdb_sst_files", "gauge", "RocksDB SST files.",
          static_cast<double>(stats->total_sst_files));
    Value(&out, "tracedb_rocksdb_estimated_keys", "gauge", "RocksDB estimated number of keys.",
          static_cast<double>(stats->estimated_keys));
    Value(&out, "tracedb_rocksdb_write_stall_seconds_total", "counter", "Time RocksDB stalled writes.",
          static_cast<double>(stats->write_stall_micros) / 1e6);
  }
  if (counters != nullptr) {
    One(&out, "tracedb_retention_runs_total", "counter", "Retention passes run (since start).",
        counters->retention_runs);
    One(&out, "tracedb_retention_buckets_dropped_total", "counter",
        "Time buckets removed by retention (since start).", counters->buckets_dropped);
    One(&out, "tracedb_storage_full_refusals_total", "counter",
        "Engine writes refused because the disk is full or below storage.min_free_bytes.",
        counters->storage_full_refusals);
  }
  if (space != nullptr) {
    Value(&out, "tracedb_storage_free_bytes", "gauge", "Bytes available on the store's filesystem.",
          static_cast<double>(space->free_bytes));
    Value(&out, "tracedb_storage_min_free_bytes", "gauge", "The free-space floor (storage.min_free_bytes).",
          static_cast<double>(space->min_free_bytes));
    Value(&out, "tracedb_storage_full", "gauge", "1 while ingest is refused for the lack of disk space.",
          space->full ? 1.0 : 0.0);
  }
  return out;
}

void Metrics::RenderClusterBus(std::string* out) const {
  One(out, "tracedb_cluster_connected", "gauge", "1 while connected to the NATS server of cluster.nats.",
      cluster_connected);
  One(out, "tracedb_cluster_subscribed", "gauge", "1 while subscribed to other servers' events (tracedb.ev.>).",
      cluster_subscribed);
  One(out, "tracedb_cluster_disconnects_total", "counter", "Connections to NATS lost.", cluster_disconnects);
  One(out, "tracedb_cluster_reconnects_total", "counter", "Reconnections to NATS that succeeded.",
      cluster_reconnects);
  One(out, "tracedb_cluster_published_total", "counter", "Recorded events published on the cluster bus.",
      cluster_published);
  One(out, "tracedb_cluster_publish_dropped_total", "counter",
      "Recorded events not published on the cluster bus (NATS disconnected or the publish failed).",
      cluster_publish_dropped);
  One(out, "tracedb_cluster_received_total", "counter", "Events of other servers received from the cluster bus.",
      cluster_received);
  One(out, "tracedb_cluster_lost_total", "counter",
      "Events of other servers missed (gaps in their publish sequence while subscribed).", cluster_lost);
  One(out, "tracedb_cluster_invalid_messages_total", "counter",
      "Cluster bus messages ignored as undecodable or of an unknown version.", cluster_invalid);
}

std::string Metrics::RenderReflowCounters() const {
  auto v = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  return fmt::format(
      "{{\"connections_active\":{},\"connections_total\":{},\"messages_received\":{},\"messages_sent\":{},"
      "\"errors_total\":{},\"traces_stored\":{},\"traces_queried\":{}}}",
      v(connections_open), v(connections_total), v(messages_received), v(messages_sent), v(errors_total),
      v(traces_stored), v(traces_queried));
}

}  // namespace tracedb::server
