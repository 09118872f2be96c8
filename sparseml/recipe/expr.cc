// Tokenizer, recursive-descent parser and evaluator for recipe eval() bodies, with Python 3 semantics.
#include "sparseml/recipe/expr.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace sparsify::ml::recipe {
namespace {

// Python's parser stops at 200 nested parentheses; recipes never come close. Bounds the C++ stack
// used by parsing and by evaluation (the tree is never deeper than the parser's recursion).
constexpr int kMaxDepth = 100;

// ---------------------------------------------------------------------------------------------
// Operators and values

enum class BinOp : std::uint8_t { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow };

// THE binary operator list. `level` is the precedence used by Parser::parse_chain (1 binds loosest);
// `**` (level 0) is right-associative and parsed by Parser::parse_power instead.
struct BinOpInfo {
  std::string_view symbol;
  BinOp op;
  int level;
};
constexpr BinOpInfo kBinOps[] = {
    {"+", BinOp::kAdd, 1},      {"-", BinOp::kSub, 1},  {"*", BinOp::kMul, 2}, {"/", BinOp::kDiv, 2},
    {"//", BinOp::kFloorDiv, 2}, {"%", BinOp::kMod, 2}, {"**", BinOp::kPow, 0},
};
constexpr int kLoosestLevel = 1;
constexpr int kTightestChainLevel = 2;

std::string_view op_symbol(BinOp op) {
  for (const BinOpInfo& info : kBinOps)
    if (info.op == op) return info.symbol;
  return "?";
}

constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
// 2^63 as a double: the first value past the int64 range.
constexpr double kTwoPow63 = 9223372036854775808.0;

// Bools take part in arithmetic as the ints 0 and 1, as in Python.
bool is_arith(const Value& v) { return v.is_int() || v.is_float() || v.is_bool(); }
bool is_int_like(const Value& v) { return v.is_int() || v.is_bool(); }
std::int64_t to_int(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }
double to_double(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1.0 : 0.0) : v.as_number(); }
const char* kind_of(const Value& v) { return Value::kind_name(v.kind()); }
std::string float_text(double f) { return Value::real(f).to_string(); }

Status division_by_zero(BinOp op) { return invalid_argument("division by zero in '", op_symbol(op), "'"); }

Status int_overflow(BinOp op, std::int64_t a, std::int64_t b) {
  return invalid_argument("integer overflow: ", a, " ", op_symbol(op), " ", b, " does not fit in a 64-bit int");
}

// Python's float divmod (CPython float_divmod): the remainder takes the divisor's sign.
void float_divmod(double x, double y, double* floor_div, double* mod) {
  double m = std::fmod(x, y);
  double div = (x - m) / y;
  if (m != 0.0) {
    if ((y < 0.0) != (m < 0.0)) {
      m += y;
      div -= 1.0;
    }
  } else {
    m = std::copysign(0.0, y);
  }
  double fd = 0.0;
  if (div != 0.0) {
    fd = std::floor(div);
    if (div - fd > 0.5) fd += 1.0;
  } else {
    fd = std::copysign(0.0, x / y);
  }
  *floor_div = fd;
  *mod = m;
}

StatusOr<Value> float_binary(BinOp op, double a, double b) {
  switch (op) {
    case BinOp::kAdd: return Value::real(a + b);
    case BinOp::kSub: return Value::real(a - b);
    case BinOp::kMul: return Value::real(a * b);
    case BinOp::kDiv:
      if (b == 0.0) return division_by_zero(op);
      return Value::real(a / b);
    case BinOp::kFloorDiv:
    case BinOp::kMod: {
      if (b == 0.0) return division_by_zero(op);
      double floor_div = 0.0, mod = 0.0;
      float_divmod(a, b, &floor_div, &mod);
      return Value::real(op == BinOp::kMod ? mod : floor_div);
    }
    case BinOp::kPow: {
      if (a == 0.0 && b < 0.0) return invalid_argument("division by zero: 0 cannot be raised to a negative power");
      const bool finite = std::isfinite(a) && std::isfinite(b);
      if (finite && a < 0.0 && b != std::floor(b))
        return invalid_argument("a negative number cannot be raised to a fractional power: ", float_text(a),
                                " ** ", float_text(b), " is complex");
      const double r = std::pow(a, b);
      if (finite && std::isinf(r))
        return invalid_argument("float overflow: ", float_text(a), " ** ", float_text(b), " is too large");
      return Value::real(r);
    }
  }
  return internal_error("unknown binary operator");
}

StatusOr<Value> int_pow(std::int64_t base, std::int64_t exp) {
  std::int64_t result = 1;
  std::int64_t square = base;
  // Square-and-multiply. If squaring overflows while exponent bits remain, the result (which
  // includes that square as a factor, and |base| >= 2 here) overflows too.
  for (std::int64_t e = exp; e != 0;) {
    if ((e & 1) != 0 && __builtin_mul_overflow(result, square, &result)) return int_overflow(BinOp::kPow, base, exp);
    e >>= 1;
    if (e != 0 && __builtin_mul_overflow(square, square, &square)) return int_overflow(BinOp::kPow, base, exp);
  }
  return Value::integer(result);
}

StatusOr<Value> int_binary(BinOp op, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  switch (op) {
    case BinOp::kAdd:
      if (__builtin_add_overflow(a, b, &r)) return int_overflow(op, a, b);
      return Value::integer(r);
    case BinOp::kSub:
      if (__builtin_sub_overflow(a, b, &r)) return int_overflow(op, a, b);
      return Value::integer(r);
    case BinOp::kMul:
      if (__builtin_mul_overflow(a, b, &r)) return int_overflow(op, a, b);
      return Value::integer(r);
    case BinOp::kDiv:
      if (b == 0) return division_by_zero(op);
      return Value::real(static_cast<double>(a) / static_cast<double>(b));
    case BinOp::kFloorDiv:
      if (b == 0) return division_by_zero(op);
      if (a == kInt64Min && b == -1) return int_overflow(op, a, b);
      r = a / b;
      if (a % b != 0 && ((a < 0) != (b < 0))) --r;  // C++ truncates; Python floors
      return Value::integer(r);
    case BinOp::kMod:
      if (b == 0) return division_by_zero(op);
      if (b == -1) return Value::integer(0);  // avoids INT64_MIN % -1, which traps
      r = a % b;
      if (r != 0 && ((r < 0) != (b < 0))) r += b;  // the remainder takes the divisor's sign
      return Value::integer(r);
    case BinOp::kPow:
      if (b < 0) return float_binary(op, static_cast<double>(a), static_cast<double>(b));
      return int_pow(a, b);
  }
  return internal_error("unknown binary operator");
}

StatusOr<Value> binary(BinOp op, const Value& a, const Value& b) {
  if (op == BinOp::kAdd && a.is_string() && b.is_string()) return Value::string(a.as_string() + b.as_string());
  if (!is_arith(a) || !is_arith(b))
    return invalid_argument("unsupported operand types for ", op_symbol(op), ": '", kind_of(a), "' and '",
                            kind_of(b), "'");
  if (is_int_like(a) && is_int_like(b)) return int_binary(op, to_int(a), to_int(b));
  return float_binary(op, to_double(a), to_double(b));
}

StatusOr<Value> unary(char op, const Value& v) {
  if (!is_arith(v)) return invalid_argument("bad operand type for unary ", op, ": '", kind_of(v), "'");
  if (is_int_like(v)) {
    const std::int64_t i = to_int(v);
    if (op == '+') return Value::integer(i);
    if (i == kInt64Min) return invalid_argument("integer overflow: -(", i, ") does not fit in a 64-bit int");
    return Value::integer(-i);
  }
  return Value::real(op == '-' ? -v.as_number() : v.as_number());
}

// ---------------------------------------------------------------------------------------------
// Built-in functions

StatusOr<Value> integral_float_to_int(std::string_view fn, double x) {
  if (std::isnan(x) || std::isinf(x))
    return invalid_argument(fn, "() cannot convert float ", float_text(x), " to an integer");
  if (!(x >= -kTwoPow63 && x < kTwoPow63))
    return invalid_argument(fn, "() result ", float_text(x), " does not fit in a 64-bit int");
  return Value::integer(static_cast<std::int64_t>(x));
}

// Python's round-half-to-even, for values with no fractional part beyond what a double holds.
double round_half_even(double x) {
  if (std::fabs(x - std::trunc(x)) == 0.5) return 2.0 * std::round(x / 2.0);
  return std::round(x);
}

bool is_python_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_python_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_python_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// int("  -1_000 ") as in Python: optional sign, digits with single underscores between them.
StatusOr<Value> parse_int_string(const std::string& text) {
  std::string_view s = strip(text);
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  std::string digits = negative ? "-" : "";
  bool valid = !s.empty() && is_digit(s.front()) && is_digit(s.back());
  for (size_t i = 0; valid && i < s.size(); ++i) {
    if (is_digit(s[i])) {
      digits += s[i];
    } else {
      valid = s[i] == '_' && s[i + 1] != '_';  // a trailing '_' is excluded by the back() check
    }
  }
  if (!valid) return invalid_argument("invalid literal for int() with base 10: '", text, "'");
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range)
    return invalid_argument("int() result '", text, "' does not fit in a 64-bit int");
  if (ec != std::errc() || ptr != digits.data() + digits.size())
    return invalid_argument("invalid literal for int() with base 10: '", text, "'");
  return Value::integer(value);
}

// float(" 1e-3 ") as in Python: surrounding whitespace, one optional sign, inf and nan spelled out.
StatusOr<Value> parse_float_string(const std::string& text) {
  std::string_view s = strip(text);
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  double value = 0.0;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = s.empty() || s.front() == '+' || s.front() == '-'
                             ? std::from_chars_result{s.data(), std::errc::invalid_argument}
                             : std::from_chars(s.data(), end, value);
  if (ec == std::errc::result_out_of_range)
    return invalid_argument("float() argument '", text, "' is out of range for a float");
  if (ec != std::errc() || ptr != end)
    return invalid_argument("float() could not convert string to float: '", text, "'");
  return Value::real(negative ? -value : value);
}

Status check_arith_arg(std::string_view fn, const Value& v) {
  if (is_arith(v)) return Status::ok_status();
  return invalid_argument(fn, "() argument must be a number, not '", kind_of(v), "'");
}

StatusOr<Value> fn_abs(const std::vector<Value>& args) {
  const Value& x = args[0];
  SPARSIFY_RETURN_IF_ERROR(check_arith_arg("abs", x));
  if (!is_int_like(x)) return Value::real(std::fabs(x.as_number()));
  const std::int64_t i = to_int(x);
  if (i == kInt64Min) return invalid_argument("abs() result for ", i, " does not fit in a 64-bit int");
  return Value::integer(i < 0 ? -i : i);
}

StatusOr<Value> fn_int(const std::vector<Value>& args) {
  const Value& x = args[0];
  if (is_int_like(x)) return Value::integer(to_int(x));
  if (x.is_float()) return integral_float_to_int("int", std::trunc(x.as_number()));
  if (x.is_string()) return parse_int_string(x.as_string());
  return invalid_argument("int() argument must be a string or a number, not '", kind_of(x), "'");
}

StatusOr<Value> fn_float(const std::vector<Value>& args) {
  const Value& x = args[0];
  if (is_arith(x)) return Value::real(to_double(x));
  if (x.is_string()) return parse_float_string(x.as_string());
  return invalid_argument("float() argument must be a string or a number, not '", kind_of(x), "'");
}

// round(int, ndigits < 0): half-to-even at a power of ten, exactly, in integers.
StatusOr<Value> round_int(std::int64_t x, std::int64_t ndigits) {
  if (ndigits >= 0) return Value::integer(x);
  const std::int64_t k = -ndigits;
  if (k > 19) return Value::integer(0);  // 10^k / 2 > |x|
  if (k == 19) {                         // 10^19 itself does not fit; |x| < 10^19
    if (x > 5000000000000000000LL || x < -5000000000000000000LL)
      return invalid_argument("round() result for ", x, " does not fit in a 64-bit int");
    return Value::integer(0);
  }
  std::int64_t p = 1;
  for (std::int64_t i = 0; i < k; ++i) p *= 10;
  std::int64_t q = x / p;
  std::int64_t r = x % p;
  if (r < 0) {  // floor, so that 0 <= r < p
    r += p;
    --q;
  }
  if (2 * r > p || (2 * r == p && (q & 1) != 0)) ++q;
  std::int64_t result = 0;
  if (__builtin_mul_overflow(q, p, &result))
    return invalid_argument("round() result for ", x, " does not fit in a 64-bit int");
  return Value::integer(result);
}

// round(float, ndigits): like CPython, correctly rounded through the decimal text for ndigits >= 0.
StatusOr<Value> round_float(double x, std::int64_t ndigits) {
  if (!std::isfinite(x) || x == 0.0) return Value::real(x);
  if (ndigits > 323) return Value::real(x);  // beyond a double's last decimal digit
  if (ndigits < -308) return Value::real(std::copysign(0.0, x));
  if (ndigits >= 0) {
    const int precision = static_cast<int>(ndigits);
    // glibc's printf rounds the exact binary value correctly, ties to even: round(2.675, 2) == 2.67.
    const int size = std::snprintf(nullptr, 0, "%.*f", precision, x);
    if (size <= 0) return internal_error("round(): could not format ", float_text(x));
    std::string buf(static_cast<size_t>(size) + 1, '\0');
    std::snprintf(buf.data(), buf.size(), "%.*f", precision, x);
    return Value::real(std::strtod(buf.c_str(), nullptr));  // same locale as snprintf
  }
  const double p = std::pow(10.0, static_cast<double>(-ndigits));
  const double r = round_half_even(x / p) * p;
  if (std::isinf(r)) return invalid_argument("round() result for ", float_text(x), " is too large for a float");
  return Value::real(r);
}

StatusOr<Value> fn_round(const std::vector<Value>& args) {
  const Value& x = args[0];
  SPARSIFY_RETURN_IF_ERROR(check_arith_arg("round", x));
  if (args.size() == 1 || args[1].is_null()) {
    if (is_int_like(x)) return Value::integer(to_int(x));
    return integral_float_to_int("round", round_half_even(x.as_number()));
  }
  if (!is_int_like(args[1]))
    return invalid_argument("round() ndigits must be an int, not '", kind_of(args[1]), "'");
  const std::int64_t ndigits = to_int(args[1]);
  if (is_int_like(x)) return round_int(to_int(x), ndigits);
  return round_float(x.as_number(), ndigits);
}

// Three-way comparison for min/max: numbers with numbers, strings with strings.
StatusOr<int> compare(std::string_view fn, const Value& a, const Value& b) {
  if (is_int_like(a) && is_int_like(b)) return to_int(a) < to_int(b) ? -1 : (to_int(a) > to_int(b) ? 1 : 0);
  if (is_arith(a) && is_arith(b)) return to_double(a) < to_double(b) ? -1 : (to_double(a) > to_double(b) ? 1 : 0);
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());
    return (c > 0) - (c < 0);
  }
  return invalid_argument(fn, "() cannot compare '", kind_of(a), "' and '", kind_of(b), "'");
}

// min/max over the arguments, or over the items of a single list argument. Ties keep the first,
// and the winner keeps its kind (min(1, 1.0) == 1), as in Python.
StatusOr<Value> extremum(std::string_view fn, const std::vector<Value>& args, bool want_max) {
  const std::vector<Value>* items = &args;
  if (args.size() == 1) {
    if (!args[0].is_list())
      return invalid_argument(fn, "() with one argument needs a list, got '", kind_of(args[0]), "'");
    items = &args[0].items();
    if (items->empty()) return invalid_argument(fn, "() arg is an empty list");
  }
  const Value* best = &items->front();
  for (size_t i = 1; i < items->size(); ++i) {
    SPARSIFY_ASSIGN_OR_RETURN(const int c, compare(fn, (*items)[i], *best));
    if (want_max ? c > 0 : c < 0) best = &(*items)[i];
  }
  return *best;
}

StatusOr<Value> fn_min(const std::vector<Value>& args) { return extremum("min", args, /*want_max=*/false); }
StatusOr<Value> fn_max(const std::vector<Value>& args) { return extremum("max", args, /*want_max=*/true); }

// THE function list: name, accepted argument counts (max_args < 0: unbounded), implementation.
struct Function {
  std::string_view name;
  int min_args;
  int max_args;
  StatusOr<Value> (*call)(const std::vector<Value>& args);
};
constexpr Function kFunctions[] = {
    {"abs", 1, 1, fn_abs}, {"float", 1, 1, fn_float}, {"int", 1, 1, fn_int},
    {"max", 1, -1, fn_max}, {"min", 1, -1, fn_min},  {"round", 1, 2, fn_round},
};

const Function* find_function(std::string_view name) {
  for (const Function& f : kFunctions)
    if (f.name == name) return &f;
  return nullptr;
}

std::string known_functions() {
  std::string out;
  for (const Function& f : kFunctions) out += str_cat(out.empty() ? "" : ", ", f.name);
  return out;
}

Status check_arg_count(const Function& f, size_t given) {
  const auto n = static_cast<int>(given);
  if (n >= f.min_args && (f.max_args < 0 || n <= f.max_args)) return Status::ok_status();
  const char* plural_min = f.min_args == 1 ? "" : "s";
  if (f.min_args == f.max_args)
    return invalid_argument(f.name, "() takes exactly ", f.min_args, " argument", plural_min, " (", n, " given)");
  if (n < f.min_args)
    return invalid_argument(f.name, "() takes at least ", f.min_args, " argument", plural_min, " (", n, " given)");
  return invalid_argument(f.name, "() takes at most ", f.max_args, " arguments (", n, " given)");
}

// ---------------------------------------------------------------------------------------------
// Tokens and syntax tree

enum class TokenKind : std::uint8_t { kLiteral, kName, kOp, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t offset = 0;
  std::string_view text;  // as written (a string literal keeps its quotes)
  Value value;            // kLiteral only
};

enum class NodeKind : std::uint8_t { kLiteral, kVariable, kUnary, kChain, kCall, kList };

struct ChainOp {
  BinOp op;
  size_t offset;
};

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  size_t offset = 0;            // where errors about this node point
  Value literal;                // kLiteral
  std::string_view name;        // kVariable, kCall: the identifier; kUnary: "+" or "-"
  std::vector<Node> children;   // kUnary: the operand; kChain: operands; kCall: arguments; kList: items
  std::vector<ChainOp> ops;     // kChain: ops[i] joins children[i] and children[i + 1]
};

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Quotes a token for messages; string literals already carry their quotes.
std::string quoted(const Token& t) {
  if (t.kind == TokenKind::kEnd) return "end of expression";
  if (t.kind == TokenKind::kLiteral && t.value.is_string()) return std::string(t.text);
  return str_cat("'", t.text, "'");
}

std::string quoted_char(char c) {
  if (c >= 0x20 && c < 0x7f) return str_cat("'", c, "'");
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
  return str_cat("byte ", buf);
}

// ---------------------------------------------------------------------------------------------
// Parser: text -> tokens -> tree. Syntax errors are found before anything is evaluated, as in Python.

class Parser {
 public:
  Parser(std::string_view text, size_t* error_offset) : text_(text), error_offset_(error_offset) {}

  StatusOr<Node> parse() {
    SPARSIFY_RETURN_IF_ERROR(tokenize());
    if (peek().kind == TokenKind::kEnd)
      return fail(peek().offset,
                  invalid_argument("empty expression: expected a value such as 3, 0.5, 'text', a name or '('"));
    SPARSIFY_ASSIGN_OR_RETURN(Node root, parse_chain(kLoosestLevel));
    const Token& t = peek();
    if (t.kind != TokenKind::kEnd)
      return fail(t.offset, invalid_argument("unexpected token ", quoted(t),
                                             ": expected an operator (+ - * / // % **) or the end of the expression"));
    return root;
  }

 private:
  Status fail(size_t offset, Status status) {
    *error_offset_ = offset;
    return status;
  }

  const Token& peek() const { return tokens_[pos_]; }
  bool peek_op(std::string_view op) const { return peek().kind == TokenKind::kOp && peek().text == op; }
  const Token& advance() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  Status tokenize() {
    size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      if (is_python_space(c)) {
        ++i;
      } else if (is_digit(c) || (c == '.' && i + 1 < text_.size() && is_digit(text_[i + 1]))) {
        SPARSIFY_RETURN_IF_ERROR(scan_number(&i));
      } else if (c == '\'' || c == '"') {
        SPARSIFY_RETURN_IF_ERROR(scan_string(&i));
      } else if (is_name_start(c)) {
        const size_t start = i;
        while (i < text_.size() && is_name_char(text_[i])) ++i;
        push_name(start, text_.substr(start, i - start));
      } else {
        const std::string_view two = text_.substr(i, 2);
        size_t len = (two == "**" || two == "//") ? 2 : 0;
        if (len == 0 && std::string_view("+-*/%()[],").find(c) != std::string_view::npos) len = 1;
        if (len == 0) {
          const bool comparison = std::string_view("<>=!").find(c) != std::string_view::npos;
          const char* hint = comparison ? " (comparisons are not supported)" : "";
          return fail(i, invalid_argument("unexpected character ", quoted_char(c), hint));
        }
        tokens_.push_back(Token{TokenKind::kOp, i, text_.substr(i, len), Value()});
        i += len;
      }
    }
    tokens_.push_back(Token{TokenKind::kEnd, text_.size(), std::string_view(), Value()});
    return Status::ok_status();
  }

  void push_name(size_t start, std::string_view name) {
    Token t{TokenKind::kLiteral, start, name, Value()};
    if (name == "True") {
      t.value = Value::boolean(true);
    } else if (name == "False") {
      t.value = Value::boolean(false);
    } else if (name == "None") {
      t.value = Value::null();
    } else {
      t.kind = TokenKind::kName;
    }
    tokens_.push_back(std::move(t));
  }

  // Python numeric literals: 3, 0.5, .5, 2., 1e-3. Ints must fit in 64 bits.
  Status scan_number(size_t* pos) {
    const size_t start = *pos;
    size_t i = start;
    auto digits = [&] { while (i < text_.size() && is_digit(text_[i])) ++i; };
    digits();
    bool is_float = false;
    if (i < text_.size() && text_[i] == '.') {
      is_float = true;
      ++i;
      digits();
    }
    if (i < text_.size() && (text_[i] == 'e' || text_[i] == 'E')) {
      size_t j = i + 1;
      if (j < text_.size() && (text_[j] == '+' || text_[j] == '-')) ++j;
      if (j < text_.size() && is_digit(text_[j])) {
        is_float = true;
        i = j;
        digits();
      }
    }
    // "2x", "1e", "1_000": Python rejects a name character glued to a number.
    if (i < text_.size() && (is_name_char(text_[i]) || text_[i] == '.')) {
      while (i < text_.size() && (is_name_char(text_[i]) || text_[i] == '.')) ++i;
      return fail(start, invalid_argument("invalid number literal '", text_.substr(start, i - start), "'"));
    }
    const std::string_view literal = text_.substr(start, i - start);
    Value value;
    if (is_float) {
      double f = 0.0;
      const auto [ptr, ec] = std::from_chars(literal.data(), literal.data() + literal.size(), f);
      if (ec == std::errc::result_out_of_range)
        return fail(start, invalid_argument("float literal '", literal, "' is out of range for a float"));
      if (ec != std::errc() || ptr != literal.data() + literal.size())
        return fail(start, invalid_argument("invalid number literal '", literal, "'"));
      value = Value::real(f);
    } else {
      if (literal.size() > 1 && literal.front() == '0' && literal.find_first_not_of('0') != std::string_view::npos)
        return fail(start, invalid_argument("leading zeros are not permitted in an integer literal: '", literal, "'"));
      std::int64_t n = 0;
      const auto [ptr, ec] = std::from_chars(literal.data(), literal.data() + literal.size(), n);
      if (ec == std::errc::result_out_of_range)
        return fail(start, invalid_argument("integer literal '", literal, "' does not fit in a 64-bit int"));
      if (ec != std::errc() || ptr != literal.data() + literal.size())
        return fail(start, invalid_argument("invalid number literal '", literal, "'"));
      value = Value::integer(n);
    }
    tokens_.push_back(Token{TokenKind::kLiteral, start, literal, std::move(value)});
    *pos = i;
    return Status::ok_status();
  }

  // A single- or double-quoted string on one line, with Python's common backslash escapes.
  Status scan_string(size_t* pos) {
    const size_t start = *pos;
    const char quote = text_[start];
    std::string s;
    size_t i = start + 1;
    while (true) {
      if (i >= text_.size() || text_[i] == '\n')
        return fail(start, invalid_argument("unterminated string literal: expected a closing ", quote));
      const char c = text_[i++];
      if (c == quote) break;
      if (c != '\\' || i >= text_.size()) {
        s += c;
        continue;
      }
      const char e = text_[i++];
      switch (e) {
        case 'n': s += '\n'; break;
        case 't': s += '\t'; break;
        case 'r': s += '\r'; break;
        case '0': s += '\0'; break;
        case '\\': case '\'': case '"': s += e; break;
        case '\n': break;  // line continuation
        default: s += '\\'; s += e; break;  // Python keeps unknown escapes as written
      }
    }
    tokens_.push_back(Token{TokenKind::kLiteral, start, text_.substr(start, i - start), Value::string(std::move(s))});
    *pos = i;
    return Status::ok_status();
  }

  // Left-associative operators of one precedence level: operand (op operand)*.
  StatusOr<Node> parse_chain(int level) {
    auto operand = [&]() { return level < kTightestChainLevel ? parse_chain(level + 1) : parse_factor(); };
    SPARSIFY_ASSIGN_OR_RETURN(Node first, operand());
    Node chain;
    chain.kind = NodeKind::kChain;
    chain.offset = first.offset;
    chain.children.push_back(std::move(first));
    while (peek().kind == TokenKind::kOp) {
      const BinOpInfo* info = nullptr;
      for (const BinOpInfo& candidate : kBinOps)
        if (candidate.level == level && candidate.symbol == peek().text) info = &candidate;
      if (info == nullptr) break;
      chain.ops.push_back(ChainOp{info->op, advance().offset});
      SPARSIFY_ASSIGN_OR_RETURN(Node next, operand());
      chain.children.push_back(std::move(next));
    }
    if (chain.ops.empty()) return std::move(chain.children.front());
    return chain;
  }

  // factor: ('+' | '-') factor | power. Every nesting (unary, parentheses, exponent, arguments)
  // passes through here, so this is where depth is bounded.
  StatusOr<Node> parse_factor() {
    if (depth_ >= kMaxDepth)
      return fail(peek().offset,
                  invalid_argument("expression is nested too deeply (more than ", kMaxDepth, " levels)"));
    ++depth_;
    StatusOr<Node> result = parse_factor_unbounded();
    --depth_;
    return result;
  }

  StatusOr<Node> parse_factor_unbounded() {
    if (!peek_op("+") && !peek_op("-")) return parse_power();
    Node node;
    node.kind = NodeKind::kUnary;
    node.offset = peek().offset;
    node.name = advance().text;
    SPARSIFY_ASSIGN_OR_RETURN(Node operand, parse_factor());
    node.children.push_back(std::move(operand));
    return node;
  }

  // power: atom ['**' factor]. The exponent is a factor, so `2 ** -1` parses and `2 ** 3 ** 2`
  // groups to the right; a unary minus on the left applies to the whole power (-2 ** 2 == -4).
  StatusOr<Node> parse_power() {
    SPARSIFY_ASSIGN_OR_RETURN(Node base, parse_atom());
    if (!peek_op("**")) return base;
    Node node;
    node.kind = NodeKind::kChain;
    node.offset = base.offset;
    node.ops.push_back(ChainOp{BinOp::kPow, advance().offset});
    SPARSIFY_ASSIGN_OR_RETURN(Node exponent, parse_factor());
    node.children.push_back(std::move(base));
    node.children.push_back(std::move(exponent));
    return node;
  }

  // atom: literal | name | name '(' args ')' | '(' expr ')' | '[' items ']'.
  StatusOr<Node> parse_atom() {
    const Token& t = advance();
    Node node;
    node.offset = t.offset;
    if (t.kind == TokenKind::kLiteral) {
      node.literal = t.value;
      return node;
    }
    if (t.kind == TokenKind::kName) {
      node.name = t.text;
      node.kind = NodeKind::kVariable;
      if (!peek_op("(")) return node;
      advance();
      node.kind = NodeKind::kCall;
      SPARSIFY_RETURN_IF_ERROR(parse_sequence(")", str_cat("the call to ", t.text, "()"), &node.children));
      return node;
    }
    if (t.kind == TokenKind::kOp && t.text == "(") {
      SPARSIFY_ASSIGN_OR_RETURN(Node inner, parse_chain(kLoosestLevel));
      if (!peek_op(")"))
        return fail(peek().offset, invalid_argument("expected ')' to close '(', got ", quoted(peek())));
      advance();
      return inner;
    }
    if (t.kind == TokenKind::kOp && t.text == "[") {
      node.kind = NodeKind::kList;
      SPARSIFY_RETURN_IF_ERROR(parse_sequence("]", "the list", &node.children));
      return node;
    }
    constexpr const char* kValue = "a value (number, string, name, '(' or '[')";
    if (t.kind == TokenKind::kEnd)
      return fail(t.offset, invalid_argument("expected ", kValue, ", got end of expression"));
    return fail(t.offset, invalid_argument("unexpected token ", quoted(t), ": expected ", kValue));
  }

  // Comma-separated expressions up to `close` (already past the opening bracket); a trailing comma
  // is allowed, as in Python.
  Status parse_sequence(std::string_view close, const std::string& what, std::vector<Node>* items) {
    while (!peek_op(close)) {
      SPARSIFY_ASSIGN_OR_RETURN(Node item, parse_chain(kLoosestLevel));
      items->push_back(std::move(item));
      if (peek_op(",")) {
        advance();
        continue;
      }
      if (!peek_op(close))
        return fail(peek().offset,
                    invalid_argument("expected '", close, "' or ',' in ", what, ", got ", quoted(peek())));
    }
    advance();
    return Status::ok_status();
  }

  std::string_view text_;
  size_t* error_offset_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Evaluator: walks the tree left to right, as Python evaluates.

class Evaluator {
 public:
  Evaluator(const VariableLookup& lookup, size_t* error_offset) : lookup_(lookup), error_offset_(error_offset) {}

  StatusOr<Value> eval(const Node& node) {
    switch (node.kind) {
      case NodeKind::kLiteral:
        return node.literal;
      case NodeKind::kVariable: {
        const Value* value = lookup_ ? lookup_(node.name) : nullptr;
        if (value == nullptr) return fail(node.offset, not_found("undefined variable '", node.name, "'"));
        return *value;
      }
      case NodeKind::kUnary: {
        SPARSIFY_ASSIGN_OR_RETURN(Value operand, eval(node.children.front()));
        return at(node.offset, unary(node.name.front(), operand));
      }
      case NodeKind::kChain: {
        SPARSIFY_ASSIGN_OR_RETURN(Value acc, eval(node.children.front()));
        for (size_t i = 0; i < node.ops.size(); ++i) {
          SPARSIFY_ASSIGN_OR_RETURN(Value rhs, eval(node.children[i + 1]));
          SPARSIFY_ASSIGN_OR_RETURN(acc, at(node.ops[i].offset, binary(node.ops[i].op, acc, rhs)));
        }
        return acc;
      }
      case NodeKind::kCall:
        return eval_call(node);
      case NodeKind::kList: {
        SPARSIFY_ASSIGN_OR_RETURN(std::vector<Value> items, eval_all(node.children));
        return Value::list(std::move(items));
      }
    }
    return fail(node.offset, internal_error("unknown expression node"));
  }

 private:
  Status fail(size_t offset, Status status) {
    *error_offset_ = offset;
    return status;
  }

  // Attaches `offset` to an error from a helper that does not know where it is.
  StatusOr<Value> at(size_t offset, StatusOr<Value> result) {
    if (!result.ok()) *error_offset_ = offset;
    return result;
  }

  StatusOr<std::vector<Value>> eval_all(const std::vector<Node>& nodes) {
    std::vector<Value> values;
    values.reserve(nodes.size());
    for (const Node& n : nodes) {
      SPARSIFY_ASSIGN_OR_RETURN(Value v, eval(n));
      values.push_back(std::move(v));
    }
    return values;
  }

  // As in Python: the name is resolved first, then the arguments are evaluated, then counted.
  StatusOr<Value> eval_call(const Node& node) {
    const Function* f = find_function(node.name);
    if (f == nullptr)
      return fail(node.offset,
                  invalid_argument("unknown function '", node.name, "'; known functions: ", known_functions()));
    SPARSIFY_ASSIGN_OR_RETURN(std::vector<Value> args, eval_all(node.children));
    const Status count = check_arg_count(*f, args.size());
    if (!count.ok()) return fail(node.offset, count);
    return at(node.offset, f->call(args));
  }

  const VariableLookup& lookup_;
  size_t* error_offset_;
};

}  // namespace

StatusOr<Value> evaluate_expression(std::string_view text, const VariableLookup& lookup, ExprError* error) {
  size_t error_offset = 0;
  StatusOr<Value> result = [&]() -> StatusOr<Value> {
    Parser parser(text, &error_offset);
    SPARSIFY_ASSIGN_OR_RETURN(Node root, parser.parse());
    return Evaluator(lookup, &error_offset).eval(root);
  }();
  if (!result.ok() && error != nullptr) error->offset = error_offset;
  return result;
}

}  // namespace sparsify::ml::recipe
