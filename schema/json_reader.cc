#include "schema/json_reader.h"

#include <cfloat>
#include <cmath>
#include <cstring>

#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::schema::json_internal {

static_assert(kJsonPadding == simdjson::SIMDJSON_PADDING, "kJsonPadding must match simdjson");

namespace {

// Inputs up to this size reuse a thread-local parser and buffer; larger ones
// get their own, freed after the parse, so that one huge message does not
// pin hundreds of MiB per thread.
constexpr size_t kCachedInputLimit = size_t{1} << 20;

struct ThreadState {
  od::parser parser;
  std::unique_ptr<char[]> buffer;
  size_t buffer_capacity = 0;
  bool allocated = false;
};

ThreadState& State() {
  thread_local ThreadState state;
  return state;
}

bool IsWs(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Scans a string starting at *p == '"'; returns nullptr or the reason.
const char* ScanString(const char** pp, const char* end) {
  const char* p = *pp + 1;
  bool pending_high = false;  // a high surrogate escape awaits its low half
  while (true) {
    if (p >= end) return "unterminated string";
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"') {
      if (pending_high) return "lone leading surrogate in hex escape";
      *pp = p + 1;
      return nullptr;
    }
    if (c < 0x20) return "control character in string";
    if (c != '\\') {
      if (pending_high) return "lone leading surrogate in hex escape";
      ++p;
      continue;
    }
    if (p + 1 >= end) return "unterminated string";
    const char e = p[1];
    if (e == 'u') {
      if (p + 6 > end) return "invalid \\u escape";
      int cp = 0;
      for (int k = 2; k < 6; ++k) {
        const int h = HexVal(p[k]);
        if (h < 0) return "invalid \\u escape";
        cp = cp * 16 + h;
      }
      const bool high = cp >= 0xD800 && cp <= 0xDBFF;
      const bool low = cp >= 0xDC00 && cp <= 0xDFFF;
      if (pending_high && !low) return "lone leading surrogate in hex escape";
      if (!pending_high && low) return "lone trailing surrogate in hex escape";
      pending_high = high;
      p += 6;
      continue;
    }
    if (pending_high) return "lone leading surrogate in hex escape";
    if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
        e != 't') {
      return "invalid escape";
    }
    p += 2;
  }
}

const char* ScanNumber(const char** pp, const char* end) {
  const char* p = *pp;
  if (p < end && *p == '-') ++p;
  if (p >= end || !IsDigit(*p)) return "invalid number";
  if (*p == '0') {
    ++p;
  } else {
    while (p < end && IsDigit(*p)) ++p;
  }
  if (p < end && *p == '.') {
    ++p;
    if (p >= end || !IsDigit(*p)) return "invalid number";
    while (p < end && IsDigit(*p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p >= end || !IsDigit(*p)) return "invalid number";
    while (p < end && IsDigit(*p)) ++p;
  }
  if (p < end && !IsWs(*p) && *p != ',' && *p != ']' && *p != '}') return "invalid number";
  *pp = p;
  return nullptr;
}

}  // namespace

bool MinifyJson(std::string_view text, int max_depth, std::string* out, size_t* err_offset,
                const char** why) {
  const char* const begin = text.data();
  const char* p = begin;
  const char* const end = begin + text.size();
  // Container stack: '{' or '['. Bounded by max_depth, so a plain vector is
  // enough and recursion is never used.
  std::vector<char> stack;
  auto fail = [&](const char* reason) {
    *err_offset = static_cast<size_t>(p - begin);
    *why = reason;
    return false;
  };
  auto skip_ws = [&] {
    while (p < end && IsWs(*p)) ++p;
  };
  auto emit = [&](const char* from, const char* to) {
    if (out != nullptr) out->append(from, to);
  };
  auto emit_char = [&](char c) {
    if (out != nullptr) out->push_back(c);
  };
  enum class State { kValue, kKey, kAfter };
  State state = State::kValue;
  while (true) {
    skip_ws();
    switch (state) {
      case State::kValue: {
        if (p >= end) return fail("unexpected end of input");
        const char c = *p;
        if (c == '{' || c == '[') {
          if (static_cast<int>(stack.size()) >= max_depth) return fail("recursion limit exceeded");
          stack.push_back(c);
          emit_char(c);
          ++p;
          skip_ws();
          const char close = c == '{' ? '}' : ']';
          if (p < end && *p == close) {
            emit_char(close);
            ++p;
            stack.pop_back();
            state = State::kAfter;
          } else {
            state = c == '{' ? State::kKey : State::kValue;
          }
          continue;
        }
        const char* start = p;
        const char* reason = nullptr;
        if (c == '"') {
          reason = ScanString(&p, end);
        } else if (c == '-' || IsDigit(c)) {
          reason = ScanNumber(&p, end);
        } else if (c == 't' && end - p >= 4 && std::memcmp(p, "true", 4) == 0) {
          p += 4;
        } else if (c == 'f' && end - p >= 5 && std::memcmp(p, "false", 5) == 0) {
          p += 5;
        } else if (c == 'n' && end - p >= 4 && std::memcmp(p, "null", 4) == 0) {
          p += 4;
        } else {
          reason = "expected a JSON value";
        }
        if (reason != nullptr) return fail(reason);
        emit(start, p);
        state = State::kAfter;
        continue;
      }
      case State::kKey: {
        if (p >= end || *p != '"') return fail("expected an object key string");
        const char* start = p;
        if (const char* reason = ScanString(&p, end)) return fail(reason);
        emit(start, p);
        skip_ws();
        if (p >= end || *p != ':') return fail("expected ':'");
        emit_char(':');
        ++p;
        state = State::kValue;
        continue;
      }
      case State::kAfter: {
        if (stack.empty()) {
          if (p != end) return fail("trailing characters");
          return true;
        }
        if (p >= end) return fail("unexpected end of input");
        const char top = stack.back();
        if (*p == ',') {
          emit_char(',');
          ++p;
          state = top == '{' ? State::kKey : State::kValue;
          continue;
        }
        const char close = top == '{' ? '}' : ']';
        if (*p != close) return fail(top == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
        emit_char(close);
        ++p;
        stack.pop_back();
        continue;
      }
    }
  }
}

Document::Document(std::string_view json, InputPadding padding) {
  size_ = json.size();
  const char* data = json.data();
  if (size_ <= kCachedInputLimit) {
    ThreadState& st = State();
    parser_ = &st.parser;
    if (!st.allocated) {
      error_ = st.parser.allocate(4096, kMaxDepth);
      st.allocated = error_ == simdjson::SUCCESS;
      if (error_) return;
    }
    if (padding == InputPadding::kNone) {
      if (st.buffer_capacity < size_ + kJsonPadding) {
        st.buffer_capacity = std::max<size_t>(size_ + kJsonPadding, 4096);
        st.buffer.reset(new char[st.buffer_capacity]);
      }
      std::memcpy(st.buffer.get(), json.data(), size_);
      std::memset(st.buffer.get() + size_, 0, kJsonPadding);
      data = st.buffer.get();
    }
  } else {
    big_parser_.emplace();
    parser_ = &*big_parser_;
    error_ = parser_->allocate(size_, kMaxDepth);
    if (error_) return;
    if (padding == InputPadding::kNone) {
      owned_.reset(new char[size_ + kJsonPadding]);
      std::memcpy(owned_.get(), json.data(), size_);
      std::memset(owned_.get() + size_, 0, kJsonPadding);
      data = owned_.get();
    }
  }
  base_ = data;
  error_ = parser_->iterate(data, size_, size_ + kJsonPadding).get(doc_);
}

// ---- errors ----

size_t Reader::Offset(const char* at) const {
  if (at == nullptr || at < d_->base() || at > d_->base() + d_->size()) return 0;
  return static_cast<size_t>(at - d_->base());
}

const char* Reader::CurrentOr(const char* fallback) {
  const char* loc = nullptr;
  if (d_->doc().current_location().get(loc) == simdjson::SUCCESS) return loc;
  return fallback;
}

bool Reader::Fail(const char* at, std::string_view kind, std::string detail) {
  offset_ = Offset(at);
  kind_ = kind;
  detail_ = std::move(detail);
  path_.clear();
  return false;
}

bool Reader::FailCode(simdjson::error_code ec, const char* at, std::string_view expected) {
  switch (ec) {
    case simdjson::INCORRECT_TYPE:
      return Fail(at, "invalid type", "expected " + std::string(expected));
    case simdjson::NUMBER_OUT_OF_RANGE:
      return Fail(at, "invalid value", "number out of range, expected " + std::string(expected));
    default:
      return Fail(at == nullptr ? CurrentOr(nullptr) : at, "invalid JSON",
                  simdjson::error_message(ec));
  }
}

bool Reader::Prepend(std::string_view segment) {
  if (path_.empty()) {
    path_.assign(segment);
  } else if (path_.front() == '[') {
    path_.insert(0, segment);
  } else {
    path_.insert(0, std::string(segment) + ".");
  }
  return false;
}

bool Reader::PrependIndex(size_t index) {
  std::string seg = "[" + std::to_string(index) + "]";
  if (!path_.empty() && path_.front() != '[') seg.push_back('.');
  path_.insert(0, seg);
  return false;
}

Status Reader::ToStatus() const {
  std::string msg = kind_ + " at byte " + std::to_string(offset_);
  if (!path_.empty()) msg += " (" + path_ + ")";
  msg += ": " + detail_;
  return Status::InvalidArgument(std::move(msg));
}

bool Reader::MissingField(const char* at, std::string_view name) {
  return Fail(at, "missing field", "`" + std::string(name) + "`");
}

bool Reader::DuplicateField(const char* at, std::string_view name) {
  return Fail(at, "duplicate field", "`" + std::string(name) + "`");
}

// ---- primitives ----

bool Reader::IsNull(od::value& v, bool* is_null) {
  const char* at = At(v);
  if (auto ec = v.is_null().get(*is_null)) return FailCode(ec, at, "null");
  return true;
}

bool Reader::String(od::value v, std::string* out) {
  const char* at = At(v);
  std::string_view sv;
  if (auto ec = v.get_string().get(sv)) return FailCode(ec, at, "a string");
  out->assign(sv);
  return true;
}

bool Reader::OptString(od::value v, std::optional<std::string>* out) {
  bool null;
  if (!IsNull(v, &null)) return false;
  if (null) {
    out->reset();
    return true;
  }
  return String(v, &out->emplace());
}

bool Reader::U64(od::value v, uint64_t* out, std::string_view what) {
  const char* at = At(v);
  if (auto ec = v.get_uint64().get(*out)) {
    if (ec == simdjson::INCORRECT_TYPE || ec == simdjson::NUMBER_OUT_OF_RANGE ||
        ec == simdjson::NUMBER_ERROR) {
      return Fail(at, "invalid type",
                  "expected " + std::string(what) + " (a non-negative JSON integer)");
    }
    return FailCode(ec, at, what);
  }
  return true;
}

bool Reader::OptU64(od::value v, std::optional<uint64_t>* out) {
  bool null;
  if (!IsNull(v, &null)) return false;
  if (null) {
    out->reset();
    return true;
  }
  return U64(v, &out->emplace());
}

bool Reader::U32(od::value v, uint32_t* out) {
  const char* at = At(v);
  uint64_t x;
  if (!U64(v, &x, "u32")) return false;
  if (x > UINT32_MAX) return Fail(at, "invalid value", "integer `" + std::to_string(x) + "`, expected u32");
  *out = static_cast<uint32_t>(x);
  return true;
}

bool Reader::F64(od::value v, double* out) {
  const char* at = At(v);
  if (auto ec = v.get_double().get(*out)) return FailCode(ec, at, "a number");
  return true;
}

bool Reader::OptF64(od::value v, std::optional<double>* out) {
  bool null;
  if (!IsNull(v, &null)) return false;
  if (null) {
    out->reset();
    return true;
  }
  return F64(v, &out->emplace());
}

bool Reader::OptF32(od::value v, std::optional<float>* out) {
  bool null;
  if (!IsNull(v, &null)) return false;
  if (null) {
    out->reset();
    return true;
  }
  double d;
  if (!F64(v, &d)) return false;
  *out = RustAsF32(d);
  return true;
}

float RustAsF32(double d) {
  // Round to nearest, overflow to infinity. A plain cast of an out-of-range
  // double is undefined behaviour in C++, so clamp first.
  constexpr double kHalfUlpAboveMax = static_cast<double>(FLT_MAX) + 0x1p103;
  const double mag = std::fabs(d);
  if (mag >= kHalfUlpAboveMax) return std::copysign(INFINITY, static_cast<float>(d > 0 ? 1 : -1));
  if (mag > FLT_MAX) return d > 0 ? FLT_MAX : -FLT_MAX;
  return static_cast<float>(d);
}

bool Reader::Bool(od::value v, bool* out) {
  const char* at = At(v);
  if (auto ec = v.get_bool().get(*out)) return FailCode(ec, at, "a boolean");
  return true;
}

bool Reader::Uuid(od::value v, Id128* out) {
  const char* at = At(v);
  std::string_view sv;
  if (auto ec = v.get_string().get(sv)) return FailCode(ec, at, "a UUID string");
  if (!ParseUuid(sv, out)) {
    return Fail(at, "invalid value", "expected a UUID, got \"" + std::string(sv.substr(0, 64)) + "\"");
  }
  return true;
}

bool Reader::OptUuid(od::value v, std::optional<Id128>* out) {
  bool null;
  if (!IsNull(v, &null)) return false;
  if (null) {
    out->reset();
    return true;
  }
  return Uuid(v, &out->emplace());
}

bool Reader::Timestamp(od::value v, TimestampNs* out) {
  const char* at = At(v);
  std::string_view sv;
  if (auto ec = v.get_string().get(sv)) return FailCode(ec, at, "RFC 3339 string");
  if (!ParseRfc3339(sv, out)) {
    auto r = ParseRfc3339(sv);  // cold path: recompute for the reason
    return Fail(at, "invalid value", r.status().message());
  }
  return true;
}

bool Reader::OptTimestamp(od::value v, std::optional<TimestampNs>* out) {
  bool null;
  if (!IsNull(v, &null)) return false;
  if (null) {
    out->reset();
    return true;
  }
  return Timestamp(v, &out->emplace());
}

namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Reads `[n, n, ...]` of integers 0-255 straight from the text at `p` (the
// array's '['; the document is padded, so reading stops at the ']' or at a
// byte that is not part of this simple grammar). Returns false, leaving
// *out unspecified, for anything else: leading zeros, signs, fractions,
// exponents, values above 255 or malformed JSON go to the ondemand path,
// which reports the error at its exact position.
bool ScanByteArray(const char* p, std::vector<uint8_t>* out) {
  if (*p++ != '[') return false;
  while (IsJsonSpace(*p)) ++p;
  if (*p == ']') return true;
  while (true) {
    if (*p < '0' || *p > '9') return false;
    unsigned x = static_cast<unsigned>(*p++ - '0');
    if (x == 0) {
      if (*p >= '0' && *p <= '9') return false;  // leading zero
    } else {
      for (int digits = 1; *p >= '0' && *p <= '9'; ++digits) {
        if (digits == 3) return false;
        x = x * 10 + static_cast<unsigned>(*p++ - '0');
      }
      if (x > 255) return false;
    }
    if (*p == '.' || *p == 'e' || *p == 'E') return false;
    out->push_back(static_cast<uint8_t>(x));
    while (IsJsonSpace(*p)) ++p;
    if (*p == ']') return true;
    if (*p++ != ',') return false;
    while (IsJsonSpace(*p)) ++p;
  }
}

}  // namespace

bool Reader::Bytes(od::value v, std::vector<uint8_t>* out) {
  out->clear();
  // Message snapshots carry their bytes as arrays of hundreds of small
  // integers: scanning them directly is several times faster than one
  // ondemand number parse per element. The iterator then skips the array.
  const char* at = At(v);
  if (ScanByteArray(at, out)) {
    od::array arr;
    std::string_view raw;
    if (auto ec = v.get_array().get(arr)) return FailCode(ec, at, "an array of integers 0-255");
    if (auto ec = arr.raw_json().get(raw)) return FailCode(ec, at, "an array of integers 0-255");
    return true;
  }
  out->clear();
  return Array(v, "an array of integers 0-255", [&](od::value e, size_t) {
    const char* at = At(e);
    uint64_t x;
    if (!U64(e, &x, "u8")) return false;
    if (x > 255) return Fail(at, "invalid value", "integer `" + std::to_string(x) + "`, expected u8");
    out->push_back(static_cast<uint8_t>(x));
    return true;
  });
}

bool Reader::OptBytes(od::value v, std::optional<std::vector<uint8_t>>* out) {
  bool null;
  if (!IsNull(v, &null)) return false;
  if (null) {
    out->reset();
    return true;
  }
  return Bytes(v, &out->emplace());
}

bool Reader::StringArray(od::value v, std::vector<std::string>* out) {
  out->clear();
  return Array(v, "an array of strings", [&](od::value e, size_t) {
    return String(e, &out->emplace_back());
  });
}

bool Reader::RawObject(od::value v, std::string* out) {
  const char* at = At(v);
  od::object obj;
  if (auto ec = v.get_object().get(obj)) return FailCode(ec, at, "a JSON object");
  std::string_view raw;
  if (auto ec = obj.raw_json().get(raw)) return FailCode(ec, nullptr, "a JSON object");
  out->clear();
  size_t off;
  const char* why;
  if (!MinifyJson(raw, kMaxDepth, out, &off, &why)) {
    return Fail(raw.data() + off, "invalid JSON", why);
  }
  return true;
}

bool Reader::RawValue(od::value v, std::string* out) {
  const char* at = At(v);
  od::json_type type;
  if (auto ec = v.type().get(type)) return FailCode(ec, at, "a JSON value");
  std::string_view raw;
  simdjson::error_code ec = simdjson::SUCCESS;
  if (type == od::json_type::object) {
    od::object obj;
    ec = v.get_object().get(obj);
    if (!ec) ec = obj.raw_json().get(raw);
  } else if (type == od::json_type::array) {
    od::array arr;
    ec = v.get_array().get(arr);
    if (!ec) ec = arr.raw_json().get(raw);
  } else {
    raw = v.raw_json_token();
  }
  if (ec) return FailCode(ec, at, "a JSON value");
  if (out != nullptr) out->clear();
  size_t off;
  const char* why;
  if (!MinifyJson(raw, kMaxDepth, out, &off, &why)) {
    return Fail(raw.data() + off, "invalid JSON", why);
  }
  return true;
}

bool Reader::Object(od::value v, od::object* obj, const char** at, std::string_view expected) {
  *at = At(v);
  if (auto ec = v.get_object().get(*obj)) return FailCode(ec, *at, expected);
  return true;
}

bool Reader::Field(simdjson::simdjson_result<od::field> f, std::string_view* key, od::value* value) {
  od::field fld;
  if (auto ec = std::move(f).get(fld)) return FailCode(ec, nullptr, "an object field");
  if (auto ec = fld.unescaped_key().get(*key)) return FailCode(ec, nullptr, "an object key");
  *value = fld.value();
  return true;
}

// ---- enums ----

bool Reader::VariantFromObject(od::object obj, const char* at, Variant* out,
                               std::string_view enum_name) {
  out->obj = obj;
  out->at = at;
  out->unit_form = false;
  if (auto ec = out->obj.begin().get(out->it)) return FailCode(ec, at, "an enum variant");
  od::object_iterator end;
  if (auto ec = out->obj.end().get(end)) return FailCode(ec, at, "an enum variant");
  if (!(out->it != end)) {
    return Fail(at, "invalid value",
                "expected an object with exactly one key (a " + std::string(enum_name) + " variant), got {}");
  }
  return Field(*out->it, &out->name, &out->inner);
}

bool Reader::BeginVariant(od::value v, Variant* out, std::string_view enum_name) {
  const char* at = At(v);
  od::json_type type;
  if (auto ec = v.type().get(type)) return FailCode(ec, at, enum_name);
  if (type == od::json_type::string) {
    out->at = at;
    out->unit_form = true;
    if (auto ec = v.get_string().get(out->name)) return FailCode(ec, at, "a string");
    return true;
  }
  if (type != od::json_type::object) {
    return Fail(at, "invalid type", "expected " + std::string(enum_name) +
                                        " (a variant name string or a one-key object)");
  }
  od::object obj;
  if (auto ec = v.get_object().get(obj)) return FailCode(ec, at, enum_name);
  return VariantFromObject(obj, at, out, enum_name);
}

bool Reader::BeginRootVariant(od::document& doc, Variant* out, std::string_view enum_name) {
  const char* at = d_->base();
  od::json_type type;
  if (auto ec = doc.type().get(type)) return FailCode(ec, at, enum_name);
  if (type == od::json_type::string) {
    out->at = at;
    out->unit_form = true;
    if (auto ec = doc.get_string().get(out->name)) return FailCode(ec, at, "a string");
    return true;
  }
  if (type != od::json_type::object) {
    return Fail(at, "invalid type", "expected " + std::string(enum_name) +
                                        " (a variant name string or a one-key object)");
  }
  od::object obj;
  if (auto ec = doc.get_object().get(obj)) return FailCode(ec, at, enum_name);
  return VariantFromObject(obj, at, out, enum_name);
}

bool Reader::EndVariant(Variant* var, std::string_view enum_name) {
  if (var->unit_form) return true;
  ++var->it;
  od::object_iterator end;
  if (auto ec = var->obj.end().get(end)) return FailCode(ec, var->at, enum_name);
  if (var->it != end) {
    std::string_view key;
    od::value ignored;
    if (!Field(*var->it, &key, &ignored)) return false;
    return Fail(CurrentOr(var->at), "invalid value",
                "expected an object with exactly one key (a " + std::string(enum_name) +
                    " variant), found a second key \"" + std::string(key.substr(0, 64)) + "\"");
  }
  return true;
}

bool Reader::UnitContent(Variant* var) {
  if (var->unit_form) return true;
  const char* at = At(var->inner);
  bool null;
  if (!IsNull(var->inner, &null)) return false;
  if (!null) {
    return Fail(at, "invalid type", "expected null as the content of unit variant `" +
                                        std::string(var->name) + "`");
  }
  return true;
}

bool Reader::RequireStructForm(Variant* var) {
  if (!var->unit_form) return true;
  return Fail(var->at, "invalid type",
              "unit variant, expected struct variant `" + std::string(var->name) + "` as an object");
}

bool Reader::UnknownVariant(const Variant& var, std::string_view expected_list) {
  return Fail(var.at, "unknown variant",
              "`" + std::string(var.name.substr(0, 64)) + "`, expected one of " + std::string(expected_list));
}

bool Reader::End() {
  // current_location() fails with OUT_OF_BOUNDS exactly when the iterator
  // has consumed the last token.
  const char* loc = nullptr;
  if (d_->doc().current_location().get(loc) == simdjson::SUCCESS) {
    return Fail(loc, "trailing characters", "expected the end of the input after the JSON value");
  }
  return true;
}

}  // namespace tracedb::schema::json_internal
