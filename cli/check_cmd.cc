// `tracedb check`: verifies a store (engine::Engine::Check) and, with
// --repair, rebuilds what derives from its records (docs/operations.md).
// Exit codes: 0 clean (or every problem repaired), 1 problems remain,
// 2 the store could not be opened or read.

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"

namespace tracedb::cli {

namespace {

struct CheckFlags {
  bool repair = false;
  size_t max_listed = 100;
};

int Run(const ConfigFlags& flags, const CheckFlags& c) {
  auto engine = OpenExistingStore(flags, "check");
  if (!engine) return 2;
  engine::CheckOptions options;
  options.repair = c.repair;
  options.max_listed = c.max_listed;
  auto report = engine->Check(options);
  if (!report.ok()) {
    fmt::print(stderr, "tracedb check: {}\n", report.status().message());
    return 2;
  }
  for (const auto& line : report->problems) fmt::print(stderr, "problem: {}\n", line);
  if (report->problems.size() < report->problems_found) {
    fmt::print(stderr, "... and {} more (--max-listed)\n", report->problems_found - report->problems.size());
  }
  fmt::print("checked {} traces, {} events, {} column chunks, {} index entries (format version {}): ",
             report->traces, report->events, report->column_chunks, report->index_entries, engine::kFormatVersion);
  if (report->clean()) {
    fmt::print("no problems\n");
    return 0;
  }
  uint64_t left = report->problems_found - report->problems_repaired;
  fmt::print("{} problems, {} repaired, {} not repairable\n", report->problems_found, report->problems_repaired,
             report->problems_unrepairable);
  if (left == 0) return 0;
  if (!c.repair && report->problems_unrepairable < report->problems_found) {
    fmt::print(stderr, "run `tracedb check --repair` (with no server on the store) to rebuild derived data\n");
  }
  return 1;
}

Registrar kCheck({"check",
                  "Verify a store: checksums, records, indexes, column chunks, headers (--repair rebuilds derived data)",
                  82, [](CLI::App* sub) -> RunFn {
                    auto flags = std::make_shared<ConfigFlags>(sub, /*with_listen=*/false);
                    auto c = std::make_shared<CheckFlags>();
                    sub->add_flag("--repair", c->repair,
                                  "Rebuild index entries, column chunks and header bookkeeping from the records");
                    sub->add_option("--max-listed", c->max_listed, "List at most N problems (default 100)");
                    return [flags, c] { return Run(*flags, *c); };
                  }});

}  // namespace
}  // namespace tracedb::cli
