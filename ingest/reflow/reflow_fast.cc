#include "ingest/reflow/reflow_fast.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "ingest/reflow/reflow_names.h"
#include "schema/json_reader.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::ingest::reflow {

namespace {

using schema::Event;
using schema::Id128;

// Nesting accepted inside custom_attributes; deeper objects go to the
// general parser, whose document-wide limit (json_internal::kMaxDepth) then
// decides.
constexpr int kAttributesDepth = 32;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A read position in the line. Every method either consumes what it
// matched and returns true, or returns false (the caller then declines the
// whole line, so what a failed method consumed does not matter, except in
// Key, which restores the position).
class Cursor {
 public:
  explicit Cursor(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool AtEnd() const { return p_ == end_; }

  bool Lit(std::string_view lit) {
    if (static_cast<size_t>(end_ - p_) < lit.size() || std::memcmp(p_, lit.data(), lit.size()) != 0) return false;
    p_ += lit.size();
    return true;
  }

  // `"name":`, preceded by a comma unless it is the object's first field
  // (*first). Consumes nothing when the next field is another one.
  bool Key(std::string_view name, bool* first) {
    const char* at = p_;
    if ((*first || Lit(",")) && Lit("\"") && Lit(name) && Lit("\":")) {
      *first = false;
      return true;
    }
    p_ = at;
    return false;
  }

  bool Null() { return Lit("null"); }

  // A string without escapes or control characters: its bytes are its
  // value (the line's UTF-8 was validated up front).
  bool Str(std::string_view* out) {
    if (p_ >= end_ || *p_ != '"') return false;
    const char* start = ++p_;
    while (p_ < end_) {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        *out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c == '\\' || c < 0x20) return false;
      ++p_;
    }
    return false;
  }

  bool String(std::string* out) {
    std::string_view sv;
    if (!Str(&sv)) return false;
    out->assign(sv);
    return true;
  }

  // `null`, or what `read` reads into the engaged optional.
  template <typename T, typename Read>
  bool Opt(std::optional<T>* out, Read read) {
    if (Null()) {
      out->reset();
      return true;
    }
    return read(&out->emplace());
  }

  bool OptString(std::optional<std::string>* out) {
    return Opt(out, [this](std::string* v) { return String(v); });
  }

  bool Uuid(Id128* out) {
    std::string_view sv;
    return Str(&sv) && schema::ParseUuid(sv, out);
  }

  bool OptUuid(std::optional<Id128>* out) {
    return Opt(out, [this](Id128* v) { return Uuid(v); });
  }

  bool Timestamp(schema::TimestampNs* out) {
    std::string_view sv;
    return Str(&sv) && schema::ParseRfc3339(sv, out);
  }

  // A non-negative JSON integer that fits in 64 bits.
  bool U64(uint64_t* out) {
    if (p_ >= end_ || !IsDigit(*p_)) return false;
    uint64_t x = 0;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && IsDigit(*p_)) {
        const uint64_t d = static_cast<uint64_t>(*p_ - '0');
        if (x > (UINT64_MAX - d) / 10) return false;
        x = x * 10 + d;
        ++p_;
      }
    }
    if (p_ < end_ && (IsDigit(*p_) || *p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    *out = x;
    return true;
  }

  bool OptU64(std::optional<uint64_t>* out) {
    return Opt(out, [this](uint64_t* v) { return U64(v); });
  }

  bool U32(uint32_t* out) {
    uint64_t x;
    if (!U64(&x) || x > UINT32_MAX) return false;
    *out = static_cast<uint32_t>(x);
    return true;
  }

  // A JSON number (strict grammar), read as the general parser reads it:
  // the correctly rounded double. Out-of-range values are declined.
  bool F64(double* out) {
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ >= end_ || !IsDigit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
      if (p_ < end_ && IsDigit(*p_)) return false;
    } else {
      while (p_ < end_ && IsDigit(*p_)) ++p_;
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ >= end_ || !IsDigit(*p_)) return false;
      while (p_ < end_ && IsDigit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || !IsDigit(*p_)) return false;
      while (p_ < end_ && IsDigit(*p_)) ++p_;
    }
    auto [ptr, ec] = std::from_chars(start, p_, *out);
    return ec == std::errc() && ptr == p_;
  }

  bool OptF64(std::optional<double>* out) {
    return Opt(out, [this](double* v) { return F64(v); });
  }

  bool OptF32(std::optional<float>* out) {
    return Opt(out, [this](float* v) {
      double d;
      if (!F64(&d)) return false;
      *v = schema::json_internal::RustAsF32(d);
      return true;
    });
  }

  // `[n,n,...]` of integers 0-255 (a third of a typical event's text).
  bool Bytes(std::vector<uint8_t>* out) {
    out->clear();
    if (!Lit("[")) return false;
    if (Lit("]")) return true;
    // Sized once: growing element by element reallocated ~9 times for a
    // few hundred bytes.
    const char* close = static_cast<const char*>(std::memchr(p_, ']', static_cast<size_t>(end_ - p_)));
    if (close == nullptr) return false;
    out->resize(static_cast<size_t>(std::count(p_, close, ',')) + 1);
    uint8_t* dst = out->data();
    uint8_t* const dst_end = dst + out->size();
    while (true) {
      if (p_ >= end_ || !IsDigit(*p_) || dst == dst_end) return false;
      unsigned x = static_cast<unsigned>(*p_++ - '0');
      if (x != 0 && p_ < end_ && IsDigit(*p_)) {
        x = x * 10 + static_cast<unsigned>(*p_++ - '0');
        if (p_ < end_ && IsDigit(*p_)) x = x * 10 + static_cast<unsigned>(*p_++ - '0');
      }
      if (x > 255) return false;
      *dst++ = static_cast<uint8_t>(x);
      if (p_ >= end_) return false;
      const char c = *p_++;
      if (c == ']') return dst == dst_end;
      if (c != ',') return false;  // also a leading zero, a fourth digit, a fraction, an exponent
    }
  }

  bool OptBytes(std::optional<std::vector<uint8_t>>* out) {
    return Opt(out, [this](std::vector<uint8_t>* v) { return Bytes(v); });
  }

  // A JSON object kept as text, minified and validated as the general
  // parser's Reader::RawObject does.
  bool RawObject(std::string* out) {
    if (p_ >= end_ || *p_ != '{') return false;
    const char* start = p_;
    int depth = 0;
    while (p_ < end_) {
      const char c = *p_++;
      if (c == '"') {
        while (p_ < end_ && *p_ != '"') {
          if (*p_ == '\\' && ++p_ == end_) return false;  // an escape's second byte, never past the end
          ++p_;
        }
        if (p_ == end_) return false;
        ++p_;
      } else if (c == '{' || c == '[') {
        if (++depth > kAttributesDepth) return false;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) break;
      }
    }
    if (depth != 0) return false;
    out->clear();
    size_t offset;
    const char* why;
    return schema::json_internal::MinifyJson(std::string_view(start, static_cast<size_t>(p_ - start)),
                                             kAttributesDepth, out, &offset, &why);
  }

 private:
  const char* p_;
  const char* const end_;
};

// TraceEventType: a unit variant's name, or {"DataFlow":{...}}.
bool ParseEventType(Cursor& c, Event* e) {
  if (c.Lit("{\"DataFlow\":{\"to_actor\":")) {
    e->type = schema::EventType::kDataFlow;
    return c.String(&e->to_actor) && c.Lit(",\"to_port\":") && c.String(&e->to_port) && c.Lit("}}");
  }
  std::string_view name;
  if (!c.Str(&name)) return false;
  const int idx = names::IndexOf(name, names::kEventTypes);
  if (idx < 0 || static_cast<schema::EventType>(idx) == schema::EventType::kDataFlow) return false;
  e->type = static_cast<schema::EventType>(idx);
  return true;
}

bool ParseMessage(Cursor& c, schema::MessageSnapshot* m) {
  bool first = true;
  if (!c.Key("message_type", &first) || !c.String(&m->message_type)) return false;
  if (!c.Key("size_bytes", &first) || !c.U64(&m->size_bytes)) return false;
  if (!c.Key("checksum", &first) || !c.String(&m->checksum)) return false;
  if (c.Key("serialized_data", &first) && !c.Bytes(&m->serialized_data)) return false;
  bool g2 = false;
  if (c.Key("content_codec", &first)) {
    g2 = true;
    if (!c.String(&m->content_codec)) return false;
  }
  if (c.Key("content_format_version", &first)) {
    g2 = true;
    if (!c.U32(&m->content_format_version)) return false;
  }
  if (c.Key("stored_bytes", &first)) {
    g2 = true;
    if (!c.OptU64(&m->stored_bytes)) return false;
  }
  m->has_g2_fields = g2;
  return c.Lit("}");
}

bool ParseStateDiff(Cursor& c, schema::StateDiff* d) {
  bool first = true;
  if (c.Key("before", &first) && !c.OptBytes(&d->before)) return false;
  if (!c.Key("after", &first) || !c.Bytes(&d->after)) return false;
  std::string_view name;
  if (!c.Key("diff_type", &first) || !c.Str(&name)) return false;
  const int idx = names::IndexOf(name, names::kDiffTypes);
  if (idx < 0) return false;
  d->diff_type = static_cast<schema::StateDiffType>(idx);
  return c.Lit("}");
}

bool ParseMetrics(Cursor& c, schema::PerformanceMetrics* m) {
  bool first = true;
  if (c.Key("execution_time_ns", &first) && !c.OptU64(&m->execution_time_ns)) return false;
  if (c.Key("memory_usage_bytes", &first) && !c.OptU64(&m->memory_usage_bytes)) return false;
  if (c.Key("cpu_usage_percent", &first) && !c.OptF32(&m->cpu_usage_percent)) return false;
  if (c.Key("queue_depth", &first) && !c.OptU64(&m->queue_depth)) return false;
  if (c.Key("throughput_msgs_per_sec", &first) && !c.OptF64(&m->throughput_msgs_per_sec)) return false;
  return c.Lit("}");
}

bool ParseData(Cursor& c, schema::ReflowEventData* d) {
  bool first = true;
  if (c.Key("port", &first) && !c.OptString(&d->port)) return false;
  if (c.Key("message", &first) &&
      !c.Opt(&d->message, [&](schema::MessageSnapshot* m) { return c.Lit("{") && ParseMessage(c, m); })) {
    return false;
  }
  if (c.Key("state_diff", &first) &&
      !c.Opt(&d->state_diff, [&](schema::StateDiff* sd) { return c.Lit("{") && ParseStateDiff(c, sd); })) {
    return false;
  }
  if (c.Key("error", &first) && !c.OptString(&d->error)) return false;
  if (!c.Key("performance_metrics", &first) || !c.Lit("{") || !ParseMetrics(c, &d->metrics)) return false;
  if (!c.Key("custom_attributes", &first) || !c.RawObject(&d->custom_attributes_json)) return false;
  return c.Lit("}");
}

bool ParseCausality(Cursor& c, schema::Causality* k) {
  bool first = true;
  if (c.Key("parent_event_id", &first) && !c.OptUuid(&k->parent_event_id)) return false;
  if (!c.Key("root_cause_event_id", &first) || !c.Uuid(&k->root_cause_event_id)) return false;
  if (!c.Key("dependency_chain", &first) || !c.Lit("[")) return false;
  if (!c.Lit("]")) {
    do {
      if (!c.Uuid(&k->dependency_chain.emplace_back())) return false;
    } while (c.Lit(","));
    if (!c.Lit("]")) return false;
  }
  if (!c.Key("span_id", &first) || !c.String(&k->span_id)) return false;
  return c.Lit("}");
}

}  // namespace

bool ParseCanonicalRecordEvent(std::string_view json, RecordEvent* out) {
  Cursor c(json);
  if (!c.Lit("{\"RecordEvent\":{\"trace_id\":")) return false;
  // The general parser rejects invalid UTF-8 anywhere in the document.
  if (!simdjson::validate_utf8(json.data(), json.size())) return false;
  if (!c.Uuid(&out->trace_id) || !c.Lit(",\"event\":{\"event_id\":")) return false;
  Id128 id;
  if (!c.Uuid(&id)) return false;
  Event& e = out->event;
  e.event_id.assign(reinterpret_cast<const char*>(id.data()), id.size());
  if (!c.Lit(",\"timestamp\":") || !c.Timestamp(&e.timestamp_ns)) return false;
  if (!c.Lit(",\"event_type\":") || !ParseEventType(c, &e)) return false;
  if (!c.Lit(",\"actor_id\":") || !c.String(&e.actor)) return false;
  schema::ReflowEventData& data = e.reflow.emplace();
  if (!c.Lit(",\"data\":{") || !ParseData(c, &data)) return false;
  if (!c.Lit(",\"causality\":{") || !ParseCausality(c, &data.causality)) return false;
  return c.Lit("}}}") && c.AtEnd();
}

}  // namespace tracedb::ingest::reflow
