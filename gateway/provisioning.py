"""Tenants and directory users created by an operator, on the maintenance path (`callpulse tenants / users`).

The request role cannot insert tenants; these run as the DATABASE_URL owner (a superuser or a role with
BYPASSRLS to list across tenants). Each write sets `app.tenant_id` to its tenant as well, so it also passes the
forced row-level security of an owner without BYPASSRLS. Every refusal is a CallPulseError with a message an
operator can act on.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

import asyncpg

from gateway.auth import Role
from gateway.errors import BadUserInput, Conflict, NotFound

# The roles a directory user may hold (users.role); `service` is for machine tokens only.
USER_ROLES: Final = (Role.ADMIN, Role.MANAGER, Role.AGENT, Role.VIEWER)
MAX_NAME: Final = 200
MAX_EMAIL: Final = 320
MAX_EXTERNAL_SUBJECT: Final = 255
# Not zones but aliases of the server's own setting: the same rule as updateTenantSettings.
NOT_ZONES: Final = frozenset({"localtime", "posixrules", "Factory"})
EMAIL_SHAPE: Final = re.compile(r"[^@\s]+@[^@\s]+")

SET_TENANT: Final = "SELECT set_config('app.tenant_id', $1::text, true)"
KNOWN_TIMEZONE: Final = "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)"

INSERT_TENANT: Final = """
INSERT INTO tenants (id, name, timezone)
VALUES ($1, $2, $3)
ON CONFLICT (id) DO NOTHING
RETURNING id, name, timezone, created_at
"""
ALL_TENANTS: Final = """
SELECT t.id, t.name, t.timezone, t.created_at,
       (SELECT count(*) FROM users u WHERE u.tenant_id = t.id) AS users
FROM tenants t
ORDER BY t.name, t.id
"""
# Locks the tenant row: users of one tenant are created one at a time, so the e-mail check below holds.
LOCK_TENANT: Final = "SELECT name FROM tenants WHERE id = $1 FOR UPDATE"
EMAIL_TAKEN: Final = "SELECT EXISTS (SELECT FROM users WHERE tenant_id = $1 AND lower(email) = lower($2))"
SUBJECT_TAKEN: Final = "SELECT EXISTS (SELECT FROM users WHERE tenant_id = $1 AND external_subject = $2)"
AGENT_TENANT: Final = "SELECT tenant_id FROM agents WHERE id = $1 ORDER BY tenant_id = $2 DESC LIMIT 1"
TEAM_TENANTS: Final = """
SELECT k.id, (SELECT t.tenant_id FROM teams t WHERE t.id = k.id ORDER BY t.tenant_id = $2 DESC LIMIT 1) AS tenant_id
FROM unnest($1::uuid[]) AS k(id)
"""
INSERT_USER: Final = """
INSERT INTO users (tenant_id, id, email, display_name, role, agent_id, external_subject)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
INSERT_MANAGED_TEAMS: Final = """
INSERT INTO team_managers (tenant_id, team_id, user_id)
SELECT $1, team_id, $3 FROM unnest($2::uuid[]) AS team_id
ON CONFLICT DO NOTHING
"""
TENANT_EXISTS: Final = "SELECT EXISTS (SELECT FROM tenants WHERE id = $1)"
USERS_OF_TENANT: Final = """
SELECT u.id, u.tenant_id, u.email, u.display_name, u.role, u.agent_id, u.external_subject,
       coalesce(array_agg(m.team_id ORDER BY m.team_id) FILTER (WHERE m.team_id IS NOT NULL), '{}') AS manages
FROM users u
LEFT JOIN team_managers m ON m.tenant_id = u.tenant_id AND m.user_id = u.id
WHERE u.tenant_id = $1
GROUP BY u.tenant_id, u.id
ORDER BY u.role, lower(u.email), u.id
"""


@dataclass(frozen=True)
class TenantRecord:
    """A tenant as provisioning shows it."""

    id: UUID
    name: str
    timezone: str
    created_at: datetime
    users: int = 0


@dataclass(frozen=True)
class NewUser:
    """What `callpulse users create` asks for."""

    tenant_id: UUID
    email: str
    display_name: str
    role: Role
    agent_id: UUID | None = None
    manages: tuple[UUID, ...] = ()
    external_subject: str | None = None


@dataclass(frozen=True)
class UserRecord:
    """A directory user with the teams they manage."""

    id: UUID
    tenant_id: UUID
    email: str
    display_name: str
    role: Role
    agent_id: UUID | None
    external_subject: str | None
    manages: tuple[UUID, ...] = ()


def _name(value: str, what: str) -> str:
    cleaned = value.strip()
    if not 1 <= len(cleaned) <= MAX_NAME:
        raise BadUserInput(f"the {what} must be 1 to {MAX_NAME} characters")
    return cleaned


async def check_timezone(conn: asyncpg.Connection, name: str) -> None:
    """Refuses a zone one side does not know: PostgreSQL computes local days in rollups, Python in ranges."""
    # Looked up in Python's list first, so the name is never used as a path.
    known_here = name in zoneinfo.available_timezones() and name not in NOT_ZONES
    if not known_here or not await conn.fetchval(KNOWN_TIMEZONE, name):
        raise BadUserInput(f"{name!r} is not an IANA timezone known to both PostgreSQL and Python "
                           "(e.g. 'Europe/Berlin', 'America/New_York', 'UTC')")


async def create_tenant(conn: asyncpg.Connection, *, name: str, timezone: str,
                        tenant_id: UUID | None = None) -> TenantRecord:
    """A new tenant; `tenant_id` keeps the id the platform already uses for it."""
    cleaned = _name(name, "tenant name")
    await check_timezone(conn, timezone)
    new_id = tenant_id or uuid.uuid4()
    async with conn.transaction():
        await conn.execute(SET_TENANT, str(new_id))
        row = await conn.fetchrow(INSERT_TENANT, new_id, cleaned, timezone)
    if row is None:
        raise Conflict(f"a tenant with id {new_id} already exists")
    return TenantRecord(**dict(row))


async def list_tenants(conn: asyncpg.Connection) -> list[TenantRecord]:
    """Every tenant, by name."""
    return [TenantRecord(**dict(r)) for r in await conn.fetch(ALL_TENANTS)]


def _check_new_user(user: NewUser) -> NewUser:
    email = user.email.strip()
    if len(email) > MAX_EMAIL or not EMAIL_SHAPE.fullmatch(email):
        raise BadUserInput(f"{user.email!r} is not an e-mail address")
    if user.role not in USER_ROLES:
        raise BadUserInput(f"a directory user's role is one of {', '.join(USER_ROLES)}, not {user.role!r}")
    if user.role == Role.AGENT and user.agent_id is None:
        raise BadUserInput("a user with role agent must be linked to their agent: give --agent AGENT_ID")
    if user.manages and user.role != Role.MANAGER:
        raise BadUserInput("only a manager manages teams: --manages needs --role manager")
    subject = user.external_subject
    if subject is not None:
        subject = subject.strip()
        if not 1 <= len(subject) <= MAX_EXTERNAL_SUBJECT:
            raise BadUserInput(f"the external subject must be 1 to {MAX_EXTERNAL_SUBJECT} characters")
    return NewUser(tenant_id=user.tenant_id, email=email, display_name=_name(user.display_name, "name"),
                   role=user.role, agent_id=user.agent_id, manages=tuple(dict.fromkeys(user.manages)),
                   external_subject=subject)


async def _check_references(conn: asyncpg.Connection, user: NewUser) -> None:
    if user.agent_id is not None:
        owner = await conn.fetchval(AGENT_TENANT, user.agent_id, user.tenant_id)
        if owner is None:
            raise NotFound(f"no agent {user.agent_id} in tenant {user.tenant_id}")
        if owner != user.tenant_id:
            raise BadUserInput(f"agent {user.agent_id} belongs to another tenant, not {user.tenant_id}")
    for row in await conn.fetch(TEAM_TENANTS, list(user.manages), user.tenant_id):
        if row["tenant_id"] is None:
            raise NotFound(f"no team {row['id']} in tenant {user.tenant_id}")
        if row["tenant_id"] != user.tenant_id:
            raise BadUserInput(f"team {row['id']} belongs to another tenant, not {user.tenant_id}")
    if await conn.fetchval(EMAIL_TAKEN, user.tenant_id, user.email):
        raise Conflict(f"tenant {user.tenant_id} already has a user with e-mail {user.email!r}")
    if user.external_subject is not None and await conn.fetchval(SUBJECT_TAKEN, user.tenant_id,
                                                                 user.external_subject):
        raise Conflict(f"tenant {user.tenant_id} already has a user with external subject "
                       f"{user.external_subject!r}")


async def create_user(conn: asyncpg.Connection, new: NewUser) -> UserRecord:
    """A directory user, linked to their agent and the teams they manage, in one transaction."""
    user = _check_new_user(new)
    user_id = uuid.uuid4()
    async with conn.transaction():
        await conn.execute(SET_TENANT, str(user.tenant_id))
        if await conn.fetchval(LOCK_TENANT, user.tenant_id) is None:
            raise NotFound(f"no tenant {user.tenant_id} (see `callpulse tenants list`)")
        await _check_references(conn, user)
        await conn.execute(INSERT_USER, user.tenant_id, user_id, user.email, user.display_name, user.role.value,
                           user.agent_id, user.external_subject)
        if user.manages:
            await conn.execute(INSERT_MANAGED_TEAMS, user.tenant_id, list(user.manages), user_id)
    return UserRecord(id=user_id, tenant_id=user.tenant_id, email=user.email, display_name=user.display_name,
                      role=user.role, agent_id=user.agent_id, external_subject=user.external_subject,
                      manages=user.manages)


async def list_users(conn: asyncpg.Connection, tenant_id: UUID) -> list[UserRecord]:
    """The tenant's directory users, by role and e-mail."""
    async with conn.transaction():
        await conn.execute(SET_TENANT, str(tenant_id))
        if not await conn.fetchval(TENANT_EXISTS, tenant_id):
            raise NotFound(f"no tenant {tenant_id} (see `callpulse tenants list`)")
        rows = await conn.fetch(USERS_OF_TENANT, tenant_id)
    return [_user(r) for r in rows]


def _user(row: asyncpg.Record) -> UserRecord:
    manages: Sequence[UUID] = row["manages"]
    return UserRecord(id=row["id"], tenant_id=row["tenant_id"], email=row["email"],
                      display_name=row["display_name"], role=Role(row["role"]), agent_id=row["agent_id"],
                      external_subject=row["external_subject"], manages=tuple(manages))
