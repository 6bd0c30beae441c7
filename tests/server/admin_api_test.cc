// The admin API's transport-independent handler, its route row and the
// admin keys of AccessControl (the HTTP path is tests/scripts/backup_test.py).

#include "server/admin_api.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "server/http_support.h"
#include "server/routes.h"

namespace tracedb::server {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() : path((fs::temp_directory_path() / ("tracedb-admin-" + std::to_string(::getpid()))).string()) {
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

TEST(AdminApi, BackupAnswersTheBackupAsJson) {
  TempDir dir;
  engine::Options o;
  o.path = dir.path + "/data";
  auto engine = std::move(engine::Engine::Open(o)).value();
  ApiResponse r = HandleAdminBackup("to=" + dir.path + "%2Fbackups&keep=3", engine.get());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"backup_id\":1,"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"format_version\":" + std::to_string(engine::kFormatVersion) + ","), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\"dir\":\"" + dir.path + "/backups\""), std::string::npos) << r.body;
  EXPECT_TRUE(fs::is_directory(dir.path + "/backups"));
}

TEST(AdminApi, BadParametersAre400) {
  engine::Options o;
  o.in_memory = true;
  auto engine = std::move(engine::Engine::Open(o)).value();
  EXPECT_EQ(HandleAdminBackup("", engine.get()).status, 400);
  EXPECT_EQ(HandleAdminBackup("to=relative/dir", engine.get()).status, 400);
  EXPECT_EQ(HandleAdminBackup("to=/tmp/x&keep=many", engine.get()).status, 400);
  EXPECT_EQ(HandleAdminBackup("to=/tmp/x&what=1", engine.get()).status, 400);
  ApiResponse memory = HandleAdminBackup("to=/tmp/x", engine.get());  // nothing on disk to back up
  EXPECT_EQ(memory.status, 400);
  EXPECT_NE(memory.body.find("in-memory"), std::string::npos) << memory.body;
}

TEST(AdminApi, TheRouteIsPostOnlyWithTheAdminKeyPolicy) {
  RouteTable t = RouteTable::For(Config{});
  RouteMatch post = t.Find("POST", "/v1/admin/backup");
  ASSERT_NE(post.route, nullptr);
  EXPECT_EQ(post.route->handler, Handler::kAdminBackup);
  EXPECT_EQ(post.route->key, KeyPolicy::kAdmin);
  RouteMatch get = t.Find("GET", "/v1/admin/backup");
  EXPECT_EQ(get.route, nullptr);
  EXPECT_EQ(get.allow, "POST");
}

TEST(AdminApi, AdminKeysAreAlsoApiKeysButNotTheOtherWayRound) {
  Config c;
  c.api_keys = {"plain"};
  c.admin_keys = {"boss"};
  auto access = AccessControl::Create(c);
  ASSERT_TRUE(access.ok());
  EXPECT_TRUE(access->CheckAuthorization("Bearer boss"));
  EXPECT_TRUE(access->CheckAuthorization("Bearer plain"));
  EXPECT_TRUE(access->CheckAdminAuthorization("Bearer boss"));
  EXPECT_TRUE(access->CheckAdminAuthorization("bearer  boss "));
  EXPECT_FALSE(access->CheckAdminAuthorization("Bearer plain"));
  EXPECT_FALSE(access->CheckAdminAuthorization("Bearer "));
  EXPECT_FALSE(access->CheckAdminAuthorization(""));
}

}  // namespace
}  // namespace tracedb::server
