// The caller's cost of recording an event with the C++ client
// (client/cpp): Client::Record() timed call by call while the client's I/O
// thread sends to a real in-process tracedb server (memory backend) on
// 127.0.0.1. Reports the mean (Google Benchmark's time) and the per-call
// p50 / p99 / max as counters (ns). Events: 5 short strings and a
// custom_attributes object, as the examples record them.

#include <algorithm>
#include <chrono>
#include <vector>

#include <benchmark/benchmark.h>

#include "client/cpp/include/tracedb/client.h"
#include "server/server.h"

namespace {

namespace tc = tracedb::client;

struct LocalServer {
  std::unique_ptr<tracedb::engine::Engine> engine;
  std::unique_ptr<tracedb::server::Server> server;
  bool Start() {
    tracedb::server::Config c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.backend = "memory";
    auto e = tracedb::server::OpenEngine(c);
    if (!e.ok()) return false;
    engine = std::move(e).value();
    auto s = tracedb::server::Server::Start(c, engine.get());
    if (!s.ok()) return false;
    server = std::move(s).value();
    return true;
  }
};

void BM_Client_Record(benchmark::State& state) {
  LocalServer local;
  if (!local.Start()) {
    state.SkipWithError("server did not start");
    return;
  }
  tc::Options o;
  o.url = "ws://127.0.0.1:" + std::to_string(local.server->port());
  o.max_buffered = 1 << 20;  // the measured loop never waits for room
  auto client = tc::Client::Create(o);
  tc::TraceId trace = client->StartTrace("bench");
  std::vector<uint32_t> ns;
  ns.reserve(1 << 21);
  uint64_t i = 0;
  for (auto _ : state) {
    tc::Event e;
    e.type = tc::EventType::kActorCompleted;
    e.actor_id = "worker-7";
    e.port = "out";
    e.custom_attributes_json = R"({"item":42})";
    auto t0 = std::chrono::steady_clock::now();
    client->Record(trace, std::move(e));
    auto t1 = std::chrono::steady_clock::now();
    if (ns.size() < ns.capacity()) ns.push_back(static_cast<uint32_t>((t1 - t0).count()));
    ++i;
  }
  if (!client->Flush(std::chrono::seconds(120))) state.SkipWithError("not every event was acknowledged");
  std::sort(ns.begin(), ns.end());
  if (!ns.empty()) {
    state.counters["p50_ns"] = ns[ns.size() / 2];
    state.counters["p99_ns"] = ns[ns.size() * 99 / 100];
    state.counters["max_ns"] = ns.back();
  }
  state.SetItemsProcessed(static_cast<int64_t>(i));
  client->Shutdown(std::chrono::seconds(10));
}
BENCHMARK(BM_Client_Record)->Iterations(200000)->Unit(benchmark::kNanosecond)->UseRealTime();

}  // namespace
