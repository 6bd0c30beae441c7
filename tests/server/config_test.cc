#include "server/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tracedb::server {
namespace {

using ::testing::HasSubstr;

TEST(Config, DefaultsAreDocumented) {
  ConfigLoader l;
  ASSERT_TRUE(l.Validate().ok());
  EXPECT_EQ(l.config().host, "127.0.0.1");
  EXPECT_EQ(l.config().port, 8080u);
  EXPECT_EQ(l.config().data_dir, "./data");
  EXPECT_EQ(l.origins().at("server.port"), "default");
  for (const auto& k : AllKeys()) {
    EXPECT_FALSE(k.help.empty()) << k.key;
    EXPECT_EQ(k.env.rfind("TRACEDB_", 0), 0u) << k.key;
  }
}

TEST(Config, FileThenEnvThenFlagsInThatOrder) {
  ConfigLoader l;
  ASSERT_TRUE(l.LoadToml("[server]\nport = 9000\nhost = \"0.0.0.0\"\n[compression]\nlevel = 5\n", "file t.toml").ok());
  EXPECT_EQ(l.config().port, 9000u);
  EXPECT_EQ(l.origins().at("server.port"), "file t.toml");
  ASSERT_TRUE(l.LoadEnv({"REFLOW_TRACING_PORT=9100", "TRACEDB_COMPRESSION_LEVEL=7", "PATH=/bin"}).ok());
  EXPECT_EQ(l.config().port, 9100u);
  EXPECT_EQ(l.origins().at("server.port"), "env REFLOW_TRACING_PORT");
  EXPECT_EQ(l.config().compression_level, 7);
  ASSERT_TRUE(l.LoadEnv({"REFLOW_TRACING_PORT=9100", "TRACEDB_SERVER_PORT=9200"}).ok());
  EXPECT_EQ(l.config().port, 9200u);  // TRACEDB_* wins over REFLOW_*
  ASSERT_TRUE(l.SetFromFlag("server.port", "9300", "--listen").ok());
  EXPECT_EQ(l.config().port, 9300u);
  EXPECT_EQ(l.origins().at("server.port"), "flag --listen");
  EXPECT_EQ(l.config().host, "0.0.0.0");
  EXPECT_THAT(l.Describe(), HasSubstr("port = 9300  # flag --listen"));
  EXPECT_THAT(l.Describe(), HasSubstr("host = \"0.0.0.0\"  # file t.toml"));
}

TEST(Config, ReflowLayoutAndVariables) {
  ConfigLoader l;
  ASSERT_TRUE(l.LoadToml("[server]\nmax_connections = 10\nwebsocket_buffer_size = 1048576\n"
                         "[storage]\nbackend = \"sqlite\"\n[storage.sqlite]\ndatabase_path = \"traces.db\"\n"
                         "[storage.memory]\nmax_traces = 10000\neviction_policy = \"lru\"\n"
                         "[compression]\nenabled = true\nalgorithm = \"lz4\"\nlevel = 3\n"
                         "[metrics]\nenabled = true\nport = 9090\nendpoint = \"/metrics\"\n",
                         "file reflow.toml")
                  .ok());
  EXPECT_EQ(l.config().max_connections, 10u);
  EXPECT_EQ(l.config().data_dir, "traces.db");
  EXPECT_EQ(l.config().compression_algorithm, "lz4");
  EXPECT_TRUE(l.Validate().ok());
  ASSERT_TRUE(l.LoadEnv({"REFLOW_TRACING_STORAGE_BACKEND=memory", "REFLOW_TRACING_SQLITE_PATH=/tmp/x",
                         "REFLOW_TRACING_HOST=::1"})
                  .ok());
  EXPECT_EQ(l.config().backend, "memory");
  EXPECT_EQ(l.config().data_dir, "/tmp/x");
  EXPECT_EQ(l.config().host, "::1");
}

TEST(Config, UnknownKeysAndBadValuesAreErrorsNamingThem) {
  {
    ConfigLoader l;
    Status s = l.LoadToml("[server]\nprot = 1\n", "file a.toml");
    EXPECT_THAT(s.message(), HasSubstr("server.prot"));
    EXPECT_THAT(s.message(), HasSubstr("line 2"));
  }
  {
    ConfigLoader l;
    Status s = l.LoadToml("[server]\nport = \"eighty\"\n", "file a.toml");
    EXPECT_THAT(s.message(), HasSubstr("server.port"));
    EXPECT_THAT(s.message(), HasSubstr("integer"));
  }
  {
    ConfigLoader l;
    Status s = l.LoadToml("[server\nport = 1\n", "file a.toml");
    EXPECT_THAT(s.message(), HasSubstr("TOML syntax error"));
  }
  {
    ConfigLoader l;
    Status s = l.LoadEnv({"REFLOW_TRACING_PORT=http"});
    EXPECT_THAT(s.message(), HasSubstr("REFLOW_TRACING_PORT"));
  }
  {
    ConfigLoader l;
    Status s = l.LoadEnv({"TRACEDB_SERVER_PROT=1"});
    EXPECT_THAT(s.message(), HasSubstr("TRACEDB_SERVER_PROT"));
  }
  {
    ConfigLoader l;
    EXPECT_THAT(l.SetFromFlag("server.port", "70000", "--listen").message(), HasSubstr("65535"));
    EXPECT_THAT(l.SetFromFlag("nope.key", "1", "--set").message(), HasSubstr("nope.key"));
    ASSERT_TRUE(l.SetFromFlag("storage.backend", "postgres", "--set").ok());
    EXPECT_THAT(l.Validate().message(), HasSubstr("storage.backend"));
  }
  {
    ConfigLoader l;
    ASSERT_TRUE(l.SetFromFlag("compression.algorithm", "brotli", "--set").ok());
    EXPECT_THAT(l.Validate().message(), HasSubstr("compression.algorithm"));
  }
}

TEST(Config, ParseListen) {
  std::string host;
  uint32_t port = 0;
  ASSERT_TRUE(ParseListen("0.0.0.0:9000", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9000u);
  ASSERT_TRUE(ParseListen("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(ParseListen("localhost", &host, &port).ok());
  EXPECT_FALSE(ParseListen("localhost:http", &host, &port).ok());
}

}  // namespace
}  // namespace tracedb::server
