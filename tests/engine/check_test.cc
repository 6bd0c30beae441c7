// Engine::Check on stores damaged on purpose: each kind of damage is found,
// and --repair rebuilds what derives from the records.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/coding.h"
#include "engine/engine.h"
#include "engine/keys.h"
#include "schema/record_codec.h"
#include "tests/engine/engine_test_util.h"
#include "tests/engine/raw_store_util.h"

namespace tracedb::engine {
namespace {

using testing::IdFrom;
using testing::MakeEvent;
using testing::MakeHeader;
using testing::RawStore;
using testing::TempDir;

constexpr TimestampNs kSec = 1'000'000'000;
constexpr TimestampNs kT0 = 1'750'000'000 * kSec;

std::string Joined(const CheckReport& r) {
  std::string out;
  for (const auto& p : r.problems) out += p + "\n";
  return out;
}

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Open();
    // Three traces with events (one ended Failed), one without.
    for (uint64_t t = 1; t <= 3; ++t) {
      WriteBatch b;
      b.StartTrace(MakeHeader(IdFrom(1, t), "flow" + std::to_string(t), kT0 + static_cast<TimestampNs>(t) * kSec));
      for (uint64_t e = 0; e < 5; ++e) {
        b.AppendEvent(IdFrom(1, t), MakeEvent(t * 100 + e, kT0 + static_cast<TimestampNs>(t * 10 + e) * kSec,
                                              e % 2 ? "validator" : "generator"));
      }
      if (t == 2) b.EndTrace(IdFrom(1, t), {schema::StatusCode::kFailed, "boom"}, kT0 + 30 * kSec);
      ASSERT_TRUE(engine_->Write(b).ok());
    }
    WriteBatch more;  // a second chunk for trace 1
    more.AppendEvent(IdFrom(1, 1), MakeEvent(190, kT0 + 19 * kSec, "sink"));
    more.StartTrace(MakeHeader(IdFrom(1, 9), "empty", kT0 + 9 * kSec));
    ASSERT_TRUE(engine_->Write(more).ok());
  }

  void Open() {
    Options o;
    o.path = dir_.path();
    o.block_cache_bytes = 8 << 20;
    o.write_buffer_bytes = 4 << 20;
    engine_ = std::move(Engine::Open(o)).value();
  }

  CheckReport Check(bool repair = false) {
    CheckOptions o;
    o.repair = repair;
    auto r = engine_->Check(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : CheckReport();
  }

  // Closes the engine, runs `damage` on the raw store, reopens.
  template <typename Fn>
  void Damage(Fn&& damage) {
    engine_.reset();
    {
      RawStore raw(dir_.path());
      damage(raw);
    }
    Open();
  }

  // Checks, expects problems matching `needle`, repairs, expects a clean
  // store afterwards.
  void ExpectFoundAndRepaired(const std::string& needle) {
    CheckReport found = Check();
    EXPECT_FALSE(found.clean());
    EXPECT_NE(Joined(found).find(needle), std::string::npos) << Joined(found);
    EXPECT_EQ(found.problems_unrepairable, 0u) << Joined(found);
    CheckReport repaired = Check(/*repair=*/true);
    EXPECT_EQ(repaired.problems_repaired, repaired.problems_found) << Joined(repaired);
    CheckReport after = Check();
    EXPECT_TRUE(after.clean()) << Joined(after);
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(CheckTest, AFreshStoreIsClean) {
  CheckReport r = Check();
  EXPECT_TRUE(r.clean()) << Joined(r);
  EXPECT_EQ(r.traces, 4u);
  EXPECT_EQ(r.events, 16u);
  EXPECT_EQ(r.column_chunks, 4u);
  EXPECT_GE(r.index_entries, 4u * 4);
}

TEST_F(CheckTest, ADeletedIndexEntryIsFoundAndRepaired) {
  std::string key = keys::IndexKey(IndexKind::kActor, "validator", kT0 + 2 * kSec, IdFrom(1, 2));
  Damage([&](RawStore& raw) { raw.Delete(RawStore::kIndex, key); });
  ExpectFoundAndRepaired("actor index entry \"validator\" is missing");
  IndexRange range{IndexKind::kActor, "validator"};
  EXPECT_EQ(testing::Drain(engine_->ScanIndex(range).get()).size(), 3u);
}

TEST_F(CheckTest, AStaleIndexEntryIsFoundAndRemoved) {
  // A status entry the trace no longer has (a status move that lost its delete).
  std::string key = keys::IndexKey(IndexKind::kStatus, std::string(1, static_cast<char>(schema::StatusCode::kRunning)),
                                   kT0 + 2 * kSec, IdFrom(1, 2));
  Damage([&](RawStore& raw) { raw.Put(RawStore::kIndex, key, ""); });
  ExpectFoundAndRepaired("status index entry");
  IndexRange running{IndexKind::kStatus, std::string(1, static_cast<char>(schema::StatusCode::kRunning))};
  EXPECT_EQ(testing::Drain(engine_->ScanIndex(running).get()).size(), 3u);  // traces 1, 3, 9
}

TEST_F(CheckTest, ACorruptColumnChunkIsFoundAndRebuilt) {
  uint32_t bucket = BucketOf(kT0 + 1 * kSec, 3600);
  Damage([&](RawStore& raw) { raw.Put(RawStore::kColumns, keys::ColumnKey(bucket, IdFrom(1, 1), 1), "garbage"); });
  ExpectFoundAndRepaired("column chunk 1 does not decode");
  size_t rows = 0;
  ASSERT_TRUE(engine_->ReadColumns(IdFrom(1, 1), [&](const ColumnChunk& c) {
                       rows += c.size();
                       return true;
                     }).ok());
  EXPECT_EQ(rows, 6u);
}

TEST_F(CheckTest, AChunkThatDisagreesWithItsEventsIsFound) {
  uint32_t bucket = BucketOf(kT0 + 3 * kSec, 3600);
  Damage([&](RawStore& raw) {
    std::string key = keys::ColumnKey(bucket, IdFrom(1, 3), 0);
    schema::Columns c;
    ASSERT_TRUE(schema::DecodeColumns(raw.Get(RawStore::kColumns, key), &c).ok());
    c.duration_ns[2] += 1;
    raw.Put(RawStore::kColumns, key, schema::EncodeColumns(c));
  });
  ExpectFoundAndRepaired("column chunks hold 5 rows that differ");
}

TEST_F(CheckTest, ADroppedEventRecordIsFoundAndTheDerivedDataFollows) {
  uint32_t bucket = BucketOf(kT0 + 3 * kSec, 3600);
  Damage([&](RawStore& raw) {
    raw.Delete(RawStore::kEvents, keys::EventKey(bucket, IdFrom(1, 3), kT0 + 32 * kSec, 2, testing::EventIdFrom(302)));
  });
  ExpectFoundAndRepaired("header event_count is 5, its events say 4");
  auto trace = engine_->GetTrace(IdFrom(1, 3));
  ASSERT_TRUE(trace.ok() && trace->has_value());
  EXPECT_EQ((*trace)->events.size(), 4u);
}

TEST_F(CheckTest, AChangedHeaderIsFoundAndItsBookkeepingRebuilt) {
  Damage([&](RawStore& raw) {
    std::string key = keys::TraceKey(IdFrom(1, 2));
    schema::Trace h;
    schema::TraceBookkeeping bk;
    ASSERT_TRUE(schema::DecodeTraceRecord(raw.Get(RawStore::kTraces, key), &h, &bk).ok());
    bk.event_count += 7;
    bk.actors = {"someone-else"};
    raw.Put(RawStore::kTraces, key, schema::EncodeTraceRecord(h, bk));
  });
  CheckReport found = Check();
  EXPECT_NE(Joined(found).find("header actors"), std::string::npos) << Joined(found);
  EXPECT_NE(Joined(found).find("is stale"), std::string::npos) << Joined(found);  // no actor entry "someone-else"
  ExpectFoundAndRepaired("header event_count is 12, its events say 5");
}

TEST_F(CheckTest, ADroppedHeaderGetsAPlaceholderAndItsEntriesAreCleaned) {
  Damage([&](RawStore& raw) { raw.Delete(RawStore::kTraces, keys::TraceKey(IdFrom(1, 1))); });
  CheckReport found = Check();
  EXPECT_NE(Joined(found).find("6 events but no header"), std::string::npos) << Joined(found);
  EXPECT_NE(Joined(found).find("points to no trace"), std::string::npos) << Joined(found);
  ExpectFoundAndRepaired("no header");
  auto trace = engine_->GetTrace(IdFrom(1, 1));
  ASSERT_TRUE(trace.ok() && trace->has_value());
  EXPECT_EQ((*trace)->flow_id, "unknown");
  EXPECT_EQ((*trace)->events.size(), 6u);
}

TEST_F(CheckTest, AnUndecodableEventRecordIsNotRepairable) {
  uint32_t bucket = BucketOf(kT0 + 2 * kSec, 3600);
  Damage([&](RawStore& raw) {
    raw.Put(RawStore::kEvents, keys::EventKey(bucket, IdFrom(1, 2), kT0 + 20 * kSec, 0, testing::EventIdFrom(200)),
            "not a flatbuffer");
  });
  CheckReport found = Check(/*repair=*/true);
  EXPECT_EQ(found.problems_found, 1u) << Joined(found);  // the derived data of the trace is left alone
  EXPECT_EQ(found.problems_unrepairable, 1u);
  EXPECT_NE(Joined(found).find("does not decode"), std::string::npos) << Joined(found);
  EXPECT_NE(Joined(found).find("(not repairable)"), std::string::npos) << Joined(found);
}

TEST_F(CheckTest, AFlippedByteInATableFileFailsItsChecksum) {
  ASSERT_TRUE(engine_->CompactAll().ok());
  engine_.reset();
  std::string biggest;
  uintmax_t size = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    if (entry.path().extension() == ".sst" && entry.file_size() > size) {
      size = entry.file_size();
      biggest = entry.path().string();
    }
  }
  ASSERT_FALSE(biggest.empty());
  {
    std::fstream f(biggest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(64);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(64);
    f.write(&c, 1);
  }
  Open();
  CheckReport r = Check(/*repair=*/true);
  EXPECT_GE(r.problems_unrepairable, 1u) << Joined(r);
  EXPECT_EQ(r.problems_repaired, 0u) << Joined(r);
  EXPECT_NE(Joined(r).find("checksum mismatch"), std::string::npos) << Joined(r);
  EXPECT_NE(Joined(r).find("repair skipped"), std::string::npos) << Joined(r);
}

}  // namespace
}  // namespace tracedb::engine
