#include "server/http_support.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

namespace tracedb::server {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Compares without an early exit on the first differing byte.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

}  // namespace

Result<AccessControl> AccessControl::Create(const Config& config) {
  AccessControl ac;
  ac.keys_ = config.api_keys;
  ac.admin_keys_ = config.admin_keys;
  ac.keys_.insert(ac.keys_.end(), config.admin_keys.begin(), config.admin_keys.end());
  ac.metrics_requires_key_ = config.metrics_requires_key;
  for (const auto& o : config.allowed_origins) ac.origins_.push_back(Lower(o));
  if (!config.api_keys_file.empty()) {
    std::ifstream in(config.api_keys_file);
    if (!in) {
      return Status::InvalidArgument(
          fmt::format("auth.api_keys_file: cannot read '{}'", config.api_keys_file));
    }
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      std::string_view key = Trim(line);
      if (key.empty() || key.front() == '#') continue;
      for (char c : key) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
          return Status::InvalidArgument(fmt::format(
              "auth.api_keys_file '{}', line {}: an API key must not contain blanks", config.api_keys_file, line_no));
        }
      }
      ac.keys_.emplace_back(key);
    }
  }
  return ac;
}

bool AccessControl::IsValidKey(std::string_view key) const {
  if (key.empty()) return false;
  bool ok = false;
  for (const auto& k : keys_) ok = ConstantTimeEquals(k, key) || ok;  // no early exit
  return ok;
}

bool AccessControl::CheckAuthorization(std::string_view header) const {
  header = Trim(header);
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() || Lower(header.substr(0, kScheme.size())) != kScheme) return false;
  return IsValidKey(Trim(header.substr(kScheme.size())));
}

bool AccessControl::CheckAdminAuthorization(std::string_view header) const {
  header = Trim(header);
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() || Lower(header.substr(0, kScheme.size())) != kScheme) return false;
  std::string_view key = Trim(header.substr(kScheme.size()));
  if (key.empty()) return false;
  bool ok = false;
  for (const auto& k : admin_keys_) ok = ConstantTimeEquals(k, key) || ok;  // no early exit
  return ok;
}

std::string AccessControl::FindBearerSubprotocol(std::string_view header, bool* found) const {
  if (found != nullptr) *found = false;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    constexpr std::string_view kPrefix = "bearer.";
    if (item.size() > kPrefix.size() && Lower(item.substr(0, kPrefix.size())) == kPrefix) {
      if (found != nullptr) *found = true;
      if (!keys_required() || IsValidKey(item.substr(kPrefix.size()))) return std::string(item);
    }
  }
  return {};
}

bool AccessControl::OriginAllowed(std::string_view origin) const {
  if (origins_.empty()) return true;
  origin = Trim(origin);
  if (origin.empty()) return true;
  std::string o = Lower(origin);
  for (const auto& allowed : origins_) {
    if (allowed == "*" || allowed == o) return true;
  }
  return false;
}

RateLimiter::RateLimiter(double rate, double burst) : rate_(rate), burst_(std::max(burst, 1.0)) {}

uint32_t RateLimiter::Acquire(std::string_view client, std::chrono::steady_clock::time_point now) {
  if (rate_ <= 0) return 0;
  std::lock_guard lock(mu_);
  if (buckets_.size() > 10000) {
    // Forget clients whose bucket has refilled: they are back to the start.
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      double idle = std::chrono::duration<double>(now - it->second.last).count();
      if (it->second.tokens + idle * rate_ >= burst_) {
        it = buckets_.erase(it);
      } else {
        ++it;
      }
    }
  }
  auto [it, fresh] = buckets_.try_emplace(std::string(client), Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + std::max(elapsed, 0.0) * rate_);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  double wait = (1.0 - b.tokens) / rate_;
  return static_cast<uint32_t>(std::max(1.0, std::ceil(wait)));
}

WorkerPool::WorkerPool(size_t threads, size_t queue_capacity) : limit_(threads + queue_capacity) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() { Shutdown(); }

bool WorkerPool::TryAdd(std::function<void()> task, std::function<void()> then) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || pending_ >= limit_) return false;
    ++pending_;
    tasks_.push_back(Task{std::move(task), std::move(then)});
  }
  cv_.notify_one();
  return true;
}

size_t WorkerPool::pending() const {
  std::lock_guard lock(mu_);
  return pending_;
}

void WorkerPool::Shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void WorkerPool::Run() {
  while (true) {
    Task task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task.run();
    {
      std::lock_guard lock(mu_);
      --pending_;
    }
    if (task.then) task.then();
  }
}

const char* RefusalName(Refusal reason) {
  switch (reason) {
    case Refusal::kUnauthorized: return "unauthorized";
    case Refusal::kForbiddenOrigin: return "forbidden_origin";
    case Refusal::kBodyTooLarge: return "body_too_large";
    case Refusal::kRateLimited: return "rate_limited";
    case Refusal::kConnectionLimit: return "connection_limit";
    case Refusal::kIngestOverload: return "ingest_overload";
    case Refusal::kReadOverload: return "read_overload";
    case Refusal::kShuttingDown: return "shutting_down";
    case Refusal::kBackendUnavailable: return "backend_unavailable";
    case Refusal::kCount: break;
  }
  return "unknown";
}

RefusalReply RefusalReplyFor(Refusal reason) {
  switch (reason) {
    case Refusal::kUnauthorized: return {401, "Unauthorized", false, false};
    case Refusal::kForbiddenOrigin: return {403, "Forbidden", false, false};
    case Refusal::kBodyTooLarge: return {413, "PayloadTooLarge", false, true};
    case Refusal::kRateLimited: return {429, "TooManyRequests", true, false};
    case Refusal::kConnectionLimit: return {503, "Unavailable", true, true};
    case Refusal::kIngestOverload: return {503, "Unavailable", true, false};
    case Refusal::kReadOverload: return {503, "Unavailable", true, false};
    case Refusal::kShuttingDown: return {503, "Unavailable", true, true};
    // The connection stays usable: the next request may find the shard back.
    case Refusal::kBackendUnavailable: return {503, "BackendUnavailable", true, false};
    case Refusal::kCount: break;
  }
  return {500, "Internal", false, true};
}

std::optional<Refusal> RefusalForStorageError(const Status& status) {
  if (status.code() == StatusCode::kUnavailable) return Refusal::kBackendUnavailable;
  return std::nullopt;
}

const char* RouteName(Route route) {
  switch (route) {
    case Route::kHealth: return "health";
    case Route::kMetrics: return "metrics";
    case Route::kIngest: return "ingest";
    case Route::kApi: return "api";
    case Route::kOther: return "other";
    case Route::kOtlp: return "otlp";
    case Route::kCount: break;
  }
  return "other";
}

void HttpMetrics::Responded(Route route, int status, std::chrono::steady_clock::time_point start) {
  size_t cls = static_cast<size_t>(status / 100);
  if (cls >= 1 && cls < responses.size()) responses[cls].fetch_add(1, std::memory_order_relaxed);
  latency[static_cast<size_t>(route)].Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

void HttpMetrics::Render(std::string* out) const {
  auto family = [out](const char* name, const char* type, const char* help) {
    *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto one = [&](const char* name, const char* type, const char* help, auto value) {
    family(name, type, help);
    *out += fmt::format("{} {}\n", name, value);
  };
  auto v = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  one("tracedb_http_connections_open", "gauge", "Open TCP connections (HTTP and WebSocket).", v(connections_open));
  one("tracedb_ingest_requests_total", "counter", "Bulk ingest requests answered (/v1/ingest/*).",
      v(ingest_requests));
  one("tracedb_ingest_requests_active", "gauge", "Bulk ingest requests in progress.", v(ingest_active));
  one("tracedb_ingest_accepted_total", "counter", "Bulk ingest events newly stored.",
      v(ingest_accepted));
  one("tracedb_ingest_duplicates_total", "counter", "Bulk ingest events that were already stored.",
      v(ingest_duplicates));
  one("tracedb_ingest_rejected_lines_total", "counter", "Bulk ingest lines rejected as malformed.",
      v(ingest_rejected));
  one("tracedb_ingest_received_bytes_total", "counter", "Bulk ingest body bytes received (as sent).",
      v(ingest_bytes));
  one("tracedb_ingest_decompressed_bytes_total", "counter", "Bulk ingest body bytes after decompression.",
      v(ingest_decoded_bytes));
  one("tracedb_otlp_requests_total", "counter", "OTLP export requests answered (POST /v1/traces).",
      v(otlp_requests));
  one("tracedb_otlp_spans_accepted_total", "counter", "OTLP spans newly stored.", v(otlp_spans_accepted));
  one("tracedb_otlp_spans_duplicates_total", "counter", "OTLP spans that were already stored (retried exports).",
      v(otlp_spans_duplicates));
  one("tracedb_otlp_spans_rejected_total", "counter", "OTLP spans refused through partial_success.",
      v(otlp_spans_rejected));
  family("tracedb_http_refusals_total", "counter", "Requests or connections refused, by reason.");
  for (size_t i = 0; i < refusals.size(); ++i) {
    *out += fmt::format("tracedb_http_refusals_total{{reason=\"{}\"}} {}\n", RefusalName(static_cast<Refusal>(i)),
                        v(refusals[i]));
  }
  family("tracedb_http_responses_total", "counter", "HTTP responses by status class.");
  for (size_t i = 1; i < responses.size(); ++i) {
    *out += fmt::format("tracedb_http_responses_total{{code=\"{}xx\"}} {}\n", i, v(responses[i]));
  }
  family("tracedb_http_request_duration_seconds", "histogram",
         "Time from an HTTP request's header to its response, by route.");
  for (size_t i = 0; i < latency.size(); ++i) {
    latency[i].Render("tracedb_http_request_duration_seconds",
                      fmt::format("route=\"{}\"", RouteName(static_cast<Route>(i))), out);
  }
}

}  // namespace tracedb::server
