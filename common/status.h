#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace tracedb {

// The outcome of an operation: OK, or a code plus a human-readable message.
// Modelled on absl::Status / leveldb::Status. A code exists only because some
// caller branches on it; the message is for people.
//
// Thread-safety: a Status is a value; distinct objects may be used from
// distinct threads.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,   // the caller's input is malformed (bad JSON, bad query)
  kNotFound = 2,          // the named object does not exist
  kAlreadyExists = 3,     // idempotent write of something already stored
  kCorruption = 4,        // persisted bytes do not decode
  kIoError = 5,           // the storage layer failed
  kResourceExhausted = 6, // a bounded queue or limit is full: retry later
  kUnauthenticated = 7,   // missing or wrong credentials
  kUnavailable = 8,       // shutting down or not yet ready
  kInternal = 9,          // a bug: an invariant did not hold
  kStorageFull = 10,      // the store's disk is full (or below its free-space floor): HTTP 507
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status StorageFull(std::string msg) { return {StatusCode::kStorageFull, std::move(msg)}; }
  static Status ResourceExhausted(std::string msg) { return {StatusCode::kResourceExhausted, std::move(msg)}; }
  static Status Unauthenticated(std::string msg) { return {StatusCode::kUnauthenticated, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "InvalidArgument: <message>", or "OK".
  std::string ToString() const;

  // Makes dropping an error visible at the call site.
  void IgnoreError() const {}

  // Returns a copy whose message is "<prefix>: <message>".
  Status WithContext(std::string_view prefix) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

std::string_view StatusCodeName(StatusCode code);

}  // namespace tracedb

// Returns from the enclosing function when `expr` yields a non-OK Status.
#define TRACEDB_RETURN_IF_ERROR(expr)           \
  do {                                          \
    ::tracedb::Status _tracedb_st = (expr);     \
    if (!_tracedb_st.ok()) return _tracedb_st;  \
  } while (0)
