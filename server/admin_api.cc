#include "server/admin_api.h"

#include <charconv>

#include <fmt/format.h>

#include "schema/json_writer.h"

namespace tracedb::server {

ApiResponse HandleAdminBackup(std::string_view query, engine::Engine* engine) {
  engine::BackupOptions options;
  for (const auto& [key, value] : ParseQueryString(query)) {
    if (key == "to") {
      options.dir = value;
    } else if (key == "keep") {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), options.keep);
      if (ec != std::errc() || p != value.data() + value.size()) {
        return ErrorResponse(400, "InvalidArgument", "keep: expected a number of backups to keep");
      }
    } else {
      return ErrorResponse(400, "InvalidArgument", fmt::format("unknown parameter '{}' (to, keep)", key));
    }
  }
  // A relative path would depend on the server's working directory.
  if (options.dir.empty() || options.dir.front() != '/') {
    return ErrorResponse(400, "InvalidArgument",
                         "to: the backup directory must be an absolute path on the server's machine");
  }
  auto info = engine->Backup(options);
  if (!info.ok()) return ErrorResponse(info.status());
  std::string body = fmt::format(
      "{{\"backup_id\":{},\"timestamp\":{},\"size_bytes\":{},\"files\":{},\"format_version\":{},\"dir\":", info->id,
      info->timestamp_s, info->size_bytes, info->files, info->format_version);
  schema::AppendJsonString(options.dir, &body);
  body += "}\n";
  return ApiResponse{200, "application/json", std::move(body)};
}

}  // namespace tracedb::server
