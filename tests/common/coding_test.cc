#include "common/coding.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "common/result.h"
#include "common/status.h"

namespace tracedb::coding {
namespace {

std::string RandomString(std::mt19937_64& rng, size_t max_len) {
  std::uniform_int_distribution<size_t> len(0, max_len);
  // Bias towards 0x00, 0x01 and 0xFF: the bytes the escaping treats specially.
  std::uniform_int_distribution<int> pick(0, 9);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(len(rng), '\0');
  for (char& c : s) {
    int p = pick(rng);
    c = static_cast<char>(p == 0 ? 0x00 : p == 1 ? 0x01 : p == 2 ? 0xff : byte(rng));
  }
  return s;
}

TEST(Coding, FixedRoundTripAndBigEndian) {
  std::string s;
  PutFixed32(&s, 0x01020304u);
  PutFixed64(&s, 0x0102030405060708ull);
  ASSERT_EQ(s.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(s[0]), 0x01);
  EXPECT_EQ(DecodeFixed32(s.data()), 0x01020304u);
  EXPECT_EQ(DecodeFixed64(s.data() + 4), 0x0102030405060708ull);
}

TEST(Coding, OrderedI64PreservesSignedOrder) {
  std::mt19937_64 rng(7);
  std::vector<int64_t> values = {INT64_MIN, -1, 0, 1, INT64_MAX};
  for (int i = 0; i < 2000; ++i) values.push_back(static_cast<int64_t>(rng()));
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    std::string a, b;
    PutOrderedI64(&a, values[i]);
    PutOrderedI64(&b, values[i + 1]);
    EXPECT_EQ(values[i] < values[i + 1], a < b) << values[i] << " vs " << values[i + 1];
    EXPECT_EQ(DecodeOrderedI64(a.data()), values[i]);
  }
}

TEST(Coding, InvertedU64ReversesOrder) {
  std::string a, b;
  PutInvertedU64(&a, 5);
  PutInvertedU64(&b, 6);
  EXPECT_GT(a, b);
  EXPECT_EQ(DecodeInvertedU64(a.data()), 5u);
}

TEST(Coding, EscapedStringsPreserveOrderAndRoundTrip) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 5000; ++i) {
    std::string x = RandomString(rng, 8), y = RandomString(rng, 8);
    std::string ex, ey;
    PutEscaped(&ex, x);
    PutEscaped(&ey, y);
    EXPECT_EQ(x < y, ex < ey);
    EXPECT_EQ(x == y, ex == ey);
    Reader r(ex);
    std::string back;
    ASSERT_TRUE(r.GetEscaped(&back));
    EXPECT_EQ(back, x);
    EXPECT_TRUE(r.empty());
  }
}

TEST(Coding, EscapedConcatenationIsUnambiguous) {
  // Jaeger's flaw: "foo"+"bar" == "foob"+"ar" without separators.
  std::string a, b;
  PutEscaped(&a, "foo");
  PutEscaped(&a, "bar");
  PutEscaped(&b, "foob");
  PutEscaped(&b, "ar");
  EXPECT_NE(a, b);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 3000; ++i) {
    std::string x1 = RandomString(rng, 4), x2 = RandomString(rng, 4);
    std::string y1 = RandomString(rng, 4), y2 = RandomString(rng, 4);
    std::string ex, ey;
    PutEscaped(&ex, x1);
    PutEscaped(&ex, x2);
    PutEscaped(&ey, y1);
    PutEscaped(&ey, y2);
    EXPECT_EQ(ex == ey, x1 == y1 && x2 == y2);
  }
}

TEST(Coding, EscapedPrefixMatchesExtensions) {
  std::string p;
  PutEscapedPrefix(&p, std::string("ab\0", 3));
  std::string full;
  PutEscaped(&full, std::string("ab\0cd", 5));
  EXPECT_EQ(full.compare(0, p.size(), p), 0);
}

TEST(Coding, ReaderRejectsTruncatedInput) {
  Reader r(std::string_view("\x00\x00\x01", 3));
  uint32_t v;
  EXPECT_FALSE(r.GetFixed32(&v));
  std::string s;
  Reader bad(std::string_view("ab\x00\x02", 4));
  EXPECT_FALSE(bad.GetEscaped(&s));
  Reader unterminated(std::string_view("ab", 2));
  EXPECT_FALSE(unterminated.GetEscaped(&s));
}

TEST(Coding, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixSuccessor(std::string("\xff\xff", 2)), "");
}

TEST(Status, CarriesCodeAndContext) {
  Status s = Status::InvalidArgument("bad").WithContext("parse");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "InvalidArgument: parse: bad");
  EXPECT_EQ(Status::OK().ToString(), "OK");
}

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  TRACEDB_ASSIGN_OR_RETURN(*out, Half(x));
  return Status::OK();
}

TEST(Result, PropagatesErrors) {
  int out = 0;
  EXPECT_TRUE(UseHalf(4, &out).ok());
  EXPECT_EQ(out, 2);
  EXPECT_EQ(UseHalf(3, &out).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tracedb::coding
