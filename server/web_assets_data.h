#pragma once

// The web UI's files as embedded in the binary. web/build.mjs generates
// their definitions (web_assets_data.cc in the build tree) from web/src;
// server/web_assets.h serves them.

#include <cstddef>

namespace tracedb::server::web_data {

struct EmbeddedFile {
  const char* path;          // "/index.html" or "/ui/app.<hash>.js"
  const char* content_type;  // the Content-Type header value
  const char* etag;          // a strong ETag, quoted: "\"<hash>\""
  bool immutable;            // the name carries a content hash: cache forever
  const unsigned char* gzip;  // the file, gzip-compressed
  size_t gzip_size;
  size_t size;  // uncompressed bytes
};

// Static storage, valid for the life of the program.
extern const EmbeddedFile kFiles[];
extern const size_t kFileCount;

}  // namespace tracedb::server::web_data
