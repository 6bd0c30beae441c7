// The client-frame reader of the self-framing WebSocket sessions
// (server/ws_frame_reader.h), on bytes: every frame shape RFC 6455 allows a
// client, split at every byte boundary, and every protocol error.

#include "server/ws_frame_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tracedb::server {
namespace {

using Kind = WsInbound::Kind;

// One client frame: `fin`, `opcode`, masked with `key` (RFC 6455 §5.2).
std::string Frame(bool fin, uint8_t opcode, std::string_view payload, uint32_t key = 0x37fa213d,
                  bool masked = true, uint8_t rsv = 0) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | rsv | opcode));
  const uint8_t m = masked ? 0x80 : 0;
  const uint64_t len = payload.size();
  if (len < 126) {
    f.push_back(static_cast<char>(m | len));
  } else if (len <= 0xFFFF) {
    f.push_back(static_cast<char>(m | 126));
    f.push_back(static_cast<char>(len >> 8));
    f.push_back(static_cast<char>(len));
  } else {
    f.push_back(static_cast<char>(m | 127));
    for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<char>(len >> s));
  }
  const uint8_t k[4] = {static_cast<uint8_t>(key >> 24), static_cast<uint8_t>(key >> 16),
                        static_cast<uint8_t>(key >> 8), static_cast<uint8_t>(key)};
  if (masked) f.append(reinterpret_cast<const char*>(k), 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    f.push_back(static_cast<char>(static_cast<uint8_t>(payload[i]) ^ (masked ? k[i % 4] : 0)));
  }
  return f;
}

// Feeds `bytes` in pieces of `step` bytes, as a session does: unconsumed
// bytes are given again with the next piece.
std::vector<WsInbound> Read(std::string_view bytes, size_t step, uint64_t max = 0) {
  WsFrameReader r(max);
  std::vector<WsInbound> out;
  std::string pending;
  for (size_t at = 0; at < bytes.size(); at += step) {
    pending.append(bytes.substr(at, step));
    pending.erase(0, r.Parse(pending, &out));
  }
  return out;
}

std::string Payload(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

TEST(WsFrameReader, MessagesOfEveryLengthEncodingReadBackAtEverySplit) {
  const std::string small = Payload(5), mid = Payload(126), big = Payload(70000), empty;
  const std::string bytes = Frame(true, 1, small) + Frame(true, 2, mid) + Frame(true, 1, big) + Frame(true, 1, empty);
  for (size_t step : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{1000}, bytes.size()}) {
    auto got = Read(bytes, step);
    ASSERT_EQ(got.size(), 4u) << "step " << step;
    EXPECT_EQ(got[0].kind, Kind::kMessage);
    EXPECT_FALSE(got[0].binary);
    EXPECT_EQ(got[0].payload, small) << "step " << step;
    EXPECT_TRUE(got[1].binary);
    EXPECT_EQ(got[1].payload, mid) << "step " << step;
    EXPECT_EQ(got[2].payload, big) << "step " << step;
    EXPECT_EQ(got[2].size, big.size());
    EXPECT_EQ(got[3].kind, Kind::kMessage);
    EXPECT_EQ(got[3].payload, "");
  }
}

TEST(WsFrameReader, FragmentsJoinWithControlFramesBetweenThem) {
  const std::string bytes = Frame(false, 1, "{\"Pi") + Frame(true, 9, "are you there") + Frame(false, 0, "ng\"") +
                            Frame(true, 0xA, "") + Frame(true, 0, "") + Frame(true, 1, "x");
  for (size_t step : {size_t{1}, size_t{5}, bytes.size()}) {
    auto got = Read(bytes, step);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].kind, Kind::kPing);
    EXPECT_EQ(got[0].payload, "are you there");
    EXPECT_EQ(got[1].kind, Kind::kPong);
    EXPECT_EQ(got[2].kind, Kind::kMessage);
    EXPECT_EQ(got[2].payload, "{\"Ping\"");
    EXPECT_EQ(got[3].payload, "x");
  }
}

TEST(WsFrameReader, AMessageOverTheLimitIsDroppedAsItArrivesAndReportedOnce) {
  const std::string bytes =
      Frame(false, 1, Payload(60)) + Frame(true, 0, Payload(60)) + Frame(true, 1, Payload(100)) + Frame(true, 1, "ok");
  auto got = Read(bytes, 3, /*max=*/100);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].kind, Kind::kTooBig);
  EXPECT_EQ(got[0].size, 120u);
  EXPECT_EQ(got[1].kind, Kind::kMessage);  // exactly at the limit
  EXPECT_EQ(got[1].payload, Payload(100));
  EXPECT_EQ(got[2].payload, "ok");
}

TEST(WsFrameReader, CloseCarriesItsCodeAndReasonAndEndsReading) {
  std::string close = Frame(true, 8, std::string("\x03\xe8", 2) + "bye");
  auto got = Read(close + Frame(true, 1, "after"), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kClose);
  EXPECT_EQ(got[0].code, 1000);
  EXPECT_EQ(got[0].payload, "bye");
  got = Read(Frame(true, 8, ""), 2);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].code, 1005);
}

TEST(WsFrameReader, ProtocolErrorsAreReportedAndNothingIsReadAfter) {
  struct Case {
    std::string bytes;
    std::string why;
  };
  const std::vector<Case> cases = {
      {Frame(true, 1, "x", 0, /*masked=*/false), "unmasked"},
      {Frame(true, 1, "x", 1, true, /*rsv=*/0x40), "reserved bits"},
      {Frame(true, 3, "x"), "reserved data opcode"},
      {Frame(true, 0xB, "x"), "reserved control opcode"},
      {Frame(false, 9, "x"), "fragmented control"},
      {Frame(true, 9, Payload(126)), "over 125"},
      {Frame(true, 0, "x"), "no message to continue"},
      {Frame(false, 1, "a") + Frame(true, 1, "b"), "inside a fragmented"},
      {std::string("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10) + "kkkk", "top bit"},
  };
  for (const Case& c : cases) {
    auto got = Read(c.bytes + Frame(true, 1, "later"), 1);
    ASSERT_EQ(got.size(), 1u) << c.why;
    EXPECT_EQ(got[0].kind, Kind::kProtocolError) << c.why;
    EXPECT_NE(got[0].payload.find(c.why), std::string::npos) << got[0].payload;
  }
}

TEST(WsFrameReader, AnIncompleteHeaderIsLeftForTheNextBytes) {
  WsFrameReader r(0);
  std::vector<WsInbound> out;
  const std::string f = Frame(true, 1, Payload(300));
  EXPECT_EQ(r.Parse(std::string_view(f).substr(0, 3), &out), 0u);  // 16-bit length incomplete
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(r.Parse(f, &out), f.size());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, Payload(300));
}

}  // namespace
}  // namespace tracedb::server
