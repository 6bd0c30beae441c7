#include "server/cluster_bus.h"

#include <nats/nats.h>

#include <chrono>
#include <cstdio>

#include <unordered_map>

#include <fmt/format.h>

namespace tracedb::server {

namespace {

constexpr std::string_view kWildcardSubject = "tracedb.ev.>";

bool PlainSubjectByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutStr(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Reads the fields of a message front to back; any overrun sets !ok.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint8_t U8() {
    if (!Need(1)) return 0;
    auto v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  uint64_t Fixed(int bytes) {
    if (!Need(static_cast<size_t>(bytes))) return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(in_[i])} << (8 * i);
    in_.remove_prefix(static_cast<size_t>(bytes));
    return v;
  }
  std::string Str() {
    auto n = static_cast<size_t>(Fixed(4));
    if (!Need(n)) return {};
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  std::string_view rest() const { return in_; }
  bool ok() const { return ok_; }

 private:
  bool Need(size_t n) {
    if (ok_ && in_.size() >= n) return true;
    ok_ = false;
    return false;
  }
  std::string_view in_;
  bool ok_ = true;
};

void Log(const std::string& line) { std::fprintf(stderr, "tracedb: cluster.nats: %s\n", line.c_str()); }

}  // namespace

std::string FlowSubjectToken(std::string_view flow_id) {
  if (flow_id.empty()) return "~";
  std::string out;
  out.reserve(flow_id.size());
  for (char ch : flow_id) {
    auto c = static_cast<unsigned char>(ch);
    if (PlainSubjectByte(c)) {
      out.push_back(ch);
    } else {
      out += fmt::format("~{:02X}", c);
    }
  }
  return out;
}

std::string BusSubject(std::string_view flow_id) {
  return std::string(kBusSubjectPrefix) + FlowSubjectToken(flow_id);
}

std::string EncodeBusMessage(uint64_t origin, uint64_t seq, const TraceInfo* trace, const schema::Event& event,
                             std::string_view notification) {
  std::string out;
  const std::string_view flow = trace != nullptr ? std::string_view(trace->flow_id) : std::string_view();
  const std::string_view error = trace != nullptr ? std::string_view(trace->status.error) : std::string_view();
  out.reserve(44 + flow.size() + error.size() + event.actor.size() + event.to_actor.size() + event.to_port.size() +
              notification.size());
  out.push_back(static_cast<char>(kBusMessageVersion));
  PutU64(&out, origin);
  PutU64(&out, seq);
  out.push_back(static_cast<char>(trace != nullptr ? 1 : 0));
  out.push_back(static_cast<char>(trace != nullptr ? static_cast<uint8_t>(trace->status.code) : 0));
  out.push_back(static_cast<char>(static_cast<uint8_t>(event.type)));
  PutStr(&out, flow);
  PutStr(&out, error);
  PutStr(&out, event.actor);
  PutStr(&out, event.to_actor);
  PutStr(&out, event.to_port);
  out.append(notification);
  return out;
}

Result<BusMessage> DecodeBusMessage(std::string_view body) {
  Reader r(body);
  uint8_t version = r.U8();
  if (!r.ok()) return Status::InvalidArgument("cluster bus message: empty");
  if (version != kBusMessageVersion) {
    return Status::InvalidArgument(fmt::format("cluster bus message: unknown version {}", version));
  }
  BusMessage m;
  m.origin = r.Fixed(8);
  m.seq = r.Fixed(8);
  m.trace_known = r.U8() != 0;
  m.trace.status.code = static_cast<schema::StatusCode>(r.U8());
  m.event.type = static_cast<schema::EventType>(r.U8());
  m.trace.flow_id = r.Str();
  m.trace.status.error = r.Str();
  m.event.actor = r.Str();
  m.event.to_actor = r.Str();
  m.event.to_port = r.Str();
  if (!r.ok()) return Status::InvalidArgument("cluster bus message: truncated");
  m.notification = std::string(r.rest());
  return m;
}

// The libnats handles. Callbacks get the ClusterBus as their closure.
struct ClusterBus::Nats {
  natsOptions* opts = nullptr;
  natsConnection* conn = nullptr;
  natsSubscription* sub = nullptr;  // touched on the bus thread only

  // Set by the subscription's completion callback: its handler has
  // returned for the last time.
  std::mutex complete_mu;
  std::condition_variable complete_cv;
  bool complete = true;  // GUARDED_BY(complete_mu)

  std::atomic<bool> connected{false};
  std::atomic<bool> subscribed{false};

  ~Nats() {
    if (conn != nullptr) natsConnection_Destroy(conn);
    if (opts != nullptr) natsOptions_Destroy(opts);
  }
};

namespace {

ClusterBus* BusOf(void* closure) { return static_cast<ClusterBus*>(closure); }

// The connection callbacks (connected, disconnected, reconnected) run on
// libnats' own threads and may still be queued when a bus is destroyed
// (closing the connection queues a disconnected callback): their closure
// is the bus's id, looked up here; a closed bus is no longer found. The
// subscription's callbacks take the bus itself: Unsubscribe waits for
// them to finish.
std::mutex g_buses_mu;
std::unordered_map<uintptr_t, ClusterBus*>& Buses() {
  static auto* buses = new std::unordered_map<uintptr_t, ClusterBus*>();
  return *buses;
}
std::atomic<uintptr_t> g_next_bus_id{1};

template <typename Fn>
void WithBus(void* closure, Fn&& fn) {
  std::lock_guard lock(g_buses_mu);
  auto it = Buses().find(reinterpret_cast<uintptr_t>(closure));
  if (it != Buses().end()) fn(it->second);
}

}  // namespace

ClusterBus::ClusterBus(const ClusterBusOptions& options, Metrics* metrics, Wanted wanted, Deliver deliver)
    : options_(options),
      metrics_(metrics),
      wanted_(std::move(wanted)),
      deliver_(std::move(deliver)),
      nats_(std::make_unique<Nats>()) {}

Result<std::unique_ptr<ClusterBus>> ClusterBus::Start(const ClusterBusOptions& options, Metrics* metrics,
                                                      Wanted wanted, Deliver deliver) {
  std::unique_ptr<ClusterBus> bus(new ClusterBus(options, metrics, std::move(wanted), std::move(deliver)));
  Nats& n = *bus->nats_;
  metrics->cluster_bus_enabled.store(true, std::memory_order_relaxed);
  if (natsOptions_Create(&n.opts) != NATS_OK) return Status::Internal("cluster.nats: cannot create NATS options");
  if (natsOptions_SetURL(n.opts, options.url.c_str()) != NATS_OK) {
    return Status::InvalidArgument(fmt::format("cluster.nats: invalid NATS URL '{}': {}", options.url,
                                               nats_GetLastError(nullptr)));
  }
  auto on_connected = [](natsConnection*, void* closure) {
    WithBus(closure, [](ClusterBus* b) {
      b->nats_->connected.store(true);
      b->metrics_->cluster_connected.store(1, std::memory_order_relaxed);
      Log(fmt::format("connected to {}", b->options_.url));
      // A subscription attempted before the first connection may have
      // failed: the bus thread checks again.
      b->Reconcile();
    });
  };
  auto on_disconnected = [](natsConnection*, void* closure) {
    WithBus(closure, [](ClusterBus* b) {
      // The library also calls this when a first connect attempt fails; only
      // the loss of an established connection is a disconnect.
      if (!b->nats_->connected.exchange(false)) return;
      b->metrics_->cluster_connected.store(0, std::memory_order_relaxed);
      b->metrics_->cluster_disconnects.fetch_add(1, std::memory_order_relaxed);
      Log(fmt::format("lost the connection to {}; reconnecting (events are not published meanwhile)",
                      b->options_.url));
    });
  };
  auto on_reconnected = [](natsConnection*, void* closure) {
    WithBus(closure, [](ClusterBus* b) {
      b->nats_->connected.store(true);
      b->metrics_->cluster_connected.store(1, std::memory_order_relaxed);
      b->metrics_->cluster_reconnects.fetch_add(1, std::memory_order_relaxed);
      Log(fmt::format("reconnected to {}", b->options_.url));
      b->Reconcile();
    });
  };
  bus->id_ = g_next_bus_id.fetch_add(1);
  {
    std::lock_guard lock(g_buses_mu);
    Buses()[bus->id_] = bus.get();
  }
  void* self = reinterpret_cast<void*>(bus->id_);
  bool ok = natsOptions_SetNoEcho(n.opts, true) == NATS_OK &&
            natsOptions_SetAllowReconnect(n.opts, true) == NATS_OK &&
            natsOptions_SetMaxReconnect(n.opts, -1) == NATS_OK &&
            natsOptions_SetReconnectWait(n.opts, options.reconnect_wait_ms) == NATS_OK &&
            natsOptions_SetDisconnectedCB(n.opts, on_disconnected, self) == NATS_OK &&
            natsOptions_SetReconnectedCB(n.opts, on_reconnected, self) == NATS_OK &&
            natsOptions_SetRetryOnFailedConnect(n.opts, true, on_connected, self) == NATS_OK;
  if (!ok) return Status::Internal(fmt::format("cluster.nats: cannot set NATS options: {}", nats_GetLastError(nullptr)));
  natsStatus s = natsConnection_Connect(&n.conn, n.opts);
  if (s == NATS_OK) {
    on_connected(n.conn, self);
  } else if (s == NATS_NOT_YET_CONNECTED) {
    Log(fmt::format("cannot reach NATS at {}; the server runs and ingests, live events of other servers "
                    "are not exchanged until it connects (retrying every {} ms)",
                    options.url, options.reconnect_wait_ms));
  } else {
    return Status::InvalidArgument(fmt::format("cluster.nats: cannot connect to '{}': {}", options.url,
                                               natsStatus_GetText(s)));
  }
  bus->thread_ = std::thread([b = bus.get()] { b->Run(); });
  return bus;
}

ClusterBus::~ClusterBus() { Close(); }

bool ClusterBus::connected() const { return nats_->connected.load(); }

bool ClusterBus::subscribed() const { return nats_->subscribed.load(); }

void ClusterBus::Publish(const TraceInfo* trace, const schema::Event& event, std::string_view notification) {
  const std::string subject = BusSubject(trace != nullptr ? std::string_view(trace->flow_id) : "unknown");
  std::lock_guard lock(publish_mu_);
  // Checked first so that a message is never queued in the library's
  // reconnect buffer: delivered late after an outage, it would arrive
  // after the receivers resubscribed or not at all, depending on who
  // reconnects first. Dropping here is deterministic and counted.
  if (!nats_->connected.load() || natsConnection_Status(nats_->conn) != NATS_CONN_STATUS_CONNECTED) {
    metrics_->cluster_publish_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::string body = EncodeBusMessage(options_.server_id, next_seq_, trace, event, notification);
  natsStatus s = natsConnection_Publish(nats_->conn, subject.c_str(), body.data(), static_cast<int>(body.size()));
  if (s != NATS_OK) {
    metrics_->cluster_publish_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  ++next_seq_;
  metrics_->cluster_published.fetch_add(1, std::memory_order_relaxed);
}

void ClusterBus::Reconcile(std::function<void()> done) {
  std::lock_guard lock(mu_);
  if (stopping_) {
    if (done) done();
    return;
  }
  dirty_ = true;
  if (done) done_.push_back(std::move(done));
  cv_.notify_one();
}

void ClusterBus::Run() {
  while (true) {
    std::vector<std::function<void()>> done;
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return dirty_ || stopping_; });
      dirty_ = false;
      stopping = stopping_;
      done.swap(done_);
    }
    bool want = !stopping && wanted_();
    if (want && nats_->sub == nullptr) Subscribe();
    if (!want && nats_->sub != nullptr) Unsubscribe();
    for (auto& fn : done) fn();
    if (stopping) return;
  }
}

void ClusterBus::Subscribe() {
  {
    std::lock_guard lock(seen_mu_);
    last_seq_.clear();
  }
  auto on_message = [](natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    BusOf(closure)->OnMessage(std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))));
    natsMsg_Destroy(msg);
  };
  auto on_complete = [](void* closure) {
    Nats& n = *BusOf(closure)->nats_;
    std::lock_guard lock(n.complete_mu);
    n.complete = true;
    n.complete_cv.notify_all();
  };
  Nats& n = *nats_;
  {
    std::lock_guard lock(n.complete_mu);
    n.complete = false;
  }
  natsStatus s = natsConnection_Subscribe(&n.sub, n.conn, std::string(kWildcardSubject).c_str(), on_message, this);
  if (s != NATS_OK) {
    n.sub = nullptr;
    n.complete = true;
    Log(fmt::format("cannot subscribe to {}: {}", kWildcardSubject, natsStatus_GetText(s)));
    return;
  }
  natsSubscription_SetOnCompleteCB(n.sub, on_complete, this);
  natsSubscription_SetPendingLimits(n.sub, options_.pending_messages, -1);
  n.subscribed.store(true);
  metrics_->cluster_subscribed.store(1, std::memory_order_relaxed);
  // The round trip makes the NATS server process the SUB before the
  // Subscribe ack goes out: an event published after the ack is delivered.
  if (n.connected.load()) {
    s = natsConnection_FlushTimeout(n.conn, options_.subscribe_confirm_ms);
    if (s != NATS_OK) {
      Log(fmt::format("the subscription to {} is not confirmed yet: {}", kWildcardSubject, natsStatus_GetText(s)));
    }
  }
}

void ClusterBus::Unsubscribe() {
  Nats& n = *nats_;
  natsSubscription_Unsubscribe(n.sub);
  {
    std::unique_lock lock(n.complete_mu);
    if (!n.complete_cv.wait_for(lock, std::chrono::seconds(10), [&] { return n.complete; })) {
      Log("the bus subscription's handler did not finish within 10 s");
    }
  }
  natsSubscription_Destroy(n.sub);
  n.sub = nullptr;
  n.subscribed.store(false);
  metrics_->cluster_subscribed.store(0, std::memory_order_relaxed);
}

void ClusterBus::OnMessage(std::string_view body) {
  auto m = DecodeBusMessage(body);
  if (!m.ok()) {
    metrics_->cluster_invalid.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (m->origin == options_.server_id) return;  // our own: delivered by the local path
  {
    std::lock_guard lock(seen_mu_);
    uint64_t& last = last_seq_[m->origin];
    if (last != 0 && m->seq > last + 1) {
      metrics_->cluster_lost.fetch_add(m->seq - last - 1, std::memory_order_relaxed);
    }
    if (m->seq > last) last = m->seq;
  }
  metrics_->cluster_received.fetch_add(1, std::memory_order_relaxed);
  deliver_(*m);
}

void ClusterBus::Close() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  if (nats_->sub != nullptr) Unsubscribe();
  {
    // From here on the connection callbacks find no bus (they may run after
    // it is gone: closing queues one).
    std::lock_guard lock(g_buses_mu);
    Buses().erase(id_);
  }
  if (nats_->conn != nullptr) {
    // Cleared first: closing calls the disconnected callback, and a
    // shutdown is not a lost connection.
    nats_->connected.store(false);
    natsConnection_Close(nats_->conn);
    metrics_->cluster_connected.store(0, std::memory_order_relaxed);
  }
}

}  // namespace tracedb::server
