#pragma once

// What the Beast translation units of server/ share (listener.cc,
// http_session.cc, ws_session.cc; docs/server.md on why they are few): the
// namespace aliases, AnyStream (plain TCP or TLS as one stream type, so the
// HTTP and WebSocket code is instantiated once) and Signal (a flag another
// thread raises for a connection's coroutine).
//
// BOOST_ASIO_NO_DEPRECATED must match in every translation unit that
// includes Boost.Asio and is linked with these: tracedb_server defines it
// for itself and its users (PUBLIC, server/CMakeLists.txt), so the tests'
// WebSocket/HTTP client code is built with it too. The macro changes the return type of
// Asio's synchronous `error_code&` overloads (basic_socket::shutdown, close,
// ...: void instead of error_code) but not their mangled names, so without
// it the linker keeps one of two incompatible copies and a caller uses the
// wrong calling convention (the hidden return slot becomes `this`).
// Optimized builds inline the calls and hid it; the sanitizer build crashed
// in socket shutdown (docs/server.md, "Sanitizers").
#ifndef BOOST_ASIO_NO_DEPRECATED
#error "BOOST_ASIO_NO_DEPRECATED must be defined by the build (server/CMakeLists.txt)"
#endif

#include <chrono>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

namespace tracedb::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using Clock = std::chrono::steady_clock;

inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// A TCP connection, plain or TLS, as one stream type.
class AnyStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  using next_layer_type = beast::tcp_stream;

  explicit AnyStream(tcp::socket socket) : tcp_(std::in_place, std::move(socket)) {}
  AnyStream(tcp::socket socket, ssl::context& ctx) : tls_(std::in_place, beast::tcp_stream(std::move(socket)), ctx) {}

  executor_type get_executor() { return next_layer().get_executor(); }
  beast::tcp_stream& next_layer() { return tls_ ? tls_->next_layer() : *tcp_; }
  bool is_tls() const { return tls_.has_value(); }
  beast::ssl_stream<beast::tcp_stream>& tls() { return *tls_; }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          if (tls_) {
            tls_->async_read_some(b, std::move(handler));
          } else {
            tcp_->async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            tcp_->async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  std::optional<beast::tcp_stream> tcp_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
};

// A flag another thread sets through the connection's executor (post
// Notify there) and the connection's coroutine awaits. Safe without locks:
// both run on the strand, and a posted Notify runs only once the coroutine
// is suspended.
struct Signal {
  explicit Signal(const asio::any_io_executor& ex) : timer(ex) {}
  void Notify() {
    set = true;
    timer.cancel();
  }
  awaitable<void> Wait() {
    while (!set) {
      timer.expires_at(asio::steady_timer::time_point::max());
      co_await timer.async_wait(kTuple);
    }
  }
  asio::steady_timer timer;
  bool set = false;
};

}  // namespace tracedb::server
