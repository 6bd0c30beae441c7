// The test cluster itself (tests/scripts/clickhouse_cluster.sh, started by
// the ctest fixture): both nodes and NATS answer on 127.0.0.1, and one node
// can be stopped and started again.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "clickhouse/http_client.h"
#include "tests/clickhouse/ch_test_util.h"

namespace tracedb::clickhouse {
namespace {

using testing::ClusterTest;

class ClusterScript : public ClusterTest {};

TEST_F(ClusterScript, BothNodesAnswerPing) {
  EXPECT_TRUE(shard1_->Ping().ok());
  EXPECT_TRUE(shard2_->Ping().ok());
  auto version = shard1_->Query("SELECT version()");
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(version->rfind("18.16.", 0), 0u) << *version;
}

TEST_F(ClusterScript, NatsAnswersOnLoopback) {
  const std::string url = testing::TestNatsUrl();
  ASSERT_EQ(url.rfind("nats://127.0.0.1:", 0), 0u) << url;
  int port = std::stoi(url.substr(url.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << "nothing listens at " << url;
  // A NATS server greets every client with its INFO line.
  char buf[5] = {0};
  ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_WAITALL);
  ::close(fd);
  ASSERT_EQ(n, 5);
  EXPECT_EQ(std::string(buf, 5), "INFO ");
}

// The fixture's script stops and restarts one shard; a client that held a
// keep-alive connection to it reports the outage and reconnects afterwards.
TEST_F(ClusterScript, StoppedShardIsUnavailableAndRecoversAfterRestart) {
  ASSERT_TRUE(shard2_->Ping().ok());
  ASSERT_TRUE(testing::StopNode("n2").ok());
  Status down = shard2_->Ping();
  EXPECT_EQ(down.code(), StatusCode::kUnavailable) << down.ToString();
  EXPECT_NE(down.message().find("clickhouse " + urls_[1] + ": "), std::string::npos) << down.message();
  EXPECT_TRUE(shard1_->Ping().ok());
  Status started = testing::StartNode("n2");
  ASSERT_TRUE(started.ok()) << started.ToString();
  Status up = shard2_->Ping();
  EXPECT_TRUE(up.ok()) << up.ToString();
  auto reply = shard2_->Query("SELECT 1");
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(*reply, "1\n");
}

}  // namespace
}  // namespace tracedb::clickhouse
