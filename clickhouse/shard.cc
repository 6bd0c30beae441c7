#include "clickhouse/shard.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>

namespace tracedb::clickhouse {

Result<std::unique_ptr<Shard>> Shard::Create(size_t index, const std::vector<std::string>& urls,
                                             const ClientOptions& options, uint32_t insert_attempts) {
  if (urls.empty()) return Status::InvalidArgument(fmt::format("clickhouse shard {} has no replica URL", index));
  auto shard = std::make_unique<Shard>();
  shard->index_ = index;
  shard->insert_attempts_ = std::max<uint32_t>(insert_attempts, 1);
  for (const auto& url : urls) {
    auto client = HttpClient::Create(url, options);
    if (!client.ok()) return client.status().WithContext(fmt::format("clickhouse shard {}", index));
    shard->replicas_.push_back(std::move(*client));
  }
  return shard;
}

std::string Shard::Describe() const {
  std::string urls;
  for (const auto& r : replicas_) {
    if (!urls.empty()) urls += ", ";
    urls += r->url();
  }
  return fmt::format("shard {} ({})", index_, urls);
}

Result<std::string> Shard::Query(std::string_view sql, const QuerySettings& settings) {
  const size_t n = replicas_.size();
  const size_t first = next_.fetch_add(1, std::memory_order_relaxed) % n;
  Status last;
  for (size_t k = 0; k < n; ++k) {
    auto r = replicas_[(first + k) % n]->Query(sql, settings);
    if (r.ok() || r.status().code() != StatusCode::kUnavailable) {
      if (!r.ok()) return r.status().WithContext(fmt::format("shard {}", index_));
      return r;
    }
    last = r.status();
  }
  return last.WithContext(fmt::format("shard {} unavailable", index_));
}

Status Shard::QueryAll(std::string_view sql) {
  for (auto& r : replicas_) {
    auto q = r->Query(sql);
    if (!q.ok()) return q.status().WithContext(fmt::format("shard {}", index_));
  }
  return Status::OK();
}

Status Shard::Insert(std::string_view insert_sql, std::string_view body) {
  const size_t n = replicas_.size();
  Status last;
  for (uint32_t attempt = 0; attempt < insert_attempts_; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << std::min<uint32_t>(attempt, 4)));
    Status s = replicas_[attempt % n]->Insert(insert_sql, body);
    if (s.ok()) return s;
    if (s.code() != StatusCode::kUnavailable) return s.WithContext(fmt::format("shard {}", index_));
    last = s;
  }
  return last.WithContext(fmt::format("shard {} unavailable after {} attempts", index_, insert_attempts_));
}

Status Shard::Ping() {
  Status last;
  for (auto& r : replicas_) {
    Status s = r->Ping();
    if (s.ok()) return s;
    last = s;
  }
  return last.WithContext(fmt::format("shard {}", index_));
}

}  // namespace tracedb::clickhouse
