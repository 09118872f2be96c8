// Tests for evaluate_expression: Python 3 precedence, int/float kinds, floor semantics, functions, errors.
#include "sparseml/recipe/expr.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <string>

namespace sparsify::ml::recipe {
namespace {

// Variables every test can see.
const std::map<std::string, Value, std::less<>>& test_variables() {
  static const std::map<std::string, Value, std::less<>> kVars = {
      {"num_epochs", Value::integer(10)},
      {"lr", Value::real(0.1)},
      {"name", Value::string("resnet")},
      {"sparsities", Value::list({Value::real(0.5), Value::integer(1), Value::real(0.25)})},
      {"flag", Value::boolean(true)},
      {"nothing", Value::null()},
  };
  return kVars;
}

const Value* test_lookup(std::string_view name) {
  const auto& vars = test_variables();
  const auto it = vars.find(name);
  return it == vars.end() ? nullptr : &it->second;
}

Value eval_ok(std::string_view text) {
  StatusOr<Value> r = evaluate_expression(text, test_lookup);
  INFO("expression: " << text << "  status: " << r.status().to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::int64_t eval_int(std::string_view text) {
  const Value v = eval_ok(text);
  INFO("expression: " << text << " = " << v.to_string());
  REQUIRE(v.is_int());
  return v.as_int();
}

double eval_float(std::string_view text) {
  const Value v = eval_ok(text);
  INFO("expression: " << text << " = " << v.to_string());
  REQUIRE(v.is_float());
  return v.as_number();
}

struct Failure {
  StatusCode code;
  std::string message;
  size_t offset;
};

Failure eval_error(std::string_view text) {
  ExprError where;
  where.offset = 12345;  // must be overwritten
  StatusOr<Value> r = evaluate_expression(text, test_lookup, &where);
  INFO("expression: " << text);
  REQUIRE_FALSE(r.ok());
  return Failure{r.status().code(), r.status().message(), where.offset};
}

TEST_CASE("expr: literals") {
  CHECK(eval_int("3") == 3);
  CHECK(eval_int("0") == 0);
  CHECK(eval_int("00") == 0);
  CHECK(eval_int("9223372036854775807") == std::numeric_limits<std::int64_t>::max());
  CHECK(eval_float("0.5") == 0.5);
  CHECK(eval_float(".5") == 0.5);
  CHECK(eval_float("2.") == 2.0);
  CHECK(eval_float("1e-3") == 0.001);
  CHECK(eval_float("1E3") == 1000.0);
  CHECK(eval_float("1.5e+2") == 150.0);
  CHECK(eval_ok("'abc'").as_string() == "abc");
  CHECK(eval_ok("\"it's\"").as_string() == "it's");
  CHECK(eval_ok("'a\\'b\\n'").as_string() == "a'b\n");
  CHECK(eval_ok("''").as_string().empty());
  CHECK(eval_ok("True").is_bool());
  CHECK(eval_ok("True").as_bool());
  CHECK_FALSE(eval_ok("False").as_bool());
  CHECK(eval_ok("None").is_null());
  CHECK(eval_int("  \t 7 \n") == 7);
}

TEST_CASE("expr: list literals") {
  const Value v = eval_ok("[1, 2.5, 'x', num_epochs]");
  REQUIRE(v.is_list());
  REQUIRE(v.items().size() == 4);
  CHECK(v.items()[0].is_int());
  CHECK(v.items()[1].is_float());
  CHECK(v.items()[2].as_string() == "x");
  CHECK(v.items()[3].as_int() == 10);
  CHECK(eval_ok("[]").items().empty());
  CHECK(eval_ok("[1, 2,]").items().size() == 2);
}

TEST_CASE("expr: precedence and associativity") {
  CHECK(eval_int("1 + 2 * 3") == 7);
  CHECK(eval_int("(1 + 2) * 3") == 9);
  CHECK(eval_int("10 - 4 - 3") == 3);        // left-associative
  CHECK(eval_float("100 / 10 / 5") == 2.0);  // left-associative
  CHECK(eval_int("2 * 3 % 4") == 2);         // same level, left to right
  CHECK(eval_int("17 // 5 * 5") == 15);
  CHECK(eval_int("2 ** 3 ** 2") == 512);     // right-associative
  CHECK(eval_int("(2 ** 3) ** 2") == 64);
  CHECK(eval_int("-2 ** 2") == -4);          // ** binds tighter than unary minus on its left
  CHECK(eval_int("(-2) ** 2") == 4);
  CHECK(eval_float("2 ** -1") == 0.5);       // unary minus on the exponent
  CHECK(eval_int("2 * -3") == -6);
  CHECK(eval_int("--3") == 3);
  CHECK(eval_int("-+-3") == 3);
  CHECK(eval_int("+4") == 4);
  CHECK(eval_int("1 + 2 ** 3 * 2") == 17);
  CHECK(eval_int("-3 // 2") == -2);          // unary minus binds tighter than //
  CHECK(eval_int("((((1))))") == 1);
}

TEST_CASE("expr: int stays int, any float operand gives float") {
  CHECK(eval_int("7 + 3") == 10);
  CHECK(eval_int("7 - 10") == -3);
  CHECK(eval_int("7 * 3") == 21);
  CHECK(eval_int("7 // 2") == 3);
  CHECK(eval_int("7 % 3") == 1);
  CHECK(eval_int("3 ** 4") == 81);
  CHECK(eval_int("5 ** 0") == 1);
  CHECK(eval_int("0 ** 0") == 1);
  CHECK(eval_float("6 / 3") == 2.0);  // '/' is always true division
  CHECK(eval_float("7 / 2") == 3.5);
  CHECK(eval_float("1 + 0.5") == 1.5);
  CHECK(eval_float("2 * 1.0") == 2.0);
  CHECK(eval_float("4.0 ** 0.5") == 2.0);
  CHECK(eval_float("2.0 ** 2") == 4.0);
  CHECK(eval_float("-0.5") == -0.5);
  CHECK(eval_float("num_epochs - 2 * 0.5") == 9.0);
  CHECK(eval_int("True + True") == 2);  // bools are ints in Python arithmetic
  CHECK(eval_float("True / 2") == 0.5);
}

TEST_CASE("expr: floor division and modulo follow Python with negatives") {
  CHECK(eval_int("-7 // 2") == -4);
  CHECK(eval_int("7 // -2") == -4);
  CHECK(eval_int("-7 // -2") == 3);
  CHECK(eval_int("-7 % 2") == 1);
  CHECK(eval_int("7 % -2") == -1);
  CHECK(eval_int("-7 % -2") == -1);
  CHECK(eval_int("-8 % 2") == 0);
  CHECK(eval_int("-9223372036854775807 - 1 % -1") == -9223372036854775807);
  CHECK(eval_int("(-9223372036854775807 - 1) % -1") == 0);
  CHECK(eval_float("7.5 // 2") == 3.0);
  CHECK(eval_float("-7.5 // 2") == -4.0);
  CHECK(eval_float("7.5 % 2") == 1.5);
  CHECK(eval_float("-7.5 % 2") == 0.5);
  CHECK(eval_float("7.5 % -2") == -0.5);
  CHECK(eval_float("-7 // 2.0") == -4.0);
}

TEST_CASE("expr: division by zero") {
  for (const char* text : {"1 / 0", "1 // 0", "1 % 0", "1.5 / 0.0", "1.5 // 0", "2 % 0.0", "0 ** -1", "0.0 ** -2"}) {
    const Failure f = eval_error(text);
    INFO(text << " -> " << f.message);
    CHECK(f.code == StatusCode::kInvalidArgument);
    CHECK_THAT(f.message, Catch::Contains("division by zero"));
  }
  const Failure f = eval_error("num_epochs / (2 - 2)");
  CHECK(f.offset == 11);  // the '/' operator
}

TEST_CASE("expr: int64 overflow is an error, never a wrap") {
  for (const char* text : {"9223372036854775807 + 1", "-9223372036854775807 - 2", "4611686018427387904 * 2",
                           "2 ** 63", "3 ** 40", "(-9223372036854775807 - 1) // -1",
                           "-(-9223372036854775807 - 1)", "abs(-9223372036854775807 - 1)"}) {
    const Failure f = eval_error(text);
    INFO(text << " -> " << f.message);
    CHECK(f.code == StatusCode::kInvalidArgument);
    CHECK_THAT(f.message, Catch::Contains("64-bit"));
  }
  CHECK(eval_int("2 ** 62") == (std::int64_t{1} << 62));
  CHECK_THAT(eval_error("-2 ** 63").message, Catch::Contains("overflow"));  // 2 ** 63 overflows before negation
  CHECK(eval_int("(-2) ** 63") == std::numeric_limits<std::int64_t>::min());
  CHECK(eval_int("1 ** 9223372036854775807") == 1);
  CHECK(eval_int("(-1) ** 9223372036854775807") == -1);
  CHECK(eval_error("99999999999999999999").message.find("64-bit") != std::string::npos);
  CHECK_THAT(eval_error("10.0 ** 400").message, Catch::Contains("overflow"));
}

TEST_CASE("expr: strings") {
  CHECK(eval_ok("'res' + 'net'").as_string() == "resnet");
  CHECK(eval_ok("name + '_pruned'").as_string() == "resnet_pruned");
  const Failure f = eval_error("name - 1");
  CHECK(f.code == StatusCode::kInvalidArgument);
  CHECK(f.message == "unsupported operand types for -: 'string' and 'int'");
  CHECK(f.offset == 5);
  CHECK_THAT(eval_error("'a' * 3").message, Catch::Contains("unsupported operand types for *: 'string' and 'int'"));
  CHECK_THAT(eval_error("1 + 'a'").message, Catch::Contains("'int' and 'string'"));
  CHECK_THAT(eval_error("-'a'").message, Catch::Contains("unary -: 'string'"));
  CHECK_THAT(eval_error("None + 1").message, Catch::Contains("'null' and 'int'"));
  CHECK_THAT(eval_error("sparsities + 1").message, Catch::Contains("'list' and 'int'"));
}

TEST_CASE("expr: variables") {
  CHECK(eval_int("num_epochs") == 10);
  CHECK(eval_float("lr") == 0.1);
  CHECK(eval_float("lr * 10") == 1.0);
  CHECK(eval_int("num_epochs // 3") == 3);
  CHECK(eval_ok("sparsities").items().size() == 3);
  CHECK(eval_ok("flag").as_bool());
  CHECK(eval_ok("nothing").is_null());

  const Failure f = eval_error("1 + num_epoch * 2");
  CHECK(f.code == StatusCode::kNotFound);
  CHECK(f.message == "undefined variable 'num_epoch'");
  CHECK(f.offset == 4);

  // No lookup at all: every name is undefined.
  StatusOr<Value> r = evaluate_expression("x", VariableLookup());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNotFound);

  // The lookup sees exactly the identifier.
  std::string seen;
  const Value one = Value::integer(1);
  r = evaluate_expression(" _a1_b2 + 1", [&](std::string_view name) {
    seen = std::string(name);
    return &one;
  });
  REQUIRE(r.ok());
  CHECK(seen == "_a1_b2");
  CHECK(r->as_int() == 2);
}

TEST_CASE("expr: min and max") {
  CHECK(eval_int("min(3, 1, 2)") == 1);
  CHECK(eval_int("max(3, 1, 2)") == 3);
  CHECK(eval_float("min(1, 0.5)") == 0.5);
  CHECK(eval_int("max(1, 0.5)") == 1);      // the winner keeps its kind
  CHECK(eval_int("min(1, 1.0)") == 1);      // ties keep the first
  CHECK(eval_float("min(1.0, 1)") == 1.0);
  CHECK(eval_int("max(sparsities)") == 1);
  CHECK(eval_float("min(sparsities)") == 0.25);
  CHECK(eval_int("max([4, 9, 2])") == 9);
  CHECK(eval_int("min(num_epochs, 5)") == 5);
  CHECK(eval_ok("max('a', 'b')").as_string() == "b");

  CHECK_THAT(eval_error("min()").message, Catch::Contains("min()") && Catch::Contains("at least 1"));
  CHECK_THAT(eval_error("min(7)").message, Catch::Contains("min()") && Catch::Contains("list"));
  CHECK_THAT(eval_error("max([])").message, Catch::Contains("max()") && Catch::Contains("empty"));
  CHECK_THAT(eval_error("max(1, 'a')").message, Catch::Contains("max()") && Catch::Contains("cannot compare"));
}

TEST_CASE("expr: abs, int, float") {
  CHECK(eval_int("abs(-3)") == 3);
  CHECK(eval_int("abs(3)") == 3);
  CHECK(eval_float("abs(-2.5)") == 2.5);
  CHECK(eval_int("int(3.9)") == 3);
  CHECK(eval_int("int(-3.9)") == -3);  // truncates toward zero
  CHECK(eval_int("int(7)") == 7);
  CHECK(eval_int("int(True)") == 1);
  CHECK(eval_int("int('42')") == 42);
  CHECK(eval_int("int(' -42 ')") == -42);
  CHECK(eval_int("int('1_000')") == 1000);
  CHECK(eval_int("int(num_epochs * 0.75)") == 7);
  CHECK(eval_float("float(3)") == 3.0);
  CHECK(eval_float("float(2.5)") == 2.5);
  CHECK(eval_float("float('1e-3')") == 0.001);
  CHECK(eval_float("float(' -.5 ')") == -0.5);
  CHECK(eval_float("float('+2')") == 2.0);

  CHECK_THAT(eval_error("int('3.5')").message, Catch::Contains("int()") && Catch::Contains("'3.5'"));
  CHECK_THAT(eval_error("int('abc')").message, Catch::Contains("int()"));
  CHECK_THAT(eval_error("int(1e30)").message, Catch::Contains("int()") && Catch::Contains("64-bit"));
  CHECK_THAT(eval_error("int(sparsities)").message, Catch::Contains("int()") && Catch::Contains("'list'"));
  CHECK_THAT(eval_error("float('x')").message, Catch::Contains("float()") && Catch::Contains("'x'"));
  CHECK_THAT(eval_error("float('+-1')").message, Catch::Contains("float()"));
  CHECK_THAT(eval_error("float(None)").message, Catch::Contains("float()") && Catch::Contains("'null'"));
  CHECK_THAT(eval_error("abs('x')").message, Catch::Contains("abs()") && Catch::Contains("'string'"));
  CHECK_THAT(eval_error("abs(1, 2)").message, Catch::Contains("abs() takes exactly 1 argument (2 given)"));
  CHECK_THAT(eval_error("int()").message, Catch::Contains("int() takes exactly 1 argument (0 given)"));
}

TEST_CASE("expr: round uses banker's rounding") {
  CHECK(eval_int("round(2.5)") == 2);
  CHECK(eval_int("round(3.5)") == 4);
  CHECK(eval_int("round(0.5)") == 0);
  CHECK(eval_int("round(1.5)") == 2);
  CHECK(eval_int("round(-2.5)") == -2);
  CHECK(eval_int("round(-3.5)") == -4);
  CHECK(eval_int("round(2.6)") == 3);
  CHECK(eval_int("round(-2.4)") == -2);
  CHECK(eval_int("round(7)") == 7);
  CHECK(eval_int("round(num_epochs * 0.25)") == 2);  // 2.5 -> 2
  CHECK(eval_int("round(2.5, None)") == 2);

  CHECK(eval_float("round(2.675, 2)") == 2.67);  // 2.675 is really 2.67499999..., as in Python
  CHECK(eval_float("round(0.125, 2)") == 0.12);  // an exact tie goes to even
  CHECK(eval_float("round(0.375, 2)") == 0.38);
  CHECK(eval_float("round(3.14159, 3)") == 3.142);
  CHECK(eval_float("round(2.5, 0)") == 2.0);
  CHECK(eval_float("round(1234.5, -1)") == 1230.0);
  CHECK(eval_float("round(1250.0, -2)") == 1200.0);
  CHECK(eval_int("round(1234, 2)") == 1234);  // an int stays an int, as in Python
  CHECK(eval_int("round(15, -1)") == 20);
  CHECK(eval_int("round(25, -1)") == 20);
  CHECK(eval_int("round(-15, -1)") == -20);
  CHECK(eval_int("round(1234, -2)") == 1200);
  CHECK(eval_int("round(9223372036854775807, -30)") == 0);

  CHECK_THAT(eval_error("round(1e300)").message, Catch::Contains("round()") && Catch::Contains("64-bit"));
  CHECK_THAT(eval_error("round(2.5, 1.0)").message, Catch::Contains("round()") && Catch::Contains("ndigits"));
  CHECK_THAT(eval_error("round('a')").message, Catch::Contains("round()"));
  CHECK_THAT(eval_error("round(1, 2, 3)").message, Catch::Contains("round() takes at most 2 arguments (3 given)"));
  CHECK_THAT(eval_error("round(9223372036854775807, -19)").message, Catch::Contains("round()"));
}

TEST_CASE("expr: unknown functions list the known ones") {
  const Failure f = eval_error("2 * sqrt(4)");
  CHECK(f.code == StatusCode::kInvalidArgument);
  CHECK_THAT(f.message, Catch::Contains("unknown function 'sqrt'"));
  for (const char* fn : {"abs", "float", "int", "max", "min", "round"}) CHECK_THAT(f.message, Catch::Contains(fn));
  CHECK(f.offset == 4);
}

TEST_CASE("expr: syntax errors say what was expected") {
  Failure f = eval_error("");
  CHECK(f.code == StatusCode::kInvalidArgument);
  CHECK_THAT(f.message, Catch::Contains("empty expression"));
  CHECK(f.offset == 0);
  CHECK_THAT(eval_error("   ").message, Catch::Contains("empty expression"));

  f = eval_error("(1 + 2");
  CHECK_THAT(f.message, Catch::Contains("expected ')'") && Catch::Contains("end of expression"));
  CHECK(f.offset == 6);

  f = eval_error("1 + 2)");
  CHECK_THAT(f.message, Catch::Contains("unexpected token ')'"));
  CHECK(f.offset == 5);

  f = eval_error("1 2");
  CHECK_THAT(f.message, Catch::Contains("unexpected token '2'"));
  CHECK(f.offset == 2);

  f = eval_error("1 +");
  CHECK_THAT(f.message, Catch::Contains("expected a value") && Catch::Contains("end of expression"));
  CHECK(f.offset == 3);

  f = eval_error("1 + * 2");
  CHECK_THAT(f.message, Catch::Contains("unexpected token '*'"));
  CHECK(f.offset == 4);

  f = eval_error("min(1, 2");
  CHECK_THAT(f.message, Catch::Contains("expected ')'") && Catch::Contains("min()"));
  CHECK(f.offset == 8);

  f = eval_error("[1, 2");
  CHECK_THAT(f.message, Catch::Contains("expected ']'"));

  f = eval_error("1 + 'abc");
  CHECK_THAT(f.message, Catch::Contains("unterminated string"));
  CHECK(f.offset == 4);

  f = eval_error("num_epochs > 2");
  CHECK_THAT(f.message, Catch::Contains("unexpected character '>'") && Catch::Contains("comparisons"));
  CHECK(f.offset == 11);

  CHECK_THAT(eval_error("2x").message, Catch::Contains("invalid number literal '2x'"));
  CHECK_THAT(eval_error("1e").message, Catch::Contains("invalid number literal"));
  CHECK_THAT(eval_error("1.2.3").message, Catch::Contains("invalid number literal"));
  CHECK_THAT(eval_error("007").message, Catch::Contains("leading zeros"));
  CHECK_THAT(eval_error("'a' 'b'").message, Catch::Contains("unexpected token 'b'"));
  CHECK_THAT(eval_error("1 $ 2").message, Catch::Contains("unexpected character '$'"));
}

TEST_CASE("expr: syntax errors are reported before evaluation errors") {
  // As in Python: the whole text is parsed before anything is evaluated.
  const Failure f = eval_error("1 / 0 +");
  CHECK_THAT(f.message, Catch::Contains("expected a value"));
  const Failure g = eval_error("undefined_name (");
  CHECK(g.code == StatusCode::kInvalidArgument);
}

TEST_CASE("expr: evaluation is left to right") {
  // The first failing operand wins, so the offset points at it.
  const Failure f = eval_error("aaa + bbb");
  CHECK(f.code == StatusCode::kNotFound);
  CHECK_THAT(f.message, Catch::Contains("'aaa'"));
  CHECK(f.offset == 0);
  const Failure g = eval_error("max(1, zzz)");
  CHECK(g.code == StatusCode::kNotFound);
  CHECK(g.offset == 7);
}

TEST_CASE("expr: deep nesting is rejected, not a stack overflow") {
  const std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
  CHECK_THAT(eval_error(deep).message, Catch::Contains("nested too deeply"));
  CHECK_THAT(eval_error(std::string(5000, '-') + "1").message, Catch::Contains("nested too deeply"));
  const std::string ok = std::string(50, '(') + "1" + std::string(50, ')');
  CHECK(eval_int(ok) == 1);
  // Long flat chains are fine: they are evaluated iteratively.
  std::string sum = "0";
  for (int i = 0; i < 5000; ++i) sum += " + 1";
  CHECK(eval_int(sum) == 5000);
}

TEST_CASE("expr: the error offset is left alone on success") {
  ExprError where;
  where.offset = 99;
  StatusOr<Value> r = evaluate_expression("1 + 1", test_lookup, &where);
  REQUIRE(r.ok());
  CHECK(where.offset == 99);
  // A null error pointer is allowed.
  CHECK_FALSE(evaluate_expression("1 +", test_lookup, nullptr).ok());
}

}  // namespace
}  // namespace sparsify::ml::recipe
