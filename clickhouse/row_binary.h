#pragma once

// ClickHouse's RowBinary format (the body of "INSERT … FORMAT RowBinary" and
// the reply of "SELECT … FORMAT RowBinary"), and SQL string literals.
//
// RowBinary grammar (no header, no row or column separators; the columns of a
// row follow the table's or the SELECT's column order, and the reader must
// know the types):
//   body        := row*
//   row         := value[column count]
//   UInt8..64   := fixed 1/2/4/8 bytes, little-endian (Int64 two's complement)
//   Float64     := 8 bytes, IEEE 754 little-endian
//   String      := varint(length) byte[length]
//   FixedString(N) := byte[N]        (shorter values zero-padded)
//   Array(T)    := varint(count) T[count]
//   Nested(k T1, v T2) := Array(T1) Array(T2)   (parallel arrays)
//   varint      := LEB128, unsigned: 7 bits per byte, low group first, high
//                  bit set on every byte but the last (0 → 00, 128 → 80 01)

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tracedb::clickhouse {

// Builds a RowBinary body. Not thread-safe; a value.
class RowWriter {
 public:
  void U8(uint8_t v);
  void U16(uint16_t v);
  void U32(uint32_t v);
  void U64(uint64_t v);
  void I64(int64_t v);
  void F64(double v);
  void VarUInt(uint64_t v);  // LEB128, the length prefix of String and Array
  // LEB128 length, then the bytes.
  void String(std::string_view s);
  // Exactly n bytes: `bytes` zero-padded, or cut to n when longer (the
  // caller checks lengths where cutting would be a bug).
  void FixedString(std::string_view bytes, size_t n);
  void StringArray(const std::vector<std::string>& values);  // Array(String)
  void U64Array(const std::vector<uint64_t>& values);        // Array(UInt64)

  // The body so far; the caller may move it out (then call clear()).
  std::string& data() { return data_; }
  size_t size() const { return data_.size(); }
  void clear() { data_.clear(); }

 private:
  template <typename T>
  void Fixed(T v);

  std::string data_;
};

// Reads a RowBinary reply. Every getter returns false, consuming nothing
// useful, when the input ends before the value does (or a length is larger
// than the rest of the input); a reader that failed once stays failed.
// Views returned by String/FixedString point into the input: they stay
// valid as long as the data passed to the constructor.
class RowReader {
 public:
  explicit RowReader(std::string_view data) : data_(data) {}

  // True when every byte was consumed (and no getter failed).
  bool done() const { return !failed_ && pos_ == data_.size(); }
  // True after a getter returned false.
  bool failed() const { return failed_; }
  size_t position() const { return pos_; }

  bool U8(uint8_t* v);
  bool U16(uint16_t* v);
  bool U32(uint32_t* v);
  bool U64(uint64_t* v);
  bool I64(int64_t* v);
  bool F64(double* v);
  bool VarUInt(uint64_t* v);
  bool String(std::string_view* v);
  bool FixedString(size_t n, std::string_view* v);
  bool StringArray(std::vector<std::string>* values);
  bool U64Array(std::vector<uint64_t>* values);

 private:
  template <typename T>
  bool Fixed(T* v);
  bool Take(size_t n, std::string_view* out);
  bool Fail();

  std::string_view data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// A ClickHouse SQL string literal holding exactly the bytes of `s`:
// 'a\'b\\c'. Quote and backslash are backslash-escaped; bytes below 0x20
// and 0x7F (NUL, newline…) become \xHH, so a literal is always one line;
// bytes >= 0x80 (UTF-8 or not) pass through, as the server keeps them.
std::string Quote(std::string_view s);

}  // namespace tracedb::clickhouse
