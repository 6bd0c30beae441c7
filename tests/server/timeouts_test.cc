// Peers that hold a connection without finishing anything: a header trickled
// a byte at a time, a body that stops, a WebSocket peer that is gone but
// never closed. Each is cut after its timeout, and a quiet but live
// WebSocket client (it answers pings) is not.

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "tests/server/server_test_util.h"
#include "tests/server/ws_client.h"

namespace tracedb::server::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class TimeoutsTest : public ::testing::Test {
 protected:
  void Start(uint64_t http_idle_seconds, uint64_t ws_idle_seconds) {
    Config c = TestServer::DefaultConfig();
    c.idle_timeout_seconds = http_idle_seconds;
    c.ws_idle_timeout_seconds = ws_idle_seconds;
    ASSERT_TRUE(ts_.Start(c).ok());
  }

  std::unique_ptr<RawHttpConnection> Raw() {
    auto c = RawHttpConnection::Connect(ts_.port());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  TestServer ts_;
};

// The header has one deadline, http.idle_timeout_seconds, however many bytes
// keep arriving: a slowloris client cannot hold a connection.
TEST_F(TimeoutsTest, TricklingHeadersAreCutAfterTheIdleTimeout) {
  Start(1, 300);
  auto c = Raw();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").ok());
  const auto t0 = Clock::now();
  std::optional<std::string> closed;
  while (!closed && Clock::now() - t0 < 8s) {
    if (!c->Send("x").ok()) {
      closed = "";
      break;
    }
    auto r = c->ReadUntilClosed(200ms);
    if (!r.ok()) {
      closed = "";  // reset while reading: closed too
      break;
    }
    closed = *r;
  }
  const auto took = Clock::now() - t0;
  ASSERT_TRUE(closed.has_value()) << "still open after 8 s of a trickled header";
  EXPECT_GE(took, 800ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(closed->find("200 OK"), std::string::npos) << "the unfinished request was answered: " << *closed;
  auto health = HttpGet(ts_.port(), "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
}

// An upload whose body stops arriving is cut, and its ingest worker is
// given back.
TEST_F(TimeoutsTest, ABodyThatStopsIsCutAndItsWorkerFreed) {
  Start(1, 300);
  auto c = Raw();
  ASSERT_NE(c, nullptr);
  std::string line = StartTraceJson("stalled", Uuid(1)) + "\n";
  ASSERT_TRUE(c->Send("POST /v1/ingest/reflow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + line).ok());
  ASSERT_TRUE(WaitForMetric(ts_.port(), "tracedb_ingest_requests_active", 1));
  const auto t0 = Clock::now();
  auto r = c->ReadUntilClosed(8s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value()) << "a stalled upload is still connected after 8 s";
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_TRUE(WaitForMetric(ts_.port(), "tracedb_ingest_requests_active", 0));
}

// A WebSocket peer that vanished without a FIN (or stopped reading) sends
// nothing: the server pings it at half of server.ws_idle_timeout_seconds
// and closes it when no pong came within the timeout.
TEST_F(TimeoutsTest, ASilentWebSocketPeerIsPingedThenClosed) {
  Start(30, 2);
  auto c = Raw();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                  .ok());
  const auto t0 = Clock::now();
  auto r = c->ReadUntilClosed(10s);
  const auto took = Clock::now() - t0;
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value()) << "a peer that never answers pings is still connected after 10 s";
  const std::string& bytes = **r;
  ASSERT_NE(bytes.find("101 Switching Protocols"), std::string::npos) << bytes;
  const size_t frames = bytes.find("\r\n\r\n") + 4;
  ASSERT_LT(frames, bytes.size() + 1);
  // The first frame after the handshake is a ping (FIN + opcode 0x9).
  ASSERT_GT(bytes.size(), frames) << "no frame came before the close";
  EXPECT_EQ(static_cast<uint8_t>(bytes[frames]), 0x89);
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 8s);
  // The session is gone: only the connection asking for /metrics is open.
  EXPECT_TRUE(WaitForMetric(ts_.port(), "tracedb_http_connections_open", 1));
  EXPECT_TRUE(WaitForMetric(ts_.port(), "tracedb_connections_open", 0));
}

// A client that says nothing but answers pings (Beast answers them while a
// read is pending) outlives the idle timeout.
TEST_F(TimeoutsTest, AQuietClientThatAnswersPingsStays) {
  Start(30, 2);
  auto ws = ts_.Connect();
  ASSERT_NE(ws, nullptr);
  auto r = ws->Receive(5s);  // no message is due: the read ends by our timeout, not by a close
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

}  // namespace
}  // namespace tracedb::server::testing
