#include "index/index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace tracedb::index {
namespace {

using schema::Id128;

Id128 IdOf(uint64_t n) {
  Id128 id{};
  for (int i = 0; i < 8; ++i) id[15 - i] = static_cast<uint8_t>(n >> (8 * i));
  return id;
}

IndexEntry E(int64_t start, uint64_t id) { return IndexEntry{start, IdOf(id)}; }

std::vector<std::pair<int64_t, Id128>> Drain(IndexCursor* c) {
  std::vector<std::pair<int64_t, Id128>> out;
  for (; c->Valid(); c->Next()) out.emplace_back(c->entry().start_ns, c->entry().trace_id);
  EXPECT_TRUE(c->status().ok()) << c->status().ToString();
  return out;
}

std::vector<std::pair<int64_t, Id128>> Expected(std::vector<IndexEntry> v) {
  std::sort(v.begin(), v.end(), engine::IndexBefore);
  std::vector<std::pair<int64_t, Id128>> out;
  for (const auto& e : v) {
    if (out.empty() || out.back() != std::make_pair(e.start_ns, e.trace_id)) out.emplace_back(e.start_ns, e.trace_id);
  }
  return out;
}

TEST(IndexCursors, FromEntriesSortsNewestFirstAndDedups) {
  auto c = FromEntries({E(1, 1), E(3, 2), E(3, 1), E(1, 1)});
  auto got = Drain(c.get());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first, 3);
  EXPECT_EQ(got[0].second, IdOf(1));
  EXPECT_EQ(got[1].second, IdOf(2));
  EXPECT_EQ(got[2].first, 1);
}

TEST(IndexCursors, RandomIntersectionAndUnionMatchSetAlgebra) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    int k = 1 + static_cast<int>(rng() % 4);
    std::vector<std::vector<IndexEntry>> sets(k);
    for (auto& s : sets) {
      int n = static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) {
        uint64_t id = rng() % 30;
        s.push_back(E(static_cast<int64_t>(id % 7), id));  // start is a function of id
      }
    }
    std::vector<IndexEntry> all, common;
    for (auto& s : sets) all.insert(all.end(), s.begin(), s.end());
    for (const auto& e : all) {
      bool everywhere = std::all_of(sets.begin(), sets.end(), [&](const std::vector<IndexEntry>& s) {
        return std::any_of(s.begin(), s.end(), [&](const IndexEntry& x) { return x.trace_id == e.trace_id; });
      });
      if (everywhere) common.push_back(e);
    }
    std::vector<std::unique_ptr<IndexCursor>> a, b;
    for (auto& s : sets) {
      a.push_back(FromEntries(s));
      b.push_back(FromEntries(s));
    }
    auto inter = Intersect(std::move(a));
    auto uni = Union(std::move(b));
    EXPECT_EQ(Drain(inter.get()), Expected(common)) << "round " << round;
    EXPECT_EQ(Drain(uni.get()), Expected(all)) << "round " << round;
  }
}

TEST(IndexCursors, IntersectionSeeksInsteadOfStepping) {
  // A counting cursor shows the leapfrog skips the long input.
  struct Counting final : IndexCursor {
    std::unique_ptr<IndexCursor> in;
    int* nexts;
    bool Valid() const override { return in->Valid(); }
    const IndexEntry& entry() const override { return in->entry(); }
    void Next() override {
      ++*nexts;
      in->Next();
    }
    void Seek(const IndexEntry& t) override { in->Seek(t); }
    Status status() const override { return in->status(); }
  };
  std::vector<IndexEntry> big, small;
  for (int i = 0; i < 10000; ++i) big.push_back(E(i, i));
  small = {E(9000, 9000), E(10, 10)};
  int nexts = 0;
  auto counting = std::make_unique<Counting>();
  counting->in = FromEntries(big);
  counting->nexts = &nexts;
  std::vector<std::unique_ptr<IndexCursor>> in;
  in.push_back(std::move(counting));
  in.push_back(FromEntries(small));
  auto c = Intersect(std::move(in));
  auto got = Drain(c.get());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, 9000);
  EXPECT_LT(nexts, 10);
}

TEST(IndexCursors, TakeStopsAfterN) {
  auto c = Take(FromEntries({E(5, 1), E(4, 2), E(3, 3)}), 2);
  auto got = Drain(c.get());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].first, 4);
  auto zero = Take(FromEntries({E(5, 1)}), 0);
  EXPECT_FALSE(zero->Valid());
}

TEST(IndexCursors, UnionSeekRepositionsEveryInput) {
  std::vector<std::unique_ptr<IndexCursor>> in;
  in.push_back(FromEntries({E(9, 1), E(5, 2), E(1, 3)}));
  in.push_back(FromEntries({E(7, 4), E(5, 2), E(2, 5)}));
  auto u = Union(std::move(in));
  u->Seek(E(5, 2));
  auto got = Drain(u.get());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first, 5);
  EXPECT_EQ(got[1].first, 2);
  EXPECT_EQ(got[2].first, 1);
}

TEST(Glob, MatchesStarsQuestionMarksAndEscapes) {
  EXPECT_TRUE(GlobMatch("check*", "checkout"));
  EXPECT_TRUE(GlobMatch("*out", "checkout"));
  EXPECT_TRUE(GlobMatch("c?eck*t", "checkout"));
  EXPECT_FALSE(GlobMatch("check", "checkout"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_EQ(GlobLiteralPrefix("ab\\*c*d"), "ab*c");
  EXPECT_TRUE(GlobHasWildcard("a?"));
  EXPECT_FALSE(GlobHasWildcard("a\\?"));
  // Pathological pattern stays fast (no exponential backtracking).
  std::string text(5000, 'a');
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*b", text));
}

class IndexOnEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    engine::Options o;
    o.in_memory = true;
    auto r = engine::Engine::Open(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    engine_ = std::move(r).value();
    engine::WriteBatch b;
    for (uint64_t i = 0; i < 60; ++i) {
      schema::Trace t;
      t.trace_id = IdOf(i + 1);
      t.execution_id = IdOf(1000 + i);
      t.flow_id = i % 3 == 0 ? "checkout" : i % 3 == 1 ? "check-in" : "billing";
      t.start_ns = 1'000'000'000 + static_cast<int64_t>(i) * 1000;
      b.StartTrace(t);
      schema::Event ev;
      ev.event_id = "e" + std::to_string(i);
      ev.timestamp_ns = t.start_ns;
      ev.actor = i % 2 == 0 ? "validator" : "router";
      ev.reflow.emplace();
      b.AppendEvent(t.trace_id, ev);
    }
    ASSERT_TRUE(engine_->Write(b).ok());
  }
  std::unique_ptr<engine::Engine> engine_;
};

TEST_F(IndexOnEngine, IntersectFlowAndActorOnRealCursors) {
  std::vector<std::unique_ptr<IndexCursor>> in;
  in.push_back(ScanValues(engine_.get(), IndexKind::kFlow, {"checkout"}, INT64_MIN, INT64_MAX));
  in.push_back(ScanValues(engine_.get(), IndexKind::kActor, {"validator"}, INT64_MIN, INT64_MAX));
  auto c = Intersect(std::move(in));
  auto got = Drain(c.get());
  ASSERT_EQ(got.size(), 10u);  // i % 6 == 0
  for (size_t k = 1; k < got.size(); ++k) EXPECT_GT(got[k - 1].first, got[k].first);
  EXPECT_EQ(got[0].second, IdOf(55));
}

TEST_F(IndexOnEngine, GlobExpansionUnionsEveryMatchingValue) {
  auto values = ExpandValues(engine_.get(), IndexKind::kFlow, "check", [](std::string_view v) {
    return GlobMatch("check*", v);
  }, 100);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(*values, (std::vector<std::string>{"check-in", "checkout"}));
  auto c = ScanMatching(engine_.get(), IndexKind::kFlow, "check", nullptr, 100, 1'000'000'000 + 10'000,
                        INT64_MAX);
  ASSERT_TRUE(c.ok());
  auto got = Drain(c->get());
  // starts >= 10 x 1000 ns: i in [10, 59] with i % 3 != 2.
  size_t want = 0;
  for (int i = 10; i < 60; ++i) want += (i % 3 != 2);
  EXPECT_EQ(got.size(), want);
}

TEST_F(IndexOnEngine, ExpansionRefusesTooManyValues) {
  auto values = ExpandValues(engine_.get(), IndexKind::kFlow, "", nullptr, 2);
  EXPECT_FALSE(values.ok());
  EXPECT_EQ(values.status().code(), StatusCode::kResourceExhausted);
}

TEST_F(IndexOnEngine, TakePushesLimitIntoTheScan) {
  auto c = Take(ScanValues(engine_.get(), IndexKind::kTime, {""}, INT64_MIN, INT64_MAX), 5);
  auto got = Drain(c.get());
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].second, IdOf(60));
}

}  // namespace
}  // namespace tracedb::index
