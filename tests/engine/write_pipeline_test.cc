// Engine::WriteAsync: batches prepared while earlier ones commit.

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "engine/engine.h"
#include "tests/engine/engine_test_util.h"

namespace tracedb::engine {
namespace {

using testing::IdFrom;
using testing::MakeEvent;
using testing::TempDir;

constexpr TimestampNs kSec = 1'000'000'000;
constexpr TimestampNs kT0 = 1'750'000'000 * kSec;

// Collects WriteAsync results in the order they arrive.
class Results {
 public:
  Engine::WriteDone Expect(size_t index) {
    return [this, index](Result<WriteResult> r) {
      std::lock_guard<std::mutex> lock(mu_);
      order_.push_back(index);
      results_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  void WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return results_.size() >= n; });
  }
  const std::vector<size_t>& order() const { return order_; }
  const std::vector<Result<WriteResult>>& results() const { return results_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<size_t> order_;
  std::vector<Result<WriteResult>> results_;
};

Options SmallCacheOptions(const std::string& path) {
  Options o;
  o.path = path;
  o.block_cache_bytes = 8 << 20;
  o.write_buffer_bytes = 4 << 20;
  // Far fewer than the traces in flight: states of batches not yet
  // committed are evicted from the cache while later batches need them.
  o.trace_cache_capacity = 16;
  return o;
}

TEST(WritePipeline, EveryBatchSeesTheBatchesQueuedBeforeIt) {
  TempDir dir;
  auto opened = Engine::Open(SmallCacheOptions(dir.path()));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Engine> engine = std::move(opened).value();

  // 300 batches over 24 traces: each batch appends one new event to 20 of
  // them and repeats the new events of the batch before: duplicates only if
  // that batch's states are seen, committed or not. Each batch alone
  // overflows the 16-trace cache.
  constexpr uint64_t kTraces = 24;
  constexpr size_t kBatches = 300;
  constexpr uint64_t kPerBatch = 20;
  std::vector<WriteBatch> batches(kBatches);
  std::vector<uint64_t> events_per_trace(kTraces, 0);
  uint64_t n = 0;
  for (size_t b = 0; b < kBatches; ++b) {
    for (uint64_t k = 0; k < kPerBatch; ++k) {
      uint64_t t = (b * 5 + k) % kTraces;
      ++n;
      batches[b].AppendEvent(IdFrom(9, t), MakeEvent(n, kT0 + static_cast<TimestampNs>(n), "a" + std::to_string(k % 4)));
      ++events_per_trace[t];
    }
    if (b > 0) {
      for (uint64_t k = 0; k < kPerBatch; ++k) {
        const auto& prev = batches[b - 1].ops()[k];
        batches[b].AppendEvent(prev.trace_id, prev.event);
      }
    }
  }
  Results results;
  for (size_t b = 0; b < kBatches; ++b) ASSERT_TRUE(engine->WriteAsync(batches[b], results.Expect(b)).ok());
  results.WaitFor(kBatches);

  uint64_t written = 0, duplicates = 0, created = 0;
  for (size_t i = 0; i < kBatches; ++i) {
    EXPECT_EQ(results.order()[i], i) << "results out of call order";
    ASSERT_TRUE(results.results()[i].ok()) << results.results()[i].status().ToString();
    written += results.results()[i]->events_written;
    duplicates += results.results()[i]->duplicates;
    created += results.results()[i]->traces_created;
  }
  EXPECT_EQ(written, kBatches * kPerBatch);
  EXPECT_EQ(duplicates, (kBatches - 1) * kPerBatch);
  EXPECT_EQ(created, kTraces);
  for (uint64_t t = 0; t < kTraces; ++t) {
    auto got = engine->GetTrace(IdFrom(9, t));
    ASSERT_TRUE(got.ok() && got->has_value()) << t;
    EXPECT_EQ((*got)->events.size(), events_per_trace[t]) << "trace " << t;
  }
  // Synchronous writes queue behind the asynchronous ones.
  WriteBatch again;
  again.AppendEvent(batches[0].ops().front().trace_id, batches[0].ops().front().event);
  auto r = engine->Write(again);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->duplicates, 1u);
  EXPECT_EQ(engine->counters().events_written.load(), kBatches * kPerBatch);
}

TEST(WritePipeline, ARefusedBatchIsReturnedAndNotQueued) {
  TempDir dir;
  Options o = SmallCacheOptions(dir.path());
  o.min_free_bytes = UINT64_MAX / 2;  // no filesystem has that much free: every write is refused
  auto opened = Engine::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Engine> engine = std::move(opened).value();
  WriteBatch batch;
  batch.AppendEvent(IdFrom(3, 1), MakeEvent(1, kT0, "a"));
  bool called = false;
  Status s = engine->WriteAsync(batch, [&](Result<WriteResult>) { called = true; });
  EXPECT_EQ(s.code(), StatusCode::kStorageFull);
  // RunAfterCommits reports in order with the writes: nothing was queued.
  std::promise<void> after;
  engine->RunAfterCommits([&] { after.set_value(); });
  after.get_future().wait();
  EXPECT_FALSE(called);
  EXPECT_EQ(engine->counters().events_written.load(), 0u);
}

TEST(WritePipeline, RunAfterCommitsRunsAfterEveryEarlierWrite) {
  TempDir dir;
  auto opened = Engine::Open(SmallCacheOptions(dir.path()));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Engine> engine = std::move(opened).value();
  std::vector<WriteBatch> batches(20);
  Results results;
  for (size_t b = 0; b < batches.size(); ++b) {
    for (uint64_t i = 0; i < 50; ++i) batches[b].AppendEvent(IdFrom(5, b), MakeEvent(b * 100 + i + 1, kT0, "a"));
    ASSERT_TRUE(engine->WriteAsync(batches[b], results.Expect(b)).ok());
  }
  std::promise<size_t> seen;
  engine->RunAfterCommits([&] { seen.set_value(engine->counters().events_written.load()); });
  EXPECT_EQ(seen.get_future().get(), 20u * 50u);
  results.WaitFor(batches.size());
  for (size_t i = 0; i < batches.size(); ++i) EXPECT_EQ(results.order()[i], i);
}

TEST(WritePipeline, ClosingTheEngineWritesEveryQueuedBatch) {
  TempDir dir;
  std::vector<WriteBatch> batches(50);
  Results results;
  {
    auto opened = Engine::Open(SmallCacheOptions(dir.path()));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    std::unique_ptr<Engine> engine = std::move(opened).value();
    for (size_t b = 0; b < batches.size(); ++b) {
      for (uint64_t i = 0; i < 10; ++i) batches[b].AppendEvent(IdFrom(4, b), MakeEvent(b * 10 + i + 1, kT0, "a"));
      ASSERT_TRUE(engine->WriteAsync(batches[b], results.Expect(b)).ok());
    }
  }  // closed without waiting
  ASSERT_EQ(results.results().size(), batches.size());
  for (const auto& r : results.results()) EXPECT_TRUE(r.ok()) << r.status().ToString();
  auto opened = Engine::Open(SmallCacheOptions(dir.path()));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  for (size_t b = 0; b < batches.size(); ++b) {
    auto got = (*opened)->GetTrace(IdFrom(4, b));
    ASSERT_TRUE(got.ok() && got->has_value()) << b;
    EXPECT_EQ((*got)->events.size(), 10u);
  }
}

}  // namespace
}  // namespace tracedb::engine
