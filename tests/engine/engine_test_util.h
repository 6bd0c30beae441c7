#pragma once

// Builders for model objects used by the engine tests.

#include <filesystem>
#include <random>
#include <string>

#include "engine/engine.h"

namespace tracedb::engine::testing {

schema::Id128 IdFrom(uint64_t hi, uint64_t lo);
std::string EventIdFrom(uint64_t n);  // 16-byte Reflow-style event id

schema::Trace MakeHeader(const schema::Id128& id, std::string flow, TimestampNs start);
schema::Event MakeEvent(uint64_t n, TimestampNs ts, std::string actor,
                        schema::EventType type = schema::EventType::kMessageSent);

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Trace ids (in order) that `cursor` yields, up to `limit`.
std::vector<schema::Id128> Drain(IndexCursor* cursor, size_t limit = SIZE_MAX);

}  // namespace tracedb::engine::testing
