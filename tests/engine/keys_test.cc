#include "engine/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <tuple>

#include "tests/engine/engine_test_util.h"

namespace tracedb::engine::keys {
namespace {

TEST(Keys, EventKeysSortByBucketTraceTimestampSeqThenId) {
  std::mt19937_64 rng(11);
  struct Parts {
    uint32_t bucket;
    Id128 trace;
    TimestampNs ts;
    uint64_t seq;
    std::string id;
  };
  std::vector<Parts> parts;
  for (int i = 0; i < 3000; ++i) {
    Parts p{static_cast<uint32_t>(rng() % 3), testing::IdFrom(0, rng() % 4),
            static_cast<TimestampNs>(rng() % 7) - 3, rng() % 3, std::string(rng() % 3, static_cast<char>(rng() % 256))};
    parts.push_back(p);
  }
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const Parts& a = parts[i];
    const Parts& b = parts[i + 1];
    auto ta = std::tie(a.bucket, a.trace, a.ts, a.seq, a.id);
    auto tb = std::tie(b.bucket, b.trace, b.ts, b.seq, b.id);
    std::string ka = EventKey(a.bucket, a.trace, a.ts, a.seq, a.id);
    std::string kb = EventKey(b.bucket, b.trace, b.ts, b.seq, b.id);
    EXPECT_EQ(ta < tb, ka < kb) << i;
    EventKeyParts back;
    ASSERT_TRUE(ParseEventKey(ka, &back));
    EXPECT_EQ(back.bucket, a.bucket);
    EXPECT_EQ(back.trace_id, a.trace);
    EXPECT_EQ(back.ts, a.ts);
    EXPECT_EQ(back.seq, a.seq);
    EXPECT_EQ(back.event_id, a.id);
  }
}

TEST(Keys, AllEventsOfATraceShareOnePrefix) {
  Id128 id = testing::IdFrom(1, 2);
  std::string prefix = TracePrefix(7, id);
  EXPECT_EQ(prefix.size(), kTracePrefixLen);
  EXPECT_EQ(EventKey(7, id, -5, 0, "x").compare(0, prefix.size(), prefix), 0);
  EXPECT_EQ(ColumnKey(7, id, 3).compare(0, prefix.size(), prefix), 0);
  EXPECT_NE(EventKey(8, id, -5, 0, "x").compare(0, prefix.size(), prefix), 0);
}

TEST(Keys, IndexKeysAreNewestFirstWithinAValue) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 2000; ++i) {
    auto s1 = static_cast<TimestampNs>(rng()), s2 = static_cast<TimestampNs>(rng());
    Id128 t1 = testing::IdFrom(rng(), rng()), t2 = testing::IdFrom(rng(), rng());
    std::string k1 = IndexKey(IndexKind::kActor, "a", s1, t1);
    std::string k2 = IndexKey(IndexKind::kActor, "a", s2, t2);
    EXPECT_EQ(IndexBefore({s1, t1}, {s2, t2}), k1 < k2);
    IndexKind kind;
    std::string value;
    IndexEntry e;
    ASSERT_TRUE(ParseIndexKey(k1, &kind, &value, &e));
    EXPECT_EQ(kind, IndexKind::kActor);
    EXPECT_EQ(value, "a");
    EXPECT_EQ(e.start_ns, s1);
    EXPECT_EQ(e.trace_id, t1);
  }
}

TEST(Keys, IndexValuesNeverOverlap) {
  // Every key of value "ab" sorts before every key of value "ab\0" and "abc".
  Id128 max_id;
  max_id.fill(0xff);
  std::string last_ab = IndexKey(IndexKind::kFlow, "ab", INT64_MIN, max_id);
  std::string first_abc = IndexKey(IndexKind::kFlow, "abc", INT64_MAX, Id128{});
  std::string first_ab0 = IndexKey(IndexKind::kFlow, std::string("ab\0", 3), INT64_MAX, Id128{});
  EXPECT_LT(last_ab, first_abc);
  EXPECT_LT(last_ab, first_ab0);
  std::string prefix = IndexValuePrefix(IndexKind::kFlow, "ab");
  EXPECT_NE(first_abc.compare(0, prefix.size(), prefix), 0);
}

TEST(Keys, FlowVersionKeysRoundTripAndSortBySemver) {
  schema::FlowVersion a{1, 9, 0, std::nullopt, 5};
  schema::FlowVersion b{1, 10, 0, std::string("h\0x", 3), -5};
  std::string ka = FlowVersionKey("f", a), kb = FlowVersionKey("f", b);
  EXPECT_LT(ka, kb);
  schema::FlowVersion back;
  ASSERT_TRUE(ParseFlowVersionKey(kb, FlowVersionPrefix("f").size(), &back));
  EXPECT_EQ(back, b);
  EXPECT_FALSE(ParseFlowVersionKey(kb.substr(0, kb.size() - 1), FlowVersionPrefix("f").size(), &back));
}

TEST(Keys, MalformedKeysAreRejected) {
  EventKeyParts parts;
  EXPECT_FALSE(ParseEventKey("short", &parts));
  IndexKind kind;
  std::string value;
  IndexEntry e;
  EXPECT_FALSE(ParseIndexKey("", &kind, &value, &e));
  EXPECT_FALSE(ParseIndexKey("Fabc", &kind, &value, &e));
  EXPECT_FALSE(ParseIndexKey("Q123", &kind, &value, &e));
}

TEST(Keys, BucketOfFloorsAndClampsBeforeTheEpoch) {
  EXPECT_EQ(BucketOf(0, 3600), 0u);
  EXPECT_EQ(BucketOf(3599'999'999'999, 3600), 0u);
  EXPECT_EQ(BucketOf(3600'000'000'000, 3600), 1u);
  EXPECT_EQ(BucketOf(-1, 3600), 0u);
}

}  // namespace
}  // namespace tracedb::engine::keys
