#include "engine/keys.h"

#include <algorithm>
#include <cstring>

#include "common/coding.h"

namespace tracedb::engine::keys {

using coding::PutFixed32;
using coding::PutFixed64;

namespace {

void PutId(std::string* dst, const Id128& id) { dst->append(reinterpret_cast<const char*>(id.data()), id.size()); }

bool GetId(coding::Reader* r, Id128* id) {
  std::string_view bytes;
  if (!r->GetBytes(kTraceIdLen, &bytes)) return false;
  std::memcpy(id->data(), bytes.data(), kTraceIdLen);
  return true;
}

// Appends the encoded value of an index entry: escaped for strings, raw for
// the fixed-width status byte and execution id.
void PutIndexValue(std::string* dst, IndexKind kind, std::string_view value) {
  switch (kind) {
    case IndexKind::kTime:
      return;
    case IndexKind::kStatus:
    case IndexKind::kExecution:
      dst->append(value);
      return;
    case IndexKind::kFlow:
    case IndexKind::kActor:
      coding::PutEscaped(dst, value);
      return;
  }
}

}  // namespace

std::string TraceKey(const Id128& trace_id) {
  std::string k;
  PutId(&k, trace_id);
  return k;
}

std::string TracePrefix(uint32_t bucket, const Id128& trace_id) {
  std::string k;
  k.reserve(kTracePrefixLen);
  PutFixed32(&k, bucket);
  PutId(&k, trace_id);
  return k;
}

void AppendEventKey(std::string* dst, uint32_t bucket, const Id128& trace_id, TimestampNs ts, uint64_t seq,
                    std::string_view event_id) {
  PutFixed32(dst, bucket);
  PutId(dst, trace_id);
  coding::PutOrderedI64(dst, ts);
  PutFixed64(dst, seq);
  dst->append(event_id);
}

std::string EventKey(uint32_t bucket, const Id128& trace_id, TimestampNs ts, uint64_t seq,
                     std::string_view event_id) {
  std::string k;
  k.reserve(kTracePrefixLen + 16 + event_id.size());
  AppendEventKey(&k, bucket, trace_id, ts, seq, event_id);
  return k;
}

bool ParseEventKey(std::string_view key, EventKeyParts* parts) {
  coding::Reader r(key);
  if (!r.GetFixed32(&parts->bucket) || !GetId(&r, &parts->trace_id) || !r.GetOrderedI64(&parts->ts) ||
      !r.GetFixed64(&parts->seq)) {
    return false;
  }
  parts->event_id = r.TakeRest();
  return true;
}

std::string ColumnKey(uint32_t bucket, const Id128& trace_id, uint32_t chunk) {
  std::string k = TracePrefix(bucket, trace_id);
  PutFixed32(&k, chunk);
  return k;
}

void PutDescI64(std::string* dst, int64_t v) {
  PutFixed64(dst, ~(static_cast<uint64_t>(v) ^ (uint64_t{1} << 63)));
}

int64_t DecodeDescI64(const char* p) {
  return static_cast<int64_t>(~coding::DecodeFixed64(p) ^ (uint64_t{1} << 63));
}

std::string IndexValuePrefix(IndexKind kind, std::string_view value) {
  std::string k;
  k.push_back(static_cast<char>(kind));
  PutIndexValue(&k, kind, value);
  return k;
}

void AppendIndexKey(std::string* dst, IndexKind kind, std::string_view value, TimestampNs start,
                    const Id128& trace_id) {
  dst->push_back(static_cast<char>(kind));
  PutIndexValue(dst, kind, value);
  PutDescI64(dst, start);
  PutId(dst, trace_id);
}

std::string IndexKey(IndexKind kind, std::string_view value, TimestampNs start, const Id128& trace_id) {
  std::string k;
  AppendIndexKey(&k, kind, value, start, trace_id);
  return k;
}

bool ParseIndexTail(std::string_view key, size_t prefix_len, IndexEntry* entry) {
  if (key.size() != prefix_len + 8 + kTraceIdLen) return false;
  entry->start_ns = DecodeDescI64(key.data() + prefix_len);
  std::memcpy(entry->trace_id.data(), key.data() + prefix_len + 8, kTraceIdLen);
  return true;
}

bool ParseIndexKey(std::string_view key, IndexKind* kind, std::string* value, IndexEntry* entry) {
  if (key.empty()) return false;
  coding::Reader r(key);
  uint8_t tag;
  if (!r.GetByte(&tag)) return false;
  *kind = static_cast<IndexKind>(tag);
  value->clear();
  std::string_view raw;
  switch (*kind) {
    case IndexKind::kTime:
      break;
    case IndexKind::kStatus:
      if (!r.GetBytes(1, &raw)) return false;
      value->assign(raw);
      break;
    case IndexKind::kExecution:
      if (!r.GetBytes(16, &raw)) return false;
      value->assign(raw);
      break;
    case IndexKind::kFlow:
    case IndexKind::kActor:
      if (!r.GetEscaped(value)) return false;
      break;
    default:
      return false;
  }
  return ParseIndexTail(key, key.size() - r.remaining().size(), entry);
}

std::string FlowVersionPrefix(std::string_view flow_id) {
  std::string k;
  k.push_back('V');
  coding::PutEscaped(&k, flow_id);
  return k;
}

std::string FlowVersionKey(std::string_view flow_id, const schema::FlowVersion& v) {
  std::string k = FlowVersionPrefix(flow_id);
  PutFixed32(&k, v.major);
  PutFixed32(&k, v.minor);
  PutFixed32(&k, v.patch);
  if (v.git_hash) {
    k.push_back('\x01');
    coding::PutEscaped(&k, *v.git_hash);
  } else {
    k.push_back('\x00');
  }
  coding::PutOrderedI64(&k, v.timestamp_ns);
  return k;
}

bool ParseFlowVersionKey(std::string_view key, size_t prefix_len, schema::FlowVersion* v) {
  if (key.size() < prefix_len) return false;
  coding::Reader r(key.substr(prefix_len));
  uint8_t has_hash;
  if (!r.GetFixed32(&v->major) || !r.GetFixed32(&v->minor) || !r.GetFixed32(&v->patch) ||
      !r.GetByte(&has_hash)) {
    return false;
  }
  v->git_hash.reset();
  if (has_hash == 1) {
    std::string hash;
    if (!r.GetEscaped(&hash)) return false;
    v->git_hash = std::move(hash);
  } else if (has_hash != 0) {
    return false;
  }
  return r.GetOrderedI64(&v->timestamp_ns) && r.empty();
}

uint32_t GraphSlotOf(TimestampNs start_ns) {
  if (start_ns < 0) return 0;
  return static_cast<uint32_t>(std::min<int64_t>(start_ns / kGraphSlotNs, UINT32_MAX));
}

std::string GraphPrefix(uint32_t bucket, uint32_t slot) {
  std::string k;
  coding::PutFixed32(&k, bucket);
  coding::PutFixed32(&k, slot);
  return k;
}

std::string GraphCellKey(uint32_t bucket, int level, uint32_t cell) {
  std::string k;
  coding::PutFixed32(&k, bucket);
  k.push_back(static_cast<char>(level));
  coding::PutFixed32(&k, cell);
  return k;
}

}  // namespace tracedb::engine::keys
