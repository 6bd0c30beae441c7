#pragma once

// Shared fixture pieces for the server tests: a real server on 127.0.0.1
// with a free port, and builders for Reflow request JSON exactly as a
// client prints it (reflow-protocol.md §5).

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "server/config.h"
#include "server/server.h"
#include "tests/server/ws_client.h"

namespace tracedb::server::testing {

// A server (and its engine) for one test.
struct TestServer {
  Config config;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<Server> server;

  // In-memory by default; `dir` non-empty selects the on-disk store.
  static Config DefaultConfig();
  Status Start(const Config& c);
  void Stop();  // server, then engine
  uint16_t port() const { return server->port(); }
  std::unique_ptr<WsClient> Connect(bool deflate = false, const std::string& path = "/");
  // Events stored for `trace_id` (a UUID string); 0 when the trace does not exist.
  size_t EventCount(const std::string& trace_id);
};

// A UUID string made from a small number: 00000000-0000-4000-8000-<n:012>.
std::string Uuid(uint64_t n, uint32_t prefix = 0);

// TraceEvent JSON (G1 shape) with `event_type` as raw JSON ("\"ActorCreated\"").
std::string EventJson(const std::string& event_id, const std::string& actor, const std::string& event_type,
                      const std::string& timestamp = "2025-07-10T12:00:01.500Z");
std::string RecordEventJson(const std::string& trace_id, const std::string& event_json);
std::string StartTraceJson(const std::string& flow_id, const std::string& trace_id = "");

// A temporary directory removed on destruction.
struct TempDir {
  TempDir();
  ~TempDir();
  std::filesystem::path path;
};

}  // namespace tracedb::server::testing
