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
#include <optional>
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
  std::string retry_after;   // Retry-After header ("" when absent)
  std::string subprotocol;   // Sec-WebSocket-Protocol header
  std::string connection;    // Connection header
};

// An HTTP request as the tests send it, byte for byte.
struct HttpRequestSpec {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Host
  std::string body;
  // Send the body with Transfer-Encoding: chunked in chunks of chunk_size
  // (else with Content-Length).
  bool chunked = false;
  size_t chunk_size = 4096;
  bool close = true;  // Connection: close
};

// The request bytes of `spec` (headers, then the body, chunked or not).
std::string BuildHttpRequest(const HttpRequestSpec& spec);
// Only the head of `spec` (request line and headers).
std::string BuildHttpHead(const HttpRequestSpec& spec);
// One chunk of a chunked body ("" gives the last chunk).
std::string HttpChunk(std::string_view data);

// A raw TCP connection to 127.0.0.1:<port> for HTTP tests that need to
// hold a request open (slow uploads, connection caps).
class RawHttpConnection {
 public:
  static Result<std::unique_ptr<RawHttpConnection>> Connect(uint16_t port);
  virtual ~RawHttpConnection() = default;
  virtual Status Send(std::string_view bytes) = 0;
  // Reads one response (status, headers, body).
  virtual Result<HttpResult> ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(30)) = 0;
  // Drops the connection at once with a TCP reset (SO_LINGER 0), as when
  // the client process dies. (Destroying the object closes it with a FIN.)
  virtual void Abort() = 0;
  // Reads until the server closes the connection (EOF or reset) and returns
  // the bytes that arrived; nullopt when it is still open after `timeout`
  // (the connection stays usable: the read is cancelled, not the socket).
  virtual Result<std::optional<std::string>> ReadUntilClosed(std::chrono::milliseconds timeout) = 0;
};

// Sends `spec` on a new connection and reads the response.
Result<HttpResult> HttpRequest(uint16_t port, const HttpRequestSpec& spec);

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
  // (zstd / lz4 / gzip, ingest/pipeline/decompress.h).
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
