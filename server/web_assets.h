#pragma once

// The built-in web UI (docs/web-ui.md), independent of the transport: the
// HTTP session calls ServeWebAsset for the routes with Handler::kWebUi and
// writes what it returns. The files are embedded in the binary,
// gzip-compressed (web/build.mjs).
//
// Paths:
//   /ui/<name>                         a bundle file; its name carries a content hash, so it is
//                                      cached for a year (Cache-Control: immutable)
//   /, /traces/<id>, /graph, /live     index.html (the page routes on the client), revalidated on
//                                      every load (Cache-Control: no-cache + ETag)
// The shell and assets hold no data, so they are served without an API key;
// the page asks for a key when /v1/ answers 401.
//
// Thread-safe: the files are immutable static data.

#include <string>
#include <string_view>

namespace tracedb::server {

// Whether the client takes gzip (WebAssetRequest::accept_gzip).
enum class AcceptGzip : bool { kNo = false, kYes = true };

struct WebAssetRequest {
  std::string_view path;           // without the query string
  std::string_view if_none_match;  // the If-None-Match header ("" when absent)
  AcceptGzip accept_gzip = AcceptGzip::kNo;
};

struct WebAssetReply {
  int status = 200;                // 200, 304 (ETag matched) or 404
  std::string content_type;
  std::string body;                // gzip bytes when content_encoding is "gzip"
  std::string content_encoding;    // "gzip" or "" (identity)
  std::string etag;
  std::string cache_control;
};

// Serves one request for the UI.
WebAssetReply ServeWebAsset(const WebAssetRequest& request);

// Whether an Accept-Encoding header value accepts gzip (not "gzip;q=0").
AcceptGzip AcceptsGzip(std::string_view accept_encoding);

}  // namespace tracedb::server
