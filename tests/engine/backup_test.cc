// Engine::Backup, ListBackups and RestoreBackup: consistent under
// concurrent writes, incremental, and refusing to clobber a store.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "engine/engine.h"
#include "tests/engine/engine_test_util.h"

namespace tracedb::engine {
namespace {

using testing::IdFrom;
using testing::MakeEvent;
using testing::MakeHeader;
using testing::TempDir;

constexpr TimestampNs kSec = 1'000'000'000;
constexpr TimestampNs kT0 = 1'750'000'000 * kSec;

Options OptionsAt(const std::string& path) {
  Options o;
  o.path = path;
  o.block_cache_bytes = 8 << 20;
  o.write_buffer_bytes = 1 << 20;  // small: flushes happen while the backup runs
  return o;
}

// Batch n: trace n with 20 events.
WriteBatch Batch(uint64_t n) {
  WriteBatch b;
  b.StartTrace(MakeHeader(IdFrom(7, n), "flow" + std::to_string(n % 5), kT0 + static_cast<TimestampNs>(n) * kSec));
  for (uint64_t e = 0; e < 20; ++e) {
    b.AppendEvent(IdFrom(7, n), MakeEvent(n * 1000 + e, kT0 + static_cast<TimestampNs>(n) * kSec + static_cast<TimestampNs>(e),
                                          "actor" + std::to_string(e % 3)));
  }
  return b;
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

TEST(Backup, EveryWriteAcknowledgedBeforeTheBackupIsInTheRestoredStore) {
  TempDir data, backups, restored;
  auto engine = std::move(Engine::Open(OptionsAt(data.path()))).value();
  std::atomic<uint64_t> acked{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (uint64_t n = 1; !stop.load(); ++n) {
      ASSERT_TRUE(engine->Write(Batch(n)).ok());
      acked.store(n);
    }
  });
  while (acked.load() < 200) std::this_thread::yield();
  uint64_t before = acked.load();
  auto info = engine->Backup({backups.path() + "/b", 0});
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  while (acked.load() < before + 100) std::this_thread::yield();  // writes went on during and after it
  stop = true;
  writer.join();
  EXPECT_EQ(info->id, 1u);
  EXPECT_EQ(info->format_version, kFormatVersion);
  EXPECT_GT(info->files, 0u);

  std::filesystem::remove_all(restored.path());
  ASSERT_TRUE(RestoreBackup(backups.path() + "/b", restored.path(), std::nullopt).ok());
  auto copy = std::move(Engine::Open(OptionsAt(restored.path()))).value();
  for (uint64_t n = 1; n <= before; ++n) {
    auto trace = copy->GetTrace(IdFrom(7, n));
    ASSERT_TRUE(trace.ok() && trace->has_value()) << "trace " << n << " of " << before;
    ASSERT_EQ((*trace)->events.size(), 20u) << "trace " << n;
  }
  auto report = copy->Check({});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->clean()) << (report->problems.empty() ? "" : report->problems[0]);
  EXPECT_GE(report->traces, before);
}

TEST(Backup, ASecondBackupCopiesOnlyWhatChanged) {
  TempDir data, backups;
  auto engine = std::move(Engine::Open(OptionsAt(data.path()))).value();
  for (uint64_t n = 1; n <= 300; ++n) ASSERT_TRUE(engine->Write(Batch(n)).ok());
  ASSERT_TRUE(engine->CompactAll().ok());
  auto first = engine->Backup({backups.path(), 0});
  ASSERT_TRUE(first.ok());
  uint64_t after_first = DirBytes(backups.path());
  ASSERT_TRUE(engine->Write(Batch(301)).ok());
  auto second = engine->Backup({backups.path(), 0});
  ASSERT_TRUE(second.ok());
  uint64_t added = DirBytes(backups.path()) - after_first;
  EXPECT_EQ(second->id, 2u);
  // The second backup holds the whole store, but its shared table files
  // were copied once.
  EXPECT_LT(added, second->size_bytes / 2) << "added " << added << " of " << second->size_bytes;
  auto list = ListBackups(backups.path());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 1u);
  EXPECT_EQ((*list)[1].id, 2u);
}

TEST(Backup, RestoresAChosenBackupAndKeepPurgesOldOnes) {
  TempDir data, backups, restored;
  auto engine = std::move(Engine::Open(OptionsAt(data.path()))).value();
  ASSERT_TRUE(engine->Write(Batch(1)).ok());
  ASSERT_TRUE(engine->Backup({backups.path(), 0}).ok());
  ASSERT_TRUE(engine->Write(Batch(2)).ok());
  ASSERT_TRUE(engine->Backup({backups.path(), 0}).ok());
  ASSERT_TRUE(engine->Write(Batch(3)).ok());
  ASSERT_TRUE(engine->Backup({backups.path(), 2}).ok());  // keeps 2 and 3
  auto list = ListBackups(backups.path());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 2u);

  std::filesystem::remove_all(restored.path());
  ASSERT_TRUE(RestoreBackup(backups.path(), restored.path(), 2).ok());
  auto copy = std::move(Engine::Open(OptionsAt(restored.path()))).value();
  EXPECT_TRUE(copy->GetTrace(IdFrom(7, 2))->has_value());
  EXPECT_FALSE(copy->GetTrace(IdFrom(7, 3))->has_value());

  Status missing = RestoreBackup(backups.path(), restored.path() + "-other", 1);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound) << missing.ToString();
}

TEST(Backup, RestoreRefusesADirectoryThatHoldsSomething) {
  TempDir data, backups;
  {
    auto engine = std::move(Engine::Open(OptionsAt(data.path()))).value();
    ASSERT_TRUE(engine->Write(Batch(1)).ok());
    ASSERT_TRUE(engine->Backup({backups.path(), 0}).ok());
  }
  Status s = RestoreBackup(backups.path(), data.path(), std::nullopt);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(s.message().find("not empty"), std::string::npos) << s.ToString();
  auto engine = std::move(Engine::Open(OptionsAt(data.path()))).value();  // untouched
  EXPECT_TRUE(engine->GetTrace(IdFrom(7, 1))->has_value());
}

TEST(Backup, AnInMemoryStoreAndAMissingDirectoryAreRefused) {
  Options o;
  o.in_memory = true;
  auto engine = std::move(Engine::Open(o)).value();
  TempDir backups;
  auto r = engine->Backup({backups.path(), 0});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("in-memory"), std::string::npos);
  auto list = ListBackups(backups.path() + "/none");
  EXPECT_EQ(list.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tracedb::engine
