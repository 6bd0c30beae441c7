// The OpenTelemetry fields end to end on a RocksDB store in a temporary
// directory: results checked against values computed from the data set's
// definition (tests/query/otel_data_util.h), index use, what is read, and
// the p99(duration) by (service, name) aggregate.

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "query/binder.h"
#include "query/evaluator.h"
#include "query/query.h"
#include "schema/record_codec.h"
#include "tests/query/otel_data_util.h"
#include "tests/query/query_test_util.h"

namespace tracedb::query {
namespace {

using testing::kOtelTraces;
using testing::kT0;

constexpr int64_t kMs = 1'000'000;

class OtelQueryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("tracedb_otel_query_" + std::to_string(std::random_device{}())));
    std::filesystem::remove_all(*dir_);
    engine_ = Open().release();
    ASSERT_NE(engine_, nullptr);
    ASSERT_TRUE(testing::WriteOtelDataset(engine_).ok());
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  static std::unique_ptr<engine::Engine> Open() {
    engine::Options o;
    o.path = dir_->string();
    auto r = engine::Engine::Open(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  static QueryResult Run(const std::string& text) {
    QueryOptions o;
    o.now_ns = kT0 + 200 * testing::kSecond;
    o.limit = 1000;
    auto r = RunQuery(engine_, text, o);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    return r.ok() ? *r : QueryResult();
  }

  // Trace numbers of a result, newest first.
  static std::vector<uint64_t> Numbers(const QueryResult& r) {
    std::vector<uint64_t> out;
    for (const auto& t : r.traces) out.push_back(t.trace_id[15]);
    return out;
  }

  // Trace numbers satisfying `pred`, newest first.
  template <typename Pred>
  static std::vector<uint64_t> Expected(Pred pred) {
    std::vector<uint64_t> out;
    for (uint64_t n = kOtelTraces; n >= 1; --n) {
      if (pred(n)) out.push_back(n);
    }
    return out;
  }

  static std::filesystem::path* dir_;
  static engine::Engine* engine_;
};

std::filesystem::path* OtelQueryTest::dir_ = nullptr;
engine::Engine* OtelQueryTest::engine_ = nullptr;

TEST_F(OtelQueryTest, ServiceAndSpanBlockUseTheFlowAndActorIndexes) {
  const std::string q = "service = \"checkout\" and event{name = \"db.query\" and duration > 10ms}";
  QueryResult r = Run(q);
  EXPECT_EQ(Numbers(r), Expected([](uint64_t n) { return n % 3 == 0 && testing::DbQueryMs(n) > 10; }));
  EXPECT_FALSE(r.traces.empty());
  // The span block is re-checked from the column chunks, never from decoded spans.
  EXPECT_EQ(r.stats.traces_decoded, 0u);
  EXPECT_GT(r.stats.columns_read, 0u);
  QueryResult plan = Run("explain " + q);
  EXPECT_NE(plan.plan.find("flow index: service = \"checkout\""), std::string::npos) << plan.plan;
  EXPECT_NE(plan.plan.find("actor index: event{name = \"db.query\"}"), std::string::npos) << plan.plan;
  EXPECT_NE(plan.plan.find("residual reads: header + column chunks"), std::string::npos) << plan.plan;
}

TEST_F(OtelQueryTest, ServiceIsAnyServiceOfTheTraceAndTheSpansInsideABlock) {
  EXPECT_EQ(Numbers(Run("service = \"db\"")), Expected([](uint64_t n) { return n % 2 == 0; }));
  // Answered by the flow index alone: no header or span is read to check it.
  QueryResult exact = Run("service = \"db\"");
  EXPECT_EQ(exact.stats.traces_decoded, 0u);
  // Evaluated per trace (an `or` uses no index): the same services.
  EXPECT_EQ(Numbers(Run("service = \"db\" or start < 0")), Numbers(exact));
  EXPECT_EQ(Numbers(Run("event{service = \"checkout\" and name = \"db.query\"}")),
            Expected([](uint64_t n) { return n % 3 == 0 && n % 2 == 1; }));
}

TEST_F(OtelQueryTest, KindStatusAndAttributesAreTyped) {
  EXPECT_EQ(Numbers(Run("event{kind = server and status = error}")), Expected([](uint64_t n) { return n % 6 == 0; }));
  EXPECT_EQ(Numbers(Run("event{kind = 4 and status = ok}")), Expected([](uint64_t n) { return n % 4 == 0; }));
  EXPECT_EQ(Numbers(Run("attr.ratio = 2")), std::vector<uint64_t>{16});
  EXPECT_EQ(Numbers(Run("attr.\"db.rows\" >= 6")), Expected([](uint64_t n) { return n % 7 == 6; }));
  EXPECT_EQ(Numbers(Run("attr.cache.hit = false")), Expected([](uint64_t n) { return n % 2 == 1; }));
  EXPECT_TRUE(Run("attr.\"http.route\" = 200").traces.empty());
  EXPECT_EQ(Numbers(Run("resource.\"k8s.pod.name\" = \"db-0\"")), Expected([](uint64_t n) { return n % 2 == 0; }));
}

// Nearest rank: the value at rank ceil(p * n / 100) in ascending order.
double P99(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  size_t rank = (99 * v.size() + 99) / 100;
  return static_cast<double>(v[rank - 1]);
}

TEST_F(OtelQueryTest, P99DurationByServiceAndName) {
  std::map<std::vector<std::string>, std::vector<int64_t>> want;
  for (uint64_t n = 1; n <= kOtelTraces; ++n) {
    std::string root = testing::RootService(n);
    want[{root, testing::RootName(n)}].push_back((50 + static_cast<int64_t>(n)) * kMs);
    want[{n % 2 == 0 ? "db" : root, "db.query"}].push_back(testing::DbQueryMs(n) * kMs);
    want[{root, "cache.get"}].push_back(static_cast<int64_t>(n % 3) * kMs + kMs / 2);
    if (n % 4 == 0) want[{root, "publish"}].push_back(kMs);
  }
  QueryResult r = Run("| p99(duration), count() by (service, name)");
  ASSERT_EQ(r.kind, QueryResult::Kind::kAggregate);
  EXPECT_EQ(r.columns, (std::vector<std::string>{"service", "name", "p99(duration)", "count()"}));
  ASSERT_EQ(r.rows.size(), want.size());
  size_t i = 0;
  for (const auto& [key, durations] : want) {
    const AggregateRow& row = r.rows[i++];
    EXPECT_EQ(row.group, key);
    ASSERT_EQ(row.values.size(), 2u);
    EXPECT_EQ(row.values[0], P99(durations)) << key[0] << " " << key[1];
    EXPECT_EQ(row.values[1], static_cast<double>(durations.size()));
  }
  // One scan of the column chunks (every row is a span with its service in
  // the service column): no header, no decoded span.
  EXPECT_EQ(r.stats.traces_decoded, 0u);
  EXPECT_EQ(r.stats.headers_read, 0u);
  EXPECT_GE(r.stats.chunks_scanned, kOtelTraces);
  QueryResult plan = Run("explain | p99(duration), count() by (service, name)");
  EXPECT_NE(plan.plan.find("access: column scan of the window"), std::string::npos) << plan.plan;
  EXPECT_NE(plan.plan.find("aggregate reads: column chunks (+ the header of a trace with events that are not spans)"),
            std::string::npos)
      << plan.plan;
  EXPECT_EQ(plan.plan.find("full trace"), std::string::npos) << plan.plan;
}

TEST_F(OtelQueryTest, SpanServiceFilterReadsColumnsAndAgreesWithTheDefinition) {
  // Only db.query runs in "db", and only for even n.
  std::vector<int64_t> want;
  for (uint64_t n = 2; n <= kOtelTraces; n += 2) want.push_back(testing::DbQueryMs(n) * kMs);
  const std::string q = "event{service = \"db\"} | max(duration), count() by (service, name)";
  QueryResult r = Run(q);
  ASSERT_EQ(r.kind, QueryResult::Kind::kAggregate);
  EXPECT_EQ(r.stats.traces_decoded, 0u);
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0].group, (std::vector<std::string>{"db", "db.query"}));
  ASSERT_EQ(r.rows[0].values.size(), 2u);
  EXPECT_EQ(r.rows[0].values[0], static_cast<double>(*std::max_element(want.begin(), want.end())));
  EXPECT_EQ(r.rows[0].values[1], static_cast<double>(want.size()));
  QueryResult plan = Run("explain " + q);
  EXPECT_EQ(plan.plan.find("full trace"), std::string::npos) << plan.plan;
}

TEST(OtelColumns, SpanServiceComesFromTheColumnElseTheTraceFlow) {
  Field service = *ResolveField({"service"}, FieldContext::kEvent);
  EXPECT_TRUE(service.hot);
  schema::Trace header;
  header.flow_id = "flow-1";
  engine::ColumnChunk c;
  c.timestamp_ns = {1, 2};
  c.type = {static_cast<uint8_t>(schema::EventType::kSpan), static_cast<uint8_t>(schema::EventType::kDataFlow)};
  c.service = {0, schema::Columns::kNoService};
  c.services = {"checkout"};
  EXPECT_EQ(ColumnField(service, c, 0, &header).s, "checkout");
  EXPECT_EQ(ColumnField(service, c, 1, &header).s, "flow-1");
  EXPECT_FALSE(LacksServiceColumn(c));
  // A chunk from before the column: a span's service is not in it.
  c.service.clear();
  c.services.clear();
  EXPECT_TRUE(LacksServiceColumn(c));
  c.type = {static_cast<uint8_t>(schema::EventType::kDataFlow), static_cast<uint8_t>(schema::EventType::kDataFlow)};
  EXPECT_FALSE(LacksServiceColumn(c));
  EXPECT_EQ(ColumnField(service, c, 0, &header).s, "flow-1");
}

// Rewrites every column chunk of the closed store at `path` as it was
// written before the service column existed.
void StripServiceColumns(const std::string& path) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, families, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  size_t columns = std::find(names.begin(), names.end(), "columns") - names.begin();
  ASSERT_LT(columns, names.size());
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[columns]));
  size_t stripped = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    schema::Columns c;
    ASSERT_TRUE(schema::DecodeColumns(std::string_view(it->value().data(), it->value().size()), &c).ok());
    if (c.service.empty()) continue;
    c.service.clear();
    c.services.clear();
    ASSERT_TRUE(batch.Put(handles[columns], it->key(), schema::EncodeColumns(c)).ok());
    ++stripped;
  }
  ASSERT_TRUE(it->status().ok());
  it.reset();
  EXPECT_GT(stripped, 0u);
  ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &batch).ok());
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(OtelQueryTest, ChunksFromBeforeTheServiceColumnAreReadFromTheDecodedTraces) {
  const std::string by = " | p99(duration), count() by (service, name)";
  const std::string filtered = "service = \"checkout\"" + by;
  QueryResult want_all = Run(by);
  QueryResult want_filtered = Run(filtered);
  delete engine_;
  engine_ = nullptr;
  StripServiceColumns(dir_->string());
  engine_ = Open().release();
  ASSERT_NE(engine_, nullptr);

  QueryResult all = Run(by);  // the column scan hands over to the per-trace path
  EXPECT_EQ(RenderResult(all, OutputFormat::kTable), RenderResult(want_all, OutputFormat::kTable));
  EXPECT_GT(all.stats.traces_decoded, 0u);
  QueryResult some = Run(filtered);
  EXPECT_EQ(RenderResult(some, OutputFormat::kTable), RenderResult(want_filtered, OutputFormat::kTable));
  EXPECT_GT(some.stats.traces_decoded, 0u);

  // Later tests of the suite see the store as written.
  delete engine_;
  engine_ = nullptr;
  std::filesystem::remove_all(*dir_);
  engine_ = Open().release();
  ASSERT_NE(engine_, nullptr);
  ASSERT_TRUE(testing::WriteOtelDataset(engine_).ok());
}

TEST_F(OtelQueryTest, TraceIdsPrintAsHexAndSurviveAReopen) {
  QueryResult r = Run("trace_id = \"0000000000000000000000000000000c\"");
  ASSERT_EQ(r.traces.size(), 1u);
  EXPECT_EQ(TraceIdText(r.traces[0]), "0000000000000000000000000000000c");
  EXPECT_NE(RenderResult(r, OutputFormat::kJson).find("\"trace_id\":\"0000000000000000000000000000000c\""),
            std::string::npos);
  std::vector<uint64_t> before = Numbers(Run("service = \"checkout\" and event{name = \"db.query\" and duration > 10ms}"));
  delete engine_;
  engine_ = Open().release();
  ASSERT_NE(engine_, nullptr);
  EXPECT_EQ(Numbers(Run("service = \"checkout\" and event{name = \"db.query\" and duration > 10ms}")), before);
}

TEST_F(OtelQueryTest, OtelTraceJsonHasEverySpan) {
  auto t = engine_->GetTrace(testing::TraceId(8));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->has_value());
  std::string json = RenderOtelTraceJson(**t);
  EXPECT_NE(json.find("\"trace_id\":\"00000000000000000000000000000008\""), std::string::npos) << json;
  for (const char* name : {"\"GET /search\"", "\"db.query\"", "\"cache.get\"", "\"publish\""}) {
    EXPECT_NE(json.find(std::string("\"name\":") + name), std::string::npos) << name;
  }
  EXPECT_NE(json.find("{\"key\":\"service.name\",\"value\":{\"stringValue\":\"db\"}}"), std::string::npos);
  EXPECT_NE(json.find("\"kind\":\"producer\""), std::string::npos);
}

}  // namespace
}  // namespace tracedb::query
