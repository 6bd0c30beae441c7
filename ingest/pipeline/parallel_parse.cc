#include "ingest/pipeline/parallel_parse.h"

#include <algorithm>
#include <cstdint>

#include "ingest/reflow/reflow_json.h"
#include "schema/json_input.h"

namespace tracedb::ingest {

void ParseUnit::AddLine(std::string_view line, uint64_t number) {
  lines.push_back({text.size(), line.size(), number, false});
  text.append(line);
  text.push_back('\n');
}

void ParseUnit::AddTooLong(uint64_t number) { lines.push_back({text.size(), 0, number, true}); }

void ParseUnit::Seal() { text.append(schema::kJsonPadding, ' '); }

void ParseUnit::Reset() {
  text.clear();
  lines.clear();
  parsed.clear();
  state.store(State::kQueued, std::memory_order_relaxed);
}

ParseUnitFn ReflowParseUnitFn() {
  return [](ParseUnit* unit) {
    unit->parsed.reserve(unit->lines.size());
    for (const ParseUnit::Line& line : unit->lines) {
      if (line.too_long) {
        unit->parsed.emplace_back(
            Status::InvalidArgument("line longer than " + std::to_string(unit->max_line_bytes) + " bytes"));
        continue;
      }
      // Sealed units keep kJsonPadding readable bytes after every line.
      unit->parsed.push_back(reflow::ParseRequest(std::string_view(unit->text).substr(line.offset, line.size),
                                                  schema::InputPadding::kPadded));
    }
  };
}

ParallelLineParser& ParallelLineParser::Shared() {
  static ParallelLineParser parser(ReflowParseUnitFn(), [] {
    unsigned cores = std::thread::hardware_concurrency();
    return std::clamp<size_t>(cores > 1 ? cores - 1 : 1, 1, 3);
  }());
  return parser;
}

ParallelLineParser::ParallelLineParser(ParseUnitFn parse, size_t helpers) : parse_(std::move(parse)) {
  helpers = std::max<size_t>(helpers, 1);
  for (size_t i = 0; i < helpers; ++i) helpers_.emplace_back([this] { HelperLoop(); });
}

ParallelLineParser::~ParallelLineParser() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : helpers_) t.join();
}

void ParallelLineParser::Submit(ParseUnit* unit) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(unit);
  }
  cv_.notify_one();
}

// A unit leaves the queue and becomes kClaimed under mu_, so the queue never
// holds a unit that a thread is parsing or that its owner reuses.
bool ParallelLineParser::Claim(ParseUnit* unit) {
  {
    std::lock_guard lock(mu_);
    auto it = std::find(queue_.begin(), queue_.end(), unit);
    if (it == queue_.end()) return false;
    queue_.erase(it);
    unit->state.store(ParseUnit::State::kClaimed, std::memory_order_relaxed);
  }
  Parse(unit);
  return true;
}

void ParallelLineParser::Wait(ParseUnit* unit) {
  if (Claim(unit)) return;
  ParseUnit::State s = unit->state.load(std::memory_order_acquire);
  while (s != ParseUnit::State::kDone) {
    unit->state.wait(s, std::memory_order_acquire);
    s = unit->state.load(std::memory_order_acquire);
  }
}

void ParallelLineParser::Withdraw(ParseUnit* unit) {
  {
    std::lock_guard lock(mu_);
    auto it = std::find(queue_.begin(), queue_.end(), unit);
    if (it != queue_.end()) {
      queue_.erase(it);
      return;
    }
  }
  ParseUnit::State s = unit->state.load(std::memory_order_acquire);
  while (s == ParseUnit::State::kClaimed) {
    unit->state.wait(s, std::memory_order_acquire);
    s = unit->state.load(std::memory_order_acquire);
  }
}

std::unique_ptr<ParseUnit> ParallelLineParser::TakeUnit() {
  {
    std::lock_guard lock(cache_mu_);
    if (!cache_.empty()) {
      std::unique_ptr<ParseUnit> unit = std::move(cache_.back());
      cache_.pop_back();
      return unit;
    }
  }
  return std::make_unique<ParseUnit>();
}

void ParallelLineParser::ReturnUnit(std::unique_ptr<ParseUnit> unit) {
  if (unit->text.capacity() > kCachedUnitBytes) return;
  unit->Reset();
  std::lock_guard lock(cache_mu_);
  if (cache_.size() < kCachedUnits) cache_.push_back(std::move(unit));
}

void ParallelLineParser::HelperLoop() {
  while (true) {
    ParseUnit* unit = nullptr;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      unit = queue_.front();
      queue_.pop_front();
      unit->state.store(ParseUnit::State::kClaimed, std::memory_order_relaxed);
    }
    Parse(unit);
  }
}

void ParallelLineParser::Parse(ParseUnit* unit) {
  parse_(unit);
  unit->state.store(ParseUnit::State::kDone, std::memory_order_release);
  unit->state.notify_all();
}

}  // namespace tracedb::ingest
