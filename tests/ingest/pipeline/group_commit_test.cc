#include "ingest/pipeline/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>


namespace tracedb::ingest {
namespace {

schema::Id128 Id(uint8_t n) {
  schema::Id128 id{};
  id[15] = n;
  return id;
}

// A kMerge request that records one event and remembers how it completed
// (and, given `order`, its trace number when it completed).
class EventWrite final : public WriteRequest {
 public:
  EventWrite(uint8_t trace, std::vector<Status>* done, std::mutex* mu, std::vector<int>* order = nullptr)
      : WriteRequest(Grouping::kMerge, 100), trace_(trace), done_(done), mu_(mu), order_(order) {}

  void AddTo(engine::WriteBatch* batch) override {
    schema::Event e;
    e.event_id = "e" + std::to_string(trace_);
    e.timestamp_ns = 1'700'000'000'000'000'000;
    batch->AppendEvent(Id(trace_), std::move(e));
  }
  void Complete(const Status& status, const engine::WriteBatch&, size_t) override {
    std::lock_guard lock(*mu_);
    done_->push_back(status);
    if (order_ != nullptr) order_->push_back(status.ok() ? trace_ : -1);
  }
  void Refused() override {
    std::lock_guard lock(*mu_);
    done_->push_back(Status::Unavailable("refused"));
  }

 private:
  uint8_t trace_;
  std::vector<Status>* done_;
  std::mutex* mu_;
  std::vector<int>* order_;
};

// A kAlone request that holds the writer until released.
class Gate final : public WriteRequest {
 public:
  explicit Gate(std::shared_future<void> open) : WriteRequest(Grouping::kAlone, 0), open_(std::move(open)) {}
  void Run(const BatchWriter&) override { open_.wait(); }

 private:
  std::shared_future<void> open_;
};

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine::Options o;
    o.in_memory = true;
    engine_ = std::move(engine::Engine::Open(o)).value();
  }

  GroupCommitHooks Hooks() {
    GroupCommitHooks hooks;
    hooks.on_write = [this](double, const Result<engine::WriteResult>& r, size_t requests) {
      std::lock_guard lock(mu_);
      writes_.push_back({r.ok(), requests});
    };
    hooks.on_queue_depth = [this](int64_t delta) { depth_.fetch_add(delta); };
    return hooks;
  }

  std::unique_ptr<engine::Engine> engine_;
  std::mutex mu_;
  std::vector<std::pair<bool, size_t>> writes_;  // (ok, merged requests) per Engine::Write
  std::vector<Status> done_;
  std::atomic<int64_t> depth_{0};
};

TEST_F(GroupCommitTest, PendingRequestsAreMergedIntoOneWrite) {
  std::promise<void> open;
  {
    GroupCommit gc(engine_.get(), {}, Hooks());
    gc.Submit(std::make_unique<Gate>(open.get_future().share()));
    for (uint8_t i = 0; i < 5; ++i) gc.Submit(std::make_unique<EventWrite>(i, &done_, &mu_));
    open.set_value();
    gc.Shutdown();
  }
  ASSERT_EQ(writes_.size(), 1u);
  EXPECT_TRUE(writes_[0].first);
  EXPECT_EQ(writes_[0].second, 5u);
  ASSERT_EQ(done_.size(), 5u);
  for (const auto& s : done_) EXPECT_TRUE(s.ok());
  EXPECT_EQ(depth_.load(), 0);
}

TEST_F(GroupCommitTest, MaxBatchBoundsAMerge) {
  std::promise<void> open;
  GroupCommitOptions options;
  options.max_batch = 2;
  GroupCommit gc(engine_.get(), options, Hooks());
  gc.Submit(std::make_unique<Gate>(open.get_future().share()));
  for (uint8_t i = 0; i < 5; ++i) gc.Submit(std::make_unique<EventWrite>(i, &done_, &mu_));
  open.set_value();
  gc.Shutdown();
  ASSERT_EQ(writes_.size(), 3u);
  EXPECT_EQ(writes_[0].second, 2u);
  EXPECT_EQ(writes_[1].second, 2u);
  EXPECT_EQ(writes_[2].second, 1u);
}

TEST_F(GroupCommitTest, AFullQueueWakesItsWaitersOnceDrained) {
  std::promise<void> open;
  GroupCommitOptions options;
  options.queue_capacity = 2;
  GroupCommit gc(engine_.get(), options, Hooks());
  gc.Submit(std::make_unique<Gate>(open.get_future().share()));
  // The gate may still be queued or already running: fill to the bound.
  for (uint8_t i = 0; i < 2; ++i) gc.Submit(std::make_unique<EventWrite>(i, &done_, &mu_));
  std::promise<void> woken;
  ASSERT_TRUE(gc.WaitIfFull([&] { woken.set_value(); }));
  open.set_value();
  woken.get_future().wait();
  gc.Shutdown();
  EXPECT_EQ(done_.size(), 2u);
}

TEST_F(GroupCommitTest, ShutdownDrainsThenRefuses) {
  GroupCommit gc(engine_.get(), {}, Hooks());
  for (uint8_t i = 0; i < 3; ++i) gc.Submit(std::make_unique<EventWrite>(i, &done_, &mu_));
  gc.Shutdown();
  ASSERT_EQ(done_.size(), 3u);
  for (const auto& s : done_) EXPECT_TRUE(s.ok());
  EXPECT_FALSE(gc.accepting());
  gc.Submit(std::make_unique<EventWrite>(9, &done_, &mu_));
  ASSERT_EQ(done_.size(), 4u);
  EXPECT_EQ(done_[3].code(), StatusCode::kUnavailable);
  engine::WriteBatch batch;
  EXPECT_EQ(gc.CommitAlone(batch).status().code(), StatusCode::kUnavailable);
}

TEST_F(GroupCommitTest, CommitAloneWritesTheBatchAsGiven) {
  GroupCommit gc(engine_.get(), {}, Hooks());
  engine::WriteBatch batch;
  schema::Event e;
  e.event_id = "e1";
  e.timestamp_ns = 1'700'000'000'000'000'000;
  batch.AppendEvent(Id(7), e);
  bool written = false;
  auto r = gc.CommitAlone(batch, [&] { written = true; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->events_written, 1u);
  EXPECT_TRUE(written);
  gc.Shutdown();
  ASSERT_EQ(writes_.size(), 1u);
  EXPECT_EQ(writes_[0].second, 0u);
}

// A kAlone request that reads the engine's counters when it runs.
class CountProbe final : public WriteRequest {
 public:
  CountProbe(engine::Engine* engine, std::promise<uint64_t>* seen)
      : WriteRequest(Grouping::kAlone, 0), engine_(engine), seen_(seen) {}
  void Run(const BatchWriter&) override { seen_->set_value(engine_->counters().events_written.load()); }

 private:
  engine::Engine* engine_;
  std::promise<uint64_t>* seen_;
};

TEST_F(GroupCommitTest, AsyncBatchesAndMergedWritesCompleteInQueueOrder) {
  GroupCommit gc(engine_.get(), {}, Hooks());
  std::vector<int> order;
  std::mutex mu;
  engine::WriteBatch batch;
  schema::Event e;
  e.event_id = "b";
  e.timestamp_ns = 1'700'000'000'000'000'000;
  batch.AppendEvent(Id(100), e);
  for (int round = 0; round < 20; ++round) {
    for (uint8_t i = 1; i <= 5; ++i) {
      gc.Submit(std::make_unique<EventWrite>(static_cast<uint8_t>(round * 5 + i), &done_, &mu, &order));
    }
    if (round == 10) {
      gc.CommitAsync(batch, [&](Result<engine::WriteResult> r) {
        std::lock_guard lock(mu);
        order.push_back(r.ok() ? 0 : -1);
      });
    }
  }
  // A kAlone request sees every write queued before it, completed.
  std::promise<uint64_t> seen;
  gc.Submit(std::make_unique<CountProbe>(engine_.get(), &seen));
  EXPECT_EQ(seen.get_future().get(), 101u);
  gc.Shutdown();
  std::lock_guard lock(mu);
  ASSERT_EQ(order.size(), 101u);
  std::vector<int> want;
  for (int round = 0; round < 20; ++round) {
    for (int i = 1; i <= 5; ++i) want.push_back(round * 5 + i);
    if (round == 10) want.push_back(0);
  }
  EXPECT_EQ(order, want);
}

}  // namespace
}  // namespace tracedb::ingest
