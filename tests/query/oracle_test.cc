// An independent oracle for the query language. The same generated store is
// loaded into SQLite (oracle_sql_util.h); random queries, generated as the
// test's own AST, are rendered as filter-language text for tracedb and as SQL
// for SQLite (oracle_query_util.h). Searches (matching traces, order, limit,
// cursor pages, offsets, total counts) and aggregates (count, sum, avg, min,
// max, nearest-rank percentiles, by groups, limit) must agree. Nothing of
// query/ runs on the SQLite side, so binder, evaluator, planner, executor and
// aggregator bugs all show up as disagreements.
//
// On a disagreement the query is shrunk (greedily, while it still disagrees)
// and printed with its seed. Environment:
//   TRACEDB_ORACLE_QUERIES  queries per data set (default 1200)
//   TRACEDB_ORACLE_SEED     base seed (default 20261206)
//   TRACEDB_ORACLE_ONLY     run only the query with this index (replay)

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "query/query.h"
#include "tests/query/oracle_data_util.h"
#include "tests/query/oracle_query_util.h"
#include "tests/query/oracle_sql_util.h"
#include "tests/query/query_test_util.h"

namespace tracedb::query::oracle {
namespace {

using tracedb::query::testing::kSecond;
using tracedb::query::testing::kT0;

uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

// Query i's own seed, so that one query replays without the ones before it.
uint64_t QuerySeed(uint64_t base, uint64_t index) {
  uint64_t z = base + (index + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("tracedb-oracle-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

struct Outcome {
  Outcome(std::string d = "") : diff(std::move(d)) {}  // NOLINT: implicit from a difference
  std::string diff;  // empty: tracedb and SQLite agree
  bool non_empty = false;  // a search matched something / an aggregate had a value
  std::string access;      // the plan's access path (EXPLAIN's "access:" line)
};

// The access path named by a plan text, for coverage counts.
std::string AccessOf(const std::string& plan) {
  static const char* const kPaths[] = {"time index scan", "leapfrog intersection", "index scan of", "point reads",
                                       "column scan", "none"};
  size_t at = plan.find("access: ");
  for (const char* p : kPaths) {
    if (at != std::string::npos && plan.compare(at + 8, std::strlen(p), p) == 0) return p;
  }
  return "other";
}

std::string List(const std::vector<int64_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " t" : "t") + std::to_string(v[i]);
  return out + "]";
}

std::string Opt(const std::optional<double>& v) {
  if (!v) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", *v);
  return buf;
}

// Compares tracedb (RunQuery on the engine) with SQLite for one query.
class Oracle {
 public:
  Oracle(engine::Engine* engine, SqlDb* db, const LoadedStore* store, int64_t now)
      : engine_(engine), db_(db), store_(store), now_(now) {}

  Outcome Check(const Query& q) { return q.aggs.empty() ? CheckSearch(q) : CheckAggregate(q); }

 private:
  std::vector<int64_t> Numbers(const std::vector<schema::Trace>& traces) const {
    std::vector<int64_t> out;
    for (const auto& t : traces) {
      auto it = store_->numbers.find(t.trace_id);
      out.push_back(it == store_->numbers.end() ? -1 : it->second);
    }
    return out;
  }

  Result<std::vector<int64_t>> Want(const std::string& sql) {
    TRACEDB_ASSIGN_OR_RETURN(auto rows, db_->Query(sql));
    std::vector<int64_t> out;
    for (const auto& r : rows) out.push_back(r[0].i);
    return out;
  }

  QueryOptions Options(const Query& q) const {
    QueryOptions o;
    o.now_ns = now_;
    // Sometimes too few values for a pattern to use an index.
    o.max_expanded_values = q.knob % 3 == 0 ? 1 + (q.knob >> 8) % 8 : 1000;
    return o;
  }

  Outcome CheckSearch(const Query& q) {
    Outcome out;
    std::string text = Text(q);
    auto want = Want(SearchSql(q));
    if (!want.ok()) return {"oracle SQL failed: " + want.status().ToString()};
    out.non_empty = !want->empty();
    QueryOptions o = Options(q);
    o.limit = 1000000;
    o.count_total = true;
    auto r = RunQuery(engine_, text, o);
    if (!r.ok()) return {"tracedb rejected the query: " + r.status().ToString()};
    if (r->kind != QueryResult::Kind::kTraces) return {"tracedb did not run a search"};
    out.access = AccessOf(r->plan);
    size_t page = q.limit ? std::min(static_cast<size_t>(*q.limit), want->size()) : want->size();
    std::vector<int64_t> expect(want->begin(), want->begin() + static_cast<std::ptrdiff_t>(page));
    std::vector<int64_t> got = Numbers(r->traces);
    if (got != expect) return {"traces: tracedb " + List(got) + "\n        sqlite  " + List(expect)};
    if (r->total_count.value_or(~0ULL) != want->size()) {
      return {"total_count: tracedb " + std::to_string(r->total_count.value_or(~0ULL)) + ", sqlite " +
              std::to_string(want->size())};
    }
    bool more = page > 0 && page < want->size();
    if (r->next_cursor.empty() == more) return {std::string("next_cursor ") + (more ? "missing" : "unexpected")};
    // A `limit N` in the text is the page size of the pages and offsets too.
    if (q.limit && (*q.limit == 0 || want->size() / static_cast<size_t>(*q.limit) > 20)) return out;
    switch ((q.knob >> 16) % 4) {
      case 0: out.diff = CheckPages(q, text, *want); break;
      case 1: out.diff = CheckOffset(q, text, *want); break;
      default: break;
    }
    return out;
  }

  // Cursor pages concatenate to the whole answer.
  std::string CheckPages(const Query& q, const std::string& text, const std::vector<int64_t>& want) {
    QueryOptions o = Options(q);
    // Small pages, but at most about ten of them: each page is a query.
    o.limit = std::max<size_t>(1 + (q.knob >> 20) % 7, (want.size() + 9) / 10);
    if (q.limit) o.limit = static_cast<size_t>(*q.limit);
    std::vector<int64_t> all;
    for (size_t guard = 0; guard <= want.size() + 1; ++guard) {
      o.count_total = guard % 2 == 0;
      auto r = RunQuery(engine_, text, o);
      if (!r.ok()) return "page: tracedb failed: " + r.status().ToString();
      if (r->traces.size() > o.limit) return "page larger than the limit";
      if (o.count_total && r->total_count.value_or(~0ULL) != want.size()) return "page total_count differs";
      for (int64_t n : Numbers(r->traces)) all.push_back(n);
      if (r->next_cursor.empty()) break;
      o.cursor = r->next_cursor;
    }
    if (all != want) return "pages of " + std::to_string(o.limit) + ": tracedb " + List(all) + "\n        sqlite  " + List(want);
    return "";
  }

  std::string CheckOffset(const Query& q, const std::string& text, const std::vector<int64_t>& want) {
    QueryOptions o = Options(q);
    o.offset = (q.knob >> 20) % 12;
    o.limit = q.limit ? static_cast<size_t>(*q.limit) : 1 + (q.knob >> 28) % 6;
    auto r = RunQuery(engine_, text, o);
    if (!r.ok()) return "offset: tracedb failed: " + r.status().ToString();
    std::vector<int64_t> expect;
    for (size_t i = o.offset; i < want.size() && expect.size() < o.limit; ++i) expect.push_back(want[i]);
    std::vector<int64_t> got = Numbers(r->traces);
    if (got != expect) {
      return "offset " + std::to_string(o.offset) + " limit " + std::to_string(o.limit) + ": tracedb " + List(got) +
             "\n        sqlite  " + List(expect);
    }
    bool more = !expect.empty() && o.offset + expect.size() < want.size();
    if (r->next_cursor.empty() == more) return std::string("offset next_cursor ") + (more ? "missing" : "unexpected");
    return "";
  }

  static std::vector<std::string> Key(const SqlRow& row, size_t n) {
    std::vector<std::string> key;
    for (size_t i = 0; i < n; ++i) key.push_back(row[i].s);
    return key;
  }

  static std::string KeyText(const std::vector<std::string>& key) {
    std::string out = "(";
    for (size_t i = 0; i < key.size(); ++i) out += (i ? ", " : "") + key[i];
    return out + ")";
  }

  Outcome CheckAggregate(const Query& q) {
    Outcome out;
    std::string text = Text(q);
    auto rows = db_->Query(AggregateSql(q));
    if (!rows.ok()) return {"oracle SQL failed: " + rows.status().ToString()};
    size_t nk = q.by.size();
    std::vector<std::map<std::vector<std::string>, double>> pct(q.aggs.size());
    for (size_t i = 0; i < q.aggs.size(); ++i) {
      if (Percent(q.aggs[i].fn) == 0) continue;
      auto p = db_->Query(PercentileSql(q, i));
      if (!p.ok()) return {"oracle SQL failed: " + p.status().ToString()};
      for (const auto& r : *p) pct[i][Key(r, nk)] = r[nk].AsDouble();
    }
    auto r = RunQuery(engine_, text, Options(q));
    if (!r.ok()) return {"tracedb rejected the query: " + r.status().ToString()};
    if (r->kind != QueryResult::Kind::kAggregate) return {"tracedb did not aggregate"};
    out.access = AccessOf(r->plan);
    std::vector<std::string> columns;
    for (const auto* f : q.by) columns.push_back(f->name);
    for (const auto& a : q.aggs) columns.push_back(AggLabel(a));
    if (r->columns != columns) return {"columns differ"};
    if (r->rows.size() != rows->size()) {
      std::string got, want;
      for (size_t i = 0; i < r->rows.size() && i < 20; ++i) got += " " + KeyText(r->rows[i].group);
      for (size_t i = 0; i < rows->size() && i < 20; ++i) want += " " + KeyText(Key((*rows)[i], nk));
      return {"rows: tracedb " + std::to_string(r->rows.size()) + got + "\n      sqlite  " +
              std::to_string(rows->size()) + want};
    }
    for (size_t i = 0; i < rows->size(); ++i) {
      const SqlRow& s = (*rows)[i];
      const AggregateRow& g = r->rows[i];
      std::vector<std::string> key = Key(s, nk);
      if (g.group != key) return {"row " + std::to_string(i) + " key: tracedb " + KeyText(g.group) + ", sqlite " + KeyText(key)};
      for (size_t j = 0; j < q.aggs.size(); ++j) {
        std::optional<double> want;
        if (Percent(q.aggs[j].fn) > 0) {
          auto it = pct[j].find(key);
          if (it != pct[j].end()) want = it->second;
        } else if (!s[nk + j].null()) {
          want = s[nk + j].AsDouble();
        }
        std::optional<double> got = j < g.values.size() ? g.values[j] : std::nullopt;
        if (want) out.non_empty = true;
        bool approx = q.aggs[j].fn == AggFn::kSum || q.aggs[j].fn == AggFn::kAvg;
        bool same = got.has_value() == want.has_value() &&
                    (!got || *got == *want ||
                     (approx && std::fabs(*got - *want) <= 1e-9 * std::max({1.0, std::fabs(*got), std::fabs(*want)})));
        if (!same) {
          return {"row " + KeyText(key) + " " + columns[nk + j] + ": tracedb " + Opt(got) + ", sqlite " + Opt(want)};
        }
      }
    }
    return out;
  }

  engine::Engine* engine_;
  SqlDb* db_;
  const LoadedStore* store_;
  int64_t now_;
};

// Greedily replaces q by a smaller query that still disagrees.
Query Shrink(Oracle& oracle, Query q, std::string* diff) {
  for (int round = 0; round < 1000; ++round) {
    bool smaller = false;
    for (auto& c : Shrinks(q)) {
      Outcome o = oracle.Check(c);
      if (!o.diff.empty()) {
        q = std::move(c);
        *diff = o.diff;
        smaller = true;
        break;
      }
    }
    if (!smaller) break;
  }
  return q;
}

// A store written by the shared generator (engine write path, RocksDB in a
// temp dir) and its copy in SQLite.
struct World {
  TempDir dir;
  std::unique_ptr<engine::Engine> engine;
  SqlDb db;
  LoadedStore store;
  Pools pools;
};

void Build(const testing::DatasetOptions& data, World* w) {
  engine::Options o;
  o.path = w->dir.path();
  o.block_cache_bytes = 8 << 20;
  o.write_buffer_bytes = 256 << 10;  // small: reads span memtables and SST files
  auto e = engine::Engine::Open(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  w->engine = std::move(e).value();
  ASSERT_TRUE(testing::WriteDataset(w->engine.get(), data).ok());
  ASSERT_TRUE(WriteEdgeCases(w->engine.get(), kT0 + 2500 * 1000000LL).ok());
  ASSERT_TRUE(w->db.ok());
  auto s = LoadStore(w->engine.get(), &w->db);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  w->store = std::move(s).value();
  ASSERT_EQ(w->store.ids.size(), data.traces + kEdgeTraces);
  ASSERT_GT(w->store.events, data.traces);
  auto p = LoadPools(&w->db);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  w->pools = std::move(p).value();
}

void RunOracle(const testing::DatasetOptions& data, int64_t now) {
  World w;
  ASSERT_NO_FATAL_FAILURE(Build(data, &w));
  Oracle oracle(w.engine.get(), &w.db, &w.store, now);
  uint64_t seed = EnvU64("TRACEDB_ORACLE_SEED", 20261206);
  uint64_t queries = EnvU64("TRACEDB_ORACLE_QUERIES", 1200);
  const char* only_env = std::getenv("TRACEDB_ORACLE_ONLY");
  std::optional<uint64_t> only;
  if (only_env && *only_env) only = std::strtoull(only_env, nullptr, 10);
  size_t searches = 0, found = 0, aggregates = 0, valued = 0, failures = 0;
  std::map<std::string, size_t> paths;
  for (uint64_t i = 0; i < queries; ++i) {
    if (only && *only != i) continue;
    Generator gen(w.pools, QuerySeed(seed, i), now);
    Query q = gen.Next();
    Outcome o = oracle.Check(q);
    (q.aggs.empty() ? searches : aggregates)++;
    (q.aggs.empty() ? found : valued) += o.non_empty ? 1 : 0;
    ++paths[o.access];
    if (o.diff.empty()) continue;
    std::string diff = o.diff;
    Query small = Shrink(oracle, q, &diff);
    ADD_FAILURE() << "tracedb and SQLite disagree (replay: TRACEDB_ORACLE_SEED=" << seed
                  << " TRACEDB_ORACLE_ONLY=" << i << ")\n  query:  " << Text(q) << "\n  shrunk: " << Text(small)
                  << "\n  " << diff << "\n  sql:    "
                  << (small.aggs.empty() ? SearchSql(small) : AggregateSql(small));
    if (++failures >= 5) break;
  }
  if (only || failures > 0) return;
  // The generator must ask meaningful questions, not only empty ones.
  EXPECT_GT(found * 3, searches) << found << " of " << searches << " searches matched something";
  EXPECT_GT(valued * 2, aggregates) << valued << " of " << aggregates << " aggregates had a value";
  // Every access path of the planner answered some of the queries.
  if (queries < 1000) return;
  for (const char* p : {"time index scan", "leapfrog intersection", "index scan of", "point reads", "column scan", "none"}) {
    EXPECT_GT(paths[p], 0u) << "no query took the access path '" << p << "'";
  }
}

TEST(QueryOracle, RandomQueriesAgreeWithSqliteOnSpreadStarts) {
  testing::DatasetOptions data;
  data.seed = 7;
  data.traces = 300;
  RunOracle(data, kT0 + 150 * kSecond);
}

TEST(QueryOracle, RandomQueriesAgreeWithSqliteOnTiedStarts) {
  testing::DatasetOptions data;
  data.seed = 8;
  data.traces = 200;
  data.ties = true;
  RunOracle(data, kT0 + 30 * kSecond);
}

// 300 traces 67 s apart span six hour buckets: wide windows take the
// column-chunk scan, narrow ones the time index.
TEST(QueryOracle, RandomQueriesAgreeWithSqliteAcrossHourBuckets) {
  testing::DatasetOptions data;
  data.seed = 9;
  data.traces = 300;
  data.spacing_ns = 67 * kSecond;
  RunOracle(data, kT0 + 3 * 3600 * kSecond);
}

// The oracle can fail: after one trace's flow is changed on the SQLite side
// only, some random query disagrees, and shrinking reduces it to a query
// that still disagrees and is no larger than the original.
TEST(QueryOracle, FindsAndShrinksAPlantedDifference) {
  testing::DatasetOptions data;
  data.seed = 7;
  data.traces = 120;
  World w;
  ASSERT_NO_FATAL_FAILURE(Build(data, &w));
  ASSERT_TRUE(w.db.Exec("UPDATE traces SET flow = 'planted' WHERE n = 1").ok());
  int64_t now = kT0 + 60 * kSecond;
  Oracle oracle(w.engine.get(), &w.db, &w.store, now);
  Query q;
  q.filter = Node();
  q.filter->pred.field = FieldNamed("flow");
  q.filter->pred.values.push_back({"\"planted\"", "'planted'", "planted"});
  Outcome direct = oracle.Check(q);
  EXPECT_NE(direct.diff, "") << "flow = \"planted\" must disagree with the planted row";

  std::optional<Query> failing;
  std::string diff;
  for (uint64_t i = 0; i < 2000 && !failing; ++i) {
    Generator gen(w.pools, QuerySeed(99, i), now);
    Query g = gen.Next();
    Outcome o = oracle.Check(g);
    if (!o.diff.empty() && Text(g).size() > 40) {
      failing = g;
      diff = o.diff;
    }
  }
  ASSERT_TRUE(failing.has_value()) << "no random query noticed the planted difference";
  Query small = Shrink(oracle, *failing, &diff);
  EXPECT_NE(oracle.Check(small).diff, "");
  EXPECT_LE(Text(small).size(), Text(*failing).size());
  EXPECT_TRUE(Shrinks(small).empty() || [&] {
    for (const auto& c : Shrinks(small)) {
      if (!oracle.Check(c).diff.empty()) return false;
    }
    return true;
  }()) << "the shrunk query is not minimal: " << Text(small);
}

}  // namespace
}  // namespace tracedb::query::oracle
