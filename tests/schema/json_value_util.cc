#include "tests/schema/json_value_util.h"

#include <fstream>
#include <map>
#include <sstream>

#include <simdjson.h>

namespace tracedb::schema::testing {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

bool IsInteger(element_type t) {
  return t == element_type::INT64 || t == element_type::UINT64;
}

bool Equal(element a, element b, const std::string& path, std::string* why) {
  auto fail = [&](const std::string& what) {
    if (why != nullptr) *why = path + ": " + what;
    return false;
  };
  const element_type ta = a.type();
  const element_type tb = b.type();
  if (IsInteger(ta) && IsInteger(tb)) {
    if (ta == tb) {
      if (ta == element_type::INT64 ? int64_t(a) == int64_t(b) : uint64_t(a) == uint64_t(b)) return true;
    }
    return fail("integers differ: " + simdjson::minify(a) + " vs " + simdjson::minify(b));
  }
  if (ta != tb) return fail("types differ: " + simdjson::minify(a) + " vs " + simdjson::minify(b));
  switch (ta) {
    case element_type::ARRAY: {
      simdjson::dom::array xa = a, xb = b;
      if (xa.size() != xb.size()) return fail("array sizes differ");
      size_t i = 0;
      auto ib = xb.begin();
      for (element ea : xa) {
        if (!Equal(ea, *ib, path + "[" + std::to_string(i) + "]", why)) return false;
        ++ib;
        ++i;
      }
      return true;
    }
    case element_type::OBJECT: {
      std::map<std::string, element> ma, mb;
      for (auto [k, v] : simdjson::dom::object(a)) ma[std::string(k)] = v;
      for (auto [k, v] : simdjson::dom::object(b)) mb[std::string(k)] = v;
      if (ma.size() != mb.size()) return fail("object key counts differ");
      for (auto& [k, v] : ma) {
        auto it = mb.find(k);
        if (it == mb.end()) return fail("key \"" + k + "\" missing on one side");
        if (!Equal(v, it->second, path + "." + k, why)) return false;
      }
      return true;
    }
    case element_type::DOUBLE:
      if (double(a) == double(b)) return true;
      return fail("floats differ: " + simdjson::minify(a) + " vs " + simdjson::minify(b));
    case element_type::STRING:
      if (std::string_view(a) == std::string_view(b)) return true;
      return fail("strings differ: " + simdjson::minify(a) + " vs " + simdjson::minify(b));
    case element_type::BOOL:
      if (bool(a) == bool(b)) return true;
      return fail("booleans differ");
    default:
      return true;  // null
  }
}

}  // namespace

bool JsonEqual(std::string_view a, std::string_view b, std::string* why) {
  simdjson::dom::parser pa, pb;
  simdjson::padded_string sa(a), sb(b);
  element ea, eb;
  if (auto ec = pa.parse(sa).get(ea)) {
    if (why != nullptr) *why = std::string("left side does not parse: ") + simdjson::error_message(ec);
    return false;
  }
  if (auto ec = pb.parse(sb).get(eb)) {
    if (why != nullptr) *why = std::string("right side does not parse: ") + simdjson::error_message(ec);
    return false;
  }
  return Equal(ea, eb, "$", why);
}

std::string ReadSharedFile(const std::string& relative_path) {
  std::ifstream in(std::string(TRACEDB_SHARED_DIR) + "/" + relative_path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tracedb::schema::testing
