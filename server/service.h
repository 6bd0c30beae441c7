#pragma once

// The Reflow tracing service: what each request does (reflow-protocol.md §7
// with §8's corrections), independent of the network layer.
//
// Threads and queues (docs/server.md has the picture):
//   - I/O threads call Handle / HandleInvalid / OnClose on a connection's
//     strand. Cheap requests (Ping, Subscribe, GetMetrics, errors) are
//     answered there.
//   - Writes (StartTrace, RecordEvent, EndTrace, StoreTrace, finalization)
//     go to the group commit (ingest/pipeline/group_commit.h; bounded:
//     ingest.queue_capacity requests and ingest.queue_bytes bytes) drained
//     by ONE writer thread, which merges up to ingest.max_batch pending
//     requests of all connections into one engine WriteBatch, calls
//     Engine::Write, then pushes notifications and completes each request
//     (the callbacks of the requests this file defines). A RecordEvent is
//     acknowledged only after Write returned.
//   - Reads (GetTrace, QueryTraces, GetFlowVersions) go to the read queue
//     (bounded: ingest.read_queue_capacity) served by server.read_threads
//     threads.
//   - Backpressure: before reading its next message a connection calls
//     MustWait; when either queue is full it stops reading its socket until
//     Peer::Wake. A connection may thus add one request beyond a queue's
//     bound: the true bound is capacity + open connections.
//
// Thread-safety: all public methods are thread-safe; per-connection calls
// must come from that connection's strand, in order.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "engine/engine.h"
#include "ingest/reflow/reflow_protocol.h"
#include "ingest/pipeline/decompress.h"
#include "ingest/pipeline/group_commit.h"
#include "server/cluster_bus.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/peer.h"
#include "server/subscriptions.h"

namespace tracedb::server {

class Service {
 public:
  // Starts the writer and read threads. `engine` must outlive the Service.
  static Result<std::unique_ptr<Service>> Create(const Config& config, engine::Engine* engine);
  ~Service();  // Shutdown()

  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // A connection opened.
  void OnOpen(const std::shared_ptr<Peer>& peer);

  // The requests of one connection handled in a row (a WebSocket parse
  // job): their writes reach the group commit together at EndBurst (one
  // lock and one wake of the writer for the lot), and before any request of
  // the burst that is not a write, so that it still follows them.
  class Burst {
   private:
    friend class Service;
    std::vector<std::unique_ptr<ingest::WriteRequest>> writes_;
  };

  // Handles message `seq` of `peer`: one JSON text (a Text frame, or a
  // Binary frame after decompression). Completes `seq` exactly once, now or
  // later from another thread. With a `burst`, a write is queued at
  // EndBurst(burst), which the caller must call.
  void Handle(const std::shared_ptr<Peer>& peer, uint64_t seq, std::string_view json,
              std::chrono::steady_clock::time_point received, Burst* burst = nullptr);
  // Queues the writes of `burst`.
  void EndBurst(Burst* burst);

  // Completes `seq` with {"Error":{"message":"Invalid message format: <detail>"}}
  // (oversized message, undecodable Binary frame).
  void HandleInvalid(const std::shared_ptr<Peer>& peer, uint64_t seq, std::string_view detail,
                     std::chrono::steady_clock::time_point received);

  // True when a bounded queue is full: the caller must stop reading and
  // wait for peer->Wake() (registered here) before calling again.
  bool MustWait(const std::shared_ptr<Peer>& peer);

  // The connection closed: removes its subscription and finalizes the
  // traces it started or recorded into and did not end (still-open ones
  // only) with server.finalize_status and EndReason::kFinalized.
  void OnClose(const std::shared_ptr<Peer>& peer);

  // Finishes every queued write and read, then stops the threads. Further
  // requests are answered with an Unavailable error. Idempotent.
  void Shutdown();

  // Commits `batch` on the writer thread, in order with the WebSocket
  // writes (one writer: the engine sees a single stream of batches), and
  // returns the engine's result. Blocks the caller until Write returned:
  // call it from a worker thread (bulk ingest), never an I/O thread. Runs
  // as its own engine batch (not merged); no EventNotifications are sent
  // for its events. Unavailable after Shutdown.
  Result<engine::WriteResult> CommitBatch(const engine::WriteBatch& batch);
  // CommitBatch without waiting: `done` gets the result (GroupCommit::
  // CommitAsync); `batch` stays alive until then.
  void CommitBatchAsync(const engine::WriteBatch& batch, std::function<void(Result<engine::WriteResult>)> done);

  // False once Shutdown began.
  bool ready() const;

  // The store's free space; `full` while writes are refused for the lack
  // of it (GET /readyz answers 503 then). Thread-safe.
  engine::StorageSpace storage_space() { return engine_->Space(); }

  Metrics& metrics() { return metrics_; }
  // The cluster bus; null when cluster.nats is empty (no NATS connection).
  ClusterBus* cluster_bus() { return bus_.get(); }
  // The Prometheus text of GET /metrics (engine statistics included).
  std::string RenderMetrics();

  // Turns a reply's JSON into what goes on the wire: a compressed Binary
  // frame when compression.enabled, `peer` gets compressed replies
  // (compression.replies: it opted in, or "always") and the reply is larger
  // than the threshold; else a Text frame.
  Outgoing MakeReply(std::string json, const Peer& peer) const;

 private:
  class WriteItem;
  class FinalizeItem;
  class ReadPool;

  Service(const Config& config, engine::Engine* engine);

  void Reply(const std::shared_ptr<Peer>& peer, uint64_t seq, RequestType type,
             std::chrono::steady_clock::time_point received, std::string json, bool is_error = false);
  void SubmitWrite(std::unique_ptr<WriteItem> item, Burst* burst);
  void SubmitRead(const std::shared_ptr<Peer>& peer, uint64_t seq, RequestType type,
                  std::chrono::steady_clock::time_point received, std::function<std::string(bool*)> task);
  void CompleteWrite(WriteItem& item, const Status& status);
  const TraceInfo* LookupTrace(const schema::Id128& trace_id);
  // Connects the cluster bus (cluster.nats set).
  Status StartBus();
  // Writer thread, bus on: notifies the local subscribers of a committed
  // event and publishes it on the bus.
  void NotifyAndPublish(const schema::Id128& trace_id, const schema::Event& event);

  const Config config_;
  engine::Engine* const engine_;
  ingest::Codec algorithm_ = ingest::Codec::kZstd;
  schema::ExecutionStatus finalize_status_;
  Metrics metrics_;
  Subscriptions subscriptions_;

  // Writer-thread-only cache of trace flow / status for subscription
  // filters. Cleared when it exceeds kTraceCacheMax entries, and before its
  // next use once a bulk batch was committed (trace_cache_stale_, set on
  // the engine's commit thread).
  std::unordered_map<schema::Id128, TraceInfo, Id128Hash> trace_cache_;
  std::atomic<bool> trace_cache_stale_{false};

  // The cluster bus; null when cluster.nats is empty. Declared after the
  // subscriptions its callbacks deliver to, before the writer that
  // publishes on it.
  std::unique_ptr<ClusterBus> bus_;

  // Declared after what the writer's callbacks use (destroyed first).
  std::unique_ptr<ingest::GroupCommit> writes_;
  std::unique_ptr<ReadPool> reads_;
};

}  // namespace tracedb::server
