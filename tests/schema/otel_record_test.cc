// OTel spans through the stored-record codec: every field, typed nested
// attribute values, and random spans (property test).

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "schema/hot_fields.h"
#include "schema/record_codec.h"
#include "schema/records_generated.h"

namespace tracedb::schema {
namespace {

AttributeValue Str(std::string s) {
  AttributeValue v;
  v.kind = AttributeValue::Kind::kString;
  v.str = std::move(s);
  return v;
}

AttributeValue Int(int64_t i) {
  AttributeValue v;
  v.kind = AttributeValue::Kind::kInt;
  v.i = i;
  return v;
}

AttributeValue Double(double d) {
  AttributeValue v;
  v.kind = AttributeValue::Kind::kDouble;
  v.d = d;
  return v;
}

AttributeValue Bool(bool b) {
  AttributeValue v;
  v.kind = AttributeValue::Kind::kBool;
  v.i = b ? 1 : 0;
  return v;
}

AttributeValue Bytes(std::string raw) {
  AttributeValue v;
  v.kind = AttributeValue::Kind::kBytes;
  v.str = std::move(raw);
  return v;
}

AttributeValue Array(std::vector<AttributeValue> elems) {
  AttributeValue v;
  v.kind = AttributeValue::Kind::kArray;
  v.array = std::move(elems);
  return v;
}

AttributeValue KvList(Attributes pairs) {
  AttributeValue v;
  v.kind = AttributeValue::Kind::kKvList;
  v.kvlist = std::move(pairs);
  return v;
}

AttributeValue Empty() {
  AttributeValue v;
  v.kind = AttributeValue::Kind::kEmpty;
  return v;
}

// Every kind, at several depths, with the awkward values of each.
Attributes EveryKind() {
  return {
      {"s", Str("héllo \"w\" \n ✓")},
      {"empty-string", Str("")},
      {"i.min", Int(std::numeric_limits<int64_t>::min())},
      {"i.max", Int(std::numeric_limits<int64_t>::max())},
      {"big", Int(int64_t{1} << 53)},
      {"d", Double(-0.0)},
      {"nan", Double(std::nan("0x7"))},
      {"inf", Double(-std::numeric_limits<double>::infinity())},
      {"denorm", Double(std::numeric_limits<double>::denorm_min())},
      {"t", Bool(true)},
      {"f", Bool(false)},
      {"bytes", Bytes(std::string("\0\x01\xff", 3))},
      {"none", Empty()},
      {"arr", Array({Int(1), Str("two"), Double(3.5), Bool(true), Empty(), Array({}), Array({Bytes("x")})})},
      {"kv", KvList({{"a", Int(1)}, {"a", Str("dup key kept")}, {"", KvList({{"deep", Array({KvList({})})}})}})},
      {"", Str("empty key")},
      {"s", Str("repeated key kept in order")},
  };
}

Event MaximalSpan() {
  Event e;
  e.event_id = std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  e.timestamp_ns = 1'700'000'000'123'456'789;
  e.type = EventType::kSpan;
  e.actor = "GET /checkout/{id}";
  OtelSpan s;
  s.span_id = {1, 2, 3, 4, 5, 6, 7, 8};
  s.parent_span_id = SpanId{0, 0, 0, 0, 0, 0, 0, 1};
  s.name = e.actor;
  s.kind = 2;
  s.status_code = 2;
  s.status_message = "boom: ✗";
  s.end_ns = std::numeric_limits<int64_t>::max();
  s.attributes = EveryKind();
  s.trace_state = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
  s.flags = 0x301;
  s.dropped_attributes_count = std::numeric_limits<uint32_t>::max();
  s.events = {OtelSpanEvent{-5, "exception", EveryKind(), 7}, OtelSpanEvent{0, "", {}, 0}};
  s.dropped_events_count = 3;
  s.links = {OtelLink{std::string(16, '\xab'), std::string(8, '\xcd'), "k=v", EveryKind(), 9, 0x101},
             OtelLink{"short", "", "", {}, 0, 0}};
  s.dropped_links_count = 4;
  s.resource = std::make_shared<const OtelResource>(
      OtelResource{{{"service.name", Str("checkout")}, {"k8s.pod.name", Str("pod-1")}, {"nested", EveryKind()[13].second}},
                   2,
                   "https://opentelemetry.io/schemas/1.26.0"});
  s.scope = std::make_shared<const OtelScope>(
      OtelScope{"@opentelemetry/instrumentation-http", "0.52.0", {{"scope.attr", Bool(true)}}, 1, "https://scope"});
  e.otel = std::move(s);
  return e;
}

Event RoundTrip(const Event& e) {
  Event back;
  Status s = DecodeEventRecord(EncodeEventRecord(e), &back);
  EXPECT_TRUE(s.ok()) << s.ToString();
  // The key fields are not in the value.
  back.event_id = e.event_id;
  back.timestamp_ns = e.timestamp_ns;
  back.seq = e.seq;
  return back;
}

TEST(OtelRecord, MaximalSpanRoundTripsEveryField) {
  Event e = MaximalSpan();
  Event back = RoundTrip(e);
  EXPECT_EQ(back, e);
  // Spot checks that equality looked at what matters.
  ASSERT_TRUE(back.otel.has_value());
  const OtelSpan& s = *back.otel;
  ASSERT_EQ(s.attributes.size(), e.otel->attributes.size());
  EXPECT_EQ(s.attributes[6].second.kind, AttributeValue::Kind::kDouble);
  EXPECT_TRUE(std::isnan(s.attributes[6].second.d));
  EXPECT_TRUE(std::signbit(s.attributes[5].second.d));
  EXPECT_EQ(s.attributes[14].second.kvlist[2].second.kvlist[0].second.array[0].kind, AttributeValue::Kind::kKvList);
  ASSERT_NE(s.resource, nullptr);
  EXPECT_EQ(s.resource->schema_url, "https://opentelemetry.io/schemas/1.26.0");
  ASSERT_NE(s.scope, nullptr);
  EXPECT_EQ(s.scope->version, "0.52.0");
  EXPECT_EQ(s.links[0].flags, 0x101u);
  EXPECT_EQ(s.events[0].time_ns, -5);
}

TEST(OtelRecord, EqualitySeesEveryDifference) {
  // The round-trip test is only as strong as operator==: a change in any
  // nested field must make spans unequal.
  const Event base = MaximalSpan();
  std::vector<std::function<void(OtelSpan&)>> edits = {
      [](OtelSpan& s) { s.attributes[14].second.kvlist[2].second.kvlist[0].second.array[0].kind = AttributeValue::Kind::kEmpty; },
      [](OtelSpan& s) { s.attributes[6].second.d = std::nan("0x8"); },
      [](OtelSpan& s) { s.attributes[5].second.d = 0.0; },
      [](OtelSpan& s) { s.events[1].dropped_attributes_count = 1; },
      [](OtelSpan& s) { s.links[1].span_id = "x"; },
      [](OtelSpan& s) { s.resource = std::make_shared<const OtelResource>(); },
      [](OtelSpan& s) { s.scope = nullptr; },
      [](OtelSpan& s) { s.flags = 1; },
      [](OtelSpan& s) { s.parent_span_id.reset(); },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    Event changed = base;
    edits[i](*changed.otel);
    EXPECT_FALSE(changed == base) << "edit " << i;
  }
  Event no_resource = base;
  no_resource.otel->resource = nullptr;
  Event empty_resource = base;
  empty_resource.otel->resource = std::make_shared<const OtelResource>();
  EXPECT_EQ(no_resource, empty_resource);  // nullptr reads as empty
}

TEST(OtelRecord, FirstSchemaSpanStillDecodes) {
  // A span with only the fields of the first OtelData schema (what a store
  // written before OTLP ingest would hold) reads back with defaults.
  Event e;
  e.type = EventType::kSpan;
  e.actor = "GET /";
  OtelSpan s;
  s.span_id = {8, 7, 6, 5, 4, 3, 2, 1};
  s.name = "GET /";
  s.kind = 1;
  s.end_ns = 5;
  s.attributes = {{"legacy", Str("v")}};
  e.otel = s;
  Event back = RoundTrip(e);
  EXPECT_EQ(back, e);
  EXPECT_EQ(back.otel->resource, nullptr);
  EXPECT_TRUE(back.otel->events.empty());
}

TEST(OtelRecord, DeepestAllowedNestingVerifies) {
  AttributeValue v = Int(1);
  for (uint32_t i = 0; i < kMaxAttributeDepth; ++i) v = (i % 2 == 0) ? Array({v}) : KvList({{"k", v}});
  Event e = MaximalSpan();
  // The deepest records: inside a span event and inside a link.
  e.otel->events[0].attributes = {{"deep", v}};
  e.otel->links[0].attributes = {{"deep", v}};
  e.otel->attributes = {{"deep", v}};
  EXPECT_EQ(RoundTrip(e), e);
}

TEST(OtelRecord, ManyAttributesAreNotCorruption) {
  // Over the FlatBuffers verifier's default table budget (one million).
  Event e = MaximalSpan();
  e.otel->attributes.assign(1'100'000, {"k", Bool(true)});
  EXPECT_EQ(RoundTrip(e), e);
}

TEST(OtelRecord, TruncatedSpanIsCorruption) {
  std::string good = EncodeEventRecord(MaximalSpan());
  Event e;
  for (size_t cut : {size_t{1}, good.size() / 3, good.size() / 2}) {
    EXPECT_EQ(DecodeEventRecord(good.substr(0, cut), &e).code(), ::tracedb::StatusCode::kCorruption);
  }
}

TEST(OtelRecord, HotFieldsOfASpan) {
  Event e = MaximalSpan();
  e.otel->end_ns = e.timestamp_ns + 1500;
  HotFields hot = ExtractHotFields(e);
  EXPECT_EQ(hot.duration_ns, 1500u);
  EXPECT_EQ(hot.status, EventStatusCode::kError);
  EXPECT_EQ(hot.span_kind, 2);
  e.otel->status_code = 1;
  e.otel->kind = 5;
  hot = ExtractHotFields(e);
  EXPECT_EQ(hot.status, EventStatusCode::kOk);
  EXPECT_EQ(hot.span_kind, 5);
}

TEST(OtelRecord, ServiceNameIsTheStringServiceNameAttribute) {
  OtelResource r;
  EXPECT_EQ(OtelServiceName(r), kUnknownService);
  r.attributes = {{"service.name", Int(3)}};  // not a string: not a name
  EXPECT_EQ(OtelServiceName(r), kUnknownService);
  r.attributes.emplace_back("service.name", Str("checkout"));
  EXPECT_EQ(OtelServiceName(r), "checkout");
}

TEST(OtelRecord, TraceHeaderAndBookkeepingOfOtelRoundTrip) {
  Trace t;
  t.source = Source::kOtel;
  t.flow_id = "frontend";
  t.name = "GET /checkout";
  t.start_ns = 10;
  t.end_ns = 20;
  t.status = ExecutionStatus{StatusCode::kFailed, "db.query: timeout"};
  TraceBookkeeping bk;
  bk.flows = {"checkout", "db", ""};
  bk.has_root = true;
  Trace back;
  TraceBookkeeping bk_back;
  ASSERT_TRUE(DecodeTraceRecord(EncodeTraceRecord(t, bk), &back, &bk_back).ok());
  EXPECT_EQ(back, t);
  EXPECT_EQ(bk_back, bk);
}

TEST(OtelRecord, SpanKindColumnIsStoredOnlyWhenSomeKindIsSet) {
  Columns c;
  c.timestamp_ns = {1, 2, 3};
  c.seq = {0, 0, 0};
  c.event_fp = {1, 2, 3};
  c.type = {64, 64, 64};
  c.actor = {0, 0, 0};
  c.actors = {"a"};
  c.duration_ns = {1, 2, 3};
  c.size_bytes = {0, 0, 0};
  c.status = {0, 0, 0};
  c.span_kind = {0, 2, 3};
  Columns back;
  ASSERT_TRUE(DecodeColumns(EncodeColumns(c), &back).ok());
  EXPECT_EQ(back, c);
  EXPECT_EQ(back.span_kind_at(1), 2);

  c.span_kind = {0, 0, 0};
  std::string all_zero = EncodeColumns(c);
  c.span_kind.clear();
  EXPECT_EQ(all_zero, EncodeColumns(c));
  ASSERT_TRUE(DecodeColumns(all_zero, &back).ok());
  EXPECT_TRUE(back.span_kind.empty());
  EXPECT_EQ(back.span_kind_at(2), 0);

  c.span_kind = {1, 2};  // wrong length
  EXPECT_EQ(DecodeColumns(EncodeColumns(c), &back).code(), ::tracedb::StatusCode::kCorruption);
}

// Three spans of services "checkout" and "db" and one Reflow event.
Columns MixedChunk() {
  Columns c;
  c.trace_start_ns = 7;
  c.timestamp_ns = {1, 2, 3, 4};
  c.seq = {0, 0, 0, 3};
  c.event_fp = {1, 2, 3, 4};
  c.type = {64, 64, 64, 3};
  c.actor = {0, 1, 0, 0};
  c.actors = {"GET /", "db.query"};
  c.duration_ns = {1, 2, 3, 4};
  c.size_bytes = {0, 0, 0, 0};
  c.status = {0, 0, 0, 1};
  c.service = {0, 1, 0, Columns::kNoService};
  c.services = {"checkout", "db"};
  return c;
}

TEST(OtelRecord, ServiceColumnRoundTripsAndIsStoredOnlyWithSpans) {
  Columns c = MixedChunk();
  Columns back;
  ASSERT_TRUE(DecodeColumns(EncodeColumns(c), &back).ok());
  EXPECT_EQ(back, c);
  ASSERT_NE(back.service_at(1), nullptr);
  EXPECT_EQ(*back.service_at(1), "db");
  EXPECT_EQ(back.service_at(3), nullptr);  // not a span: the trace's flow

  // Without spans nothing is stored, and the chunk reads as before.
  c.service.clear();
  c.services.clear();
  ASSERT_TRUE(DecodeColumns(EncodeColumns(c), &back).ok());
  EXPECT_EQ(back, c);
  EXPECT_EQ(back.service_at(0), nullptr);
}

TEST(OtelRecord, ChunkWrittenBeforeTheServiceColumnDecodesWithoutIt) {
  // The ColumnChunk table as written before `service` and `services` were
  // appended: the same fields in the same order.
  Columns c = MixedChunk();
  c.service.clear();
  c.services.clear();
  c.span_kind = {2, 3, 1, 0};
  flatbuffers::FlatBufferBuilder fbb;
  auto ts = fbb.CreateVector(c.timestamp_ns);
  auto seq = fbb.CreateVector(c.seq);
  auto fp = fbb.CreateVector(c.event_fp);
  auto type = fbb.CreateVector(c.type);
  auto actor = fbb.CreateVector(c.actor);
  auto actors = fbb.CreateVectorOfStrings(c.actors);
  auto dur = fbb.CreateVector(c.duration_ns);
  auto size = fbb.CreateVector(c.size_bytes);
  auto status = fbb.CreateVector(c.status);
  auto span_kind = fbb.CreateVector(c.span_kind);
  fb::ColumnChunkBuilder b(fbb);
  b.add_timestamp_ns(ts);
  b.add_seq(seq);
  b.add_event_fp(fp);
  b.add_type(type);
  b.add_actor(actor);
  b.add_actors(actors);
  b.add_duration_ns(dur);
  b.add_size_bytes(size);
  b.add_status(status);
  b.add_trace_start_ns(c.trace_start_ns);
  b.add_span_kind(span_kind);
  fbb.Finish(b.Finish());
  std::string old(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());

  Columns back;
  ASSERT_TRUE(DecodeColumns(old, &back).ok());
  EXPECT_EQ(back, c);
  EXPECT_TRUE(back.service.empty());
  EXPECT_EQ(back.service_at(0), nullptr);
  // A chunk without the column is written byte for byte as before.
  EXPECT_EQ(EncodeColumns(c), old);
}

TEST(OtelRecord, ServiceColumnOfTheWrongShapeIsCorrupt) {
  Columns c = MixedChunk();
  Columns back;
  c.service = {0, 1, 0};  // wrong length
  EXPECT_EQ(DecodeColumns(EncodeColumns(c), &back).code(), ::tracedb::StatusCode::kCorruption);
  c.service = {0, 1, 2, Columns::kNoService};  // index past the dictionary
  EXPECT_EQ(DecodeColumns(EncodeColumns(c), &back).code(), ::tracedb::StatusCode::kCorruption);
}

// Random values of every kind, nested up to `depth` levels.
class RandomSpans {
 public:
  explicit RandomSpans(uint64_t seed) : rng_(seed) {}

  Event Span() {
    Event e;
    e.type = EventType::kSpan;
    OtelSpan s;
    for (auto& b : s.span_id) b = Byte();
    if (Coin()) {
      SpanId p;
      for (auto& b : p) b = Byte();
      s.parent_span_id = p;
    }
    s.name = Text();
    e.actor = s.name;
    s.kind = Byte();
    s.status_code = Byte();
    s.status_message = Text();
    s.end_ns = static_cast<int64_t>(rng_());
    s.attributes = Attrs(3);
    s.trace_state = Text();
    s.flags = static_cast<uint32_t>(rng_());
    s.dropped_attributes_count = static_cast<uint32_t>(rng_());
    for (int i = Small(); i > 0; --i) {
      s.events.push_back(OtelSpanEvent{static_cast<int64_t>(rng_()), Text(), Attrs(2), static_cast<uint32_t>(rng_())});
    }
    s.dropped_events_count = static_cast<uint32_t>(rng_());
    for (int i = Small(); i > 0; --i) {
      s.links.push_back(OtelLink{Text(), Text(), Text(), Attrs(2), static_cast<uint32_t>(rng_()),
                                 static_cast<uint32_t>(rng_())});
    }
    s.dropped_links_count = static_cast<uint32_t>(rng_());
    if (Coin()) {
      s.resource = std::make_shared<const OtelResource>(OtelResource{Attrs(2), static_cast<uint32_t>(rng_()), Text()});
    }
    if (Coin()) {
      s.scope = std::make_shared<const OtelScope>(
          OtelScope{Text(), Text(), Attrs(1), static_cast<uint32_t>(rng_()), Text()});
    }
    e.otel = std::move(s);
    return e;
  }

 private:
  uint8_t Byte() { return static_cast<uint8_t>(rng_()); }
  bool Coin() { return rng_() % 2 == 0; }
  int Small() { return static_cast<int>(rng_() % 4); }
  std::string Text() {
    std::string s(rng_() % 12, '\0');
    for (char& c : s) c = static_cast<char>(rng_());  // any bytes, NUL included
    return s;
  }
  Attributes Attrs(int depth) {
    Attributes out;
    for (int i = Small(); i > 0; --i) out.emplace_back(Text(), Value(depth));
    return out;
  }
  AttributeValue Value(int depth) {
    int pick = static_cast<int>(rng_() % (depth > 0 ? 8 : 6));
    switch (pick) {
      case 0: return Str(Text());
      case 1: return Bool(Coin());
      case 2: return Int(static_cast<int64_t>(rng_()));
      case 3: return Double(std::bit_cast<double>(static_cast<uint64_t>(rng_())));  // NaNs and infinities too
      case 4: return Bytes(Text());
      case 5: return Empty();
      case 6: {
        std::vector<AttributeValue> elems;
        for (int i = Small(); i > 0; --i) elems.push_back(Value(depth - 1));
        return Array(std::move(elems));
      }
      default: return KvList(Attrs(depth - 1));
    }
  }

  std::mt19937_64 rng_;
};

TEST(OtelRecord, RandomSpansRoundTrip) {
  RandomSpans gen(20261206);
  for (int i = 0; i < 2000; ++i) {
    Event e = gen.Span();
    Event back = RoundTrip(e);
    ASSERT_EQ(back, e) << "span " << i;
  }
}

}  // namespace
}  // namespace tracedb::schema
