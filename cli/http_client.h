#pragma once

// A small blocking HTTP client for the CLI's --server mode, on libcurl
// (http and https, streaming uploads, progress callbacks).
//
// Not thread-safe: one client per thread.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace tracedb::cli {

struct HttpResult {
  long status = 0;
  std::string content_type;
  std::string body;
};

struct HttpRequestOptions {
  std::vector<std::string> headers;  // "Name: value"
  // Called with bytes uploaded so far; return false to abort.
  std::function<bool(uint64_t uploaded)> progress;
  long timeout_seconds = 0;  // 0: none
};

// GET url.
Result<HttpResult> HttpGet(const std::string& url, const HttpRequestOptions& options = {});

// POST a body produced by `read` (fills buf, returns bytes written; 0 at the
// end), streamed with chunked transfer encoding.
Result<HttpResult> HttpPostStream(const std::string& url, const std::function<size_t(char* buf, size_t cap)>& read,
                                  const HttpRequestOptions& options = {});

// Percent-encodes a query-string value.
std::string UrlEncode(const std::string& value);

// The API key for --server requests: $TRACEDB_API_KEY, as an
// "Authorization: Bearer" header (empty when unset).
std::vector<std::string> AuthHeaders();

}  // namespace tracedb::cli
