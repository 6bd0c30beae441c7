#pragma once

#include <cassert>
#include <optional>
#include <utility>

#include "common/status.h"

namespace tracedb {

// Either a value of type T or a non-OK Status (absl::StatusOr-like).
// Accessing value() of an error Result is a programming error (asserted).
template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit by design. By reference, so a value is moved (or copied) once,
  // into the Result: the ingest path's events are a few hundred bytes each.
  Result(const T& value) : value_(value) {}       // NOLINT
  Result(T&& value) : value_(std::move(value)) {}  // NOLINT
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace tracedb

#define TRACEDB_CONCAT_INNER_(a, b) a##b
#define TRACEDB_CONCAT_(a, b) TRACEDB_CONCAT_INNER_(a, b)

// `TRACEDB_ASSIGN_OR_RETURN(auto x, Expr())` binds x or returns the error.
#define TRACEDB_ASSIGN_OR_RETURN(lhs, expr)                          \
  auto TRACEDB_CONCAT_(_tracedb_r_, __LINE__) = (expr);              \
  if (!TRACEDB_CONCAT_(_tracedb_r_, __LINE__).ok())                  \
    return TRACEDB_CONCAT_(_tracedb_r_, __LINE__).status();          \
  lhs = std::move(TRACEDB_CONCAT_(_tracedb_r_, __LINE__)).value()
