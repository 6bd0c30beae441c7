#include "schema/uuid.h"

#include <cstring>

namespace tracedb::schema {
namespace {

// -1 for a non-hex byte; built once so that parsing is a table lookup.
struct HexTable {
  int8_t v[256];
  constexpr HexTable() : v() {
    for (int i = 0; i < 256; ++i) v[i] = -1;
    for (int i = 0; i < 10; ++i) v['0' + i] = static_cast<int8_t>(i);
    for (int i = 0; i < 6; ++i) {
      v['a' + i] = static_cast<int8_t>(10 + i);
      v['A' + i] = static_cast<int8_t>(10 + i);
    }
  }
};
constexpr HexTable kHex;

bool ParseSimple(const char* p, Id128* out) {
  for (int i = 0; i < 16; ++i) {
    int hi = kHex.v[static_cast<uint8_t>(p[2 * i])];
    int lo = kHex.v[static_cast<uint8_t>(p[2 * i + 1])];
    if ((hi | lo) < 0) return false;
    (*out)[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return true;
}

// Hyphens sit after the 4th, 6th, 8th and 10th byte.
bool ParseHyphenated(const char* p, Id128* out) {
  if (p[8] != '-' || p[13] != '-' || p[18] != '-' || p[23] != '-') return false;
  char simple[32];
  std::memcpy(simple, p, 8);
  std::memcpy(simple + 8, p + 9, 4);
  std::memcpy(simple + 12, p + 14, 4);
  std::memcpy(simple + 16, p + 19, 4);
  std::memcpy(simple + 20, p + 24, 12);
  return ParseSimple(simple, out);
}

}  // namespace

bool ParseUuid(std::string_view text, Id128* out) {
  switch (text.size()) {
    case 32:
      return ParseSimple(text.data(), out);
    case 36:
      return ParseHyphenated(text.data(), out);
    case 38:
      return text.front() == '{' && text.back() == '}' && ParseHyphenated(text.data() + 1, out);
    case 45:
      return text.substr(0, 9) == "urn:uuid:" && ParseHyphenated(text.data() + 9, out);
    default:
      return false;
  }
}

Result<Id128> ParseUuid(std::string_view text) {
  Id128 id;
  if (!ParseUuid(text, &id)) {
    return Status::InvalidArgument("invalid UUID \"" + std::string(text.substr(0, 64)) + "\"");
  }
  return id;
}

void FormatUuid(const Id128& id, char* buf) {
  static constexpr char kDigits[] = "0123456789abcdef";
  int pos = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) buf[pos++] = '-';
    buf[pos++] = kDigits[id[i] >> 4];
    buf[pos++] = kDigits[id[i] & 15];
  }
}

void AppendUuid(const Id128& id, std::string* out) {
  char buf[36];
  FormatUuid(id, buf);
  out->append(buf, sizeof(buf));
}

std::string FormatUuid(const Id128& id) {
  std::string s;
  AppendUuid(id, &s);
  return s;
}

}  // namespace tracedb::schema
