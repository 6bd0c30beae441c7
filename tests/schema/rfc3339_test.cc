#include "schema/rfc3339.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

namespace tracedb::schema {
namespace {

// 2025-07-10T12:00:00Z
constexpr TimestampNs kBase = 1752148800LL * 1'000'000'000;

TimestampNs Parse(std::string_view s) {
  auto r = ParseRfc3339(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : -1;
}

TEST(Rfc3339, ParsesZuluWithAnyNumberOfFractionDigits) {
  EXPECT_EQ(Parse("2025-07-10T12:00:00Z"), kBase);
  EXPECT_EQ(Parse("2025-07-10T12:00:01.5Z"), kBase + 1'500'000'000);
  EXPECT_EQ(Parse("2025-07-10T12:00:01.500Z"), kBase + 1'500'000'000);
  EXPECT_EQ(Parse("2025-07-10T12:00:00.000001Z"), kBase + 1'000);
  EXPECT_EQ(Parse("2025-07-10T12:00:00.123456789Z"), kBase + 123'456'789);
  // Digits past the ninth are truncated, as chrono does.
  EXPECT_EQ(Parse("2025-07-10T12:00:00.1234567899999Z"), kBase + 123'456'789);
}

TEST(Rfc3339, ConvertsOffsetsToUtcAndAcceptsSpaceSeparator) {
  EXPECT_EQ(Parse("2025-07-10T14:00:00+02:00"), kBase);
  EXPECT_EQ(Parse("2025-07-10T07:30:00-04:30"), kBase);
  EXPECT_EQ(Parse("2025-07-10T12:00:00+00:00"), kBase);
  EXPECT_EQ(Parse("2025-07-10T14:00:00+0200"), kBase);
  EXPECT_EQ(Parse("2025-07-10 12:00:00Z"), kBase);
  EXPECT_EQ(Parse("2025-07-10T12:00:00z"), kBase);
  EXPECT_EQ(Parse("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Parse("1969-12-31T23:59:59.999999999Z"), -1);
  EXPECT_EQ(Parse("2024-02-29T00:00:00Z"), 1709164800LL * 1'000'000'000);
}

TEST(Rfc3339, RejectsMalformedAndUnrepresentableTimestamps) {
  for (const char* s : {"", "2025-07-10", "2025-07-10T12:00:00", "2025-07-10T12:00Z", "2025-13-01T00:00:00Z",
                        "2025-02-29T00:00:00Z", "2025-07-32T00:00:00Z", "2025-07-10T24:00:00Z",
                        "2025-07-10T12:60:00Z", "2025-07-10T12:00:60Z", "2025-07-10T12:00:00.Z",
                        "2025-07-10T12:00:00+24:00", "2025-07-10T12:00:00Zx", "2025-07-10X12:00:00Z", "2025-07-10t12:00:00Z",
                        "25-07-10T12:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                        "1677-01-01T00:00:00Z", "2263-01-01T00:00:00Z"}) {
    TimestampNs ts;
    EXPECT_FALSE(ParseRfc3339(s, &ts)) << s;
    auto r = ParseRfc3339(std::string_view(s));
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_EQ(r.status().code(), ::tracedb::StatusCode::kInvalidArgument);
  }
}

TEST(Rfc3339, PrintsFewestExactFractionDigitsLikeChrono) {
  EXPECT_EQ(FormatRfc3339(kBase), "2025-07-10T12:00:00Z");
  EXPECT_EQ(FormatRfc3339(kBase + 1'500'000'000), "2025-07-10T12:00:01.500Z");
  EXPECT_EQ(FormatRfc3339(kBase + 1'000'001'000), "2025-07-10T12:00:01.000001Z");
  EXPECT_EQ(FormatRfc3339(kBase + 123'456'789), "2025-07-10T12:00:00.123456789Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  std::string micros;
  AppendRfc3339Micros(kBase, &micros);
  EXPECT_EQ(micros, "2025-07-10T12:00:00.000000Z");
}

TEST(Rfc3339, RoundTripsTheWholeInt64Range) {
  constexpr auto kMin = std::numeric_limits<TimestampNs>::min();
  constexpr auto kMax = std::numeric_limits<TimestampNs>::max();
  EXPECT_EQ(FormatRfc3339(kMin), "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(FormatRfc3339(kMax), "2262-04-11T23:47:16.854775807Z");
  std::mt19937_64 rng(7);
  std::vector<TimestampNs> values = {kMin, kMax, 0, -1, 1, kMin + 1, kMax - 1};
  for (int i = 0; i < 20000; ++i) {
    TimestampNs v = static_cast<TimestampNs>(rng());
    const int digits = i % 4;  // 0, 3, 6, 9 fraction digits
    const int64_t unit = digits == 0 ? 1'000'000'000 : digits == 1 ? 1'000'000 : digits == 2 ? 1'000 : 1;
    if (v / unit != 0) v = v / unit * unit;
    values.push_back(v);
  }
  for (TimestampNs v : values) {
    const std::string s = FormatRfc3339(v);
    TimestampNs back;
    ASSERT_TRUE(ParseRfc3339(s, &back)) << s;
    EXPECT_EQ(back, v) << s;
  }
}

}  // namespace
}  // namespace tracedb::schema
