#pragma once

// Internal support for the serde-exact JSON decoders (reflow_json.cc,
// operonx_json.cc): simdjson on-demand document setup, primitive readers
// with serde's rules, a validating minifier for free-form JSON values, and
// error reporting with a field path and a byte offset.
//
// Not part of the schema module's public API; include only from schema/*.cc.
//
// Error model: every reader returns false on failure after recording the
// error (offset, kind, detail) in the Reader; each enclosing parser prepends
// its path segment while unwinding, so the success path pays nothing for
// paths. Reader::ToStatus() renders
//   "<kind> at byte <offset> (<path>): <detail>"
// e.g. "invalid type at byte 123 (RecordEvent.event.timestamp): expected RFC 3339 string".

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "common/status.h"
#include "schema/json_input.h"
#include "schema/model.h"

namespace tracedb::schema::json_internal {

namespace od = simdjson::ondemand;

// serde_json's default recursion limit: deeper documents are rejected.
inline constexpr int kMaxDepth = 128;

// Validates that `text` holds exactly one JSON value (plus whitespace) with
// at most `max_depth` levels of nesting, and appends a minified copy (no
// insignificant whitespace; strings and numbers verbatim) to *out when out is
// non-null. On failure returns false and sets *err_offset (relative to
// text.data()) and *why. Iterative: deep input cannot overflow the stack.
// Precondition: `text` is valid UTF-8 (simdjson validated the document).
bool MinifyJson(std::string_view text, int max_depth, std::string* out, size_t* err_offset,
                const char** why);

// Rust's `value as f32` for a JSON number read as f64: round to nearest,
// overflow to infinity.
float RustAsF32(double d);

// A simdjson document over a padded copy of (or, when the caller guarantees
// padding, directly over) the input. Owns the thread's parser for the
// duration of one parse; not reentrant within a thread.
class Document {
 public:
  Document(std::string_view json, InputPadding padding);
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  // The iteration error (empty input, invalid UTF-8, unclosed string...).
  simdjson::error_code error() const { return error_; }
  od::document& doc() { return doc_; }
  const char* base() const { return base_; }
  size_t size() const { return size_; }

 private:
  od::parser* parser_ = nullptr;
  std::unique_ptr<char[]> owned_;  // padded copy of a large input
  std::optional<od::parser> big_parser_;  // for inputs too large to keep cached
  od::document doc_;
  simdjson::error_code error_ = simdjson::SUCCESS;
  const char* base_ = nullptr;
  size_t size_ = 0;
};

class Reader {
 public:
  explicit Reader(Document* d) : d_(d) {}

  // ---- error recording (all return false) ----
  bool Fail(const char* at, std::string_view kind, std::string detail);
  // Maps a simdjson error to "invalid type: expected <expected>" or
  // "invalid JSON: <simdjson message>".
  bool FailCode(simdjson::error_code ec, const char* at, std::string_view expected);
  bool Prepend(std::string_view segment);  // adds "segment." in front of the path
  bool PrependIndex(size_t index);         // adds "[index]" in front of the path
  Status ToStatus() const;
  size_t error_offset() const { return offset_; }
  const std::string& error_path() const { return path_; }

  // Byte position of a value (for error messages).
  static const char* At(od::value& v) { return v.raw_json_token().data(); }
  size_t Offset(const char* at) const;

  // ---- primitives with serde's rules ----
  bool String(od::value v, std::string* out);
  bool OptString(od::value v, std::optional<std::string>* out);
  bool U64(od::value v, uint64_t* out, std::string_view what = "u64");
  bool OptU64(od::value v, std::optional<uint64_t>* out);
  bool U32(od::value v, uint32_t* out);
  bool F64(od::value v, double* out);
  bool OptF64(od::value v, std::optional<double>* out);
  bool OptF32(od::value v, std::optional<float>* out);
  bool Bool(od::value v, bool* out);
  bool Uuid(od::value v, Id128* out);
  bool OptUuid(od::value v, std::optional<Id128>* out);
  bool Timestamp(od::value v, TimestampNs* out);
  bool OptTimestamp(od::value v, std::optional<TimestampNs>* out);
  bool Bytes(od::value v, std::vector<uint8_t>* out);
  bool OptBytes(od::value v, std::optional<std::vector<uint8_t>>* out);
  bool StringArray(od::value v, std::vector<std::string>* out);
  // A JSON object of any content, validated and minified into *out.
  bool RawObject(od::value v, std::string* out);
  // Any JSON value, validated and minified into *out (or only validated
  // when out is null: used to skip unknown fields as serde does).
  bool RawValue(od::value v, std::string* out);
  bool Skip(od::value v) { return RawValue(v, nullptr); }
  // Consumes a null (true), or leaves a non-null value untouched (false in
  // *is_null). Returns false on a malformed token.
  bool IsNull(od::value& v, bool* is_null);

  // Opens an object; *at receives its position (for missing-field errors).
  bool Object(od::value v, od::object* obj, const char** at, std::string_view expected);
  // Splits an object field into its unescaped key and value.
  bool Field(simdjson::simdjson_result<od::field> f, std::string_view* key, od::value* value);
  bool MissingField(const char* at, std::string_view name);
  bool DuplicateField(const char* at, std::string_view name);

  // Calls each(od::value, size_t index) -> bool for every element.
  template <typename F>
  bool Array(od::value v, std::string_view expected, F&& each) {
    const char* at = At(v);
    od::array arr;
    if (auto ec = v.get_array().get(arr)) return FailCode(ec, at, expected);
    size_t i = 0;
    for (auto elem : arr) {
      od::value ev;
      if (auto ec = elem.get(ev)) return FailCode(ec, CurrentOr(at), expected);
      if (!each(ev, i)) return PrependIndex(i);
      ++i;
    }
    return true;
  }

  // Best-effort current position after a mid-iteration error.
  const char* CurrentOr(const char* fallback);

  // ---- externally tagged enums ----
  // Reads the variant name of an enum value: a bare string (unit form) or a
  // one-key object. For the object form *inner is the value and *obj the open
  // object, which the caller passes to EndVariant after parsing *inner.
  struct Variant {
    std::string_view name;
    bool unit_form = false;  // the bare-string form
    const char* at = nullptr;
    od::value inner;
    od::object obj;
    od::object_iterator it;
  };
  bool BeginVariant(od::value v, Variant* out, std::string_view enum_name);
  bool BeginRootVariant(od::document& doc, Variant* out, std::string_view enum_name);
  // After the content: rejects a second key.
  bool EndVariant(Variant* var, std::string_view enum_name);
  // A unit variant: bare string, or object form with null content.
  bool UnitContent(Variant* var);
  // A struct variant must use the object form.
  bool RequireStructForm(Variant* var);
  bool UnknownVariant(const Variant& var, std::string_view expected_list);

  // Rejects trailing non-whitespace after the root value.
  bool End();

 private:
  bool VariantFromObject(od::object obj, const char* at, Variant* out, std::string_view enum_name);

  Document* d_;
  size_t offset_ = 0;
  std::string kind_;
  std::string detail_;
  std::string path_;
};

// Presence bits for struct fields: duplicate and missing-field detection.
#define TRACEDB_JSON_FIELD(reader, seen, bit, name, call)                   \
  do {                                                                       \
    if ((seen) & (1u << (bit))) return (reader).DuplicateField(field_at, name); \
    (seen) |= 1u << (bit);                                                   \
    if (!(call)) return (reader).Prepend(name);                              \
  } while (0)

}  // namespace tracedb::schema::json_internal
