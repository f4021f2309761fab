"""The Strawberry extension that runs operations through the planned engine, and the shadow comparison.

Strawberry runs graphql-core's executor only when no extension has set the operation's result in
`on_execute`; this extension sets it. Parsing, validation (with its caches and size limits), the operation's
transaction (OperationScopeExtension, outside this one) and error codes (ErrorCodeExtension) are untouched.

In shadow mode (the test suite) every operation also runs through graphql-core on the same data — first, inside
a savepoint that is rolled back, with its own loaders and its statements kept from the query logger — and any
difference raises ShadowMismatch, which fails the test that sent the operation.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Final

from graphql import ExecutionResult, GraphQLError, OperationType, execute
from strawberry.extensions import SchemaExtension

from gateway.db import quiet_statements
from gateway.engine import observe
from gateway.engine.errors import Positions, normalised_errors
from gateway.engine.execute import Prepared, prepare, run_prepared
from gateway.engine.plan import Fallback, PlanCache

log = logging.getLogger(__name__)

REFERENCE_SAVEPOINT: Final = "SAVEPOINT callpulse_shadow"
ROLLBACK_REFERENCE: Final = "ROLLBACK TO SAVEPOINT callpulse_shadow"
RELEASE_REFERENCE: Final = "RELEASE SAVEPOINT callpulse_shadow"



class ExecutorMode(enum.StrEnum):
    PLANNED = "planned"
    GRAPHQL_CORE = "graphql-core"


class ShadowMismatch(AssertionError):
    """The planned engine and graphql-core answered one operation differently."""


class PlannedExecution(SchemaExtension):
    """Answers each operation with the planned engine unless it must, or is told to, fall back."""

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        context = ec.context
        mode = getattr(context, "executor", ExecutorMode.PLANNED)
        if mode != ExecutorMode.PLANNED or ec.graphql_document is None or ec.query is None:
            yield
            return
        schema: Any = ec.schema
        cache: PlanCache = schema.plan_cache
        shadow = bool(getattr(context, "shadow", False))
        try:
            prepared = prepare(schema, cache, ec.query, ec.graphql_document, ec.operation_name, ec.variables,
                               context, ec.root_value, schema.execution_context_class)
        except Fallback as why:
            log.debug("executing with graphql-core: %s", why)
            observe.current().fell_back(str(why))
            yield
            return
        # The reference runs first, under a savepoint that is rolled back: a mutation's writes are undone, and a
        # statement that fails (aborting the transaction) leaves the operation's own run unharmed.
        reference = await self._reference(schema) if shadow else None
        result = await run_prepared(schema, prepared)
        if reference is not None:
            compare(ec.query, ec.variables, result, reference, prepared)
        ec.result = result
        yield

    async def _reference(self, schema: Any) -> ExecutionResult:
        """graphql-core's answer, with fresh loaders, inside a savepoint that is rolled back."""
        from gateway.context import fresh_loaders

        ec = self.execution_context
        assert ec.graphql_document is not None
        token = quiet_statements.set(True)
        try:
            async with fresh_loaders() as db:
                if db is not None:
                    await db.execute(REFERENCE_SAVEPOINT)
                try:
                    outcome = execute(schema._schema, ec.graphql_document, root_value=ec.root_value,
                                      context_value=ec.context, variable_values=ec.variables,
                                      operation_name=ec.operation_name,
                                      executor_class=schema.execution_context_class)
                    result: ExecutionResult = await outcome if hasattr(outcome, "__await__") else outcome
                finally:
                    if db is not None:
                        await db.execute(ROLLBACK_REFERENCE)
                        await db.execute(RELEASE_REFERENCE)
        finally:
            quiet_statements.reset(token)
        return result


def _is_mutation(ec: Any) -> bool:
    try:
        return str(ec.operation_type.value) == OperationType.MUTATION.value
    except Exception:
        return False


def _error_view(error: GraphQLError) -> tuple[str, str, str, str]:
    original = error.original_error
    return (json.dumps(error.path), error.message, json.dumps([tuple(loc) for loc in error.locations or ()]),
            type(original).__name__ if original is not None else "")


def compare(query: str, variables: Any, planned: ExecutionResult, reference: ExecutionResult, prepared: Prepared
            ) -> None:
    """Raises ShadowMismatch unless data (with key order) and errors (as sets, by path) are the same; the
    operation's plan (`prepared`) tells where each error's null stopped."""
    positions = Positions(prepared.plan.root, prepared.planner) \
        if prepared.plan is not None and prepared.planner is not None else None
    same_data = json.dumps(planned.data, default=str) == json.dumps(reference.data, default=str)
    planned_errors = sorted(_error_view(e) for e in normalised_errors(planned.data, planned.errors or [], positions))
    reference_errors = sorted(_error_view(e)
                              for e in normalised_errors(reference.data, reference.errors or [], positions))
    if same_data and planned_errors == reference_errors:
        return
    mismatch = ShadowMismatch(
        "the planned engine and graphql-core differ\n"
        f"query: {query}\nvariables: {variables}\n"
        f"planned data:   {json.dumps(planned.data, default=str)[:4000]}\n"
        f"reference data: {json.dumps(reference.data, default=str)[:4000]}\n"
        f"planned errors:   {planned_errors}\nreference errors: {reference_errors}"
    )
    # Logged as well as raised: a test expecting some error must still see that this one was a mismatch.
    log.error("%s", mismatch)
    raise mismatch
