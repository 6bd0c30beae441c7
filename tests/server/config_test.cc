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
  {
    ConfigLoader l;
    EXPECT_EQ(l.config().retention_interval_seconds, 60u);
    ASSERT_TRUE(l.LoadEnv({"TRACEDB_STORAGE_RETENTION_INTERVAL_SECONDS=5"}).ok());
    EXPECT_EQ(l.config().retention_interval_seconds, 5u);
    EXPECT_THAT(l.SetFromFlag("storage.retention_interval_seconds", "4294967296", "--set").message(),
                HasSubstr("storage.retention_interval_seconds"));
    ASSERT_TRUE(l.SetFromFlag("storage.retention_interval_seconds", "0", "--set").ok());
    EXPECT_THAT(l.Validate().message(), HasSubstr("storage.retention_interval_seconds"));
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

TEST(Config, AccessControlAndHttpKeys) {
  ConfigLoader l;
  ASSERT_TRUE(l.LoadToml("[auth]\napi_keys = [\"k1\", \"k2\"]\nmetrics_requires_key = false\n"
                         "[server]\nallowed_origins = [\"https://ui.example.com\"]\n"
                         "[http]\nmax_body_bytes = 1000\nrate_limit_per_second = 5\n",
                         "file t.toml")
                  .ok());
  EXPECT_EQ(l.config().api_keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_FALSE(l.config().metrics_requires_key);
  EXPECT_EQ(l.config().allowed_origins, std::vector<std::string>{"https://ui.example.com"});
  EXPECT_EQ(l.config().max_body_bytes, 1000u);
  EXPECT_EQ(l.config().rate_limit_per_second, 5u);
  ASSERT_TRUE(l.Validate().ok());
  // Keys never print in clear.
  EXPECT_THAT(l.Describe(), HasSubstr("api_keys = [\"<redacted>\", \"<redacted>\"]  # file t.toml"));
  EXPECT_EQ(l.Describe().find("k1"), std::string::npos);
  // Environment and flags take comma-separated lists.
  ASSERT_TRUE(l.LoadEnv({"TRACEDB_AUTH_API_KEYS=a, b ,c"}).ok());
  EXPECT_EQ(l.config().api_keys, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_TRUE(l.SetFromFlag("server.allowed_origins", "", "--set").ok());
  EXPECT_TRUE(l.config().allowed_origins.empty());
  ASSERT_TRUE(l.SetFromFlag("tls.cert_file", "/c.pem", "--set").ok());
  Status s = l.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("tls.key_file"));
  ASSERT_TRUE(l.SetFromFlag("tls.key_file", "/k.pem", "--set").ok());
  EXPECT_TRUE(l.Validate().ok());
  ASSERT_TRUE(l.SetFromFlag("server.allowed_origins", "ui.example.com", "--set").ok());
  EXPECT_THAT(l.Validate().message(), HasSubstr("server.allowed_origins"));
}

TEST(Config, ListKeysRejectWrongTypes) {
  ConfigLoader l;
  Status s = l.LoadToml("[auth]\napi_keys = \"k1\"\n", "file t.toml");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("auth.api_keys"));
  s = l.LoadToml("[auth]\napi_keys = [1, 2]\n", "file t.toml");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("a list of strings"));
  ConfigLoader z;
  ASSERT_TRUE(z.SetFromFlag("http.max_concurrent_ingests", "0", "--set").ok());
  EXPECT_THAT(z.Validate().message(), HasSubstr("http.max_concurrent_ingests"));
  ConfigLoader k;
  ASSERT_TRUE(k.SetFromFlag("auth.api_keys", "has space", "--set").ok());
  EXPECT_THAT(k.Validate().message(), HasSubstr("auth.api_keys"));
}

}  // namespace
}  // namespace tracedb::server
