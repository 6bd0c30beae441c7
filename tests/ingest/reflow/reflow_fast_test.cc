#include "ingest/reflow/reflow_fast.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/reflow/reflow_json.h"
#include "tests/ingest/reflow/reflow_gen.h"
#include "tests/schema/json_value_util.h"

namespace tracedb::ingest::reflow {
namespace {

std::string Print(const RecordEvent& event) { return PrintRequest(Request(TracingRequest(event))); }

// The fast path may decline anything; what it accepts, the general parser
// (ParseTracingRequest has no fast path) must accept with the same value,
// and ParseRequest, which takes the fast path, must return that value.
void ExpectAgrees(const std::string& json) {
  RecordEvent fast;
  if (!ParseCanonicalRecordEvent(json, &fast)) return;
  auto general = ParseTracingRequest(json);
  ASSERT_TRUE(general.ok()) << "accepted what the general parser rejects: " << json << "\n"
                            << general.status().ToString();
  ASSERT_TRUE(std::holds_alternative<RecordEvent>(*general)) << json;
  ASSERT_TRUE(std::get<RecordEvent>(*general) == fast) << json;
  auto dispatched = ParseRequest(json);
  ASSERT_TRUE(dispatched.ok()) << json;
  ASSERT_TRUE(*dispatched == Request(TracingRequest(fast))) << json;
}

TEST(ReflowFast, PrintedRecordEventsTakeTheFastPathAndMatchTheGeneralParser) {
  // Plain strings: every printed event is canonical, so every one must be
  // taken (this fails if the fast path declines what it was built for).
  Gen g(11, Gen::Strings::kPlain);
  for (int i = 0; i < 4000; ++i) {
    const RecordEvent event{g.Id(), g.Ev()};
    const std::string json = Print(event);
    RecordEvent fast;
    ASSERT_TRUE(ParseCanonicalRecordEvent(json, &fast)) << json;
    ASSERT_TRUE(fast == event) << json;
    ASSERT_NO_FATAL_FAILURE(ExpectAgrees(json));
  }
}

TEST(ReflowFast, StringsWithEscapesAreLeftToTheGeneralParser) {
  Gen g(12);
  int declined = 0;
  for (int i = 0; i < 3000; ++i) {
    const RecordEvent event{g.Id(), g.Ev()};
    const std::string json = Print(event);
    RecordEvent fast;
    if (!ParseCanonicalRecordEvent(json, &fast)) ++declined;
    ASSERT_NO_FATAL_FAILURE(ExpectAgrees(json));
    auto via_dispatch = ParseRequest(json);
    ASSERT_TRUE(via_dispatch.ok()) << json;
    ASSERT_TRUE(*via_dispatch == Request(TracingRequest(event))) << json;
  }
  EXPECT_GT(declined, 1000);  // the generator's strings need escapes most of the time
}

TEST(ReflowFast, WireSamplesTakeTheFastPath) {
  std::istringstream in(schema::testing::ReadSharedFile("data/reflow-wire-samples.ndjson"));
  int taken = 0;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("{\"RecordEvent\"")) continue;
    RecordEvent fast;
    const bool took = ParseCanonicalRecordEvent(line, &fast);
    // A string with an escape (the samples' error texts) is declined.
    EXPECT_EQ(took, line.find('\\') == std::string::npos) << line;
    ASSERT_NO_FATAL_FAILURE(ExpectAgrees(line));
    taken += took ? 1 : 0;
  }
  EXPECT_GT(taken, 5);
}

TEST(ReflowFast, OtherFormsAreDeclinedAndStillParse) {
  Gen g(13, Gen::Strings::kPlain);
  const RecordEvent event{g.Id(), g.Ev()};
  const std::string json = Print(event);
  auto reformat = [&](std::string from, std::string to) {
    std::string s = json;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  const std::vector<std::string> variants = {
      reformat("\"event\":{", "\"event\": {"),                      // whitespace
      reformat("{\"RecordEvent\":{", "{\"RecordEvent\":{\"x\":1,"),  // an unknown field
      json + "\n",                                                  // trailing whitespace
      reformat("\"timestamp\":", "\"ignored\":null,\"timestamp\":"),
  };
  for (const std::string& v : variants) {
    RecordEvent fast;
    EXPECT_FALSE(ParseCanonicalRecordEvent(v, &fast)) << v;
    auto parsed = ParseRequest(v);
    ASSERT_TRUE(parsed.ok()) << v << "\n" << parsed.status().ToString();
    EXPECT_TRUE(*parsed == Request(TracingRequest(event))) << v;
  }
  // Every strict prefix is declined, and the general parser's error stands;
  // custom attributes with escapes are still canonical (kept as JSON text),
  // and a prefix may end inside one of their escapes.
  RecordEvent escaped = event;
  escaped.event.reflow->custom_attributes_json = R"({"k":"a\"b\\","n":[1,{"m":"\u00e9"}]})";
  const std::string with_escapes = Print(escaped);
  for (const std::string& line : {json, with_escapes}) {
    RecordEvent fast;
    ASSERT_TRUE(ParseCanonicalRecordEvent(line, &fast)) << line;
    ASSERT_NO_FATAL_FAILURE(ExpectAgrees(line));
    for (size_t n = 0; n < line.size(); ++n) {
      RecordEvent partial;
      ASSERT_FALSE(ParseCanonicalRecordEvent(std::string_view(line).substr(0, n), &partial)) << n;
      EXPECT_FALSE(ParseRequest(line.substr(0, n)).ok()) << n;
    }
  }
}

TEST(ReflowFast, MutatedLinesNeverDisagree) {
  // Byte edits of canonical lines: whatever the fast path still accepts,
  // the general parser accepts with the same value (numbers, escapes,
  // UTF-8, nesting, enum names and literals all get hit).
  Gen g(14, Gen::Strings::kPlain);
  std::mt19937_64 rng(15);
  const std::string alphabet = "{}[]\",:.-+eE0123456789nultrsfaNx \\\x80\xc3\xa9\x01";
  int accepted = 0;
  for (int i = 0; i < 1500; ++i) {
    const std::string json = Print(RecordEvent{g.Id(), g.Ev()});
    for (int m = 0; m < 12; ++m) {
      std::string s = json;
      for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
        const size_t at = rng() % s.size();
        const char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 3) {
          case 0: s[at] = c; break;
          case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c); break;
          default: s.erase(at, 1); break;
        }
      }
      RecordEvent fast;
      if (ParseCanonicalRecordEvent(s, &fast)) ++accepted;
      ASSERT_NO_FATAL_FAILURE(ExpectAgrees(s));
    }
  }
  EXPECT_GT(accepted, 300);  // edits inside string values keep lines canonical
}

}  // namespace
}  // namespace tracedb::ingest::reflow
