#pragma once

// Stage 1 of the query pipeline: text -> tokens.
//
// Tokens carry their byte offset so that every later error can point at
// the text. Keywords are not special here: they are identifiers the parser
// recognizes case-insensitively, so a tag or attribute may still be called
// `count` or `by`.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tracedb::query {

// Queries longer than this are rejected before lexing.
inline constexpr size_t kMaxQueryBytes = 64 * 1024;

enum class TokenKind : uint8_t {
  kEnd,
  kIdent,      // [A-Za-z_][A-Za-z0-9_]*
  kString,     // "..." or '...'; `text` is the decoded value
  kInt,        // 123
  kFloat,      // 1.5
  kDuration,   // 10ms, 1.5s (value in ns in `i`)
  kTimestamp,  // 2025-07-10T12:00:00Z (value in ns in `i`)
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kComma,
  kDot,
  kPipe,
  kPlus,
  kMinus,
  kEq,        // =
  kNe,        // !=
  kLt,
  kLe,
  kGt,
  kGe,
  kMatch,     // =~
  kNotMatch,  // !~
};

// A printable name for error messages ("'='", "a string", "end of query").
std::string_view TokenKindName(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // identifier text, decoded string, or the source spelling
  int64_t i = 0;     // kInt, kDuration, kTimestamp
  double d = 0;      // kFloat (and kInt as a double)
  size_t pos = 0;    // byte offset of the first character
};

// Splits `text` into tokens ending with one kEnd. Errors (unterminated
// string, bad number, unknown character, too long) are SyntaxError statuses.
Result<std::vector<Token>> Lex(std::string_view text);

// Parses a duration spelling such as "10ms", "1.5s", "2h" into ns.
// Units: ns, us, ms, s, m, h, d. Returns false when malformed or out of range.
bool ParseDurationNs(std::string_view text, int64_t* ns);

}  // namespace tracedb::query
