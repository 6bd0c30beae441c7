#include "cli/http_client.h"

#include <curl/curl.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace tracedb::cli {

namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct Upload {
  const std::function<size_t(char*, size_t)>* read;
  const std::function<bool(uint64_t)>* progress;
};

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* up = static_cast<Upload*>(user);
  return (*up->read)(buf, size * n);
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t ulnow) {
  auto* up = static_cast<Upload*>(user);
  if (up->progress != nullptr && *up->progress && !(*up->progress)(static_cast<uint64_t>(ulnow))) return 1;
  return 0;
}

Result<HttpResult> Perform(CURL* curl, const std::string& url, const HttpRequestOptions& options,
                           curl_slist* extra_headers) {
  static CurlGlobal global;
  HttpResult result;
  curl_slist* headers = extra_headers;
  for (const auto& h : options.headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (options.timeout_seconds > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT, options.timeout_seconds);
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    std::string msg = url + ": " + (error[0] != '\0' ? error : curl_easy_strerror(rc));
    return Status::Unavailable(msg);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  char* ct = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
  if (ct != nullptr) result.content_type = ct;
  return result;
}

using CurlPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

}  // namespace

Result<HttpResult> HttpGet(const std::string& url, const HttpRequestOptions& options) {
  CurlPtr curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Status::Internal("curl_easy_init failed");
  return Perform(curl.get(), url, options, nullptr);
}

Result<HttpResult> HttpPostStream(const std::string& url, const std::function<size_t(char*, size_t)>& read,
                                  const HttpRequestOptions& options) {
  CurlPtr curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Status::Internal("curl_easy_init failed");
  Upload up{&read, &options.progress};
  curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_READFUNCTION, OnRead);
  curl_easy_setopt(curl.get(), CURLOPT_READDATA, &up);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &up);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  curl_slist* headers = curl_slist_append(nullptr, "Transfer-Encoding: chunked");
  headers = curl_slist_append(headers, "Expect:");
  return Perform(curl.get(), url, options, headers);
}

std::string UrlEncode(const std::string& value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::vector<std::string> AuthHeaders() {
  const char* key = std::getenv("TRACEDB_API_KEY");
  if (key == nullptr || *key == '\0') return {};
  return {std::string("Authorization: Bearer ") + key};
}

}  // namespace tracedb::cli
