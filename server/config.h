#pragma once

// tracedb's server configuration: every key, its default, and where its
// effective value came from.
//
// Sources, lowest precedence first (docs/configuration.md):
//   1. built-in defaults;
//   2. a TOML file (--config FILE, else $TRACEDB_CONFIG); the Reflow layout
//      ([server], [storage], [storage.sqlite], [compression], [metrics]) is
//      accepted where it makes sense;
//   3. environment: the Reflow variables REFLOW_TRACING_HOST, _PORT,
//      _STORAGE_BACKEND, _SQLITE_PATH, then TRACEDB_<SECTION>_<KEY> for every
//      key (e.g. TRACEDB_SERVER_PORT), which win over the Reflow ones;
//   4. command-line flags (SetFromFlag).
// An unknown key (file, TRACEDB_<SECTION>_ variable or --set) or a value of
// the wrong type or range is an error naming the key and the source.
//
// Thread-safety: a Config is a plain value. ConfigLoader is not thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace tracedb::server {

// The effective settings. Field comments end with the default.
struct Config {
  // [server]
  // Listen address. Default: "127.0.0.1".
  std::string host = "127.0.0.1";
  // Listen port; 0 picks a free port. Default: 8080.
  uint32_t port = 8080;
  // Open connections (HTTP and WebSocket) at most; a connection beyond it is
  // answered 503 with Retry-After and closed. Default: 1000.
  uint32_t max_connections = 1000;
  // Largest WebSocket message (after decompression) accepted. Default: 16 MiB.
  uint64_t max_message_bytes = uint64_t{16} << 20;
  // Network I/O threads. Default: 1.
  uint32_t io_threads = 1;
  // Threads that run reads (GetTrace, QueryTraces, GetFlowVersions).
  // Default: 2.
  uint32_t read_threads = 2;
  // Requests of one connection whose reply is not yet sent; when reached the
  // server stops reading that socket. Default: 4096.
  uint32_t max_inflight_per_connection = 4096;
  // Status given to the traces of a connection that closed without EndTrace:
  // Completed, Cancelled or Failed. Default: "Completed".
  std::string finalize_status = "Completed";
  // Origins allowed to open WebSocket sessions (browser `Origin` header,
  // e.g. "https://ui.example.com"); an upgrade with another Origin is
  // refused with 403. Empty: any origin. Upgrades without an Origin header
  // (non-browser clients) are always allowed. Default: [].
  std::vector<std::string> allowed_origins;

  // [otlp]
  // Largest OTLP/HTTP export request after decompression; larger ones are
  // answered 413. 0: no limit. Default: 64 MiB (the OTLP specification's
  // recommendation).
  uint64_t otlp_max_request_bytes = uint64_t{64} << 20;
  // A second listener, "host:port" (e.g. "127.0.0.1:4318", the OTLP/HTTP
  // default port), serving the same endpoints as the main one, so that
  // exporters configured with the OTLP default reach tracedb. Port 0 picks a
  // free one. Empty: none. Default: "".
  std::string otlp_listen;

  // [http]
  // Largest request body (as sent, before decompression) accepted; larger
  // ones are answered 413. 0: no limit. Default: 4 GiB.
  uint64_t max_body_bytes = uint64_t{4} << 30;
  // Bulk ingest requests served at once (one worker thread each); further
  // ones are answered 503 with Retry-After. Default: 4.
  uint32_t max_concurrent_ingests = 4;
  // NDJSON lines per engine write batch in bulk ingest. Default: 2000.
  uint64_t ingest_batch_lines = 2000;
  // Requests per second per client IP (token bucket); beyond it 429 with
  // Retry-After. 0: no limit. Default: 0.
  uint64_t rate_limit_per_second = 0;
  // Bucket size of the rate limit (requests allowed in a burst). Default: 100.
  uint64_t rate_limit_burst = 100;
  // An idle keep-alive connection, or a request whose header or body stalls
  // this long, is closed. Default: 30.
  uint64_t idle_timeout_seconds = 30;
  // A WebSocket peer that sends nothing (not even a pong) for this long is
  // closed; the server pings it at half this time, so a live but quiet
  // client answers and stays. Default: 300 (Beast's suggested server value).
  uint64_t ws_idle_timeout_seconds = 300;

  // [auth]
  // API keys; when any is set every request except /healthz and /readyz
  // (and /metrics unless metrics_requires_key) must carry one
  // (`Authorization: Bearer <key>`; WebSocket upgrades may instead use
  // `?token=<key>` or a `bearer.<key>` subprotocol), else 401. Default: [].
  std::vector<std::string> api_keys;
  // A file with more API keys, one per line ('#' comments). Default: "".
  std::string api_keys_file;
  // Keys that may also call the admin API (/v1/admin/…); each is an API key
  // too. With keys configured and none of these, the admin API is closed.
  // Default: [].
  std::vector<std::string> admin_keys;
  // Whether /metrics needs an API key (when keys are configured).
  // Default: true.
  bool metrics_requires_key = true;

  // [tls]
  // PEM certificate chain; with key_file the port speaks https/wss only.
  // Default: "" (plain http/ws).
  std::string tls_cert_file;
  // PEM private key of tls_cert_file. Default: "".
  std::string tls_key_file;

  // [storage]
  // "rocksdb" (on disk in data_dir), "memory", or "clickhouse" (the cluster
  // of [clickhouse]; docs/scale-out.md). "sqlite" is accepted as an alias of
  // rocksdb (Reflow configs). Default: "rocksdb".
  std::string backend = "rocksdb";
  // Directory of the on-disk store. Default: "./data".
  std::string data_dir = "./data";
  // fsync the WAL before acknowledging a write. Default: false.
  bool sync = false;
  // RocksDB block cache. Default: 256 MiB.
  uint64_t block_cache_bytes = uint64_t{256} << 20;
  // RocksDB memtable size. Default: 64 MiB.
  uint64_t write_buffer_bytes = uint64_t{64} << 20;
  // Free-space floor of the store's filesystem: below it ingest is refused
  // (507 / StorageError) until space returns; 0 turns it off. Default: 256 MiB.
  uint64_t min_free_bytes = uint64_t{256} << 20;
  // Traces older than this are removed; 0 keeps all. Default: 0.
  uint64_t retention_max_age_seconds = 0;
  // Oldest buckets are removed above this size; 0 = no limit. Default: 0.
  uint64_t retention_max_bytes = 0;
  // Seconds between two passes of the background retention loop (which
  // runs only when one of the limits above is set). Default: 60.
  uint64_t retention_interval_seconds = 60;

  // [clickhouse] (storage.backend = "clickhouse"; docs/scale-out.md)
  // Shards, each a list of replica URLs. TOML: [["http://h1:8123",
  // "http://h1r:8123"], ["http://h2:8123"]]; --set / env: shards separated
  // by ',', replicas by '|'. Default: none.
  std::vector<std::vector<std::string>> clickhouse_shards;
  // Database of the tables, created at start when absent. Default: "tracedb".
  std::string clickhouse_database = "tracedb";
  std::string clickhouse_user = "default";
  std::string clickhouse_password;
  // ReplicatedMergeTree tables (ZooKeeper and {shard}/{replica} macros on
  // the nodes). Default: false.
  bool clickhouse_replicated = false;
  // Sends of one block (the identical bytes) before a write fails with 503.
  // Default: 3.
  uint64_t clickhouse_insert_attempts = 3;

  // [cluster]
  // NATS server for live fan-out across tracedb servers ("nats://host:4222");
  // "" keeps subscriptions local to each server. Default: "".
  std::string cluster_nats;

  // [ingest]
  // Write requests queued for the writer thread at most. Default: 16384.
  uint64_t ingest_queue_capacity = 16384;
  // Bytes of queued write requests at most. Default: 256 MiB.
  uint64_t ingest_queue_bytes = uint64_t{256} << 20;
  // Requests merged into one engine write batch at most. Default: 4096.
  uint64_t ingest_max_batch = 4096;
  // Read tasks queued for the read threads at most. Default: 4096.
  uint64_t read_queue_capacity = 4096;

  // [subscriptions]
  // Notifications queued per subscriber at most; further ones are dropped
  // and counted. Default: 4096.
  uint64_t subscriber_queue_capacity = 4096;

  // [compression]
  // Compress replies larger than compression_threshold. Default: true.
  bool compression_enabled = true;
  // Which connections get compressed replies: "opt-in" (those that sent a
  // Binary frame or connected with ?compress=1; the G1 client drops Binary
  // frames, so it never opts in) or "always" (every connection, upstream's
  // behaviour). Default: "opt-in".
  std::string compression_replies = "opt-in";
  // zstd, lz4 or gzip. Default: "zstd".
  std::string compression_algorithm = "zstd";
  // Compression level. Default: 3.
  int64_t compression_level = 3;
  // Replies above this many bytes are compressed. Default: 1024.
  uint64_t compression_threshold = 1024;
  // Negotiate permessage-deflate when a client offers it. Default: true.
  bool permessage_deflate = true;

  // [metrics]
  // Serve Prometheus metrics over HTTP. Default: true.
  bool metrics_enabled = true;
  // Path of the metrics endpoint. Default: "/metrics".
  std::string metrics_endpoint = "/metrics";
};

// One configuration key, for documentation and `tracedb config`.
struct KeyInfo {
  std::string key;          // "server.port"
  std::string env;          // "TRACEDB_SERVER_PORT"
  std::string default_text; // TOML text of the default
  std::string help;
  bool reflow_compat_only = false;  // accepted and ignored (Reflow layout)
};

// All keys, in documentation order.
const std::vector<KeyInfo>& AllKeys();

// Builds a Config from the sources in precedence order and remembers where
// each value came from.
class ConfigLoader {
 public:
  ConfigLoader();

  // Applies the TOML file at `path`. Errors name the file, key and line.
  Status LoadFile(const std::string& path);
  // Applies a TOML document given as text (`origin` names it in errors).
  Status LoadToml(std::string_view text, const std::string& origin);
  // Applies REFLOW_TRACING_* then TRACEDB_* variables from `env`
  // ("NAME=value" strings, as environ). Unknown TRACEDB_<SECTION>_* names
  // are errors.
  Status LoadEnv(const std::vector<std::string>& env);
  // Applies one flag value: `key` is a configuration key, `flag` names the
  // flag for provenance ("--listen").
  Status SetFromFlag(std::string_view key, std::string_view value, std::string_view flag);
  // Checks cross-field rules (port range, backend, algorithm...).
  Status Validate() const;

  const Config& config() const { return config_; }
  // Where each key's value came from: "default", "file <path>",
  // "env <NAME>", "flag <flag>".
  const std::map<std::string, std::string>& origins() const { return origins_; }

  // The effective configuration as TOML with each key's origin as a comment.
  std::string Describe() const;

 private:
  Status SetText(std::string_view key, std::string_view value, const std::string& origin);

  Config config_;
  std::map<std::string, std::string> origins_;
};

// The process environment as "NAME=value" strings.
std::vector<std::string> ProcessEnvironment();

// Parses "host:port" ("[::1]:8080" for IPv6). Port 0..65535.
Status ParseListen(std::string_view text, std::string* host, uint32_t* port);

}  // namespace tracedb::server
