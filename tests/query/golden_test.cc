// Golden files tests/query/*.test: query -> expected trace ids, rows, plan
// or error text (with caret), over the fixed data set of query_test_util.
//
// File format (cases end at a blank line; '#' lines between cases are
// comments):
//   <directive> [limit=N] [offset=N]
//   <query text, one or more lines>
//   ----
//   <expected output>
// Directives:
//   query    total count, then the page's ids ("t<n>"), then "more" when a
//            next cursor exists; also checked against the brute-force scan
//   pages    every page (one line each) following next cursors
//   rows     the aggregate table (RenderResult kTable)
//   explain  the plan text
//   error    the error message
// Files named otel*.test run over the OTel data set of otel_data_util.h,
// every other file over the data set of query_test_util.h.
// TRACEDB_UPDATE_GOLDEN=1 rewrites the files with the actual output.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "query/query.h"
#include "tests/query/otel_data_util.h"
#include "tests/query/query_test_util.h"

namespace tracedb::query {
namespace {

constexpr int64_t kNow = testing::kT0 + 200 * testing::kSecond;

struct Case {
  std::string header;  // directive line
  std::string query;
  std::string expected;
  size_t line = 0;
};

struct File {
  std::vector<std::string> preamble;  // comments before each case
  std::vector<Case> cases;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

File ParseFile(const std::string& text) {
  File f;
  auto lines = Lines(text);
  size_t i = 0;
  std::string comments;
  while (i < lines.size()) {
    if (lines[i].empty() || lines[i][0] == '#') {
      comments += lines[i] + "\n";
      ++i;
      continue;
    }
    Case c;
    c.line = i + 1;
    c.header = lines[i++];
    std::string q;
    while (i < lines.size() && lines[i] != "----") q += (q.empty() ? "" : "\n") + lines[i++];
    ++i;  // ----
    std::string e;
    while (i < lines.size() && !lines[i].empty()) e += lines[i++] + "\n";
    c.query = q;
    c.expected = e;
    f.preamble.push_back(comments);
    comments.clear();
    f.cases.push_back(std::move(c));
  }
  f.preamble.push_back(comments);
  return f;
}

std::string Ids(const std::vector<schema::Trace>& traces) {
  std::string out;
  for (const auto& t : traces) out += (out.empty() ? "" : " ") + testing::ShortId(t.trace_id);
  return out.empty() ? "(none)" : out;
}

class Golden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine_ = testing::OpenMemoryEngine().release();
    ASSERT_NE(engine_, nullptr);
    ASSERT_TRUE(testing::WriteDataset(engine_, testing::DatasetOptions{}).ok());
    otel_engine_ = testing::OpenMemoryEngine().release();
    ASSERT_NE(otel_engine_, nullptr);
    ASSERT_TRUE(testing::WriteOtelDataset(otel_engine_).ok());
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
    delete otel_engine_;
    otel_engine_ = nullptr;
  }

  // The actual output of one case.
  std::string Run(const Case& c) {
    std::istringstream head(c.header);
    std::string directive, opt;
    head >> directive;
    QueryOptions options;
    options.now_ns = kNow;
    while (head >> opt) {
      if (opt.rfind("limit=", 0) == 0) options.limit = std::stoul(opt.substr(6));
      if (opt.rfind("offset=", 0) == 0) options.offset = std::stoul(opt.substr(7));
    }
    if (directive == "query") options.count_total = true;
    auto r = RunQuery(current_, c.query, options);
    if (!r.ok()) return (directive == "error" ? "" : "unexpected error: ") + r.status().message() + "\n";
    if (directive == "error") return "unexpectedly OK\n";
    if (directive == "explain") return r->plan;
    if (directive == "rows") return RenderResult(*r, OutputFormat::kTable);
    if (directive == "query") {
      CheckAgainstBruteForce(c, *r, options);
      std::string out = "total: " + std::to_string(r->total_count.value_or(0)) + "\n" + Ids(r->traces) + "\n";
      if (!r->next_cursor.empty()) out += "more\n";
      return out;
    }
    if (directive == "pages") {
      std::string out;
      for (int guard = 0; guard < 100; ++guard) {
        out += Ids(r->traces) + "\n";
        if (r->next_cursor.empty()) break;
        options.cursor = r->next_cursor;
        r = RunQuery(current_, c.query, options);
        if (!r.ok()) return out + "unexpected error: " + r.status().message() + "\n";
      }
      return out;
    }
    return "unknown directive '" + directive + "'\n";
  }

  void CheckAgainstBruteForce(const Case& c, const QueryResult& r, const QueryOptions& options) {
    auto bound = ParseAndBind(c.query, kNow);
    ASSERT_TRUE(bound.ok());
    auto want = testing::BruteForce(current_, bound->filter);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(r.total_count.value_or(~0ULL), want->size()) << "line " << c.line << ": " << c.query;
    std::string expect;
    size_t limit = bound->limit ? static_cast<size_t>(*bound->limit) : options.limit;
    for (size_t i = options.offset, n = 0; i < want->size() && n < limit; ++i, ++n) {
      expect += (expect.empty() ? "" : " ") + testing::ShortId((*want)[i]);
    }
    EXPECT_EQ(Ids(r.traces), expect.empty() ? "(none)" : expect) << "line " << c.line << ": " << c.query;
  }

  static engine::Engine* engine_;
  static engine::Engine* otel_engine_;
  engine::Engine* current_ = nullptr;  // the data set of the file being run
};

engine::Engine* Golden::engine_ = nullptr;
engine::Engine* Golden::otel_engine_ = nullptr;

TEST_F(Golden, AllFilesMatch) {
  std::filesystem::path dir = std::filesystem::path(TRACEDB_SOURCE_DIR) / "tests" / "query";
  bool update = std::getenv("TRACEDB_UPDATE_GOLDEN") != nullptr;
  size_t files = 0, cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".test") continue;
    ++files;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    File f = ParseFile(ss.str());
    current_ = entry.path().filename().string().starts_with("otel") ? otel_engine_ : engine_;
    std::string rewritten;
    for (size_t i = 0; i < f.cases.size(); ++i) {
      Case& c = f.cases[i];
      ++cases;
      std::string actual = Run(c);
      if (!update) {
        EXPECT_EQ(actual, c.expected) << entry.path().filename().string() << ":" << c.line << "\n" << c.query;
      }
      rewritten += f.preamble[i] + c.header + "\n" + c.query + "\n----\n" + actual;
      if (i + 1 < f.cases.size() && (f.preamble[i + 1].empty() || f.preamble[i + 1][0] != '\n')) rewritten += "\n";
    }
    rewritten += f.preamble.back();
    if (update) std::ofstream(entry.path()) << rewritten;
  }
  EXPECT_GE(files, 3u);
  EXPECT_GE(cases, 40u);
}

}  // namespace
}  // namespace tracedb::query
