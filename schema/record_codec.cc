#include "schema/record_codec.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "schema/records_generated.h"

namespace tracedb::schema {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

Offset<flatbuffers::String> OptString(FlatBufferBuilder& fbb, const std::optional<std::string>& s) {
  return s ? fbb.CreateString(*s) : Offset<flatbuffers::String>();
}

Offset<flatbuffers::Vector<uint8_t>> Bytes(FlatBufferBuilder& fbb, const std::vector<uint8_t>& v) {
  return fbb.CreateVector(v);
}

fb::Id128 ToFb(const Id128& id) { return fb::Id128(flatbuffers::span<const uint8_t, 16>(id.data(), 16)); }

Id128 FromFb(const fb::Id128* id) {
  Id128 out{};
  if (id != nullptr) {
    for (size_t i = 0; i < 16; ++i) out[i] = id->b()->Get(static_cast<flatbuffers::uoffset_t>(i));
  }
  return out;
}

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

std::optional<std::string> OptStr(const flatbuffers::String* s) {
  if (s == nullptr) return std::nullopt;
  return s->str();
}

std::vector<uint8_t> VecBytes(const flatbuffers::Vector<uint8_t>* v) {
  if (v == nullptr) return {};
  return std::vector<uint8_t>(v->begin(), v->end());
}

template <typename T>
std::optional<T> FromOpt(flatbuffers::Optional<T> o) {
  if (!o.has_value()) return std::nullopt;
  return *o;
}

template <typename T>
flatbuffers::Optional<T> ToOpt(const std::optional<T>& o) {
  if (!o) return flatbuffers::nullopt;
  return *o;
}

std::string Finish(FlatBufferBuilder& fbb) {
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

// FlatBuffers reads scalars in place and needs their natural alignment, but
// RocksDB hands out values at any address: misaligned bytes are copied into
// an 8-byte-aligned buffer first (the view stays valid while this lives).
class AlignedBytes {
 public:
  explicit AlignedBytes(std::string_view in) {
    if (reinterpret_cast<uintptr_t>(in.data()) % alignof(uint64_t) == 0) {
      view_ = in;
      return;
    }
    storage_.resize((in.size() + sizeof(uint64_t) - 1) / sizeof(uint64_t));
    std::memcpy(storage_.data(), in.data(), in.size());
    view_ = std::string_view(reinterpret_cast<const char*>(storage_.data()), in.size());
  }
  std::string_view view() const { return view_; }

 private:
  std::vector<uint64_t> storage_;
  std::string_view view_;
};

// Nesting of tables and vectors the verifier accepts. An OTel attribute value
// nests two levels per array / key-value list level below ~6 levels of
// record structure; the OTLP mapping refuses values nested deeper than
// kMaxAttributeDepth, so everything it stores verifies.
constexpr flatbuffers::uoffset_t kMaxVerifyDepth = 2 * kMaxAttributeDepth + 16;

template <typename T>
const T* Verified(std::string_view bytes) {
  flatbuffers::Verifier::Options opts;
  opts.max_depth = kMaxVerifyDepth;
  // The table count is bounded by the buffer itself: a span with a million
  // attributes is valid data, not corruption.
  opts.max_tables = static_cast<flatbuffers::uoffset_t>(std::max<size_t>(opts.max_tables, bytes.size()));
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), opts);
  if (!verifier.VerifyBuffer<T>(nullptr)) return nullptr;
  return flatbuffers::GetRoot<T>(bytes.data());
}

Offset<fb::FlowVersion> BuildVersion(FlatBufferBuilder& fbb, const FlowVersion& v) {
  auto git = OptString(fbb, v.git_hash);
  fb::FlowVersionBuilder b(fbb);
  b.add_major(v.major);
  b.add_minor(v.minor);
  b.add_patch(v.patch);
  b.add_git_hash(git);
  b.add_timestamp_ns(v.timestamp_ns);
  return b.Finish();
}

Offset<fb::TraceMetadata> BuildMetadata(FlatBufferBuilder& fbb, const TraceMetadata& m) {
  auto user = OptString(fbb, m.user_id);
  auto session = OptString(fbb, m.session_id);
  auto env = fbb.CreateString(m.environment);
  auto host = fbb.CreateString(m.hostname);
  auto thread = fbb.CreateString(m.thread_id);
  std::vector<Offset<fb::Tag>> tags;
  tags.reserve(m.tags.size());
  for (const auto& [k, v] : m.tags) {
    auto ko = fbb.CreateString(k);
    auto vo = fbb.CreateString(v);
    tags.push_back(fb::CreateTag(fbb, ko, vo));
  }
  auto tags_vec = fbb.CreateVector(tags);
  fb::TraceMetadataBuilder b(fbb);
  b.add_user_id(user);
  b.add_session_id(session);
  b.add_environment(env);
  b.add_hostname(host);
  b.add_process_id(m.process_id);
  b.add_thread_id(thread);
  b.add_tags(tags_vec);
  return b.Finish();
}

FlowVersion ReadVersion(const fb::FlowVersion* v) {
  FlowVersion out;
  if (v == nullptr) return out;
  out.major = v->major();
  out.minor = v->minor();
  out.patch = v->patch();
  out.git_hash = OptStr(v->git_hash());
  out.timestamp_ns = v->timestamp_ns();
  return out;
}

TraceMetadata ReadMetadata(const fb::TraceMetadata* m) {
  TraceMetadata out;
  if (m == nullptr) return out;
  out.user_id = OptStr(m->user_id());
  out.session_id = OptStr(m->session_id());
  out.environment = Str(m->environment());
  out.hostname = Str(m->hostname());
  out.process_id = m->process_id();
  out.thread_id = Str(m->thread_id());
  if (m->tags() != nullptr) {
    for (const fb::Tag* t : *m->tags()) out.tags.emplace_back(Str(t->key()), Str(t->value()));
  }
  return out;
}

Offset<fb::ReflowData> BuildReflow(FlatBufferBuilder& fbb, const ReflowEventData& r) {
  auto port = OptString(fbb, r.port);
  Offset<fb::MessageSnapshot> message;
  if (r.message) {
    const MessageSnapshot& m = *r.message;
    auto type = fbb.CreateString(m.message_type);
    auto checksum = fbb.CreateString(m.checksum);
    auto data = Bytes(fbb, m.serialized_data);
    auto codec = fbb.CreateString(m.content_codec);
    fb::MessageSnapshotBuilder b(fbb);
    b.add_message_type(type);
    b.add_size_bytes(m.size_bytes);
    b.add_checksum(checksum);
    b.add_serialized_data(data);
    b.add_has_g2_fields(m.has_g2_fields);
    b.add_content_codec(codec);
    b.add_content_format_version(m.content_format_version);
    if (m.stored_bytes) b.add_stored_bytes(*m.stored_bytes);
    message = b.Finish();
  }
  Offset<fb::StateDiff> diff;
  if (r.state_diff) {
    Offset<flatbuffers::Vector<uint8_t>> before;
    if (r.state_diff->before) before = Bytes(fbb, *r.state_diff->before);
    auto after = Bytes(fbb, r.state_diff->after);
    fb::StateDiffBuilder b(fbb);
    b.add_before(before);
    b.add_after(after);
    b.add_diff_type(static_cast<fb::StateDiffType>(r.state_diff->diff_type));
    diff = b.Finish();
  }
  auto error = OptString(fbb, r.error);
  Offset<fb::PerformanceMetrics> metrics;
  {
    fb::PerformanceMetricsBuilder b(fbb);
    const PerformanceMetrics& pm = r.metrics;
    if (pm.execution_time_ns) b.add_execution_time_ns(*pm.execution_time_ns);
    if (pm.memory_usage_bytes) b.add_memory_usage_bytes(*pm.memory_usage_bytes);
    if (pm.cpu_usage_percent) b.add_cpu_usage_percent(*pm.cpu_usage_percent);
    if (pm.queue_depth) b.add_queue_depth(*pm.queue_depth);
    if (pm.throughput_msgs_per_sec) b.add_throughput_msgs_per_sec(*pm.throughput_msgs_per_sec);
    metrics = b.Finish();
  }
  auto attrs = fbb.CreateString(r.custom_attributes_json);
  Offset<fb::Causality> causality;
  {
    const Causality& c = r.causality;
    std::vector<fb::Id128> chain;
    chain.reserve(c.dependency_chain.size());
    for (const auto& id : c.dependency_chain) chain.push_back(ToFb(id));
    auto chain_vec = fbb.CreateVectorOfStructs(chain);
    auto span = fbb.CreateString(c.span_id);
    fb::CausalityBuilder b(fbb);
    fb::Id128 parent;
    if (c.parent_event_id) {
      parent = ToFb(*c.parent_event_id);
      b.add_parent_event_id(&parent);
    }
    fb::Id128 root = ToFb(c.root_cause_event_id);
    b.add_root_cause_event_id(&root);
    b.add_dependency_chain(chain_vec);
    b.add_span_id(span);
    causality = b.Finish();
  }
  fb::ReflowDataBuilder b(fbb);
  b.add_port(port);
  b.add_message(message);
  b.add_state_diff(diff);
  b.add_error(error);
  b.add_metrics(metrics);
  b.add_custom_attributes_json(attrs);
  b.add_causality(causality);
  return b.Finish();
}

ReflowEventData ReadReflow(const fb::ReflowData* r) {
  ReflowEventData out;
  out.port = OptStr(r->port());
  if (const fb::MessageSnapshot* m = r->message()) {
    MessageSnapshot s;
    s.message_type = Str(m->message_type());
    s.size_bytes = m->size_bytes();
    s.checksum = Str(m->checksum());
    s.serialized_data = VecBytes(m->serialized_data());
    s.has_g2_fields = m->has_g2_fields();
    s.content_codec = m->content_codec() ? m->content_codec()->str() : "none";
    s.content_format_version = m->content_format_version();
    s.stored_bytes = FromOpt(m->stored_bytes());
    out.message = std::move(s);
  }
  if (const fb::StateDiff* d = r->state_diff()) {
    StateDiff s;
    if (d->before() != nullptr) s.before = VecBytes(d->before());
    s.after = VecBytes(d->after());
    s.diff_type = static_cast<StateDiffType>(d->diff_type());
    out.state_diff = std::move(s);
  }
  out.error = OptStr(r->error());
  if (const fb::PerformanceMetrics* pm = r->metrics()) {
    out.metrics.execution_time_ns = FromOpt(pm->execution_time_ns());
    out.metrics.memory_usage_bytes = FromOpt(pm->memory_usage_bytes());
    out.metrics.cpu_usage_percent = FromOpt(pm->cpu_usage_percent());
    out.metrics.queue_depth = FromOpt(pm->queue_depth());
    out.metrics.throughput_msgs_per_sec = FromOpt(pm->throughput_msgs_per_sec());
  }
  out.custom_attributes_json = r->custom_attributes_json() ? r->custom_attributes_json()->str() : "{}";
  if (const fb::Causality* c = r->causality()) {
    if (c->parent_event_id() != nullptr) out.causality.parent_event_id = FromFb(c->parent_event_id());
    out.causality.root_cause_event_id = FromFb(c->root_cause_event_id());
    if (c->dependency_chain() != nullptr) {
      for (const fb::Id128* id : *c->dependency_chain()) out.causality.dependency_chain.push_back(FromFb(id));
    }
    out.causality.span_id = Str(c->span_id());
  }
  return out;
}

Offset<fb::OperonxData> BuildOperonx(FlatBufferBuilder& fbb, const OperonxEvent& o) {
  auto kind = fbb.CreateString(o.kind);
  auto op = OptString(fbb, o.op_name);
  auto ctx = fbb.CreateVectorOfStrings(o.ctx);
  auto payload = fbb.CreateString(o.payload_json);
  fb::OperonxDataBuilder b(fbb);
  b.add_kind(kind);
  b.add_op_name(op);
  b.add_ctx(ctx);
  b.add_payload_json(payload);
  return b.Finish();
}

OperonxEvent ReadOperonx(const fb::OperonxData* o) {
  OperonxEvent out;
  out.kind = Str(o->kind());
  out.op_name = OptStr(o->op_name());
  if (o->ctx() != nullptr) {
    for (const flatbuffers::String* s : *o->ctx()) out.ctx.push_back(s->str());
  }
  out.payload_json = o->payload_json() ? o->payload_json()->str() : "{}";
  return out;
}

uint64_t SpanIdToU64(const std::array<uint8_t, 8>& id) {
  uint64_t v = 0;
  for (uint8_t b : id) v = (v << 8) | b;
  return v;
}

std::array<uint8_t, 8> U64ToSpanId(uint64_t v) {
  std::array<uint8_t, 8> id{};
  for (int i = 7; i >= 0; --i) {
    id[static_cast<size_t>(i)] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return id;
}

using AttrOffsets = Offset<flatbuffers::Vector<Offset<fb::Attribute>>>;

AttrOffsets BuildAttributes(FlatBufferBuilder& fbb, const Attributes& attrs);

// One attribute or (key == nullptr) one array element. Recursion depth is the
// value's nesting depth, which the OTLP mapping bounds.
Offset<fb::Attribute> BuildAttribute(FlatBufferBuilder& fbb, const std::string* key, const AttributeValue& v) {
  Offset<flatbuffers::String> k = key != nullptr ? fbb.CreateString(*key) : Offset<flatbuffers::String>();
  Offset<flatbuffers::String> str;
  if (!v.str.empty()) str = fbb.CreateString(v.str);
  AttrOffsets array, kvlist;
  if (v.kind == AttributeValue::Kind::kArray) {
    std::vector<Offset<fb::Attribute>> elems;
    elems.reserve(v.array.size());
    for (const AttributeValue& e : v.array) elems.push_back(BuildAttribute(fbb, nullptr, e));
    array = fbb.CreateVector(elems);
  } else if (v.kind == AttributeValue::Kind::kKvList) {
    kvlist = BuildAttributes(fbb, v.kvlist);
  }
  fb::AttributeBuilder ab(fbb);
  ab.add_key(k);
  ab.add_kind(static_cast<uint8_t>(v.kind));
  ab.add_str(str);
  ab.add_i(v.i);
  // FlatBuffers omits a value equal to the default, and -0.0 == 0.0: force
  // it so that the sign survives.
  bool negative_zero = v.d == 0 && std::signbit(v.d);
  if (negative_zero) fbb.ForceDefaults(true);
  ab.add_d(v.d);
  if (negative_zero) fbb.ForceDefaults(false);
  ab.add_array(array);
  ab.add_kvlist(kvlist);
  return ab.Finish();
}

AttrOffsets BuildAttributes(FlatBufferBuilder& fbb, const Attributes& attrs) {
  if (attrs.empty()) return AttrOffsets();
  std::vector<Offset<fb::Attribute>> out;
  out.reserve(attrs.size());
  for (const auto& [key, value] : attrs) out.push_back(BuildAttribute(fbb, &key, value));
  return fbb.CreateVector(out);
}

AttributeValue ReadAttributeValue(const fb::Attribute* a);

Attributes ReadAttributes(const flatbuffers::Vector<Offset<fb::Attribute>>* v) {
  Attributes out;
  if (v == nullptr) return out;
  out.reserve(v->size());
  for (const fb::Attribute* a : *v) out.emplace_back(Str(a->key()), ReadAttributeValue(a));
  return out;
}

AttributeValue ReadAttributeValue(const fb::Attribute* a) {
  AttributeValue v;
  v.kind = static_cast<AttributeValue::Kind>(a->kind());
  v.str = Str(a->str());
  v.i = a->i();
  v.d = a->d();
  if (a->array() != nullptr) {
    v.array.reserve(a->array()->size());
    for (const fb::Attribute* e : *a->array()) v.array.push_back(ReadAttributeValue(e));
  }
  v.kvlist = ReadAttributes(a->kvlist());
  return v;
}

Offset<flatbuffers::Vector<uint8_t>> RawBytes(FlatBufferBuilder& fbb, const std::string& s) {
  return fbb.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string StrBytes(const flatbuffers::Vector<uint8_t>* v) {
  if (v == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(v->data()), v->size());
}

Offset<fb::OtelResource> BuildResource(FlatBufferBuilder& fbb, const OtelResource& r) {
  auto attrs = BuildAttributes(fbb, r.attributes);
  auto url = fbb.CreateString(r.schema_url);
  fb::OtelResourceBuilder b(fbb);
  b.add_attributes(attrs);
  b.add_dropped_attributes_count(r.dropped_attributes_count);
  b.add_schema_url(url);
  return b.Finish();
}

Offset<fb::OtelScope> BuildScope(FlatBufferBuilder& fbb, const OtelScope& s) {
  auto name = fbb.CreateString(s.name);
  auto version = fbb.CreateString(s.version);
  auto attrs = BuildAttributes(fbb, s.attributes);
  auto url = fbb.CreateString(s.schema_url);
  fb::OtelScopeBuilder b(fbb);
  b.add_name(name);
  b.add_version(version);
  b.add_attributes(attrs);
  b.add_dropped_attributes_count(s.dropped_attributes_count);
  b.add_schema_url(url);
  return b.Finish();
}

Offset<flatbuffers::Vector<Offset<fb::OtelSpanEvent>>> BuildSpanEvents(FlatBufferBuilder& fbb,
                                                                      const std::vector<OtelSpanEvent>& events) {
  if (events.empty()) return {};
  std::vector<Offset<fb::OtelSpanEvent>> out;
  out.reserve(events.size());
  for (const OtelSpanEvent& e : events) {
    auto name = fbb.CreateString(e.name);
    auto attrs = BuildAttributes(fbb, e.attributes);
    fb::OtelSpanEventBuilder b(fbb);
    b.add_time_ns(e.time_ns);
    b.add_name(name);
    b.add_attributes(attrs);
    b.add_dropped_attributes_count(e.dropped_attributes_count);
    out.push_back(b.Finish());
  }
  return fbb.CreateVector(out);
}

Offset<flatbuffers::Vector<Offset<fb::OtelLink>>> BuildLinks(FlatBufferBuilder& fbb, const std::vector<OtelLink>& links) {
  if (links.empty()) return {};
  std::vector<Offset<fb::OtelLink>> out;
  out.reserve(links.size());
  for (const OtelLink& l : links) {
    auto trace = RawBytes(fbb, l.trace_id);
    auto span = RawBytes(fbb, l.span_id);
    auto state = fbb.CreateString(l.trace_state);
    auto attrs = BuildAttributes(fbb, l.attributes);
    fb::OtelLinkBuilder b(fbb);
    b.add_trace_id(trace);
    b.add_span_id(span);
    b.add_trace_state(state);
    b.add_attributes(attrs);
    b.add_dropped_attributes_count(l.dropped_attributes_count);
    b.add_flags(l.flags);
    out.push_back(b.Finish());
  }
  return fbb.CreateVector(out);
}

Offset<fb::OtelData> BuildOtel(FlatBufferBuilder& fbb, const OtelSpan& s) {
  auto name = fbb.CreateString(s.name);
  auto msg = fbb.CreateString(s.status_message);
  auto attrs = BuildAttributes(fbb, s.attributes);
  Offset<flatbuffers::String> state;
  if (!s.trace_state.empty()) state = fbb.CreateString(s.trace_state);
  auto events = BuildSpanEvents(fbb, s.events);
  auto links = BuildLinks(fbb, s.links);
  Offset<fb::OtelResource> resource;
  if (s.resource) resource = BuildResource(fbb, *s.resource);
  Offset<fb::OtelScope> scope;
  if (s.scope) scope = BuildScope(fbb, *s.scope);
  fb::OtelDataBuilder b(fbb);
  b.add_span_id(SpanIdToU64(s.span_id));
  if (s.parent_span_id) b.add_parent_span_id(SpanIdToU64(*s.parent_span_id));
  b.add_name(name);
  b.add_kind(s.kind);
  b.add_status_code(s.status_code);
  b.add_status_message(msg);
  b.add_end_ns(s.end_ns);
  b.add_attributes(attrs);
  b.add_trace_state(state);
  b.add_flags(s.flags);
  b.add_dropped_attributes_count(s.dropped_attributes_count);
  b.add_events(events);
  b.add_dropped_events_count(s.dropped_events_count);
  b.add_links(links);
  b.add_dropped_links_count(s.dropped_links_count);
  b.add_resource(resource);
  b.add_scope(scope);
  return b.Finish();
}

OtelSpan ReadOtel(const fb::OtelData* o) {
  OtelSpan out;
  out.span_id = U64ToSpanId(o->span_id());
  if (o->parent_span_id().has_value()) out.parent_span_id = U64ToSpanId(*o->parent_span_id());
  out.name = Str(o->name());
  out.kind = o->kind();
  out.status_code = o->status_code();
  out.status_message = Str(o->status_message());
  out.end_ns = o->end_ns();
  out.attributes = ReadAttributes(o->attributes());
  out.trace_state = Str(o->trace_state());
  out.flags = o->flags();
  out.dropped_attributes_count = o->dropped_attributes_count();
  if (o->events() != nullptr) {
    out.events.reserve(o->events()->size());
    for (const fb::OtelSpanEvent* e : *o->events()) {
      out.events.push_back(
          OtelSpanEvent{e->time_ns(), Str(e->name()), ReadAttributes(e->attributes()), e->dropped_attributes_count()});
    }
  }
  out.dropped_events_count = o->dropped_events_count();
  if (o->links() != nullptr) {
    out.links.reserve(o->links()->size());
    for (const fb::OtelLink* l : *o->links()) {
      out.links.push_back(OtelLink{StrBytes(l->trace_id()), StrBytes(l->span_id()), Str(l->trace_state()),
                                   ReadAttributes(l->attributes()), l->dropped_attributes_count(), l->flags()});
    }
  }
  out.dropped_links_count = o->dropped_links_count();
  if (const fb::OtelResource* r = o->resource()) {
    out.resource = std::make_shared<const OtelResource>(
        OtelResource{ReadAttributes(r->attributes()), r->dropped_attributes_count(), Str(r->schema_url())});
  }
  if (const fb::OtelScope* sc = o->scope()) {
    out.scope = std::make_shared<const OtelScope>(OtelScope{Str(sc->name()), Str(sc->version()),
                                                            ReadAttributes(sc->attributes()),
                                                            sc->dropped_attributes_count(), Str(sc->schema_url())});
  }
  return out;
}

}  // namespace

std::string EncodeTraceRecord(const Trace& t, const TraceBookkeeping& bk) {
  FlatBufferBuilder fbb(512);
  auto flow = fbb.CreateString(t.flow_id);
  auto version = BuildVersion(fbb, t.version);
  auto status_error = fbb.CreateString(t.status.error);
  auto metadata = BuildMetadata(fbb, t.metadata);
  auto external = fbb.CreateString(t.external_id);
  auto attributes = fbb.CreateString(t.attributes_json);
  auto actors = fbb.CreateVectorOfStrings(bk.actors);
  auto first_error = fbb.CreateString(bk.first_error);
  Offset<flatbuffers::String> name;
  if (!t.name.empty()) name = fbb.CreateString(t.name);
  Offset<flatbuffers::Vector<Offset<flatbuffers::String>>> flows;
  if (!bk.flows.empty()) flows = fbb.CreateVectorOfStrings(bk.flows);
  fb::Id128 exec = ToFb(t.execution_id);
  fb::TraceRecordBuilder b(fbb);
  b.add_source(static_cast<fb::Source>(t.source));
  b.add_flow_id(flow);
  b.add_execution_id(&exec);
  b.add_version(version);
  b.add_start_ns(t.start_ns);
  if (t.end_ns) b.add_end_ns(*t.end_ns);
  b.add_status(static_cast<fb::StatusCode>(t.status.code));
  b.add_status_error(status_error);
  b.add_metadata(metadata);
  b.add_external_id(external);
  b.add_attributes_json(attributes);
  b.add_bucket(bk.bucket);
  b.add_event_count(bk.event_count);
  b.add_chunk_count(bk.chunk_count);
  b.add_actors(actors);
  b.add_last_event_ns(bk.last_event_ns);
  b.add_has_flow_version(bk.has_flow_version);
  b.add_ended_by(bk.ended_by);
  b.add_error_events(bk.error_events);
  b.add_cancelled_events(bk.cancelled_events);
  b.add_first_error(first_error);
  b.add_name(name);
  b.add_flows(flows);
  b.add_has_root(bk.has_root);
  fbb.Finish(b.Finish());
  return Finish(fbb);
}

Status DecodeTraceRecord(std::string_view raw, Trace* t, TraceBookkeeping* bk) {
  AlignedBytes aligned(raw);
  const fb::TraceRecord* r = Verified<fb::TraceRecord>(aligned.view());
  if (r == nullptr) return Status::Corruption("trace record does not verify");
  t->source = static_cast<Source>(r->source());
  t->flow_id = Str(r->flow_id());
  t->execution_id = FromFb(r->execution_id());
  t->version = ReadVersion(r->version());
  t->start_ns = r->start_ns();
  t->end_ns = FromOpt(r->end_ns());
  t->status.code = static_cast<StatusCode>(r->status());
  t->status.error = Str(r->status_error());
  t->metadata = ReadMetadata(r->metadata());
  t->external_id = Str(r->external_id());
  t->attributes_json = r->attributes_json() ? r->attributes_json()->str() : "{}";
  t->name = Str(r->name());
  if (bk != nullptr) {
    bk->bucket = r->bucket();
    bk->event_count = r->event_count();
    bk->chunk_count = r->chunk_count();
    bk->actors.clear();
    if (r->actors() != nullptr) {
      for (const flatbuffers::String* s : *r->actors()) bk->actors.push_back(s->str());
    }
    bk->last_event_ns = r->last_event_ns();
    bk->has_flow_version = r->has_flow_version();
    bk->ended_by = r->ended_by();
    bk->error_events = r->error_events();
    bk->cancelled_events = r->cancelled_events();
    bk->first_error = Str(r->first_error());
    bk->flows.clear();
    if (r->flows() != nullptr) {
      for (const flatbuffers::String* s : *r->flows()) bk->flows.push_back(s->str());
    }
    bk->has_root = r->has_root();
  }
  return Status::OK();
}

bool PeekTraceStart(std::string_view raw, TimestampNs* start_ns) {
  AlignedBytes aligned(raw);
  const fb::TraceRecord* r = Verified<fb::TraceRecord>(aligned.view());
  if (r == nullptr) return false;
  *start_ns = r->start_ns();
  return true;
}

namespace {

void BuildEventRecord(FlatBufferBuilder& fbb, const Event& e) {
  auto actor = fbb.CreateString(e.actor);
  Offset<flatbuffers::String> to_actor, to_port;
  if (e.type == EventType::kDataFlow) {
    to_actor = fbb.CreateString(e.to_actor);
    to_port = fbb.CreateString(e.to_port);
  }
  Offset<fb::ReflowData> reflow;
  Offset<fb::OperonxData> operonx;
  Offset<fb::OtelData> otel;
  if (e.reflow) reflow = BuildReflow(fbb, *e.reflow);
  if (e.operonx) operonx = BuildOperonx(fbb, *e.operonx);
  if (e.otel) otel = BuildOtel(fbb, *e.otel);
  fb::EventRecordBuilder b(fbb);
  b.add_type(static_cast<uint8_t>(e.type));
  b.add_actor(actor);
  b.add_to_actor(to_actor);
  b.add_to_port(to_port);
  b.add_reflow(reflow);
  b.add_operonx(operonx);
  b.add_otel(otel);
  fbb.Finish(b.Finish());
}

}  // namespace

std::string EncodeEventRecord(const Event& e) {
  FlatBufferBuilder fbb(1024);
  BuildEventRecord(fbb, e);
  return Finish(fbb);
}

std::string_view EventEncoder::Encode(const Event& e) {
  fbb_.Clear();
  BuildEventRecord(fbb_, e);
  return std::string_view(reinterpret_cast<const char*>(fbb_.GetBufferPointer()), fbb_.GetSize());
}

Status DecodeEventRecord(std::string_view raw, Event* e) {
  AlignedBytes aligned(raw);
  const fb::EventRecord* r = Verified<fb::EventRecord>(aligned.view());
  if (r == nullptr) return Status::Corruption("event record does not verify");
  e->type = static_cast<EventType>(r->type());
  e->actor = Str(r->actor());
  e->to_actor = Str(r->to_actor());
  e->to_port = Str(r->to_port());
  e->reflow.reset();
  e->operonx.reset();
  e->otel.reset();
  if (r->reflow() != nullptr) e->reflow = ReadReflow(r->reflow());
  if (r->operonx() != nullptr) e->operonx = ReadOperonx(r->operonx());
  if (r->otel() != nullptr) e->otel = ReadOtel(r->otel());
  return Status::OK();
}

std::string EncodeColumns(const Columns& c) {
  FlatBufferBuilder fbb(64 + c.size() * 48);
  auto ts = fbb.CreateVector(c.timestamp_ns);
  auto seq = fbb.CreateVector(c.seq);
  auto fp = fbb.CreateVector(c.event_fp);
  auto type = fbb.CreateVector(c.type);
  auto actor = fbb.CreateVector(c.actor);
  auto actors = fbb.CreateVectorOfStrings(c.actors);
  auto dur = fbb.CreateVector(c.duration_ns);
  auto size = fbb.CreateVector(c.size_bytes);
  auto status = fbb.CreateVector(c.status);
  Offset<flatbuffers::Vector<uint8_t>> span_kind;
  if (std::any_of(c.span_kind.begin(), c.span_kind.end(), [](uint8_t k) { return k != 0; })) {
    span_kind = fbb.CreateVector(c.span_kind);
  }
  Offset<flatbuffers::Vector<uint16_t>> service;
  Offset<flatbuffers::Vector<Offset<flatbuffers::String>>> services;
  if (!c.service.empty()) {
    service = fbb.CreateVector(c.service);
    services = fbb.CreateVectorOfStrings(c.services);
  }
  fb::ColumnChunkBuilder b(fbb);
  b.add_timestamp_ns(ts);
  b.add_seq(seq);
  b.add_event_fp(fp);
  b.add_type(type);
  b.add_actor(actor);
  b.add_actors(actors);
  b.add_duration_ns(dur);
  b.add_size_bytes(size);
  b.add_status(status);
  b.add_trace_start_ns(c.trace_start_ns);
  b.add_span_kind(span_kind);
  b.add_service(service);
  b.add_services(services);
  fbb.Finish(b.Finish());
  return Finish(fbb);
}

namespace {

template <typename T, typename F>
bool CopyVector(const flatbuffers::Vector<F>* v, size_t n, std::vector<T>* out) {
  out->clear();
  if (v == nullptr) return n == 0;
  if (v->size() != n) return false;
  out->assign(v->begin(), v->end());
  return true;
}

}  // namespace

Status DecodeColumns(std::string_view raw, Columns* c) {
  bool in_window;
  return DecodeColumnsIfStartIn(raw, INT64_MIN, INT64_MAX, c, &in_window);
}

Status DecodeColumnsIfStartIn(std::string_view raw, TimestampNs min_start, TimestampNs max_start, Columns* c,
                              bool* in_window) {
  AlignedBytes aligned(raw);
  const fb::ColumnChunk* r = Verified<fb::ColumnChunk>(aligned.view());
  if (r == nullptr) return Status::Corruption("column chunk does not verify");
  *in_window = r->trace_start_ns() >= min_start && r->trace_start_ns() <= max_start;
  if (!*in_window) return Status::OK();
  size_t n = r->timestamp_ns() ? r->timestamp_ns()->size() : 0;
  c->trace_start_ns = r->trace_start_ns();
  c->actors.clear();
  if (r->actors() != nullptr) {
    for (const flatbuffers::String* s : *r->actors()) c->actors.push_back(s->str());
  }
  bool ok = CopyVector(r->timestamp_ns(), n, &c->timestamp_ns) && CopyVector(r->seq(), n, &c->seq) &&
            CopyVector(r->event_fp(), n, &c->event_fp) && CopyVector(r->type(), n, &c->type) &&
            CopyVector(r->actor(), n, &c->actor) && CopyVector(r->duration_ns(), n, &c->duration_ns) &&
            CopyVector(r->size_bytes(), n, &c->size_bytes) && CopyVector(r->status(), n, &c->status);
  if (r->span_kind() == nullptr) {
    c->span_kind.clear();
  } else {
    ok = ok && CopyVector(r->span_kind(), n, &c->span_kind);
  }
  c->services.clear();
  if (r->services() != nullptr) {
    for (const flatbuffers::String* s : *r->services()) c->services.push_back(s->str());
  }
  if (r->service() == nullptr) {
    c->service.clear();
  } else {
    ok = ok && CopyVector(r->service(), n, &c->service);
  }
  if (!ok) return Status::Corruption("column chunk vectors differ in length");
  for (uint16_t a : c->actor) {
    if (a >= c->actors.size()) return Status::Corruption("column chunk actor index out of range");
  }
  for (uint16_t s : c->service) {
    if (s != Columns::kNoService && s >= c->services.size()) {
      return Status::Corruption("column chunk service index out of range");
    }
  }
  return Status::OK();
}

}  // namespace tracedb::schema
