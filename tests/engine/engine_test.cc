#include "engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "tests/engine/engine_test_util.h"

namespace tracedb::engine {
namespace {

using testing::Drain;
using testing::IdFrom;
using testing::MakeEvent;
using testing::MakeHeader;
using testing::TempDir;

constexpr TimestampNs kSec = 1'000'000'000;
constexpr TimestampNs kT0 = 1'750'000'000 * kSec;

// Every case runs against every backend: the on-disk store and the same
// engine on RocksDB's in-memory Env.
class EngineTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { Reopen(); }

  Options MakeOptions() {
    Options o;
    o.in_memory = GetParam();
    o.path = dir_.path();
    o.block_cache_bytes = 8 << 20;
    o.write_buffer_bytes = 4 << 20;
    return o;
  }

  void Reopen(Options o) {
    engine_.reset();
    auto r = Engine::Open(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    engine_ = std::move(r).value();
  }
  void Reopen() { Reopen(MakeOptions()); }

  WriteResult MustWrite(const WriteBatch& b) {
    auto r = engine_->Write(b);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : WriteResult{};
  }

  schema::Trace MustGet(const schema::Id128& id) {
    auto r = engine_->GetTrace(id);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r.ok() && r->has_value());
    return (r.ok() && r->has_value()) ? **r : schema::Trace{};
  }

  std::vector<schema::Id128> Scan(IndexKind kind, std::string value, TimestampNs lo = INT64_MIN,
                                   TimestampNs hi = INT64_MAX, size_t limit = SIZE_MAX) {
    auto c = engine_->ScanIndex({kind, std::move(value), lo, hi});
    auto ids = Drain(c.get(), limit);
    EXPECT_TRUE(c->status().ok());
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_P(EngineTest, WritesAndReadsBackATrace) {
  auto id = IdFrom(1, 1);
  WriteBatch b;
  b.StartTrace(MakeHeader(id, "checkout", kT0));
  for (int i = 0; i < 10; ++i) b.AppendEvent(id, MakeEvent(i, kT0 + i, "actor" + std::to_string(i % 3)));
  b.EndTrace(id, {schema::StatusCode::kCompleted, ""}, kT0 + kSec);
  WriteResult r = MustWrite(b);
  EXPECT_EQ(r.events_written, 10u);
  EXPECT_EQ(r.traces_created, 1u);
  EXPECT_EQ(r.duplicates, 0u);

  schema::Trace t = MustGet(id);
  EXPECT_EQ(t.flow_id, "checkout");
  EXPECT_EQ(t.status.code, schema::StatusCode::kCompleted);
  ASSERT_TRUE(t.end_ns.has_value());
  EXPECT_EQ(*t.end_ns, kT0 + kSec);
  EXPECT_EQ(t.metadata.tags.size(), 1u);
  ASSERT_EQ(t.events.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    schema::Event want = MakeEvent(i, kT0 + i, "actor" + std::to_string(i % 3));
    want.seq = static_cast<uint64_t>(i);
    EXPECT_EQ(t.events[static_cast<size_t>(i)], want) << i;
  }
}

TEST_P(EngineTest, MissingTraceIsNullopt) {
  auto r = engine_->GetTrace(IdFrom(9, 9));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST_P(EngineTest, EventsComeBackInTimestampOrderWhateverTheArrivalOrder) {
  auto id = IdFrom(1, 2);
  std::vector<int> order(200);
  for (int i = 0; i < 200; ++i) order[static_cast<size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(5));
  for (size_t start = 0; start < order.size(); start += 50) {
    WriteBatch b;
    for (size_t i = start; i < start + 50; ++i) b.AppendEvent(id, MakeEvent(order[i], kT0 + order[i] * 7, "a"));
    MustWrite(b);
  }
  schema::Trace t = MustGet(id);
  ASSERT_EQ(t.events.size(), 200u);
  for (size_t i = 1; i < t.events.size(); ++i) {
    EXPECT_LT(t.events[i - 1].timestamp_ns, t.events[i].timestamp_ns);
  }
}

TEST_P(EngineTest, EqualTimestampsKeepArrivalOrder) {
  auto id = IdFrom(1, 3);
  WriteBatch b;
  for (int i = 0; i < 20; ++i) b.AppendEvent(id, MakeEvent(100 - i, kT0, "a"));
  MustWrite(b);
  schema::Trace t = MustGet(id);
  ASSERT_EQ(t.events.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(t.events[static_cast<size_t>(i)].event_id, testing::EventIdFrom(100 - i));
}

TEST_P(EngineTest, EventForUnknownTraceCreatesItLazily) {
  auto id = IdFrom(1, 4);
  WriteBatch b;
  b.AppendEvent(id, MakeEvent(1, kT0 + 5, "gen"));
  WriteResult r = MustWrite(b);
  EXPECT_EQ(r.traces_created, 1u);
  schema::Trace t = MustGet(id);
  EXPECT_EQ(t.flow_id, "unknown");
  EXPECT_EQ(t.start_ns, kT0 + 5);
  EXPECT_EQ(t.status.code, schema::StatusCode::kRunning);
  EXPECT_EQ(t.events.size(), 1u);
  EXPECT_EQ(Scan(IndexKind::kFlow, "unknown"), std::vector<schema::Id128>{id});
}

TEST_P(EngineTest, RewritingAnEventIsACountedNoOp) {
  auto id = IdFrom(1, 5);
  WriteBatch b;
  b.StartTrace(MakeHeader(id, "f", kT0));
  b.AppendEvent(id, MakeEvent(1, kT0, "a"));
  b.AppendEvent(id, MakeEvent(1, kT0, "a"));  // same batch
  WriteResult r1 = MustWrite(b);
  EXPECT_EQ(r1.events_written, 1u);
  EXPECT_EQ(r1.duplicates, 1u);

  WriteBatch again;
  again.AppendEvent(id, MakeEvent(1, kT0, "a"));
  again.AppendEvent(id, MakeEvent(2, kT0 + 1, "a"));
  WriteResult r2 = MustWrite(again);
  EXPECT_EQ(r2.events_written, 1u);
  EXPECT_EQ(r2.duplicates, 1u);
  EXPECT_EQ(MustGet(id).events.size(), 2u);
}

TEST_P(EngineTest, DuplicatesAreDetectedAfterReopenAndCacheEviction) {
  Options o = MakeOptions();
  o.trace_cache_capacity = 16;
  Reopen(o);
  WriteBatch b;
  for (uint64_t t = 0; t < 40; ++t) {
    for (int i = 0; i < 3; ++i) b.AppendEvent(IdFrom(2, t), MakeEvent(t * 10 + i, kT0 + i, "a"));
  }
  MustWrite(b);
  // Trace 0 has been evicted from the 16-entry cache: its fingerprints must
  // be rebuilt from the column chunks.
  WriteBatch again;
  again.AppendEvent(IdFrom(2, 0), MakeEvent(0, kT0, "a"));
  EXPECT_EQ(MustWrite(again).duplicates, 1u);
  if (!GetParam()) {
    Reopen(o);
    EXPECT_EQ(MustWrite(again).duplicates, 1u);
    EXPECT_EQ(MustGet(IdFrom(2, 0)).events.size(), 3u);
  }
}

TEST_P(EngineTest, TimeIndexIsNewestFirstAndRespectsTheWindow) {
  WriteBatch b;
  for (uint64_t i = 0; i < 50; ++i) b.StartTrace(MakeHeader(IdFrom(3, i), "f", kT0 + static_cast<TimestampNs>(i) * kSec));
  MustWrite(b);
  auto all = Scan(IndexKind::kTime, "");
  ASSERT_EQ(all.size(), 50u);
  EXPECT_EQ(all.front(), IdFrom(3, 49));
  EXPECT_EQ(all.back(), IdFrom(3, 0));
  auto window = Scan(IndexKind::kTime, "", kT0 + 10 * kSec, kT0 + 19 * kSec);
  ASSERT_EQ(window.size(), 10u);
  EXPECT_EQ(window.front(), IdFrom(3, 19));
  EXPECT_EQ(window.back(), IdFrom(3, 10));
}

TEST_P(EngineTest, CursorStopsAtTheLimitAndSeeks) {
  WriteBatch b;
  for (uint64_t i = 0; i < 100; ++i) b.StartTrace(MakeHeader(IdFrom(4, i), "f", kT0 + static_cast<TimestampNs>(i)));
  MustWrite(b);
  auto c = engine_->ScanIndex({IndexKind::kFlow, "f"});
  EXPECT_EQ(Drain(c.get(), 5).size(), 5u);
  c->Seek({kT0 + 42, IdFrom(4, 42)});
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->entry().trace_id, IdFrom(4, 42));
  c->Seek({kT0 + 41, IdFrom(0, 0)});
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->entry().trace_id, IdFrom(4, 41));
}

TEST_P(EngineTest, FlowAndActorIndexesSeparateValues) {
  WriteBatch b;
  // Values that collide under separator-less concatenation.
  b.StartTrace(MakeHeader(IdFrom(5, 1), "foo", kT0));
  b.StartTrace(MakeHeader(IdFrom(5, 2), "foob", kT0 + 1));
  b.StartTrace(MakeHeader(IdFrom(5, 3), std::string("fo\0o", 4), kT0 + 2));
  b.AppendEvent(IdFrom(5, 1), MakeEvent(1, kT0, "bar"));
  b.AppendEvent(IdFrom(5, 2), MakeEvent(2, kT0 + 1, "ar"));
  MustWrite(b);
  EXPECT_EQ(Scan(IndexKind::kFlow, "foo"), std::vector<schema::Id128>{IdFrom(5, 1)});
  EXPECT_EQ(Scan(IndexKind::kFlow, "foob"), std::vector<schema::Id128>{IdFrom(5, 2)});
  EXPECT_EQ(Scan(IndexKind::kFlow, std::string("fo\0o", 4)), std::vector<schema::Id128>{IdFrom(5, 3)});
  EXPECT_EQ(Scan(IndexKind::kActor, "bar"), std::vector<schema::Id128>{IdFrom(5, 1)});
  EXPECT_EQ(Scan(IndexKind::kActor, "ar"), std::vector<schema::Id128>{IdFrom(5, 2)});
  auto values = engine_->ListIndexValues(IndexKind::kFlow, "foo", 10);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(*values, (std::vector<std::string>{"foo", "foob"}));
}

TEST_P(EngineTest, ActorIndexIsWrittenOncePerTraceAndActor) {
  auto id = IdFrom(6, 1);
  WriteBatch b;
  b.StartTrace(MakeHeader(id, "f", kT0));
  for (int i = 0; i < 100; ++i) b.AppendEvent(id, MakeEvent(i, kT0 + i, "actor" + std::to_string(i % 4)));
  WriteResult r = MustWrite(b);
  // 100 events + 4 actor entries + T/F/S/X/V + 1 column chunk + 1 header
  // + graph aggregate merges: one cell per level (keys::kGraphLevels),
  // holding the 4 actor nodes and the trace count.
  EXPECT_EQ(r.keys_written, 100u + 4u + 5u + 1u + 1u + 4u);
  WriteBatch more;
  for (int i = 100; i < 200; ++i) more.AppendEvent(id, MakeEvent(i, kT0 + i, "actor" + std::to_string(i % 4)));
  WriteResult r2 = MustWrite(more);
  EXPECT_EQ(r2.keys_written, 100u + 1u + 1u + 4u);  // events, one chunk, one header, 4 graph cells
  EXPECT_EQ(Scan(IndexKind::kActor, "actor2"), std::vector<schema::Id128>{id});
}

TEST_P(EngineTest, StatusChangeMovesTheIndexEntry) {
  auto id = IdFrom(7, 1);
  WriteBatch b;
  b.StartTrace(MakeHeader(id, "f", kT0));
  MustWrite(b);
  std::string running(1, static_cast<char>(schema::StatusCode::kRunning));
  std::string failed(1, static_cast<char>(schema::StatusCode::kFailed));
  EXPECT_EQ(Scan(IndexKind::kStatus, running).size(), 1u);
  WriteBatch end;
  end.EndTrace(id, {schema::StatusCode::kFailed, "boom"}, kT0 + kSec);
  MustWrite(end);
  EXPECT_TRUE(Scan(IndexKind::kStatus, running).empty());
  EXPECT_EQ(Scan(IndexKind::kStatus, failed), std::vector<schema::Id128>{id});
  EXPECT_EQ(MustGet(id).status.error, "boom");
}

TEST_P(EngineTest, StatusMovingTwiceInOneBatchLeavesOneEntry) {
  auto id = IdFrom(7, 2);
  WriteBatch b;
  b.StartTrace(MakeHeader(id, "f", kT0));
  b.EndTrace(id, {schema::StatusCode::kCompleted, ""}, kT0 + 1);
  b.EndTrace(id, {schema::StatusCode::kRunning, ""}, kT0 + 2);
  MustWrite(b);
  std::string running(1, static_cast<char>(schema::StatusCode::kRunning));
  std::string completed(1, static_cast<char>(schema::StatusCode::kCompleted));
  EXPECT_EQ(Scan(IndexKind::kStatus, running).size(), 1u);
  EXPECT_TRUE(Scan(IndexKind::kStatus, completed).empty());
}

TEST_P(EngineTest, FinalizeNeverOverridesAnExplicitEnd) {
  auto id = IdFrom(7, 3), open = IdFrom(7, 4);
  WriteBatch b;
  b.StartTrace(MakeHeader(id, "f", kT0));
  b.StartTrace(MakeHeader(open, "f", kT0));
  b.EndTrace(id, {schema::StatusCode::kFailed, "x"}, kT0 + 1);
  MustWrite(b);
  WriteBatch fin;
  fin.EndTrace(id, {schema::StatusCode::kCompleted, ""}, kT0 + 2, EndReason::kFinalized);
  fin.EndTrace(open, {schema::StatusCode::kCompleted, ""}, kT0 + 2, EndReason::kFinalized);
  MustWrite(fin);
  EXPECT_EQ(MustGet(id).status.code, schema::StatusCode::kFailed);
  EXPECT_EQ(MustGet(open).status.code, schema::StatusCode::kCompleted);
}

TEST_P(EngineTest, EndOfUnknownTraceIsCountedNotCreated) {
  WriteBatch b;
  b.EndTrace(IdFrom(7, 9), {schema::StatusCode::kCompleted, ""}, kT0);
  EXPECT_EQ(MustWrite(b).unknown_traces, 1u);
  EXPECT_FALSE(engine_->GetTrace(IdFrom(7, 9))->has_value());
}

TEST_P(EngineTest, RestartKeepsExistingEventsAndMovesTheFlow) {
  auto id = IdFrom(8, 1);
  WriteBatch b;
  b.AppendEvent(id, MakeEvent(1, kT0, "a"));
  MustWrite(b);
  WriteBatch start;
  start.StartTrace(MakeHeader(id, "real-flow", kT0));
  MustWrite(start);
  schema::Trace t = MustGet(id);
  EXPECT_EQ(t.flow_id, "real-flow");
  EXPECT_EQ(t.events.size(), 1u);
  EXPECT_TRUE(Scan(IndexKind::kFlow, "unknown").empty());
  EXPECT_EQ(Scan(IndexKind::kFlow, "real-flow"), std::vector<schema::Id128>{id});
}

TEST_P(EngineTest, StoreTraceReplacesTheWholeTrace) {
  auto id = IdFrom(9, 1);
  WriteBatch b;
  b.StartTrace(MakeHeader(id, "old", kT0));
  for (int i = 0; i < 5; ++i) b.AppendEvent(id, MakeEvent(i, kT0 + i, "old-actor"));
  MustWrite(b);
  schema::Trace replacement = MakeHeader(id, "new", kT0 + 100 * kSec);
  replacement.status = {schema::StatusCode::kFailed, "timeout"};
  replacement.end_ns = kT0 + 101 * kSec;
  for (int i = 0; i < 3; ++i) replacement.events.push_back(MakeEvent(50 + i, kT0 + 100 * kSec + i, "new-actor"));
  WriteBatch store;
  store.StoreTrace(replacement);
  WriteResult r = MustWrite(store);
  EXPECT_EQ(r.traces_created, 0u);
  EXPECT_EQ(r.events_written, 3u);  // new event ids: newly stored
  EXPECT_EQ(r.duplicates, 0u);
  // The same StoreTrace again rewrites the trace but stores nothing new.
  WriteResult again = MustWrite(store);
  EXPECT_EQ(again.events_written, 0u);
  EXPECT_EQ(again.duplicates, 3u);
  schema::Trace t = MustGet(id);
  EXPECT_EQ(t.flow_id, "new");
  EXPECT_EQ(t.status, (schema::ExecutionStatus{schema::StatusCode::kFailed, "timeout"}));
  ASSERT_EQ(t.events.size(), 3u);
  EXPECT_EQ(t.events[0].actor, "new-actor");
  EXPECT_TRUE(Scan(IndexKind::kFlow, "old").empty());
  EXPECT_TRUE(Scan(IndexKind::kActor, "old-actor").empty());
  EXPECT_EQ(Scan(IndexKind::kActor, "new-actor"), std::vector<schema::Id128>{id});
  EXPECT_EQ(Scan(IndexKind::kTime, "").size(), 1u);
}

TEST_P(EngineTest, FlowVersionsAreDistinctAndAscending) {
  WriteBatch b;
  auto h1 = MakeHeader(IdFrom(10, 1), "flow", kT0);
  h1.version = {2, 0, 0, std::nullopt, kT0};
  auto h2 = MakeHeader(IdFrom(10, 2), "flow", kT0);
  h2.version = {1, 10, 0, std::string("abc"), kT0};
  auto h3 = MakeHeader(IdFrom(10, 3), "flow", kT0);
  h3.version = h2.version;
  b.StartTrace(h1);
  b.StartTrace(h2);
  b.StartTrace(h3);
  MustWrite(b);
  auto v = engine_->GetFlowVersions("flow");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ((*v)[0], h2.version);
  EXPECT_EQ((*v)[1], h1.version);
  EXPECT_TRUE(engine_->GetFlowVersions("other")->empty());
}

// An OTel span of service `service` (no resource: "unknown_service").
schema::Event MakeSpan(uint64_t n, TimestampNs ts, std::string name, std::optional<std::string> service) {
  schema::Event e;
  e.type = schema::EventType::kSpan;
  e.timestamp_ns = ts;
  e.actor = name;
  e.event_id = "span-" + std::to_string(n);
  schema::OtelSpan span;
  span.span_id.fill(static_cast<uint8_t>(n));
  span.name = std::move(name);
  span.end_ns = ts + 5;
  if (service) {
    auto resource = std::make_shared<schema::OtelResource>();
    schema::AttributeValue v;
    v.kind = schema::AttributeValue::Kind::kString;
    v.str = *service;
    resource->attributes.emplace_back("service.name", std::move(v));
    span.resource = std::move(resource);
  }
  e.otel = std::move(span);
  return e;
}

std::vector<ColumnChunk> ChunksOf(Engine* engine, const schema::Id128& id) {
  std::vector<ColumnChunk> chunks;
  EXPECT_TRUE(engine->ReadColumns(id, [&](const ColumnChunk& c) {
    chunks.push_back(c);
    return true;
  }).ok());
  return chunks;
}

TEST_P(EngineTest, ServiceColumnIsStoredOnlyForChunksWithSpans) {
  auto reflow = IdFrom(11, 2);
  auto mixed = IdFrom(11, 3);
  WriteBatch b;
  b.AppendEvent(reflow, MakeEvent(1, kT0, "a", schema::EventType::kDataFlow));
  b.AppendEvent(mixed, MakeEvent(2, kT0, "a", schema::EventType::kDataFlow));
  b.AppendEvent(mixed, MakeSpan(3, kT0 + 1, "GET /", "checkout"));
  b.AppendEvent(mixed, MakeSpan(4, kT0 + 2, "db.query", "db"));
  b.AppendEvent(mixed, MakeSpan(5, kT0 + 3, "cache.get", "checkout"));
  b.AppendEvent(mixed, MakeSpan(6, kT0 + 4, "publish", std::nullopt));
  MustWrite(b);

  std::vector<ColumnChunk> chunks = ChunksOf(engine_.get(), reflow);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_TRUE(chunks[0].service.empty());
  EXPECT_TRUE(chunks[0].services.empty());

  chunks = ChunksOf(engine_.get(), mixed);
  ASSERT_EQ(chunks.size(), 1u);
  const ColumnChunk& c = chunks[0];
  ASSERT_EQ(c.service.size(), 5u);
  EXPECT_EQ(c.services, (std::vector<std::string>{"checkout", "db", "unknown_service"}));
  EXPECT_EQ(c.service, (std::vector<uint16_t>{ColumnChunk::kNoService, 0, 1, 0, 2}));
  EXPECT_EQ(c.service_at(0), nullptr);
}

TEST_P(EngineTest, ColumnsHoldTheHotFields) {
  auto id = IdFrom(11, 1);
  WriteBatch b;
  b.AppendEvent(id, MakeEvent(3, kT0, "a", schema::EventType::kDataFlow));
  auto failed = MakeEvent(4, kT0 + 1, "b", schema::EventType::kActorFailed);
  failed.reflow->metrics.execution_time_ns.reset();
  b.AppendEvent(id, failed);
  MustWrite(b);
  std::vector<ColumnChunk> chunks;
  ASSERT_TRUE(engine_->ReadColumns(id, [&](const ColumnChunk& c) {
    chunks.push_back(c);
    return true;
  }).ok());
  ASSERT_EQ(chunks.size(), 1u);
  const ColumnChunk& c = chunks[0];
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c.type[0], static_cast<uint8_t>(schema::EventType::kDataFlow));
  EXPECT_EQ(c.actors[c.actor[1]], "b");
  EXPECT_EQ(c.duration_ns[0], 3000u);
  EXPECT_EQ(c.duration_ns[1], ColumnChunk::kNone);
  EXPECT_EQ(c.size_bytes[0], 3u);
  EXPECT_EQ(c.status[1], static_cast<uint8_t>(schema::EventStatusCode::kError));
  EXPECT_EQ(c.trace_start_ns, kT0);

  size_t scanned = 0;
  ASSERT_TRUE(engine_->ScanColumns(kT0 - kSec, kT0 + kSec, [&](const ColumnChunk& chunk) {
    EXPECT_EQ(chunk.trace_id, id);
    scanned += chunk.size();
    return true;
  }).ok());
  EXPECT_EQ(scanned, 2u);
}

// ScanColumns answers narrow windows from the time index and wide ones by a
// sequential scan that skips chunks outside the window: both must return
// exactly the chunks of the traces that start inside it.
TEST_P(EngineTest, ScanColumnsMatchesTheTraceStartsForNarrowAndWideWindows) {
  const uint32_t bucket = engine_->options().bucket_seconds;
  const TimestampNs step = static_cast<TimestampNs>(bucket) * kSec / 10;  // 10 traces per bucket
  std::map<Id128, TimestampNs> starts;
  WriteBatch b;
  for (uint64_t t = 0; t < 40; ++t) {
    auto id = IdFrom(30, t);
    TimestampNs start = kT0 + static_cast<TimestampNs>(t) * step;
    starts[id] = start;
    b.StartTrace(MakeHeader(id, "f", start));
    for (int i = 0; i < 3; ++i) b.AppendEvent(id, MakeEvent(t * 10 + i, start + i, "a"));
  }
  MustWrite(b);
  const std::vector<std::pair<TimestampNs, TimestampNs>> windows = {
      {kT0, kT0},                                     // one trace, index path
      {kT0 + step / 2, kT0 + 3 * step},               // narrow, index path
      {kT0 - kSec, kT0 + 40 * step},                  // everything, sequential
      {kT0 + 5 * step, kT0 + 25 * step},              // wide, sequential, partial buckets
      {kT0 + 40 * step + 1, kT0 + 50 * step}};        // nothing
  for (auto [lo, hi] : windows) {
    std::map<Id128, size_t> got;
    ASSERT_TRUE(engine_->ScanColumns(lo, hi, [&](const ColumnChunk& c) {
      EXPECT_GE(c.trace_start_ns, lo);
      EXPECT_LE(c.trace_start_ns, hi);
      got[c.trace_id] += c.size();
      return true;
    }).ok());
    std::map<Id128, size_t> want;
    for (auto [id, start] : starts) {
      if (start >= lo && start <= hi) want[id] = 3;
    }
    EXPECT_EQ(got, want) << "window [" << lo << ", " << hi << "]";
  }
  // ReadColumnsAt finds the chunks from the start alone.
  size_t n = 0;
  ASSERT_TRUE(engine_->ReadColumnsAt(IdFrom(30, 7), starts[IdFrom(30, 7)], [&](const ColumnChunk& c) {
    n += c.size();
    return true;
  }).ok());
  EXPECT_EQ(n, 3u);
}

TEST_P(EngineTest, ReopenFindsEverything) {
  if (GetParam()) GTEST_SKIP() << "an in-memory store does not outlive its engine";
  WriteBatch b;
  for (uint64_t t = 0; t < 20; ++t) {
    b.StartTrace(MakeHeader(IdFrom(12, t), "f", kT0 + static_cast<TimestampNs>(t)));
    for (int i = 0; i < 5; ++i) b.AppendEvent(IdFrom(12, t), MakeEvent(t * 100 + i, kT0 + i, "a"));
  }
  MustWrite(b);
  Reopen();
  EXPECT_EQ(Scan(IndexKind::kTime, "").size(), 20u);
  EXPECT_EQ(MustGet(IdFrom(12, 7)).events.size(), 5u);
  size_t n = 0;
  ASSERT_TRUE(engine_->ScanTraces([&](const schema::Trace&) { return ++n, true; }).ok());
  EXPECT_EQ(n, 20u);
}

TEST_P(EngineTest, RetentionHidesAndRemovesExpiredTraces) {
  TempDir fresh;  // the bucket width is fixed when a store is created
  Options o = MakeOptions();
  o.path = fresh.path();
  o.bucket_seconds = 60;
  o.retention_max_age_seconds = 3600;
  o.retention_interval_seconds = 3600;  // the test drives retention itself
  Reopen(o);
  const TimestampNs now = kT0 + 10 * 3600 * kSec;
  std::string payload(2000, 'x');
  for (uint64_t t = 0; t < 200; ++t) {
    // Half the traces are 5 hours old, half 10 minutes old.
    TimestampNs start = (t % 2 == 0) ? now - 5 * 3600 * kSec : now - 600 * kSec;
    start += static_cast<TimestampNs>(t);
    WriteBatch b;
    b.StartTrace(MakeHeader(IdFrom(13, t), t % 2 == 0 ? "old" : "new", start));
    for (int i = 0; i < 20; ++i) {
      auto e = MakeEvent(t * 100 + i, start + i, "actor" + std::to_string(t % 2));
      e.reflow->custom_attributes_json = R"({"pad":")" + payload + std::to_string(t * 100 + i) + "\"}";
      b.AppendEvent(IdFrom(13, t), e);
    }
    MustWrite(b);
  }
  ASSERT_TRUE(engine_->CompactAll().ok());
  uint64_t before = engine_->DiskUsageBytes();

  auto dropped = engine_->EnforceRetention(now);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_GE(*dropped, 1u);
  EXPECT_EQ(Scan(IndexKind::kTime, "").size(), 100u);
  EXPECT_TRUE(Scan(IndexKind::kFlow, "old").empty());
  EXPECT_TRUE(Scan(IndexKind::kActor, "actor0").empty());
  EXPECT_EQ(Scan(IndexKind::kFlow, "new").size(), 100u);
  EXPECT_FALSE(engine_->GetTrace(IdFrom(13, 0))->has_value());
  EXPECT_TRUE(engine_->GetTrace(IdFrom(13, 1))->has_value());
  size_t visible = 0;
  ASSERT_TRUE(engine_->ScanTraces([&](const schema::Trace&) { return ++visible, true; }).ok());
  EXPECT_EQ(visible, 100u);

  if (!GetParam()) {
    ASSERT_TRUE(engine_->CompactAll().ok());
    uint64_t after = engine_->DiskUsageBytes();
    EXPECT_LT(after, before * 3 / 4) << "before " << before << " after " << after;
    // The cutoff is persistent.
    Reopen(o);
    EXPECT_FALSE(engine_->GetTrace(IdFrom(13, 0))->has_value());
    EXPECT_EQ(Scan(IndexKind::kTime, "").size(), 100u);
  }
}

TEST_P(EngineTest, MaxBytesRetentionDropsOldestBuckets) {
  if (GetParam()) GTEST_SKIP() << "size-based retention measures files on disk";
  TempDir fresh;  // the bucket width is fixed when a store is created
  Options o = MakeOptions();
  o.path = fresh.path();
  o.bucket_seconds = 60;
  o.retention_max_bytes = 1;  // everything but the newest bucket must go
  o.retention_interval_seconds = 3600;
  Reopen(o);
  for (uint64_t t = 0; t < 6; ++t) {
    WriteBatch b;
    TimestampNs start = kT0 + static_cast<TimestampNs>(t) * 60 * kSec;
    b.StartTrace(MakeHeader(IdFrom(14, t), "f", start));
    for (int i = 0; i < 50; ++i) b.AppendEvent(IdFrom(14, t), MakeEvent(t * 100 + i, start + i, "a"));
    MustWrite(b);
  }
  ASSERT_TRUE(engine_->CompactAll().ok());
  auto dropped = engine_->EnforceRetention(kT0);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_EQ(*dropped, 5u);
  EXPECT_EQ(Scan(IndexKind::kTime, ""), std::vector<schema::Id128>{IdFrom(14, 5)});
}

TEST_P(EngineTest, OperonxEventsIndexFullAndShortOpNames) {
  auto id = IdFrom(15, 1);
  schema::Event e;
  e.event_id = "r1-1";
  e.timestamp_ns = kT0;
  e.seq = 1;
  e.type = schema::EventType::kOpEnd;
  e.actor = "graph.decode";
  e.operonx = schema::OperonxEvent{"op_end", std::string("graph.decode"), {"main"},
                                   R"({"status":"error","duration_ms":12.5})"};
  WriteBatch b;
  b.AppendEvent(id, e);
  MustWrite(b);
  EXPECT_EQ(Scan(IndexKind::kActor, "graph.decode").size(), 1u);
  EXPECT_TRUE(Scan(IndexKind::kActor, "decode").empty());  // full names only
  EXPECT_EQ(Scan(IndexKind::kActor, std::string(1, kShortNameMarker) + "decode").size(), 1u);
  schema::Trace t = MustGet(id);
  EXPECT_EQ(t.source, schema::Source::kOperonx);
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0], e);
  ASSERT_TRUE(engine_->ReadColumns(id, [&](const ColumnChunk& c) {
    EXPECT_EQ(c.duration_ns[0], 12'500'000u);
    EXPECT_EQ(c.status[0], static_cast<uint8_t>(schema::EventStatusCode::kError));
    return true;
  }).ok());
}

TEST_P(EngineTest, StatusFromEventsFollowsErrorsThenCancellations) {
  auto failed = IdFrom(16, 1), cancelled = IdFrom(16, 2), fine = IdFrom(16, 3);
  auto op_end = [](uint64_t n, TimestampNs ts, const char* status) {
    schema::Event e;
    e.event_id = "r-" + std::to_string(n);
    e.timestamp_ns = ts;
    e.seq = n;
    e.type = schema::EventType::kOpEnd;
    e.actor = "g.op" + std::to_string(n);
    e.operonx = schema::OperonxEvent{"op_end", e.actor, {"main"},
                                     std::string(R"({"status":")") + status + R"(","duration_ms":1})"};
    return e;
  };
  WriteBatch b;
  b.AppendEvent(failed, op_end(1, kT0, "cancelled"));
  b.AppendEvent(failed, op_end(2, kT0 + 5, "error"));
  b.AppendEvent(cancelled, op_end(3, kT0 + 7, "cancelled"));
  b.AppendEvent(fine, op_end(4, kT0 + 9, "ok"));
  for (const auto& id : {failed, cancelled, fine}) b.EndTrace(id, {}, 0, EndReason::kEnded, StatusRule::kFromEvents);
  MustWrite(b);
  schema::Trace f = MustGet(failed);
  EXPECT_EQ(f.status, (schema::ExecutionStatus{schema::StatusCode::kFailed, "g.op2: error"}));
  EXPECT_EQ(f.end_ns, kT0 + 5);
  EXPECT_EQ(MustGet(cancelled).status.code, schema::StatusCode::kCancelled);
  EXPECT_EQ(MustGet(fine).status.code, schema::StatusCode::kCompleted);
}

INSTANTIATE_TEST_SUITE_P(Backends, EngineTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Memory" : "RocksDbOnDisk";
                         });

TEST(EngineOpen, RefusesASecondOpenOfTheSameDirectory) {
  TempDir dir;
  Options o;
  o.path = dir.path();
  auto first = Engine::Open(o);
  ASSERT_TRUE(first.ok());
  auto second = Engine::Open(o);
  EXPECT_FALSE(second.ok());
}

TEST(EngineOpen, StoredBucketWidthWinsOverOptions) {
  TempDir dir;
  Options o;
  o.path = dir.path();
  o.bucket_seconds = 60;
  { ASSERT_TRUE(Engine::Open(o).ok()); }
  o.bucket_seconds = 3600;
  auto reopened = Engine::Open(o);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->options().bucket_seconds, 60u);
}

// The free-space floor refuses writes before the disk is full, says so in
// Space(), keeps reads working, and a store with room writes again. (The
// real ENOSPC and recovery without a restart: scripts.full_disk.)
TEST(EngineSpace, BelowTheFloorWritesAreRefusedAndReadsWork) {
  TempDir dir;
  Options o;
  o.path = dir.path();
  o.min_free_bytes = 0;
  auto id = IdFrom(1, 1);
  {
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok());
    WriteBatch b;
    b.StartTrace(MakeHeader(id, "checkout", kT0));
    b.AppendEvent(id, MakeEvent(0, kT0, "a"));
    ASSERT_TRUE((*e)->Write(b).ok());
    StorageSpace space = (*e)->Space();
    EXPECT_FALSE(space.full);
    EXPECT_GT(space.free_bytes, 0u);
  }
  // A floor above what any disk here has free.
  o.min_free_bytes = uint64_t{1} << 62;
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_TRUE((*e)->Space().full);
  WriteBatch b;
  b.AppendEvent(id, MakeEvent(1, kT0 + 1, "a"));
  auto w = (*e)->Write(b);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kStorageFull) << w.status().ToString();
  EXPECT_NE(w.status().message().find("min_free_bytes"), std::string::npos) << w.status().message();
  EXPECT_EQ((*e)->counters().storage_full_refusals.load(), 1u);
  auto t = (*e)->GetTrace(id);
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((*t)->events.size(), 1u);  // the refused event is not there
  e->reset();
  o.min_free_bytes = 0;
  auto roomy = Engine::Open(o);
  ASSERT_TRUE(roomy.ok());
  ASSERT_TRUE((*roomy)->Write(b).ok());
  EXPECT_EQ((*(*roomy)->GetTrace(id))->events.size(), 2u);
}

// In memory there is no disk to fill: the floor does not apply.
TEST(EngineSpace, InMemoryStoresAreNeverFull) {
  Options o;
  o.in_memory = true;
  o.min_free_bytes = uint64_t{1} << 62;
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok());
  WriteBatch b;
  b.AppendEvent(IdFrom(1, 2), MakeEvent(0, kT0, "a"));
  EXPECT_TRUE((*e)->Write(b).ok());
  EXPECT_FALSE((*e)->Space().full);
}

TEST(EngineOpen, RequiresADirectoryUnlessInMemory) {
  Options o;
  EXPECT_EQ(Engine::Open(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tracedb::engine
