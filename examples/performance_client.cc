// performance_client: records N events (a new trace every 1,000 events)
// over C client connections, waits until every one is acknowledged,
// retrying across server restarts, and prints one JSON line:
//   {"sent":N,"acked":N,"retried":R,"dropped":D,"events_per_s":X,"ack_p50_ms":..,"ack_p99_ms":..}
// Exit status 0 only if every event was acknowledged.
//
//   performance_client --url ws://HOST:PORT --events N [--connections C]
//                      [--spool DIR] [--flow F] [--timeout SECONDS]

#include <cstdlib>
#include <algorithm>
#include <cstdio>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <tracedb/client.h>

#include "examples/example_env.h"

namespace tc = tracedb::client;

int main(int argc, char** argv) {
  CLI::App app{"Records N events into tracedb and reports throughput and ack latency"};
  std::string url = "ws://127.0.0.1:8080", spool, flow = "performance-test";
  uint64_t events = 100000;
  int connections = 1;
  double timeout_s = 300;
  app.add_option("--url", url, "Server WebSocket URL");
  app.add_option("--events", events, "Events to record")->check(CLI::PositiveNumber);
  app.add_option("--connections", connections, "Client connections (one recording thread each)")
      ->check(CLI::Range(1, 256));
  app.add_option("--spool", spool, "Spool directory (one subdirectory per connection)");
  app.add_option("--flow", flow, "flow_id of the traces");
  app.add_option("--timeout", timeout_s, "Give up waiting for acks after this many seconds");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::unique_ptr<tc::Client>> clients;
  for (int c = 0; c < connections; ++c) {
    tc::Options o = examples::RecorderOptions(url);
    o.overflow = tc::OverflowPolicy::kBlock;  // every event must arrive
    o.backoff_max = std::chrono::milliseconds(1000);
    if (!spool.empty()) o.spool_dir = spool + "/conn-" + std::to_string(c);
    tc::Status error;
    auto client = tc::Client::Create(o, &error);
    if (client == nullptr) {
      std::fprintf(stderr, "performance_client: %s\n", error.message().c_str());
      return 2;
    }
    clients.push_back(std::move(client));
  }

  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<uint64_t> traces(connections, 0);
  for (int c = 0; c < connections; ++c) {
    uint64_t first = events * c / connections, last = events * (c + 1) / connections;
    threads.emplace_back([&, c, first, last] {
      tc::Client& client = *clients[c];
      tc::TraceId trace;
      for (uint64_t i = first; i < last; ++i) {
        if (i == first || i % 1000 == 0) {
          if (i != first) client.EndTrace(trace, tc::ExecutionStatus::Completed());
          trace = client.StartTrace(flow);
          ++traces[c];
        }
        tc::Event e;
        e.type = i % 3 == 0 ? tc::EventType::kMessageSent : tc::EventType::kActorCompleted;
        e.actor_id = "worker-" + std::to_string(i % 16);
        e.port = "out";
        e.metrics.execution_time_ns = 1000 + i % 1000;
        client.Record(trace, std::move(e));
      }
      client.EndTrace(trace, tc::ExecutionStatus::Completed());
    });
  }
  for (auto& t : threads) t.join();

  auto deadline = start + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  bool all = true;
  for (auto& client : clients) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    all = client->Flush(std::max(left, std::chrono::milliseconds(0))) && all;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  uint64_t acked = 0, retried = 0, dropped = 0, rejected = 0, control = 0;
  std::vector<uint32_t> lat;
  for (int c = 0; c < connections; ++c) {
    tc::Counters k = clients[c]->counters();
    acked += k.acked;
    retried += k.retried;
    dropped += k.dropped;
    rejected += k.rejected;
    control += 2 * traces[c];
    auto l = clients[c]->AckLatenciesUs();
    lat.insert(lat.end(), l.begin(), l.end());
    all = all && k.buffered == 0;
  }
  for (auto& client : clients) client->Shutdown(std::chrono::seconds(5));
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0 : lat[static_cast<size_t>(p * static_cast<double>(lat.size() - 1))] / 1000.0;
  };
  // Counters count requests; StartTrace and EndTrace are not events. A
  // spool left by an earlier run adds its requests to acked.
  uint64_t acked_events = acked > control ? acked - control : 0;
  all = all && dropped == 0 && rejected == 0 && acked_events >= events;
  std::printf(
      "{\"sent\":%llu,\"acked\":%llu,\"retried\":%llu,\"dropped\":%llu,\"events_per_s\":%.0f,"
      "\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f}\n",
      static_cast<unsigned long long>(events), static_cast<unsigned long long>(std::min(acked_events, events)),
      static_cast<unsigned long long>(retried), static_cast<unsigned long long>(dropped),
      static_cast<double>(events) / secs, pct(0.5), pct(0.99));
  return all ? 0 : 1;
}
