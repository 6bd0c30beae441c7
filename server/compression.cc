#include "server/compression.h"

#include <cstring>

#include <fmt/format.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

namespace tracedb::server {
namespace {

bool HasPrefix(std::string_view data, std::initializer_list<uint8_t> magic) {
  if (data.size() < magic.size()) return false;
  size_t i = 0;
  for (uint8_t b : magic) {
    if (static_cast<uint8_t>(data[i++]) != b) return false;
  }
  return true;
}

Result<std::string> ZstdDecompress(std::string_view data, size_t max_bytes) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  std::string out;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  size_t ret = 1;
  std::string error;
  while (true) {
    size_t old = out.size();
    out.resize(old + 64 * 1024);
    ZSTD_outBuffer ob{out.data() + old, out.size() - old, 0};
    ret = ZSTD_decompressStream(ds, &ob, &in);
    out.resize(old + ob.pos);
    if (ZSTD_isError(ret)) {
      error = fmt::format("invalid zstd frame: {}", ZSTD_getErrorName(ret));
      break;
    }
    if (out.size() > max_bytes) {
      error = fmt::format("zstd frame decompresses to more than {} bytes", max_bytes);
      break;
    }
    if (ret == 0 && in.pos == in.size) break;
    if (in.pos == in.size && ob.pos < ob.size) {
      error = "truncated zstd frame";
      break;
    }
  }
  ZSTD_freeDStream(ds);
  if (!error.empty()) return Status::InvalidArgument(error);
  return out;
}

Result<std::string> GzipDecompress(std::string_view data, size_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return Status::Internal("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  std::string error;
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    size_t old = out.size();
    out.resize(old + 64 * 1024);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    zs.avail_out = static_cast<uInt>(out.size() - old);
    ret = inflate(&zs, Z_NO_FLUSH);
    out.resize(out.size() - zs.avail_out);
    if (ret != Z_OK && ret != Z_STREAM_END) {
      error = ret == Z_BUF_ERROR ? "truncated gzip member" : fmt::format("invalid gzip member: {}",
                                                                         zs.msg ? zs.msg : "inflate error");
      break;
    }
    if (out.size() > max_bytes) {
      error = fmt::format("gzip member decompresses to more than {} bytes", max_bytes);
      break;
    }
  }
  inflateEnd(&zs);
  if (!error.empty()) return Status::InvalidArgument(error);
  return out;
}

// Returns true and fills *out when `data` is a size-prepended LZ4 block.
bool TryLz4(std::string_view data, size_t max_bytes, std::string* out) {
  if (data.size() < 5) return false;
  uint32_t size = 0;
  for (int i = 3; i >= 0; --i) size = (size << 8) | static_cast<uint8_t>(data[i]);
  if (size > max_bytes || size > static_cast<uint32_t>(INT32_MAX)) return false;
  out->resize(size);
  int n = LZ4_decompress_safe(data.data() + 4, out->data(), static_cast<int>(data.size() - 4),
                              static_cast<int>(size));
  return n >= 0 && static_cast<uint32_t>(n) == size;
}

}  // namespace

Result<Compression> ParseCompression(std::string_view name) {
  if (name == "zstd") return Compression::kZstd;
  if (name == "lz4") return Compression::kLz4;
  if (name == "gzip") return Compression::kGzip;
  return Status::InvalidArgument(fmt::format("unknown compression algorithm '{}'", name));
}

std::string CompressFrame(Compression algo, std::string_view data, int level) {
  std::string out;
  switch (algo) {
    case Compression::kZstd: {
      out.resize(ZSTD_compressBound(data.size()));
      size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
      out.resize(ZSTD_isError(n) ? 0 : n);
      break;
    }
    case Compression::kLz4: {
      int bound = LZ4_compressBound(static_cast<int>(data.size()));
      out.resize(4 + static_cast<size_t>(bound));
      auto size = static_cast<uint32_t>(data.size());
      for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((size >> (8 * i)) & 0xff);
      int n = LZ4_compress_default(data.data(), out.data() + 4, static_cast<int>(data.size()), bound);
      out.resize(4 + static_cast<size_t>(n > 0 ? n : 0));
      break;
    }
    case Compression::kGzip: {
      z_stream zs{};
      deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
      out.resize(deflateBound(&zs, data.size()) + 32);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
      zs.avail_in = static_cast<uInt>(data.size());
      zs.next_out = reinterpret_cast<Bytef*>(out.data());
      zs.avail_out = static_cast<uInt>(out.size());
      deflate(&zs, Z_FINISH);
      out.resize(zs.total_out);
      deflateEnd(&zs);
      break;
    }
  }
  return out;
}

Result<std::string> DecompressFrame(std::string_view data, size_t max_bytes) {
  if (HasPrefix(data, {0x28, 0xB5, 0x2F, 0xFD})) return ZstdDecompress(data, max_bytes);
  if (HasPrefix(data, {0x1F, 0x8B})) return GzipDecompress(data, max_bytes);
  std::string out;
  if (TryLz4(data, max_bytes, &out)) return out;
  if (data.size() > max_bytes) {
    return Status::InvalidArgument(fmt::format("message of {} bytes exceeds the limit of {}", data.size(), max_bytes));
  }
  return std::string(data);
}

}  // namespace tracedb::server
