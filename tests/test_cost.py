"""The cost of an operation, known before it runs: what fits the default budget, what does not, and how it is
priced (list sizes from `first` and defaults, buckets from ranges and granularities, fragments where spread)."""

from __future__ import annotations

import uuid
from typing import Any, Final

import asyncpg
import httpx
import pytest
from asyncpg.connection import LoggedQuery
from graphql import get_introspection_query, parse

from bench.graph import DASHBOARD
from gateway import cost
from gateway.cost import FORECAST_FIT, INTROSPECTION_FIELD, operation_cost
from gateway.resolvers import custom_metric, event_analytics, leaderboard
from gateway.schema import pagination, schema
from gateway.settings import DEFAULT_QUERY_COST_BUDGET
from tests.conftest import GatewayFactory, TestDatabase
from tests.factories import make_tenant
from tests.test_readme import Example, examples
from tests.test_websocket import acked, error_of, receive, subscribe

FULL_INTROSPECTION: Final = get_introspection_query(descriptions=True, specified_by_url=True,
                                                    directive_is_repeatable=True, schema_description=True,
                                                    input_value_deprecation=True)
QUARTER_HOURS_52_DAYS: Final = '{from: "2025-01-01", to: "2025-02-21"}'
TWENTY_METRICS: Final = ("[CALLS_TOTAL CALLS_HANDLED CALLS_INBOUND CALLS_OUTBOUND AVERAGE_HANDLE_TIME "
                         "AVERAGE_SPEED_OF_ANSWER SERVICE_LEVEL ABANDONMENT_RATE FIRST_CONTACT_RESOLUTION TRANSFERS "
                         "CSAT TASKS_COMPLETED AVAILABLE_TIME OCCUPANCY POINTS LEADS_GENERATED LEADS_CONVERTED "
                         "CONVERSION_RATE REVENUE COST]")
ABUSE: Final = {
    "5 aliases of 20 agents' QUARTER_HOUR forecasts over 52 days": "{ " + " ".join(
        f"a{i}: agents(first: 20) {{ edges {{ node {{ forecast(metric: CALLS_HANDLED, "
        f"range: {QUARTER_HOURS_52_DAYS}, granularity: QUARTER_HOUR) {{ values }} }} }} }}" for i in range(5)) + " }",
    "200 agents x 20 metrics x 4,992 buckets of series": (
        f"{{ agents(first: 200) {{ edges {{ node {{ series(metrics: {TWENTY_METRICS}, range: {QUARTER_HOURS_52_DAYS}, "
        "granularity: QUARTER_HOUR) { bucketStarts series { name values } } } } } }"),
    "nested lists, 200 x 200 x 200": (
        "{ agents(first: 200) { edges { node { calls(first: 200) { edges { node { lead {"
        " calls(first: 200) { edges { node { id startedAt outcome } } } } } } } } } } }"),
}
SERIES: Final = ("query ($g: Granularity!) {{ tenant {{ series(range: {range}, granularity: $g, "
                  "metrics: [CALLS_HANDLED]) {{ bucketStarts }} }} }}")


def cost_of(query: str, variables: dict[str, Any] | None = None, operation_name: str | None = None) -> int:
    return operation_cost(schema._schema, parse(query), operation_name, variables).units


async def refusal_of(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await schema.execute(query, variable_values=variables)
    [error] = result.errors or []
    assert result.data is None
    return {"message": error.message, **(error.extensions or {})}


async def codes_of(query: str) -> list[str]:
    """Codes of errors before execution (without a principal nothing runs: only the checks answer)."""
    result = await schema.execute(query)
    return [(e.extensions or {}).get("code", "") for e in result.errors or []
            if (e.extensions or {}).get("code") != "UNAUTHENTICATED" and e.path is None]


# ---- what fits the default budget ---------------------------------------------------------------------------

async def test_the_bench_dashboard_fits_the_default_budget() -> None:
    assert cost_of(DASHBOARD) < DEFAULT_QUERY_COST_BUDGET / 10
    assert await codes_of(DASHBOARD) == []


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.label)
async def test_every_readme_example_fits_the_default_budget(example: Example) -> None:
    # Half the budget at most: the largest, `widgets { data }`, is priced as a full grid of the largest widgets.
    assert cost_of(example.source) < DEFAULT_QUERY_COST_BUDGET / 2


async def test_graphql_cores_full_introspection_query_fits_the_default_budget() -> None:
    assert cost_of(FULL_INTROSPECTION) < DEFAULT_QUERY_COST_BUDGET / 5
    assert await codes_of(FULL_INTROSPECTION) == []


# ---- what does not --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ABUSE.values(), ids=ABUSE.keys())
async def test_each_abuse_case_is_refused_for_its_cost_before_it_runs(query: str) -> None:
    refusal = await refusal_of(query)

    assert {k: refusal[k] for k in ("code", "reason", "budget")} == {
        "code": "QUERY_TOO_COMPLEX", "reason": "cost", "budget": DEFAULT_QUERY_COST_BUDGET}
    assert refusal["cost"] == cost_of(query) > 10 * DEFAULT_QUERY_COST_BUDGET


async def test_the_refusal_names_the_root_field_that_costs_most() -> None:
    query = "{ tenant { name } " + ABUSE["nested lists, 200 x 200 x 200"][1:]

    assert "most of it is `agents`" in (await refusal_of(query))["message"]


async def test_an_invalid_document_is_a_validation_error_and_is_not_priced() -> None:
    invalid = "{ agents(first: 200) { edges { node { calls(first: 200) { edges { node { nosuch } } } } } } }"

    assert await codes_of(invalid) == ["BAD_USER_INPUT"]


# ---- how it is priced ---------------------------------------------------------------------------------------

def test_a_connection_holds_first_items_50_by_default_and_at_most_200() -> None:
    def page(first: str) -> int:
        return cost_of(f"{{ agents{first} {{ edges {{ node {{ name }} }} }} }}")

    # agents + per edge (edge + node + name)
    assert page("(first: 10)") == 1 + 10 * 3
    assert page("") == page("(first: 50)") == 1 + 50 * 3
    assert page("(first: 100000)") == page("(first: 200)")
    assert cost_of("query ($n: Int) { agents(first: $n) { edges { node { name } } } }", {"n": 10}) == 1 + 10 * 3


# Hours and quarter hours as if every day had 25 hours, up to the 5,000 quarter hours a series may cover.
@pytest.mark.parametrize(("granularity", "buckets"), [("DAY", 52), ("HOUR", 5000 // 4 + 1), ("QUARTER_HOUR", 5000),
                                                      ("WEEK", 9), ("MONTH", 3)])
def test_series_cost_the_buckets_of_their_range_at_their_granularity_given_as_variables(
        granularity: str, buckets: int) -> None:
    query = SERIES.format(range=QUARTER_HOURS_52_DAYS)

    # tenant + series (its work: buckets x 1 metric) + bucketStarts (one value a bucket)
    assert cost_of(query, {"g": granularity}) == 1 + buckets + 1 + buckets


def test_ranges_and_their_presets_are_priced_by_their_days() -> None:
    preset = "query ($g: Granularity!, $r: DateRange!) { tenant { series(range: $r, granularity: $g, " \
             "metrics: [CALLS_HANDLED, CSAT]) { series { values } } } }"

    # tenant + series (work 30 x 2) + series (2 x (item + values of 30))
    assert cost_of(preset, {"g": "DAY", "r": {"preset": "LAST_30_DAYS"}}) == 1 + 60 + 1 + 2 * (1 + 30)
    assert cost_of(preset, {"g": "DAY", "r": {"from": "2025-03-01", "to": "2025-03-30"}}) == 1 + 60 + 1 + 2 * 31


def test_a_variables_default_is_priced_when_it_is_not_sent() -> None:
    with_default = SERIES.format(range=QUARTER_HOURS_52_DAYS).replace("$g: Granularity!", "$g: Granularity = HOUR")

    assert cost_of(with_default) == cost_of(SERIES.format(range=QUARTER_HOURS_52_DAYS), {"g": "HOUR"})


def test_a_forecast_costs_its_fitting_unless_alpha_and_beta_are_given() -> None:
    fitted = "{ tenant { forecast(metric: CSAT, range: {preset: LAST_30_DAYS}) { alpha } } }"
    given = "{ tenant { forecast(metric: CSAT, range: {preset: LAST_30_DAYS}, alpha: 0.5, beta: 0.1) { alpha } } }"

    assert cost_of(fitted) == 1 + 30 * FORECAST_FIT + 2
    assert cost_of(given) == 1 + 30 + 2


def test_fragments_cost_where_they_are_spread_as_inline_selections_would() -> None:
    spread = "{ a: tenant { ...F } b: tenant { ...F } } fragment F on Tenant { name timezone }"
    inline = "{ a: tenant { name timezone } b: tenant { name timezone } }"

    assert cost_of(spread) == cost_of(inline) == 2 * (1 + 2)


def test_introspection_is_priced_too_lists_at_their_size_in_this_schema() -> None:
    types = len(schema._schema.type_map)

    assert cost_of("{ __schema { types { name } } }") == INTROSPECTION_FIELD * (1 + types * 2)
    assert cost_of("{ __typename }") == INTROSPECTION_FIELD


def test_the_bounds_priced_are_the_bounds_the_resolvers_enforce() -> None:
    assert (cost.DEFAULT_PAGE_SIZE, cost.MAX_PAGE_SIZE) == (pagination.DEFAULT_PAGE_SIZE, pagination.MAX_PAGE_SIZE)
    assert (cost.MAX_ENTRIES, cost.MAX_COMPARED) == (leaderboard.MAX_ENTRIES, leaderboard.MAX_COMPARED)
    assert (cost.MAX_TOP, cost.MAX_NAMES) == (event_analytics.MAX_TOP, event_analytics.MAX_NAMES)
    assert cost.MAX_ASKED == custom_metric.MAX_ASKED


def test_only_the_operation_asked_for_is_priced() -> None:
    document = "query Cheap { tenant { name } } query Dear { agents(first: 200) { edges { node { name } } } }"

    assert cost_of(document, operation_name="Cheap") == 2


# ---- the budget, over HTTP and websockets -------------------------------------------------------------------

async def test_an_operation_over_a_configured_budget_is_refused_without_any_sql(
        database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection) -> None:
    statements: list[LoggedQuery] = []
    gateway = await gateway_factory(database, query_logger=statements.append, CALLPULSE_QUERY_COST_BUDGET="100")
    token = gateway.token(await make_tenant(admin_conn))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        within = await client.post("/graphql", json={"query": "{ tenant { name } }"})
        statements.clear()
        over = await client.post("/graphql", json={"query": "{ agents { edges { node { name } } } }"})

    assert within.json() == {"data": {"tenant": {"name": "Tenant"}}}
    assert over.status_code == 200
    [error] = over.json()["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "reason": "cost", "cost": 151, "budget": 100}
    assert error["locations"] == [{"line": 1, "column": 1}]
    assert statements == []


async def test_over_a_websocket_an_operation_over_budget_is_an_error_message(
        database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection) -> None:
    gateway = await gateway_factory(database, CALLPULSE_QUERY_COST_BUDGET="100")
    async with acked(gateway, gateway.token(await make_tenant(admin_conn))) as ws:
        await ws.send(subscribe(str(uuid.uuid4()), "{ agents { edges { node { name } } } }"))
        error = error_of(await receive(ws))

    assert (error["extensions"]["code"], error["extensions"]["reason"]) == ("QUERY_TOO_COMPLEX", "cost")


def test_reading_widgets_is_priced_as_a_full_grid_of_the_largest_widgets() -> None:
    from gateway.cost import MAX_WIDGET_POINTS, MAX_WIDGETS

    series = "{ widgets { data { series { series { values } } } } }"
    assert cost_of(series) >= MAX_WIDGETS * MAX_WIDGET_POINTS
    assert cost_of(series) < DEFAULT_QUERY_COST_BUDGET
