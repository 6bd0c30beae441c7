#pragma once

// A small synchronous WebSocket / HTTP client for the server tests. Its
// implementation (ws_client_util.cc) is the tests' only Beast translation
// unit, so the test files themselves compile fast.
//
// Every blocking call takes a timeout; on expiry it fails instead of
// hanging the test. Not thread-safe: one client per thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace tracedb::server::testing {

struct WsMessage {
  bool binary = false;
  std::string data;
};

struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string body;
};

class WsClient {
 public:
  // Connects to ws://127.0.0.1:<port><path>. With `deflate` the client
  // offers permessage-deflate.
  static Result<std::unique_ptr<WsClient>> Connect(uint16_t port, bool deflate = false,
                                                   std::string path = "/");
  virtual ~WsClient() = default;

  virtual Status SendText(std::string_view text) = 0;
  virtual Status SendBinary(std::string_view bytes) = 0;
  // The next message (reply or push).
  virtual Result<WsMessage> Receive(std::chrono::milliseconds timeout = std::chrono::seconds(20)) = 0;
  // The next message as JSON text: Binary frames are decompressed
  // (zstd / lz4 / gzip, server/compression.h).
  Result<std::string> ReceiveJson(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Sends every text of `texts` (Text frames) while concurrently reading,
  // as a pipelining client does, until `replies` messages arrived. Returns
  // them in arrival order.
  virtual Result<std::vector<WsMessage>> Pipeline(const std::vector<std::string>& texts, size_t replies,
                                                  std::chrono::milliseconds timeout = std::chrono::seconds(120)) = 0;
  // Whether permessage-deflate was negotiated.
  virtual bool deflate_negotiated() const = 0;
  // Sends a Close frame and waits for the server's.
  virtual Status Close() = 0;
  // Drops the TCP connection without a Close frame.
  virtual void Abort() = 0;
};

// GET http://127.0.0.1:<port><path> (Connection: close).
Result<HttpResult> HttpGet(uint16_t port, std::string_view path);

}  // namespace tracedb::server::testing
