#pragma once

// Byte coding shared by every persisted format. All encodings here are
// order-preserving: comparing two encodings bytewise (memcmp, as RocksDB's
// default comparator does) gives the same order as comparing the values.
//
//   fixed32/fixed64      := big-endian unsigned
//   ordered_i64          := fixed64(uint64(v) XOR 2^63)   // signed order
//   inverted_u64         := fixed64(2^64 - 1 - v)        // descending order
//   escaped_string       := (byte != 0x00 | 0x00 0xFF)* 0x00 0x01
//
// An escaped string never contains the terminator 0x00 0x01, so a
// concatenation of escaped strings and fixed-width fields is unambiguous and
// "foo"+"bar" can never collide with "foob"+"ar" (Jaeger's flaw, anchors §1.1).
// Its order is the order of the raw strings, and the encoding of s is a prefix
// of the encoding of every string that extends s only if the terminator is
// left off: EscapedPrefix() gives that open form for prefix range scans.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tracedb::coding {

inline void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                 static_cast<char>(v >> 8), static_cast<char>(v)};
  dst->append(buf, 4);
}

inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 8);
}

inline uint32_t DecodeFixed32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

inline uint64_t DecodeFixed64(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | u[i];
  return v;
}

inline void PutOrderedI64(std::string* dst, int64_t v) {
  PutFixed64(dst, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}
inline int64_t DecodeOrderedI64(const char* p) {
  return static_cast<int64_t>(DecodeFixed64(p) ^ (uint64_t{1} << 63));
}

inline void PutInvertedU64(std::string* dst, uint64_t v) { PutFixed64(dst, ~v); }
inline uint64_t DecodeInvertedU64(const char* p) { return ~DecodeFixed64(p); }

// Appends the escaped, terminated form of `s`.
void PutEscaped(std::string* dst, std::string_view s);
// Appends the escaped form of `s` without the terminator: every escaped
// string that starts with `s` starts with these bytes.
void PutEscapedPrefix(std::string* dst, std::string_view s);

// Sequential reader over an encoded key. Each Get* returns false (and leaves
// the reader in an unspecified position) when the input is too short or
// malformed; it never reads past the end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool GetFixed32(uint32_t* v);
  bool GetFixed64(uint64_t* v);
  bool GetOrderedI64(int64_t* v);
  bool GetInvertedU64(uint64_t* v);
  bool GetBytes(size_t n, std::string_view* v);
  bool GetByte(uint8_t* v);
  bool GetEscaped(std::string* v);
  // The unread remainder; consumes it.
  std::string_view TakeRest();

  std::string_view remaining() const { return in_; }
  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

// The smallest string greater than every string with prefix `p`, or "" when
// there is none (p is all 0xFF). Used as an exclusive upper bound.
std::string PrefixSuccessor(std::string_view p);

}  // namespace tracedb::coding
