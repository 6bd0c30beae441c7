// Engine micro-benchmarks: key encoding, record encoding, and a 1,000-event
// batch write through the whole write path (dedup, indexes, columns, one
// sorted WriteBatch, WAL).

#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "engine/engine.h"
#include "engine/keys.h"
#include "schema/record_codec.h"

namespace tracedb::engine {
namespace {

schema::Id128 Id(uint64_t a, uint64_t b) {
  schema::Id128 id{};
  for (int i = 0; i < 8; ++i) {
    id[static_cast<size_t>(i)] = static_cast<uint8_t>(a >> (56 - 8 * i));
    id[static_cast<size_t>(8 + i)] = static_cast<uint8_t>(b >> (56 - 8 * i));
  }
  return id;
}

// A Reflow event of roughly the generator's shape (~1 KB as JSON).
schema::Event MakeEvent(uint64_t n, schema::TimestampNs ts) {
  schema::Event e;
  schema::Id128 id = Id(0xeeee, n);
  e.event_id.assign(reinterpret_cast<const char*>(id.data()), 16);
  e.timestamp_ns = ts;
  e.type = (n % 5 == 0) ? schema::EventType::kDataFlow : schema::EventType::kMessageSent;
  e.actor = "actor_" + std::to_string(n % 50);
  if (e.type == schema::EventType::kDataFlow) {
    e.to_actor = "actor_" + std::to_string((n + 1) % 50);
    e.to_port = "in";
  }
  schema::ReflowEventData r;
  r.port = "out";
  schema::MessageSnapshot m;
  m.message_type = "SensorReading";
  m.size_bytes = 257 + n % 100;
  m.checksum = "sha256:5aa762ae383fbb727af3c7a36d4940a5b8c40a989452d2304fc958ff3f354e7a";
  r.message = m;
  r.metrics.execution_time_ns = 1000 + n * 37 % 100000;
  r.metrics.memory_usage_bytes = 4096;
  r.metrics.cpu_usage_percent = 2.5f;
  r.metrics.queue_depth = n % 8;
  r.metrics.throughput_msgs_per_sec = 1000.5;
  r.custom_attributes_json = R"({"message_id":"msg_)" + std::to_string(n) +
                             R"(","region":"eu-west-1","attempt":1,"nested":{"a":[1,2,3],"ok":true}})";
  r.causality.root_cause_event_id = Id(0xcccc, n / 10);
  r.causality.span_id = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
  e.reflow = std::move(r);
  return e;
}

void BM_Keys_EventKey(benchmark::State& state) {
  schema::Id128 id = Id(1, 2);
  std::string event_id(16, 'x');
  uint64_t n = 0;
  for (auto _ : state) {
    std::string k = keys::EventKey(481234, id, 1'750'000'000'000'000'000 + static_cast<int64_t>(n), n, event_id);
    benchmark::DoNotOptimize(k);
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Keys_EventKey);

void BM_Keys_IndexKeyEscaped(benchmark::State& state) {
  schema::Id128 id = Id(1, 2);
  for (auto _ : state) {
    std::string k = keys::IndexKey(IndexKind::kActor, "validator_actor_17", 1'750'000'000'000'000'000, id);
    benchmark::DoNotOptimize(k);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Keys_IndexKeyEscaped);

void BM_Record_EncodeEvent(benchmark::State& state) {
  schema::Event e = MakeEvent(7, 1);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string v = schema::EncodeEventRecord(e);
    bytes += v.size();
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Record_EncodeEvent);

void BM_Record_DecodeEvent(benchmark::State& state) {
  std::string v = schema::EncodeEventRecord(MakeEvent(7, 1));
  for (auto _ : state) {
    schema::Event e;
    if (!schema::DecodeEventRecord(v, &e).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * v.size()));
}
BENCHMARK(BM_Record_DecodeEvent);

// 1,000 events per batch: 10 traces x 100 events, indexes and WAL on.
void BM_Engine_Write1000(benchmark::State& state) {
  std::string dir = (std::filesystem::temp_directory_path() / "tracedb-bench-engine").string();
  std::filesystem::remove_all(dir);
  Options o;
  o.path = dir;
  auto engine = Engine::Open(o);
  if (!engine.ok()) {
    state.SkipWithError(engine.status().ToString().c_str());
    return;
  }
  uint64_t n = 0, batch_no = 0;
  for (auto _ : state) {
    state.PauseTiming();
    WriteBatch b;
    for (int t = 0; t < 10; ++t) {
      schema::Id128 id = Id(batch_no, static_cast<uint64_t>(t));
      for (int i = 0; i < 100; ++i, ++n) b.AppendEvent(id, MakeEvent(n, 1'750'000'000'000'000'000 + static_cast<int64_t>(n)));
    }
    ++batch_no;
    state.ResumeTiming();
    auto r = (*engine)->Write(b);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  engine->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Engine_Write1000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tracedb::engine

namespace tracedb::engine {
namespace {

// The raw RocksDB ceiling for the same shape: one key per event (same key
// layout and record bytes), one WriteBatch of 1,000, WAL on, no indexes.
void BM_RawRocks_Write1000(benchmark::State& state) {
  std::string dir = (std::filesystem::temp_directory_path() / "tracedb-bench-raw").string();
  std::filesystem::remove_all(dir);
  rocksdb::Options o;
  o.create_if_missing = true;
  o.IncreaseParallelism(2);
  o.compression = rocksdb::kLZ4Compression;
  o.write_buffer_size = 64 << 20;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(o, dir, &raw).ok()) {
    state.SkipWithError("open failed");
    return;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  uint64_t n = 0, batch_no = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::pair<std::string, std::string>> kvs;
    for (int t = 0; t < 10; ++t) {
      schema::Id128 id = Id(batch_no, static_cast<uint64_t>(t));
      for (int i = 0; i < 100; ++i, ++n) {
        schema::Event e = MakeEvent(n, 1'750'000'000'000'000'000 + static_cast<int64_t>(n));
        kvs.emplace_back(keys::EventKey(1, id, e.timestamp_ns, 0, e.event_id), schema::EncodeEventRecord(e));
      }
    }
    ++batch_no;
    state.ResumeTiming();
    rocksdb::WriteBatch wb;
    for (const auto& [k, v] : kvs) wb.Put(k, v).PermitUncheckedError();
    if (!db->Write(rocksdb::WriteOptions(), &wb).ok()) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  db.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_RawRocks_Write1000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tracedb::engine
