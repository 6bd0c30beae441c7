#include "ingest/otel/otlp_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ingest/otel/otlp_proto.h"
#include "tests/ingest/otel/otel_test_util.h"

namespace tracedb::ingest::otel {
namespace {

using testing::Unhex;

// A request with one span whose members are `span_members` (JSON text).
std::string OneSpan(std::string_view span_members) {
  return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{)" + std::string(span_members) + "}]}]}]}";
}
// A span whose one attribute has the AnyValue `value` (JSON text).
std::string OneAttribute(std::string_view value) {
  return OneSpan(R"("attributes":[{"key":"k","value":)" + std::string(value) + "}]");
}
std::string NestedArrays(int levels) {
  std::string v = R"({"stringValue":"leaf"})";
  for (int i = 1; i < levels; ++i) v = R"({"arrayValue":{"values":[)" + v + "]}}";
  return v;
}

const Span& FirstSpan(const ExportTraceServiceRequest& r) { return r.resource_spans.at(0).scope_spans.at(0).spans.at(0); }
const AnyValue& FirstValue(const ExportTraceServiceRequest& r) { return FirstSpan(r).attributes.at(0).value; }

Span DecodeSpan(std::string_view members) {
  auto r = DecodeJson(OneSpan(members));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? FirstSpan(*r) : Span{};
}

TEST(OtlpJson, EmptyObjectIsAnEmptyRequest) {
  auto r = DecodeJson("{}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->resource_spans.empty());
}

TEST(OtlpJson, RandomRequestsRoundTripThroughOtlpJson) {
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    std::mt19937_64 rng(seed);
    const ExportTraceServiceRequest want = testing::RandomRequest(rng);
    const std::string json = testing::ToOtlpJson(want, rng);
    auto got = DecodeJson(json);
    ASSERT_TRUE(got.ok()) << "seed " << seed << ": " << got.status().ToString() << "\n" << json;
    ASSERT_TRUE(*got == want) << "seed " << seed << "\n" << json;
  }
}

TEST(OtlpJson, JsonAndProtobufOfTheSameRequestDecodeEqual) {
  for (uint64_t seed = 1000; seed <= 1100; ++seed) {
    std::mt19937_64 rng(seed);
    const ExportTraceServiceRequest want = testing::RandomRequest(rng);
    auto from_json = DecodeJson(testing::ToOtlpJson(want, rng));
    auto from_proto = DecodeProto(testing::ToOracle(want).SerializeAsString());
    ASSERT_TRUE(from_json.ok() && from_proto.ok()) << "seed " << seed;
    ASSERT_TRUE(*from_json == *from_proto) << "seed " << seed;
  }
}

TEST(OtlpJson, SixtyFourBitIntegersAreExactAsNumbersAndStrings) {
  // 2^53 + 1 is not a double: it survives only if never parsed as one.
  for (const char* v : {R"({"intValue":9007199254740993})", R"({"intValue":"9007199254740993"})"}) {
    auto r = DecodeJson(OneAttribute(v));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(FirstValue(*r).kind, AnyValue::Kind::kInt);
    EXPECT_EQ(FirstValue(*r).i, int64_t{9007199254740993});
  }
  auto min = DecodeJson(OneAttribute(R"({"intValue":"-9223372036854775808"})"));
  ASSERT_TRUE(min.ok());
  EXPECT_EQ(FirstValue(*min).i, std::numeric_limits<int64_t>::min());

  Span s = DecodeSpan(R"("startTimeUnixNano":18446744073709551615,"endTimeUnixNano":"18446744073709551614")");
  EXPECT_EQ(s.start_time_unix_nano, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(s.end_time_unix_nano, std::numeric_limits<uint64_t>::max() - 1);
  s = DecodeSpan(R"("startTimeUnixNano":"1796533263631000123","flags":"257","kind":"2","droppedEventsCount":4)");
  EXPECT_EQ(s.start_time_unix_nano, 1796533263631000123u);
  EXPECT_EQ(s.flags, 257u);
  EXPECT_EQ(s.kind, 2);
  EXPECT_EQ(s.dropped_events_count, 4u);
}

TEST(OtlpJson, HexIdsAreCaseInsensitiveAndKeepTheirLength) {
  Span s = DecodeSpan(R"("traceId":"5B8EFFF798038103d269b633813fc60c","spanId":"EEE19B7EC3C1B173","parentSpanId":"")");
  EXPECT_EQ(s.trace_id, Unhex("5b8efff798038103d269b633813fc60c"));
  EXPECT_EQ(s.span_id, Unhex("eee19b7ec3c1b173"));
  EXPECT_TRUE(s.parent_span_id.empty());
  // Wrong length, valid hex: decoded as is; the mapping refuses the span.
  s = DecodeSpan(R"("traceId":"abcdef","spanId":"00000000000000000000")");
  EXPECT_EQ(s.trace_id, std::string("\xab\xcd\xef"));
  EXPECT_EQ(s.span_id.size(), 10u);
}

TEST(OtlpJson, EnumsAreIntegersAndNamesAreRefused) {
  auto r = DecodeJson(OneSpan(R"("kind":"SPAN_KIND_SERVER")"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("spans[0].kind"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("integer SpanKind"), std::string::npos) << r.status().message();
  r = DecodeJson(OneSpan(R"("status":{"code":"STATUS_CODE_ERROR"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("status.code"), std::string::npos) << r.status().message();
}

TEST(OtlpJson, OnlyLowerCamelCaseKeysAreRead) {
  // Proto field names are unknown members: ignored, not errors.
  auto r = DecodeJson(R"({"resource_spans":[{"scope_spans":[]}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->resource_spans.empty());
  Span s = DecodeSpan(R"("trace_id":"zz","start_time_unix_nano":"5","traceId":"01","name":"n")");
  EXPECT_EQ(s.trace_id, std::string("\x01"));
  EXPECT_EQ(s.start_time_unix_nano, 0u);
  EXPECT_EQ(s.name, "n");
}

TEST(OtlpJson, UnknownMembersAndNullsAreIgnored) {
  Span s = DecodeSpan(
      R"("future":{"a":[1,{"b":[true,false,null]},"x"],"n":-1.5e300},"name":"n","kind":null,)"
      R"("attributes":null,"status":{"code":2,"details":[{}]},"links":[{"spanId":"0102","extra":1}])");
  EXPECT_EQ(s.name, "n");
  EXPECT_EQ(s.kind, 0);
  EXPECT_TRUE(s.attributes.empty());
  EXPECT_EQ(s.status.code, 2);
  ASSERT_EQ(s.links.size(), 1u);
  EXPECT_EQ(s.links[0].span_id, std::string("\x01\x02"));
}

TEST(OtlpJson, AnyValueKinds) {
  struct Case {
    const char* json;
    AnyValue want;
  };
  const Case cases[] = {
      {R"({})", AnyValue{}},
      {R"({"stringValue":"é\n\u00e9"})", testing::Str("é\né")},
      {R"({"boolValue":true})", testing::Bool(true)},
      {R"({"doubleValue":1.5})", testing::Dbl(1.5)},
      {R"({"doubleValue":"2.5"})", testing::Dbl(2.5)},
      {R"({"doubleValue":"-Infinity"})", testing::Dbl(-INFINITY)},
      {R"({"doubleValue":3})", testing::Dbl(3)},
      {R"({"bytesValue":"AAEC/f7/"})", testing::Bytes(std::string("\x00\x01\x02\xfd\xfe\xff", 6))},
      {R"({"bytesValue":"AAEC_f7_"})", testing::Bytes(std::string("\x00\x01\x02\xfd\xfe\xff", 6))},
      {R"({"bytesValue":"YQ"})", testing::Bytes("a")},
      {R"({"bytesValue":"YQ=="})", testing::Bytes("a")},
      {R"({"arrayValue":{}})", testing::Array({})},
      {R"({"arrayValue":{"values":[{"intValue":1},{}]}})", testing::Array({testing::Int(1), AnyValue{}})},
      {R"({"kvlistValue":{"values":[{"key":"a","value":{"stringValue":"b"}}]}})",
       testing::KvList({{"a", testing::Str("b")}})},
  };
  for (const Case& c : cases) {
    auto r = DecodeJson(OneAttribute(c.json));
    ASSERT_TRUE(r.ok()) << c.json << ": " << r.status().ToString();
    EXPECT_TRUE(FirstValue(*r) == c.want) << c.json;
  }
  auto nan = DecodeJson(OneAttribute(R"({"doubleValue":"NaN"})"));
  ASSERT_TRUE(nan.ok());
  EXPECT_TRUE(std::isnan(FirstValue(*nan).d));
}

TEST(OtlpJson, AnyValueNestingUpToTheLimitDecodes) {
  auto r = DecodeJson(OneAttribute(NestedArrays(kMaxAnyValueDepth)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

struct Refusal {
  const char* name;
  std::string body;
  std::vector<std::string> message_parts;
  std::string at;  // when set, the error offset must be where this text starts in body
};

std::vector<Refusal> Refusals() {
  return {
      {"not JSON", "hello", {"invalid OTLP JSON"}, ""},
      {"empty body", "", {"invalid OTLP JSON"}, ""},
      {"not an object", "[]", {"at byte 0", "expected an ExportTraceServiceRequest object"}, ""},
      {"truncated", R"({"resourceSpans":[{"scopeSpans":[)", {"invalid OTLP JSON"}, ""},
      {"trailing garbage", R"({} {})", {"trailing characters"}, ""},
      {"invalid atom in an unknown member", R"({"x":[tru],"resourceSpans":[]})", {"invalid OTLP JSON", "x"}, ""},
      {"invalid UTF-8", "{\"x\":\"\xff\"}", {"invalid OTLP JSON", "UTF-8"}, ""},
      {"bad hex digit", OneSpan(R"("name":"a","traceId":"5b8efff798038103d269b633813fc6zz")"),
       {"resourceSpans[0].scopeSpans[0].spans[0].traceId", "invalid hex digit 'z'"}, R"("5b8e)"},
      {"odd hex length", OneSpan(R"("spanId":"abc")"), {"spans[0].spanId", "odd number of digits (3)"}, R"("abc")"},
      {"hex id as a number", OneSpan(R"("spanId":12)"), {"spanId", "expected a hex string"}, "12"},
      {"bad link hex", OneSpan(R"("links":[{},{"traceId":"xx"}])"), {"spans[0].links[1].traceId", "invalid hex"}, ""},
      {"negative timestamp", OneSpan(R"("startTimeUnixNano":-1)"), {"startTimeUnixNano", "unsigned 64-bit"}, "-1"},
      {"timestamp over uint64", OneSpan(R"("endTimeUnixNano":"18446744073709551616")"), {"endTimeUnixNano"}, ""},
      {"fraction as an integer", OneAttribute(R"({"intValue":1.5})"), {"value.intValue", "64-bit integer"}, "1.5"},
      {"exponent as an integer", OneAttribute(R"({"intValue":"1e3"})"), {"intValue", "decimal integer string"}, ""},
      {"int32 out of range", OneSpan(R"("kind":2147483648)"), {"kind", "out of the int32 range"}, ""},
      {"uint32 out of range", OneSpan(R"("flags":4294967296)"), {"flags", "out of the uint32 range"}, ""},
      {"two AnyValue members", OneAttribute(R"({"stringValue":"a","intValue":1})"),
       {"attributes[0].value.intValue", "more than one value member"}, ""},
      {"bad base64", OneAttribute(R"({"bytesValue":"a$=="})"), {"bytesValue", "invalid base64"}, ""},
      {"base64 bad length", OneAttribute(R"({"bytesValue":"abcde"})"), {"bytesValue", "invalid base64 length"}, ""},
      {"string where an array goes", OneSpan(R"("attributes":"a")"), {"spans[0].attributes", "expected an array"}, ""},
      {"span not an object", R"({"resourceSpans":[{"scopeSpans":[{"spans":[1]}]}]})",
       {"spans[0]", "expected a Span object"}, ""},
      {"too deep nesting", OneAttribute(NestedArrays(kMaxAnyValueDepth + 1)),
       {"nested deeper than 64 levels", "attributes[0].value.arrayValue.values[0].arrayValue"}, ""},
      {"very deep unknown member", "{\"x\":" + std::string(5000, '[') + std::string(5000, ']') + "}",
       {"invalid OTLP JSON"}, ""},
  };
}

TEST(OtlpJson, MalformedInputIsRefusedWithWhereAndWhy) {
  for (const Refusal& c : Refusals()) {
    auto r = DecodeJson(c.body);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.name;
    for (const std::string& part : c.message_parts) {
      EXPECT_NE(r.status().message().find(part), std::string::npos)
          << c.name << ": \"" << part << "\" not in: " << r.status().message();
    }
    if (!c.at.empty()) {
      const size_t pos = c.body.find(c.at);
      ASSERT_NE(pos, std::string::npos) << c.name;
      EXPECT_NE(r.status().message().find("at byte " + std::to_string(pos) + " "), std::string::npos)
          << c.name << ": expected byte " << pos << " in: " << r.status().message();
    }
  }
}

TEST(OtlpJson, PaddedInputDecodesTheSame) {
  const std::string body = testing::ReadGolden("js_exporter.json");
  std::string padded = body + std::string(schema::kJsonPadding, '\0');
  auto r = DecodeJson(std::string_view(padded.data(), body.size()), schema::InputPadding::kPadded);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r == testing::GoldenRequest());
}

TEST(OtlpJson, LargeBodiesUseTheirOwnParser) {
  // Over the 1 MiB cached-parser limit: ~4,000 spans.
  std::string body = R"({"resourceSpans":[{"scopeSpans":[{"spans":[)";
  for (int i = 0; i < 4000; ++i) {
    if (i > 0) body += ',';
    body += R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b173","name":"span )" +
            std::to_string(i) + R"(","startTimeUnixNano":"1","attributes":[{"key":"k","value":{"stringValue":")" +
            std::string(200, 'x') + R"("}}]})";
  }
  body += "]}]}]}";
  ASSERT_GT(body.size(), size_t{1} << 20);
  auto r = DecodeJson(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->resource_spans[0].scope_spans[0].spans.size(), 4000u);
  EXPECT_EQ(r->resource_spans[0].scope_spans[0].spans[3999].name, "span 3999");
  // The thread's cached parser still works afterwards.
  EXPECT_TRUE(DecodeJson("{}").ok());
}

TEST(OtlpJson, EmptyObjectFloodsAreRefusedBeforeTheyCostMemory) {
  auto spans = [](int n) {
    std::string body = R"({"resourceSpans":[{"scopeSpans":[{"spans":[)";
    for (int i = 0; i < n; ++i) body += i == 0 ? "{}" : ",{}";
    return body + "]}]}]}";
  };
  auto small = DecodeJson(spans(2000));
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(small->resource_spans[0].scope_spans[0].spans.size(), 2000u);
  auto flood = DecodeJson(spans(100000));
  ASSERT_FALSE(flood.ok());
  EXPECT_NE(flood.status().message().find("bytes of memory (64x the body + 1 MiB)"), std::string::npos)
      << flood.status().message();
  EXPECT_NE(flood.status().message().find("(resourceSpans[0].scopeSpans[0].spans["), std::string::npos)
      << flood.status().message();
}

// ---- response encoders ----

TEST(OtlpJson, Responses) {
  EXPECT_EQ(EncodeJsonResponse({}), "{}");
  EXPECT_EQ(EncodeJsonResponse({1, "span 0: trace_id \"\" is 0 bytes"}),
            R"({"partialSuccess":{"rejectedSpans":"1","errorMessage":"span 0: trace_id \"\" is 0 bytes"}})");
  EXPECT_EQ(EncodeJsonResponse({0, "warning"}), R"({"partialSuccess":{"errorMessage":"warning"}})");
  EXPECT_EQ(EncodeJsonResponse({9007199254740993, ""}), R"({"partialSuccess":{"rejectedSpans":"9007199254740993"}})");
  EXPECT_EQ(EncodeJsonStatus(3, "bad\nbody"), R"({"code":3,"message":"bad\nbody"})");
  EXPECT_EQ(EncodeJsonStatus(0, ""), "{}");
}

}  // namespace
}  // namespace tracedb::ingest::otel
