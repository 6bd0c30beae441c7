#pragma once

// Shared fixture pieces for the server tests: a real server on 127.0.0.1
// with a free port, and builders for Reflow request JSON exactly as a
// client prints it (reflow-protocol.md §5).

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
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

// The value of the unlabelled metric `name` in GET /metrics of the server
// on `port` (-1 when the request fails or the metric is absent).
int64_t MetricValue(uint16_t port, const std::string& name);

// Polls /metrics until `name` reads `want`; false after `timeout`.
bool WaitForMetric(uint16_t port, const std::string& name, int64_t want,
                   std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Polls `done` (every 10 ms) until it returns true; false after `timeout`.
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(20));

// An engine that forwards every call to the engine it wraps; tests derive
// from it and override the calls they want to change. Thread-safe when the
// wrapped engine is.
class ForwardingEngine : public engine::Engine {
 public:
  // Wraps `base`, which must outlive this engine.
  explicit ForwardingEngine(engine::Engine* base) : base_(base) {}
  // Wraps and owns `base`.
  explicit ForwardingEngine(std::unique_ptr<engine::Engine> base) : owned_(std::move(base)), base_(owned_.get()) {}

  Result<engine::WriteResult> Write(const engine::WriteBatch& batch) override { return base_->Write(batch); }
  Result<std::optional<schema::Trace>> GetTrace(const engine::Id128& trace_id,
                                                const engine::ReadOptions& options) override {
    return base_->GetTrace(trace_id, options);
  }
  Result<std::vector<schema::FlowVersion>> GetFlowVersions(std::string_view flow_id) override {
    return base_->GetFlowVersions(flow_id);
  }
  std::unique_ptr<engine::IndexCursor> ScanIndex(const engine::IndexRange& range) override {
    return base_->ScanIndex(range);
  }
  Result<std::vector<std::string>> ListIndexValues(engine::IndexKind kind, std::string_view prefix,
                                                   size_t limit) override {
    return base_->ListIndexValues(kind, prefix, limit);
  }
  Status ReadColumns(const engine::Id128& trace_id,
                     const std::function<bool(const engine::ColumnChunk&)>& fn) override {
    return base_->ReadColumns(trace_id, fn);
  }
  Status ReadColumnsAt(const engine::Id128& trace_id, engine::TimestampNs start_ns,
                       const std::function<bool(const engine::ColumnChunk&)>& fn) override {
    return base_->ReadColumnsAt(trace_id, start_ns, fn);
  }
  Status ScanColumns(engine::TimestampNs min_start, engine::TimestampNs max_start,
                     const std::function<bool(const engine::ColumnChunk&)>& fn) override {
    return base_->ScanColumns(min_start, max_start, fn);
  }
  Status ScanTraces(const std::function<bool(const schema::Trace&)>& fn) override { return base_->ScanTraces(fn); }
  Result<uint64_t> EnforceRetention(engine::TimestampNs now_ns) override { return base_->EnforceRetention(now_ns); }
  engine::TimestampNs retention_cutoff() const override { return base_->retention_cutoff(); }
  Status CompactAll() override { return base_->CompactAll(); }
  engine::Stats GetStats() override { return base_->GetStats(); }
  const engine::Counters& counters() const override { return base_->counters(); }
  const engine::Options& options() const override { return base_->options(); }
  uint64_t DiskUsageBytes() override { return base_->DiskUsageBytes(); }
  engine::StorageSpace Space() override { return base_->Space(); }
  Result<engine::BackupInfo> Backup(const engine::BackupOptions& options) override { return base_->Backup(options); }
  Result<engine::CheckReport> Check(const engine::CheckOptions& options) override { return base_->Check(options); }

 private:
  std::unique_ptr<engine::Engine> owned_;
  engine::Engine* base_;
};

// A ForwardingEngine whose Write() blocks while the gate is closed, until it
// is opened: a test holds the server's writer this way so that replies stay
// pending. Thread-safe.
class GatedEngine : public ForwardingEngine {
 public:
  explicit GatedEngine(std::unique_ptr<engine::Engine> base) : ForwardingEngine(std::move(base)) {}
  ~GatedEngine() override { OpenGate(); }

  void CloseGate();
  void OpenGate();
  // Writes blocked at the closed gate right now.
  size_t blocked_writes();
  // Waits until at least `n` writes are blocked at the gate.
  bool WaitForBlockedWrites(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20));

  Result<engine::WriteResult> Write(const engine::WriteBatch& batch) override;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;   // GUARDED_BY(mu_)
  size_t blocked_ = 0;    // GUARDED_BY(mu_)
};

}  // namespace tracedb::server::testing
