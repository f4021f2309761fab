"""What one operation may be and take, checked in the order the operation meets them; beyond any of them the
answer is QUERY_TOO_COMPLEX, with `extensions.reason` saying which:

    document   at most 20 × max_tokens characters    document_too_large   (checked before it is parsed)
               at most max_tokens lexical tokens     too_many_tokens      (counted before parsing)
    size       12 levels deep, 2,000 fields          depth, fields        (validation; introspection not counted)
               100 aliases                           aliases              (introspection counted)
    cost       the budget (gateway/cost.py)          cost                 (after validation, before any SQL)
    time       timeout_seconds of execution          time_budget          (its SQL cancelled too)

graphql-core's parser is pure Python: 2 MB of `{ a a a … }` took 29 s to parse before the size rule could refuse
it, and a 1 MB string literal takes 0.4 s to lex even under a token limit. So the document's length is checked
first, its tokens are counted by one regular expression (at C speed, stopping at the limit), and only then is it
parsed, with graphql-core's own `max_tokens` as the exact limit.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    get_operation_ast,
    parse,
)
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.db import TenantSession
from gateway.errors import ErrorCode
from gateway.settings import DEFAULT_OPERATION_TIMEOUT_SECONDS, DEFAULT_QUERY_COST_BUDGET, DEFAULT_QUERY_MAX_TOKENS

MAX_DEPTH: Final = 12
MAX_FIELDS: Final = 2000
MAX_ALIASES: Final = 100
CHARACTERS_PER_TOKEN: Final = 20
# Mutations allowed to run past the time budget: a timezone change rebuilds the tenant's rollups.
UNTIMED_MUTATIONS: Final = frozenset({"updateTenantSettings"})
PARSED_DOCUMENTS: Final = 256

# One lexical token, after what the lexer ignores (whitespace, commas, comments, a BOM); possessive, so a failed
# match never backtracks. Block strings, strings and `...` are one token each; a name or a number is one run.
_TOKEN: Final = re.compile(r'(?:[\s,\ufeff]|#[^\n\r]*+)*+("""(?:\\"""|(?!""").)*+"""|"(?:\\.|[^"\\\n\r])*+"'
                           r"|\.\.\.|[-\w.+]++|.)?", re.S)


@dataclass(frozen=True)
class OperationLimits:
    """The limits one operation runs under (Settings: CALLPULSE_QUERY_COST_BUDGET, … ; Context.limits)."""

    cost_budget: int = DEFAULT_QUERY_COST_BUDGET
    timeout_seconds: float = DEFAULT_OPERATION_TIMEOUT_SECONDS
    max_tokens: int = DEFAULT_QUERY_MAX_TOKENS

    @property
    def max_characters(self) -> int:
        return CHARACTERS_PER_TOKEN * self.max_tokens


def limits_of(context: object) -> OperationLimits:
    """The context's limits; the defaults for a context without them (schema.execute in scripts)."""
    limits = getattr(context, "limits", None)
    return limits if isinstance(limits, OperationLimits) else OperationLimits()


def too_complex(message: str, reason: str, **extensions: object) -> GraphQLError:
    return GraphQLError(message, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value, "reason": reason,
                                             **extensions})


def count_tokens(document: str, stop_after: int) -> int:
    """The document's lexical tokens as graphql-core counts them (comments excluded), at most `stop_after`."""
    matches = itertools.islice(_TOKEN.finditer(document), stop_after + 1)
    return min(stop_after, sum(1 for m in matches if m.group(1)))


@functools.lru_cache(maxsize=PARSED_DOCUMENTS)
def _parse(document: str, max_tokens: int) -> DocumentNode:
    # Cached per text: dashboards send the same few documents again and again. Refusals raise, so none is kept.
    if count_tokens(document, max_tokens + 1) > max_tokens:
        raise _too_many_tokens(max_tokens)
    try:
        return parse(document, max_tokens=max_tokens)
    except GraphQLSyntaxError as e:
        if e.message.startswith("Syntax Error: Document contains more than"):
            raise _too_many_tokens(max_tokens) from None
        if "nested too deeply" in e.message:
            raise too_complex("the document is nested too deeply", "depth") from None
        raise


def _too_many_tokens(limit: int) -> GraphQLError:
    return too_complex(f"the document has more than {limit:,} tokens; send large inputs as variables",
                       "too_many_tokens", limit=limit)


def parse_document(document: str, limits: OperationLimits) -> DocumentNode:
    """The parsed document, or QUERY_TOO_COMPLEX when it is too long or has too many tokens."""
    if len(document) > limits.max_characters:
        raise too_complex(f"the document is longer than {limits.max_characters:,} characters; send large inputs "
                          "as variables", "document_too_large", limit=limits.max_characters)
    return _parse(document, limits.max_tokens)


class DocumentParser(SchemaExtension):
    """Parses the document within its length and token limits (in place of Strawberry's ParserCache)."""

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        # No query: Strawberry reports it (MissingQueryError, HTTP 400).
        if ec.graphql_document is None and ec.query:
            ec.graphql_document = parse_document(ec.query, limits_of(ec.context))
        yield


@dataclass(frozen=True)
class Size:
    depth: int = 0
    fields: int = 0
    aliases: int = 0

    def __add__(self, other: Size) -> Size:
        return Size(max(self.depth, other.depth), self.fields + other.fields, self.aliases + other.aliases)


class QuerySizeRule(ValidationRule):
    """Reports one QUERY_TOO_COMPLEX error per operation over a limit."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        fragments = {d.name.value: d for d in self.context.document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        size = _measure(node.selection_set, fragments, {}, frozenset())
        for value, limit, what, reason in ((size.depth, MAX_DEPTH, "levels deep", "depth"),
                                           (size.fields, MAX_FIELDS, "fields", "fields"),
                                           (size.aliases, MAX_ALIASES, "aliases", "aliases")):
            if value > limit:
                error = too_complex(f"the operation has {value} {what}; at most {limit} are allowed", reason,
                                    limit=limit)
                self.report_error(GraphQLError(error.message, node, extensions=error.extensions))
                return


def _measure(selections: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
             memo: dict[str, Size], seen: frozenset[str]) -> Size:
    """The size of a selection set, each fragment measured once (cycles are another rule's error)."""
    total = Size()
    for selection in selections.selections if selections is not None else ():
        if isinstance(selection, FieldNode):
            inner = _measure(selection.selection_set, fragments, memo, seen)
            alias = int(selection.alias is not None)
            if selection.name.value.startswith("__"):
                # Introspection is deep by nature (GraphiQL's query): only its aliases count.
                total = total + Size(aliases=inner.aliases + alias)
            else:
                total = total + Size(inner.depth + 1, inner.fields + 1, inner.aliases + alias)
        elif isinstance(selection, InlineFragmentNode):
            total = total + _measure(selection.selection_set, fragments, memo, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                continue
            if name not in memo:
                memo[name] = _measure(fragments[name].selection_set, fragments, memo, seen | {name})
            total = total + memo[name]
    return total


class QuerySizeLimit(AddValidationRules):
    """The schema extension that adds QuerySizeRule to validation."""

    def __init__(self) -> None:
        super().__init__([QuerySizeRule])


def root_field_names(document: DocumentNode, operation_name: str | None) -> set[str]:
    """The root fields the operation selects, through fragments too."""
    operation = get_operation_ast(document, operation_name)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    names: set[str] = set()
    pending = [operation.selection_set] if operation is not None else []
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                if selection.name.value in fragments:
                    pending.append(fragments[selection.name.value].selection_set)
    return names


def _untimed(ec: Any) -> bool:
    """Subscriptions (they run as long as the client listens) and the mutations that rebuild rollups."""
    operation_type = ec.operation_type
    if operation_type is OperationType.SUBSCRIPTION:
        return True
    return bool(operation_type is OperationType.MUTATION
                and root_field_names(ec.graphql_document, ec.operation_name) & UNTIMED_MUTATIONS)


def time_budget_error(seconds: float) -> GraphQLError:
    return too_complex(f"the operation ran longer than its time budget of {seconds:g} s and was stopped; ask for "
                       "less (fewer items, a shorter range, a coarser granularity)", "time_budget",
                       budgetSeconds=seconds)


class OperationTimeBudget(SchemaExtension):
    """Stops an operation's execution after `timeout_seconds`, its SQL included.

    The clock runs from the start of execution: then the event loop cancels the operation (asyncpg cancels the
    statement in flight in the server) and its DataLoader batches, and the transaction is rolled back. Each
    statement also carries the budget as `statement_timeout`: the server stops it by itself should the client
    side fail to (a statement starts after the execution did, so the loop's timer always expires first). It
    must come after OperationScopeExtension (whose session it limits) and before PlannedExecution (which
    executes).
    """

    _timeout: asyncio.Timeout | None = None

    async def on_operation(self) -> AsyncIterator[None]:
        seconds = limits_of(self.execution_context.context).timeout_seconds
        try:
            # Armed in on_execute: parsing and validation are bounded by the other limits.
            async with asyncio.timeout(None) as timeout:
                self._timeout = timeout
                yield
        except TimeoutError:
            if not timeout.expired():
                raise
            # The operation's own task is cancelled; its DataLoader batches run in tasks of their own.
            session = _session(self.execution_context.context)
            if session is not None:
                session.cancel_statements()
            raise time_budget_error(seconds) from None
        finally:
            self._timeout = None

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        if self._timeout is not None and ec.graphql_document is not None and not _untimed(ec):
            seconds = limits_of(ec.context).timeout_seconds
            session = _session(ec.context)
            if session is not None:
                await session.limit_statements(seconds)
            self._timeout.reschedule(asyncio.get_running_loop().time() + seconds)
        yield
        # Over a websocket the result is sent while the operation is still open: not on the clock.
        if self._timeout is not None and not self._timeout.expired():
            self._timeout.reschedule(None)


def _session(context: object) -> TenantSession | None:
    """The operation's session (OperationScopeExtension opens one when there is a principal)."""
    if getattr(context, "principal", None) is None:
        return None
    try:
        session = getattr(context, "db")  # noqa: B009 - a property that raises outside an operation's scope
    except RuntimeError:
        return None
    return session if isinstance(session, TenantSession) else None
