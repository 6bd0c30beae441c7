#include "clickhouse/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "clickhouse/row_binary.h"
#include "tests/clickhouse/ch_test_util.h"

namespace tracedb::clickhouse {
namespace {

using testing::ClusterTest;
using testing::UniqueDatabase;

// A loopback port nothing listens on: bound, then closed at once.
int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(ParseServerError, Reads1816AndCurrentForms) {
  ServerError old = ParseServerError(
      "Code: 60, e.displayText() = DB::Exception: Table db.t doesn't exist., e.what() = DB::Exception\n");
  EXPECT_EQ(old.code, 60);
  EXPECT_EQ(old.message, "Table db.t doesn't exist.");
  ServerError modern =
      ParseServerError("Code: 62. DB::Exception: Syntax error: failed at position 1 ('SELEC'). (SYNTAX_ERROR) "
                       "(version 23.8.2.7 (official build))\n");
  EXPECT_EQ(modern.code, 62);
  EXPECT_EQ(modern.message, "Syntax error: failed at position 1 ('SELEC'). (SYNTAX_ERROR)");
  EXPECT_EQ(ParseServerError("<html>502 Bad Gateway</html>").code, 0);
  EXPECT_EQ(ParseServerError("").code, 0);
}

TEST(ClickHouseErrorCode, ReadsTheCodeBackThroughContext) {
  Status s = Status::IoError("clickhouse http://h:8123: Code 395: Value passed to 'throwIf' is non zero");
  EXPECT_EQ(ClickHouseErrorCode(s), 395);
  EXPECT_EQ(ClickHouseErrorCode(s.WithContext("insert into shard 2")), 395);
  EXPECT_EQ(ClickHouseErrorCode(Status::Unavailable("clickhouse http://h:8123: Connection refused")), 0);
  EXPECT_EQ(ClickHouseErrorCode(Status::OK()), 0);
}

TEST(HttpClientCreate, RejectsBadUrlsNamingThem) {
  for (const std::string url : {"", "127.0.0.1:8123x", "ftp://127.0.0.1:8123", "http://", "http://h:8123/?x=1",
                                "http://u:p@h:8123", "http://h:99999"}) {
    auto client = HttpClient::Create(url, {});
    ASSERT_FALSE(client.ok()) << url;
    EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument) << url;
    EXPECT_NE(client.status().message().find("'" + url + "'"), std::string::npos) << client.status().message();
  }
  auto https = HttpClient::Create("https://ch.example.com:8443/", {});
  ASSERT_TRUE(https.ok()) << https.status().ToString();
  EXPECT_EQ((*https)->url(), "https://ch.example.com:8443");
}

TEST(HttpClientCreate, NothingListeningIsUnavailableNamingTheUrl) {
  const std::string url = "http://127.0.0.1:" + std::to_string(UnusedPort());
  auto client = HttpClient::Create(url, {});
  ASSERT_TRUE(client.ok());
  Status ping = (*client)->Ping();
  EXPECT_EQ(ping.code(), StatusCode::kUnavailable) << ping.ToString();
  EXPECT_NE(ping.message().find("clickhouse " + url + ": "), std::string::npos) << ping.message();
  auto query = (*client)->Query("SELECT 1");
  EXPECT_EQ(query.status().code(), StatusCode::kUnavailable);
  Status insert = (*client)->Insert("INSERT INTO t FORMAT RowBinary", "x");
  EXPECT_EQ(insert.code(), StatusCode::kUnavailable);
  EXPECT_EQ(ClickHouseErrorCode(insert), 0);
}

class HttpClientTest : public ClusterTest {};

TEST_F(HttpClientTest, InsertsAndReadsBack20kRowsExactly) {
  UniqueDatabase db("http_client");
  ASSERT_TRUE(db.CreateOnAllShards().ok());
  const std::string table = db.name() + ".rows";
  auto created = shard1_->Query("CREATE TABLE " + table +
                                " (id UInt64, ts Int64, name String, tags Array(String), nums Array(UInt64),"
                                " fs FixedString(16), f Float64) ENGINE = MergeTree ORDER BY id");
  ASSERT_TRUE(created.ok()) << created.status().ToString();

  constexpr uint64_t kRows = 20000;
  RowWriter w;
  for (uint64_t i = 0; i < kRows; ++i) {
    w.U64(i);
    w.I64(static_cast<int64_t>(i) * 1000003 - 5000000000);
    w.String("row-" + std::to_string(i) + std::string(i % 200, 'p') + (i % 7 == 0 ? "'\\\n" : ""));
    std::vector<std::string> tags;
    for (uint64_t t = 0; t < i % 4; ++t) tags.push_back("tag" + std::to_string(t));
    w.StringArray(tags);
    w.U64Array(std::vector<uint64_t>(i % 3, i));
    w.FixedString(std::to_string(i * 7919), 16);
    w.F64(static_cast<double>(i) / 3);
  }
  ASSERT_GT(w.size(), size_t{2} << 20) << "the body should be larger than curl's 1 MB Expect threshold";
  Status inserted = shard1_->Insert("INSERT INTO " + table + " FORMAT RowBinary", w.data());
  ASSERT_TRUE(inserted.ok()) << inserted.ToString();

  auto count = shard1_->Query("SELECT count() FROM " + table);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, "20000\n");
  auto back = shard1_->Query("SELECT * FROM " + table + " ORDER BY id FORMAT RowBinary");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == w.data()) << "read back " << back->size() << " bytes, inserted " << w.size();
  RowReader r(*back);
  uint64_t rows = 0;
  while (!r.done()) {
    uint64_t id;
    int64_t ts;
    std::string_view name, fs;
    std::vector<std::string> tags;
    std::vector<uint64_t> nums;
    double f;
    ASSERT_TRUE(r.U64(&id) && r.I64(&ts) && r.String(&name) && r.StringArray(&tags) && r.U64Array(&nums) &&
                r.FixedString(16, &fs) && r.F64(&f))
        << "row " << rows;
    ASSERT_EQ(id, rows);
    EXPECT_EQ(ts, static_cast<int64_t>(id) * 1000003 - 5000000000);
    EXPECT_EQ(tags.size(), id % 4);
    EXPECT_EQ(nums.size(), id % 3);
    ++rows;
  }
  EXPECT_EQ(rows, kRows);
  // The table lives on n1 only.
  auto elsewhere = shard2_->Query("EXISTS TABLE " + table);
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status().ToString();
  EXPECT_EQ(*elsewhere, "0\n");
}

TEST_F(HttpClientTest, SequentialRequestsReuseOneConnection) {
  auto client = testing::Connect(urls_[0]);
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 200; ++i) {
    auto reply = client->Query("SELECT " + std::to_string(i));
    ASSERT_TRUE(reply.ok()) << i << ": " << reply.status().ToString();
    ASSERT_EQ(*reply, std::to_string(i) + "\n");
  }
  // An error reply keeps the connection too.
  EXPECT_FALSE(client->Query("SELEC 1").ok());
  EXPECT_TRUE(client->Ping().ok());
  ClientStats stats = client->stats();
  EXPECT_EQ(stats.requests, 202u);
  EXPECT_EQ(stats.connections_opened, 1u);
  EXPECT_EQ(stats.transport_errors, 0u);
}

TEST_F(HttpClientTest, SyntaxErrorIsInvalidArgumentCode62) {
  auto reply = shard1_->Query("SELEC 1");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(reply.status().message().find("clickhouse " + urls_[0] + ": Code 62: Syntax error"), std::string::npos)
      << reply.status().message();
  EXPECT_EQ(ClickHouseErrorCode(reply.status()), 62);
  EXPECT_EQ(reply.status().message().find("e.what()"), std::string::npos) << reply.status().message();
}

TEST_F(HttpClientTest, UnknownTableIsInvalidArgumentNamingIt) {
  UniqueDatabase db("unknown_table");
  ASSERT_TRUE(db.CreateOnAllShards().ok());
  auto reply = shard1_->Query("SELECT * FROM " + db.name() + ".no_such_table");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(reply.status().message().find(db.name() + ".no_such_table"), std::string::npos)
      << reply.status().message();
  EXPECT_EQ(ClickHouseErrorCode(reply.status()), 60);

  Status insert = shard1_->Insert("INSERT INTO " + db.name() + ".no_such_table FORMAT RowBinary", "x");
  EXPECT_EQ(insert.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ClickHouseErrorCode(insert), 60);
}

TEST_F(HttpClientTest, ErrorInTheMiddleOfAResultIsAnError) {
  auto reply = shard1_->Query("SELECT throwIf(number = 100000) FROM system.numbers LIMIT 200000");
  ASSERT_FALSE(reply.ok()) << "got " << reply->size() << " bytes of a 200 reply";
  EXPECT_EQ(reply.status().code(), StatusCode::kIoError);
  EXPECT_EQ(ClickHouseErrorCode(reply.status()), 395);
  EXPECT_NE(reply.status().message().find("throwIf"), std::string::npos) << reply.status().message();
}

TEST_F(HttpClientTest, MalformedRowsAreRefusedAndNothingIsStored) {
  UniqueDatabase db("malformed");
  ASSERT_TRUE(db.CreateOnAllShards().ok());
  const std::string table = db.name() + ".t";
  ASSERT_TRUE(shard1_->Query("CREATE TABLE " + table + " (a UInt64, s String) ENGINE = MergeTree ORDER BY a").ok());
  RowWriter w;
  w.U64(1);
  w.String("complete");
  w.U64(2);
  w.VarUInt(100);  // a String that claims 100 bytes and has 3
  w.data() += "abc";
  Status insert = shard1_->Insert("INSERT INTO " + table + " FORMAT RowBinary", w.data());
  ASSERT_FALSE(insert.ok());
  EXPECT_NE(ClickHouseErrorCode(insert), 0) << insert.ToString();
  auto count = shard1_->Query("SELECT count() FROM " + table);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, "0\n");
  // An empty body is an insert of no rows.
  EXPECT_TRUE(shard1_->Insert("INSERT INTO " + table + " FORMAT RowBinary", "").ok());
}

TEST_F(HttpClientTest, SettingsAndQueryIdReachTheServer) {
  // Keys and values are URL-encoded: '&', '=', '+', ' ' and '%' arrive intact.
  const std::string id = "tracedb test&id=1+%41";
  auto own_id = shard1_->Query("SELECT query_id FROM system.processes WHERE query_id = " + Quote(id),
                               {{"query_id", id}});
  ASSERT_TRUE(own_id.ok()) << own_id.status().ToString();
  EXPECT_EQ(*own_id, id + "\n");
  // The request timeout (60 s by default) bounds the server's work too,
  // unless the caller names a limit.
  const std::string limit = "SELECT value FROM system.settings WHERE name = 'max_execution_time'";
  auto implied = shard1_->Query(limit);
  ASSERT_TRUE(implied.ok()) << implied.status().ToString();
  EXPECT_EQ(*implied, "60\n");
  auto explicit_limit = shard1_->Query(limit, {{"max_execution_time", "7"}});
  ASSERT_TRUE(explicit_limit.ok()) << explicit_limit.status().ToString();
  EXPECT_EQ(*explicit_limit, "7\n");
  auto setting = shard1_->Query("SELECT value FROM system.settings WHERE name = 'max_block_size'",
                                {{"max_block_size", "1234"}});
  ASSERT_TRUE(setting.ok()) << setting.status().ToString();
  EXPECT_EQ(*setting, "1234\n");
  auto unknown = shard1_->Query("SELECT 1", {{"no_such_setting", "1"}});
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ClickHouseErrorCode(unknown.status()), 115);
}

TEST_F(HttpClientTest, CredentialsGoInHeaders) {
  ClientOptions wrong_user;
  wrong_user.user = "nobody";
  auto client = testing::Connect(urls_[0], wrong_user);
  ASSERT_NE(client, nullptr);
  auto reply = client->Query("SELECT 1");
  EXPECT_EQ(reply.status().code(), StatusCode::kUnauthenticated) << reply.status().ToString();
  EXPECT_EQ(ClickHouseErrorCode(reply.status()), 192);

  ClientOptions wrong_password;
  wrong_password.password = "not-the-password";
  client = testing::Connect(urls_[0], wrong_password);
  ASSERT_NE(client, nullptr);
  reply = client->Query("SELECT 1");
  EXPECT_EQ(reply.status().code(), StatusCode::kUnauthenticated) << reply.status().ToString();
  EXPECT_EQ(ClickHouseErrorCode(reply.status()), 193);
  EXPECT_EQ(reply.status().message().find("not-the-password"), std::string::npos);
}

TEST_F(HttpClientTest, RequestTimeoutIsUnavailableAndTheClientRecovers) {
  ClientOptions options;
  options.request_timeout = std::chrono::milliseconds(300);
  auto client = testing::Connect(urls_[0], options);
  ASSERT_NE(client, nullptr);
  auto reply = client->Query("SELECT sleep(2)");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable) << reply.status().ToString();
  EXPECT_NE(reply.status().message().find(urls_[0]), std::string::npos);
  EXPECT_EQ(client->stats().transport_errors, 1u);
  auto next = client->Query("SELECT 42");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, "42\n");
  EXPECT_EQ(client->stats().connections_opened, 2u);
}

TEST_F(HttpClientTest, FourThreadsQueryConcurrently) {
  auto client = testing::Connect(urls_[0]);
  ASSERT_NE(client, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // numbers(0) never ends on 18.16: every n is at least 1.
        uint64_t n = static_cast<uint64_t>(t) * 1000 + static_cast<uint64_t>(i) + 1;
        auto reply = client->Query("SELECT sum(number) FROM numbers(" + std::to_string(n) + ") FORMAT RowBinary");
        if (!reply.ok()) continue;
        RowReader r(*reply);
        uint64_t sum = 0;
        if (r.U64(&sum) && r.done() && sum == n * (n - 1) / 2) good.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(good.load(), kThreads * kPerThread);
  ClientStats stats = client->stats();
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LE(stats.connections_opened, static_cast<uint64_t>(kThreads));
  EXPECT_EQ(stats.transport_errors, 0u);
}

}  // namespace
}  // namespace tracedb::clickhouse
