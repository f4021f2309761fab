"""Tenants and directory users created on the maintenance path, and every refusal an operator can meet."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from gateway import provisioning
from gateway.auth import Role
from gateway.errors import BadUserInput, Conflict, NotFound
from gateway.provisioning import NewUser, UserRecord
from tests.factories import make_agent, make_team, make_tenant

COUNT_USERS = "SELECT count(*) FROM users WHERE tenant_id = $1"


async def test_create_tenant_keeps_the_given_id_and_timezone_and_lists_it(admin_conn: asyncpg.Connection) -> None:
    # given
    tenant_id = uuid.uuid4()
    # when
    created = await provisioning.create_tenant(admin_conn, name="  Acme  ", timezone="Asia/Kolkata",
                                               tenant_id=tenant_id)
    # then
    assert (created.id, created.name, created.timezone) == (tenant_id, "Acme", "Asia/Kolkata")
    listed = {t.id: t for t in await provisioning.list_tenants(admin_conn)}
    assert listed[tenant_id].timezone == "Asia/Kolkata"
    assert listed[tenant_id].users == 0


async def test_create_tenant_without_an_id_makes_a_new_one(admin_conn: asyncpg.Connection) -> None:
    first = await provisioning.create_tenant(admin_conn, name="A", timezone="UTC")
    second = await provisioning.create_tenant(admin_conn, name="A", timezone="UTC")
    assert first.id != second.id


async def test_a_tenant_id_already_taken_is_a_conflict(admin_conn: asyncpg.Connection) -> None:
    tenant_id = await make_tenant(admin_conn, "Existing")
    with pytest.raises(Conflict, match=str(tenant_id)):
        await provisioning.create_tenant(admin_conn, name="Other", timezone="UTC", tenant_id=tenant_id)
    assert await admin_conn.fetchval("SELECT name FROM tenants WHERE id = $1", tenant_id) == "Existing"


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "localtime", "posix/Europe/Berlin", "../etc/passwd",
                                      ""])
async def test_a_timezone_unknown_to_python_or_postgresql_is_refused(admin_conn: asyncpg.Connection,
                                                                      timezone: str) -> None:
    with pytest.raises(BadUserInput, match="IANA timezone"):
        await provisioning.create_tenant(admin_conn, name="T", timezone=timezone)
    assert await admin_conn.fetchval("SELECT count(*) FROM tenants") == 0


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
async def test_a_tenant_name_must_be_1_to_200_characters(admin_conn: asyncpg.Connection, name: str) -> None:
    with pytest.raises(BadUserInput, match="1 to 200"):
        await provisioning.create_tenant(admin_conn, name=name, timezone="UTC")


async def test_a_manager_is_created_with_the_teams_they_manage(admin_conn: asyncpg.Connection) -> None:
    # given
    tenant = await make_tenant(admin_conn)
    teams = [await make_team(admin_conn, tenant, "North"), await make_team(admin_conn, tenant, "South")]
    # when
    user = await provisioning.create_user(admin_conn, NewUser(
        tenant_id=tenant, email="Mia@Example.com", display_name="Mia", role=Role.MANAGER,
        manages=(teams[0], teams[1], teams[0]), external_subject="auth0|mia"))
    # then
    managed = await admin_conn.fetch("SELECT team_id FROM team_managers WHERE tenant_id = $1 AND user_id = $2",
                                     tenant, user.id)
    assert {r["team_id"] for r in managed} == set(teams)
    [listed] = await provisioning.list_users(admin_conn, tenant)
    assert listed == UserRecord(id=user.id, tenant_id=tenant, email="Mia@Example.com", display_name="Mia",
                              role=Role.MANAGER, agent_id=None, external_subject="auth0|mia",
                              manages=tuple(sorted(teams)))


async def test_an_agent_user_is_linked_to_their_agent(admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant(admin_conn)
    agent = await make_agent(admin_conn, tenant, "Ada")
    user = await provisioning.create_user(admin_conn, NewUser(
        tenant_id=tenant, email="ada@example.com", display_name="Ada", role=Role.AGENT, agent_id=agent))
    stored = await admin_conn.fetchrow("SELECT role, agent_id FROM users WHERE tenant_id = $1 AND id = $2",
                                       tenant, user.id)
    assert stored is not None
    assert (stored["role"], stored["agent_id"]) == ("agent", agent)


async def test_each_refusal_names_the_problem_and_writes_nothing(admin_conn: asyncpg.Connection) -> None:
    # given
    tenant = await make_tenant(admin_conn, "Ours")
    other = await make_tenant(admin_conn, "Theirs")
    team = await make_team(admin_conn, tenant)
    their_team = await make_team(admin_conn, other)
    their_agent = await make_agent(admin_conn, other, "Bob")
    await provisioning.create_user(admin_conn, NewUser(
        tenant_id=tenant, email="taken@example.com", display_name="Taken", role=Role.VIEWER,
        external_subject="sub-1"))

    def user(**overrides: object) -> NewUser:
        fields: dict[str, object] = {"tenant_id": tenant, "email": "new@example.com", "display_name": "New",
                                     "role": Role.MANAGER}
        return NewUser(**{**fields, **overrides})  # type: ignore[arg-type]

    cases: list[tuple[NewUser, type[Exception], str]] = [
        (user(tenant_id=uuid.uuid4()), NotFound, "no tenant"),
        (user(email="TAKEN@example.com"), Conflict, "already has a user with e-mail"),
        (user(external_subject="sub-1"), Conflict, "external subject"),
        (user(role=Role.AGENT), BadUserInput, "--agent"),
        (user(role=Role.AGENT, agent_id=their_agent), BadUserInput, "another tenant"),
        (user(role=Role.AGENT, agent_id=uuid.uuid4()), NotFound, "no agent"),
        (user(manages=(team, their_team)), BadUserInput, "another tenant"),
        (user(manages=(uuid.uuid4(),)), NotFound, "no team"),
        (user(role=Role.VIEWER, manages=(team,)), BadUserInput, "--role manager"),
        (user(role=Role.SERVICE), BadUserInput, "role"),
        (user(email="not-an-address"), BadUserInput, "e-mail"),
        (user(display_name=" "), BadUserInput, "name"),
        (user(external_subject="x" * 256), BadUserInput, "external subject"),
    ]
    for new, error, message in cases:
        # when / then
        with pytest.raises(error, match=message):
            await provisioning.create_user(admin_conn, new)
    assert await admin_conn.fetchval(COUNT_USERS, tenant) == 1
    assert await admin_conn.fetchval("SELECT count(*) FROM team_managers") == 0


async def test_listing_the_users_of_an_unknown_tenant_is_not_found(admin_conn: asyncpg.Connection) -> None:
    with pytest.raises(NotFound, match="no tenant"):
        await provisioning.list_users(admin_conn, uuid.uuid4())
