"""A live subscription's question, how its group is keyed, and how one refresh answers it for all subscribers.

A question is what a subscriber asked (tenant, document, operation, variables) and what it may read (its
Access, i.e. its role scope): subscribers with equal questions share a group. A refresh opens a short tenant
transaction of its own, computes the field's source value (the same resolvers as queries), executes the
subscription's selection set over it once, codes its errors, and serialises the response once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    located_error,
    parse,
)

from gateway.access import Access
from gateway.auth import READERS
from gateway.context import Context, operation_scope
from gateway.graphql_errors import with_code
from gateway.live.changes import Interest
from gateway.live.hub import UNREACHABLE, Refreshed, Shared


@dataclass(frozen=True)
class LiveRequest:
    """The raw request of a subscription, as the websocket received it (the group re-executes it)."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


# Set by the websocket handlers around each operation: resolvers only see coerced variables.
live_request: ContextVar[LiveRequest | None] = ContextVar("callpulse_live_request", default=None)


@dataclass
class Answer:
    """A source's value for one refresh, and what it read."""

    value: Any
    interest: Interest
    rolls_at: datetime | None = None


# Computes the root field's value under the refresh's operation scope.
Source = Callable[[Context], Awaitable[Answer]]


@dataclass(frozen=True)
class Question:
    field: str
    tenant: Any
    query: str
    operation_name: str | None
    variables: bytes
    access: Access
    extra: Any = None


def canonical(variables: dict[str, Any] | None, leave_out: frozenset[str] = frozenset()) -> bytes:
    kept = {k: v for k, v in (variables or {}).items() if k not in leave_out}
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS, default=str)


async def access_of(context: Context) -> Access:
    """The subscriber's role scope, read in a short transaction of its own (none is held afterwards)."""
    principal = context.require(*READERS)
    async with operation_scope(context.pool, principal.tenant_id):
        return await context.access()


def refresh_context(context: Context) -> Context:
    """The context a group's refreshes run with: the first subscriber's principal and settings, no socket."""
    return dataclasses.replace(context, request=None, response=None, connection_params={})


class EventRoot:
    """The root value of one event for the planned engine: the root field's attribute, whatever its name, is the
    event (graphql-core's path gets the event itself as root value, which Strawberry's resolve returns)."""

    __slots__ = ("event",)

    def __init__(self, event: Any) -> None:
        self.event = event

    def __getattr__(self, name: str) -> Any:
        return object.__getattribute__(self, "event")


class Runner:
    """Executes one question's selection set over a source value; the document is parsed once per group."""

    def __init__(self, schema: Any, context: Context, request: LiveRequest, field: str) -> None:
        self.schema = schema
        self.context = context
        self.request = request
        self.field = field
        self.document: DocumentNode = parse(request.query)

    async def execute(self, value: Any) -> ExecutionResult:
        """The selection over `value`, by the executor queries use: the planned engine (with graphql-core beside
        it in shadow mode), or graphql-core when so configured or when the engine must fall back."""
        from gateway.context import fresh_loaders
        from gateway.engine import Fallback, prepare, run_prepared
        from gateway.engine.extension import ExecutorMode, compare

        if self.context.executor != ExecutorMode.PLANNED:
            return await self._reference(value)
        try:
            prepared = prepare(self.schema, self.schema.plan_cache, self.request.query, self.document,
                               self.request.operation_name, self.request.variables, self.context, EventRoot(value),
                               self.schema.execution_context_class, events=True)
        except Fallback:
            return await self._reference(value)
        reference = None
        if self.context.shadow:
            async with fresh_loaders():
                reference = await self._reference(value)
        result = await run_prepared(self.schema, prepared)
        if reference is not None:
            compare(self.request.query, self.request.variables, result, reference, prepared)
        return result

    async def _reference(self, value: Any) -> ExecutionResult:
        """graphql-core's answer: the subscription's own per-event execution, over `value`."""
        executor_class = self.schema.execution_context_class
        executor = executor_class.build(self.schema._schema, self.document, value, self.context,
                                        self.request.variables, self.request.operation_name)
        if isinstance(executor, list):
            return ExecutionResult(data=None, errors=executor)
        outcome = executor.execute_operation(False)
        result: ExecutionResult = await outcome if hasattr(outcome, "__await__") else outcome
        return result

    def failed(self, error: Exception) -> ExecutionResult:
        """The result when the source itself failed: the root field's error (its type is non-null)."""
        name = self.request.operation_name
        operation = next(d for d in self.document.definitions if isinstance(d, OperationDefinitionNode)
                         and (name is None or (d.name is not None and d.name.value == name)))
        node = next((s for s in operation.selection_set.selections
                     if isinstance(s, FieldNode) and s.name.value == self.field), None)
        key = node.alias.value if node is not None and node.alias is not None else self.field
        return ExecutionResult(data=None, errors=[located_error(error, [node] if node else None, [key])])

    async def answer(self, source: Source) -> tuple[Shared, Answer | None, int]:
        """One refresh: the source and the selection in one short transaction, serialised once; with the
        statements it ran."""
        principal = self.context.require()
        answer: Answer | None = None
        async with operation_scope(self.context.pool, principal.tenant_id) as db:
            try:
                answer = await source(self.context)
            except UNREACHABLE:
                # The database is away: subscribers keep their last state, and the listener's resync refreshes
                # every group once it is back.
                raise
            except Exception as e:  # coded like any resolver's error: a client error shows, ours is masked
                result = self.failed(e)
            else:
                result = await self.execute(answer.value)
        return serialise(result), answer, db.statements


def serialise(result: ExecutionResult) -> Shared:
    body: dict[str, object] = {"data": result.data}
    if result.errors:
        body["errors"] = [with_code(e).formatted for e in result.errors]
    return Shared(orjson.dumps(body).decode())


def state_refresh(runner: Runner, source: Source, fallback: Interest) -> Callable[[Any], Awaitable[Refreshed]]:
    """The refresh of a question whose subscribers want its latest state."""

    async def refresh(_group: Any) -> Refreshed:
        shared, answer, statements = await runner.answer(source)
        if answer is None:
            return Refreshed(shared, fallback, statements=statements)
        return Refreshed(shared, answer.interest, answer.rolls_at, statements)

    return refresh


def error_payload(error: GraphQLError) -> Shared:
    return Shared(orjson.dumps({"data": None, "errors": [with_code(error).formatted]}).decode())
