#pragma once

// The admin API, independent of the transport (the HTTP session runs it on
// the one-thread admin pool, never on an I/O thread; docs/operations.md):
//
//   POST /v1/admin/backup?to=<absolute directory on the server>[&keep=N]
//        a consistent, incremental backup of the running store while ingest
//        goes on (engine::Engine::Backup): 200
//        {"backup_id":…,"timestamp":…,"size_bytes":…,"files":…,"format_version":…,"dir":"…"}
//
// Who may call it is decided by the route's key policy (KeyPolicy::kAdmin,
// server/routes.h). Thread-safe (the engine is).

#include <string_view>

#include "engine/engine.h"
#include "server/http_api.h"

namespace tracedb::server {

// Serves POST /v1/admin/backup with query string `query`. Blocking.
ApiResponse HandleAdminBackup(std::string_view query, engine::Engine* engine);

}  // namespace tracedb::server
