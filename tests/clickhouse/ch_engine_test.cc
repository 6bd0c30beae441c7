// The ClickHouse backend against the RocksDB engine on the same writes: every
// trace reads back identical (header, events, columns), the index cursors
// and scans agree, duplicates and re-sent batches store nothing twice, and
// the failure paths say what failed. Real ClickHouse: the two-shard test
// cluster (ch_test_util.h).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "clickhouse/ch_engine.h"
#include "tests/clickhouse/ch_test_util.h"
#include "tests/query/oracle_data_util.h"
#include "tests/query/otel_data_util.h"
#include "tests/query/query_test_util.h"

namespace tracedb::clickhouse {
namespace {

using query::testing::kSecond;
using query::testing::kT0;

Result<std::unique_ptr<engine::Engine>> OpenTestBackend(const std::string& database,
                                                          ClickHouseOptions o = ClickHouseOptions()) {
  for (const auto& url : testing::TestShardUrls()) o.shards.push_back({url});
  o.database = database;
  return OpenClickHouse(o);
}

std::vector<schema::Trace> AllTraces(engine::Engine* e) {
  std::vector<engine::Id128> ids;
  EXPECT_TRUE(e->ScanTraces([&](const schema::Trace& t) {
                 ids.push_back(t.trace_id);
                 return true;
               }).ok());
  std::sort(ids.begin(), ids.end());
  std::vector<schema::Trace> out;
  for (const auto& id : ids) {
    auto t = e->GetTrace(id);
    EXPECT_TRUE(t.ok() && t->has_value());
    if (t.ok() && t->has_value()) out.push_back(std::move(**t));
  }
  return out;
}

std::vector<engine::IndexEntry> Drain(engine::IndexCursor* c) {
  std::vector<engine::IndexEntry> out;
  for (; c->Valid(); c->Next()) out.push_back(c->entry());
  EXPECT_TRUE(c->status().ok()) << c->status().ToString();
  return out;
}

bool SameEntries(const std::vector<engine::IndexEntry>& a, const std::vector<engine::IndexEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].start_ns != b[i].start_ns || a[i].trace_id != b[i].trace_id) return false;
  }
  return true;
}

class ChEngineTest : public testing::ClusterTest {};

TEST_F(ChEngineTest, ReadsBackWhatRocksDbReadsBack) {
  testing::UniqueDatabase db("roundtrip");
  auto ch = OpenTestBackend(db.name());
  ASSERT_TRUE(ch.ok()) << ch.status().ToString();
  auto rocks = query::testing::OpenMemoryEngine();
  ASSERT_NE(rocks, nullptr);
  for (engine::Engine* e : {ch->get(), rocks.get()}) {
    ASSERT_TRUE(query::testing::WriteDataset(e, {}).ok());
    ASSERT_TRUE(query::oracle::WriteEdgeCases(e, kT0 + 2500 * 1000000LL).ok());
    ASSERT_TRUE(query::testing::WriteOtelDataset(e).ok());
  }
  std::vector<schema::Trace> want = AllTraces(rocks.get());
  std::vector<schema::Trace> got = AllTraces(ch->get());
  ASSERT_GT(want.size(), 200u);
  ASSERT_EQ(got.size(), want.size());
  size_t events = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i], want[i]) << query::testing::ShortId(want[i].trace_id);
    events += want[i].events.size();
  }
  EXPECT_GT(events, want.size());

  // Both shards hold traces, each trace one shard.
  std::set<size_t> shards;
  for (const auto& t : want) shards.insert(ShardOf(t.trace_id, 2));
  EXPECT_EQ(shards.size(), 2u);

  // Column chunks: the same hot values per trace (RocksDB may split a trace
  // into several chunks; compare event by event, sorted).
  for (const auto& t : want) {
    auto collect = [&](engine::Engine* e) {
      std::vector<std::tuple<int64_t, uint64_t, uint8_t, std::string, uint64_t, uint64_t, uint8_t, uint8_t>> rows;
      EXPECT_TRUE(e->ReadColumns(t.trace_id, [&](const engine::ColumnChunk& c) {
                     for (size_t k = 0; k < c.size(); ++k) {
                       rows.emplace_back(c.timestamp_ns[k], c.event_fp[k], c.type[k], c.actors[c.actor[k]],
                                         c.duration_ns[k], c.size_bytes[k], c.status[k], c.span_kind_at(k));
                       EXPECT_EQ(c.trace_start_ns, t.start_ns);
                     }
                     return true;
                   }).ok());
      std::sort(rows.begin(), rows.end());
      return rows;
    };
    EXPECT_EQ(collect(ch->get()), collect(rocks.get())) << query::testing::ShortId(t.trace_id);
  }

  // Index cursors: every kind, whole and windowed, and Seek.
  std::vector<engine::IndexRange> ranges;
  ranges.push_back({engine::IndexKind::kTime, "", INT64_MIN, INT64_MAX});
  ranges.push_back({engine::IndexKind::kTime, "", kT0 + 20 * kSecond, kT0 + 90 * kSecond});
  for (const char* flow : {"checkout", "billing", "search", "ingest", "frontend"}) {
    ranges.push_back({engine::IndexKind::kFlow, flow, INT64_MIN, INT64_MAX});
  }
  for (auto code : {schema::StatusCode::kRunning, schema::StatusCode::kCompleted, schema::StatusCode::kFailed,
                    schema::StatusCode::kCancelled, schema::StatusCode::kPending}) {
    ranges.push_back({engine::IndexKind::kStatus, std::string(1, static_cast<char>(code)), INT64_MIN, INT64_MAX});
  }
  auto actors = rocks->ListIndexValues(engine::IndexKind::kActor, "", 1000);
  ASSERT_TRUE(actors.ok());
  ASSERT_FALSE(actors->empty());
  auto ch_actors = (*ch)->ListIndexValues(engine::IndexKind::kActor, "", 1000);
  ASSERT_TRUE(ch_actors.ok());
  EXPECT_EQ(*ch_actors, *actors);
  for (const auto& a : *actors) ranges.push_back({engine::IndexKind::kActor, a, INT64_MIN, INT64_MAX});
  auto flows = rocks->ListIndexValues(engine::IndexKind::kFlow, "", 1000);
  ASSERT_TRUE(flows.ok());
  auto ch_flows = (*ch)->ListIndexValues(engine::IndexKind::kFlow, "", 1000);
  ASSERT_TRUE(ch_flows.ok());
  EXPECT_EQ(*ch_flows, *flows);
  for (const auto& f : *flows) ranges.push_back({engine::IndexKind::kFlow, f, kT0, kT0 + 150 * kSecond});
  size_t nonempty = 0;
  for (const auto& r : ranges) {
    auto a = Drain(rocks->ScanIndex(r).get());
    auto b = Drain((*ch)->ScanIndex(r).get());
    EXPECT_TRUE(SameEntries(a, b)) << "kind " << static_cast<char>(r.kind) << " value '" << r.value << "': rocksdb "
                                   << a.size() << " entries, clickhouse " << b.size();
    if (!a.empty()) ++nonempty;
    if (a.size() > 4) {
      auto c = (*ch)->ScanIndex(r);
      c->Seek(a[a.size() / 2]);
      ASSERT_TRUE(c->Valid());
      EXPECT_EQ(c->entry().trace_id, a[a.size() / 2].trace_id);
    }
  }
  EXPECT_GT(nonempty, 10u);

  // Window column scans: the same traces and events.
  auto scan = [](engine::Engine* e, int64_t lo, int64_t hi) {
    std::map<engine::Id128, size_t> n;
    EXPECT_TRUE(e->ScanColumns(lo, hi, [&](const engine::ColumnChunk& c) {
                   n[c.trace_id] += c.size();
                   return true;
                 }).ok());
    return n;
  };
  EXPECT_EQ(scan(ch->get(), kT0 + 10 * kSecond, kT0 + 120 * kSecond),
            scan(rocks.get(), kT0 + 10 * kSecond, kT0 + 120 * kSecond));
  EXPECT_EQ(scan(ch->get(), INT64_MIN, INT64_MAX), scan(rocks.get(), INT64_MIN, INT64_MAX));

  // Flow versions.
  for (const auto& f : *flows) {
    auto a = rocks->GetFlowVersions(f);
    auto b = (*ch)->GetFlowVersions(f);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*b, *a) << f;
  }
}

TEST_F(ChEngineTest, DuplicatesAndResentBatchesAreStoredOnce) {
  testing::UniqueDatabase db("dups");
  auto ch = OpenTestBackend(db.name());
  ASSERT_TRUE(ch.ok()) << ch.status().ToString();
  ASSERT_TRUE(query::testing::WriteDataset(ch->get(), {}).ok());
  // A second server (fresh cache) writes the same data set again: every
  // event is a duplicate, nothing new is stored.
  auto other = OpenTestBackend(db.name());
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_TRUE(query::testing::WriteDataset(other->get(), {}).ok());
  EXPECT_EQ((*other)->counters().events_written.load(), 0u);
  EXPECT_EQ((*other)->counters().duplicates.load(), (*ch)->counters().events_written.load());
  auto rocks = query::testing::OpenMemoryEngine();
  ASSERT_TRUE(query::testing::WriteDataset(rocks.get(), {}).ok());
  auto want = AllTraces(rocks.get());
  auto got = AllTraces(other->get());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].events.size(), want[i].events.size());
    EXPECT_EQ(got[i].status, want[i].status);
  }
}

TEST_F(ChEngineTest, StoreTraceReplacesTheEvents) {
  testing::UniqueDatabase db("store");
  auto ch = OpenTestBackend(db.name());
  ASSERT_TRUE(ch.ok()) << ch.status().ToString();
  auto rocks = query::testing::OpenMemoryEngine();
  schema::Trace t;
  t.trace_id = query::testing::TraceId(77);
  t.flow_id = "replaced";
  t.start_ns = kT0;
  t.status.code = schema::StatusCode::kRunning;
  for (int i = 0; i < 3; ++i) {
    schema::Event e;
    e.event_id = std::string(16, static_cast<char>('a' + i));
    e.timestamp_ns = kT0 + i;
    e.type = schema::EventType::kActorStarted;
    e.actor = "a" + std::to_string(i);
    e.reflow.emplace();
    t.events.push_back(e);
  }
  schema::Trace second = t;
  second.events.erase(second.events.begin());
  second.flow_id = "replaced2";
  for (engine::Engine* e : {ch->get(), rocks.get()}) {
    engine::WriteBatch b;
    b.StoreTrace(t);
    ASSERT_TRUE(e->Write(b).ok());
    engine::WriteBatch b2;
    b2.StoreTrace(second);
    auto r = e->Write(b2);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->duplicates, 2u);
  }
  auto a = rocks->GetTrace(t.trace_id);
  auto b = (*ch)->GetTrace(t.trace_id);
  ASSERT_TRUE(a.ok() && b.ok() && a->has_value() && b->has_value());
  EXPECT_EQ(**b, **a);
  EXPECT_EQ((*b)->events.size(), 2u);
}

TEST_F(ChEngineTest, AnUnreachableClusterIsAnErrorNamingTheUrl) {
  ClickHouseOptions o;
  o.shards = {{"http://127.0.0.1:1"}};
  o.connect_timeout_ms = 500;
  auto e = OpenClickHouse(o);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("http://127.0.0.1:1"), std::string::npos) << e.status().ToString();
  ClickHouseOptions bad;
  bad.shards = {};
  EXPECT_EQ(OpenClickHouse(bad).status().code(), StatusCode::kInvalidArgument);
  ClickHouseOptions bad_db;
  bad_db.shards = {{testing::TestShardUrls().at(0)}};
  bad_db.database = "x; DROP";
  EXPECT_EQ(OpenClickHouse(bad_db).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tracedb::clickhouse

namespace tracedb::clickhouse {
namespace {

TEST_F(ChEngineTest, RetentionDropsWholeDayPartitionsOnEveryShard) {
  testing::UniqueDatabase db("retention");
  ClickHouseOptions o;
  o.retention_max_age_seconds = 2 * 86400;
  o.retention_interval_seconds = 3600;  // the test runs the pass itself
  auto ch = OpenTestBackend(db.name(), o);
  ASSERT_TRUE(ch.ok()) << ch.status().ToString();
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  engine::WriteBatch b;
  std::vector<schema::Id128> old_ids, new_ids;
  for (uint64_t n = 1; n <= 20; ++n) {
    schema::Trace t;
    t.trace_id = query::testing::TraceId(n);
    t.flow_id = "retained";
    t.start_ns = n <= 10 ? now - 4 * 86400 * kSecond : now - 3600 * kSecond;
    t.status.code = schema::StatusCode::kRunning;
    (n <= 10 ? old_ids : new_ids).push_back(t.trace_id);
    b.StartTrace(t);
    schema::Event e;
    e.event_id = "e" + std::to_string(n);
    e.timestamp_ns = t.start_ns + 1;
    e.type = schema::EventType::kActorStarted;
    e.actor = "a";
    e.reflow.emplace();
    b.AppendEvent(t.trace_id, e);
  }
  ASSERT_TRUE((*ch)->Write(b).ok());
  // Reads hide what is older than the cutoff at once.
  for (const auto& id : old_ids) {
    auto t = (*ch)->GetTrace(id);
    ASSERT_TRUE(t.ok());
    EXPECT_FALSE(t->has_value());
  }
  auto parts = [&](const std::string& url) {
    auto c = testing::Connect(url);
    auto r = c->Query("SELECT count(DISTINCT partition) FROM system.parts WHERE database = '" + db.name() +
                      "' AND table = 'events' AND active");
    return r.ok() ? std::stoi(*r) : -1;
  };
  int before = 0;
  for (const auto& url : testing::TestShardUrls()) before += parts(url);
  auto dropped = (*ch)->EnforceRetention(now);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_GE(*dropped, 1u);
  int after = 0;
  for (const auto& url : testing::TestShardUrls()) after += parts(url);
  EXPECT_LT(after, before);
  EXPECT_GT(after, 0);
  for (const auto& id : new_ids) {
    auto t = (*ch)->GetTrace(id);
    ASSERT_TRUE(t.ok() && t->has_value());
    EXPECT_EQ((*t)->events.size(), 1u);
  }
  size_t seen = 0;
  ASSERT_TRUE((*ch)->ScanTraces([&](const schema::Trace&) { return ++seen, true; }).ok());
  EXPECT_EQ(seen, new_ids.size());
}

}  // namespace
}  // namespace tracedb::clickhouse
