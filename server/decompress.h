#pragma once

// Decompression of request bodies and WebSocket frames: gzip (and zlib),
// zstd, lz4 (frame format for HTTP bodies; the Reflow size-prepended block
// for WebSocket frames). Streaming, so a multi-gigabyte body is decoded in
// bounded memory, and capped, so a small compressed input cannot expand
// without bound (a "zip bomb" is an error, not an OOM).
//
// Not thread-safe: one decoder per stream.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace tracedb::server {

enum class Codec : uint8_t { kNone, kGzip, kZstd, kLz4 };

// Parses an HTTP Content-Encoding value ("", "identity", "gzip", "x-gzip",
// "deflate", "zstd", "lz4"). Unknown values are InvalidArgument naming them.
Result<Codec> CodecFromContentEncoding(std::string_view value);
std::string_view CodecName(Codec codec);

// Incremental decoder: Feed() compressed bytes, get decompressed bytes
// appended to *out. Finish() checks the stream ended cleanly.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  virtual Status Feed(std::string_view in, std::string* out) = 0;
  virtual Status Finish() = 0;

  static std::unique_ptr<StreamDecoder> Create(Codec codec);
};

// Decompresses one whole message (a WebSocket Binary frame), refusing
// outputs larger than max_output. kLz4 here is the Reflow framing: a
// little-endian u32 uncompressed size followed by one raw LZ4 block.
Result<std::string> DecompressMessage(std::string_view in, Codec codec, size_t max_output);

// Guesses the codec of a message from its magic bytes: gzip 1f 8b, zstd
// 28 b5 2f fd; anything else that is not JSON text is taken as Reflow lz4.
Codec SniffCodec(std::string_view in);

// Compresses a whole message (replies, tests, clients). kLz4 writes the
// Reflow size-prepended block.
std::string CompressMessage(std::string_view in, Codec codec, int level = 3);

}  // namespace tracedb::server
