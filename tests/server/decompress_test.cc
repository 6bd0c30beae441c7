#include "server/decompress.h"

#include <gtest/gtest.h>

#include <lz4frame.h>

#include <random>

namespace tracedb::server {
namespace {

std::string Sample(size_t n) {
  std::mt19937 rng(9);
  std::string s;
  while (s.size() < n) s += R"({"RecordEvent":{"trace_id":")" + std::to_string(rng()) + "\"}}\n";
  return s;
}

TEST(Decompress, MessagesRoundTripInEveryCodec) {
  std::string in = Sample(100000);
  for (Codec c : {Codec::kNone, Codec::kGzip, Codec::kZstd, Codec::kLz4}) {
    std::string packed = CompressMessage(in, c);
    auto out = DecompressMessage(packed, c, 1 << 20);
    ASSERT_TRUE(out.ok()) << CodecName(c) << ": " << out.status().ToString();
    EXPECT_EQ(*out, in) << CodecName(c);
    if (c != Codec::kNone) {
      EXPECT_LT(packed.size(), in.size()) << CodecName(c);
      EXPECT_EQ(SniffCodec(packed), c) << CodecName(c);
    }
  }
  EXPECT_EQ(SniffCodec("  {\"Ping\":null}"), Codec::kNone);
}

TEST(Decompress, OversizedOutputIsRefused) {
  std::string bomb(4 << 20, 'a');
  for (Codec c : {Codec::kGzip, Codec::kZstd, Codec::kLz4}) {
    auto out = DecompressMessage(CompressMessage(bomb, c), c, 1 << 20);
    ASSERT_FALSE(out.ok()) << CodecName(c);
    EXPECT_NE(out.status().message().find("exceeds the limit"), std::string::npos);
  }
}

TEST(Decompress, CorruptAndTruncatedInputIsAnError) {
  std::string in = Sample(5000);
  for (Codec c : {Codec::kGzip, Codec::kZstd, Codec::kLz4}) {
    std::string packed = CompressMessage(in, c);
    EXPECT_FALSE(DecompressMessage(packed.substr(0, packed.size() / 2), c, 1 << 20).ok()) << CodecName(c);
    std::string garbage = packed;
    for (size_t i = 6; i < garbage.size(); i += 3) garbage[i] = static_cast<char>(garbage[i] ^ 0x5a);
    EXPECT_FALSE(DecompressMessage(garbage, c, 1 << 20).ok() && *DecompressMessage(garbage, c, 1 << 20) == in)
        << CodecName(c);
  }
}

TEST(Decompress, StreamsAcceptAnySlicing) {
  std::string in = Sample(300000);
  std::string gz = CompressMessage(in, Codec::kGzip);
  std::string zs = CompressMessage(in, Codec::kZstd);
  for (auto [codec, packed] : {std::pair{Codec::kGzip, gz}, std::pair{Codec::kZstd, zs}}) {
    for (size_t slice : {size_t{1}, size_t{7}, size_t{4096}, packed.size()}) {
      auto d = StreamDecoder::Create(codec);
      std::string out;
      for (size_t off = 0; off < packed.size(); off += slice) {
        ASSERT_TRUE(d->Feed(std::string_view(packed).substr(off, slice), &out).ok());
      }
      ASSERT_TRUE(d->Finish().ok());
      EXPECT_EQ(out, in) << CodecName(codec) << " slice " << slice;
    }
    auto d = StreamDecoder::Create(codec);
    std::string out;
    ASSERT_TRUE(d->Feed(std::string_view(packed).substr(0, packed.size() - 10), &out).ok());
    EXPECT_FALSE(d->Finish().ok()) << "truncated " << CodecName(codec);
  }
}

TEST(Decompress, Lz4FrameBodiesStream) {
  std::string in = Sample(200000);
  std::string frame(LZ4F_compressFrameBound(in.size(), nullptr), '\0');
  frame.resize(LZ4F_compressFrame(frame.data(), frame.size(), in.data(), in.size(), nullptr));
  auto d = StreamDecoder::Create(Codec::kLz4);
  std::string out;
  for (size_t off = 0; off < frame.size(); off += 1000) {
    ASSERT_TRUE(d->Feed(std::string_view(frame).substr(off, 1000), &out).ok());
  }
  ASSERT_TRUE(d->Finish().ok());
  EXPECT_EQ(out, in);
}

TEST(Decompress, ConcatenatedGzipMembersAreOneStream) {
  std::string a = CompressMessage("first\n", Codec::kGzip), b = CompressMessage("second\n", Codec::kGzip);
  auto d = StreamDecoder::Create(Codec::kGzip);
  std::string out;
  ASSERT_TRUE(d->Feed(a + b, &out).ok());
  ASSERT_TRUE(d->Finish().ok());
  EXPECT_EQ(out, "first\nsecond\n");
}

TEST(Decompress, ContentEncodingNames) {
  EXPECT_EQ(*CodecFromContentEncoding("gzip"), Codec::kGzip);
  EXPECT_EQ(*CodecFromContentEncoding(""), Codec::kNone);
  EXPECT_EQ(*CodecFromContentEncoding("zstd"), Codec::kZstd);
  auto bad = CodecFromContentEncoding("br");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'br'"), std::string::npos);
}

}  // namespace
}  // namespace tracedb::server
