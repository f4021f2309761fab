"""Custom metrics: arithmetic formulas over metric names, parsed by hand into an immutable tree, never eval'd.

Grammar (whitespace between tokens is free; metric names are lowercase, as in `gateway.metrics.Metric`)::

    formula  := sum END
    sum      := product (("+" | "-") product)*          left-associative
    product  := unary (("*" | "/") unary)*              left-associative
    unary    := ("-" | "+") unary | primary
    primary  := NUMBER | METRIC | "(" sum ")"
    NUMBER   := (DIGITS ["." DIGITS] | "." DIGITS) [("e" | "E") ["+" | "-"] DIGITS]

Evaluation follows the metrics' own rule: a value that cannot be computed is None, never 0. Any None operand,
a division by zero and any non-finite result make the whole formula None.

Caps on length (MAX_LENGTH characters besides whitespace), nesting (MAX_DEPTH parentheses and signs) and
number literals bound the parser's recursion and work: a hostile formula is refused with a FormulaError
(code BAD_USER_INPUT, the position in its message and extensions), never costing stack or CPU.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from gateway.errors import BadUserInput
from gateway.metrics import Metric

__all__ = [
    "BUILTIN_METRICS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_NUMBER_LENGTH",
    "MAX_TEXT_LENGTH",
    "Binary",
    "Formula",
    "FormulaError",
    "Name",
    "Negate",
    "Node",
    "Number",
    "Operator",
    "parse",
    "validate_name",
]

# Counted without whitespace, which the canonical text adds around operators; the text as a whole is capped
# too, so a flood of whitespace is refused before it is scanned.
MAX_LENGTH: Final = 500
MAX_TEXT_LENGTH: Final = 4 * MAX_LENGTH
# Counts parentheses and unary signs: the parser recurses once per level, so this bounds its stack use.
MAX_DEPTH: Final = 50
# A float has ~17 significant digits; longer literals are noise or an attempt to make float() work hard.
MAX_NUMBER_LENGTH: Final = 40
MAX_NAME_LENGTH: Final = 63
BUILTIN_METRICS: Final[frozenset[str]] = frozenset(m.value for m in Metric)

Operator = Literal["+", "-", "*", "/"]
_OPERATORS: Final[Mapping[str, Operator]] = {"+": "+", "-": "-", "*": "*", "/": "/"}
_PRECEDENCE: Final[Mapping[str, int]] = {"+": 1, "-": 1, "*": 2, "/": 2}
_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_]*")
_DIGITS: Final = frozenset("0123456789")
_IDENTIFIER_START: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENTIFIER_CHARS: Final = _IDENTIFIER_START | _DIGITS
_SPACE: Final = frozenset(" \t\r\n")


class FormulaError(BadUserInput):
    """A formula or custom metric name that cannot be accepted; `position` is a 0-based character offset."""

    def __init__(self, message: str, position: int, *, argument: str = "formula") -> None:
        super().__init__(f"{message} (at position {position})", argument=argument, position=position)
        self.detail = message
        self.position = position
        self.argument = argument


@dataclass(frozen=True)
class Number:
    """A literal: finite and non-negative, since a minus sign is a `Negate` node."""

    value: float

    def __post_init__(self) -> None:
        # Keeps str() and parse() inverse: a negative literal would print as "-x" and parse back as Negate.
        if not math.isfinite(self.value) or math.copysign(1.0, self.value) < 0:
            raise ValueError(f"a Number is finite and non-negative, not {self.value!r}")


@dataclass(frozen=True)
class Name:
    """A reference to a metric by its name."""

    name: str


@dataclass(frozen=True)
class Negate:
    """Unary minus; unary plus is dropped by the parser, being no operation."""

    operand: Node


@dataclass(frozen=True)
class Binary:
    """One of + - * / applied to two operands."""

    op: Operator
    left: Node
    right: Node


Node = Number | Name | Negate | Binary


@dataclass(frozen=True)
class Formula:
    """A parsed formula; equal formulas have equal trees, and `parse(str(f)) == f`."""

    root: Node

    @property
    def metrics(self) -> frozenset[str]:
        """The metric names the formula reads."""
        names: set[str] = set()
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Name):
                names.add(node.name)
            elif isinstance(node, Negate):
                stack.append(node.operand)
            elif isinstance(node, Binary):
                stack.extend((node.left, node.right))
        return frozenset(names)

    def evaluate(self, values: Mapping[str, float | None]) -> float | None:
        """The value: None if a metric read is None, a divisor is 0 or the result not finite."""
        # A metric missing from `values` raises KeyError: the caller fetches exactly `self.metrics`.
        return _evaluate(self.root, values)

    def __str__(self) -> str:
        return _render(self.root)


def parse(text: str, known: Collection[str] = BUILTIN_METRICS) -> Formula:
    """Parse a formula whose metric names are all in `known`; raises FormulaError."""
    if len(text) > MAX_TEXT_LENGTH:
        raise FormulaError(f"the formula is too long: {len(text)} characters, at most {MAX_TEXT_LENGTH} "
                           "with whitespace", MAX_TEXT_LENGTH)
    solid = [i for i, c in enumerate(text) if c not in _SPACE]
    if len(solid) > MAX_LENGTH:
        raise FormulaError(f"the formula is too long: {len(solid)} characters besides whitespace, at most "
                           f"{MAX_LENGTH}", solid[MAX_LENGTH])
    tokens = _tokenize(text)
    if tokens[0].kind == "end":
        raise FormulaError("the formula is empty", 0)
    formula = Formula(_Parser(tokens, frozenset(known)).formula())
    # Only a number can be longer in canonical form ("1e15" is 1000000000000000); checking here keeps
    # parse(str(f)) == f true for every formula parse returns.
    canonical = sum(c not in _SPACE for c in str(formula))
    if canonical > MAX_LENGTH:
        raise FormulaError(f"the formula is too long: {canonical} characters besides whitespace with its numbers "
                           f"written out, at most {MAX_LENGTH}", 0)
    return formula


def validate_name(name: str, builtins: Collection[str] = BUILTIN_METRICS) -> str:
    """Return `name` if it can name a custom metric: lowercase snake case, not a built-in metric's name."""
    if not name:
        raise FormulaError("a metric name cannot be empty", 0, argument="name")
    if len(name) > MAX_NAME_LENGTH:
        raise FormulaError(f"a metric name has at most {MAX_NAME_LENGTH} characters", MAX_NAME_LENGTH,
                           argument="name")
    match = _NAME_RE.match(name)
    if match is None:
        raise FormulaError(f"a metric name starts with a lowercase letter, not {name[0]!r}", 0, argument="name")
    if match.end() != len(name):
        bad = name[match.end()]
        raise FormulaError(f"a metric name has only lowercase letters, digits and underscores, not {bad!r}",
                           match.end(), argument="name")
    if name in builtins:
        raise FormulaError(f"{name!r} is the name of a built-in metric; choose another", 0, argument="name")
    return name


# --- tokenizer ---------------------------------------------------------------------------------------------

_Kind = Literal["number", "name", "op", "(", ")", "end"]


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str
    position: int
    value: float = 0.0

    def describe(self) -> str:
        return "the end of the formula" if self.kind == "end" else repr(self.text)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _SPACE:
            i += 1
        elif c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            token = _number(text, i)
            tokens.append(token)
            i += len(token.text)
        elif c in _IDENTIFIER_START:
            start = i
            while i < n and text[i] in _IDENTIFIER_CHARS:
                i += 1
            tokens.append(_Token("name", text[start:i], start))
        elif c in "+-*/":
            tokens.append(_Token("op", c, i))
            i += 1
        elif c in "()":
            tokens.append(_Token("(" if c == "(" else ")", c, i))
            i += 1
        else:
            raise FormulaError(f"unexpected character {c!r}", i)
    tokens.append(_Token("end", "", n))
    return tokens


def _number(text: str, start: int) -> _Token:
    n = len(text)
    i = start
    while i < n and text[i] in _DIGITS:
        i += 1
    if i < n and text[i] == ".":
        i += 1
        if i >= n or text[i] not in _DIGITS:
            raise FormulaError(f"malformed number {text[start:i]!r}: expected a digit after '.'", i)
        while i < n and text[i] in _DIGITS:
            i += 1
    if i < n and text[i] in "eE":
        i += 1
        if i < n and text[i] in "+-":
            i += 1
        if i >= n or text[i] not in _DIGITS:
            raise FormulaError(f"malformed number {text[start:i]!r}: expected a digit in the exponent", i)
        while i < n and text[i] in _DIGITS:
            i += 1
    literal = text[start:i]
    if len(literal) > MAX_NUMBER_LENGTH:
        raise FormulaError(f"the number is too long: {len(literal)} characters, at most {MAX_NUMBER_LENGTH}",
                           start)
    value = float(literal)
    if not math.isfinite(value):
        raise FormulaError(f"the number {literal} is too large", start)
    return _Token("number", literal, start, value)


# --- parser ------------------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, tokens: list[_Token], known: frozenset[str]) -> None:
        self.tokens = tokens
        self.known = known
        self.index = 0
        self.depth = 0
        # Positions of the '(' not closed yet: an unclosed one is reported where it opens.
        self.open: list[int] = []

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def formula(self) -> Node:
        node = self.sum()
        token = self.current
        if token.kind == ")":
            raise FormulaError("unbalanced parentheses: this ')' has no matching '('", token.position)
        if token.kind != "end":
            raise FormulaError(f"expected an operator (+ - * /) or the end of the formula, found {token.describe()}",
                               token.position)
        return node

    def sum(self) -> Node:
        node = self.product()
        while self.current.kind == "op" and self.current.text in "+-":
            op = self.advance().text
            node = Binary(_OPERATORS[op], node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.current.kind == "op" and self.current.text in "*/":
            op = self.advance().text
            node = Binary(_OPERATORS[op], node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.current
        if token.kind == "op" and token.text in "+-":
            self.advance()
            self.enter(token)
            operand = self.unary()
            self.depth -= 1
            return Negate(operand) if token.text == "-" else operand
        return self.primary()

    def primary(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            return Number(token.value)
        if token.kind == "name":
            return Name(self.metric(token))
        if token.kind == "(":
            self.enter(token)
            self.open.append(token.position)
            node = self.sum()
            closing = self.current
            if closing.kind != ")":
                if closing.kind == "end":
                    raise FormulaError("unbalanced parentheses: this '(' is never closed", self.open[-1])
                raise FormulaError(f"expected ')' or an operator, found {closing.describe()}", closing.position)
            self.advance()
            self.open.pop()
            self.depth -= 1
            return node
        if token.kind == "end" and self.open:
            raise FormulaError("unbalanced parentheses: this '(' is never closed", self.open[-1])
        raise FormulaError(f"expected a number, a metric or '(', found {token.describe()}", token.position)

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"the formula is nested too deeply: at most {MAX_DEPTH} levels of parentheses "
                               "and signs", token.position)

    def metric(self, token: _Token) -> str:
        name = token.text
        if name in self.known:
            return name
        message = f"unknown metric {name!r}"
        if name.lower() in self.known:
            message += f"; metric names are lowercase: {name.lower()!r}"
        elif close := difflib.get_close_matches(name, sorted(self.known), n=1):
            message += f"; did you mean {close[0]!r}?"
        elif self.known:
            examples = sorted(self.known)[:4]
            more = ", …" if len(self.known) > len(examples) else ""
            message += f"; known metrics include {', '.join(examples)}{more}"
        raise FormulaError(message, token.position)


# --- evaluation and rendering ------------------------------------------------------------------------------


def _evaluate(node: Node, values: Mapping[str, float | None]) -> float | None:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Name):
        value = values[node.name]
        return None if value is None or not math.isfinite(value) else float(value)
    if isinstance(node, Negate):
        operand = _evaluate(node.operand, values)
        return None if operand is None else -operand
    left = _evaluate(node.left, values)
    right = _evaluate(node.right, values)
    if left is None or right is None:
        return None
    if node.op == "+":
        result = left + right
    elif node.op == "-":
        result = left - right
    elif node.op == "*":
        result = left * right
    elif right == 0:
        return None
    else:
        result = left / right
    # Float arithmetic overflows to inf rather than raising; such a value is as meaningless as 1/0.
    return result if math.isfinite(result) else None


def _render(node: Node) -> str:
    """Minimal parentheses that keep the tree: parse(_render(n)) gives n back, not just an equal value."""
    if isinstance(node, Number):
        return _render_number(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Negate):
        inner = _render(node.operand)
        # "--x", not "-(-x)": parentheses would count towards MAX_DEPTH when the text is parsed again.
        return f"-({inner})" if isinstance(node.operand, Binary) else f"-{inner}"
    precedence = _PRECEDENCE[node.op]
    left = _render(node.left)
    if isinstance(node.left, Binary) and _PRECEDENCE[node.left.op] < precedence:
        left = f"({left})"
    right = _render(node.right)
    # Same precedence on the right needs parentheses too: a - (b - c) and a + (b + c) are other trees.
    if isinstance(node.right, Binary) and _PRECEDENCE[node.right.op] <= precedence:
        right = f"({right})"
    return f"{left} {node.op} {right}"


def _render_number(value: float) -> str:
    if value.is_integer() and value < 1e16:
        return str(int(value))
    # repr() is the shortest text that reads back as the same float; "1e-07" is shortened to "1e-7".
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if e else text
