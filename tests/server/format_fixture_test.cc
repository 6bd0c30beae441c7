// A store of every released format, checked in as a fixture
// (tests/fixtures/format_v<N>/store, the raw RocksDB files), keeps opening
// and reading identically: every trace as the read API renders it, and
// index and column reads through searches and aggregates, compared with
// tests/fixtures/format_v<N>/golden.txt. `tracedb check` finds it whole.
//
// This guards format changes (docs/format.md, "Format versions"): a change
// that reads old stores differently fails here. A new format version adds
// a new fixture beside the old ones and keeps them; it never regenerates
// one. TRACEDB_WRITE_FIXTURE=1 writes the fixture of the current version
// (tests/fixtures/format_v<kFormatVersion>) from the query tests' fixed
// data sets, once, when that version is introduced.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "engine/engine.h"
#include "schema/uuid.h"
#include "server/http_api.h"
#include "tests/query/otel_data_util.h"
#include "tests/query/query_test_util.h"
#include "tests/server/server_test_util.h"

namespace tracedb::server {
namespace {

namespace fs = std::filesystem;

constexpr schema::TimestampNs kNow = query::testing::kT0 + 3600 * query::testing::kSecond;

// Reads over every path a format change could disturb: the trace index and
// flow / status / actor / service / execution index values, columns
// (aggregates over event fields), flow versions.
const char* const kQueries[] = {
    "/v1/traces?q=&limit=1000",
    "/v1/traces?q=flow%20%3D%20%22checkout%22&limit=1000",
    "/v1/traces?q=status%20%3D%20failed&limit=1000",
    "/v1/traces?q=actor%20%3D%20%22validator%22&limit=1000",
    "/v1/traces?q=service%20%3D%20%22db%22&limit=1000",
    "/v1/aggregate?q=%7C%20count()%20by%20(status)&format=table",
    "/v1/aggregate?q=source%20%3D%20%22reflow%22%20%7C%20count()%2C%20p50(execution_time_ns)%2C%20"
    "p99(execution_time_ns)%2C%20sum(size_bytes)%20by%20(actor)&format=table",
    "/v1/aggregate?q=source%20%3D%20%22otel%22%20%7C%20count()%2C%20max(duration)%20by%20(service%2C%20name)"
    "&format=table",
    "/v1/flows/checkout/versions",
};

std::string FixtureDir(uint32_t version) {
  return std::string(TRACEDB_SOURCE_DIR) + "/tests/fixtures/format_v" + std::to_string(version);
}

std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() / ("tracedb-fixture-" + std::to_string(::getpid()) + "-" + name)).string();
}

Result<std::unique_ptr<engine::Engine>> OpenAt(const std::string& path) {
  engine::Options o;
  o.path = path;
  o.create_if_missing = false;
  o.block_cache_bytes = 8 << 20;
  return engine::Engine::Open(o);
}

std::string Dump(engine::Engine* engine) {
  std::vector<schema::Id128> ids;
  EXPECT_TRUE(engine->ScanTraces([&](const schema::Trace& t) {
                       ids.push_back(t.trace_id);
                       return true;
                     }).ok());
  std::sort(ids.begin(), ids.end());
  std::string out;
  for (const auto& id : ids) {
    std::string target = "/v1/traces/" + schema::FormatUuid(id);
    auto r = HandleReadApi("GET", target, engine, kNow);
    out += "== " + target + " " + std::to_string(r ? r->status : 0) + "\n" + (r ? r->body : "") + "\n";
  }
  for (const char* target : kQueries) {
    auto r = HandleReadApi("GET", target, engine, kNow);
    out += "== " + std::string(target) + " " + std::to_string(r ? r->status : 0) + "\n" + (r ? r->body : "") + "\n";
  }
  return out;
}

void CopyStore(const std::string& from, const std::string& to) {
  fs::remove_all(to);
  fs::create_directories(to);
  // RocksDB's info logs are not part of the store, and only the newest
  // OPTIONS file is read on open.
  std::string newest_options;
  for (const auto& e : fs::directory_iterator(from)) {
    std::string name = e.path().filename().string();
    if (name.rfind("OPTIONS-", 0) == 0 && name > newest_options) newest_options = name;
  }
  for (const auto& e : fs::directory_iterator(from)) {
    std::string name = e.path().filename().string();
    if (name.rfind("LOG", 0) == 0) continue;
    if (name.rfind("OPTIONS-", 0) == 0 && name != newest_options) continue;
    if (e.path().extension() == ".log" && fs::file_size(e.path()) == 0) continue;  // an empty WAL
    fs::copy_file(e.path(), fs::path(to) / name);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes through to the wrapped engine the first kOtelFixtureTraces traces
// of the OTel data set (the fixture stays small), with every trace id's
// first byte set to 0x07: the OTel data set numbers its traces like the
// Reflow and operonx one, and the fixture holds both as separate traces.
constexpr uint8_t kOtelFixtureTraces = 12;

class OtelIds final : public testing::ForwardingEngine {
 public:
  using ForwardingEngine::ForwardingEngine;
  Result<engine::WriteResult> Write(const engine::WriteBatch& batch) override {
    engine::WriteBatch out;
    for (const auto& op : batch.ops()) {
      if (op.trace_id[15] > kOtelFixtureTraces) continue;
      schema::Id128 id = op.trace_id;
      id[0] = 0x07;
      using Kind = engine::WriteBatch::Op::Kind;
      schema::Trace header = op.trace ? *op.trace : schema::Trace();
      header.trace_id = id;
      switch (op.kind) {
        case Kind::kStart: out.StartTrace(std::move(header), op.start_mode); break;
        case Kind::kAppend: out.AppendEvent(id, op.event); break;
        case Kind::kEnd: out.EndTrace(id, op.status, op.end_ns, op.end_reason, op.status_rule); break;
        case Kind::kStore: out.StoreTrace(std::move(header)); break;
        case Kind::kMerge: out.MergeTrace(std::move(header), op.role, op.flows); break;
      }
    }
    return ForwardingEngine::Write(out);
  }
};

// Writes tests/fixtures/format_v<kFormatVersion>: the store and its golden.
void WriteFixture() {
  std::string dir = FixtureDir(engine::kFormatVersion);
  std::string work = TempPath("write");
  fs::remove_all(work);
  {
    engine::Options o;
    o.path = work;
    auto engine = std::move(engine::Engine::Open(o)).value();
    query::testing::DatasetOptions data;
    data.traces = 16;
    ASSERT_TRUE(query::testing::WriteDataset(engine.get(), data).ok());
    OtelIds otel(engine.get());
    ASSERT_TRUE(query::testing::WriteOtelDataset(&otel).ok());
    ASSERT_TRUE(engine->CompactAll().ok());
  }
  CopyStore(work, dir + "/store");
  fs::remove_all(work);
  CopyStore(dir + "/store", work);
  auto engine = std::move(OpenAt(work)).value();
  std::ofstream(dir + "/golden.txt", std::ios::binary) << Dump(engine.get());
  engine.reset();
  fs::remove_all(work);
}

TEST(FormatFixture, EveryFormatFixtureOpensAndReadsAsItsGolden) {
  if (const char* w = std::getenv("TRACEDB_WRITE_FIXTURE"); w != nullptr && std::string(w) == "1") WriteFixture();
  for (uint32_t version = 1; version <= engine::kFormatVersion; ++version) {
    SCOPED_TRACE("format version " + std::to_string(version));
    std::string dir = FixtureDir(version);
    ASSERT_TRUE(fs::is_directory(dir + "/store")) << dir << " is missing: every format keeps its fixture";
    std::string work = TempPath("v" + std::to_string(version));
    CopyStore(dir + "/store", work);  // opening writes to the directory
    auto engine = OpenAt(work);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    std::string dump = Dump(engine->get());
    std::string golden = ReadFile(dir + "/golden.txt");
    EXPECT_FALSE(golden.empty());
    if (dump != golden) {
      std::ofstream(work + ".actual.txt", std::ios::binary) << dump;
      ADD_FAILURE() << "reads differ from " << dir << "/golden.txt; actual reads in " << work << ".actual.txt";
    }
    auto report = (*engine)->Check({});
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->clean()) << (report->problems.empty() ? "" : report->problems[0]);
    EXPECT_GT(report->traces, 0u);
    engine->reset();
    fs::remove_all(work);
  }
}

}  // namespace
}  // namespace tracedb::server
