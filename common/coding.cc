#include "common/coding.h"

namespace tracedb::coding {

void PutEscapedPrefix(std::string* dst, std::string_view s) {
  for (char c : s) {
    dst->push_back(c);
    if (c == '\0') dst->push_back('\xff');
  }
}

void PutEscaped(std::string* dst, std::string_view s) {
  PutEscapedPrefix(dst, s);
  dst->push_back('\0');
  dst->push_back('\x01');
}

bool Reader::GetFixed32(uint32_t* v) {
  if (in_.size() < 4) return false;
  *v = DecodeFixed32(in_.data());
  in_.remove_prefix(4);
  return true;
}

bool Reader::GetFixed64(uint64_t* v) {
  if (in_.size() < 8) return false;
  *v = DecodeFixed64(in_.data());
  in_.remove_prefix(8);
  return true;
}

bool Reader::GetOrderedI64(int64_t* v) {
  uint64_t u;
  if (!GetFixed64(&u)) return false;
  *v = static_cast<int64_t>(u ^ (uint64_t{1} << 63));
  return true;
}

bool Reader::GetInvertedU64(uint64_t* v) {
  uint64_t u;
  if (!GetFixed64(&u)) return false;
  *v = ~u;
  return true;
}

bool Reader::GetBytes(size_t n, std::string_view* v) {
  if (in_.size() < n) return false;
  *v = in_.substr(0, n);
  in_.remove_prefix(n);
  return true;
}

bool Reader::GetByte(uint8_t* v) {
  if (in_.empty()) return false;
  *v = static_cast<uint8_t>(in_[0]);
  in_.remove_prefix(1);
  return true;
}

bool Reader::GetEscaped(std::string* v) {
  v->clear();
  size_t i = 0;
  while (i < in_.size()) {
    char c = in_[i];
    if (c != '\0') {
      v->push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= in_.size()) return false;
    char next = in_[i + 1];
    if (next == '\x01') {
      in_.remove_prefix(i + 2);
      return true;
    }
    if (next != '\xff') return false;
    v->push_back('\0');
    i += 2;
  }
  return false;
}

std::string_view Reader::TakeRest() {
  std::string_view rest = in_;
  in_ = {};
  return rest;
}

std::string PrefixSuccessor(std::string_view p) {
  std::string out(p);
  while (!out.empty()) {
    auto last = static_cast<unsigned char>(out.back());
    if (last != 0xff) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace tracedb::coding
