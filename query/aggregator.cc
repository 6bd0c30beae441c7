#include "query/aggregator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "schema/rfc3339.h"

namespace tracedb::query {

namespace {

// Percent of a percentile aggregate; 0 for the others. Integer so that the
// rank is exact: rank = ceil(percent x n / 100).
size_t Percent(AggFunc f) {
  switch (f) {
    case AggFunc::kP50: return 50;
    case AggFunc::kP90: return 90;
    case AggFunc::kP95: return 95;
    case AggFunc::kP99: return 99;
    default: return 0;
  }
}

// ns rounded down to a multiple of width (> 0); saturates instead of
// overflowing below INT64_MIN.
int64_t FloorTo(int64_t ns, int64_t width) {
  int64_t r = ns % width;
  if (r < 0) r += width;
  return ns >= std::numeric_limits<int64_t>::min() + r ? ns - r : ns;
}

// The start of the bucket_ns-wide bucket `ns` falls in, as RFC 3339 with a
// fixed number of fraction digits (none for whole-second widths, else 3),
// so that group keys order by time.
std::string BucketText(int64_t ns, int64_t bucket_ns) {
  constexpr int64_t kSecond = 1000000000;
  int64_t start = FloorTo(ns, bucket_ns);
  int64_t whole = FloorTo(start, kSecond);
  int64_t frac = start - whole;
  std::string text = schema::FormatRfc3339(whole);
  if (bucket_ns % kSecond != 0 && !text.empty() && text.back() == 'Z') {
    char ms[24];
    std::snprintf(ms, sizeof ms, ".%03lld", static_cast<long long>(frac / 1000000));
    text.insert(text.size() - 1, ms);
  }
  return text;
}

}  // namespace

Aggregator::Aggregator(const BoundQuery& query) : query_(query) {}

void Aggregator::Add(const std::function<Datum(const Field&)>& get) {
  std::vector<std::string> key;
  key.reserve(query_.group_by.size());
  for (const auto& f : query_.group_by) {
    Datum d = get(f);
    if (!d.present()) {
      key.push_back("(none)");
    } else if (f.bucket_ns > 0 && d.kind == Datum::Kind::kInt) {
      key.push_back(BucketText(d.i, f.bucket_ns));
    } else {
      key.push_back(d.ToText(f));
    }
  }
  auto [it, inserted] = groups_.try_emplace(std::move(key));
  std::vector<Acc>& accs = it->second;
  if (inserted) accs.resize(query_.aggregates.size());
  for (size_t i = 0; i < query_.aggregates.size(); ++i) {
    const Aggregate& agg = query_.aggregates[i];
    Acc& acc = accs[i];
    if (agg.func == AggFunc::kCount) {
      ++acc.count;
      continue;
    }
    double v;
    if (!get(*agg.field).AsDouble(&v) || std::isnan(v)) continue;
    if (acc.count == 0) {
      acc.min = acc.max = v;
    } else {
      acc.min = std::min(acc.min, v);
      acc.max = std::max(acc.max, v);
    }
    ++acc.count;
    acc.sum += v;
    if (Percent(agg.func) > 0) acc.values.push_back(v);
  }
}

std::vector<std::string> Aggregator::Columns() const {
  std::vector<std::string> out;
  for (const auto& f : query_.group_by) out.push_back(f.name);
  for (const auto& a : query_.aggregates) out.push_back(a.label);
  return out;
}

std::vector<AggregateRow> Aggregator::Rows() const {
  std::vector<AggregateRow> out;
  auto finish = [&](const std::vector<std::string>& key, const std::vector<Acc>* accs) {
    AggregateRow row;
    row.group = key;
    for (size_t i = 0; i < query_.aggregates.size(); ++i) {
      AggFunc f = query_.aggregates[i].func;
      const Acc* acc = accs ? &(*accs)[i] : nullptr;
      if (f == AggFunc::kCount) {
        row.values.push_back(static_cast<double>(acc ? acc->count : 0));
        continue;
      }
      if (!acc || acc->count == 0) {
        row.values.push_back(std::nullopt);
        continue;
      }
      switch (f) {
        case AggFunc::kSum: row.values.push_back(acc->sum); break;
        case AggFunc::kAvg: row.values.push_back(acc->sum / static_cast<double>(acc->count)); break;
        case AggFunc::kMin: row.values.push_back(acc->min); break;
        case AggFunc::kMax: row.values.push_back(acc->max); break;
        default: {
          std::vector<double> v = acc->values;
          size_t rank = (Percent(f) * v.size() + 99) / 100;
          size_t idx = rank == 0 ? 0 : rank - 1;
          std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(idx), v.end());
          row.values.push_back(v[idx]);
        }
      }
    }
    out.push_back(std::move(row));
  };
  if (groups_.empty() && query_.group_by.empty()) {
    finish({}, nullptr);
    return out;
  }
  for (const auto& [key, accs] : groups_) finish(key, &accs);
  return out;
}

}  // namespace tracedb::query
