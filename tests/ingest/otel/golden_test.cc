// Decodes the bodies the real OpenTelemetry JS exporter sent
// (tests/ingest/otel/golden/, captured by capture_golden.py) and checks every
// value against what capture_golden.mjs exported.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "ingest/otel/otlp_json.h"
#include "ingest/otel/otlp_proto.h"
#include "tests/ingest/otel/otel_test_util.h"

namespace tracedb::ingest::otel {
namespace {

using testing::GoldenRequest;
using testing::ReadGolden;
using testing::Unhex;

// Field-by-field checks first, so that a failure names the field; then the
// whole value.
void ExpectGolden(const ExportTraceServiceRequest& r) {
  ASSERT_EQ(r.resource_spans.size(), 1u);
  const ResourceSpans& rs = r.resource_spans[0];
  ASSERT_EQ(rs.resource.attributes.size(), 4u);
  EXPECT_EQ(rs.resource.attributes[0].key, "service.name");
  EXPECT_EQ(rs.resource.attributes[0].value.str, "checkout");
  EXPECT_EQ(rs.resource.attributes[2].value.kind, AnyValue::Kind::kBytes);
  EXPECT_EQ(rs.resource.attributes[2].value.str, std::string("\x00\x01\x02\xfd\xfe\xff", 6));
  EXPECT_EQ(rs.resource.attributes[3].value.kind, AnyValue::Kind::kKvList);
  ASSERT_EQ(rs.scope_spans.size(), 2u);
  EXPECT_EQ(rs.scope_spans[0].scope.name, "golden-lib");
  EXPECT_EQ(rs.scope_spans[0].scope.version, "1.2.3");
  EXPECT_EQ(rs.scope_spans[0].schema_url, "https://opentelemetry.io/schemas/1.24.0");
  EXPECT_EQ(rs.scope_spans[1].scope.name, "golden-consumer");
  EXPECT_EQ(rs.scope_spans[1].scope.version, "");
  ASSERT_EQ(rs.scope_spans[0].spans.size(), 3u);
  ASSERT_EQ(rs.scope_spans[1].spans.size(), 2u);

  const Span& db = rs.scope_spans[0].spans[0];
  EXPECT_EQ(db.trace_id.size(), 16u);
  EXPECT_EQ(db.trace_id, Unhex("5b8efff798038103d269b633813fc60c"));
  EXPECT_EQ(db.span_id, Unhex("eee19b7ec3c1b173"));
  EXPECT_EQ(db.parent_span_id, Unhex("eee19b7ec3c1b174"));
  EXPECT_EQ(db.name, "db.query");
  EXPECT_EQ(db.kind, 3);  // client
  EXPECT_EQ(db.start_time_unix_nano, 1796533263631001123u);
  EXPECT_EQ(db.end_time_unix_nano, 1796533263631009123u);
  ASSERT_EQ(db.attributes.size(), 7u);
  EXPECT_EQ(db.attributes[1].key, "big");
  EXPECT_EQ(db.attributes[1].value.kind, AnyValue::Kind::kInt);
  EXPECT_EQ(db.attributes[1].value.i, int64_t{9007199254740992});  // 2^53, a JSON number
  EXPECT_EQ(db.attributes[2].value.i, -7);
  EXPECT_EQ(db.attributes[3].value.kind, AnyValue::Kind::kDouble);
  EXPECT_EQ(db.attributes[3].value.d, 0.25);
  EXPECT_EQ(db.attributes[4].value.kind, AnyValue::Kind::kBool);
  EXPECT_EQ(db.attributes[4].value.i, 0);
  ASSERT_EQ(db.events.size(), 1u);
  EXPECT_EQ(db.events[0].name, "exception");
  EXPECT_EQ(db.events[0].time_unix_nano, 1796533263631005123u);
  ASSERT_EQ(db.events[0].attributes.size(), 2u);
  EXPECT_EQ(db.events[0].attributes[0].value.str, "timeout");
  EXPECT_EQ(db.status.code, 2);
  EXPECT_EQ(db.status.message, "boom");
  EXPECT_EQ(db.flags, 257u);

  const Span& publish = rs.scope_spans[0].spans[1];
  ASSERT_EQ(publish.links.size(), 1u);
  EXPECT_EQ(publish.links[0].trace_id, Unhex("0af7651916cd43dd8448eb211c80319c"));
  EXPECT_EQ(publish.links[0].span_id, Unhex("b7ad6b7169203331"));
  EXPECT_EQ(publish.links[0].flags, 257u);
  EXPECT_EQ(publish.kind, 4);

  const Span& root = rs.scope_spans[0].spans[2];
  EXPECT_EQ(root.name, "GET /checkout");
  EXPECT_TRUE(root.parent_span_id.empty());
  EXPECT_EQ(root.kind, 2);
  EXPECT_EQ(root.status.code, 1);
  EXPECT_EQ(root.end_time_unix_nano - root.start_time_unix_nano, 20000u);

  const Span& consume = rs.scope_spans[1].spans[0];
  EXPECT_EQ(consume.trace_id, Unhex("4bf92f3577b34da6a3ce929d0e0e4736"));  // upper-case hex in the JSON
  EXPECT_EQ(consume.trace_state, "vendor=v1,other=x");
  EXPECT_EQ(consume.flags, 769u);  // sampled | 0x100 | 0x200: remote parent
  EXPECT_EQ(consume.kind, 5);
  EXPECT_EQ(rs.scope_spans[1].spans[1].kind, 1);
  EXPECT_EQ(rs.scope_spans[1].spans[1].end_time_unix_nano, 1796533263631040124u);

  EXPECT_TRUE(r == GoldenRequest());
}

TEST(OtlpGolden, JsExporterProtobufDecodesEveryField) {
  const std::string body = ReadGolden("js_exporter.binpb");
  ASSERT_EQ(body.size(), 1011u);
  auto r = DecodeProto(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectGolden(*r);
}

TEST(OtlpGolden, JsExporterJsonDecodesEveryField) {
  const std::string body = ReadGolden("js_exporter.json");
  ASSERT_EQ(body.size(), 3317u);
  auto r = DecodeJson(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectGolden(*r);
}

TEST(OtlpGolden, LibprotobufOracleReadsTheSameProtobufValues) {
  tracedb::otlp_oracle::ExportTraceServiceRequest oracle;
  ASSERT_TRUE(oracle.ParseFromString(ReadGolden("js_exporter.binpb")));
  // Equivalent: the exporter writes an empty `status {}` where ToOracle
  // leaves the field unset; the values are the same.
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equivalent(testing::ToOracle(GoldenRequest()), oracle))
      << oracle.DebugString();
  EXPECT_EQ(oracle.resource_spans(0).scope_spans(0).spans(0).attributes(1).value().int_value(), int64_t{1} << 53);
}

// Every proper prefix of a real body is refused with a Status (or, where it
// ends on a field boundary, decodes): never a crash.
TEST(OtlpGolden, EveryTruncationIsRefusedCleanly) {
  for (const char* name : {"js_exporter.binpb", "js_exporter.json"}) {
    const std::string body = ReadGolden(name);
    const bool json = std::string_view(name).ends_with(".json");
    int refused = 0;
    for (size_t n = 0; n < body.size(); ++n) {
      const std::string_view prefix(body.data(), n);
      auto r = json ? DecodeJson(prefix) : DecodeProto(prefix);
      if (!r.ok()) {
        ++refused;
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << name << " prefix " << n;
        EXPECT_NE(r.status().message().find("invalid OTLP"), std::string::npos) << r.status().ToString();
      }
    }
    // JSON: every prefix is incomplete. Protobuf: most cut a field.
    if (json) {
      EXPECT_EQ(refused, static_cast<int>(body.size())) << name;
    } else {
      EXPECT_GT(refused, static_cast<int>(body.size()) * 9 / 10) << name;
    }
  }
}

}  // namespace
}  // namespace tracedb::ingest::otel
