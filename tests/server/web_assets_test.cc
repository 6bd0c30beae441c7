#include "server/web_assets.h"

#include <cctype>
#include <string>

#include <gtest/gtest.h>

#include "ingest/pipeline/decompress.h"
#include "server/config.h"
#include "server/routes.h"

namespace tracedb::server {
namespace {

std::string Gunzip(const std::string& body) {
  auto plain = ingest::DecompressMessage(body, ingest::Codec::kGzip, 64 << 20);
  EXPECT_TRUE(plain.ok());
  return plain.ok() ? *plain : "";
}

// The bundle's script path as index.html names it.
std::string ScriptPath() {
  std::string html = Gunzip(ServeWebAsset({"/", "", AcceptGzip::kYes}).body);
  // src="/ui/app.<hex>.js" (by hand: GCC 12's <regex> trips -Wmaybe-uninitialized
  // in the sanitizer build).
  const std::string prefix = "src=\"/ui/app.";
  size_t at = html.find(prefix);
  EXPECT_NE(at, std::string::npos) << html;
  if (at == std::string::npos) return "";
  size_t hex = at + prefix.size(), end = hex;
  while (end < html.size() && std::isxdigit(static_cast<unsigned char>(html[end]))) ++end;
  bool ok = end > hex && html.compare(end, 4, ".js\"") == 0;
  EXPECT_TRUE(ok) << html.substr(at, 80);
  return ok ? html.substr(at + 5, end + 3 - (at + 5)) : "";
}

TEST(WebAssets, EveryPageRouteIsTheShellRevalidatedOnEachLoad) {
  for (const char* path : {"/", "/traces/0000", "/graph", "/live"}) {
    WebAssetReply r = ServeWebAsset({path, "", AcceptGzip::kYes});
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << path;
    EXPECT_EQ(r.content_encoding, "gzip") << path;
    EXPECT_EQ(r.cache_control, "no-cache") << path;
    EXPECT_NE(Gunzip(r.body).find("<div id=\"app\">"), std::string::npos) << path;
  }
}

TEST(WebAssets, HashedBundleIsImmutableAndMatchesItsEtag) {
  std::string js = ScriptPath();
  WebAssetReply r = ServeWebAsset({js, "", AcceptGzip::kYes});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(r.cache_control, "public, max-age=31536000, immutable");
  EXPECT_FALSE(Gunzip(r.body).empty());
  WebAssetReply again = ServeWebAsset({js, r.etag, AcceptGzip::kYes});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
}

TEST(WebAssets, ClientWithoutGzipGetsThePlainFile) {
  std::string js = ScriptPath();
  WebAssetReply gz = ServeWebAsset({js, "", AcceptGzip::kYes});
  WebAssetReply plain = ServeWebAsset({js, "", AcceptGzip::kNo});
  EXPECT_EQ(plain.status, 200);
  EXPECT_TRUE(plain.content_encoding.empty());
  EXPECT_EQ(plain.body, Gunzip(gz.body));
}

TEST(WebAssets, UnknownBundleFileIsNotFound) {
  EXPECT_EQ(ServeWebAsset({"/ui/app.0000.js", "", AcceptGzip::kYes}).status, 404);
}

TEST(WebAssets, AcceptEncodingParsing) {
  EXPECT_EQ(AcceptsGzip("gzip, deflate, br"), AcceptGzip::kYes);
  EXPECT_EQ(AcceptsGzip("br;q=1.0, gzip;q=0.5"), AcceptGzip::kYes);
  EXPECT_EQ(AcceptsGzip("gzip;q=0"), AcceptGzip::kNo);
  EXPECT_EQ(AcceptsGzip("identity"), AcceptGzip::kNo);
  EXPECT_EQ(AcceptsGzip(""), AcceptGzip::kNo);
}

TEST(WebAssets, PageRoutesNeedNoKeyButTheApiDoes) {
  RouteTable routes = RouteTable::For(Config{});
  for (const char* path : {"/", "/traces/abc", "/graph", "/live", "/ui/app.1.js"}) {
    RouteMatch m = routes.Find("GET", path);
    ASSERT_NE(m.route, nullptr) << path;
    EXPECT_EQ(m.route->handler, Handler::kWebUi) << path;
    EXPECT_EQ(m.route->key, KeyPolicy::kNone) << path;
  }
  RouteMatch api = routes.Find("GET", "/v1/traces/abc");
  ASSERT_NE(api.route, nullptr);
  EXPECT_EQ(api.route->key, KeyPolicy::kApiKey);
  EXPECT_EQ(routes.Find("GET", "/elsewhere").route, nullptr);
}

}  // namespace
}  // namespace tracedb::server
