#pragma once

// Edge-case traces for the query oracle, written through the engine's write
// path next to the shared generated data set (query_test_util.h): values the
// generator never produces, where a field reader or a matcher is most likely
// to be wrong. Glob and regex metacharacters in names, an empty op short
// name, operonx names without dots, JSON arrays, booleans, nulls, negative and
// exponent numbers, keys with dots, tags with dots, an operonx error and a
// status that is not an event status, a media_ref size, negative durations.

#include <cstddef>
#include <cstdint>

#include "common/status.h"
#include "engine/engine.h"

namespace tracedb::query::oracle {

inline constexpr size_t kEdgeTraces = 8;

// Writes kEdgeTraces traces starting at `start_ns`, one second apart.
Status WriteEdgeCases(engine::Engine* engine, int64_t start_ns);

}  // namespace tracedb::query::oracle
