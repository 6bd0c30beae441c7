#include "server/service.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "ingest/reflow/reflow_json.h"
#include "ingest/reflow/reflow_mapping.h"
#include "server/trace_query.h"

namespace tracedb::server {

namespace reflow = ingest::reflow;
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
    case StatusCode::kStorageFull:
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable: return reflow::ErrorCode::kStorageError;
    default: return reflow::ErrorCode::kInternalError;
  }
}

}  // namespace

// A Reflow write (StartTrace, RecordEvent, EndTrace, StoreTrace): merged
// with the other pending writes into one engine batch, answered after it.
class Service::WriteItem final : public ingest::WriteRequest {
 public:
  enum class Kind { kStart, kRecord, kEnd, kStore };

  WriteItem(Service* service, Kind kind, std::shared_ptr<Peer> peer, uint64_t seq, RequestType type,
            Clock::time_point received, uint64_t bytes)
      : WriteRequest(Grouping::kMerge, bytes),
        kind(kind),
        peer(std::move(peer)),
        seq(seq),
        type(type),
        received(received),
        service_(service) {}

  void AddTo(engine::WriteBatch* batch) override {
    switch (kind) {
      case Kind::kStart: batch->StartTrace(trace, engine::StartMode::kUpsertHeader); break;
      case Kind::kRecord: batch->AppendEvent(trace_id, std::move(event)); break;
      case Kind::kEnd: batch->EndTrace(trace_id, status, NowNs(), engine::EndReason::kEnded); break;
      case Kind::kStore: batch->StoreTrace(std::move(trace)); break;
    }
    // The header changes: the notifications of this batch, sent after the
    // write, must read it again.
    if (kind != Kind::kRecord) service_->trace_cache_.erase(trace_id);
  }

  void TakeBack(const engine::WriteBatch& batch, size_t first_op) override {
    if (kind == Kind::kRecord) event = batch.ops()[first_op].event;
    if (kind == Kind::kStore) trace = *batch.ops()[first_op].trace;
  }

  void Complete(const Status& status, const engine::WriteBatch& batch, size_t first_op) override {
    if (status.ok()) {
      if (kind == Kind::kRecord && service_->bus_ != nullptr) {
        service_->NotifyAndPublish(trace_id, batch.ops()[first_op].event);
      } else if (kind == Kind::kRecord && !service_->subscriptions_.empty()) {
        const schema::Event& stored = batch.ops()[first_op].event;
        service_->subscriptions_.Notify(trace_id, stored, [&] { return service_->LookupTrace(trace_id); });
      }
      if (kind == Kind::kEnd || kind == Kind::kStore) {
        service_->metrics_.traces_stored.fetch_add(1, std::memory_order_relaxed);
      }
    }
    service_->CompleteWrite(*this, status);
  }

  void Refused() override { service_->CompleteWrite(*this, Status::Unavailable("server is shutting down")); }

  const Kind kind;
  const std::shared_ptr<Peer> peer;
  const uint64_t seq;
  const RequestType type;
  const Clock::time_point received;
  schema::Id128 trace_id{};
  schema::Trace trace;             // kStart header, kStore whole trace
  schema::Event event;             // kRecord
  schema::ExecutionStatus status;  // kEnd

 private:
  Service* const service_;
};

// Ends the still-open traces a closed connection started or recorded into.
// Runs alone so that it sees every earlier write.
class Service::FinalizeItem final : public ingest::WriteRequest {
 public:
  FinalizeItem(Service* service, std::vector<schema::Id128> traces)
      : WriteRequest(Grouping::kAlone, 0), service_(service), traces_(std::move(traces)) {}

  void Run(const ingest::BatchWriter& write) override {
    engine::WriteBatch batch;
    engine::ReadOptions header_only;
    header_only.include_events = false;
    schema::TimestampNs now = NowNs();
    for (const auto& id : traces_) {
      auto t = service_->engine_->GetTrace(id, header_only);
      if (!t.ok()) {
        std::fprintf(stderr, "tracedb: finalize: reading trace failed: %s\n", t.status().ToString().c_str());
        continue;
      }
      if (!t->has_value() || (*t)->end_ns.has_value()) continue;  // gone, or ended by someone
      batch.EndTrace(id, service_->finalize_status_, now, engine::EndReason::kFinalized);
      service_->trace_cache_.erase(id);
    }
    if (batch.empty()) return;
    auto result = write(batch);
    if (!result.ok()) {
      std::fprintf(stderr, "tracedb: finalize: write failed: %s\n", result.status().ToString().c_str());
      return;
    }
    service_->metrics_.traces_finalized.fetch_add(batch.size(), std::memory_order_relaxed);
    service_->metrics_.traces_stored.fetch_add(batch.size(), std::memory_order_relaxed);
  }

 private:
  Service* const service_;
  const std::vector<schema::Id128> traces_;
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
    // Asked before every request: no lock while the queue is far from full.
    if (static_cast<size_t>(std::max<int64_t>(0, metrics_->read_queue_depth.load(std::memory_order_relaxed))) + 1 <
        capacity_) {
      return false;
    }
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
  auto algo = ingest::CodecFromName(config.compression_algorithm);
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
  ingest::GroupCommitOptions options;
  options.queue_capacity = config.ingest_queue_capacity;
  options.queue_bytes = config.ingest_queue_bytes;
  options.max_batch = config.ingest_max_batch;
  ingest::GroupCommitHooks hooks;
  Metrics* m = &s->metrics_;
  hooks.on_queue_depth = [m](int64_t delta) { m->ingest_queue_depth.fetch_add(delta, std::memory_order_relaxed); };
  hooks.on_write = [m](double seconds, const Result<engine::WriteResult>& result, size_t requests) {
    m->write_batch_latency.Observe(seconds);
    if (!result.ok()) {
      m->write_errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    m->write_batches.fetch_add(1, std::memory_order_relaxed);
    m->write_batch_requests.fetch_add(requests, std::memory_order_relaxed);
    m->events_ingested.fetch_add(result->events_written, std::memory_order_relaxed);
    m->events_duplicate.fetch_add(result->duplicates, std::memory_order_relaxed);
  };
  s->writes_ = std::make_unique<ingest::GroupCommit>(engine, options, std::move(hooks));
  s->reads_ = std::make_unique<ReadPool>(config.read_threads, config.read_queue_capacity, &s->metrics_);
  if (!config.cluster_nats.empty()) TRACEDB_RETURN_IF_ERROR(s->StartBus());
  return s;
}

Status Service::StartBus() {
  ClusterBusOptions options;
  options.url = config_.cluster_nats;
  std::random_device random;
  options.server_id = (uint64_t{random()} << 32) ^ random();
  auto wanted = [this] { return !subscriptions_.empty(); };
  auto deliver = [this](const BusMessage& m) {
    subscriptions_.NotifyPrinted(
        m.event, [&] { return m.trace_known ? &m.trace : nullptr; },
        [&] { return std::make_shared<const std::string>(m.notification); });
  };
  auto bus = ClusterBus::Start(options, &metrics_, std::move(wanted), std::move(deliver));
  if (!bus.ok()) return bus.status();
  bus_ = std::move(bus).value();
  return Status::OK();
}

void Service::NotifyAndPublish(const schema::Id128& trace_id, const schema::Event& event) {
  // Printed once, for the local subscribers and the bus alike.
  auto json = std::make_shared<std::string>();
  reflow::AppendTracingResponse(reflow::EventNotification{trace_id, event}, json.get());
  std::shared_ptr<const std::string> shared = std::move(json);
  const TraceInfo* info = LookupTrace(trace_id);
  if (!subscriptions_.empty()) {
    subscriptions_.NotifyPrinted(event, [&] { return info; }, [&] { return shared; });
  }
  bus_->Publish(info, event, *shared);
}

Service::Service(const Config& config, engine::Engine* engine)
    : config_(config), engine_(engine), subscriptions_(&metrics_) {}

Service::~Service() { Shutdown(); }

bool Service::ready() const { return writes_->accepting(); }

void Service::Shutdown() {
  if (writes_) writes_->Shutdown();
  if (reads_) reads_->Shutdown();
  // After the writer: every committed event has been published.
  if (bus_) bus_->Close();
}

Outgoing Service::MakeReply(std::string json, const Peer& peer) const {
  Outgoing out;
  bool wanted = config_.compression_replies == "always" || peer.compress_replies();
  if (config_.compression_enabled && wanted && json.size() > config_.compression_threshold) {
    out.payload = ingest::CompressMessage(json, algorithm_, static_cast<int>(config_.compression_level));
    out.binary = true;
  } else {
    out.payload = std::move(json);
  }
  return out;
}

void Service::Reply(const std::shared_ptr<Peer>& peer, uint64_t seq, RequestType type, Clock::time_point received,
                    std::string json, bool is_error) {
  if (is_error) metrics_.errors_total.fetch_add(1, std::memory_order_relaxed);
  Outgoing out = MakeReply(std::move(json), *peer);
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
  bool full = writes_->MaybeFull() && writes_->WaitIfFull([weak = std::weak_ptr<Peer>(peer)] {
    if (auto p = weak.lock()) p->Wake();
  });
  return full || reads_->WaitIfFull(peer);
}

void Service::Handle(const std::shared_ptr<Peer>& peer, uint64_t seq, std::string_view json,
                     Clock::time_point received, Burst* burst) {
  auto parsed = reflow::ParseRequest(json);
  if (!parsed.ok()) {
    HandleInvalid(peer, seq, parsed.status().message(), received);
    return;
  }
  if (burst != nullptr && !burst->writes_.empty()) {
    bool is_write = std::visit(
        Overloaded{[](const reflow::TracingRequest& r) {
                     return std::holds_alternative<reflow::StartTrace>(r) ||
                            std::holds_alternative<reflow::RecordEvent>(r) ||
                            std::holds_alternative<reflow::EndTrace>(r);
                   },
                   [](const reflow::TraceMessage& m) { return std::holds_alternative<reflow::StoreTrace>(m); }},
        *parsed);
    if (!is_write) EndBurst(burst);  // a read or a reply follows the writes before it
  }
  auto write = [&](WriteItem::Kind kind, RequestType type) {
    return std::make_unique<WriteItem>(this, kind, peer, seq, type, received, json.size());
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
        auto item = write(WriteItem::Kind::kStart, RequestType::kStartTrace);
        item->trace_id = s.trace_id.value_or(reflow::RandomUuidV4());
        item->trace = reflow::ReflowStartHeader(s, item->trace_id, NowNs());
        own(item->trace_id);
        SubmitWrite(std::move(item), burst);
      },
      [&](reflow::RecordEvent& r) {
        auto item = write(WriteItem::Kind::kRecord, RequestType::kRecordEvent);
        item->trace_id = r.trace_id;
        item->event = std::move(r.event);
        own(item->trace_id);
        SubmitWrite(std::move(item), burst);
      },
      [&](reflow::EndTrace& e) {
        auto item = write(WriteItem::Kind::kEnd, RequestType::kEndTrace);
        item->trace_id = e.trace_id;
        item->status = std::move(e.status);
        peer->owned_traces().erase(e.trace_id);
        SubmitWrite(std::move(item), burst);
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
        if (bus_ == nullptr) {
          Reply(peer, seq, RequestType::kSubscribe, received, PrintTracing(reflow::EventRecorded{true, std::nullopt}));
          return;
        }
        // Acked once the bus subscription is confirmed by NATS: an event
        // another server records after the ack is delivered.
        bus_->Reconcile([this, peer, seq, received] {
          Reply(peer, seq, RequestType::kSubscribe, received, PrintTracing(reflow::EventRecorded{true, std::nullopt}));
        });
      },
      [&](reflow::Unsubscribe&) {
        subscriptions_.Remove(peer->id());
        if (bus_ != nullptr) bus_->Reconcile();
        Reply(peer, seq, RequestType::kUnsubscribe, received,
              PrintTracing(reflow::EventRecorded{true, std::nullopt}));
      },
  };
  auto legacy = Overloaded{
      [&](reflow::StoreTrace& s) {
        auto item = write(WriteItem::Kind::kStore, RequestType::kStoreTrace);
        item->trace_id = s.trace.trace_id;
        item->trace = std::move(s.trace);
        item->trace.source = schema::Source::kReflow;
        SubmitWrite(std::move(item), burst);
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

void Service::SubmitWrite(std::unique_ptr<WriteItem> item, Burst* burst) {
  if (burst != nullptr) {
    burst->writes_.push_back(std::move(item));
  } else {
    writes_->Submit(std::move(item));
  }
}

void Service::EndBurst(Burst* burst) { writes_->SubmitAll(burst->writes_); }

Result<engine::WriteResult> Service::CommitBatch(const engine::WriteBatch& batch) {
  // The batch may have changed any trace: the notification cache starts over.
  return writes_->CommitAlone(batch, [this] { trace_cache_stale_.store(true, std::memory_order_release); });
}

void Service::CommitBatchAsync(const engine::WriteBatch& batch, std::function<void(Result<engine::WriteResult>)> done) {
  writes_->CommitAsync(batch, [this, done = std::move(done)](Result<engine::WriteResult> r) {
    if (r.ok()) trace_cache_stale_.store(true, std::memory_order_release);  // any trace may have changed
    done(std::move(r));
  });
}

void Service::OnClose(const std::shared_ptr<Peer>& peer) {
  if (subscriptions_.Remove(peer->id()) && bus_ != nullptr) bus_->Reconcile();
  metrics_.connections_open.fetch_sub(1, std::memory_order_relaxed);
  auto& owned = peer->owned_traces();
  if (owned.empty()) return;
  std::vector<schema::Id128> traces(owned.begin(), owned.end());
  owned.clear();
  writes_->Submit(std::make_unique<FinalizeItem>(this, std::move(traces)),
                  ingest::GroupCommit::Admission::kWhileDraining);
}

const TraceInfo* Service::LookupTrace(const schema::Id128& trace_id) {
  if (trace_cache_stale_.exchange(false, std::memory_order_acquire)) trace_cache_.clear();
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

void Service::CompleteWrite(WriteItem& item, const Status& status) {
  std::string json;
  bool is_error = !status.ok();
  switch (item.kind) {
    case WriteItem::Kind::kStart:
      json = is_error ? ErrorJson("Storage error: " + status.message(), CodeFor(status))
                      : PrintTracing(reflow::TraceStarted{item.trace_id});
      break;
    case WriteItem::Kind::kRecord:
    case WriteItem::Kind::kEnd:
      // A failure is an Error with its code (a full disk: StorageError),
      // which every client generation parses, rather than
      // EventRecorded{success:false}, which G1 clients do not check.
      json = is_error ? ErrorJson("Storage error: " + status.message(), CodeFor(status))
                      : PrintTracing(reflow::EventRecorded{true, std::nullopt});
      break;
    case WriteItem::Kind::kStore:
      json = is_error ? PrintLegacy(reflow::LegacyError{"Processing error: " + status.message()})
                      : PrintLegacy(reflow::TraceStored{item.trace_id});
      break;
  }
  Reply(item.peer, item.seq, item.type, item.received, std::move(json), is_error);
}

std::string Service::RenderMetrics() {
  engine::Stats stats = engine_->GetStats();
  engine::StorageSpace space = engine_->Space();
  return metrics_.RenderPrometheus(&stats, &engine_->counters(), &space);
}

}  // namespace tracedb::server
