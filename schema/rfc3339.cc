#include "schema/rfc3339.h"

namespace tracedb::schema {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kSecPerDay = 86'400;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil); valid for every year we accept.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at p[*i]; false if any is not a digit.
bool Digits(std::string_view s, size_t* i, int n, int* out) {
  if (*i + static_cast<size_t>(n) > s.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    char c = s[*i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* i, char c) {
  if (*i >= s.size() || s[*i] != c) return false;
  ++*i;
  return true;
}

// Returns nullptr on success, else a static description of the problem.
const char* Parse(std::string_view s, TimestampNs* out) {
  size_t i = 0;
  int year, month, day, hour, minute, second;
  if (!Digits(s, &i, 4, &year) || !Expect(s, &i, '-') || !Digits(s, &i, 2, &month) ||
      !Expect(s, &i, '-') || !Digits(s, &i, 2, &day)) {
    return "expected date YYYY-MM-DD";
  }
  if (i >= s.size() || (s[i] != 'T' && s[i] != ' ')) return "expected 'T' or ' ' after the date";
  ++i;
  if (!Digits(s, &i, 2, &hour) || !Expect(s, &i, ':') || !Digits(s, &i, 2, &minute) ||
      !Expect(s, &i, ':') || !Digits(s, &i, 2, &second)) {
    return "expected time hh:mm:ss";
  }
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    int kept = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (kept < 9) {
        frac = frac * 10 + (s[i] - '0');
        ++kept;
      }
      ++i;
    }
    if (i == start) return "expected digits after '.'";
    for (; kept < 9; ++kept) frac *= 10;
  }
  int offset_sec = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (!Digits(s, &i, 2, &oh)) return "expected offset hh:mm";
    if (i < s.size() && s[i] == ':') ++i;
    if (!Digits(s, &i, 2, &om)) return "expected offset hh:mm";
    if (oh > 23 || om > 59) return "offset out of range";
    offset_sec = sign * (oh * 3600 + om * 60);
  } else {
    return "expected 'Z' or a UTC offset";
  }
  if (i != s.size()) return "unexpected characters after the offset";
  if (month < 1 || month > 12) return "month out of range";
  if (day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) return "day out of range";
  if (hour > 23 || minute > 59) return "time out of range";
  if (second > 59) return "second out of range (leap seconds are not supported)";
  const int64_t secs = DaysFromCivil(year, month, day) * kSecPerDay + hour * 3600 + minute * 60 +
                       second - offset_sec;
  int64_t ns;
  int64_t whole = secs;
  if (whole < 0 && frac > 0) {  // keeps the multiply in range near INT64_MIN
    whole += 1;
    frac -= kNsPerSec;
  }
  if (__builtin_mul_overflow(whole, kNsPerSec, &ns) || __builtin_add_overflow(ns, frac, &ns)) {
    return "timestamp out of range (years 1677-2262 are representable)";
  }
  *out = ns;
  return nullptr;
}

void AppendDigits(uint64_t v, int n, char* p) {
  for (int k = n - 1; k >= 0; --k) {
    p[k] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

// Writes "YYYY-MM-DDThh:mm:ss" (19 bytes) and returns the nanosecond fraction.
int64_t WriteSeconds(TimestampNs ts, char* buf) {
  int64_t secs = ts / kNsPerSec;
  int64_t frac = ts % kNsPerSec;
  if (frac < 0) {
    frac += kNsPerSec;
    --secs;
  }
  int64_t days = secs / kSecPerDay;
  int64_t sod = secs % kSecPerDay;
  if (sod < 0) {
    sod += kSecPerDay;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  AppendDigits(static_cast<uint64_t>(y), 4, buf);  // 1677..2262: always 4 digits
  buf[4] = '-';
  AppendDigits(m, 2, buf + 5);
  buf[7] = '-';
  AppendDigits(d, 2, buf + 8);
  buf[10] = 'T';
  AppendDigits(static_cast<uint64_t>(sod / 3600), 2, buf + 11);
  buf[13] = ':';
  AppendDigits(static_cast<uint64_t>(sod / 60 % 60), 2, buf + 14);
  buf[16] = ':';
  AppendDigits(static_cast<uint64_t>(sod % 60), 2, buf + 17);
  return frac;
}

// Writes "." and the first `digits` of the 9-digit fraction; returns the length.
size_t WriteFraction(int64_t frac, int digits, char* buf) {
  buf[0] = '.';
  int64_t v = frac;
  for (int k = digits; k < 9; ++k) v /= 10;
  AppendDigits(static_cast<uint64_t>(v), digits, buf + 1);
  return static_cast<size_t>(digits) + 1;
}

}  // namespace

bool ParseRfc3339(std::string_view text, TimestampNs* out) { return Parse(text, out) == nullptr; }

Result<TimestampNs> ParseRfc3339(std::string_view text) {
  TimestampNs ts;
  if (const char* why = Parse(text, &ts)) {
    return Status::InvalidArgument("invalid RFC 3339 timestamp \"" +
                                   std::string(text.substr(0, 64)) + "\": " + why);
  }
  return ts;
}

size_t FormatRfc3339(TimestampNs ts, char* buf) {
  const int64_t frac = WriteSeconds(ts, buf);
  size_t n = 19;
  if (frac != 0) {
    const int digits = frac % 1'000'000 == 0 ? 3 : frac % 1'000 == 0 ? 6 : 9;
    n += WriteFraction(frac, digits, buf + n);
  }
  buf[n++] = 'Z';
  return n;
}

void AppendRfc3339(TimestampNs ts, std::string* out) {
  char buf[kMaxRfc3339Length];
  out->append(buf, FormatRfc3339(ts, buf));
}

void AppendRfc3339Micros(TimestampNs ts, std::string* out) {
  char buf[kMaxRfc3339Length];
  const int64_t frac = WriteSeconds(ts, buf);
  size_t n = 19;
  n += WriteFraction(frac, frac % 1'000 == 0 ? 6 : 9, buf + n);
  buf[n++] = 'Z';
  out->append(buf, n);
}

std::string FormatRfc3339(TimestampNs ts) {
  std::string s;
  AppendRfc3339(ts, &s);
  return s;
}

}  // namespace tracedb::schema
