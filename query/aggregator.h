#pragma once

// Accumulates aggregate rows: count, sum, avg, min, max and exact
// percentiles (nearest rank: the smallest value with at least q x n values
// at or below it), grouped by the text of the `by` fields.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "query/bound.h"
#include "query/evaluator.h"
#include "query/query.h"

namespace tracedb::query {

class Aggregator {
 public:
  // `query` must outlive the aggregator.
  explicit Aggregator(const BoundQuery& query);

  // Adds one row (a trace or an event); `get` reads a field of it.
  void Add(const std::function<Datum(const Field&)>& get);

  // Column names: group fields, then aggregate labels.
  std::vector<std::string> Columns() const;
  // Rows ordered by group key. Without `by`, exactly one row.
  std::vector<AggregateRow> Rows() const;

 private:
  struct Acc {
    uint64_t count = 0;  // rows (count()) or numeric values seen
    double sum = 0;
    double min = 0;
    double max = 0;
    std::vector<double> values;  // percentiles only
  };
  const BoundQuery& query_;
  std::map<std::vector<std::string>, std::vector<Acc>> groups_;
};

}  // namespace tracedb::query
