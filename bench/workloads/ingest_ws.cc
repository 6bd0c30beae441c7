// ingest_ws: Reflow clients streaming over the WebSocket, pipelined.
//
// `tracedb serve --data DIR` runs as a child process on a free 127.0.0.1
// port. RunConfig::clients connections each send the requests of their
// share of the ingest data set's traces (trace i goes to connection
// i mod clients, all of its requests in stream order, as one Reflow client
// sends them): StartTrace, RecordEvent per event, EndTrace, one JSON text
// message each (the NDJSON lines of ingest_bulk, without the newline).
// Pipelined: a connection keeps up to kWindow requests outstanding and
// reads the replies, which arrive in request order (one per request).
// Client (bench/net.h WsPipeClient), one thread per connection, in rounds:
// every request that fits in the free window (up to kWindow) is framed as
// a masked Text frame into one buffer, written with one write(2) (more only
// when the kernel takes it in parts); then recv(2) of up to 256 KiB, again
// only until at least one reply is complete, and every complete reply
// buffered is checked; partial frames wait for the next round. The client's
// syscalls scale with rounds, not messages, as with a pipelining client
// that feeds a sink and then flushes it.
//
// Paced (RunConfig::ws_rate > 0, --ws-rate N): after the unlimited run, a
// second run with its own server and store sends N requests/s in total.
// Each connection has a steady schedule for its share S of N, in
// proportion to its requests (the traces' sizes make the connections' loads
// unequal; N / clients each would leave the busiest one sending alone at
// the end, below N in total): request k is due at t0 + k / S (t0: the
// connection is open), so every schedule ends at requests / N. Every
// request due, as far as the window allows, goes out in one write; then the
// connection waits for a reply or until the next request is due, whichever
// comes first (WsPipeClient::ReadSome with a timeout). Its row's
// throughput is the events/s achieved; the note gives the requests/s
// achieved and says when that is below 95 % of N (a figure, not a failure).
//
// Timed: first message to last reply. Latency: per RecordEvent, from the
// write of its batch (paced: from its scheduled send time, so a client
// that falls behind its schedule, for instance with a full window, shows
// the delay in its latency instead of omitting it) to the read that
// returned its EventRecorded reply (ack latency). Bytes per event: the
// store after the server stops, reopened and compacted. RSS: the server's
// peak.
// Verified: every RecordEvent acknowledged with success, the server exits 0
// on SIGTERM, then the store has every trace, and sampled traces read back
// equal what was sent. A server that cannot start is "unavailable", which
// the runner counts as a failure (bench/main.cc).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "bench/net.h"
#include "bench/runner.h"

namespace tracedb::bench {

namespace {

constexpr size_t kWindow = 256;

struct Message {
  std::string text;
  bool is_event = false;
};

// What one connection's thread leaves behind.
struct ConnResult {
  LatencyRecorder lat;
  uint64_t acked = 0;
  std::string error;  // "" when every reply checked out
};

// Sends `msgs` over one connection, window kWindow, and checks every reply.
// `per_second` > 0 paces the sends on a steady schedule (see the top of the
// file); 0 sends whatever fits in the window.
void RunConnection(int port, const std::vector<Message>& msgs, double per_second, ConnResult* r) {
  WsPipeClient ws;
  Status cs = ws.Connect("127.0.0.1", port);
  if (!cs.ok()) {
    r->error = cs.ToString();
    return;
  }
  const bool paced = per_second > 0;
  const double period_ns = paced ? 1e9 / per_second : 0;
  const auto t0 = Clock::now();
  auto due_at = [&](size_t k) {
    return t0 + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(k) * period_ns));
  };
  std::vector<Clock::time_point> sent(msgs.size());
  std::vector<std::string_view> batch;
  batch.reserve(kWindow);
  std::vector<std::string> replies;
  size_t next_send = 0, next_read = 0;
  while (next_read < msgs.size()) {
    batch.clear();
    const size_t first = next_send;
    const auto now = Clock::now();
    while (next_send < msgs.size() && next_send - next_read < kWindow && (!paced || due_at(next_send) <= now))
      batch.push_back(msgs[next_send++].text);
    if (!batch.empty()) {
      for (size_t k = first; k < next_send; ++k) sent[k] = paced ? due_at(k) : now;
      cs = ws.Send(batch);
      if (!cs.ok()) {
        r->error = cs.ToString();
        return;
      }
    }
    // Paced with room in the window: wake for a reply or the next due send.
    const bool wait_for_due = paced && next_send < msgs.size() && next_send - next_read < kWindow;
    cs = wait_for_due ? ws.ReadSome(&replies, due_at(next_send) - Clock::now()) : ws.ReadSome(&replies);
    if (!cs.ok()) {
      r->error = cs.ToString();
      return;
    }
    const auto read_at = Clock::now();
    if (replies.size() > next_send - next_read) {
      r->error = fmt::format("{} replies with {} requests outstanding", replies.size(), next_send - next_read);
      return;
    }
    for (const std::string& reply : replies) {
      if (msgs[next_read].is_event) {
        r->lat.Add(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(read_at - sent[next_read]).count()));
        if (reply.find("\"EventRecorded\"") == std::string::npos || reply.find("\"success\":true") == std::string::npos) {
          r->error = "unexpected reply to RecordEvent: " + reply.substr(0, 300);
          return;
        }
        ++r->acked;
      } else if (reply.find("\"Error\"") != std::string::npos) {
        r->error = "error reply: " + reply.substr(0, 300);
        return;
      }
      ++next_read;
    }
  }
  ws.Close().IgnoreError();
}

// The row's note: the run's shape and, paced, the requests/s requested and
// (once measured, `achieved` >= 0) achieved.
std::string RunNote(uint32_t clients, uint64_t rate, double achieved) {
  const std::string shape =
      fmt::format("{} connections, window {} requests; latency = ack of RecordEvent", clients, kWindow);
  if (rate == 0) return shape;
  std::string paced = fmt::format("paced at {} requests/s", rate);
  if (achieved >= 0) paced += fmt::format(", achieved {:.0f}", achieved);
  if (achieved >= 0 && achieved < 0.95 * static_cast<double>(rate)) paced += " (below 95 % of the requested rate)";
  return paced + "; " + shape + " from its scheduled send";
}

// One run with its own server and store: `rate` requests/s in total
// (0: unlimited). Appends its figures row.
void RunOnce(Context& ctx, const std::vector<std::vector<Message>>& per_conn, uint64_t rate,
             std::vector<Figures>* out) {
  Figures f;
  f.workload = "ingest_ws";
  f.system = "tracedb";
  const auto clients = static_cast<uint32_t>(per_conn.size());
  if (rate > 0) f.note = RunNote(clients, rate, -1);  // says which run a failure is
  std::string dir = ctx.NewDir("ws");
  ServerProcess server;
  Status s = server.Start(ctx.config().tracedb_binary, {"--data", dir + "/data"});
  if (!s.ok()) {
    f.status = "unavailable: " + s.message();
    out->push_back(f);
    return;
  }
  {
    WsClient probe;
    s = probe.Connect("127.0.0.1", server.port());
    if (s.ok()) s = probe.SendText("\"Ping\"");
    auto r = s.ok() ? probe.Read() : Result<std::string>(s);
    if (!r.ok() || r->find("Pong") == std::string::npos) {
      f.status = "unavailable: no Reflow WebSocket endpoint (" + (r.ok() ? *r : r.status().ToString()) + ")";
      out->push_back(f);
      return;
    }
    probe.Close().IgnoreError();
  }
  uint64_t requests = 0;
  for (const auto& msgs : per_conn) requests += msgs.size();
  std::vector<ConnResult> results(clients);
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (uint32_t c = 0; c < clients; ++c) {
    // Shares in proportion to the requests, so that every connection's
    // schedule ends together and the total stays `rate` to the end.
    const double share = static_cast<double>(rate) * static_cast<double>(per_conn[c].size()) /
                         static_cast<double>(std::max<uint64_t>(requests, 1));
    threads.emplace_back([&, c, share] { RunConnection(server.port(), per_conn[c], share, &results[c]); });
  }
  for (auto& t : threads) t.join();
  f.seconds = SecondsSince(start);
  f.peak_rss_mb = server.PeakRssMb();
  for (const ConnResult& r : results) {
    if (!r.error.empty()) {
      f.status = "FAILED: " + r.error;
      out->push_back(f);
      return;
    }
  }
  LatencyRecorder merged;
  for (uint32_t c = 0; c < clients; ++c) {
    f.items += results[c].acked;
    merged.Merge(results[c].lat);
  }
  f.throughput = static_cast<double>(f.items) / f.seconds;
  f.p50_ms = merged.PercentileMs(0.5);
  f.p99_ms = merged.PercentileMs(0.99);
  int st = server.Stop();
  auto opened = engine::Engine::Open(BenchEngineOptions(ctx, dir + "/data"));
  if (!opened.ok()) {
    f.status = fmt::format("FAILED: reopen after server exit ({}): {}", st, opened.status().ToString());
    out->push_back(f);
    return;
  }
  auto eng = std::move(opened).value();
  Status cs = eng->CompactAll();
  f.bytes_per_event = static_cast<double>(eng->DiskUsageBytes()) / static_cast<double>(std::max<uint64_t>(f.items, 1));
  std::string problem = server.ExitProblem(st);
  if (problem.empty() && !cs.ok()) problem = cs.ToString();
  if (problem.empty() && f.items != ctx.ingest_event_count())
    problem = fmt::format("{} events acknowledged, {} sent", f.items, ctx.ingest_event_count());
  const uint64_t step = ctx.config().quick ? 1 : std::max<uint64_t>(1, ctx.traces().size() / 200);
  for (uint64_t i = 0; problem.empty() && i < ctx.traces().size(); i += step) {
    auto got = eng->GetTrace(ctx.traces()[i].trace_id);
    if (!got.ok()) problem = got.status().ToString();
    else if (!got->has_value()) problem = fmt::format("trace {} missing", i);
    else problem = DiffTrace(ctx.traces()[i], **got, HeaderCheck::kWireHeader);
  }
  f.verified = problem.empty();
  if (!f.verified) f.status = "FAILED: " + problem;
  const double achieved = static_cast<double>(requests) / f.seconds;
  f.note = RunNote(clients, rate, achieved);
  if (rate > 0) ctx.Log(fmt::format("  ingest_ws paced: {} requests/s requested, {:.0f} achieved", rate, achieved));
  out->push_back(f);
}

}  // namespace

void RunIngestWs(Context& ctx, std::vector<Figures>* out) {
  const uint32_t clients = std::max<uint32_t>(1, ctx.config().clients);
  std::vector<std::vector<Message>> per_conn(clients);
  for (const StreamOp& op : ctx.stream()) {
    Message m;
    AppendNdjsonLine(ctx.traces(), op, &m.text);
    m.text.pop_back();  // the newline
    m.is_event = op.kind == StreamOp::Kind::kEvent;
    per_conn[op.trace % clients].push_back(std::move(m));
  }
  RunOnce(ctx, per_conn, 0, out);
  if (ctx.config().ws_rate > 0) RunOnce(ctx, per_conn, ctx.config().ws_rate, out);
}

}  // namespace tracedb::bench
