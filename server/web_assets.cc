#include "server/web_assets.h"

#include "ingest/pipeline/decompress.h"
#include "server/web_assets_data.h"

namespace tracedb::server {

namespace {

constexpr std::string_view kIndex = "/index.html";

const web_data::EmbeddedFile* Find(std::string_view path) {
  for (size_t i = 0; i < web_data::kFileCount; ++i) {
    if (path == web_data::kFiles[i].path) return &web_data::kFiles[i];
  }
  return nullptr;
}

// Every path that is not a bundle file is a page of the client-side router.
std::string_view FileFor(std::string_view path) {
  if (path.substr(0, 4) == "/ui/") return path;
  return kIndex;
}

// If-None-Match holds a list of ETags or "*".
bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match == "*") return true;
  return !if_none_match.empty() && if_none_match.find(etag) != std::string_view::npos;
}

}  // namespace

AcceptGzip AcceptsGzip(std::string_view accept_encoding) {
  size_t at = accept_encoding.find("gzip");
  if (at == std::string_view::npos) return AcceptGzip::kNo;
  std::string_view rest = accept_encoding.substr(at + 4);
  rest = rest.substr(0, rest.find(','));
  // "gzip;q=0", "gzip; q=0.0": refused.
  size_t q = rest.find("q=");
  if (q != std::string_view::npos && rest.substr(q + 2).find_first_not_of("0. ") == std::string_view::npos) {
    return AcceptGzip::kNo;
  }
  return AcceptGzip::kYes;
}

WebAssetReply ServeWebAsset(const WebAssetRequest& request) {
  WebAssetReply reply;
  const web_data::EmbeddedFile* file = Find(FileFor(request.path));
  if (file == nullptr) {
    reply.status = 404;
    reply.content_type = "text/plain; charset=utf-8";
    reply.body = "no such file: " + std::string(request.path) + "\n";
    reply.cache_control = "no-cache";
    return reply;
  }
  reply.content_type = file->content_type;
  reply.etag = file->etag;
  reply.cache_control = file->immutable ? "public, max-age=31536000, immutable" : "no-cache";
  if (EtagMatches(request.if_none_match, reply.etag)) {
    reply.status = 304;
    return reply;
  }
  std::string_view gz(reinterpret_cast<const char*>(file->gzip), file->gzip_size);
  if (request.accept_gzip == AcceptGzip::kYes) {
    reply.body.assign(gz);
    reply.content_encoding = "gzip";
    return reply;
  }
  // Rare (every browser takes gzip): inflate the embedded copy.
  auto plain = ingest::DecompressMessage(gz, ingest::Codec::kGzip, file->size);
  if (!plain.ok()) {
    reply.status = 500;
    reply.content_type = "text/plain; charset=utf-8";
    reply.body = "embedded file " + std::string(file->path) + " is damaged: " + plain.status().message() + "\n";
    return reply;
  }
  reply.body = std::move(*plain);
  return reply;
}

}  // namespace tracedb::server
