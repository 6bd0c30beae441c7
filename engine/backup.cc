// Online backup and restore on RocksDB's BackupEngine (docs/operations.md).
//
// Why BackupEngine and not a checkpoint: a backup directory keeps many
// backups that share their SST files (an SST never changes once written),
// so each new backup copies only the files made since the last one, and it
// records a checksum per file, which restore verifies. A checkpoint is one
// hard-linked copy on the same file system.
//
// Why the WAL is copied instead of flushing first: the store's column
// families are flushed independently (no atomic flush), so a flush would
// not by itself cut every family at the same write; the live WAL files cut
// at one sequence number, and replaying them on restore gives back whole
// write batches, across families, exactly as acknowledged.

#include <rocksdb/utilities/backup_engine.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "engine/rocks_engine.h"

namespace tracedb::engine {

namespace {

constexpr char kMetadataPrefix[] = "tracedb format_version=";

// One backup at a time in this process: BackupEngine instances on one
// directory must not write concurrently.
std::mutex backup_mu;

BackupInfo FromRocksInfo(const rocksdb::BackupInfo& r) {
  BackupInfo info;
  info.id = r.backup_id;
  info.timestamp_s = r.timestamp;
  info.size_bytes = r.size;
  info.files = r.number_files;
  if (r.app_metadata.starts_with(kMetadataPrefix)) {
    info.format_version = static_cast<uint32_t>(std::strtoul(r.app_metadata.c_str() + sizeof(kMetadataPrefix) - 1,
                                                             nullptr, 10));
  }
  return info;
}

Result<std::unique_ptr<rocksdb::BackupEngineReadOnly>> OpenReadOnly(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return Status::NotFound("no backup directory " + dir);
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  rocksdb::BackupEngineOptions options(dir);
  TRACEDB_RETURN_IF_ERROR(
      FromRocks(rocksdb::BackupEngineReadOnly::Open(rocksdb::Env::Default(), options, &raw), "open backups " + dir));
  return std::unique_ptr<rocksdb::BackupEngineReadOnly>(raw);
}

}  // namespace

Result<BackupInfo> RocksEngine::Backup(const BackupOptions& options) {
  if (options_.in_memory) return Status::InvalidArgument("backup: an in-memory store has no files to back up");
  if (options.dir.empty()) return Status::InvalidArgument("backup: no backup directory given");
  std::lock_guard<std::mutex> lock(backup_mu);
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Status::IoError("backup: cannot create " + options.dir + ": " + ec.message());
  rocksdb::BackupEngineOptions be_options(options.dir);
  be_options.sync = true;
  rocksdb::BackupEngine* raw = nullptr;
  TRACEDB_RETURN_IF_ERROR(
      FromRocks(rocksdb::BackupEngine::Open(rocksdb::Env::Default(), be_options, &raw), "open backups " + options.dir));
  std::unique_ptr<rocksdb::BackupEngine> backups(raw);
  rocksdb::CreateBackupOptions create;
  create.flush_before_backup = false;  // the WAL carries the newest writes (see the top of this file)
  create.decrease_background_thread_cpu_priority = true;  // ingest goes on meanwhile
  rocksdb::BackupID id = 0;
  TRACEDB_RETURN_IF_ERROR(FromRocks(backups->CreateNewBackupWithMetadata(
                                        create, db_.get(), kMetadataPrefix + std::to_string(kFormatVersion), &id),
                                    "backup to " + options.dir));
  if (options.keep > 0) {
    TRACEDB_RETURN_IF_ERROR(FromRocks(backups->PurgeOldBackups(options.keep), "purge old backups"));
  }
  rocksdb::BackupInfo info;
  TRACEDB_RETURN_IF_ERROR(FromRocks(backups->GetBackupInfo(id, &info), "read backup info"));
  return FromRocksInfo(info);
}

Result<std::vector<BackupInfo>> ListBackups(const std::string& dir) {
  TRACEDB_ASSIGN_OR_RETURN(auto backups, OpenReadOnly(dir));
  std::vector<rocksdb::BackupInfo> infos;
  backups->GetBackupInfo(&infos);
  std::vector<BackupInfo> out;
  for (const auto& r : infos) out.push_back(FromRocksInfo(r));
  return out;
}

Status RestoreBackup(const std::string& from, const std::string& data_dir, std::optional<uint32_t> id) {
  if (data_dir.empty()) return Status::InvalidArgument("restore: no data directory given");
  std::error_code ec;
  if (std::filesystem::exists(data_dir, ec) && !std::filesystem::is_empty(data_dir, ec)) {
    return Status::AlreadyExists("restore: " + data_dir +
                                 " is not empty; restore into a new directory (nothing was changed)");
  }
  TRACEDB_ASSIGN_OR_RETURN(auto backups, OpenReadOnly(from));
  rocksdb::BackupInfo info;
  rocksdb::Status s = id ? backups->GetBackupInfo(*id, &info) : backups->GetLatestBackupInfo(&info);
  if (s.IsNotFound()) {
    return Status::NotFound(id ? "restore: no backup " + std::to_string(*id) + " in " + from
                               : "restore: no backup in " + from);
  }
  TRACEDB_RETURN_IF_ERROR(FromRocks(s, "restore: read backup info"));
  BackupInfo ours = FromRocksInfo(info);
  if (ours.format_version > kFormatVersion) {
    return Status::InvalidArgument("restore: backup " + std::to_string(ours.id) +
                                   " holds a store of a newer tracedb (format version " +
                                   std::to_string(ours.format_version) + "; this build reads format version " +
                                   std::to_string(kFormatVersion) + ")");
  }
  TRACEDB_RETURN_IF_ERROR(FromRocks(backups->VerifyBackup(info.backup_id, /*verify_with_checksum=*/true),
                                    "restore: verify backup " + std::to_string(info.backup_id)));
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Status::IoError("restore: cannot create " + data_dir + ": " + ec.message());
  return FromRocks(backups->RestoreDBFromBackup(rocksdb::RestoreOptions(), info.backup_id, data_dir, data_dir),
                   "restore backup " + std::to_string(info.backup_id) + " into " + data_dir);
}

}  // namespace tracedb::engine
