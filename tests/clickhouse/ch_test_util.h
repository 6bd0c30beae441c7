#pragma once

// Shared by the ClickHouse suites: the test cluster's addresses (from the
// environment ctest sets, tests/CMakeLists.txt), clients, per-test databases
// and stopping / starting one node (tests/scripts/clickhouse_cluster.sh).
//
// The cluster is real: two ClickHouse 18.16 nodes and NATS on 127.0.0.1,
// started by the ctest fixture `clickhouse_cluster` (docs/scale-out.md,
// "Test cluster"). To run the suite binary by hand, start the cluster
// (`tests/scripts/clickhouse_cluster.sh start build/ch-cluster`) and set
// TRACEDB_CH_SHARD1=http://127.0.0.1:18123, TRACEDB_CH_SHARD2=http://127.0.0.1:28123,
// TRACEDB_NATS=nats://127.0.0.1:24222, TRACEDB_CH_CLUSTER_DIR=build/ch-cluster and
// TRACEDB_CH_SCRIPT=tests/scripts/clickhouse_cluster.sh; or run `ctest -R clickhouse`.
// A missing variable FAILS the test that needs it, naming the variable: the
// suites never skip.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/http_client.h"
#include "common/status.h"

namespace tracedb::clickhouse::testing {

// The value of environment variable `name`; "" and a test failure naming it
// when unset or empty.
std::string RequireEnv(const char* name);

// {TRACEDB_CH_SHARD1, TRACEDB_CH_SHARD2}: one HTTP URL per shard, in shard
// order. Empty (and the test failed) when either is unset.
std::vector<std::string> TestShardUrls();

// TRACEDB_NATS, e.g. "nats://127.0.0.1:24222".
std::string TestNatsUrl();

// A client for `url`; nullptr (and the test failed) when the URL is bad.
std::unique_ptr<HttpClient> Connect(const std::string& url, const ClientOptions& options = {});

// Runs `clickhouse_cluster.sh <command> <cluster dir> [node]` (TRACEDB_CH_SCRIPT,
// TRACEDB_CH_CLUSTER_DIR); OK when it exits 0, otherwise an error carrying
// its exit status (its output goes to the test's output).
Status RunClusterScript(std::string_view command, std::string_view node = {});

// Stops / starts one node ("n1", "n2" or "nats"); both wait (start: until
// the node answers; stop: until its process is gone).
Status StopNode(std::string_view node);
Status StartNode(std::string_view node);

// A database name no other test uses: "tracedb_test_<tag>_<pid>_<n>" (`tag`
// cut to letters, digits and '_'). The constructor drops a leftover of the
// same name on every shard; the destructor drops it on every shard (a shard
// that is down is reported on stderr, not failed: the test that stopped it
// has its own assertions). Nothing is created: the code under test creates
// the database (or call CreateOnAllShards()).
class UniqueDatabase {
 public:
  explicit UniqueDatabase(std::string_view tag);
  ~UniqueDatabase();
  UniqueDatabase(const UniqueDatabase&) = delete;
  UniqueDatabase& operator=(const UniqueDatabase&) = delete;

  const std::string& name() const { return name_; }
  // CREATE DATABASE IF NOT EXISTS on every shard.
  Status CreateOnAllShards() const;

 private:
  enum class OnError { kIgnore, kReport };
  void DropOnAllShards(OnError on_error) const;

  std::string name_;
  std::vector<std::string> shards_;
};

// Base fixture of the suites that talk to the cluster: SetUp fails the test
// (fatally, so the body does not run) when the environment is missing, and
// connects `shard1_`, `shard2_`.
class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override;

  std::vector<std::string> urls_;
  std::unique_ptr<HttpClient> shard1_;
  std::unique_ptr<HttpClient> shard2_;
};

}  // namespace tracedb::clickhouse::testing
