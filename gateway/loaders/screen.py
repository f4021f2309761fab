"""Screen-token grants (screen_tokens): issuing, renewing, revoking, listing, and the state a screen is admitted by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

import asyncpg

from gateway.db import TenantSession

# A grant lasts 1 to 365 days (the table checks the same).
MAX_DAYS: Final = 365

# `active` and `now_epoch` are read with the transaction's now(): a mutation run twice from one savepoint (the
# test suite's shadow executor) gets the same answer, and the token minted from it the same claims.
_COLUMNS: Final = ("id, user_id, label, created_by, created_at, expires_at, revoked_at, last_used_at, "
                   "(revoked_at IS NULL AND expires_at > now()) AS active, "
                   "floor(extract(epoch FROM now()))::bigint AS now_epoch")

# The id is derived from the transaction and the grants it has issued so far, as dashboard widgets' ids are
# (gateway/loaders/widget.py): the same in both runs of one savepoint, unique across transactions. Nothing is
# inserted for a user the tenant does not have.
INSERT_SCREEN_TOKEN: Final = f"""
WITH issued AS (
    SELECT count(*) AS created_now FROM screen_tokens WHERE tenant_id = $1 AND created_at = now()
)
INSERT INTO screen_tokens AS s (tenant_id, id, user_id, label, created_by, expires_at)
SELECT $1,
       md5(concat_ws(':', 'screen', $1::text, pg_current_xact_id()::text, extract(epoch FROM now())::text,
                     issued.created_now))::uuid,
       $2, $3, $4, now() + make_interval(days => $5)
FROM issued
WHERE EXISTS (SELECT FROM users WHERE tenant_id = $1 AND id = $2)
RETURNING {_COLUMNS}
"""  # noqa: S608 - constant columns

# A renewal is the grant's last use; only a grant that still holds is renewed.
RENEW_SCREEN_TOKEN: Final = f"""
UPDATE screen_tokens SET last_used_at = now()
WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL AND expires_at > now()
RETURNING {_COLUMNS}
"""  # noqa: S608 - constant columns

# Revoking twice keeps the first time.
REVOKE_SCREEN_TOKEN: Final = f"""
UPDATE screen_tokens SET revoked_at = coalesce(revoked_at, now())
WHERE tenant_id = $1 AND id = $2
RETURNING {_COLUMNS}
"""  # noqa: S608 - constant columns

# Newest first (index screen_tokens_tenant_created); revoked and ended grants only when asked for.
SCREEN_TOKENS: Final = f"""
SELECT {_COLUMNS} FROM screen_tokens
WHERE tenant_id = $1 AND ($2 OR (revoked_at IS NULL AND expires_at > now()))
ORDER BY created_at DESC, id
"""  # noqa: S608 - constant columns

# What a screen is admitted by, at every HTTP operation and websocket connection_init: its grant by primary key,
# and its owner's stored role (the grant goes with the user, so the join always finds one).
GRANT_STATE: Final = """
SELECT s.user_id, u.role, s.revoked_at IS NOT NULL AS revoked, s.expires_at <= now() AS ended
FROM screen_tokens s
JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
WHERE s.tenant_id = $1 AND s.id = $2
"""

# Of some grants, those that still hold (a listener that reconnected may have missed revocations).
HOLDING: Final = """
SELECT id FROM screen_tokens
WHERE tenant_id = $1 AND id = any($2::uuid[]) AND revoked_at IS NULL AND expires_at > now()
"""


@dataclass(frozen=True)
class ScreenTokenRow:
    id: UUID
    user_id: UUID
    label: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    # Neither revoked nor past expires_at, as of the transaction's start.
    active: bool
    # The transaction's now(), in whole seconds since the epoch: when a token minted from this row is issued.
    now_epoch: int

    @classmethod
    def of(cls, record: asyncpg.Record) -> ScreenTokenRow:
        return cls(id=record["id"], user_id=record["user_id"], label=record["label"],
                   created_by=record["created_by"], created_at=record["created_at"],
                   expires_at=record["expires_at"], revoked_at=record["revoked_at"],
                   last_used_at=record["last_used_at"], active=record["active"], now_epoch=record["now_epoch"])


@dataclass(frozen=True)
class GrantState:
    """A grant as admission sees it."""

    user_id: UUID
    # The owner's role in the directory (users.role): what the screen may read.
    role: str
    revoked: bool
    ended: bool


async def insert(db: TenantSession, user_id: UUID, label: str, created_by: str, days: int) -> ScreenTokenRow | None:
    """The new grant; None when the tenant has no such user."""
    row = await db.fetchrow(INSERT_SCREEN_TOKEN, db.tenant_id, user_id, label, created_by, days)
    return ScreenTokenRow.of(row) if row is not None else None


async def renew(db: TenantSession, screen_id: UUID) -> ScreenTokenRow | None:
    """The grant, its use recorded; None when it is revoked, ended or gone."""
    row = await db.fetchrow(RENEW_SCREEN_TOKEN, db.tenant_id, screen_id)
    return ScreenTokenRow.of(row) if row is not None else None


async def revoke(db: TenantSession, screen_id: UUID) -> ScreenTokenRow | None:
    """The revoked grant; None when the tenant has none by this id."""
    row = await db.fetchrow(REVOKE_SCREEN_TOKEN, db.tenant_id, screen_id)
    return ScreenTokenRow.of(row) if row is not None else None


async def screen_tokens(db: TenantSession, include_inactive: bool) -> list[ScreenTokenRow]:
    return [ScreenTokenRow.of(r) for r in await db.fetch(SCREEN_TOKENS, db.tenant_id, include_inactive)]


async def grant_state(db: TenantSession, screen_id: UUID) -> GrantState | None:
    row = await db.fetchrow(GRANT_STATE, db.tenant_id, screen_id)
    if row is None:
        return None
    return GrantState(user_id=row["user_id"], role=row["role"], revoked=row["revoked"], ended=row["ended"])


async def holding(db: TenantSession, screen_ids: list[UUID]) -> set[UUID]:
    return {r["id"] for r in await db.fetch(HOLDING, db.tenant_id, screen_ids)}
