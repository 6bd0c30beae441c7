// `tracedb query '<expr>'`: runs a filter or aggregation against a local
// store (--data / --memory / --config) or a running server (--server URL).

#include <chrono>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/http_client.h"
#include "query/query.h"
#include "server/server.h"

namespace tracedb::cli {
namespace {

struct QueryFlags {
  std::string text;
  std::string server;
  std::string format = "table";
  std::string cursor;
  size_t limit = 20;
  bool explain = false;
  bool count = false;
};

Result<query::OutputFormat> ParseFormat(const std::string& f) {
  if (f == "table") return query::OutputFormat::kTable;
  if (f == "json") return query::OutputFormat::kJson;
  if (f == "ndjson") return query::OutputFormat::kNdjson;
  return Status::InvalidArgument("--format must be table, json or ndjson");
}

int Remote(const QueryFlags& q) {
  std::string url = q.server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/v1/query?q=" + UrlEncode(q.text) + "&limit=" + std::to_string(q.limit) + "&format=" + UrlEncode(q.format);
  if (!q.cursor.empty()) url += "&cursor=" + UrlEncode(q.cursor);
  if (q.explain) url += "&explain=1";
  if (q.count) url += "&count=1";
  HttpRequestOptions options;
  options.headers = AuthHeaders();
  auto r = HttpGet(url, options);
  if (!r.ok()) {
    fmt::print(stderr, "tracedb query: {}\n", r.status().message());
    return 1;
  }
  if (r->status != 200) {
    fmt::print(stderr, "tracedb query: server answered {}: {}\n", r->status, r->body);
    return r->status == 400 ? 2 : 1;
  }
  std::fwrite(r->body.data(), 1, r->body.size(), stdout);
  if (!r->body.empty() && r->body.back() != '\n') std::fputc('\n', stdout);
  return 0;
}

int Local(const ConfigFlags& flags, const QueryFlags& q) {
  auto format = ParseFormat(q.format);
  if (!format.ok()) {
    fmt::print(stderr, "tracedb query: {}\n", format.status().message());
    return 2;
  }
  auto loader = flags.Resolve();
  if (!loader.ok()) {
    fmt::print(stderr, "tracedb query: {}\n", loader.status().message());
    return 2;
  }
  auto engine = server::OpenEngine(loader->config());
  if (!engine.ok()) {
    fmt::print(stderr,
               "tracedb query: {}\n(if a server is running on this data directory, query it with --server "
               "http://HOST:PORT)\n",
               engine.status().message());
    return 1;
  }
  query::QueryOptions options;
  options.limit = q.limit;
  options.cursor = q.cursor;
  options.explain = q.explain;
  options.count_total = q.count;
  auto result = query::RunQuery(engine->get(), q.text, options);
  if (!result.ok()) {
    fmt::print(stderr, "{}\n", result.status().message());
    return result.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::string out = query::RenderResult(*result, *format);
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (!out.empty() && out.back() != '\n') std::fputc('\n', stdout);
  return 0;
}

Registrar kQuery({"query",
                  "Run a filter query or aggregation (docs/query-language.md) against a store or a server", 30,
                  [](CLI::App* sub) -> RunFn {
                    auto flags = std::make_shared<ConfigFlags>(sub, /*with_listen=*/false);
                    auto q = std::make_shared<QueryFlags>();
                    sub->add_option("expr", q->text,
                                    "Filter expression, e.g. 'flow = \"checkout\" and status = failed', or an "
                                    "aggregation, e.g. '| p99(execution_time_ns) by (actor)'")
                        ->required();
                    sub->add_option("--server", q->server,
                                    "Query a running server at this URL (http://HOST:PORT) instead of opening a "
                                    "store; sends $TRACEDB_API_KEY as a bearer token when set");
                    sub->add_option("--format", q->format, "Output: table, json or ndjson")
                        ->check(CLI::IsMember({"table", "json", "ndjson"}))
                        ->capture_default_str();
                    sub->add_option("--limit", q->limit, "Traces per page (searches)")->capture_default_str();
                    sub->add_option("--cursor", q->cursor, "Continue after the page that returned this cursor");
                    sub->add_flag("--explain", q->explain, "Print the plan instead of running the query");
                    sub->add_flag("--count", q->count, "Also count every matching trace (total_count)");
                    return [flags, q] { return q->server.empty() ? Local(*flags, *q) : Remote(*q); };
                  }});

}  // namespace
}  // namespace tracedb::cli
