#include "ingest/otel/otlp_proto.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/ingest/otel/otel_test_util.h"

namespace tracedb::ingest::otel {
namespace {

namespace oracle = tracedb::otlp_oracle;

// ---- hand-built wire bytes ----
std::string Varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
  return s;
}
std::string Tag(uint32_t number, int wire) { return Varint(uint64_t{number} << 3 | wire); }
std::string Len(uint32_t number, std::string_view payload) {
  return Tag(number, 2) + Varint(payload.size()) + std::string(payload);
}
// A request holding one span whose encoded fields are `span_fields`.
std::string OneSpan(std::string_view span_fields) { return Len(1, Len(2, Len(2, span_fields))); }
// A span whose first attribute's value is `any_value`.
std::string OneAttribute(std::string_view any_value) { return OneSpan(Len(9, Len(1, "k") + Len(2, any_value))); }
std::string NestedArrays(int levels) {
  std::string v = Len(1, "leaf");  // string_value
  for (int i = 1; i < levels; ++i) v = Len(5, Len(1, v));  // array_value { values: v }
  return v;
}

TEST(OtlpProto, EmptyBodyIsAnEmptyRequest) {
  auto r = DecodeProto("");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->resource_spans.empty());
}

TEST(OtlpProto, RandomRequestsDecodeAsLibprotobufEncodedThem) {
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    std::mt19937_64 rng(seed);
    const ExportTraceServiceRequest want = testing::RandomRequest(rng);
    const std::string wire = testing::ToOracle(want).SerializeAsString();
    auto got = DecodeProto(wire);
    ASSERT_TRUE(got.ok()) << "seed " << seed << ": " << got.status().ToString();
    ASSERT_TRUE(*got == want) << "seed " << seed;
  }
}

TEST(OtlpProto, UnknownFieldsOfEveryWireTypeAreSkipped) {
  int with_unknown = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 rng(seed);
    std::mt19937_64 unknown(seed * 7919);
    const ExportTraceServiceRequest want = testing::RandomRequest(rng);
    const oracle::ExportTraceServiceRequest o = testing::ToOracle(want, &unknown);
    const std::string wire = o.SerializeAsString();
    with_unknown += wire.size() > testing::ToOracle(want).ByteSizeLong();
    auto got = DecodeProto(wire);
    ASSERT_TRUE(got.ok()) << "seed " << seed << ": " << got.status().ToString();
    ASSERT_TRUE(*got == want) << "seed " << seed;
  }
  EXPECT_GT(with_unknown, 100);  // the generator did add unknown fields
}

TEST(OtlpProto, RepeatedScalarKeepsTheLastValueAndMessagesMerge) {
  // name twice; status twice (code, then message): merged.
  const std::string span = Len(5, "first") + Len(5, "second") + Len(15, Tag(3, 0) + Varint(2)) +
                           Len(15, Len(2, "boom"));
  auto r = DecodeProto(OneSpan(span));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Span& s = r->resource_spans[0].scope_spans[0].spans[0];
  EXPECT_EQ(s.name, "second");
  EXPECT_EQ(s.status.code, 2);
  EXPECT_EQ(s.status.message, "boom");
  oracle::ExportTraceServiceRequest o;
  ASSERT_TRUE(o.ParseFromString(OneSpan(span)));
  EXPECT_EQ(o.resource_spans(0).scope_spans(0).spans(0).name(), "second");
  EXPECT_EQ(o.resource_spans(0).scope_spans(0).spans(0).status().message(), "boom");
}

TEST(OtlpProto, NegativeInt32IsTheLowBitsOfATenByteVarint) {
  auto r = DecodeProto(OneSpan(Tag(6, 0) + Varint(static_cast<uint64_t>(int64_t{-3}))));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->resource_spans[0].scope_spans[0].spans[0].kind, -3);
}

TEST(OtlpProto, AnyValueNestingUpToTheLimitDecodes) {
  auto r = DecodeProto(OneAttribute(NestedArrays(kMaxAnyValueDepth)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const AnyValue* v = &r->resource_spans[0].scope_spans[0].spans[0].attributes[0].value;
  int depth = 1;
  while (v->kind == AnyValue::Kind::kArray) {
    v = &v->array[0];
    ++depth;
  }
  EXPECT_EQ(depth, kMaxAnyValueDepth);
  EXPECT_EQ(v->str, "leaf");
}

// 2-byte empty spans would each become a ~300-byte Span: refused once the
// values outgrow kMaxDecodeAmplification x the body + 1 MiB.
TEST(OtlpProto, EmptyMessageFloodsAreRefusedBeforeTheyCostMemory) {
  auto spans = [](int n) {
    std::string scope;
    for (int i = 0; i < n; ++i) scope += Len(2, "");
    return Len(1, Len(2, scope));
  };
  auto small = DecodeProto(spans(2000));
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(small->resource_spans[0].scope_spans[0].spans.size(), 2000u);
  auto flood = DecodeProto(spans(100000));
  ASSERT_FALSE(flood.ok());
  EXPECT_NE(flood.status().message().find("bytes of memory (64x the body + 1 MiB)"), std::string::npos)
      << flood.status().message();
  EXPECT_NE(flood.status().message().find("resource_spans[0].scope_spans[0].spans; ScopeSpans field 2"),
            std::string::npos)
      << flood.status().message();
}

struct Refusal {
  const char* name;
  std::string body;
  std::vector<std::string> message_parts;  // each must appear in the Status message
};

std::vector<Refusal> Refusals() {
  const std::string too_deep = OneAttribute(NestedArrays(kMaxAnyValueDepth + 1));
  return {
      {"truncated varint", "\x0a\x80",
       {"at byte 0", "resource_spans", "ExportTraceServiceRequest field 1", "truncated varint"}},
      {"truncated tag", OneSpan("\x80"), {"truncated varint in a tag", "spans[0]", "Span"}},
      {"length past end", "\x0a\x05\x01",
       {"at byte 0", "length 5 runs past the end of the enclosing message (1 bytes left)"}},
      {"nested length past end", OneSpan(Tag(5, 2) + Varint(100) + "abc"),
       {"at byte 6", "resource_spans[0].scope_spans[0].spans[0].name; Span field 5", "length 100"}},
      {"wrong wire type for a known field", OneSpan(Tag(7, 0) + Varint(1)),
       {"at byte 6", "resource_spans[0].scope_spans[0].spans[0].start_time_unix_nano; Span field 7",
        "wire type 0, expected 1 (fixed64)"}},
      {"string field as varint", OneSpan(Tag(5, 0) + Varint(1)), {"Span field 5", "expected 2"}},
      {"truncated fixed64", OneSpan(Tag(8, 1) + "abc"), {"end_time_unix_nano", "truncated fixed64"}},
      {"truncated fixed32", OneSpan(Tag(16, 5) + "ab"), {"flags", "truncated fixed32"}},
      {"varint over 10 bytes", OneSpan(Tag(6, 0) + std::string(11, '\xff')), {"kind", "longer than 10 bytes"}},
      {"group wire type", Tag(9, 3), {"group wire types"}},
      {"invalid wire type", Tag(9, 7), {"invalid wire type 7"}},
      {"field number zero", std::string("\x02\x00", 2), {"invalid field number 0"}},
      {"invalid UTF-8 in a string", OneSpan(Len(5, "\xff\xfe")), {"spans[0].name", "not valid UTF-8"}},
      {"invalid UTF-8 in a key", OneSpan(Len(9, Len(1, "\xc3"))), {"attributes[0].key", "not valid UTF-8"}},
      {"wrong wire type inside an AnyValue", OneAttribute(Tag(4, 0) + Varint(1)),
       {"attributes[0].value.double_value; AnyValue field 4", "expected 1"}},
      {"too deep nesting", too_deep,
       {"nested deeper than 64 levels", "attributes[0].value.array_value.values[0].array_value"}},
  };
}

TEST(OtlpProto, MalformedInputIsRefusedWithWhereAndWhy) {
  for (const Refusal& c : Refusals()) {
    auto r = DecodeProto(c.body);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.name;
    for (const std::string& part : c.message_parts) {
      EXPECT_NE(r.status().message().find(part), std::string::npos)
          << c.name << ": \"" << part << "\" not in: " << r.status().message();
    }
  }
}

TEST(OtlpProto, SingleByteCorruptionsNeverCrash) {
  std::mt19937_64 rng(42);
  const std::string golden = testing::ReadGolden("js_exporter.binpb");
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string body = golden;
    body[rng() % body.size()] = static_cast<char>(rng());
    auto r = DecodeProto(body);
    if (!r.ok()) {
      ++refused;
      EXPECT_NE(r.status().message().find("at byte"), std::string::npos) << r.status().message();
    }
  }
  EXPECT_GT(refused, 0);
}

// ---- response encoders, checked by libprotobuf ----

TEST(OtlpProto, FullSuccessResponseIsEmpty) { EXPECT_EQ(EncodeProtoResponse(PartialSuccess{}), ""); }

TEST(OtlpProto, PartialSuccessResponseMatchesLibprotobuf) {
  const PartialSuccess cases[] = {
      {1, "1 span rejected: trace_id is 3 bytes, expected 16"},
      {0, "warning only"},
      {int64_t{1} << 40, ""},
      {-1, "negative"},
  };
  for (const PartialSuccess& ps : cases) {
    const std::string wire = EncodeProtoResponse(ps);
    oracle::ExportTraceServiceResponse resp;
    ASSERT_TRUE(resp.ParseFromString(wire)) << ps.error_message;
    ASSERT_TRUE(resp.has_partial_success());
    EXPECT_EQ(resp.partial_success().rejected_spans(), ps.rejected_spans);
    EXPECT_EQ(resp.partial_success().error_message(), ps.error_message);
    EXPECT_EQ(wire, resp.SerializeAsString());
  }
}

TEST(OtlpProto, StatusMatchesLibprotobuf) {
  const std::pair<int, std::string> cases[] = {{3, "invalid OTLP protobuf at byte 0"}, {0, "no code"}, {8, ""}, {-2, "x"}};
  for (const auto& [code, message] : cases) {
    const std::string wire = EncodeProtoStatus(code, message);
    oracle::RpcStatus st;
    ASSERT_TRUE(st.ParseFromString(wire));
    EXPECT_EQ(st.code(), code);
    EXPECT_EQ(st.message(), message);
    EXPECT_EQ(wire, st.SerializeAsString());
  }
}

}  // namespace
}  // namespace tracedb::ingest::otel
