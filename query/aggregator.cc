#include "query/aggregator.h"

#include <algorithm>
#include <cmath>

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

}  // namespace

Aggregator::Aggregator(const BoundQuery& query) : query_(query) {}

void Aggregator::Add(const std::function<Datum(const Field&)>& get) {
  std::vector<std::string> key;
  key.reserve(query_.group_by.size());
  for (const auto& f : query_.group_by) {
    Datum d = get(f);
    key.push_back(d.present() ? d.ToText(f) : "(none)");
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
