// `tracedb tail`: live events of a running server, one line per event,
// through a Reflow Subscribe (the server pushes EventNotification for every
// recorded event that matches the filters). Stops cleanly on Ctrl-C.
//
//   tracedb tail [--server URL] [--flow F]... [--actor A]... [--type T]...
//                [--status S]... [--json] [--color auto|always|never]
//
// Line: time (UTC) · trace id (first 8 hex) · event type · actor[:port]
// [→ to_actor:to_port] [message type] [error], coloured by outcome: red
// ActorFailed or an event with an error, green ActorCompleted, cyan
// ActorCreated/ActorStarted, yellow data movement (DataFlow, Message*).
// --json prints each EventNotification as the server sent it.
// A lost connection is retried every second.

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

#include "cli/command.h"
#include "client/cpp/include/tracedb/client.h"
#include "ingest/reflow/reflow_json.h"
#include "schema/uuid.h"

namespace tracedb::cli {
namespace {

namespace tc = tracedb::client;
namespace reflow = ingest::reflow;

std::atomic<bool> g_interrupted{false};
extern "C" void OnInterrupt(int) { g_interrupted.store(true); }

struct TailFlags {
  std::string server = "ws://127.0.0.1:8080";
  std::vector<std::string> flows, actors, types, statuses;
  bool json = false;
  std::string color = "auto";
};

// http://H:P, ws://H:P or H:P -> ws://H:P/
std::string WsUrl(std::string s) {
  if (s.starts_with("http://")) s = "ws://" + s.substr(7);
  if (!s.starts_with("ws://") && s.find("://") == std::string::npos) s = "ws://" + s;
  return s;
}

bool ParseStatus(const std::string& s, tc::ExecutionStatus* out) {
  using C = tc::ExecutionStatus::Code;
  const std::pair<const char*, C> names[] = {{"Pending", C::kPending},
                                             {"Running", C::kRunning},
                                             {"Completed", C::kCompleted},
                                             {"Cancelled", C::kCancelled}};
  for (const auto& [name, code] : names) {
    if (s == name) {
      *out = {code, {}};
      return true;
    }
  }
  if (s.starts_with("Failed:")) {  // Reflow's status_filter matches Failed{error} exactly
    *out = tc::ExecutionStatus::Failed(s.substr(7));
    return true;
  }
  return false;
}

std::string FormatLine(const reflow::EventNotification& n, bool color) {
  const schema::Event& e = n.event;
  auto type = static_cast<tc::EventType>(e.type);
  const char* c = "";
  bool has_error = e.reflow && e.reflow->error.has_value();
  if (type == tc::EventType::kActorFailed || has_error) {
    c = "\033[31m";
  } else if (type == tc::EventType::kActorCompleted) {
    c = "\033[32m";
  } else if (type == tc::EventType::kActorCreated || type == tc::EventType::kActorStarted) {
    c = "\033[36m";
  } else if (type == tc::EventType::kDataFlow || type == tc::EventType::kMessageSent ||
             type == tc::EventType::kMessageReceived) {
    c = "\033[33m";
  }
  time_t secs = static_cast<time_t>(e.timestamp_ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::string line = fmt::format("{:02}:{:02}:{:02}.{:03}  {}  {:<16} {}", tm.tm_hour, tm.tm_min, tm.tm_sec,
                                 (e.timestamp_ns / 1000000) % 1000, schema::FormatUuid(n.trace_id).substr(0, 8),
                                 tc::EventTypeName(type), e.actor);
  if (e.reflow && e.reflow->port) line += ":" + *e.reflow->port;
  if (type == tc::EventType::kDataFlow) line += fmt::format(" -> {}:{}", e.to_actor, e.to_port);
  if (e.reflow && e.reflow->message) {
    line += fmt::format("  [{} {}B]", e.reflow->message->message_type, e.reflow->message->size_bytes);
  }
  if (has_error) line += "  error: " + *e.reflow->error;
  if (color && *c != '\0') line = c + line + "\033[0m";
  return line;
}

int RunTail(const TailFlags& f) {
  tc::SubscriptionFilters filters;
  if (!f.flows.empty()) filters.flow_ids = f.flows;
  if (!f.actors.empty()) filters.actor_ids = f.actors;
  if (!f.types.empty()) {
    auto& v = filters.event_types.emplace();
    for (const auto& t : f.types) {
      tc::EventType type;
      if (!tc::ParseEventType(t, &type) || type == tc::EventType::kDataFlow) {
        fmt::print(stderr, "tracedb tail: --type {}: expected ActorCreated, ActorStarted, ActorCompleted, "
                           "ActorFailed, MessageSent, MessageReceived, StateChanged, PortConnected, "
                           "PortDisconnected or NetworkEvent\n", t);
        return 2;
      }
      v.push_back(type);
    }
  }
  if (!f.statuses.empty()) {
    auto& v = filters.status_filter.emplace();
    for (const auto& s : f.statuses) {
      tc::ExecutionStatus st;
      if (!ParseStatus(s, &st)) {
        fmt::print(stderr, "tracedb tail: --status {}: expected Pending, Running, Completed, Cancelled or "
                           "Failed:<error text>\n", s);
        return 2;
      }
      v.push_back(st);
    }
  }
  bool color = f.color == "always" || (f.color == "auto" && isatty(STDOUT_FILENO) == 1);
  std::string url = WsUrl(f.server);
  std::string subscribe = tc::SubscribeJson(filters);

  struct sigaction sa{};
  sa.sa_handler = OnInterrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  bool reported = false;
  while (!g_interrupted.load()) {
    tc::Status error;
    const char* key = std::getenv("TRACEDB_API_KEY");
    auto conn = tc::Connection::Open(url, std::chrono::seconds(5), &error, /*compress=*/false, key ? key : "");
    std::string reply;
    if (conn) error = conn->Request(subscribe, &reply, std::chrono::seconds(5));
    if (!error.ok() || reply != R"({"EventRecorded":{"success":true,"error":null}})") {
      if (!reported) {
        fmt::print(stderr, "tracedb tail: {}: {} (retrying every second)\n", url,
                   error.ok() ? "subscription refused: " + reply : error.message());
        reported = true;
      }
      for (int i = 0; i < 10 && !g_interrupted.load(); ++i) usleep(100000);
      continue;
    }
    if (reported) fmt::print(stderr, "tracedb tail: connected to {}\n", url);
    reported = false;
    std::string msg;
    while (!g_interrupted.load()) {
      if (!conn->Receive(&msg, std::chrono::milliseconds(200), &error)) {
        if (error.ok()) continue;  // timeout: look at the Ctrl-C flag
        fmt::print(stderr, "tracedb tail: {} (reconnecting)\n", error.message());
        break;
      }
      if (f.json) {
        std::fwrite(msg.data(), 1, msg.size(), stdout);
        std::fputc('\n', stdout);
      } else {
        auto parsed = reflow::ParseTracingResponse(msg);
        if (!parsed.ok()) continue;
        if (const auto* n = std::get_if<reflow::EventNotification>(&*parsed)) {
          std::string line = FormatLine(*n, color);
          std::fwrite(line.data(), 1, line.size(), stdout);
          std::fputc('\n', stdout);
        }
      }
      std::fflush(stdout);
    }
  }
  return 0;
}

Registrar kTail({"tail", "Show live events of a running server (Reflow Subscribe)", 45, [](CLI::App* sub) -> RunFn {
                   auto f = std::make_shared<TailFlags>();
                   sub->add_option("--server", f->server,
                                   "Server URL: ws://HOST:PORT, http://HOST:PORT or HOST:PORT; sends "
                                   "$TRACEDB_API_KEY as a bearer token when set")
                       ->capture_default_str();
                   sub->add_option("--flow", f->flows, "Only events of traces of this flow (repeatable)");
                   sub->add_option("--actor", f->actors, "Only events of this actor (repeatable)");
                   sub->add_option("--type", f->types, "Only events of this type, e.g. ActorFailed (repeatable)");
                   sub->add_option("--status", f->statuses,
                                   "Only events of traces with this status: Pending, Running, Completed, "
                                   "Cancelled, Failed:<error> (repeatable)");
                   sub->add_flag("--json", f->json, "Print each EventNotification as JSON, one per line");
                   sub->add_option("--color", f->color, "Colour lines by outcome: auto (a terminal), always, never")
                       ->check(CLI::IsMember({"auto", "always", "never"}))
                       ->capture_default_str();
                   return [f] { return RunTail(*f); };
                 }});

}  // namespace
}  // namespace tracedb::cli
