#include "ingest/reflow/reflow_json.h"

#include <cstring>
#include <initializer_list>

#include "ingest/reflow/reflow_fast.h"
#include "ingest/reflow/reflow_names.h"
#include "schema/json_reader.h"
#include "schema/json_writer.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::ingest::reflow {

using schema::Causality;
using schema::FormatRfc3339;
using schema::FormatUuid;
using schema::JsonWriter;
using schema::kMaxRfc3339Length;
using schema::PerformanceMetrics;
using schema::ReflowEventData;
using schema::Source;
using schema::StateDiff;
using schema::StateDiffType;
using schema::StatusCode;
using schema::TraceMetadata;
namespace json_internal = schema::json_internal;

namespace {

using json_internal::Document;
using json_internal::Reader;
namespace od = simdjson::ondemand;
using Variant = Reader::Variant;

using names::IndexOf;
constexpr const auto& kEventTypeNames = names::kEventTypes;
constexpr std::string_view kEventTypeList = names::kEventTypeList;

constexpr std::string_view kStatusNames[] = {"Pending", "Running", "Completed", "Failed",
                                             "Cancelled"};
constexpr std::string_view kStatusList = "Pending, Running, Completed, Failed, Cancelled";

constexpr const auto& kDiffTypeNames = names::kDiffTypes;

constexpr std::string_view kErrorCodeNames[] = {"NotFound",           "InvalidRequest",
                                                "StorageError",       "SerializationError",
                                                "Unauthorized",       "InternalError"};
constexpr std::string_view kErrorCodeList =
    "NotFound, InvalidRequest, StorageError, SerializationError, Unauthorized, InternalError";

// Field declaration for missing-field checks, in declaration order (bit i).
struct FieldSpec {
  std::string_view name;
  bool required;
};

bool CheckRequired(Reader& r, unsigned seen, const char* at, std::initializer_list<FieldSpec> specs) {
  unsigned bit = 0;
  for (const FieldSpec& s : specs) {
    if (s.required && (seen & (1u << bit)) == 0) return r.MissingField(at, s.name);
    ++bit;
  }
  return true;
}

#define FIELD(bit, name, call) TRACEDB_JSON_FIELD(r, seen, bit, name, call)

// Iterates the fields of an object: `body` is a chain of
// `if (key == "x") FIELD(...); else if ...; else` ending in an unknown-field
// skip. Declares obj, at, seen, key, fv, field_at.
#define FOR_EACH_FIELD(v, what)                                  \
  od::object obj;                                                \
  const char* at;                                                \
  if (!r.Object(v, &obj, &at, what)) return false;               \
  unsigned seen = 0;                                             \
  for (auto f : obj)                                             \
    if (std::string_view key; false) {                           \
    } else if (od::value fv; !r.Field(f, &key, &fv)) {           \
      return false;                                              \
    } else if (const char* field_at = Reader::At(fv); false) {   \
      (void)field_at;                                            \
    } else

#define SKIP_UNKNOWN                       \
  if (!r.Skip(fv)) return r.Prepend(key);

bool ParseFlowVersion(Reader& r, od::value v, FlowVersion* out) {
  FOR_EACH_FIELD(v, "struct FlowVersion") {
    if (key == "major") FIELD(0, "major", r.U32(fv, &out->major));
    else if (key == "minor") FIELD(1, "minor", r.U32(fv, &out->minor));
    else if (key == "patch") FIELD(2, "patch", r.U32(fv, &out->patch));
    else if (key == "git_hash") FIELD(3, "git_hash", r.OptString(fv, &out->git_hash));
    else if (key == "timestamp") FIELD(4, "timestamp", r.Timestamp(fv, &out->timestamp_ns));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at,
                       {{"major", true}, {"minor", true}, {"patch", true}, {"git_hash", false},
                        {"timestamp", true}});
}

bool ParseStatus(Reader& r, od::value v, ExecutionStatus* out) {
  Variant var;
  if (!r.BeginVariant(v, &var, "ExecutionStatus")) return false;
  const int idx = IndexOf(var.name, kStatusNames);
  if (idx < 0) return r.UnknownVariant(var, kStatusList);
  out->code = static_cast<StatusCode>(idx);
  out->error.clear();
  if (out->code == StatusCode::kFailed) {
    if (!r.RequireStructForm(&var)) return false;
    FOR_EACH_FIELD(var.inner, "struct variant ExecutionStatus::Failed") {
      if (key == "error") FIELD(0, "error", r.String(fv, &out->error));
      else SKIP_UNKNOWN
    }
    if (!CheckRequired(r, seen, at, {{"error", true}})) return r.Prepend("Failed");
  } else if (!r.UnitContent(&var)) {
    return false;
  }
  return r.EndVariant(&var, "ExecutionStatus");
}

bool ParseEventType(Reader& r, od::value v, TraceEventType* out) {
  Variant var;
  if (!r.BeginVariant(v, &var, "TraceEventType")) return false;
  const int idx = IndexOf(var.name, kEventTypeNames);
  if (idx < 0) return r.UnknownVariant(var, kEventTypeList);
  out->type = static_cast<EventType>(idx);
  out->to_actor.clear();
  out->to_port.clear();
  if (out->type == EventType::kDataFlow) {
    if (!r.RequireStructForm(&var)) return false;
    auto body = [&]() {
      FOR_EACH_FIELD(var.inner, "struct variant TraceEventType::DataFlow") {
        if (key == "to_actor") FIELD(0, "to_actor", r.String(fv, &out->to_actor));
        else if (key == "to_port") FIELD(1, "to_port", r.String(fv, &out->to_port));
        else SKIP_UNKNOWN
      }
      return CheckRequired(r, seen, at, {{"to_actor", true}, {"to_port", true}});
    };
    if (!body()) return r.Prepend("DataFlow");
  } else if (!r.UnitContent(&var)) {
    return false;
  }
  return r.EndVariant(&var, "TraceEventType");
}

bool ParseDiffType(Reader& r, od::value v, StateDiffType* out) {
  Variant var;
  if (!r.BeginVariant(v, &var, "StateDiffType")) return false;
  const int idx = IndexOf(var.name, kDiffTypeNames);
  if (idx < 0) return r.UnknownVariant(var, "Full, Incremental, MemoryOnly");
  *out = static_cast<StateDiffType>(idx);
  return r.UnitContent(&var) && r.EndVariant(&var, "StateDiffType");
}

bool ParseErrorCode(Reader& r, od::value v, ErrorCode* out) {
  Variant var;
  if (!r.BeginVariant(v, &var, "ErrorCode")) return false;
  const int idx = IndexOf(var.name, kErrorCodeNames);
  if (idx < 0) return r.UnknownVariant(var, kErrorCodeList);
  *out = static_cast<ErrorCode>(idx);
  return r.UnitContent(&var) && r.EndVariant(&var, "ErrorCode");
}

bool ParseMessage(Reader& r, od::value v, MessageSnapshot* out) {
  FOR_EACH_FIELD(v, "struct MessageSnapshot") {
    if (key == "message_type") FIELD(0, "message_type", r.String(fv, &out->message_type));
    else if (key == "size_bytes") FIELD(1, "size_bytes", r.U64(fv, &out->size_bytes, "usize"));
    else if (key == "checksum") FIELD(2, "checksum", r.String(fv, &out->checksum));
    else if (key == "serialized_data") FIELD(3, "serialized_data", r.Bytes(fv, &out->serialized_data));
    else if (key == "content_codec") FIELD(4, "content_codec", r.String(fv, &out->content_codec));
    else if (key == "content_format_version")
      FIELD(5, "content_format_version", r.U32(fv, &out->content_format_version));
    else if (key == "stored_bytes") FIELD(6, "stored_bytes", r.OptU64(fv, &out->stored_bytes));
    else SKIP_UNKNOWN
  }
  out->has_g2_fields = (seen & 0x70u) != 0;
  return CheckRequired(r, seen, at,
                       {{"message_type", true}, {"size_bytes", true}, {"checksum", true}});
}

bool ParseStateDiff(Reader& r, od::value v, StateDiff* out) {
  FOR_EACH_FIELD(v, "struct StateDiff") {
    if (key == "before") FIELD(0, "before", r.OptBytes(fv, &out->before));
    else if (key == "after") FIELD(1, "after", r.Bytes(fv, &out->after));
    else if (key == "diff_type") FIELD(2, "diff_type", ParseDiffType(r, fv, &out->diff_type));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at, {{"before", false}, {"after", true}, {"diff_type", true}});
}

bool ParseMetrics(Reader& r, od::value v, PerformanceMetrics* out) {
  FOR_EACH_FIELD(v, "struct PerformanceMetrics") {
    if (key == "execution_time_ns") FIELD(0, "execution_time_ns", r.OptU64(fv, &out->execution_time_ns));
    else if (key == "memory_usage_bytes")
      FIELD(1, "memory_usage_bytes", r.OptU64(fv, &out->memory_usage_bytes));
    else if (key == "cpu_usage_percent")
      FIELD(2, "cpu_usage_percent", r.OptF32(fv, &out->cpu_usage_percent));
    else if (key == "queue_depth") FIELD(3, "queue_depth", r.OptU64(fv, &out->queue_depth));
    else if (key == "throughput_msgs_per_sec")
      FIELD(4, "throughput_msgs_per_sec", r.OptF64(fv, &out->throughput_msgs_per_sec));
    else SKIP_UNKNOWN
  }
  (void)at;
  return true;  // G2: every field is Option with a default
}

template <typename T, typename F>
bool OptStruct(Reader& r, od::value v, std::optional<T>* out, F&& parse) {
  bool null;
  if (!r.IsNull(v, &null)) return false;
  if (null) {
    out->reset();
    return true;
  }
  return parse(r, v, &out->emplace());
}

bool ParseEventData(Reader& r, od::value v, ReflowEventData* out) {
  FOR_EACH_FIELD(v, "struct TraceEventData") {
    if (key == "port") FIELD(0, "port", r.OptString(fv, &out->port));
    else if (key == "message") FIELD(1, "message", OptStruct(r, fv, &out->message, ParseMessage));
    else if (key == "state_diff")
      FIELD(2, "state_diff", OptStruct(r, fv, &out->state_diff, ParseStateDiff));
    else if (key == "error") FIELD(3, "error", r.OptString(fv, &out->error));
    else if (key == "performance_metrics")
      FIELD(4, "performance_metrics", ParseMetrics(r, fv, &out->metrics));
    else if (key == "custom_attributes")
      FIELD(5, "custom_attributes", r.RawObject(fv, &out->custom_attributes_json));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at,
                       {{"port", false}, {"message", false}, {"state_diff", false}, {"error", false},
                        {"performance_metrics", true}, {"custom_attributes", true}});
}

bool ParseIdArray(Reader& r, od::value v, std::vector<Id128>* out) {
  out->clear();
  return r.Array(v, "an array of UUID strings",
                 [&](od::value e, size_t) { return r.Uuid(e, &out->emplace_back()); });
}

bool ParseCausality(Reader& r, od::value v, Causality* out) {
  FOR_EACH_FIELD(v, "struct CausalityInfo") {
    if (key == "parent_event_id") FIELD(0, "parent_event_id", r.OptUuid(fv, &out->parent_event_id));
    else if (key == "root_cause_event_id")
      FIELD(1, "root_cause_event_id", r.Uuid(fv, &out->root_cause_event_id));
    else if (key == "dependency_chain")
      FIELD(2, "dependency_chain", ParseIdArray(r, fv, &out->dependency_chain));
    else if (key == "span_id") FIELD(3, "span_id", r.String(fv, &out->span_id));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at,
                       {{"parent_event_id", false}, {"root_cause_event_id", true},
                        {"dependency_chain", true}, {"span_id", true}});
}

bool ParseEventImpl(Reader& r, od::value v, Event* out) {
  ReflowEventData& data = out->reflow.emplace();
  Id128 id;
  TraceEventType type;
  FOR_EACH_FIELD(v, "struct TraceEvent") {
    if (key == "event_id") FIELD(0, "event_id", r.Uuid(fv, &id));
    else if (key == "timestamp") FIELD(1, "timestamp", r.Timestamp(fv, &out->timestamp_ns));
    else if (key == "event_type") FIELD(2, "event_type", ParseEventType(r, fv, &type));
    else if (key == "actor_id") FIELD(3, "actor_id", r.String(fv, &out->actor));
    else if (key == "data") FIELD(4, "data", ParseEventData(r, fv, &data));
    else if (key == "causality") FIELD(5, "causality", ParseCausality(r, fv, &data.causality));
    else SKIP_UNKNOWN
  }
  if (!CheckRequired(r, seen, at,
                     {{"event_id", true}, {"timestamp", true}, {"event_type", true},
                      {"actor_id", true}, {"data", true}, {"causality", true}})) {
    return false;
  }
  out->event_id.assign(reinterpret_cast<const char*>(id.data()), id.size());
  out->type = type.type;
  out->to_actor = std::move(type.to_actor);
  out->to_port = std::move(type.to_port);
  return true;
}

bool ParseTags(Reader& r, od::value v, std::vector<std::pair<std::string, std::string>>* out) {
  out->clear();
  od::object obj;
  const char* at;
  if (!r.Object(v, &obj, &at, "a map of strings")) return false;
  for (auto f : obj) {
    std::string_view key;
    od::value fv;
    if (!r.Field(f, &key, &fv)) return false;
    std::string value;
    if (!r.String(fv, &value)) return r.Prepend(key);
    // A HashMap keeps the last of duplicate keys.
    bool replaced = false;
    for (auto& kv : *out) {
      if (kv.first == key) {
        kv.second = std::move(value);
        replaced = true;
        break;
      }
    }
    if (!replaced) out->emplace_back(std::string(key), std::move(value));
  }
  return true;
}

bool ParseMetadata(Reader& r, od::value v, TraceMetadata* out) {
  FOR_EACH_FIELD(v, "struct TraceMetadata") {
    if (key == "user_id") FIELD(0, "user_id", r.OptString(fv, &out->user_id));
    else if (key == "session_id") FIELD(1, "session_id", r.OptString(fv, &out->session_id));
    else if (key == "environment") FIELD(2, "environment", r.String(fv, &out->environment));
    else if (key == "hostname") FIELD(3, "hostname", r.String(fv, &out->hostname));
    else if (key == "process_id") FIELD(4, "process_id", r.U32(fv, &out->process_id));
    else if (key == "thread_id") FIELD(5, "thread_id", r.String(fv, &out->thread_id));
    else if (key == "tags") FIELD(6, "tags", ParseTags(r, fv, &out->tags));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at,
                       {{"user_id", false}, {"session_id", false}, {"environment", true},
                        {"hostname", true}, {"process_id", true}, {"thread_id", true},
                        {"tags", true}});
}

bool ParseEvents(Reader& r, od::value v, std::vector<Event>* out) {
  out->clear();
  return r.Array(v, "an array of TraceEvent",
                 [&](od::value e, size_t) { return ParseEventImpl(r, e, &out->emplace_back()); });
}

bool ParseTraceImpl(Reader& r, od::value v, Trace* out) {
  out->source = Source::kReflow;
  FOR_EACH_FIELD(v, "struct FlowTrace") {
    if (key == "trace_id") FIELD(0, "trace_id", r.Uuid(fv, &out->trace_id));
    else if (key == "flow_id") FIELD(1, "flow_id", r.String(fv, &out->flow_id));
    else if (key == "execution_id") FIELD(2, "execution_id", r.Uuid(fv, &out->execution_id));
    else if (key == "version") FIELD(3, "version", ParseFlowVersion(r, fv, &out->version));
    else if (key == "start_time") FIELD(4, "start_time", r.Timestamp(fv, &out->start_ns));
    else if (key == "end_time") FIELD(5, "end_time", r.OptTimestamp(fv, &out->end_ns));
    else if (key == "status") FIELD(6, "status", ParseStatus(r, fv, &out->status));
    else if (key == "events") FIELD(7, "events", ParseEvents(r, fv, &out->events));
    else if (key == "metadata") FIELD(8, "metadata", ParseMetadata(r, fv, &out->metadata));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at,
                       {{"trace_id", true}, {"flow_id", true}, {"execution_id", true},
                        {"version", true}, {"start_time", true}, {"end_time", false},
                        {"status", true}, {"events", true}, {"metadata", true}});
}

bool ParseTimeRange(Reader& r, od::value v, std::optional<std::pair<TimestampNs, TimestampNs>>* out) {
  bool null;
  if (!r.IsNull(v, &null)) return false;
  if (null) {
    out->reset();
    return true;
  }
  const char* at = Reader::At(v);
  TimestampNs ts[2];
  size_t n = 0;
  bool ok = r.Array(v, "a tuple of 2 RFC 3339 strings", [&](od::value e, size_t i) {
    if (i >= 2) return r.Fail(Reader::At(e), "invalid length", "expected a tuple of size 2");
    ++n;
    return r.Timestamp(e, &ts[i]);
  });
  if (!ok) return false;
  if (n != 2) return r.Fail(at, "invalid length", "expected a tuple of size 2, got " + std::to_string(n));
  out->emplace(ts[0], ts[1]);
  return true;
}

bool ParseQuery(Reader& r, od::value v, TraceQuery* out) {
  FOR_EACH_FIELD(v, "struct TraceQuery") {
    if (key == "flow_id") FIELD(0, "flow_id", r.OptString(fv, &out->flow_id));
    else if (key == "execution_id") FIELD(1, "execution_id", r.OptUuid(fv, &out->execution_id));
    else if (key == "time_range") FIELD(2, "time_range", ParseTimeRange(r, fv, &out->time_range));
    else if (key == "status") FIELD(3, "status", OptStruct(r, fv, &out->status, ParseStatus));
    else if (key == "actor_filter") FIELD(4, "actor_filter", r.OptString(fv, &out->actor_filter));
    else if (key == "limit") FIELD(5, "limit", r.OptU64(fv, &out->limit));
    else if (key == "offset") FIELD(6, "offset", r.OptU64(fv, &out->offset));
    else SKIP_UNKNOWN
  }
  (void)at;
  return true;
}

template <typename T, typename F>
bool OptArray(Reader& r, od::value v, std::optional<std::vector<T>>* out, std::string_view what, F&& parse) {
  bool null;
  if (!r.IsNull(v, &null)) return false;
  if (null) {
    out->reset();
    return true;
  }
  std::vector<T>& vec = out->emplace();
  return r.Array(v, what, [&](od::value e, size_t) { return parse(r, e, &vec.emplace_back()); });
}

bool ParseStringInto(Reader& r, od::value v, std::string* out) { return r.String(v, out); }

bool ParseFilters(Reader& r, od::value v, SubscriptionFilters* out) {
  FOR_EACH_FIELD(v, "struct SubscriptionFilters") {
    if (key == "flow_ids")
      FIELD(0, "flow_ids", OptArray(r, fv, &out->flow_ids, "an array of strings", ParseStringInto));
    else if (key == "actor_ids")
      FIELD(1, "actor_ids", OptArray(r, fv, &out->actor_ids, "an array of strings", ParseStringInto));
    else if (key == "event_types")
      FIELD(2, "event_types",
            OptArray(r, fv, &out->event_types, "an array of TraceEventType", ParseEventType));
    else if (key == "status_filter")
      FIELD(3, "status_filter",
            OptArray(r, fv, &out->status_filter, "an array of ExecutionStatus", ParseStatus));
    else SKIP_UNKNOWN
  }
  (void)at;
  return true;
}

// ---- message variants ----

// Parses a struct variant's content object with `body`, prefixing errors
// with the variant name.
template <typename F>
bool StructVariant(Reader& r, Variant* var, F&& body) {
  if (!r.RequireStructForm(var)) return r.Prepend(var->name);
  if (!body(var->inner)) return r.Prepend(var->name);
  return true;
}

bool ParseStartTrace(Reader& r, od::value v, StartTrace* out) {
  FOR_EACH_FIELD(v, "struct variant StartTrace") {
    if (key == "trace_id") FIELD(0, "trace_id", r.Uuid(fv, &out->trace_id.emplace()));
    else if (key == "flow_id") FIELD(1, "flow_id", r.String(fv, &out->flow_id));
    else if (key == "version") FIELD(2, "version", ParseFlowVersion(r, fv, &out->version));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at, {{"trace_id", false}, {"flow_id", true}, {"version", true}});
}

bool ParseRecordEvent(Reader& r, od::value v, RecordEvent* out) {
  FOR_EACH_FIELD(v, "struct variant RecordEvent") {
    if (key == "trace_id") FIELD(0, "trace_id", r.Uuid(fv, &out->trace_id));
    else if (key == "event") FIELD(1, "event", ParseEventImpl(r, fv, &out->event));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at, {{"trace_id", true}, {"event", true}});
}

bool ParseGetTrace(Reader& r, od::value v, GetTrace* out, bool allow_request_id) {
  FOR_EACH_FIELD(v, "struct variant GetTrace") {
    if (key == "request_id" && allow_request_id)
      FIELD(0, "request_id", r.Uuid(fv, &out->request_id.emplace()));
    else if (key == "trace_id") FIELD(1, "trace_id", r.Uuid(fv, &out->trace_id));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at, {{"request_id", false}, {"trace_id", true}});
}

bool ParseQueryTraces(Reader& r, od::value v, QueryTraces* out, bool allow_request_id) {
  FOR_EACH_FIELD(v, "struct variant QueryTraces") {
    if (key == "request_id" && allow_request_id)
      FIELD(0, "request_id", r.Uuid(fv, &out->request_id.emplace()));
    else if (key == "query") FIELD(1, "query", ParseQuery(r, fv, &out->query));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at, {{"request_id", false}, {"query", true}});
}

bool ParseFlowIdVariant(Reader& r, od::value v, GetFlowVersions* out) {
  FOR_EACH_FIELD(v, "struct variant GetFlowVersions") {
    if (key == "flow_id") FIELD(0, "flow_id", r.String(fv, &out->flow_id));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at, {{"flow_id", true}});
}

bool ParseFiltersVariant(Reader& r, od::value v, SubscriptionFilters* out, std::string_view name) {
  FOR_EACH_FIELD(v, "struct variant Subscribe") {
    if (key == name) FIELD(0, name, ParseFilters(r, fv, out));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at, {{name, true}});
}

bool ParseEndTrace(Reader& r, od::value v, EndTrace* out) {
  FOR_EACH_FIELD(v, "struct variant EndTrace") {
    if (key == "trace_id") FIELD(0, "trace_id", r.Uuid(fv, &out->trace_id));
    else if (key == "status") FIELD(1, "status", ParseStatus(r, fv, &out->status));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at, {{"trace_id", true}, {"status", true}});
}

// A struct variant holding one Id128 field `name` (TraceStarted, TraceStored).
bool ParseIdVariant(Reader& r, od::value v, Id128* out, std::string_view name) {
  FOR_EACH_FIELD(v, "a struct variant") {
    if (key == name) FIELD(0, name, r.Uuid(fv, out));
    else SKIP_UNKNOWN
  }
  return CheckRequired(r, seen, at, {{name, true}});
}

bool ParseTraceArrayField(Reader& r, od::value v, std::vector<Trace>* out) {
  out->clear();
  return r.Array(v, "an array of FlowTrace",
                 [&](od::value e, size_t) { return ParseTraceImpl(r, e, &out->emplace_back()); });
}

constexpr std::string_view kRequestList =
    "StartTrace, RecordEvent, GetTrace, QueryTraces, GetFlowVersions, Ping, Subscribe, "
    "Unsubscribe, EndTrace";

bool ParseTracingRequestVariant(Reader& r, Variant* var, TracingRequest* out) {
  const std::string_view n = var->name;
  if (n == "RecordEvent") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseRecordEvent(r, v, &out->emplace<RecordEvent>());
    });
  }
  if (n == "StartTrace") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseStartTrace(r, v, &out->emplace<StartTrace>());
    });
  }
  if (n == "GetTrace") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseGetTrace(r, v, &out->emplace<GetTrace>(), true);
    });
  }
  if (n == "QueryTraces") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseQueryTraces(r, v, &out->emplace<QueryTraces>(), true);
    });
  }
  if (n == "GetFlowVersions") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseFlowIdVariant(r, v, &out->emplace<GetFlowVersions>());
    });
  }
  if (n == "Subscribe") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseFiltersVariant(r, v, &out->emplace<Subscribe>().filters, "filters");
    });
  }
  if (n == "EndTrace") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseEndTrace(r, v, &out->emplace<EndTrace>());
    });
  }
  if (n == "Ping") {
    out->emplace<Ping>();
    return r.UnitContent(var) || r.Prepend(n);
  }
  if (n == "Unsubscribe") {
    out->emplace<Unsubscribe>();
    return r.UnitContent(var) || r.Prepend(n);
  }
  return r.UnknownVariant(*var, kRequestList);
}

bool ParseTraceMessageVariant(Reader& r, Variant* var, TraceMessage* out) {
  const std::string_view n = var->name;
  if (n == "StoreTrace") {
    return StructVariant(r, var, [&](od::value v) {
      StoreTrace& st = out->emplace<StoreTrace>();
      FOR_EACH_FIELD(v, "struct variant StoreTrace") {
        if (key == "trace") FIELD(0, "trace", ParseTraceImpl(r, fv, &st.trace));
        else SKIP_UNKNOWN
      }
      return CheckRequired(r, seen, at, {{"trace", true}});
    });
  }
  if (n == "QueryTraces") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseQueryTraces(r, v, &out->emplace<QueryTraces>(), false);
    });
  }
  if (n == "GetTrace") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseGetTrace(r, v, &out->emplace<GetTrace>(), false);
    });
  }
  if (n == "Subscribe") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseFiltersVariant(r, v, &out->emplace<LegacySubscribe>().filter, "filter");
    });
  }
  if (n == "GetMetrics") {
    out->emplace<GetMetrics>();
    return r.UnitContent(var) || r.Prepend(n);
  }
  return r.UnknownVariant(*var, "StoreTrace, QueryTraces, GetTrace, Subscribe, GetMetrics");
}

constexpr std::string_view kResponseList =
    "TraceStarted, EventRecorded, TraceData, QueryResults, FlowVersions, Pong, "
    "EventNotification, Error";

bool ParseTracingResponseVariant(Reader& r, Variant* var, TracingResponse* out) {
  const std::string_view n = var->name;
  if (n == "TraceStarted") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseIdVariant(r, v, &out->emplace<TraceStarted>().trace_id, "trace_id");
    });
  }
  if (n == "EventRecorded") {
    return StructVariant(r, var, [&](od::value v) {
      EventRecorded& x = out->emplace<EventRecorded>();
      FOR_EACH_FIELD(v, "struct variant EventRecorded") {
        if (key == "success") FIELD(0, "success", r.Bool(fv, &x.success));
        else if (key == "error") FIELD(1, "error", r.OptString(fv, &x.error));
        else SKIP_UNKNOWN
      }
      return CheckRequired(r, seen, at, {{"success", true}, {"error", false}});
    });
  }
  if (n == "TraceData") {
    return StructVariant(r, var, [&](od::value v) {
      TraceData& x = out->emplace<TraceData>();
      FOR_EACH_FIELD(v, "struct variant TraceData") {
        if (key == "request_id") FIELD(0, "request_id", r.Uuid(fv, &x.request_id.emplace()));
        else if (key == "trace") FIELD(1, "trace", OptStruct(r, fv, &x.trace, ParseTraceImpl));
        else SKIP_UNKNOWN
      }
      return CheckRequired(r, seen, at, {{"request_id", false}, {"trace", false}});
    });
  }
  if (n == "QueryResults") {
    return StructVariant(r, var, [&](od::value v) {
      QueryResults& x = out->emplace<QueryResults>();
      FOR_EACH_FIELD(v, "struct variant QueryResults") {
        if (key == "request_id") FIELD(0, "request_id", r.Uuid(fv, &x.request_id.emplace()));
        else if (key == "traces") FIELD(1, "traces", ParseTraceArrayField(r, fv, &x.traces));
        else if (key == "total_count") FIELD(2, "total_count", r.U64(fv, &x.total_count, "usize"));
        else SKIP_UNKNOWN
      }
      return CheckRequired(r, seen, at,
                           {{"request_id", false}, {"traces", true}, {"total_count", true}});
    });
  }
  if (n == "FlowVersions") {
    return StructVariant(r, var, [&](od::value v) {
      FlowVersions& x = out->emplace<FlowVersions>();
      FOR_EACH_FIELD(v, "struct variant FlowVersions") {
        if (key == "versions")
          FIELD(0, "versions", r.Array(fv, "an array of FlowVersion", [&](od::value e, size_t) {
            return ParseFlowVersion(r, e, &x.versions.emplace_back());
          }));
        else SKIP_UNKNOWN
      }
      return CheckRequired(r, seen, at, {{"versions", true}});
    });
  }
  if (n == "EventNotification") {
    return StructVariant(r, var, [&](od::value v) {
      EventNotification& x = out->emplace<EventNotification>();
      FOR_EACH_FIELD(v, "struct variant EventNotification") {
        if (key == "trace_id") FIELD(0, "trace_id", r.Uuid(fv, &x.trace_id));
        else if (key == "event") FIELD(1, "event", ParseEventImpl(r, fv, &x.event));
        else SKIP_UNKNOWN
      }
      return CheckRequired(r, seen, at, {{"trace_id", true}, {"event", true}});
    });
  }
  if (n == "Error") {
    return StructVariant(r, var, [&](od::value v) {
      Error& x = out->emplace<Error>();
      ErrorCode code{};
      FOR_EACH_FIELD(v, "struct variant Error") {
        if (key == "message") FIELD(0, "message", r.String(fv, &x.message));
        else if (key == "code") FIELD(1, "code", ParseErrorCode(r, fv, &code));
        else SKIP_UNKNOWN
      }
      if (!CheckRequired(r, seen, at, {{"message", true}, {"code", true}})) return false;
      x.code = code;
      return true;
    });
  }
  if (n == "Pong") {
    out->emplace<Pong>();
    return r.UnitContent(var) || r.Prepend(n);
  }
  return r.UnknownVariant(*var, kResponseList);
}

bool ParseTraceResponseVariant(Reader& r, Variant* var, TraceResponse* out) {
  const std::string_view n = var->name;
  if (n == "TraceStored") {
    return StructVariant(r, var, [&](od::value v) {
      return ParseIdVariant(r, v, &out->emplace<TraceStored>().trace_id, "trace_id");
    });
  }
  if (n == "TracesFound") {
    return StructVariant(r, var, [&](od::value v) {
      TracesFound& x = out->emplace<TracesFound>();
      FOR_EACH_FIELD(v, "struct variant TracesFound") {
        if (key == "traces") FIELD(0, "traces", ParseTraceArrayField(r, fv, &x.traces));
        else SKIP_UNKNOWN
      }
      return CheckRequired(r, seen, at, {{"traces", true}});
    });
  }
  if (n == "TraceData") {
    return StructVariant(r, var, [&](od::value v) {
      LegacyTraceData& x = out->emplace<LegacyTraceData>();
      FOR_EACH_FIELD(v, "struct variant TraceData") {
        if (key == "trace") FIELD(0, "trace", ParseTraceImpl(r, fv, &x.trace));
        else SKIP_UNKNOWN
      }
      return CheckRequired(r, seen, at, {{"trace", true}});
    });
  }
  if (n == "Error") {
    return StructVariant(r, var, [&](od::value v) {
      LegacyError& x = out->emplace<LegacyError>();
      FOR_EACH_FIELD(v, "struct variant Error") {
        if (key == "message") FIELD(0, "message", r.String(fv, &x.message));
        else SKIP_UNKNOWN
      }
      return CheckRequired(r, seen, at, {{"message", true}});
    });
  }
  if (n == "Metrics") {
    return StructVariant(r, var, [&](od::value v) {
      Metrics& x = out->emplace<Metrics>();
      FOR_EACH_FIELD(v, "struct variant Metrics") {
        if (key == "data") FIELD(0, "data", r.RawValue(fv, &x.data_json));
        else SKIP_UNKNOWN
      }
      return CheckRequired(r, seen, at, {{"data", true}});
    });
  }
  return r.UnknownVariant(*var, "TraceStored, TracesFound, TraceData, Error, Metrics");
}

// Runs a root-level enum parse over an already iterated document.
template <typename T, typename F>
bool ParseRootEnum(Reader& r, Document& d, std::string_view enum_name, T* out, F&& variant_parser) {
  Variant var;
  if (!r.BeginRootVariant(d.doc(), &var, enum_name)) return false;
  if (!variant_parser(r, &var, out)) return false;
  return r.EndVariant(&var, enum_name) && r.End();
}

// GCC 12 reports a false -Wmaybe-uninitialized when a freshly parsed
// std::variant is moved into a Result (a known GCC variant diagnostic bug).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

Status DocError(Document& d) {
  Reader r(&d);
  r.FailCode(d.error(), d.base(), "JSON");
  return r.ToStatus();
}

template <typename T, typename F>
Result<T> ParseEnumDoc(std::string_view json, InputPadding padding, std::string_view enum_name,
                       F&& variant_parser) {
  Document d(json, padding);
  if (d.error()) return DocError(d);
  Reader r(&d);
  T out;
  if (!ParseRootEnum(r, d, enum_name, &out, variant_parser)) return r.ToStatus();
  return out;
}

template <typename T, typename F>
Result<T> ParseObjectDoc(std::string_view json, InputPadding padding, F&& parse) {
  Document d(json, padding);
  if (d.error()) return DocError(d);
  Reader r(&d);
  od::value root;
  if (auto ec = d.doc().get_value().get(root)) {
    r.FailCode(ec, d.base(), "a JSON object");
    return r.ToStatus();
  }
  T out;
  if (!parse(r, root, &out) || !r.End()) return r.ToStatus();
  return out;
}

// Tries `first`, then (after rewinding the same document) `second`; on double
// failure reports the error that got further into the input.
template <typename Out, typename A, typename B, typename FA, typename FB>
Result<Out> ParseEither(std::string_view json, InputPadding padding, std::string_view name_a,
                        FA&& parse_a, std::string_view name_b, FB&& parse_b) {
  Document d(json, padding);
  if (d.error()) return DocError(d);
  Reader ra(&d);
  {
    A a;
    if (ParseRootEnum(ra, d, name_a, &a, parse_a)) return Out(std::move(a));
  }
  // A fresh iteration rather than doc().rewind(): after some errors (e.g.
  // depth) simdjson abandons the iterator and rewinding it is invalid. The
  // second pass only runs for legacy messages and errors.
  Document d2(json, padding);
  if (d2.error()) return DocError(d2);
  Reader rb(&d2);
  B b;
  if (ParseRootEnum(rb, d2, name_b, &b, parse_b)) return Out(std::move(b));
  return rb.error_offset() > ra.error_offset() ? rb.ToStatus() : ra.ToStatus();
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// ---- printing ----

void WriteId(JsonWriter& w, const Id128& id) {
  char buf[38];
  buf[0] = '"';
  FormatUuid(id, buf + 1);
  buf[37] = '"';
  w.Raw(std::string_view(buf, sizeof(buf)));
}

void WriteTime(JsonWriter& w, TimestampNs ts) {
  char buf[kMaxRfc3339Length + 2];
  buf[0] = '"';
  size_t n = 1 + FormatRfc3339(ts, buf + 1);
  buf[n++] = '"';
  w.Raw(std::string_view(buf, n));
}

void WriteOptString(JsonWriter& w, const std::optional<std::string>& s) {
  if (s) {
    w.String(*s);
  } else {
    w.Null();
  }
}

void WriteBytes(JsonWriter& w, const std::vector<uint8_t>& bytes) {
  w.BeginArray();
  for (uint8_t b : bytes) w.Uint(b);
  w.EndArray();
}

void WriteVersion(JsonWriter& w, const FlowVersion& v) {
  w.BeginObject();
  w.PlainKey("major");
  w.Uint(v.major);
  w.PlainKey("minor");
  w.Uint(v.minor);
  w.PlainKey("patch");
  w.Uint(v.patch);
  w.PlainKey("git_hash");
  WriteOptString(w, v.git_hash);
  w.PlainKey("timestamp");
  WriteTime(w, v.timestamp_ns);
  w.EndObject();
}

void WriteStatus(JsonWriter& w, const ExecutionStatus& s) {
  const auto idx = static_cast<size_t>(s.code);
  if (s.code == StatusCode::kFailed) {
    w.BeginObject();
    w.PlainKey("Failed");
    w.BeginObject();
    w.PlainKey("error");
    w.String(s.error);
    w.EndObject();
    w.EndObject();
  } else {
    w.PlainString(idx < std::size(kStatusNames) ? kStatusNames[idx] : "Running");
  }
}

void WriteEventType(JsonWriter& w, EventType type, const std::string& to_actor,
                    const std::string& to_port) {
  if (type == EventType::kDataFlow) {
    w.BeginObject();
    w.PlainKey("DataFlow");
    w.BeginObject();
    w.PlainKey("to_actor");
    w.String(to_actor);
    w.PlainKey("to_port");
    w.String(to_port);
    w.EndObject();
    w.EndObject();
    return;
  }
  const auto idx = static_cast<size_t>(type);
  w.PlainString(idx >= 1 && idx <= 11 ? kEventTypeNames[idx] : "NetworkEvent");
}

template <typename T>
void WriteOptUint(JsonWriter& w, const std::optional<T>& v) {
  if (v) {
    w.Uint(*v);
  } else {
    w.Null();
  }
}

void WriteMessage(JsonWriter& w, const MessageSnapshot& m) {
  w.BeginObject();
  w.PlainKey("message_type");
  w.String(m.message_type);
  w.PlainKey("size_bytes");
  w.Uint(m.size_bytes);
  w.PlainKey("checksum");
  w.String(m.checksum);
  w.PlainKey("serialized_data");
  WriteBytes(w, m.serialized_data);
  if (m.has_g2_fields) {
    w.PlainKey("content_codec");
    w.String(m.content_codec);
    w.PlainKey("content_format_version");
    w.Uint(m.content_format_version);
    w.PlainKey("stored_bytes");
    WriteOptUint(w, m.stored_bytes);
  }
  w.EndObject();
}

void WriteStateDiff(JsonWriter& w, const StateDiff& d) {
  w.BeginObject();
  w.PlainKey("before");
  if (d.before) {
    WriteBytes(w, *d.before);
  } else {
    w.Null();
  }
  w.PlainKey("after");
  WriteBytes(w, d.after);
  w.PlainKey("diff_type");
  const auto idx = static_cast<size_t>(d.diff_type);
  w.PlainString(idx < std::size(kDiffTypeNames) ? kDiffTypeNames[idx] : "Full");
  w.EndObject();
}

void WriteMetrics(JsonWriter& w, const PerformanceMetrics& m) {
  w.BeginObject();
  w.PlainKey("execution_time_ns");
  WriteOptUint(w, m.execution_time_ns);
  w.PlainKey("memory_usage_bytes");
  WriteOptUint(w, m.memory_usage_bytes);
  w.PlainKey("cpu_usage_percent");
  if (m.cpu_usage_percent) {
    w.F32(*m.cpu_usage_percent);
  } else {
    w.Null();
  }
  w.PlainKey("queue_depth");
  WriteOptUint(w, m.queue_depth);
  w.PlainKey("throughput_msgs_per_sec");
  if (m.throughput_msgs_per_sec) {
    w.F64(*m.throughput_msgs_per_sec);
  } else {
    w.Null();
  }
  w.EndObject();
}

Id128 EventIdBytes(const std::string& event_id) {
  Id128 id{};
  std::memcpy(id.data(), event_id.data(), std::min(event_id.size(), id.size()));
  return id;
}

void WriteEvent(JsonWriter& w, const Event& e) {
  static const ReflowEventData kDefaultData;
  const ReflowEventData& d = e.reflow ? *e.reflow : kDefaultData;
  w.BeginObject();
  w.PlainKey("event_id");
  WriteId(w, EventIdBytes(e.event_id));
  w.PlainKey("timestamp");
  WriteTime(w, e.timestamp_ns);
  w.PlainKey("event_type");
  WriteEventType(w, e.type, e.to_actor, e.to_port);
  w.PlainKey("actor_id");
  w.String(e.actor);
  w.PlainKey("data");
  w.BeginObject();
  w.PlainKey("port");
  WriteOptString(w, d.port);
  w.PlainKey("message");
  if (d.message) {
    WriteMessage(w, *d.message);
  } else {
    w.Null();
  }
  w.PlainKey("state_diff");
  if (d.state_diff) {
    WriteStateDiff(w, *d.state_diff);
  } else {
    w.Null();
  }
  w.PlainKey("error");
  WriteOptString(w, d.error);
  w.PlainKey("performance_metrics");
  WriteMetrics(w, d.metrics);
  w.PlainKey("custom_attributes");
  w.Raw(d.custom_attributes_json.empty() ? std::string_view("{}") : d.custom_attributes_json);
  w.EndObject();
  w.PlainKey("causality");
  w.BeginObject();
  w.PlainKey("parent_event_id");
  if (d.causality.parent_event_id) {
    WriteId(w, *d.causality.parent_event_id);
  } else {
    w.Null();
  }
  w.PlainKey("root_cause_event_id");
  WriteId(w, d.causality.root_cause_event_id);
  w.PlainKey("dependency_chain");
  w.BeginArray();
  for (const Id128& id : d.causality.dependency_chain) WriteId(w, id);
  w.EndArray();
  w.PlainKey("span_id");
  w.String(d.causality.span_id);
  w.EndObject();
  w.EndObject();
}

void WriteMetadata(JsonWriter& w, const TraceMetadata& m) {
  w.BeginObject();
  w.PlainKey("user_id");
  WriteOptString(w, m.user_id);
  w.PlainKey("session_id");
  WriteOptString(w, m.session_id);
  w.PlainKey("environment");
  w.String(m.environment);
  w.PlainKey("hostname");
  w.String(m.hostname);
  w.PlainKey("process_id");
  w.Uint(m.process_id);
  w.PlainKey("thread_id");
  w.String(m.thread_id);
  w.PlainKey("tags");
  w.BeginObject();
  for (const auto& [k, v] : m.tags) {
    w.Key(k);
    w.String(v);
  }
  w.EndObject();
  w.EndObject();
}

void WriteTrace(JsonWriter& w, const Trace& t) {
  w.BeginObject();
  w.PlainKey("trace_id");
  WriteId(w, t.trace_id);
  w.PlainKey("flow_id");
  w.String(t.flow_id);
  w.PlainKey("execution_id");
  WriteId(w, t.execution_id);
  w.PlainKey("version");
  WriteVersion(w, t.version);
  w.PlainKey("start_time");
  WriteTime(w, t.start_ns);
  w.PlainKey("end_time");
  if (t.end_ns) {
    WriteTime(w, *t.end_ns);
  } else {
    w.Null();
  }
  w.PlainKey("status");
  WriteStatus(w, t.status);
  w.PlainKey("events");
  w.BeginArray();
  for (const Event& e : t.events) WriteEvent(w, e);
  w.EndArray();
  w.PlainKey("metadata");
  WriteMetadata(w, t.metadata);
  w.EndObject();
}

void WriteQuery(JsonWriter& w, const TraceQuery& q) {
  w.BeginObject();
  w.PlainKey("flow_id");
  WriteOptString(w, q.flow_id);
  w.PlainKey("execution_id");
  if (q.execution_id) {
    WriteId(w, *q.execution_id);
  } else {
    w.Null();
  }
  w.PlainKey("time_range");
  if (q.time_range) {
    w.BeginArray();
    WriteTime(w, q.time_range->first);
    WriteTime(w, q.time_range->second);
    w.EndArray();
  } else {
    w.Null();
  }
  w.PlainKey("status");
  if (q.status) {
    WriteStatus(w, *q.status);
  } else {
    w.Null();
  }
  w.PlainKey("actor_filter");
  WriteOptString(w, q.actor_filter);
  w.PlainKey("limit");
  WriteOptUint(w, q.limit);
  w.PlainKey("offset");
  WriteOptUint(w, q.offset);
  w.EndObject();
}

template <typename T, typename F>
void WriteOptArray(JsonWriter& w, const std::optional<std::vector<T>>& v, F&& each) {
  if (!v) {
    w.Null();
    return;
  }
  w.BeginArray();
  for (const T& x : *v) each(x);
  w.EndArray();
}

void WriteFilters(JsonWriter& w, const SubscriptionFilters& f) {
  w.BeginObject();
  w.PlainKey("flow_ids");
  WriteOptArray(w, f.flow_ids, [&](const std::string& s) { w.String(s); });
  w.PlainKey("actor_ids");
  WriteOptArray(w, f.actor_ids, [&](const std::string& s) { w.String(s); });
  w.PlainKey("event_types");
  WriteOptArray(w, f.event_types, [&](const TraceEventType& t) {
    WriteEventType(w, t.type, t.to_actor, t.to_port);
  });
  w.PlainKey("status_filter");
  WriteOptArray(w, f.status_filter, [&](const ExecutionStatus& s) { WriteStatus(w, s); });
  w.EndObject();
}

// {"Name":{ ... }}: opens the variant and its content object.
void BeginStructVariant(JsonWriter& w, std::string_view name) {
  w.BeginObject();
  w.PlainKey(name);
  w.BeginObject();
}

void EndStructVariant(JsonWriter& w) {
  w.EndObject();
  w.EndObject();
}

void WriteOptRequestId(JsonWriter& w, const std::optional<Id128>& id) {
  if (id) {
    w.PlainKey("request_id");
    WriteId(w, *id);
  }
}

struct TracingRequestWriter {
  JsonWriter& w;
  void operator()(const StartTrace& x) {
    BeginStructVariant(w, "StartTrace");
    if (x.trace_id) {
      w.PlainKey("trace_id");
      WriteId(w, *x.trace_id);
    }
    w.PlainKey("flow_id");
    w.String(x.flow_id);
    w.PlainKey("version");
    WriteVersion(w, x.version);
    EndStructVariant(w);
  }
  void operator()(const RecordEvent& x) {
    BeginStructVariant(w, "RecordEvent");
    w.PlainKey("trace_id");
    WriteId(w, x.trace_id);
    w.PlainKey("event");
    WriteEvent(w, x.event);
    EndStructVariant(w);
  }
  void operator()(const GetTrace& x) {
    BeginStructVariant(w, "GetTrace");
    WriteOptRequestId(w, x.request_id);
    w.PlainKey("trace_id");
    WriteId(w, x.trace_id);
    EndStructVariant(w);
  }
  void operator()(const QueryTraces& x) {
    BeginStructVariant(w, "QueryTraces");
    WriteOptRequestId(w, x.request_id);
    w.PlainKey("query");
    WriteQuery(w, x.query);
    EndStructVariant(w);
  }
  void operator()(const GetFlowVersions& x) {
    BeginStructVariant(w, "GetFlowVersions");
    w.PlainKey("flow_id");
    w.String(x.flow_id);
    EndStructVariant(w);
  }
  void operator()(const Ping&) { w.PlainString("Ping"); }
  void operator()(const Subscribe& x) {
    BeginStructVariant(w, "Subscribe");
    w.PlainKey("filters");
    WriteFilters(w, x.filters);
    EndStructVariant(w);
  }
  void operator()(const Unsubscribe&) { w.PlainString("Unsubscribe"); }
  void operator()(const EndTrace& x) {
    BeginStructVariant(w, "EndTrace");
    w.PlainKey("trace_id");
    WriteId(w, x.trace_id);
    w.PlainKey("status");
    WriteStatus(w, x.status);
    EndStructVariant(w);
  }
};

struct TraceMessageWriter {
  JsonWriter& w;
  void operator()(const StoreTrace& x) {
    BeginStructVariant(w, "StoreTrace");
    w.PlainKey("trace");
    WriteTrace(w, x.trace);
    EndStructVariant(w);
  }
  void operator()(const QueryTraces& x) { TracingRequestWriter{w}(x); }
  void operator()(const GetTrace& x) { TracingRequestWriter{w}(x); }
  void operator()(const LegacySubscribe& x) {
    BeginStructVariant(w, "Subscribe");
    w.PlainKey("filter");
    WriteFilters(w, x.filter);
    EndStructVariant(w);
  }
  void operator()(const GetMetrics&) { w.PlainString("GetMetrics"); }
};

struct TracingResponseWriter {
  JsonWriter& w;
  void operator()(const TraceStarted& x) {
    BeginStructVariant(w, "TraceStarted");
    w.PlainKey("trace_id");
    WriteId(w, x.trace_id);
    EndStructVariant(w);
  }
  void operator()(const EventRecorded& x) {
    BeginStructVariant(w, "EventRecorded");
    w.PlainKey("success");
    w.Bool(x.success);
    w.PlainKey("error");
    WriteOptString(w, x.error);
    EndStructVariant(w);
  }
  void operator()(const TraceData& x) {
    BeginStructVariant(w, "TraceData");
    WriteOptRequestId(w, x.request_id);
    w.PlainKey("trace");
    if (x.trace) {
      WriteTrace(w, *x.trace);
    } else {
      w.Null();
    }
    EndStructVariant(w);
  }
  void operator()(const QueryResults& x) {
    BeginStructVariant(w, "QueryResults");
    WriteOptRequestId(w, x.request_id);
    w.PlainKey("traces");
    w.BeginArray();
    for (const Trace& t : x.traces) WriteTrace(w, t);
    w.EndArray();
    w.PlainKey("total_count");
    w.Uint(x.total_count);
    EndStructVariant(w);
  }
  void operator()(const FlowVersions& x) {
    BeginStructVariant(w, "FlowVersions");
    w.PlainKey("versions");
    w.BeginArray();
    for (const FlowVersion& v : x.versions) WriteVersion(w, v);
    w.EndArray();
    EndStructVariant(w);
  }
  void operator()(const Pong&) { w.PlainString("Pong"); }
  void operator()(const EventNotification& x) {
    BeginStructVariant(w, "EventNotification");
    w.PlainKey("trace_id");
    WriteId(w, x.trace_id);
    w.PlainKey("event");
    WriteEvent(w, x.event);
    EndStructVariant(w);
  }
  void operator()(const Error& x) {
    BeginStructVariant(w, "Error");
    w.PlainKey("message");
    w.String(x.message);
    if (x.code) {
      w.PlainKey("code");
      w.PlainString(ErrorCodeName(*x.code));
    }
    EndStructVariant(w);
  }
};

struct TraceResponseWriter {
  JsonWriter& w;
  void operator()(const TraceStored& x) {
    BeginStructVariant(w, "TraceStored");
    w.PlainKey("trace_id");
    WriteId(w, x.trace_id);
    EndStructVariant(w);
  }
  void operator()(const TracesFound& x) {
    BeginStructVariant(w, "TracesFound");
    w.PlainKey("traces");
    w.BeginArray();
    for (const Trace& t : x.traces) WriteTrace(w, t);
    w.EndArray();
    EndStructVariant(w);
  }
  void operator()(const LegacyTraceData& x) {
    BeginStructVariant(w, "TraceData");
    w.PlainKey("trace");
    WriteTrace(w, x.trace);
    EndStructVariant(w);
  }
  void operator()(const LegacyError& x) {
    BeginStructVariant(w, "Error");
    w.PlainKey("message");
    w.String(x.message);
    EndStructVariant(w);
  }
  void operator()(const Metrics& x) {
    BeginStructVariant(w, "Metrics");
    w.PlainKey("data");
    w.Raw(x.data_json.empty() ? std::string_view("null") : x.data_json);
    EndStructVariant(w);
  }
};

}  // namespace

std::string_view ErrorCodeName(ErrorCode code) {
  const auto idx = static_cast<size_t>(code);
  return idx < std::size(kErrorCodeNames) ? kErrorCodeNames[idx] : "InternalError";
}

Result<Request> ParseRequest(std::string_view json, InputPadding padding) {
  // Built in place: an event is moved as few times as possible on its way
  // into a write batch.
  if (json.starts_with("{\"RecordEvent\":")) {
    Request canonical(std::in_place_type<TracingRequest>, std::in_place_type<RecordEvent>);
    if (ParseCanonicalRecordEvent(json, &std::get<RecordEvent>(std::get<TracingRequest>(canonical)))) return canonical;
  }
  return ParseEither<Request, TracingRequest, TraceMessage>(
      json, padding, "TracingRequest", ParseTracingRequestVariant, "TraceMessage",
      ParseTraceMessageVariant);
}

Result<TracingRequest> ParseTracingRequest(std::string_view json, InputPadding padding) {
  return ParseEnumDoc<TracingRequest>(json, padding, "TracingRequest", ParseTracingRequestVariant);
}

Result<TraceMessage> ParseTraceMessage(std::string_view json, InputPadding padding) {
  return ParseEnumDoc<TraceMessage>(json, padding, "TraceMessage", ParseTraceMessageVariant);
}

Result<Response> ParseResponse(std::string_view json, InputPadding padding) {
  return ParseEither<Response, TracingResponse, TraceResponse>(
      json, padding, "TracingResponse", ParseTracingResponseVariant, "TraceResponse",
      ParseTraceResponseVariant);
}

Result<TracingResponse> ParseTracingResponse(std::string_view json, InputPadding padding) {
  return ParseEnumDoc<TracingResponse>(json, padding, "TracingResponse",
                                       ParseTracingResponseVariant);
}

Result<TraceResponse> ParseTraceResponse(std::string_view json, InputPadding padding) {
  return ParseEnumDoc<TraceResponse>(json, padding, "TraceResponse", ParseTraceResponseVariant);
}

Result<Trace> ParseTrace(std::string_view json, InputPadding padding) {
  return ParseObjectDoc<Trace>(json, padding, ParseTraceImpl);
}

Result<Event> ParseEvent(std::string_view json, InputPadding padding) {
  return ParseObjectDoc<Event>(json, padding, ParseEventImpl);
}

void AppendTracingRequest(const TracingRequest& request, std::string* out) {
  JsonWriter w(out);
  std::visit(TracingRequestWriter{w}, request);
}

void AppendTraceMessage(const TraceMessage& message, std::string* out) {
  JsonWriter w(out);
  std::visit(TraceMessageWriter{w}, message);
}

void AppendRequest(const Request& request, std::string* out) {
  if (const auto* r = std::get_if<TracingRequest>(&request)) {
    AppendTracingRequest(*r, out);
  } else {
    AppendTraceMessage(std::get<TraceMessage>(request), out);
  }
}

std::string PrintRequest(const Request& request) {
  std::string s;
  AppendRequest(request, &s);
  return s;
}

void AppendTracingResponse(const TracingResponse& response, std::string* out) {
  JsonWriter w(out);
  std::visit(TracingResponseWriter{w}, response);
}

void AppendTraceResponse(const TraceResponse& response, std::string* out) {
  JsonWriter w(out);
  std::visit(TraceResponseWriter{w}, response);
}

void AppendResponse(const Response& response, std::string* out) {
  if (const auto* r = std::get_if<TracingResponse>(&response)) {
    AppendTracingResponse(*r, out);
  } else {
    AppendTraceResponse(std::get<TraceResponse>(response), out);
  }
}

std::string PrintResponse(const Response& response) {
  std::string s;
  AppendResponse(response, &s);
  return s;
}

void AppendTrace(const Trace& trace, std::string* out) {
  JsonWriter w(out);
  WriteTrace(w, trace);
}

void AppendEvent(const Event& event, std::string* out) {
  JsonWriter w(out);
  WriteEvent(w, event);
}

std::string PrintTrace(const Trace& trace) {
  std::string s;
  AppendTrace(trace, &s);
  return s;
}

std::string PrintEvent(const Event& event) {
  std::string s;
  AppendEvent(event, &s);
  return s;
}

void AppendFlowVersion(const FlowVersion& version, std::string* out) {
  JsonWriter w(out);
  WriteVersion(w, version);
}

}  // namespace tracedb::ingest::reflow
