#pragma once

// A small, fast JSON output builder that prints exactly what serde_json
// prints (compact form):
//  - strings: `"` and `\` escaped, \b \f \n \r \t as short escapes, other
//    bytes < 0x20 as \u00XX (lowercase hex); everything else, including
//    non-ASCII UTF-8 and '/', verbatim;
//  - f32 / f64: ryu's shortest round-trip digits in ryu's "pretty" layout
//    ("0.0", "15.5", "1e21", "1.5e-7"; f32 switches to scientific notation
//    at a smaller magnitude than f64); NaN and infinities as null.
//
// The writer appends to a caller-owned std::string and tracks commas itself;
// it does not check nesting (the caller emits well-formed sequences).
// Not thread-safe; one writer per output string.

#include <cstdint>
#include <string>
#include <string_view>

namespace tracedb::schema {

// Appends `s` as a quoted, escaped JSON string.
void AppendJsonString(std::string_view s, std::string* out);

// Appends serde_json's text for an f32 / f64 ("null" when not finite).
void AppendJsonF32(float v, std::string* out);
void AppendJsonF64(double v, std::string* out);

class JsonWriter {
 public:
  // Appends to *out, which must outlive the writer.
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Sep(); out_->push_back('{'); need_comma_ = false; }
  void EndObject() { out_->push_back('}'); need_comma_ = true; }
  void BeginArray() { Sep(); out_->push_back('['); need_comma_ = false; }
  void EndArray() { out_->push_back(']'); need_comma_ = true; }

  // Writes an object key (escaped) and the colon; the next call writes its value.
  void Key(std::string_view key);
  // As Key for keys known to need no escaping (plain ASCII identifiers).
  void PlainKey(std::string_view key);

  void String(std::string_view s) { Sep(); AppendJsonString(s, out_); need_comma_ = true; }
  void Uint(uint64_t v);
  void Int(int64_t v);
  void Bool(bool v) { Sep(); out_->append(v ? "true" : "false"); need_comma_ = true; }
  void Null() { Sep(); out_->append("null"); need_comma_ = true; }
  void F32(float v) { Sep(); AppendJsonF32(v, out_); need_comma_ = true; }
  void F64(double v) { Sep(); AppendJsonF64(v, out_); need_comma_ = true; }
  // Writes `json` verbatim as one value; the caller guarantees it is valid JSON.
  void Raw(std::string_view json) { Sep(); out_->append(json); need_comma_ = true; }
  // Writes a string value from text known to need no escaping.
  void PlainString(std::string_view s);

  std::string* out() { return out_; }

 private:
  void Sep() {
    if (need_comma_) out_->push_back(',');
  }

  std::string* out_;
  bool need_comma_ = false;
};

}  // namespace tracedb::schema
