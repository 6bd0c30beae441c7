#include "tests/server/ws_client.h"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <fmt/format.h>

#include "ingest/pipeline/decompress.h"

namespace tracedb::server::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using ingest::DecompressFrame;

namespace {

// Runs the io_context until `done` or the timeout; on timeout closes the
// socket (which completes the pending operation with an error).
bool RunUntil(asio::io_context& ioc, const bool& done, std::chrono::milliseconds timeout,
              const std::function<void()>& cancel) {
  ioc.restart();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      cancel();
      ioc.restart();
      ioc.run_for(std::chrono::milliseconds(500));
      return false;
    }
    ioc.run_one_for(deadline - now);
  }
  return true;
}

class BeastClient : public WsClient {
 public:
  BeastClient() : ws_(ioc_) {}

  Status Connect(uint16_t port, bool deflate, const std::string& path) {
    beast::error_code ec;
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    ws_.next_layer().connect(ep, ec);
    if (ec) return Status::IoError("connect: " + ec.message());
    if (deflate) {
      websocket::permessage_deflate pmd;
      pmd.client_enable = true;
      ws_.set_option(pmd);
    }
    ws_.read_message_max(0);
    websocket::response_type res;
    ws_.handshake(res, "127.0.0.1:" + std::to_string(port), path, ec);
    if (ec) return Status::IoError("handshake: " + ec.message());
    auto ext = res[http::field::sec_websocket_extensions];
    deflate_ = ext.find("permessage-deflate") != beast::string_view::npos;
    return Status::OK();
  }

  Status SendText(std::string_view text) override {
    beast::error_code ec;
    ws_.text(true);
    ws_.write(asio::buffer(text.data(), text.size()), ec);
    return ec ? Status::IoError("write: " + ec.message()) : Status::OK();
  }

  Status SendBinary(std::string_view bytes) override {
    beast::error_code ec;
    ws_.binary(true);
    ws_.write(asio::buffer(bytes.data(), bytes.size()), ec);
    return ec ? Status::IoError("write: " + ec.message()) : Status::OK();
  }

  Result<WsMessage> Receive(std::chrono::milliseconds timeout) override {
    beast::flat_buffer buf;
    bool done = false;
    beast::error_code result;
    ws_.async_read(buf, [&](beast::error_code ec, size_t) {
      result = ec;
      done = true;
    });
    if (!RunUntil(ioc_, done, timeout, [&] {
          beast::error_code ignored;
          ws_.next_layer().close(ignored);
        })) {
      return Status::Unavailable("timed out waiting for a message");
    }
    if (result) return Status::IoError("read: " + result.message());
    WsMessage m;
    m.binary = !ws_.got_text();
    m.data = beast::buffers_to_string(buf.data());
    return m;
  }

  Result<std::vector<WsMessage>> Pipeline(const std::vector<std::string>& texts, size_t replies,
                                          std::chrono::milliseconds timeout) override {
    std::vector<WsMessage> out;
    out.reserve(replies);
    beast::error_code failure;
    size_t next = 0;
    bool writes_done = texts.empty();
    bool reads_done = replies == 0;
    bool done = writes_done && reads_done;
    beast::flat_buffer buf;
    std::function<void()> write_next = [&] {
      ws_.text(true);
      ws_.async_write(asio::buffer(texts[next]), [&](beast::error_code ec, size_t) {
        if (ec) failure = ec, writes_done = true;
        else if (++next == texts.size()) writes_done = true;
        else write_next();
        done = (writes_done && reads_done) || failure;
      });
    };
    std::function<void()> read_next = [&] {
      ws_.async_read(buf, [&](beast::error_code ec, size_t) {
        if (ec) {
          failure = ec, reads_done = true;
        } else {
          out.push_back(WsMessage{!ws_.got_text(), beast::buffers_to_string(buf.data())});
          buf.consume(buf.size());
          if (out.size() == replies) reads_done = true;
          else read_next();
        }
        done = (writes_done && reads_done) || failure;
      });
    };
    if (!writes_done) write_next();
    if (!reads_done) read_next();
    if (!RunUntil(ioc_, done, timeout, [&] {
          beast::error_code ignored;
          ws_.next_layer().close(ignored);
        })) {
      return Status::Unavailable("pipeline timed out after " + std::to_string(out.size()) + " replies, " +
                                 std::to_string(next) + " sent");
    }
    if (failure) return Status::IoError("pipeline: " + failure.message());
    return out;
  }

  bool deflate_negotiated() const override { return deflate_; }

  Status Close() override {
    beast::error_code ec;
    ws_.close(websocket::close_code::normal, ec);
    return ec ? Status::IoError("close: " + ec.message()) : Status::OK();
  }

  void Abort() override {
    beast::error_code ignored;
    ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    ws_.next_layer().close(ignored);
  }

 private:
  asio::io_context ioc_;
  websocket::stream<tcp::socket> ws_;
  bool deflate_ = false;
};

}  // namespace

Result<std::unique_ptr<WsClient>> WsClient::Connect(uint16_t port, bool deflate, std::string path) {
  auto c = std::make_unique<BeastClient>();
  TRACEDB_RETURN_IF_ERROR(c->Connect(port, deflate, path));
  return std::unique_ptr<WsClient>(std::move(c));
}

Result<std::string> WsClient::ReceiveJson(std::chrono::milliseconds timeout) {
  TRACEDB_ASSIGN_OR_RETURN(WsMessage m, Receive(timeout));
  if (!m.binary) return std::move(m.data);
  return DecompressFrame(m.data, size_t{1} << 30);
}

Result<HttpResult> HttpGet(uint16_t port, std::string_view path) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return Status::IoError("connect: " + ec.message());
  http::request<http::empty_body> req{http::verb::get, std::string(path), 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "close");
  http::write(stream, req, ec);
  if (ec) return Status::IoError("write: " + ec.message());
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res, ec);
  if (ec) return Status::IoError("read: " + ec.message());
  HttpResult out;
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  out.body = res.body();
  return out;
}

std::string BuildHttpHead(const HttpRequestSpec& spec) {
  std::string out = spec.method + " " + spec.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : spec.headers) out += k + ": " + v + "\r\n";
  if (spec.close) out += "Connection: close\r\n";
  if (spec.chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  } else if (!spec.body.empty() || spec.method == "POST") {
    out += "Content-Length: " + std::to_string(spec.body.size()) + "\r\n";
  }
  return out + "\r\n";
}

std::string HttpChunk(std::string_view data) {
  return fmt::format("{:x}\r\n", data.size()) + std::string(data) + "\r\n";
}

std::string BuildHttpRequest(const HttpRequestSpec& spec) {
  std::string out = BuildHttpHead(spec);
  if (!spec.chunked) return out + spec.body;
  std::string_view body(spec.body);
  for (size_t off = 0; off < body.size(); off += spec.chunk_size) out += HttpChunk(body.substr(off, spec.chunk_size));
  return out + HttpChunk("");
}

namespace {

class BeastRawConnection : public RawHttpConnection {
 public:
  BeastRawConnection() : stream_(ioc_) {}

  Status Connect(uint16_t port) {
    beast::error_code ec;
    stream_.socket().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    return ec ? Status::IoError("connect: " + ec.message()) : Status::OK();
  }

  Status Send(std::string_view bytes) override {
    beast::error_code ec;
    asio::write(stream_.socket(), asio::buffer(bytes.data(), bytes.size()), ec);
    return ec ? Status::IoError("write: " + ec.message()) : Status::OK();
  }

  Result<HttpResult> ReadResponse(std::chrono::milliseconds timeout) override {
    http::response_parser<http::string_body> parser;
    parser.body_limit(size_t{1} << 30);
    beast::error_code ec;
    bool done = false;
    http::async_read(stream_, buf_, parser, [&](beast::error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!RunUntil(ioc_, done, timeout, [this] {
          beast::error_code ignored;
          stream_.socket().close(ignored);
        })) {
      return Status::IoError("timeout reading the response");
    }
    if (ec) return Status::IoError("read: " + ec.message());
    auto& res = parser.get();
    HttpResult out;
    out.status = res.result_int();
    out.content_type = std::string(res[http::field::content_type]);
    out.retry_after = std::string(res[http::field::retry_after]);
    out.subprotocol = std::string(res[http::field::sec_websocket_protocol]);
    out.connection = std::string(res[http::field::connection]);
    out.body = res.body();
    return out;
  }

  void Abort() override {
    beast::error_code ignored;
    stream_.socket().set_option(asio::socket_base::linger(true, 0), ignored);
    stream_.socket().close(ignored);
  }

  Result<std::optional<std::string>> ReadUntilClosed(std::chrono::milliseconds timeout) override {
    std::string got(static_cast<const char*>(buf_.data().data()), buf_.size());
    buf_.consume(buf_.size());
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char chunk[4096];
    while (true) {
      beast::error_code ec;
      size_t n = 0;
      bool done = false;
      stream_.socket().async_read_some(asio::buffer(chunk), [&](beast::error_code e, size_t k) {
        ec = e;
        n = k;
        done = true;
      });
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      bool finished = RunUntil(ioc_, done, std::max(left, std::chrono::milliseconds(1)), [this] {
        beast::error_code ignored;
        stream_.socket().cancel(ignored);
      });
      if (!finished) {
        while (!done) ioc_.run_one_for(std::chrono::milliseconds(100));  // the cancelled read's handler
        return std::optional<std::string>();
      }
      got.append(chunk, n);
      if (ec == asio::error::eof || ec == asio::error::connection_reset) return std::optional<std::string>(got);
      if (ec) return Status::IoError("read: " + ec.message());
    }
  }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
};

}  // namespace

Result<std::unique_ptr<RawHttpConnection>> RawHttpConnection::Connect(uint16_t port) {
  auto c = std::make_unique<BeastRawConnection>();
  TRACEDB_RETURN_IF_ERROR(c->Connect(port));
  return std::unique_ptr<RawHttpConnection>(std::move(c));
}

Result<HttpResult> HttpRequest(uint16_t port, const HttpRequestSpec& spec) {
  TRACEDB_ASSIGN_OR_RETURN(auto c, RawHttpConnection::Connect(port));
  TRACEDB_RETURN_IF_ERROR(c->Send(BuildHttpRequest(spec)));
  return c->ReadResponse();
}

}  // namespace tracedb::server::testing
