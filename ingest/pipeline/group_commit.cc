#include "ingest/pipeline/group_commit.h"

#include <chrono>
#include <future>
#include <utility>

namespace tracedb::ingest {

// A batch written as given (CommitAsync, a kBatch request), and then the
// same object on its way through the engine until the engine reports.
struct GroupCommit::Flight final : public WriteRequest {
  Flight(const engine::WriteBatch* batch, BatchDone done)
      : WriteRequest(Grouping::kBatch, 0), batch(batch), done(std::move(done)) {}
  void Refused() override { done(Status::Unavailable("server is shutting down")); }

  const engine::WriteBatch* const batch;  // the caller's
  BatchDone done;
  std::chrono::steady_clock::time_point start;
};

GroupCommit::GroupCommit(engine::Engine* engine, GroupCommitOptions options, GroupCommitHooks hooks)
    : engine_(engine),
      options_(options),
      hooks_(std::move(hooks)),
      alone_writer_([this](const engine::WriteBatch& batch) { return Write(batch, 0); }) {
  writer_ = std::thread([this] { WriterLoop(); });
}

GroupCommit::~GroupCommit() { Shutdown(); }

bool GroupCommit::accepting() const {
  std::lock_guard lock(mu_);
  return !stopping_;
}

void GroupCommit::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::lock_guard lock(mu_);
  stopped_ = true;
}

void GroupCommit::Submit(std::unique_ptr<WriteRequest> request, Admission admission) {
  {
    std::lock_guard lock(mu_);
    if ((!stopping_ || admission == Admission::kWhileDraining) && !stopped_) {
      queue_bytes_ += request->bytes();
      queue_.push_back(std::move(request));
      UpdateFull();
      if (hooks_.on_queue_depth) hooks_.on_queue_depth(1);
      cv_.notify_one();
      return;
    }
  }
  request->Refused();
}

void GroupCommit::SubmitAll(std::vector<std::unique_ptr<WriteRequest>>& requests) {
  if (requests.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && !stopped_) {
      for (auto& r : requests) {
        queue_bytes_ += r->bytes();
        queue_.push_back(std::move(r));
      }
      UpdateFull();
      if (hooks_.on_queue_depth) hooks_.on_queue_depth(static_cast<int64_t>(requests.size()));
      requests.clear();
      cv_.notify_one();
      return;
    }
  }
  for (auto& r : requests) r->Refused();
  requests.clear();
}

void GroupCommit::UpdateFull() {
  maybe_full_.store(queue_.size() >= options_.queue_capacity || queue_bytes_ >= options_.queue_bytes,
                    std::memory_order_relaxed);
}

void GroupCommit::CommitAsync(const engine::WriteBatch& batch, BatchDone done) {
  Submit(std::make_unique<Flight>(&batch, std::move(done)));
}

Result<engine::WriteResult> GroupCommit::CommitAlone(const engine::WriteBatch& batch,
                                                     std::function<void()> on_written) {
  std::promise<Result<engine::WriteResult>> done;
  auto future = done.get_future();
  CommitAsync(batch, [&done, &on_written](Result<engine::WriteResult> r) {
    if (r.ok() && on_written) on_written();
    done.set_value(std::move(r));
  });
  return future.get();
}

bool GroupCommit::WaitIfFull(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  if (queue_.size() < options_.queue_capacity && queue_bytes_ < options_.queue_bytes) return false;
  waiters_.push_back(std::move(wake));
  return true;
}

void GroupCommit::WriterLoop() {
  std::vector<std::unique_ptr<WriteRequest>> requests;
  while (true) {
    std::vector<std::function<void()>> wake;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {  // stopping and drained
        lock.unlock();
        Settle();  // every request completed
        return;
      }
      // kAlone and kBatch requests go by themselves.
      auto merged = [](const WriteRequest& r) { return r.grouping() == WriteRequest::Grouping::kMerge; };
      bool front_merged = merged(*queue_.front());
      while (!queue_.empty() && requests.size() < options_.max_batch) {
        if (merged(*queue_.front()) != front_merged || (!front_merged && !requests.empty())) break;
        queue_bytes_ -= queue_.front()->bytes();
        requests.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      UpdateFull();
      if (hooks_.on_queue_depth) hooks_.on_queue_depth(-static_cast<int64_t>(requests.size()));
      wake.swap(waiters_);
    }
    for (auto& w : wake) w();
    switch (requests.front()->grouping()) {
      case WriteRequest::Grouping::kMerge: WriteMerged(requests); break;
      case WriteRequest::Grouping::kBatch:
        Dispatch(std::shared_ptr<Flight>(static_cast<Flight*>(requests.front().release())));
        break;
      case WriteRequest::Grouping::kAlone:
        // It sees every earlier write, and runs alone: nothing else is
        // written or completed meanwhile.
        Settle();
        requests.front()->Run(alone_writer_);
        break;
    }
    requests.clear();
  }
}

void GroupCommit::Settle() {
  std::promise<void> settled;
  engine_->RunAfterCommits([&settled] { settled.set_value(); });
  settled.get_future().wait();
}

void GroupCommit::WriteMerged(std::vector<std::unique_ptr<WriteRequest>>& requests) {
  // Synchronous: the engine commits on this thread when nothing is queued
  // (no hand-off), and the replies go out before the next batch gathers.
  engine::WriteBatch batch;
  batch.Reserve(requests.size());
  std::vector<size_t> first_ops(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    first_ops[i] = batch.size();
    requests[i]->AddTo(&batch);
  }
  auto result = Write(batch, requests.size());
  if (!result.ok() && requests.size() > 1) {
    // Isolate the failing request: the others may well succeed alone.
    for (size_t i = 0; i < requests.size(); ++i) {
      std::vector<std::unique_ptr<WriteRequest>> one;
      one.push_back(std::move(requests[i]));
      one[0]->TakeBack(batch, first_ops[i]);
      WriteMerged(one);
    }
    return;
  }
  for (size_t i = 0; i < requests.size(); ++i) requests[i]->Complete(result.status(), batch, first_ops[i]);
}

void GroupCommit::Dispatch(std::shared_ptr<Flight> flight) {
  flight->start = std::chrono::steady_clock::now();
  Status refused = engine_->WriteAsync(
      *flight->batch, [this, flight](Result<engine::WriteResult> r) { Finish(*flight, std::move(r)); });
  if (refused.ok()) return;
  // Reported in order with the writes queued before it.
  engine_->RunAfterCommits([this, flight, refused] { Finish(*flight, refused); });
}

void GroupCommit::Finish(Flight& flight, Result<engine::WriteResult> result) {
  Report(flight.start, result, 0);
  flight.done(std::move(result));
}

Result<engine::WriteResult> GroupCommit::Write(const engine::WriteBatch& batch, size_t requests) {
  auto start = std::chrono::steady_clock::now();
  auto result = engine_->Write(batch);
  Report(start, result, requests);
  return result;
}

void GroupCommit::Report(std::chrono::steady_clock::time_point start, const Result<engine::WriteResult>& result,
                         size_t requests) {
  if (!hooks_.on_write) return;
  hooks_.on_write(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), result, requests);
}

}  // namespace tracedb::ingest
