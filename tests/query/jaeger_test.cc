// The Jaeger mapping (query/jaeger.h): golden JSON of one trace per source
// (tests/query/jaeger/*.json, TRACEDB_UPDATE_GOLDEN=1 rewrites them), the
// search filter and its plan, Go durations, and a differential test of the
// search against a brute-force scan of the Jaeger spans.

#include "query/jaeger.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "query/encoding.h"
#include "query/query.h"
#include "tests/query/otel_data_util.h"
#include "tests/query/query_test_util.h"

namespace tracedb::query::jaeger {
namespace {

using testing::kSecond;
using testing::kT0;

constexpr int64_t kMs = 1'000'000;

// Indents compact JSON two spaces per level (strings are copied verbatim),
// so that golden files read and diff well.
std::string Indent(const std::string& json) {
  std::string out;
  int depth = 0;
  bool in_string = false;
  auto newline = [&] { out += "\n" + std::string(static_cast<size_t>(std::max(depth, 0)) * 2, ' '); };
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    out.push_back(c);
    if (in_string) {
      if (c == '\\') {
        out.push_back(json[++i]);
        continue;
      }
      if (c != '"') continue;
      in_string = false;
    } else if (c == '"') {
      in_string = true;
      continue;
    } else if (c == '{' || c == '[') {
      char close = c == '{' ? '}' : ']';
      if (i + 1 < json.size() && json[i + 1] == close) {
        out.push_back(close);
        ++i;
      } else {
        ++depth;
        newline();
        continue;
      }
    } else if (c == ',') {
      newline();
      continue;
    } else if (c == ':') {
      out.push_back(' ');
      continue;
    }
    if (i + 1 < json.size() && (json[i + 1] == '}' || json[i + 1] == ']')) {
      --depth;
      newline();
    }
  }
  return out + "\n";
}

void ExpectGolden(const std::string& name, const std::string& json) {
  std::filesystem::path path = std::filesystem::path(TRACEDB_SOURCE_DIR) / "tests/query/jaeger" / name;
  std::string actual = Indent(json);
  if (std::getenv("TRACEDB_UPDATE_GOLDEN")) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << actual;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing golden file " << path << " (TRACEDB_UPDATE_GOLDEN=1 writes it)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "golden " << name << " differs (TRACEDB_UPDATE_GOLDEN=1 rewrites it)";
}

std::string Render(const schema::Trace& t) {
  std::string out;
  AppendTraceJson(ToJaeger(t), &out);
  return out;
}

schema::Event ReflowEvent(int k, schema::EventType type, std::string actor, int64_t ts) {
  schema::Event e;
  schema::Id128 id = testing::TraceId(900 + static_cast<uint64_t>(k));
  e.event_id.assign(id.begin(), id.end());
  e.timestamp_ns = ts;
  e.type = type;
  e.actor = std::move(actor);
  e.reflow.emplace();
  return e;
}

// A Reflow flow: sensor -> validator (DataFlow), validator fails.
schema::Trace ReflowTrace() {
  schema::Trace t;
  t.trace_id = testing::TraceId(0xabc);
  t.source = schema::Source::kReflow;
  t.flow_id = "ingest";
  t.execution_id = testing::TraceId(0xe);
  t.version = {1, 2, 3, std::nullopt, kT0};
  t.start_ns = kT0;
  t.end_ns = kT0 + 50 * kMs;
  t.status = {schema::StatusCode::kFailed, "validator failed"};
  t.metadata.hostname = "host-1";
  t.metadata.environment = "prod";
  t.metadata.tags = {{"region", "eu"}};
  t.events.push_back(ReflowEvent(1, schema::EventType::kActorStarted, "sensor", kT0 + 1 * kMs));
  schema::Event flow = ReflowEvent(2, schema::EventType::kDataFlow, "sensor", kT0 + 5 * kMs);
  flow.to_actor = "validator";
  flow.to_port = "in";
  flow.reflow->port = "out";
  schema::MessageSnapshot message;
  message.message_type = "SensorReading";
  message.size_bytes = 256;
  message.checksum = "sha256:x";
  flow.reflow->message = message;
  flow.reflow->metrics.execution_time_ns = 1'500'000;
  flow.reflow->custom_attributes_json = R"({"message_id":"msg_1"})";
  t.events.push_back(flow);
  t.events.push_back(ReflowEvent(3, schema::EventType::kActorStarted, "validator", kT0 + 6 * kMs));
  schema::Event failed = ReflowEvent(4, schema::EventType::kActorFailed, "validator", kT0 + 40 * kMs);
  failed.reflow->error = "bad reading";
  t.events.push_back(failed);
  t.events.push_back(ReflowEvent(5, schema::EventType::kActorCompleted, "sensor", kT0 + 45 * kMs));
  return t;
}

schema::Event OxEvent(int k, schema::EventType type, std::string kind, std::string op, std::vector<std::string> ctx,
                      int64_t ts, std::string payload) {
  schema::Event e;
  e.event_id = "req-7-" + std::to_string(k);
  e.timestamp_ns = ts;
  e.seq = static_cast<uint64_t>(k);
  e.type = type;
  e.actor = op;
  auto& o = e.operonx.emplace();
  o.kind = std::move(kind);
  if (!op.empty()) o.op_name = std::move(op);
  o.ctx = std::move(ctx);
  o.payload_json = std::move(payload);
  return e;
}

// An operonx request: g.plan, then g.llm (with llm_usage) that errors.
schema::Trace OperonxTrace() {
  using T = schema::EventType;
  schema::Trace t;
  t.trace_id = testing::TraceId(0x70);
  t.source = schema::Source::kOperonx;
  t.flow_id = "callbot";
  t.external_id = "req-7";
  t.start_ns = kT0;
  t.end_ns = kT0 + 100 * kMs;
  t.status = {schema::StatusCode::kFailed, ""};
  t.metadata.user_id = "u1";
  t.events = {
      OxEvent(0, T::kOpStart, "op_start", "g.plan", {"main"}, kT0 + 1 * kMs, "{}"),
      OxEvent(1, T::kOpEnd, "op_end", "g.plan", {"main"}, kT0 + 11 * kMs, R"({"status":"ok","duration_ms":10})"),
      OxEvent(2, T::kOpStart, "op_start", "g.llm", {"main"}, kT0 + 12 * kMs, "{}"),
      OxEvent(3, T::kLlmUsage, "llm_usage", "g.llm", {"main"}, kT0 + 50 * kMs,
              R"({"model":"claude-3","input_tokens":120,"output_tokens":30,"cost_usd":0.02})"),
      OxEvent(4, T::kOpEnd, "op_end", "g.llm", {"main"}, kT0 + 60 * kMs,
              R"({"status":"error","duration_ms":48,"error":"rate limited"})"),
  };
  return t;
}

class JaegerDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine_ = testing::OpenMemoryEngine().release();
    ASSERT_TRUE(testing::WriteOtelDataset(engine_).ok());
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  static schema::Trace Get(uint64_t n) {
    auto t = engine_->GetTrace(testing::TraceId(n));
    EXPECT_TRUE(t.ok() && t->has_value());
    return t.ok() && t->has_value() ? **t : schema::Trace{};
  }
  static engine::Engine* engine_;
};

engine::Engine* JaegerDataTest::engine_ = nullptr;

TEST(Jaeger, ReflowTraceMatchesGolden) { ExpectGolden("reflow_trace.json", Render(ReflowTrace())); }

TEST(Jaeger, OperonxTraceMatchesGolden) { ExpectGolden("operonx_trace.json", Render(OperonxTrace())); }

TEST_F(JaegerDataTest, OtelTraceMatchesGolden) {
  // Trace 6: a failed root, a db span in the "db" service, a publish span.
  ExpectGolden("otel_trace.json", Render(Get(6)));
}

TEST(Jaeger, ReflowActorsAreSpansUnderTheFlow) {
  Trace j = ToJaeger(ReflowTrace());
  ASSERT_EQ(j.spans.size(), 3u);
  EXPECT_EQ(j.spans[0].operation, "ingest");
  EXPECT_EQ(j.spans[1].operation, "sensor");
  EXPECT_EQ(j.spans[2].operation, "validator");
  EXPECT_EQ(j.spans[1].start_us, (kT0 + 1 * kMs) / 1000);
  EXPECT_EQ(j.spans[1].duration_us, 44'000);
  // The receiver follows from the sender; the failed actor is an error.
  ASSERT_EQ(j.spans[2].references.size(), 2u);
  EXPECT_EQ(j.spans[2].references[1].type, Reference::Type::kFollowsFrom);
  EXPECT_EQ(j.spans[2].references[1].span_id, j.spans[1].span_id);
  bool error = false;
  for (const auto& t : j.spans[2].tags) error |= t.key == "error" && t.i == 1;
  EXPECT_TRUE(error);
  EXPECT_EQ(j.spans[1].logs.size(), 3u);
}

TEST(Jaeger, OperonxOpsNestUnderTheRequestWithUsageTags) {
  Trace j = ToJaeger(OperonxTrace());
  ASSERT_EQ(j.spans.size(), 3u);
  EXPECT_EQ(j.spans[0].operation, "callbot");
  const Span* llm = nullptr;
  for (const auto& s : j.spans) {
    if (s.operation == "g.llm") llm = &s;
  }
  ASSERT_NE(llm, nullptr);
  EXPECT_EQ(llm->duration_us, 48'000);
  ASSERT_EQ(llm->references.size(), 1u);
  EXPECT_EQ(llm->references[0].span_id, j.spans[0].span_id);
  std::set<std::string> keys;
  for (const auto& t : llm->tags) keys.insert(t.key);
  EXPECT_TRUE(keys.count("llm.model") && keys.count("llm.cost_usd") && keys.count("error"));
}

TEST(Jaeger, SearchFilterUsesOneSpanForOperationDurationAndTags) {
  SearchParams p;
  p.service = "checkout";
  p.operation = "db.query";
  p.tags = {{"db.rows", "3"}, {"error", "true"}};
  p.start_ns = 5;
  p.end_ns = 9;
  p.min_duration_ns = 15 * kMs;
  EXPECT_EQ(SearchFilter(p),
            R"(service = "checkout" and start >= 5 and start <= 9 and event{name = "db.query" and )"
            R"(service = "checkout" and duration >= 15000000 and (attr."db.rows" = "3" or attr."db.rows" = 3 or )"
            R"(resource."db.rows" = "3" or resource."db.rows" = 3) and (attr."error" = "true" or )"
            R"(attr."error" = true or resource."error" = "true" or resource."error" = true or status = error)})");
  SearchParams only;
  only.service = "we \"quote\"";
  EXPECT_EQ(SearchFilter(only), R"(service = "we \"quote\"")");
}

TEST_F(JaegerDataTest, SearchUsesTheFlowAndActorIndexes) {
  SearchParams p;
  p.service = "checkout";
  p.operation = "db.query";
  p.min_duration_ns = 10 * kMs;
  QueryOptions o;
  o.explain = true;
  auto r = RunQuery(engine_, SearchFilter(p), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->plan.find("flow index: service = \"checkout\""), std::string::npos) << r->plan;
  EXPECT_NE(r->plan.find("actor index"), std::string::npos) << r->plan;
}

// The brute-force meaning of a Jaeger search over the Jaeger spans.
bool Matches(const Trace& j, int64_t start_ns, const SearchParams& p) {
  if (p.start_ns && start_ns < *p.start_ns) return false;
  if (p.end_ns && start_ns > *p.end_ns) return false;
  for (const auto& s : j.spans) {
    if (j.ServiceOf(s) != p.service) continue;
    if (!p.operation.empty() && s.operation != p.operation) continue;
    int64_t ns = s.duration_us * 1000;
    if (p.min_duration_ns && ns < *p.min_duration_ns) continue;
    if (p.max_duration_ns && ns > *p.max_duration_ns) continue;
    bool tags_ok = true;
    for (const auto& [k, v] : p.tags) {
      bool found = false;
      for (const auto& t : s.tags) {
        std::string text = t.type == Tag::Type::kInt64  ? std::to_string(t.i)
                           : t.type == Tag::Type::kBool ? (t.i ? "true" : "false")
                                                        : t.str;
        found |= t.key == k && text == v;
      }
      tags_ok &= found;
    }
    if (tags_ok) return true;
  }
  return false;
}

TEST_F(JaegerDataTest, SearchAgreesWithBruteForce) {
  std::vector<Trace> all;
  std::vector<int64_t> starts;
  std::vector<std::string> ids;
  for (uint64_t n = 1; n <= testing::kOtelTraces; ++n) {
    schema::Trace t = Get(n);
    all.push_back(ToJaeger(t));
    starts.push_back(t.start_ns);
  }
  std::vector<SearchParams> cases;
  for (const char* service : {"checkout", "frontend", "search", "db", "nope"}) {
    SearchParams p;
    p.service = service;
    cases.push_back(p);
    p.operation = "db.query";
    cases.push_back(p);
    p.min_duration_ns = 10 * kMs;
    cases.push_back(p);
    p.max_duration_ns = 20 * kMs;
    cases.push_back(p);
    SearchParams q;
    q.service = service;
    q.tags = {{"http.status_code", "500"}};
    cases.push_back(q);
    q.tags = {{"error", "true"}};
    cases.push_back(q);
    q.tags = {{"db.system", "postgresql"}, {"db.rows", "3"}};
    cases.push_back(q);
    q.tags.clear();
    q.start_ns = kT0 + 10 * kSecond;
    q.end_ns = kT0 + 20 * kSecond;
    cases.push_back(q);
  }
  for (const auto& p : cases) {
    QueryOptions o;
    o.limit = 1000;
    auto r = RunQuery(engine_, SearchFilter(p), o);
    ASSERT_TRUE(r.ok()) << SearchFilter(p) << ": " << r.status().ToString();
    std::set<std::string> got;
    for (const auto& t : r->traces) got.insert(HexOf(t.trace_id));
    std::set<std::string> want;
    for (size_t i = 0; i < all.size(); ++i) {
      if (Matches(all[i], starts[i], p)) want.insert(all[i].trace_id);
    }
    EXPECT_EQ(got, want) << SearchFilter(p);
  }
}

TEST(Jaeger, OtelEventsAreLogsLinksAreFollowsFromAttributesKeepTheirType) {
  schema::Trace t;
  t.trace_id = testing::TraceId(0x51);
  t.source = schema::Source::kOtel;
  schema::Event e;
  e.timestamp_ns = kT0;
  e.type = schema::EventType::kSpan;
  auto& s = e.otel.emplace();
  s.span_id = {0, 0, 0, 0, 0, 0, 0, 9};
  s.name = "publish";
  s.kind = 4;
  s.end_ns = kT0 + 2 * kMs;
  s.flags = 0x301;
  schema::AttributeValue bytes;
  bytes.kind = schema::AttributeValue::Kind::kBytes;
  bytes.str = "\x01\x02";
  schema::AttributeValue list;
  list.kind = schema::AttributeValue::Kind::kArray;
  list.array.resize(2);
  list.array[0].str = "a";
  list.array[1].kind = schema::AttributeValue::Kind::kInt;
  list.array[1].i = 2;
  s.attributes = {{"raw", bytes}, {"list", list}};
  schema::OtelSpanEvent ev;
  ev.time_ns = kT0 + kMs;
  ev.name = "retry";
  schema::AttributeValue n;
  n.kind = schema::AttributeValue::Kind::kInt;
  n.i = 3;
  ev.attributes = {{"attempt", n}};
  s.events.push_back(ev);
  schema::OtelLink link;
  link.trace_id = std::string(16, '\x0a');
  link.span_id = std::string(8, '\x0b');
  s.links.push_back(link);
  t.events.push_back(e);
  Trace j = ToJaeger(t);
  ASSERT_EQ(j.spans.size(), 1u);
  const Span& span = j.spans[0];
  EXPECT_EQ(span.flags, 1u);
  EXPECT_EQ(span.kind, "producer");
  ASSERT_EQ(span.references.size(), 1u);
  EXPECT_EQ(span.references[0].type, Reference::Type::kFollowsFrom);
  EXPECT_EQ(span.references[0].trace_id, "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a");
  EXPECT_EQ(span.references[0].span_id, "0b0b0b0b0b0b0b0b");
  ASSERT_EQ(span.logs.size(), 1u);
  EXPECT_EQ(span.logs[0].timestamp_us, (kT0 + kMs) / 1000);
  std::string json;
  AppendTraceJson(j, &json);
  EXPECT_NE(json.find(R"({"key":"raw","type":"binary","value":"AQI="})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"key":"list","type":"string","value":"[\"a\",2]"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("fields":[{"key":"event","type":"string","value":"retry"},{"key":"attempt","type":"int64","value":3}])"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("processes":{"p1":{"serviceName":"unknown_service","tags":[]}})"), std::string::npos) << json;
}

TEST(Jaeger, SyntheticRootsAreNotSearchableOperations) {
  std::vector<Operation> ops;
  Trace j = ToJaeger(ReflowTrace());
  CollectOperations(j, "ingest", &ops);
  std::set<std::string> names;
  for (const auto& op : ops) names.insert(op.name);
  EXPECT_EQ(names, (std::set<std::string>{"sensor", "validator"}));
}

TEST(Jaeger, GoDurations) {
  EXPECT_EQ(*ParseGoDuration("15ms"), 15 * kMs);
  EXPECT_EQ(*ParseGoDuration("1.5s"), 1500 * kMs);
  EXPECT_EQ(*ParseGoDuration("1h30m"), 5400 * kSecond);
  EXPECT_EQ(*ParseGoDuration("300us"), 300'000);
  EXPECT_EQ(*ParseGoDuration("2\xc2\xb5s"), 2'000);
  EXPECT_EQ(*ParseGoDuration("10ns"), 10);
  EXPECT_EQ(*ParseGoDuration("0"), 0);
  EXPECT_EQ(*ParseGoDuration("2d"), 2 * 86400 * kSecond);
  for (const char* bad : {"", "15", "ms", "1.2.3s", "5x", "1s2"}) {
    EXPECT_FALSE(ParseGoDuration(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseGoDuration("5x").status().message(), "time: unknown unit \"x\" in duration \"5x\"");
}

}  // namespace
}  // namespace tracedb::query::jaeger
