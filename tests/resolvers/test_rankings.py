"""Funnels, daily reports, leaderboards and standings against literal values on a hand-built floor."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from gateway.ids import encode_id
from gateway.loaders.funnel import HISTOGRAM_BOUNDS
from tests.conftest import LiveGateway
from tests.factories import make_agent, make_team, make_tenant, make_user
from tests.resolvers.test_agents import graphql

CALL = """
INSERT INTO calls (tenant_id, id, direction, agent_id, started_at, answered_at, ended_at, talk_seconds, outcome)
VALUES ($1, gen_random_uuid(), 'inbound', $2, $3::text::timestamptz, $3::text::timestamptz,
        $3::text::timestamptz + make_interval(secs => $4), $4, 'connected')
"""
STAY = """
INSERT INTO lead_stage_history (tenant_id, lead_id, stage, entered_at, exited_at, next_stage)
VALUES ($1, $2, $3, $4::text::timestamptz, $5::text::timestamptz, $6)
"""
FUNNEL = """
query($campaign: ID) {
  funnel(range: {from: "2026-03-02", to: "2026-03-02"}, campaignId: $campaign) {
    from to overallConversion campaign { name }
    stages { stage entered exited advanced lost stillOpen conversionToNext dropOff averageSecondsInStage
             medianSecondsInStage p90SecondsInStage }
  }
}
"""
LEADERBOARD = """
query($metric: Metric!, $scope: RankingScope, $first: Int! = 10) {
  leaderboard(metric: $metric, range: {from: "2026-03-01", to: "2026-03-03"}, scope: $scope, first: $first) {
    metric higherIsBetter agentsRanked entries { rank value agent { name } }
  }
}
"""
STANDING = """
query($id: ID!) {
  node(id: $id) { ... on Agent { standing(metric: CALLS_HANDLED, range: {from: "2026-03-01", to: "2026-03-03"}) {
    value rankInTeam teamSize percentileInTeam rankInTenant tenantSize percentileInTenant } } }
}
"""
DAILY = """
{ dailyReports(range: {from: "2026-03-01", to: "2026-03-03"}) {
    day metrics { callsTotal callsHandled } teams { team { name } metrics { callsTotal } } } }
"""


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> dict[str, UUID]:
    """UTC. Red: A (3 calls of 100 s), B (1 of 400 s); Blue: C (2 of 200 s on the 2nd, 1 on the 3rd), D (none)."""
    tenant = await make_tenant(admin_conn, "Ranks", "UTC")
    red, blue = await make_team(admin_conn, tenant, "Red"), await make_team(admin_conn, tenant, "Blue")
    ids = {"tenant": tenant, "red": red, "blue": blue}
    for name, team in [("A", red), ("B", red), ("C", blue), ("D", blue)]:
        ids[name] = await make_agent(admin_conn, tenant, name, team_id=team)
    for agent, start, seconds in [("A", "2026-03-02T09:00Z", 100), ("A", "2026-03-02T10:00Z", 100),
                                  ("A", "2026-03-02T11:00Z", 100), ("B", "2026-03-02T09:00Z", 400),
                                  ("C", "2026-03-02T09:00Z", 200), ("C", "2026-03-02T10:00Z", 200),
                                  ("C", "2026-03-03T10:00Z", 200)]:
        await admin_conn.execute(CALL, tenant, ids[agent], start, seconds)
    ids["manager"] = await make_user(admin_conn, tenant, "mia@ranks.test", "manager")
    await admin_conn.execute("INSERT INTO team_managers (tenant_id, team_id, user_id) VALUES ($1, $2, $3)",
                             tenant, red, ids["manager"])
    ids["ada"] = await make_user(admin_conn, tenant, "ada@ranks.test", "agent", agent_id=ids["A"])
    ids["K"] = uuid.uuid4()
    await admin_conn.execute("INSERT INTO campaigns (tenant_id, id, name) VALUES ($1, $2, 'K')", tenant, ids["K"])
    # L1 new 30 min → contacted 2.5 h → won; L2 new 30 s → lost; L3 still new; L4 (no campaign) still new.
    for lead, campaign, stays in [
        ("L1", ids["K"], [("new", "09:00", "09:30", "contacted"), ("contacted", "09:30", "12:00", "won"),
                          ("won", "12:00", None, None)]),
        ("L2", ids["K"], [("new", "10:00:00", "10:00:30", "lost"), ("lost", "10:00:30", None, None)]),
        ("L3", ids["K"], [("new", "11:00", None, None)]),
        ("L4", None, [("new", "13:00", None, None)]),
    ]:
        ids[lead] = uuid.uuid4()
        await admin_conn.execute("INSERT INTO leads (tenant_id, id, campaign_id, source, created_at) "
                                 "VALUES ($1, $2, $3, 'web_form', '2026-03-02T08:00Z')", tenant, ids[lead], campaign)
        for stage, entered, exited, next_stage in stays:
            await admin_conn.execute(STAY, tenant, ids[lead], stage, f"2026-03-02T{entered}Z",
                                     f"2026-03-02T{exited}Z" if exited else None, next_stage)
    return ids


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def stage(stage: str, entered: int, exited: int = 0, advanced: int = 0, lost: int = 0, conversion: float | None = None,
          drop: float | None = None, average: float | None = None, median: float | None = None,
          p90: float | None = None) -> dict[str, Any]:
    return {"stage": stage, "entered": entered, "exited": exited, "advanced": advanced, "lost": lost,
            "stillOpen": entered - exited, "conversionToNext": conversion, "dropOff": drop,
            "averageSecondsInStage": average, "medianSecondsInStage": median, "p90SecondsInStage": p90}


async def test_a_campaign_funnel_counts_transitions_conversion_drop_off_and_time_in_stage(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    body = ok(await graphql(gateway, gateway.token(floor["tenant"]), FUNNEL, campaign=encode_id("Campaign",
                                                                                                 floor["K"])))
    funnel = body["funnel"]
    assert funnel["campaign"] == {"name": "K"}
    assert (funnel["from"], funnel["to"]) == ("2026-03-02", "2026-03-02")
    assert funnel["overallConversion"] == pytest.approx(1 / 3)
    assert funnel["stages"] == [
        # 30 s lands in the ≤ 60 s bucket, 1,800 s in the ≤ 1,800 s one: median 60, p90 1,800
        stage("NEW", 3, exited=2, advanced=1, lost=1, conversion=0.5, drop=0.5, average=915.0, median=60.0,
              p90=1800.0),
        # 9,000 s lands in the ≤ 14,400 s bucket
        stage("CONTACTED", 1, exited=1, advanced=1, conversion=1.0, drop=0.0, average=9000.0, median=14400.0,
              p90=14400.0),
        stage("QUALIFIED", 0), stage("PROPOSAL", 0), stage("WON", 1), stage("LOST", 1),
    ]


async def test_the_tenant_funnel_includes_leads_without_a_campaign(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    funnel = ok(await graphql(gateway, gateway.token(floor["tenant"]), FUNNEL))["funnel"]
    assert funnel["campaign"] is None
    assert [s["entered"] for s in funnel["stages"]] == [4, 1, 0, 0, 1, 1]
    assert funnel["overallConversion"] == 0.25


async def test_a_funnel_without_transitions_has_null_ratios_and_campaign_funnel_field_matches(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    body = ok(await graphql(gateway, gateway.token(floor["tenant"]),
                            '{ campaigns { edges { node { funnel(range: {from: "2026-03-05", to: "2026-03-05"}) '
                            '{ overallConversion stages { entered conversionToNext medianSecondsInStage } } } } } }'))
    funnel = body["campaigns"]["edges"][0]["node"]["funnel"]
    assert funnel["overallConversion"] is None
    assert all(s == {"entered": 0, "conversionToNext": None, "medianSecondsInStage": None} for s in funnel["stages"])


async def test_histogram_bounds_match_the_database(admin_conn: asyncpg.Connection) -> None:
    assert tuple(await admin_conn.fetchval("SELECT funnel_histogram_bounds()")) == HISTOGRAM_BOUNDS


@pytest.mark.parametrize(("metric", "expected", "higher"), [
    ("CALLS_HANDLED", [(1, 3.0, "A"), (2, 3.0, "C"), (3, 1.0, "B"), (4, 0.0, "D")], True),
    ("AVERAGE_HANDLE_TIME", [(1, 100.0, "A"), (2, 200.0, "C"), (3, 400.0, "B"), (None, None, "D")], False),
])
async def test_the_tenant_leaderboard_ranks_every_agent_in_the_metrics_direction(
    gateway: LiveGateway, floor: dict[str, UUID], metric: str, expected: list[tuple[Any, ...]], higher: bool
) -> None:
    board = ok(await graphql(gateway, gateway.token(floor["tenant"]), LEADERBOARD, metric=metric))["leaderboard"]
    if metric == "CALLS_HANDLED":
        # A and C tie on 3 calls: both rank 1, named in order
        expected = [(1, 3.0, "A"), (1, 3.0, "C"), (3, 1.0, "B"), (4, 0.0, "D")]
    assert [(e["rank"], e["value"], e["agent"]["name"]) for e in board["entries"]] == expected
    assert board["higherIsBetter"] is higher
    assert board["agentsRanked"] == sum(1 for e in expected if e[1] is not None)


async def test_a_team_leaderboard_for_its_manager_and_first_caps_the_entries(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    token = gateway.token(floor["tenant"], str(floor["manager"]), roles=("manager",))
    board = ok(await graphql(gateway, token, LEADERBOARD, metric="CALLS_HANDLED",
                             scope={"teamId": encode_id("Team", floor["red"])}, first=1))["leaderboard"]
    assert [(e["rank"], e["agent"]["name"]) for e in board["entries"]] == [(1, "A")]
    assert board["agentsRanked"] == 2


@pytest.mark.parametrize(("roles", "user", "scope"), [
    (("manager",), "manager", None), (("manager",), "manager", "blue"), (("agent",), "ada", "red"),
    (("agent",), "ada", None)])
async def test_leaderboards_outside_the_role_are_forbidden(
    gateway: LiveGateway, floor: dict[str, UUID], roles: tuple[str, ...], user: str, scope: str | None
) -> None:
    token = gateway.token(floor["tenant"], str(floor[user]), roles=roles)
    body = await graphql(gateway, token, LEADERBOARD, metric="CALLS_HANDLED",
                         scope={"teamId": encode_id("Team", floor[scope])} if scope else None)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_agent_reads_its_own_standing_in_team_and_tenant(gateway: LiveGateway, floor: dict[str, UUID]) -> None:
    token = gateway.token(floor["tenant"], str(floor["ada"]), roles=("agent",))
    own = ok(await graphql(gateway, token, STANDING, id=encode_id("Agent", floor["A"])))["node"]["standing"]
    # Red: A 3, B 1 → first, beats 1 of 2 and ties itself: (1 + 1/2) / 2. Tenant: 3, 1, 3, 0 → beats 2, ties 2:
    # (2 + 2/2) / 4.
    assert own == {"value": 3.0, "rankInTeam": 1, "teamSize": 2, "percentileInTeam": 75.0, "rankInTenant": 1,
                   "tenantSize": 4, "percentileInTenant": 75.0}
    other = await graphql(gateway, token, STANDING, id=encode_id("Agent", floor["B"]))
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_daily_reports_list_every_day_with_the_team_breakdown(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    days = ok(await graphql(gateway, gateway.token(floor["tenant"]), DAILY))["dailyReports"]
    assert [(d["day"], d["metrics"]["callsTotal"]) for d in days] == [
        ("2026-03-01", 0), ("2026-03-02", 6), ("2026-03-03", 1)]
    assert days[0]["teams"] == []
    assert sorted((t["team"]["name"], t["metrics"]["callsTotal"]) for t in days[1]["teams"]) == [
        ("Blue", 2), ("Red", 4)]
    assert [(t["team"]["name"], t["metrics"]["callsTotal"]) for t in days[2]["teams"]] == [("Blue", 1)]


async def test_a_managers_daily_reports_break_down_only_its_teams_and_an_agent_gets_none(
    gateway: LiveGateway, floor: dict[str, UUID]
) -> None:
    manager = gateway.token(floor["tenant"], str(floor["manager"]), roles=("manager",))
    days = ok(await graphql(gateway, manager, DAILY))["dailyReports"]
    assert days[1]["metrics"]["callsTotal"] == 6
    assert [t["team"]["name"] for t in days[1]["teams"]] == ["Red"]
    agent = gateway.token(floor["tenant"], str(floor["ada"]), roles=("agent",))
    assert (await graphql(gateway, agent, DAILY))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
