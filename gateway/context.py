"""The per-request Context resolvers see as `info.context`, and the per-operation database scope.

A websocket carries many operations over one Context, so the tenant session and the loaders belong to the
operation, not to the Context: OperationScopeExtension opens them around each operation and binds them to a
context variable that `Context.db` and `Context.loaders` read.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
from strawberry.extensions import SchemaExtension

from gateway.access import Access
from gateway.auth import READERS, Principal, Role
from gateway.db import TenantSession
from gateway.errors import Forbidden, Unauthenticated
from gateway.graphql_errors import masked_internal_error
from gateway.limits import OperationLimits
from gateway.loaders import Loaders

if TYPE_CHECKING:
    from gateway.screens import Screens


@dataclass
class OperationScope:
    db: TenantSession
    loaders: Loaders


log = logging.getLogger(__name__)

_scope: ContextVar[OperationScope | None] = ContextVar("callpulse_operation_scope", default=None)


@dataclass
class Context:
    """What a resolver may use: who asks, for which tenant, and the operation's database access."""

    pool: asyncpg.Pool
    request_id: str
    principal: Principal | None = None
    request: Any = None
    response: Any = None
    # Set by strawberry from the websocket's connection_init payload.
    connection_params: dict[str, object] = field(default_factory=dict)
    # Which executor answers operations (CALLPULSE_EXECUTOR), and whether graphql-core shadows it (tests).
    executor: str = "planned"
    shadow: bool = False
    # Cost budget, time budget and token limit of each operation (gateway/limits.py).
    limits: OperationLimits = field(default_factory=OperationLimits)
    # The process's live hub (gateway/live), for subscriptions; None where nothing serves them (scripts).
    live: Any = None
    # Screen tokens' signer and revocation watch (gateway/screens.py); None where nothing issues them (scripts).
    screens: Screens | None = None

    def require(self, *roles: Role) -> Principal:
        """The principal, if it holds one of `roles` (any role when none are given); else an error."""
        if self.principal is None:
            raise Unauthenticated("authenticate first", reason="missing_token")
        if roles and not self.principal.has(*roles):
            raise Forbidden(f"this needs one of the roles: {', '.join(r.value for r in roles)}")
        return self.principal

    async def access(self) -> Access:
        """What the principal may read (one directory lookup per operation, none for admin and viewer)."""
        principal = self.require(*READERS)
        return await self.loaders.access.load(principal)

    @property
    def db(self) -> TenantSession:
        return self._current().db

    @property
    def loaders(self) -> Loaders:
        return self._current().loaders

    def _current(self) -> OperationScope:
        scope = _scope.get()
        if scope is None:
            raise RuntimeError("database access outside of a GraphQL operation")
        return scope


@contextlib.asynccontextmanager
async def fresh_loaders() -> AsyncIterator[TenantSession | None]:
    """The operation's session with a new set of loaders for a while (the shadow executor's reference run)."""
    scope = _scope.get()
    if scope is None:
        yield None
        return
    token = _scope.set(OperationScope(db=scope.db, loaders=Loaders.for_session(scope.db)))
    try:
        yield scope.db
    finally:
        _scope.reset(token)


@contextlib.asynccontextmanager
async def operation_scope(pool: asyncpg.Pool, tenant_id: Any) -> AsyncIterator[TenantSession]:
    """A short operation of our own (a live refresh): its tenant transaction and loaders, rolled back after.

    Resolvers called inside read `Context.db`/`Context.loaders` as in any operation, with fresh loaders, and
    the connection goes back to the pool at the end: nothing is held between two refreshes.
    """
    db = TenantSession(pool, tenant_id)
    token = _scope.set(OperationScope(db=db, loaders=Loaders.for_session(db)))
    try:
        yield db
    finally:
        _scope.reset(token)
        await db.close(commit=False)


class OperationScopeExtension(SchemaExtension):
    """One tenant transaction and one set of loaders per operation; commit only when it had no error."""

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        principal = getattr(context, "principal", None)
        if not isinstance(context, Context) or principal is None:
            yield
            return
        db = TenantSession(context.pool, principal.tenant_id)
        token = _scope.set(OperationScope(db=db, loaders=Loaders.for_session(db)))
        committed = False
        try:
            yield
            result = self.execution_context.result
            committed = result is not None and not getattr(result, "errors", None)
        finally:
            _scope.reset(token)
            # A mutation that failed anywhere leaves nothing behind.
            try:
                await db.close(commit=committed)
            except Exception:
                log.exception("closing the operation's transaction failed (commit=%s)", committed)
                result = self.execution_context.result
                if result is not None:
                    result.data = None
                    result.errors = [masked_internal_error()]
