#include "query/lexer.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "query/syntax_error.h"
#include "schema/rfc3339.h"

namespace tracedb::query {

namespace {

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int64_t UnitNs(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1000;
  if (unit == "ms") return 1000000;
  if (unit == "s") return 1000000000;
  if (unit == "m") return 60LL * 1000000000;
  if (unit == "h") return 3600LL * 1000000000;
  if (unit == "d") return 86400LL * 1000000000;
  return 0;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> out;
    while (true) {
      SkipSpace();
      Token t;
      t.pos = pos_;
      if (pos_ >= text_.size()) {
        t.kind = TokenKind::kEnd;
        out.push_back(std::move(t));
        return out;
      }
      Status st = Next(&t);
      if (!st.ok()) return st;
      out.push_back(std::move(t));
    }
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '#') {  // comment to end of line
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  char Peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }

  Status Next(Token* t) {
    char c = Peek();
    if (IsIdentStart(c)) {
      size_t start = pos_;
      while (IsIdentChar(Peek())) ++pos_;
      t->kind = TokenKind::kIdent;
      t->text = std::string(text_.substr(start, pos_ - start));
      return Status::OK();
    }
    if (IsDigit(c)) return Number(t);
    if (c == '"' || c == '\'') return String(t);
    ++pos_;
    switch (c) {
      case '(': t->kind = TokenKind::kLParen; break;
      case ')': t->kind = TokenKind::kRParen; break;
      case '{': t->kind = TokenKind::kLBrace; break;
      case '}': t->kind = TokenKind::kRBrace; break;
      case ',': t->kind = TokenKind::kComma; break;
      case '.': t->kind = TokenKind::kDot; break;
      case '|': t->kind = TokenKind::kPipe; break;
      case '+': t->kind = TokenKind::kPlus; break;
      case '-': t->kind = TokenKind::kMinus; break;
      case '=':
        if (Peek() == '~') {
          ++pos_;
          t->kind = TokenKind::kMatch;
        } else {
          if (Peek() == '=') ++pos_;  // "==" is accepted as "="
          t->kind = TokenKind::kEq;
        }
        break;
      case '!':
        if (Peek() == '=') {
          ++pos_;
          t->kind = TokenKind::kNe;
        } else if (Peek() == '~') {
          ++pos_;
          t->kind = TokenKind::kNotMatch;
        } else {
          return SyntaxError(text_, t->pos, "expected '!=' or '!~'");
        }
        break;
      case '<':
        t->kind = Peek() == '=' ? (++pos_, TokenKind::kLe) : TokenKind::kLt;
        break;
      case '>':
        t->kind = Peek() == '=' ? (++pos_, TokenKind::kGe) : TokenKind::kGt;
        break;
      default:
        return SyntaxError(text_, t->pos, "unexpected character");
    }
    t->text = std::string(text_.substr(t->pos, pos_ - t->pos));
    return Status::OK();
  }

  bool LooksLikeTimestamp() const {
    for (int i = 0; i < 4; ++i) {
      if (!IsDigit(Peek(i))) return false;
    }
    return Peek(4) == '-' && IsDigit(Peek(5));
  }

  Status Timestamp(Token* t) {
    size_t start = pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (IsIdentChar(c) || c == ':' || c == '.' || c == '+' || c == '-') {
        ++pos_;
      } else {
        break;
      }
    }
    t->text = std::string(text_.substr(start, pos_ - start));
    schema::TimestampNs ns;
    if (!schema::ParseRfc3339(t->text, &ns)) {
      return SyntaxError(text_, start, "invalid RFC 3339 timestamp");
    }
    t->kind = TokenKind::kTimestamp;
    t->i = ns;
    return Status::OK();
  }

  Status Number(Token* t) {
    if (LooksLikeTimestamp()) return Timestamp(t);
    size_t start = pos_;
    while (IsDigit(Peek())) ++pos_;
    bool is_float = false;
    if (Peek() == '.' && IsDigit(Peek(1))) {
      is_float = true;
      ++pos_;
      while (IsDigit(Peek())) ++pos_;
    }
    size_t num_end = pos_;
    while (IsIdentChar(Peek())) ++pos_;
    t->text = std::string(text_.substr(start, pos_ - start));
    std::string digits(text_.substr(start, num_end - start));
    if (pos_ > num_end) {
      int64_t ns;
      if (!ParseDurationNs(t->text, &ns)) {
        return SyntaxError(text_, num_end, "invalid duration unit (use ns, us, ms, s, m, h or d)");
      }
      t->kind = TokenKind::kDuration;
      t->i = ns;
      return Status::OK();
    }
    t->d = std::strtod(digits.c_str(), nullptr);
    if (is_float) {
      t->kind = TokenKind::kFloat;
      return Status::OK();
    }
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(digits.c_str(), &end, 10);
    if (errno == ERANGE) return SyntaxError(text_, start, "integer out of range");
    t->kind = TokenKind::kInt;
    t->i = v;
    return Status::OK();
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  Status String(Token* t) {
    char quote = text_[pos_];
    size_t start = pos_++;
    std::string value;
    while (true) {
      if (pos_ >= text_.size()) return SyntaxError(text_, start, "unterminated string");
      char c = text_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c != '\\') {
        value.push_back(c);
        ++pos_;
        continue;
      }
      size_t esc = pos_;
      ++pos_;
      if (pos_ >= text_.size()) return SyntaxError(text_, start, "unterminated string");
      char e = text_[pos_++];
      switch (e) {
        case 'n': value.push_back('\n'); break;
        case 't': value.push_back('\t'); break;
        case 'r': value.push_back('\r'); break;
        case '\\': value.push_back('\\'); break;
        case '"': value.push_back('"'); break;
        case '\'': value.push_back('\''); break;
        case 'u': {
          uint32_t cp = 0;
          for (int i = 0; i < 4; ++i) {
            int h = HexValue(Peek());
            if (h < 0) return SyntaxError(text_, esc, "invalid \\u escape (4 hex digits expected)");
            cp = cp * 16 + static_cast<uint32_t>(h);
            ++pos_;
          }
          AppendUtf8(cp, &value);
          break;
        }
        default:
          // Unknown escapes are kept verbatim so that regexes such as "\d"
          // and globs such as "a\*" need no doubling.
          value.push_back('\\');
          value.push_back(e);
      }
    }
    t->kind = TokenKind::kString;
    t->text = std::move(value);
    return Status::OK();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::string_view TokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEnd: return "end of query";
    case TokenKind::kIdent: return "a name";
    case TokenKind::kString: return "a string";
    case TokenKind::kInt: return "an integer";
    case TokenKind::kFloat: return "a number";
    case TokenKind::kDuration: return "a duration";
    case TokenKind::kTimestamp: return "a timestamp";
    case TokenKind::kLParen: return "'('";
    case TokenKind::kRParen: return "')'";
    case TokenKind::kLBrace: return "'{'";
    case TokenKind::kRBrace: return "'}'";
    case TokenKind::kComma: return "','";
    case TokenKind::kDot: return "'.'";
    case TokenKind::kPipe: return "'|'";
    case TokenKind::kPlus: return "'+'";
    case TokenKind::kMinus: return "'-'";
    case TokenKind::kEq: return "'='";
    case TokenKind::kNe: return "'!='";
    case TokenKind::kLt: return "'<'";
    case TokenKind::kLe: return "'<='";
    case TokenKind::kGt: return "'>'";
    case TokenKind::kGe: return "'>='";
    case TokenKind::kMatch: return "'=~'";
    case TokenKind::kNotMatch: return "'!~'";
  }
  return "?";
}

bool ParseDurationNs(std::string_view text, int64_t* ns) {
  size_t i = 0;
  while (i < text.size() && (IsDigit(text[i]) || text[i] == '.')) ++i;
  if (i == 0) return false;
  int64_t unit = UnitNs(text.substr(i));
  if (unit == 0) return false;
  std::string num(text.substr(0, i));
  char* end = nullptr;
  double v = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size()) return false;
  double total = v * static_cast<double>(unit);
  if (!std::isfinite(total) || total > 9.2e18) return false;
  *ns = static_cast<int64_t>(std::llround(total));
  return true;
}

Result<std::vector<Token>> Lex(std::string_view text) {
  if (text.size() > kMaxQueryBytes) {
    return Status::InvalidArgument("query too long: " + std::to_string(text.size()) + " bytes (limit " +
                                   std::to_string(kMaxQueryBytes) + ")");
  }
  return Lexer(text).Run();
}

}  // namespace tracedb::query
