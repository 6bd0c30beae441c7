#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "clickhouse/ch_engine.h"
#include "clickhouse/sql/sql_compiler.h"
#include "query/backend.h"
#include "server/server.h"

namespace tracedb::server {

engine::Options EngineOptionsFor(const Config& config) {
  engine::Options o;
  o.in_memory = config.backend == "memory";
  o.path = o.in_memory ? "" : config.data_dir;
  o.sync = config.sync;
  o.block_cache_bytes = static_cast<size_t>(config.block_cache_bytes);
  o.write_buffer_bytes = static_cast<size_t>(config.write_buffer_bytes);
  o.min_free_bytes = config.min_free_bytes;
  o.retention_max_age_seconds = static_cast<int64_t>(config.retention_max_age_seconds);
  o.retention_max_bytes = config.retention_max_bytes;
  o.retention_interval_seconds = static_cast<uint32_t>(config.retention_interval_seconds);
  return o;
}

clickhouse::ClickHouseOptions ClickHouseOptionsFor(const Config& config) {
  clickhouse::ClickHouseOptions o;
  o.shards = config.clickhouse_shards;
  o.database = config.clickhouse_database;
  o.user = config.clickhouse_user;
  o.password = config.clickhouse_password;
  o.replicated = config.clickhouse_replicated;
  o.insert_attempts = static_cast<uint32_t>(config.clickhouse_insert_attempts);
  o.retention_max_age_seconds = static_cast<int64_t>(config.retention_max_age_seconds);
  o.retention_interval_seconds = static_cast<uint32_t>(config.retention_interval_seconds);
  return o;
}

Result<std::unique_ptr<engine::Engine>> OpenEngine(const Config& config) {
  if (config.backend == "clickhouse") {
    auto engine = clickhouse::OpenClickHouse(ClickHouseOptionsFor(config));
    if (!engine.ok()) return engine.status().WithContext("opening the clickhouse backend");
    // Searches compile to ClickHouse SQL (clickhouse/sql/).
    query::AttachQueryBackend(engine->get(), clickhouse::sql::MakeQueryBackend(config.clickhouse_database));
    return engine;
  }
  engine::Options o = EngineOptionsFor(config);
  if (!o.in_memory) {
    std::error_code ec;
    std::filesystem::create_directories(o.path, ec);
    if (ec) {
      return Status::IoError(fmt::format("cannot create data directory '{}': {}", o.path, ec.message()));
    }
  }
  auto engine = engine::Engine::Open(o);
  if (!engine.ok()) {
    return engine.status().WithContext(o.in_memory ? "opening in-memory store"
                                                   : fmt::format("opening store '{}'", o.path));
  }
  return engine;
}

}  // namespace tracedb::server
