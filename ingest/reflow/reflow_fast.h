#pragma once

// The ingest path's common case without the general parser: a RecordEvent
// exactly as serde_json prints it (reflow_json.h). Parsing it field by field
// through simdjson's On-Demand API was ~35 % of a bulk ingest's CPU
// (docs/PERFORMANCE.md, Run O); a request in this one fixed form is read by
// a direct scan instead. Anything else (whitespace between tokens, fields in
// another order, unknown fields, escapes in a string, another enum form, any
// error) is left to the general parser, which also produces every error
// message, so the two can never disagree on what a line means: the fast
// path either returns what the general parser would, or declines.

#include <string_view>

#include "ingest/reflow/reflow_protocol.h"

namespace tracedb::ingest::reflow {

// True, with *out (which must be default-constructed) filled exactly as
// ParseTracingRequest would fill its RecordEvent, when `json` is a
// RecordEvent in serde_json's compact form: no whitespace outside strings,
// the fields of every struct in declaration order (Option fields present or
// absent), strings without escapes, enum variants as serde prints them.
// False otherwise; *out is then unspecified and the caller parses `json`
// with the general parser. Reads only inside `json`; thread-safe.
bool ParseCanonicalRecordEvent(std::string_view json, RecordEvent* out);

}  // namespace tracedb::ingest::reflow
