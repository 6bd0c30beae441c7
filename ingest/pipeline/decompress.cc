#include "ingest/pipeline/decompress.h"

#include <lz4.h>
#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>

#include <fmt/format.h>

namespace tracedb::ingest {

namespace {

class NoneDecoder final : public StreamDecoder {
 public:
  Status Decode(std::string_view in, const DecodeSink& sink) override {
    for (size_t off = 0; off < in.size(); off += kDecodePiece) {
      TRACEDB_RETURN_IF_ERROR(sink(in.substr(off, kDecodePiece)));
    }
    return Status::OK();
  }
  Status Finish() override { return Status::OK(); }
};

class GzipDecoder final : public StreamDecoder {
 public:
  GzipDecoder() {
    std::memset(&zs_, 0, sizeof(zs_));
    // 15 + 32: accept both gzip and zlib headers.
    ok_ = inflateInit2(&zs_, 15 + 32) == Z_OK;
  }
  ~GzipDecoder() override { inflateEnd(&zs_); }

  Status Decode(std::string_view in, const DecodeSink& sink) override {
    if (!ok_) return Status::Internal("gzip: inflateInit failed");
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    char buf[kDecodePiece];
    while (true) {
      if (ended_) {
        if (zs_.avail_in == 0) break;
        // Concatenated gzip members are one stream (RFC 1952).
        if (inflateReset(&zs_) != Z_OK) return Status::InvalidArgument("gzip: cannot reset");
        ended_ = false;
      }
      zs_.next_out = reinterpret_cast<Bytef*>(buf);
      zs_.avail_out = sizeof(buf);
      int rc = inflate(&zs_, Z_NO_FLUSH);
      size_t produced = sizeof(buf) - zs_.avail_out;
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        return Status::InvalidArgument(std::string("gzip: ") + (zs_.msg ? zs_.msg : "corrupt data"));
      }
      if (produced > 0) TRACEDB_RETURN_IF_ERROR(sink(std::string_view(buf, produced)));
      if (rc == Z_STREAM_END) {
        ended_ = true;
        continue;
      }
      if (rc == Z_BUF_ERROR) break;  // needs more input
      // All input consumed and the output had room: nothing is pending.
      if (zs_.avail_in == 0 && zs_.avail_out != 0) break;
    }
    return Status::OK();
  }

  Status Finish() override {
    if (!ended_) return Status::InvalidArgument("gzip: truncated stream");
    return Status::OK();
  }

 private:
  z_stream zs_;
  bool ok_ = false;
  bool ended_ = false;
};

class ZstdDecoder final : public StreamDecoder {
 public:
  ZstdDecoder() : ctx_(ZSTD_createDStream()) { ZSTD_initDStream(ctx_); }
  ~ZstdDecoder() override { ZSTD_freeDStream(ctx_); }

  Status Decode(std::string_view in, const DecodeSink& sink) override {
    if (in.empty()) return Status::OK();  // keeps frame_done_ of a finished frame
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    char buf[kDecodePiece];
    while (true) {
      ZSTD_outBuffer output{buf, sizeof(buf), 0};
      size_t rc = ZSTD_decompressStream(ctx_, &output, &input);
      if (ZSTD_isError(rc)) return Status::InvalidArgument(std::string("zstd: ") + ZSTD_getErrorName(rc));
      if (output.pos > 0) TRACEDB_RETURN_IF_ERROR(sink(std::string_view(buf, output.pos)));
      if (input.pos < input.size) {
        if (rc == 0) frame_done_ = true;  // a frame ended; the next one starts
        continue;
      }
      frame_done_ = rc == 0;
      // Input consumed: stop unless the output was full (more may be pending).
      if (output.pos < output.size) break;
    }
    return Status::OK();
  }

  Status Finish() override {
    if (!frame_done_) return Status::InvalidArgument("zstd: truncated stream");
    return Status::OK();
  }

 private:
  ZSTD_DStream* ctx_;
  bool frame_done_ = false;
};

class Lz4FrameDecoder final : public StreamDecoder {
 public:
  Lz4FrameDecoder() { LZ4F_createDecompressionContext(&ctx_, LZ4F_VERSION); }
  ~Lz4FrameDecoder() override { LZ4F_freeDecompressionContext(ctx_); }

  Status Decode(std::string_view in, const DecodeSink& sink) override {
    if (in.empty()) return Status::OK();  // keeps frame_done_ of a finished frame
    const char* src = in.data();
    size_t left = in.size();
    char buf[kDecodePiece];
    while (true) {
      size_t dst_size = sizeof(buf);
      size_t src_size = left;
      size_t rc = LZ4F_decompress(ctx_, buf, &dst_size, src, &src_size, nullptr);
      if (LZ4F_isError(rc)) return Status::InvalidArgument(std::string("lz4: ") + LZ4F_getErrorName(rc));
      if (dst_size > 0) TRACEDB_RETURN_IF_ERROR(sink(std::string_view(buf, dst_size)));
      src += src_size;
      left -= src_size;
      frame_done_ = rc == 0;
      if (left == 0 && dst_size < sizeof(buf)) break;
      if (src_size == 0 && dst_size == 0) break;
    }
    return Status::OK();
  }

  Status Finish() override {
    if (!frame_done_) return Status::InvalidArgument("lz4: truncated stream");
    return Status::OK();
  }

 private:
  LZ4F_dctx* ctx_ = nullptr;
  bool frame_done_ = false;
};

Status TooLarge(size_t max_output) {
  return Status::InvalidArgument(fmt::format("decompressed message exceeds the limit of {} bytes", max_output));
}

bool HasPrefix(std::string_view data, std::initializer_list<uint8_t> magic) {
  if (data.size() < magic.size()) return false;
  size_t i = 0;
  for (uint8_t b : magic) {
    if (static_cast<uint8_t>(data[i++]) != b) return false;
  }
  return true;
}

uint32_t SizePrefix(std::string_view in) {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

// Returns true and fills *out when `data` is a size-prepended LZ4 block of
// at most max_bytes.
bool TryLz4Block(std::string_view data, size_t max_bytes, std::string* out) {
  if (data.size() < 5) return false;
  uint32_t size = SizePrefix(data);
  if (size > max_bytes || size > static_cast<uint32_t>(INT_MAX)) return false;
  out->resize(size);
  int n = LZ4_decompress_safe(data.data() + 4, out->data(), static_cast<int>(data.size() - 4), static_cast<int>(size));
  return n >= 0 && static_cast<uint32_t>(n) == size;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Status StreamDecoder::Feed(std::string_view in, std::string* out) {
  return Decode(in, [out](std::string_view piece) {
    out->append(piece);
    return Status::OK();
  });
}

Result<Codec> CodecFromContentEncoding(std::string_view value) {
  std::string v = Lower(value);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
  if (v.empty() || v == "identity") return Codec::kNone;
  if (v == "gzip" || v == "x-gzip" || v == "deflate") return Codec::kGzip;
  if (v == "zstd") return Codec::kZstd;
  if (v == "lz4") return Codec::kLz4;
  return Status::InvalidArgument("unsupported Content-Encoding '" + std::string(value) +
                                 "' (supported: identity, gzip, deflate, zstd, lz4)");
}

Result<Codec> CodecFromName(std::string_view name) {
  if (name == "zstd") return Codec::kZstd;
  if (name == "lz4") return Codec::kLz4;
  if (name == "gzip") return Codec::kGzip;
  return Status::InvalidArgument(fmt::format("unknown compression algorithm '{}' (zstd, lz4, gzip)", name));
}

std::string_view CodecName(Codec codec) {
  switch (codec) {
    case Codec::kNone: return "none";
    case Codec::kGzip: return "gzip";
    case Codec::kZstd: return "zstd";
    case Codec::kLz4: return "lz4";
  }
  return "none";
}

std::unique_ptr<StreamDecoder> StreamDecoder::Create(Codec codec) {
  switch (codec) {
    case Codec::kNone: return std::make_unique<NoneDecoder>();
    case Codec::kGzip: return std::make_unique<GzipDecoder>();
    case Codec::kZstd: return std::make_unique<ZstdDecoder>();
    case Codec::kLz4: return std::make_unique<Lz4FrameDecoder>();
  }
  return std::make_unique<NoneDecoder>();
}

Codec SniffCodec(std::string_view in) {
  if (HasPrefix(in, {0x1f, 0x8b})) return Codec::kGzip;
  if (HasPrefix(in, {0x28, 0xb5, 0x2f, 0xfd})) return Codec::kZstd;
  size_t i = 0;
  while (i < in.size() && (in[i] == ' ' || in[i] == '\n' || in[i] == '\r' || in[i] == '\t')) ++i;
  if (i < in.size() && (in[i] == '{' || in[i] == '[' || in[i] == '"')) return Codec::kNone;
  return Codec::kLz4;
}

Result<std::string> DecompressMessage(std::string_view in, Codec codec, size_t max_output) {
  switch (codec) {
    case Codec::kNone:
      if (in.size() > max_output) return TooLarge(max_output);
      return std::string(in);
    case Codec::kLz4: {
      if (in.size() < 4) return Status::InvalidArgument("lz4: message shorter than its size prefix");
      uint32_t size = SizePrefix(in);
      if (size > max_output) return TooLarge(max_output);
      if (size > static_cast<uint32_t>(INT_MAX)) return Status::InvalidArgument("lz4: block too large");
      std::string out(size, '\0');
      int n = LZ4_decompress_safe(in.data() + 4, out.data(), static_cast<int>(in.size() - 4), static_cast<int>(size));
      if (n < 0 || static_cast<uint32_t>(n) != size) return Status::InvalidArgument("lz4: corrupt block");
      return out;
    }
    case Codec::kGzip:
    case Codec::kZstd: {
      std::string out;
      auto decoder = StreamDecoder::Create(codec);
      // The sink stops a bomb one piece beyond the cap.
      TRACEDB_RETURN_IF_ERROR(decoder->Decode(in, [&](std::string_view piece) -> Status {
        if (out.size() + piece.size() > max_output) return TooLarge(max_output);
        out.append(piece);
        return Status::OK();
      }));
      TRACEDB_RETURN_IF_ERROR(decoder->Finish());
      return out;
    }
  }
  return Status::InvalidArgument("unknown codec");
}

namespace {

std::string Gzip(std::string_view in, int level) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  deflateInit2(&zs, std::clamp(level, 0, 9), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Zstd(std::string_view in, int level) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

}  // namespace

std::string CompressMessage(std::string_view in, Codec codec, int level) {
  switch (codec) {
    case Codec::kNone: return std::string(in);
    case Codec::kZstd: return Zstd(in, level);
    case Codec::kGzip: return Gzip(in, level);
    case Codec::kLz4: {
      int bound = LZ4_compressBound(static_cast<int>(in.size()));
      std::string out(4 + static_cast<size_t>(bound), '\0');
      auto size = static_cast<uint32_t>(in.size());
      for (int i = 0; i < 4; ++i) out[static_cast<size_t>(i)] = static_cast<char>((size >> (8 * i)) & 0xff);
      int n = LZ4_compress_default(in.data(), out.data() + 4, static_cast<int>(in.size()), bound);
      out.resize(4 + static_cast<size_t>(std::max(n, 0)));
      return out;
    }
  }
  return std::string(in);
}

std::string CompressBody(std::string_view in, Codec codec, int level) {
  if (codec != Codec::kLz4) return CompressMessage(in, codec, level);
  std::string out(LZ4F_compressFrameBound(in.size(), nullptr), '\0');
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), nullptr);
  out.resize(LZ4F_isError(n) ? 0 : n);
  return out;
}

Result<std::string> DecompressFrame(std::string_view data, size_t max_bytes) {
  if (HasPrefix(data, {0x28, 0xB5, 0x2F, 0xFD})) return DecompressMessage(data, Codec::kZstd, max_bytes);
  if (HasPrefix(data, {0x1F, 0x8B})) return DecompressMessage(data, Codec::kGzip, max_bytes);
  std::string out;
  if (TryLz4Block(data, max_bytes, &out)) return out;
  if (data.size() > max_bytes) {
    return Status::InvalidArgument(
        fmt::format("message of {} bytes exceeds the limit of {} bytes", data.size(), max_bytes));
  }
  return std::string(data);
}

}  // namespace tracedb::ingest
