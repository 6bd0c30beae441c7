#pragma once

// What every example takes from its environment (docs/client.md): the API
// key in $TRACEDB_API_KEY, sent as a bearer token when the server has
// `auth.keys` set. Header-only, public client header only.

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include <tracedb/client.h>

namespace examples {

// $TRACEDB_API_KEY, or "" (a server without keys).
inline std::string ApiKey() {
  const char* key = std::getenv("TRACEDB_API_KEY");
  return key == nullptr ? std::string() : std::string(key);
}

// Recording options for `url` with the environment's API key.
inline tracedb::client::Options RecorderOptions(const std::string& url) {
  tracedb::client::Options o;
  o.url = url;
  o.api_key = ApiKey();
  return o;
}

// A query connection (large replies zstd-compressed) with the API key.
inline std::unique_ptr<tracedb::client::Connection> OpenQueries(const std::string& url,
                                                               tracedb::client::Status* error) {
  return tracedb::client::Connection::Open(url, std::chrono::seconds(5), error, /*compress=*/true, ApiKey());
}

}  // namespace examples
