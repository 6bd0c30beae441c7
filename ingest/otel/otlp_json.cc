#include "ingest/otel/otlp_json.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>

#include <simdjson.h>

#include "ingest/otel/otlp_proto.h"
#include "schema/json_writer.h"

namespace tracedb::ingest::otel {
namespace {

namespace od = simdjson::ondemand;

static_assert(schema::kJsonPadding == simdjson::SIMDJSON_PADDING, "kJsonPadding must match simdjson");

// JSON nesting the parser accepts: every AnyValue level costs four JSON
// levels (value object, arrayValue object, values array, element), plus the
// fixed envelope; unknown fields get the same budget.
constexpr size_t kMaxJsonDepth = 16 + 4 * kMaxAnyValueDepth;

// Inputs up to this size reuse a thread-local parser and padded buffer;
// larger ones get their own, freed after the parse, so that one 64 MiB
// request does not pin its buffers per thread for ever.
constexpr size_t kCachedInputLimit = size_t{1} << 20;

struct ThreadState {
  od::parser parser{kCachedInputLimit};
  bool allocated = false;  // max depth set (capacity grows on demand)
  std::unique_ptr<char[]> buffer;
  size_t capacity = 0;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Standard and URL-safe alphabets; -1 for anything else.
int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Decodes base64 with optional '=' padding; nullptr or why it failed.
const char* DecodeBase64(std::string_view s, std::string* out) {
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  if (s.size() % 4 == 1) return "invalid base64 length";
  out->clear();
  out->reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const int v = Base64Value(c);
    if (v < 0) return "invalid base64 character";
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return nullptr;
}

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?,
// followed only by whitespace (simdjson's raw token keeps it).
bool IsJsonNumber(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

enum class Outcome { kOk, kError, kUnknown };

class JsonDecoder {
 public:
  JsonDecoder(od::document* doc, const char* base, size_t size)
      : doc_(doc), base_(base), size_(size), budget_((size_t{1} << 20) + kMaxDecodeAmplification * size) {}

  bool Run(ExportTraceServiceRequest* r) {
    od::object obj;
    if (auto ec = doc_->get_object().get(obj)) return FailCode(ec, base_, "an ExportTraceServiceRequest object");
    if (!Fields(obj, [&](std::string_view key, od::value v) {
          if (key == "resourceSpans") return Array(v, &r->resource_spans, &JsonDecoder::ResourceSpansMsg);
          return Outcome::kUnknown;
        })) {
      return false;
    }
    const char* loc = nullptr;
    // current_location() fails with OUT_OF_BOUNDS exactly when the iterator
    // has consumed the last token.
    if (doc_->current_location().get(loc) == simdjson::SUCCESS) {
      return Fail(loc, "trailing characters after the JSON value");
    }
    return true;
  }

  Status ToStatus() const {
    std::string msg = "invalid OTLP JSON at byte " + std::to_string(offset_);
    if (!path_.empty()) msg += " (" + path_ + ")";
    return Status::InvalidArgument(msg + ": " + what_);
  }

 private:
  // ---- errors ----
  bool Fail(const char* at, std::string what) {
    offset_ = at != nullptr && at >= base_ && at <= base_ + size_ ? static_cast<size_t>(at - base_) : 0;
    what_ = std::move(what);
    path_.clear();
    return false;
  }
  const char* Current(const char* fallback) {
    const char* loc = nullptr;
    if (doc_->current_location().get(loc) == simdjson::SUCCESS) return loc;
    return fallback;
  }
  bool FailCode(simdjson::error_code ec, const char* at, std::string_view expected) {
    if (ec == simdjson::INCORRECT_TYPE) return Fail(at, "expected " + std::string(expected));
    if (ec == simdjson::NUMBER_OUT_OF_RANGE || ec == simdjson::NUMBER_ERROR) {
      return Fail(at, "invalid number, expected " + std::string(expected));
    }
    return Fail(Current(at), std::string("invalid JSON: ") + simdjson::error_message(ec));
  }
  bool Prepend(std::string_view key) {
    if (path_.empty()) {
      path_.assign(key);
    } else if (path_.front() == '[') {
      path_.insert(0, key);
    } else {
      path_.insert(0, std::string(key) + ".");
    }
    return false;
  }
  bool PrependIndex(size_t i) {
    std::string seg = "[" + std::to_string(i) + "]";
    if (!path_.empty() && path_.front() != '[') seg.push_back('.');
    path_.insert(0, seg);
    return false;
  }
  static const char* At(od::value& v) { return v.raw_json_token().data(); }

  // ---- structure ----
  // Calls each(key, value) -> Outcome for every member whose value is not
  // null; kUnknown members are validated and skipped.
  template <typename F>
  bool Fields(od::object obj, F&& each) {
    for (auto member : obj) {
      od::field field;
      if (auto ec = std::move(member).get(field)) return FailCode(ec, nullptr, "an object member");
      std::string_view key;
      if (auto ec = field.unescaped_key().get(key)) return FailCode(ec, nullptr, "an object key");
      od::value v = field.value();
      od::json_type type;
      if (auto ec = v.type().get(type)) return FailCode(ec, At(v), "a JSON value");
      if (type == od::json_type::null) {
        bool is_null = false;
        if (auto ec = v.is_null().get(is_null); ec || !is_null) return Fail(At(v), "invalid JSON: expected null");
        continue;
      }
      switch (each(key, v)) {
        case Outcome::kOk: break;
        case Outcome::kError: return Prepend(key);
        case Outcome::kUnknown:
          if (!Skip(v, 0)) return Prepend(key);
          break;
      }
    }
    return true;
  }
  template <typename F>
  bool Object(od::value v, std::string_view expected, F&& each) {
    const char* at = At(v);
    od::object obj;
    if (auto ec = v.get_object().get(obj)) return FailCode(ec, at, expected);
    return Fields(obj, std::forward<F>(each));
  }
  static Outcome Of(bool ok) { return ok ? Outcome::kOk : Outcome::kError; }

  // A JSON array of messages into *vec (replacing what a repeated key left).
  template <typename T>
  Outcome Array(od::value v, std::vector<T>* vec, bool (JsonDecoder::*decode)(od::value, T*)) {
    const char* at = At(v);
    od::array arr;
    if (auto ec = v.get_array().get(arr)) return Of(FailCode(ec, at, "an array"));
    vec->clear();
    for (auto elem : arr) {
      od::value ev;
      if (auto ec = elem.get(ev)) return Of(FailCode(ec, nullptr, "an array element"));
      if (sizeof(T) > budget_) {
        Fail(At(ev), "the decoded request would take more than " +
                         std::to_string((size_t{1} << 20) + kMaxDecodeAmplification * size_) + " bytes of memory (" +
                         std::to_string(kMaxDecodeAmplification) + "x the body + 1 MiB)");
        return Of(PrependIndex(vec->size()));
      }
      budget_ -= sizeof(T);
      vec->emplace_back();
      if (!(this->*decode)(ev, &vec->back())) return Of(PrependIndex(vec->size() - 1));
    }
    return Outcome::kOk;
  }

  // Validates any value and discards it (unknown fields).
  bool Skip(od::value v, int depth) {
    const char* at = At(v);
    if (depth > static_cast<int>(kMaxJsonDepth)) return Fail(at, "JSON nested too deeply");
    od::json_type type;
    if (auto ec = v.type().get(type)) return FailCode(ec, at, "a JSON value");
    simdjson::error_code ec = simdjson::SUCCESS;
    switch (type) {
      case od::json_type::object: {
        od::object obj;
        if ((ec = v.get_object().get(obj))) break;
        for (auto member : obj) {
          od::field field;
          if ((ec = std::move(member).get(field))) break;
          std::string_view key;
          if ((ec = field.unescaped_key().get(key))) break;
          if (!Skip(field.value(), depth + 1)) return Prepend(key);
        }
        break;
      }
      case od::json_type::array: {
        od::array arr;
        if ((ec = v.get_array().get(arr))) break;
        size_t i = 0;
        for (auto elem : arr) {
          od::value ev;
          if ((ec = elem.get(ev))) break;
          if (!Skip(ev, depth + 1)) return PrependIndex(i);
          ++i;
        }
        break;
      }
      case od::json_type::number:
        // Checked by grammar, not converted: an unknown member may hold a
        // number no C++ type holds (simdjson refuses big integers).
        if (!IsJsonNumber(v.raw_json_token())) return Fail(at, "invalid JSON: malformed number");
        break;
      case od::json_type::string: {
        std::string_view s;
        ec = v.get_string().get(s);
        break;
      }
      case od::json_type::boolean: {
        bool b;
        ec = v.get_bool().get(b);
        break;
      }
      case od::json_type::null: {
        bool is_null = false;
        ec = v.is_null().get(is_null);
        if (!ec && !is_null) ec = simdjson::N_ATOM_ERROR;
        break;
      }
    }
    if (ec) return FailCode(ec, at, "a JSON value");
    return true;
  }

  // ---- scalars ----
  Outcome String(od::value v, std::string* out) {
    std::string_view s;
    if (auto ec = v.get_string().get(s)) return Of(FailCode(ec, At(v), "a string"));
    out->assign(s);
    return Outcome::kOk;
  }
  Outcome Hex(od::value v, std::string* out) {
    const char* at = At(v);
    std::string_view s;
    if (auto ec = v.get_string().get(s)) return Of(FailCode(ec, at, "a hex string"));
    if (s.size() % 2 != 0) {
      return Of(Fail(at, "hex id has an odd number of digits (" + std::to_string(s.size()) + ")"));
    }
    out->resize(s.size() / 2);
    for (size_t i = 0; i < s.size(); i += 2) {
      const int hi = HexValue(s[i]);
      const int lo = HexValue(s[i + 1]);
      if (hi < 0 || lo < 0) {
        const char bad = hi < 0 ? s[i] : s[i + 1];
        return Of(Fail(at, std::string("invalid hex digit '") + bad + "' in an id"));
      }
      (*out)[i / 2] = static_cast<char>(hi << 4 | lo);
    }
    return Outcome::kOk;
  }
  // An integer as a JSON number or a decimal string; T is int64_t or uint64_t.
  template <typename T>
  bool Integer(od::value v, T* out, std::string_view expected) {
    const char* at = At(v);
    od::json_type type;
    if (auto ec = v.type().get(type)) return FailCode(ec, at, expected);
    if (type == od::json_type::string) {
      std::string_view s;
      if (auto ec = v.get_string().get(s)) return FailCode(ec, at, expected);
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
      if (ec != std::errc() || end != s.data() + s.size() || s.empty() || s[0] == '+') {
        return Fail(at, "expected " + std::string(expected) + " (a decimal integer string)");
      }
      return true;
    }
    if (type != od::json_type::number) return Fail(at, "expected " + std::string(expected));
    simdjson::error_code ec;
    if constexpr (std::is_signed_v<T>) {
      ec = v.get_int64().get(*out);
    } else {
      ec = v.get_uint64().get(*out);
    }
    if (ec) return Fail(at, "expected " + std::string(expected) + ", got " + std::string(v.raw_json_token()));
    return true;
  }
  Outcome U64(od::value v, uint64_t* out) { return Of(Integer(v, out, "an unsigned 64-bit integer")); }
  Outcome I64(od::value v, int64_t* out) { return Of(Integer(v, out, "a 64-bit integer")); }
  Outcome U32(od::value v, uint32_t* out) {
    uint64_t u;
    if (!Integer(v, &u, "an unsigned 32-bit integer")) return Outcome::kError;
    if (u > std::numeric_limits<uint32_t>::max()) return Of(Fail(At(v), "integer out of the uint32 range"));
    *out = static_cast<uint32_t>(u);
    return Outcome::kOk;
  }
  Outcome I32(od::value v, int32_t* out, std::string_view expected) {
    int64_t i;
    if (!Integer(v, &i, expected)) return Outcome::kError;
    if (i < std::numeric_limits<int32_t>::min() || i > std::numeric_limits<int32_t>::max()) {
      return Of(Fail(At(v), "integer out of the int32 range"));
    }
    *out = static_cast<int32_t>(i);
    return Outcome::kOk;
  }
  Outcome Double(od::value v, double* out) {
    const char* at = At(v);
    od::json_type type;
    if (auto ec = v.type().get(type)) return Of(FailCode(ec, at, "a number"));
    if (type == od::json_type::number) {
      if (auto ec = v.get_double().get(*out)) return Of(FailCode(ec, at, "a number"));
      return Outcome::kOk;
    }
    std::string_view s;
    if (auto ec = v.get_string().get(s)) return Of(FailCode(ec, at, "a number"));
    if (s == "NaN") {
      *out = std::numeric_limits<double>::quiet_NaN();
    } else if (s == "Infinity") {
      *out = std::numeric_limits<double>::infinity();
    } else if (s == "-Infinity") {
      *out = -std::numeric_limits<double>::infinity();
    } else {
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
      if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
        return Of(Fail(at, "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\""));
      }
    }
    return Outcome::kOk;
  }

  // ---- messages ----
  bool ResourceSpansMsg(od::value v, ResourceSpans* r) {
    return Object(v, "a ResourceSpans object", [&](std::string_view key, od::value f) {
      if (key == "scopeSpans") return Array(f, &r->scope_spans, &JsonDecoder::ScopeSpansMsg);
      if (key == "resource") return Of(ResourceMsg(f, &r->resource));
      if (key == "schemaUrl") return String(f, &r->schema_url);
      return Outcome::kUnknown;
    });
  }

  bool ResourceMsg(od::value v, Resource* r) {
    return Object(v, "a Resource object", [&](std::string_view key, od::value f) {
      if (key == "attributes") return Array(f, &r->attributes, &JsonDecoder::KeyValueMsg);
      if (key == "droppedAttributesCount") return U32(f, &r->dropped_attributes_count);
      return Outcome::kUnknown;
    });
  }

  bool ScopeSpansMsg(od::value v, ScopeSpans* s) {
    return Object(v, "a ScopeSpans object", [&](std::string_view key, od::value f) {
      if (key == "spans") return Array(f, &s->spans, &JsonDecoder::SpanMsg);
      if (key == "scope") return Of(ScopeMsg(f, &s->scope));
      if (key == "schemaUrl") return String(f, &s->schema_url);
      return Outcome::kUnknown;
    });
  }

  bool ScopeMsg(od::value v, InstrumentationScope* s) {
    return Object(v, "an InstrumentationScope object", [&](std::string_view key, od::value f) {
      if (key == "name") return String(f, &s->name);
      if (key == "version") return String(f, &s->version);
      if (key == "attributes") return Array(f, &s->attributes, &JsonDecoder::KeyValueMsg);
      if (key == "droppedAttributesCount") return U32(f, &s->dropped_attributes_count);
      return Outcome::kUnknown;
    });
  }

  bool SpanMsg(od::value v, Span* s) {
    return Object(v, "a Span object", [&](std::string_view key, od::value f) {
      if (key == "traceId") return Hex(f, &s->trace_id);
      if (key == "spanId") return Hex(f, &s->span_id);
      if (key == "parentSpanId") return Hex(f, &s->parent_span_id);
      if (key == "name") return String(f, &s->name);
      if (key == "kind") return I32(f, &s->kind, "an integer SpanKind");
      if (key == "startTimeUnixNano") return U64(f, &s->start_time_unix_nano);
      if (key == "endTimeUnixNano") return U64(f, &s->end_time_unix_nano);
      if (key == "attributes") return Array(f, &s->attributes, &JsonDecoder::KeyValueMsg);
      if (key == "events") return Array(f, &s->events, &JsonDecoder::EventMsg);
      if (key == "links") return Array(f, &s->links, &JsonDecoder::LinkMsg);
      if (key == "status") return Of(StatusMsg(f, &s->status));
      if (key == "flags") return U32(f, &s->flags);
      if (key == "traceState") return String(f, &s->trace_state);
      if (key == "droppedAttributesCount") return U32(f, &s->dropped_attributes_count);
      if (key == "droppedEventsCount") return U32(f, &s->dropped_events_count);
      if (key == "droppedLinksCount") return U32(f, &s->dropped_links_count);
      return Outcome::kUnknown;
    });
  }

  bool EventMsg(od::value v, SpanEvent* e) {
    return Object(v, "a Span.Event object", [&](std::string_view key, od::value f) {
      if (key == "timeUnixNano") return U64(f, &e->time_unix_nano);
      if (key == "name") return String(f, &e->name);
      if (key == "attributes") return Array(f, &e->attributes, &JsonDecoder::KeyValueMsg);
      if (key == "droppedAttributesCount") return U32(f, &e->dropped_attributes_count);
      return Outcome::kUnknown;
    });
  }

  bool LinkMsg(od::value v, SpanLink* l) {
    return Object(v, "a Span.Link object", [&](std::string_view key, od::value f) {
      if (key == "traceId") return Hex(f, &l->trace_id);
      if (key == "spanId") return Hex(f, &l->span_id);
      if (key == "traceState") return String(f, &l->trace_state);
      if (key == "attributes") return Array(f, &l->attributes, &JsonDecoder::KeyValueMsg);
      if (key == "droppedAttributesCount") return U32(f, &l->dropped_attributes_count);
      if (key == "flags") return U32(f, &l->flags);
      return Outcome::kUnknown;
    });
  }

  bool StatusMsg(od::value v, SpanStatus* s) {
    return Object(v, "a Status object", [&](std::string_view key, od::value f) {
      if (key == "code") return I32(f, &s->code, "an integer StatusCode");
      if (key == "message") return String(f, &s->message);
      return Outcome::kUnknown;
    });
  }

  bool KeyValueMsg(od::value v, KeyValue* kv) {
    return Object(v, "a KeyValue object", [&](std::string_view key, od::value f) {
      if (key == "key") return String(f, &kv->key);
      if (key == "value") return Of(AnyValueMsg(f, &kv->value));
      return Outcome::kUnknown;
    });
  }

  bool AnyValueMsg(od::value v, AnyValue* out) {
    if (depth_ >= kMaxAnyValueDepth) {
      return Fail(At(v), "AnyValue nested deeper than " + std::to_string(kMaxAnyValueDepth) + " levels");
    }
    ++depth_;
    const bool ok = Object(v, "an AnyValue object", [&](std::string_view key, od::value f) {
      AnyValue::Kind kind;
      if (key == "stringValue") {
        kind = AnyValue::Kind::kString;
      } else if (key == "intValue") {
        kind = AnyValue::Kind::kInt;
      } else if (key == "doubleValue") {
        kind = AnyValue::Kind::kDouble;
      } else if (key == "boolValue") {
        kind = AnyValue::Kind::kBool;
      } else if (key == "arrayValue") {
        kind = AnyValue::Kind::kArray;
      } else if (key == "kvlistValue") {
        kind = AnyValue::Kind::kKvList;
      } else if (key == "bytesValue") {
        kind = AnyValue::Kind::kBytes;
      } else {
        return Outcome::kUnknown;
      }
      if (out->kind != AnyValue::Kind::kEmpty) {
        return Of(Fail(At(f), "AnyValue has more than one value member"));
      }
      out->kind = kind;
      return AnyValueMember(f, out);
    });
    --depth_;
    return ok;
  }

  Outcome AnyValueMember(od::value f, AnyValue* out) {
    switch (out->kind) {
      case AnyValue::Kind::kString: return String(f, &out->str);
      case AnyValue::Kind::kInt: return I64(f, &out->i);
      case AnyValue::Kind::kDouble: return Double(f, &out->d);
      case AnyValue::Kind::kBool: {
        bool b;
        if (auto ec = f.get_bool().get(b)) return Of(FailCode(ec, At(f), "a boolean"));
        out->i = b ? 1 : 0;
        return Outcome::kOk;
      }
      case AnyValue::Kind::kBytes: {
        const char* at = At(f);
        std::string_view s;
        if (auto ec = f.get_string().get(s)) return Of(FailCode(ec, at, "a base64 string"));
        if (const char* why = DecodeBase64(s, &out->str)) return Of(Fail(at, why));
        return Outcome::kOk;
      }
      case AnyValue::Kind::kArray:
        return Of(Object(f, "an ArrayValue object", [&](std::string_view key, od::value g) {
          if (key == "values") return Array(g, &out->array, &JsonDecoder::AnyValueMsg);
          return Outcome::kUnknown;
        }));
      case AnyValue::Kind::kKvList:
        return Of(Object(f, "a KeyValueList object", [&](std::string_view key, od::value g) {
          if (key == "values") return Array(g, &out->kvlist, &JsonDecoder::KeyValueMsg);
          return Outcome::kUnknown;
        }));
      case AnyValue::Kind::kEmpty: break;
    }
    return Outcome::kOk;
  }

  od::document* doc_;
  const char* base_;
  size_t size_;
  size_t budget_;  // element memory left (kMaxDecodeAmplification, otlp_proto.h)
  int depth_ = 0;  // AnyValue nesting
  size_t offset_ = 0;
  std::string what_;
  std::string path_;
};

}  // namespace

Result<ExportTraceServiceRequest> DecodeJson(std::string_view body, schema::InputPadding padding) {
  thread_local ThreadState state;
  std::optional<od::parser> big_parser;
  std::unique_ptr<char[]> big_buffer;
  od::parser* parser = &state.parser;
  const char* data = body.data();
  const size_t padded = body.size() + simdjson::SIMDJSON_PADDING;
  if (body.size() > kCachedInputLimit) {
    big_parser.emplace(body.size());
    parser = &*big_parser;
  }
  if (padding == schema::InputPadding::kNone) {
    char* buf;
    if (body.size() > kCachedInputLimit) {
      big_buffer.reset(new char[padded]);
      buf = big_buffer.get();
    } else {
      if (state.capacity < padded) {
        state.capacity = std::max<size_t>(padded, 4096);
        state.buffer.reset(new char[state.capacity]);
      }
      buf = state.buffer.get();
    }
    std::memcpy(buf, body.data(), body.size());
    std::memset(buf + body.size(), 0, simdjson::SIMDJSON_PADDING);
    data = buf;
  }
  simdjson::error_code ec = simdjson::SUCCESS;
  if (big_parser) {
    ec = parser->allocate(body.size(), kMaxJsonDepth);
  } else if (!state.allocated) {
    ec = parser->allocate(4096, kMaxJsonDepth);
    state.allocated = ec == simdjson::SUCCESS;
  }
  if (ec) {
    return Status::ResourceExhausted(std::string("OTLP JSON: cannot allocate the parser: ") +
                                     simdjson::error_message(ec));
  }
  od::document doc;
  if (auto iter_ec = parser->iterate(data, body.size(), padded).get(doc)) {
    return Status::InvalidArgument(std::string("invalid OTLP JSON: ") + simdjson::error_message(iter_ec));
  }
  ExportTraceServiceRequest request;
  JsonDecoder decoder(&doc, data, body.size());
  if (!decoder.Run(&request)) return decoder.ToStatus();
  return request;
}

std::string EncodeJsonResponse(const PartialSuccess& partial) {
  if (partial.empty()) return "{}";
  std::string out = R"({"partialSuccess":{)";
  if (partial.rejected_spans != 0) {
    out += R"("rejectedSpans":")" + std::to_string(partial.rejected_spans) + "\"";
  }
  if (!partial.error_message.empty()) {
    if (partial.rejected_spans != 0) out += ',';
    out += R"("errorMessage":)";
    schema::AppendJsonString(partial.error_message, &out);
  }
  out += "}}";
  return out;
}

std::string EncodeJsonStatus(int code, std::string_view message) {
  std::string out = "{";
  if (code != 0) out += R"("code":)" + std::to_string(code);
  if (!message.empty()) {
    if (code != 0) out += ',';
    out += R"("message":)";
    schema::AppendJsonString(message, &out);
  }
  out += "}";
  return out;
}

}  // namespace tracedb::ingest::otel
