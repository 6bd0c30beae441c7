#include "tests/query/oracle_query_util.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

// Generation of random queries (Generator in oracle_query_util.h): fields,
// operators and literals in every documented spelling, drawn from the
// values stored in SQLite so that predicates often match.

namespace tracedb::query::oracle {

namespace {

bool IsKeyword(const std::string& w) {
  static const char* const kWords[] = {"and",    "or",   "not",   "in",  "like",  "contains", "prefix", "exists",
                                       "true",   "false", "now",  "event", "limit", "by",       "explain"};
  for (const char* k : kWords) {
    if (w == k) return true;
  }
  return false;
}

bool IsBareWord(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  std::string lower = s;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return !IsKeyword(lower);
}

// Shortest fixed-point text (the grammar has no exponents) that reads back
// as `d`.
std::string DoubleText(double d) {
  char buf[400];
  for (int prec = 1; prec <= 20; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*f", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

// Civil date of a day count since 1970-01-01 (proleptic Gregorian).
void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

// RFC 3339 text of `ns` at UTC offset `offset_min`; `frac`: 0 trims the
// fraction, 1 writes all nine digits (or ".0" for whole seconds).
std::string Rfc3339(int64_t ns, int offset_min, int frac, bool lower_z) {
  int64_t local = ns + static_cast<int64_t>(offset_min) * 60 * 1000000000LL;
  int64_t secs = FloorDiv(local, 1000000000LL);
  int64_t sub = local - secs * 1000000000LL;
  int64_t days = FloorDiv(secs, 86400);
  int64_t sod = secs - days * 86400;
  int64_t y;
  int m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02lld:%02lld:%02lld", static_cast<long long>(y), m, d,
                static_cast<long long>(sod / 3600), static_cast<long long>(sod / 60 % 60),
                static_cast<long long>(sod % 60));
  std::string out = buf;
  if (sub != 0 || frac == 1) {
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(sub));
    std::string f = buf;
    if (frac == 0) {
      while (f.back() == '0') f.pop_back();
    } else if (sub == 0) {
      f = ".0";
    }
    out += f;
  }
  if (offset_min == 0 && !lower_z) return out + "Z";
  if (offset_min == 0) return out + "z";
  int a = std::abs(offset_min);
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset_min < 0 ? '-' : '+', a / 60, a % 60);
  return out + buf;
}

constexpr int64_t kUnits[] = {86400000000000LL, 3600000000000LL, 60000000000LL, 1000000000LL, 1000000LL, 1000LL, 1};
constexpr const char* kUnitNames[] = {"d", "h", "m", "s", "ms", "us", "ns"};

// The largest unit that writes `a` (>= 0) exactly: "90s", "1500us".
std::string UnitText(int64_t a) {
  for (size_t i = 0; i < std::size(kUnits); ++i) {
    if (a % kUnits[i] == 0 && (a != 0 || kUnits[i] == 1)) return std::to_string(a / kUnits[i]) + kUnitNames[i];
  }
  return std::to_string(a) + "ns";
}

std::string EscapeGlob(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string EscapeRegex(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

const SqlRow* Generator::PoolRow(const FieldDef& f) {
  auto it = pools_.values.find(f.name);
  if (it == pools_.values.end() || it->second.empty()) return nullptr;
  return &it->second[Pick(it->second.size())];
}

std::string Generator::PoolText(const FieldDef& f) {
  static const char* const kOther[] = {"nope", "x", "checkout", "g.llm", "main/[0]", "a.b"};
  const SqlRow* row = PoolRow(f);
  if (!row || Chance(8)) return kOther[Pick(std::size(kOther))];
  const SqlValue& v = f.kind == Kind::kJson ? (*row)[1] : (*row)[0];
  return v.type == SqlValue::Type::kText ? v.s : v.Text();
}

Lit Generator::StringLit(const std::string& s) {
  char quote = Chance(15) ? '\'' : '"';
  bool unicode_escape = Chance(5);  // one letter written as \u00XX
  Lit l;
  l.text.push_back(quote);
  for (char c : s) {
    if (unicode_escape && std::isalpha(static_cast<unsigned char>(c))) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(c));
      l.text += buf;
      unicode_escape = false;
      continue;
    }
    if (c == '\\' || c == quote) l.text.push_back('\\');
    l.text.push_back(c);
  }
  l.text.push_back(quote);
  l.sql = SqlQuote(s);
  l.raw = s;
  return l;
}

Lit Generator::TimeLit(int64_t v) {
  static const int kOffsets[] = {0, 0, 120, -330, 60};
  Lit l;
  l.type = Lit::Type::kNumber;
  l.sql = std::to_string(v);
  switch (Pick(4)) {
    case 0: l.text = std::to_string(v); break;
    case 1: l.text = Rfc3339(v, kOffsets[Pick(5)], static_cast<int>(Pick(2)), Chance(10)); break;
    case 2: l.text = "\"" + Rfc3339(v, kOffsets[Pick(5)], static_cast<int>(Pick(2)), false) + "\""; break;
    default: {
      int64_t diff = v - now_;
      l.text = upper_ ? "NOW" : "now";
      if (diff != 0) l.text += (diff < 0 ? "-" : "+") + UnitText(diff < 0 ? -diff : diff);
    }
  }
  return l;
}

Lit Generator::DurationLit(int64_t v) {
  bool neg = v < 0;
  int64_t a = neg ? -v : v;
  Lit l;
  l.type = Lit::Type::kNumber;
  std::string body;
  std::string sql = std::to_string(a);
  switch (Pick(4)) {
    case 0: body = std::to_string(a); break;
    case 1: body = UnitText(a); break;
    case 2: {
      // Decimal form in a unit, at most three decimals: "1.5ms".
      body = UnitText(a);
      for (int64_t u : {1000000000LL, 1000000LL, 1000LL}) {
        if (a % (u / 1000) == 0 && a >= u / 1000) {
          char buf[48];
          std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(a / u),
                        static_cast<long long>(a % u / (u / 1000)));
          std::string s = buf;
          while (s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
          body = s + (u == 1000 ? "us" : u == 1000000 ? "ms" : "s");
          break;
        }
      }
      break;
    }
    default:
      body = std::to_string(a) + ".5";
      sql = body;
  }
  l.text = (neg ? "-" : "") + body;
  l.sql = neg ? "(-" + sql + ")" : sql;
  return l;
}

Lit Generator::Literal(const FieldDef& f) {
  const SqlRow* row = PoolRow(f);
  auto near = [&](int64_t base) -> int64_t {
    static const int64_t kDeltas[] = {0, 0, 0, 0, 1, -1, 1000, -1000, 1000000, -1000000, 1000000000, -1000000000};
    return base + kDeltas[Pick(std::size(kDeltas))];
  };
  switch (f.kind) {
    case Kind::kString: return StringLit(PoolText(f));
    case Kind::kId: {
      std::string id = row && !Chance(10) ? (*row)[0].s : "00000000-0000-0000-0000-00000000beef";
      Lit l;
      l.sql = SqlQuote(id);
      std::string simple = id;
      simple.erase(std::remove(simple.begin(), simple.end(), '-'), simple.end());
      switch (Pick(6)) {
        case 0: l.text = "\"" + Upper(id) + "\""; break;
        case 1: l.text = "\"" + simple + "\""; break;
        case 2: l.text = "\"{" + id + "}\""; break;
        case 3: l.text = "\"urn:uuid:" + id + "\""; break;
        default: l.text = "\"" + id + "\"";
      }
      return l;
    }
    case Kind::kTime: return TimeLit(row ? near((*row)[0].i) : now_);
    case Kind::kDuration: {
      int64_t v = row ? near((*row)[0].i) : static_cast<int64_t>(Pick(50000000));
      if (Chance(4)) v = -v;
      return DurationLit(v);
    }
    case Kind::kInt: {
      int64_t v = !row ? 7 : Chance(70) ? (*row)[0].i + static_cast<int64_t>(Pick(3)) - 1 : near((*row)[0].i);
      Lit l;
      l.type = Lit::Type::kNumber;
      if (Chance(5)) v = -v;
      l.text = std::to_string(v);
      if (Chance(15)) l.text += ".5";
      l.sql = l.text.front() == '-' ? "(" + l.text + ")" : l.text;
      return l;
    }
    case Kind::kFloat: {
      double base = row ? (*row)[0].AsDouble() : 50.0;
      static const char* const kFrac[] = {"", ".5", ".25", ".0"};
      Lit l;
      l.type = Lit::Type::kNumber;
      l.text = std::to_string(static_cast<int64_t>(std::floor(base))) + kFrac[Pick(4)];
      l.sql = l.text;
      return l;
    }
    case Kind::kStatus:
    case Kind::kEventStatus:
    case Kind::kEventType: {
      const NamedCode* names = f.kind == Kind::kStatus        ? kStatuses
                           : f.kind == Kind::kEventStatus ? kEventStatuses
                                                          : kEventTypes;
      size_t count = f.kind == Kind::kStatus        ? std::size(kStatuses)
                     : f.kind == Kind::kEventStatus ? std::size(kEventStatuses)
                                                    : std::size(kEventTypes);
      const NamedCode& n = names[Pick(count)];
      std::string name = n.name;
      switch (Pick(6)) {
        case 0: name = Upper(name); break;
        case 1: {  // CamelCase: ActorFailed
          std::string camel;
          bool up = true;
          for (char c : name) {
            if (c == '_') {
              up = true;
              continue;
            }
            camel += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
            up = false;
          }
          if (f.kind == Kind::kEventType) name = camel;
          break;
        }
        case 2: name = "\"" + name + "\""; break;
        default: break;
      }
      Lit l;
      l.text = name;
      l.sql = std::to_string(n.code);
      l.type = Lit::Type::kNumber;
      return l;
    }
    case Kind::kVersion: {
      int64_t a = row && !Chance(30) ? (*row)[0].i : static_cast<int64_t>(Pick(3));
      int64_t b = row && !Chance(30) ? (*row)[1].i : static_cast<int64_t>(Pick(5));
      int64_t c = row && !Chance(30) ? (*row)[2].i : static_cast<int64_t>(Pick(10));
      Lit l;
      l.text = "\"" + std::to_string(a) + "." + std::to_string(b) + (c == 0 && Chance(50) ? "" : "." + std::to_string(c)) + "\"";
      l.sql = "(" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ")";
      return l;
    }
    case Kind::kJson: {
      Lit l;
      if (!row || Chance(8)) {
        switch (Pick(3)) {
          case 0: return StringLit("nope");
          case 1: l.text = "7"; l.sql = "7"; l.type = Lit::Type::kNumber; return l;
          default: l.text = "true"; l.sql = "1"; l.type = Lit::Type::kBool; return l;
        }
      }
      const std::string& jt = (*row)[0].s;
      const SqlValue& v = (*row)[1];
      if (jt == "text") {
        if (Chance(10)) {
          l.text = "1";
          l.sql = "1";
          l.type = Lit::Type::kNumber;
          return l;
        }
        if (IsBareWord(v.s) && Chance(40)) {
          l.text = v.s;
          l.sql = SqlQuote(v.s);
          l.raw = v.s;
          return l;
        }
        return StringLit(v.s);
      }
      if (jt == "true" || jt == "false") {
        l.text = Chance(20) ? (jt == "true" ? "false" : "true") : jt;
        l.sql = l.text == "true" ? "1" : "0";
        l.type = Lit::Type::kBool;
        return l;
      }
      if (Chance(10)) return StringLit(v.Text());
      l.type = Lit::Type::kNumber;
      if (jt == "integer") {
        int64_t i = v.i + (Chance(60) ? 0 : static_cast<int64_t>(Pick(3)) - 1);
        l.text = std::to_string(i) + (Chance(20) ? ".0" : "");
      } else {
        l.text = DoubleText(v.d);
      }
      l.sql = l.text.front() == '-' ? "(" + l.text + ")" : l.text;
      return l;
    }
  }
  return StringLit("?");
}

Lit Generator::Pattern(const FieldDef& f, Op op) {
  std::string s = PoolText(f);
  size_t n = s.size();
  size_t i = n ? Pick(n) : 0;
  size_t j = i + (n > i ? Pick(n - i + 1) : 0);
  std::string pat;
  if (op == Op::kGlob || op == Op::kNotGlob) {
    switch (Pick(8)) {
      case 0: pat = EscapeGlob(s); break;
      case 1: pat = EscapeGlob(s.substr(0, i)) + "*"; break;
      case 2: pat = "*" + EscapeGlob(s.substr(i)); break;
      case 3: pat = "*" + EscapeGlob(s.substr(i, j - i)) + "*"; break;
      case 4: pat = n ? EscapeGlob(s.substr(0, i)) + "?" + EscapeGlob(s.substr(i + 1)) : "?"; break;
      case 5: pat = "*"; break;
      case 6: pat = n ? EscapeGlob(s.substr(0, i)) + "\\" + s[i] + EscapeGlob(s.substr(i + 1)) : "\\x"; break;
      default: pat = "?*"; break;
    }
  } else if (op == Op::kRegex || op == Op::kNotRegex) {
    switch (Pick(10)) {
      case 0: pat = EscapeRegex(s); break;
      case 1: pat = EscapeRegex(s.substr(0, i)) + ".*"; break;
      case 2: pat = ".*" + EscapeRegex(s.substr(i)); break;
      case 3: pat = "(" + EscapeRegex(s) + "|" + EscapeRegex(PoolText(f)) + ")"; break;
      case 4: pat = "[a-z]+"; break;
      case 5: pat = n ? EscapeRegex(s.substr(0, i)) + "." + EscapeRegex(s.substr(i + 1)) : "."; break;
      case 6: pat = ".*" + EscapeRegex(s.substr(i, j - i)) + ".*"; break;
      case 7: pat = "[^.]*"; break;
      case 8: pat = "\\w+"; break;
      default: pat = EscapeRegex(s.substr(0, i)) + "[0-9a-f-]*"; break;
    }
  } else if (op == Op::kContains) {
    pat = s.substr(i, j - i);
  } else {
    pat = Chance(10) ? s + "x" : s.substr(0, j);
  }
  return StringLit(pat);
}

const FieldDef* Generator::AnyField(bool event) {
  // Indexed and hot fields more often: they take the planner's special paths.
  static const char* const kTraceFavourites[] = {"flow", "trace.status", "start", "execution_id", "trace_id"};
  static const char* const kEventFavourites[] = {"actor", "op_name", "type", "execution_time_ns", "event_status",
                                                 "size_bytes"};
  if (Chance(35)) {
    return event ? FieldNamed(kEventFavourites[Pick(std::size(kEventFavourites))])
                 : FieldNamed(kTraceFavourites[Pick(std::size(kTraceFavourites))]);
  }
  std::vector<const FieldDef*> pick;
  for (const auto& f : Fields()) {
    if (f.event == event) pick.push_back(&f);
  }
  return pick[Pick(pick.size())];
}

Node Generator::PredNode(const FieldDef* f) {
  std::vector<Op> ops = {Op::kEq, Op::kEq, Op::kEq, Op::kNe, Op::kIn, Op::kIn, Op::kNotIn};
  bool ordered = f->kind == Kind::kString || f->kind == Kind::kTime || f->kind == Kind::kDuration ||
                 f->kind == Kind::kInt || f->kind == Kind::kFloat || f->kind == Kind::kVersion ||
                 f->kind == Kind::kJson;
  bool textual = f->kind == Kind::kString || f->kind == Kind::kId || f->kind == Kind::kJson;
  bool enumerated = f->kind == Kind::kStatus || f->kind == Kind::kEventType || f->kind == Kind::kEventStatus;
  if (ordered) ops.insert(ops.end(), {Op::kLt, Op::kLe, Op::kGt, Op::kGe, Op::kGt, Op::kLe});
  if (textual) {
    ops.insert(ops.end(), {Op::kRegex, Op::kRegex, Op::kNotRegex, Op::kGlob, Op::kGlob, Op::kNotGlob, Op::kContains,
                           Op::kContains, Op::kPrefix, Op::kPrefix, Op::kPrefix});
  }
  if (!enumerated) ops.insert(ops.end(), {Op::kExists, Op::kNotExists});
  Node n;
  n.kind = Node::Kind::kPred;
  Pred& p = n.pred;
  p.field = f;
  p.spelling = Pick(f->spellings.size());
  p.op = ops[Pick(ops.size())];
  p.double_eq = Chance(10);
  switch (p.op) {
    case Op::kExists:
    case Op::kNotExists: break;
    case Op::kRegex:
    case Op::kNotRegex:
    case Op::kGlob:
    case Op::kNotGlob:
    case Op::kContains:
    case Op::kPrefix: p.values.push_back(Pattern(*f, p.op)); break;
    case Op::kIn:
    case Op::kNotIn: {
      size_t k = 1 + Pick(3);
      for (size_t i = 0; i < k; ++i) p.values.push_back(Literal(*f));
      break;
    }
    default: p.values.push_back(Literal(*f));
  }
  return n;
}

Node Generator::Leaf(bool event) { return PredNode(AnyField(event)); }

Node Generator::StartWindow() {
  Node n;
  n.kind = Node::Kind::kAnd;
  static const Op kOps[] = {Op::kGe, Op::kGt, Op::kLe, Op::kLt};
  size_t k = 1 + Pick(2);
  for (size_t i = 0; i < k; ++i) {
    Node p = PredNode(FieldNamed("start"));
    p.pred.op = Chance(5) ? Op::kEq : kOps[Pick(4)];
    p.pred.values = {Literal(*FieldNamed("start"))};
    n.kids.push_back(std::move(p));
  }
  return n;
}

Node Generator::EventInner(int depth) {
  size_t r = Pick(depth >= 2 ? 65 : 100);
  if (r < 55) return Leaf(true);
  if (r < 65) return Leaf(false);
  Node n;
  if (r < 92) {
    n.kind = r < 80 ? Node::Kind::kAnd : Node::Kind::kOr;
    n.bare_and_in_or = Chance(30);
    size_t k = 2 + Pick(2);
    for (size_t i = 0; i < k; ++i) n.kids.push_back(EventInner(depth + 1));
    return n;
  }
  n.kind = Node::Kind::kNot;
  n.kids.push_back(EventInner(depth + 1));
  return n;
}

Node Generator::Conjunct(int depth) {
  size_t r = Pick(depth >= 2 ? 67 : 100);
  if (r < 22) return Leaf(false);
  if (r < 52) return Leaf(true);
  Node n;
  if (r < 67) {
    n.kind = Node::Kind::kEvent;
    if (!Chance(4)) n.kids.push_back(EventInner(0));
    return n;
  }
  if (r < 77) {
    n.kind = Node::Kind::kNot;
    n.kids.push_back(Chance(50) ? Leaf(true) : Conjunct(depth + 1));
    return n;
  }
  n.kind = r < 92 ? Node::Kind::kOr : Node::Kind::kAnd;
  n.bare_and_in_or = Chance(30);
  size_t k = 2 + Pick(2);
  for (size_t i = 0; i < k; ++i) n.kids.push_back(Conjunct(depth + 1));
  return n;
}

// The shape the executor may answer from column chunks alone: a start
// window, hot event predicates (bare or in one block), aggregates and groups
// over hot event fields.
Query Generator::ColumnQuery(Query q) {
  static const char* const kHot[] = {"timestamp", "type",     "actor",  "event_status",
                                     "size_bytes", "execution_time_ns", "op_name"};
  static const char* const kNumeric[] = {"timestamp", "size_bytes", "execution_time_ns"};
  static const char* const kGroups[] = {"type", "actor", "event_status", "op_name", "size_bytes"};
  auto hot = [&] { return PredNode(FieldNamed(kHot[Pick(std::size(kHot))])); };
  Node all;
  all.kind = Node::Kind::kAnd;
  if (!Chance(20)) all.kids.push_back(StartWindow());
  size_t k = Pick(3);
  for (size_t i = 0; i < k; ++i) {
    if (Chance(30)) {
      Node inner;
      inner.kind = Chance(70) ? Node::Kind::kAnd : Node::Kind::kOr;
      inner.kids = {hot(), hot()};
      Node block;
      block.kind = Node::Kind::kEvent;
      block.kids.push_back(std::move(inner));
      all.kids.push_back(std::move(block));
    } else {
      all.kids.push_back(hot());
    }
  }
  if (!all.kids.empty()) q.filter = all.kids.size() == 1 ? std::move(all.kids[0]) : std::move(all);
  size_t aggs = 1 + Pick(3);
  for (size_t i = 0; i < aggs; ++i) {
    Agg a;
    if (!Chance(25)) {
      a.fn = static_cast<AggFn>(1 + Pick(8));
      a.field = FieldNamed(kNumeric[Pick(std::size(kNumeric))]);
    }
    q.aggs.push_back(a);
  }
  size_t by = Pick(3);
  for (size_t i = 0; i < by; ++i) q.by.push_back(FieldNamed(kGroups[Pick(std::size(kGroups))]));
  if (!EventLevel(q)) q.by.push_back(FieldNamed("type"));
  if (Chance(10)) q.limit = static_cast<int64_t>(Pick(6));
  return q;
}

Query Generator::Next() {
  Query q;
  upper_ = Chance(10);
  q.upper_keywords = upper_;
  q.knob = rng_();
  if (Chance(12)) return ColumnQuery(std::move(q));
  bool aggregate = Chance(35);
  bool trace_only = Chance(45);
  if (!Chance(4)) {
    Node all;
    all.kind = Node::Kind::kAnd;
    size_t k = 1 + Pick(3);
    for (size_t i = 0; i < k; ++i) all.kids.push_back(Conjunct(0));
    if (Chance(30)) all.kids.push_back(StartWindow());
    q.filter = all.kids.size() == 1 ? std::move(all.kids[0]) : std::move(all);
  }
  if (aggregate) {
    std::vector<const FieldDef*> aggregatable, groupable;
    for (const auto& f : Fields()) {
      if (trace_only && f.event) continue;
      if (f.aggregatable) aggregatable.push_back(&f);
      if (f.groupable) groupable.push_back(&f);
    }
    size_t k = 1 + Pick(3);
    for (size_t i = 0; i < k; ++i) {
      Agg a;
      if (!Chance(25)) {
        a.fn = static_cast<AggFn>(1 + Pick(8));
        a.field = aggregatable[Pick(aggregatable.size())];
      }
      q.aggs.push_back(a);
    }
    size_t by = Pick(3);
    for (size_t i = 0; i < by; ++i) q.by.push_back(groupable[Pick(groupable.size())]);
    if (Chance(15)) q.limit = static_cast<int64_t>(Pick(6));
  } else if (Chance(20)) {
    q.limit = static_cast<int64_t>(Pick(11));
  }
  return q;
}

}  // namespace tracedb::query::oracle
