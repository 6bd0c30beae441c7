#pragma once

// Compression of WebSocket Binary frames (reflow-protocol.md §2, with §8's
// symmetric lz4 correction).
//
// Frame formats:
//   zstd  a zstd frame (magic 28 B5 2F FD), as zstd::encode_all writes.
//   gzip  a gzip member (magic 1F 8B).
//   lz4   size-prepended block: fixed32 little-endian uncompressed size,
//         then one raw LZ4 block (lz4_flex compress_prepend_size). The server
//         writes lz4 replies in the same form (symmetric).
//   raw   anything else: the bytes are the JSON text itself.
// Detection of a received frame (DecompressFrame): zstd and gzip by magic;
// otherwise, when the first 4 bytes give a size <= the limit and the rest
// decodes as an LZ4 block to exactly that size, lz4; otherwise raw. Raw JSON
// can never be mistaken for lz4: its first 4 bytes ('{"..', '"Pi..') read as
// a size above 1 GiB.
//
// Thread-safe: pure functions.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace tracedb::server {

enum class Compression : uint8_t { kZstd, kLz4, kGzip };

// "zstd" | "lz4" | "gzip".
Result<Compression> ParseCompression(std::string_view name);

// Compresses `data` with `algo` at `level` (ignored by lz4).
std::string CompressFrame(Compression algo, std::string_view data, int level);

// Decodes a received Binary frame per the detection rule above. Fails with
// InvalidArgument naming the format when a zstd/gzip frame is corrupt or its
// output exceeds `max_bytes`.
Result<std::string> DecompressFrame(std::string_view data, size_t max_bytes);

}  // namespace tracedb::server
