// The query language on the ClickHouse backend against RocksDB, on the same
// data: every case of the golden files (tests/query/*.test) and a few
// hundred random queries of the oracle's generator (tests/query/
// oracle_query_util.h) must give identical results on both: pages, totals,
// cursors, aggregates, explain text and error messages. The golden files
// also hold the expected text, so both backends are held to it.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "clickhouse/ch_engine.h"
#include "clickhouse/sql/sql_compiler.h"
#include "query/backend.h"
#include "query/query.h"
#include "tests/clickhouse/ch_test_util.h"
#include "tests/query/oracle_data_util.h"
#include "tests/query/oracle_query_util.h"
#include "tests/query/oracle_sql_util.h"
#include "tests/query/otel_data_util.h"
#include "tests/query/query_test_util.h"

namespace tracedb::clickhouse {
namespace {

using query::testing::kSecond;
using query::testing::kT0;

constexpr int64_t kNow = kT0 + 200 * kSecond;

std::unique_ptr<engine::Engine> OpenBackend(const std::string& database) {
  ClickHouseOptions o;
  for (const auto& url : testing::TestShardUrls()) o.shards.push_back({url});
  o.database = database;
  auto e = OpenClickHouse(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (!e.ok()) return nullptr;
  query::AttachQueryBackend(e->get(), sql::MakeQueryBackend(database));
  return std::move(e).value();
}

// A result as text: everything a caller sees but the plan (the ClickHouse
// backend's plan shows its SQL).
std::string Render(const Result<query::QueryResult>& r) {
  if (!r.ok()) return "error: " + r.status().message();
  if (r->kind == query::QueryResult::Kind::kExplain) return "explain";
  return query::RenderResult(*r, query::OutputFormat::kJson);
}

// Runs `text` on both engines with `options`, following next cursors.
void ExpectSame(engine::Engine* rocks, engine::Engine* ch, const std::string& text, query::QueryOptions options,
                const std::string& where) {
  for (int page = 0; page < 20; ++page) {
    auto a = query::RunQuery(rocks, text, options);
    auto b = query::RunQuery(ch, text, options);
    ASSERT_EQ(Render(b), Render(a)) << where << "\n" << text << "\npage " << page;
    if (b.ok() && b->kind == query::QueryResult::Kind::kExplain) {
      EXPECT_TRUE(b->plan.find("SELECT s, trace_id FROM") != std::string::npos || b->plan.find("access: none") != std::string::npos ||
                  b->plan.find("SELECT trace_id, s, ts_ns") != std::string::npos ||
                  b->plan.find("point reads") != std::string::npos)
          << b->plan;
    }
    if (!a.ok() || a->next_cursor.empty()) return;
    options.cursor = a->next_cursor;
  }
}

struct Datasets {
  std::unique_ptr<testing::UniqueDatabase> db, otel_db;
  std::unique_ptr<engine::Engine> rocks, ch, rocks_otel, ch_otel;
};

class Differential : public testing::ClusterTest {
 protected:
  void Load(Datasets* d) {
    d->db = std::make_unique<testing::UniqueDatabase>("diff");
    d->otel_db = std::make_unique<testing::UniqueDatabase>("diff_otel");
    d->rocks = query::testing::OpenMemoryEngine();
    d->rocks_otel = query::testing::OpenMemoryEngine();
    d->ch = OpenBackend(d->db->name());
    d->ch_otel = OpenBackend(d->otel_db->name());
    ASSERT_TRUE(d->rocks && d->ch && d->rocks_otel && d->ch_otel);
    for (engine::Engine* e : {d->rocks.get(), d->ch.get()}) {
      ASSERT_TRUE(query::testing::WriteDataset(e, {}).ok());
      ASSERT_TRUE(query::oracle::WriteEdgeCases(e, kT0 + 2500 * 1000000LL).ok());
    }
    for (engine::Engine* e : {d->rocks_otel.get(), d->ch_otel.get()}) {
      ASSERT_TRUE(query::testing::WriteOtelDataset(e).ok());
    }
  }
};

TEST_F(Differential, GoldenFilesGiveTheSameAnswersOnBothBackends) {
  Datasets d;
  ASSERT_NO_FATAL_FAILURE(Load(&d));
  // The golden runner's data set has no edge cases: rebuild it alone so the
  // files' expected text holds too.
  testing::UniqueDatabase plain_db("diff_plain");
  auto rocks = query::testing::OpenMemoryEngine();
  auto ch = OpenBackend(plain_db.name());
  ASSERT_TRUE(rocks && ch);
  for (engine::Engine* e : {rocks.get(), ch.get()}) ASSERT_TRUE(query::testing::WriteDataset(e, {}).ok());

  std::filesystem::path dir = std::filesystem::path(TRACEDB_SOURCE_DIR) / "tests" / "query";
  size_t cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".test") continue;
    const bool otel = entry.path().filename().string().starts_with("otel");
    engine::Engine* a = otel ? d.rocks_otel.get() : rocks.get();
    engine::Engine* b = otel ? d.ch_otel.get() : ch.get();
    std::ifstream in(entry.path());
    std::string line;
    std::vector<std::string> lines;
    while (std::getline(in, line)) lines.push_back(line);
    for (size_t i = 0; i < lines.size();) {
      if (lines[i].empty() || lines[i][0] == '#') {
        ++i;
        continue;
      }
      std::istringstream head(lines[i++]);
      std::string directive, opt, text;
      head >> directive;
      query::QueryOptions options;
      options.now_ns = kNow;
      options.count_total = directive == "query";
      while (head >> opt) {
        if (opt.rfind("limit=", 0) == 0) options.limit = std::stoul(opt.substr(6));
        if (opt.rfind("offset=", 0) == 0) options.offset = std::stoul(opt.substr(7));
      }
      while (i < lines.size() && lines[i] != "----") text += (text.empty() ? "" : "\n") + lines[i++];
      while (i < lines.size() && !lines[i].empty()) ++i;  // expected output: the golden suite checks it
      ++cases;
      ASSERT_NO_FATAL_FAILURE(ExpectSame(a, b, text, options, entry.path().filename().string()));
    }
  }
  EXPECT_GE(cases, 40u);
}

TEST_F(Differential, RandomQueriesGiveTheSameAnswersOnBothBackends) {
  Datasets d;
  ASSERT_NO_FATAL_FAILURE(Load(&d));
  query::oracle::SqlDb sql;
  ASSERT_TRUE(sql.ok());
  auto store = query::oracle::LoadStore(d.rocks.get(), &sql);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto pools = query::oracle::LoadPools(&sql);
  ASSERT_TRUE(pools.ok()) << pools.status().ToString();
  const char* n_env = std::getenv("TRACEDB_CH_DIFF_QUERIES");
  const uint64_t n = n_env && *n_env ? std::strtoull(n_env, nullptr, 10) : 120;
  query::oracle::Generator gen(*pools, 20261207, kNow);
  size_t searches = 0, aggregates = 0;
  for (uint64_t i = 0; i < n; ++i) {
    query::oracle::Query q = gen.Next();
    const std::string text = query::oracle::Text(q);
    query::QueryOptions options;
    options.now_ns = kNow;
    options.count_total = q.aggs.empty();
    options.limit = 1 + q.knob % 25;
    (q.aggs.empty() ? searches : aggregates)++;
    ASSERT_NO_FATAL_FAILURE(ExpectSame(d.rocks.get(), d.ch.get(), text, options, "query " + std::to_string(i)));
  }
  EXPECT_GT(searches, n / 4);
  EXPECT_GT(aggregates, n / 10);
}

}  // namespace
}  // namespace tracedb::clickhouse
