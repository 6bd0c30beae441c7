// Reads a client's WebSocket frames (ws_frame_reader.h).

#include "server/ws_frame_reader.h"

#include <algorithm>
#include <cstring>

namespace tracedb::server {

namespace {

constexpr uint8_t kContinuation = 0x0;
constexpr uint8_t kText = 0x1;
constexpr uint8_t kBinary = 0x2;
constexpr uint8_t kClose = 0x8;
constexpr uint8_t kPing = 0x9;
constexpr uint8_t kPong = 0xA;

// Appends `n` bytes of `src`, unmasked with `mask` starting at payload
// offset `pos`, to `out`: eight bytes at a time.
void AppendUnmasked(const uint8_t* src, size_t n, const uint8_t mask[4], uint64_t pos, std::string* out) {
  const size_t at = out->size();
  out->resize(at + n);
  char* dst = out->data() + at;
  uint8_t rotated[8];
  for (int i = 0; i < 8; ++i) rotated[i] = mask[(pos + i) & 3];
  uint64_t word_mask;
  std::memcpy(&word_mask, rotated, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, src + i, 8);
    w ^= word_mask;
    std::memcpy(dst + i, &w, 8);
  }
  for (; i < n; ++i) dst[i] = static_cast<char>(src[i] ^ rotated[i & 7]);
}

}  // namespace

bool WsFrameReader::Fail(std::string why, std::vector<WsInbound>* out) {
  done_ = true;
  WsInbound e;
  e.kind = WsInbound::Kind::kProtocolError;
  e.payload = std::move(why);
  out->push_back(std::move(e));
  return false;
}

bool WsFrameReader::ReadHeader(const uint8_t* p, size_t n, size_t* used, std::vector<WsInbound>* out) {
  if (n < 2) return false;
  const uint8_t b0 = p[0], b1 = p[1];
  if ((b0 & 0x70) != 0) return Fail("reserved bits set (no extension was negotiated)", out);
  const uint8_t opcode = b0 & 0x0F;
  const bool fin = (b0 & 0x80) != 0;
  if (!(b1 & 0x80)) return Fail("unmasked frame from a client", out);
  uint64_t len = b1 & 0x7F;
  size_t h = 2;
  if (len == 126) {
    if (n < 4) return false;
    len = (uint64_t{p[2]} << 8) | p[3];
    h = 4;
  } else if (len == 127) {
    if (n < 10) return false;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    if (len >> 63) return Fail("frame length with its top bit set", out);
    h = 10;
  }
  if (n < h + 4) return false;
  const bool control = (opcode & 0x8) != 0;
  if (control) {
    if (opcode != kClose && opcode != kPing && opcode != kPong) return Fail("reserved control opcode", out);
    if (!fin) return Fail("fragmented control frame", out);
    if (len > 125) return Fail("control frame over 125 bytes", out);
  } else if (opcode == kContinuation) {
    if (!in_message_) return Fail("continuation frame with no message to continue", out);
  } else if (opcode == kText || opcode == kBinary) {
    if (in_message_) return Fail("new message inside a fragmented message", out);
  } else {
    return Fail("reserved data opcode", out);
  }
  std::memcpy(mask_, p + h, 4);
  *used = h + 4;
  in_frame_ = true;
  opcode_ = opcode;
  fin_ = fin;
  remaining_ = len;
  mask_pos_ = 0;
  if (control) {
    control_.clear();
  } else if (opcode != kContinuation) {
    in_message_ = true;
    binary_ = opcode == kBinary;
    too_big_ = false;
    total_ = 0;
    message_.clear();
  }
  if (!control) {
    if (!too_big_ && len <= (uint64_t{1} << 20)) message_.reserve(message_.size() + len);
    total_ += len;
    if (max_ > 0 && total_ > max_ && !too_big_) {
      too_big_ = true;  // drop what was kept; keep reading to the end of the message
      message_.clear();
      message_.shrink_to_fit();
    }
  }
  return true;
}

void WsFrameReader::EndFrame(std::vector<WsInbound>* out) {
  in_frame_ = false;
  WsInbound e;
  switch (opcode_) {
    case kPing:
      e.kind = WsInbound::Kind::kPing;
      e.payload = std::move(control_);
      out->push_back(std::move(e));
      return;
    case kPong:
      e.kind = WsInbound::Kind::kPong;
      out->push_back(std::move(e));
      return;
    case kClose:
      done_ = true;
      e.kind = WsInbound::Kind::kClose;
      e.code = 1005;  // no status code present (RFC 6455 §7.1.5)
      if (control_.size() >= 2) {
        e.code = static_cast<uint16_t>((static_cast<uint8_t>(control_[0]) << 8) | static_cast<uint8_t>(control_[1]));
        e.payload = control_.substr(2);
      }
      out->push_back(std::move(e));
      return;
    default:
      break;
  }
  if (!fin_) return;  // more fragments follow
  in_message_ = false;
  if (too_big_) {
    e.kind = WsInbound::Kind::kTooBig;
    e.size = total_;
  } else {
    e.kind = WsInbound::Kind::kMessage;
    e.binary = binary_;
    e.size = total_;
    e.payload = std::move(message_);
    message_.clear();
  }
  out->push_back(std::move(e));
}

size_t WsFrameReader::Parse(std::string_view in, std::vector<WsInbound>* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const size_t n = in.size();
  size_t at = 0;
  while (!done_) {
    if (!in_frame_) {
      size_t used = 0;
      if (!ReadHeader(p + at, n - at, &used, out)) break;
      at += used;
      if (remaining_ == 0) {
        EndFrame(out);
        continue;
      }
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, n - at));
    if (take == 0) break;
    const bool control = (opcode_ & 0x8) != 0;
    if (control) {
      AppendUnmasked(p + at, take, mask_, mask_pos_, &control_);
    } else if (!too_big_) {
      AppendUnmasked(p + at, take, mask_, mask_pos_, &message_);
    }
    at += take;
    mask_pos_ += take;
    remaining_ -= take;
    if (remaining_ == 0) EndFrame(out);
  }
  return at;
}

}  // namespace tracedb::server
