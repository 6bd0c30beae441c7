#pragma once

// A storage backend's hand in query planning. The planner (planner.h) plans
// every query over the backend-neutral engine face; a backend that can
// evaluate filters itself (the ClickHouse SQL compiler, clickhouse/sql/)
// attaches a QueryBackend to its engine, and Execute lets it refine each
// plan: replace the access path with its own candidate cursor and say what
// is left to re-check. Results stay those of the language on every backend
// (the differential tests hold them equal).

#include <memory>

#include "common/status.h"
#include "engine/engine.h"
#include "query/bound.h"
#include "query/planner.h"

namespace tracedb::query {

class QueryBackend {
 public:
  virtual ~QueryBackend() = default;
  // May set plan->backend_access / backend_text and narrow plan->residual;
  // leaves the plan as it is for what it cannot do better.
  virtual Status Refine(engine::Engine* engine, const BoundQuery& query, Plan* plan) = 0;
};

// Attaches `backend` to `engine` (it lives as long as the engine).
void AttachQueryBackend(engine::Engine* engine, std::shared_ptr<QueryBackend> backend);
// The backend attached to `engine`, or nullptr.
QueryBackend* QueryBackendOf(const engine::Engine* engine);

}  // namespace tracedb::query
