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
  for (const auto& [i, n] : other.buckets_) AddToBucket(i, sign * n);
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

void AppendGraphValue(std::string* dst, const GraphValue& v) {
  for (int64_t f : v.fields) PutZigZag(dst, f);
  PutVarint64(dst, v.sketch.buckets().size());
  for (const auto& [i, n] : v.sketch.buckets()) {
    PutZigZag(dst, i);
    PutZigZag(dst, n);
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

bool DecodeGraphValue(std::string_view in, GraphValue* v) {
  *v = GraphValue();
  for (int64_t& f : v->fields) {
    if (!GetZigZag(&in, &f)) return false;
  }
  uint64_t n = 0;
  if (!GetVarint64(&in, &n) || n > in.size()) return false;
  for (uint64_t k = 0; k < n; ++k) {
    int64_t i = 0, c = 0;
    if (!GetZigZag(&in, &i) || !GetZigZag(&in, &c) || i < INT32_MIN || i > INT32_MAX) return false;
    v->sketch.AddToBucket(static_cast<int32_t>(i), c);
  }
  if (!GetVarint64(&in, &n) || n > in.size()) return false;
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t len = 0;
    int64_t c = 0;
    if (!GetVarint64(&in, &len) || len > in.size()) return false;
    std::string name(in.substr(0, len));
    in.remove_prefix(len);
    if (!GetZigZag(&in, &c)) return false;
    if (c != 0) v->types[std::move(name)] += c;
  }
  return in.empty();
}

}  // namespace tracedb::engine
