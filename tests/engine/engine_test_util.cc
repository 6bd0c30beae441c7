#include "tests/engine/engine_test_util.h"

#include <unistd.h>

#include <atomic>

namespace tracedb::engine::testing {

schema::Id128 IdFrom(uint64_t hi, uint64_t lo) {
  schema::Id128 id{};
  for (int i = 0; i < 8; ++i) {
    id[static_cast<size_t>(i)] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    id[static_cast<size_t>(8 + i)] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return id;
}

std::string EventIdFrom(uint64_t n) {
  schema::Id128 id = IdFrom(0xeeee, n);
  return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

schema::Trace MakeHeader(const schema::Id128& id, std::string flow, TimestampNs start) {
  schema::Trace t;
  t.trace_id = id;
  t.flow_id = std::move(flow);
  t.execution_id = IdFrom(0xe0e0, id[15]);
  t.start_ns = start;
  t.version = {1, 2, 3, std::string("abc"), start};
  t.status.code = schema::StatusCode::kRunning;
  t.metadata.environment = "test";
  t.metadata.hostname = "host";
  t.metadata.process_id = 42;
  t.metadata.thread_id = "ThreadId(1)";
  t.metadata.tags = {{"team", "core"}};
  return t;
}

schema::Event MakeEvent(uint64_t n, TimestampNs ts, std::string actor, schema::EventType type) {
  schema::Event e;
  e.event_id = EventIdFrom(n);
  e.timestamp_ns = ts;
  e.type = type;
  e.actor = std::move(actor);
  schema::ReflowEventData r;
  r.port = "out";
  r.metrics.execution_time_ns = n * 1000;
  r.metrics.memory_usage_bytes = 0;
  r.metrics.cpu_usage_percent = 1.5f;
  r.metrics.queue_depth = 0;
  r.metrics.throughput_msgs_per_sec = 0.0;
  schema::MessageSnapshot m;
  m.message_type = "String";
  m.size_bytes = n;
  m.serialized_data = {1, 2};
  r.message = std::move(m);
  r.custom_attributes_json = R"({"n":)" + std::to_string(n) + "}";
  r.causality.root_cause_event_id = IdFrom(0xcccc, n);
  r.causality.span_id = "span";
  if (type == schema::EventType::kDataFlow) {
    e.to_actor = "sink";
    e.to_port = "in";
  }
  e.reflow = std::move(r);
  return e;
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = (std::filesystem::temp_directory_path() /
           ("tracedb-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
              .string();
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<schema::Id128> Drain(IndexCursor* cursor, size_t limit) {
  std::vector<schema::Id128> out;
  for (; cursor->Valid() && out.size() < limit; cursor->Next()) out.push_back(cursor->entry().trace_id);
  return out;
}

}  // namespace tracedb::engine::testing
