#include "server/config.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

extern char** environ;

namespace tracedb::server {
namespace {

enum class Type { kString, kBool, kUint, kInt, kStringList, kShardList };

// A key: its type, how to read and write it in a Config, and its docs.
struct KeySpec {
  std::string key;
  Type type;
  std::string help;
  std::function<void(Config&, const std::string&, uint64_t, int64_t, bool)> set;
  std::function<std::string(const Config&)> get;  // TOML text
  bool reflow_compat_only = false;
  std::string alias_of;  // non-empty: writes go to this key
};

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

KeySpec Str(std::string key, std::string Config::*m, std::string help) {
  return {key, Type::kString, std::move(help),
          [m](Config& c, const std::string& s, uint64_t, int64_t, bool) { c.*m = s; },
          [m](const Config& c) { return Quote(c.*m); }, false, {}};
}
// Splits a list given as text ("a, b,c"): commas separate, blanks around
// items are dropped, empty items are skipped.
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = comma + 1;
  }
  return out;
}

// A list of strings; `secret` lists print masked (`tracedb config`).
KeySpec List(std::string key, std::vector<std::string> Config::*m, std::string help, bool secret = false) {
  return {key, Type::kStringList, std::move(help),
          [m](Config& c, const std::string& s, uint64_t, int64_t, bool) { c.*m = SplitList(s); },
          [m, secret](const Config& c) {
            std::string out = "[";
            for (size_t i = 0; i < (c.*m).size(); ++i) {
              if (i > 0) out += ", ";
              out += secret ? std::string("\"<redacted>\"") : Quote((c.*m)[i]);
            }
            return out + "]";
          },
          false, {}};
}
// Shards of replica URLs. Text form: shards separated by ',', replicas of a
// shard by '|'.
KeySpec Shards(std::string key, std::vector<std::vector<std::string>> Config::*m, std::string help) {
  return {key, Type::kShardList, std::move(help),
          [m](Config& c, const std::string& s, uint64_t, int64_t, bool) {
            (c.*m).clear();
            for (const auto& shard : SplitList(s)) {
              std::vector<std::string> replicas;
              size_t start = 0;
              while (start <= shard.size()) {
                size_t bar = shard.find('|', start);
                if (bar == std::string::npos) bar = shard.size();
                std::string url = shard.substr(start, bar - start);
                size_t b = url.find_first_not_of(" \t");
                size_t e = url.find_last_not_of(" \t");
                if (b != std::string::npos) replicas.push_back(url.substr(b, e - b + 1));
                start = bar + 1;
              }
              if (!replicas.empty()) (c.*m).push_back(std::move(replicas));
            }
          },
          [m](const Config& c) {
            std::string out = "[";
            for (size_t i = 0; i < (c.*m).size(); ++i) {
              if (i > 0) out += ", ";
              out += "[";
              for (size_t j = 0; j < (c.*m)[i].size(); ++j) {
                if (j > 0) out += ", ";
                out += Quote((c.*m)[i][j]);
              }
              out += "]";
            }
            return out + "]";
          },
          false, {}};
}
KeySpec Bool(std::string key, bool Config::*m, std::string help) {
  return {key, Type::kBool, std::move(help),
          [m](Config& c, const std::string&, uint64_t, int64_t, bool b) { c.*m = b; },
          [m](const Config& c) { return std::string(c.*m ? "true" : "false"); }, false, {}};
}
template <typename T>
KeySpec Uint(std::string key, T Config::*m, std::string help) {
  return {key, Type::kUint, std::move(help),
          [m](Config& c, const std::string&, uint64_t u, int64_t, bool) { c.*m = static_cast<T>(u); },
          [m](const Config& c) { return std::to_string(c.*m); }, false, {}};
}
KeySpec Int(std::string key, int64_t Config::*m, std::string help) {
  return {key, Type::kInt, std::move(help),
          [m](Config& c, const std::string&, uint64_t, int64_t i, bool) { c.*m = i; },
          [m](const Config& c) { return std::to_string(c.*m); }, false, {}};
}
KeySpec Ignored(std::string key, Type type, std::string help) {
  KeySpec k{key, type, std::move(help), [](Config&, const std::string&, uint64_t, int64_t, bool) {},
            nullptr, true, {}};
  return k;
}

// Upper bounds of unsigned keys (the value must fit the field and be sane).
uint64_t MaxOf(const std::string& key) {
  if (key == "server.port") return 65535;
  if (key == "server.max_connections" || key == "server.io_threads" || key == "server.read_threads" ||
      key == "server.max_inflight_per_connection" || key == "http.max_concurrent_ingests" ||
      key == "storage.retention_interval_seconds")
    return UINT32_MAX;
  return UINT64_MAX;
}

const std::vector<KeySpec>& Specs() {
  static const std::vector<KeySpec> specs = [] {
    std::vector<KeySpec> v;
    v.push_back(Str("server.host", &Config::host, "Listen address (REFLOW_TRACING_HOST)."));
    v.push_back(Uint("server.port", &Config::port, "Listen port; 0 picks a free one (REFLOW_TRACING_PORT)."));
    v.push_back(Uint("server.max_connections", &Config::max_connections,
                     "Open connections at most; more wait in the TCP backlog."));
    v.push_back(Uint("server.max_message_bytes", &Config::max_message_bytes,
                     "Largest WebSocket message accepted (after decompression)."));
    v.push_back(Uint("server.io_threads", &Config::io_threads, "Network I/O threads."));
    v.push_back(Uint("server.read_threads", &Config::read_threads,
                     "Threads running GetTrace / QueryTraces / GetFlowVersions."));
    v.push_back(Uint("server.ws_idle_timeout_seconds", &Config::ws_idle_timeout_seconds,
                     "A WebSocket peer silent this long (no frame, no pong) is closed; pinged at half of it."));
    v.push_back(Uint("server.max_inflight_per_connection", &Config::max_inflight_per_connection,
                     "Unanswered requests per connection before the server stops reading it."));
    v.push_back(Str("server.finalize_status", &Config::finalize_status,
                    "Status of traces whose connection closed without EndTrace: Completed, Cancelled or Failed."));
    v.push_back(List("server.allowed_origins", &Config::allowed_origins,
                     "Origins allowed to open WebSocket sessions (403 otherwise); empty allows any. "
                     "Upgrades without an Origin header are always allowed. Env/flag: comma-separated."));
    v.push_back(Ignored("server.websocket_buffer_size", Type::kUint,
                        "Reflow key; accepted and ignored (unused upstream too)."));

    v.push_back(Str("storage.backend", &Config::backend,
                    "rocksdb (on disk), memory, or clickhouse (the [clickhouse] cluster); sqlite is an alias of "
                    "rocksdb (REFLOW_TRACING_STORAGE_BACKEND)."));
    v.push_back(Str("storage.data_dir", &Config::data_dir, "Directory of the on-disk store."));
    v.push_back(Bool("storage.sync", &Config::sync, "fsync the WAL before acknowledging a write."));
    v.push_back(Uint("storage.block_cache_bytes", &Config::block_cache_bytes, "RocksDB block cache size."));
    v.push_back(Uint("storage.write_buffer_bytes", &Config::write_buffer_bytes, "RocksDB memtable size."));
    v.push_back(Uint("storage.min_free_bytes", &Config::min_free_bytes,
                     "Free-space floor: below it ingest is refused (HTTP 507, WebSocket StorageError) and "
                     "/readyz answers 503, until space returns. 0 turns it off."));
    v.push_back(Uint("storage.retention_max_age_seconds", &Config::retention_max_age_seconds,
                     "Remove traces older than this; 0 keeps everything."));
    v.push_back(Uint("storage.retention_max_bytes", &Config::retention_max_bytes,
                     "Remove the oldest data above this size; 0 means no limit."));
    v.push_back(Uint("storage.retention_interval_seconds", &Config::retention_interval_seconds,
                     "Seconds between two background retention passes (when a retention limit is set)."));
    KeySpec alias = Str("storage.sqlite.database_path", &Config::data_dir,
                        "Reflow key; alias of storage.data_dir (REFLOW_TRACING_SQLITE_PATH).");
    alias.alias_of = "storage.data_dir";
    v.push_back(alias);
    v.push_back(Ignored("storage.sqlite.wal_mode", Type::kBool, "Reflow key; accepted and ignored."));
    v.push_back(Ignored("storage.sqlite.journal_mode", Type::kString, "Reflow key; accepted and ignored."));
    v.push_back(Ignored("storage.sqlite.synchronous", Type::kString, "Reflow key; accepted and ignored."));
    v.push_back(Ignored("storage.sqlite.cache_size", Type::kInt, "Reflow key; accepted and ignored."));
    v.push_back(Ignored("storage.memory.max_traces", Type::kUint,
                        "Reflow key; accepted and ignored (the memory store does not evict)."));
    v.push_back(Ignored("storage.memory.eviction_policy", Type::kString, "Reflow key; accepted and ignored."));

    v.push_back(Shards("clickhouse.shards", &Config::clickhouse_shards,
                       "ClickHouse shards, each a list of replica URLs: [[\"http://h1:8123\", \"http://h1r:8123\"], "
                       "[\"http://h2:8123\"]]. Env/flag: shards separated by ',', replicas by '|'."));
    v.push_back(Str("clickhouse.database", &Config::clickhouse_database,
                    "ClickHouse database of tracedb's tables; created with them at start when absent."));
    v.push_back(Str("clickhouse.user", &Config::clickhouse_user, "ClickHouse user."));
    KeySpec password = Str("clickhouse.password", &Config::clickhouse_password, "ClickHouse password.");
    password.get = [](const Config& c) {
      return c.clickhouse_password.empty() ? std::string("\"\"") : std::string("\"<redacted>\"");
    };
    v.push_back(password);
    v.push_back(Bool("clickhouse.replicated", &Config::clickhouse_replicated,
                     "ReplicatedMergeTree tables (needs ZooKeeper and the {shard}/{replica} macros)."));
    v.push_back(Uint("clickhouse.insert_attempts", &Config::clickhouse_insert_attempts,
                     "Sends of one block (byte-identical) before a write is refused with 503."));
    v.push_back(Str("cluster.nats", &Config::cluster_nats,
                    "NATS URL for live subscriptions across servers (nats://host:4222); empty: local only."));

    v.push_back(Uint("ingest.queue_capacity", &Config::ingest_queue_capacity,
                     "Write requests queued for the writer thread; when full, sockets stop being read."));
    v.push_back(Uint("ingest.queue_bytes", &Config::ingest_queue_bytes, "Bytes of queued write requests at most."));
    v.push_back(Uint("ingest.max_batch", &Config::ingest_max_batch,
                     "Requests merged into one engine write batch (group commit) at most."));
    v.push_back(Uint("ingest.read_queue_capacity", &Config::read_queue_capacity,
                     "Read tasks queued for the read threads; when full, sockets stop being read."));

    v.push_back(Uint("subscriptions.queue_capacity", &Config::subscriber_queue_capacity,
                     "Notifications queued per subscriber; beyond it they are dropped and counted."));

    v.push_back(Bool("compression.enabled", &Config::compression_enabled,
                     "Send replies above compression.threshold as compressed Binary frames."));
    v.push_back(Str("compression.replies", &Config::compression_replies,
                    "opt-in: compress replies only for connections that sent a Binary frame or connected with "
                    "?compress=1 (the G1 client drops Binary frames); always: every connection (upstream)."));
    v.push_back(Str("compression.algorithm", &Config::compression_algorithm, "zstd, lz4 or gzip."));
    v.push_back(Int("compression.level", &Config::compression_level, "Compression level."));
    v.push_back(Uint("compression.threshold", &Config::compression_threshold,
                     "Replies larger than this many bytes are compressed."));
    v.push_back(Bool("compression.permessage_deflate", &Config::permessage_deflate,
                     "Negotiate permessage-deflate when the client offers it."));

    v.push_back(Uint("otlp.max_request_bytes", &Config::otlp_max_request_bytes,
                     "Largest OTLP/HTTP export request (POST /v1/traces) after decompression; larger ones get 413. "
                     "0: no limit."));

    v.push_back(Str("otlp.listen", &Config::otlp_listen,
                    "A second listener HOST:PORT (e.g. 127.0.0.1:4318, OTLP's default) serving the same endpoints. "
                    "Empty: none."));

    v.push_back(Uint("http.max_body_bytes", &Config::max_body_bytes,
                     "Largest request body (as sent, before decompression); larger ones get 413. 0: no limit."));
    v.push_back(Uint("http.max_concurrent_ingests", &Config::max_concurrent_ingests,
                     "Bulk ingest requests served at once; more get 503 with Retry-After."));
    v.push_back(Uint("http.ingest_batch_lines", &Config::ingest_batch_lines,
                     "NDJSON lines per engine write batch in bulk ingest."));
    v.push_back(Uint("http.rate_limit_per_second", &Config::rate_limit_per_second,
                     "Requests per second per client IP (token bucket); beyond it 429 with Retry-After. 0: no limit."));
    v.push_back(Uint("http.rate_limit_burst", &Config::rate_limit_burst,
                     "Requests a client may send in a burst before the rate limit applies."));
    v.push_back(Uint("http.idle_timeout_seconds", &Config::idle_timeout_seconds,
                     "Close idle keep-alive connections and stalled requests after this many seconds."));

    v.push_back(List("auth.api_keys", &Config::api_keys,
                     "API keys; when set, requests need `Authorization: Bearer <key>` (401 otherwise). "
                     "Env/flag: comma-separated.",
                     /*secret=*/true));
    v.push_back(Str("auth.api_keys_file", &Config::api_keys_file,
                    "File with more API keys, one per line ('#' starts a comment)."));
    v.push_back(List("auth.admin_keys", &Config::admin_keys,
                     "Keys that may also call the admin API (POST /v1/admin/backup); each is an API key too. "
                     "Env/flag: comma-separated.",
                     /*secret=*/true));
    v.push_back(Bool("auth.metrics_requires_key", &Config::metrics_requires_key,
                     "Whether /metrics needs an API key when keys are configured."));

    v.push_back(Str("tls.cert_file", &Config::tls_cert_file,
                    "PEM certificate chain; with tls.key_file the port serves https and wss only."));
    v.push_back(Str("tls.key_file", &Config::tls_key_file, "PEM private key of tls.cert_file."));

    v.push_back(Bool("metrics.enabled", &Config::metrics_enabled, "Serve Prometheus metrics over HTTP."));
    v.push_back(Str("metrics.endpoint", &Config::metrics_endpoint, "Path of the metrics endpoint."));
    v.push_back(Ignored("metrics.port", Type::kUint,
                        "Reflow key; accepted and ignored: metrics are served on server.port."));
    return v;
  }();
  return specs;
}

const KeySpec* FindSpec(std::string_view key) {
  for (const auto& s : Specs()) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::string EnvName(const std::string& key) {
  std::string env = "TRACEDB_";
  for (char c : key) env.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(c)));
  return env;
}

const char* TypeName(Type t) {
  switch (t) {
    case Type::kString: return "a string";
    case Type::kBool: return "a boolean (true/false)";
    case Type::kUint: return "a non-negative integer";
    case Type::kInt: return "an integer";
    case Type::kStringList: return "a list of strings";
    case Type::kShardList: return "a list of shards, each a list of URLs";
  }
  return "?";
}

Status BadValue(std::string_view key, std::string_view origin, std::string_view value, Type t,
                std::string_view why = {}) {
  return Status::InvalidArgument(fmt::format("config key {} ({}): invalid value '{}': expected {}{}{}", key,
                                             origin, value, TypeName(t), why.empty() ? "" : ", ", why));
}

}  // namespace

const std::vector<KeyInfo>& AllKeys() {
  static const std::vector<KeyInfo> keys = [] {
    std::vector<KeyInfo> out;
    Config defaults;
    for (const auto& s : Specs()) {
      KeyInfo k;
      k.key = s.key;
      k.env = EnvName(s.key);
      k.help = s.help;
      k.reflow_compat_only = s.reflow_compat_only;
      if (s.get) k.default_text = s.get(defaults);
      out.push_back(std::move(k));
    }
    return out;
  }();
  return keys;
}

ConfigLoader::ConfigLoader() {
  for (const auto& s : Specs()) {
    if (!s.reflow_compat_only && s.alias_of.empty()) origins_[s.key] = "default";
  }
}

Status ConfigLoader::SetText(std::string_view key, std::string_view value, const std::string& origin) {
  const KeySpec* spec = FindSpec(key);
  if (spec == nullptr) {
    return Status::InvalidArgument(fmt::format("unknown config key '{}' ({})", key, origin));
  }
  std::string text(value);
  uint64_t u = 0;
  int64_t i = 0;
  bool b = false;
  switch (spec->type) {
    case Type::kString:
    case Type::kStringList:
    case Type::kShardList:
      break;
    case Type::kBool:
      if (text == "true" || text == "1" || text == "yes" || text == "on") {
        b = true;
      } else if (text == "false" || text == "0" || text == "no" || text == "off") {
        b = false;
      } else {
        return BadValue(key, origin, value, spec->type);
      }
      break;
    case Type::kUint: {
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), u);
      if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
        return BadValue(key, origin, value, spec->type);
      }
      if (u > MaxOf(spec->key)) {
        return BadValue(key, origin, value, spec->type, fmt::format("at most {}", MaxOf(spec->key)));
      }
      break;
    }
    case Type::kInt: {
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
        return BadValue(key, origin, value, spec->type);
      }
      break;
    }
  }
  spec->set(config_, text, u, i, b);
  if (!spec->reflow_compat_only) {
    origins_[spec->alias_of.empty() ? spec->key : spec->alias_of] =
        spec->alias_of.empty() ? origin : fmt::format("{} (as {})", origin, spec->key);
  }
  return Status::OK();
}

Status ConfigLoader::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(fmt::format("cannot read config file '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadToml(ss.str(), "file " + path);
}

namespace {

// Flattens a TOML table into (dotted key, node) pairs; tables nest, every
// other node is a leaf.
void Flatten(const toml::table& t, const std::string& prefix,
             std::vector<std::pair<std::string, const toml::node*>>* out) {
  for (const auto& [k, node] : t) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const toml::table* sub = node.as_table()) {
      Flatten(*sub, key, out);
    } else {
      out->emplace_back(key, &node);
    }
  }
}

}  // namespace

Status ConfigLoader::LoadToml(std::string_view text, const std::string& origin) {
  toml::table table;
  try {
    table = toml::parse(text, std::string_view(origin));
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}: TOML syntax error at line {}, column {}: {}", origin,
                                               e.source().begin.line, e.source().begin.column,
                                               e.description()));
  }
  std::vector<std::pair<std::string, const toml::node*>> leaves;
  Flatten(table, "", &leaves);
  for (const auto& [key, node] : leaves) {
    const KeySpec* spec = FindSpec(key);
    std::string where = fmt::format("{}, line {}", origin, node->source().begin.line);
    if (spec == nullptr) {
      return Status::InvalidArgument(fmt::format("unknown config key '{}' ({})", key, where));
    }
    std::string value;
    bool ok = false;
    switch (spec->type) {
      case Type::kString:
        if (auto s = node->value<std::string>(); s && node->is_string()) value = *s, ok = true;
        break;
      case Type::kBool:
        if (node->is_boolean()) value = node->as_boolean()->get() ? "true" : "false", ok = true;
        break;
      case Type::kUint:
      case Type::kInt:
        if (node->is_integer()) value = std::to_string(node->as_integer()->get()), ok = true;
        break;
      case Type::kStringList:
        if (const toml::array* arr = node->as_array()) {
          ok = true;
          for (const auto& item : *arr) {
            auto text = item.value<std::string>();
            if (!item.is_string() || text->find(',') != std::string::npos) {
              ok = false;
              break;
            }
            if (!value.empty()) value += ",";
            value += *text;
          }
        }
        break;
      case Type::kShardList:
        // [["a", "b"], ["c"]] or ["a", "c"] (one replica per shard).
        if (const toml::array* arr = node->as_array()) {
          ok = true;
          auto plain = [](const toml::node& n, std::string* out) {
            auto text = n.value<std::string>();
            if (!n.is_string() || text->find_first_of(",|") != std::string::npos) return false;
            *out = *text;
            return true;
          };
          for (const auto& item : *arr) {
            std::string shard, url;
            if (const toml::array* replicas = item.as_array()) {
              for (const auto& r : *replicas) {
                if (!plain(r, &url)) ok = false;
                if (!shard.empty()) shard += "|";
                shard += url;
              }
              if (replicas->empty()) ok = false;
            } else if (!plain(item, &shard)) {
              ok = false;
            }
            if (!ok) break;
            if (!value.empty()) value += ",";
            value += shard;
          }
        }
        break;
    }
    if (!ok) {
      std::string shown = node->is_string()    ? "\"" + *node->value<std::string>() + "\""
                          : node->is_integer() ? std::to_string(node->as_integer()->get())
                          : node->is_boolean() ? (node->as_boolean()->get() ? "true" : "false")
                          : node->is_floating_point() ? std::to_string(node->as_floating_point()->get())
                          : node->is_array()   ? "an array (of strings without commas?)"
                                               : "a value of another type";
      return BadValue(key, where, shown, spec->type);
    }
    TRACEDB_RETURN_IF_ERROR(SetText(key, value, origin));
  }
  return Status::OK();
}

Status ConfigLoader::LoadEnv(const std::vector<std::string>& env) {
  std::map<std::string, std::string> vars;
  for (const auto& e : env) {
    size_t eq = e.find('=');
    if (eq == std::string::npos) continue;
    vars[e.substr(0, eq)] = e.substr(eq + 1);
  }
  // Reflow's variables first, so that TRACEDB_* wins.
  auto reflow = [&](const char* name, const char* key) -> Status {
    auto it = vars.find(name);
    if (it == vars.end()) return Status::OK();
    return SetText(key, it->second, fmt::format("env {}", name));
  };
  TRACEDB_RETURN_IF_ERROR(reflow("REFLOW_TRACING_HOST", "server.host"));
  TRACEDB_RETURN_IF_ERROR(reflow("REFLOW_TRACING_PORT", "server.port"));
  TRACEDB_RETURN_IF_ERROR(reflow("REFLOW_TRACING_STORAGE_BACKEND", "storage.backend"));
  TRACEDB_RETURN_IF_ERROR(reflow("REFLOW_TRACING_SQLITE_PATH", "storage.data_dir"));

  std::map<std::string, const KeySpec*> by_env;
  std::vector<std::string> sections;
  for (const auto& s : Specs()) {
    by_env[EnvName(s.key)] = &s;
    std::string section = "TRACEDB_" + EnvName(s.key.substr(0, s.key.find('.'))).substr(8) + "_";
    sections.push_back(section);
  }
  for (const auto& [name, value] : vars) {
    auto it = by_env.find(name);
    if (it != by_env.end()) {
      TRACEDB_RETURN_IF_ERROR(SetText(it->second->key, value, "env " + name));
      continue;
    }
    for (const auto& sec : sections) {
      if (name.rfind(sec, 0) == 0) {
        return Status::InvalidArgument(
            fmt::format("unknown configuration variable {} (no such key; see `tracedb config --keys`)", name));
      }
    }
  }
  return Status::OK();
}

Status ConfigLoader::SetFromFlag(std::string_view key, std::string_view value, std::string_view flag) {
  return SetText(key, value, fmt::format("flag {}", flag));
}

Status ConfigLoader::Validate() const {
  const Config& c = config_;
  auto bad = [&](const char* key, std::string why) {
    return Status::InvalidArgument(fmt::format("config key {} ({}): {}", key, origins_.at(key), why));
  };
  if (c.host.empty()) return bad("server.host", "must not be empty");
  if (c.compression_replies != "opt-in" && c.compression_replies != "always") {
    return bad("compression.replies", fmt::format("'{}' is not opt-in or always", c.compression_replies));
  }
  if (!c.otlp_listen.empty()) {
    std::string host;
    uint32_t port = 0;
    if (Status s = ParseListen(c.otlp_listen, &host, &port); !s.ok()) return bad("otlp.listen", s.message());
  }
  if (c.max_connections == 0) return bad("server.max_connections", "must be at least 1");
  if (c.io_threads == 0) return bad("server.io_threads", "must be at least 1");
  if (c.read_threads == 0) return bad("server.read_threads", "must be at least 1");
  if (c.max_inflight_per_connection == 0) return bad("server.max_inflight_per_connection", "must be at least 1");
  if (c.max_message_bytes < 1024) return bad("server.max_message_bytes", "must be at least 1024");
  if (c.finalize_status != "Completed" && c.finalize_status != "Cancelled" && c.finalize_status != "Failed") {
    return bad("server.finalize_status", fmt::format("'{}' is not Completed, Cancelled or Failed", c.finalize_status));
  }
  if (c.backend != "rocksdb" && c.backend != "memory" && c.backend != "sqlite" && c.backend != "clickhouse") {
    return bad("storage.backend",
               fmt::format("'{}' is not supported (rocksdb, memory, clickhouse; sqlite = rocksdb on disk)", c.backend));
  }
  if (c.backend == "clickhouse") {
    if (c.clickhouse_shards.empty()) return bad("clickhouse.shards", "must list at least one shard");
    if (c.clickhouse_insert_attempts == 0) return bad("clickhouse.insert_attempts", "must be at least 1");
    if (c.retention_max_bytes != 0) {
      return bad("storage.retention_max_bytes", "is not supported by the clickhouse backend (use max_age_seconds)");
    }
  }
  if (c.backend != "memory" && c.data_dir.empty()) return bad("storage.data_dir", "must not be empty");
  if (c.retention_interval_seconds == 0) return bad("storage.retention_interval_seconds", "must be at least 1");
  if (c.ingest_queue_capacity == 0) return bad("ingest.queue_capacity", "must be at least 1");
  if (c.ingest_queue_bytes == 0) return bad("ingest.queue_bytes", "must be at least 1");
  if (c.ingest_max_batch == 0) return bad("ingest.max_batch", "must be at least 1");
  if (c.read_queue_capacity == 0) return bad("ingest.read_queue_capacity", "must be at least 1");
  if (c.subscriber_queue_capacity == 0) return bad("subscriptions.queue_capacity", "must be at least 1");
  if (c.compression_algorithm != "zstd" && c.compression_algorithm != "lz4" && c.compression_algorithm != "gzip") {
    return bad("compression.algorithm",
               fmt::format("'{}' is not supported (zstd, lz4, gzip)", c.compression_algorithm));
  }
  if (c.compression_algorithm == "zstd" && (c.compression_level < -7 || c.compression_level > 22)) {
    return bad("compression.level", "zstd levels are -7..22");
  }
  if (c.compression_algorithm == "gzip" && (c.compression_level < 0 || c.compression_level > 9)) {
    return bad("compression.level", "gzip levels are 0..9");
  }
  if (c.metrics_endpoint.empty() || c.metrics_endpoint[0] != '/') {
    return bad("metrics.endpoint", "must start with '/'");
  }
  if (c.max_concurrent_ingests == 0) return bad("http.max_concurrent_ingests", "must be at least 1");
  if (c.ingest_batch_lines == 0) return bad("http.ingest_batch_lines", "must be at least 1");
  if (c.rate_limit_per_second > 0 && c.rate_limit_burst == 0) {
    return bad("http.rate_limit_burst", "must be at least 1 when http.rate_limit_per_second is set");
  }
  if (c.idle_timeout_seconds == 0) return bad("http.idle_timeout_seconds", "must be at least 1");
  if (c.ws_idle_timeout_seconds < 2) return bad("server.ws_idle_timeout_seconds", "must be at least 2");
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return bad(c.tls_cert_file.empty() ? "tls.cert_file" : "tls.key_file",
               "tls.cert_file and tls.key_file must be set together");
  }
  for (const auto& key : c.api_keys) {
    for (char ch : key) {
      if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) {
        return bad("auth.api_keys", "an API key must not contain spaces or control characters");
      }
    }
  }
  for (const auto& key : c.admin_keys) {
    for (char ch : key) {
      if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) {
        return bad("auth.admin_keys", "an admin key must not contain spaces or control characters");
      }
    }
  }
  for (const auto& origin : c.allowed_origins) {
    if (origin != "*" && origin.find("://") == std::string::npos) {
      return bad("server.allowed_origins",
                 fmt::format("'{}' is not an origin (scheme://host[:port], e.g. https://ui.example.com)", origin));
    }
  }
  return Status::OK();
}

std::string ConfigLoader::Describe() const {
  std::string out;
  std::string section;
  for (const auto& s : Specs()) {
    if (s.reflow_compat_only || !s.alias_of.empty()) continue;
    size_t dot = s.key.find('.');
    std::string sec = s.key.substr(0, dot);
    if (sec != section) {
      if (!section.empty()) out += "\n";
      out += "[" + sec + "]\n";
      section = sec;
    }
    out += fmt::format("{} = {}  # {}\n", s.key.substr(dot + 1), s.get(config_), origins_.at(s.key));
  }
  return out;
}

std::vector<std::string> ProcessEnvironment() {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) out.emplace_back(*e);
  return out;
}

Status ParseListen(std::string_view text, std::string* host, uint32_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return Status::InvalidArgument(fmt::format("--listen '{}': expected HOST:PORT", text));
  }
  std::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string_view p = text.substr(colon + 1);
  uint32_t value = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || ptr != p.data() + p.size() || value > 65535) {
    return Status::InvalidArgument(fmt::format("--listen '{}': port '{}' is not 0..65535", text, p));
  }
  *host = std::string(h);
  *port = value;
  return Status::OK();
}

}  // namespace tracedb::server
