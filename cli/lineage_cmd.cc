// `tracedb lineage MESSAGE_ID`: the events that carried one message across
// actors (query/lineage.h), from a local store or a running server (--server).

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/http_client.h"
#include "query/lineage.h"
#include "server/server.h"

namespace tracedb::cli {
namespace {

struct LineageFlags {
  std::string message_id;
  std::string server;
};

int Print(const std::string& out) {
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

int Remote(const LineageFlags& l) {
  std::string url = l.server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/v1/lineage?message_id=" + UrlEncode(l.message_id);
  HttpRequestOptions options;
  options.headers = AuthHeaders();
  auto r = HttpGet(url, options);
  if (!r.ok()) {
    fmt::print(stderr, "tracedb lineage: {}\n", r.status().message());
    return 1;
  }
  if (r->status != 200) {
    fmt::print(stderr, "tracedb lineage: server answered {}: {}\n", r->status, r->body);
    return r->status == 400 ? 2 : 1;
  }
  return Print(r->body);
}

int Local(const ConfigFlags& flags, const LineageFlags& l) {
  auto loader = flags.Resolve();
  if (!loader.ok()) {
    fmt::print(stderr, "tracedb lineage: {}\n", loader.status().message());
    return 2;
  }
  auto engine = server::OpenEngine(loader->config());
  if (!engine.ok()) {
    fmt::print(stderr,
               "tracedb lineage: {}\n(if a server is running on this data directory, use --server "
               "http://HOST:PORT)\n",
               engine.status().message());
    return 1;
  }
  auto json = query::LineageJson(engine->get(), l.message_id, {});
  if (!json.ok()) {
    fmt::print(stderr, "tracedb lineage: {}\n", json.status().message());
    return 1;
  }
  return Print(*json);
}

Registrar kLineage({"lineage",
                    "Print the events that carried one message (custom_attributes.message_id) across actors, "
                    "with per-hop latency",
                    36, [](CLI::App* sub) -> RunFn {
                      auto flags = std::make_shared<ConfigFlags>(sub, /*with_listen=*/false);
                      auto l = std::make_shared<LineageFlags>();
                      sub->add_option("message_id", l->message_id, "The message id")->required();
                      sub->add_option("--server", l->server,
                                      "Ask a running server at this URL (http://HOST:PORT) instead of opening a "
                                      "store; sends $TRACEDB_API_KEY as a bearer token when set");
                      return [flags, l] { return l->server.empty() ? Local(*flags, *l) : Remote(*l); };
                    }});

}  // namespace
}  // namespace tracedb::cli
