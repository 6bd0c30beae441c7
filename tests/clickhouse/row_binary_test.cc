#include "clickhouse/row_binary.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tests/clickhouse/ch_test_util.h"

namespace tracedb::clickhouse {
namespace {

using testing::ClusterTest;
using testing::UniqueDatabase;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(RowBinary, VarUIntSpellsLeb128AtTheEdges) {
  struct Case {
    uint64_t value;
    std::string bytes;
  };
  const std::vector<Case> cases = {
      {0, Bytes({0x00})},
      {1, Bytes({0x01})},
      {127, Bytes({0x7F})},
      {128, Bytes({0x80, 0x01})},
      {300, Bytes({0xAC, 0x02})},
      {16383, Bytes({0xFF, 0x7F})},
      {16384, Bytes({0x80, 0x80, 0x01})},
      {std::numeric_limits<uint64_t>::max(),
       Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})},
  };
  for (const Case& c : cases) {
    RowWriter w;
    w.VarUInt(c.value);
    EXPECT_EQ(w.data(), c.bytes) << c.value;
    RowReader r(w.data());
    uint64_t back = 1;
    ASSERT_TRUE(r.VarUInt(&back)) << c.value;
    EXPECT_EQ(back, c.value);
    EXPECT_TRUE(r.done());
  }
}

TEST(RowBinary, VarUIntRejectsOverlongAndTruncatedInput) {
  uint64_t v;
  const std::string truncated_bytes = Bytes({0x80, 0x80});
  RowReader truncated(truncated_bytes);
  EXPECT_FALSE(truncated.VarUInt(&v));
  EXPECT_TRUE(truncated.failed());
  // 2^64 does not fit: the tenth byte may only be 0 or 1.
  const std::string overflow_bytes = Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02});
  RowReader overflow(overflow_bytes);
  EXPECT_FALSE(overflow.VarUInt(&v));
  const std::string eleven_bytes = Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  RowReader eleven(eleven_bytes);
  EXPECT_FALSE(eleven.VarUInt(&v));
}

TEST(RowBinary, FixedWidthValuesAreLittleEndian) {
  RowWriter w;
  w.U8(0xAB);
  w.U16(0x0102);
  w.U32(0x01020304);
  w.U64(0x0102030405060708ull);
  w.I64(-2);
  w.F64(1.0);
  EXPECT_EQ(w.data(), Bytes({0xAB, 0x02, 0x01, 0x04, 0x03, 0x02, 0x01, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02,
                             0x01, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00,
                             0x00, 0xF0, 0x3F}));
  RowReader r(w.data());
  uint8_t a;
  uint16_t b;
  uint32_t c;
  uint64_t d;
  int64_t e;
  double f;
  ASSERT_TRUE(r.U8(&a) && r.U16(&b) && r.U32(&c) && r.U64(&d) && r.I64(&e) && r.F64(&f));
  EXPECT_EQ(a, 0xAB);
  EXPECT_EQ(b, 0x0102);
  EXPECT_EQ(c, 0x01020304u);
  EXPECT_EQ(d, 0x0102030405060708ull);
  EXPECT_EQ(e, -2);
  EXPECT_EQ(f, 1.0);
  EXPECT_TRUE(r.done());
}

TEST(RowBinary, StringsAndArraysRoundTrip) {
  const std::vector<size_t> lengths = {0, 1, 127, 128, 16383, 16384, 3 << 20};
  const std::vector<std::string> array = {"", "a", std::string(200, 'b'), std::string("\0x\xff", 3)};
  const std::vector<uint64_t> numbers = {0, 1, std::numeric_limits<uint64_t>::max()};
  RowWriter w;
  for (size_t n : lengths) w.String(std::string(n, 'x'));
  w.StringArray({});
  w.StringArray(array);
  w.U64Array({});
  w.U64Array(numbers);
  w.FixedString("ab", 4);
  w.FixedString("abcdef", 4);

  RowReader r(w.data());
  for (size_t n : lengths) {
    std::string_view s;
    ASSERT_TRUE(r.String(&s)) << n;
    EXPECT_EQ(s, std::string(n, 'x'));
  }
  std::vector<std::string> strings = {"stale"};
  ASSERT_TRUE(r.StringArray(&strings));
  EXPECT_TRUE(strings.empty());
  ASSERT_TRUE(r.StringArray(&strings));
  EXPECT_EQ(strings, array);
  std::vector<uint64_t> u64 = {7};
  ASSERT_TRUE(r.U64Array(&u64));
  EXPECT_TRUE(u64.empty());
  ASSERT_TRUE(r.U64Array(&u64));
  EXPECT_EQ(u64, numbers);
  std::string_view fixed;
  ASSERT_TRUE(r.FixedString(4, &fixed));
  EXPECT_EQ(fixed, std::string("ab\0\0", 4));
  ASSERT_TRUE(r.FixedString(4, &fixed));
  EXPECT_EQ(fixed, "abcd");
  EXPECT_TRUE(r.done());
}

TEST(RowBinary, EveryTruncationOfARowFails) {
  RowWriter w;
  w.U32(7);
  w.String("hello");
  w.StringArray({"a", "bc"});
  w.U64Array({1, 2});
  w.FixedString("xy", 3);
  w.F64(2.5);
  const std::string row = w.data();
  for (size_t cut = 0; cut < row.size(); ++cut) {
    RowReader r(std::string_view(row).substr(0, cut));
    uint32_t u;
    std::string_view s;
    std::vector<std::string> strings;
    std::vector<uint64_t> numbers;
    double f;
    bool all = r.U32(&u) && r.String(&s) && r.StringArray(&strings) && r.U64Array(&numbers) &&
               r.FixedString(3, &s) && r.F64(&f);
    EXPECT_FALSE(all) << "cut at " << cut;
    EXPECT_FALSE(r.done());
  }
  RowReader whole(row);
  uint32_t u;
  std::string_view s;
  std::vector<std::string> strings;
  std::vector<uint64_t> numbers;
  double f;
  EXPECT_TRUE(whole.U32(&u) && whole.String(&s) && whole.StringArray(&strings) && whole.U64Array(&numbers) &&
              whole.FixedString(3, &s) && whole.F64(&f));
  EXPECT_TRUE(whole.done());
}

TEST(RowBinary, HugeCountsFailWithoutAllocating) {
  RowWriter w;
  w.VarUInt(uint64_t{1} << 60);
  std::vector<std::string> strings;
  EXPECT_FALSE(RowReader(w.data()).StringArray(&strings));
  std::vector<uint64_t> numbers;
  EXPECT_FALSE(RowReader(w.data()).U64Array(&numbers));
  std::string_view s;
  EXPECT_FALSE(RowReader(w.data()).String(&s));
}

TEST(Quote, EscapesQuoteBackslashAndControlBytes) {
  EXPECT_EQ(Quote(""), "''");
  EXPECT_EQ(Quote("a'b\\c"), "'a\\'b\\\\c'");
  EXPECT_EQ(Quote(std::string("\0\n\x7f", 3)), "'\\x00\\x0a\\x7f'");
  EXPECT_EQ(Quote("\xff\xc3\xa9"), "'\xff\xc3\xa9'");
}

class RowBinaryServer : public ClusterTest {};

// Every byte value, alone and in company, comes back from the server as the
// bytes we quoted.
TEST_F(RowBinaryServer, QuotedLiteralsComeBackByteExact) {
  std::vector<std::string> values = {"", "plain", "it's", "back\\slash", "\\'", "'\\", "new\nline",
                                     std::string("nul\0inside", 10), "\xff\xfe not utf-8 \xc3", "\xc3\xa9t\xc3\xa9",
                                     "tab\tcr\r", "?{x:UInt8} %s"};
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  values.push_back(all_bytes);
  for (const std::string& v : values) {
    auto reply = shard1_->Query("SELECT " + Quote(v) + " FORMAT RowBinary");
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    RowReader r(*reply);
    std::string_view back;
    ASSERT_TRUE(r.String(&back));
    EXPECT_EQ(back, v);
    EXPECT_TRUE(r.done());
  }
}

// What the server writes for strings at the LEB128 edges is what RowReader
// reads, and what RowWriter writes the server stores and returns unchanged,
// byte for byte.
TEST_F(RowBinaryServer, ServerAgreesOnEveryColumnType) {
  UniqueDatabase db("row_binary");
  ASSERT_TRUE(db.CreateOnAllShards().ok());
  const std::string table = db.name() + ".types";
  auto created = shard1_->Query("CREATE TABLE " + table +
                                " (n UInt32, s String, f FixedString(4), a Array(String), u Array(UInt64),"
                                " b UInt8, w UInt16, i Int64, d Float64, x UInt64) ENGINE = MergeTree ORDER BY n");
  ASSERT_TRUE(created.ok()) << created.status().ToString();

  const std::vector<size_t> lengths = {0, 1, 127, 128, 16383, 16384, 1 << 20};
  RowWriter w;
  for (uint32_t n = 0; n < lengths.size(); ++n) {
    std::string s(lengths[n], static_cast<char>('a' + n));
    w.U32(n);
    w.String(s);
    w.FixedString(std::string(n % 5, 'f'), 4);
    w.StringArray(n % 2 == 0 ? std::vector<std::string>{} : std::vector<std::string>{s, "", "k"});
    w.U64Array(n % 2 == 1 ? std::vector<uint64_t>{} : std::vector<uint64_t>{n, ~uint64_t{0}});
    w.U8(static_cast<uint8_t>(200 + n));
    w.U16(static_cast<uint16_t>(60000 + n));
    w.I64(-static_cast<int64_t>(n) * 1000000007);
    w.F64(n + 0.25);
    w.U64(~uint64_t{0} - n);
  }
  Status inserted = shard1_->Insert("INSERT INTO " + table + " FORMAT RowBinary", w.data());
  ASSERT_TRUE(inserted.ok()) << inserted.ToString();

  auto lens = shard1_->Query("SELECT groupArray(length(s)) FROM (SELECT s FROM " + table + " ORDER BY n)");
  ASSERT_TRUE(lens.ok()) << lens.status().ToString();
  EXPECT_EQ(*lens, "[0,1,127,128,16383,16384,1048576]\n");

  auto back = shard1_->Query("SELECT * FROM " + table + " ORDER BY n FORMAT RowBinary");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == w.data()) << "the server's RowBinary differs from ours (" << back->size() << " vs "
                                 << w.size() << " bytes)";
  RowReader r(*back);
  for (uint32_t n = 0; n < lengths.size(); ++n) {
    uint32_t id;
    std::string_view s;
    std::string_view f;
    std::vector<std::string> a;
    std::vector<uint64_t> u;
    uint8_t b;
    uint16_t w16;
    int64_t i;
    double d;
    uint64_t x;
    ASSERT_TRUE(r.U32(&id) && r.String(&s) && r.FixedString(4, &f) && r.StringArray(&a) && r.U64Array(&u) &&
                r.U8(&b) && r.U16(&w16) && r.I64(&i) && r.F64(&d) && r.U64(&x));
    EXPECT_EQ(id, n);
    EXPECT_EQ(s.size(), lengths[n]);
    EXPECT_EQ(a.size(), n % 2 == 0 ? 0u : 3u);
    EXPECT_EQ(u.size(), n % 2 == 1 ? 0u : 2u);
    EXPECT_EQ(i, -static_cast<int64_t>(n) * 1000000007);
    EXPECT_EQ(d, n + 0.25);
    EXPECT_EQ(x, ~uint64_t{0} - n);
  }
  EXPECT_TRUE(r.done());
}

}  // namespace
}  // namespace tracedb::clickhouse
