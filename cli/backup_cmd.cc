// `tracedb backup` and `tracedb restore` (docs/operations.md): a consistent,
// incremental backup of a store, from a running server (--server, POST
// /v1/admin/backup) or of a store no server has open (--data); and a restore
// of one backup into a new data directory.

#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/http_client.h"
#include "schema/json_writer.h"
#include "server/server.h"

namespace tracedb::cli {
namespace {

struct BackupFlags {
  std::string server;
  std::string to;
  uint32_t keep = 0;
};

std::string BackupJson(const engine::BackupInfo& info, const std::string& dir) {
  std::string out = fmt::format(
      "{{\"backup_id\":{},\"timestamp\":{},\"size_bytes\":{},\"files\":{},\"format_version\":{},\"dir\":",
      info.id, info.timestamp_s, info.size_bytes, info.files, info.format_version);
  schema::AppendJsonString(dir, &out);
  return out + "}";
}

int RemoteBackup(const BackupFlags& b) {
  std::string url = b.server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/v1/admin/backup?to=" + UrlEncode(b.to);
  if (b.keep > 0) url += "&keep=" + std::to_string(b.keep);
  HttpRequestOptions options;
  options.headers = AuthHeaders();
  auto r = HttpPostStream(url, [](char*, size_t) -> size_t { return 0; }, options);
  if (!r.ok()) {
    fmt::print(stderr, "tracedb backup: {}\n", r.status().message());
    return 1;
  }
  if (r->status != 200) {
    fmt::print(stderr, "tracedb backup: server answered {}: {}\n", r->status, r->body);
    if (r->status == 401 || r->status == 403) {
      fmt::print(stderr, "(set TRACEDB_API_KEY to one of the server's auth.admin_keys)\n");
    }
    return 1;
  }
  std::fwrite(r->body.data(), 1, r->body.size(), stdout);
  if (r->body.empty() || r->body.back() != '\n') std::fputc('\n', stdout);
  return 0;
}

// Opens the store `flags` name for maintenance: never created, no retention
// thread. Errors are printed, prefixed with `command`.
std::unique_ptr<engine::Engine> OpenExisting(const ConfigFlags& flags, const char* command) {
  auto loader = flags.Resolve();
  if (!loader.ok()) {
    fmt::print(stderr, "tracedb {}: {}\n", command, loader.status().message());
    return nullptr;
  }
  engine::Options o = server::EngineOptionsFor(loader->config());
  if (o.in_memory) {
    fmt::print(stderr, "tracedb {}: an in-memory store has nothing on disk to work on\n", command);
    return nullptr;
  }
  o.create_if_missing = false;
  o.retention_max_age_seconds = 0;
  o.retention_max_bytes = 0;
  auto engine = engine::Engine::Open(o);
  if (!engine.ok()) {
    fmt::print(stderr,
               "tracedb {}: opening store '{}': {}\n(if a server is running on this data directory, use --server "
               "http://HOST:PORT)\n",
               command, o.path, engine.status().message());
    return nullptr;
  }
  return std::move(*engine);
}

int LocalBackup(const ConfigFlags& flags, const BackupFlags& b) {
  auto engine = OpenExisting(flags, "backup");
  if (!engine) return 1;
  auto info = engine->Backup({b.to, b.keep});
  if (!info.ok()) {
    fmt::print(stderr, "tracedb backup: {}\n", info.status().message());
    return 1;
  }
  fmt::print("{}\n", BackupJson(*info, b.to));
  return 0;
}

Registrar kBackup({"backup",
                   "Back up a store (consistent, incremental) from a running server (--server) or on disk (--data)",
                   80, [](CLI::App* sub) -> RunFn {
                     auto flags = std::make_shared<ConfigFlags>(sub, /*with_listen=*/false);
                     auto b = std::make_shared<BackupFlags>();
                     sub->add_option("--to", b->to,
                                     "Backup directory (with --server: a path on the server's machine); backups "
                                     "in one directory share unchanged files")
                         ->required();
                     sub->add_option("--server", b->server,
                                     "Ask a running server at this URL (http://HOST:PORT) to back up its store; "
                                     "sends $TRACEDB_API_KEY (an admin key) as a bearer token when set");
                     sub->add_option("--keep", b->keep, "Then delete all but the newest N backups (default: keep all)");
                     return [flags, b] { return b->server.empty() ? LocalBackup(*flags, *b) : RemoteBackup(*b); };
                   }});

struct RestoreFlags {
  std::string from;
  std::string data;
  int64_t id = -1;  // -1: the newest
  bool list = false;
};

std::string FormatTime(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int List(const RestoreFlags& r) {
  auto backups = engine::ListBackups(r.from);
  if (!backups.ok()) {
    fmt::print(stderr, "tracedb restore: {}\n", backups.status().message());
    return 1;
  }
  fmt::print("{:>6}  {:<20}  {:>14}  {:>6}  {}\n", "id", "taken (UTC)", "bytes", "files", "format");
  for (const auto& b : *backups) {
    fmt::print("{:>6}  {:<20}  {:>14}  {:>6}  {}\n", b.id, FormatTime(b.timestamp_s), b.size_bytes, b.files,
               b.format_version);
  }
  return 0;
}

int Restore(const RestoreFlags& r) {
  if (r.list) return List(r);
  if (r.data.empty()) {
    fmt::print(stderr, "tracedb restore: --data NEWDIR is required (or --list)\n");
    return 2;
  }
  std::optional<uint32_t> id;
  if (r.id >= 0) id = static_cast<uint32_t>(r.id);
  Status s = engine::RestoreBackup(r.from, r.data, id);
  if (!s.ok()) {
    fmt::print(stderr, "tracedb restore: {}\n", s.message());
    return 1;
  }
  fmt::print("restored {} of {} into {}; verify it with: tracedb check --data {}\n",
             id ? "backup " + std::to_string(*id) : std::string("the newest backup"), r.from, r.data, r.data);
  return 0;
}

Registrar kRestore({"restore", "Restore a backup (the newest, or --backup-id) into a new data directory", 81,
                    [](CLI::App* sub) -> RunFn {
                      auto r = std::make_shared<RestoreFlags>();
                      sub->add_option("--from", r->from, "Backup directory (written by `tracedb backup --to`)")
                          ->required();
                      sub->add_option("--data", r->data, "New data directory (must not exist or be empty)");
                      sub->add_option("--backup-id", r->id, "The backup to restore (default: the newest)");
                      sub->add_flag("--list", r->list, "List the backups of --from and exit");
                      return [r] { return Restore(*r); };
                    }});

}  // namespace

std::unique_ptr<engine::Engine> OpenExistingStore(const ConfigFlags& flags, const char* command) {
  return OpenExisting(flags, command);
}

}  // namespace tracedb::cli
