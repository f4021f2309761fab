"""Dashboard widgets over real HTTP: per-user CRUD, one-statement moves, validation that names the field, figures
equal to the equivalent query's, role rules at read time, and the change signal of every write."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from asyncpg.connection import LoggedQuery

from gateway.ids import decode_id, encode_id
from tests.conftest import GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_user
from tests.resolvers.floor import Floor, build_floor
from tests.resolvers.test_agents import graphql

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
MARCH_LITERAL = '{from: "2026-03-01", to: "2026-03-31"}'
WIDGET_FIELDS = """
fragment W on Widget {
  id title type position { x y w h }
  config { metrics customMetrics scope { kind id } range { from to preset } granularity first }
}
"""
CREATE = "mutation($input: CreateWidgetInput!) { createWidget(input: $input) { ...W } }" + WIDGET_FIELDS
UPDATE = "mutation($id: ID!, $input: UpdateWidgetInput!) { updateWidget(id: $id, input: $input) { ...W } }" \
    + WIDGET_FIELDS
MOVE = "mutation($moves: [WidgetMoveInput!]!) { moveWidgets(moves: $moves) { id position { x y w h } } }"
DELETE = "mutation($id: ID!) { deleteWidget(id: $id) }"
WIDGETS = "{ widgets { ...W } }" + WIDGET_FIELDS
NODE = "query($id: ID!) { node(id: $id) { id ... on Widget { title } } }"
DEFINE_METRIC = ('mutation { defineCustomMetric(name: "handled_share", formula: "calls_handled / calls_total") '
                 '{ name } }')
COUNT_WIDGETS = "SELECT count(*) FROM dashboard_widgets"


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> Floor:
    return await build_floor(admin_conn)


def admin_token(gateway: LiveGateway, floor: Floor) -> str:
    return gateway.token(floor.tenant, str(floor.admin), roles=("admin",))


def kpi(title: str = "Calls", x: int = 0, y: int = 0, **config: Any) -> dict[str, Any]:
    return {"title": title, "type": "KPI", "position": {"x": x, "y": y, "w": 4, "h": 2},
            "config": {"range": MARCH, "metrics": ["CALLS_TOTAL"], **config}}


async def create(gateway: LiveGateway, token: str, widget: dict[str, Any]) -> dict[str, Any]:
    body = await graphql(gateway, token, CREATE, input=widget)
    assert "errors" not in body, body["errors"]
    created: dict[str, Any] = body["data"]["createWidget"]
    return created


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    first: dict[str, Any] = body["errors"][0]
    return first


async def test_a_widget_round_trips_through_create_list_node_update_and_delete(
        gateway: LiveGateway, floor: Floor) -> None:
    # given
    token = admin_token(gateway, floor)
    red = encode_id("Team", floor.red)
    # when
    created = await create(gateway, token, kpi("Red team today", x=2, y=1,
                                                scope={"kind": "TEAM", "id": red}, metrics=["CALLS_HANDLED", "CSAT"]))
    # then
    assert {k: v for k, v in created.items() if k != "id"} == {
        "title": "Red team today", "type": "KPI", "position": {"x": 2, "y": 1, "w": 4, "h": 2},
        "config": {"metrics": ["CALLS_HANDLED", "CSAT"], "customMetrics": [], "scope": {"kind": "TEAM", "id": red},
                   "range": {"from": "2026-03-01", "to": "2026-03-31", "preset": None}, "granularity": None,
                   "first": None}}
    assert (await graphql(gateway, token, WIDGETS))["data"]["widgets"] == [created]
    node = await graphql(gateway, token, NODE, id=created["id"])
    assert node["data"]["node"] == {"id": created["id"], "title": "Red team today"}

    # when: a partial update keeps what it does not name
    moved = await graphql(gateway, token, UPDATE, id=created["id"],
                          input={"title": "Red", "position": {"x": 0, "y": 3, "w": 6, "h": 3}})
    # then
    updated = moved["data"]["updateWidget"]
    assert (updated["title"], updated["position"], updated["config"]) == (
        "Red", {"x": 0, "y": 3, "w": 6, "h": 3}, created["config"])

    # when: a new type with its config
    retyped = await graphql(gateway, token, UPDATE, id=created["id"], input={
        "type": "TIME_SERIES", "config": {"range": {"preset": "TODAY"}, "granularity": "HOUR",
                                          "metrics": ["CALLS_TOTAL"]}})
    # then
    assert retyped["data"]["updateWidget"]["type"] == "TIME_SERIES"
    assert retyped["data"]["updateWidget"]["config"] == {
        "metrics": ["CALLS_TOTAL"], "customMetrics": [], "scope": {"kind": "TENANT", "id": None},
        "range": {"from": None, "to": None, "preset": "TODAY"}, "granularity": "HOUR", "first": None}

    # when
    deleted = await graphql(gateway, token, DELETE, id=created["id"])
    # then
    assert deleted["data"] == {"deleteWidget": True}
    assert (await graphql(gateway, token, WIDGETS))["data"]["widgets"] == []
    assert error_of(await graphql(gateway, token, DELETE, id=created["id"]))["extensions"]["code"] == "NOT_FOUND"


async def test_a_leaderboard_gets_the_default_first_and_a_new_type_keeps_only_what_it_takes(
        gateway: LiveGateway, floor: Floor) -> None:
    token = admin_token(gateway, floor)
    board = await create(gateway, token, {"title": "Top", "type": "LEADERBOARD",
                                          "position": {"x": 0, "y": 0, "w": 6, "h": 4},
                                          "config": {"range": MARCH, "metrics": ["CALLS_HANDLED"]}})
    assert board["config"]["first"] == 10
    as_kpi = await graphql(gateway, token, UPDATE, id=board["id"], input={"type": "KPI"})
    assert as_kpi["data"]["updateWidget"]["config"] == {**board["config"], "first": None}
    as_series = error_of(await graphql(gateway, token, UPDATE, id=board["id"], input={"type": "TIME_SERIES"}))
    assert as_series["extensions"] == {"code": "BAD_USER_INPUT", "argument": "input.config.granularity"}


async def test_move_widgets_moves_several_in_one_statement_and_the_grid_reads_top_to_bottom(
        database: TestDatabase, gateway_factory: GatewayFactory, floor: Floor) -> None:
    # given
    statements: list[str] = []

    def record(query: LoggedQuery) -> None:
        statements.append(query.query)

    gateway = await gateway_factory(database, query_logger=record)
    token = admin_token(gateway, floor)
    first, second, third = [(await create(gateway, token, kpi(f"W{n}", x=4 * n)))["id"] for n in range(3)]
    statements.clear()
    # when
    body = await graphql(gateway, token, MOVE, moves=[{"id": third, "x": 0, "y": 0, "w": 8, "h": 2},
                                                      {"id": first, "x": 0, "y": 5, "w": 4, "h": 2}])
    # then
    assert body["data"]["moveWidgets"] == [{"id": third, "position": {"x": 0, "y": 0, "w": 8, "h": 2}},
                                           {"id": first, "position": {"x": 0, "y": 5, "w": 4, "h": 2}}]
    assert len([s for s in statements if "UPDATE dashboard_widgets" in s]) == 1
    grid = (await graphql(gateway, token, WIDGETS))["data"]["widgets"]
    assert [w["id"] for w in grid] == [third, second, first]


async def test_moves_are_all_or_nothing(gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection) -> None:
    # given: one widget of the admin's, one of the viewer's
    token = admin_token(gateway, floor)
    mine = await create(gateway, token, kpi("Mine"))
    theirs = await create(gateway, gateway.token(floor.tenant, str(floor.viewer), roles=("viewer",)), kpi("Theirs"))
    # when
    body = await graphql(gateway, token, MOVE, moves=[{"id": mine["id"], "x": 10, "y": 10, "w": 2, "h": 2},
                                                      {"id": theirs["id"], "x": 0, "y": 0, "w": 2, "h": 2}])
    # then
    error = error_of(body)
    assert (error["extensions"]["code"], error["extensions"]["argument"]) == ("NOT_FOUND", "moves.1.id")
    assert (await graphql(gateway, token, WIDGETS))["data"]["widgets"] == [mine]


async def test_another_user_or_tenant_gets_not_found_and_changes_nothing(
        gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection) -> None:
    # given
    owner = admin_token(gateway, floor)
    widget = await create(gateway, owner, kpi("Private"))
    colleague = gateway.token(floor.tenant, str(floor.viewer), roles=("viewer",))
    stranger_id = await make_user(admin_conn, floor.other_tenant, "eve@elsewhere.test", "admin")
    stranger = gateway.token(floor.other_tenant, str(stranger_id), roles=("admin",))
    move = [{"id": widget["id"], "x": 9, "y": 9, "w": 1, "h": 1}]
    for token in (colleague, stranger):
        # when
        answers = [await graphql(gateway, token, UPDATE, id=widget["id"], input={"title": "Mine now"}),
                   await graphql(gateway, token, MOVE, moves=move),
                   await graphql(gateway, token, DELETE, id=widget["id"])]
        # then
        assert [error_of(a)["extensions"]["code"] for a in answers] == ["NOT_FOUND"] * 3
        assert (await graphql(gateway, token, WIDGETS))["data"]["widgets"] == []
        assert (await graphql(gateway, token, NODE, id=widget["id"]))["data"]["node"] is None
    assert (await graphql(gateway, owner, WIDGETS))["data"]["widgets"] == [widget]


async def test_a_token_without_a_directory_user_cannot_own_widgets(gateway: LiveGateway, floor: Floor) -> None:
    nobody = gateway.token(floor.tenant, "00000000-0000-0000-0000-00000000beef", roles=("admin",))
    refused = error_of(await graphql(gateway, nobody, CREATE, input=kpi()))
    assert refused["extensions"] == {"code": "FORBIDDEN", "reason": "no_directory_user"}
    assert error_of(await graphql(gateway, nobody, WIDGETS))["extensions"]["code"] == "FORBIDDEN"
    service = gateway.token(floor.tenant, "platform", roles=("service",))
    assert error_of(await graphql(gateway, service, WIDGETS))["extensions"]["code"] == "FORBIDDEN"


def _invalid(floor: Floor) -> list[tuple[str, dict[str, Any], str]]:
    """(what is wrong, the widget input, the field its error names)"""
    red = encode_id("Team", floor.red)

    def widget(type_: str = "KPI", position: dict[str, int] | None = None, title: str = "W",
               **config: Any) -> dict[str, Any]:
        return {"title": title, "type": type_, "position": position or {"x": 0, "y": 0, "w": 4, "h": 2},
                "config": {"range": MARCH, **config}}

    return [
        ("a TEAM scope without id", widget(metrics=["CALLS_TOTAL"], scope={"kind": "TEAM"}), "input.config.scope"),
        ("a TENANT scope with an id", widget(metrics=["CALLS_TOTAL"], scope={"kind": "TENANT", "id": red}),
         "input.config.scope"),
        ("an agent's id as a team's", widget(metrics=["CALLS_TOTAL"],
                                             scope={"kind": "TEAM", "id": encode_id("Agent", floor.a)}),
         "input.config.scope"),
        ("a team that does not exist", widget(metrics=["CALLS_TOTAL"],
                                              scope={"kind": "TEAM", "id": encode_id("Team", floor.other_tenant)}),
         "input.config.scope"),
        ("an unknown custom metric", widget(customMetrics=["no_such_metric"]), "input.config.customMetrics"),
        ("a malformed custom metric name", widget(customMetrics=["Bad Name"]), "input.config.customMetrics"),
        ("a range ending before it starts", widget(metrics=["CALLS_TOTAL"], range={"from": "2026-03-31",
                                                                                    "to": "2026-03-01"}),
         "input.config.range"),
        ("a range with both forms", widget(metrics=["CALLS_TOTAL"], range={"preset": "TODAY", "from": "2026-03-01"}),
         "input.config.range"),
        ("no metrics", widget(), "input.config.metrics"),
        ("21 metrics", widget(metrics=["CALLS_TOTAL"] * 21), "input.config.metrics"),
        ("a series of too many buckets", widget("TIME_SERIES", metrics=["CALLS_TOTAL"], granularity="QUARTER_HOUR",
                                                range={"from": "2025-01-01", "to": "2026-03-31"}),
         "input.config.granularity"),
        ("a series without granularity", widget("TIME_SERIES", metrics=["CALLS_TOTAL"]), "input.config.granularity"),
        ("a KPI with a granularity", widget(metrics=["CALLS_TOTAL"], granularity="DAY"), "input.config.granularity"),
        ("a leaderboard of two metrics", widget("LEADERBOARD", metrics=["CALLS_TOTAL", "CSAT"]),
         "input.config.metrics"),
        ("a leaderboard of 201", widget("LEADERBOARD", metrics=["CSAT"], first=201), "input.config.first"),
        ("a leaderboard of a campaign", widget("LEADERBOARD", metrics=["CSAT"],
                                               scope={"kind": "CAMPAIGN", "id": encode_id("Campaign", floor.camp_k)}),
         "input.config.scope"),
        ("a funnel with metrics", widget("FUNNEL", metrics=["CSAT"]), "input.config.metrics"),
        ("a funnel of a team", widget("FUNNEL", scope={"kind": "TEAM", "id": red}), "input.config.scope"),
        ("a KPI with first", widget(metrics=["CSAT"], first=3), "input.config.first"),
        ("a widget past the right edge", widget(metrics=["CSAT"], position={"x": 20, "y": 0, "w": 6, "h": 2}),
         "input.position.x"),
        ("no width", widget(metrics=["CSAT"], position={"x": 0, "y": 0, "w": 0, "h": 2}), "input.position.w"),
        ("too tall", widget(metrics=["CSAT"], position={"x": 0, "y": 0, "w": 2, "h": 25}), "input.position.h"),
        ("below the grid", widget(metrics=["CSAT"], position={"x": 0, "y": 1000, "w": 2, "h": 2}),
         "input.position.y"),
        ("an empty title", widget(metrics=["CSAT"], title=" "), "input.title"),
    ]


async def test_invalid_widgets_are_refused_naming_the_field_and_nothing_is_written(
        gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection) -> None:
    token = admin_token(gateway, floor)
    kept = await create(gateway, token, kpi("Kept"))
    for what, widget, field in _invalid(floor):
        # when
        created = error_of(await graphql(gateway, token, CREATE, input=widget))
        patch = {k: v for k, v in widget.items() if k != "title" or field == "input.title"}
        updated = error_of(await graphql(gateway, token, UPDATE, id=kept["id"], input=patch))
        # then
        assert (created["extensions"]["code"], created["extensions"].get("argument")) == (
            "BAD_USER_INPUT", field), (what, created)
        assert (updated["extensions"]["code"], updated["extensions"].get("argument")) == (
            "BAD_USER_INPUT", field), (what, updated)
    assert await admin_conn.fetchval(COUNT_WIDGETS) == 1
    assert (await graphql(gateway, token, WIDGETS))["data"]["widgets"] == [kept]
    moves = [{"id": kept["id"], "x": 0, "y": 0, "w": 2, "h": 2}, {"id": kept["id"], "x": 23, "y": 0, "w": 2, "h": 2}]
    assert error_of(await graphql(gateway, token, MOVE, moves=moves[1:]))["extensions"]["argument"] == "moves.0.x"
    assert error_of(await graphql(gateway, token, MOVE, moves=moves))["extensions"]["argument"] == "moves.1.id"
    assert error_of(await graphql(gateway, token, MOVE, moves=[{**moves[0], "id": "nope"}]))["extensions"] == {
        "code": "BAD_USER_INPUT", "argument": "moves.0.id"}


@dataclass(frozen=True)
class Equivalent:
    """A widget, and the query whose answer its `data` must equal."""

    name: str
    widget: Callable[[Floor], dict[str, Any]]
    field: str           # WidgetData's field
    selection: str       # asked for in both
    query: Callable[[Floor, str], str]
    path: tuple[str, ...]


SERIES = "granularity bucketStarts series { name metric values }"
BOARD = "name metric from to higherIsBetter agentsRanked entries { rank value agent { id name } }"
FUNNEL = ("from to overallConversion campaign { name } "
          "stages { stage entered exited advanced lost stillOpen conversionToNext dropOff }")
TABLE = "from to names metrics rows { agent { id name } values previous change }"


def _widget(type_: str, **config: Any) -> dict[str, Any]:
    return {"title": type_.lower(), "type": type_, "position": {"x": 0, "y": 0, "w": 6, "h": 4},
            "config": {"range": MARCH, **config}}


def _agents(floor: Floor) -> str:
    return json.dumps([encode_id("Agent", a) for a in (floor.a, floor.b, floor.c)])


EQUIVALENTS = [
    Equivalent(
        "an agent's daily series",
        lambda f: _widget("TIME_SERIES", scope={"kind": "AGENT", "id": encode_id("Agent", f.a)}, granularity="DAY",
                          metrics=["CALLS_TOTAL", "CALLS_HANDLED"], customMetrics=["handled_share"]),
        "series", SERIES,
        lambda f, s: f'{{ node(id: "{encode_id("Agent", f.a)}") {{ ... on Agent {{ series(range: {MARCH_LITERAL}, '
                     f'granularity: DAY, metrics: [CALLS_TOTAL, CALLS_HANDLED], customMetrics: ["handled_share"]) '
                     f'{{ {s} }} }} }} }}',
        ("node", "series")),
    Equivalent(
        "the tenant's hourly series",
        lambda f: _widget("TIME_SERIES", granularity="HOUR", metrics=["CALLS_TOTAL"],
                          range={"from": "2026-03-02", "to": "2026-03-02"}),
        "series", SERIES,
        lambda f, s: f'{{ tenant {{ series(range: {{from: "2026-03-02", to: "2026-03-02"}}, granularity: HOUR, '
                     f'metrics: [CALLS_TOTAL]) {{ {s} }} }} }}',
        ("tenant", "series")),
    Equivalent(
        "a team's leaderboard",
        lambda f: _widget("LEADERBOARD", scope={"kind": "TEAM", "id": encode_id("Team", f.red)},
                          metrics=["CALLS_HANDLED"], first=5),
        "leaderboard", BOARD,
        lambda f, s: f'{{ leaderboard(range: {MARCH_LITERAL}, metric: CALLS_HANDLED, first: 5, '
                     f'scope: {{teamId: "{encode_id("Team", f.red)}"}}) {{ {s} }} }}',
        ("leaderboard",)),
    Equivalent(
        "the tenant's leaderboard by a custom metric",
        lambda f: _widget("LEADERBOARD", customMetrics=["handled_share"]),
        "leaderboard", BOARD,
        lambda f, s: f'{{ leaderboard(range: {MARCH_LITERAL}, customMetric: "handled_share") {{ {s} }} }}',
        ("leaderboard",)),
    Equivalent(
        "the tenant's funnel",
        lambda f: _widget("FUNNEL"),
        "funnel", FUNNEL, lambda f, s: f"{{ funnel(range: {MARCH_LITERAL}) {{ {s} }} }}", ("funnel",)),
    Equivalent(
        "a campaign's funnel",
        lambda f: _widget("FUNNEL", scope={"kind": "CAMPAIGN", "id": encode_id("Campaign", f.camp_k)}),
        "funnel", FUNNEL,
        lambda f, s: f'{{ funnel(range: {MARCH_LITERAL}, campaignId: "{encode_id("Campaign", f.camp_k)}") '
                     f'{{ {s} }} }}',
        ("funnel",)),
    Equivalent(
        "the tenant's agents side by side",
        lambda f: _widget("TABLE", metrics=["CALLS_TOTAL", "CALLS_HANDLED"], customMetrics=["handled_share"]),
        "table", TABLE,
        lambda f, s: f'{{ compare(agents: {_agents(f)}, range: {MARCH_LITERAL}, metrics: [CALLS_TOTAL, '
                     f'CALLS_HANDLED], customMetrics: ["handled_share"]) {{ {s} }} }}',
        ("compare",)),
    Equivalent(
        "a team's agents side by side",
        lambda f: _widget("TABLE", scope={"kind": "TEAM", "id": encode_id("Team", f.blue)}, metrics=["CALLS_TOTAL"]),
        "table", TABLE,
        lambda f, s: f'{{ compare(agents: ["{encode_id("Agent", f.c)}"], range: {MARCH_LITERAL}, '
                     f'metrics: [CALLS_TOTAL]) {{ {s} }} }}',
        ("compare",)),
]


def at_path(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    assert "errors" not in body, body["errors"]
    value: Any = body["data"]
    for key in path:
        value = value[key]
    return value


async def test_the_data_of_every_widget_type_is_what_the_equivalent_query_answers(
        gateway: LiveGateway, floor: Floor) -> None:
    # given
    token = admin_token(gateway, floor)
    assert "errors" not in await graphql(gateway, token, DEFINE_METRIC)
    for case in EQUIVALENTS:
        widget = await create(gateway, token, case.widget(floor))
        # when
        data = await graphql(gateway, token, f'{{ node(id: "{widget["id"]}") {{ ... on Widget {{ data {{ '
                                             f'values {{ name }} {case.field} {{ {case.selection} }} }} }} }} }}')
        graph = await graphql(gateway, token, case.query(floor, case.selection))
        # then
        shown = at_path(data, ("node", "data"))
        assert shown[case.field] == at_path(graph, case.path), case.name
        assert shown[case.field], case.name
        assert shown["values"] is None, case.name


async def test_a_kpi_shows_each_metric_as_the_scopes_metrics_and_trend_give_it(
        gateway: LiveGateway, floor: Floor) -> None:
    # given
    token = admin_token(gateway, floor)
    assert "errors" not in await graphql(gateway, token, DEFINE_METRIC)
    red = encode_id("Team", floor.red)
    await create(gateway, token, kpi(scope={"kind": "TEAM", "id": red},
                                     metrics=["CALLS_HANDLED", "AVERAGE_HANDLE_TIME", "SERVICE_LEVEL"],
                                     customMetrics=["handled_share"]))
    # when
    shown = await graphql(gateway, token, "{ widgets { data { values { name metric value } series { granularity } "
                                          "leaderboard { name } funnel { from } table { names } } } }")
    graph = await graphql(gateway, token, f'{{ node(id: "{red}") {{ ... on Team {{ '
                                          f'metrics(range: {MARCH_LITERAL}) {{ callsHandled averageHandleTimeSeconds '
                                          f'serviceLevel }} trend(range: {MARCH_LITERAL}, customMetric: '
                                          f'"handled_share") {{ current }} }} }} }}')
    # then
    metrics = at_path(graph, ("node", "metrics"))
    assert at_path(shown, ("widgets",)) == [{"data": {
        "values": [
            {"name": "calls_handled", "metric": "CALLS_HANDLED", "value": metrics["callsHandled"]},
            {"name": "average_handle_time_seconds", "metric": "AVERAGE_HANDLE_TIME",
             "value": metrics["averageHandleTimeSeconds"]},
            {"name": "service_level", "metric": "SERVICE_LEVEL", "value": metrics["serviceLevel"]},
            {"name": "handled_share", "metric": None, "value": at_path(graph, ("node", "trend", "current"))}],
        "series": None, "leaderboard": None, "funnel": None, "table": None}}]
    assert metrics["callsHandled"] == 4  # the four calls of Red's agents A and B, all answered


async def test_a_managers_widget_over_a_team_he_no_longer_manages_is_forbidden_at_read_time(
        gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection) -> None:
    # given
    manager = gateway.token(floor.tenant, str(floor.manager), roles=("manager",))
    red, blue = encode_id("Team", floor.red), encode_id("Team", floor.blue)
    await create(gateway, manager, kpi("Red", scope={"kind": "TEAM", "id": red}))
    refused = error_of(await graphql(gateway, manager, CREATE, input=kpi("Blue", scope={"kind": "TEAM", "id": blue})))
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert await admin_conn.fetchval(COUNT_WIDGETS) == 1
    readable = await graphql(gateway, manager, "{ widgets { title data { values { value } } } }")
    assert readable["data"]["widgets"] == [{"title": "Red", "data": {"values": [{"value": 4.0}]}}]
    # when
    await admin_conn.execute("DELETE FROM team_managers WHERE tenant_id = $1 AND user_id = $2", floor.tenant,
                             floor.manager)
    body = await graphql(gateway, manager, "{ widgets { title data { values { value } } } }")
    graph = await graphql(gateway, manager, f'{{ node(id: "{red}") {{ ... on Team {{ metrics(range: {MARCH_LITERAL}) '
                                            f'{{ callsTotal }} }} }} }}')
    # then
    assert body["data"]["widgets"] == [{"title": "Red", "data": None}]
    error = error_of(body)
    assert (error["path"], error["extensions"]) == (["widgets", 0, "data"], {"code": "FORBIDDEN"})
    assert error["message"] == error_of(graph)["message"]


@pytest.fixture
async def changes(database: TestDatabase) -> AsyncIterator[Callable[[], Any]]:
    """`await drained()` returns every change signal so far: a marker sent after them arrives after them."""
    conn = await asyncpg.connect(database.admin_dsn)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await conn.add_listener("callpulse_changes", lambda *args: queue.put_nowait(json.loads(args[3])))
    marker = await asyncpg.connect(database.admin_dsn)

    async def drained() -> list[dict[str, Any]]:
        await marker.execute("SELECT pg_notify('callpulse_changes', '{\"marker\": true}')")
        seen = []
        while (signal := await asyncio.wait_for(queue.get(), 10)) != {"marker": True}:
            seen.append(signal)
        return seen

    yield drained
    await marker.close()
    await conn.close()


async def test_every_widget_write_signals_the_widget_once_at_commit_and_a_refused_one_nothing(
        gateway: LiveGateway, floor: Floor, changes: Callable[[], Any]) -> None:
    token = admin_token(gateway, floor)
    tenant = str(floor.tenant)

    def signal(widget_id: str) -> dict[str, str]:
        return {"tenant": tenant, "config": "widget", "widget": str(decode_id(widget_id)[1])}

    one = await create(gateway, token, kpi("One"))
    assert await changes() == [signal(one["id"])]
    two = await create(gateway, token, kpi("Two"))
    assert await changes() == [signal(two["id"])]
    await graphql(gateway, token, UPDATE, id=one["id"], input={"title": "Uno"})
    assert await changes() == [signal(one["id"])]
    await graphql(gateway, token, MOVE, moves=[{"id": two["id"], "x": 0, "y": 2, "w": 4, "h": 2},
                                               {"id": one["id"], "x": 4, "y": 2, "w": 4, "h": 2}])
    assert await changes() == [signal(two["id"]), signal(one["id"])]
    await graphql(gateway, token, DELETE, id=two["id"])
    assert await changes() == [signal(two["id"])]
    assert error_of(await graphql(gateway, token, CREATE, input=kpi(title="")))
    assert await changes() == []


async def test_custom_metric_and_settings_writes_signal_their_change(
        gateway: LiveGateway, floor: Floor, changes: Callable[[], Any]) -> None:
    token = admin_token(gateway, floor)
    tenant = str(floor.tenant)
    await graphql(gateway, token, DEFINE_METRIC)
    assert await changes() == [{"tenant": tenant, "config": "custom_metric"}]
    await graphql(gateway, token, 'mutation { deleteCustomMetric(name: "handled_share") }')
    assert await changes() == [{"tenant": tenant, "config": "custom_metric"}]
    await graphql(gateway, token, 'mutation { deleteCustomMetric(name: "handled_share") }')
    assert await changes() == []
    await graphql(gateway, token, "mutation { updateTenantSettings(settings: {defaultExportFormat: CSV}) "
                                  "{ rollupsRebuilt } }")
    assert await changes() == [{"tenant": tenant, "config": "settings"}]


async def test_a_time_series_widget_over_its_points_cap_is_refused_naming_the_granularity(
        gateway: LiveGateway, floor: Floor) -> None:
    # 30 days of hours (the cost model counts 25 a day) x 3 metrics = 2,250 points > 2,000
    widget = {"title": "Too much", "type": "TIME_SERIES", "position": {"x": 0, "y": 0, "w": 8, "h": 4},
              "config": {"range": {"preset": "LAST_30_DAYS"}, "granularity": "HOUR",
                         "metrics": ["CALLS_TOTAL", "CALLS_HANDLED", "CSAT"]}}
    refused = error_of(await graphql(gateway, admin_token(gateway, floor), CREATE, input=widget))
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    assert refused["extensions"]["argument"] == "input.config.granularity"
    assert "2,000 points" in refused["message"]
