#pragma once

// The stores a user would choose instead of tracedb, driven the way each is
// fastest while doing the same work as tracedb's bulk ingest: parse the same
// Reflow NDJSON bytes, store every event (its JSON) clustered by trace,
// maintain the same indexes (trace by id; time, flow, status, execution and
// actor indexes of traces; per-trace event order), and commit every request
// durably through the store's WAL before the next one.
//
// Shared peer schema (types per store):
//   traces(trace_id PK, flow_id, execution_id, version_major, version_minor,
//          version_patch, version_git_hash, version_ts, start_ns, end_ns,
//          status, error)  + indexes (start_ns), (flow_id, start_ns),
//          (status, start_ns), (execution_id, start_ns)
//   trace_actors(actor, start_ns, trace_id) PK (actor, start_ns, trace_id)
//   events(trace_id, ts, seq, event_id, type, actor, duration_ns,
//          size_bytes, status, data)  PK (trace_id, ts, seq, event_id)
// Like tracedb, a peer keeps per-trace write state in memory (start, flow,
// actors already indexed, events seen) so that it never reads to write.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "schema/model.h"

namespace tracedb::bench {

class NdjsonPeer {
 public:
  virtual ~NdjsonPeer() = default;

  // "sqlite", "postgres".
  virtual std::string name() const = 0;
  // Parses, indexes and commits one NDJSON request body as one
  // transaction. Adds the events stored to *events.
  virtual Status Ingest(std::string_view ndjson, uint64_t* events) = 0;
  // Makes disk figures final (checkpoint / vacuum-free flush).
  virtual Status Finish() = 0;
  // Bytes the store occupies on disk (its tables, indexes and WAL).
  virtual uint64_t DiskBytes() = 0;
  // Peak RSS of the process doing the store's work (MiB), -1 when it is
  // this process (the runner measures that itself).
  virtual double ServerPeakRssMb() = 0;
  // A trace as stored: header fields of the wire (flow, version, status)
  // and events in (ts, seq) order, decoded from the stored JSON.
  virtual Result<std::optional<schema::Trace>> GetTrace(const schema::Id128& trace_id) = 0;
  // (traces, events) stored.
  virtual Result<std::pair<uint64_t, uint64_t>> Counts() = 0;
  // What the peer was configured with (one line, for the report).
  virtual std::string Describe() const = 0;
};

// Opens a peer in `dir` (created). `sync`: fsync per commit.
Result<std::unique_ptr<NdjsonPeer>> OpenSqlitePeer(const std::string& dir, bool sync);
// Starts a private PostgreSQL server in `dir` (owned by the postgres user)
// with binaries from `pg_bin`, on a unix socket and a free port; stops it
// when the peer is destroyed.
Result<std::unique_ptr<NdjsonPeer>> OpenPostgresPeer(const std::string& dir, const std::string& pg_bin, bool sync);

// One RecordEvent / StartTrace / EndTrace line, reduced to what a peer
// stores and indexes. Views point into the parsed line buffer.
struct WireLine {
  enum class Kind : uint8_t { kStart, kEvent, kEnd, kOther };
  Kind kind = Kind::kOther;
  schema::Id128 trace_id{};
  // kStart
  std::string flow_id;
  schema::FlowVersion version;
  // kEvent
  std::string_view event_json;
  std::string event_id;  // 16 bytes
  schema::TimestampNs ts = 0;
  std::string type;  // "ActorCreated", "DataFlow", ...
  std::string actor;
  int64_t duration_ns = -1;  // -1: absent
  int64_t size_bytes = -1;
  int status = 0;  // schema::EventStatusCode
  // kEnd
  int status_code = 0;  // schema::StatusCode
  std::string error;
};

// Parses NDJSON lines with simdjson (on-demand) for the peers. The parser
// is reused across lines; `body` must stay alive while views are used.
class WireParser {
 public:
  WireParser();
  ~WireParser();
  // Calls fn(line) for each line of body; stops at the first error.
  Status ForEach(std::string_view body, const std::function<Status(const WireLine&)>& fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Per-trace write state a peer keeps (as tracedb's trace cache does).
struct PeerTraceState {
  bool row_written = false;  // the traces row exists in the store
  bool started = false;      // start_ns known (first event seen)
  schema::TimestampNs start_ns = 0;
  std::string flow_id = "unknown";
  schema::FlowVersion version;
  uint64_t next_seq = 0;
  std::unordered_set<std::string> actors;
  schema::TimestampNs last_ns = 0;
  bool ended = false;
  int status_code = 1;  // Running
  std::string error;
};

struct Id128Hasher {
  size_t operator()(const schema::Id128& id) const {
    uint64_t a = 0, b = 0;
    for (int i = 0; i < 8; ++i) {
      a = (a << 8) | id[i];
      b = (b << 8) | id[8 + i];
    }
    return a ^ (b * 0x9E3779B97F4A7C15ULL);
  }
};

using PeerTraceMap = std::unordered_map<schema::Id128, PeerTraceState, Id128Hasher>;

// The rows one NDJSON request body turns into, for every peer alike.
struct EventRow {
  schema::Id128 trace_id{};
  schema::TimestampNs ts = 0;
  uint64_t seq = 0;
  std::string event_id;  // 16 bytes
  std::string type;
  std::string actor;
  int64_t duration_ns = -1;  // -1: NULL
  int64_t size_bytes = -1;
  int status = 0;
  std::string_view data;  // the event's JSON, a view into the body
};
struct ActorRow {
  std::string actor;
  schema::TimestampNs start_ns = 0;
  schema::Id128 trace_id{};
};
struct TraceRow {
  bool insert = false;  // new row (else: update of status / end)
  schema::Id128 trace_id{};
  std::string flow_id;
  schema::FlowVersion version;
  schema::TimestampNs start_ns = 0;
  std::optional<schema::TimestampNs> end_ns;
  int status_code = 1;
  std::string error;
};
struct BatchRows {
  std::vector<EventRow> events;
  std::vector<ActorRow> actors;
  std::vector<TraceRow> traces;
};

// Parses `body` and turns it into rows, updating the per-trace state:
// events get their arrival seq, a trace's first event fixes its start and
// creates its traces row (written with the batch's final status), a new
// (trace, actor) pair adds an actor-index row, an EndTrace of a trace
// written earlier becomes an update.
Status BuildRows(WireParser* parser, std::string_view body, PeerTraceMap* state, BatchRows* rows);

// Rebuilds a model trace from a peer's rows: the wire header fields and the
// events' stored JSON (parsed by the project's Reflow codec).
Result<schema::Trace> TraceFromRows(const schema::Id128& trace_id, const std::string& flow_id,
                                    const schema::FlowVersion& version, int status_code, const std::string& error,
                                    const std::vector<std::string>& event_jsons);

}  // namespace tracedb::bench
