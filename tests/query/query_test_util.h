#pragma once

// A fixed, seeded data set for the query tests: Reflow and operonx traces
// with every field the language reads, written through engine::WriteBatch
// into an in-memory engine. Same seed, same data, on every platform (the
// generator uses only mt19937_64 outputs, never distributions).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "query/bound.h"

namespace tracedb::query::testing {

// 2025-07-10T12:00:00Z.
inline constexpr int64_t kT0 = 1752148800LL * 1000000000LL;
inline constexpr int64_t kSecond = 1000000000LL;

struct DatasetOptions {
  uint64_t seed = 42;
  size_t traces = 200;
  // Trace i starts at kT0 + i * spacing_ns, or at a random one of `traces / 4`
  // slots when `ties` (many equal starts, to exercise the id tie-break).
  int64_t spacing_ns = kSecond;
  bool ties = false;
};

// Trace number n's id: 15 zero bytes then n (n < 2^64).
schema::Id128 TraceId(uint64_t n);
// "t<n>" for ids made by TraceId; the UUID otherwise.
std::string ShortId(const schema::Id128& id);

std::unique_ptr<engine::Engine> OpenMemoryEngine();

// Writes the data set; traces are numbered 1..traces.
Status WriteDataset(engine::Engine* engine, const DatasetOptions& options);

// Every trace matching `filter`, evaluated on the decoded trace (no index,
// no columns), in newest-first order. The reference for differential tests.
Result<std::vector<schema::Id128>> BruteForce(engine::Engine* engine, const Node& filter);

}  // namespace tracedb::query::testing
