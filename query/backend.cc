#include "query/backend.h"

namespace tracedb::query {

namespace {
// The attachment holds this wrapper, so that any attachment can be told
// apart from a QueryBackend by its type tag.
struct Attached {
  static constexpr uint64_t kTag = 0x7472616365716231ULL;  // "traceqb1"
  uint64_t tag = kTag;
  std::shared_ptr<QueryBackend> backend;
};
}  // namespace

void AttachQueryBackend(engine::Engine* engine, std::shared_ptr<QueryBackend> backend) {
  auto a = std::make_shared<Attached>();
  a->backend = std::move(backend);
  engine->set_attachment(std::move(a));
}

QueryBackend* QueryBackendOf(const engine::Engine* engine) {
  auto* a = static_cast<Attached*>(engine->attachment());
  if (a == nullptr || a->tag != Attached::kTag) return nullptr;
  return a->backend.get();
}

}  // namespace tracedb::query
