#pragma once

// The one place of server/ that (de)compresses: HTTP request bodies
// (Content-Encoding), WebSocket Binary frames (reflow-protocol.md §2 with
// §8's symmetric lz4 correction) and replies. Codecs: gzip (and zlib), zstd,
// lz4 — the LZ4 *frame* format for HTTP bodies and files, the Reflow
// size-prepended *block* for WebSocket frames.
//
// Decoding is streaming, so a multi-gigabyte body is decoded in bounded
// memory (output is handed out in pieces of at most kDecodePiece bytes), and
// capped where a whole message is produced, so a small compressed input
// cannot expand without bound (a "zip bomb" is an error, not an OOM).
//
// WebSocket Binary frame formats (DecompressFrame):
//   zstd  a zstd frame (magic 28 B5 2F FD), as zstd::encode_all writes.
//   gzip  a gzip member (magic 1F 8B).
//   lz4   size-prepended block: fixed32 little-endian uncompressed size,
//         then one raw LZ4 block (lz4_flex compress_prepend_size). Replies
//         in lz4 use the same form (symmetric).
//   raw   anything else: the bytes are the JSON text itself.
// Detection: zstd and gzip by magic; otherwise, when the first 4 bytes give
// a size <= the limit and the rest decodes as an LZ4 block to exactly that
// size, lz4; otherwise raw. Raw JSON can never be mistaken for lz4: its
// first 4 bytes ('{"..', '"Pi..') read as a size above 1 GiB.
//
// Thread-safety: the free functions are; a StreamDecoder is not (one per
// stream).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"

namespace tracedb::ingest {

enum class Codec : uint8_t { kNone, kGzip, kZstd, kLz4 };

// Parses an HTTP Content-Encoding value ("", "identity", "gzip", "x-gzip",
// "deflate", "zstd", "lz4"; case-insensitive). Unknown values are
// InvalidArgument naming them.
Result<Codec> CodecFromContentEncoding(std::string_view value);
// Parses a compression.algorithm value: "zstd", "lz4" or "gzip".
Result<Codec> CodecFromName(std::string_view name);
// "none", "gzip", "zstd", "lz4" (also a valid Content-Encoding, but "none").
std::string_view CodecName(Codec codec);

// Largest piece of output a StreamDecoder hands to its sink at once.
inline constexpr size_t kDecodePiece = 64 << 10;

// Receives decoded bytes; an error stops the decoding and is returned.
using DecodeSink = std::function<Status(std::string_view)>;

// Incremental decoder of a stream (HTTP body, file). kLz4 is the frame
// format. Concatenated gzip members / zstd frames / lz4 frames are one
// stream.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Decodes `in` (any slicing of the stream), calling `sink` with the output
  // in pieces of at most kDecodePiece bytes. Corrupt input is
  // InvalidArgument naming the codec; a sink error is returned as is.
  virtual Status Decode(std::string_view in, const DecodeSink& sink) = 0;
  // Checks that the stream ended cleanly (not truncated).
  virtual Status Finish() = 0;

  // Decode() appending the output to *out.
  Status Feed(std::string_view in, std::string* out);

  static std::unique_ptr<StreamDecoder> Create(Codec codec);
};

// Decompresses one whole message, refusing outputs larger than max_output
// ("... exceeds the limit of N bytes"). kLz4 here is the Reflow framing: a
// little-endian u32 uncompressed size followed by one raw LZ4 block.
Result<std::string> DecompressMessage(std::string_view in, Codec codec, size_t max_output);

// Guesses the codec of a message from its magic bytes: gzip 1f 8b, zstd
// 28 b5 2f fd; JSON text is kNone; anything else is taken as Reflow lz4.
Codec SniffCodec(std::string_view in);

// Compresses a whole message (WebSocket replies, clients, tests). kLz4
// writes the Reflow size-prepended block.
std::string CompressMessage(std::string_view in, Codec codec, int level = 3);

// Compresses an HTTP body or file for `Content-Encoding: <codec>` (what
// StreamDecoder reads back): kLz4 writes an LZ4 frame.
std::string CompressBody(std::string_view in, Codec codec, int level = 3);

// Decodes a received WebSocket Binary frame per the detection rule above.
// Fails with InvalidArgument naming the format when a zstd/gzip frame is
// corrupt, or when the output exceeds `max_bytes`.
Result<std::string> DecompressFrame(std::string_view data, size_t max_bytes);

}  // namespace tracedb::ingest
