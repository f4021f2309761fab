"""Browsers on other origins: CORS preflights and answers, the websocket Origin rule, the setting, Chromium."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import asyncpg
import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from websockets.typing import Origin

from gateway.cors import CorsMiddleware
from gateway.errors import ConfigurationError
from gateway.settings import Settings
from tests.browser import PageServer, serve_app
from tests.conftest import GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_tenant

if TYPE_CHECKING:
    from playwright.async_api import Page

FRONTEND: str = "https://app.example.com"
ELSEWHERE: str = "https://evil.example.net"
TENANT_QUERY = "{ tenant { name } }"


def _comma_set(value: str | None) -> set[str]:
    return {item.strip().lower() for item in (value or "").split(",") if item.strip()}


@pytest.fixture
async def listed(database: TestDatabase, gateway_factory: GatewayFactory) -> LiveGateway:
    """A gateway that lists FRONTEND (and a development server) as allowed origins."""
    return await gateway_factory(database, CALLPULSE_CORS_ORIGINS=f"{FRONTEND}, http://localhost:5173")


@pytest.fixture
async def client(listed: LiveGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=listed.url) as c:
        yield c


def _preflight_headers(origin: str) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-request-id"}


# ---- preflight ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/graphql", "/api/v1/events"])
async def test_a_preflight_from_a_listed_origin_allows_the_methods_and_headers_clients_send(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.options(path, headers=_preflight_headers(FRONTEND))

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert _comma_set(response.headers.get("access-control-allow-methods")) == {"get", "post", "options"}
    assert _comma_set(response.headers.get("access-control-allow-headers")) >= {
        "authorization", "content-type", "x-request-id", "apollo-require-preflight", "x-apollo-operation-name"}
    assert int(response.headers["access-control-max-age"]) > 0
    assert _comma_set(response.headers.get("access-control-expose-headers")) == {"x-request-id"}
    assert "origin" in _comma_set(response.headers.get("vary"))
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("origin", [ELSEWHERE, "http://app.example.com", "https://app.example.com:8443", "null"])
async def test_a_preflight_from_an_unlisted_origin_is_refused_with_403_and_no_allow_origin(
    client: httpx.AsyncClient, origin: str
) -> None:
    response = await client.options("/graphql", headers={**_preflight_headers(origin), "X-Request-Id": "pre-1"})

    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert "origin" in _comma_set(response.headers.get("vary"))
    assert response.headers["x-request-id"] == "pre-1"
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN", "reason": "origin_not_allowed", "requestId": "pre-1"}


async def test_with_no_origins_configured_every_other_origin_is_refused(gateway: LiveGateway) -> None:
    # given: the default configuration, CALLPULSE_CORS_ORIGINS unset
    assert gateway.settings.cors_origins == ()
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        # when
        response = await c.options("/graphql", headers=_preflight_headers(FRONTEND))
    # then
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


async def test_an_options_request_that_is_no_preflight_still_gets_405(client: httpx.AsyncClient) -> None:
    response = await client.options("/graphql", headers={"Origin": FRONTEND})

    assert response.status_code == 405


# ---- actual requests ---------------------------------------------------------------------------------------


async def test_a_listed_origin_may_read_the_answer_and_its_request_id(
    listed: LiveGateway, client: httpx.AsyncClient, admin_conn: asyncpg.Connection
) -> None:
    tenant = await make_tenant(admin_conn, name="Acme Calls")

    response = await client.post("/graphql", json={"query": TENANT_QUERY}, headers={
        "Origin": FRONTEND, "Authorization": f"Bearer {listed.token(tenant)}", "X-Request-Id": "req-cors-1"})

    assert response.status_code == 200
    assert response.json() == {"data": {"tenant": {"name": "Acme Calls"}}}
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert _comma_set(response.headers.get("access-control-expose-headers")) == {"x-request-id"}
    assert response.headers["x-request-id"] == "req-cors-1"
    assert "origin" in _comma_set(response.headers.get("vary"))


async def test_a_listed_origin_may_read_an_authentication_error(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": TENANT_QUERY}, headers={"Origin": FRONTEND})

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.json()["errors"][0]["extensions"]["reason"] == "missing_token"


async def test_an_unlisted_origin_gets_no_allow_origin_on_an_actual_request(
    listed: LiveGateway, client: httpx.AsyncClient, admin_conn: asyncpg.Connection
) -> None:
    tenant = await make_tenant(admin_conn)

    response = await client.post("/graphql", json={"query": TENANT_QUERY}, headers={
        "Origin": ELSEWHERE, "Authorization": f"Bearer {listed.token(tenant)}"})

    assert "access-control-allow-origin" not in response.headers
    assert "access-control-expose-headers" not in response.headers
    assert "origin" in _comma_set(response.headers.get("vary"))


async def test_a_request_without_origin_is_told_that_the_answer_varies_by_origin(client: httpx.AsyncClient) -> None:
    # A cache must not hand this answer (without Allow-Origin) to a browser on a listed origin.
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "origin" in _comma_set(response.headers.get("vary"))


# ---- websockets --------------------------------------------------------------------------------------------


async def _connection_ack(gateway: LiveGateway, tenant: uuid.UUID, origin: str | None) -> str:
    async with websockets.connect(gateway.ws_url, subprotocols=["graphql-transport-ws"],
                                  origin=Origin(origin) if origin else None) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {gateway.token(tenant)}"}}))
        message_type: str = json.loads(await ws.recv())["type"]
        return message_type


@pytest.mark.parametrize("kind", ["listed", "own", "own over https at a TLS proxy", "none"])
async def test_a_websocket_from_a_listed_the_own_or_no_origin_is_accepted(
    listed: LiveGateway, admin_conn: asyncpg.Connection, kind: str
) -> None:
    tenant = await make_tenant(admin_conn)
    origin = {"listed": FRONTEND, "own": listed.url, "own over https at a TLS proxy": "https" + listed.url[4:],
              "none": None}[kind]

    assert await _connection_ack(listed, tenant, origin) == "connection_ack"


@pytest.mark.parametrize("kind", ["other site", "own host on another port", "null"])
async def test_a_websocket_from_an_unlisted_origin_is_refused_with_403_before_accept(
    listed: LiveGateway, admin_conn: asyncpg.Connection, kind: str
) -> None:
    tenant = await make_tenant(admin_conn)
    port = int(listed.url.rsplit(":", 1)[1])
    origin = {"other site": ELSEWHERE, "own host on another port": f"http://127.0.0.1:{port + 1}",
              "null": "null"}[kind]

    with pytest.raises(websockets.InvalidStatus) as refused:
        await _connection_ack(listed, tenant, origin)

    assert refused.value.response.status_code == 403
    [error] = json.loads(refused.value.response.body)["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["reason"] == "origin_not_allowed"


async def test_a_server_without_the_denial_extension_still_refuses_with_403() -> None:
    # given: the middleware on a server that cannot send a denial body (the ASGI extension taken away)
    async def accept(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    guarded = CorsMiddleware(Starlette(routes=[WebSocketRoute("/ws", accept)]), allowed_origins=[FRONTEND])

    async def without_extension(scope: Scope, receive: Receive, send: Send) -> None:
        await guarded({**scope, "extensions": {}}, receive, send)

    async with serve_app(without_extension) as url:
        ws_url = "ws" + url[4:] + "/ws"
        # when / then: an unlisted origin is refused (websocket.close before accept), a listed one accepted
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws_url, origin=Origin(ELSEWHERE)):
                pass
        assert refused.value.response.status_code == 403
        async with websockets.connect(ws_url, origin=Origin(FRONTEND)) as ws:
            with pytest.raises(websockets.ConnectionClosedOK):
                await ws.recv()


# ---- the setting -------------------------------------------------------------------------------------------


def test_cors_origins_are_read_in_the_form_browsers_send() -> None:
    settings = Settings.from_env({
        "CALLPULSE_CORS_ORIGINS": " https://App.Example.com:443, http://localhost:5173,,http://[::1]:8080,"
                                  "https://app.example.com",
    })

    assert settings.cors_origins == ("https://app.example.com", "http://localhost:5173", "http://[::1]:8080")
    assert Settings.from_env({}).cors_origins == ()


@pytest.mark.parametrize("bad", [
    "*", "null", "app.example.com", "ftp://app.example.com", "https://", "https://app.example.com/",
    "https://app.example.com/app", "https://app.example.com?x=1", "https://app.example.com#top",
    "https://user@app.example.com", "https://app.example.com:99999", "https://app.example.com:",
    "https://exa mple.com", "http://[not-ipv6]",
])
def test_a_bad_cors_origin_is_a_configuration_error_that_names_it(bad: str) -> None:
    with pytest.raises(ConfigurationError) as rejected:
        Settings.from_env({"CALLPULSE_CORS_ORIGINS": f"{FRONTEND},{bad}"})

    assert "CALLPULSE_CORS_ORIGINS" in str(rejected.value)
    assert repr(bad) in str(rejected.value)


# ---- a real browser ----------------------------------------------------------------------------------------

# The page a frontend on another origin would be: a fetch with a bearer token (so a preflight), and the
# graphql-transport-ws handshake; each writes what it got, or that it failed, into the page.
PROBE_PAGE = """<!doctype html>
<meta charset="utf-8"><title>CORS probe</title>
<pre id="fetch"></pre><pre id="ws"></pre>
<script>
  const params = new URLSearchParams(location.search);
  const gateway = params.get("gateway"), token = params.get("token");
  function show(id, state, text) {
    const el = document.getElementById(id);
    if (el.dataset.state) return;
    el.textContent = text;
    el.dataset.state = state;
  }
  fetch(gateway + "/graphql", {
    method: "POST",
    headers: {Authorization: "Bearer " + token, "Content-Type": "application/json"},
    body: JSON.stringify({query: "{ tenant { name } }"}),
  }).then((r) => r.json())
    .then((body) => show("fetch", "answered", body.data ? body.data.tenant.name : JSON.stringify(body)))
    .catch((e) => show("fetch", "failed", String(e)));
  const ws = new WebSocket(gateway.replace(/^http/, "ws") + "/graphql", "graphql-transport-ws");
  ws.onopen = () => ws.send(JSON.stringify({type: "connection_init",
                                            payload: {Authorization: "Bearer " + token}}));
  ws.onmessage = (m) => { show("ws", "answered", JSON.parse(m.data).type); ws.close(); };
  ws.onerror = () => show("ws", "failed", "websocket error");
  ws.onclose = (e) => show("ws", "failed", "closed " + e.code);
</script>
"""


async def _probe(page: Page, page_server: PageServer, gateway: LiveGateway, token: str) -> dict[str, tuple[str, str]]:
    page_server.pages["/probe.html"] = PROBE_PAGE
    query = httpx.QueryParams({"gateway": gateway.url, "token": token})
    await page.goto(f"{page_server.url}/probe.html?{query}")
    results = {}
    for part in ("fetch", "ws"):
        element = await page.wait_for_selector(f"#{part}[data-state]", timeout=15_000)
        assert element is not None
        results[part] = (await element.get_attribute("data-state") or "", await element.text_content() or "")
    return results


async def test_chromium_on_a_listed_origin_reads_the_tenant_and_opens_a_websocket(
    browser_page: Page, page_server: PageServer, database: TestDatabase, gateway_factory: GatewayFactory,
    admin_conn: asyncpg.Connection,
) -> None:
    # given: a page on another origin (another port), listed
    tenant = await make_tenant(admin_conn, name="Browser Tenant")
    gateway = await gateway_factory(database, CALLPULSE_CORS_ORIGINS=page_server.url)
    # when
    results = await _probe(browser_page, page_server, gateway, gateway.token(tenant))
    # then
    assert results == {"fetch": ("answered", "Browser Tenant"), "ws": ("answered", "connection_ack")}


async def test_chromium_on_an_unlisted_origin_can_neither_read_nor_open_a_websocket(
    browser_page: Page, page_server: PageServer, gateway: LiveGateway, admin_conn: asyncpg.Connection,
) -> None:
    # given: the same page, its origin not listed (the default configuration)
    tenant = await make_tenant(admin_conn, name="Browser Tenant")
    # when
    results = await _probe(browser_page, page_server, gateway, gateway.token(tenant))
    # then: the fetch rejects (the preflight was refused) and the socket never opens
    assert results["fetch"][0] == "failed"
    assert "TypeError" in results["fetch"][1]
    assert results["ws"][0] == "failed"
    assert "Browser Tenant" not in await browser_page.content()
