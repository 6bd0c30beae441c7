#include "server/service.h"

#include <unistd.h>

#include <cstdio>
#include <variant>

#include <fmt/format.h>

#include "schema/reflow_json.h"
#include "server/bulk_ingest.h"
#include "server/trace_query.h"

namespace tracedb::server {

namespace reflow = schema::reflow;
using Clock = std::chrono::steady_clock;

namespace {

// Traces one connection tracks for finalization at most; beyond it new
// traces are not tracked (they stay open when the connection goes away).
constexpr size_t kMaxOwnedTraces = size_t{1} << 20;
// Writer-thread trace cache bound (entries); cleared when exceeded.
constexpr size_t kTraceCacheMax = 100000;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

schema::TimestampNs NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string PrintTracing(const reflow::TracingResponse& r) {
  std::string out;
  reflow::AppendTracingResponse(r, &out);
  return out;
}

std::string PrintLegacy(const reflow::TraceResponse& r) {
  std::string out;
  reflow::AppendTraceResponse(r, &out);
  return out;
}

std::string ErrorJson(std::string message, std::optional<reflow::ErrorCode> code) {
  return PrintTracing(reflow::Error{std::move(message), code});
}

reflow::ErrorCode CodeFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument: return reflow::ErrorCode::kInvalidRequest;
    case StatusCode::kNotFound: return reflow::ErrorCode::kNotFound;
    case StatusCode::kUnauthenticated: return reflow::ErrorCode::kUnauthorized;
    case StatusCode::kCorruption: return reflow::ErrorCode::kSerializationError;
    case StatusCode::kIoError:
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable: return reflow::ErrorCode::kStorageError;
    default: return reflow::ErrorCode::kInternalError;
  }
}

}  // namespace

struct Service::WriteItem {
  enum class Kind { kStart, kRecord, kEnd, kStore, kFinalize, kExternal };
  Kind kind = Kind::kRecord;
  std::shared_ptr<Peer> peer;  // null for kFinalize
  uint64_t seq = 0;
  RequestType type = RequestType::kRecordEvent;
  Clock::time_point received;
  schema::Id128 trace_id{};
  schema::Trace trace;             // kStart header, kStore whole trace
  schema::Event event;             // kRecord
  schema::ExecutionStatus status;  // kEnd
  std::vector<schema::Id128> finalize;
  uint64_t bytes = 0;
  size_t op_index = 0;  // position of its op in the engine batch
  const engine::WriteBatch* external = nullptr;                  // kExternal
  std::promise<Result<engine::WriteResult>>* done = nullptr;     // kExternal
};

// A fixed set of threads running read tasks from one bounded queue.
class Service::ReadPool {
 public:
  ReadPool(size_t threads, size_t capacity, Metrics* metrics) : capacity_(capacity), metrics_(metrics) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~ReadPool() { Shutdown(); }

  // Queues `task`; false after Shutdown.
  bool Add(std::function<void()> task) {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    tasks_.push_back(std::move(task));
    metrics_->read_queue_depth.fetch_add(1, std::memory_order_relaxed);
    cv_.notify_one();
    return true;
  }

  bool WaitIfFull(const std::shared_ptr<Peer>& peer) {
    std::lock_guard lock(mu_);
    if (tasks_.size() < capacity_) return false;
    waiters_.push_back(peer);
    return true;
  }

  // Runs every queued task, then joins the threads.
  void Shutdown() {
    {
      std::lock_guard lock(mu_);
      if (stopping_ && threads_.empty()) return;
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> task;
      std::vector<std::weak_ptr<Peer>> wake;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
        metrics_->read_queue_depth.fetch_sub(1, std::memory_order_relaxed);
        wake.swap(waiters_);
      }
      for (auto& w : wake) {
        if (auto p = w.lock()) p->Wake();
      }
      task();
    }
  }

  const size_t capacity_;
  Metrics* metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;   // GUARDED_BY(mu_)
  std::vector<std::weak_ptr<Peer>> waiters_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                     // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

Result<std::unique_ptr<Service>> Service::Create(const Config& config, engine::Engine* engine) {
  auto algo = CodecFromName(config.compression_algorithm);
  if (!algo.ok()) return algo.status();
  std::unique_ptr<Service> s(new Service(config, engine));
  s->algorithm_ = *algo;
  if (config.finalize_status == "Cancelled") {
    s->finalize_status_.code = schema::StatusCode::kCancelled;
  } else if (config.finalize_status == "Failed") {
    s->finalize_status_ = {schema::StatusCode::kFailed, "connection closed without EndTrace"};
  } else {
    s->finalize_status_.code = schema::StatusCode::kCompleted;
  }
  s->writer_ = std::thread([p = s.get()] { p->WriterLoop(); });
  s->reads_ = std::make_unique<ReadPool>(config.read_threads, config.read_queue_capacity, &s->metrics_);
  return s;
}

Service::Service(const Config& config, engine::Engine* engine)
    : config_(config), engine_(engine), subscriptions_(&metrics_) {}

Service::~Service() { Shutdown(); }

bool Service::ready() const {
  std::lock_guard lock(mu_);
  return !stopping_;
}

void Service::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (reads_) reads_->Shutdown();
  std::lock_guard lock(mu_);
  stopped_ = true;
}

Outgoing Service::MakeReply(std::string json) const {
  Outgoing out;
  if (config_.compression_enabled && json.size() > config_.compression_threshold) {
    out.payload = CompressMessage(json, algorithm_, static_cast<int>(config_.compression_level));
    out.binary = true;
  } else {
    out.payload = std::move(json);
  }
  return out;
}

void Service::Reply(const std::shared_ptr<Peer>& peer, uint64_t seq, RequestType type, Clock::time_point received,
                    std::string json, bool is_error) {
  if (is_error) metrics_.errors_total.fetch_add(1, std::memory_order_relaxed);
  Outgoing out = MakeReply(std::move(json));
  out.is_error = is_error;
  metrics_.CountRequest(type, received);
  peer->Complete(seq, std::move(out));
}

void Service::OnOpen(const std::shared_ptr<Peer>&) {
  metrics_.connections_total.fetch_add(1, std::memory_order_relaxed);
  metrics_.connections_open.fetch_add(1, std::memory_order_relaxed);
}

void Service::HandleInvalid(const std::shared_ptr<Peer>& peer, uint64_t seq, std::string_view detail,
                            Clock::time_point received) {
  metrics_.invalid_messages.fetch_add(1, std::memory_order_relaxed);
  Reply(peer, seq, RequestType::kInvalid, received,
        PrintLegacy(reflow::LegacyError{fmt::format("Invalid message format: {}", detail)}), true);
}

bool Service::MustWait(const std::shared_ptr<Peer>& peer) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= config_.ingest_queue_capacity || queue_bytes_ >= config_.ingest_queue_bytes) {
      waiters_.push_back(peer);
      return true;
    }
  }
  return reads_->WaitIfFull(peer);
}

void Service::Handle(const std::shared_ptr<Peer>& peer, uint64_t seq, std::string_view json,
                     Clock::time_point received) {
  auto parsed = reflow::ParseRequest(json);
  if (!parsed.ok()) {
    HandleInvalid(peer, seq, parsed.status().message(), received);
    return;
  }
  auto write = [&](WriteItem::Kind kind, RequestType type) {
    WriteItem item;
    item.kind = kind;
    item.peer = peer;
    item.seq = seq;
    item.type = type;
    item.received = received;
    item.bytes = json.size();
    return item;
  };
  auto own = [&](const schema::Id128& id) {
    auto& owned = peer->owned_traces();
    if (owned.size() < kMaxOwnedTraces) {
      owned.insert(id);
    } else if (!owned.contains(id)) {
      peer->owned_overflow = true;
    }
  };
  auto get_trace = [&](const reflow::GetTrace& g) {
    metrics_.traces_queried.fetch_add(1, std::memory_order_relaxed);
    SubmitRead(peer, seq, RequestType::kGetTrace, received, [this, g](bool* is_error) {
      auto t = engine_->GetTrace(g.trace_id);
      if (!t.ok()) {
        *is_error = true;
        return ErrorJson("Storage error: " + t.status().message(), CodeFor(t.status()));
      }
      return PrintTracing(reflow::TraceData{g.request_id, std::move(*t)});
    });
  };
  auto query = [&](const reflow::QueryTraces& q) {
    metrics_.traces_queried.fetch_add(1, std::memory_order_relaxed);
    SubmitRead(peer, seq, RequestType::kQueryTraces, received, [this, q](bool* is_error) {
      auto r = RunTraceQuery(engine_, q.query);
      if (!r.ok()) {
        *is_error = true;
        return ErrorJson("Query failed: " + r.status().message(), CodeFor(r.status()));
      }
      return PrintTracing(reflow::QueryResults{q.request_id, std::move(r->traces), r->total_count});
    });
  };
  auto modern = Overloaded{
      [&](reflow::StartTrace& s) {
        WriteItem item = write(WriteItem::Kind::kStart, RequestType::kStartTrace);
        item.trace_id = s.trace_id.value_or(RandomUuidV4());
        item.trace = ReflowStartHeader(s, item.trace_id, NowNs());
        own(item.trace_id);
        SubmitWrite(std::move(item));
      },
      [&](reflow::RecordEvent& r) {
        WriteItem item = write(WriteItem::Kind::kRecord, RequestType::kRecordEvent);
        item.trace_id = r.trace_id;
        item.event = std::move(r.event);
        own(item.trace_id);
        SubmitWrite(std::move(item));
      },
      [&](reflow::EndTrace& e) {
        WriteItem item = write(WriteItem::Kind::kEnd, RequestType::kEndTrace);
        item.trace_id = e.trace_id;
        item.status = std::move(e.status);
        peer->owned_traces().erase(e.trace_id);
        SubmitWrite(std::move(item));
      },
      [&](reflow::GetTrace& g) { get_trace(g); },
      [&](reflow::QueryTraces& q) { query(q); },
      [&](reflow::GetFlowVersions& f) {
        SubmitRead(peer, seq, RequestType::kGetFlowVersions, received, [this, f](bool* is_error) {
          auto v = engine_->GetFlowVersions(f.flow_id);
          if (!v.ok()) {
            *is_error = true;
            return ErrorJson("Storage error: " + v.status().message(), CodeFor(v.status()));
          }
          return PrintTracing(reflow::FlowVersions{std::move(*v)});
        });
      },
      [&](reflow::Ping&) { Reply(peer, seq, RequestType::kPing, received, PrintTracing(reflow::Pong{})); },
      [&](reflow::Subscribe& s) {
        subscriptions_.Set(peer, std::move(s.filters));
        Reply(peer, seq, RequestType::kSubscribe, received, PrintTracing(reflow::EventRecorded{true, std::nullopt}));
      },
      [&](reflow::Unsubscribe&) {
        subscriptions_.Remove(peer->id());
        Reply(peer, seq, RequestType::kUnsubscribe, received,
              PrintTracing(reflow::EventRecorded{true, std::nullopt}));
      },
  };
  auto legacy = Overloaded{
      [&](reflow::StoreTrace& s) {
        WriteItem item = write(WriteItem::Kind::kStore, RequestType::kStoreTrace);
        item.trace_id = s.trace.trace_id;
        item.trace = std::move(s.trace);
        item.trace.source = schema::Source::kReflow;
        SubmitWrite(std::move(item));
      },
      [&](reflow::QueryTraces& q) { query(q); },
      [&](reflow::GetTrace& g) { get_trace(g); },
      [&](reflow::LegacySubscribe&) {
        Reply(peer, seq, RequestType::kLegacySubscribe, received,
              PrintLegacy(reflow::LegacyError{"Legacy subscription format - use TracingRequest::Subscribe instead"}),
              true);
      },
      [&](reflow::GetMetrics&) {
        Reply(peer, seq, RequestType::kGetMetrics, received,
              PrintLegacy(reflow::Metrics{metrics_.RenderReflowCounters()}));
      },
  };
  std::visit(Overloaded{[&](reflow::TracingRequest& r) { std::visit(modern, r); },
                        [&](reflow::TraceMessage& m) { std::visit(legacy, m); }},
             *parsed);
}

void Service::SubmitRead(const std::shared_ptr<Peer>& peer, uint64_t seq, RequestType type,
                         Clock::time_point received, std::function<std::string(bool*)> task) {
  bool ok = reads_->Add([this, peer, seq, type, received, task = std::move(task)] {
    bool is_error = false;
    std::string json;
    // An exception from a query is a bug; it must cost this request (an
    // InternalError reply), never the process (see HandleReadApi).
    try {
      json = task(&is_error);
    } catch (const std::exception& e) {
      is_error = true;
      json = ErrorJson(std::string("internal error while serving the request: ") + e.what(),
                       reflow::ErrorCode::kInternalError);
    } catch (...) {
      is_error = true;
      json = ErrorJson("internal error while serving the request: unknown exception",
                       reflow::ErrorCode::kInternalError);
    }
    Reply(peer, seq, type, received, std::move(json), is_error);
  });
  if (!ok) {
    Reply(peer, seq, type, received, ErrorJson("server is shutting down", reflow::ErrorCode::kInternalError), true);
  }
}

void Service::SubmitWrite(WriteItem item) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ || item.kind == WriteItem::Kind::kFinalize) {
      if (!stopped_) {
        queue_bytes_ += item.bytes;
        queue_.push_back(std::move(item));
        metrics_.ingest_queue_depth.fetch_add(1, std::memory_order_relaxed);
        cv_.notify_one();
        return;
      }
    }
  }
  if (item.kind == WriteItem::Kind::kExternal) {
    item.done->set_value(Status::Unavailable("server is shutting down"));
  } else if (item.peer) {
    CompleteWrite(item, Status::Unavailable("server is shutting down"));
  }
}

Result<engine::WriteResult> Service::CommitBatch(const engine::WriteBatch& batch) {
  std::promise<Result<engine::WriteResult>> done;
  auto future = done.get_future();
  WriteItem item;
  item.kind = WriteItem::Kind::kExternal;
  item.external = &batch;
  item.done = &done;
  SubmitWrite(std::move(item));
  return future.get();
}

void Service::OnClose(const std::shared_ptr<Peer>& peer) {
  subscriptions_.Remove(peer->id());
  metrics_.connections_open.fetch_sub(1, std::memory_order_relaxed);
  auto& owned = peer->owned_traces();
  if (owned.empty()) return;
  WriteItem item;
  item.kind = WriteItem::Kind::kFinalize;
  item.finalize.assign(owned.begin(), owned.end());
  owned.clear();
  SubmitWrite(std::move(item));
}

void Service::WriterLoop() {
  std::vector<WriteItem> items;
  while (true) {
    std::vector<std::weak_ptr<Peer>> wake;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      // A finalization runs alone so that it sees every earlier write; an
      // external batch runs alone as given.
      auto alone = [](const WriteItem& i) {
        return i.kind == WriteItem::Kind::kFinalize || i.kind == WriteItem::Kind::kExternal;
      };
      bool finalize = alone(queue_.front());
      while (!queue_.empty() && items.size() < config_.ingest_max_batch) {
        bool is_finalize = alone(queue_.front());
        if (is_finalize != finalize || (finalize && !items.empty())) break;
        queue_bytes_ -= queue_.front().bytes;
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      metrics_.ingest_queue_depth.fetch_sub(static_cast<int64_t>(items.size()), std::memory_order_relaxed);
      wake.swap(waiters_);
    }
    for (auto& w : wake) {
      if (auto p = w.lock()) p->Wake();
    }
    if (items.front().kind == WriteItem::Kind::kFinalize) {
      FinalizeItem(items.front());
    } else if (items.front().kind == WriteItem::Kind::kExternal) {
      auto start = Clock::now();
      auto result = engine_->Write(*items.front().external);
      metrics_.write_batch_latency.Observe(std::chrono::duration<double>(Clock::now() - start).count());
      if (result.ok()) {
        metrics_.write_batches.fetch_add(1, std::memory_order_relaxed);
        metrics_.events_ingested.fetch_add(result->events_written, std::memory_order_relaxed);
        metrics_.events_duplicate.fetch_add(result->duplicates, std::memory_order_relaxed);
        trace_cache_.clear();
      } else {
        metrics_.write_errors.fetch_add(1, std::memory_order_relaxed);
      }
      items.front().done->set_value(std::move(result));
    } else {
      CommitItems(items);
    }
    items.clear();
  }
}

const TraceInfo* Service::LookupTrace(const schema::Id128& trace_id) {
  auto it = trace_cache_.find(trace_id);
  if (it != trace_cache_.end()) return &it->second;
  engine::ReadOptions header_only;
  header_only.include_events = false;
  auto t = engine_->GetTrace(trace_id, header_only);
  if (!t.ok() || !t->has_value()) return nullptr;
  if (trace_cache_.size() >= kTraceCacheMax) trace_cache_.clear();
  TraceInfo info{(*t)->flow_id, (*t)->status};
  return &trace_cache_.emplace(trace_id, std::move(info)).first->second;
}

void Service::CommitItems(std::vector<WriteItem>& items) {
  engine::WriteBatch batch;
  batch.Reserve(items.size());
  for (auto& item : items) {
    item.op_index = batch.size();
    switch (item.kind) {
      case WriteItem::Kind::kStart:
        batch.StartTrace(item.trace, engine::StartMode::kUpsertHeader);
        break;
      case WriteItem::Kind::kRecord:
        batch.AppendEvent(item.trace_id, std::move(item.event));
        break;
      case WriteItem::Kind::kEnd:
        batch.EndTrace(item.trace_id, item.status, NowNs(), engine::EndReason::kEnded);
        break;
      case WriteItem::Kind::kStore:
        batch.StoreTrace(std::move(item.trace));
        break;
      case WriteItem::Kind::kFinalize:
      case WriteItem::Kind::kExternal:
        break;
    }
  }
  auto start = Clock::now();
  auto result = engine_->Write(batch);
  metrics_.write_batch_latency.Observe(std::chrono::duration<double>(Clock::now() - start).count());
  if (!result.ok()) {
    metrics_.write_errors.fetch_add(1, std::memory_order_relaxed);
    if (items.size() > 1) {
      // Isolate the failing request: the others may well succeed alone.
      for (auto& item : items) {
        std::vector<WriteItem> one;
        one.push_back(std::move(item));
        if (one[0].kind == WriteItem::Kind::kRecord) one[0].event = batch.ops()[one[0].op_index].event;
        if (one[0].kind == WriteItem::Kind::kStore) one[0].trace = *batch.ops()[one[0].op_index].trace;
        CommitItems(one);
      }
      return;
    }
    CompleteWrite(items[0], result.status());
    return;
  }
  metrics_.write_batches.fetch_add(1, std::memory_order_relaxed);
  metrics_.write_batch_requests.fetch_add(items.size(), std::memory_order_relaxed);
  metrics_.events_ingested.fetch_add(result->events_written, std::memory_order_relaxed);
  metrics_.events_duplicate.fetch_add(result->duplicates, std::memory_order_relaxed);
  for (const auto& item : items) {
    if (item.kind != WriteItem::Kind::kRecord) trace_cache_.erase(item.trace_id);
  }
  for (auto& item : items) {
    if (item.kind == WriteItem::Kind::kRecord && !subscriptions_.empty()) {
      const schema::Event& event = batch.ops()[item.op_index].event;
      subscriptions_.Notify(item.trace_id, event, [&] { return LookupTrace(item.trace_id); });
    }
    if (item.kind == WriteItem::Kind::kEnd || item.kind == WriteItem::Kind::kStore) {
      metrics_.traces_stored.fetch_add(1, std::memory_order_relaxed);
    }
    CompleteWrite(item, Status::OK());
  }
}

void Service::CompleteWrite(WriteItem& item, const Status& status) {
  if (!item.peer) return;
  std::string json;
  bool is_error = !status.ok();
  switch (item.kind) {
    case WriteItem::Kind::kStart:
      json = is_error ? ErrorJson("Storage error: " + status.message(), CodeFor(status))
                      : PrintTracing(reflow::TraceStarted{item.trace_id});
      break;
    case WriteItem::Kind::kRecord:
    case WriteItem::Kind::kEnd:
      json = is_error ? PrintTracing(reflow::EventRecorded{false, "Storage error: " + status.message()})
                      : PrintTracing(reflow::EventRecorded{true, std::nullopt});
      break;
    case WriteItem::Kind::kStore:
      json = is_error ? PrintLegacy(reflow::LegacyError{"Processing error: " + status.message()})
                      : PrintLegacy(reflow::TraceStored{item.trace_id});
      break;
    case WriteItem::Kind::kFinalize:
    case WriteItem::Kind::kExternal:
      return;
  }
  Reply(item.peer, item.seq, item.type, item.received, std::move(json), is_error);
}

void Service::FinalizeItem(WriteItem& item) {
  engine::WriteBatch batch;
  engine::ReadOptions header_only;
  header_only.include_events = false;
  schema::TimestampNs now = NowNs();
  for (const auto& id : item.finalize) {
    auto t = engine_->GetTrace(id, header_only);
    if (!t.ok()) {
      std::fprintf(stderr, "tracedb: finalize: reading trace failed: %s\n", t.status().ToString().c_str());
      continue;
    }
    if (!t->has_value() || (*t)->end_ns.has_value()) continue;  // gone, or ended by someone
    batch.EndTrace(id, finalize_status_, now, engine::EndReason::kFinalized);
    trace_cache_.erase(id);
  }
  if (batch.empty()) return;
  auto start = Clock::now();
  auto result = engine_->Write(batch);
  metrics_.write_batch_latency.Observe(std::chrono::duration<double>(Clock::now() - start).count());
  if (!result.ok()) {
    metrics_.write_errors.fetch_add(1, std::memory_order_relaxed);
    std::fprintf(stderr, "tracedb: finalize: write failed: %s\n", result.status().ToString().c_str());
    return;
  }
  metrics_.write_batches.fetch_add(1, std::memory_order_relaxed);
  metrics_.traces_finalized.fetch_add(batch.size(), std::memory_order_relaxed);
  metrics_.traces_stored.fetch_add(batch.size(), std::memory_order_relaxed);
}

std::string Service::RenderMetrics() {
  engine::Stats stats = engine_->GetStats();
  return metrics_.RenderPrometheus(&stats, &engine_->counters());
}

}  // namespace tracedb::server
