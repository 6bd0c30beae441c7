#include "server/decompress.h"

#include <lz4.h>
#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>

namespace tracedb::server {

namespace {

class NoneDecoder final : public StreamDecoder {
 public:
  Status Feed(std::string_view in, std::string* out) override {
    out->append(in);
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

  Status Feed(std::string_view in, std::string* out) override {
    if (!ok_) return Status::Internal("gzip: inflateInit failed");
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    char buf[64 << 10];
    while (zs_.avail_in > 0) {
      if (ended_) {
        // Concatenated gzip members are valid (RFC 1952): start the next.
        if (inflateReset(&zs_) != Z_OK) return Status::InvalidArgument("gzip: cannot reset");
        ended_ = false;
      }
      zs_.next_out = reinterpret_cast<Bytef*>(buf);
      zs_.avail_out = sizeof(buf);
      int rc = inflate(&zs_, Z_NO_FLUSH);
      out->append(buf, sizeof(buf) - zs_.avail_out);
      if (rc == Z_STREAM_END) {
        ended_ = true;
        continue;
      }
      if (rc == Z_BUF_ERROR && zs_.avail_in == 0) break;
      if (rc != Z_OK) return Status::InvalidArgument(std::string("gzip: ") + (zs_.msg ? zs_.msg : "corrupt data"));
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

  Status Feed(std::string_view in, std::string* out) override {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    char buf[64 << 10];
    while (input.pos < input.size) {
      ZSTD_outBuffer output{buf, sizeof(buf), 0};
      size_t rc = ZSTD_decompressStream(ctx_, &output, &input);
      if (ZSTD_isError(rc)) return Status::InvalidArgument(std::string("zstd: ") + ZSTD_getErrorName(rc));
      out->append(buf, output.pos);
      frame_done_ = rc == 0;
    }
    // Drain output buffered inside the decoder.
    for (;;) {
      ZSTD_outBuffer output{buf, sizeof(buf), 0};
      ZSTD_inBuffer empty{nullptr, 0, 0};
      size_t rc = ZSTD_decompressStream(ctx_, &output, &empty);
      if (ZSTD_isError(rc)) return Status::InvalidArgument(std::string("zstd: ") + ZSTD_getErrorName(rc));
      out->append(buf, output.pos);
      if (output.pos < sizeof(buf)) break;
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

  Status Feed(std::string_view in, std::string* out) override {
    const char* src = in.data();
    size_t left = in.size();
    char buf[64 << 10];
    while (left > 0) {
      size_t dst_size = sizeof(buf);
      size_t src_size = left;
      size_t rc = LZ4F_decompress(ctx_, buf, &dst_size, src, &src_size, nullptr);
      if (LZ4F_isError(rc)) return Status::InvalidArgument(std::string("lz4: ") + LZ4F_getErrorName(rc));
      out->append(buf, dst_size);
      src += src_size;
      left -= src_size;
      frame_done_ = rc == 0;
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

Status CheckSize(size_t size, size_t max_output) {
  if (size > max_output) {
    return Status::InvalidArgument("decompressed message exceeds the limit of " + std::to_string(max_output) +
                                   " bytes");
  }
  return Status::OK();
}

}  // namespace

Result<Codec> CodecFromContentEncoding(std::string_view value) {
  if (value.empty() || value == "identity") return Codec::kNone;
  if (value == "gzip" || value == "x-gzip" || value == "deflate") return Codec::kGzip;
  if (value == "zstd") return Codec::kZstd;
  if (value == "lz4") return Codec::kLz4;
  return Status::InvalidArgument("unsupported Content-Encoding '" + std::string(value) +
                                 "' (supported: identity, gzip, deflate, zstd, lz4)");
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
  if (in.size() >= 2 && static_cast<uint8_t>(in[0]) == 0x1f && static_cast<uint8_t>(in[1]) == 0x8b) {
    return Codec::kGzip;
  }
  if (in.size() >= 4 && static_cast<uint8_t>(in[0]) == 0x28 && static_cast<uint8_t>(in[1]) == 0xb5 &&
      static_cast<uint8_t>(in[2]) == 0x2f && static_cast<uint8_t>(in[3]) == 0xfd) {
    return Codec::kZstd;
  }
  size_t i = 0;
  while (i < in.size() && (in[i] == ' ' || in[i] == '\n' || in[i] == '\r' || in[i] == '\t')) ++i;
  if (i < in.size() && (in[i] == '{' || in[i] == '[' || in[i] == '"')) return Codec::kNone;
  return Codec::kLz4;
}

Result<std::string> DecompressMessage(std::string_view in, Codec codec, size_t max_output) {
  std::string out;
  switch (codec) {
    case Codec::kNone:
      TRACEDB_RETURN_IF_ERROR(CheckSize(in.size(), max_output));
      return std::string(in);
    case Codec::kLz4: {
      if (in.size() < 4) return Status::InvalidArgument("lz4: message shorter than its size prefix");
      const auto* p = reinterpret_cast<const uint8_t*>(in.data());
      uint32_t size = uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
      TRACEDB_RETURN_IF_ERROR(CheckSize(size, max_output));
      out.resize(size);
      int n = LZ4_decompress_safe(in.data() + 4, out.data(), static_cast<int>(in.size() - 4), static_cast<int>(size));
      if (n < 0 || static_cast<uint32_t>(n) != size) return Status::InvalidArgument("lz4: corrupt block");
      return out;
    }
    case Codec::kGzip:
    case Codec::kZstd: {
      auto decoder = StreamDecoder::Create(codec);
      // Feed in slices so that the size cap stops a bomb early.
      constexpr size_t kSlice = 16 << 10;
      for (size_t off = 0; off < in.size(); off += kSlice) {
        TRACEDB_RETURN_IF_ERROR(decoder->Feed(in.substr(off, kSlice), &out));
        TRACEDB_RETURN_IF_ERROR(CheckSize(out.size(), max_output));
      }
      TRACEDB_RETURN_IF_ERROR(decoder->Finish());
      return out;
    }
  }
  return Status::InvalidArgument("unknown codec");
}

std::string CompressMessage(std::string_view in, Codec codec, int level) {
  switch (codec) {
    case Codec::kNone:
      return std::string(in);
    case Codec::kZstd: {
      std::string out(ZSTD_compressBound(in.size()), '\0');
      size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
      out.resize(ZSTD_isError(n) ? 0 : n);
      return out;
    }
    case Codec::kLz4: {
      std::string out(4 + static_cast<size_t>(LZ4_compressBound(static_cast<int>(in.size()))), '\0');
      auto size = static_cast<uint32_t>(in.size());
      for (int i = 0; i < 4; ++i) out[static_cast<size_t>(i)] = static_cast<char>((size >> (8 * i)) & 0xff);
      int n = LZ4_compress_default(in.data(), out.data() + 4, static_cast<int>(in.size()),
                                   static_cast<int>(out.size() - 4));
      out.resize(4 + static_cast<size_t>(std::max(n, 0)));
      return out;
    }
    case Codec::kGzip: {
      z_stream zs;
      std::memset(&zs, 0, sizeof(zs));
      deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
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
  }
  return std::string(in);
}

}  // namespace tracedb::server
