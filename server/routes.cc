#include "server/routes.h"

#include <algorithm>

namespace tracedb::server {

bool RouteSpec::Allows(std::string_view method) const {
  std::string_view list = methods;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view token = list.substr(0, comma);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    if (token == method) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

RouteTable RouteTable::For(const Config& config) {
  RouteTable t;
  auto row = [&](std::string methods, std::string path, bool prefix, Handler handler, KeyPolicy key, BodyPolicy body,
                 ErrorStyle errors, Route label) {
    t.rows_.push_back(RouteSpec{std::move(methods), std::move(path), prefix, handler, key, body, errors, label});
  };
  constexpr auto kGet = "GET, HEAD";
  // method   path   prefix   handler   key   body   errors   label
  row(kGet, "/healthz", false, Handler::kHealth, KeyPolicy::kNone, BodyPolicy::kSmall, ErrorStyle::kJson,
      Route::kHealth);
  row(kGet, "/readyz", false, Handler::kReady, KeyPolicy::kNone, BodyPolicy::kSmall, ErrorStyle::kJson,
      Route::kHealth);
  if (config.metrics_enabled) {
    row(kGet, config.metrics_endpoint, false, Handler::kMetrics, KeyPolicy::kMetrics, BodyPolicy::kSmall,
        ErrorStyle::kJson, Route::kMetrics);
  }
  row("POST", "/v1/ingest/reflow", false, Handler::kIngestReflow, KeyPolicy::kApiKey, BodyPolicy::kStreamed,
      ErrorStyle::kJson, Route::kIngest);
  row("POST", "/v1/ingest/operonx", false, Handler::kIngestOperonx, KeyPolicy::kApiKey, BodyPolicy::kStreamed,
      ErrorStyle::kJson, Route::kIngest);
  // GET /v1/traces is the search of the read API; POST is the OTLP export.
  row("POST", "/v1/traces", false, Handler::kOtlpTraces, KeyPolicy::kApiKey, BodyPolicy::kStreamed,
      ErrorStyle::kOtlp, Route::kOtlp);
  row(kGet, "/v1/traces", false, Handler::kReadApi, KeyPolicy::kApiKey, BodyPolicy::kSmall, ErrorStyle::kJson,
      Route::kApi);
  // Field and value completion for query boxes (query/fields.h): the fields
  // of the language, and a field's top values in a window.
  row(kGet, "/v1/fields", true, Handler::kReadApi, KeyPolicy::kApiKey, BodyPolicy::kSmall, ErrorStyle::kJson,
      Route::kApi);
  row("GET, HEAD, POST", "/v1/ingest/", true, Handler::kIngestUnknown, KeyPolicy::kApiKey, BodyPolicy::kSmall,
      ErrorStyle::kJson, Route::kIngest);
  row("POST", "/v1/admin/backup", false, Handler::kAdminBackup, KeyPolicy::kAdmin, BodyPolicy::kSmall,
      ErrorStyle::kJson, Route::kOther);
  // The web UI: the page shell and its bundle hold no data, so no key (the
  // page asks for one when /v1/ answers 401).
  for (const char* page : {"/", "/graph", "/live"}) {
    row(kGet, page, false, Handler::kWebUi, KeyPolicy::kNone, BodyPolicy::kSmall, ErrorStyle::kJson, Route::kOther);
  }
  row(kGet, "/traces/", true, Handler::kWebUi, KeyPolicy::kNone, BodyPolicy::kSmall, ErrorStyle::kJson,
      Route::kOther);
  row(kGet, "/ui/", true, Handler::kWebUi, KeyPolicy::kNone, BodyPolicy::kSmall, ErrorStyle::kJson, Route::kOther);
  row(kGet, "/v1/", true, Handler::kReadApi, KeyPolicy::kApiKey, BodyPolicy::kSmall, ErrorStyle::kJson,
      Route::kApi);
  row(kGet, "/api/", true, Handler::kJaegerApi, KeyPolicy::kApiKey, BodyPolicy::kSmall, ErrorStyle::kJson,
      Route::kApi);
  // Exact paths first, then prefixes longest first (stable: equal paths keep
  // their order).
  std::stable_sort(t.rows_.begin(), t.rows_.end(), [](const RouteSpec& a, const RouteSpec& b) {
    if (a.prefix != b.prefix) return !a.prefix;
    return a.prefix && a.path.size() > b.path.size();
  });
  return t;
}

RouteMatch RouteTable::Find(std::string_view method, std::string_view path) const {
  auto matches = [&](const RouteSpec& r) {
    return r.prefix ? path.substr(0, r.path.size()) == r.path : path == r.path;
  };
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (!matches(rows_[i])) continue;
    RouteMatch m;
    for (size_t j = i; j < rows_.size(); ++j) {
      const RouteSpec& r = rows_[j];
      if (r.path != rows_[i].path || r.prefix != rows_[i].prefix) continue;
      if (r.Allows(method)) return RouteMatch{&r, {}};
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += r.methods;
    }
    return m;
  }
  return {};
}

}  // namespace tracedb::server
