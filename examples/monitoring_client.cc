// monitoring_client: subscribes with filters and prints live events, one
// EventNotification JSON per line; or queries recent traces (--query); or
// prints the server's counters (--metrics: "Ping" then "GetMetrics").
//
//   monitoring_client --url ws://HOST:PORT [--flow-ids a,b] [--actor-ids a,b]
//                     [--event-types ActorStarted,...] [--count N] [--duration S]
//   monitoring_client --url ... --query [--limit N]
//   monitoring_client --url ... --metrics

#include <cstdio>

#include <CLI/CLI.hpp>
#include <tracedb/client.h>

#include "examples/example_env.h"

namespace tc = tracedb::client;

int main(int argc, char** argv) {
  CLI::App app{"Live tracedb events through a Reflow subscription"};
  std::string url = "ws://127.0.0.1:8080";
  std::vector<std::string> flows, actors, types;
  uint64_t count = 0, limit = 10;
  double duration = 0;
  bool query = false, metrics = false;
  app.add_option("--url", url, "Server WebSocket URL");
  app.add_option("--flow-ids", flows, "Only events of these flows")->delimiter(',');
  app.add_option("--actor-ids", actors, "Only events of these actors")->delimiter(',');
  app.add_option("--event-types", types, "Only these event types (ActorStarted, ...)")->delimiter(',');
  app.add_option("--count", count, "Exit after this many events (0: run until killed or --duration)");
  app.add_option("--duration", duration, "Exit after this many seconds (0: no limit)");
  app.add_flag("--query", query, "Query recent traces (QueryTraces) instead of subscribing");
  app.add_option("--limit", limit, "Traces for --query");
  app.add_flag("--metrics", metrics, "Print the server's counters (GetMetrics)");
  CLI11_PARSE(app, argc, argv);

  tc::Status error;
  auto conn = examples::OpenQueries(url, &error);
  if (!conn) {
    std::fprintf(stderr, "monitoring_client: %s\n", error.message().c_str());
    return 2;
  }
  std::string reply;
  if (metrics) {
    for (const char* req : {"\"Ping\"", "\"GetMetrics\""}) {
      error = conn->Request(req, &reply, std::chrono::seconds(5));
      if (!error.ok()) break;
      std::printf("%s\n", reply.c_str());
    }
  } else if (query) {
    tc::TraceQuery q;
    if (!flows.empty()) q.flow_id = flows[0];
    if (!actors.empty()) q.actor_filter = actors[0];
    q.limit = limit;
    error = conn->Request(tc::QueryTracesJson(q), &reply, std::chrono::seconds(10));
    if (error.ok()) std::printf("%s\n", reply.c_str());
  } else {
    tc::SubscriptionFilters f;
    if (!flows.empty()) f.flow_ids = flows;
    if (!actors.empty()) f.actor_ids = actors;
    if (!types.empty()) {
      auto& v = f.event_types.emplace();
      for (const auto& t : types) {
        tc::EventType type;
        if (!tc::ParseEventType(t, &type) || type == tc::EventType::kDataFlow) {
          std::fprintf(stderr, "monitoring_client: --event-types: unknown or unselectable type %s\n", t.c_str());
          return 2;
        }
        v.push_back(type);
      }
    }
    error = conn->Request(tc::SubscribeJson(f), &reply, std::chrono::seconds(5));
    if (error.ok()) {
      std::fprintf(stderr, "subscribed: %s\n", reply.c_str());
      std::fflush(stderr);
      auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(duration * 1000));
      uint64_t seen = 0;
      while ((count == 0 || seen < count) && (duration == 0 || std::chrono::steady_clock::now() < end)) {
        if (!conn->Receive(&reply, std::chrono::milliseconds(200), &error)) {
          if (!error.ok()) break;
          continue;
        }
        std::printf("%s\n", reply.c_str());
        std::fflush(stdout);
        ++seen;
      }
    }
  }
  if (!error.ok()) {
    std::fprintf(stderr, "monitoring_client: %s\n", error.message().c_str());
    return 1;
  }
  return 0;
}
