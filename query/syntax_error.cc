#include "query/syntax_error.h"

#include <algorithm>

namespace tracedb::query {

namespace {

// Shown line width around the caret; keeps messages for huge one-line
// queries readable.
constexpr size_t kWindow = 60;

// Control bytes would misplace the caret on a terminal.
char Printable(char c) { return (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c; }

}  // namespace

Status SyntaxError(std::string_view text, size_t offset, std::string_view message) {
  offset = std::min(offset, text.size());
  size_t line_start = 0, line = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  size_t line_end = text.find('\n', line_start);
  if (line_end == std::string_view::npos) line_end = text.size();
  size_t column = offset - line_start;
  size_t from = line_start, prefix_dots = 0;
  if (column > kWindow) {
    from = offset - kWindow / 2;
    prefix_dots = 3;
  }
  size_t to = std::min(line_end, from + kWindow + kWindow / 2);
  std::string out = "error at " + std::to_string(line) + ":" + std::to_string(column + 1) + ": ";
  out.append(message);
  out.append("\n  ");
  if (prefix_dots) out.append("...");
  for (size_t i = from; i < to; ++i) out.push_back(Printable(text[i]));
  if (to < line_end) out.append("...");
  out.append("\n  ");
  out.append(prefix_dots + (offset - from), ' ');
  out.push_back('^');
  return Status::InvalidArgument(std::move(out));
}

}  // namespace tracedb::query
