#include "tests/engine/raw_store_util.h"

#include "engine/graph_delta.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace tracedb::engine::testing {

RawStore::RawStore(const std::string& path) {
  rocksdb::DBOptions options;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  // Every family the store has, in the Cf order first. The graph family
  // needs its merge operator even untouched: replaying a WAL batch that
  // merges into a family without one fails, and recovery drops that batch.
  std::vector<std::string> names = {"default", "traces", "events", "columns", "index", "graph"};
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(options, path, &existing).ok()) {
    for (const auto& n : existing) {
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
    std::erase_if(names, [&](const std::string& n) {
      return std::find(existing.begin(), existing.end(), n) == existing.end();
    });
  }
  for (const auto& name : names) {
    rocksdb::ColumnFamilyOptions cf;
    if (name == "graph") cf.merge_operator = NewGraphMergeOperator();
    cfs.emplace_back(name, cf);
  }
  rocksdb::Status s = rocksdb::DB::Open(options, path, cfs, &handles_, &db_);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) std::abort();
}

RawStore::~RawStore() {
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
  delete db_;
}

std::vector<std::string> RawStore::Keys(Cf c) {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[c]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.push_back(it->key().ToString());
  return out;
}

std::string RawStore::Get(Cf c, const std::string& key) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[c], key, &v);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return v;
}

void RawStore::Put(Cf c, const std::string& key, const std::string& value) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ASSERT_TRUE(db_->Put(wo, handles_[c], key, value).ok());
}

void RawStore::Delete(Cf c, const std::string& key) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ASSERT_TRUE(db_->Delete(wo, handles_[c], key).ok());
}

}  // namespace tracedb::engine::testing
