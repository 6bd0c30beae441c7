// engine/graph_aggregates.h: the latency sketch's error bound, its merges
// (negative counts included), and the persisted value's encoding.

#include "engine/graph_aggregates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

}  // namespace
}  // namespace tracedb::engine
