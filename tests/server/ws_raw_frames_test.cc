// A WebSocket session reads the client's frames itself (ws_frame_reader.h)
// when permessage-deflate is off: raw frames over a real socket check what
// Beast did before: fragments joined, pings answered with their payload,
// the client's Close echoed, a protocol error closed with 1002, and the
// process still serving others afterwards.

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "tests/server/server_test_util.h"
#include "tests/server/ws_client.h"

namespace tracedb::server::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kUpgrade =
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

// A masked client frame (RFC 6455 §5.2); payloads under 126 bytes.
std::string ClientFrame(bool fin, uint8_t opcode, std::string_view payload, bool masked = true) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  f.push_back(static_cast<char>((masked ? 0x80 : 0) | payload.size()));
  const char key[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) f.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ (masked ? key[i % 4] : 0)));
  return f;
}

// A server frame as it appears on the wire (unmasked, short).
std::string ServerFrame(uint8_t opcode, std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  f.push_back(static_cast<char>(payload.size()));
  f.append(payload);
  return f;
}

class WsRawFramesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ts_.Start(TestServer::DefaultConfig()).ok()); }

  std::unique_ptr<RawHttpConnection> Upgraded() {
    auto c = RawHttpConnection::Connect(ts_.port());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return nullptr;
    EXPECT_TRUE((*c)->Send(kUpgrade).ok());
    return std::move(c).value();
  }

  // A Ping request still gets its Pong over a fresh connection.
  void ExpectServing() {
    auto ws = ts_.Connect();
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->SendText("\"Ping\"").ok());
    auto r = ws->ReceiveJson();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_NE(r->find("Pong"), std::string::npos) << *r;
  }

  TestServer ts_;
};

TEST_F(WsRawFramesTest, FragmentsWithAPingBetweenThemThenCloseIsEchoed) {
  auto c = Upgraded();
  ASSERT_NE(c, nullptr);
  // The request "Ping" in three fragments, a ping and a pong among them.
  ASSERT_TRUE(c->Send(ClientFrame(false, 0x1, "\"Pi") + ClientFrame(true, 0x9, "hb-1") + ClientFrame(false, 0x0, "n") +
                      ClientFrame(true, 0xA, "") + ClientFrame(true, 0x0, "g\""))
                  .ok());
  std::this_thread::sleep_for(500ms);  // the reply goes out before the close below is read
  ASSERT_TRUE(c->Send(ClientFrame(true, 0x8, std::string("\x03\xe8", 2) + "done")).ok());
  auto r = c->ReadUntilClosed(10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value()) << "the server did not close after the client's Close";
  const std::string& bytes = **r;
  const size_t frames = bytes.find("\r\n\r\n");
  ASSERT_NE(frames, std::string::npos) << bytes;
  const std::string wire = bytes.substr(frames + 4);
  const size_t pong = wire.find(ServerFrame(0xA, "hb-1"));
  const size_t reply = wire.find("Pong\"");
  const size_t close = wire.find(ServerFrame(0x8, std::string("\x03\xe8", 2)));
  ASSERT_NE(pong, std::string::npos) << "no pong echoing the ping's payload";
  ASSERT_NE(reply, std::string::npos) << "the fragmented Ping request got no reply";
  ASSERT_NE(close, std::string::npos) << "the client's close code 1000 was not echoed";
  EXPECT_LT(pong, reply);
  EXPECT_LT(reply, close);
  EXPECT_EQ(close + 4, wire.size()) << "nothing may follow the close frame";
  ExpectServing();
}

TEST_F(WsRawFramesTest, AnUnmaskedFrameIsAProtocolErrorClosedWith1002) {
  auto c = Upgraded();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send(ClientFrame(true, 0x1, "\"Ping\"", /*masked=*/false)).ok());
  auto r = c->ReadUntilClosed(10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value()) << "the server kept a connection that broke the protocol";
  const std::string wire = (*r)->substr((*r)->find("\r\n\r\n") + 4);
  ASSERT_GE(wire.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(wire[0]), 0x88);
  EXPECT_EQ(wire.substr(2, 2), std::string("\x03\xea", 2));  // 1002
  EXPECT_NE(wire.find("unmasked"), std::string::npos) << wire;
  ExpectServing();
}

// The Close rides in the same segment as the upgrade request: bytes the
// HTTP parser read behind the request are the session's first.
TEST_F(WsRawFramesTest, ACloseSentWithTheUpgradeAndWithoutACodeIsEchoedEmpty) {
  auto c = RawHttpConnection::Connect(ts_.port());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE((*c)->Send(std::string(kUpgrade) + ClientFrame(true, 0x8, "")).ok());
  auto r = (*c)->ReadUntilClosed(10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value()) << "the Close sent behind the upgrade request was lost";
  const std::string wire = (*r)->substr((*r)->find("\r\n\r\n") + 4);
  EXPECT_EQ(wire, ServerFrame(0x8, ""));
}

}  // namespace
}  // namespace tracedb::server::testing
