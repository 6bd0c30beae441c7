#include "ingest/otel/otlp_proto.h"

#include <cstring>

#include <simdjson.h>

namespace tracedb::ingest::otel {
namespace {

// One decoder object per request. Each message has a method that loops over
// its fields; a failure records the offset, the message and the field, and
// every enclosing method prepends its own path segment while unwinding, so
// the success path never builds a path (the schema JSON readers do the same).

enum WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

enum class Msg : uint8_t {
  kRequest, kResourceSpans, kResource, kScopeSpans, kScope, kSpan, kEvent, kLink, kStatus,
  kKeyValue, kAnyValue, kArrayValue, kKvList,
};

struct MsgInfo {
  const char* name;
  std::initializer_list<const char*> fields;  // index = field number - 1
};

const MsgInfo& Info(Msg m) {
  static const MsgInfo kInfo[] = {
      {"ExportTraceServiceRequest", {"resource_spans"}},
      {"ResourceSpans", {"resource", "scope_spans", "schema_url"}},
      {"Resource", {"attributes", "dropped_attributes_count"}},
      {"ScopeSpans", {"scope", "spans", "schema_url"}},
      {"InstrumentationScope", {"name", "version", "attributes", "dropped_attributes_count"}},
      {"Span",
       {"trace_id", "span_id", "trace_state", "parent_span_id", "name", "kind", "start_time_unix_nano",
        "end_time_unix_nano", "attributes", "dropped_attributes_count", "events", "dropped_events_count",
        "links", "dropped_links_count", "status", "flags"}},
      {"Span.Event", {"time_unix_nano", "name", "attributes", "dropped_attributes_count"}},
      {"Span.Link",
       {"trace_id", "span_id", "trace_state", "attributes", "dropped_attributes_count", "flags"}},
      {"Status", {"", "message", "code"}},
      {"KeyValue", {"key", "value"}},
      {"AnyValue",
       {"string_value", "bool_value", "int_value", "double_value", "array_value", "kvlist_value",
        "bytes_value"}},
      {"ArrayValue", {"values"}},
      {"KeyValueList", {"values"}},
  };
  return kInfo[static_cast<int>(m)];
}

std::string FieldName(Msg m, uint32_t number) {
  const auto& fields = Info(m).fields;
  if (number >= 1 && number <= fields.size() && fields.begin()[number - 1][0] != '\0') {
    return fields.begin()[number - 1];
  }
  return "field " + std::to_string(number);
}

const char* WireName(uint8_t wire) {
  switch (wire) {
    case kVarint: return "varint";
    case kFixed64: return "fixed64";
    case kLen: return "length-delimited";
    case kFixed32: return "fixed32";
    default: return "invalid";
  }
}

// A decoded field: its tag position (for errors), number, wire type and value.
struct Field {
  const uint8_t* at = nullptr;
  uint32_t number = 0;
  uint8_t wire = 0;
  uint64_t u = 0;          // kVarint, kFixed64, kFixed32
  const uint8_t* data = nullptr;  // kLen: the payload
  size_t size = 0;

  std::string_view view() const { return {reinterpret_cast<const char*>(data), size}; }
};

// Reads a varint; nullptr on success, else why it failed.
inline const char* ReadVarint(const uint8_t** pp, const uint8_t* end, uint64_t* out) {
  const uint8_t* p = *pp;
  if (p < end && *p < 0x80) {  // one-byte fast path: tags, small counts, enums
    *out = *p;
    *pp = p + 1;
    return nullptr;
  }
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p >= end) return "truncated varint";
    const uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << (shift < 64 ? shift : 0);
    if (b < 0x80) {
      *out = v;
      *pp = p;
      return nullptr;
    }
  }
  return "varint longer than 10 bytes";
}

inline uint64_t LoadLe(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

class Decoder {
 public:
  explicit Decoder(std::string_view body)
      : base_(reinterpret_cast<const uint8_t*>(body.data())),
        end_(base_ + body.size()),
        budget_((size_t{1} << 20) + kMaxDecodeAmplification * body.size()) {}

  bool Run(ExportTraceServiceRequest* out) { return Request(base_, end_, out); }

  Status ToStatus() const {
    std::string msg = "invalid OTLP protobuf at byte " + std::to_string(offset_) + " (";
    if (!path_.empty()) msg += path_ + "; ";
    msg += where_ + "): " + what_;
    return Status::InvalidArgument(std::move(msg));
  }

 private:
  // ---- errors ----
  bool Fail(const uint8_t* at, Msg m, uint32_t number, std::string what) {
    offset_ = static_cast<size_t>(at - base_);
    where_ = std::string(Info(m).name) + (number != 0 ? " field " + std::to_string(number) : "");
    path_ = number != 0 ? FieldName(m, number) : std::string();
    what_ = std::move(what);
    return false;
  }
  bool In(std::string segment) {
    path_ = path_.empty() ? std::move(segment) : segment + "." + path_;
    return false;
  }
  bool In(std::string_view segment, size_t index) {
    return In(std::string(segment) + "[" + std::to_string(index) + "]");
  }

  // ---- fields ----
  // Reads the next field of message `m` from [*p, end).
  bool Next(const uint8_t** p, const uint8_t* end, Msg m, Field* f) {
    f->at = *p;
    uint64_t tag;
    if (const char* why = ReadVarint(p, end, &tag)) return Fail(f->at, m, 0, std::string(why) + " in a tag");
    f->number = static_cast<uint32_t>(tag >> 3);
    f->wire = static_cast<uint8_t>(tag & 7);
    if ((tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) {
      return Fail(f->at, m, 0, "invalid field number " + std::to_string(tag >> 3));
    }
    switch (f->wire) {
      case kVarint:
        if (const char* why = ReadVarint(p, end, &f->u)) return Fail(f->at, m, f->number, why);
        return true;
      case kFixed64:
      case kFixed32: {
        const int n = f->wire == kFixed64 ? 8 : 4;
        if (end - *p < n) {
          return Fail(f->at, m, f->number, std::string("truncated ") + WireName(f->wire) + " value");
        }
        f->u = LoadLe(*p, n);
        *p += n;
        return true;
      }
      case kLen: {
        uint64_t len;
        if (const char* why = ReadVarint(p, end, &len)) return Fail(f->at, m, f->number, why);
        if (len > static_cast<uint64_t>(end - *p)) {
          return Fail(f->at, m, f->number,
                      "length " + std::to_string(len) + " runs past the end of the enclosing message (" +
                          std::to_string(end - *p) + " bytes left)");
        }
        f->data = *p;
        f->size = static_cast<size_t>(len);
        *p += len;
        return true;
      }
      case 3:
      case 4:
        return Fail(f->at, m, f->number, "group wire types (3, 4) are not supported");
      default:
        return Fail(f->at, m, f->number, "invalid wire type " + std::to_string(f->wire));
    }
  }

  // Charges one decoded element against the memory budget.
  bool Spend(const Field& f, Msg m, size_t bytes) {
    if (bytes <= budget_) {
      budget_ -= bytes;
      return true;
    }
    const size_t limit = (size_t{1} << 20) + kMaxDecodeAmplification * static_cast<size_t>(end_ - base_);
    return Fail(f.at, m, f.number,
                "the decoded request would take more than " + std::to_string(limit) + " bytes of memory (" +
                    std::to_string(kMaxDecodeAmplification) + "x the body + 1 MiB)");
  }

  bool Expect(const Field& f, Msg m, uint8_t wire) {
    if (f.wire == wire) return true;
    return Fail(f.at, m, f.number,
                "wire type " + std::to_string(f.wire) + ", expected " + std::to_string(wire) + " (" +
                    WireName(wire) + ")");
  }
  bool Str(const Field& f, Msg m, std::string* out) {
    if (!Expect(f, m, kLen)) return false;
    if (!simdjson::validate_utf8(reinterpret_cast<const char*>(f.data), f.size)) {
      return Fail(f.at, m, f.number, "string is not valid UTF-8");
    }
    out->assign(reinterpret_cast<const char*>(f.data), f.size);
    return true;
  }
  bool Bytes(const Field& f, Msg m, std::string* out) {
    if (!Expect(f, m, kLen)) return false;
    out->assign(reinterpret_cast<const char*>(f.data), f.size);
    return true;
  }
  template <typename T>
  bool Varint(const Field& f, Msg m, T* out) {
    if (!Expect(f, m, kVarint)) return false;
    *out = static_cast<T>(f.u);  // int32 / uint32: the low 32 bits, as libprotobuf
    return true;
  }
  bool Fixed64(const Field& f, Msg m, uint64_t* out) {
    if (!Expect(f, m, kFixed64)) return false;
    *out = f.u;
    return true;
  }
  bool Fixed32(const Field& f, Msg m, uint32_t* out) {
    if (!Expect(f, m, kFixed32)) return false;
    *out = static_cast<uint32_t>(f.u);
    return true;
  }
  // Decodes a repeated message field into a new element of *vec.
  template <typename T>
  bool Repeated(const Field& f, Msg m, std::vector<T>* vec,
                bool (Decoder::*decode)(const uint8_t*, const uint8_t*, T*)) {
    if (!Expect(f, m, kLen)) return false;
    if (!Spend(f, m, sizeof(T))) return false;
    vec->emplace_back();
    if (!(this->*decode)(f.data, f.data + f.size, &vec->back())) {
      return In(FieldName(m, f.number), vec->size() - 1);
    }
    return true;
  }
  // Decodes (merges) a singular message field into *out.
  template <typename T>
  bool Message(const Field& f, Msg m, T* out, bool (Decoder::*decode)(const uint8_t*, const uint8_t*, T*)) {
    if (!Expect(f, m, kLen)) return false;
    if (!(this->*decode)(f.data, f.data + f.size, out)) return In(FieldName(m, f.number));
    return true;
  }

  // ---- messages ----
  bool Request(const uint8_t* p, const uint8_t* end, ExportTraceServiceRequest* r) {
    constexpr Msg m = Msg::kRequest;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      if (f.number == 1 && !Repeated(f, m, &r->resource_spans, &Decoder::ResourceSpansMsg)) return false;
    }
    return true;
  }

  bool ResourceSpansMsg(const uint8_t* p, const uint8_t* end, ResourceSpans* r) {
    constexpr Msg m = Msg::kResourceSpans;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      bool ok = true;
      switch (f.number) {
        case 1: ok = Message(f, m, &r->resource, &Decoder::ResourceMsg); break;
        case 2: ok = Repeated(f, m, &r->scope_spans, &Decoder::ScopeSpansMsg); break;
        case 3: ok = Str(f, m, &r->schema_url); break;
        default: break;
      }
      if (!ok) return false;
    }
    return true;
  }

  bool ResourceMsg(const uint8_t* p, const uint8_t* end, Resource* r) {
    constexpr Msg m = Msg::kResource;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      bool ok = true;
      switch (f.number) {
        case 1: ok = Repeated(f, m, &r->attributes, &Decoder::KeyValueMsg); break;
        case 2: ok = Varint(f, m, &r->dropped_attributes_count); break;
        default: break;
      }
      if (!ok) return false;
    }
    return true;
  }

  bool ScopeSpansMsg(const uint8_t* p, const uint8_t* end, ScopeSpans* s) {
    constexpr Msg m = Msg::kScopeSpans;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      bool ok = true;
      switch (f.number) {
        case 1: ok = Message(f, m, &s->scope, &Decoder::ScopeMsg); break;
        case 2: ok = Repeated(f, m, &s->spans, &Decoder::SpanMsg); break;
        case 3: ok = Str(f, m, &s->schema_url); break;
        default: break;
      }
      if (!ok) return false;
    }
    return true;
  }

  bool ScopeMsg(const uint8_t* p, const uint8_t* end, InstrumentationScope* s) {
    constexpr Msg m = Msg::kScope;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      bool ok = true;
      switch (f.number) {
        case 1: ok = Str(f, m, &s->name); break;
        case 2: ok = Str(f, m, &s->version); break;
        case 3: ok = Repeated(f, m, &s->attributes, &Decoder::KeyValueMsg); break;
        case 4: ok = Varint(f, m, &s->dropped_attributes_count); break;
        default: break;
      }
      if (!ok) return false;
    }
    return true;
  }

  bool SpanMsg(const uint8_t* p, const uint8_t* end, Span* s) {
    constexpr Msg m = Msg::kSpan;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      bool ok = true;
      switch (f.number) {
        case 1: ok = Bytes(f, m, &s->trace_id); break;
        case 2: ok = Bytes(f, m, &s->span_id); break;
        case 3: ok = Str(f, m, &s->trace_state); break;
        case 4: ok = Bytes(f, m, &s->parent_span_id); break;
        case 5: ok = Str(f, m, &s->name); break;
        case 6: ok = Varint(f, m, &s->kind); break;
        case 7: ok = Fixed64(f, m, &s->start_time_unix_nano); break;
        case 8: ok = Fixed64(f, m, &s->end_time_unix_nano); break;
        case 9: ok = Repeated(f, m, &s->attributes, &Decoder::KeyValueMsg); break;
        case 10: ok = Varint(f, m, &s->dropped_attributes_count); break;
        case 11: ok = Repeated(f, m, &s->events, &Decoder::EventMsg); break;
        case 12: ok = Varint(f, m, &s->dropped_events_count); break;
        case 13: ok = Repeated(f, m, &s->links, &Decoder::LinkMsg); break;
        case 14: ok = Varint(f, m, &s->dropped_links_count); break;
        case 15: ok = Message(f, m, &s->status, &Decoder::StatusMsg); break;
        case 16: ok = Fixed32(f, m, &s->flags); break;
        default: break;
      }
      if (!ok) return false;
    }
    return true;
  }

  bool EventMsg(const uint8_t* p, const uint8_t* end, SpanEvent* e) {
    constexpr Msg m = Msg::kEvent;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      bool ok = true;
      switch (f.number) {
        case 1: ok = Fixed64(f, m, &e->time_unix_nano); break;
        case 2: ok = Str(f, m, &e->name); break;
        case 3: ok = Repeated(f, m, &e->attributes, &Decoder::KeyValueMsg); break;
        case 4: ok = Varint(f, m, &e->dropped_attributes_count); break;
        default: break;
      }
      if (!ok) return false;
    }
    return true;
  }

  bool LinkMsg(const uint8_t* p, const uint8_t* end, SpanLink* l) {
    constexpr Msg m = Msg::kLink;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      bool ok = true;
      switch (f.number) {
        case 1: ok = Bytes(f, m, &l->trace_id); break;
        case 2: ok = Bytes(f, m, &l->span_id); break;
        case 3: ok = Str(f, m, &l->trace_state); break;
        case 4: ok = Repeated(f, m, &l->attributes, &Decoder::KeyValueMsg); break;
        case 5: ok = Varint(f, m, &l->dropped_attributes_count); break;
        case 6: ok = Fixed32(f, m, &l->flags); break;
        default: break;
      }
      if (!ok) return false;
    }
    return true;
  }

  bool StatusMsg(const uint8_t* p, const uint8_t* end, SpanStatus* s) {
    constexpr Msg m = Msg::kStatus;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      bool ok = true;
      switch (f.number) {
        case 2: ok = Str(f, m, &s->message); break;
        case 3: ok = Varint(f, m, &s->code); break;
        default: break;  // 1 is reserved (the deprecated code)
      }
      if (!ok) return false;
    }
    return true;
  }

  bool KeyValueMsg(const uint8_t* p, const uint8_t* end, KeyValue* kv) {
    constexpr Msg m = Msg::kKeyValue;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      bool ok = true;
      switch (f.number) {
        case 1: ok = Str(f, m, &kv->key); break;
        case 2: ok = Message(f, m, &kv->value, &Decoder::AnyValueMsg); break;
        default: break;
      }
      if (!ok) return false;
    }
    return true;
  }

  // Switches the oneof to `kind`, clearing the previous member (a oneof
  // member seen again with the same kind is merged, as libprotobuf does).
  static void SetKind(AnyValue* v, AnyValue::Kind kind) {
    if (v->kind != kind) {
      *v = AnyValue{};
      v->kind = kind;
    }
  }

  bool AnyValueMsg(const uint8_t* p, const uint8_t* end, AnyValue* v) {
    constexpr Msg m = Msg::kAnyValue;
    if (depth_ >= kMaxAnyValueDepth) {
      return Fail(p, m, 0, "AnyValue nested deeper than " + std::to_string(kMaxAnyValueDepth) + " levels");
    }
    ++depth_;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      bool ok = true;
      switch (f.number) {
        case 1:
          ok = Expect(f, m, kLen);
          if (ok) {
            SetKind(v, AnyValue::Kind::kString);
            ok = Str(f, m, &v->str);
          }
          break;
        case 2:
          ok = Expect(f, m, kVarint);
          if (ok) {
            SetKind(v, AnyValue::Kind::kBool);
            v->i = f.u != 0 ? 1 : 0;
          }
          break;
        case 3:
          ok = Expect(f, m, kVarint);
          if (ok) {
            SetKind(v, AnyValue::Kind::kInt);
            v->i = static_cast<int64_t>(f.u);
          }
          break;
        case 4:
          ok = Expect(f, m, kFixed64);
          if (ok) {
            SetKind(v, AnyValue::Kind::kDouble);
            std::memcpy(&v->d, &f.u, sizeof(double));
          }
          break;
        case 5:
          ok = Expect(f, m, kLen);
          if (ok) {
            SetKind(v, AnyValue::Kind::kArray);
            ok = Message(f, m, &v->array, &Decoder::ArrayValueMsg);
          }
          break;
        case 6:
          ok = Expect(f, m, kLen);
          if (ok) {
            SetKind(v, AnyValue::Kind::kKvList);
            ok = Message(f, m, &v->kvlist, &Decoder::KvListMsg);
          }
          break;
        case 7:
          ok = Expect(f, m, kLen);
          if (ok) {
            SetKind(v, AnyValue::Kind::kBytes);
            ok = Bytes(f, m, &v->str);
          }
          break;
        default: break;
      }
      if (!ok) return false;
    }
    --depth_;
    return true;
  }

  bool ArrayValueMsg(const uint8_t* p, const uint8_t* end, std::vector<AnyValue>* values) {
    constexpr Msg m = Msg::kArrayValue;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      if (f.number == 1 && !Repeated(f, m, values, &Decoder::AnyValueMsg)) return false;
    }
    return true;
  }

  bool KvListMsg(const uint8_t* p, const uint8_t* end, std::vector<KeyValue>* values) {
    constexpr Msg m = Msg::kKvList;
    Field f;
    while (p < end) {
      if (!Next(&p, end, m, &f)) return false;
      if (f.number == 1 && !Repeated(f, m, values, &Decoder::KeyValueMsg)) return false;
    }
    return true;
  }

  const uint8_t* base_;
  const uint8_t* end_;
  size_t budget_;  // element memory left (kMaxDecodeAmplification)
  int depth_ = 0;  // AnyValue nesting
  size_t offset_ = 0;
  std::string where_;  // "Span field 7"
  std::string path_;   // "resource_spans[0]. ... .start_time_unix_nano"
  std::string what_;
};

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutLen(uint32_t number, std::string_view bytes, std::string* out) {
  PutVarint(uint64_t{number} << 3 | kLen, out);
  PutVarint(bytes.size(), out);
  out->append(bytes);
}

}  // namespace

Result<ExportTraceServiceRequest> DecodeProto(std::string_view body) {
  ExportTraceServiceRequest request;
  Decoder decoder(body);
  if (!decoder.Run(&request)) return decoder.ToStatus();
  return request;
}

std::string EncodeProtoResponse(const PartialSuccess& partial) {
  std::string out;
  if (partial.empty()) return out;
  std::string inner;
  if (partial.rejected_spans != 0) {
    PutVarint(uint64_t{1} << 3 | kVarint, &inner);
    PutVarint(static_cast<uint64_t>(partial.rejected_spans), &inner);
  }
  if (!partial.error_message.empty()) PutLen(2, partial.error_message, &inner);
  PutLen(1, inner, &out);
  return out;
}

std::string EncodeProtoStatus(int code, std::string_view message) {
  std::string out;
  if (code != 0) {
    PutVarint(uint64_t{1} << 3 | kVarint, &out);
    // int32 on the wire: negative values sign-extend to 10 bytes.
    PutVarint(static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(code))), &out);
  }
  if (!message.empty()) PutLen(2, message, &out);
  return out;
}

}  // namespace tracedb::ingest::otel
