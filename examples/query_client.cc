// query_client: reads traces back two ways.
//   - Reflow TraceQuery over the WebSocket (QueryTraces; GetTrace with --trace):
//       query_client --url ws://HOST:PORT [--flow F] [--status S] [--actor A] [--limit N] [--offset N]
//       query_client --url ws://HOST:PORT --trace TRACE_ID
//   - tracedb's filter language over HTTP (GET /v1/query?q=..., docs/query-language.md):
//       query_client --url ws://HOST:PORT --filter 'flow = "checkout" and status = "Failed"'
// Prints the reply JSON on one line; exits 1 on an error reply.

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include <CLI/CLI.hpp>
#include <tracedb/client.h>

#include "examples/example_env.h"

namespace tc = tracedb::client;

namespace {

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// A minimal HTTP/1.1 GET (Connection: close); returns the status and body.
bool HttpGet(const std::string& host, const std::string& port, const std::string& target, int* status,
             std::string* body, std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    *error = gai_strerror(rc);
    return false;
  }
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  bool ok = fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0;
  freeaddrinfo(res);
  if (!ok) {
    *error = std::string("connect: ") + std::strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nConnection: close\r\n\r\n";
  if (send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) {
    *error = "send failed";
    close(fd);
    return false;
  }
  std::string resp;
  char buf[65536];
  for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t head_end = resp.find("\r\n\r\n");
  if (head_end == std::string::npos || resp.size() < 12) {
    *error = "malformed HTTP response";
    return false;
  }
  *status = std::atoi(resp.c_str() + 9);
  std::string head = resp.substr(0, head_end);
  *body = resp.substr(head_end + 4);
  if (head.find("chunked") != std::string::npos) {  // de-chunk
    std::string out;
    size_t pos = 0;
    while (pos < body->size()) {
      size_t eol = body->find("\r\n", pos);
      if (eol == std::string::npos) break;
      size_t len = std::strtoul(body->c_str() + pos, nullptr, 16);
      if (len == 0) break;
      out += body->substr(eol + 2, len);
      pos = eol + 2 + len + 2;
    }
    *body = out;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Query tracedb: Reflow TraceQuery / GetTrace, or the filter language"};
  std::string url = "ws://127.0.0.1:8080", flow, status, actor, trace, filter;
  uint64_t limit = 20, offset = 0;
  app.add_option("--url", url, "Server WebSocket URL (the HTTP API is on the same port)");
  app.add_option("--flow", flow, "TraceQuery flow_id");
  app.add_option("--status", status, "TraceQuery status: Pending, Running, Completed, Failed, Cancelled");
  app.add_option("--actor", actor, "TraceQuery actor_filter (substring of an actor id)");
  app.add_option("--limit", limit, "Traces at most");
  app.add_option("--offset", offset, "Traces skipped");
  app.add_option("--trace", trace, "GetTrace this trace id");
  app.add_option("--filter", filter, "A filter-language query (GET /v1/query)");
  CLI11_PARSE(app, argc, argv);

  if (!filter.empty()) {
    std::string rest = url.substr(url.find("://") + 3);
    std::string authority = rest.substr(0, rest.find('/'));
    size_t colon = authority.rfind(':');
    std::string host = authority.substr(0, colon), port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
    int code = 0;
    std::string body, err;
    std::string target = "/v1/query?q=" + UrlEncode(filter) + "&limit=" + std::to_string(limit);
    if (!HttpGet(host, port, target, &code, &body, &err)) {
      std::fprintf(stderr, "query_client: %s\n", err.c_str());
      return 2;
    }
    while (!body.empty() && body.back() == '\n') body.pop_back();
    std::printf("%s\n", body.c_str());
    return code == 200 ? 0 : 1;
  }

  tc::Status error;
  auto conn = examples::OpenQueries(url, &error);
  if (!conn) {
    std::fprintf(stderr, "query_client: %s\n", error.message().c_str());
    return 2;
  }
  std::string request;
  if (!trace.empty()) {
    tc::TraceId id;
    if (!tc::Uuid::Parse(trace, &id)) {
      std::fprintf(stderr, "query_client: --trace: not a UUID: %s\n", trace.c_str());
      return 2;
    }
    request = tc::GetTraceJson(id);
  } else {
    tc::TraceQuery q;
    if (!flow.empty()) q.flow_id = flow;
    if (!actor.empty()) q.actor_filter = actor;
    if (!status.empty()) {
      using C = tc::ExecutionStatus::Code;
      const std::pair<const char*, C> names[] = {{"Pending", C::kPending},     {"Running", C::kRunning},
                                                 {"Completed", C::kCompleted}, {"Failed", C::kFailed},
                                                 {"Cancelled", C::kCancelled}};
      bool found = false;
      for (const auto& [name, code] : names) {
        if (status == name) {
          q.status = tc::ExecutionStatus{code, {}};
          found = true;
        }
      }
      if (!found || status == "Failed") {
        // Reflow matches Failed{error} exactly, error text included: use --filter for "any failure".
        std::fprintf(stderr, "query_client: --status %s: use Pending, Running, Completed or Cancelled "
                             "(Failed matches its exact error text; use --filter 'status = \"Failed\"')\n",
                     status.c_str());
        return 2;
      }
    }
    q.limit = limit;
    q.offset = offset;
    request = tc::QueryTracesJson(q);
  }
  std::string reply;
  error = conn->Request(request, &reply, std::chrono::seconds(30));
  if (!error.ok()) {
    std::fprintf(stderr, "query_client: %s\n", error.message().c_str());
    return 2;
  }
  std::printf("%s\n", reply.c_str());
  return reply.starts_with("{\"Error\"") ? 1 : 0;
}
