// Value expansion (prefix / glob / predicate over the listed values of an
// index) and the glob matcher shared with the query layer.

#include <limits>

#include "index/index.h"

namespace tracedb::index {

namespace {

// A pattern element: a literal byte, '?' (any byte) or '*' (any run).
struct GlobAtom {
  enum class Kind : uint8_t { kByte, kAny, kStar };
  Kind kind;
  char byte;
};

std::vector<GlobAtom> CompileGlob(std::string_view pattern) {
  std::vector<GlobAtom> atoms;
  atoms.reserve(pattern.size());
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      atoms.push_back({GlobAtom::Kind::kByte, pattern[++i]});
    } else if (c == '*') {
      if (atoms.empty() || atoms.back().kind != GlobAtom::Kind::kStar) atoms.push_back({GlobAtom::Kind::kStar, 0});
    } else if (c == '?') {
      atoms.push_back({GlobAtom::Kind::kAny, 0});
    } else {
      atoms.push_back({GlobAtom::Kind::kByte, c});
    }
  }
  return atoms;
}

}  // namespace

// Greedy matching with a single backtrack point (the last star): a later
// star supersedes an earlier one, so the work is O(|pattern| x |text|) at
// worst and never exponential.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  std::vector<GlobAtom> p = CompileGlob(pattern);
  size_t pi = 0, ti = 0;
  size_t star = std::numeric_limits<size_t>::max(), star_text = 0;
  while (ti < text.size()) {
    if (pi < p.size() && p[pi].kind == GlobAtom::Kind::kStar) {
      star = pi++;
      star_text = ti;
    } else if (pi < p.size() && (p[pi].kind == GlobAtom::Kind::kAny || p[pi].byte == text[ti])) {
      ++pi;
      ++ti;
    } else if (star != std::numeric_limits<size_t>::max()) {
      pi = star + 1;
      ti = ++star_text;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi].kind == GlobAtom::Kind::kStar) ++pi;
  return pi == p.size();
}

std::string GlobLiteralPrefix(std::string_view pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*' || c == '?') break;
    if (c == '\\' && i + 1 < pattern.size()) c = pattern[++i];
    out.push_back(c);
  }
  return out;
}

bool GlobHasWildcard(std::string_view pattern) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
    } else if (pattern[i] == '*' || pattern[i] == '?') {
      return true;
    }
  }
  return false;
}

std::unique_ptr<IndexCursor> ScanValues(engine::Engine* engine, IndexKind kind,
                                        const std::vector<std::string>& values, TimestampNs min_start,
                                        TimestampNs max_start) {
  std::vector<std::unique_ptr<IndexCursor>> cursors;
  cursors.reserve(values.size());
  for (const auto& v : values) {
    engine::IndexRange range;
    range.kind = kind;
    range.value = v;
    range.min_start = min_start;
    range.max_start = max_start;
    cursors.push_back(engine->ScanIndex(range));
  }
  return Union(std::move(cursors));
}

Result<std::vector<std::string>> ExpandValues(engine::Engine* engine, IndexKind kind, std::string_view prefix,
                                              const std::function<bool(std::string_view)>& match,
                                              size_t max_values) {
  // One listing: the engine skips from value to value with one seek each,
  // so the cost is the number of distinct values under the prefix, never
  // the number of index entries.
  TRACEDB_ASSIGN_OR_RETURN(std::vector<std::string> listed,
                           engine->ListIndexValues(kind, prefix, std::numeric_limits<size_t>::max()));
  std::vector<std::string> out;
  for (auto& v : listed) {
    if (match && !match(v)) continue;
    if (out.size() == max_values) {
      return Status::ResourceExhausted("more than " + std::to_string(max_values) + " index values match");
    }
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::unique_ptr<IndexCursor>> ScanMatching(engine::Engine* engine, IndexKind kind,
                                                  std::string_view prefix,
                                                  const std::function<bool(std::string_view)>& match,
                                                  size_t max_values, TimestampNs min_start,
                                                  TimestampNs max_start) {
  TRACEDB_ASSIGN_OR_RETURN(std::vector<std::string> values, ExpandValues(engine, kind, prefix, match, max_values));
  return ScanValues(engine, kind, values, min_start, max_start);
}

}  // namespace tracedb::index
