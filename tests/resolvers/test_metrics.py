"""Metrics and series against literal values on a small hand-built fixture, over real HTTP."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from asyncpg.connection import LoggedQuery

from gateway.metrics import Counters, Metric, Scope, value
from gateway.periods import Granularity, Period, Preset, bucket_starts, preset_period
from tests.conftest import GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_agent, make_team, make_tenant
from tests.resolvers.test_agents import graphql

CALL = """
INSERT INTO calls (tenant_id, id, direction, agent_id, campaign_id, started_at, answered_at, ended_at,
                   talk_seconds, hold_seconds, wrap_up_seconds, abandoned, first_contact_resolution, outcome,
                   csat_rating, cost)
VALUES ($1, gen_random_uuid(), $2, $3, $4, $5::timestamptz, $6, $5::timestamptz + interval '20 minutes', $7, $8, $9,
        $10, $11, $12, $13, $14)
"""


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    """New York, where 2026-03-08 has 23 hours. Agents A and B in Red, C in Blue; campaigns K and L."""
    tenant = await make_tenant(admin_conn, "NY", "America/New_York")
    red, blue = await make_team(admin_conn, tenant, "Red"), await make_team(admin_conn, tenant, "Blue")
    a = await make_agent(admin_conn, tenant, "A", team_id=red)
    b = await make_agent(admin_conn, tenant, "B", team_id=red)
    c = await make_agent(admin_conn, tenant, "C", team_id=blue)
    k, lost = uuid.uuid4(), uuid.uuid4()
    await admin_conn.execute("INSERT INTO campaigns (tenant_id, id, name) VALUES ($1, $2, 'K'), ($1, $3, 'L')",
                             tenant, k, lost)
    # direction, agent, campaign, start, answer after (s), talk, hold, wrap, abandoned, fcr, outcome, csat, cost
    for row in [
        ("inbound", a, k, at("2026-03-08T14:00:00Z"), 10, 300, 30, 60, False, True, "connected", 5, 1),
        ("inbound", a, None, at("2026-03-08T15:00:00Z"), 30, 200, 0, 40, False, False, "connected", 3, 0.5),
        ("inbound", None, None, at("2026-03-08T16:00:00Z"), None, 0, 0, 0, True, False, "abandoned", None, 0),
        ("outbound", b, k, at("2026-03-09T15:00:00Z"), 0, 100, 0, 20, False, False, "connected", None, 0.25),
    ]:
        direction, agent, campaign, start, wait, *rest = row
        answered = start + timedelta(seconds=wait) if wait is not None else None
        await admin_conn.execute(CALL, tenant, direction, agent, campaign, start, answered, *rest[:-1],
                                 Decimal(str(rest[-1])))
    lead = uuid.uuid4()
    await admin_conn.execute("INSERT INTO leads (tenant_id, id, campaign_id, source, value, created_at) "
                             "VALUES ($1, $2, $3, 'web_form', 100, '2026-03-08T12:00:00Z')", tenant, lead, k)
    await admin_conn.execute(
        "INSERT INTO lead_stage_history (tenant_id, lead_id, stage, entered_at, exited_at, next_stage) "
        "VALUES ($1, $2, 'new', '2026-03-08T12:00:00Z', '2026-03-08T18:00:00Z', 'won')", tenant, lead)
    await admin_conn.execute(
        "INSERT INTO lead_stage_history (tenant_id, lead_id, stage, entered_at, agent_id, value) "
        "VALUES ($1, $2, 'won', '2026-03-08T18:00:00Z', $3, 100)", tenant, lead, a)
    await admin_conn.execute("INSERT INTO campaign_spend (tenant_id, campaign_id, day, amount) "
                             "VALUES ($1, $2, '2026-03-08', 10)", tenant, k)
    return {"tenant": tenant, "red": red, "blue": blue, "a": a, "b": b, "c": c, "k": k, "l": lost}


METRICS = """
query M($range: DateRange!) {
  tenant { metrics(range: $range) { ...All } }
  agents { edges { node { name metrics(range: $range) { ...All } team { name metrics(range: $range) {
    callsHandled } } } } }
}
fragment All on Metrics {
  callsTotal callsHandled callsInbound averageHandleTimeSeconds averageSpeedOfAnswerSeconds serviceLevel
  abandonmentRate firstContactResolutionRate csat csatMean csatResponses conversionRate revenue
}
"""
MARCH_8 = {"from": "2026-03-08", "to": "2026-03-08"}


async def test_tenant_and_agent_metrics_on_a_dst_day_match_the_definitions(
    gateway: LiveGateway, floor: dict[str, uuid.UUID]
) -> None:
    body = await graphql(gateway, gateway.token(floor["tenant"]), METRICS, range=MARCH_8)
    assert "errors" not in body, body
    tenant = body["data"]["tenant"]["metrics"]
    assert (tenant["callsTotal"], tenant["callsHandled"], tenant["averageHandleTimeSeconds"]) == (3, 2, 315.0)
    assert tenant["averageSpeedOfAnswerSeconds"] == 20.0
    assert tenant["serviceLevel"] == pytest.approx(1 / 3)
    assert tenant["abandonmentRate"] == pytest.approx(1 / 3)
    assert (tenant["firstContactResolutionRate"], tenant["csat"], tenant["csatMean"]) == (0.5, 0.5, 4.0)
    assert tenant["conversionRate"] == 1.0  # one lead generated, one converted that day
    assert tenant["revenue"] == 100.0
    agents = {e["node"]["name"]: e["node"] for e in body["data"]["agents"]["edges"]}
    assert agents["A"]["metrics"]["serviceLevel"] == 0.5
    assert agents["A"]["metrics"]["conversionRate"] == 0.5  # 1 conversion / 2 calls handled
    assert agents["A"]["team"]["metrics"] == {"callsHandled": 2}
    assert agents["C"]["metrics"] == {
        "callsTotal": 0, "callsHandled": 0, "callsInbound": 0, "averageHandleTimeSeconds": None,
        "averageSpeedOfAnswerSeconds": None, "serviceLevel": None, "abandonmentRate": None,
        "firstContactResolutionRate": None, "csat": None, "csatMean": None, "csatResponses": 0,
        "conversionRate": None, "revenue": 0.0}


CAMPAIGN_ROI = """
query { tenant { metrics(range: {from: "2026-03-08", to: "2026-03-09"}) { cost roi costPerLead } } }
"""


async def test_cost_roi_and_cost_per_lead_include_spend_and_call_cost(
    gateway: LiveGateway, floor: dict[str, uuid.UUID]
) -> None:
    body = await graphql(gateway, gateway.token(floor["tenant"]), CAMPAIGN_ROI)
    metrics = body["data"]["tenant"]["metrics"]
    assert metrics["cost"] == 11.75                        # spend 10 + calls 1 + 0.5 + 0.25
    assert metrics["roi"] == pytest.approx((100 - 11.75) / 11.75)
    assert metrics["costPerLead"] == 11.75


CAMPAIGNS = """
query C($status: CampaignStatus) {
  campaigns(status: $status) { totalCount edges { node { name status
    metrics(range: {from: "2026-03-08", to: "2026-03-09"}) {
      callsTotal leadsGenerated leadsConverted revenue cost roi costPerLead averageLeadValue conversionRate } } } }
}
"""


async def test_campaign_metrics_book_spend_call_cost_and_revenue_and_null_roi_without_cost(
    gateway: LiveGateway, floor: dict[str, uuid.UUID], admin_conn: asyncpg.Connection
) -> None:
    await admin_conn.execute("UPDATE campaigns SET status = 'paused' WHERE id = $1", floor["l"])
    body = await graphql(gateway, gateway.token(floor["tenant"]), CAMPAIGNS)
    campaigns = {e["node"]["name"]: e["node"]["metrics"] for e in body["data"]["campaigns"]["edges"]}
    assert campaigns["K"] == {
        "callsTotal": 2, "leadsGenerated": 1, "leadsConverted": 1, "revenue": 100.0,
        "cost": 11.25,                                    # spend 10 + its calls' 1 + 0.25
        "roi": pytest.approx((100 - 11.25) / 11.25), "costPerLead": 11.25, "averageLeadValue": 100.0,
        "conversionRate": 1.0}
    assert campaigns["L"] == {
        "callsTotal": 0, "leadsGenerated": 0, "leadsConverted": 0, "revenue": 0.0, "cost": 0.0, "roi": None,
        "costPerLead": None, "averageLeadValue": None, "conversionRate": None}
    paused = await graphql(gateway, gateway.token(floor["tenant"]), CAMPAIGNS, status="PAUSED")
    assert paused["data"]["campaigns"]["totalCount"] == 1
    assert [e["node"]["name"] for e in paused["data"]["campaigns"]["edges"]] == ["L"]


def test_ratios_with_a_zero_denominator_are_null_not_zero() -> None:
    nothing = Counters()
    for metric in (Metric.ROI, Metric.COST_PER_LEAD, Metric.AVERAGE_HANDLE_TIME, Metric.SERVICE_LEVEL,
                   Metric.CSAT, Metric.OCCUPANCY, Metric.CONVERSION_RATE, Metric.AVERAGE_LEAD_VALUE):
        assert value(metric, nothing, Scope.CAMPAIGN) is None, metric
    revenue_only = Counters(revenue=Decimal(50), leads_generated=2, leads_converted=1)
    assert value(Metric.ROI, revenue_only, Scope.CAMPAIGN) is None  # zero cost
    assert value(Metric.CONVERSION_RATE, revenue_only, Scope.CAMPAIGN) == 0.5
    assert value(Metric.CONVERSION_RATE, revenue_only, Scope.AGENT) is None  # per call handled: none


SERIES = """
query S($metrics: [Metric!]!, $range: DateRange!, $granularity: Granularity!) {
  tenant { series(metrics: $metrics, range: $range, granularity: $granularity) {
    granularity bucketStarts series { metric values } } }
}
"""


async def test_hourly_series_of_a_23_hour_day_has_23_buckets_with_calls_in_local_hours(
    gateway: LiveGateway, floor: dict[str, uuid.UUID]
) -> None:
    body = await graphql(gateway, gateway.token(floor["tenant"]), SERIES, metrics=["CALLS_TOTAL", "SERVICE_LEVEL"],
                         range=MARCH_8, granularity="HOUR")
    series = body["data"]["tenant"]["series"]
    assert len(series["bucketStarts"]) == 23
    calls = dict(zip(series["bucketStarts"], series["series"][0]["values"], strict=True))
    assert {k: v for k, v in calls.items() if v} == {
        "2026-03-08T14:00:00+00:00": 1.0, "2026-03-08T15:00:00+00:00": 1.0, "2026-03-08T16:00:00+00:00": 1.0}
    levels = dict(zip(series["bucketStarts"], series["series"][1]["values"], strict=True))
    assert levels["2026-03-08T14:00:00+00:00"] == 1.0
    assert levels["2026-03-08T15:00:00+00:00"] == 0.0
    assert levels["2026-03-08T13:00:00+00:00"] is None


async def test_daily_and_weekly_series_sum_local_days(gateway: LiveGateway, floor: dict[str, uuid.UUID]) -> None:
    token = gateway.token(floor["tenant"])
    daily = await graphql(gateway, token, SERIES, metrics=["CALLS_TOTAL"],
                          range={"from": "2026-03-07", "to": "2026-03-09"}, granularity="DAY")
    series = daily["data"]["tenant"]["series"]
    assert series["bucketStarts"] == ["2026-03-07T05:00:00+00:00", "2026-03-08T05:00:00+00:00",
                                      "2026-03-09T04:00:00+00:00"]  # EST, then EDT midnights
    assert series["series"][0]["values"] == [0.0, 3.0, 1.0]
    weekly = await graphql(gateway, token, SERIES, metrics=["CALLS_TOTAL"],
                           range={"from": "2026-03-07", "to": "2026-03-09"}, granularity="WEEK")
    assert weekly["data"]["tenant"]["series"]["series"][0]["values"] == [3.0, 1.0]  # the 8th is a Sunday


@pytest.mark.parametrize("bad_range", [
    {"from": "2026-03-08", "to": "2026-03-08", "preset": "TODAY"},
    {"from": "2026-03-08"},
    {},
    {"from": "2026-03-09", "to": "2026-03-08"},
])
async def test_malformed_ranges_are_bad_user_input(
    gateway: LiveGateway, floor: dict[str, uuid.UUID], bad_range: dict[str, Any]
) -> None:
    body = await graphql(gateway, gateway.token(floor["tenant"]), METRICS, range=bad_range)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "range"}


async def test_an_impossible_date_in_variables_is_bad_user_input(
    gateway: LiveGateway, floor: dict[str, uuid.UUID]
) -> None:
    body = await graphql(gateway, gateway.token(floor["tenant"]), METRICS, range={"from": "2026-02-30",
                                                                                 "to": "2026-03-01"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_service_tokens_read_no_metrics(gateway: LiveGateway, floor: dict[str, uuid.UUID]) -> None:
    body = await graphql(gateway, gateway.token(floor["tenant"], "platform", roles=("service",)),
                         "{ tenant { metrics(range: {preset: TODAY}) { callsTotal } } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_presets_follow_the_calendar_with_monday_weeks() -> None:
    sunday = date(2026, 3, 8)
    assert preset_period(Preset.TODAY, sunday) == Period(sunday, sunday)
    assert preset_period(Preset.LAST_7_DAYS, sunday) == Period(date(2026, 3, 2), sunday)
    assert preset_period(Preset.THIS_WEEK, sunday) == Period(date(2026, 3, 2), sunday)
    assert preset_period(Preset.LAST_WEEK, sunday) == Period(date(2026, 2, 23), date(2026, 3, 1))
    assert preset_period(Preset.THIS_MONTH, sunday) == Period(date(2026, 3, 1), date(2026, 3, 31))
    assert preset_period(Preset.LAST_MONTH, sunday) == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert preset_period(Preset.LAST_30_DAYS, sunday) == Period(date(2026, 2, 7), sunday)


def test_hour_buckets_follow_dst_and_half_hour_offsets() -> None:
    autumn = Period(date(2026, 11, 1), date(2026, 11, 1))
    assert len(bucket_starts(autumn, Granularity.HOUR, "America/New_York")) == 25
    kolkata = bucket_starts(Period(date(2026, 3, 8), date(2026, 3, 8)), Granularity.HOUR, "Asia/Kolkata")
    assert len(kolkata) == 24
    assert all(s.minute == 30 for s in kolkata)
    assert len(bucket_starts(autumn, Granularity.QUARTER_HOUR, "America/New_York")) == 100


NESTED = """
query { agents(first: 100) { edges { node { name team { name metrics(range: {from: "2026-03-01", to: "2026-03-30"})
  { callsHandled } } metrics(range: {from: "2026-03-01", to: "2026-03-30"}) { callsHandled serviceLevel }
  series(metrics: [CALLS_TOTAL], range: {from: "2026-03-01", to: "2026-03-30"}, granularity: DAY) { bucketStarts }
  campaigns(range: {from: "2026-03-01", to: "2026-03-30"}) { name metrics(range: {from: "2026-03-01",
    to: "2026-03-30"}) { leadsGenerated roi costPerLead } }
} } } }
"""


BOOKKEEPING = ("BEGIN", "COMMIT", "ROLLBACK", "SELECT set_config", "SELECT pg_advisory_unlock_all", "RESET ALL")


async def test_statements_per_query_do_not_grow_with_the_number_of_agents(
    database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection
) -> None:
    # given two tenants, with 5 and with 50 agents over 3 teams
    tenants = {}
    for size in (5, 50):
        tenant = await make_tenant(admin_conn, f"N{size}", "Europe/Berlin")
        teams = [await make_team(admin_conn, tenant, f"T{i}") for i in range(3)]
        campaigns = [uuid.uuid4() for _ in range(4)]
        for i, campaign in enumerate(campaigns):
            await admin_conn.execute("INSERT INTO campaigns (tenant_id, id, name) VALUES ($1, $2, $3)",
                                     tenant, campaign, f"C{i}")
        for i in range(size):
            agent = await make_agent(admin_conn, tenant, f"agent {i:02}", team_id=teams[i % 3])
            for campaign in (campaigns[i % 4], campaigns[(i + 1) % 4]):
                await admin_conn.execute(CALL, tenant, "outbound", agent, campaign, at("2026-03-10T12:00:00Z"),
                                         None, 0, 0, 0, False, False, "no_answer", None, Decimal("0.1"))
        tenants[size] = tenant
    statements: list[str] = []

    def log(query: LoggedQuery) -> None:
        if not query.query.lstrip().startswith(BOOKKEEPING):
            statements.append(query.query)

    gateway = await gateway_factory(database, query_logger=log, CALLPULSE_DB_POOL_MAX="1")
    await graphql(gateway, gateway.token(tenants[5]), NESTED)  # warms asyncpg's type cache
    counts = {}
    for size, tenant in tenants.items():
        statements.clear()
        # when
        body = await graphql(gateway, gateway.token(tenant), NESTED)
        # then
        assert "errors" not in body, body
        assert len(body["data"]["agents"]["edges"]) == size
        assert all(len(e["node"]["campaigns"]) == 2 for e in body["data"]["agents"]["edges"])
        counts[size] = len(statements)
        # one statement per level: agents, their teams, the tenant's timezone, agent totals, agent series,
        # team totals, the agents' campaign ids, those campaigns, campaign totals; none repeated
        assert len(set(statements)) == len(statements) == 9, statements
    assert counts[5] == counts[50]
