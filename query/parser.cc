#include "query/parser.h"

#include <strings.h>

#include "query/lexer.h"
#include "query/syntax_error.h"

namespace tracedb::query {

namespace {

bool IsWord(const Token& t, std::string_view word) {
  return t.kind == TokenKind::kIdent && t.text.size() == word.size() &&
         strncasecmp(t.text.data(), word.data(), word.size()) == 0;
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens) : text_(text), tokens_(std::move(tokens)) {}

  Result<ast::Query> Run() {
    ast::Query q;
    if (IsWord(Cur(), "explain")) {
      q.explain = true;
      ++pos_;
    }
    if (!AtQueryTail()) {
      TRACEDB_ASSIGN_OR_RETURN(q.filter, Expr(0));
    }
    if (Cur().kind == TokenKind::kPipe) {
      ++pos_;
      TRACEDB_RETURN_IF_ERROR(Aggregates(&q));
    }
    if (IsWord(Cur(), "limit")) {
      ++pos_;
      if (Cur().kind != TokenKind::kInt) return Error("expected an integer after 'limit'");
      q.limit = Cur().i;
      ++pos_;
    }
    if (Cur().kind != TokenKind::kEnd) {
      if (Cur().kind == TokenKind::kRParen) return Error("unbalanced ')'");
      if (Cur().kind == TokenKind::kRBrace) return Error("unbalanced '}'");
      return Error("expected 'and', 'or', '|' or end of query");
    }
    return q;
  }

 private:
  const Token& Cur() const { return tokens_[pos_]; }
  const Token& Ahead(size_t n) const { return tokens_[std::min(pos_ + n, tokens_.size() - 1)]; }
  Status Error(std::string_view msg) const { return SyntaxError(text_, Cur().pos, msg); }
  Status ErrorAt(size_t at, std::string_view msg) const { return SyntaxError(text_, at, msg); }

  bool AtQueryTail() const {
    return Cur().kind == TokenKind::kEnd || Cur().kind == TokenKind::kPipe ||
           (IsWord(Cur(), "limit") && Ahead(1).kind == TokenKind::kInt && Ahead(2).kind == TokenKind::kEnd);
  }

  Status Expect(TokenKind kind, std::string_view what) {
    if (Cur().kind != kind) return Error(std::string("expected ") + std::string(what));
    ++pos_;
    return Status::OK();
  }

  Result<std::unique_ptr<ast::Expr>> Expr(int depth) {
    if (depth > kMaxDepth) return Error("query nested too deeply (limit " + std::to_string(kMaxDepth) + ")");
    size_t start = Cur().pos;
    TRACEDB_ASSIGN_OR_RETURN(auto first, And(depth));
    if (!IsWord(Cur(), "or")) return first;
    auto node = std::make_unique<ast::Expr>();
    node->kind = ast::Expr::Kind::kOr;
    node->pos = start;
    node->children.push_back(std::move(first));
    while (IsWord(Cur(), "or")) {
      ++pos_;
      TRACEDB_ASSIGN_OR_RETURN(auto next, And(depth));
      node->children.push_back(std::move(next));
    }
    return node;
  }

  Result<std::unique_ptr<ast::Expr>> And(int depth) {
    size_t start = Cur().pos;
    TRACEDB_ASSIGN_OR_RETURN(auto first, Unary(depth));
    if (!IsWord(Cur(), "and")) return first;
    auto node = std::make_unique<ast::Expr>();
    node->kind = ast::Expr::Kind::kAnd;
    node->pos = start;
    node->children.push_back(std::move(first));
    while (IsWord(Cur(), "and")) {
      ++pos_;
      TRACEDB_ASSIGN_OR_RETURN(auto next, Unary(depth));
      node->children.push_back(std::move(next));
    }
    return node;
  }

  Result<std::unique_ptr<ast::Expr>> Unary(int depth) {
    if (depth > kMaxDepth) return Error("query nested too deeply (limit " + std::to_string(kMaxDepth) + ")");
    if (++nodes_ > kMaxNodes) return Error("query too large (limit " + std::to_string(kMaxNodes) + " terms)");
    const Token& t = Cur();
    if (IsWord(t, "not")) {
      auto node = std::make_unique<ast::Expr>();
      node->kind = ast::Expr::Kind::kNot;
      node->pos = t.pos;
      ++pos_;
      TRACEDB_ASSIGN_OR_RETURN(auto child, Unary(depth + 1));
      node->children.push_back(std::move(child));
      return node;
    }
    if (t.kind == TokenKind::kLParen) {
      size_t open = t.pos;
      ++pos_;
      TRACEDB_ASSIGN_OR_RETURN(auto inner, Expr(depth + 1));
      if (Cur().kind != TokenKind::kRParen) {
        if (Cur().kind == TokenKind::kEnd) return ErrorAt(open, "unclosed '('");
        return Error("expected ')'");
      }
      ++pos_;
      return inner;
    }
    if (IsWord(t, "event") && Ahead(1).kind == TokenKind::kLBrace) {
      auto node = std::make_unique<ast::Expr>();
      node->kind = ast::Expr::Kind::kEvent;
      node->pos = t.pos;
      size_t open = Ahead(1).pos;
      pos_ += 2;
      if (Cur().kind != TokenKind::kRBrace) {
        TRACEDB_ASSIGN_OR_RETURN(auto inner, Expr(depth + 1));
        node->children.push_back(std::move(inner));
      }
      if (Cur().kind != TokenKind::kRBrace) {
        if (Cur().kind == TokenKind::kEnd) return ErrorAt(open, "unclosed '{'");
        return Error("expected '}'");
      }
      ++pos_;
      return node;
    }
    return Predicate();
  }

  Result<ast::FieldRef> Field() {
    ast::FieldRef f;
    f.pos = Cur().pos;
    if (Cur().kind != TokenKind::kIdent) return Error("expected a field name");
    f.path.push_back(Cur().text);
    ++pos_;
    while (Cur().kind == TokenKind::kDot) {
      ++pos_;
      const Token& seg = Cur();
      if (seg.kind == TokenKind::kIdent || seg.kind == TokenKind::kString || seg.kind == TokenKind::kInt) {
        f.path.push_back(seg.text);
        ++pos_;
      } else {
        return Error("expected a name after '.'");
      }
    }
    return f;
  }

  Result<std::unique_ptr<ast::Expr>> Predicate() {
    auto node = std::make_unique<ast::Expr>();
    node->kind = ast::Expr::Kind::kCompare;
    node->pos = Cur().pos;
    if (Cur().kind != TokenKind::kIdent) {
      if (Cur().kind == TokenKind::kEnd) return Error("expected a predicate");
      return Error("expected a field name");
    }
    TRACEDB_ASSIGN_OR_RETURN(node->field, Field());
    const Token& op = Cur();
    std::string after = "after '" + op.text + "'";
    switch (op.kind) {
      case TokenKind::kEq: node->op = ast::CompareOp::kEq; break;
      case TokenKind::kNe: node->op = ast::CompareOp::kNe; break;
      case TokenKind::kLt: node->op = ast::CompareOp::kLt; break;
      case TokenKind::kLe: node->op = ast::CompareOp::kLe; break;
      case TokenKind::kGt: node->op = ast::CompareOp::kGt; break;
      case TokenKind::kGe: node->op = ast::CompareOp::kGe; break;
      case TokenKind::kMatch: node->op = ast::CompareOp::kMatch; break;
      case TokenKind::kNotMatch: node->op = ast::CompareOp::kNotMatch; break;
      case TokenKind::kIdent: return WordPredicate(std::move(node));
      default: return Error("expected an operator (= != < <= > >= =~ !~ in like contains prefix exists)");
    }
    ++pos_;
    TRACEDB_ASSIGN_OR_RETURN(ast::Literal v, Value(after));
    node->values.push_back(std::move(v));
    return node;
  }

  Result<std::unique_ptr<ast::Expr>> WordPredicate(std::unique_ptr<ast::Expr> node) {
    bool negated = false;
    if (IsWord(Cur(), "not")) {
      negated = true;
      ++pos_;
    }
    const Token& w = Cur();
    std::string after = "after '" + w.text + "'";
    if (IsWord(w, "exists")) {
      node->op = negated ? ast::CompareOp::kNotExists : ast::CompareOp::kExists;
      ++pos_;
      return node;
    }
    if (IsWord(w, "in")) {
      node->op = negated ? ast::CompareOp::kNotIn : ast::CompareOp::kIn;
      ++pos_;
      TRACEDB_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "'(' after 'in'"));
      while (true) {
        TRACEDB_ASSIGN_OR_RETURN(ast::Literal v, Value("in the list"));
        node->values.push_back(std::move(v));
        if (node->values.size() > kMaxNodes) return Error("list too long");
        if (Cur().kind == TokenKind::kComma) {
          ++pos_;
          continue;
        }
        if (Cur().kind == TokenKind::kRParen) {
          ++pos_;
          return node;
        }
        return Error("expected ',' or ')' in the list");
      }
    }
    if (IsWord(w, "like")) {
      node->op = negated ? ast::CompareOp::kNotLike : ast::CompareOp::kLike;
    } else if (!negated && IsWord(w, "contains")) {
      node->op = ast::CompareOp::kContains;
    } else if (!negated && IsWord(w, "prefix")) {
      node->op = ast::CompareOp::kPrefix;
    } else {
      return Error(negated ? "expected 'in', 'like' or 'exists' after 'not'"
                           : "expected an operator (= != < <= > >= =~ !~ in like contains prefix exists)");
    }
    ++pos_;
    if (Cur().kind != TokenKind::kString) return Error("expected a string " + after);
    TRACEDB_ASSIGN_OR_RETURN(ast::Literal v, Value(after));
    node->values.push_back(std::move(v));
    return node;
  }

  Result<ast::Literal> Value(const std::string& context) {
    const Token& t = Cur();
    ast::Literal v;
    v.pos = t.pos;
    switch (t.kind) {
      case TokenKind::kString: v.kind = ast::Literal::Kind::kString; v.s = t.text; break;
      case TokenKind::kInt: v.kind = ast::Literal::Kind::kInt; v.i = t.i; v.d = t.d; break;
      case TokenKind::kFloat: v.kind = ast::Literal::Kind::kFloat; v.d = t.d; break;
      case TokenKind::kDuration: v.kind = ast::Literal::Kind::kDuration; v.i = t.i; break;
      case TokenKind::kTimestamp: v.kind = ast::Literal::Kind::kTimestamp; v.i = t.i; break;
      case TokenKind::kMinus: return Negative(context);
      case TokenKind::kIdent:
        if (IsWord(t, "and") || IsWord(t, "or") || IsWord(t, "not")) {
          return Error("expected a value " + context);
        }
        if (IsWord(t, "true") || IsWord(t, "false")) {
          v.kind = ast::Literal::Kind::kBool;
          v.b = IsWord(t, "true");
        } else if (IsWord(t, "now")) {
          return Now();
        } else {
          v.kind = ast::Literal::Kind::kWord;
          v.s = t.text;
        }
        break;
      default:
        return Error("expected a value " + context);
    }
    ++pos_;
    return v;
  }

  Result<ast::Literal> Negative(const std::string& context) {
    ast::Literal v;
    v.pos = Cur().pos;
    ++pos_;
    const Token& t = Cur();
    if (t.kind == TokenKind::kInt) {
      v.kind = ast::Literal::Kind::kInt;
      v.i = -t.i;
      v.d = -t.d;
    } else if (t.kind == TokenKind::kFloat) {
      v.kind = ast::Literal::Kind::kFloat;
      v.d = -t.d;
    } else if (t.kind == TokenKind::kDuration) {
      v.kind = ast::Literal::Kind::kDuration;
      v.i = -t.i;
    } else {
      return Error("expected a number after '-' " + context);
    }
    ++pos_;
    return v;
  }

  Result<ast::Literal> Now() {
    ast::Literal v;
    v.kind = ast::Literal::Kind::kNow;
    v.pos = Cur().pos;
    ++pos_;
    if (Cur().kind == TokenKind::kMinus || Cur().kind == TokenKind::kPlus) {
      bool minus = Cur().kind == TokenKind::kMinus;
      ++pos_;
      if (Cur().kind != TokenKind::kDuration) return Error("expected a duration such as 1h after 'now-'");
      v.i = minus ? -Cur().i : Cur().i;
      ++pos_;
    }
    return v;
  }

  Status Aggregates(ast::Query* q) {
    while (true) {
      ast::AggCall call;
      call.pos = Cur().pos;
      if (Cur().kind != TokenKind::kIdent) return Error("expected an aggregate such as count() after '|'");
      call.func = Cur().text;
      ++pos_;
      TRACEDB_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "'(' after the aggregate name"));
      if (Cur().kind != TokenKind::kRParen) {
        TRACEDB_ASSIGN_OR_RETURN(call.arg, Field());
      }
      TRACEDB_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "')'"));
      q->aggregates.push_back(std::move(call));
      if (q->aggregates.size() > 64) return Error("too many aggregates");
      if (Cur().kind != TokenKind::kComma) break;
      ++pos_;
    }
    if (IsWord(Cur(), "by")) {
      ++pos_;
      TRACEDB_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "'(' after 'by'"));
      while (true) {
        TRACEDB_ASSIGN_OR_RETURN(ast::GroupKey key, GroupKey());
        q->group_by.push_back(std::move(key));
        if (q->group_by.size() > 16) return Error("too many grouping fields");
        if (Cur().kind == TokenKind::kComma) {
          ++pos_;
          continue;
        }
        return Expect(TokenKind::kRParen, "',' or ')'");
      }
    }
    return Status::OK();
  }

  // field | "bucket" "(" [ field "," ] DURATION ")"
  Result<ast::GroupKey> GroupKey() {
    ast::GroupKey key;
    if (!IsWord(Cur(), "bucket") || Ahead(1).kind != TokenKind::kLParen) {
      TRACEDB_ASSIGN_OR_RETURN(key.field, Field());
      return key;
    }
    key.field.pos = Cur().pos;
    pos_ += 2;
    if (Cur().kind == TokenKind::kIdent) {
      TRACEDB_ASSIGN_OR_RETURN(key.field, Field());
      TRACEDB_RETURN_IF_ERROR(Expect(TokenKind::kComma, "',' and a bucket width after the field, e.g. bucket(start, 1m)"));
    }
    key.width_pos = Cur().pos;
    if (Cur().kind != TokenKind::kDuration) {
      return Error("expected a bucket width such as 1m, 5m or 1h");
    }
    key.bucket_ns = Cur().i;
    ++pos_;
    TRACEDB_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "')' after the bucket width"));
    return key;
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  size_t nodes_ = 0;
};

}  // namespace

Result<ast::Query> Parse(std::string_view text) {
  TRACEDB_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(text));
  return Parser(text, std::move(tokens)).Run();
}

}  // namespace tracedb::query
