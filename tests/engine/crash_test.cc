// Crash safety: a child process writes batches and reports each one after
// Write() returns; the parent SIGKILLs it at a random moment, reopens the
// store, and checks that every acknowledged batch is entirely present and
// that no batch is partially visible. 20 rounds on one store.
//
// The parent never opens the store itself: a second child reopens it and
// reports what it holds. A child forked from a process that has used
// RocksDB inherits its background thread pools without their threads (no
// flush or compaction ever runs in it, so once enough L0 files pile up
// over the rounds its writes stop), and may inherit a lock one of them
// held; a CI run saw a writer child acknowledge nothing within 60 s. Forked
// from a parent that never touched RocksDB, every child starts its own.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "tests/engine/engine_test_util.h"

namespace tracedb::engine {
namespace {

constexpr int kEventsPerBatch = 40;
constexpr TimestampNs kT0 = 1'750'000'000'000'000'000;

// Batch b writes trace (b / 3): start + 40 events; ids encode the batch.
WriteBatch MakeBatch(uint64_t b) {
  WriteBatch batch;
  schema::Id128 id = testing::IdFrom(0xc0, b / 3);
  batch.StartTrace(testing::MakeHeader(id, "crash", kT0 + static_cast<TimestampNs>(b / 3)));
  for (int i = 0; i < kEventsPerBatch; ++i) {
    batch.AppendEvent(id, testing::MakeEvent(b * 1000 + i, kT0 + static_cast<TimestampNs>(b * 1000 + i), "a"));
  }
  return batch;
}

[[noreturn]] void ChildWrite(const std::string& dir, uint64_t first_batch, int ack_fd) {
  Options o;
  o.path = dir;
  auto engine = Engine::Open(o);
  if (!engine.ok()) _exit(3);
  for (uint64_t b = first_batch;; ++b) {
    if (!(*engine)->Write(MakeBatch(b)).ok()) _exit(4);
    if (write(ack_fd, &b, sizeof(b)) != sizeof(b)) _exit(5);
  }
}

// Reads a pipe to its end.
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

// Forks a child that runs child(write end of a pipe) and exits; the parent
// gets the read end in *read_fd. -1 when the pipe or the fork fails.
template <class Fn>
pid_t ForkPiped(int* read_fd, Fn&& child) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    close(fds[0]);
    child(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  *read_fd = fds[0];
  return pid;
}

// In a child process: reopens the store and counts the events of each
// batch present in traces 0..max_trace. Fails the test when the child
// cannot open or read the store.
void CountBatchesInChild(const std::string& dir, uint64_t max_trace, std::map<uint64_t, int>* per_batch) {
  int read_fd = -1;
  pid_t pid = ForkPiped(&read_fd, [&](int write_fd) {
    Options o;
    o.path = dir;
    auto engine = Engine::Open(o);
    if (!engine.ok()) {
      std::string why = "open: " + engine.status().ToString();
      (void)!write(write_fd, why.data(), why.size());
      _exit(3);
    }
    std::map<uint64_t, uint64_t> counts;
    for (uint64_t t = 0; t <= max_trace; ++t) {
      auto trace = (*engine)->GetTrace(testing::IdFrom(0xc0, t));
      if (!trace.ok()) {
        std::string why = "read: " + trace.status().ToString();
        (void)!write(write_fd, why.data(), why.size());
        _exit(4);
      }
      if (!trace->has_value()) continue;
      for (const auto& e : (*trace)->events) {
        uint64_t n = 0;
        for (int i = 8; i < 16; ++i) n = (n << 8) | static_cast<uint8_t>(e.event_id[static_cast<size_t>(i)]);
        counts[n / 1000]++;
      }
    }
    for (const auto& [batch, count] : counts) {
      const uint64_t pair[2] = {batch, count};
      if (write(write_fd, pair, sizeof(pair)) != sizeof(pair)) _exit(5);
    }
  });
  ASSERT_GE(pid, 0);
  std::string bytes = ReadAll(read_fd);
  close(read_fd);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << "the reading child failed: " << bytes;
  ASSERT_EQ(bytes.size() % (2 * sizeof(uint64_t)), 0u);
  for (size_t off = 0; off < bytes.size(); off += 2 * sizeof(uint64_t)) {
    uint64_t pair[2];
    std::memcpy(pair, bytes.data() + off, sizeof(pair));
    (*per_batch)[pair[0]] = static_cast<int>(pair[1]);
  }
}

TEST(CrashSafety, AcknowledgedBatchesSurviveSigkillAndNoneIsPartial) {
  testing::TempDir dir;
  std::mt19937 rng(1234);
  std::set<uint64_t> acked;
  uint64_t next_batch = 0;
  for (int round = 0; round < 20; ++round) {
    int read_fd = -1;
    pid_t pid = ForkPiped(&read_fd, [&](int write_fd) { ChildWrite(dir.path(), next_batch, write_fd); });
    ASSERT_GE(pid, 0);
    // Wait for the child's first acknowledgement (opening the store is slow
    // under sanitizers), then let it write for a random while and kill it
    // at an arbitrary point.
    uint64_t b;
    pollfd pfd{read_fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, 60'000);
    if (ready != 1) {  // never leave a writer behind to hold the store
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    ASSERT_EQ(ready, 1) << "the child acknowledged nothing within 60 s";
    ASSERT_EQ(read(read_fd, &b, sizeof(b)), static_cast<ssize_t>(sizeof(b)));
    acked.insert(b);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 200)(rng)));
    kill(pid, SIGKILL);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early with " << WEXITSTATUS(wstatus);
    while (read(read_fd, &b, sizeof(b)) == sizeof(b)) acked.insert(b);
    close(read_fd);
    uint64_t highest = acked.empty() ? 0 : *acked.rbegin();
    // The next child starts past anything that may have been written but
    // not acknowledged, so batches never overlap.
    next_batch = highest + 2;

    // Count the events of each batch present in the store.
    std::map<uint64_t, int> per_batch;
    CountBatchesInChild(dir.path(), next_batch / 3 + 1, &per_batch);
    if (HasFatalFailure()) return;
    for (const auto& [batch, count] : per_batch) {
      EXPECT_EQ(count, kEventsPerBatch) << "batch " << batch << " is partial after round " << round;
    }
    for (uint64_t a : acked) EXPECT_EQ(per_batch[a], kEventsPerBatch) << "acknowledged batch " << a << " lost";
  }
  EXPECT_GE(acked.size(), 20u) << "the child never got far enough to test anything";
}

}  // namespace
}  // namespace tracedb::engine
