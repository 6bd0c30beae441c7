// WorkerPool (server/http_support.h): a task's slot is free again before
// its `then` runs (where the reply goes out), so a client that sends its
// next request as soon as it has the reply is never refused for it.

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "server/http_support.h"

namespace tracedb::server {
namespace {

TEST(WorkerPool, ASlotIsFreeBeforeTheTasksThenRuns) {
  WorkerPool pool(1, 0);
  for (int i = 0; i < 20; ++i) {
    std::promise<void> done;
    std::atomic<size_t> pending_in_then{99};
    std::atomic<bool> next_admitted{false};
    ASSERT_TRUE(pool.TryAdd([] {},
                            [&] {
                              pending_in_then = pool.pending();
                              // The reply's client asks again at once: admitted.
                              next_admitted = pool.TryAdd([] {});
                              done.set_value();
                            }));
    done.get_future().wait();
    EXPECT_EQ(pending_in_then.load(), 0u) << "round " << i;
    EXPECT_TRUE(next_admitted.load()) << "round " << i;
    while (pool.pending() > 0) std::this_thread::yield();
  }
  // Full is still full: one slot, one task running, the next refused.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE(pool.TryAdd([released] { released.wait(); }));
  EXPECT_FALSE(pool.TryAdd([] {}));
  release.set_value();
}

}  // namespace
}  // namespace tracedb::server
