#include "tests/ingest/otel/otel_test_util.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>

#include "schema/json_writer.h"

namespace tracedb::ingest::otel::testing {

namespace oracle = tracedb::otlp_oracle;

std::string ReadGolden(std::string_view name) {
  const std::string path = std::string(TRACEDB_SOURCE_DIR) + "/tests/ingest/otel/golden/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string Unhex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
  return out;
}

AnyValue Str(std::string s) {
  AnyValue v;
  v.kind = AnyValue::Kind::kString;
  v.str = std::move(s);
  return v;
}
AnyValue Int(int64_t i) {
  AnyValue v;
  v.kind = AnyValue::Kind::kInt;
  v.i = i;
  return v;
}
AnyValue Dbl(double d) {
  AnyValue v;
  v.kind = AnyValue::Kind::kDouble;
  v.d = d;
  return v;
}
AnyValue Bool(bool b) {
  AnyValue v;
  v.kind = AnyValue::Kind::kBool;
  v.i = b ? 1 : 0;
  return v;
}
AnyValue Bytes(std::string b) {
  AnyValue v;
  v.kind = AnyValue::Kind::kBytes;
  v.str = std::move(b);
  return v;
}
AnyValue Array(std::vector<AnyValue> values) {
  AnyValue v;
  v.kind = AnyValue::Kind::kArray;
  v.array = std::move(values);
  return v;
}
AnyValue KvList(std::vector<KeyValue> values) {
  AnyValue v;
  v.kind = AnyValue::Kind::kKvList;
  v.kvlist = std::move(values);
  return v;
}

ExportTraceServiceRequest GoldenRequest() {
  constexpr uint64_t kT0 = 1796533263631000123;  // capture_golden.mjs: t(0)
  const std::string trace = Unhex("5b8efff798038103d269b633813fc60c");
  const std::string root_id = Unhex("eee19b7ec3c1b174");
  ExportTraceServiceRequest r;
  ResourceSpans& rs = r.resource_spans.emplace_back();
  rs.resource.attributes = {
      {"service.name", Str("checkout")},
      {"service.version", Str("1.4.2")},
      {"host.id", Bytes(std::string("\x00\x01\x02\xfd\xfe\xff", 6))},
      {"deployment", KvList({{"region", Str("eu-west-1")}, {"replicas", Int(3)}})},
  };

  ScopeSpans& lib = rs.scope_spans.emplace_back();
  lib.scope.name = "golden-lib";
  lib.scope.version = "1.2.3";
  lib.schema_url = "https://opentelemetry.io/schemas/1.24.0";

  Span& db = lib.spans.emplace_back();
  db.trace_id = trace;
  db.span_id = Unhex("eee19b7ec3c1b173");
  db.parent_span_id = root_id;
  db.name = "db.query";
  db.kind = 3;
  db.start_time_unix_nano = kT0 + 1000;
  db.end_time_unix_nano = kT0 + 9000;
  db.attributes = {
      {"db.rows", Int(42)},
      {"big", Int(int64_t{1} << 53)},
      {"neg", Int(-7)},
      {"ratio", Dbl(0.25)},
      {"cached", Bool(false)},
      {"tags", Array({Str("a"), Str("b")})},
      {"ids", Array({Int(1), Int(2), Int(3)})},
  };
  SpanEvent& ev = db.events.emplace_back();
  ev.time_unix_nano = kT0 + 5000;
  ev.name = "exception";
  ev.attributes = {{"exception.message", Str("timeout")}, {"attempt", Int(2)}};
  db.status = {"boom", 2};
  db.flags = 257;

  Span& publish = lib.spans.emplace_back();
  publish.trace_id = trace;
  publish.span_id = Unhex("0123456789abcdef");
  publish.parent_span_id = root_id;
  publish.name = "publish";
  publish.kind = 4;
  publish.start_time_unix_nano = kT0 + 10000;
  publish.end_time_unix_nano = kT0 + 12000;
  SpanLink& link = publish.links.emplace_back();
  link.trace_id = Unhex("0af7651916cd43dd8448eb211c80319c");
  link.span_id = Unhex("b7ad6b7169203331");
  link.attributes = {{"link.kind", Str("batch")}};
  link.flags = 257;
  publish.flags = 257;

  Span& root = lib.spans.emplace_back();
  root.trace_id = trace;
  root.span_id = root_id;
  root.name = "GET /checkout";
  root.kind = 2;
  root.start_time_unix_nano = kT0;
  root.end_time_unix_nano = kT0 + 20000;
  root.attributes = {{"http.method", Str("GET")}, {"http.route", Str("/checkout")}, {"http.status_code", Int(200)}};
  root.status.code = 1;
  root.flags = 257;

  ScopeSpans& consumer = rs.scope_spans.emplace_back();
  consumer.scope.name = "golden-consumer";

  Span& consume = consumer.spans.emplace_back();
  consume.trace_id = Unhex("4bf92f3577b34da6a3ce929d0e0e4736");
  consume.span_id = Unhex("a0b1c2d3e4f50617");
  consume.parent_span_id = Unhex("00f067aa0ba902b7");
  consume.trace_state = "vendor=v1,other=x";
  consume.name = "consume";
  consume.kind = 5;
  consume.start_time_unix_nano = kT0 + 30000;
  consume.end_time_unix_nano = kT0 + 31000;
  consume.flags = 769;

  Span& internal = consumer.spans.emplace_back();
  internal.trace_id = Unhex("d4cda95b652f4a1592b449d5929fda1b");
  internal.span_id = Unhex("fedcba9876543210");
  internal.name = "internal-work";
  internal.kind = 1;
  internal.start_time_unix_nano = kT0 + 40000;
  internal.end_time_unix_nano = kT0 + 40001;
  internal.flags = 257;
  return r;
}

// ---- random requests ----

namespace {

int Below(std::mt19937_64& rng, int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); }

std::string RandomText(std::mt19937_64& rng) {
  static const char* const kPieces[] = {"a", "http.route", " ", "é", "漢字", "🙂", "\"", "\\", "\n", "/x", "0", "\x01"};
  std::string s;
  const int n = Below(rng, 5);
  for (int i = 0; i < n; ++i) s += kPieces[Below(rng, std::size(kPieces))];
  return s;
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string RandomId(std::mt19937_64& rng, size_t valid_size) {
  static const size_t kOdd[] = {0, 1, 3, 17};
  return RandomBytes(rng, Below(rng, 8) == 0 ? kOdd[Below(rng, 4)] : valid_size);
}

uint64_t RandomU64(std::mt19937_64& rng) {
  switch (Below(rng, 4)) {
    case 0: return rng() % 1000;
    case 1: return std::numeric_limits<uint64_t>::max() - rng() % 3;
    case 2: return (uint64_t{1} << 53) + rng() % 3;
    default: return rng();
  }
}

uint32_t RandomU32(std::mt19937_64& rng) { return Below(rng, 2) == 0 ? 0 : static_cast<uint32_t>(RandomU64(rng)); }

std::vector<KeyValue> RandomAttributes(std::mt19937_64& rng, int depth, int max_depth);

AnyValue RandomValue(std::mt19937_64& rng, int depth, int max_depth) {
  const int kinds = depth < max_depth ? 8 : 6;
  switch (Below(rng, kinds)) {
    case 0: return AnyValue{};
    case 1: return Str(RandomText(rng));
    case 2: return Bool(Below(rng, 2) == 0);
    case 3: return Int(static_cast<int64_t>(RandomU64(rng)));
    case 4: {
      static const double kDoubles[] = {0.0, -0.0, 0.1, -2.5e-300, 1e300, 3.141592653589793,
                                        std::numeric_limits<double>::infinity(),
                                        -std::numeric_limits<double>::infinity(), 9007199254740993.0};
      if (Below(rng, 2) == 0) return Dbl(kDoubles[Below(rng, std::size(kDoubles))]);
      double d;
      do {
        const uint64_t bits = rng();
        std::memcpy(&d, &bits, sizeof d);
      } while (!std::isfinite(d));
      return Dbl(d);
    }
    case 5: return Bytes(RandomBytes(rng, Below(rng, 9)));
    case 6: {
      std::vector<AnyValue> values(Below(rng, 4));
      for (AnyValue& v : values) v = RandomValue(rng, depth + 1, max_depth);
      return Array(std::move(values));
    }
    default: return KvList(RandomAttributes(rng, depth + 1, max_depth));
  }
}

std::vector<KeyValue> RandomAttributes(std::mt19937_64& rng, int depth, int max_depth) {
  std::vector<KeyValue> kvs(Below(rng, 4));
  for (KeyValue& kv : kvs) {
    kv.key = RandomText(rng);
    kv.value = RandomValue(rng, depth, max_depth);
  }
  return kvs;
}

Span RandomSpan(std::mt19937_64& rng, int max_depth) {
  static const int32_t kKinds[] = {0, 1, 2, 3, 4, 5, 6, -1, std::numeric_limits<int32_t>::min()};
  Span s;
  s.trace_id = RandomId(rng, 16);
  s.span_id = RandomId(rng, 8);
  if (Below(rng, 2) == 0) s.parent_span_id = RandomId(rng, 8);
  if (Below(rng, 3) == 0) s.trace_state = "k=" + RandomText(rng);
  s.name = RandomText(rng);
  s.kind = kKinds[Below(rng, std::size(kKinds))];
  s.start_time_unix_nano = RandomU64(rng);
  s.end_time_unix_nano = RandomU64(rng);
  s.attributes = RandomAttributes(rng, 0, max_depth);
  s.dropped_attributes_count = RandomU32(rng);
  for (int i = Below(rng, 3); i > 0; --i) {
    SpanEvent& e = s.events.emplace_back();
    e.time_unix_nano = RandomU64(rng);
    e.name = RandomText(rng);
    e.attributes = RandomAttributes(rng, 0, max_depth);
    e.dropped_attributes_count = RandomU32(rng);
  }
  s.dropped_events_count = RandomU32(rng);
  for (int i = Below(rng, 3); i > 0; --i) {
    SpanLink& l = s.links.emplace_back();
    l.trace_id = RandomId(rng, 16);
    l.span_id = RandomId(rng, 8);
    if (Below(rng, 2) == 0) l.trace_state = RandomText(rng);
    l.attributes = RandomAttributes(rng, 0, max_depth);
    l.dropped_attributes_count = RandomU32(rng);
    l.flags = RandomU32(rng);
  }
  s.dropped_links_count = RandomU32(rng);
  s.status.code = kKinds[Below(rng, std::size(kKinds))];
  s.status.message = RandomText(rng);
  s.flags = RandomU32(rng);
  return s;
}

}  // namespace

ExportTraceServiceRequest RandomRequest(std::mt19937_64& rng, int max_depth) {
  ExportTraceServiceRequest r;
  for (int i = Below(rng, 4); i > 0; --i) {
    ResourceSpans& rs = r.resource_spans.emplace_back();
    rs.resource.attributes = RandomAttributes(rng, 0, max_depth);
    rs.resource.dropped_attributes_count = RandomU32(rng);
    if (Below(rng, 2) == 0) rs.schema_url = RandomText(rng);
    for (int j = Below(rng, 4); j > 0; --j) {
      ScopeSpans& ss = rs.scope_spans.emplace_back();
      ss.scope.name = RandomText(rng);
      ss.scope.version = RandomText(rng);
      ss.scope.attributes = RandomAttributes(rng, 0, max_depth);
      ss.scope.dropped_attributes_count = RandomU32(rng);
      if (Below(rng, 2) == 0) ss.schema_url = RandomText(rng);
      for (int k = Below(rng, 4); k > 0; --k) ss.spans.push_back(RandomSpan(rng, max_depth));
    }
  }
  return r;
}

// ---- libprotobuf oracle ----

namespace {

void AddUnknown(google::protobuf::Message* m, std::mt19937_64* rng) {
  if (rng == nullptr || Below(*rng, 3) != 0) return;
  auto* uf = m->GetReflection()->MutableUnknownFields(m);
  const int number = 100 + Below(*rng, 1000);
  switch (Below(*rng, 4)) {
    case 0: uf->AddVarint(number, (*rng)()); break;
    case 1: uf->AddFixed64(number, (*rng)()); break;
    case 2: uf->AddFixed32(number, static_cast<uint32_t>((*rng)())); break;
    default: uf->AddLengthDelimited(number, RandomBytes(*rng, Below(*rng, 20))); break;
  }
}

void ToOracle(const std::vector<KeyValue>& in, google::protobuf::RepeatedPtrField<oracle::KeyValue>* out,
              std::mt19937_64* unknown);

void ToOracle(const AnyValue& in, oracle::AnyValue* out, std::mt19937_64* unknown) {
  switch (in.kind) {
    case AnyValue::Kind::kEmpty: break;
    case AnyValue::Kind::kString: out->set_string_value(in.str); break;
    case AnyValue::Kind::kBool: out->set_bool_value(in.i != 0); break;
    case AnyValue::Kind::kInt: out->set_int_value(in.i); break;
    case AnyValue::Kind::kDouble: out->set_double_value(in.d); break;
    case AnyValue::Kind::kBytes: out->set_bytes_value(in.str); break;
    case AnyValue::Kind::kArray: {
      oracle::ArrayValue* arr = out->mutable_array_value();
      for (const AnyValue& v : in.array) ToOracle(v, arr->add_values(), unknown);
      break;
    }
    case AnyValue::Kind::kKvList:
      ToOracle(in.kvlist, out->mutable_kvlist_value()->mutable_values(), unknown);
      break;
  }
  AddUnknown(out, unknown);
}

void ToOracle(const std::vector<KeyValue>& in, google::protobuf::RepeatedPtrField<oracle::KeyValue>* out,
              std::mt19937_64* unknown) {
  for (const KeyValue& kv : in) {
    oracle::KeyValue* o = out->Add();
    o->set_key(kv.key);
    ToOracle(kv.value, o->mutable_value(), unknown);
    AddUnknown(o, unknown);
  }
}

void ToOracle(const Span& s, oracle::Span* o, std::mt19937_64* unknown) {
  o->set_trace_id(s.trace_id);
  o->set_span_id(s.span_id);
  o->set_trace_state(s.trace_state);
  o->set_parent_span_id(s.parent_span_id);
  o->set_name(s.name);
  o->set_kind(s.kind);
  o->set_start_time_unix_nano(s.start_time_unix_nano);
  o->set_end_time_unix_nano(s.end_time_unix_nano);
  ToOracle(s.attributes, o->mutable_attributes(), unknown);
  o->set_dropped_attributes_count(s.dropped_attributes_count);
  for (const SpanEvent& e : s.events) {
    oracle::Span::Event* oe = o->add_events();
    oe->set_time_unix_nano(e.time_unix_nano);
    oe->set_name(e.name);
    ToOracle(e.attributes, oe->mutable_attributes(), unknown);
    oe->set_dropped_attributes_count(e.dropped_attributes_count);
    AddUnknown(oe, unknown);
  }
  o->set_dropped_events_count(s.dropped_events_count);
  for (const SpanLink& l : s.links) {
    oracle::Span::Link* ol = o->add_links();
    ol->set_trace_id(l.trace_id);
    ol->set_span_id(l.span_id);
    ol->set_trace_state(l.trace_state);
    ToOracle(l.attributes, ol->mutable_attributes(), unknown);
    ol->set_dropped_attributes_count(l.dropped_attributes_count);
    ol->set_flags(l.flags);
    AddUnknown(ol, unknown);
  }
  o->set_dropped_links_count(s.dropped_links_count);
  if (s.status.code != 0 || !s.status.message.empty() || (unknown != nullptr && Below(*unknown, 2) == 0)) {
    o->mutable_status()->set_code(s.status.code);
    o->mutable_status()->set_message(s.status.message);
    AddUnknown(o->mutable_status(), unknown);
  }
  o->set_flags(s.flags);
  AddUnknown(o, unknown);
}

}  // namespace

oracle::ExportTraceServiceRequest ToOracle(const ExportTraceServiceRequest& r, std::mt19937_64* unknown) {
  oracle::ExportTraceServiceRequest o;
  for (const ResourceSpans& rs : r.resource_spans) {
    oracle::ResourceSpans* ors = o.add_resource_spans();
    ToOracle(rs.resource.attributes, ors->mutable_resource()->mutable_attributes(), unknown);
    ors->mutable_resource()->set_dropped_attributes_count(rs.resource.dropped_attributes_count);
    ors->set_schema_url(rs.schema_url);
    for (const ScopeSpans& ss : rs.scope_spans) {
      oracle::ScopeSpans* oss = ors->add_scope_spans();
      oss->mutable_scope()->set_name(ss.scope.name);
      oss->mutable_scope()->set_version(ss.scope.version);
      ToOracle(ss.scope.attributes, oss->mutable_scope()->mutable_attributes(), unknown);
      oss->mutable_scope()->set_dropped_attributes_count(ss.scope.dropped_attributes_count);
      oss->set_schema_url(ss.schema_url);
      for (const Span& s : ss.spans) ToOracle(s, oss->add_spans(), unknown);
      AddUnknown(oss, unknown);
    }
    AddUnknown(ors, unknown);
  }
  AddUnknown(&o, unknown);
  return o;
}

// ---- OTLP/JSON writer ----

namespace {

class JsonOut {
 public:
  JsonOut(std::string* out, std::mt19937_64& rng) : out_(out), rng_(rng) {}

  void Request(const ExportTraceServiceRequest& r) {
    Open();
    Unknown();
    Array("resourceSpans", r.resource_spans, [&](const ResourceSpans& rs) {
      Open();
      Key("resource");
      Open();
      Attributes("attributes", rs.resource.attributes);
      U32("droppedAttributesCount", rs.resource.dropped_attributes_count);
      Close();
      Array("scopeSpans", rs.scope_spans, [&](const ScopeSpans& ss) { Scope(ss); });
      String("schemaUrl", rs.schema_url);
      Unknown();
      Close();
    });
    Close();
  }

 private:
  bool Coin() { return rng_() % 2 == 0; }

  void Open() {
    out_->push_back('{');
    first_ = true;
  }
  void Close() {
    out_->push_back('}');
    first_ = false;
  }
  void Key(std::string_view k) {
    if (!first_) out_->push_back(',');
    first_ = true;
    schema::AppendJsonString(k, out_);
    out_->push_back(':');
  }
  void Value(std::string_view raw) {
    out_->append(raw);
    first_ = false;
  }
  // A member whose value is the default may be left out or written as null.
  bool Omit(bool is_default) {
    return is_default && Coin();
  }
  void String(std::string_view k, const std::string& s) {
    if (Omit(s.empty())) return;
    Key(k);
    std::string v;
    schema::AppendJsonString(s, &v);
    Value(v);
  }
  void Hex(std::string_view k, const std::string& bytes) {
    if (Omit(bytes.empty())) return;
    Key(k);
    const char* digits = Coin() ? "0123456789abcdef" : "0123456789ABCDEF";
    std::string v = "\"";
    for (unsigned char c : bytes) {
      v.push_back(digits[c >> 4]);
      v.push_back(digits[c & 15]);
    }
    Value(v + "\"");
  }
  void Int(std::string_view k, std::string digits, bool is_default) {
    if (Omit(is_default)) return;
    Key(k);
    if (is_default && Coin()) return Value("null");
    Value(Coin() ? "\"" + digits + "\"" : digits);
  }
  void U64(std::string_view k, uint64_t v) { Int(k, std::to_string(v), v == 0); }
  void U32(std::string_view k, uint32_t v) { Int(k, std::to_string(v), v == 0); }
  void I32(std::string_view k, int32_t v) { Int(k, std::to_string(v), v == 0); }
  void Unknown() {
    if (rng_() % 4 != 0) return;
    static const char* const kUnknown[] = {
        R"("unknownField":{"a":[1,2.5e3,{"b":null}],"c":"s","d":true})", R"("trace_id":"not hex at all")",
        R"("futureNumber":-12345678901234567890123)", R"("x":[])"};
    if (!first_) out_->push_back(',');
    out_->append(kUnknown[rng_() % std::size(kUnknown)]);
    first_ = false;
  }
  template <typename T, typename F>
  void Array(std::string_view k, const std::vector<T>& items, F&& each) {
    if (Omit(items.empty())) return;
    Key(k);
    out_->push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out_->push_back(',');
      each(items[i]);
    }
    out_->push_back(']');
    first_ = false;
  }
  void Attributes(std::string_view k, const std::vector<KeyValue>& kvs) {
    Array(k, kvs, [&](const KeyValue& kv) {
      Open();
      String("key", kv.key);
      Key("value");
      AnyValueOut(kv.value);
      Unknown();
      Close();
    });
  }
  void AnyValueOut(const AnyValue& v) {
    Open();
    Unknown();
    switch (v.kind) {
      case AnyValue::Kind::kEmpty: break;
      case AnyValue::Kind::kString:
        Key("stringValue");
        {
          std::string s;
          schema::AppendJsonString(v.str, &s);
          Value(s);
        }
        break;
      case AnyValue::Kind::kBool:
        Key("boolValue");
        Value(v.i != 0 ? "true" : "false");
        break;
      case AnyValue::Kind::kInt:
        Key("intValue");
        Value(Coin() ? "\"" + std::to_string(v.i) + "\"" : std::to_string(v.i));
        break;
      case AnyValue::Kind::kDouble: {
        Key("doubleValue");
        if (std::isinf(v.d)) {
          Value(v.d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        } else {
          char buf[40];
          std::snprintf(buf, sizeof buf, "%.17g", v.d);
          Value(Coin() ? std::string(buf) : "\"" + std::string(buf) + "\"");
        }
        break;
      }
      case AnyValue::Kind::kBytes: {
        Key("bytesValue");
        const bool url = Coin();
        const char* alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                   : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string s = "\"";
        size_t i = 0;
        const auto& b = v.str;
        for (; i + 2 < b.size(); i += 3) {
          const uint32_t n = uint8_t(b[i]) << 16 | uint8_t(b[i + 1]) << 8 | uint8_t(b[i + 2]);
          for (int sh = 18; sh >= 0; sh -= 6) s.push_back(alphabet[(n >> sh) & 63]);
        }
        const size_t rest = b.size() - i;
        if (rest > 0) {
          uint32_t n = uint8_t(b[i]) << 16;
          if (rest == 2) n |= uint8_t(b[i + 1]) << 8;
          s.push_back(alphabet[(n >> 18) & 63]);
          s.push_back(alphabet[(n >> 12) & 63]);
          if (rest == 2) s.push_back(alphabet[(n >> 6) & 63]);
          if (!url) s.append(rest == 1 ? "==" : "=");
        }
        Value(s + "\"");
        break;
      }
      case AnyValue::Kind::kArray:
        Key("arrayValue");
        Open();
        Array("values", v.array, [&](const AnyValue& e) { AnyValueOut(e); });
        Close();
        break;
      case AnyValue::Kind::kKvList:
        Key("kvlistValue");
        Open();
        Attributes("values", v.kvlist);
        Close();
        break;
    }
    Close();
  }
  void Scope(const ScopeSpans& ss) {
    Open();
    Key("scope");
    Open();
    String("name", ss.scope.name);
    String("version", ss.scope.version);
    Attributes("attributes", ss.scope.attributes);
    U32("droppedAttributesCount", ss.scope.dropped_attributes_count);
    Close();
    Array("spans", ss.spans, [&](const Span& s) { SpanOut(s); });
    String("schemaUrl", ss.schema_url);
    Close();
  }
  void SpanOut(const Span& s) {
    Open();
    Hex("traceId", s.trace_id);
    Hex("spanId", s.span_id);
    String("traceState", s.trace_state);
    Hex("parentSpanId", s.parent_span_id);
    Unknown();
    String("name", s.name);
    I32("kind", s.kind);
    U64("startTimeUnixNano", s.start_time_unix_nano);
    U64("endTimeUnixNano", s.end_time_unix_nano);
    Attributes("attributes", s.attributes);
    U32("droppedAttributesCount", s.dropped_attributes_count);
    Array("events", s.events, [&](const SpanEvent& e) {
      Open();
      U64("timeUnixNano", e.time_unix_nano);
      String("name", e.name);
      Attributes("attributes", e.attributes);
      U32("droppedAttributesCount", e.dropped_attributes_count);
      Close();
    });
    U32("droppedEventsCount", s.dropped_events_count);
    Array("links", s.links, [&](const SpanLink& l) {
      Open();
      Hex("traceId", l.trace_id);
      Hex("spanId", l.span_id);
      String("traceState", l.trace_state);
      Attributes("attributes", l.attributes);
      U32("droppedAttributesCount", l.dropped_attributes_count);
      U32("flags", l.flags);
      Unknown();
      Close();
    });
    U32("droppedLinksCount", s.dropped_links_count);
    Key("status");
    Open();
    String("message", s.status.message);
    I32("code", s.status.code);
    Close();
    U32("flags", s.flags);
    Close();
  }

  std::string* out_;
  std::mt19937_64& rng_;
  bool first_ = true;  // no member written yet in the current object
};

}  // namespace

std::string ToOtlpJson(const ExportTraceServiceRequest& r, std::mt19937_64& rng) {
  std::string out;
  JsonOut(&out, rng).Request(r);
  return out;
}

}  // namespace tracedb::ingest::otel::testing
