"""/dashboard in a real browser: the widgets drawn, a live number becoming what the graph answers, nothing loaded
from anywhere but the gateway, a refused token back at the sign-in, widgets added, moved and removed, the page
live again after the gateway restarts, and a screen token renewed in time and signed out when revoked.

Screenshots are kept in $CALLPULSE_TEST_ARTIFACTS, else tests/artifacts/ (ignored by git).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import jwt
import pytest
import uvicorn

from gateway.app import create_app
from gateway.auth import DEFAULT_ROLES_CLAIM, DEFAULT_TENANT_CLAIM, SCREEN_CLAIM
from gateway.dashboard_page import content_security_policy
from gateway.ids import decode_id, encode_id
from tests.conftest import TEST_JWT_SECRET, LiveGateway
from tests.factories import make_agent, make_tenant, make_user
from tests.live.helpers import DAY, call_event, ingest

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page, WebSocket

ARTIFACTS = Path(os.environ.get("CALLPULSE_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts")
# Waits for the page (generous: a loaded CI machine); no assertion is about how long anything took.
WAIT_MS = 20_000

RANGE = {"from": DAY, "to": DAY}
KPI_TITLE = "Calls on 2 March"
WIDGETS: list[dict[str, Any]] = [
    {"title": KPI_TITLE, "type": "KPI", "position": {"x": 0, "y": 0, "w": 8, "h": 3},
     "config": {"range": RANGE, "metrics": ["CALLS_TOTAL", "AVERAGE_HANDLE_TIME"]}},
    {"title": "Calls per hour", "type": "TIME_SERIES", "position": {"x": 8, "y": 0, "w": 16, "h": 5},
     "config": {"range": RANGE, "metrics": ["CALLS_TOTAL", "SERVICE_LEVEL"], "granularity": "HOUR"}},
    {"title": "Most calls handled", "type": "LEADERBOARD", "position": {"x": 0, "y": 3, "w": 8, "h": 5},
     "config": {"range": RANGE, "metrics": ["CALLS_HANDLED"]}},
    {"title": "Lead funnel", "type": "FUNNEL", "position": {"x": 8, "y": 5, "w": 8, "h": 4},
     "config": {"range": RANGE}},
    {"title": "Agents side by side", "type": "TABLE", "position": {"x": 16, "y": 5, "w": 8, "h": 4},
     "config": {"range": RANGE, "metrics": ["CALLS_HANDLED", "AVERAGE_HANDLE_TIME"]}},
]

CREATE_WIDGET = """
mutation($input: CreateWidgetInput!) { createWidget(input: $input) { id title } }"""
WIDGETS_QUERY = """
{ widgets { id title type position { x y w h } data { values { name value } } } }"""
TENANT_FIGURES = """
query($range: DateRange!) { tenant { metrics(range: $range) { callsTotal averageHandleTimeSeconds } } }"""
ISSUE_SCREEN_TOKEN = """
mutation($user: ID!) { issueScreenToken(userId: $user, label: "Floor 2", days: 7) { screenToken { id } } }"""
REVOKE_SCREEN_TOKEN = """
mutation($id: ID!) { revokeScreenToken(id: $id) { active } }"""
# A screen JWT this short-lived has the page renew it within seconds (it renews halfway through a short life).
SHORT_SCREEN_TTL_SECONDS = 8


@dataclass(frozen=True)
class Floor:
    tenant: uuid.UUID
    user: uuid.UUID
    ada: uuid.UUID
    bo: uuid.UUID
    token: str


async def graphql(gateway: LiveGateway, token: str, query: str, variables: dict[str, Any] | None = None,
                  ) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        response = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                                     headers={"Authorization": f"Bearer {token}"})
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def open_floor(gateway: LiveGateway, admin_conn: asyncpg.Connection, widgets: list[dict[str, Any]]) -> Floor:
    tenant = await make_tenant(admin_conn, "Acme", "UTC")
    ada = await make_agent(admin_conn, tenant, "Ada")
    bo = await make_agent(admin_conn, tenant, "Bo")
    user = await make_user(admin_conn, tenant, "sam@acme.test", "admin")
    token = gateway.token(tenant, str(user), roles=("admin",))
    for widget in widgets:
        await graphql(gateway, token, CREATE_WIDGET, {"input": widget})
    return Floor(tenant=tenant, user=user, ada=ada, bo=bo, token=token)


@pytest.fixture
async def floor(gateway: LiveGateway, admin_conn: asyncpg.Connection) -> Floor:
    """A tenant with two agents and a user whose dashboard has one widget of each type."""
    return await open_floor(gateway, admin_conn, WIDGETS)


@pytest.fixture
async def page_errors(browser_page: Page) -> list[str]:
    # async: Playwright's async API subscribes to page events on the running loop (a sync fixture has none).
    """Uncaught exceptions and console errors of the page: a test that draws the dashboard expects none."""
    errors: list[str] = []
    browser_page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    browser_page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    return errors


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


async def test_the_page_draws_every_widget_and_a_live_number_becomes_what_the_graph_answers(
    gateway: LiveGateway, floor: Floor, browser_page: Page, page_errors: list[str],
) -> None:
    from playwright.async_api import expect

    page = browser_page
    await page.set_viewport_size({"width": 1600, "height": 900})
    # given: a call of each agent already on the day
    await ingest(gateway, floor.tenant, [call_event(floor.ada), call_event(floor.bo)])
    await page.goto(f"{gateway.url}/dashboard#token={floor.token}")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    for widget in WIDGETS:
        await expect(page.locator(f'article[data-widget-title="{widget["title"]}"] .widget-title')).to_have_text(
            widget["title"], timeout=WAIT_MS)
    kpi = page.locator(f'article[data-widget-title="{KPI_TITLE}"] .kpi-value[data-metric="calls_total"]')
    await expect(kpi).to_have_text("2", timeout=WAIT_MS)
    # every type drew its figures: bars and a line, a ranked agent, the funnel's stages, a table row
    await expect(page.locator('[data-type="TIME_SERIES"] svg[data-kind="bar"] rect.bar[data-value="2"]')
                 ).to_be_visible()
    await expect(page.locator('[data-type="TIME_SERIES"] svg[data-kind="line"] path.line')).to_have_count(1)
    await expect(page.locator('[data-type="LEADERBOARD"] td.agent')).to_have_text(["Ada", "Bo"])
    await expect(page.locator('[data-type="FUNNEL"] .funnel-stage').first).to_be_visible()
    await expect(page.locator('[data-type="TABLE"] td.agent')).to_have_text(["Ada", "Bo"])
    before = await kpi.text_content()

    # when: two more calls of Ada's end
    await ingest(gateway, floor.tenant, [call_event(floor.ada, talk_seconds=100),
                                         call_event(floor.ada, talk_seconds=400)])

    # then: the number moves, to exactly what a query answers for the same figure
    await expect(kpi).not_to_have_text(before or "", timeout=WAIT_MS)
    figures = (await graphql(gateway, floor.token, TENANT_FIGURES, {"range": RANGE}))["tenant"]["metrics"]
    assert figures["callsTotal"] == 4
    assert await kpi.text_content() == str(figures["callsTotal"])
    assert float(await kpi.get_attribute("data-value") or "nan") == figures["callsTotal"]
    handle = page.locator(f'article[data-widget-title="{KPI_TITLE}"] '
                          '.kpi-value[data-metric="average_handle_time_seconds"]')
    await expect(handle).to_have_attribute("data-value", _js_number(figures["averageHandleTimeSeconds"]))
    # the other widgets follow: Ada leads with 3, and her row of the table says so
    await expect(page.locator('[data-type="LEADERBOARD"] td.number')).to_have_text(["3", "1"], timeout=WAIT_MS)
    await expect(page.locator('[data-type="TABLE"] tbody tr').first.locator("td.number").first).to_have_text(
        "3", timeout=WAIT_MS)
    await page.screenshot(path=screenshot_path("dashboard.png"), full_page=True)
    assert page_errors == []


async def test_every_request_of_the_page_goes_to_the_gateway_and_none_carries_the_token(
    gateway: LiveGateway, floor: Floor, browser_page: Page, page_errors: list[str],
) -> None:
    from playwright.async_api import expect

    page = browser_page
    requested: list[str] = []
    sent: list[dict[str, Any]] = []
    page.on("request", lambda r: requested.append(r.url))

    def opened(ws: WebSocket) -> None:
        requested.append(ws.url)
        ws.on("framesent", lambda frame: sent.append(json.loads(frame)))

    page.on("websocket", opened)
    response = await page.goto(f"{gateway.url}/dashboard#token={floor.token}")
    assert response is not None
    assert response.status == 200
    assert response.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    await expect(page.locator(f'article[data-widget-title="{KPI_TITLE}"] .kpi-value').first).to_have_text(
        "0", timeout=WAIT_MS)
    await expect(page.locator("#add-button")).to_be_visible()
    await page.locator("#add-button").click()  # the form's choices come from the gateway too
    await expect(page.locator('#add-metrics input[value="CALLS_TOTAL"]')).to_have_count(1)

    gateway_origin = urlsplit(gateway.url).netloc
    assert requested, "the page made no request"
    outside = [url for url in requested if urlsplit(url).netloc != gateway_origin
               or urlsplit(url).scheme not in ("http", "ws")]
    assert outside == []
    assert any(url.endswith("/static/dashboard/dashboard.js") for url in requested)
    assert any(urlsplit(url).scheme == "ws" for url in requested)
    assert [url for url in requested if floor.token in url] == []
    # the fragment is out of the address bar once read
    assert floor.token not in page.url
    # one socket, signed in with the token, and one widgetData subscription per widget
    assert [urlsplit(url).scheme for url in requested].count("ws") == 1
    assert sent[0] == {"type": "connection_init", "payload": {"Authorization": f"Bearer {floor.token}"}}
    subscribed = [m["payload"] for m in sent if m["type"] == "subscribe"]
    assert all("widgetData(widgetId: $widgetId)" in p["query"] for p in subscribed)
    assert len({p["variables"]["widgetId"] for p in subscribed}) == len(WIDGETS)
    assert page_errors == []


async def test_a_bad_token_shows_the_sign_in_with_the_error_and_a_pasted_token_signs_in(
    gateway: LiveGateway, floor: Floor, browser_page: Page,
) -> None:
    from playwright.async_api import expect

    page = browser_page
    await page.goto(f"{gateway.url}/dashboard#token=not-a-token")
    await expect(page.locator("#sign-in")).to_be_visible(timeout=WAIT_MS)
    error = page.locator("#sign-in-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_attribute("data-code", "UNAUTHENTICATED")
    await expect(error).to_contain_text("UNAUTHENTICATED")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "signed-out")
    await expect(page.locator("#grid")).to_be_hidden()
    await page.screenshot(path=screenshot_path("dashboard-sign-in.png"))

    # an expired token is refused the same way
    expired = gateway.token(floor.tenant, roles=("admin",), ttl_seconds=-60)
    await page.locator("#token-input").fill(expired)
    await page.locator("#sign-in-form button[type=submit]").click()
    await expect(error).to_have_attribute("data-code", "UNAUTHENTICATED", timeout=WAIT_MS)

    await page.locator("#token-input").fill(floor.token)
    await page.locator("#sign-in-form button[type=submit]").click()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    await expect(page.locator("#sign-in")).to_be_hidden()
    await expect(page.locator(f'article[data-widget-title="{KPI_TITLE}"]')).to_be_visible()


async def test_widgets_are_added_moved_and_removed_from_the_page(
    gateway: LiveGateway, admin_conn: asyncpg.Connection, browser_page: Page, page_errors: list[str],
) -> None:
    from playwright.async_api import expect

    page = browser_page
    floor = await open_floor(gateway, admin_conn, [])
    await page.goto(f"{gateway.url}/dashboard#token={floor.token}")
    await expect(page.locator("#empty-grid")).to_be_visible(timeout=WAIT_MS)

    # a config the graph refuses: the error is shown by its code, on the field it names
    await page.locator("#add-button").click()
    await page.locator("#add-type").select_option("LEADERBOARD")
    await page.locator("#add-title-input").fill("Two rankings at once")
    await page.locator('#add-metrics input[value="CALLS_TOTAL"]').check()
    await page.locator('#add-metrics input[value="CALLS_HANDLED"]').check()
    await page.locator("#add-submit").click()
    await expect(page.locator("#add-error")).to_have_attribute("data-code", "BAD_USER_INPUT", timeout=WAIT_MS)
    await expect(page.locator("#add-metrics-set")).to_have_class("invalid")
    await page.locator("#add-cancel").click()

    # add
    await page.locator("#add-button").click()
    await page.locator("#add-type").select_option("KPI")
    await page.locator("#add-title-input").fill("Handled today")
    await page.locator('#add-metrics input[value="CALLS_HANDLED"]').check()
    await page.locator("#add-submit").click()
    widget = page.locator('article[data-widget-title="Handled today"]')
    await expect(widget.locator('.kpi-value[data-metric="calls_handled"]')).to_have_text("0", timeout=WAIT_MS)
    [saved] = (await graphql(gateway, floor.token, WIDGETS_QUERY))["widgets"]
    assert (saved["title"], saved["type"], saved["position"]) == ("Handled today", "KPI",
                                                                 {"x": 0, "y": 0, "w": 6, "h": 3})

    # move: two steps right and one wider, saved with moveWidgets
    await page.locator("#arrange-button").click()
    await widget.get_by_role("button", name="Move right").click()
    await widget.get_by_role("button", name="Move right").click()
    await widget.get_by_role("button", name="Wider").click()
    await placed(page, widget, {"x": 2, "y": 0, "w": 7, "h": 3})
    [moved] = (await graphql(gateway, floor.token, WIDGETS_QUERY))["widgets"]
    assert moved["position"] == {"x": 2, "y": 0, "w": 7, "h": 3}

    # and by dragging its head: one row down
    box = await widget.bounding_box()
    assert box is not None
    head = widget.locator(".widget-head")
    head_box = await head.bounding_box()
    assert head_box is not None
    start_x, start_y = head_box["x"] + 20, head_box["y"] + head_box["height"] / 2
    await page.mouse.move(start_x, start_y)
    await page.mouse.down()
    await page.mouse.move(start_x, start_y + box["height"] / 3 + 10, steps=5)
    await page.mouse.up()
    await placed(page, widget, {"x": 2, "y": 1, "w": 7, "h": 3})
    [dragged] = (await graphql(gateway, floor.token, WIDGETS_QUERY))["widgets"]
    assert dragged["position"] == {"x": 2, "y": 1, "w": 7, "h": 3}

    # remove (the button asks once more)
    await widget.get_by_role("button", name="Remove").click()
    await widget.get_by_role("button", name="Remove").click()
    await expect(widget).to_have_count(0, timeout=WAIT_MS)
    assert (await graphql(gateway, floor.token, WIDGETS_QUERY))["widgets"] == []
    assert page_errors == []


async def test_after_the_gateway_restarts_the_page_reconnects_resubscribes_and_stays_live(
    gateway: LiveGateway, floor: Floor, browser_page: Page, page_errors: list[str],
) -> None:
    from playwright.async_api import expect

    page = browser_page
    await page.goto(f"{gateway.url}/dashboard#token={floor.token}")
    connection = page.locator("#connection")
    await expect(connection).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    kpi = page.locator(f'article[data-widget-title="{KPI_TITLE}"] .kpi-value[data-metric="calls_total"]')
    await expect(kpi).to_have_text("0", timeout=WAIT_MS)

    # when: the gateway goes away, and a new process comes up on the same address
    gateway.server.should_exit = True
    await gateway.task
    await expect(connection).to_have_attribute("data-state", "reconnecting", timeout=WAIT_MS)
    port = urlsplit(gateway.url).port
    assert port is not None
    server = uvicorn.Server(uvicorn.Config(create_app(gateway.settings), host="127.0.0.1", port=port,
                                           log_config=None, ws="websockets-sansio", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        await expect(connection).to_have_attribute("data-state", "live", timeout=WAIT_MS)
        await ingest(gateway, floor.tenant, [call_event(floor.ada)])

        # then: the same subscriptions, sent again on the new connection, bring the change
        await expect(kpi).to_have_text("1", timeout=WAIT_MS)
    finally:
        server.should_exit = True
        await task
    # Chromium logs each refused attempt while no gateway listens; nothing else went wrong
    assert [e for e in page_errors if "ERR_CONNECTION_REFUSED" not in e] == []


async def test_a_screen_token_shows_the_dashboard_read_only_is_renewed_in_time_and_a_revocation_signs_out(
    gateway: LiveGateway, floor: Floor, browser_page: Page, page_errors: list[str],
) -> None:
    from playwright.async_api import expect

    page = browser_page
    issued = await graphql(gateway, floor.token, ISSUE_SCREEN_TOKEN, {"user": encode_id("User", floor.user)})
    grant = issued["issueScreenToken"]["screenToken"]["id"]
    # given: a screen JWT of the grant as the gateway mints them (gateway/screens.py), but expiring in seconds
    now = int(time.time())
    expires = now + SHORT_SCREEN_TTL_SECONDS
    token = jwt.encode({"sub": str(floor.user), DEFAULT_TENANT_CLAIM: str(floor.tenant),
                        DEFAULT_ROLES_CLAIM: ["screen"], SCREEN_CLAIM: str(decode_id(grant, "ScreenToken")[1]),
                        "iat": now, "exp": expires}, TEST_JWT_SECRET, algorithm="HS256")
    await page.goto(f"{gateway.url}/dashboard#token={token}")
    connection = page.locator("#connection")
    await expect(connection).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    kpi = page.locator(f'article[data-widget-title="{KPI_TITLE}"] .kpi-value[data-metric="calls_total"]')
    await expect(kpi).to_have_text("0", timeout=WAIT_MS)
    # read-only: nothing to add or arrange
    await expect(page.locator("#add-button")).to_be_hidden()
    await expect(page.locator("#arrange-button")).to_be_hidden()

    # when: the first token's end comes (and goes): the page renewed it before, and went on with the new one
    await expect(page.locator("body")).to_have_attribute("data-renewals", "1", timeout=WAIT_MS)
    await asyncio.sleep(max(0.0, expires + 1 - time.time()))
    await expect(connection).to_have_attribute("data-state", "live")
    await ingest(gateway, floor.tenant, [call_event(floor.ada)])
    await expect(kpi).to_have_text("1", timeout=WAIT_MS)

    # when: an admin revokes the grant, the screen is back at the sign-in
    await graphql(gateway, floor.token, REVOKE_SCREEN_TOKEN, {"id": grant})
    await expect(page.locator("#sign-in")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#sign-in-error")).to_have_attribute("data-code", "UNAUTHENTICATED")
    assert page_errors == []


def test_the_policy_names_the_socket_origin_only_for_a_well_formed_host() -> None:
    from starlette.requests import Request

    def policy(host: bytes) -> str:
        return content_security_policy(Request({"type": "http", "headers": [(b"host", host)], "method": "GET",
                                                "path": "/dashboard", "query_string": b""}))

    assert "connect-src 'self' ws://wall.example:8000 wss://wall.example:8000;" in policy(b"wall.example:8000")
    assert "connect-src 'self';" in policy(b"evil; script-src *")


async def placed(page: Page, widget: Locator, position: dict[str, int]) -> None:
    """Waits until the page shows the widget at `position` and has saved every move."""
    from playwright.async_api import expect

    for key, value in position.items():
        await expect(widget).to_have_attribute(f"data-{key}", str(value), timeout=WAIT_MS)
    await expect(page.locator("body[data-unsaved]")).to_have_count(0, timeout=WAIT_MS)


def _js_number(value: float) -> str:
    """How the page writes a float into data-value (JavaScript's String(number)) for the values used here."""
    return str(int(value)) if value == int(value) else repr(value)
