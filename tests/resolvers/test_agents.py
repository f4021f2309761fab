"""The first graph: viewer, tenant and the agents connection, over real HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.ids import decode_id, encode_id
from tests.conftest import LiveGateway
from tests.factories import make_agent, make_team, make_tenant, make_user

VIEWER = """
{ viewer { subject roles user { id email role agent { name } } tenant { id name timezone } } }
"""
AGENTS = """
query Agents($first: Int, $after: String, $filter: AgentFilter) {
  agents(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id name kind status team { id name } } }
  }
}
"""


async def graphql(gateway: LiveGateway, token: str, query: str, **variables: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post("/graphql", json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def acme(admin_conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    tenant = await make_tenant(admin_conn, "Acme", "Asia/Kolkata")
    other = await make_tenant(admin_conn, "Other")
    red = await make_team(admin_conn, tenant, "Red")
    blue = await make_team(admin_conn, tenant, "Blue")
    ids = {"tenant": tenant, "other": other, "red": red, "blue": blue}
    for i, (name, team, kind) in enumerate([("Ada", red, "human"), ("Bob", blue, "human"),
                                            ("Cy", red, "ai"), ("Di", None, "human"), ("Ed", blue, "ai")]):
        ids[f"agent{i}"] = await make_agent(admin_conn, tenant, name, team_id=team, kind=kind)
    await make_agent(admin_conn, other, "Mallory")
    ids["admin"] = await make_user(admin_conn, tenant, "boss@acme.test", "admin")
    ids["agent_user"] = await make_user(admin_conn, tenant, "ada@acme.test", "agent", agent_id=ids["agent0"])
    return ids


async def test_viewer_shows_the_tokens_subject_directory_entry_and_tenant(
    gateway: LiveGateway, acme: dict[str, uuid.UUID]
) -> None:
    token = gateway.token(acme["tenant"], str(acme["agent_user"]), roles=("agent",))
    body = await graphql(gateway, token, VIEWER)
    assert "errors" not in body
    viewer = body["data"]["viewer"]
    assert viewer["roles"] == ["AGENT"]
    assert viewer["user"] == {"id": encode_id("User", acme["agent_user"]), "email": "ada@acme.test",
                              "role": "AGENT", "agent": {"name": "Ada"}}
    assert viewer["tenant"] == {"id": encode_id("Tenant", acme["tenant"]), "name": "Acme",
                                "timezone": "Asia/Kolkata"}


async def test_a_token_for_an_unknown_tenant_gets_not_found(gateway: LiveGateway) -> None:
    body = await graphql(gateway, gateway.token(uuid.uuid4()), "{ tenant { name } }")
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["data"] is None


async def test_agents_pages_through_the_tenants_agents_only_by_name(
    gateway: LiveGateway, acme: dict[str, uuid.UUID]
) -> None:
    token = gateway.token(acme["tenant"], str(acme["admin"]))
    names: list[str] = []
    after = None
    for _ in range(3):
        body = await graphql(gateway, token, AGENTS, first=2, after=after)
        page = body["data"]["agents"]
        assert page["totalCount"] == 5
        names += [e["node"]["name"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert names == ["Ada", "Bob", "Cy", "Di", "Ed"]


async def test_agents_filter_by_team_and_kind_with_global_ids(
    gateway: LiveGateway, acme: dict[str, uuid.UUID]
) -> None:
    token = gateway.token(acme["tenant"], str(acme["admin"]))
    team_id = encode_id("Team", acme["red"])
    body = await graphql(gateway, token, AGENTS, filter={"teamId": team_id, "kind": "HUMAN"})
    page = body["data"]["agents"]
    assert page["totalCount"] == 1
    node = page["edges"][0]["node"]
    assert node["name"] == "Ada"
    assert node["team"] == {"id": team_id, "name": "Red"}
    assert decode_id(node["id"], "Agent") == ("Agent", acme["agent0"])


@pytest.mark.parametrize(("variables", "argument"), [
    ({"first": 10_000}, "first"),
    ({"after": "bm90LWEtY3Vyc29y"}, "after"),
    ({"filter": {"teamId": "garbage"}}, "id"),
])
async def test_bad_arguments_get_bad_user_input(
    gateway: LiveGateway, acme: dict[str, uuid.UUID], variables: dict[str, Any], argument: str
) -> None:
    body = await graphql(gateway, gateway.token(acme["tenant"]), AGENTS, **variables)
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}


async def test_an_id_of_another_type_is_bad_user_input(
    gateway: LiveGateway, acme: dict[str, uuid.UUID]
) -> None:
    body = await graphql(gateway, gateway.token(acme["tenant"]), AGENTS,
                         filter={"teamId": encode_id("Agent", acme["agent0"])})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "expected Team" in body["errors"][0]["message"]


async def test_service_tokens_may_not_read_agents(gateway: LiveGateway, acme: dict[str, uuid.UUID]) -> None:
    body = await graphql(gateway, gateway.token(acme["tenant"], "platform", roles=("service",)), AGENTS)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None


async def test_invalid_query_gets_bad_user_input_without_internals(
    gateway: LiveGateway, acme: dict[str, uuid.UUID]
) -> None:
    body = await graphql(gateway, gateway.token(acme["tenant"]), "{ agents { nope } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Traceback" not in str(body)


async def test_agents_of_other_tenants_are_invisible_even_by_id(
    gateway: LiveGateway, acme: dict[str, uuid.UUID]
) -> None:
    other_token = gateway.token(acme["other"])
    body = await graphql(gateway, other_token, AGENTS, filter={"teamId": encode_id("Team", acme["red"])})
    assert body["data"]["agents"]["totalCount"] == 0
    all_other = await graphql(gateway, other_token, AGENTS)
    assert [e["node"]["name"] for e in all_other["data"]["agents"]["edges"]] == ["Mallory"]
