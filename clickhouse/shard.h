#pragma once

// One shard of the cluster: its replicas' HTTP clients, failover for reads
// and re-sends of the identical block for writes (internal to clickhouse/).

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/http_client.h"
#include "common/result.h"

namespace tracedb::clickhouse {

class Shard {
 public:
  // `index` numbers the shard from 1 in messages.
  static Result<std::unique_ptr<Shard>> Create(size_t index, const std::vector<std::string>& urls,
                                               const ClientOptions& options, uint32_t insert_attempts);

  // Runs a read on a replica, the next one when it is unreachable. An error
  // names the shard and the replica's URL.
  Result<std::string> Query(std::string_view sql, const QuerySettings& settings = {});
  // Runs a statement on every replica (DDL on non-replicated tables,
  // DROP PARTITION); the first error is returned.
  Status QueryAll(std::string_view sql);
  // Inserts `body` (a RowBinary block), re-sending the identical bytes on
  // an unreachable replica, up to insert_attempts times across replicas,
  // with a short backoff. An error is kUnavailable when the shard could not
  // be reached (retry later), else the server's refusal.
  Status Insert(std::string_view insert_sql, std::string_view body);
  // Pings the replicas; OK when one answers.
  Status Ping();

  size_t index() const { return index_; }
  std::string Describe() const;  // "shard 1 (http://h1:8123, http://h1r:8123)"
  HttpClient& replica(size_t i) { return *replicas_[i]; }
  size_t replica_count() const { return replicas_.size(); }

 private:
  size_t index_ = 0;
  uint32_t insert_attempts_ = 3;
  std::vector<std::unique_ptr<HttpClient>> replicas_;
  std::atomic<size_t> next_{0};
};

}  // namespace tracedb::clickhouse
