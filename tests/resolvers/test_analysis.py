"""Custom metrics, trends, forecasts and comparisons through the graph, against hand-computed values."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import pytest

from gateway.ids import encode_id
from tests.conftest import LiveGateway
from tests.factories import make_agent, make_team, make_tenant, make_user
from tests.resolvers.test_agents import graphql

CALL = """
INSERT INTO calls (tenant_id, id, direction, agent_id, started_at, answered_at, ended_at, talk_seconds, outcome,
                   cost)
SELECT $1, gen_random_uuid(), 'inbound', $2, $3::text::timestamptz, $3::text::timestamptz,
       $3::text::timestamptz + interval '100 seconds', 100, 'connected', $5
FROM generate_series(1, $4)
"""
DEFINE = """
mutation($name: String!, $formula: String!, $higher: Boolean! = true) {
  defineCustomMetric(name: $name, formula: $formula, higherIsBetter: $higher) {
    name formula higherIsBetter metrics
  }
}
"""
DAYS = '{from: "2026-03-01", to: "2026-03-04"}'


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> dict[str, UUID]:
    """UTC; agent A handles 10, 12, 13, 15 calls on March 1-4 (cost 1 each), B 1 call a day, C none."""
    tenant = await make_tenant(admin_conn, "Trends", "UTC")
    team = await make_team(admin_conn, tenant, "Red")
    ids = {"tenant": tenant, "team": team}
    for name in ("A", "B", "C"):
        ids[name] = await make_agent(admin_conn, tenant, name, team_id=team)
    for day, count in zip((1, 2, 3, 4), (10, 12, 13, 15), strict=True):
        await admin_conn.execute(CALL, tenant, ids["A"], f"2026-03-0{day}T12:00Z", count, 1)
        await admin_conn.execute(CALL, tenant, ids["B"], f"2026-03-0{day}T12:00Z", 1, 0)
    # The previous period (Feb 25-28) for A: 20 calls in all.
    await admin_conn.execute(CALL, tenant, ids["A"], "2026-02-26T12:00Z", 20, 1)
    ids["manager"] = await make_user(admin_conn, tenant, "mia@trends.test", "manager")
    return ids


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None or all(v is None for v in body["data"].values()), body
    first: dict[str, Any] = body["errors"][0]
    return first


async def test_an_admin_defines_a_custom_metric_in_canonical_form_and_lists_it(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    token = gateway.token(floor["tenant"])
    defined = ok(await graphql(gateway, token, DEFINE, name="cost_per_call", formula="( cost )/calls_handled",
                               higher=False))
    assert defined["defineCustomMetric"] == {"name": "cost_per_call", "formula": "cost / calls_handled",
                                             "higherIsBetter": False, "metrics": ["CALLS_HANDLED", "COST"]}
    listed = ok(await graphql(gateway, token, "{ customMetrics { name formula } }"))
    assert listed["customMetrics"] == [{"name": "cost_per_call", "formula": "cost / calls_handled"}]
    redefined = ok(await graphql(gateway, token, DEFINE, name="cost_per_call", formula="cost / calls_total"))
    assert redefined["defineCustomMetric"]["formula"] == "cost / calls_total"
    assert ok(await graphql(gateway, token, 'mutation { deleteCustomMetric(name: "cost_per_call") }')) == {
        "deleteCustomMetric": True}
    assert ok(await graphql(gateway, token, "{ customMetrics { name } }")) == {"customMetrics": []}


@pytest.mark.parametrize(("name", "formula", "argument", "fragment"), [
    ("per_call", "revenue / calls_handeld", "formula", "unknown metric 'calls_handeld'"),
    ("per_call", "revenue / (calls_handled", "formula", "at position"),
    ("per_call", "revenue ** 2", "formula", "at position 9"),
    ("per_call", "", "formula", "empty"),
    ("Per Call", "revenue", "name", "lowercase"),
    ("revenue", "revenue", "name", "built-in metric"),
])
async def test_an_invalid_custom_metric_is_bad_user_input_with_a_clear_message_and_nothing_stored(
    gateway: LiveGateway, floor: dict[str, UUID], name: str, formula: str, argument: str, fragment: str
) -> None:
    token = gateway.token(floor["tenant"])
    err = error(await graphql(gateway, token, DEFINE, name=name, formula=formula))
    assert err["extensions"]["code"] == "BAD_USER_INPUT"
    assert err["extensions"]["argument"] == argument
    assert fragment in err["message"]
    assert ok(await graphql(gateway, token, "{ customMetrics { name } }")) == {"customMetrics": []}


async def test_only_admins_define_custom_metrics(gateway: LiveGateway, floor: dict[str, UUID]) -> None:
    for roles in (("viewer",), ("manager",)):
        token = gateway.token(floor["tenant"], str(floor["manager"]), roles=roles)
        assert error(await graphql(gateway, token, DEFINE, name="x", formula="roi"))["extensions"]["code"] == (
            "FORBIDDEN")


async def test_a_custom_metric_in_a_series_divides_by_zero_to_null(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    token = gateway.token(floor["tenant"])
    ok(await graphql(gateway, token, DEFINE, name="cost_per_call", formula="cost / calls_handled"))
    query = """query($id: ID!) { node(id: $id) { ... on Agent {
        series(range: {from: "2026-03-04", to: "2026-03-05"}, granularity: DAY, metrics: [CALLS_HANDLED],
               customMetrics: ["cost_per_call"]) { series { name metric values } } } } }"""
    body = ok(await graphql(gateway, token, query, id=encode_id("Agent", floor["A"])))
    assert body["node"]["series"]["series"] == [
        {"name": "calls_handled", "metric": "CALLS_HANDLED", "values": [15.0, 0.0]},
        {"name": "cost_per_call", "metric": None, "values": [1.0, None]},
    ]
    unknown = await graphql(gateway, token, query.replace('"cost_per_call"', '"nope"'),
                            id=encode_id("Agent", floor["A"]))
    assert error(unknown)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_custom_metric_ranks_in_its_own_direction_on_leaderboards(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    token = gateway.token(floor["tenant"])
    ok(await graphql(gateway, token, DEFINE, name="cost_per_call", formula="cost / calls_handled", higher=False))
    body = ok(await graphql(gateway, token, f"""{{ leaderboard(customMetric: "cost_per_call", range: {DAYS}) {{
        name metric higherIsBetter entries {{ rank value agent {{ name }} }} }} }}"""))
    board = body["leaderboard"]
    assert (board["name"], board["metric"], board["higherIsBetter"]) == ("cost_per_call", None, False)
    assert [(e["rank"], e["value"], e["agent"]["name"]) for e in board["entries"]] == [
        (1, 0.0, "B"), (2, 1.0, "A"), (None, None, "C")]
    both = await graphql(gateway, token, f'{{ leaderboard(metric: ROI, customMetric: "cost_per_call", range: {DAYS})'
                                         ' { name } }')
    assert error(both)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_trend_compares_with_the_previous_period_and_fits_a_line(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    body = ok(await graphql(gateway, gateway.token(floor["tenant"]), f"""query($id: ID!) {{ node(id: $id) {{
        ... on Agent {{ trend(metric: CALLS_HANDLED, range: {DAYS}) {{
            name current previous change slope intercept values }} }} }} }}""", id=encode_id("Agent", floor["A"])))
    trend = body["node"]["trend"]
    # 50 calls against 20 before: +150 %. Line through (0,10) (1,12) (2,13) (3,15): slope 1.6, intercept 10.1.
    assert trend["name"] == "calls_handled"
    assert (trend["current"], trend["previous"], trend["change"]) == (50.0, 20.0, 1.5)
    assert trend["slope"] == pytest.approx(1.6)
    assert trend["intercept"] == pytest.approx(10.1)
    assert trend["values"] == [10.0, 12.0, 13.0, 15.0]


async def test_holt_forecast_with_fixed_parameters_matches_the_hand_computation(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    body = ok(await graphql(gateway, gateway.token(floor["tenant"]), f"""query($id: ID!) {{ node(id: $id) {{
        ... on Agent {{ forecast(metric: CALLS_HANDLED, range: {DAYS}, horizon: 3, alpha: 0.5, beta: 0.5) {{
            method alpha beta bucketStarts values lower upper history }} }} }} }}""",
                            id=encode_id("Agent", floor["A"])))
    forecast = body["node"]["forecast"]
    # l0 = 10, b0 = 2. t=1: ŷ 12, e 0 → l 12, b 2. t=2: ŷ 14, e -1 → l 13.5, b 1.75. t=3: ŷ 15.25, e -0.25 →
    # l 15.125, b 1.6875. Forecasts 15.125 + h·1.6875.
    assert forecast["method"] == "holt_linear"
    assert (forecast["alpha"], forecast["beta"]) == (0.5, 0.5)
    assert forecast["values"] == pytest.approx([16.8125, 18.5, 20.1875])
    assert forecast["bucketStarts"] == ["2026-03-05T00:00:00+00:00", "2026-03-06T00:00:00+00:00",
                                        "2026-03-07T00:00:00+00:00"]
    widths = [u - lo for lo, u in zip(forecast["lower"], forecast["upper"], strict=True)]
    assert widths == sorted(widths)
    assert forecast["history"] == [10.0, 12.0, 13.0, 15.0]


async def test_a_forecast_needs_three_points(gateway: LiveGateway, floor: dict[str, UUID]) -> None:
    body = await graphql(gateway, gateway.token(floor["tenant"]), """query($id: ID!) { node(id: $id) {
        ... on Agent { forecast(metric: CALLS_HANDLED, range: {from: "2026-03-01", to: "2026-03-02"}) {
            values } } } }""",
                         id=encode_id("Agent", floor["A"]))
    assert error(body)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_compare_puts_agents_side_by_side_with_the_previous_period(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    token = gateway.token(floor["tenant"])
    ok(await graphql(gateway, token, DEFINE, name="cost_per_call", formula="cost / calls_handled"))
    body = ok(await graphql(gateway, token, f"""query($agents: [ID!]!) {{ compare(agents: $agents,
        metrics: [CALLS_HANDLED, AVERAGE_HANDLE_TIME], customMetrics: ["cost_per_call"], range: {DAYS}) {{
        names metrics rows {{ agent {{ name }} values previous change }} }} }}""",
                            agents=[encode_id("Agent", floor[n]) for n in ("A", "C")]))
    comparison = body["compare"]
    assert comparison["names"] == ["calls_handled", "average_handle_time_seconds", "cost_per_call"]
    assert comparison["metrics"] == ["CALLS_HANDLED", "AVERAGE_HANDLE_TIME", None]
    assert comparison["rows"] == [
        {"agent": {"name": "A"}, "values": [50.0, 100.0, 1.0], "previous": [20.0, 100.0, 1.0],
         "change": [1.5, 0.0, 0.0]},
        {"agent": {"name": "C"}, "values": [0.0, None, None], "previous": [0.0, None, None],
         "change": [None, None, None]},
    ]


async def test_comparing_an_agent_outside_the_role_is_forbidden(gateway: LiveGateway, floor: dict[str, UUID]) -> None:
    token = gateway.token(floor["tenant"], str(floor["manager"]), roles=("manager",))
    body = await graphql(gateway, token, f"""query($agents: [ID!]!) {{ compare(agents: $agents,
        metrics: [CALLS_HANDLED], range: {DAYS}) {{ names }} }}""", agents=[encode_id("Agent", floor["A"])])
    assert error(body)["extensions"]["code"] == "FORBIDDEN"


async def test_points_and_available_time_trend_and_forecast_as_numbers(
    gateway: LiveGateway, floor: dict[str, UUID], admin_conn: asyncpg.Connection
) -> None:
    for day, points in ((1, 5), (2, 7), (3, 9), (4, 11)):
        await admin_conn.execute("INSERT INTO points_ledger (tenant_id, agent_id, points, reason, awarded_at) "
                                 "VALUES ($1, $2, $3, 'calls', $4::text::timestamptz)", floor["tenant"], floor["A"],
                                 points, f"2026-03-0{day}T12:00Z")
    body = ok(await graphql(gateway, gateway.token(floor["tenant"]), f"""{{ tenant {{
        trend(metric: POINTS, range: {DAYS}) {{ current slope }}
        forecast(metric: POINTS, range: {DAYS}, horizon: 1, alpha: 1, beta: 1) {{ values }}
        metrics(range: {DAYS}) {{ points availableSeconds }} }} }}"""))
    assert body["tenant"]["trend"] == {"current": 32.0, "slope": 2.0}
    assert body["tenant"]["forecast"]["values"] == [13.0]
    assert body["tenant"]["metrics"] == {"points": 32, "availableSeconds": 0.0}


async def test_a_forecast_of_values_too_large_for_floats_is_bad_user_input(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    token = gateway.token(floor["tenant"])
    ok(await graphql(gateway, token, DEFINE, name="huge", formula="calls_handled * 1e300"))
    body = await graphql(gateway, token, f'{{ tenant {{ forecast(customMetric: "huge", range: {DAYS}) {{ rmse }} }} }}')
    assert error(body)["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("query", [
    f'{{ tenant {{ series(customMetrics: ["a\\u0000"], range: {DAYS}, granularity: DAY) {{ bucketStarts }} }} }}',
    'mutation { deleteCustomMetric(name: "a\\u0000") }',
    f'{{ eventAnalytics(range: {DAYS}, names: ["a\\u0000"]) {{ events }} }}',
])
async def test_names_with_nul_bytes_are_bad_user_input(
    gateway: LiveGateway, floor: dict[str, UUID], query: str
) -> None:
    body = await graphql(gateway, gateway.token(floor["tenant"]), query)
    assert error(body)["extensions"]["code"] == "BAD_USER_INPUT"
