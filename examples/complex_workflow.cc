// complex_workflow: a four-stage pipeline (ingest -> parse -> enrich ->
// store) processing N items, traced as one Reflow trace. Every hand-over
// is a DataFlow between ports (ingest:out -> parse:in, ...). The enrich
// stage fails on some items (ActorFailed with the error); a failed item is
// retried up to --retries times (each attempt carries "attempt" in
// custom_attributes); an item that still fails goes to the dead-letter
// actor. The trace ends Completed, or Failed when any item was lost.
//
//   complex_workflow --url ws://HOST:PORT [--items N] [--fail-every K] [--retries R]

#include <cstdio>

#include <CLI/CLI.hpp>
#include <tracedb/client.h>

#include "examples/example_env.h"

namespace tc = tracedb::client;

namespace {

tc::Event Make(tc::EventType type, const std::string& actor, const std::string& port, const tc::Uuid& root,
               const std::optional<tc::Uuid>& parent) {
  tc::Event e;
  e.event_id = tc::Uuid::Random();
  e.type = type;
  e.actor_id = actor;
  if (!port.empty()) e.port = port;
  e.root_cause_event_id = root;
  e.parent_event_id = parent;
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A multi-stage pipeline with data flows, failures and retries, traced into tracedb"};
  std::string url = "ws://127.0.0.1:8080";
  int items = 20, fail_every = 5, retries = 2;
  app.add_option("--url", url, "Server WebSocket URL");
  app.add_option("--items", items, "Items through the pipeline")->check(CLI::PositiveNumber);
  app.add_option("--fail-every", fail_every, "The enrich stage fails on every K-th item (0: never)");
  app.add_option("--retries", retries, "Retries of a failed stage; an item failing more often is dead-lettered");
  CLI11_PARSE(app, argc, argv);

  tc::Options options = examples::RecorderOptions(url);
  tc::Status error;
  auto client = tc::Client::Create(options, &error);
  if (!client) {
    std::fprintf(stderr, "complex_workflow: %s\n", error.message().c_str());
    return 2;
  }
  const std::vector<std::string> stages = {"ingest", "parse", "enrich", "store"};
  tc::TraceId trace = client->StartTrace("complex-workflow", 2, 1, 0);
  for (const auto& s : stages) client->Record(trace, Make(tc::EventType::kActorCreated, s, "", {}, {}));
  client->Record(trace, Make(tc::EventType::kActorCreated, "dead-letter", "", {}, {}));

  int stored = 0, dead = 0, failures = 0, retried = 0;
  for (int item = 0; item < items; ++item) {
    tc::Uuid root = tc::Uuid::Random();
    std::optional<tc::Uuid> parent;
    bool lost = false;
    for (size_t s = 0; s < stages.size() && !lost; ++s) {
      // Failures: enrich fails on every fail_every-th item; the first retry
      // succeeds on even items, odd ones exhaust their retries.
      int attempts_needed = 1;
      if (stages[s] == "enrich" && fail_every > 0 && item % fail_every == fail_every - 1) {
        attempts_needed = item % 2 == 0 ? 2 : retries + 2;
      }
      bool ok = false;
      for (int attempt = 1; attempt <= retries + 1 && !ok; ++attempt) {
        tc::Event start = Make(tc::EventType::kActorStarted, stages[s], "in", root, parent);
        start.custom_attributes_json = "{\"item\":" + std::to_string(item) + ",\"attempt\":" + std::to_string(attempt) + "}";
        parent = start.event_id;
        client->Record(trace, start);
        if (attempt < attempts_needed) {
          tc::Event fail = Make(tc::EventType::kActorFailed, stages[s], "", root, parent);
          fail.error = "enrichment service timed out (item " + std::to_string(item) + ")";
          fail.custom_attributes_json = start.custom_attributes_json;
          client->Record(trace, fail);
          ++failures;
          if (attempt <= retries) ++retried;
          continue;
        }
        ok = true;
        tc::Event done = Make(tc::EventType::kActorCompleted, stages[s], "", root, parent);
        done.metrics.execution_time_ns = 1000000 + 250000 * s;
        done.custom_attributes_json = start.custom_attributes_json;
        client->Record(trace, done);
      }
      if (!ok) {
        tc::Event flow = Make(tc::EventType::kDataFlow, stages[s], "error", root, parent);
        flow.to_actor = "dead-letter";
        flow.to_port = "in";
        flow.message = tc::MessageInfo{"Item", 128, ""};
        client->Record(trace, flow);
        ++dead;
        lost = true;
        break;
      }
      if (s + 1 < stages.size()) {
        tc::Event flow = Make(tc::EventType::kDataFlow, stages[s], "out", root, parent);
        flow.to_actor = stages[s + 1];
        flow.to_port = "in";
        flow.message = tc::MessageInfo{"Item", 128 + 64 * s, ""};
        parent = flow.event_id;
        client->Record(trace, flow);
      }
    }
    if (!lost) ++stored;
  }
  client->EndTrace(trace, dead > 0 ? tc::ExecutionStatus::Failed(std::to_string(dead) + " items dead-lettered")
                                   : tc::ExecutionStatus::Completed());
  bool acked = client->Shutdown(std::chrono::seconds(30));
  tc::Counters c = client->counters();
  std::printf(
      "{\"trace_id\":\"%s\",\"items\":%d,\"stored\":%d,\"dead_lettered\":%d,\"failures\":%d,\"retries\":%d,"
      "\"requests_acked\":%llu,\"all_acked\":%s}\n",
      trace.ToString().c_str(), items, stored, dead, failures, retried, static_cast<unsigned long long>(c.acked),
      acked ? "true" : "false");
  return acked ? 0 : 1;
}
