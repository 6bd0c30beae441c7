#pragma once

// Reads a client's WebSocket frames (RFC 6455 §5) from the bytes received,
// for the sessions that frame their own replies (ws_session.cc, every
// connection without permessage-deflate). Beast reads one message per
// composed operation, each resumed through the connection's executor; here
// one recv(2) of up to 64 KiB is parsed in a loop into every message it
// completes. No Beast: this file is plain C++ and unit-tested on bytes
// (tests/server/ws_frame_reader_test.cc).
//
// What it accepts: masked frames (a client's; an unmasked one is a protocol
// error), Text and Binary messages in one frame or fragmented into
// Continuation frames, Ping / Pong / Close control frames (also between the
// fragments of a message), payloads streamed: a frame need not be received
// whole, so a message larger than the limit is dropped as it arrives and
// reported once it ends (the connection stays open). Protocol errors (RSV
// bits: no extension is negotiated on these connections; reserved opcodes;
// a control frame that is fragmented or over 125 bytes; a Continuation with
// no message to continue; a data frame inside a fragmented message; a
// 64-bit length with its top bit set) end the reading: the session closes
// with 1002. Text payloads are not checked for UTF-8 here: the JSON
// decoder rejects invalid UTF-8 with an Error reply naming it.
//
// Thread-safety: none (one connection's strand).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tracedb::server {

// One thing a client sent.
struct WsInbound {
  enum class Kind : uint8_t {
    kMessage,   // a complete Text or Binary message (`payload`, `binary`)
    kTooBig,    // a message over the limit ended; `size` bytes were dropped
    kPing,      // `payload`: to be echoed in a Pong
    kPong,
    kClose,     // `code` (1005 when the frame had none), `payload`: the reason
    kProtocolError,  // `payload`: what was wrong; nothing more is read
  };
  Kind kind = Kind::kMessage;
  bool binary = false;
  uint16_t code = 0;
  uint64_t size = 0;
  std::string payload;
};

class WsFrameReader {
 public:
  // Messages over `max_message_bytes` (0: no limit) are dropped (kTooBig).
  explicit WsFrameReader(uint64_t max_message_bytes) : max_(max_message_bytes) {}

  // Parses `in` (received bytes not yet given to Parse, in order): appends
  // what they complete to `*out` and returns how many bytes it consumed.
  // Unconsumed bytes (an incomplete frame header) must be given again,
  // followed by what arrives next. After a kClose or kProtocolError it
  // consumes nothing more.
  size_t Parse(std::string_view in, std::vector<WsInbound>* out);

 private:
  bool Fail(std::string why, std::vector<WsInbound>* out);
  // The header of the frame starting at `p` (`n` bytes available): false
  // when incomplete (needs more bytes) or failed (done_ set).
  bool ReadHeader(const uint8_t* p, size_t n, size_t* used, std::vector<WsInbound>* out);
  // The whole frame's payload arrived: acts on it.
  void EndFrame(std::vector<WsInbound>* out);

  const uint64_t max_;
  bool done_ = false;  // a Close or protocol error was reported
  // The frame being read (after its header).
  bool in_frame_ = false;
  uint8_t opcode_ = 0;
  bool fin_ = false;
  uint64_t remaining_ = 0;  // payload bytes still to come
  uint8_t mask_[4] = {};
  uint64_t mask_pos_ = 0;  // payload bytes already unmasked
  std::string control_;    // a control frame's payload
  // The message being assembled (its first frame was read, not its last).
  bool in_message_ = false;
  bool binary_ = false;
  bool too_big_ = false;
  uint64_t total_ = 0;  // payload bytes of the message so far
  std::string message_;
};

}  // namespace tracedb::server
