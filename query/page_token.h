#pragma once

// The opaque page cursor: the position (start_ns, trace_id) of the last
// trace of a page, in the newest-first order of engine::IndexBefore.
//
//   token := "c1" hex(ordered_i64(start_ns)) hex(trace_id[16])   (50 chars)
//
// A token stays valid across writes: the next page starts strictly after
// that position, so traces inserted later at newer positions never shift it.

#include <string>
#include <string_view>

#include "common/result.h"
#include "engine/engine.h"

namespace tracedb::query {

std::string EncodePageToken(const engine::IndexEntry& last);

// InvalidArgument when `token` is not a token EncodePageToken produced.
Result<engine::IndexEntry> DecodePageToken(std::string_view token);

}  // namespace tracedb::query
