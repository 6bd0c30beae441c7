// The store's format version (docs/format.md, "Format versions"): written
// at creation, and a store of a newer format is refused with a message
// that says so. The fixture of every released format is read by
// tests/server/format_fixture_test.cc.

#include <gtest/gtest.h>

#include <chrono>

#include "common/coding.h"
#include "engine/engine.h"
#include "tests/engine/engine_test_util.h"
#include "tests/engine/raw_store_util.h"

namespace tracedb::engine {
namespace {

using testing::RawStore;
using testing::TempDir;

Options OptionsAt(const std::string& path) {
  Options o;
  o.path = path;
  o.block_cache_bytes = 8 << 20;
  return o;
}

TEST(FormatVersion, ANewStoreRecordsTheCurrentVersion) {
  TempDir dir;
  { ASSERT_TRUE(Engine::Open(OptionsAt(dir.path())).ok()); }
  RawStore raw(dir.path());
  std::string v = raw.Get(RawStore::kMeta, "format_version");
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(coding::DecodeFixed32(v.data()), kFormatVersion);
}

// Version 1 had no graph aggregates: such a store opens, is upgraded to the
// current version, and records from which slot its aggregates are complete.
// (tests/fixtures/format_v1 is read through the same upgrade.)
TEST(FormatVersion, AVersionOneStoreIsUpgradedOnOpen) {
  static_assert(kOldestFormatVersion == 1 && kFormatVersion == 3);
  TempDir dir;
  { ASSERT_TRUE(Engine::Open(OptionsAt(dir.path())).ok()); }
  {
    RawStore raw(dir.path());
    std::string v;
    coding::PutFixed32(&v, 1);
    raw.Put(RawStore::kMeta, "format_version", v);
    raw.Delete(RawStore::kMeta, "graph_since");
  }
  { ASSERT_TRUE(Engine::Open(OptionsAt(dir.path())).ok()); }
  RawStore raw(dir.path());
  EXPECT_EQ(coding::DecodeFixed32(raw.Get(RawStore::kMeta, "format_version").data()), kFormatVersion);
  std::string since = raw.Get(RawStore::kMeta, "graph_since");
  ASSERT_EQ(since.size(), 4u);
  EXPECT_GT(coding::DecodeFixed32(since.data()), 0u);  // a slot of now, not 0 (complete since creation)
}

// Version 2 kept graph aggregates as one key per node and edge in 10 s
// slots: the upgrade drops them (their family is recreated empty), and
// graph_since restarts at now in 1 s slots, so older windows are scanned.
// (tests/fixtures/format_v2 is read through the same upgrade.)
TEST(FormatVersion, AVersionTwoStoreDropsItsOldGraphAggregatesOnOpen) {
  TempDir dir;
  { ASSERT_TRUE(Engine::Open(OptionsAt(dir.path())).ok()); }
  {
    RawStore raw(dir.path());
    std::string v;
    coding::PutFixed32(&v, 2);
    raw.Put(RawStore::kMeta, "format_version", v);
    std::string since;
    coding::PutFixed32(&since, 7);
    raw.Put(RawStore::kMeta, "graph_since", since);
    // A version 2 key and value (bucket, 10 s slot, 'T'; fields 1 0 0):
    // not a cell, so nothing may ever merge it.
    raw.Put(RawStore::kGraph, std::string("\0\0\0\1\0\0\0\2T", 9), std::string("\x02\0\0\0\0", 5));
  }
  {
    auto e = Engine::Open(OptionsAt(dir.path()));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    auto agg = (*e)->ReadGraphAggregates(INT64_MIN, INT64_MAX);
    ASSERT_TRUE(agg.ok()) << agg.status().ToString();
    EXPECT_EQ(agg->traces, 0u);
  }
  RawStore raw(dir.path());
  EXPECT_EQ(coding::DecodeFixed32(raw.Get(RawStore::kMeta, "format_version").data()), kFormatVersion);
  EXPECT_TRUE(raw.Keys(RawStore::kGraph).empty());
  std::string since = raw.Get(RawStore::kMeta, "graph_since");
  ASSERT_EQ(since.size(), 4u);
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  EXPECT_NEAR(static_cast<double>(coding::DecodeFixed32(since.data())), static_cast<double>(now_s), 60);
}

TEST(FormatVersion, AStoreOfANewerFormatIsRefusedAndSaysSo) {
  TempDir dir;
  { ASSERT_TRUE(Engine::Open(OptionsAt(dir.path())).ok()); }
  {
    RawStore raw(dir.path());
    std::string v;
    coding::PutFixed32(&v, kFormatVersion + 1);
    raw.Put(RawStore::kMeta, "format_version", v);
  }
  auto r = Engine::Open(OptionsAt(dir.path()));
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("written by a newer tracedb"), std::string::npos) << m;
  EXPECT_NE(m.find("format version " + std::to_string(kFormatVersion + 1)), std::string::npos) << m;
  EXPECT_NE(m.find("this build reads format version " + std::to_string(kFormatVersion)), std::string::npos) << m;
  // Refusing changed nothing: the stored version is still the newer one.
  RawStore raw(dir.path());
  EXPECT_EQ(coding::DecodeFixed32(raw.Get(RawStore::kMeta, "format_version").data()), kFormatVersion + 1);
}

TEST(FormatVersion, ANewerFormatWithAColumnFamilyThisBuildDoesNotKnowIsRefusedAndSaysSo) {
  TempDir dir;
  { ASSERT_TRUE(Engine::Open(OptionsAt(dir.path())).ok()); }
  {
    RawStore raw(dir.path());
    std::string v;
    coding::PutFixed32(&v, kFormatVersion + 1);
    raw.Put(RawStore::kMeta, "format_version", v);
    rocksdb::ColumnFamilyHandle* future = nullptr;
    ASSERT_TRUE(raw.db()->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "future", &future).ok());
    ASSERT_TRUE(raw.db()->DestroyColumnFamilyHandle(future).ok());
  }
  auto r = Engine::Open(OptionsAt(dir.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("written by a newer tracedb"), std::string::npos) << r.status().ToString();
}

TEST(FormatVersion, AMalformedVersionIsCorruption) {
  TempDir dir;
  { ASSERT_TRUE(Engine::Open(OptionsAt(dir.path())).ok()); }
  {
    RawStore raw(dir.path());
    raw.Put(RawStore::kMeta, "format_version", "x");
  }
  auto r = Engine::Open(OptionsAt(dir.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
}

}  // namespace
}  // namespace tracedb::engine
