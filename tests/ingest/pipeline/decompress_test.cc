#include "ingest/pipeline/decompress.h"

#include <gtest/gtest.h>

#include <lz4frame.h>

#include <algorithm>
#include <random>

namespace tracedb::ingest {
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

// WebSocket Binary frames (formerly compression_test.cc): the detection
// rule of DecompressFrame.
TEST(DecompressFrame, RoundTripsEveryAlgorithm) {
  std::string json = R"({"RecordEvent":{"trace_id":"x","event":{}}})";
  for (int i = 0; i < 50; ++i) json += " ";
  for (Codec c : {Codec::kZstd, Codec::kLz4, Codec::kGzip}) {
    auto back = DecompressFrame(CompressMessage(json, c, 3), 1 << 20);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, json) << CodecName(c);
  }
}

TEST(DecompressFrame, RawJsonPassesThrough) {
  for (std::string raw : {std::string(R"("Ping")"), std::string(R"({"StartTrace":{}})"), std::string("{")}) {
    auto back = DecompressFrame(raw, 1 << 20);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, raw);
  }
}

TEST(DecompressFrame, CorruptOrOversizedFramesAreErrors) {
  auto bad = DecompressFrame(std::string("\x28\xb5\x2f\xfd\x00\x01\x02", 7), 1 << 20);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("zstd"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(DecompressFrame(std::string("\x1f\x8b\x08\x00garbage", 11), 1 << 20).ok());
  std::string big(100000, 'a');
  for (Codec c : {Codec::kZstd, Codec::kGzip}) {
    auto over = DecompressFrame(CompressMessage(big, c, 3), 1000);
    ASSERT_FALSE(over.ok()) << CodecName(c);
    EXPECT_NE(over.status().message().find("exceeds the limit of 1000 bytes"), std::string::npos);
  }
  // An lz4 block announcing more than the limit is not taken as lz4: the
  // bytes are passed on as raw (and then fail to parse as JSON).
  auto lz = DecompressFrame(CompressMessage(big, Codec::kLz4, 3), 1000);
  ASSERT_TRUE(lz.ok());
  EXPECT_LT(lz->size(), 1000u);
  EXPECT_TRUE(CodecFromName("gzip").ok());
  EXPECT_FALSE(CodecFromName("brotli").ok());
  EXPECT_FALSE(CodecFromName("none").ok());
}

TEST(Decompress, BodiesRoundTripThroughTheStreamDecoderInEveryCodec) {
  std::string in = Sample(300000);
  for (Codec c : {Codec::kNone, Codec::kGzip, Codec::kZstd, Codec::kLz4}) {
    std::string packed = CompressBody(in, c);
    auto d = StreamDecoder::Create(c);
    std::string out;
    size_t max_piece = 0;
    for (size_t off = 0; off < packed.size(); off += 3000) {
      ASSERT_TRUE(d->Decode(std::string_view(packed).substr(off, 3000), [&](std::string_view piece) {
                     max_piece = std::max(max_piece, piece.size());
                     out.append(piece);
                     return Status::OK();
                   }).ok())
          << CodecName(c);
    }
    ASSERT_TRUE(d->Feed("", &out).ok());  // an empty slice after the end is harmless
    ASSERT_TRUE(d->Finish().ok()) << CodecName(c);
    EXPECT_EQ(out, in) << CodecName(c);
    EXPECT_LE(max_piece, kDecodePiece);
  }
}

TEST(Decompress, ASinkErrorStopsABombEarly) {
  // 64 MiB of zeros compress to a few KiB; the sink refuses after 1 MiB and
  // the decoder never produced the rest.
  std::string zeros(64 << 20, '\0');
  for (Codec c : {Codec::kGzip, Codec::kZstd, Codec::kLz4}) {
    std::string packed = CompressBody(zeros, c);
    ASSERT_LT(packed.size(), size_t{1} << 20);
    auto d = StreamDecoder::Create(c);
    size_t seen = 0;
    Status s = d->Decode(packed, [&](std::string_view piece) {
      seen += piece.size();
      return seen > (1 << 20) ? Status::ResourceExhausted("too big") : Status::OK();
    });
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << CodecName(c);
    EXPECT_LE(seen, (size_t{1} << 20) + kDecodePiece) << CodecName(c);
  }
}

TEST(Decompress, ContentEncodingIsCaseInsensitive) {
  EXPECT_EQ(*CodecFromContentEncoding("GZIP"), Codec::kGzip);
  EXPECT_EQ(*CodecFromContentEncoding(" zstd "), Codec::kZstd);
  EXPECT_EQ(*CodecFromContentEncoding("identity"), Codec::kNone);
  EXPECT_EQ(*CodecFromContentEncoding("lz4"), Codec::kLz4);
}

}  // namespace
}  // namespace tracedb::ingest
