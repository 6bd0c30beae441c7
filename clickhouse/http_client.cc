#include "clickhouse/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace tracedb::clickhouse {
namespace {

// curl_global_init is not thread-safe and must run before any other curl
// call; the process never calls curl_global_cleanup (other users of curl,
// such as the CLI, may still be running at exit).
void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// A connection the server may already have closed (it keeps idle ones for
// keep_alive_timeout: 3 s in its stock config, 10 s in ours) is not reused
// after this long, so a request rarely races the server's close. curl
// detects a connection closed earlier and reconnects by itself.
constexpr long kMaxIdleAgeSeconds = 2;

// Bounds the text kept from an error body: 18.16's syntax errors list every
// expected token.
constexpr size_t kMaxErrorMessage = 2000;

size_t AppendBody(char* data, size_t size, size_t nmemb, void* user) {
  static_cast<std::string*>(user)->append(data, size * nmemb);
  return size * nmemb;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return std::string(s);
}

std::string Truncate(std::string s) {
  if (s.size() > kMaxErrorMessage) {
    s.resize(kMaxErrorMessage);
    s += "…";
  }
  return s;
}

}  // namespace

struct HttpClient::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

struct HttpClient::HeaderLists {
  curl_slist* sql = nullptr;   // Query: the body is SQL text
  curl_slist* rows = nullptr;  // Insert: the body is data
  curl_slist* ping = nullptr;
  ~HeaderLists() {
    curl_slist_free_all(sql);
    curl_slist_free_all(rows);
    curl_slist_free_all(ping);
  }
};

struct HttpClient::Request {
  enum class Method { kGet, kPost };
  Method method = Method::kPost;
  std::string url;
  std::string_view body;
  curl_slist* headers = nullptr;
};

struct HttpClient::Reply {
  long http_status = 0;
  std::string body;
  int exception_code = 0;  // X-ClickHouse-Exception-Code (servers newer than 18.16 send it)
};

namespace {

size_t CaptureExceptionHeader(char* data, size_t size, size_t nmemb, void* user) {
  std::string_view line(data, size * nmemb);
  constexpr std::string_view kName = "x-clickhouse-exception-code:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == kName) {
      std::string value = Trim(line.substr(kName.size()));
      std::from_chars(value.data(), value.data() + value.size(), *static_cast<int*>(user));
    }
  }
  return size * nmemb;
}

curl_slist* Headers(const ClientOptions& options, const char* content_type) {
  curl_slist* list = nullptr;
  list = curl_slist_append(list, ("X-ClickHouse-User: " + options.user).c_str());
  if (!options.password.empty()) list = curl_slist_append(list, ("X-ClickHouse-Key: " + options.password).c_str());
  if (content_type != nullptr) list = curl_slist_append(list, content_type);
  // curl would otherwise wait for "100 Continue" before sending a body over
  // 1 MB; ClickHouse reads the body as it comes.
  list = curl_slist_append(list, "Expect:");
  return list;
}

// Checks the URL with curl's own parser, so that what Create() accepts is
// exactly what curl will request.
Result<std::string> NormalizeUrl(const std::string& url) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("clickhouse: bad URL '" + url + "': " + std::string(why));
  };
  CURLU* u = curl_url();
  if (u == nullptr) return Status::Internal("clickhouse: curl_url() failed");
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> guard(u, curl_url_cleanup);
  if (CURLUcode rc = curl_url_set(u, CURLUPART_URL, url.c_str(), 0); rc != CURLUE_OK) {
    return bad(curl_url_strerror(rc));
  }
  auto part = [&](CURLUPart which) -> std::string {
    char* value = nullptr;
    if (curl_url_get(u, which, &value, 0) != CURLUE_OK || value == nullptr) return "";
    std::string out(value);
    curl_free(value);
    return out;
  };
  std::string scheme = part(CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https") return bad("the scheme must be http or https");
  if (part(CURLUPART_HOST).empty()) return bad("no host");
  if (!part(CURLUPART_USER).empty() || !part(CURLUPART_PASSWORD).empty()) {
    return bad("credentials belong in the user and password options, not the URL");
  }
  if (!part(CURLUPART_QUERY).empty() || !part(CURLUPART_FRAGMENT).empty()) return bad("no query or fragment allowed");
  char* full = nullptr;
  if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK || full == nullptr) return bad("cannot be rebuilt");
  std::string normalized(full);
  curl_free(full);
  while (!normalized.empty() && normalized.back() == '/') normalized.pop_back();
  return normalized;
}

bool IsServerUnreachable(CURLcode rc) {
  switch (rc) {
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:
      return false;
    default:
      return true;
  }
}

}  // namespace

ServerError ParseServerError(std::string_view body) {
  ServerError error;
  size_t at = body.find("Code: ");
  if (at == std::string_view::npos) return error;
  std::string_view rest = body.substr(at + 6);
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), error.code);
  if (ec != std::errc() || error.code <= 0) {
    error.code = 0;
    return error;
  }
  rest = rest.substr(static_cast<size_t>(end - rest.data()));
  constexpr std::string_view kException = "DB::Exception: ";
  if (size_t e = rest.find(kException); e != std::string_view::npos) rest = rest.substr(e + kException.size());
  // 18.16: "MSG, e.what() = DB::Exception"; current: "MSG (version 23.8.1.1)".
  if (size_t w = rest.rfind(", e.what() = "); w != std::string_view::npos) rest = rest.substr(0, w);
  if (size_t v = rest.rfind(" (version "); v != std::string_view::npos) rest = rest.substr(0, v);
  error.message = Truncate(Trim(rest));
  return error;
}

int ClickHouseErrorCode(const Status& status) {
  constexpr std::string_view kMarker = ": Code ";
  std::string_view m = status.message();
  for (size_t at = m.find(kMarker); at != std::string_view::npos; at = m.find(kMarker, at + 1)) {
    std::string_view rest = m.substr(at + kMarker.size());
    int code = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), code);
    if (ec == std::errc() && end < rest.data() + rest.size() && *end == ':') return code;
  }
  return 0;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const std::string& url, const ClientOptions& options) {
  GlobalInit();
  TRACEDB_ASSIGN_OR_RETURN(std::string normalized, NormalizeUrl(url));
  if (options.user.find_first_of("\r\n") != std::string::npos ||
      options.password.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("clickhouse " + normalized + ": user and password must not contain line breaks");
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(normalized), options));
}

HttpClient::HttpClient(std::string url, ClientOptions options)
    : url_(std::move(url)), options_(std::move(options)), headers_(std::make_unique<HeaderLists>()) {
  headers_->sql = Headers(options_, "Content-Type: text/plain; charset=UTF-8");
  headers_->rows = Headers(options_, "Content-Type: application/octet-stream");
  headers_->ping = Headers(options_, nullptr);
}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Handle> HttpClient::Borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  auto handle = std::make_unique<Handle>();
  handle->curl = curl_easy_init();
  return handle;
}

void HttpClient::Return(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(handle));
}

std::string HttpClient::RequestUrl(std::string_view query, const QuerySettings& settings,
                                   Buffering buffering) const {
  std::string url = url_ + "/?";
  auto add = [&](std::string_view key, std::string_view value) {
    if (url.back() != '?') url.push_back('&');
    url += UrlEncode(key);
    url.push_back('=');
    url += UrlEncode(value);
  };
  if (!query.empty()) add("query", query);
  if (buffering == Buffering::kWaitEndOfQuery) add("wait_end_of_query", "1");
  for (const auto& [key, value] : settings) add(key, value);
  return url;
}

Result<HttpClient::Reply> HttpClient::Perform(const Request& request) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  std::unique_ptr<Handle> handle = Borrow();
  if (handle->curl == nullptr) return Status::Internal("clickhouse " + url_ + ": curl_easy_init failed");
  CURL* c = handle->curl;
  // Every request starts from defaults: nothing a previous (possibly failed)
  // request set survives, while the handle's open connection does.
  curl_easy_reset(c);
  Reply reply;
  char error_text[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: we run on many threads
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, kMaxIdleAgeSeconds);
  curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, request.headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, CaptureExceptionHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply.exception_code);
  if (request.method == Request::Method::kPost) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    // Always sets the length, so that an empty body is "Content-Length: 0"
    // (18.16 answers a POST without one 411 Length Required).
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  CURLcode rc = curl_easy_perform(c);
  long connects = 0;
  if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0) {
    connections_opened_.fetch_add(static_cast<uint64_t>(connects), std::memory_order_relaxed);
  }
  if (rc != CURLE_OK) {
    // The handle and its connection are dropped: a half-read reply must
    // never be mistaken for the start of the next one.
    transport_errors_.fetch_add(1, std::memory_order_relaxed);
    std::string text = error_text[0] != '\0' ? error_text : curl_easy_strerror(rc);
    Status status = IsServerUnreachable(rc) ? Status::Unavailable("clickhouse " + url_ + ": " + text)
                                             : Status::Internal("clickhouse " + url_ + ": " + text);
    return status;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.http_status);
  Return(std::move(handle));
  return reply;
}

Status HttpClient::ErrorFromReply(const Reply& reply) const {
  ServerError error = ParseServerError(reply.body);
  if (error.code == 0) error.code = reply.exception_code;
  std::string message = "clickhouse " + url_ + ": ";
  if (error.code != 0) {
    message += "Code " + std::to_string(error.code) + ": " +
               (error.message.empty() ? Truncate(Trim(reply.body)) : error.message);
  } else {
    message += "HTTP " + std::to_string(reply.http_status) + ": " + Truncate(Trim(reply.body));
  }
  switch (reply.http_status) {
    case 400:
    case 404:
      return Status::InvalidArgument(std::move(message));
    case 401:
    case 403:
      return Status::Unauthenticated(std::move(message));
    case 502:
    case 503:
    case 504:
      if (error.code == 0) return Status::Unavailable(std::move(message));
      return Status::IoError(std::move(message));
    default:
      return Status::IoError(std::move(message));
  }
}

Result<std::string> HttpClient::Query(std::string_view sql, const QuerySettings& settings) {
  Request request;
  // A request that timed out here would otherwise keep running on the
  // server (18.16 does not cancel a query whose HTTP client went away).
  bool has_limit = std::any_of(settings.begin(), settings.end(),
                               [](const auto& kv) { return kv.first == "max_execution_time"; });
  if (has_limit) {
    request.url = RequestUrl({}, settings, Buffering::kWaitEndOfQuery);
  } else {
    QuerySettings with_limit = settings;
    auto ms = options_.request_timeout.count();
    with_limit.emplace_back("max_execution_time", std::to_string(std::max<int64_t>(1, (ms + 999) / 1000)));
    request.url = RequestUrl({}, with_limit, Buffering::kWaitEndOfQuery);
  }
  request.body = sql;
  request.headers = headers_->sql;
  TRACEDB_ASSIGN_OR_RETURN(Reply reply, Perform(request));
  if (reply.http_status != 200) return ErrorFromReply(reply);
  return std::move(reply.body);
}

Status HttpClient::Insert(std::string_view insert_sql, std::string_view body, const QuerySettings& settings) {
  Request request;
  request.url = RequestUrl(insert_sql, settings, Buffering::kStream);
  request.body = body;
  request.headers = headers_->rows;
  TRACEDB_ASSIGN_OR_RETURN(Reply reply, Perform(request));
  if (reply.http_status != 200) return ErrorFromReply(reply);
  return Status::OK();
}

Status HttpClient::Ping() {
  Request request;
  request.method = Request::Method::kGet;
  request.url = url_ + "/ping";
  request.headers = headers_->ping;
  TRACEDB_ASSIGN_OR_RETURN(Reply reply, Perform(request));
  if (reply.http_status != 200) return ErrorFromReply(reply);
  if (reply.body != "Ok.\n") {
    return Status::IoError("clickhouse " + url_ + ": /ping answered '" + Truncate(Trim(reply.body)) +
                           "', not 'Ok.' (is this a ClickHouse HTTP port?)");
  }
  return Status::OK();
}

ClientStats HttpClient::stats() const {
  ClientStats s;
  s.requests = requests_.load(std::memory_order_relaxed);
  s.connections_opened = connections_opened_.load(std::memory_order_relaxed);
  s.transport_errors = transport_errors_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace tracedb::clickhouse
