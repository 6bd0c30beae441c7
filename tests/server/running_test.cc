// A running server observed as its users observe it (issue 20, item 5): the
// background retention loop of a server on a real RocksDB directory removes
// what its configuration says and gives the disk back; size-based retention
// keeps the newest data under a limit of tens of MiB; /metrics counts known
// traffic exactly; a subscriber that stops reading loses notifications,
// counted, while ingest and the other subscribers go on. Real sockets on
// 127.0.0.1; every wait polls a real condition with a deadline.

#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/reflow/reflow_json.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"
#include "ingest/pipeline/decompress.h"
#include "server/metrics.h"
#include "tests/server/server_test_util.h"

namespace tracedb::server::testing {
namespace {

using ::testing::HasSubstr;
using ingest::DecompressFrame;
using ::testing::StartsWith;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1000 * kMs;
constexpr int64_t kHour = 3600 * kSec;
constexpr int64_t kDay = 24 * kHour;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr char kAck[] = R"({"EventRecorded":{"success":true,"error":null}})";

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Polls `done` every 20 ms until it holds (true) or `timeout` passed (false).
bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds timeout = std::chrono::seconds(90)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// `n` characters drawn at random from 64 (6 bits each: the stores' LZ4 and
// ZSTD cannot shrink them much, so bytes on disk follow the data).
std::string Pad(size_t n, uint64_t seed) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::mt19937_64 rng(seed);
  std::string s(n, ' ');
  for (auto& c : s) c = kAlphabet[rng() & 63];
  return s;
}

std::string Rfc3339(int64_t ns) {
  std::string s;
  schema::AppendRfc3339(ns, &s);
  return s;
}

// A RecordEvent (as sent on the WebSocket, or one NDJSON line) whose event
// carries `pad` random characters in its custom attributes.
std::string PaddedRecord(const std::string& trace, const std::string& event_id, const std::string& actor,
                         int64_t ts_ns, size_t pad, uint64_t seed) {
  std::string event = EventJson(event_id, actor, R"("ActorCreated")", Rfc3339(ts_ns));
  const std::string empty = R"("custom_attributes":{})";
  size_t at = event.find(empty);
  EXPECT_NE(at, std::string::npos);
  if (at != std::string::npos) {
    event.replace(at, empty.size(), fmt::format(R"("custom_attributes":{{"pad":"{}"}})", Pad(pad, seed)));
  }
  return RecordEventJson(trace, event);
}

std::string UrlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// The samples of a Prometheus text page: "name{labels}" -> value.
std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

class RunningTest : public ::testing::Test {
 protected:
  void TearDown() override { ts_.Stop(); }

  // An on-disk store in dir_ (the same store across restarts).
  Config DiskConfig() const {
    Config c = TestServer::DefaultConfig();
    c.backend = "rocksdb";
    c.data_dir = dir_.path.string();
    return c;
  }

  void Start(const Config& c) {
    ts_.Stop();
    Status s = ts_.Start(c);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  HttpResult Get(const std::string& target) {
    auto r = HttpGet(ts_.port(), target);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResult{};
  }

  HttpResult Post(const std::string& target, const std::string& body) {
    HttpRequestSpec spec;
    spec.method = "POST";
    spec.target = target;
    spec.body = body;
    auto r = HttpRequest(ts_.port(), spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResult{};
  }

  // The total_count of a search over HTTP (-1 when the reply has none).
  int64_t Count(const std::string& query) {
    HttpResult r = Get("/v1/traces?limit=1&count=1&q=" + UrlEncode(query));
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    const std::string key = R"("total_count":)";
    size_t at = r.body.find(key);
    if (at == std::string::npos) return -1;
    return std::stoll(r.body.substr(at + key.size()));
  }

  // Events of `trace` as GET /v1/traces/{id} returns them; -1 when 404.
  int64_t HttpEventCount(const std::string& trace) {
    HttpResult r = Get("/v1/traces/" + trace);
    if (r.status == 404) return -1;
    EXPECT_EQ(r.status, 200) << r.body;
    auto t = ingest::reflow::ParseTrace(r.body);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? static_cast<int64_t>(t->events.size()) : -2;
  }

  std::map<std::string, double> ScrapeMetrics() {
    HttpResult r = Get("/metrics");
    EXPECT_EQ(r.status, 200);
    return ParseMetrics(r.body);
  }

  // Sends `lines` over one WebSocket, pipelined, and expects an ack for each.
  void RecordOverWebSocket(const std::vector<std::string>& lines) {
    auto c = ts_.Connect();
    ASSERT_NE(c, nullptr);
    auto replies = c->Pipeline(lines, lines.size());
    ASSERT_TRUE(replies.ok()) << replies.status().ToString();
    for (const auto& m : *replies) ASSERT_EQ(m.data, kAck);
  }

  TempDir dir_;
  TestServer ts_;
};

// Traces older than storage.retention_max_age_seconds leave every read and
// index of a running server, their space is given back, and so is the space
// of expired events that arrive after the cutoff (a late exporter, a
// backfill): acknowledged, never visible, removed by the next pass.
TEST_F(RunningTest, RetentionLoopRemovesExpiredTracesAndGivesTheDiskBack) {
  constexpr int kOld = 24, kYoung = 8, kLate = 24, kEvents = 100;
  constexpr size_t kPad = 2000;
  const int64_t now = NowNs();
  auto old_id = [](int t) { return Uuid(static_cast<uint64_t>(t), 0xa); };
  auto young_id = [](int t) { return Uuid(static_cast<uint64_t>(t), 0xb); };
  auto late_id = [](int t) { return Uuid(static_cast<uint64_t>(t), 0xc); };
  auto records = [&](const std::function<std::string(int)>& id, int traces, const char* actor, int64_t start,
                     uint32_t tag) {
    std::vector<std::string> out;
    for (int t = 0; t < traces; ++t) {
      for (int i = 0; i < kEvents; ++i) {
        uint64_t n = static_cast<uint64_t>(t * kEvents + i);
        out.push_back(PaddedRecord(id(t), Uuid(n, tag), actor, start + t * kSec + i * kMs, kPad, tag * 1'000'000 + n));
      }
    }
    return out;
  };

  // A server without retention stores traces of three days ago (bulk HTTP)
  // and of an hour ago (WebSocket).
  Config plain = DiskConfig();
  Start(plain);
  std::string body;
  for (const auto& line : records(old_id, kOld, "old-actor", now - 3 * kDay, 0xea)) body += line + "\n";
  HttpResult r = Post("/v1/ingest/reflow", body);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.body, fmt::format(R"({{"accepted":{0},"duplicates":0,"lines":{0},"rejected":[]}})", kOld * kEvents));
  RecordOverWebSocket(records(young_id, kYoung, "young-actor", now - kHour, 0xeb));
  ASSERT_EQ(Count(R"(actor = "old-actor")"), kOld);
  ASSERT_EQ(Count(R"(actor = "young-actor")"), kYoung);
  ASSERT_TRUE(ts_.engine->CompactAll().ok());  // settle: everything stored is in SST files
  const uint64_t before = ts_.engine->DiskUsageBytes();
  ts_.Stop();

  // The same store under a one-day age limit, enforced every second.
  Config aged = plain;
  aged.retention_max_age_seconds = 24 * 3600;
  aged.retention_interval_seconds = 1;
  Start(aged);
  ASSERT_TRUE(WaitUntil([&] { return ts_.engine->counters().buckets_dropped.load() > 0; }))
      << "the retention loop dropped nothing";
  {
    // /metrics reports the loop's work (read the counter after the scrape:
    // a later pass may only add to it).
    int64_t scraped = MetricValue(ts_.port(), "tracedb_retention_buckets_dropped_total");
    EXPECT_GT(scraped, 0);
    EXPECT_LE(static_cast<uint64_t>(scraped), ts_.engine->counters().buckets_dropped.load());
    EXPECT_GE(MetricValue(ts_.port(), "tracedb_retention_runs_total"), 1);
  }
  uint64_t after = 0;
  EXPECT_TRUE(WaitUntil([&] {
    after = ts_.engine->DiskUsageBytes();
    return after < before * 2 / 5;  // the young traces are a quarter of the data
  })) << "disk before " << before << ", still " << after;
  fmt::print("retention: disk {} bytes before, {} after\n", before, after);

  for (int t = 0; t < kOld; ++t) EXPECT_EQ(HttpEventCount(old_id(t)), -1) << old_id(t);
  for (int t = 0; t < kYoung; ++t) EXPECT_EQ(HttpEventCount(young_id(t)), kEvents) << young_id(t);
  EXPECT_EQ(Count(R"(actor = "old-actor")"), 0);  // actor index
  EXPECT_EQ(Count(R"(actor = "young-actor")"), kYoung);
  EXPECT_EQ(Count(R"(flow = "unknown")"), kYoung);  // flow index
  EXPECT_EQ(Count("status = completed"), kYoung);   // status index (finalized when their connection closed)
  EXPECT_EQ(Count("start > now-30d"), kYoung);      // time index
  HttpResult agg = Get("/v1/aggregate?q=" + UrlEncode("| count() by (actor)"));  // column scans
  EXPECT_EQ(agg.status, 200);
  EXPECT_THAT(agg.body, HasSubstr("young-actor"));
  EXPECT_THAT(agg.body, ::testing::Not(HasSubstr("old-actor")));

  // Expired events arriving now: acknowledged, hidden at once, and their
  // bytes (in the WAL and memtables first) are gone after the next passes.
  const uint64_t settled = after;
  const uint64_t dropped_before = ts_.engine->counters().buckets_dropped.load();
  RecordOverWebSocket(records(late_id, kLate, "late-actor", now - 3 * kDay, 0xec));  // ~6 MB
  EXPECT_EQ(HttpEventCount(late_id(0)), -1);
  EXPECT_EQ(Count(R"(actor = "late-actor")"), 0);
  const uint64_t with_late = ts_.engine->DiskUsageBytes();
  uint64_t now_bytes = 0;
  EXPECT_TRUE(WaitUntil([&] {
    now_bytes = ts_.engine->DiskUsageBytes();
    return ts_.engine->counters().buckets_dropped.load() > dropped_before && now_bytes <= settled + kMiB;
  })) << "disk settled at " << settled << ", " << with_late << " with the late events, still " << now_bytes
      << "; buckets dropped " << ts_.engine->counters().buckets_dropped.load() - dropped_before;
  for (int t = 0; t < kYoung; ++t) EXPECT_EQ(HttpEventCount(young_id(t)), kEvents) << young_id(t);
}

// storage.retention_max_bytes of tens of MiB over a store of many hourly
// buckets: the running loop removes the oldest buckets, keeps the newest
// whole, stays under the limit, and does so again as newer data arrives.
TEST_F(RunningTest, SizeRetentionKeepsTheNewestDataUnderItsLimit) {
  constexpr int kFirst = 64, kMore = 12, kEvents = 250;
  constexpr size_t kPad = 4000;
  constexpr uint64_t kLimit = 20 * kMiB;
  const int64_t now = NowNs();
  // Trace t starts (kFirst + kMore - t) hours ago: one bucket each.
  auto id = [](int t) { return Uuid(static_cast<uint64_t>(t), 0x5); };
  auto ingest = [&](int t) {
    int64_t start = now - (kFirst + kMore - t) * kHour;
    std::string body;
    for (int i = 0; i < kEvents; ++i) {
      uint64_t n = static_cast<uint64_t>(t * kEvents + i);
      body += PaddedRecord(id(t), Uuid(n, 0xe5), "a", start + i * kMs, kPad, n) + "\n";
    }
    HttpResult r = Post("/v1/ingest/reflow", body);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.body, fmt::format(R"({{"accepted":{0},"duplicates":0,"lines":{0},"rejected":[]}})", kEvents));
  };
  // The traces still readable must be the newest ones, whole: returns the
  // first one kept.
  auto first_kept = [&](int traces) {
    int first = traces;
    for (int t = traces - 1; t >= 0 && ts_.EventCount(id(t)) == kEvents; --t) first = t;
    for (int t = 0; t < first; ++t) EXPECT_EQ(ts_.EventCount(id(t)), 0u) << "trace " << t << " of " << traces;
    EXPECT_EQ(Count("start > now-30d"), traces - first);
    return first;
  };
  // Waits for a pass that dropped buckets, then for two more whole passes
  // (the second began after the first ended, hence after this call began).
  auto wait_for_drop = [&](uint64_t dropped_before) {
    ASSERT_TRUE(WaitUntil([&] { return ts_.engine->counters().buckets_dropped.load() > dropped_before; }))
        << "the retention loop dropped nothing";
    uint64_t runs = ts_.engine->counters().retention_runs.load();
    ASSERT_TRUE(WaitUntil([&] { return ts_.engine->counters().retention_runs.load() > runs + 1; }));
  };

  Config plain = DiskConfig();
  Start(plain);
  for (int t = 0; t < kFirst; ++t) ingest(t);
  ASSERT_TRUE(ts_.engine->CompactAll().ok());
  const uint64_t live_before = ts_.engine->GetStats().live_sst_bytes;
  ASSERT_GT(live_before, 2 * kLimit);
  const double per_trace = static_cast<double>(live_before) / kFirst;
  ts_.Stop();

  Config limited = plain;
  limited.retention_max_bytes = kLimit;
  limited.retention_interval_seconds = 1;
  Start(limited);
  wait_for_drop(0);
  engine::Stats st = ts_.engine->GetStats();
  int first = first_kept(kFirst);
  int kept = kFirst - first;
  fmt::print("size retention: {} bytes in {} traces ({:.0f} each), {} kept, live {} bytes, disk {}, sst files {}\n",
             live_before, kFirst, per_trace, kept, st.live_sst_bytes, ts_.engine->DiskUsageBytes(),
             st.total_sst_files);
  EXPECT_GT(first, 0);
  EXPECT_LE(st.live_sst_bytes, kLimit);
  EXPECT_GE(kept, static_cast<int>(kLimit / per_trace) - 2) << "more was removed than the limit needs";
  EXPECT_LE(ts_.engine->DiskUsageBytes(), kLimit + 4 * kMiB);

  // Newer data keeps arriving: the loop makes room for it.
  uint64_t dropped = ts_.engine->counters().buckets_dropped.load();
  for (int t = kFirst; t < kFirst + kMore; ++t) ingest(t);
  ASSERT_TRUE(ts_.engine->CompactAll().ok());  // what was written is in SST files, where the limit counts
  wait_for_drop(dropped);
  st = ts_.engine->GetStats();
  int first_now = first_kept(kFirst + kMore);
  fmt::print("size retention: after {} more, {} kept, live {} bytes\n", kMore, kFirst + kMore - first_now,
             st.live_sst_bytes);
  EXPECT_GT(first_now, first);
  EXPECT_LE(st.live_sst_bytes, kLimit);
  // A pass that runs while fresh data sits in L0 (LZ4, ~40% larger than
  // the same data once compacted to ZSTD at the bottom level) removes
  // accordingly more; it never removes what the limit does not need.
  EXPECT_GE((kFirst + kMore - first_now) * per_trace, kLimit / 2.0);
}

// Known traffic over a WebSocket and over HTTP, then /metrics: every counter
// that the traffic determines has exactly its value.
TEST_F(RunningTest, MetricsCountKnownTrafficExactly) {
  Start(TestServer::DefaultConfig());
  constexpr int kWsEvents = 25, kHttpEvents = 40;
  const Metrics& live = ts_.server->service().metrics();
  auto c = ts_.Connect();
  ASSERT_NE(c, nullptr);
  uint64_t messages = 0, bytes_out = 0, bytes_in = 0;
  // One request, one reply; returns the reply as JSON text.
  auto call = [&](const std::string& text) -> std::string {
    EXPECT_TRUE(c->SendText(text).ok());
    ++messages;
    bytes_out += text.size();
    auto m = c->Receive();
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return "";
    bytes_in += m->data.size();
    if (!m->binary) return m->data;
    auto json = DecompressFrame(m->data, 64 * kMiB);
    EXPECT_TRUE(json.ok()) << json.status().ToString();
    return json.ok() ? *json : "";
  };
  const std::string trace = Uuid(1, 0x3e);
  EXPECT_THAT(call(StartTraceJson("metered", trace)), StartsWith(R"({"TraceStarted":)"));
  for (int i = 0; i < kWsEvents; ++i) {
    EXPECT_EQ(call(RecordEventJson(trace, EventJson(Uuid(static_cast<uint64_t>(i), 0x3f), "m", R"("ActorCreated")"))),
              kAck);
  }
  EXPECT_EQ(call(RecordEventJson(trace, EventJson(Uuid(0, 0x3f), "m", R"("ActorCreated")"))), kAck);  // duplicate
  EXPECT_EQ(call(fmt::format(R"({{"EndTrace":{{"trace_id":"{}","status":"Completed"}}}})", trace)), kAck);
  EXPECT_THAT(call(fmt::format(R"({{"GetTrace":{{"trace_id":"{}"}}}})", trace)), HasSubstr(Uuid(24, 0x3f)));
  EXPECT_THAT(call(R"({"QueryTraces":{"query":{"flow_id":"metered"}}})"), HasSubstr(R"("total_count":1)"));
  EXPECT_THAT(call(R"({"GetFlowVersions":{"flow_id":"metered"}})"), StartsWith(R"({"FlowVersions":)"));
  EXPECT_EQ(call(R"("Ping")"), R"("Pong")");
  EXPECT_THAT(call("this is not json"), StartsWith(R"({"Error":{"message":"Invalid message format: )"));

  // Reflow's GetMetrics (its own message counted in; every earlier reply sent).
  ASSERT_TRUE(WaitUntil([&] { return live.messages_sent.load() == messages; }));
  const std::string reflow_counters =
      fmt::format(R"({{"Metrics":{{"data":{{"connections_active":1,"connections_total":1,"messages_received":{},)"
                  R"("messages_sent":{},"errors_total":1,"traces_stored":1,"traces_queried":2}}}}}})",
                  messages + 1, messages);
  EXPECT_EQ(call(R"("GetMetrics")"), reflow_counters);

  std::string body = StartTraceJson("bulk-metered", Uuid(2, 0x3e)) + "\n";
  for (int i = 0; i < kHttpEvents; ++i) {
    body += RecordEventJson(Uuid(2, 0x3e), EventJson(Uuid(static_cast<uint64_t>(i), 0x40), "b", R"("ActorCreated")")) +
            "\n";
  }
  body += "not a request\n";
  HttpResult r = Post("/v1/ingest/reflow", body);
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, StartsWith(fmt::format(R"({{"accepted":{},"duplicates":0,"lines":{},"rejected":[{{"line":{},)",
                                             kHttpEvents, kHttpEvents + 1, kHttpEvents + 2)));
  EXPECT_EQ(Count(R"(flow = "bulk-metered")"), 1);  // 200, route api
  EXPECT_EQ(Get("/v1/traces?q=flow%20%3D").status, 400);
  EXPECT_EQ(Get("/healthz").status, 200);

  // The last reply's write completes after the client has read it.
  ASSERT_TRUE(WaitUntil([&] { return live.messages_sent.load() == messages; }));
  auto m = ScrapeMetrics();
  auto expect = [&](const std::string& sample, double value) {
    auto it = m.find(sample);
    ASSERT_NE(it, m.end()) << sample << " missing";
    EXPECT_EQ(it->second, value) << sample;
  };
  expect("tracedb_events_ingested_total", kWsEvents + kHttpEvents);
  expect("tracedb_events_duplicate_total", 1);
  expect("tracedb_ws_messages_received_total", static_cast<double>(messages));
  expect("tracedb_ws_replies_sent_total", static_cast<double>(messages));
  expect("tracedb_ws_received_bytes_total", static_cast<double>(bytes_out));
  expect("tracedb_ws_sent_bytes_total", static_cast<double>(bytes_in));
  expect("tracedb_error_replies_total", 1);
  expect("tracedb_invalid_messages_total", 1);
  expect("tracedb_traces_stored_total", 1);
  expect("tracedb_traces_finalized_total", 0);
  expect("tracedb_traces_queried_total", 2);
  expect("tracedb_connections_total", 1);
  expect("tracedb_connections_open", 1);
  expect("tracedb_write_batch_requests_total", 1 + kWsEvents + 1 + 1);
  expect("tracedb_write_errors_total", 0);
  expect("tracedb_notifications_sent_total", 0);
  expect("tracedb_notifications_dropped_total", 0);
  expect("tracedb_retention_buckets_dropped_total", 0);  // no retention configured
  const std::map<std::string, int> by_type = {
      {"StartTrace", 1}, {"RecordEvent", kWsEvents + 1}, {"EndTrace", 1}, {"GetTrace", 1},  {"QueryTraces", 1},
      {"GetFlowVersions", 1}, {"Ping", 1}, {"Subscribe", 0}, {"Invalid", 1}, {"GetMetrics", 1}};
  for (const auto& [type, n] : by_type) {
    expect(fmt::format("tracedb_requests_total{{type=\"{}\"}}", type), n);
    expect(fmt::format("tracedb_request_duration_seconds_count{{type=\"{}\"}}", type), n);
  }
  // HTTP: the upgrade, the ingest, two searches, /healthz and this /metrics.
  expect("tracedb_http_requests_total", 6);
  expect("tracedb_ingest_requests_total", 1);
  expect("tracedb_ingest_accepted_total", kHttpEvents);  // events, not lines
  expect("tracedb_ingest_duplicates_total", 0);
  expect("tracedb_ingest_rejected_lines_total", 1);
  expect("tracedb_ingest_received_bytes_total", static_cast<double>(body.size()));
  expect("tracedb_ingest_decompressed_bytes_total", static_cast<double>(body.size()));
  expect("tracedb_ingest_requests_active", 0);
  // Responses are counted when sent: this /metrics reply is not yet.
  expect("tracedb_http_responses_total{code=\"2xx\"}", 3);
  expect("tracedb_http_responses_total{code=\"4xx\"}", 1);
  expect("tracedb_http_responses_total{code=\"5xx\"}", 0);
  expect("tracedb_http_request_duration_seconds_count{route=\"ingest\"}", 1);
  expect("tracedb_http_request_duration_seconds_count{route=\"api\"}", 2);
  expect("tracedb_http_request_duration_seconds_count{route=\"health\"}", 1);
  expect("tracedb_http_request_duration_seconds_count{route=\"metrics\"}", 0);
  for (const char* reason : {"unauthorized", "forbidden_origin", "body_too_large", "rate_limited", "connection_limit",
                             "ingest_overload", "read_overload", "shutting_down", "backend_unavailable"}) {
    expect(fmt::format("tracedb_http_refusals_total{{reason=\"{}\"}}", reason), 0);
  }

  // Closing the connection is counted too.
  ASSERT_TRUE(c->Close().ok());
  ASSERT_TRUE(WaitUntil([&] { return live.connections_open.load() == 0; }));
  m = ScrapeMetrics();
  expect("tracedb_connections_open", 0);
  expect("tracedb_connections_total", 1);
  expect("tracedb_http_requests_total", 7);
  expect("tracedb_http_responses_total{code=\"2xx\"}", 4);
}

// A subscriber that stops reading: once its bounded queue (and the socket
// buffers) are full its notifications are dropped and counted, while ingest
// and a subscriber that reads go on at full speed and lose nothing; the slow
// one stays subscribed and gets exactly what was not dropped, in order.
TEST_F(RunningTest, SlowSubscriberLosesCountedNotificationsAndBlocksNobody) {
  Config cfg = TestServer::DefaultConfig();
  cfg.subscriber_queue_capacity = 8;
  Start(cfg);
  // 3000 notifications of ~3.7 KB (11 MB) overflow the slow socket's
  // kernel buffers (a few MB on Linux) and its queue. (Requests stay under
  // the test client's 4 KB write buffer: larger ones leave in pieces that
  // Nagle's algorithm holds for a delayed ACK, 40 ms each.)
  constexpr int kEvents = 3000;
  constexpr size_t kPad = 3000;
  const Metrics& live = ts_.server->service().metrics();
  const std::string all =
      R"({"Subscribe":{"filters":{"flow_ids":null,"actor_ids":null,"event_types":null,"status_filter":null}}})";
  auto slow = ts_.Connect();
  auto fast = ts_.Connect();
  auto producer = ts_.Connect();
  ASSERT_TRUE(slow && fast && producer);
  for (WsClient* s : {slow.get(), fast.get()}) {
    ASSERT_TRUE(s->SendText(all).ok());
    auto ack = s->ReceiveJson();
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    ASSERT_EQ(*ack, kAck);
  }
  const std::string trace = Uuid(1, 0x51);
  const std::string id_prefix = R"("event_id":"0000005e-0000-4000-8000-)";
  // The index of the event a notification carries (-1 when none).
  auto event_index = [&](const std::string& push) -> int64_t {
    size_t at = push.find(id_prefix);
    if (at == std::string::npos) return -1;
    return std::stoll(push.substr(at + id_prefix.size(), 12), nullptr, 16);
  };
  const int64_t t0 = NowNs();
  auto record = [&](int i) {
    return PaddedRecord(trace, Uuid(static_cast<uint64_t>(i), 0x5e), "a", t0 + i * kMs, kPad, static_cast<uint64_t>(i));
  };
  // The producer waits for each ack and the fast subscriber for each
  // notification: neither may be held up by the slow subscriber.
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(producer->SendText(record(i)).ok());
    auto ack = producer->ReceiveJson();
    ASSERT_TRUE(ack.ok()) << "event " << i << ": " << ack.status().ToString();
    ASSERT_EQ(*ack, kAck) << "event " << i;
    auto push = fast->ReceiveJson();
    ASSERT_TRUE(push.ok()) << "event " << i << ": " << push.status().ToString();
    ASSERT_THAT(*push, StartsWith(R"({"EventNotification":{"trace_id":")" + trace));
    ASSERT_EQ(event_index(*push), i);
  }
  const uint64_t dropped = live.notifications_dropped.load();
  const uint64_t queued = live.notifications_sent.load();
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(queued + dropped, 2u * kEvents);
  EXPECT_EQ(ts_.EventCount(trace), static_cast<size_t>(kEvents));  // ingest lost nothing

  // The slow subscriber was not cut off: reading now, it gets every
  // notification that was queued, in order, before the reply to its Ping.
  ASSERT_TRUE(slow->SendText(R"("Ping")").ok());
  uint64_t got = 0;
  int64_t last = -1;
  while (true) {
    auto msg = slow->ReceiveJson();
    ASSERT_TRUE(msg.ok()) << "after " << got << " notifications: " << msg.status().ToString();
    if (*msg == R"("Pong")") break;
    int64_t index = event_index(*msg);
    ASSERT_GT(index, last) << "out of order or not a notification";
    last = index;
    ++got;
  }
  EXPECT_EQ(got, kEvents - dropped);
  EXPECT_EQ(queued, kEvents + got);
  fmt::print("slow subscriber: {} of {} notifications dropped\n", dropped, kEvents);
  auto m = ScrapeMetrics();
  EXPECT_EQ(m["tracedb_notifications_dropped_total"], static_cast<double>(dropped));
  EXPECT_EQ(m["tracedb_notifications_sent_total"], static_cast<double>(queued));
  EXPECT_EQ(m["tracedb_subscriptions_active"], 2);

  // Caught up, it is served like the other one again.
  ASSERT_TRUE(producer->SendText(record(kEvents)).ok());
  ASSERT_EQ(*producer->ReceiveJson(), kAck);
  for (WsClient* s : {fast.get(), slow.get()}) {
    auto push = s->ReceiveJson();
    ASSERT_TRUE(push.ok()) << push.status().ToString();
    EXPECT_EQ(event_index(*push), kEvents);
  }
  EXPECT_EQ(live.notifications_dropped.load(), dropped);
  EXPECT_EQ(live.notifications_sent.load(), queued + 2);
}

}  // namespace
}  // namespace tracedb::server::testing
