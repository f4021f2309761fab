"""Standard introspection over real HTTP, and a stock GraphQL client (gql) over HTTP and both websocket protocols."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport
from graphql import (
    GraphQLSchema,
    build_client_schema,
    build_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    print_schema,
)

from tests.conftest import LiveGateway
from tests.factories import make_tenant

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"
HEARTBEAT = "subscription { heartbeat(intervalSeconds: 0.1) }"


def printed(schema: GraphQLSchema) -> str:
    return print_schema(lexicographic_sort_schema(schema))


async def test_the_full_introspection_query_describes_exactly_schema_graphql(
    gateway: LiveGateway, admin_conn: asyncpg.Connection
) -> None:
    token = gateway.token(await make_tenant(admin_conn))
    query = get_introspection_query(descriptions=True, specified_by_url=True, directive_is_repeatable=True,
                                    schema_description=True, input_value_deprecation=True)

    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        response = await client.post("/graphql", json={"query": query},
                                     headers={"Authorization": f"Bearer {token}"})

    body = response.json()
    assert "errors" not in body
    assert printed(build_client_schema(body["data"])) == printed(build_schema(SDL.read_text()))


async def test_gql_fetches_the_schema_and_queries_over_http(
    gateway: LiveGateway, admin_conn: asyncpg.Connection
) -> None:
    token = gateway.token(await make_tenant(admin_conn), user_id="ada")
    transport = HTTPXAsyncTransport(url=f"{gateway.url}/graphql", headers={"Authorization": f"Bearer {token}"})

    async with Client(transport=transport, fetch_schema_from_transport=True) as session:
        result = await session.execute(gql("{ viewer { subject roles } }"))
        assert session.client.schema is not None
        assert "Viewer" in session.client.schema.type_map

    assert result == {"viewer": {"subject": "ada", "roles": ["ADMIN"]}}


async def _two_heartbeats(gateway: LiveGateway, token: str, **transport_args: Any) -> tuple[str, list[str]]:
    transport = WebsocketsTransport(url=gateway.ws_url, init_payload={"Authorization": f"Bearer {token}"},
                                    **transport_args)
    beats: list[str] = []
    async with Client(transport=transport, fetch_schema_from_transport=True) as session:
        async for result in session.subscribe(gql(HEARTBEAT)):
            beats.append(result["heartbeat"])
            if len(beats) == 2:
                break
        assert session.client.schema is not None
    return str(transport.subprotocol), beats


async def test_gql_subscribes_with_its_default_legacy_graphql_ws_protocol(
    gateway: LiveGateway, admin_conn: asyncpg.Connection
) -> None:
    token = gateway.token(await make_tenant(admin_conn))

    protocol, beats = await _two_heartbeats(gateway, token)

    assert protocol == "graphql-ws"
    assert beats[0] < beats[1]


async def test_gql_subscribes_with_graphql_transport_ws(gateway: LiveGateway, admin_conn: asyncpg.Connection) -> None:
    token = gateway.token(await make_tenant(admin_conn))

    protocol, beats = await _two_heartbeats(gateway, token, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])

    assert protocol == "graphql-transport-ws"
    assert beats[0] < beats[1]
