// Cursor combinators: in-memory, intersection (leapfrog), union (k-way
// merge) and take-N. Each keeps the IndexBefore order of its inputs.

#include <algorithm>
#include <queue>

#include "index/index.h"

namespace tracedb::index {

namespace {

bool Same(const IndexEntry& a, const IndexEntry& b) {
  return a.start_ns == b.start_ns && a.trace_id == b.trace_id;
}

class VectorCursor final : public IndexCursor {
 public:
  explicit VectorCursor(std::vector<IndexEntry> entries) : entries_(std::move(entries)) {
    std::sort(entries_.begin(), entries_.end(), engine::IndexBefore);
    entries_.erase(std::unique(entries_.begin(), entries_.end(), Same), entries_.end());
  }
  bool Valid() const override { return pos_ < entries_.size(); }
  const IndexEntry& entry() const override { return entries_[pos_]; }
  void Next() override { ++pos_; }
  void Seek(const IndexEntry& target) override {
    pos_ = static_cast<size_t>(
        std::lower_bound(entries_.begin(), entries_.end(), target, engine::IndexBefore) - entries_.begin());
  }
  Status status() const override { return Status::OK(); }

 private:
  std::vector<IndexEntry> entries_;
  size_t pos_ = 0;
};

// Leapfrog join: repeatedly seek every input to the furthest position any
// input is at, until all agree. Each step moves at least one input forward,
// and a seek skips every entry between its old and new position unread.
class IntersectCursor final : public IndexCursor {
 public:
  explicit IntersectCursor(std::vector<std::unique_ptr<IndexCursor>> inputs) : inputs_(std::move(inputs)) {
    Align();
  }
  bool Valid() const override { return valid_; }
  const IndexEntry& entry() const override { return entry_; }
  void Next() override {
    if (!valid_) return;
    inputs_[0]->Next();
    Align();
  }
  void Seek(const IndexEntry& target) override {
    for (auto& in : inputs_) in->Seek(target);
    Align();
  }
  Status status() const override { return status_; }

 private:
  // Ends the cursor when `in` is exhausted; keeps its error.
  bool Check(const IndexCursor& in) {
    if (in.Valid()) return true;
    if (status_.ok()) status_ = in.status();
    valid_ = false;
    return false;
  }

  void Align() {
    valid_ = false;
    for (const auto& in : inputs_) {
      if (!Check(*in)) return;
    }
    while (true) {
      IndexEntry target = inputs_[0]->entry();
      for (const auto& in : inputs_) {
        if (engine::IndexBefore(target, in->entry())) target = in->entry();
      }
      bool agree = true;
      for (auto& in : inputs_) {
        if (Same(in->entry(), target)) continue;
        in->Seek(target);
        if (!Check(*in)) return;
        if (!Same(in->entry(), target)) agree = false;
      }
      if (agree) {
        entry_ = target;
        valid_ = true;
        return;
      }
    }
  }

  std::vector<std::unique_ptr<IndexCursor>> inputs_;
  IndexEntry entry_;
  bool valid_ = false;
  Status status_;
};

// k-way merge with a binary heap of input positions; entries equal across
// inputs are yielded once.
class UnionCursor final : public IndexCursor {
 public:
  explicit UnionCursor(std::vector<std::unique_ptr<IndexCursor>> inputs) : inputs_(std::move(inputs)) {
    Rebuild();
  }
  bool Valid() const override { return !heap_.empty(); }
  const IndexEntry& entry() const override { return inputs_[heap_.front()]->entry(); }
  void Next() override {
    if (heap_.empty()) return;
    IndexEntry current = entry();
    while (!heap_.empty() && Same(inputs_[heap_.front()]->entry(), current)) {
      size_t i = heap_.front();
      std::pop_heap(heap_.begin(), heap_.end(), Later());
      heap_.pop_back();
      inputs_[i]->Next();
      Push(i);
    }
  }
  void Seek(const IndexEntry& target) override {
    for (auto& in : inputs_) in->Seek(target);
    Rebuild();
  }
  Status status() const override { return status_; }

 private:
  // Heap order: the input whose entry comes first in IndexBefore order is
  // at the front.
  struct LaterCmp {
    const UnionCursor* self;
    bool operator()(size_t a, size_t b) const {
      return engine::IndexBefore(self->inputs_[b]->entry(), self->inputs_[a]->entry());
    }
  };
  LaterCmp Later() const { return LaterCmp{this}; }

  void Push(size_t i) {
    if (!inputs_[i]->Valid()) {
      if (status_.ok() && !inputs_[i]->status().ok()) {
        status_ = inputs_[i]->status();
        heap_.clear();
      }
      return;
    }
    if (!status_.ok()) return;
    heap_.push_back(i);
    std::push_heap(heap_.begin(), heap_.end(), Later());
  }

  void Rebuild() {
    heap_.clear();
    for (size_t i = 0; i < inputs_.size(); ++i) Push(i);
  }

  std::vector<std::unique_ptr<IndexCursor>> inputs_;
  std::vector<size_t> heap_;
  Status status_;
};

class TakeCursor final : public IndexCursor {
 public:
  TakeCursor(std::unique_ptr<IndexCursor> input, size_t n) : input_(std::move(input)), left_(n) {}
  bool Valid() const override { return left_ > 0 && input_->Valid(); }
  const IndexEntry& entry() const override { return input_->entry(); }
  void Next() override {
    if (left_ == 0) return;
    --left_;
    if (left_ > 0) input_->Next();
  }
  void Seek(const IndexEntry& target) override {
    if (left_ > 0) input_->Seek(target);
  }
  Status status() const override { return input_->status(); }

 private:
  std::unique_ptr<IndexCursor> input_;
  size_t left_;
};

}  // namespace

std::unique_ptr<IndexCursor> Empty() { return std::make_unique<VectorCursor>(std::vector<IndexEntry>{}); }

std::unique_ptr<IndexCursor> FromEntries(std::vector<IndexEntry> entries) {
  return std::make_unique<VectorCursor>(std::move(entries));
}

std::unique_ptr<IndexCursor> Intersect(std::vector<std::unique_ptr<IndexCursor>> inputs) {
  if (inputs.empty()) return Empty();
  if (inputs.size() == 1) return std::move(inputs[0]);
  return std::make_unique<IntersectCursor>(std::move(inputs));
}

std::unique_ptr<IndexCursor> Union(std::vector<std::unique_ptr<IndexCursor>> inputs) {
  if (inputs.empty()) return Empty();
  if (inputs.size() == 1) return std::move(inputs[0]);
  return std::make_unique<UnionCursor>(std::move(inputs));
}

std::unique_ptr<IndexCursor> Take(std::unique_ptr<IndexCursor> input, size_t n) {
  return std::make_unique<TakeCursor>(std::move(input), n);
}

size_t CountUpTo(IndexCursor* cursor, size_t cap) {
  size_t n = 0;
  for (; n < cap && cursor->Valid(); cursor->Next()) ++n;
  return n;
}

}  // namespace tracedb::index
