"""Small, explicit rows for tests, inserted on the maintenance path (a superuser, RLS bypassed)."""

from __future__ import annotations

import uuid
from uuid import UUID

import asyncpg


async def make_tenant(conn: asyncpg.Connection, name: str = "Tenant", timezone: str = "UTC") -> UUID:
    tenant_id = uuid.uuid4()
    await conn.execute("INSERT INTO tenants (id, name, timezone) VALUES ($1, $2, $3)", tenant_id, name, timezone)
    return tenant_id


async def make_team(conn: asyncpg.Connection, tenant_id: UUID, name: str = "Team") -> UUID:
    team_id = uuid.uuid4()
    await conn.execute("INSERT INTO teams (tenant_id, id, name) VALUES ($1, $2, $3)", tenant_id, team_id, name)
    return team_id


async def make_agent(conn: asyncpg.Connection, tenant_id: UUID, name: str, *, team_id: UUID | None = None,
                     kind: str = "human", status: str = "active") -> UUID:
    agent_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO agents (tenant_id, id, team_id, name, kind, status) VALUES ($1, $2, $3, $4, $5, $6)",
        tenant_id, agent_id, team_id, name, kind, status,
    )
    return agent_id


async def make_user(conn: asyncpg.Connection, tenant_id: UUID, email: str, role: str = "admin",
                    agent_id: UUID | None = None) -> UUID:
    user_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO users (tenant_id, id, email, display_name, role, agent_id) VALUES ($1, $2, $3, $4, $5, $6)",
        tenant_id, user_id, email, email.split("@")[0].title(), role, agent_id,
    )
    return user_id
