// A query must never take the server down: prefix predicates on the actor
// index (once an abort through std::bad_function_call) answer, and an
// exception thrown anywhere under a read becomes that request's 500 (HTTP)
// or InternalError (WebSocket) while the server keeps serving.

#include <atomic>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/reflow/reflow_json.h"
#include "server/server.h"
#include "tests/server/server_test_util.h"

namespace tracedb::server::testing {
namespace {

using ::testing::HasSubstr;
using engine::Id128;
namespace reflow = ingest::reflow;

HttpResult Get(uint16_t port, const std::string& target) {
  HttpRequestSpec spec;
  spec.target = target;
  auto r = HttpRequest(port, spec);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : HttpResult{};
}

HttpResult Post(uint16_t port, const std::string& target, const std::string& body) {
  HttpRequestSpec spec;
  spec.method = "POST";
  spec.target = target;
  spec.body = body;
  auto r = HttpRequest(port, spec);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : HttpResult{};
}

// Percent-encodes a filter for a query string.
std::string Q(std::string_view filter) {
  std::string out;
  for (char c : filter) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// Two traces: flow "pay" with actors alpha, alpine; flow "ship" with beta.
void Load(uint16_t port) {
  std::string body = StartTraceJson("pay", Uuid(1)) + "\n" +
                     RecordEventJson(Uuid(1), EventJson(Uuid(11, 5), "alpha", R"("ActorCreated")")) + "\n" +
                     RecordEventJson(Uuid(1), EventJson(Uuid(12, 5), "alpine", R"("ActorCreated")")) + "\n" +
                     StartTraceJson("ship", Uuid(2)) + "\n" +
                     RecordEventJson(Uuid(2), EventJson(Uuid(21, 5), "beta", R"("ActorCreated")")) + "\n";
  HttpResult r = Post(port, "/v1/ingest/reflow", body);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_THAT(r.body, HasSubstr(R"("accepted":3,"duplicates":0,"lines":5,)"));
}

TEST(QueryFault, ActorAndOpNamePrefixQueriesAnswerInSearchAggregateAndExplain) {
  TestServer ts;
  ASSERT_TRUE(ts.Start(TestServer::DefaultConfig()).ok());
  Load(ts.port());
  const std::string pay = Uuid(1);
  const std::string ship = Uuid(2);
  struct Case {
    std::string filter;
    bool has_pay;
    bool has_ship;
  };
  // Top level, under `and`, inside event{}; actor and op_name.
  const Case cases[] = {
      {R"(actor prefix "a")", true, false},
      {R"(actor prefix "alp")", true, false},
      {R"(actor prefix "b")", false, true},
      {R"(actor prefix "zzz")", false, false},
      {R"(flow = "pay" and actor prefix "al")", true, false},
      {R"(flow = "ship" and actor prefix "al")", false, false},
      {R"(event{actor prefix "be"})", false, true},
      {R"(op_name prefix "a")", false, false},  // Reflow actors are not ops
      {R"(event{op_name prefix "b"})", false, false},
      {R"(actor prefix "")", true, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.filter);
    HttpResult r = Get(ts.port(), "/v1/traces?q=" + Q(c.filter));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body.find(pay) != std::string::npos, c.has_pay) << r.body;
    EXPECT_EQ(r.body.find(ship) != std::string::npos, c.has_ship) << r.body;
    int expected = (c.has_pay ? 1 : 0) + (c.has_ship ? 1 : 0);
    r = Get(ts.port(), "/v1/aggregate?q=" + Q(c.filter + " | count()"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_THAT(r.body, HasSubstr(fmt::format(R"j("count()":{}.0)j", expected))) << r.body;
    r = Get(ts.port(), "/v1/query?q=" + Q("explain " + c.filter));
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(Get(ts.port(), "/healthz").status, 200);
  ts.Stop();
}

// A real engine whose GetTrace throws while `armed`.
class ThrowingEngine : public ForwardingEngine {
 public:
  using ForwardingEngine::ForwardingEngine;
  std::atomic<bool> armed{true};

  Result<std::optional<schema::Trace>> GetTrace(const Id128& id, const engine::ReadOptions& o) override {
    if (armed) throw std::runtime_error("injected read failure");
    return ForwardingEngine::GetTrace(id, o);
  }
};

TEST(QueryFault, AnExceptionUnderAReadIsThatRequestsErrorAndTheServerStaysUp) {
  Config config = TestServer::DefaultConfig();
  auto base = OpenEngine(config);
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  ThrowingEngine engine(base->get());
  auto server = Server::Start(config, &engine);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  uint16_t port = (*server)->port();
  Load(port);

  // HTTP: a 500 that says what happened, then every other request still works.
  HttpResult r = Get(port, "/v1/traces/" + Uuid(1));
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_THAT(r.body, HasSubstr("injected read failure"));
  EXPECT_THAT(r.body, HasSubstr(R"("code":"Internal")"));
  r = Get(port, "/v1/flows/pay/versions");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Get(port, "/healthz").status, 200);

  // WebSocket: an Error reply on the same connection, which stays usable.
  auto c = WsClient::Connect(port);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE((*c)->SendText(fmt::format(R"({{"GetTrace":{{"trace_id":"{}"}}}})", Uuid(1))).ok());
  auto reply = (*c)->ReceiveJson();
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  auto parsed = reflow::ParseTracingResponse(*reply);
  ASSERT_TRUE(parsed.ok()) << *reply;
  auto* err = std::get_if<reflow::Error>(&*parsed);
  ASSERT_NE(err, nullptr) << *reply;
  EXPECT_THAT(err->message, HasSubstr("injected read failure"));

  engine.armed = false;
  ASSERT_TRUE((*c)->SendText(fmt::format(R"({{"GetTrace":{{"trace_id":"{}"}}}})", Uuid(1))).ok());
  reply = (*c)->ReceiveJson();
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  parsed = reflow::ParseTracingResponse(*reply);
  ASSERT_TRUE(parsed.ok()) << *reply;
  auto* data = std::get_if<reflow::TraceData>(&*parsed);
  ASSERT_NE(data, nullptr) << *reply;
  ASSERT_TRUE(data->trace.has_value());
  EXPECT_EQ(data->trace->events.size(), 2u);
  EXPECT_EQ(Get(port, "/v1/traces/" + Uuid(1)).status, 200);
  r = Get(port, "/v1/traces?q=" + Q(R"(flow = "pay")"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(Uuid(1)));
  EXPECT_TRUE((*c)->Close().ok());

  (*server)->Stop();
}

}  // namespace
}  // namespace tracedb::server::testing
