// Lexer, parser and binder: accepted forms, and every rejection carries a
// position and a caret.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "query/lexer.h"
#include "query/parser.h"
#include "query/query.h"
#include "tests/query/query_test_util.h"

namespace tracedb::query {
namespace {

using testing::kT0;

std::string Canon(std::string_view text) {
  auto r = ParseAndBind(text, kT0);
  if (!r.ok()) return "ERR " + r.status().message();
  return ToString(r->filter);
}

std::string Err(std::string_view text) {
  auto r = ParseAndBind(text, kT0);
  return r.ok() ? "OK" : r.status().message();
}

TEST(Lexer, DurationsTimestampsAndStrings) {
  auto t = Lex("x > 1.5s and t < 2025-07-10T12:00:00Z and s = \"a\\\"b\\u00e9\" and n = -3");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)[2].kind, TokenKind::kDuration);
  EXPECT_EQ((*t)[2].i, 1500000000);
  EXPECT_EQ((*t)[6].kind, TokenKind::kTimestamp);
  EXPECT_EQ((*t)[6].i, kT0);
  EXPECT_EQ((*t)[10].text, "a\"b\xc3\xa9");
  int64_t ns;
  EXPECT_TRUE(ParseDurationNs("10ms", &ns));
  EXPECT_EQ(ns, 10000000);
  EXPECT_TRUE(ParseDurationNs("2h", &ns));
  EXPECT_EQ(ns, 7200LL * 1000000000);
  EXPECT_FALSE(ParseDurationNs("10parsecs", &ns));
}

TEST(Parser, CanonicalFormsOfTraceAndEventPredicates) {
  EXPECT_EQ(Canon("flow = \"checkout\""), "flow = \"checkout\"");
  EXPECT_EQ(Canon("FLOW = 'a' AND status = Failed"), "flow = \"a\" and status = failed");
  EXPECT_EQ(Canon("actor = \"db\""), "event{actor = \"db\"}");
  EXPECT_EQ(Canon("event{actor = \"db\" and execution_time_ns > 10ms}"),
            "event{actor = \"db\" and execution_time_ns > 10000000ns}");
  EXPECT_EQ(Canon("not actor = \"db\""), "not event{actor = \"db\"}");
  EXPECT_EQ(Canon("start > now-1h"), "start > 2025-07-10T11:00:00Z");
  EXPECT_EQ(Canon("start >= \"2025-07-10T12:00:00+02:00\""), "start >= 2025-07-10T10:00:00Z");
  EXPECT_EQ(Canon("type in (ActorFailed, message_sent)"), "event{type in (actor_failed, message_sent)}");
  EXPECT_EQ(Canon("payload.status = error"), "event{payload.status = \"error\"}");
  EXPECT_EQ(Canon("attr.\"a b\".c exists"), "event{attr.\"a b\".c exists}");
  EXPECT_EQ(Canon("tags.region != \"eu\" or (user exists and session not exists)"),
            "tags.region != \"eu\" or (user exists and session not exists)");
  EXPECT_EQ(Canon("version >= \"1.2\""), "version >= \"1.2.0\"");
  EXPECT_EQ(Canon("status.error = \"x\""), "status_error = \"x\"");
  EXPECT_EQ(Canon("flow like \"check*\" and actor not in (\"a\") and op_name !~ \"g\\..*\""),
            "flow like \"check*\" and event{actor not in (\"a\")} and event{op_name !~ \"g\\\\..*\"}");
  EXPECT_EQ(Canon(""), "true");
  EXPECT_EQ(Canon("event{}"), "event{}");
}

TEST(Parser, AggregatesAndLimit) {
  auto q = ParseAndBind("flow = \"x\" | p99(execution_time_ns), count() by (actor, flow) limit 5", kT0);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->aggregates.size(), 2u);
  EXPECT_EQ(q->aggregates[0].label, "p99(execution_time_ns)");
  EXPECT_EQ(q->aggregates[1].label, "count()");
  ASSERT_EQ(q->group_by.size(), 2u);
  EXPECT_EQ(q->level, AggLevel::kEvent);
  EXPECT_EQ(q->limit, 5);
  auto t = ParseAndBind("| avg(duration) by (flow)", kT0);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->level, AggLevel::kTrace);
  auto e = ParseAndBind("explain flow = \"x\"", kT0);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->explain);
}

TEST(ParserErrors, PointAtTheOffendingCharacterWithACaret) {
  EXPECT_EQ(Err("flow = and x"), "error at 1:8: expected a value after '='\n  flow = and x\n         ^");
  EXPECT_EQ(Err("flow = \"x"), "error at 1:8: unterminated string\n  flow = \"x\n         ^");
  EXPECT_EQ(Err("flow == \"x\" and (status = failed"),
            "error at 1:17: unclosed '('\n  flow == \"x\" and (status = failed\n                  ^");
  EXPECT_EQ(Err("flw = \"x\""), "error at 1:1: unknown field 'flw'\n  flw = \"x\"\n  ^");
  EXPECT_EQ(Err("flow = \"x\"\n  and status = done"),
            "error at 2:16: expected a status: pending, running, completed, failed or cancelled\n"
            "    and status = done\n                 ^");
  EXPECT_EQ(Err("x > 10parsecs"),
            "error at 1:7: invalid duration unit (use ns, us, ms, s, m, h or d)\n  x > 10parsecs\n        ^");
  EXPECT_EQ(Err("actor =~ \"(\""),
            "error at 1:10: invalid regular expression: missing ): (\n  actor =~ \"(\"\n           ^");
  EXPECT_EQ(Err("flow = \"a\" )"), "error at 1:12: unbalanced ')'\n  flow = \"a\" )\n             ^");
  EXPECT_EQ(Err("status < failed"),
            "error at 1:10: 'status' cannot be compared with < <= > >=\n  status < failed\n           ^");
  EXPECT_EQ(Err("event{event{actor = \"a\"}}"),
            "error at 1:7: event{...} blocks cannot be nested\n  event{event{actor = \"a\"}}\n        ^");
  EXPECT_EQ(Err("| median(size_bytes)"),
            "error at 1:3: unknown aggregate 'median' (count sum avg min max p50 p90 p95 p99)\n"
            "  | median(size_bytes)\n    ^");
  EXPECT_EQ(Err("attr = 1"), "error at 1:1: field 'attr' needs a key, e.g. attr.name\n  attr = 1\n  ^");
  EXPECT_EQ(Err("start > 2025-13-01T00:00:00Z"),
            "error at 1:9: invalid RFC 3339 timestamp\n  start > 2025-13-01T00:00:00Z\n          ^");
  EXPECT_EQ(Err("flow = \"a\" @"), "error at 1:12: unexpected character\n  flow = \"a\" @\n             ^");
}

TEST(ParserErrors, DeepNestingAndHugeInputAreRejectedCleanly) {
  std::string deep(100000, '(');
  std::string msg = Err(deep);
  EXPECT_NE(msg.find("query too long"), std::string::npos) << msg;
  std::string nested(5000, '(');
  EXPECT_NE(Err(nested + "flow = \"a\"").find("nested too deeply"), std::string::npos);
  std::string nots;
  for (int i = 0; i < 1000; ++i) nots += "not ";
  EXPECT_NE(Err(nots + "flow = \"a\"").find("nested too deeply"), std::string::npos);
  std::string wide = "flow = \"a\"";
  for (int i = 0; i < 5000; ++i) wide += " or x=1";
  EXPECT_NE(Err(wide).find("query too large"), std::string::npos);
  // Long lines are windowed around the caret.
  std::string long_line(200, ' ');
  msg = Err(long_line + "flow = ");
  EXPECT_NE(msg.find("error at 1:208"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 400u);
}

TEST(ParserErrors, ControlAndBinaryBytesNeverCrash) {
  for (int c = 0; c < 256; ++c) {
    std::string q = "flow = ";
    q.push_back(static_cast<char>(c));
    (void)ParseAndBind(q, kT0);  // must return, whatever the byte
  }
  EXPECT_EQ(Err(std::string("flow = \"a\0b\"", 12)), "OK");
}

// Fuzz-like: mutated corpus seeds either bind, and then their canonical
// text binds again to itself, or fail with a positioned InvalidArgument.
TEST(ParserErrors, MutatedSeedsBindOrFailCleanlyAndCanonicalFormsRoundTrip) {
  std::vector<std::string> seeds;
  for (const auto& e : std::filesystem::directory_iterator(std::string(TRACEDB_SOURCE_DIR) + "/fuzz/corpus/query_parser")) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    seeds.push_back(ss.str());
  }
  ASSERT_GE(seeds.size(), 10u);
  std::mt19937_64 rng(5);
  const std::string alphabet = "()={}\"'.,|<>!~-+* andornotinexistslike0123456789msahz_";
  size_t bound_ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string q = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !q.empty(); ++k) {
      size_t at = rng() % q.size();
      switch (rng() % 4) {
        case 0: q[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: q.erase(at, 1 + rng() % 3); break;
        case 2: q.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        default: q.insert(at, seeds[rng() % seeds.size()].substr(0, rng() % 20)); break;
      }
    }
    auto r = ParseAndBind(q, kT0);
    if (!r.ok()) {
      ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument) << q;
      ASSERT_EQ(r.status().message().rfind("error at ", 0), 0u) << q << "\n" << r.status().message();
      continue;
    }
    ++bound_ok;
    std::string canon = ToString(r->filter);
    if (canon == "true") continue;
    auto again = ParseAndBind(canon, kT0);
    ASSERT_TRUE(again.ok()) << q << "\n" << canon << "\n" << again.status().message();
    ASSERT_EQ(ToString(again->filter), canon) << q;
  }
  EXPECT_GT(bound_ok, 1000u);
}

}  // namespace
}  // namespace tracedb::query

namespace tracedb::query {
namespace {

TEST(Parser, BucketKeysBindToTheRowsTime) {
  // Over traces, bucket() alone is the trace start and keeps rows traces.
  auto t = ParseAndBind("| count() by (bucket(5m))", kT0);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->level, AggLevel::kTrace);
  ASSERT_EQ(t->group_by.size(), 1u);
  EXPECT_EQ(t->group_by[0].id, FieldId::kStart);
  EXPECT_EQ(t->group_by[0].bucket_ns, 300 * testing::kSecond);
  EXPECT_EQ(t->group_by[0].name, "bucket(5m)");
  // Over events (another key is an event field) it is the event's timestamp.
  auto e = ParseAndBind("| p99(duration) by (bucket(90s), name)", kT0);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->level, AggLevel::kEvent);
  EXPECT_EQ(e->group_by[0].id, FieldId::kTimestamp);
  EXPECT_EQ(e->group_by[0].name, "bucket(90s)");
  EXPECT_EQ(e->group_by[1].bucket_ns, 0);
  // A named field, in any unit that divides the width.
  auto n = ParseAndBind("| count() by (BUCKET(end, 1500ms))", kT0);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->group_by[0].id, FieldId::kEnd);
  EXPECT_EQ(n->group_by[0].name, "bucket(end, 1500ms)");
}

}  // namespace
}  // namespace tracedb::query
