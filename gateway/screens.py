"""Screen tokens as credentials: minted here, admitted against their grant, read-only, revocable at once.

    issueScreenToken (admin) ─▶ a screen_tokens row, the grant: owner (a directory user), label, its end
        (1-365 days) ─▶ a JWT signed with the gateway's HS256 secret: sub = the owner's id, role `screen`,
        scr = the grant, exp = min(now + 1 h, the grant's end)
    /graphql request or websocket connection_init with it ─▶ admit(): the grant by primary key (nothing is
        cached across operations). Revoked, ended or gone ─▶ 401 / 4403; else the principal is the owner's
        (role: the owner's stored role, read when admitted), marked read-only (screen_id)
    renewScreenToken (the screen, with its own token) ─▶ a fresh JWT while the grant holds
    revokeScreenToken (admin) ─▶ revoked_at, and NOTIFY callpulse_changes {"screen", "tenant"} at commit:
        every gateway process ends that grant's open sockets at once (4403), their operations first

The role `screen` grants nothing by itself: a path that verifies tokens but does not admit them
(POST /api/v1/events) sees no role it honours. The JWT is short-lived so that a socket whose revocation
signal was lost (the listener was down, and its recheck on reconnecting failed too) still ends within the hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID

import asyncpg
import jwt
import orjson
from graphql import GraphQLError, get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.auth import (
    DEFAULT_ROLES_CLAIM,
    DEFAULT_TENANT_CLAIM,
    HS256,
    SCREEN_CLAIM,
    Principal,
    Role,
    signing_secret,
)
from gateway.db import TenantSession
from gateway.errors import ConfigurationError, ErrorCode, Forbidden, Unauthenticated
from gateway.limits import root_field_names
from gateway.live.signals import CHANNEL, NOTIFY
from gateway.loaders import screen as screen_sql
from gateway.loaders.screen import GrantState, ScreenTokenRow
from gateway.settings import Settings

log = logging.getLogger(__name__)

# How long one screen JWT lives: the page renews it before then. Longer means fewer renewals and reconnects;
# shorter bounds how long a socket outlives a revocation signal that never arrived.
TOKEN_TTL_SECONDS: Final = 3600
# The root fields a screen may select in a mutation.
SCREEN_MUTATIONS: Final = frozenset({"renewScreenToken", "__typename"})
# Revocations remembered for sockets that are admitted just before one and start watching just after it.
REMEMBER_REVOKED_SECONDS: Final = 60.0


@dataclass(frozen=True)
class MintedToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class ScreenSigner:
    """Mints screen JWTs with the gateway's own HS256 secret, in the claim layout its verifier reads."""

    # None: this deployment verifies tokens (a public key, a JWKS) but has no secret to sign with.
    secret: str | None
    issuer: str | None = None
    audience: str | None = None
    tenant_claim: str = DEFAULT_TENANT_CLAIM
    roles_claim: str = DEFAULT_ROLES_CLAIM
    ttl_seconds: int = TOKEN_TTL_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> ScreenSigner:
        try:
            secret: str | None = signing_secret(settings)
        except ConfigurationError:
            secret = None
        return cls(secret, settings.jwt_issuer, settings.jwt_audience, settings.jwt_tenant_claim,
                   settings.jwt_roles_claim)

    def mint(self, tenant_id: UUID, grant: ScreenTokenRow) -> MintedToken:
        """A token for `grant`, issued at the transaction's time (the same in both runs of a shadowed mutation)."""
        if self.secret is None:
            raise cannot_sign()
        issued = grant.now_epoch
        expires = min(issued + self.ttl_seconds, int(grant.expires_at.timestamp()))
        # Claims at the configured paths: a top-level key equal to the whole path is found first (claim_at).
        claims: dict[str, Any] = {"sub": str(grant.user_id), self.tenant_claim: str(tenant_id),
                                  self.roles_claim: [Role.SCREEN.value], SCREEN_CLAIM: str(grant.id),
                                  "iat": issued, "exp": expires}
        if self.issuer:
            claims["iss"] = self.issuer
        if self.audience:
            claims["aud"] = self.audience
        return MintedToken(jwt.encode(claims, self.secret, algorithm=HS256), datetime.fromtimestamp(expires, UTC))


def cannot_sign() -> Forbidden:
    return Forbidden("this gateway cannot sign screen tokens: it verifies tokens with CALLPULSE_JWT_PUBLIC_KEY or "
                     "CALLPULSE_JWT_JWKS_URL only; set CALLPULSE_JWT_SECRET as well to issue them",
                     reason="no_signing_key")


# -- admission ---------------------------------------------------------------------------------------------------

def refusal(state: GrantState | None) -> Unauthenticated | None:
    """Why a grant no longer admits its screen, if it does not."""
    if state is None or state.revoked:
        return Unauthenticated("the screen token has been revoked", reason="revoked_token")
    if state.ended:
        return Unauthenticated("the screen token's grant has ended; an admin can issue a new one",
                               reason="screen_expired")
    return None


def admitted(principal: Principal, state: GrantState | None) -> Principal:
    """The owner's principal, read-only; Unauthenticated when the grant does not admit the token."""
    refused = refusal(state)
    if refused is not None:
        raise refused
    assert state is not None
    if principal.user_uuid != state.user_id:
        raise Unauthenticated("the screen token's subject is not its grant's owner", reason="invalid_claims")
    return dataclasses.replace(principal, roles=frozenset({Role(state.role)}))


async def admit(pool: asyncpg.Pool, principal: Principal) -> Principal:
    """A verified principal as it may act: a screen token's after one look at its grant; any other as it is."""
    if principal.screen_id is None:
        return principal
    db = TenantSession(pool, principal.tenant_id)
    try:
        state = await screen_sql.grant_state(db, principal.screen_id)
    finally:
        await db.close(commit=False)
    return admitted(principal, state)


def require_manager(principal: Principal) -> Principal:
    """An admin's own principal, not a screen's (whatever its owner's role)."""
    if principal.screen_id is not None:
        raise Forbidden("a screen token cannot manage screen tokens", reason="read_only_screen")
    return principal


class ReadOnlyScreens(SchemaExtension):
    """A screen runs queries and subscriptions; of mutations, renewScreenToken only (HTTP and websockets alike)."""

    def on_validate(self) -> Iterator[None]:
        # Before Strawberry's own check of the errors, which happens inside the validation step.
        ec = self.execution_context
        refused = None if ec.pre_execution_errors else self._refusal()
        if refused is not None:
            ec.pre_execution_errors = [refused]
        yield

    def _refusal(self) -> GraphQLError | None:
        ec = self.execution_context
        principal = getattr(ec.context, "principal", None)
        if not isinstance(principal, Principal) or principal.screen_id is None or ec.graphql_document is None:
            return None
        operation = get_operation_ast(ec.graphql_document, ec.operation_name)
        if operation is None or operation.operation.value != OperationType.MUTATION.value:
            return None
        if root_field_names(ec.graphql_document, ec.operation_name) <= SCREEN_MUTATIONS:
            return None
        return GraphQLError("a screen token is read-only: it may run queries, subscriptions and renewScreenToken",
                            operation, extensions={"code": ErrorCode.FORBIDDEN.value, "reason": "read_only_screen"})


# -- revocation of open sockets ----------------------------------------------------------------------------------

async def signal_revoked(db: TenantSession, screen_id: UUID) -> None:
    """Tells every gateway process, at the commit of `db`'s transaction, to end the grant's open sockets."""
    payload = orjson.dumps({"screen": str(screen_id), "tenant": str(db.tenant_id)}).decode()
    await db.execute(NOTIFY, CHANNEL, payload)


@dataclass
class _Watched:
    tenant_id: UUID
    events: set[asyncio.Event] = dataclasses.field(default_factory=set)


class ScreenRevocations:
    """This process's open screen sockets by grant: each is told at once when its grant is revoked."""

    def __init__(self) -> None:
        self._watched: dict[UUID, _Watched] = {}
        # Grants revoked lately, with when (time.monotonic): a socket that starts watching just after is told.
        self._recent: dict[UUID, float] = {}

    @contextlib.contextmanager
    def watching(self, principal: Principal) -> Iterator[asyncio.Event]:
        """An event set when the principal's grant is revoked, for as long as the block runs."""
        event = asyncio.Event()
        screen_id = principal.screen_id
        if screen_id is None:
            yield event
            return
        watched = self._watched.setdefault(screen_id, _Watched(principal.tenant_id))
        watched.events.add(event)
        if screen_id in self._recent:
            event.set()
        try:
            yield event
        finally:
            watched.events.discard(event)
            if not watched.events and self._watched.get(screen_id) is watched:
                del self._watched[screen_id]

    @property
    def sockets(self) -> int:
        return sum(len(w.events) for w in self._watched.values())

    def revoked(self, tenant_id: UUID, screen_id: UUID) -> None:
        now = time.monotonic()
        self._recent = {k: at for k, at in self._recent.items() if now - at < REMEMBER_REVOKED_SECONDS}
        self._recent[screen_id] = now
        watched = self._watched.get(screen_id)
        if watched is not None and watched.tenant_id == tenant_id:
            for event in watched.events:
                event.set()

    def take(self, payload: str) -> bool:
        """Whether `payload` is a revocation (then acted on); other change signals are left to the live hub."""
        if '"screen"' not in payload:  # most payloads are rollup changes: no parsing for them
            return False
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(body, dict) or "screen" not in body:
            return False
        try:
            self.revoked(UUID(body["tenant"]), UUID(body["screen"]))
        except (ValueError, KeyError, TypeError) as e:
            log.warning("ignoring a screen revocation this gateway cannot read (%s): %.200s", e, payload)
        return True

    def ahead_of(self, on_payload: Callable[[str, str], None]) -> Callable[[str, str], None]:
        """A listener's payload handler: revocations here, every other payload to `on_payload`."""
        def deliver(channel: str, payload: str) -> None:
            if channel != CHANNEL or not self.take(payload):
                on_payload(channel, payload)
        return deliver

    async def recheck(self, pool: asyncpg.Pool) -> None:
        """Ends the sockets of grants revoked meanwhile: one query per tenant with open screens. For a listener
        that reconnected, since signals sent while it was down are lost."""
        by_tenant: dict[UUID, list[UUID]] = {}
        for screen_id, watched in list(self._watched.items()):
            by_tenant.setdefault(watched.tenant_id, []).append(screen_id)
        for tenant_id, screen_ids in by_tenant.items():
            db = TenantSession(pool, tenant_id)
            try:
                holding = await screen_sql.holding(db, screen_ids)
            except Exception:
                # The sockets still end when their tokens expire.
                log.exception("rechecking screen grants failed; their sockets end at their tokens' expiry")
                continue
            finally:
                await db.close(commit=False)
            for screen_id in screen_ids:
                if screen_id not in holding:
                    self.revoked(tenant_id, screen_id)

    def after(self, on_resync: Callable[[], Awaitable[None]],
              pool: asyncpg.Pool) -> Callable[[], Awaitable[None]]:
        """A listener's resync handler: `on_resync`, then the recheck of this process's screen sockets."""
        async def resync() -> None:
            await on_resync()
            await self.recheck(pool)
        return resync


@dataclass(frozen=True)
class Screens:
    """The app's screen-token services: the signer and this process's revocation watch (app.state.screens)."""

    signer: ScreenSigner
    revocations: ScreenRevocations = dataclasses.field(default_factory=ScreenRevocations)

    @classmethod
    def from_settings(cls, settings: Settings) -> Screens:
        return cls(ScreenSigner.from_settings(settings))
