#include "tests/clickhouse/ch_test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace tracedb::clickhouse::testing {
namespace {

std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

}  // namespace

std::string RequireEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << "environment variable " << name
                  << " is not set: the ClickHouse suites run against the test cluster that ctest's "
                     "clickhouse_cluster fixture starts (run them through ctest, or see "
                     "tests/clickhouse/ch_test_util.h)";
    return "";
  }
  return value;
}

std::vector<std::string> TestShardUrls() {
  std::string shard1 = RequireEnv("TRACEDB_CH_SHARD1");
  std::string shard2 = RequireEnv("TRACEDB_CH_SHARD2");
  if (shard1.empty() || shard2.empty()) return {};
  return {shard1, shard2};
}

std::string TestNatsUrl() { return RequireEnv("TRACEDB_NATS"); }

std::unique_ptr<HttpClient> Connect(const std::string& url, const ClientOptions& options) {
  auto client = HttpClient::Create(url, options);
  if (!client.ok()) {
    ADD_FAILURE() << client.status().ToString();
    return nullptr;
  }
  return std::move(client).value();
}

Status RunClusterScript(std::string_view command, std::string_view node) {
  std::string script = RequireEnv("TRACEDB_CH_SCRIPT");
  std::string dir = RequireEnv("TRACEDB_CH_CLUSTER_DIR");
  if (script.empty() || dir.empty()) return Status::InvalidArgument("the cluster environment is not set");
  std::string line = "bash " + ShellQuote(script) + " " + ShellQuote(command) + " " + ShellQuote(dir);
  if (!node.empty()) line += " " + ShellQuote(node);
  std::fflush(nullptr);
  int rc = std::system(line.c_str());
  if (rc == 0) return Status::OK();
  int exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return Status::IoError(line + ": exit status " + std::to_string(exit_code));
}

Status StopNode(std::string_view node) { return RunClusterScript("stop-node", node); }
Status StartNode(std::string_view node) { return RunClusterScript("start-node", node); }

UniqueDatabase::UniqueDatabase(std::string_view tag) : shards_(TestShardUrls()) {
  static std::atomic<int> counter{0};
  std::string clean;
  for (char c : tag) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') clean.push_back(c);
  }
  name_ = "tracedb_test_" + clean + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  DropOnAllShards(OnError::kIgnore);
}

UniqueDatabase::~UniqueDatabase() { DropOnAllShards(OnError::kReport); }

Status UniqueDatabase::CreateOnAllShards() const {
  for (const std::string& url : shards_) {
    auto client = HttpClient::Create(url, {});
    if (!client.ok()) return client.status();
    auto reply = (*client)->Query("CREATE DATABASE IF NOT EXISTS " + name_);
    if (!reply.ok()) return reply.status();
  }
  return Status::OK();
}

void UniqueDatabase::DropOnAllShards(OnError on_error) const {
  ClientOptions options;
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.request_timeout = std::chrono::milliseconds(30000);
  for (const std::string& url : shards_) {
    auto client = HttpClient::Create(url, options);
    if (!client.ok()) continue;
    auto reply = (*client)->Query("DROP DATABASE IF EXISTS " + name_);
    if (!reply.ok() && on_error == OnError::kReport) {
      std::fprintf(stderr, "UniqueDatabase: could not drop %s: %s\n", name_.c_str(),
                   reply.status().ToString().c_str());
    }
  }
}

void ClusterTest::SetUp() {
  urls_ = TestShardUrls();
  ASSERT_EQ(urls_.size(), 2u) << "the ClickHouse test cluster's environment is missing";
  shard1_ = Connect(urls_[0]);
  shard2_ = Connect(urls_[1]);
  ASSERT_NE(shard1_, nullptr);
  ASSERT_NE(shard2_, nullptr);
}

}  // namespace tracedb::clickhouse::testing
