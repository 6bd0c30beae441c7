// simple_client: a generator and a processor (two threads) exchanging N
// messages through a queue, traced as one Reflow trace: per message the
// generator's MessageSent and DataFlow(generator:out -> processor:in), the
// processor's MessageReceived and ActorCompleted. Then reads the trace back
// (GetTrace) and checks every event is there.
//
//   simple_client --url ws://HOST:PORT [--messages N] [--interval-ms MS]

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <tracedb/client.h>

#include "examples/example_env.h"

namespace tc = tracedb::client;

int main(int argc, char** argv) {
  CLI::App app{"Generator and processor exchanging messages, traced into tracedb"};
  std::string url = "ws://127.0.0.1:8080";
  int messages = 10, interval_ms = 0;
  app.add_option("--url", url, "Server WebSocket URL");
  app.add_option("--messages", messages, "Messages to exchange")->check(CLI::PositiveNumber);
  app.add_option("--interval-ms", interval_ms, "Pause between messages");
  CLI11_PARSE(app, argc, argv);

  tc::Options options = examples::RecorderOptions(url);
  tc::Status error;
  auto client = tc::Client::Create(options, &error);
  if (!client) {
    std::fprintf(stderr, "simple_client: %s\n", error.message().c_str());
    return 2;
  }
  tc::TraceId trace = client->StartTrace("simple-example");
  for (const char* actor : {"generator", "processor"}) {
    tc::Event e;
    e.type = tc::EventType::kActorCreated;
    e.actor_id = actor;
    client->Record(trace, std::move(e));
  }

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> queue;
  bool done = false;
  std::thread processor([&] {
    for (int received = 0; received < messages; ++received) {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return !queue.empty(); });
      std::string msg = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      tc::Event in;
      in.type = tc::EventType::kMessageReceived;
      in.actor_id = "processor";
      in.port = "in";
      in.message = tc::MessageInfo{"String", msg.size(), ""};
      client->Record(trace, std::move(in));
      tc::Event ok;
      ok.type = tc::EventType::kActorCompleted;
      ok.actor_id = "processor";
      client->Record(trace, std::move(ok));
    }
    std::lock_guard lock(mu);
    done = true;
  });
  for (int i = 0; i < messages; ++i) {
    std::string msg = "message " + std::to_string(i);
    tc::Event sent;
    sent.type = tc::EventType::kMessageSent;
    sent.actor_id = "generator";
    sent.port = "out";
    sent.message = tc::MessageInfo{"String", msg.size(), ""};
    client->Record(trace, std::move(sent));
    tc::Event flow;
    flow.type = tc::EventType::kDataFlow;
    flow.actor_id = "generator";
    flow.port = "out";
    flow.to_actor = "processor";
    flow.to_port = "in";
    flow.message = tc::MessageInfo{"String", msg.size(), ""};
    client->Record(trace, std::move(flow));
    {
      std::lock_guard lock(mu);
      queue.push_back(std::move(msg));
    }
    cv.notify_one();
    if (interval_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
  processor.join();
  client->EndTrace(trace, tc::ExecutionStatus::Completed());
  bool acked = client->Shutdown(std::chrono::seconds(30));
  tc::Counters c = client->counters();

  // Read it back.
  uint64_t expected_events = 2 + 4 * static_cast<uint64_t>(messages);
  auto conn = examples::OpenQueries(url, &error);
  std::string reply;
  if (conn) error = conn->Request(tc::GetTraceJson(trace), &reply, std::chrono::seconds(10));
  size_t stored = 0;
  for (size_t pos = 0; (pos = reply.find("\"event_id\":", pos)) != std::string::npos; ++pos) ++stored;
  bool completed = reply.find(R"("status":"Completed")") != std::string::npos;
  std::printf("{\"trace_id\":\"%s\",\"messages\":%d,\"acked\":%llu,\"stored_events\":%zu,\"completed\":%s}\n",
              trace.ToString().c_str(), messages, static_cast<unsigned long long>(c.acked), stored,
              completed ? "true" : "false");
  if (!error.ok()) std::fprintf(stderr, "simple_client: read back: %s\n", error.message().c_str());
  return acked && stored == expected_events && completed ? 0 : 1;
}
