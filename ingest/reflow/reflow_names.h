#pragma once

// The Reflow enum variant names the codec (reflow_json.cc) and its
// canonical fast path (reflow_fast.cc) both match. Internal to ingest/reflow.

#include <cstddef>
#include <string_view>

namespace tracedb::ingest::reflow::names {

// Indexed by EventType value 1..11 (the Reflow types).
inline constexpr std::string_view kEventTypes[] = {
    "",           "ActorCreated",    "ActorStarted",  "ActorCompleted", "ActorFailed",
    "MessageSent", "MessageReceived", "StateChanged",  "PortConnected",  "PortDisconnected",
    "DataFlow",   "NetworkEvent"};
inline constexpr std::string_view kEventTypeList =
    "ActorCreated, ActorStarted, ActorCompleted, ActorFailed, MessageSent, MessageReceived, "
    "StateChanged, PortConnected, PortDisconnected, DataFlow, NetworkEvent";

// Indexed by StateDiffType value.
inline constexpr std::string_view kDiffTypes[] = {"Full", "Incremental", "MemoryOnly"};

// The index of `name` in `names`, or -1 (empty entries never match).
template <size_t N>
int IndexOf(std::string_view name, const std::string_view (&names)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name && !names[i].empty()) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace tracedb::ingest::reflow::names
