#include "ingest/pipeline/bulk_ingest.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "schema/uuid.h"
#include "ingest/pipeline/decompress.h"

namespace tracedb::ingest {
namespace {

using operonx::OperonxTraceId;

constexpr char kTrace[] = "5e1ec7ed-0000-4000-8000-000000000001";

std::string Event(const std::string& id, const std::string& ts, const std::string& actor) {
  return R"({"event_id":")" + id + R"(","timestamp":")" + ts +
         R"(","event_type":"ActorCreated","actor_id":")" + actor +
         R"(","data":{"port":null,"message":null,"state_diff":null,"error":null,"performance_metrics":{"execution_time_ns":5,"memory_usage_bytes":0,"cpu_usage_percent":0.0,"queue_depth":0,"throughput_msgs_per_sec":0.0},"custom_attributes":{}},"causality":{"parent_event_id":null,"root_cause_event_id":"22222222-2222-4222-8222-222222222222","dependency_chain":[],"span_id":"s"}})";
}

std::string RecordLine(const std::string& trace, const std::string& event) {
  return R"({"RecordEvent":{"trace_id":")" + trace + R"(","event":)" + event + "}}";
}

std::string ReflowBody() {
  std::string b;
  b += R"({"StartTrace":{"trace_id":")" + std::string(kTrace) +
       R"(","flow_id":"checkout","version":{"major":1,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}}})" "\n";
  b += RecordLine(kTrace, Event("11111111-1111-4111-8111-000000000001", "2025-07-10T12:00:01.5Z", "a")) + "\n";
  b += "this is not json\n";
  b += RecordLine(kTrace, Event("11111111-1111-4111-8111-000000000002", "2025-07-10T12:00:02Z", "b")) + "\n";
  b += "\n";  // blank lines are skipped, still counted
  b += R"({"GetTrace":{"trace_id":")" + std::string(kTrace) + R"("}})" "\n";
  b += RecordLine(kTrace, Event("11111111-1111-4111-8111-000000000003", "2025-07-10T12:00:03Z", "c")) + "\n";
  b += R"({"EndTrace":{"trace_id":")" + std::string(kTrace) + R"(","status":{"Failed":{"error":"boom"}}}})";  // no final newline
  return b;
}

// `n` RecordEvent lines of kTrace with distinct event ids.
std::string ManyRecordLines(int n) {
  std::string body;
  for (int i = 0; i < n; ++i) {
    char id[64];
    std::snprintf(id, sizeof(id), "11111111-1111-4111-8111-%012d", i);
    body += RecordLine(kTrace, Event(id, "2025-07-10T12:00:01Z", "a")) + "\n";
  }
  return body;
}

class BulkIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine::Options o;
    o.in_memory = true;
    engine_ = std::move(engine::Engine::Open(o)).value();
  }

  IngestReport Ingest(std::string_view body, IngestOptions options = {}, size_t slice = SIZE_MAX) {
    commits_ = 0;
    BulkIngestor ingestor(std::move(options), [this](const engine::WriteBatch& b) {
      ++commits_;
      return engine_->Write(b);
    });
    for (size_t off = 0; off < body.size(); off += slice) {
      EXPECT_TRUE(ingestor.Feed(body.substr(off, slice)).ok());
    }
    auto report = ingestor.Finish();
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : IngestReport{};
  }

  std::optional<schema::Trace> Get(std::string_view uuid) {
    return *engine_->GetTrace(*schema::ParseUuid(uuid));
  }
  std::optional<schema::Trace> GetById(const schema::Id128& id) { return *engine_->GetTrace(id); }

  std::unique_ptr<engine::Engine> engine_;
  int commits_ = 0;
};

TEST_F(BulkIngestTest, MalformedLinesAreRejectedAloneAndTheRestIsStored) {
  IngestReport r = Ingest(ReflowBody());
  EXPECT_EQ(r.lines, 5u);
  EXPECT_EQ(r.events, 3u);
  EXPECT_EQ(r.duplicates, 0u);
  ASSERT_EQ(r.rejected.size(), 2u);
  EXPECT_EQ(r.rejected[0].line, 3u);
  EXPECT_EQ(r.rejected[1].line, 6u);
  EXPECT_NE(r.rejected[1].error.find("not an ingest request"), std::string::npos);
  auto t = Get(kTrace);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->flow_id, "checkout");
  EXPECT_EQ(t->events.size(), 3u);
  EXPECT_EQ(t->status, (schema::ExecutionStatus{schema::StatusCode::kFailed, "boom"}));
  EXPECT_EQ(r.ToJson(),
            R"({"accepted":3,"duplicates":0,"lines":5,"rejected":[{"line":3,"error":")" + r.rejected[0].error +
                R"("},{"line":6,"error":")" + r.rejected[1].error + R"("}]})");
}

TEST_F(BulkIngestTest, ResendingCountsDuplicates) {
  Ingest(ReflowBody());
  IngestReport again = Ingest(ReflowBody());
  EXPECT_EQ(again.duplicates, 3u);
  EXPECT_EQ(again.events, 0u);  // nothing newly stored
  EXPECT_EQ(again.lines, 5u);
  EXPECT_NE(again.ToJson().find(R"({"accepted":0,"duplicates":3,"lines":5,)"), std::string::npos) << again.ToJson();
  EXPECT_EQ(Get(kTrace)->events.size(), 3u);
}

TEST_F(BulkIngestTest, AnySlicingGivesTheSameResult) {
  IngestReport whole = Ingest(ReflowBody());
  SetUp();
  IngestReport bytewise = Ingest(ReflowBody(), {}, 1);
  EXPECT_EQ(whole.ToJson(), bytewise.ToJson());
  EXPECT_EQ(Get(kTrace)->events.size(), 3u);
}

TEST_F(BulkIngestTest, LargeBodiesAreCommittedInBoundedBatches) {
  std::string body = ManyRecordLines(1000);
  IngestOptions o;
  o.batch_lines = 100;
  IngestReport r = Ingest(body, o, 4096);
  EXPECT_EQ(r.lines, 1000u);
  EXPECT_EQ(r.events, 1000u);
  EXPECT_EQ(commits_, 10);
  EXPECT_EQ(Get(kTrace)->events.size(), 1000u);
}

// Commits run on a helper thread while the next batch is parsed: they still
// happen one at a time and in order, and a failed commit stops the ingest
// with only the batches before it reported as accepted.
TEST_F(BulkIngestTest, PipelinedCommitsStayOrderedAndAFailureStopsTheReport) {
  std::string body = ManyRecordLines(1000);
  IngestOptions o;
  o.batch_lines = 100;
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  std::vector<size_t> sizes;  // touched by one commit at a time
  BulkIngestor ingestor(o, [&](const engine::WriteBatch& b) -> Result<engine::WriteResult> {
    if (running.fetch_add(1) != 0) overlapped = true;
    sizes.push_back(b.size());
    Result<engine::WriteResult> r = sizes.size() == 4 ? Result<engine::WriteResult>(Status::IoError("disk gone"))
                                                        : engine_->Write(b);
    running.fetch_sub(1);
    return r;
  });
  Status failed;
  for (size_t off = 0; off < body.size() && failed.ok(); off += 4096) {
    failed = ingestor.Feed(std::string_view(body).substr(off, 4096));
  }
  if (failed.ok()) failed = ingestor.Finish().status();
  EXPECT_EQ(failed.code(), StatusCode::kIoError) << failed.ToString();
  EXPECT_FALSE(overlapped.load());
  ASSERT_TRUE(ingestor.Drain().ok());
  EXPECT_EQ(ingestor.report().lines, 300u);  // batches 1-3 only
  EXPECT_EQ(ingestor.report().events, 300u);
  EXPECT_EQ(Get(kTrace)->events.size(), 300u);
  for (size_t n : sizes) EXPECT_EQ(n, 100u);
}


// An asynchronous commit (the engine's pipeline): the ingestor keeps at most
// two batches awaiting their result, accounts for them in order, and a
// failure reported late still stops the body and leaves the report exact.
TEST_F(BulkIngestTest, AsynchronousCommitsAwaitAtMostTwoAndAreAccountedInOrder) {
  std::string body = ManyRecordLines(1000);
  IngestOptions o;
  o.batch_lines = 100;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<const engine::WriteBatch*, std::function<void(Result<engine::WriteResult>)>>> awaiting;
  size_t most_awaiting = 0;
  size_t handed = 0;
  bool answer_all = false;  // answer even a lone batch
  bool quit = false;
  // The "commit thread": answers the oldest batch once a newer one arrived
  // (or at the end), so that two await their result at a time.
  std::thread committer([&] {
    std::unique_lock lock(mu);
    while (true) {
      cv.wait(lock, [&] { return awaiting.size() >= 2 || (answer_all && !awaiting.empty()) || quit; });
      if (awaiting.empty()) return;  // quit
      auto [batch, done] = std::move(awaiting.front());
      awaiting.pop_front();
      size_t n = ++handed;
      lock.unlock();
      done(n == 6 ? Result<engine::WriteResult>(Status::IoError("disk gone")) : engine_->Write(*batch));
      lock.lock();
      cv.notify_all();
    }
  });
  {
    BulkIngestor ingestor(o, AsyncCommitFn([&](const engine::WriteBatch& b, auto done) {
                            std::lock_guard lock(mu);
                            awaiting.emplace_back(&b, std::move(done));
                            most_awaiting = std::max(most_awaiting, awaiting.size());
                            cv.notify_all();
                          }));
    Status failed;
    for (size_t off = 0; off < body.size() && failed.ok(); off += 4096) {
      failed = ingestor.Feed(std::string_view(body).substr(off, 4096));
      if (off > body.size() / 2) {
        std::lock_guard lock(mu);
        answer_all = true;  // from here on, answer everything
        cv.notify_all();
      }
    }
    if (failed.ok()) failed = ingestor.Finish().status();
    EXPECT_EQ(failed.code(), StatusCode::kIoError) << failed.ToString();
    ingestor.Drain().IgnoreError();
    // Batches 1-5 committed; 6 failed; a seventh may have been handed over
    // and committed before the failure came back: it is counted then.
    const uint64_t lines = ingestor.report().lines;
    EXPECT_TRUE(lines == 500u || lines == 600u) << lines;
    EXPECT_EQ(ingestor.report().events, lines);
    EXPECT_EQ(Get(kTrace)->events.size(), lines);
  }
  {
    std::lock_guard lock(mu);
    quit = true;
    cv.notify_all();
  }
  committer.join();
  EXPECT_LE(most_awaiting, 2u);
  EXPECT_EQ(most_awaiting, 2u);
}

// ---- the parallel parse path (parallel_parse.h) ----

constexpr char kTraceB[] = "5e1ec7ed-0000-4000-8000-000000000002";

std::string StartLine(const std::string& trace) {
  return R"({"StartTrace":{"trace_id":")" + trace +
         R"(","flow_id":"checkout","version":{"major":1,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}}})";
}

// A long body of two traces with every kind of line a bulk body can hold:
// starts, events, duplicates, malformed JSON, truncated JSON, requests that
// are not ingest requests, blank lines, over-long lines and an end. Returns
// the line numbers that must be rejected, in order.
std::string MixedBody(int n, std::vector<uint64_t>* rejected) {
  std::string body = StartLine(kTrace) + "\n" + StartLine(kTraceB) + "\n";
  uint64_t line = 2;
  for (int i = 0; i < n; ++i) {
    char id[64];
    // The last nine lines resend ids of the first nine to the same traces.
    std::snprintf(id, sizeof(id), "11111111-1111-4111-8111-%012d", i % (n - 9));
    std::string ev = RecordLine(i % 3 == 0 ? kTraceB : kTrace, Event(id, "2025-07-10T12:00:01Z", "a"));
    ++line;
    if (i % 97 == 5) {
      body += "not json at all\n";
      rejected->push_back(line);
    } else if (i % 131 == 7) {
      body += ev.substr(0, ev.size() / 2) + "\n";  // truncated
      rejected->push_back(line);
    } else if (i % 151 == 9) {
      body += R"({"GetTrace":{"trace_id":")" + std::string(kTrace) + "\"}}\n";
      rejected->push_back(line);
    } else if (i % 211 == 11) {
      body += std::string(3000, ' ') + "x\n";  // over the 2,000-byte limit below
      rejected->push_back(line);
    } else if (i % 50 == 3) {
      body += "   \n";  // blank: skipped, still numbered
    } else {
      body += ev + "\n";
    }
  }
  body += R"({"EndTrace":{"trace_id":")" + std::string(kTrace) + R"(","status":"Completed"}})";
  return body;
}

// What a store holds, as comparable text: every trace's header fields the
// bulk path sets and its events in order.
std::string Dump(engine::Engine* engine) {
  std::string out;
  Status s = engine->ScanTraces([&](const schema::Trace& header) {
    auto t = *engine->GetTrace(header.trace_id);
    out += schema::FormatUuid(t->trace_id) + " " + t->flow_id + " status " +
           std::to_string(static_cast<int>(t->status.code)) + " events " + std::to_string(t->events.size());
    for (const auto& e : t->events) {
      out += " " + std::to_string(e.seq) + ":";
      for (unsigned char c : e.event_id) {
        char hex[3];
        std::snprintf(hex, sizeof(hex), "%02x", c);
        out += hex;
      }
    }
    out += "\n";
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST_F(BulkIngestTest, ParallelParsingGivesTheSameReportAndStoreAsSequentialParsing) {
  std::vector<uint64_t> expected_rejected;
  const std::string body = MixedBody(3000, &expected_rejected);
  std::string sequential_report, sequential_store;
  for (size_t helpers : {0, 1, 3}) {
    for (size_t slice : {size_t{977}, size_t{1} << 20}) {
      SetUp();
      IngestOptions o;
      o.batch_lines = 250;
      o.max_line_bytes = 2000;
      o.parse_helpers = helpers;
      IngestReport r = Ingest(body, o, slice);
      ASSERT_EQ(r.rejected.size(), expected_rejected.size()) << "helpers " << helpers;
      for (size_t i = 0; i < r.rejected.size(); ++i) EXPECT_EQ(r.rejected[i].line, expected_rejected[i]);
      EXPECT_GT(r.duplicates, 0u);
      std::string store = Dump(engine_.get());
      if (helpers == 0 && slice == 977) {
        sequential_report = r.ToJson();
        sequential_store = store;
        continue;
      }
      EXPECT_EQ(r.ToJson(), sequential_report) << "helpers " << helpers << " slice " << slice;
      EXPECT_EQ(store, sequential_store) << "helpers " << helpers << " slice " << slice;
    }
  }
  EXPECT_NE(sequential_report.find("longer than 2000"), std::string::npos);
  EXPECT_NE(sequential_report.find("not an ingest request"), std::string::npos);
}

// Rejections from the feeding thread (over-long lines) and from the parsing
// threads (bad JSON) interleave in line order, across units and batches.
TEST_F(BulkIngestTest, RejectedLinesAreReportedInLineOrderAcrossUnitsAndBatches) {
  std::string body;
  std::vector<uint64_t> bad;
  for (uint64_t line = 1; line <= 1000; ++line) {
    if (line % 37 == 0) {
      body += "{\"broken\n";
      bad.push_back(line);
    } else if (line % 53 == 0) {
      body += std::string(300, 'y') + "\n";
      bad.push_back(line);
    } else {
      char id[64];
      std::snprintf(id, sizeof(id), "11111111-1111-4111-8111-%012d", static_cast<int>(line));
      body += RecordLine(kTrace, Event(id, "2025-07-10T12:00:01Z", "a")) + "\n";
    }
  }
  IngestOptions o;
  o.batch_lines = 128;
  o.max_line_bytes = 1024;
  o.max_reported_rejections = 10;
  IngestReport r = Ingest(body, o, 333);
  ASSERT_EQ(r.rejected.size(), 10u);  // the first ten, in order
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(r.rejected[i].line, bad[i]);
  EXPECT_EQ(r.lines, 1000u - bad.size());
  EXPECT_EQ(r.events, 1000u - bad.size());
  EXPECT_EQ(Get(kTrace)->events.size(), 1000u - bad.size());
}

// Server-side times are read in line order on the feeding thread, whatever
// thread parsed the line: the n-th StartTrace gets the n-th reading.
TEST_F(BulkIngestTest, ClockReadingsFollowLineOrder) {
  std::string body;
  std::vector<std::string> ids;
  for (int i = 0; i < 500; ++i) {
    char id[64];
    std::snprintf(id, sizeof(id), "5e1ec7ed-0000-4000-8000-%012d", i);
    ids.push_back(id);
    body += StartLine(id) + "\n";
  }
  IngestOptions o;
  o.batch_lines = 64;
  int64_t tick = 1'000'000'000;
  o.now = [&tick] { return tick++; };
  IngestReport r = Ingest(body, o, 100);
  EXPECT_EQ(r.lines, 500u);
  for (int i = 0; i < 500; ++i) {
    auto t = Get(ids[static_cast<size_t>(i)]);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->start_ns, 1'000'000'000 + i) << ids[static_cast<size_t>(i)];
  }
}

TEST_F(BulkIngestTest, AllOrNothingParsesInParallelAndCommitsOnceOrNever) {
  std::string good = ManyRecordLines(700);
  IngestOptions o;
  o.atomicity = Atomicity::kAllOrNothing;
  o.batch_lines = 50;  // ignored: an atomic body is one batch
  IngestReport r = Ingest(good, o, 4096);
  EXPECT_TRUE(r.committed);
  EXPECT_EQ(r.events, 700u);
  EXPECT_EQ(commits_, 1);
  SetUp();
  IngestReport bad = Ingest(good + "{oops}\n" + ManyRecordLines(10), o, 4096);
  EXPECT_FALSE(bad.committed);
  ASSERT_EQ(bad.rejected.size(), 1u);
  EXPECT_EQ(bad.rejected[0].line, 701u);
  EXPECT_EQ(commits_, 0);
  EXPECT_FALSE(Get(kTrace).has_value());
}

// A commit that fails while the next batch is being parsed in parallel:
// the ingest stops, and the report holds the batches committed before it
// and the rejections of the lines read so far.
TEST_F(BulkIngestTest, ACommitFailureDuringParallelParsingKeepsEarlierBatches) {
  std::string body;
  for (int b = 0; b < 10; ++b) {
    std::string lines = ManyRecordLines(100);
    body += lines.substr(0, lines.size() / 2) + "{bad}\n" + lines.substr(lines.size() / 2);
  }
  // Distinct event ids per batch: ManyRecordLines repeats them, so the
  // batches after the first are duplicates; that is fine for the counts.
  IngestOptions o;
  o.batch_lines = 100;  // accepted lines: each batch also spans one bad line
  int calls = 0;
  BulkIngestor ingestor(o, [&](const engine::WriteBatch& b) -> Result<engine::WriteResult> {
    if (++calls == 3) return Status::IoError("disk gone");
    return engine_->Write(b);
  });
  Status failed;
  for (size_t off = 0; off < body.size() && failed.ok(); off += 10000) {
    failed = ingestor.Feed(std::string_view(body).substr(off, 10000));
  }
  if (failed.ok()) failed = ingestor.Finish().status();
  EXPECT_EQ(failed.code(), StatusCode::kIoError) << failed.ToString();
  ASSERT_TRUE(ingestor.Drain().ok());
  EXPECT_EQ(calls, 3);  // nothing is committed after the failure
  EXPECT_EQ(ingestor.report().lines, 200u);  // batches 1-2
  EXPECT_EQ(ingestor.report().events + ingestor.report().duplicates, 200u);
  ASSERT_GE(ingestor.report().rejected.size(), 3u);
  EXPECT_EQ(ingestor.report().rejected[0].line, 51u);
  EXPECT_EQ(ingestor.report().rejected[1].line, 152u);
}

TEST_F(BulkIngestTest, AllOrNothingCommitsNothingWhenALineIsBad) {
  IngestOptions o;
  o.atomicity = Atomicity::kAllOrNothing;
  IngestReport r = Ingest(ReflowBody(), o);
  EXPECT_FALSE(r.committed);
  EXPECT_EQ(r.rejected.size(), 2u);
  EXPECT_FALSE(Get(kTrace).has_value());
  EXPECT_NE(r.ToJson().find(R"("accepted":0)"), std::string::npos);
  EXPECT_NE(r.ToJson().find(R"("committed":false)"), std::string::npos);
}

TEST_F(BulkIngestTest, OverlongLinesAreRejected) {
  IngestOptions o;
  o.max_line_bytes = 100;
  std::string body = std::string(500, 'x') + "\n" + R"({"GetTrace":{"trace_id":")" + kTrace + "\"}}\n";
  IngestReport r = Ingest(body, o, 64);
  ASSERT_EQ(r.rejected.size(), 2u);
  EXPECT_EQ(r.rejected[0].line, 1u);
  EXPECT_NE(r.rejected[0].error.find("longer than 100"), std::string::npos);
  EXPECT_EQ(r.rejected[1].line, 2u);
}

TEST_F(BulkIngestTest, CompressedBodiesDecodeThroughTheStreamDecoder) {
  std::string body = ReflowBody();
  std::string packed = CompressMessage(body, Codec::kZstd);
  auto decoder = StreamDecoder::Create(Codec::kZstd);
  BulkIngestor ingestor({}, [this](const engine::WriteBatch& b) { return engine_->Write(b); });
  for (size_t off = 0; off < packed.size(); off += 100) {
    std::string plain;
    ASSERT_TRUE(decoder->Feed(std::string_view(packed).substr(off, 100), &plain).ok());
    ASSERT_TRUE(ingestor.Feed(plain).ok());
  }
  ASSERT_TRUE(decoder->Finish().ok());
  auto r = ingestor.Finish();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lines, 5u);
  EXPECT_EQ(r->events, 3u);
  EXPECT_EQ(Get(kTrace)->events.size(), 3u);
}

// operonx fixtures, written by hand from the event model.
std::string Op(const std::string& req, int seq, const std::string& kind, const std::string& op,
               const std::string& ctx, const std::string& payload, const std::string& ts = "") {
  std::string time = ts.empty() ? "2026-05-10T09:00:0" + std::to_string(seq % 10) + ".000100Z" : ts;
  return R"({"event_id":")" + req + "-" + std::to_string(seq) + R"(","request_id":")" + req + R"(","kind":")" +
         kind + R"(","op_name":)" + (op.empty() ? "null" : "\"" + op + "\"") + R"(,"ctx":)" + ctx +
         R"(,"timestamp":")" + time + R"(","seq":)" + std::to_string(seq) + R"(,"payload":)" + payload + "}";
}

TEST_F(BulkIngestTest, OperonxLinesOfSeveralRequestsGoToTheirOwnTraces) {
  std::string body;
  body += Op("r1", 0, "op_start", "g.a", R"(["main"])", R"({"inputs":{}})", "2026-05-10T09:00:00Z") + "\n";
  body += Op("r2", 0, "op_start", "g.b", R"(["main"])", "{}") + "\n";
  body += Op("r1", 1, "op_end", "g.a", R"(["main"])", R"({"status":"error","duration_ms":3.5})") + "\n";
  body += Op("r1", 1, "op_end", "g.a", R"(["main"])", R"({"status":"error","duration_ms":3.5})") + "\n";  // redelivery
  body += Op("r2", 1, "future_kind", "", "[]", R"({"x":1})") + "\n";
  IngestOptions o;
  o.format = IngestFormat::kOperonx;
  IngestReport r = Ingest(body, o);
  EXPECT_EQ(r.lines, 5u);
  EXPECT_EQ(r.events, 4u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_TRUE(r.rejected.empty());
  auto t1 = GetById(OperonxTraceId("r1"));
  ASSERT_TRUE(t1.has_value());
  EXPECT_EQ(t1->external_id, "r1");
  EXPECT_EQ(t1->source, schema::Source::kOperonx);
  EXPECT_EQ(t1->events.size(), 2u);
  EXPECT_EQ(t1->status.code, schema::StatusCode::kRunning);  // no final batch yet
  auto t2 = GetById(OperonxTraceId("r2"));
  ASSERT_TRUE(t2.has_value());
  ASSERT_EQ(t2->events.size(), 2u);
  EXPECT_EQ(t2->events[1].operonx->kind, "future_kind");
}

TEST_F(BulkIngestTest, OperonxEnvelopesCarryMetadataAndTheFinalBatchEndsTheRequest) {
  std::string partial = R"({"request_id":"req-9","metadata":{"workflow_name":"callbot","user_id":"u1","session_id":"s1","tags":["prod"],"partial":true},"events":[)" +
                        Op("req-9", 0, "group_start", "", "[]", R"({"name":"turn-0"})") + "," +
                        Op("req-9", 1, "op_start", "g.stt", R"(["main"])", "{}") + "]}";
  std::string final = R"({"request_id":"req-9","metadata":{"workflow_name":"callbot","user_id":"u2","session_id":"s1","tags":[],"partial":false},"events":[)" +
                      Op("req-9", 2, "op_end", "g.stt", R"(["main"])", R"({"status":"cancelled","duration_ms":1})") + "," +
                      Op("req-9", 3, "group_end", "", "[]", R"({"name":"turn-0","status":"truncated"})") + "]}";
  IngestOptions o;
  o.format = IngestFormat::kOperonx;
  IngestReport r = Ingest(partial + "\n" + final + "\n", o);
  EXPECT_EQ(r.lines, 2u);  // two envelopes of two events each
  EXPECT_EQ(r.events, 4u);
  EXPECT_TRUE(r.rejected.empty());
  auto t = GetById(OperonxTraceId("req-9"));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->flow_id, "callbot");
  EXPECT_EQ(t->metadata.user_id, "u2");  // latest wins
  EXPECT_EQ(t->events.size(), 4u);
  EXPECT_EQ(t->status.code, schema::StatusCode::kCancelled);
  ASSERT_TRUE(t->end_ns.has_value());
  EXPECT_EQ(t->attributes_json, R"({"partial":false})");
}

TEST_F(BulkIngestTest, OperonxJsonArrayFilesAreAccepted) {
  std::string body = "[\n  " + Op("r3", 0, "op_start", "g.a", R"(["main"])", "{}", "2026-05-10T09:00:00Z") + ",\n  " +
                     Op("r3", 1, "op_end", "g.a", R"(["main"])", R"({"status":"ok","duration_ms":2})",
                        "2026-05-10T09:00:00.000001Z") +
                     "\n]\n";
  IngestOptions o;
  o.format = IngestFormat::kOperonx;
  IngestReport r = Ingest(body, o, 7);
  EXPECT_EQ(r.lines, 2u);
  EXPECT_EQ(r.events, 2u);
  EXPECT_TRUE(r.rejected.empty());
  auto t = GetById(OperonxTraceId("r3"));
  ASSERT_TRUE(t.has_value());
  ASSERT_EQ(t->events.size(), 2u);
  // The fraction-less timestamp is parsed, not compared as a string.
  EXPECT_LT(t->events[0].timestamp_ns, t->events[1].timestamp_ns);
  // The array is the final file: the request ended.
  EXPECT_EQ(t->status.code, schema::StatusCode::kCompleted);
}

TEST_F(BulkIngestTest, OperonxUuidRequestIdsKeepTheirBytes) {
  EXPECT_EQ(OperonxTraceId(kTrace), *schema::ParseUuid(kTrace));
  EXPECT_NE(OperonxTraceId("r1"), OperonxTraceId("r2"));
}

}  // namespace
}  // namespace tracedb::ingest
