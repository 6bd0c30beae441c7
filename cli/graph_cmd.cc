// `tracedb graph '<filter>'`: the data-flow graph (query/graph.h) of the
// traces a filter matches, from a local store (--data / --memory / --config)
// or a running server (--server URL), as JSON, Graphviz DOT or SVG.

#include <cstdio>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/http_client.h"
#include "query/graph.h"
#include "schema/rfc3339.h"
#include "server/server.h"

namespace tracedb::cli {
namespace {

struct GraphFlags {
  std::string filter;
  std::string server;
  std::string start;
  std::string end;
  std::string format = "json";
  std::string output;
};

Result<std::optional<schema::TimestampNs>> ParseTime(const std::string& text, const char* flag) {
  if (text.empty()) return std::optional<schema::TimestampNs>();
  schema::TimestampNs ns = 0;
  if (schema::ParseRfc3339(text, &ns)) return std::optional<schema::TimestampNs>(ns);
  try {
    size_t used = 0;
    ns = std::stoll(text, &used);
    if (used == text.size()) return std::optional<schema::TimestampNs>(ns);
  } catch (const std::exception&) {
  }
  return Status::InvalidArgument(fmt::format("{} must be RFC 3339 or nanoseconds since the epoch, got '{}'", flag, text));
}

int Write(const GraphFlags& g, const std::string& out) {
  if (g.output.empty()) {
    std::fwrite(out.data(), 1, out.size(), stdout);
    if (!out.empty() && out.back() != '\n') std::fputc('\n', stdout);
    return 0;
  }
  std::ofstream file(g.output, std::ios::binary);
  file << out;
  if (!file) {
    fmt::print(stderr, "tracedb graph: cannot write {}\n", g.output);
    return 1;
  }
  return 0;
}

int Remote(const GraphFlags& g) {
  std::string url = g.server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/v1/graph?q=" + UrlEncode(g.filter) + "&format=" + UrlEncode(g.format);
  if (!g.start.empty()) url += "&start=" + UrlEncode(g.start);
  if (!g.end.empty()) url += "&end=" + UrlEncode(g.end);
  HttpRequestOptions options;
  options.headers = AuthHeaders();
  auto r = HttpGet(url, options);
  if (!r.ok()) {
    fmt::print(stderr, "tracedb graph: {}\n", r.status().message());
    return 1;
  }
  if (r->status != 200) {
    fmt::print(stderr, "tracedb graph: server answered {}: {}\n", r->status, r->body);
    return r->status == 400 ? 2 : 1;
  }
  return Write(g, r->body);
}

int Local(const ConfigFlags& flags, const GraphFlags& g) {
  query::GraphOptions o;
  o.filter = g.filter;
  auto start = ParseTime(g.start, "--start");
  auto end = ParseTime(g.end, "--end");
  for (const auto* t : {&start, &end}) {
    if (!t->ok()) {
      fmt::print(stderr, "tracedb graph: {}\n", t->status().message());
      return 2;
    }
  }
  o.start_ns = *start;
  o.end_ns = *end;
  auto loader = flags.Resolve();
  if (!loader.ok()) {
    fmt::print(stderr, "tracedb graph: {}\n", loader.status().message());
    return 2;
  }
  auto engine = server::OpenEngine(loader->config());
  if (!engine.ok()) {
    fmt::print(stderr,
               "tracedb graph: {}\n(if a server is running on this data directory, use --server http://HOST:PORT)\n",
               engine.status().message());
    return 1;
  }
  auto graph = query::BuildGraph(engine->get(), o);
  if (!graph.ok()) {
    fmt::print(stderr, "{}\n", graph.status().message());
    return graph.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (g.format == "json") return Write(g, query::GraphJson(std::move(*graph)));
  std::string dot = query::GraphDot(std::move(*graph));
  if (g.format == "dot") return Write(g, dot);
  auto svg = query::GraphSvg(dot);
  if (!svg.ok()) {
    fmt::print(stderr, "tracedb graph: {}\n", svg.status().message());
    return 1;
  }
  return Write(g, *svg);
}

Registrar kGraph({"graph",
                  "Print the data-flow graph (actors or services, messages between them) of the traces a filter "
                  "matches",
                  35, [](CLI::App* sub) -> RunFn {
                    auto flags = std::make_shared<ConfigFlags>(sub, /*with_listen=*/false);
                    auto g = std::make_shared<GraphFlags>();
                    sub->add_option("filter", g->filter,
                                    "Filter expression (docs/query-language.md); empty: every trace")
                        ->required();
                    sub->add_option("--server", g->server,
                                    "Ask a running server at this URL (http://HOST:PORT) instead of opening a "
                                    "store; sends $TRACEDB_API_KEY as a bearer token when set");
                    sub->add_option("--start", g->start, "Traces starting at or after (RFC 3339 or ns)");
                    sub->add_option("--end", g->end, "Traces starting at or before (RFC 3339 or ns)");
                    sub->add_option("--format", g->format, "Output: json, dot or svg (svg runs Graphviz's dot)")
                        ->check(CLI::IsMember({"json", "dot", "svg"}))
                        ->capture_default_str();
                    sub->add_option("-o,--output", g->output, "Write to this file instead of stdout");
                    return [flags, g] { return g->server.empty() ? Local(*flags, *g) : Remote(*g); };
                  }});

}  // namespace
}  // namespace tracedb::cli
