#include "schema/json_writer.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace tracedb::schema {
namespace {

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}
std::string F32(float v) {
  std::string out;
  AppendJsonF32(v, &out);
  return out;
}
std::string F64(double v) {
  std::string out;
  AppendJsonF64(v, &out);
  return out;
}

TEST(JsonWriter, EscapesStringsLikeSerdeJson) {
  EXPECT_EQ(Str("plain"), "\"plain\"");
  EXPECT_EQ(Str("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Str("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(Str(std::string_view("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_EQ(Str("\x0b\x1b"), "\"\\u000b\\u001b\"");
  EXPECT_EQ(Str("a/b é 日本 😀"), "\"a/b é 日本 😀\"");
  EXPECT_EQ(Str(""), "\"\"");
}

// Expected texts are what serde_json (ryu) prints for the same values.
TEST(JsonWriter, PrintsF64LikeRyu) {
  EXPECT_EQ(F64(0.0), "0.0");
  EXPECT_EQ(F64(-0.0), "-0.0");
  EXPECT_EQ(F64(1.0), "1.0");
  EXPECT_EQ(F64(1000.5), "1000.5");
  EXPECT_EQ(F64(0.1), "0.1");
  EXPECT_EQ(F64(-2.5), "-2.5");
  EXPECT_EQ(F64(1e15), "1000000000000000.0");
  EXPECT_EQ(F64(1e16), "1e16");
  EXPECT_EQ(F64(1e21), "1e21");
  EXPECT_EQ(F64(1.5e300), "1.5e300");
  EXPECT_EQ(F64(123456789012345680000.0), "1.2345678901234568e20");
  EXPECT_EQ(F64(1234567890123456.7), "1234567890123456.8");
  EXPECT_EQ(F64(0.0001), "0.0001");
  EXPECT_EQ(F64(0.00001), "0.00001");
  EXPECT_EQ(F64(0.000001), "1e-6");
  EXPECT_EQ(F64(1.5e-7), "1.5e-7");
  EXPECT_EQ(F64(5e-324), "5e-324");
  EXPECT_EQ(F64(DBL_MAX), "1.7976931348623157e308");
  EXPECT_EQ(F64(9007199254740993.0), "9007199254740992.0");
  EXPECT_EQ(F64(std::nan("")), "null");
  EXPECT_EQ(F64(INFINITY), "null");
  EXPECT_EQ(F64(-INFINITY), "null");
}

TEST(JsonWriter, PrintsF32LikeRyuWithItsSmallerThresholds) {
  EXPECT_EQ(F32(0.0f), "0.0");
  EXPECT_EQ(F32(2.5f), "2.5");
  EXPECT_EQ(F32(15.5f), "15.5");
  EXPECT_EQ(F32(0.1f), "0.1");
  EXPECT_EQ(F32(16777216.0f), "16777216.0");
  EXPECT_EQ(F32(1e12f), "1000000000000.0");
  EXPECT_EQ(F32(1e13f), "1e13");  // f64 would print 10000000000000.0
  EXPECT_EQ(F64(1e13), "10000000000000.0");
  EXPECT_EQ(F32(1e-6f), "0.000001");  // f64 would print 1e-6
  EXPECT_EQ(F64(1e-6), "1e-6");
  EXPECT_EQ(F32(1e-7f), "1e-7");
  EXPECT_EQ(F32(FLT_MAX), "3.4028235e38");
  EXPECT_EQ(F32(1e-45f), "1e-45");
  EXPECT_EQ(F32(-123.456f), "-123.456");
  EXPECT_EQ(F32(NAN), "null");
}

TEST(JsonWriter, FloatsRoundTripThroughTheirText) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    float f;
    const uint32_t fbits = static_cast<uint32_t>(bits >> 7);
    std::memcpy(&f, &fbits, sizeof(f));
    if (std::isfinite(d)) {
      const std::string s = F64(d);
      double back = 0;
      ASSERT_EQ(std::from_chars(s.data(), s.data() + s.size(), back).ec, std::errc()) << s;
      ASSERT_EQ(back, d) << s;
    }
    if (std::isfinite(f)) {
      const std::string s = F32(f);
      float back = 0;
      ASSERT_EQ(std::from_chars(s.data(), s.data() + s.size(), back).ec, std::errc()) << s;
      ASSERT_EQ(back, f) << s;
    }
  }
}

TEST(JsonWriter, ManagesCommasAcrossNesting) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("a\"");
  w.BeginArray();
  w.Uint(1);
  w.Int(-2);
  w.BeginObject();
  w.EndObject();
  w.BeginArray();
  w.EndArray();
  w.Null();
  w.EndArray();
  w.PlainKey("b");
  w.Bool(false);
  w.PlainKey("c");
  w.Raw("{\"x\":1}");
  w.PlainKey("d");
  w.PlainString("s");
  w.EndObject();
  EXPECT_EQ(out, "{\"a\\\"\":[1,-2,{},[],null],\"b\":false,\"c\":{\"x\":1},\"d\":\"s\"}");
}

}  // namespace
}  // namespace tracedb::schema
