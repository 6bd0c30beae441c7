#include "tests/server/server_test_util.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "schema/uuid.h"

namespace tracedb::server::testing {

Config TestServer::DefaultConfig() {
  Config c;
  c.host = "127.0.0.1";
  c.port = 0;
  c.backend = "memory";
  c.block_cache_bytes = 8 << 20;
  c.write_buffer_bytes = 8 << 20;
  return c;
}

Status TestServer::Start(const Config& c) {
  config = c;
  auto e = OpenEngine(config);
  if (!e.ok()) return e.status();
  engine = std::move(e).value();
  auto s = Server::Start(config, engine.get());
  if (!s.ok()) return s.status();
  server = std::move(s).value();
  return Status::OK();
}

void TestServer::Stop() {
  if (server) server->Stop();
  server.reset();
  engine.reset();
}

std::unique_ptr<WsClient> TestServer::Connect(bool deflate, const std::string& path) {
  auto c = WsClient::Connect(port(), deflate, path);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

size_t TestServer::EventCount(const std::string& trace_id) {
  schema::Id128 id;
  EXPECT_TRUE(schema::ParseUuid(trace_id, &id));
  auto t = engine->GetTrace(id);
  EXPECT_TRUE(t.ok());
  return t.ok() && t->has_value() ? (*t)->events.size() : 0;
}

std::string Uuid(uint64_t n, uint32_t prefix) {
  return fmt::format("{:08x}-0000-4000-8000-{:012x}", prefix, n);
}

std::string EventJson(const std::string& event_id, const std::string& actor, const std::string& event_type,
                      const std::string& timestamp) {
  return fmt::format(
      R"({{"event_id":"{}","timestamp":"{}","event_type":{},"actor_id":"{}","data":{{"port":"out","message":null,)"
      R"("state_diff":null,"error":null,"performance_metrics":{{"execution_time_ns":0,"memory_usage_bytes":0,)"
      R"("cpu_usage_percent":0.0,"queue_depth":0,"throughput_msgs_per_sec":0.0}},"custom_attributes":{{}}}},)"
      R"("causality":{{"parent_event_id":null,"root_cause_event_id":"22222222-2222-4222-8222-222222222222",)"
      R"("dependency_chain":[],"span_id":"s"}}}})",
      event_id, timestamp, event_type, actor);
}

std::string RecordEventJson(const std::string& trace_id, const std::string& event_json) {
  return fmt::format(R"({{"RecordEvent":{{"trace_id":"{}","event":{}}}}})", trace_id, event_json);
}

std::string StartTraceJson(const std::string& flow_id, const std::string& trace_id) {
  std::string id = trace_id.empty() ? "" : fmt::format(R"("trace_id":"{}",)", trace_id);
  return fmt::format(
      R"({{"StartTrace":{{{}"flow_id":"{}","version":{{"major":1,"minor":0,"patch":0,"git_hash":null,)"
      R"("timestamp":"2025-07-10T12:00:00Z"}}}}}})",
      id, flow_id);
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path = std::filesystem::temp_directory_path() /
         fmt::format("tracedb_server_test_{}_{}", getpid(), counter.fetch_add(1));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

int64_t MetricValue(uint16_t port, const std::string& name) {
  auto r = HttpGet(port, "/metrics");
  if (!r.ok() || r->status != 200) return -1;
  std::string body = "\n" + r->body;
  std::string key = "\n" + name + " ";
  size_t at = body.find(key);
  if (at == std::string::npos) return -1;
  return std::strtoll(body.c_str() + at + key.size(), nullptr, 10);
}

bool WaitForMetric(uint16_t port, const std::string& name, int64_t want, std::chrono::milliseconds timeout) {
  return WaitUntil([&] { return MetricValue(port, name) == want; }, timeout);
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

void GatedEngine::CloseGate() {
  std::lock_guard lock(mu_);
  closed_ = true;
}

void GatedEngine::OpenGate() {
  std::lock_guard lock(mu_);
  closed_ = false;
  cv_.notify_all();
}

size_t GatedEngine::blocked_writes() {
  std::lock_guard lock(mu_);
  return blocked_;
}

bool GatedEngine::WaitForBlockedWrites(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return blocked_ >= n; });
}

Result<engine::WriteResult> GatedEngine::Write(const engine::WriteBatch& batch) {
  {
    std::unique_lock lock(mu_);
    if (closed_) {
      ++blocked_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !closed_; });
      --blocked_;
    }
  }
  return ForwardingEngine::Write(batch);
}

}  // namespace tracedb::server::testing
