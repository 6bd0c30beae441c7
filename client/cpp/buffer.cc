#include "client/cpp/buffer.h"

#include <algorithm>

namespace tracedb::client::internal {

namespace {
constexpr size_t kLatencies = 65536;
}

RequestBuffer::RequestBuffer(const Options& options, std::function<void()> wake)
    : options_(options), wake_(std::move(wake)) {
  latencies_.reserve(kLatencies);
}

void RequestBuffer::Add(RawRequest request) {
  size_t waiting = 0;
  {
    std::unique_lock lock(mu_);
    auto buffered = [this] { return incoming_.size() + encoding_ + unacked_.size(); };
    if (!closed_ && buffered() >= options_.max_buffered) {
      if (options_.overflow == OverflowPolicy::kBlock) {
        room_cv_.wait(lock, [&] { return closed_ || buffered() < options_.max_buffered; });
      } else if (!DropOldestLocked()) {
        // Nothing older can go (all in flight or not events): this one goes.
        ++counters_.recorded;
        ++counters_.dropped;
        return;
      }
    }
    ++counters_.recorded;
    if (closed_) {
      ++counters_.dropped;
      return;
    }
    incoming_.push_back(std::move(request));
    waiting = incoming_.size();
  }
  if (waiting == options_.batch_size) wake_();
}

bool RequestBuffer::DropOldestLocked() {
  for (size_t i = in_flight_; i < unacked_.size(); ++i) {
    if (unacked_[i].kind == RequestKind::kRecordEvent) {
      unacked_.erase(unacked_.begin() + static_cast<ptrdiff_t>(i));
      ++counters_.dropped;
      return true;
    }
  }
  for (auto it = incoming_.begin(); it != incoming_.end(); ++it) {
    if (KindOf(*it) == RequestKind::kRecordEvent) {
      incoming_.erase(it);
      ++counters_.dropped;
      return true;
    }
  }
  return false;
}

bool RequestBuffer::WaitEmpty(std::chrono::milliseconds timeout) {
  wake_();
  std::unique_lock lock(mu_);
  return empty_cv_.wait_for(lock, timeout,
                            [this] { return incoming_.empty() && encoding_ == 0 && unacked_.empty(); });
}

void RequestBuffer::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  room_cv_.notify_all();
}

Counters RequestBuffer::counters() const {
  std::lock_guard lock(mu_);
  Counters c = counters_;
  c.buffered = incoming_.size() + encoding_ + unacked_.size();
  return c;
}

std::vector<uint32_t> RequestBuffer::AckLatenciesUs() const {
  std::vector<uint32_t> out;
  {
    std::lock_guard lock(mu_);
    out = latencies_;
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<RawRequest> RequestBuffer::TakeIncoming() {
  std::lock_guard lock(mu_);
  std::vector<RawRequest> out(std::make_move_iterator(incoming_.begin()), std::make_move_iterator(incoming_.end()));
  incoming_.clear();
  encoding_ += out.size();
  return out;
}

void RequestBuffer::Enqueue(std::vector<Outgoing> items, size_t taken, bool replayed) {
  std::lock_guard lock(mu_);
  encoding_ -= taken;
  if (replayed) counters_.recorded += items.size();
  for (Outgoing& o : items) unacked_.push_back(std::move(o));
  if (incoming_.empty() && encoding_ == 0 && unacked_.empty()) empty_cv_.notify_all();
}

std::shared_ptr<const std::string> RequestBuffer::NextToSend() {
  std::lock_guard lock(mu_);
  if (in_flight_ >= unacked_.size() || in_flight_ >= options_.max_in_flight) return nullptr;
  ++counters_.sent;
  return unacked_[in_flight_++].json;
}

uint64_t RequestBuffer::OnAck(bool ok) {
  std::lock_guard lock(mu_);
  if (in_flight_ == 0) return 0;
  Outgoing& front = unacked_.front();
  uint64_t seq = front.seq;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - front.recorded)
                .count();
  uint32_t v = static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX));
  if (latencies_.size() < kLatencies) {
    latencies_.push_back(v);
  } else {
    latencies_[latency_next_] = v;
    latency_next_ = (latency_next_ + 1) % kLatencies;
  }
  unacked_.pop_front();
  --in_flight_;
  ++counters_.acked;
  if (!ok) ++counters_.rejected;
  room_cv_.notify_one();
  if (incoming_.empty() && encoding_ == 0 && unacked_.empty()) empty_cv_.notify_all();
  return seq;
}

void RequestBuffer::OnDisconnect() {
  std::lock_guard lock(mu_);
  counters_.retried += in_flight_;
  in_flight_ = 0;
  counters_.connected = false;
  counters_.compressed = false;
}

size_t RequestBuffer::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

bool RequestBuffer::HasWork() const {
  std::lock_guard lock(mu_);
  return !incoming_.empty() || in_flight_ < unacked_.size();
}

void RequestBuffer::SetConnected(bool connected, bool compressed) {
  std::lock_guard lock(mu_);
  counters_.connected = connected;
  counters_.compressed = compressed;
}

void RequestBuffer::CountConnect(bool ok) {
  std::lock_guard lock(mu_);
  ++(ok ? counters_.connects : counters_.connect_failures);
}

}  // namespace tracedb::client::internal
