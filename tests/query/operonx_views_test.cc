// Hand-written operonx fixtures (from /shared/reference/operonx-events.md):
// generators with yields in both runtimes' ctx naming, nested ctx and graphs,
// groups, errors, cancelled and unfinished ops, LLM usage.

#include "query/operonx_views.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace tracedb::query::operonx {
namespace {

constexpr int64_t kT0 = 1'778'400'000'000'000'000;  // 2026-05-10

schema::EventType TypeOf(const std::string& kind) {
  if (kind == "op_start") return schema::EventType::kOpStart;
  if (kind == "op_end") return schema::EventType::kOpEnd;
  if (kind == "op_yield") return schema::EventType::kOpYield;
  if (kind == "annotation") return schema::EventType::kAnnotation;
  if (kind == "group_start") return schema::EventType::kGroupStart;
  if (kind == "group_end") return schema::EventType::kGroupEnd;
  if (kind == "llm_usage") return schema::EventType::kLlmUsage;
  return schema::EventType::kOperonxOther;
}

class Fixture {
 public:
  Fixture& Ev(const std::string& kind, std::optional<std::string> op, std::vector<std::string> ctx,
              std::string payload = "{}") {
    schema::Event e;
    e.seq = seq_++;
    e.event_id = "r1-" + std::to_string(e.seq);
    e.timestamp_ns = kT0 + static_cast<int64_t>(e.seq) * 1'000'000;
    e.type = TypeOf(kind);
    e.actor = op.value_or("");
    e.operonx = schema::OperonxEvent{kind, std::move(op), std::move(ctx), std::move(payload)};
    trace_.events.push_back(std::move(e));
    return *this;
  }
  schema::Trace trace() {
    trace_.external_id = "r1";
    trace_.source = schema::Source::kOperonx;
    return trace_;
  }

 private:
  schema::Trace trace_;
  uint64_t seq_ = 0;
};

simdjson::dom::element Parse(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;
  return root;
}

std::string End(const char* status, double ms, int yields = 0) {
  return std::string(R"({"outputs":{},"status":")") + status + R"(","duration_ms":)" + std::to_string(ms) +
         R"(,"yield_count":)" + std::to_string(yields) + "}";
}

// Finds the child of `node` with the given kind and op_name.
simdjson::dom::element Child(simdjson::dom::element node, std::string_view kind, std::string_view op) {
  for (simdjson::dom::element c : node["children"].get_array()) {
    if (std::string_view(c["kind"]) == kind && std::string_view(c["op_name"]) == op) return c;
  }
  ADD_FAILURE() << "no child " << kind << " " << op << " in " << simdjson::minify(node);
  return node;
}

size_t ChildCount(simdjson::dom::element node) { return node["children"].get_array().size(); }

TEST(OperonxTree, PythonGeneratorYieldsContainTheirItems) {
  Fixture f;
  f.Ev("op_start", "g.gen", {"main"}, R"({"inputs":{}})")
      .Ev("op_yield", "g.gen", {"main", "[0]"}, R"({"yielded":{"x":1},"idx":0})")
      .Ev("op_start", "g.proc", {"main", "[0]"})
      .Ev("op_end", "g.proc", {"main", "[0]"}, End("ok", 2))
      .Ev("op_yield", "g.gen", {"main", "[1]"}, R"({"yielded":{"x":2},"idx":1})")
      .Ev("op_start", "g.proc", {"main", "[1]"})
      .Ev("op_end", "g.proc", {"main", "[1]"}, End("ok", 3))
      .Ev("op_end", "g.gen", {"main"}, End("ok", 10, 2));
  simdjson::dom::parser parser;
  simdjson::dom::element root = Parse(parser, TreeJson(f.trace()))["root"];
  ASSERT_EQ(ChildCount(root), 1u);
  auto gen = Child(root, "op", "g.gen");
  EXPECT_EQ(uint64_t(gen["yield_count"]), 2u);
  ASSERT_EQ(ChildCount(gen), 2u);
  simdjson::dom::element y0 = gen["children"].at(0);
  EXPECT_EQ(std::string_view(y0["kind"]), "yield");
  EXPECT_EQ(int64_t(y0["idx"]), 0);
  auto proc = Child(y0, "op", "g.proc");
  EXPECT_EQ(std::string_view(proc["ctx"].at(1)), "[0]");
  EXPECT_EQ(double(proc["duration_ms"]), 2.0);
}

TEST(OperonxTree, RustYieldNamingIsUnderstoodToo) {
  Fixture f;
  f.Ev("op_start", "g.gen", {"main"})
      .Ev("op_yield", "g.gen", {"main", "yield_0"}, R"({"yielded":{},"idx":0})")
      .Ev("op_start", "g.tts", {"main", "yield_0"})
      .Ev("op_end", "g.tts", {"main", "yield_0"}, End("ok", 1))
      .Ev("op_end", "g.gen", {"main"}, End("ok", 5, 1));
  simdjson::dom::parser parser;
  simdjson::dom::element root = Parse(parser, TreeJson(f.trace()))["root"];
  auto gen = Child(root, "op", "g.gen");
  auto y = Child(gen, "yield", "g.gen");
  Child(y, "op", "g.tts");
}

TEST(OperonxTree, UnrecordedYieldGetsAStandInAndNestedGraphsAContainer) {
  Fixture f;
  f.Ev("op_start", "g.sub.a", {"main"})
      .Ev("op_end", "g.sub.a", {"main"}, End("ok", 1))
      .Ev("op_start", "g.sub.b", {"main"})
      .Ev("op_end", "g.sub.b", {"main"}, End("ok", 1))
      .Ev("op_start", "g.late", {"main", "[7]"})
      .Ev("op_end", "g.late", {"main", "[7]"}, End("ok", 1));
  simdjson::dom::parser parser;
  simdjson::dom::element root = Parse(parser, TreeJson(f.trace()))["root"];
  auto graph = Child(root, "graph", "g.sub");
  EXPECT_EQ(ChildCount(graph), 2u);
  auto stand_in = Child(root, "yield", "");
  EXPECT_TRUE(bool(stand_in["stand_in"]));
  Child(stand_in, "op", "g.late");
}

TEST(OperonxTree, RepeatedRunsPairFifoAndUnfinishedOpsStayOpen) {
  Fixture f;
  f.Ev("op_start", "g.a", {"main"})
      .Ev("op_start", "g.a", {"main"})
      .Ev("op_end", "g.a", {"main"}, End("ok", 1))
      .Ev("op_start", "g.b", {"main"});
  Tree tree = BuildTree(f.trace());
  int open = 0, ok = 0;
  for (const auto& n : tree.nodes) {
    if (n.kind != TreeNode::Kind::kOp) continue;
    if (n.status == "open") ++open;
    if (n.status == "ok") ++ok;
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(open, 2);
}

TEST(OperonxTurns, OpsAttachToTheActiveGroupAndTruncationIsKept) {
  Fixture f;
  f.Ev("group_start", std::nullopt, {}, R"({"name":"turn-0","turn_index":0})")
      .Ev("op_start", "g.stt", {"main"})
      .Ev("op_end", "g.stt", {"main"}, End("ok", 4))
      .Ev("annotation", std::nullopt, {}, R"({"key":"summary:g.stt","value":{"chunk_count":3}})")
      .Ev("group_end", std::nullopt, {}, R"({"name":"turn-0","status":"ok"})")
      .Ev("group_start", std::nullopt, {}, R"({"name":"turn-0"})")  // repeated name after a flush
      .Ev("op_start", "g.llm", {"main"})
      .Ev("group_end", std::nullopt, {}, R"({"name":"turn-0","status":"truncated"})")
      .Ev("op_start", "g.after", {"main"});
  simdjson::dom::parser parser;
  simdjson::dom::element doc = Parse(parser, TurnsJson(f.trace()));
  auto groups = doc["groups"].get_array();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(std::string_view(groups.at(0)["group_id"]), "r1-0");
  EXPECT_EQ(std::string_view(groups.at(1)["group_id"]), "r1-5");
  EXPECT_EQ(std::string_view(groups.at(0)["status"]), "ok");
  EXPECT_EQ(std::string_view(groups.at(1)["status"]), "truncated");
  EXPECT_EQ(groups.at(0)["ops"].get_array().size(), 1u);
  EXPECT_EQ(std::string_view(groups.at(1)["ops"].at(0)["op_name"]), "g.llm");
  EXPECT_EQ(int64_t(groups.at(0)["metadata"]["turn_index"]), 0);
  EXPECT_EQ(uint64_t(groups.at(0)["annotations"]["summary:g.stt"]["chunk_count"]), 3u);
  EXPECT_EQ(uint64_t(doc["ungrouped_ops"]), 1u);
}

TEST(OperonxCost, UnpricedCallsAreCountedNeverZero) {
  Fixture f;
  f.Ev("op_start", "g.llm", {"main"})
      .Ev("llm_usage", "g.llm", {"main"},
          R"({"model":"gpt-x","prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost_usd":0.25})")
      .Ev("llm_usage", "g.llm", {"main"}, R"({"model":"local","prompt_tokens":3,"completion_tokens":2,"total_tokens":5})")
      .Ev("op_end", "g.llm", {"main"}, End("ok", 9))
      .Ev("op_start", "g.old", {"main", "[0]"})
      .Ev("op_end", "g.old", {"main", "[0]"},
          R"({"outputs":{"usage":{"prompt_tokens":7,"completion_tokens":1,"cached_tokens":4},"model_used":"m2"},"status":"ok","duration_ms":1.0})");
  simdjson::dom::parser parser;
  simdjson::dom::element doc = Parse(parser, CostJson(f.trace()));
  EXPECT_EQ(uint64_t(doc["llm_calls"]), 3u);
  EXPECT_EQ(uint64_t(doc["unpriced"]), 2u);
  EXPECT_DOUBLE_EQ(double(doc["cost_usd"]), 0.25);
  EXPECT_EQ(uint64_t(doc["prompt_tokens"]), 20u);
  EXPECT_EQ(uint64_t(doc["cached_tokens"]), 4u);
  bool saw_local = false;
  for (auto m : doc["by_model"].get_array()) {
    if (std::string_view(m["model"]) == "local") {
      saw_local = true;
      EXPECT_TRUE(m["cost_usd"].is_null());
      EXPECT_EQ(uint64_t(m["unpriced"]), 1u);
    }
  }
  EXPECT_TRUE(saw_local);

  Fixture none;
  none.Ev("llm_usage", "g.llm", {"main"}, R"({"model":"x","cost_usd":null})");
  simdjson::dom::element doc2 = Parse(parser, CostJson(none.trace()));
  EXPECT_TRUE(doc2["cost_usd"].is_null());
  EXPECT_EQ(uint64_t(doc2["unpriced"]), 1u);
}

TEST(OperonxSlowOps, TopKAndPercentilesFromDurationMs) {
  Fixture f;
  for (int i = 1; i <= 20; ++i) {
    f.Ev("op_start", "g.a", {"main", "[" + std::to_string(i) + "]"})
        .Ev("op_end", "g.a", {"main", "[" + std::to_string(i) + "]"}, End("ok", i));
  }
  f.Ev("op_start", "g.b", {"main"}).Ev("op_end", "g.b", {"main"}, R"({"status":"ok","duration_ms":null})");
  simdjson::dom::parser parser;
  simdjson::dom::element doc = Parse(parser, SlowOpsJson(f.trace(), 3));
  auto top = doc["top"].get_array();
  ASSERT_EQ(top.size(), 3u);
  EXPECT_DOUBLE_EQ(double(top.at(0)["duration_ms"]), 20.0);
  EXPECT_DOUBLE_EQ(double(top.at(2)["duration_ms"]), 18.0);
  auto per_op = doc["per_op"].get_array();
  ASSERT_EQ(per_op.size(), 1u);  // g.b has no duration
  EXPECT_EQ(uint64_t(per_op.at(0)["count"]), 20u);
  EXPECT_DOUBLE_EQ(double(per_op.at(0)["p50_ms"]), 10.0);
  EXPECT_DOUBLE_EQ(double(per_op.at(0)["p95_ms"]), 19.0);
  EXPECT_DOUBLE_EQ(double(per_op.at(0)["p99_ms"]), 20.0);
}

TEST(OperonxErrors, FailedCancelledTruncatedAndUnfinished) {
  Fixture f;
  f.Ev("op_start", "g.a", {"main"})
      .Ev("op_end", "g.a", {"main"}, R"({"outputs":{},"status":"error","duration_ms":1,"error":"boom"})")
      .Ev("op_start", "g.b", {"main"})
      .Ev("op_end", "g.b", {"main"}, End("cancelled", 2))
      .Ev("group_start", std::nullopt, {}, R"({"name":"turn-3"})")
      .Ev("group_end", std::nullopt, {}, R"({"name":"turn-3","status":"truncated"})")
      .Ev("op_start", "g.c", {"main"})
      .Ev("op_end", "g.orphan", {"main"}, End("ok", 1));
  simdjson::dom::parser parser;
  simdjson::dom::element doc = Parse(parser, ErrorsJson(f.trace()));
  auto failed = doc["failed_ops"].get_array();
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(std::string_view(failed.at(0)["error"]), "boom");
  EXPECT_EQ(std::string_view(failed.at(1)["status"]), "cancelled");
  EXPECT_TRUE(failed.at(1)["error"].is_null());
  EXPECT_EQ(doc["truncated_groups"].get_array().size(), 1u);
  auto unfinished = doc["unfinished_ops"].get_array();
  ASSERT_EQ(unfinished.size(), 1u);
  EXPECT_EQ(std::string_view(unfinished.at(0)["op_name"]), "g.c");
}

TEST(OperonxTimeline, ListsEveryEventWithOffsets) {
  Fixture f;
  f.Ev("op_start", "g.a", {"main"}).Ev("future_kind", std::nullopt, {}, R"({"x":[1,2]})");
  simdjson::dom::parser parser;
  simdjson::dom::element doc = Parse(parser, TimelineJson(f.trace()));
  auto events = doc["events"].get_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_DOUBLE_EQ(double(events.at(1)["offset_ms"]), 1.0);
  EXPECT_EQ(std::string_view(events.at(1)["kind"]), "future_kind");
  EXPECT_TRUE(events.at(1)["op_name"].is_null());
  EXPECT_EQ(int64_t(events.at(1)["payload"]["x"].at(1)), 2);
}

}  // namespace
}  // namespace tracedb::query::operonx
