// PostgreSQL peer: the Reflow production backend, on a private server the
// runner starts in a temp directory (initdb as the postgres user: the
// server refuses root; unix socket in that directory, a free port, no TCP
// listener) and stops at the end. Each NDJSON request body is one
// transaction of COPY FROM STDIN (events, actor index rows, new traces) plus
// one UPDATE ... FROM (VALUES ...) for traces ended after the request that
// created them: PostgreSQL's fastest bulk path, with the same indexes as the
// other stores (peer.h). shared_buffers = 256 MiB (tracedb's block cache),
// max_wal_size = 8 GiB so that checkpoints do not fire mid-run. Without
// --sync, fsync = off: commits are written to the WAL but not flushed, as
// tracedb and SQLite do; with --sync, fsync = on and synchronous_commit = on.

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "bench/harness.h"
#include "bench/peers/peer.h"

namespace tracedb::bench {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendByteaHex(const void* data, size_t n, std::string* out) {
  out->append("\\\\x");
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) {
    out->push_back(kHex[p[i] >> 4]);
    out->push_back(kHex[p[i] & 15]);
  }
}

// COPY text format: backslash, tab, newline and carriage return escaped.
void AppendCopyText(std::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '\t': out->append("\\t"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      default: out->push_back(c);
    }
  }
}

void AppendOptional(int64_t v, std::string* out) {
  if (v < 0) {
    out->append("\\N");
  } else {
    out->append(std::to_string(v));
  }
}

class PostgresPeer final : public NdjsonPeer {
 public:
  ~PostgresPeer() override {
    if (conn_ != nullptr) PQfinish(conn_);
    if (started_) {
      Run(fmt::format("runuser -u postgres -- {}/pg_ctl -D '{}/data' -m fast -w stop", pg_bin_, dir_)).IgnoreError();
    }
  }

  Status Start(const std::string& dir, const std::string& pg_bin, bool sync) {
    dir_ = dir;
    pg_bin_ = pg_bin;
    sync_ = sync;
    port_ = FreePort();
    if (access((pg_bin + "/postgres").c_str(), X_OK) != 0) {
      return Status::Unavailable("no PostgreSQL server binary at " + pg_bin);
    }
    TRACEDB_RETURN_IF_ERROR(Run(fmt::format("chown postgres '{}'", dir)));
    TRACEDB_RETURN_IF_ERROR(Run(fmt::format(
        "runuser -u postgres -- {}/initdb -D '{}/data' -A trust -U postgres -E UTF8 --locale=C --no-sync", pg_bin,
        dir)));
    std::string opts = fmt::format(
        "-k {} -p {} -c listen_addresses= -c shared_buffers=256MB -c max_wal_size=8GB -c checkpoint_timeout=1h "
        "-c fsync={} -c synchronous_commit={} -c max_connections=20",
        dir, port_, sync ? "on" : "off", sync ? "on" : "off");
    TRACEDB_RETURN_IF_ERROR(Run(fmt::format("runuser -u postgres -- {}/pg_ctl -D '{}/data' -l '{}/server.log' -w -o '{}' start",
                                            pg_bin, dir, dir, opts)));
    started_ = true;
    std::string conninfo = fmt::format("host={} port={} user=postgres dbname=postgres", dir, port_);
    conn_ = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) return Error("connect");
    TRACEDB_RETURN_IF_ERROR(Exec(R"sql(
      CREATE TABLE traces(trace_id bytea PRIMARY KEY, flow_id text NOT NULL, execution_id bytea NOT NULL,
        version_major int NOT NULL, version_minor int NOT NULL, version_patch int NOT NULL,
        version_git_hash text, version_ts bigint NOT NULL, start_ns bigint NOT NULL, end_ns bigint,
        status smallint NOT NULL, error text);
      CREATE INDEX traces_time ON traces(start_ns DESC);
      CREATE INDEX traces_flow ON traces(flow_id, start_ns DESC);
      CREATE INDEX traces_status ON traces(status, start_ns DESC);
      CREATE INDEX traces_exec ON traces(execution_id, start_ns DESC);
      CREATE TABLE trace_actors(actor text NOT NULL, start_ns bigint NOT NULL, trace_id bytea NOT NULL,
        PRIMARY KEY(actor, start_ns, trace_id));
      CREATE TABLE events(trace_id bytea NOT NULL, ts bigint NOT NULL, seq bigint NOT NULL,
        event_id bytea NOT NULL, type text NOT NULL, actor text NOT NULL, duration_ns bigint,
        size_bytes bigint, status smallint NOT NULL, data text NOT NULL);
      CREATE INDEX events_trace ON events(trace_id, ts, seq);
    )sql"));
    PGresult* r = PQexec(conn_, "SELECT pg_backend_pid(), version()");
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
      backend_pid_ = std::atoi(PQgetvalue(r, 0, 0));
      version_ = PQgetvalue(r, 0, 1);
    }
    PQclear(r);
    PGresult* p1 = PQprepare(conn_, "get_trace",
                             "SELECT flow_id,version_major,version_minor,version_patch,version_git_hash,version_ts,"
                             "status,error FROM traces WHERE trace_id = $1",
                             1, nullptr);
    PQclear(p1);
    PGresult* p2 = PQprepare(conn_, "get_events", "SELECT data FROM events WHERE trace_id = $1 ORDER BY ts, seq", 1,
                             nullptr);
    PQclear(p2);
    return Status::OK();
  }

  std::string name() const override { return "postgres"; }

  std::string Describe() const override {
    return fmt::format("{}; COPY per request, shared_buffers 256MB, fsync={}", version_.substr(0, version_.find(" on ")),
                       sync_ ? "on" : "off");
  }

  Status Ingest(std::string_view ndjson, uint64_t* events) override {
    TRACEDB_RETURN_IF_ERROR(BuildRows(&parser_, ndjson, &state_, &rows_));
    TRACEDB_RETURN_IF_ERROR(Exec("BEGIN"));
    std::string& buf = buf_;
    buf.clear();
    for (const EventRow& r : rows_.events) {
      AppendByteaHex(r.trace_id.data(), 16, &buf);
      buf.push_back('\t');
      buf.append(std::to_string(r.ts));
      buf.push_back('\t');
      buf.append(std::to_string(r.seq));
      buf.push_back('\t');
      AppendByteaHex(r.event_id.data(), r.event_id.size(), &buf);
      buf.push_back('\t');
      AppendCopyText(r.type, &buf);
      buf.push_back('\t');
      AppendCopyText(r.actor, &buf);
      buf.push_back('\t');
      AppendOptional(r.duration_ns, &buf);
      buf.push_back('\t');
      AppendOptional(r.size_bytes, &buf);
      buf.push_back('\t');
      buf.append(std::to_string(r.status));
      buf.push_back('\t');
      AppendCopyText(r.data, &buf);
      buf.push_back('\n');
    }
    TRACEDB_RETURN_IF_ERROR(Copy("COPY events FROM STDIN", buf));
    buf.clear();
    for (const ActorRow& r : rows_.actors) {
      AppendCopyText(r.actor, &buf);
      buf.push_back('\t');
      buf.append(std::to_string(r.start_ns));
      buf.push_back('\t');
      AppendByteaHex(r.trace_id.data(), 16, &buf);
      buf.push_back('\n');
    }
    if (!buf.empty()) TRACEDB_RETURN_IF_ERROR(Copy("COPY trace_actors FROM STDIN", buf));
    buf.clear();
    std::string updates;
    static const schema::Id128 kZeroId{};
    for (const TraceRow& r : rows_.traces) {
      if (r.insert) {
        AppendByteaHex(r.trace_id.data(), 16, &buf);
        buf.push_back('\t');
        AppendCopyText(r.flow_id, &buf);
        buf.push_back('\t');
        AppendByteaHex(kZeroId.data(), 16, &buf);
        buf.append(fmt::format("\t{}\t{}\t{}\t", r.version.major, r.version.minor, r.version.patch));
        if (r.version.git_hash) {
          AppendCopyText(*r.version.git_hash, &buf);
        } else {
          buf.append("\\N");
        }
        buf.append(fmt::format("\t{}\t{}\t", r.version.timestamp_ns, r.start_ns));
        AppendOptional(r.end_ns ? *r.end_ns : -1, &buf);
        buf.append(fmt::format("\t{}\t", r.status_code));
        AppendCopyText(r.error, &buf);
        buf.push_back('\n');
      } else {
        char* lit = PQescapeLiteral(conn_, r.error.data(), r.error.size());
        std::string id;
        for (uint8_t b : r.trace_id) {
          id.push_back(kHex[b >> 4]);
          id.push_back(kHex[b & 15]);
        }
        updates.append(fmt::format("{}('\\x{}'::bytea,{}::smallint,{},{}::bigint)", updates.empty() ? "" : ",", id,
                                   r.status_code, lit ? lit : "''", r.end_ns ? std::to_string(*r.end_ns) : "NULL"));
        PQfreemem(lit);
      }
    }
    if (!buf.empty()) TRACEDB_RETURN_IF_ERROR(Copy("COPY traces FROM STDIN", buf));
    if (!updates.empty()) {
      TRACEDB_RETURN_IF_ERROR(Exec("UPDATE traces t SET status = v.s, error = v.e, end_ns = v.n FROM (VALUES " +
                                   updates + ") AS v(id, s, e, n) WHERE t.trace_id = v.id"));
    }
    TRACEDB_RETURN_IF_ERROR(Exec("COMMIT"));
    *events += rows_.events.size();
    return Status::OK();
  }

  Status Finish() override { return Exec("CHECKPOINT"); }

  uint64_t DiskBytes() override {
    PGresult* r = PQexec(conn_,
                         "SELECT pg_total_relation_size('traces') + pg_total_relation_size('events') + "
                         "pg_total_relation_size('trace_actors')");
    uint64_t n = 0;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) n = std::strtoull(PQgetvalue(r, 0, 0), nullptr, 10);
    PQclear(r);
    return n;
  }

  double ServerPeakRssMb() override { return backend_pid_ > 0 ? PeakRssMbOf(backend_pid_) : -1; }

  Result<std::optional<schema::Trace>> GetTrace(const schema::Id128& trace_id) override {
    const char* values[1] = {reinterpret_cast<const char*>(trace_id.data())};
    int lengths[1] = {16};
    int formats[1] = {1};
    PGresult* h = PQexecPrepared(conn_, "get_trace", 1, values, lengths, formats, 0);
    if (PQresultStatus(h) != PGRES_TUPLES_OK) {
      PQclear(h);
      return Error("get trace");
    }
    if (PQntuples(h) == 0) {
      PQclear(h);
      return std::optional<schema::Trace>();
    }
    std::string flow = PQgetvalue(h, 0, 0);
    schema::FlowVersion v;
    v.major = static_cast<uint32_t>(std::atoi(PQgetvalue(h, 0, 1)));
    v.minor = static_cast<uint32_t>(std::atoi(PQgetvalue(h, 0, 2)));
    v.patch = static_cast<uint32_t>(std::atoi(PQgetvalue(h, 0, 3)));
    if (!PQgetisnull(h, 0, 4)) v.git_hash = PQgetvalue(h, 0, 4);
    v.timestamp_ns = std::strtoll(PQgetvalue(h, 0, 5), nullptr, 10);
    int status = std::atoi(PQgetvalue(h, 0, 6));
    std::string error = PQgetisnull(h, 0, 7) ? "" : PQgetvalue(h, 0, 7);
    PQclear(h);
    PGresult* e = PQexecPrepared(conn_, "get_events", 1, values, lengths, formats, 0);
    if (PQresultStatus(e) != PGRES_TUPLES_OK) {
      PQclear(e);
      return Error("get events");
    }
    std::vector<std::string> jsons;
    jsons.reserve(static_cast<size_t>(PQntuples(e)));
    for (int i = 0; i < PQntuples(e); ++i) jsons.emplace_back(PQgetvalue(e, i, 0), PQgetlength(e, i, 0));
    PQclear(e);
    TRACEDB_ASSIGN_OR_RETURN(schema::Trace t, TraceFromRows(trace_id, flow, v, status, error, jsons));
    return std::optional<schema::Trace>(std::move(t));
  }

  Result<std::pair<uint64_t, uint64_t>> Counts() override {
    PGresult* r = PQexec(conn_, "SELECT (SELECT count(*) FROM traces), (SELECT count(*) FROM events)");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      PQclear(r);
      return Error("count");
    }
    std::pair<uint64_t, uint64_t> out(std::strtoull(PQgetvalue(r, 0, 0), nullptr, 10),
                                      std::strtoull(PQgetvalue(r, 0, 1), nullptr, 10));
    PQclear(r);
    return out;
  }

 private:
  Status Run(const std::string& cmd) {
    std::string full = cmd + " >>'" + dir_ + "/commands.log' 2>&1";
    int rc = std::system(full.c_str());
    if (rc != 0) return Status::Unavailable(fmt::format("`{}` failed ({}); see {}/commands.log", cmd, rc, dir_));
    return Status::OK();
  }
  Status Error(std::string_view what) {
    return Status::IoError(fmt::format("postgres {}: {}", what, conn_ ? PQerrorMessage(conn_) : "no connection"));
  }
  Status Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Error("exec");
    return Status::OK();
  }
  Status Copy(const char* sql, const std::string& data) {
    PGresult* r = PQexec(conn_, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
      PQclear(r);
      return Error("copy");
    }
    PQclear(r);
    if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1) return Error("copy data");
    if (PQputCopyEnd(conn_, nullptr) != 1) return Error("copy end");
    r = PQgetResult(conn_);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    while ((r = PQgetResult(conn_)) != nullptr) PQclear(r);
    if (st != PGRES_COMMAND_OK) return Error("copy result");
    return Status::OK();
  }

  std::string dir_;
  std::string pg_bin_;
  bool sync_ = false;
  int port_ = -1;
  bool started_ = false;
  PGconn* conn_ = nullptr;
  int backend_pid_ = -1;
  std::string version_;
  WireParser parser_;
  PeerTraceMap state_;
  BatchRows rows_;
  std::string buf_;
};

}  // namespace

Result<std::unique_ptr<NdjsonPeer>> OpenPostgresPeer(const std::string& dir, const std::string& pg_bin, bool sync) {
  auto peer = std::make_unique<PostgresPeer>();
  TRACEDB_RETURN_IF_ERROR(peer->Start(dir, pg_bin, sync));
  return std::unique_ptr<NdjsonPeer>(std::move(peer));
}

}  // namespace tracedb::bench
