#include "ingest/operonx/operonx_json.h"

#include "schema/json_reader.h"
#include "schema/json_writer.h"
#include "schema/rfc3339.h"

namespace tracedb::ingest::operonx {

using schema::AppendRfc3339Micros;
using schema::JsonWriter;
using schema::OperonxEvent;
namespace json_internal = schema::json_internal;

namespace {

using json_internal::Document;
using json_internal::Reader;
namespace od = simdjson::ondemand;

struct KindEntry {
  std::string_view kind;
  EventType type;
};
constexpr KindEntry kKinds[] = {
    {"op_start", EventType::kOpStart},       {"op_end", EventType::kOpEnd},
    {"op_yield", EventType::kOpYield},       {"annotation", EventType::kAnnotation},
    {"group_start", EventType::kGroupStart}, {"group_end", EventType::kGroupEnd},
    {"llm_usage", EventType::kLlmUsage},     {"media_ref", EventType::kMediaRef},
};

bool ParseCtx(Reader& r, od::value v, std::vector<std::string>* out) {
  bool null;
  if (!r.IsNull(v, &null)) return false;
  if (null) {
    out->clear();
    return true;
  }
  return r.StringArray(v, out);
}

bool ParsePayload(Reader& r, od::value v, std::string* out) {
  bool null;
  if (!r.IsNull(v, &null)) return false;
  if (null) {
    *out = "{}";
    return true;
  }
  return r.RawObject(v, out);
}

#define FIELD(bit, name, call) TRACEDB_JSON_FIELD(r, seen, bit, name, call)

bool ParseEventImpl(Reader& r, od::value v, ParsedEvent* out) {
  od::object obj;
  const char* at;
  if (!r.Object(v, &obj, &at, "a TraceEvent object")) return false;
  Event& e = out->event;
  OperonxEvent& ox = e.operonx.emplace();
  unsigned seen = 0;
  for (auto f : obj) {
    std::string_view key;
    od::value fv;
    if (!r.Field(f, &key, &fv)) return false;
    const char* field_at = Reader::At(fv);
    if (key == "event_id") FIELD(0, "event_id", r.String(fv, &e.event_id));
    else if (key == "request_id") FIELD(1, "request_id", r.String(fv, &out->request_id));
    else if (key == "kind") FIELD(2, "kind", r.String(fv, &ox.kind));
    else if (key == "op_name") FIELD(3, "op_name", r.OptString(fv, &ox.op_name));
    else if (key == "ctx") FIELD(4, "ctx", ParseCtx(r, fv, &ox.ctx));
    else if (key == "timestamp") FIELD(5, "timestamp", r.Timestamp(fv, &e.timestamp_ns));
    else if (key == "seq") FIELD(6, "seq", r.U64(fv, &e.seq));
    else if (key == "payload") FIELD(7, "payload", ParsePayload(r, fv, &ox.payload_json));
    else if (!r.Skip(fv)) return r.Prepend(key);
  }
  static constexpr std::string_view kRequired[] = {"event_id", "request_id", "kind", "", "",
                                                   "timestamp", "seq"};
  for (unsigned bit = 0; bit < std::size(kRequired); ++bit) {
    if (!kRequired[bit].empty() && (seen & (1u << bit)) == 0) return r.MissingField(at, kRequired[bit]);
  }
  e.type = EventTypeForKind(ox.kind);
  e.actor = ox.op_name.value_or(std::string());
  return true;
}

bool ParseEventList(Reader& r, od::value v, std::vector<ParsedEvent>* out) {
  out->clear();
  return r.Array(v, "an array of TraceEvent objects",
                 [&](od::value e, size_t) { return ParseEventImpl(r, e, &out->emplace_back()); });
}

bool ParseTags(Reader& r, od::value v, std::vector<std::string>* out) {
  bool null;
  if (!r.IsNull(v, &null)) return false;
  if (null) {
    out->clear();
    return true;
  }
  return r.StringArray(v, out);
}

bool ParsePartial(Reader& r, od::value v, bool* out) {
  bool null;
  if (!r.IsNull(v, &null)) return false;
  if (null) {
    *out = false;
    return true;
  }
  return r.Bool(v, out);
}

bool ParseMetadata(Reader& r, od::value v, BatchMetadata* out) {
  bool null;
  if (!r.IsNull(v, &null)) return false;
  if (null) return true;
  od::object obj;
  const char* at;
  if (!r.Object(v, &obj, &at, "a metadata object")) return false;
  unsigned seen = 0;
  for (auto f : obj) {
    std::string_view key;
    od::value fv;
    if (!r.Field(f, &key, &fv)) return false;
    const char* field_at = Reader::At(fv);
    if (key == "workflow_name") FIELD(0, "workflow_name", r.OptString(fv, &out->workflow_name));
    else if (key == "user_id") FIELD(1, "user_id", r.OptString(fv, &out->user_id));
    else if (key == "session_id") FIELD(2, "session_id", r.OptString(fv, &out->session_id));
    else if (key == "tags") FIELD(3, "tags", ParseTags(r, fv, &out->tags));
    else if (key == "partial") FIELD(4, "partial", ParsePartial(r, fv, &out->partial));
    else if (!r.Skip(fv)) return r.Prepend(key);
  }
  return true;
}

bool ParseBatchImpl(Reader& r, od::value v, Batch* out) {
  od::object obj;
  const char* at;
  if (!r.Object(v, &obj, &at, "a batch object")) return false;
  unsigned seen = 0;
  for (auto f : obj) {
    std::string_view key;
    od::value fv;
    if (!r.Field(f, &key, &fv)) return false;
    const char* field_at = Reader::At(fv);
    if (key == "request_id") FIELD(0, "request_id", r.String(fv, &out->request_id));
    else if (key == "metadata") FIELD(1, "metadata", ParseMetadata(r, fv, &out->metadata));
    else if (key == "events") FIELD(2, "events", ParseEventList(r, fv, &out->events));
    else if (!r.Skip(fv)) return r.Prepend(key);
  }
  if ((seen & 1u) == 0) return r.MissingField(at, "request_id");
  if ((seen & 4u) == 0) return r.MissingField(at, "events");
  return true;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 false positive on moves
#endif

template <typename T, typename F>
Result<T> ParseDoc(std::string_view json, InputPadding padding, F&& parse) {
  Document d(json, padding);
  Reader r(&d);
  if (d.error()) {
    r.FailCode(d.error(), d.base(), "JSON");
    return r.ToStatus();
  }
  od::value root;
  if (auto ec = d.doc().get_value().get(root)) {
    r.FailCode(ec, d.base(), "a JSON object or array");
    return r.ToStatus();
  }
  T out;
  if (!parse(r, root, &out) || !r.End()) return r.ToStatus();
  return out;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void WriteEvent(JsonWriter& w, std::string_view request_id, const Event& e) {
  static const OperonxEvent kEmpty;
  const OperonxEvent& ox = e.operonx ? *e.operonx : kEmpty;
  w.BeginObject();
  w.PlainKey("event_id");
  w.String(e.event_id);
  w.PlainKey("request_id");
  w.String(request_id);
  w.PlainKey("kind");
  w.String(e.operonx ? std::string_view(ox.kind) : KindForEventType(e.type));
  w.PlainKey("op_name");
  if (e.operonx ? ox.op_name.has_value() : !e.actor.empty()) {
    w.String(e.operonx ? *ox.op_name : e.actor);
  } else {
    w.Null();
  }
  w.PlainKey("ctx");
  w.BeginArray();
  for (const std::string& c : ox.ctx) w.String(c);
  w.EndArray();
  w.PlainKey("timestamp");
  std::string ts;
  ts.push_back('"');
  AppendRfc3339Micros(e.timestamp_ns, &ts);
  ts.push_back('"');
  w.Raw(ts);
  w.PlainKey("seq");
  w.Uint(e.seq);
  w.PlainKey("payload");
  w.Raw(ox.payload_json.empty() ? std::string_view("{}") : std::string_view(ox.payload_json));
  w.EndObject();
}

void WriteOptString(JsonWriter& w, const std::optional<std::string>& s) {
  if (s) {
    w.String(*s);
  } else {
    w.Null();
  }
}

}  // namespace

EventType EventTypeForKind(std::string_view kind) {
  for (const KindEntry& k : kKinds) {
    if (k.kind == kind) return k.type;
  }
  return EventType::kOperonxOther;
}

std::string_view KindForEventType(EventType type) {
  for (const KindEntry& k : kKinds) {
    if (k.type == type) return k.kind;
  }
  return "";
}

Result<ParsedEvent> ParseEvent(std::string_view json, InputPadding padding) {
  return ParseDoc<ParsedEvent>(json, padding, ParseEventImpl);
}

Result<std::vector<ParsedEvent>> ParseEventArray(std::string_view json, InputPadding padding) {
  return ParseDoc<std::vector<ParsedEvent>>(json, padding, ParseEventList);
}

Result<Batch> ParseBatch(std::string_view json, InputPadding padding) {
  return ParseDoc<Batch>(json, padding, ParseBatchImpl);
}

void AppendEvent(std::string_view request_id, const Event& event, std::string* out) {
  JsonWriter w(out);
  WriteEvent(w, request_id, event);
}

std::string PrintEvent(std::string_view request_id, const Event& event) {
  std::string s;
  AppendEvent(request_id, event, &s);
  return s;
}

void AppendEventArray(const std::vector<ParsedEvent>& events, std::string* out) {
  JsonWriter w(out);
  w.BeginArray();
  for (const ParsedEvent& e : events) WriteEvent(w, e.request_id, e.event);
  w.EndArray();
}

void AppendBatch(const Batch& batch, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  w.PlainKey("request_id");
  w.String(batch.request_id);
  w.PlainKey("metadata");
  w.BeginObject();
  w.PlainKey("workflow_name");
  WriteOptString(w, batch.metadata.workflow_name);
  w.PlainKey("user_id");
  WriteOptString(w, batch.metadata.user_id);
  w.PlainKey("session_id");
  WriteOptString(w, batch.metadata.session_id);
  w.PlainKey("tags");
  w.BeginArray();
  for (const std::string& t : batch.metadata.tags) w.String(t);
  w.EndArray();
  w.PlainKey("partial");
  w.Bool(batch.metadata.partial);
  w.EndObject();
  w.PlainKey("events");
  w.BeginArray();
  for (const ParsedEvent& e : batch.events) WriteEvent(w, e.request_id, e.event);
  w.EndArray();
  w.EndObject();
}

std::string PrintBatch(const Batch& batch) {
  std::string s;
  AppendBatch(batch, &s);
  return s;
}

}  // namespace tracedb::ingest::operonx
