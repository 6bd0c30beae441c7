#include "clickhouse/row_binary.h"

#include <bit>

namespace tracedb::clickhouse {

// Integers are spelled byte by byte from the low end rather than memcpy'd,
// so the format does not depend on the host's byte order; compilers turn
// both loops into a single move on little-endian hosts.
template <typename T>
void RowWriter::Fixed(T v) {
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  data_.append(bytes, sizeof(T));
}

void RowWriter::U8(uint8_t v) { data_.push_back(static_cast<char>(v)); }
void RowWriter::U16(uint16_t v) { Fixed(v); }
void RowWriter::U32(uint32_t v) { Fixed(v); }
void RowWriter::U64(uint64_t v) { Fixed(v); }
void RowWriter::I64(int64_t v) { Fixed(static_cast<uint64_t>(v)); }
void RowWriter::F64(double v) { Fixed(std::bit_cast<uint64_t>(v)); }

void RowWriter::VarUInt(uint64_t v) {
  while (v >= 0x80) {
    data_.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  data_.push_back(static_cast<char>(v));
}

void RowWriter::String(std::string_view s) {
  VarUInt(s.size());
  data_.append(s);
}

void RowWriter::FixedString(std::string_view bytes, size_t n) {
  size_t take = bytes.size() < n ? bytes.size() : n;
  data_.append(bytes.substr(0, take));
  data_.append(n - take, '\0');
}

void RowWriter::StringArray(const std::vector<std::string>& values) {
  VarUInt(values.size());
  for (const std::string& v : values) String(v);
}

void RowWriter::U64Array(const std::vector<uint64_t>& values) {
  VarUInt(values.size());
  for (uint64_t v : values) U64(v);
}

bool RowReader::Fail() {
  failed_ = true;
  return false;
}

bool RowReader::Take(size_t n, std::string_view* out) {
  if (failed_ || n > data_.size() - pos_) return Fail();
  *out = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

template <typename T>
bool RowReader::Fixed(T* v) {
  std::string_view bytes;
  if (!Take(sizeof(T), &bytes)) return false;
  T out = 0;
  for (size_t i = 0; i < sizeof(T); ++i) out |= static_cast<T>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  *v = out;
  return true;
}

bool RowReader::U8(uint8_t* v) { return Fixed(v); }
bool RowReader::U16(uint16_t* v) { return Fixed(v); }
bool RowReader::U32(uint32_t* v) { return Fixed(v); }
bool RowReader::U64(uint64_t* v) { return Fixed(v); }

bool RowReader::I64(int64_t* v) {
  uint64_t u;
  if (!Fixed(&u)) return false;
  *v = static_cast<int64_t>(u);
  return true;
}

bool RowReader::F64(double* v) {
  uint64_t u;
  if (!Fixed(&u)) return false;
  *v = std::bit_cast<double>(u);
  return true;
}

bool RowReader::VarUInt(uint64_t* v) {
  if (failed_) return false;
  uint64_t out = 0;
  // At most 10 bytes; the 10th may carry only the top bit of a uint64.
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ == data_.size()) return Fail();
    auto byte = static_cast<unsigned char>(data_[pos_++]);
    if (shift == 63 && byte > 1) return Fail();
    out |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *v = out;
      return true;
    }
  }
  return Fail();
}

bool RowReader::String(std::string_view* v) {
  uint64_t n;
  if (!VarUInt(&n)) return false;
  if (n > data_.size() - pos_) return Fail();
  return Take(static_cast<size_t>(n), v);
}

bool RowReader::FixedString(size_t n, std::string_view* v) { return Take(n, v); }

bool RowReader::StringArray(std::vector<std::string>* values) {
  uint64_t count;
  if (!VarUInt(&count)) return false;
  // Every item takes at least its one-byte length: a count beyond the rest
  // of the input is corrupt, and must not size a huge allocation.
  if (count > data_.size() - pos_) return Fail();
  values->clear();
  values->reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view s;
    if (!String(&s)) return false;
    values->emplace_back(s);
  }
  return true;
}

bool RowReader::U64Array(std::vector<uint64_t>* values) {
  uint64_t count;
  if (!VarUInt(&count)) return false;
  if (count > (data_.size() - pos_) / 8) return Fail();
  values->resize(static_cast<size_t>(count));
  for (uint64_t& v : *values) {
    if (!U64(&v)) return false;
  }
  return true;
}

std::string Quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\'' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('\'');
  return out;
}

}  // namespace tracedb::clickhouse
