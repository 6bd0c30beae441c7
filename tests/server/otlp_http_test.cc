// End-to-end tests of the OTLP/HTTP receiver (POST /v1/traces,
// server/otlp_export.h): the real JS exporter's captured bodies in both
// encodings, compressed and chunked; replies decoded with the libprotobuf
// oracle (tests/ingest/otel/otlp_oracle.proto); partial success; 400, 413,
// 415, 401 and 503 with their google.rpc.Status bodies; dedup of a retried
// export; spans readable as soon as the 200 arrived. A real server on
// 127.0.0.1 with a free port.

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "otlp_oracle.pb.h"
#include "ingest/pipeline/decompress.h"
#include "server/otlp_export.h"
#include "tests/server/server_test_util.h"

namespace tracedb::server::testing {
namespace {

using ::testing::HasSubstr;
namespace pb = ::tracedb::otlp_oracle;
using ingest::Codec;
using ingest::CompressBody;

constexpr char kProto[] = "application/x-protobuf";
constexpr char kJson[] = "application/json";
// The golden bodies' main trace: 5b8efff798038103d269b633813fc60c (3 spans).
constexpr char kGoldenTrace[] = "5b8efff7-9803-8103-d269-b633813fc60c";

std::string ReadGolden(const std::string& name) {
  std::ifstream in(std::string(TRACEDB_SOURCE_DIR) + "/tests/ingest/otel/golden/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

// A request of one span per entry of `span_ids` (8 bytes each), all in
// trace `trace_id` (16 bytes), service `service`.
std::string ProtoRequest(const std::string& trace_id, const std::vector<std::string>& span_ids,
                         const std::string& service = "svc") {
  pb::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* attr = rs->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value(service);
  auto* ss = rs->add_scope_spans();
  uint64_t t = 1796533263000000000;
  for (const auto& id : span_ids) {
    auto* span = ss->add_spans();
    span->set_trace_id(trace_id);
    span->set_span_id(id);
    span->set_name("op");
    span->set_kind(2);
    span->set_start_time_unix_nano(t);
    span->set_end_time_unix_nano(t + 1000);
    t += 10;
  }
  return req.SerializeAsString();
}

class OtlpHttpTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith(TestServer::DefaultConfig()); }
  void TearDown() override { ts_.Stop(); }

  void StartWith(const Config& c) {
    ts_.Stop();
    Status s = ts_.Start(c);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  HttpResult Export(const std::string& body, const std::string& content_type, const std::string& encoding = "",
                    bool chunked = false, std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequestSpec spec;
    spec.method = "POST";
    spec.target = "/v1/traces";
    spec.body = body;
    spec.headers = std::move(headers);
    spec.headers.emplace_back("Content-Type", content_type);
    if (!encoding.empty()) spec.headers.emplace_back("Content-Encoding", encoding);
    spec.chunked = chunked;
    spec.chunk_size = 97;
    auto r = HttpRequest(ts_.port(), spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResult{};
  }

  // A protobuf google.rpc.Status body: (code, message).
  static std::pair<int, std::string> ProtoStatus(const HttpResult& r) {
    pb::RpcStatus status;
    EXPECT_TRUE(status.ParseFromString(r.body)) << "not a protobuf Status";
    return {status.code(), status.message()};
  }

  TestServer ts_;
};

TEST_F(OtlpHttpTest, ProtobufGoldenIsStoredBeforeThe200) {
  HttpResult r = Export(ReadGolden("js_exporter.binpb"), kProto, "", /*chunked=*/true);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, kProto);
  pb::ExportTraceServiceResponse resp;
  ASSERT_TRUE(resp.ParseFromString(r.body));
  EXPECT_FALSE(resp.has_partial_success());  // full success: unset
  // Durable and visible once the 200 arrived.
  EXPECT_EQ(ts_.EventCount(kGoldenTrace), 3u);
  EXPECT_EQ(MetricValue(ts_.port(), "tracedb_otlp_spans_accepted_total"), 5);
}

TEST_F(OtlpHttpTest, JsonGoldenGzipChunkedAndRetriedExportIsNotStoredTwice) {
  std::string body = ReadGolden("js_exporter.json");
  HttpResult r = Export(CompressBody(body, Codec::kGzip), kJson, "gzip", /*chunked=*/true);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, kJson);
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(ts_.EventCount(kGoldenTrace), 3u);
  // The exporter retries the same body (e.g. after a lost reply): stored once.
  r = Export(CompressBody(body, Codec::kZstd), kJson, "zstd");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ts_.EventCount(kGoldenTrace), 3u);
  // The protobuf form of the same spans: the same events.
  r = Export(ReadGolden("js_exporter.binpb"), kProto);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(ts_.EventCount(kGoldenTrace), 3u);
  EXPECT_EQ(MetricValue(ts_.port(), "tracedb_otlp_requests_total"), 3);
  // Counted as stored once, and twice as duplicates.
  EXPECT_EQ(MetricValue(ts_.port(), "tracedb_otlp_spans_accepted_total"), 5);
  EXPECT_EQ(MetricValue(ts_.port(), "tracedb_otlp_spans_duplicates_total"), 10);
}

TEST_F(OtlpHttpTest, InvalidSpansAreRefusedOneByOneThroughPartialSuccess) {
  std::string trace = Bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  std::string good = Bytes({0, 0, 0, 0, 0, 0, 0, 1});
  std::string zero(8, '\0');
  std::string short_id = Bytes({1, 2, 3});
  HttpResult r = Export(ProtoRequest(trace, {good, zero, short_id}), kProto);
  ASSERT_EQ(r.status, 200) << r.body;
  pb::ExportTraceServiceResponse resp;
  ASSERT_TRUE(resp.ParseFromString(r.body));
  ASSERT_TRUE(resp.has_partial_success());
  EXPECT_EQ(resp.partial_success().rejected_spans(), 2);
  EXPECT_THAT(resp.partial_success().error_message(), HasSubstr("2 of 3 spans rejected"));
  EXPECT_EQ(ts_.EventCount("01020304-0506-0708-090a-0b0c0d0e0f10"), 1u);
  EXPECT_EQ(MetricValue(ts_.port(), "tracedb_otlp_spans_rejected_total"), 2);

  // The same in JSON: rejectedSpans as a string, per OTLP/JSON.
  std::string json = R"({"resourceSpans":[{"scopeSpans":[{"spans":[
    {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0000000000000002","name":"ok",
     "startTimeUnixNano":"1796533263000000000","endTimeUnixNano":1796533263000000100},
    {"traceId":"00000000000000000000000000000000","spanId":"0000000000000003","name":"zero trace",
     "startTimeUnixNano":"1796533263000000000","endTimeUnixNano":"1796533263000000100"}]}]}]})";
  r = Export(json, "application/json; charset=utf-8");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"("rejectedSpans":"1")"));
  EXPECT_EQ(ts_.EventCount("01020304-0506-0708-090a-0b0c0d0e0f10"), 2u);
}

TEST_F(OtlpHttpTest, UndecodableBodiesAre400WithAStatusInTheRequestEncoding) {
  HttpResult r = Export(Bytes({0x0a, 0x7f, 0x01}), kProto);  // a length past the end
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, kProto);
  auto [code, message] = ProtoStatus(r);
  EXPECT_EQ(code, 3);  // INVALID_ARGUMENT
  EXPECT_THAT(message, HasSubstr("protobuf"));

  r = Export(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":12}]}]}]})", kJson);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, kJson);
  EXPECT_THAT(r.body, HasSubstr(R"("code":3)"));
  EXPECT_THAT(r.body, HasSubstr("JSON"));

  r = Export("not gzip at all", kProto, "gzip");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(ProtoStatus(r).second, HasSubstr("decompress"));

  r = Export("{}", "text/plain");
  EXPECT_EQ(r.status, 415);
  EXPECT_THAT(ProtoStatus(r).second, HasSubstr("text/plain"));
  r = Export("{}", kJson, "br");
  EXPECT_EQ(r.status, 415);
  EXPECT_THAT(r.body, HasSubstr("br"));

  // The server is still up and serving.
  r = Export(ReadGolden("js_exporter.binpb"), kProto);
  EXPECT_EQ(r.status, 200);
}

TEST_F(OtlpHttpTest, TheDecompressedSizeIsCapped) {
  Config c = TestServer::DefaultConfig();
  c.otlp_max_request_bytes = 2000;
  StartWith(c);
  // 3,317 bytes of JSON gzip to ~1 KB: refused after decompression.
  std::string json = ReadGolden("js_exporter.json");
  HttpResult r = Export(CompressBody(json, Codec::kGzip), kJson, "gzip", /*chunked=*/true);
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.body, HasSubstr("otlp.max_request_bytes"));
  EXPECT_EQ(ts_.EventCount(kGoldenTrace), 0u);
  // Uncompressed and over the limit by Content-Length: refused up front.
  r = Export(json, kJson);
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.body, HasSubstr("otlp.max_request_bytes"));
  // Under the limit: stored.
  r = Export(CompressBody(ReadGolden("js_exporter.binpb"), Codec::kGzip), kProto, "gzip");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ts_.EventCount(kGoldenTrace), 3u);
}

TEST_F(OtlpHttpTest, RefusalsCarryAStatusAndRetryAfter) {
  Config c = TestServer::DefaultConfig();
  c.max_connections = 1;
  c.api_keys = {"k1"};
  StartWith(c);
  std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer k1"}};
  // No key: 401 with a Status.
  HttpResult r = Export(ReadGolden("js_exporter.binpb"), kProto);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ProtoStatus(r).first, 16);  // UNAUTHENTICATED
  // One connection held open: the next is over server.max_connections and
  // gets 503 + Retry-After, which the exporters retry.
  // The held connection must be the admitted one: it gets a 200 on a
  // keep-alive request (a connection still closing from the request above
  // may hold the slot for a moment; then it gets 503 and we retry).
  std::unique_ptr<RawHttpConnection> conn;
  ASSERT_TRUE(WaitUntil([&] {
    auto held = RawHttpConnection::Connect(ts_.port());
    if (!held.ok()) return false;
    HttpRequestSpec probe;
    probe.target = "/healthz";
    probe.close = false;
    if (!(*held)->Send(BuildHttpRequest(probe)).ok()) return false;
    auto reply = (*held)->ReadResponse();
    if (!reply.ok() || reply->status != 200) return false;
    conn = std::move(held).value();
    return true;
  }));
  r = Export(ReadGolden("js_exporter.binpb"), kProto, "", false, auth);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.retry_after, "1");
  EXPECT_EQ(ProtoStatus(r).first, 14);  // UNAVAILABLE
  conn.reset();
  // Released: accepted.
  ASSERT_TRUE(WaitUntil([&] {
    HttpResult again = Export(ReadGolden("js_exporter.binpb"), kProto, "", false, auth);
    return again.status == 200;
  }));
  EXPECT_EQ(ts_.EventCount(kGoldenTrace), 3u);
}

TEST_F(OtlpHttpTest, ASecondListenerServesTheSameEndpoints) {
  Config c = TestServer::DefaultConfig();
  c.otlp_listen = "127.0.0.1:0";
  StartWith(c);
  const uint16_t otlp = ts_.server->otlp_port();
  ASSERT_NE(otlp, 0);
  EXPECT_NE(otlp, ts_.port());
  HttpRequestSpec spec;
  spec.method = "POST";
  spec.target = "/v1/traces";
  spec.body = ReadGolden("js_exporter.binpb");
  spec.headers = {{"Content-Type", kProto}};
  auto r = HttpRequest(otlp, spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(ts_.EventCount(kGoldenTrace), 3u);
  // Without it there is no second port; a malformed one fails the start.
  StartWith(TestServer::DefaultConfig());
  EXPECT_EQ(ts_.server->otlp_port(), 0);
  ts_.Stop();
  c.otlp_listen = "no-port-here";
  Status bad = ts_.Start(c);
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.message(), HasSubstr("HOST:PORT"));
  StartWith(TestServer::DefaultConfig());  // for TearDown
}

TEST_F(OtlpHttpTest, GetOnTheSamePathIsStillTheSearch) {
  ASSERT_EQ(Export(ReadGolden("js_exporter.binpb"), kProto).status, 200);
  auto r = HttpGet(ts_.port(), "/v1/traces?q=service%20%3D%20%22checkout%22");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("5b8efff798038103d269b633813fc60c"));  // OTel ids print as 32 hex
  // Other methods are 405 naming both.
  HttpRequestSpec spec;
  spec.method = "DELETE";
  spec.target = "/v1/traces";
  auto d = HttpRequest(ts_.port(), spec);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, 405);
  EXPECT_THAT(d->body, HasSubstr("POST"));
  EXPECT_THAT(d->body, HasSubstr("GET"));
}

// A storage backend that cannot be reached (a ClickHouse shard down): 503
// UNAVAILABLE naming the shard, which the exporters retry; nothing of the
// request is acknowledged.
TEST(OtlpExport, AnUnreachableBackendIs503UnavailableNamingTheShard) {
  OtlpExportSpec spec;
  spec.encoding = OtlpEncoding::kProtobuf;
  BodyPipe pipe(uint64_t{1} << 24);
  pipe.Push(ProtoRequest(Bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}),
                         {Bytes({1, 1, 1, 1, 1, 1, 1, 1})}));
  pipe.Close();
  CommitFn commit = [](const engine::WriteBatch&) -> Result<engine::WriteResult> {
    return Status::Unavailable("shard 2 unavailable: clickhouse http://h2:8123: refused");
  };
  OtlpExportOutcome out = RunOtlpExport(spec, &pipe, commit);
  EXPECT_EQ(out.http_status, 503);
  EXPECT_EQ(out.refusal, Refusal::kBackendUnavailable);
  EXPECT_EQ(out.accepted_spans, 0u);
  pb::RpcStatus status;
  ASSERT_TRUE(status.ParseFromString(out.body));
  EXPECT_EQ(status.code(), 14);  // UNAVAILABLE
  EXPECT_THAT(status.message(), HasSubstr("shard 2 unavailable: clickhouse http://h2:8123"));
}

}  // namespace
}  // namespace tracedb::server::testing
