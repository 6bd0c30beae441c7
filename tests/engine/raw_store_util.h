#pragma once

// Direct RocksDB access to a closed store, for tests that damage it on
// purpose (tests/engine/check_test.cc) or write what no engine writes (a
// newer format version).

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

namespace tracedb::engine::testing {

class RawStore {
 public:
  enum Cf { kMeta = 0, kTraces = 1, kEvents = 2, kColumns = 3, kIndex = 4, kGraph = 5 };

  // Opens the store at `path` (no engine may have it open); aborts the
  // test on failure.
  explicit RawStore(const std::string& path);
  ~RawStore();

  rocksdb::DB* db() { return db_; }
  rocksdb::ColumnFamilyHandle* cf(Cf c) { return handles_[c]; }
  // Every key of `c`, in order.
  std::vector<std::string> Keys(Cf c);
  std::string Get(Cf c, const std::string& key);
  void Put(Cf c, const std::string& key, const std::string& value);
  void Delete(Cf c, const std::string& key);

 private:
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace tracedb::engine::testing
