#pragma once

// Many WebSocket frames in one write (ws_session.cc only: it keeps Beast in
// the few translation units docs/server.md names).
//
// Beast writes one message per call, and each costs a composed operation
// and a send(2). Under pipelining a session has hundreds of small replies
// ready at once (the acks of one group commit), so it frames them itself
// (AppendServerFrame) into one buffer and writes that with one call.
//
// Such a session also reads the client's frames itself (ws_frame_reader.h)
// and writes its own control frames (pong, ping, close), each frame with
// one WriteAll. On a connection with permessage-deflate Beast reads, writes
// its own control frames and the messages it compresses. Bytes of two
// writers must never interleave, so the websocket::stream sits on a
// GatedStream: every write, Beast's or the session's, takes the gate and
// writes all of its bytes before the next one starts. Beast writes a frame
// with one async_write (auto_fragment is off), so a frame is never split.
//
// Reads go through a read-ahead buffer (GatedStream::async_read_some).
//
// Thread-safety: a GatedStream is used only on its connection's strand.

#include <cstdint>
#include <deque>
#include <exception>
#include <string>
#include <string_view>
#include <tuple>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "server/net_stream.h"

namespace tracedb::server {

enum class FrameKind : uint8_t { kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA };

// Appends one unmasked, final WebSocket frame (RFC 6455 §5.2) of `payload`
// to `out`: a server's frame, which a client reads as one message (or a
// control frame: its payload is at most 125 bytes).
inline void AppendServerFrame(FrameKind kind, std::string_view payload, std::string* out) {
  char header[10];
  size_t n = 0;
  header[n++] = static_cast<char>(0x80 | static_cast<uint8_t>(kind));  // FIN, opcode
  const uint64_t len = payload.size();
  if (len < 126) {
    header[n++] = static_cast<char>(len);
  } else if (len <= 0xFFFF) {
    header[n++] = 126;
    header[n++] = static_cast<char>(len >> 8);
    header[n++] = static_cast<char>(len);
  } else {
    header[n++] = 127;
    for (int shift = 56; shift >= 0; shift -= 8) header[n++] = static_cast<char>(len >> shift);
  }
  out->append(header, n);
  out->append(payload);
}

// AnyStream behind a write gate (see the top of the file), with a
// read-ahead buffer. Each write holds the gate until all of its bytes are
// written.
class GatedStream {
 public:
  using executor_type = AnyStream::executor_type;
  using next_layer_type = AnyStream;

  explicit GatedStream(AnyStream&& stream) : next_(std::move(stream)) {}

  executor_type get_executor() { return next_.get_executor(); }
  AnyStream& next_layer() { return next_; }

  // Beast's reads. Beast reads a frame header into a 1.5 KB buffer and the
  // rest of the payload by itself, so one message cost one or two recv(2)
  // calls; here one recv takes whatever has arrived (up to kReadAhead) and
  // Beast's reads are served from it.
  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          if (read_ahead_.size() > 0) {
            size_t n = asio::buffer_copy(b, read_ahead_.data());
            read_ahead_.consume(n);
            asio::post(next_.get_executor(), beast::bind_front_handler(std::move(handler), beast::error_code{}, n));
            return;
          }
          next_.async_read_some(read_ahead_.prepare(kReadAhead),
                                [this, b, h = std::move(handler)](beast::error_code ec, size_t got) mutable {
                                  read_ahead_.commit(got);
                                  size_t n = asio::buffer_copy(b, read_ahead_.data());
                                  read_ahead_.consume(n);
                                  std::move(h)(n > 0 ? beast::error_code{} : ec, n);
                                });
        },
        token, buffers);
  }

  // Beast's writes. Completes after every byte of `buffers` was written
  // (or an error), so Beast never resumes a frame after someone else's.
  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          asio::co_spawn(next_.get_executor(), WriteAll(b),
                         [h = std::move(handler)](std::exception_ptr, std::tuple<beast::error_code, size_t> r) mutable {
                           std::move(h)(std::get<0>(r), std::get<1>(r));
                         });
        },
        token, buffers);
  }

  // Bytes that arrived before the stream took over the connection: the
  // first ones read.
  void Preload(std::string_view bytes) {
    read_ahead_.commit(asio::buffer_copy(read_ahead_.prepare(bytes.size()), asio::buffer(bytes)));
  }

  // The session's writes: all of `buffers` (which must stay valid until
  // this completes), in turn with Beast's.
  template <class ConstBufferSequence>
  awaitable<std::tuple<beast::error_code, size_t>> WriteAll(ConstBufferSequence buffers) {
    if (busy_) {
      // The writer ahead hands the gate over (busy_ stays set) by
      // cancelling this timer, which otherwise never expires.
      asio::steady_timer turn(next_.get_executor(), asio::steady_timer::time_point::max());
      waiters_.push_back(&turn);
      co_await turn.async_wait(kTuple);
    } else {
      busy_ = true;
    }
    auto [ec, n] = co_await asio::async_write(next_, buffers, kTuple);
    if (waiters_.empty()) {
      busy_ = false;
    } else {
      waiters_.front()->cancel();
      waiters_.pop_front();
    }
    co_return std::tuple<beast::error_code, size_t>{ec, n};
  }

 private:
  static constexpr size_t kReadAhead = 64 * 1024;

  AnyStream next_;
  beast::flat_buffer read_ahead_;  // received, not yet read by Beast
  bool busy_ = false;                        // a write holds the gate
  std::deque<asio::steady_timer*> waiters_;  // writers waiting for the gate, in arrival order
};

}  // namespace tracedb::server
