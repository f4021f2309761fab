"""/graphql over HTTP: every error body is GraphQL-shaped JSON with a code from the one list."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_tenant

VIEWER = "{ viewer { subject } }"
DELETE_METRIC = 'mutation { deleteCustomMetric(name: "x") }'


@pytest.fixture
async def token(gateway: LiveGateway, admin_conn: asyncpg.Connection) -> str:
    return gateway.token(await make_tenant(admin_conn))


async def request(gateway: LiveGateway, token: str, method: str = "POST", **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        return await client.request(method, "/graphql", headers={"Authorization": f"Bearer {token}",
                                                                 **kwargs.pop("headers", {})}, **kwargs)


def only_error(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert isinstance(error["message"], str)
    return dict(error)


async def test_a_syntax_error_is_bad_user_input(gateway: LiveGateway, token: str) -> None:
    response = await request(gateway, token, json={"query": "{ viewer { subject "})

    assert response.status_code == 200
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("Syntax Error")
    assert error["locations"] == [{"line": 1, "column": 20}]


async def test_a_validation_error_is_bad_user_input(gateway: LiveGateway, token: str) -> None:
    response = await request(gateway, token, json={"query": "{ viewer { nosuch } }"})

    assert response.status_code == 200
    assert only_error(response)["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(("what", "kwargs", "says"), [
    ("a JSON array", {"json": [{"query": VIEWER}]}, "Batching is not enabled"),
    ("no query", {"json": {"variables": {}}}, "No GraphQL query found in the request"),
    ("not JSON", {"content": b"{query", "headers": {"Content-Type": "application/json"}},
     "Unable to parse request body as JSON"),
    ("JSON nested too deep to parse", {"content": b"[" * 100_000 + b"]" * 100_000,
                                       "headers": {"Content-Type": "application/json"}},
     "Unable to parse request body as JSON"),
    ("an unsupported content type", {"content": VIEWER, "headers": {"Content-Type": "text/plain"}},
     "Unsupported content type"),
    ("variables that are not an object", {"json": {"query": VIEWER, "variables": [1]}},
     "The GraphQL operation's `variables` must be an object or null, if provided."),
    ("an unknown operationName", {"json": {"query": VIEWER, "operationName": "Nope"}},
     'Unknown operation named "Nope".'),
    ("JSON that is not an object", {"content": b"1", "headers": {"Content-Type": "application/json"}},
     "Expected a JSON object"),
    ("JSON null", {"content": b"null", "headers": {"Content-Type": "application/json"}},
     "No GraphQL query found in the request"),
])
async def test_an_unparseable_request_is_a_400_with_a_json_body(
    gateway: LiveGateway, token: str, what: str, kwargs: dict[str, Any], says: str
) -> None:
    response = await request(gateway, token, **kwargs)

    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert error["message"] == says


async def test_a_mutation_over_get_is_a_405_with_a_json_body(gateway: LiveGateway, token: str) -> None:
    response = await request(gateway, token, "GET", params={"query": DELETE_METRIC})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "mutations are not allowed when using GET"


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_subscription_over_http_is_a_400_pointing_to_websockets(
    gateway: LiveGateway, token: str, method: str
) -> None:
    query = "subscription { heartbeat }"
    kwargs: dict[str, Any] = {"params": {"query": query}} if method == "GET" else {"json": {"query": query}}

    response = await request(gateway, token, method, **kwargs)

    assert response.status_code == 400
    assert "allow" not in response.headers
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "websockets" in error["message"]


async def test_a_query_over_get_still_runs(gateway: LiveGateway, token: str) -> None:
    response = await request(gateway, token, "GET", params={"query": VIEWER})

    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["subject"] == "00000000-0000-0000-0000-000000000001"


async def test_get_without_a_query_outside_a_browser_is_a_400_with_a_json_body(
    gateway: LiveGateway, token: str
) -> None:
    response = await request(gateway, token, "GET", headers={"Accept": "application/json"})

    assert response.status_code == 400
    assert only_error(response)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_browser_asking_for_the_ide_when_it_is_off_gets_a_json_404(
    database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection
) -> None:
    gateway = await gateway_factory(database, CALLPULSE_GRAPHIQL="false")
    token = gateway.token(await make_tenant(admin_conn))

    response = await request(gateway, token, "GET", headers={"Accept": "text/html"})

    assert response.status_code == 404
    assert only_error(response)["extensions"]["code"] == "NOT_FOUND"


async def test_an_unexpected_error_is_masked_as_internal_with_the_request_id(
    agents_unreadable: LiveGateway, admin_conn: asyncpg.Connection
) -> None:
    token = agents_unreadable.token(await make_tenant(admin_conn))

    response = await request(agents_unreadable, token, json={"query": "{ agents { totalCount } }"},
                             headers={"X-Request-Id": f"req-{uuid.uuid4().hex[:8]}"})

    error = only_error(response)
    assert error["extensions"] == {"code": "INTERNAL", "requestId": response.headers["x-request-id"]}
    assert "permission" not in error["message"]
    assert response.headers["x-request-id"] in error["message"]
