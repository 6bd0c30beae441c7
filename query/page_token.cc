#include "query/page_token.h"

#include "common/coding.h"

namespace tracedb::query {

namespace {

constexpr std::string_view kVersion = "c1";
constexpr char kHex[] = "0123456789abcdef";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string EncodePageToken(const engine::IndexEntry& last) {
  std::string raw;
  coding::PutOrderedI64(&raw, last.start_ns);
  raw.append(reinterpret_cast<const char*>(last.trace_id.data()), last.trace_id.size());
  std::string out(kVersion);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

Result<engine::IndexEntry> DecodePageToken(std::string_view token) {
  if (token.size() != kVersion.size() + 48 || token.substr(0, kVersion.size()) != kVersion) {
    return Status::InvalidArgument("invalid page cursor");
  }
  std::string raw;
  for (size_t i = kVersion.size(); i < token.size(); i += 2) {
    int hi = HexDigit(token[i]), lo = HexDigit(token[i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("invalid page cursor");
    raw.push_back(static_cast<char>(hi * 16 + lo));
  }
  engine::IndexEntry e;
  e.start_ns = coding::DecodeOrderedI64(raw.data());
  std::memcpy(e.trace_id.data(), raw.data() + 8, 16);
  return e;
}

}  // namespace tracedb::query
