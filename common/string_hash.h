#pragma once

// Hash containers keyed by std::string that are looked up by
// std::string_view without building a string: `set.contains(view)` and
// `map.find(view)` cost no allocation (C++20 heterogeneous lookup). Insert
// only after a failed lookup; `emplace(view)` always builds the node first.

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace tracedb {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace tracedb
