"""Custom metric formulas parse by our grammar only, evaluate like the metrics (None, never 0), and refuse bad input."""

from __future__ import annotations

import ast
import math
from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gateway.formulas
from gateway.errors import BadUserInput, ErrorCode
from gateway.formulas import (
    BUILTIN_METRICS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TEXT_LENGTH,
    Binary,
    Formula,
    FormulaError,
    Name,
    Negate,
    Node,
    Number,
    Operator,
    parse,
    validate_name,
)
from gateway.metrics import Metric

VALUES = {
    "revenue": 1200.0, "calls_handled": 40.0, "leads_converted": 9.0, "leads_generated": 50.0, "cost": 300.0,
    "roi": 3.0, "calls_total": 10.0, "transfers": 0.0,
}


# --- what parses, and to what -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("revenue / calls_handled", 30.0),
        ("(leads_converted + 1) * 100 / leads_generated", 20.0),
        ("-cost", -300.0),
        ("2.5e3 * roi", 7500.0),
        ("calls_total", 10.0),
        ("42", 42.0),
    ],
)
def test_the_examples_evaluate_to_their_arithmetic_value(text: str, expected: float) -> None:
    assert parse(text).evaluate(VALUES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8 / 4 / 2", 1.0),
        ("2 - 3 - 4", -5.0),
        ("-2 * 3", -6.0),
        ("2 * -3", -6.0),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("2 * 3 + 4 * 5", 26.0),
        ("10 - 4 / 2", 8.0),
        ("2 - -3", 5.0),
        ("--2", 2.0),
        ("+2", 2.0),
        ("-(2 + 3) * 2", -10.0),
        ("8 / (4 / 2)", 4.0),
        ("2 - (3 - 4)", 3.0),
    ],
)
def test_precedence_and_left_associativity_follow_arithmetic(text: str, expected: float) -> None:
    assert parse(text).evaluate({}) == expected


def test_multiplication_binds_tighter_than_addition_in_the_tree() -> None:
    product = Binary("*", Name("cost"), Name("revenue"))
    assert parse("roi - cost * revenue") == Formula(Binary("-", Name("roi"), product))


def test_same_precedence_operators_group_to_the_left_in_the_tree() -> None:
    first = Binary("/", Name("roi"), Name("cost"))
    assert parse("roi / cost / revenue") == Formula(Binary("/", first, Name("revenue")))


def test_unary_minus_applies_to_its_operand_before_multiplication() -> None:
    assert parse("-2 * 3") == Formula(Binary("*", Negate(Number(2.0)), Number(3.0)))


def test_unary_plus_leaves_no_node() -> None:
    assert parse("+roi") == parse("roi") == Formula(Name("roi"))


@pytest.mark.parametrize(
    ("text", "value"),
    [("7", 7.0), ("007", 7.0), ("1.25", 1.25), (".5", 0.5), ("2.5e3", 2500.0), ("2.5E3", 2500.0),
     ("1e+2", 100.0), ("25e-1", 2.5), ("0", 0.0), ("1e-400", 0.0)],
)
def test_numbers_are_integers_or_decimals_with_an_optional_exponent(text: str, value: float) -> None:
    assert parse(text) == Formula(Number(value))


def test_whitespace_between_tokens_is_free() -> None:
    assert parse(" \trevenue\n/\r\ncalls_handled  ") == parse("revenue/calls_handled")


def test_metrics_are_the_names_read_each_once() -> None:
    assert parse("revenue / calls_handled + revenue * 2").metrics == frozenset({"revenue", "calls_handled"})
    assert parse("1 + 2").metrics == frozenset()


def test_every_builtin_metric_name_is_known_by_default() -> None:
    assert frozenset(m.value for m in Metric) == BUILTIN_METRICS
    for name in BUILTIN_METRICS:
        assert parse(name).metrics == {name}


def test_known_decides_which_names_a_formula_may_read() -> None:
    assert parse("my_ratio * 2", known={"my_ratio"}).evaluate({"my_ratio": 1.5}) == 3.0
    with pytest.raises(FormulaError, match="unknown metric 'revenue'"):
        parse("revenue", known={"my_ratio"})


# --- evaluation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["revenue / transfers", "1 / 0", "0 / 0", "revenue / (cost - cost)", "1 / -0.0", "-(1 / 0) + 1"],
)
def test_division_by_zero_is_none(text: str) -> None:
    assert parse(text).evaluate(VALUES) is None


@pytest.mark.parametrize(
    "text",
    ["revenue", "-revenue", "revenue + 1", "1 - revenue", "revenue * 0", "0 / revenue", "(revenue + 1) * 0 + roi"],
)
def test_a_none_metric_makes_the_formula_none_even_times_zero(text: str) -> None:
    assert parse(text).evaluate({**VALUES, "revenue": None}) is None


def test_a_none_metric_makes_the_formula_none_even_when_the_divisor_is_also_zero() -> None:
    assert parse("revenue / transfers").evaluate({"revenue": None, "transfers": 0.0}) is None


@pytest.mark.parametrize("text", ["1e200 * 1e200", "-1e200 * 1e200", "1e300 / 1e-300", "1e308 + 1e308"])
def test_an_overflowing_result_is_none(text: str) -> None:
    assert parse(text).evaluate({}) is None


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_non_finite_metric_value_counts_as_none(value: float) -> None:
    assert parse("roi * 0 + 1").evaluate({"roi": value}) is None


def test_a_metric_missing_from_the_values_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        parse("revenue / calls_handled").evaluate({"revenue": 1.0})


def test_integer_metric_values_evaluate_as_floats() -> None:
    result = parse("calls_total / 4").evaluate({"calls_total": 10})
    assert result == 2.5
    assert isinstance(result, float)


# --- canonical text -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("revenue/calls_handled", "revenue / calls_handled"),
        ("((leads_converted+1))*100/leads_generated", "(leads_converted + 1) * 100 / leads_generated"),
        ("(roi * cost) + revenue", "roi * cost + revenue"),
        ("roi - (cost - revenue)", "roi - (cost - revenue)"),
        ("roi + (cost + revenue)", "roi + (cost + revenue)"),
        ("roi / (cost * revenue)", "roi / (cost * revenue)"),
        ("(roi - cost) - revenue", "roi - cost - revenue"),
        ("-(roi + cost)", "-(roi + cost)"),
        ("-(-roi)", "--roi"),
        ("2*-3", "2 * -3"),
        ("+roi", "roi"),
        ("2.5e3", "2500"),
        ("100.0", "100"),
        ("1.50", "1.5"),
        (".5", "0.5"),
        ("1e16", "1e16"),
        ("1E-7", "1e-7"),
    ],
)
def test_str_is_the_canonical_text_with_minimal_parentheses(text: str, canonical: str) -> None:
    formula = parse(text)
    assert str(formula) == canonical
    assert parse(canonical) == formula


def test_a_number_node_is_non_negative_and_finite_so_its_text_parses_back() -> None:
    for bad in (-1.0, -0.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="finite and non-negative"):
            Number(bad)


# --- errors -------------------------------------------------------------------------------------------------

SOME_METRICS = "abandonment_rate, available_seconds, average_handle_time_seconds, average_lead_value, …"


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "the formula is empty", 0),
        (" \t\n", "the formula is empty", 0),
        ("Revenue / 2", "unknown metric 'Revenue'; metric names are lowercase: 'revenue'", 0),
        ("revenue / calls_handeld", "unknown metric 'calls_handeld'; did you mean 'calls_handled'?", 10),
        ("revenue * zzz", f"unknown metric 'zzz'; known metrics include {SOME_METRICS}", 10),
        ("1 +", "expected a number, a metric or '(', found the end of the formula", 3),
        ("1 + * 2", "expected a number, a metric or '(', found '*'", 4),
        ("roi ** 2", "expected a number, a metric or '(', found '*'", 5),
        ("()", "expected a number, a metric or '(', found ')'", 1),
        ("(1 + 2", "unbalanced parentheses: this '(' is never closed", 0),
        ("2 * (1 + (3)", "unbalanced parentheses: this '(' is never closed", 4),
        ("(1 +", "unbalanced parentheses: this '(' is never closed", 0),
        ("1 + 2)", "unbalanced parentheses: this ')' has no matching '('", 5),
        ("(1))", "unbalanced parentheses: this ')' has no matching '('", 3),
        ("(1 2)", "expected ')' or an operator, found '2'", 3),
        ("revenue cost", "expected an operator (+ - * /) or the end of the formula, found 'cost'", 8),
        ("2x", "expected an operator (+ - * /) or the end of the formula, found 'x'", 1),
        ("1 % 2", "unexpected character '%'", 2),
        ("revenue ^ 2", "unexpected character '^'", 8),
        ("rev€nue", "unexpected character '€'", 3),
        ("１", "unexpected character '１'", 0),
        ("1.", "malformed number '1.': expected a digit after '.'", 2),
        ("1.e5", "malformed number '1.': expected a digit after '.'", 2),
        ("1e", "malformed number '1e': expected a digit in the exponent", 2),
        ("3 * 1e+", "malformed number '1e+': expected a digit in the exponent", 7),
        ("1e999", "the number 1e999 is too large", 0),
        ("2 * " + "1" * 41, "the number is too long: 41 characters, at most 40", 4),
    ],
)
def test_an_invalid_formula_says_what_is_wrong_and_where(text: str, message: str, position: int) -> None:
    with pytest.raises(FormulaError) as caught:
        parse(text)
    assert caught.value.detail == message
    assert caught.value.position == position
    assert str(caught.value) == f"{message} (at position {position})"


def test_a_formula_error_is_a_bad_user_input_with_argument_and_position() -> None:
    with pytest.raises(BadUserInput) as caught:
        parse("1 + * 2")
    assert caught.value.code is ErrorCode.BAD_USER_INPUT
    assert caught.value.message == "expected a number, a metric or '(', found '*' (at position 4)"
    assert caught.value.extensions == {"argument": "formula", "position": 4}


def test_a_formula_of_max_length_is_accepted_and_one_more_character_is_not() -> None:
    longest = "1+" * (MAX_LENGTH // 2 - 1) + "11"
    assert len(longest) == MAX_LENGTH
    assert parse(longest).evaluate({}) == MAX_LENGTH // 2 - 1 + 11
    with pytest.raises(FormulaError) as caught:
        parse(longest + "1")
    assert caught.value.detail == "the formula is too long: 501 characters besides whitespace, at most 500"
    assert caught.value.position == MAX_LENGTH


def test_whitespace_does_not_count_towards_the_length_but_is_capped_as_text() -> None:
    spaced = " + ".join(["1"] * (MAX_LENGTH // 2))
    assert parse(spaced).evaluate({}) == MAX_LENGTH // 2
    with pytest.raises(FormulaError) as caught:
        parse("1" + " " * MAX_TEXT_LENGTH)
    assert caught.value.detail == "the formula is too long: 2001 characters, at most 2000 with whitespace"


def test_a_formula_whose_numbers_written_out_exceed_the_length_is_refused_so_str_always_parses_back() -> None:
    # given: "1e15" is 4 characters, written out it is the 16 of 1000000000000000
    text = "*".join(["1e15"] * 40)
    assert len(text) <= MAX_LENGTH
    # then
    with pytest.raises(FormulaError, match="with its numbers written out, at most 500"):
        parse(text)


@pytest.mark.parametrize(("opening", "closing"), [("(", ")"), ("-", ""), ("+", ""), ("-(", ")")])
def test_nesting_is_capped_at_max_depth(opening: str, closing: str) -> None:
    levels = MAX_DEPTH // len(opening)
    assert parse(opening * levels + "1" + closing * levels).evaluate({}) in (1.0, -1.0)
    deeper = opening * (levels + 1) + "1" + closing * (levels + 1)
    with pytest.raises(FormulaError) as caught:
        parse(deeper)
    assert caught.value.detail == "the formula is nested too deeply: at most 50 levels of parentheses and signs"
    assert caught.value.position == MAX_DEPTH


def test_a_hostile_formula_is_refused_quickly_without_recursion_errors() -> None:
    for text in ("(" * 100_000, "-" * 100_000 + "1", "1" * 100_000, "1+" * 100_000 + "1"):
        with pytest.raises(FormulaError):
            parse(text)


def test_the_longest_chain_evaluates_and_prints_without_recursion_errors() -> None:
    formula = parse("1+" * (MAX_LENGTH // 2 - 1) + "1")
    assert formula.evaluate({}) == MAX_LENGTH // 2
    assert parse(str(formula)) == formula


# --- custom metric names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "net_revenue", "roi_2", "x" * 63, "cost_per_call_", "a__b"])
def test_a_lowercase_snake_case_name_is_valid(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    ("name", "message", "position"),
    [
        ("", "a metric name cannot be empty", 0),
        ("x" * 64, "a metric name has at most 63 characters", 63),
        ("Net_revenue", "a metric name starts with a lowercase letter, not 'N'", 0),
        ("_x", "a metric name starts with a lowercase letter, not '_'", 0),
        ("2x", "a metric name starts with a lowercase letter, not '2'", 0),
        ("net revenue", "a metric name has only lowercase letters, digits and underscores, not ' '", 3),
        ("netRevenue", "a metric name has only lowercase letters, digits and underscores, not 'R'", 3),
        ("net-revenue", "a metric name has only lowercase letters, digits and underscores, not '-'", 3),
        ("roi\n", "a metric name has only lowercase letters, digits and underscores, not '\\n'", 3),
        ("revenue", "'revenue' is the name of a built-in metric; choose another", 0),
        ("csat_mean", "'csat_mean' is the name of a built-in metric; choose another", 0),
    ],
)
def test_an_invalid_name_says_why(name: str, message: str, position: int) -> None:
    with pytest.raises(FormulaError) as caught:
        validate_name(name)
    assert caught.value.detail == message
    assert caught.value.position == position
    assert caught.value.extensions == {"argument": "name", "position": position}


def test_a_valid_name_is_usable_in_a_formula() -> None:
    name = validate_name("net_margin")
    assert parse(f"{name} * 100", known=BUILTIN_METRICS | {name}).metrics == {name}


# --- properties ---------------------------------------------------------------------------------------------

NAMES = sorted(VALUES)
# Parsing a short text takes microseconds: many more examples than the suite's profile, at no real cost.
MANY: Final = settings(max_examples=100)

numbers = st.floats(min_value=0, max_value=1e20, allow_nan=False, allow_infinity=False).map(abs).map(Number)
nodes: st.SearchStrategy[Node] = st.recursive(
    numbers | st.sampled_from(NAMES).map(Name),
    lambda inner: inner.map(Negate)
    | st.builds(Binary, st.sampled_from(["+", "-", "*", "/"]), inner, inner),
    max_leaves=12,
)


@MANY
@given(nodes)
def test_str_parses_back_to_the_same_formula(root: Node) -> None:
    formula = Formula(root)
    assert parse(str(formula)) == formula


def texts(depth: int, operators: str = "+-*/") -> st.SearchStrategy[str]:
    """Formula texts, also in Python's syntax, with redundant parentheses and signs that the canonical form drops."""
    leaf = st.sampled_from([*NAMES, "0", "1", "2", "7", "10", "0.5", ".25", "3e2", "1E-1"])
    if depth == 0:
        return leaf
    inner = texts(depth - 1, operators)
    ops = st.sampled_from(operators)
    return st.one_of(
        leaf,
        st.tuples(inner, ops, inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(inner, ops, inner).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
        inner.map(lambda t: f"({t})"),
        st.tuples(st.sampled_from(["-", "+"]), inner).map(lambda t: f"{t[0]}{t[1]}"),
    )


def from_python(node: ast.expr) -> Node:
    """Python's own parse of the same text, as our tree: the oracle for precedence and associativity."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return Number(float(node.value))
    if isinstance(node, ast.Name):
        return Name(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return Negate(from_python(node.operand))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
        return from_python(node.operand)
    if isinstance(node, ast.BinOp):
        ops: dict[type[ast.operator], Operator] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
        return Binary(ops[type(node.op)], from_python(node.left), from_python(node.right))
    raise AssertionError(ast.dump(node))


def python_value(node: ast.expr, values: dict[str, float]) -> float:
    """Python's float arithmetic over Python's tree, without division (so no zero divisors)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = python_value(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else +operand
    assert isinstance(node, ast.BinOp)
    left, right = python_value(node.left, values), python_value(node.right, values)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    assert isinstance(node.op, ast.Mult)
    return left * right


@MANY
@given(texts(4))
def test_the_tree_is_the_one_python_parses_from_the_same_text(text: str) -> None:
    assert parse(text).root == from_python(ast.parse(text, mode="eval").body)


@MANY
@given(texts(4, "+-*"), st.lists(st.integers(-1000, 1000), min_size=len(NAMES), max_size=len(NAMES)))
def test_evaluation_without_division_equals_python_arithmetic(text: str, numbers: list[int]) -> None:
    values = {name: float(n) for name, n in zip(NAMES, numbers, strict=True)}
    assert parse(text).evaluate(values) == python_value(ast.parse(text, mode="eval").body, values)


def test_the_public_api_is_all() -> None:
    module = gateway.formulas
    defined = {name for name, obj in vars(module).items()
               if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__}
    assert defined <= set(module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)
