#pragma once

// Former home of the WebSocket frame codec, now folded into
// server/decompress.h (the one place of server/ that compresses). These
// inline names remain for server/service.{h,cc}; new code should use
// decompress.h directly (Codec, CodecFromName, CompressMessage,
// DecompressFrame).

#include <string>
#include <string_view>

#include "common/result.h"
#include "server/decompress.h"

namespace tracedb::server {

// The reply algorithm (compression.algorithm): kZstd, kLz4 or kGzip.
using Compression = Codec;

// "zstd" | "lz4" | "gzip" (CodecFromName).
inline Result<Compression> ParseCompression(std::string_view name) { return CodecFromName(name); }

// CompressMessage: a WebSocket Binary frame (lz4: size-prepended block).
inline std::string CompressFrame(Compression algo, std::string_view data, int level) {
  return CompressMessage(data, algo, level);
}

}  // namespace tracedb::server
