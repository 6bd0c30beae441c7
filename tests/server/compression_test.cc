#include "server/compression.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tracedb::server {
namespace {

TEST(Compression, RoundTripsEveryAlgorithm) {
  std::string json = R"({"RecordEvent":{"trace_id":"x","event":{}}})";
  for (int i = 0; i < 50; ++i) json += " ";
  for (auto algo : {Compression::kZstd, Compression::kLz4, Compression::kGzip}) {
    std::string frame = CompressFrame(algo, json, 3);
    auto back = DecompressFrame(frame, 1 << 20);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, json);
  }
}

TEST(Compression, RawJsonPassesThrough) {
  for (std::string raw : {std::string(R"("Ping")"), std::string(R"({"StartTrace":{}})"), std::string("{")}) {
    auto back = DecompressFrame(raw, 1 << 20);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, raw);
  }
}

TEST(Compression, CorruptOrOversizedFramesAreErrors) {
  auto bad = DecompressFrame(std::string("\x28\xb5\x2f\xfd\x00\x01\x02", 7), 1 << 20);
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("zstd"));
  auto badgz = DecompressFrame(std::string("\x1f\x8b\x08\x00garbage", 11), 1 << 20);
  EXPECT_FALSE(badgz.ok());
  std::string big(100000, 'a');
  auto over = DecompressFrame(CompressFrame(Compression::kZstd, big, 3), 1000);
  EXPECT_FALSE(over.ok());
  EXPECT_THAT(over.status().message(), ::testing::HasSubstr("more than 1000 bytes"));
  EXPECT_TRUE(ParseCompression("gzip").ok());
  EXPECT_FALSE(ParseCompression("brotli").ok());
}

}  // namespace
}  // namespace tracedb::server
