#include <simdjson.h>

#include <cstring>

#include "bench/peers/peer.h"
#include "ingest/reflow/reflow_json.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::bench {

namespace od = simdjson::ondemand;

struct WireParser::Impl {
  od::parser line_parser;
  od::parser event_parser;
  std::string buffer;  // the body plus SIMDJSON_PADDING
};

WireParser::WireParser() : impl_(std::make_unique<Impl>()) {}
WireParser::~WireParser() = default;

namespace {

Status Bad(std::string_view what, simdjson::error_code e = simdjson::SUCCESS) {
  std::string msg = "peer parse: " + std::string(what);
  if (e != simdjson::SUCCESS) msg += std::string(": ") + simdjson::error_message(e);
  return Status::InvalidArgument(std::move(msg));
}

#define PEER_TRY(expr, what)                       \
  do {                                             \
    auto _e = (expr);                              \
    if (_e != simdjson::SUCCESS) return Bad(what, _e); \
  } while (0)

Status ParseId(od::value v, schema::Id128* id) {
  std::string_view s;
  PEER_TRY(v.get_string().get(s), "id");
  if (!schema::ParseUuid(s, id)) return Bad("bad uuid");
  return Status::OK();
}

Status ParseStatus(od::value v, WireLine* line) {
  od::json_type t;
  PEER_TRY(v.type().get(t), "status");
  if (t == od::json_type::string) {
    std::string_view s;
    PEER_TRY(v.get_string().get(s), "status");
    if (s == "Pending") line->status_code = 0;
    else if (s == "Running") line->status_code = 1;
    else if (s == "Completed") line->status_code = 2;
    else if (s == "Cancelled") line->status_code = 4;
    else return Bad("unknown status");
    return Status::OK();
  }
  od::object o;
  PEER_TRY(v.get_object().get(o), "status");
  for (auto f : o) {
    std::string_view key;
    PEER_TRY(f.unescaped_key().get(key), "status key");
    if (key != "Failed") return Bad("unknown status");
    od::object inner;
    PEER_TRY(f.value().get_object().get(inner), "Failed");
    std::string_view err;
    PEER_TRY(inner["error"].get_string().get(err), "Failed.error");
    line->status_code = 3;
    line->error = err;
  }
  return Status::OK();
}

Status ParseVersion(od::value v, schema::FlowVersion* out) {
  od::object o;
  PEER_TRY(v.get_object().get(o), "version");
  for (auto f : o) {
    std::string_view key;
    PEER_TRY(f.unescaped_key().get(key), "version key");
    od::value fv;
    PEER_TRY(f.value().get(fv), "version value");
    uint64_t n = 0;
    if (key == "major" || key == "minor" || key == "patch") {
      PEER_TRY(fv.get_uint64().get(n), "version number");
      (key == "major" ? out->major : key == "minor" ? out->minor : out->patch) = static_cast<uint32_t>(n);
    } else if (key == "git_hash") {
      od::json_type t;
      PEER_TRY(fv.type().get(t), "git_hash");
      if (t != od::json_type::null) {
        std::string_view s;
        PEER_TRY(fv.get_string().get(s), "git_hash");
        out->git_hash = std::string(s);
      }
    } else if (key == "timestamp") {
      std::string_view s;
      PEER_TRY(fv.get_string().get(s), "version.timestamp");
      if (!schema::ParseRfc3339(s, &out->timestamp_ns)) return Bad("version.timestamp");
    }
  }
  return Status::OK();
}

// The fields of a TraceEvent object a peer stores in columns.
Status ParseEventFields(od::parser& parser, std::string_view json, size_t capacity, WireLine* line) {
  od::document doc;
  PEER_TRY(parser.iterate(json.data(), json.size(), capacity).get(doc), "event");
  od::object o;
  PEER_TRY(doc.get_object().get(o), "event");
  for (auto f : o) {
    std::string_view key;
    PEER_TRY(f.unescaped_key().get(key), "event key");
    od::value v;
    PEER_TRY(f.value().get(v), "event value");
    if (key == "event_id") {
      schema::Id128 id;
      TRACEDB_RETURN_IF_ERROR(ParseId(v, &id));
      line->event_id.assign(reinterpret_cast<const char*>(id.data()), id.size());
    } else if (key == "timestamp") {
      std::string_view s;
      PEER_TRY(v.get_string().get(s), "timestamp");
      if (!schema::ParseRfc3339(s, &line->ts)) return Bad("timestamp");
    } else if (key == "event_type") {
      od::json_type t;
      PEER_TRY(v.type().get(t), "event_type");
      if (t == od::json_type::string) {
        std::string_view s;
        PEER_TRY(v.get_string().get(s), "event_type");
        line->type = s;
      } else {
        od::object eo;
        PEER_TRY(v.get_object().get(eo), "event_type");
        for (auto ef : eo) {
          std::string_view k;
          PEER_TRY(ef.unescaped_key().get(k), "event_type key");
          line->type = k;
        }
      }
    } else if (key == "actor_id") {
      std::string_view s;
      PEER_TRY(v.get_string().get(s), "actor_id");
      line->actor = s;
    } else if (key == "data") {
      od::object d;
      PEER_TRY(v.get_object().get(d), "data");
      for (auto df : d) {
        std::string_view dk;
        PEER_TRY(df.unescaped_key().get(dk), "data key");
        od::value dv;
        PEER_TRY(df.value().get(dv), "data value");
        od::json_type t;
        PEER_TRY(dv.type().get(t), "data value");
        if (t == od::json_type::null) continue;
        if (dk == "message") {
          uint64_t n = 0;
          PEER_TRY(dv["size_bytes"].get_uint64().get(n), "size_bytes");
          line->size_bytes = static_cast<int64_t>(n);
        } else if (dk == "error") {
          line->status = 2;
        } else if (dk == "performance_metrics") {
          od::value et;
          if (dv["execution_time_ns"].get(et) == simdjson::SUCCESS) {
            uint64_t n = 0;
            if (et.get_uint64().get(n) == simdjson::SUCCESS) line->duration_ns = static_cast<int64_t>(n);
          }
        }
      }
    }
  }
  if (line->type == "ActorFailed") line->status = 2;
  else if (line->type == "ActorCompleted" && line->status == 0) line->status = 1;
  return Status::OK();
}

}  // namespace

Status WireParser::ForEach(std::string_view body, const std::function<Status(const WireLine&)>& fn) {
  std::string& buf = impl_->buffer;
  buf.assign(body);
  buf.append(simdjson::SIMDJSON_PADDING, '\0');
  const char* base = buf.data();
  const size_t total = buf.size();
  size_t pos = 0;
  WireLine line;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    size_t end = nl == std::string_view::npos ? body.size() : nl;
    if (end == pos) {
      pos = end + 1;
      continue;
    }
    line = WireLine();
    od::document doc;
    PEER_TRY(impl_->line_parser.iterate(base + pos, end - pos, total - pos).get(doc), "line");
    od::object top;
    PEER_TRY(doc.get_object().get(top), "line");
    for (auto field : top) {
      std::string_view key;
      PEER_TRY(field.unescaped_key().get(key), "request");
      od::object req;
      PEER_TRY(field.value().get_object().get(req), "request body");
      if (key == "RecordEvent") line.kind = WireLine::Kind::kEvent;
      else if (key == "StartTrace") line.kind = WireLine::Kind::kStart;
      else if (key == "EndTrace") line.kind = WireLine::Kind::kEnd;
      else return Bad("unexpected request");
      for (auto f : req) {
        std::string_view k;
        PEER_TRY(f.unescaped_key().get(k), "field");
        od::value v;
        PEER_TRY(f.value().get(v), "field value");
        if (k == "trace_id") {
          TRACEDB_RETURN_IF_ERROR(ParseId(v, &line.trace_id));
        } else if (k == "event") {
          od::object eo;
          PEER_TRY(v.get_object().get(eo), "event");
          std::string_view raw;
          PEER_TRY(eo.raw_json().get(raw), "event");
          line.event_json = std::string_view(body.data() + (raw.data() - base), raw.size());
          TRACEDB_RETURN_IF_ERROR(
              ParseEventFields(impl_->event_parser, raw, total - static_cast<size_t>(raw.data() - base), &line));
        } else if (k == "flow_id") {
          std::string_view s;
          PEER_TRY(v.get_string().get(s), "flow_id");
          line.flow_id = s;
        } else if (k == "version") {
          TRACEDB_RETURN_IF_ERROR(ParseVersion(v, &line.version));
        } else if (k == "status") {
          TRACEDB_RETURN_IF_ERROR(ParseStatus(v, &line));
        }
      }
    }
    TRACEDB_RETURN_IF_ERROR(fn(line));
    pos = end + 1;
  }
  return Status::OK();
}

Result<schema::Trace> TraceFromRows(const schema::Id128& trace_id, const std::string& flow_id,
                                    const schema::FlowVersion& version, int status_code, const std::string& error,
                                    const std::vector<std::string>& event_jsons) {
  schema::Trace t;
  t.trace_id = trace_id;
  t.flow_id = flow_id;
  t.version = version;
  t.status.code = static_cast<schema::StatusCode>(status_code);
  if (t.status.code == schema::StatusCode::kFailed) t.status.error = error;
  t.events.reserve(event_jsons.size());
  for (const std::string& j : event_jsons) {
    TRACEDB_ASSIGN_OR_RETURN(schema::Event e, ingest::reflow::ParseEvent(j));
    t.events.push_back(std::move(e));
  }
  return t;
}

}  // namespace tracedb::bench

namespace tracedb::bench {

Status BuildRows(WireParser* parser, std::string_view body, PeerTraceMap* state, BatchRows* rows) {
  rows->events.clear();
  rows->actors.clear();
  rows->traces.clear();
  std::vector<schema::Id128> touched;
  std::unordered_set<schema::Id128, Id128Hasher> touched_set;
  std::unordered_set<schema::Id128, Id128Hasher> status_changed;
  TRACEDB_RETURN_IF_ERROR(parser->ForEach(body, [&](const WireLine& l) -> Status {
    PeerTraceState& st = (*state)[l.trace_id];
    if (touched_set.insert(l.trace_id).second) touched.push_back(l.trace_id);
    switch (l.kind) {
      case WireLine::Kind::kStart:
        st.flow_id = l.flow_id;
        st.version = l.version;
        break;
      case WireLine::Kind::kEvent: {
        if (!st.started) {
          st.started = true;
          st.start_ns = l.ts;
        }
        EventRow r;
        r.trace_id = l.trace_id;
        r.ts = l.ts;
        r.seq = st.next_seq++;
        r.event_id = l.event_id;
        r.type = l.type;
        r.actor = l.actor;
        r.duration_ns = l.duration_ns;
        r.size_bytes = l.size_bytes;
        r.status = l.status;
        r.data = l.event_json;
        st.last_ns = std::max(st.last_ns, l.ts);
        if (st.actors.insert(l.actor).second) rows->actors.push_back({l.actor, st.start_ns, l.trace_id});
        rows->events.push_back(std::move(r));
        break;
      }
      case WireLine::Kind::kEnd:
        st.ended = true;
        st.status_code = l.status_code;
        st.error = l.error;
        status_changed.insert(l.trace_id);
        break;
      case WireLine::Kind::kOther:
        break;
    }
    return Status::OK();
  }));
  for (const schema::Id128& id : touched) {
    PeerTraceState& st = (*state)[id];
    if (!st.started) continue;  // no event yet: the row waits for its start
    if (st.row_written && status_changed.count(id) == 0) continue;
    TraceRow r;
    r.insert = !st.row_written;
    r.trace_id = id;
    r.flow_id = st.flow_id;
    r.version = st.version;
    r.start_ns = st.start_ns;
    if (st.ended) r.end_ns = st.last_ns;
    r.status_code = st.status_code;
    r.error = st.error;
    st.row_written = true;
    rows->traces.push_back(std::move(r));
  }
  return Status::OK();
}

}  // namespace tracedb::bench
