// LatencySketch and the persisted graph value (engine/keys.h, "graph").
// Values are sums, so merging is addition: the merge operator of the graph
// column family (graph_delta.cc) decodes, adds and re-encodes, and the write
// path never reads before writing.

#include "engine/graph_aggregates.h"

#include <algorithm>
#include <cmath>

namespace tracedb::engine {

namespace {

const double kGamma = (1 + kSketchRelativeError) / (1 - kSketchRelativeError);
const double kLogGamma = std::log(kGamma);

void PutVarint64(std::string* dst, uint64_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}

bool GetVarint64(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= uint64_t{byte & 0x7Fu} << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

void PutZigZag(std::string* dst, int64_t v) {
  PutVarint64(dst, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

bool GetZigZag(std::string_view* in, int64_t* v) {
  uint64_t u = 0;
  if (!GetVarint64(in, &u)) return false;
  *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

}  // namespace

int32_t LatencySketch::IndexOf(int64_t value) {
  if (value == 0) return 0;
  // |INT64_MIN| does not fit: one nanosecond less is the same bucket.
  uint64_t magnitude = value < 0 ? static_cast<uint64_t>(-(value + 1)) + 1 : static_cast<uint64_t>(value);
  auto i = static_cast<int32_t>(std::ceil(std::log(static_cast<double>(magnitude)) / kLogGamma)) + 1;
  return value < 0 ? -i : i;
}

int64_t LatencySketch::ValueOf(int32_t index) {
  if (index == 0) return 0;
  int32_t i = index < 0 ? -index : index;
  // The middle (in relative terms) of (g^(i-2), g^(i-1)].
  double v = 2 * std::pow(kGamma, i - 1) / (kGamma + 1);
  // The top bucket's middle may lie past INT64_MAX (llround would fail).
  int64_t magnitude = v >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(std::llround(v));
  return index < 0 ? -magnitude : magnitude;
}

void LatencySketch::AddToBucket(int32_t index, int64_t count) {
  if (count == 0) return;
  if (buckets_.empty() || buckets_.back().first < index) {  // decoding: ascending
    buckets_.emplace_back(index, count);
    return;
  }
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), index,
                             [](const std::pair<int32_t, int64_t>& b, int32_t i) { return b.first < i; });
  if (it != buckets_.end() && it->first == index) {
    it->second += count;
    if (it->second == 0) buckets_.erase(it);
    return;
  }
  buckets_.insert(it, {index, count});
}

void LatencySketch::Add(int64_t value, int64_t count) { AddToBucket(IndexOf(value), count); }

void LatencySketch::Merge(const LatencySketch& other, int64_t sign) {
  if (buckets_.empty() && sign == 1) {
    buckets_ = other.buckets_;
    return;
  }
  // Both ascending: one linear merge.
  std::vector<std::pair<int32_t, int64_t>> merged;
  merged.reserve(buckets_.size() + other.buckets_.size());
  auto a = buckets_.begin();
  auto b = other.buckets_.begin();
  while (a != buckets_.end() || b != other.buckets_.end()) {
    if (b == other.buckets_.end() || (a != buckets_.end() && a->first < b->first)) {
      merged.push_back(*a++);
    } else if (a == buckets_.end() || b->first < a->first) {
      merged.emplace_back(b->first, sign * b->second);
      ++b;
    } else {
      int64_t n = a->second + sign * b->second;
      if (n != 0) merged.emplace_back(a->first, n);
      ++a;
      ++b;
    }
  }
  buckets_ = std::move(merged);
}

int64_t LatencySketch::count() const {
  int64_t n = 0;
  for (const auto& b : buckets_) n += std::max<int64_t>(b.second, 0);
  return n;
}

std::optional<int64_t> LatencySketch::Percentile(double p) const {
  int64_t n = count();
  if (n == 0) return std::nullopt;
  auto rank = static_cast<int64_t>(std::ceil(p * static_cast<double>(n) / 100.0));
  rank = std::clamp<int64_t>(rank, 1, n);
  int64_t seen = 0;
  for (const auto& [i, c] : buckets_) {
    if (c <= 0) continue;
    seen += c;
    if (seen >= rank) return ValueOf(i);
  }
  return ValueOf(buckets_.back().first);
}

std::string_view GraphNodeKindName(GraphNodeKind kind) {
  switch (kind) {
    case GraphNodeKind::kActor: return "actor";
    case GraphNodeKind::kOp: return "op";
    case GraphNodeKind::kService: return "service";
  }
  return "actor";
}

void GraphValue::Merge(const GraphValue& other, int64_t sign) {
  for (int i = 0; i < 3; ++i) fields[i] += sign * other.fields[i];
  sketch.Merge(other.sketch, sign);
  for (const auto& [name, n] : other.types) {
    auto it = types.try_emplace(name, 0).first;
    it->second += sign * n;
    if (it->second == 0) types.erase(it);
  }
}

bool GraphValue::IsZero() const {
  return fields[0] == 0 && fields[1] == 0 && fields[2] == 0 && sketch.empty() && types.empty();
}

// Sketch bucket indexes are stored as differences from the previous one
// (the first from 0): ascending, so mostly one byte each.
void AppendGraphValue(std::string* dst, const GraphValue& v) {
  for (int64_t f : v.fields) PutZigZag(dst, f);
  PutVarint64(dst, v.sketch.buckets().size());
  int64_t prev = 0;
  for (const auto& [i, n] : v.sketch.buckets()) {
    PutZigZag(dst, i - prev);
    PutZigZag(dst, n);
    prev = i;
  }
  PutVarint64(dst, v.types.size());
  for (const auto& [name, n] : v.types) {
    PutVarint64(dst, name.size());
    dst->append(name);
    PutZigZag(dst, n);
  }
}

std::string EncodeGraphValue(const GraphValue& v) {
  std::string out;
  AppendGraphValue(&out, v);
  return out;
}

namespace {

// Calls bucket(index, count) for each sketch bucket and type(name, count)
// for each message type of an encoded GraphValue, after fields(f[3]).
template <class Fields, class Bucket, class Type>
bool ParseGraphValue(std::string_view in, Fields&& fields, Bucket&& bucket, Type&& type) {
  int64_t f[3];
  for (int64_t& x : f) {
    if (!GetZigZag(&in, &x)) return false;
  }
  fields(f);
  uint64_t n = 0;
  if (!GetVarint64(&in, &n) || n > in.size()) return false;
  int64_t index = 0;
  for (uint64_t k = 0; k < n; ++k) {
    int64_t d = 0, c = 0;
    if (!GetZigZag(&in, &d) || !GetZigZag(&in, &c)) return false;
    index += d;
    if (index < INT32_MIN || index > INT32_MAX) return false;
    bucket(static_cast<int32_t>(index), c);
  }
  if (!GetVarint64(&in, &n) || n > in.size()) return false;
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t len = 0;
    int64_t c = 0;
    if (!GetVarint64(&in, &len) || len > in.size()) return false;
    std::string_view name = in.substr(0, len);
    in.remove_prefix(len);
    if (!GetZigZag(&in, &c)) return false;
    type(name, c);
  }
  return in.empty();
}

// The widest sketch a value may span: every bucket of int64 (|i| <= ~2200).
constexpr int64_t kMaxDenseBuckets = 1 << 13;

}  // namespace

bool DecodeGraphValue(std::string_view in, GraphValue* v) {
  *v = GraphValue();
  return ParseGraphValue(
      in, [&](const int64_t* f) { std::copy(f, f + 3, v->fields); },
      [&](int32_t i, int64_t c) { v->sketch.AddToBucket(i, c); },
      [&](std::string_view name, int64_t c) {
        if (c == 0) return;
        auto it = v->types.try_emplace(std::string(name), 0).first;
        it->second += c;
        if (it->second == 0) v->types.erase(it);
      });
}

bool GraphAccumulator::AddEncoded(std::string_view bytes) {
  bool ok = true;
  bool parsed = ParseGraphValue(
      bytes,
      [&](const int64_t* f) {
        for (int i = 0; i < 3; ++i) fields[i] += f[i];
      },
      [&](int32_t i, int64_t c) {
        if (c == 0) return;
        if (dense.empty()) {
          base = i;
          dense.assign(1, 0);
        } else if (i < base) {
          if (static_cast<int64_t>(dense.size()) + (base - static_cast<int64_t>(i)) > kMaxDenseBuckets) {
            ok = false;
            return;
          }
          dense.insert(dense.begin(), static_cast<size_t>(base - i), 0);
          base = i;
        } else if (static_cast<int64_t>(i) - base >= static_cast<int64_t>(dense.size())) {
          if (static_cast<int64_t>(i) - base >= kMaxDenseBuckets) {
            ok = false;
            return;
          }
          dense.resize(static_cast<size_t>(i - base) + 1, 0);
        }
        dense[static_cast<size_t>(i - base)] += c;
      },
      [&](std::string_view name, int64_t c) {
        for (auto& t : types) {
          if (t.first == name) {
            t.second += c;
            return;
          }
        }
        types.emplace_back(name, c);
      });
  return parsed && ok;
}

bool GraphAccumulator::IsZero() const {
  if (fields[0] != 0 || fields[1] != 0 || fields[2] != 0) return false;
  for (int64_t c : dense) {
    if (c != 0) return false;
  }
  for (const auto& t : types) {
    if (t.second != 0) return false;
  }
  return true;
}

void GraphAccumulator::AppendTo(std::string* dst) const {
  for (int64_t f : fields) PutZigZag(dst, f);
  uint64_t n = 0;
  for (int64_t c : dense) n += c != 0;
  PutVarint64(dst, n);
  int64_t prev = 0;
  for (size_t k = 0; k < dense.size(); ++k) {
    if (dense[k] == 0) continue;
    int64_t i = base + static_cast<int64_t>(k);
    PutZigZag(dst, i - prev);
    PutZigZag(dst, dense[k]);
    prev = i;
  }
  std::vector<std::pair<std::string_view, int64_t>> sorted;
  for (const auto& t : types) {
    if (t.second != 0) sorted.push_back(t);
  }
  std::sort(sorted.begin(), sorted.end());
  PutVarint64(dst, sorted.size());
  for (const auto& [name, c] : sorted) {
    PutVarint64(dst, name.size());
    dst->append(name);
    PutZigZag(dst, c);
  }
}

LatencySketch GraphAccumulator::Sketch() const {
  LatencySketch s;
  for (size_t k = 0; k < dense.size(); ++k) {
    if (dense[k] != 0) s.AddToBucket(base + static_cast<int32_t>(k), dense[k]);
  }
  return s;
}

void AppendGraphCell(std::string* dst, const std::vector<std::pair<std::string_view, const GraphValue*>>& sorted) {
  PutVarint64(dst, sorted.size());
  std::string value;
  for (const auto& [key, v] : sorted) {
    value.clear();
    AppendGraphValue(&value, *v);
    PutVarint64(dst, key.size());
    dst->append(key);
    PutVarint64(dst, value.size());
    dst->append(value);
  }
}

bool GraphCellSum::Add(std::string_view cell) {
  uint64_t n = 0;
  if (!GetVarint64(&cell, &n) || n > cell.size()) return false;
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t klen = 0, vlen = 0;
    if (!GetVarint64(&cell, &klen) || klen > cell.size()) return false;
    std::string_view key = cell.substr(0, klen);
    cell.remove_prefix(klen);
    if (!GetVarint64(&cell, &vlen) || vlen > cell.size()) return false;
    std::string_view value = cell.substr(0, vlen);
    cell.remove_prefix(vlen);
    auto [it, added] = entries_.try_emplace(key, nullptr);
    if (added) {
      Entry& e = storage_.emplace_back();
      e.key = key;
      e.raw = value;
      it->second = &e;
      continue;
    }
    Entry& e = *it->second;
    if (!e.summed) {
      if (!e.acc.AddEncoded(e.raw)) return false;
      e.summed = true;
    }
    if (!e.acc.AddEncoded(value)) return false;
  }
  return cell.empty();
}

bool GraphCellSum::Sorted(std::vector<Entry*>* out) {
  out->reserve(storage_.size());
  for (Entry& e : storage_) {
    if (!e.summed) {
      // The first value of a key is kept raw (copied as it is by AppendTo).
      if (!e.acc.AddEncoded(e.raw)) return false;
      e.summed = true;
    }
    out->push_back(&e);
  }
  std::sort(out->begin(), out->end(), [](const Entry* a, const Entry* b) { return a->key < b->key; });
  return true;
}

void GraphCellSum::AppendTo(std::string* dst) {
  std::vector<Entry*> sorted;
  sorted.reserve(storage_.size());
  for (Entry& e : storage_) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) { return a->key < b->key; });
  std::string value;
  size_t n = 0;
  std::string body;
  for (const Entry* e : sorted) {
    std::string_view v = e->raw;
    if (e->summed) {
      if (e->acc.IsZero()) continue;
      value.clear();
      e->acc.AppendTo(&value);
      v = value;
    }
    PutVarint64(&body, e->key.size());
    body.append(e->key);
    PutVarint64(&body, v.size());
    body.append(v);
    ++n;
  }
  PutVarint64(dst, n);
  dst->append(body);
}

}  // namespace tracedb::engine
