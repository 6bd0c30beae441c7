#include "schema/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace tracedb::schema {
namespace {

// 0: verbatim; otherwise the short-escape letter, or 'u' for \u00XX.
struct EscapeTable {
  char v[256];
  constexpr EscapeTable() : v() {
    for (int i = 0; i < 0x20; ++i) v[i] = 'u';
    // Indexed as unsigned char: a plain char subscript is a clang warning.
    const auto set = [this](unsigned char c, char letter) { v[c] = letter; };
    set('\b', 'b');
    set('\f', 'f');
    set('\n', 'n');
    set('\r', 'r');
    set('\t', 't');
    set('"', '"');
    set('\\', '\\');
  }
};
constexpr EscapeTable kEscape;

// Lays out the shortest digits the way ryu's format32/format64 do.
// `sci` is std::to_chars scientific output, e.g. "-1.234e+33" or "5e-07",
// whose digits are ryu's (libstdc++ implements to_chars with Ryu).
// `max_kk` is 16 for f64 and 13 for f32; `min_kk` is -5 and -6.
void Pretty(const char* sci, size_t n, int max_kk, int min_kk, std::string* out) {
  size_t i = 0;
  if (sci[0] == '-') {
    out->push_back('-');
    i = 1;
  }
  char digits[24];
  int len = 0;
  for (; i < n && sci[i] != 'e'; ++i) {
    if (sci[i] != '.') digits[len++] = sci[i];
  }
  int exp = 0;
  std::from_chars(sci + i + 1 + (sci[i + 1] == '+'), sci + n, exp);
  if (len == 1 && digits[0] == '0') {
    out->append("0.0");
    return;
  }
  const int kk = exp + 1;  // 10^(kk-1) <= |v| < 10^kk
  const int k = kk - len;  // |v| = digits * 10^k
  if (0 <= k && kk <= max_kk) {
    out->append(digits, len);
    out->append(k, '0');
    out->append(".0");
  } else if (0 < kk && kk <= max_kk) {
    out->append(digits, kk);
    out->push_back('.');
    out->append(digits + kk, len - kk);
  } else if (min_kk < kk && kk <= 0) {
    out->append("0.");
    out->append(-kk, '0');
    out->append(digits, len);
  } else {
    out->push_back(digits[0]);
    if (len > 1) {
      out->push_back('.');
      out->append(digits + 1, len - 1);
    }
    out->push_back('e');
    char eb[8];
    auto r = std::to_chars(eb, eb + sizeof(eb), kk - 1);
    out->append(eb, r.ptr);
  }
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  const char* p = s.data();
  const char* end = p + s.size();
  const char* run = p;
  for (; p != end; ++p) {
    const char e = kEscape.v[static_cast<uint8_t>(*p)];
    if (e == 0) continue;
    out->append(run, p);
    if (e == 'u') {
      const char buf[6] = {'\\', 'u', '0', '0', kHexDigits[static_cast<uint8_t>(*p) >> 4],
                           kHexDigits[*p & 15]};
      out->append(buf, 6);
    } else {
      const char buf[2] = {'\\', e};
      out->append(buf, 2);
    }
    run = p + 1;
  }
  out->append(run, end);
  out->push_back('"');
}

void AppendJsonF32(float v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  Pretty(buf, static_cast<size_t>(r.ptr - buf), 13, -6, out);
}

void AppendJsonF64(double v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  Pretty(buf, static_cast<size_t>(r.ptr - buf), 16, -5, out);
}

void JsonWriter::Key(std::string_view key) {
  Sep();
  AppendJsonString(key, out_);
  out_->push_back(':');
  need_comma_ = false;
}

void JsonWriter::PlainKey(std::string_view key) {
  Sep();
  out_->push_back('"');
  out_->append(key);
  out_->append("\":", 2);
  need_comma_ = false;
}

void JsonWriter::PlainString(std::string_view s) {
  Sep();
  out_->push_back('"');
  out_->append(s);
  out_->push_back('"');
  need_comma_ = true;
}

void JsonWriter::Uint(uint64_t v) {
  Sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out_->append(buf, r.ptr);
  need_comma_ = true;
}

void JsonWriter::Int(int64_t v) {
  Sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out_->append(buf, r.ptr);
  need_comma_ = true;
}

}  // namespace tracedb::schema
