#pragma once

// Group commit: the ONE writer thread every ingest path writes through, so
// that the engine sees a single stream of batches.
//
// Producers Submit requests into a bounded queue (queue_capacity requests
// and queue_bytes bytes). The writer thread pops up to max_batch pending
// kMerge requests (of all producers), lets each add its operations to one
// engine::WriteBatch, calls Engine::Write once, then completes every request
// in queue order. A merged write that fails is retried request by request,
// so that one bad request does not fail the others. A kBatch request
// (CommitAsync: a bulk batch committed as given) goes to
// Engine::WriteAsync: the writer prepares it and goes on while the engine's
// commit thread writes it, and its `done` runs there, in order with every
// other write. A kAlone request (finalization) runs by itself on the writer
// thread once every request queued before it is durable and completed.
//
// What a request means (a Reflow reply, a notification, an HTTP report) is
// the submitter's business: it lives in the request's callbacks, which run
// on the writer thread (a CommitAsync `done`: on the engine's commit
// thread).
//
// Backpressure: the queue's bounds are soft. A producer asks WaitIfFull
// before producing more; when the queue is full it registers a wake
// callback and stops until the writer, having made room, calls it. Each
// producer may thus add one request beyond a bound: the true bound is the
// capacity plus the number of producers.
//
// Thread-safety: every public method is thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "engine/engine.h"

namespace tracedb::ingest {

// Writes one batch (Engine::Write, timed and counted by the group commit).
using BatchWriter = std::function<Result<engine::WriteResult>(const engine::WriteBatch&)>;
// Reports a batch given to CommitAsync: durable, or why not.
using BatchDone = std::function<void(Result<engine::WriteResult>)>;

// One queued write. Subclasses carry a protocol's payload and completion.
// Every callback runs on the writer thread.
class WriteRequest {
 public:
  enum class Grouping : uint8_t {
    kMerge,  // merged with other pending kMerge requests into one batch
    kAlone,  // runs by itself (Run), after everything queued before it is durable
    kBatch,  // a batch written as given, by itself (GroupCommit::CommitAsync)
  };

  WriteRequest(Grouping grouping, uint64_t bytes) : grouping_(grouping), bytes_(bytes) {}
  virtual ~WriteRequest() = default;

  Grouping grouping() const { return grouping_; }
  // What the request counts against the queue's byte bound.
  uint64_t bytes() const { return bytes_; }

  // kMerge: adds this request's operations to `batch` (it may move its
  // payload into the batch).
  virtual void AddTo(engine::WriteBatch* /*batch*/) {}
  // kMerge, after the merged write that carried this request failed and
  // before it is retried alone: takes back from `batch` (its operations
  // start at `first_op`) what AddTo moved out, so that AddTo can run again.
  virtual void TakeBack(const engine::WriteBatch& /*batch*/, size_t /*first_op*/) {}
  // kMerge: the write that carried this request returned `status` (OK:
  // durable). On success `batch`'s operations from `first_op` are this
  // request's; on failure the batch must not be read.
  virtual void Complete(const Status& /*status*/, const engine::WriteBatch& /*batch*/, size_t /*first_op*/) {}
  // kAlone: does the request's work, writing through `write`.
  virtual void Run(const BatchWriter& /*write*/) {}
  // The request was not queued (shutdown). Called on the submitter's thread.
  virtual void Refused() {}

 private:
  const Grouping grouping_;
  const uint64_t bytes_;
};

struct GroupCommitOptions {
  // Queued requests before producers must wait. Default: 16384.
  uint64_t queue_capacity = 16384;
  // Queued request bytes before producers must wait. Default: 256 MiB.
  uint64_t queue_bytes = uint64_t{256} << 20;
  // kMerge requests merged into one engine batch at most. Default: 4096.
  uint64_t max_batch = 4096;
};

// Observers of the writer (metrics). Each may be empty. on_queue_depth runs
// on the submitter's and the writer's threads; on_write on the writer's.
struct GroupCommitHooks {
  // The number of queued requests changed by `delta`.
  std::function<void(int64_t delta)> on_queue_depth;
  // One Engine::Write returned after `seconds`; `requests` kMerge requests
  // rode in it (0 for a write of a kAlone request).
  std::function<void(double seconds, const Result<engine::WriteResult>& result, size_t requests)> on_write;
};

class GroupCommit {
 public:
  // Admission of a request while Shutdown drains the queue.
  enum class Admission : uint8_t {
    kUnlessDraining,  // refused once Shutdown began
    kWhileDraining,   // still queued while draining (finalization of what was queued); refused once stopped
  };

  // Starts the writer thread. `engine` must outlive the GroupCommit.
  GroupCommit(engine::Engine* engine, GroupCommitOptions options, GroupCommitHooks hooks);
  ~GroupCommit();  // Shutdown()

  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `request`, or calls its Refused() when it is not admitted.
  void Submit(std::unique_ptr<WriteRequest> request, Admission admission = Admission::kUnlessDraining);
  // Queues every request of `requests`, in order, under one lock and with
  // one wake of the writer (a connection's burst of requests), or refuses
  // them all. Leaves `requests` empty.
  void SubmitAll(std::vector<std::unique_ptr<WriteRequest>>& requests);

  // Writes `batch` by itself, in order with the other requests; `done`
  // gets the engine's result (Unavailable "server is shutting down" once
  // Shutdown began), on the engine's commit thread or on this one.
  // `batch` must stay alive until then.
  void CommitAsync(const engine::WriteBatch& batch, BatchDone done);
  // CommitAsync, waiting for the result; `on_written` (may be empty) runs
  // before it returns after a successful write. Never call it from a
  // thread the writer waits for.
  Result<engine::WriteResult> CommitAlone(const engine::WriteBatch& batch, std::function<void()> on_written = {});

  // True when the queue is full: the caller must stop producing until
  // `wake` is called (once, from the writer thread, without locks held).
  bool WaitIfFull(std::function<void()> wake);
  // False when the queue was not full a moment ago (no lock taken): a
  // producer asks it before every request and WaitIfFull only when true.
  bool MaybeFull() const { return maybe_full_.load(std::memory_order_relaxed); }

  // Writes every queued request, then stops the writer thread. Later
  // requests are refused. Idempotent.
  void Shutdown();

  // False once Shutdown began.
  bool accepting() const;

 private:
  struct Flight;
  void WriterLoop();
  // Recomputes maybe_full_; mu_ held.
  void UpdateFull();
  void WriteMerged(std::vector<std::unique_ptr<WriteRequest>>& requests);
  // Hands a CommitAsync batch to the engine.
  void Dispatch(std::shared_ptr<Flight> flight);
  // Reports a CommitAsync batch's result.
  void Finish(Flight& flight, Result<engine::WriteResult> result);
  // Tells hooks_.on_write of a write that started at `start`.
  void Report(std::chrono::steady_clock::time_point start, const Result<engine::WriteResult>& result,
              size_t requests);
  // Waits until every request handed to the engine has been completed.
  void Settle();
  Result<engine::WriteResult> Write(const engine::WriteBatch& batch, size_t requests);

  engine::Engine* const engine_;
  const GroupCommitOptions options_;
  const GroupCommitHooks hooks_;
  const BatchWriter alone_writer_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<WriteRequest>> queue_;  // GUARDED_BY(mu_)
  uint64_t queue_bytes_ = 0;                         // GUARDED_BY(mu_)
  std::vector<std::function<void()>> waiters_;       // GUARDED_BY(mu_)
  bool stopping_ = false;                            // GUARDED_BY(mu_)
  bool stopped_ = false;                             // GUARDED_BY(mu_)
  std::atomic<bool> maybe_full_{false};              // written under mu_
  std::thread writer_;
};

}  // namespace tracedb::ingest
