// engine/graph_aggregates.h: the latency sketch's error bound, its merges
// (negative counts included), and the persisted value's encoding.

#include "engine/graph_aggregates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace tracedb::engine {
namespace {

int64_t NearestRank(std::vector<int64_t> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()) / 100.0));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

TEST(LatencySketch, PercentilesAreWithinTheStatedBound) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 50; ++round) {
    LatencySketch sketch;
    std::vector<int64_t> values;
    size_t n = 1 + rng() % 500;
    for (size_t i = 0; i < n; ++i) {
      // Log-uniform from 1 ns to ~1000 s, some zeros and negatives.
      int64_t v = static_cast<int64_t>(std::exp(std::uniform_real_distribution<double>(0, 27.6)(rng)));
      if (rng() % 20 == 0) v = 0;
      if (rng() % 20 == 0) v = -v;
      values.push_back(v);
      sketch.Add(v);
    }
    EXPECT_EQ(sketch.count(), static_cast<int64_t>(n));
    for (double p : {1.0, 50.0, 90.0, 99.0, 100.0}) {
      int64_t want = NearestRank(values, p);
      int64_t got = *sketch.Percentile(p);
      EXPECT_LE(std::abs(static_cast<double>(got - want)), kSketchRelativeError * std::abs(static_cast<double>(want)) + 1)
          << "p" << p << " got " << got << " want " << want;
    }
  }
  EXPECT_FALSE(LatencySketch().Percentile(50).has_value());
}

TEST(LatencySketch, ExtremesDoNotOverflow) {
  LatencySketch s;
  s.Add(INT64_MAX);
  s.Add(INT64_MIN);
  EXPECT_LT(*s.Percentile(1), 0);
  EXPECT_GT(*s.Percentile(100), 0);
}

TEST(LatencySketch, SubtractingWhatWasAddedLeavesItEmpty) {
  LatencySketch a, b;
  for (int64_t v : {5, 1000, 1000, 77777}) a.Add(v);
  b = a;
  a.Add(42);
  a.Merge(b, -1);
  EXPECT_EQ(a.count(), 1);
  EXPECT_EQ(a.buckets().size(), 1u);
  EXPECT_NEAR(static_cast<double>(*a.Percentile(50)), 42, 1);
}

TEST(GraphValue, RoundTripsAndSumsAsTheMergeOperatorDoes) {
  GraphValue v;
  v.fields[0] = 3;
  v.fields[1] = -2;
  v.fields[2] = 1LL << 40;
  v.sketch.Add(123456);
  v.sketch.Add(-9, 4);
  v.types["A"] = 2;
  v.types[std::string("\0b", 2)] = -1;
  GraphValue back;
  ASSERT_TRUE(DecodeGraphValue(EncodeGraphValue(v), &back));
  EXPECT_EQ(EncodeGraphValue(back), EncodeGraphValue(v));
  EXPECT_EQ(back.fields[2], 1LL << 40);
  EXPECT_EQ(back.types.at("A"), 2);
  back.Merge(v, -1);
  EXPECT_TRUE(back.IsZero());
}

TEST(GraphValue, MalformedBytesAreRefused) {
  GraphValue v;
  v.types["message"] = 1;
  std::string bytes = EncodeGraphValue(v);
  GraphValue out;
  EXPECT_FALSE(DecodeGraphValue(bytes.substr(0, bytes.size() - 2), &out));
  EXPECT_FALSE(DecodeGraphValue(bytes + "x", &out));
  EXPECT_FALSE(DecodeGraphValue("\xff\xff", &out));
}

// Random values over a few entry keys, as the write path and the merge
// operator see them: summing cells equals summing the values one by one,
// whatever the grouping, and what cancels out leaves the cell.
GraphValue RandomValue(std::mt19937_64& rng) {
  GraphValue v;
  for (int64_t& f : v.fields) f = static_cast<int64_t>(rng() % 100) - 20;
  for (int k = 0, n = static_cast<int>(rng() % 6); k < n; ++k) {
    v.sketch.Add(static_cast<int64_t>(rng() % 2'000'000'000) - 1000, 1 + static_cast<int64_t>(rng() % 3));
  }
  if (rng() % 2 == 0) v.types[rng() % 2 == 0 ? "A" : "Bee"] += 1 + static_cast<int64_t>(rng() % 3);
  return v;
}

std::string Cell(const std::map<std::string, GraphValue>& entries) {
  std::vector<std::pair<std::string_view, const GraphValue*>> sorted;
  for (const auto& [k, v] : entries) sorted.emplace_back(k, &v);
  std::string out;
  AppendGraphCell(&out, sorted);
  return out;
}

std::map<std::string, std::string> Decoded(GraphCellSum& sum) {
  std::map<std::string, std::string> out;
  EXPECT_TRUE(sum.ForEach([&](std::string_view key, const GraphAccumulator& v) {
    std::string bytes;
    v.AppendTo(&bytes);
    out[std::string(key)] = bytes;
  }));
  return out;
}

TEST(GraphCell, SummingCellsEqualsSummingTheirValues) {
  std::mt19937_64 rng(11);
  const std::vector<std::string> keys = {"T", "Na\x01", "Nsdb", "Ea\x01b\x01c\x01d\x01", std::string("E\0x", 3)};
  for (int round = 0; round < 200; ++round) {
    std::map<std::string, GraphValue> want;
    std::vector<std::string> cells;
    for (int c = 0, n = 1 + static_cast<int>(rng() % 5); c < n; ++c) {
      std::map<std::string, GraphValue> entries;
      for (const auto& k : keys) {
        if (rng() % 2 == 0) continue;
        entries[k] = RandomValue(rng);
        want[k].Merge(entries[k]);
      }
      cells.push_back(Cell(entries));
    }
    // A cell that takes back what the first one added.
    if (round % 3 == 0) {
      GraphCellSum first;
      ASSERT_TRUE(first.Add(cells[0]));
      std::map<std::string, GraphValue> negated;
      for (const auto& [k, bytes] : Decoded(first)) {
        GraphValue v;
        ASSERT_TRUE(DecodeGraphValue(bytes, &v));
        GraphValue neg;
        neg.Merge(v, -1);
        want[k].Merge(v, -1);
        negated[k] = neg;
      }
      cells.push_back(Cell(negated));
    }
    std::map<std::string, std::string> expected;
    for (const auto& [k, v] : want) {
      if (!v.IsZero()) expected[k] = EncodeGraphValue(v);
    }
    // All at once, and in two steps (the merge operator's partial merges).
    GraphCellSum all;
    for (const auto& c : cells) ASSERT_TRUE(all.Add(c));
    EXPECT_EQ(Decoded(all), expected);
    GraphCellSum left, outer;
    for (size_t i = 0; i < cells.size() / 2; ++i) ASSERT_TRUE(left.Add(cells[i]));
    std::string partial;
    left.AppendTo(&partial);
    ASSERT_TRUE(outer.Add(partial));
    for (size_t i = cells.size() / 2; i < cells.size(); ++i) ASSERT_TRUE(outer.Add(cells[i]));
    std::string final_cell;
    outer.AppendTo(&final_cell);
    GraphCellSum reread;
    ASSERT_TRUE(reread.Add(final_cell));
    EXPECT_EQ(reread.entries(), expected.size());
    EXPECT_EQ(Decoded(reread), expected);
  }
}

TEST(GraphCell, MalformedCellsAreRefused) {
  GraphValue v;
  v.fields[0] = 1;
  v.types["m"] = 1;
  std::string cell = Cell({{"Nax", v}});
  GraphCellSum sum;
  EXPECT_FALSE(sum.Add(cell.substr(0, cell.size() - 1)));
  GraphCellSum trailing;
  EXPECT_FALSE(trailing.Add(cell + "x"));
  GraphCellSum count;
  EXPECT_FALSE(count.Add("\x05"));
  // A value that is cut inside a well-formed frame is found when read.
  std::string bad = cell;
  bad[bad.size() - 1] = '\xff';
  GraphCellSum value;
  ASSERT_TRUE(value.Add(bad));
  EXPECT_FALSE(value.ForEach([](std::string_view, const GraphAccumulator&) {}));
}

}  // namespace
}  // namespace tracedb::engine
