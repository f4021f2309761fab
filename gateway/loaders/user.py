"""User rows, by id and by the subject a token names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final
from uuid import UUID

import asyncpg

from gateway.loaders._base import TenantLoader, in_key_order
from gateway.loaders._keyset import Order
from gateway.loaders._lateral import relation_sql

USERS_BY_ID: Final = """
SELECT id, email, display_name, role, agent_id, external_subject
FROM users
WHERE tenant_id = $1 AND id = any($2::uuid[])
"""

# A subject names a user by id, or by the identity provider's subject stored for it. The IS NOT NULL lets the
# planner use the partial unique index users_tenant_external_subject.
USERS_BY_SUBJECT: Final = """
SELECT id, email, display_name, role, agent_id, external_subject
FROM users
WHERE tenant_id = $1 AND id = any($2::uuid[])
UNION ALL
SELECT id, email, display_name, role, agent_id, external_subject
FROM users
WHERE tenant_id = $1 AND external_subject = any($3::text[]) AND external_subject IS NOT NULL
"""

# The users who manage a team (team_managers, through its primary key), for a page of teams at once (see
# _lateral.py), by display name. $2 narrows to the users the principal may read (NULL: all).
_MANAGER_FILTERS: Final = """
WHERE m.tenant_id = $1
  AND ($2::uuid[] IS NULL OR u.id = any($2))
"""
# A list of users has one order, by display name (the id breaks ties); the key of that order in statements.
BY_DISPLAY_NAME: Final = "display_name"
MANAGERS_BY_TEAM: Final = relation_sql(
    columns="u.id, u.email, u.display_name, u.role, u.agent_id, u.external_subject",
    source="team_managers m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id",
    filters=_MANAGER_FILTERS, filter_params=1, parent="m.team_id",
    orders={BY_DISPLAY_NAME: Order("u.display_name", "text", False, str)})


@dataclass(frozen=True)
class UserFilter:
    """Narrows a list of users to those the principal may read."""

    # None for all. A tuple: filters are keys of relation loaders.
    visible: tuple[UUID, ...] | None = None

    def params(self) -> tuple[object, ...]:
        return (self.visible,)


@dataclass(frozen=True)
class UserRow:
    id: UUID
    email: str
    display_name: str
    role: str
    agent_id: UUID | None
    # The identity provider's subject (`auth0|5f…`) tokens name this user by, when it has one.
    external_subject: str | None = None

    @classmethod
    def of(cls, record: asyncpg.Record) -> UserRow:
        return cls(id=record["id"], email=record["email"], display_name=record["display_name"],
                   role=record["role"], agent_id=record["agent_id"], external_subject=record["external_subject"])


def subject_uuid(subject: str) -> UUID | None:
    """The subject as a UUID, when it is one (it may still be an external subject, e.g. Keycloak's)."""
    try:
        return UUID(subject)
    except ValueError:
        return None


def user_for_subject(subject: str, rows: Iterable[UserRow]) -> UserRow | None:
    """The user a subject names: the one with that id first, else the one with that external subject."""
    as_uuid = subject_uuid(subject)
    by_external = None
    for row in rows:
        if as_uuid is not None and row.id == as_uuid:
            return row
        if row.external_subject == subject:
            by_external = row
    return by_external


class UserByIdLoader(TenantLoader[UUID, UserRow | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[UserRow | None]:
        rows = await self.db.fetch(USERS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, (UserRow.of(r) for r in rows), lambda u: u.id)


class UserBySubjectLoader(TenantLoader[str, UserRow | None]):
    """The directory user a token's `sub` names; AccessLoader primes it, so an operation looks it up once."""

    async def batch_load_fn(self, keys: Sequence[str]) -> list[UserRow | None]:
        ids = [u for u in map(subject_uuid, keys) if u is not None]
        rows = [UserRow.of(r) for r in await self.db.fetch(USERS_BY_SUBJECT, self.db.tenant_id, ids, list(keys))]
        return [user_for_subject(k, rows) for k in keys]
