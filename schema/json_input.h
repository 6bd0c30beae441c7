#pragma once

// Input conventions shared by the JSON decoders (reflow_json.h, operonx_json.h).

#include <cstddef>

namespace tracedb::schema {

// Readable bytes the simdjson decoders may touch past the end of the input.
// Equals SIMDJSON_PADDING (static_assert in schema/json_reader.cc).
inline constexpr size_t kJsonPadding = 64;

// Whether the caller's input is followed by kJsonPadding readable bytes.
// kNone (the default) makes the decoder copy the input into a padded,
// thread-local buffer first: one memcpy, about 30 ns per KiB.
enum class InputPadding {
  kNone,
  kPadded,  // json.data()[json.size() .. json.size() + kJsonPadding) is readable
};

}  // namespace tracedb::schema
