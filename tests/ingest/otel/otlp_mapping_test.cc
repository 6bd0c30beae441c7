// The OTLP -> model mapping (ingest/otel/otlp_mapping.h): what a hand-built
// request becomes in a WriteBatch, which spans are refused and how they are
// counted, and what the engine stores and merges on a real RocksDB store.

#include "ingest/otel/otlp_mapping.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>
#include <tuple>

#include <unistd.h>

#include "tests/ingest/otel/otel_test_util.h"

namespace tracedb::ingest::otel {
namespace {

using engine::WriteBatch;
using schema::AttributeValue;
using schema::TimestampNs;

constexpr TimestampNs kT0 = 1'796'533'263'631'000'000;  // what the JS exporter sent (2026)

// The value builders of the decoder tests.
const auto& Hex = testing::Unhex;
const auto& AnyStr = testing::Str;
const auto& AnyInt = testing::Int;
const auto& AnyArray = testing::Array;
const auto& AnyKvList = testing::KvList;

const std::string kTrace = Hex("5b8efff798038103d269b633813fc60c");
const std::string kTrace2 = Hex("0af7651916cd43dd8448eb211c80319c");

Span MakeSpan(const std::string& trace, std::string_view span_hex, std::string_view parent_hex, std::string name,
              TimestampNs start, TimestampNs end) {
  Span s;
  s.trace_id = trace;
  s.span_id = Hex(span_hex);
  s.parent_span_id = Hex(parent_hex);
  s.name = std::move(name);
  s.kind = 1;
  s.start_time_unix_nano = static_cast<uint64_t>(start);
  s.end_time_unix_nano = static_cast<uint64_t>(end);
  s.flags = 0x101;
  return s;
}

ResourceSpans Service(std::string name, std::vector<Span> spans) {
  ResourceSpans rs;
  rs.resource.attributes = {{"service.name", AnyStr(std::move(name))}, {"host.name", AnyStr("host-1")},
                            {"process.pid", AnyInt(4242)}, {"deployment.environment.name", AnyStr("prod")}};
  rs.resource.dropped_attributes_count = 1;
  rs.schema_url = "https://opentelemetry.io/schemas/1.26.0";
  ScopeSpans ss;
  ss.scope.name = "tracedb-test";
  ss.scope.version = "1.0";
  ss.scope.attributes = {{"scope.k", AnyStr("v")}};
  ss.schema_url = "https://scope";
  ss.spans = std::move(spans);
  rs.scope_spans.push_back(std::move(ss));
  return rs;
}

// A trace over two services: frontend's root, checkout's failed child with
// every kind of field, and a grandchild back in frontend.
ExportTraceServiceRequest CheckoutRequest() {
  Span root = MakeSpan(kTrace, "1000000000000001", "", "GET /checkout", kT0, kT0 + 9'000'000);
  root.kind = 2;
  Span child = MakeSpan(kTrace, "2000000000000002", "1000000000000001", "db.query", kT0 + 1'000'000, kT0 + 12'000'000);
  child.kind = 3;
  child.status.code = 2;
  child.status.message = "deadline exceeded";
  child.attributes = {{"db.rows", AnyInt(42)},
                      {"nested", AnyKvList({{"list", AnyArray({AnyInt(1), AnyStr("two")})}})}};
  child.dropped_attributes_count = 2;
  child.trace_state = "congo=t61rcWkgMzE";
  child.events.push_back(SpanEvent{static_cast<uint64_t>(kT0 + 2'000'000), "exception", {{"exception.type", AnyStr("Timeout")}}, 1});
  child.dropped_events_count = 3;
  child.links.push_back(SpanLink{kTrace2, Hex("3000000000000003"), "k=v", {{"link.k", AnyInt(7)}}, 4, 1});
  child.dropped_links_count = 5;
  Span grandchild = MakeSpan(kTrace, "4000000000000004", "2000000000000002", "render", kT0 + 500, kT0 + 600);
  ExportTraceServiceRequest r;
  r.resource_spans.push_back(Service("frontend", {root, grandchild}));
  r.resource_spans.push_back(Service("checkout", {child}));
  return r;
}

schema::Id128 IdOf(const std::string& bytes) {
  schema::Id128 id{};
  std::copy(bytes.begin(), bytes.end(), id.begin());
  return id;
}

TEST(OtlpMapping, RequestBecomesOneMergeThenOneEventPerSpan) {
  WriteBatch batch;
  MapResult r = AppendExportRequest(CheckoutRequest(), &batch);
  EXPECT_EQ(r.accepted_spans, 3u);
  EXPECT_TRUE(r.partial_success.empty());
  ASSERT_EQ(batch.size(), 4u);

  const WriteBatch::Op& merge = batch.ops()[0];
  ASSERT_EQ(merge.kind, WriteBatch::Op::Kind::kMerge);
  EXPECT_EQ(merge.role, engine::HeaderRole::kRoot);
  const schema::Trace& h = *merge.trace;
  EXPECT_EQ(h.trace_id, IdOf(kTrace));
  EXPECT_EQ(h.source, schema::Source::kOtel);
  EXPECT_EQ(h.flow_id, "frontend");
  EXPECT_EQ(h.name, "GET /checkout");
  EXPECT_EQ(h.start_ns, kT0);                // min start (the grandchild starts after the root)
  EXPECT_EQ(h.end_ns, kT0 + 12'000'000);     // max end (the child ends last)
  EXPECT_EQ(h.status.code, schema::StatusCode::kFailed);
  EXPECT_EQ(h.status.error, "db.query: deadline exceeded");
  EXPECT_EQ(h.metadata.hostname, "host-1");
  EXPECT_EQ(h.metadata.environment, "prod");
  EXPECT_EQ(h.metadata.process_id, 4242u);
  EXPECT_EQ(merge.flows, (std::vector<std::string>{"frontend", "checkout"}));

  std::vector<std::string> ids;
  for (size_t i = 1; i < batch.size(); ++i) {
    const WriteBatch::Op& op = batch.ops()[i];
    ASSERT_EQ(op.kind, WriteBatch::Op::Kind::kAppend);
    EXPECT_EQ(op.trace_id, IdOf(kTrace));
    const schema::Event& e = op.event;
    EXPECT_EQ(e.type, schema::EventType::kSpan);
    ASSERT_TRUE(e.otel.has_value());
    EXPECT_FALSE(e.reflow.has_value() || e.operonx.has_value());
    EXPECT_EQ(e.event_id.size(), 8u);
    EXPECT_EQ(e.event_id, std::string(reinterpret_cast<const char*>(e.otel->span_id.data()), 8));
    EXPECT_EQ(e.actor, e.otel->name);
    ids.push_back(e.event_id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{Hex("1000000000000001"), Hex("4000000000000004"), Hex("2000000000000002")}));

  const schema::Event& root = batch.ops()[1].event;
  const schema::Event& grandchild = batch.ops()[2].event;
  const schema::Event& child = batch.ops()[3].event;
  EXPECT_EQ(root.timestamp_ns, kT0);
  EXPECT_FALSE(root.otel->parent_span_id.has_value());
  EXPECT_EQ(root.otel->kind, 2);
  EXPECT_EQ(root.otel->flags, 0x101u);
  // Spans of one ResourceSpans share one resource value.
  EXPECT_EQ(root.otel->resource.get(), grandchild.otel->resource.get());
  EXPECT_NE(root.otel->resource.get(), child.otel->resource.get());
  EXPECT_EQ(ServiceName(*child.otel->resource), "checkout");
  EXPECT_EQ(child.otel->resource->dropped_attributes_count, 1u);
  EXPECT_EQ(child.otel->resource->schema_url, "https://opentelemetry.io/schemas/1.26.0");
  EXPECT_EQ(child.otel->scope->name, "tracedb-test");
  EXPECT_EQ(child.otel->scope->schema_url, "https://scope");

  const schema::OtelSpan& s = *child.otel;
  EXPECT_EQ(s.parent_span_id, (schema::SpanId{0x10, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(s.end_ns, kT0 + 12'000'000);
  EXPECT_EQ(s.status_code, 2);
  EXPECT_EQ(s.status_message, "deadline exceeded");
  ASSERT_EQ(s.attributes.size(), 2u);
  EXPECT_EQ(s.attributes[0].second.kind, AttributeValue::Kind::kInt);
  EXPECT_EQ(s.attributes[0].second.i, 42);
  const AttributeValue& nested = s.attributes[1].second;
  ASSERT_EQ(nested.kind, AttributeValue::Kind::kKvList);
  ASSERT_EQ(nested.kvlist.at(0).second.kind, AttributeValue::Kind::kArray);
  EXPECT_EQ(nested.kvlist[0].second.array.at(1).kind, AttributeValue::Kind::kString);
  EXPECT_EQ(nested.kvlist[0].second.array[1].str, "two");
  EXPECT_EQ(s.dropped_attributes_count, 2u);
  EXPECT_EQ(s.trace_state, "congo=t61rcWkgMzE");
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].time_ns, kT0 + 2'000'000);
  EXPECT_EQ(s.events[0].dropped_attributes_count, 1u);
  EXPECT_EQ(s.dropped_events_count, 3u);
  ASSERT_EQ(s.links.size(), 1u);
  EXPECT_EQ(s.links[0].trace_id, kTrace2);
  EXPECT_EQ(s.links[0].flags, 1u);
  EXPECT_EQ(s.dropped_links_count, 5u);
}

TEST(OtlpMapping, WithoutTheRootTheEarliestSpanNamesThePiece) {
  ExportTraceServiceRequest r;
  r.resource_spans.push_back(Service("checkout", {MakeSpan(kTrace, "2000000000000002", "1000000000000001", "late", kT0 + 50, kT0 + 60),
                                                  MakeSpan(kTrace, "3000000000000003", "1000000000000001", "early", kT0 + 10, kT0 + 20)}));
  WriteBatch batch;
  AppendExportRequest(std::move(r), &batch);
  const WriteBatch::Op& merge = batch.ops()[0];
  EXPECT_EQ(merge.role, engine::HeaderRole::kPartial);
  EXPECT_EQ(merge.trace->name, "early");
  EXPECT_EQ(merge.trace->flow_id, "checkout");
  EXPECT_EQ(merge.trace->status.code, schema::StatusCode::kCompleted);
  EXPECT_EQ(merge.trace->start_ns, kT0 + 10);
  EXPECT_EQ(merge.trace->end_ns, kT0 + 60);
}

TEST(OtlpMapping, SpansOfSeveralTracesGroupPerTraceInOrderOfFirstAppearance) {
  ExportTraceServiceRequest r;
  r.resource_spans.push_back(Service("a", {MakeSpan(kTrace2, "0000000000000001", "", "x", kT0, kT0),
                                           MakeSpan(kTrace, "0000000000000002", "", "y", kT0, kT0),
                                           MakeSpan(kTrace2, "0000000000000003", "0000000000000001", "z", kT0, kT0)}));
  r.resource_spans[0].resource.attributes.clear();  // no service.name
  WriteBatch batch;
  EXPECT_EQ(AppendExportRequest(std::move(r), &batch).accepted_spans, 3u);
  std::vector<std::pair<WriteBatch::Op::Kind, schema::Id128>> shape;
  for (const auto& op : batch.ops()) shape.emplace_back(op.kind, op.trace_id);
  using K = WriteBatch::Op::Kind;
  EXPECT_EQ(shape, (std::vector<std::pair<K, schema::Id128>>{{K::kMerge, IdOf(kTrace2)},
                                                              {K::kAppend, IdOf(kTrace2)},
                                                              {K::kAppend, IdOf(kTrace2)},
                                                              {K::kMerge, IdOf(kTrace)},
                                                              {K::kAppend, IdOf(kTrace)}}));
  EXPECT_EQ(batch.ops()[0].trace->flow_id, schema::kUnknownService);
}

TEST(OtlpMapping, InvalidSpansAreRefusedOneByOne) {
  std::vector<Span> spans;
  auto valid = [&](std::string_view id) { return MakeSpan(kTrace, id, "", "ok", kT0, kT0 + 1); };
  spans.push_back(valid("0000000000000001"));
  Span s = valid("0000000000000002");
  s.trace_id.pop_back();
  spans.push_back(s);  // [1] trace id 15 bytes
  s = valid("0000000000000003");
  s.trace_id = std::string(16, '\0');
  spans.push_back(s);  // [2] trace id all zero
  s = valid("0000000000000004");
  s.span_id = "1234567";
  spans.push_back(s);  // [3] span id 7 bytes
  s = valid("0000000000000000");
  spans.push_back(s);  // [4] span id all zero
  s = valid("0000000000000006");
  s.parent_span_id = "abcd";
  spans.push_back(s);  // [5] parent 4 bytes
  s = valid("0000000000000007");
  s.end_time_unix_nano = s.start_time_unix_nano - 1;
  spans.push_back(s);  // [6] end before start
  s = valid("0000000000000008");
  AnyValue deep = AnyInt(1);
  for (uint32_t i = 0; i <= schema::kMaxAttributeDepth; ++i) deep = AnyArray({deep});
  s.attributes = {{"deep", deep}};
  spans.push_back(s);  // [7] nested too deep
  s = valid("0000000000000009");
  s.start_time_unix_nano = s.end_time_unix_nano = uint64_t{1} << 63;
  spans.push_back(s);  // [8] beyond int64
  s = valid("000000000000000a");
  s.kind = 256;
  spans.push_back(s);  // [9] kind out of range
  spans.push_back(valid("000000000000000b"));
  ExportTraceServiceRequest r;
  r.resource_spans.push_back(Service("svc", spans));

  WriteBatch batch;
  MapResult result = AppendExportRequest(std::move(r), &batch);
  EXPECT_EQ(result.accepted_spans, 2u);
  EXPECT_EQ(result.partial_success.rejected_spans, 9);
  EXPECT_EQ(result.partial_success.error_message,
            "9 of 11 spans rejected: "
            "resource_spans[0].scope_spans[0].spans[1]: trace id is 15 bytes, not 16; "
            "resource_spans[0].scope_spans[0].spans[2]: trace id is all zero; "
            "resource_spans[0].scope_spans[0].spans[3]: span id is 7 bytes, not 8; and 6 more");
  ASSERT_EQ(batch.size(), 3u);  // one merge and the two valid spans
  EXPECT_EQ(batch.ops()[1].event.event_id, Hex("0000000000000001"));
  EXPECT_EQ(batch.ops()[2].event.event_id, Hex("000000000000000b"));

  // Each reason, alone.
  std::vector<std::pair<size_t, std::string>> reasons = {
      {4, "span id is all zero"},           {5, "parent span id is 4 bytes, not 0 or 8"},
      {6, "end time before start time"},    {7, "attribute value nested deeper than 32"},
      {8, "end time beyond int64 nanoseconds"}, {9, "kind 256 out of range"}};
  for (const auto& [index, reason] : reasons) {
    ExportTraceServiceRequest one;
    one.resource_spans.push_back(Service("svc", {spans[index]}));
    WriteBatch b;
    MapResult m = AppendExportRequest(std::move(one), &b);
    EXPECT_EQ(m.accepted_spans, 0u);
    EXPECT_EQ(m.partial_success.rejected_spans, 1);
    EXPECT_EQ(m.partial_success.error_message, "1 of 1 spans rejected: resource_spans[0].scope_spans[0].spans[0]: " + reason);
    EXPECT_TRUE(b.empty());
  }
}

TEST(OtlpMapping, ATooDeepResourceRefusesItsSpans) {
  ExportTraceServiceRequest r = CheckoutRequest();
  AnyValue deep = AnyInt(1);
  for (uint32_t i = 0; i <= schema::kMaxAttributeDepth; ++i) deep = AnyKvList({{"k", deep}});
  r.resource_spans[1].resource.attributes.push_back({"deep", deep});
  WriteBatch batch;
  MapResult m = AppendExportRequest(std::move(r), &batch);
  EXPECT_EQ(m.accepted_spans, 2u);
  EXPECT_EQ(m.partial_success.rejected_spans, 1);
  EXPECT_EQ(m.partial_success.error_message,
            "1 of 3 spans rejected: resource_spans[1].scope_spans[0].spans[0]: resource attribute value nested "
            "deeper than 32");
}

TEST(OtlpMapping, EmptyRequestMapsToNothing) {
  WriteBatch batch;
  MapResult m = AppendExportRequest({}, &batch);
  EXPECT_EQ(m.accepted_spans, 0u);
  EXPECT_TRUE(m.partial_success.empty());
  EXPECT_TRUE(batch.empty());
}

// ---- On a real store ----

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> n{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("tracedb_otlp_mapping_" + std::to_string(::getpid()) + "_" + std::to_string(n++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class OtlpStore : public ::testing::Test {
 protected:
  void SetUp() override { Open(3600); }
  void Open(uint32_t bucket_seconds) {
    engine_.reset();
    engine::Options o;
    o.path = dir_.path();
    o.bucket_seconds = bucket_seconds;
    auto e = engine::Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(*e);
  }
  engine::WriteResult Write(ExportTraceServiceRequest r, MapResult* mapped = nullptr) {
    WriteBatch batch;
    MapResult m = AppendExportRequest(std::move(r), &batch);
    if (mapped != nullptr) *mapped = m;
    auto w = engine_->Write(batch);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? *w : engine::WriteResult{};
  }
  schema::Trace Get(const std::string& trace_id) {
    auto t = engine_->GetTrace(IdOf(trace_id));
    EXPECT_TRUE(t.ok() && t->has_value());
    return t.ok() && t->has_value() ? **t : schema::Trace{};
  }
  std::vector<schema::Id128> Scan(engine::IndexKind kind, std::string value, TimestampNs min = INT64_MIN,
                                  TimestampNs max = INT64_MAX) {
    auto cursor = engine_->ScanIndex(engine::IndexRange{kind, std::move(value), min, max});
    std::vector<schema::Id128> out;
    for (; cursor->Valid(); cursor->Next()) out.push_back(cursor->entry().trace_id);
    EXPECT_TRUE(cursor->status().ok());
    return out;
  }
  std::vector<engine::ColumnChunk> Chunks(const std::string& trace_id) {
    std::vector<engine::ColumnChunk> out;
    EXPECT_TRUE(engine_->ReadColumns(IdOf(trace_id), [&](const engine::ColumnChunk& c) {
                  out.push_back(c);
                  return true;
                }).ok());
    return out;
  }

  TempDir dir_;
  std::unique_ptr<engine::Engine> engine_;
};

std::vector<schema::Event> SortedExpectedEvents(ExportTraceServiceRequest r) {
  WriteBatch batch;
  AppendExportRequest(std::move(r), &batch);
  std::vector<schema::Event> events;
  for (const auto& op : batch.ops()) {
    if (op.kind == WriteBatch::Op::Kind::kAppend) events.push_back(op.event);
  }
  std::sort(events.begin(), events.end(), [](const schema::Event& a, const schema::Event& b) {
    return std::tie(a.timestamp_ns, a.seq, a.event_id) < std::tie(b.timestamp_ns, b.seq, b.event_id);
  });
  return events;
}

TEST_F(OtlpStore, GetTraceReturnsEveryField) {
  engine::WriteResult w = Write(CheckoutRequest());
  EXPECT_EQ(w.events_written, 3u);
  EXPECT_EQ(w.traces_created, 1u);
  Open(3600);  // read from disk, not from the write path's cache

  schema::Trace t = Get(kTrace);
  EXPECT_EQ(t.source, schema::Source::kOtel);
  EXPECT_EQ(t.flow_id, "frontend");
  EXPECT_EQ(t.name, "GET /checkout");
  EXPECT_EQ(t.start_ns, kT0);
  EXPECT_EQ(t.end_ns, kT0 + 12'000'000);
  EXPECT_EQ(t.status.code, schema::StatusCode::kFailed);
  EXPECT_EQ(t.status.error, "db.query: deadline exceeded");
  EXPECT_EQ(t.metadata.hostname, "host-1");
  EXPECT_EQ(t.events, SortedExpectedEvents(CheckoutRequest()));  // every span field, resource and scope included

  // Indexes: every service through the flow index, every span name through
  // the actor index, the failed status.
  EXPECT_EQ(Scan(engine::IndexKind::kFlow, "frontend"), std::vector{IdOf(kTrace)});
  EXPECT_EQ(Scan(engine::IndexKind::kFlow, "checkout"), std::vector{IdOf(kTrace)});
  EXPECT_EQ(Scan(engine::IndexKind::kActor, "db.query"), std::vector{IdOf(kTrace)});
  EXPECT_EQ(Scan(engine::IndexKind::kActor, "render"), std::vector{IdOf(kTrace)});
  EXPECT_EQ(Scan(engine::IndexKind::kStatus, std::string(1, static_cast<char>(schema::StatusCode::kFailed))),
            std::vector{IdOf(kTrace)});
  auto services = engine_->ListIndexValues(engine::IndexKind::kFlow, "", 10);
  ASSERT_TRUE(services.ok());
  EXPECT_EQ(*services, (std::vector<std::string>{"checkout", "frontend"}));

  // Hot columns: duration, status and kind per span.
  std::vector<engine::ColumnChunk> chunks = Chunks(kTrace);
  ASSERT_EQ(chunks.size(), 1u);
  const engine::ColumnChunk& c = chunks[0];
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c.trace_start_ns, kT0);
  // In event order of the batch: root, grandchild, child.
  EXPECT_EQ(c.duration_ns, (std::vector<uint64_t>{9'000'000, 100, 11'000'000}));
  EXPECT_EQ(c.status, (std::vector<uint8_t>{0, 0, 2}));
  EXPECT_EQ(c.span_kind, (std::vector<uint8_t>{2, 1, 3}));
  EXPECT_EQ(c.type, (std::vector<uint8_t>(3, static_cast<uint8_t>(schema::EventType::kSpan))));
}

TEST_F(OtlpStore, ARetriedExportIsNotStoredTwice) {
  Write(CheckoutRequest());
  engine::WriteResult again = Write(CheckoutRequest());
  EXPECT_EQ(again.events_written, 0u);
  EXPECT_EQ(again.duplicates, 3u);
  EXPECT_EQ(again.traces_created, 0u);
  Open(3600);  // dedup state rebuilt from the store
  engine::WriteResult third = Write(CheckoutRequest());
  EXPECT_EQ(third.duplicates, 3u);
  EXPECT_EQ(Get(kTrace).events.size(), 3u);
}

TEST_F(OtlpStore, RefusedSpansAreNotStoredAndTheOthersAre) {
  ExportTraceServiceRequest r = CheckoutRequest();
  r.resource_spans[0].scope_spans[0].spans[1].end_time_unix_nano = 0;  // the grandchild: end before start
  MapResult m;
  engine::WriteResult w = Write(std::move(r), &m);
  EXPECT_EQ(m.partial_success.rejected_spans, 1);
  EXPECT_EQ(w.events_written, 2u);
  std::vector<std::string> ids;
  for (const auto& e : Get(kTrace).events) ids.push_back(e.event_id);
  EXPECT_EQ(ids, (std::vector<std::string>{Hex("1000000000000001"), Hex("2000000000000002")}));
}

// One trace whose spans arrive in three requests, children first (as
// BatchSpanProcessor exports them: a parent ends after its children).
std::vector<ExportTraceServiceRequest> ThreePieces(TimestampNs root_start) {
  std::vector<ExportTraceServiceRequest> pieces(3);
  pieces[0].resource_spans.push_back(Service("checkout", {MakeSpan(kTrace, "3000000000000003", "2000000000000002", "sql", kT0 + 5'000, kT0 + 6'000)}));
  Span failed = MakeSpan(kTrace, "2000000000000002", "1000000000000001", "db.query", kT0 + 4'000, kT0 + 7'000);
  failed.status.code = 2;
  failed.status.message = "boom";
  pieces[1].resource_spans.push_back(Service("db", {failed}));
  pieces[2].resource_spans.push_back(Service("frontend", {MakeSpan(kTrace, "1000000000000001", "", "GET /", root_start, kT0 + 8'000)}));
  return pieces;
}

void ExpectConverged(const schema::Trace& t, TimestampNs root_start) {
  EXPECT_EQ(t.flow_id, "frontend");
  EXPECT_EQ(t.name, "GET /");
  EXPECT_EQ(t.start_ns, root_start);
  EXPECT_EQ(t.end_ns, kT0 + 8'000);
  EXPECT_EQ(t.status.code, schema::StatusCode::kFailed);
  EXPECT_EQ(t.status.error, "db.query: boom");
  EXPECT_EQ(t.events.size(), 3u);
}

TEST_F(OtlpStore, AHeaderMergedFromSeveralRequestsConvergesInAnyOrder) {
  for (std::vector<size_t> order : {std::vector<size_t>{0, 1, 2}, {2, 1, 0}, {1, 2, 0}}) {
    SCOPED_TRACE(::testing::PrintToString(order));
    std::filesystem::remove_all(dir_.path());
    Open(3600);
    std::vector<ExportTraceServiceRequest> pieces = ThreePieces(kT0);
    for (size_t i : order) Write(std::move(pieces[i]));
    ExpectConverged(Get(kTrace), kT0);
    for (const char* service : {"frontend", "checkout", "db"}) {
      EXPECT_EQ(Scan(engine::IndexKind::kFlow, service), std::vector{IdOf(kTrace)}) << service;
    }
    // Index entries moved with the start: a window on the root's start finds
    // the trace, one on the first piece's start only does not.
    EXPECT_EQ(Scan(engine::IndexKind::kTime, "", kT0, kT0), std::vector{IdOf(kTrace)});
    EXPECT_TRUE(Scan(engine::IndexKind::kTime, "", kT0 + 1, INT64_MAX).empty());
    EXPECT_EQ(Scan(engine::IndexKind::kActor, "sql", kT0, kT0), std::vector{IdOf(kTrace)});
    EXPECT_EQ(Scan(engine::IndexKind::kFlow, "checkout", kT0, kT0), std::vector{IdOf(kTrace)});
    for (const auto& c : Chunks(kTrace)) EXPECT_EQ(c.trace_start_ns, kT0);
  }
}

TEST_F(OtlpStore, AnEarlierStartInAnotherBucketMovesTheWholeTrace) {
  // One-second buckets (fixed when a store is created): the root starts two
  // buckets before its children.
  engine_.reset();
  std::filesystem::remove_all(dir_.path());
  Open(1);
  ASSERT_EQ(engine_->options().bucket_seconds, 1u);
  const TimestampNs root_start = kT0 - 2'000'000'000;
  std::vector<ExportTraceServiceRequest> pieces = ThreePieces(root_start);
  Write(std::move(pieces[0]));
  Write(std::move(pieces[1]));
  // The root arrives in the same engine batch as a retry of the first piece
  // (group commit joins requests): its duplicate must stay a duplicate.
  WriteBatch batch;
  AppendExportRequest(ThreePieces(root_start)[0], &batch);
  AppendExportRequest(std::move(pieces[2]), &batch);
  auto w = engine_->Write(batch);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->duplicates, 1u);
  EXPECT_EQ(w->events_written, 1u);

  for (int reopen = 0; reopen < 2; ++reopen) {
    schema::Trace t = Get(kTrace);
    ExpectConverged(t, root_start);
    std::vector<engine::ColumnChunk> chunks = Chunks(kTrace);  // found under the new bucket
    size_t spans = 0;
    for (const auto& c : chunks) {
      EXPECT_EQ(c.trace_start_ns, root_start);
      spans += c.size();
    }
    EXPECT_EQ(spans, 3u);
    size_t scanned = 0;
    ASSERT_TRUE(engine_->ScanColumns(root_start, root_start, [&](const engine::ColumnChunk& c) {
                  scanned += c.size();
                  return true;
                }).ok());
    EXPECT_EQ(scanned, 3u);
    EXPECT_EQ(Scan(engine::IndexKind::kTime, "", root_start, root_start), std::vector{IdOf(kTrace)});
    Open(1);
  }
  // Nothing is left under the old bucket, and dedup state survives the move.
  size_t old_window = 0;
  ASSERT_TRUE(engine_->ScanColumns(kT0, kT0 + 10'000, [&](const engine::ColumnChunk& c) {
                old_window += c.size();
                return true;
              }).ok());
  EXPECT_EQ(old_window, 0u);
  engine::WriteResult retry = Write(ThreePieces(root_start)[1]);
  EXPECT_EQ(retry.duplicates, 1u);
  EXPECT_EQ(Get(kTrace).events.size(), 3u);
}

TEST_F(OtlpStore, ChunksClosedEarlyInTheBatchFollowAnEarlierStart) {
  // Over 8,192 spans close a column chunk before the end of the batch; the
  // root with an earlier start arrives later in the same batch.
  ExportTraceServiceRequest many;
  std::vector<Span> spans;
  for (uint64_t i = 1; i <= 9000; ++i) {
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(0x2000000000000000ULL + i));
    spans.push_back(MakeSpan(kTrace, hex, "1000000000000001", "child", kT0 + 100 + static_cast<TimestampNs>(i), kT0 + 20'000));
  }
  many.resource_spans.push_back(Service("checkout", std::move(spans)));
  ExportTraceServiceRequest root;
  root.resource_spans.push_back(Service("frontend", {MakeSpan(kTrace, "1000000000000001", "", "GET /", kT0, kT0 + 30'000)}));
  WriteBatch batch;
  AppendExportRequest(std::move(many), &batch);
  AppendExportRequest(std::move(root), &batch);
  auto w = engine_->Write(batch);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->events_written, 9001u);

  std::vector<engine::ColumnChunk> chunks = Chunks(kTrace);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].size() + chunks[1].size(), 9001u);
  for (const auto& c : chunks) EXPECT_EQ(c.trace_start_ns, kT0);
  schema::Trace t = Get(kTrace);
  EXPECT_EQ(t.start_ns, kT0);
  EXPECT_EQ(t.name, "GET /");
  EXPECT_EQ(t.events.size(), 9001u);
}

// Written here from the specification, independently of the mapping.
bool ValidForStorage(const Span& s) {
  auto zero = [](const std::string& b) { return b.find_first_not_of('\0') == std::string::npos; };
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  bool times_ok = s.end_time_unix_nano >= s.start_time_unix_nano && s.end_time_unix_nano <= kMax;
  for (const SpanEvent& e : s.events) times_ok = times_ok && e.time_unix_nano <= kMax;
  return s.trace_id.size() == 16 && !zero(s.trace_id) && s.span_id.size() == 8 && !zero(s.span_id) &&
         (s.parent_span_id.empty() || s.parent_span_id.size() == 8) && times_ok && s.kind >= 0 && s.kind <= 255 &&
         s.status.code >= 0 && s.status.code <= 255;
}

TEST_F(OtlpStore, RandomRequestsStoreExactlyTheValidSpans) {
  std::mt19937_64 rng(18);
  uint64_t valid_total = 0;
  for (int round = 0; round < 150; ++round) {
    ExportTraceServiceRequest request = testing::RandomRequest(rng, 3);
    // Make most ids and times valid, so that both sides of the property get
    // exercised (the generator's times are random 64-bit values).
    for (auto& rs : request.resource_spans) {
      for (auto& ss : rs.scope_spans) {
        for (Span& sp : ss.spans) {
          if (rng() % 4 != 0) {
            sp.start_time_unix_nano = kT0 + rng() % 1'000'000;
            sp.end_time_unix_nano = sp.start_time_unix_nano + rng() % 1'000'000;
            for (SpanEvent& e : sp.events) e.time_unix_nano %= uint64_t{1} << 62;
          }
          if (rng() % 4 != 0) sp.trace_id = kTrace;
          if (rng() % 4 != 0) {
            uint64_t id = rng() | 1;
            sp.span_id.assign(reinterpret_cast<const char*>(&id), sizeof(id));
          }
        }
      }
    }
    std::vector<Span> valid;
    uint64_t total = 0;
    for (const auto& rs : request.resource_spans) {
      for (const auto& ss : rs.scope_spans) {
        for (const Span& sp : ss.spans) {
          ++total;
          if (ValidForStorage(sp)) valid.push_back(sp);
        }
      }
    }
    WriteBatch batch;
    MapResult m = AppendExportRequest(request, &batch);
    ASSERT_EQ(m.accepted_spans, valid.size()) << "round " << round;
    ASSERT_EQ(static_cast<uint64_t>(m.partial_success.rejected_spans), total - valid.size());
    EXPECT_EQ(m.partial_success.error_message.empty(), valid.size() == total);
    auto w = engine_->Write(batch);
    ASSERT_TRUE(w.ok());
    valid_total += valid.size();

    std::vector<const schema::Event*> mapped;
    for (const auto& op : batch.ops()) {
      if (op.kind == WriteBatch::Op::Kind::kAppend) mapped.push_back(&op.event);
    }
    for (const Span& sp : valid) {
      schema::Trace t = Get(sp.trace_id);
      auto stored = std::find_if(t.events.begin(), t.events.end(),
                                 [&](const schema::Event& e) { return e.event_id == sp.span_id; });
      ASSERT_NE(stored, t.events.end());
      // The scalar fields against the request itself ...
      EXPECT_EQ(stored->timestamp_ns, static_cast<TimestampNs>(sp.start_time_unix_nano));
      EXPECT_EQ(stored->otel->end_ns, static_cast<TimestampNs>(sp.end_time_unix_nano));
      EXPECT_EQ(stored->otel->name, sp.name);
      EXPECT_EQ(stored->otel->kind, sp.kind);
      EXPECT_EQ(stored->otel->status_message, sp.status.message);
      EXPECT_EQ(stored->otel->flags, sp.flags);
      EXPECT_EQ(stored->otel->attributes.size(), sp.attributes.size());
      EXPECT_EQ(stored->otel->events.size(), sp.events.size());
      EXPECT_EQ(stored->otel->links.size(), sp.links.size());
      // ... and the whole value against what the mapping produced (a retried
      // or repeated span id keeps the first stored copy).
      auto same = std::find_if(mapped.begin(), mapped.end(), [&](const schema::Event* e) {
        return e->event_id == sp.span_id && e->timestamp_ns == stored->timestamp_ns;
      });
      ASSERT_NE(same, mapped.end());
      if (w->duplicates == 0) {
        schema::Event expect = **same;
        EXPECT_EQ(*stored, expect);
      }
    }
  }
  EXPECT_GT(valid_total, 150u);  // the property was exercised on stored spans
}

}  // namespace
}  // namespace tracedb::ingest::otel
