#pragma once

// RFC 3339 timestamps exactly as chrono (0.4) reads and writes DateTime<Utc>.
//
// Input grammar (what ParseRfc3339 accepts):
//   date-time := YYYY "-" MM "-" DD ("T" | " ") hh ":" mm ":" ss [ "." 1*DIGIT ] offset
//   offset    := "Z" | "z" | ("+" | "-") hh [":"] mm
// Years 0000-9999; the offset is subtracted to give UTC; fraction digits past
// the ninth are ignored (truncated, as chrono does). Leap seconds (ss = 60)
// are rejected. The instant must fit TimestampNs (years 1677-2262).
//
// Output (AppendRfc3339): "YYYY-MM-DDThh:mm:ss[.fff|.ffffff|.fffffffff]Z"
// with the fewest of 0/3/6/9 fraction digits that represent the value
// exactly (chrono's SecondsFormat::AutoSi), e.g. "2025-07-10T12:00:01.500Z".

#include <string>
#include <string_view>

#include "common/result.h"
#include "schema/model.h"

namespace tracedb::schema {

// Parses `text`; returns false (leaving *out unspecified) when malformed.
// Thread-safe; no allocation.
bool ParseRfc3339(std::string_view text, TimestampNs* out);

// As above; on failure an InvalidArgument status says what is wrong.
Result<TimestampNs> ParseRfc3339(std::string_view text);

// Longest output of FormatRfc3339(ts, buf): "YYYY-MM-DDThh:mm:ss.fffffffffZ".
inline constexpr size_t kMaxRfc3339Length = 30;

// Writes the chrono form of `ts` to buf (at least kMaxRfc3339Length bytes);
// returns its length.
size_t FormatRfc3339(TimestampNs ts, char* buf);

// Appends the chrono form of `ts` (UTC, 'Z', 0/3/6/9 fraction digits).
void AppendRfc3339(TimestampNs ts, std::string* out);

// Appends `ts` with exactly 6 fraction digits, or 9 when the value has
// sub-microsecond precision (the operonx Rust exporter's Micros form).
void AppendRfc3339Micros(TimestampNs ts, std::string* out);

// Returns the chrono form of `ts`.
std::string FormatRfc3339(TimestampNs ts);

}  // namespace tracedb::schema
