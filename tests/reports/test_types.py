"""The report types against literal values on the hand-built Berlin week (tests/reports/conftest.py).

Worked out by hand from the fixture, the week of Monday 2026-03-02 (local days, UTC+1):

    calls  c1 Ann in  Spring Mon 00:30  answer 10 s  handle 360  resolved   csat 5  cost 1.00  fcr
           c2 Ann in  Spring Mon 09:40  answer 30 s  handle 260  converted  csat 4  cost 1.00
           c3 Ann out Summer Tue 14:05  answered     handle 120  interested         cost 0.50
           c4 Ben in  Spring Tue 09:20  answer 15 s  handle 500  callback   csat 2  cost 1.00
           c5 Ben out Summer Wed 10:00  no answer                                   cost 0.10
           c6 Cat in         Wed 09:05  answer  5 s  handle 180  resolved   csat 5             fcr
           c7 Dex in  Spring Thu 22:30  answer  2 s  handle 120  resolved   csat 3             fcr (AI agent)
           c8 —   in  Spring Thu 09:50  abandoned in the queue
           c9 Cat in         Sat 11:00  answer 60 s  handle 300  escalated  csat 1  transferred
    so 9 calls, 7 inbound, 7 handled, 6 inbound answered (122 s of waiting), 4 within the 20 s service level,
    1 abandoned, 1,840 s of handle time, 6 ratings of which 3 are 4-5 (sum 20), 3 resolved on first contact.
    The week before: Ann 1 call, Ben 2. Presence: Ann 7,400 s, Ben 5,000 s (Cat and Dex none); human handle
    time 740 + 500 + 480 = 1,720 s. Tasks completed: Ann 2, Ben 1. Points: Ann 80, Ben 100, Cat 15 (week
    before: Ann 40, Ben 100; Cat 10 in January). Badges: Ann first_call and csat_star, Cat first_call.
    Leads l1-l7 (l1 won by Ann for 500), spend Spring 150, Summer 80.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from gateway import clock
from gateway.access import Access
from gateway.auth import Principal, Role
from gateway.errors import BadUserInput, ClientError, Forbidden, NotFound
from gateway.ids import encode_id
from gateway.metrics import Metric
from gateway.periods import Preset
from gateway.reports.params import (
    Grouping,
    MetricChoice,
    ReportParams,
    ReportRange,
    ReportType,
    params_from_json,
)
from gateway.reports.result import ChartKind, ReportResult, Row, Table
from gateway.reports.types import CALL_DETAIL_COLUMNS, REGISTRY, call_detail_rows, run_report
from tests.conftest import GatewayFactory, TestDatabase
from tests.reports.conftest import TIMEZONE, Floor, Sessions
from tests.resolvers.test_agents import graphql

WEEK = {"from": "2026-03-02", "to": "2026-03-08"}


async def report(sessions: Sessions, role: str, report_type: ReportType, **params: Any) -> ReportResult:
    """Runs a report from its JSON parameters (the week unless a range is given) as the role's user."""
    db = sessions.session()
    try:
        access = await sessions.access(db, role)
        return await run_report(db, access, TIMEZONE, report_type,
                                params_from_json(report_type, {"range": WEEK, **params}))
    finally:
        await db.close(commit=False)


def summary(result: ReportResult) -> dict[str, object]:
    return {s.label: s.value for s in result.summary}


def table(result: ReportResult, key: str) -> Table:
    return next(t for t in result.tables if t.key == key)


def column(rows: Sequence[Row], index: int) -> list[object]:
    return [r[index] for r in rows]


def approx(rows: Sequence[Row]) -> list[Any]:
    return [pytest.approx(r) for r in rows]


# --- call analysis ---------------------------------------------------------------------------------------


async def test_call_analysis_summarises_the_week_and_breaks_it_down_by_local_day(sessions: Sessions) -> None:
    result = await report(sessions, "admin", ReportType.CALL)
    assert result.title == "Call analysis"
    assert summary(result) == pytest.approx({
        "Calls": 9, "Inbound calls": 7, "Outbound calls": 2, "Calls handled": 7,
        "Average handle time": 1840 / 7, "Average speed of answer": 122 / 6, "Service level": 4 / 7,
        "Abandonment rate": 1 / 7, "First-contact resolution": 3 / 7, "Transfers": 1, "CSAT": 0.5,
        "Mean rating": 20 / 6, "Ratings": 6,
    })
    assert [c.key for c in result.columns] == [
        "bucket", "calls_total", "calls_handled", "average_handle_time_seconds", "average_speed_of_answer_seconds",
        "service_level", "abandonment_rate", "csat"]
    # c1 started at 00:30 on Monday in Berlin (23:30 UTC on Sunday): it is Monday's; x1 (next Monday 00:30) is out.
    assert result.rows == approx([
        (date(2026, 3, 2), 2, 2, 310.0, 20.0, 0.5, 0.0, 1.0),
        (date(2026, 3, 3), 2, 2, 310.0, 15.0, 1.0, 0.0, 0.0),
        (date(2026, 3, 4), 2, 1, 180.0, 5.0, 1.0, 0.0, 1.0),
        (date(2026, 3, 5), 2, 1, 120.0, 2.0, 0.5, 0.5, 0.0),
        (date(2026, 3, 6), 0, 0, None, None, None, None, None),
        (date(2026, 3, 7), 1, 1, 300.0, 60.0, 0.0, 0.0, 0.0),
        (date(2026, 3, 8), 0, 0, None, None, None, None, None),
    ])
    assert [(c.kind, c.table, c.values) for c in result.charts] == [
        (ChartKind.LINE, None, ("calls_total",)), (ChartKind.BAR, "by_hour", ("calls_total",)),
        (ChartKind.BAR, "outcomes", ("calls",))]


async def test_call_analysis_counts_local_hours_weekdays_outcomes_and_dispositions(sessions: Sessions) -> None:
    result = await report(sessions, "admin", ReportType.CALL)
    by_hour = table(result, "by_hour").rows
    assert [r[0] for r in by_hour] == [f"{h:02d}:00" for h in range(24)]
    # hour: calls, inbound, handled, handle time, service level, abandonment
    assert [r for r in by_hour if r[1]] == approx([
        ("00:00", 1, 1, 1, 360.0, 1.0, 0.0),
        ("09:00", 4, 4, 3, 940 / 3, 0.5, 0.25),   # c2, c4, c6 and the abandoned c8
        ("10:00", 1, 0, 0, None, None, None),
        ("11:00", 1, 1, 1, 300.0, 0.0, 0.0),
        ("14:00", 1, 0, 1, 120.0, None, None),
        ("22:00", 1, 1, 1, 120.0, 1.0, 0.0),
    ])
    assert [(r[0], r[1]) for r in table(result, "by_weekday").rows] == [
        ("Monday", 2), ("Tuesday", 2), ("Wednesday", 2), ("Thursday", 2), ("Friday", 0), ("Saturday", 1),
        ("Sunday", 0)]
    assert table(result, "outcomes").rows == approx([
        ("connected", 7, 7 / 9), ("no_answer", 1, 1 / 9), ("busy", 0, 0.0), ("voicemail", 0, 0.0),
        ("abandoned", 1, 1 / 9), ("failed", 0, 0.0)])
    assert table(result, "dispositions").rows == approx([
        ("converted", 1, 1 / 9), ("interested", 1, 1 / 9), ("callback", 1, 1 / 9), ("not_interested", 0, 0.0),
        ("resolved", 3, 3 / 9), ("escalated", 1, 1 / 9), ("wrong_number", 0, 0.0), ("(none)", 2, 2 / 9)])


async def test_call_analysis_groups_by_team_agent_and_campaign_with_the_metrics_asked(sessions: Sessions) -> None:
    metrics = ["CALLS_HANDLED", "AVERAGE_HANDLE_TIME", "OCCUPANCY"]
    by_team = await report(sessions, "admin", ReportType.CALL, grouping="TEAM", metrics=metrics)
    assert by_team.rows == approx([("Blue", 3, 600 / 3, None), ("Red", 4, 1240 / 4, 0.1)])
    by_agent = await report(sessions, "admin", ReportType.CALL, grouping="AGENT", metrics=metrics)
    assert by_agent.rows == approx([("Ann", "Red", 3, 740 / 3, 0.1), ("Ben", "Red", 1, 500.0, 0.1),
                                    ("Cat", "Blue", 2, 240.0, None), ("Dex", "Blue", 1, 120.0, None)])
    by_campaign = await report(sessions, "admin", ReportType.CALL, grouping="CAMPAIGN", metrics=["CALLS_TOTAL"])
    assert by_campaign.rows == [("Spring", 5), ("Summer", 2)]
    # Spring's calls of Ann and Ben only (Red), from the 15-minute rollup: c1, c2, c4.
    red_spring = await report(sessions, "admin", ReportType.CALL, grouping="AGENT", metrics=["CALLS_TOTAL"],
                              teamIds=[str(sessions.floor.red)], campaignIds=[str(sessions.floor.spring)])
    assert red_spring.rows == [("Ann", "Red", 2), ("Ben", "Red", 1)]
    assert summary(red_spring)["Calls"] == 3
    assert [r[1] for r in table(red_spring, "outcomes").rows] == [3, 0, 0, 0, 0, 0]
    red_spring_days = await report(sessions, "admin", ReportType.CALL, metrics=["CALLS_TOTAL"],
                                   teamIds=[str(sessions.floor.red)], campaignIds=[str(sessions.floor.spring)])
    assert [r[1] for r in red_spring_days.rows] == [2, 1, 0, 0, 0, 0, 0]


async def test_call_analysis_by_hour_has_every_local_hour_of_the_range(sessions: Sessions) -> None:
    result = await report(sessions, "admin", ReportType.CALL, grouping="HOUR", metrics=["CALLS_TOTAL"],
                          range={"from": "2026-03-02", "to": "2026-03-02"})
    assert len(result.rows) == 24
    busy = [(r[0], r[1]) for r in result.rows if r[1]]
    assert busy == [(datetime.fromisoformat("2026-03-02T00:00+01:00"), 1),
                    (datetime.fromisoformat("2026-03-02T09:00+01:00"), 1)]


async def test_an_hourly_grouping_too_long_for_a_series_names_the_grouping(sessions: Sessions) -> None:
    with pytest.raises(BadUserInput) as caught:
        await report(sessions, "admin", ReportType.CALL, grouping="HOUR",
                     range={"from": "2026-01-01", "to": "2026-03-08"})
    assert caught.value.extensions["argument"] == "grouping"


async def test_a_preset_is_the_tenants_local_calendar(sessions: Sessions) -> None:
    # 23:30 UTC on Monday is 00:30 on Tuesday in Berlin: yesterday is Monday there (c1 and c2), not Sunday.
    with clock.frozen(datetime.fromisoformat("2026-03-02T23:30:00+00:00")):
        result = await report(sessions, "admin", ReportType.CALL, range={"preset": "YESTERDAY"})
    assert summary(result)["Calls"] == 2
    assert result.rows[0][0] == date(2026, 3, 2)
    assert ("Range", "2026-03-02 – 2026-03-02 (YESTERDAY)") in result.parameters


# --- lead analysis ---------------------------------------------------------------------------------------


async def test_lead_analysis_counts_leads_by_source_and_stage_with_scores_and_aging(sessions: Sessions) -> None:
    result = await report(sessions, "admin", ReportType.LEAD)
    assert [c.key for c in result.columns] == [
        "source", "leads", "new", "contacted", "qualified", "proposal", "won", "lost", "conversion",
        "average_score", "won_value"]
    assert result.rows == approx([
        ("inbound_call", 0, 0, 0, 0, 0, 0, 0, None, None, 0.0),
        ("web_form", 3, 1, 0, 0, 0, 1, 1, 1 / 3, 130 / 3, 500.0),
        ("referral", 1, 0, 1, 0, 0, 0, 0, 0.0, 45.0, 0.0),
        ("import", 1, 1, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0),
        ("social", 1, 0, 0, 1, 0, 0, 0, 0.0, 65.0, 0.0),
        ("email", 1, 1, 0, 0, 0, 0, 0, 0.0, 50.0, 0.0),
        ("partner", 0, 0, 0, 0, 0, 0, 0, None, None, 0.0),
    ])
    assert summary(result) == pytest.approx({
        "Leads": 7, "Open": 5, "Won": 1, "Lost": 1, "Conversion": 1 / 7, "Average score": 290 / 7,
        "Won value": 500.0, "Open leads, any age": 6})
    assert [(r[0], r[1], r[6]) for r in table(result, "scores").rows] == [
        ("0–19", 2, 0), ("20–39", 1, 0), ("40–59", 2, 0), ("60–79", 1, 0), ("80–100", 1, 1)]
    # Aged at the end of the week (Sunday 24:00 in Berlin): l7 from Sunday evening, l2-l6 of the week, l0 of
    # January.
    aging = table(result, "aging")
    assert aging.title == "Open leads by age on 2026-03-09"
    assert aging.rows == approx([("under 1 day", 1, 50.0, 0.0), ("1–7 days", 4, 31.25, 600.0),
                                 ("7–30 days", 0, None, 0.0), ("30–90 days", 1, 70.0, 1000.0),
                                 ("90 days or more", 0, None, 0.0)])


async def test_lead_analysis_groups_by_campaign_owner_team_and_week(sessions: Sessions) -> None:
    def counts(result: ReportResult) -> list[tuple[object, ...]]:
        return [(r[0], r[1], r[6]) for r in result.rows]   # label, leads, won

    assert counts(await report(sessions, "admin", ReportType.LEAD, grouping="CAMPAIGN")) == [
        ("Spring", 3, 1), ("Summer", 3, 0), ("(no campaign)", 1, 0)]
    assert counts(await report(sessions, "admin", ReportType.LEAD, grouping="AGENT")) == [
        ("Ann", 2, 1), ("Ben", 2, 0), ("Cat", 2, 0), ("(no owner)", 1, 0)]
    assert counts(await report(sessions, "admin", ReportType.LEAD, grouping="TEAM")) == [
        ("Blue", 2, 0), ("Red", 4, 1), ("(no team)", 1, 0)]
    assert counts(await report(sessions, "admin", ReportType.LEAD, grouping="WEEK",
                               range={"from": "2026-02-23", "to": "2026-03-08"})) == [
        (date(2026, 2, 23), 0, 0), (date(2026, 3, 2), 7, 1)]


# --- campaign analysis -----------------------------------------------------------------------------------


async def test_campaign_analysis_sets_campaigns_side_by_side(sessions: Sessions) -> None:
    result = await report(sessions, "admin", ReportType.CAMPAIGN)
    assert [c.key for c in result.columns] == [
        "campaign", "leads_generated", "leads_converted", "conversion_rate", "revenue", "cost", "roi",
        "cost_per_lead"]
    # Spring: 3 leads, l1 won for 500, cost 150 spend + 3.00 calls; Summer: 3 leads, 80 spend + 0.60 calls.
    assert result.rows == approx([
        ("Spring", 3, 1, 1 / 3, 500.0, 153.0, (500 - 153) / 153, 51.0),
        ("Summer", 3, 0, 0.0, 0.0, 80.6, -1.0, 80.6 / 3),
    ])
    assert summary(result) == pytest.approx({
        "Campaigns": 2, "Leads": 6, "Leads converted": 1, "Conversion rate": 1 / 6, "Revenue": 500.0,
        "Cost": 233.6, "ROI": (500 - 233.6) / 233.6, "Cost per lead": 233.6 / 6})
    assert [(c.kind, c.values) for c in result.charts] == [(ChartKind.BAR, ("revenue", "cost"))]


async def test_campaign_analysis_by_day_has_a_row_per_campaign_and_day_and_the_totals_table(
    sessions: Sessions
) -> None:
    result = await report(sessions, "admin", ReportType.CAMPAIGN, grouping="DAY", metrics=["LEADS_GENERATED", "COST"],
                          campaignIds=[encode_id("Campaign", sessions.floor.spring)],
                          range={"from": "2026-03-02", "to": "2026-03-04"})
    assert result.rows == approx([("Spring", date(2026, 3, 2), 2, 102.0), ("Spring", date(2026, 3, 3), 1, 51.0),
                                  ("Spring", date(2026, 3, 4), 0, 0.0)])
    assert table(result, "campaigns").rows == approx([("Spring", 3, 153.0)])
    assert result.charts[0].table == "campaigns"


# --- agent performance -----------------------------------------------------------------------------------


async def test_agent_performance_ranks_agents_and_compares_with_the_previous_week(sessions: Sessions) -> None:
    result = await report(sessions, "admin", ReportType.AGENT_PERFORMANCE)
    assert [c.key for c in result.columns] == [
        "rank", "agent", "team", "calls_handled", "average_handle_time_seconds", "conversion_rate", "csat",
        "tasks_completed", "available_seconds", "occupancy", "percentile", "previous", "change"]
    # By calls handled: Ann 3, Cat 2, Ben and Dex 1 (tied, name order); the week before Ann 1, Ben 2.
    assert result.rows == approx([
        (1, "Ann", "Red", 3, 740 / 3, 1 / 3, 1.0, 2, 7400.0, 0.1, 87.5, 1, 2.0),
        (2, "Cat", "Blue", 2, 240.0, 0.0, 0.5, 0, 0.0, None, 62.5, 0, None),
        (3, "Ben", "Red", 1, 500.0, 0.0, 0.0, 1, 5000.0, 0.1, 25.0, 2, -0.5),
        (3, "Dex", "Blue", 1, 120.0, 0.0, 0.0, 0, 0.0, None, 25.0, 0, None),
    ])
    assert summary(result) == pytest.approx({
        "Agents": 4, "Calls handled": 7, "Average handle time": 1840 / 7, "Conversion rate": 1 / 7, "CSAT": 0.5,
        "Tasks completed": 3, "Available time": 12400.0, "Occupancy": 1720 / 12400,
        "Calls handled, previous period": 3, "Calls handled, change": 4 / 3})
    assert ("Previous period", "2026-02-23 – 2026-03-01") in result.parameters


@pytest.fixture
async def talk_share(report_database: TestDatabase, floor: Floor) -> AsyncIterator[None]:
    """A custom metric for the one test that ranks by it, gone afterwards (the floor is shared)."""
    conn = await asyncpg.connect(report_database.admin_dsn)
    try:
        await conn.execute("INSERT INTO custom_metrics (tenant_id, name, formula, higher_is_better) "
                           "VALUES ($1, 'talk_share', 'calls_handled / calls_total', true)", floor.tenant)
        yield
        await conn.execute("DELETE FROM custom_metrics WHERE tenant_id = $1", floor.tenant)
    finally:
        await conn.close()


@pytest.mark.usefixtures("talk_share")
async def test_agent_performance_ranks_by_a_custom_metric_and_groups_by_team(sessions: Sessions) -> None:
    result = await report(sessions, "admin", ReportType.AGENT_PERFORMANCE, metrics=["CALLS_TOTAL"],
                          rankBy={"customMetric": "talk_share"})
    # calls handled / calls: Ann 3/3, Cat 2/2, Dex 1/1, Ben 1/2; the column is added after the metrics asked.
    assert [c.key for c in result.columns][3:5] == ["calls_total", "custom.talk_share"]
    assert [(r[0], r[1], r[4]) for r in result.rows] == [(1, "Ann", 1.0), (1, "Cat", 1.0), (1, "Dex", 1.0),
                                                          (4, "Ben", 0.5)]
    by_team = await report(sessions, "admin", ReportType.AGENT_PERFORMANCE, grouping="TEAM",
                           metrics=["CALLS_HANDLED", "OCCUPANCY"])
    # Blue's occupancy is null: neither Cat nor the AI agent Dex sent presence.
    assert by_team.rows == approx([(1, "Red", 4, 0.1, 75.0, 3, 1 / 3), (2, "Blue", 3, None, 25.0, 0, None)])


# --- gamification ----------------------------------------------------------------------------------------


async def test_gamification_ranks_points_lists_badges_and_tracks_progress(sessions: Sessions) -> None:
    result = await report(sessions, "admin", ReportType.GAMIFICATION)
    assert [c.key for c in result.columns] == [
        "rank", "agent", "team", "points", "previous", "change", "points_to_date", "badges", "badges_to_date",
        "badge_names", "percentile"]
    assert result.rows == approx([
        (1, "Ben", "Red", 100, 100, 0.0, 200, 0, 1, "", 87.5),
        (2, "Ann", "Red", 80, 40, 1.0, 120, 2, 2, "First call, CSAT star", 62.5),
        (3, "Cat", "Blue", 15, 0, None, 25, 1, 1, "First call", 37.5),
        (4, "Dex", "Blue", 0, 0, None, 0, 0, 0, "", 12.5),
    ])
    assert summary(result) == pytest.approx({
        "Points": 195, "Points, previous period": 140, "Change": 55 / 140, "Badges earned": 3, "Agents": 4,
        "Agents who scored": 3})
    assert table(result, "badges").rows == [("csat_star", "CSAT star", 25, 1, 1),
                                            ("first_call", "First call", 10, 2, 2)]
    assert table(result, "progress").rows == [
        (date(2026, 3, 2), 50, 50), (date(2026, 3, 3), 100, 150), (date(2026, 3, 4), 20, 170),
        (date(2026, 3, 5), 30, 200), (date(2026, 3, 6), -5, 195), (date(2026, 3, 7), 0, 195),
        (date(2026, 3, 8), 0, 195)]
    by_team = await report(sessions, "admin", ReportType.GAMIFICATION, grouping="TEAM")
    assert [r[:6] for r in by_team.rows] == [(1, "Red", 180, 140, pytest.approx(40 / 140), 320),
                                             (2, "Blue", 15, 0, None, 25)]


# --- call detail -----------------------------------------------------------------------------------------


async def test_call_detail_streams_every_covered_call_in_start_order_in_chunks(
    sessions: Sessions, floor: Floor
) -> None:
    db = sessions.session()
    access = await sessions.access(db, "admin")
    params = params_from_json(ReportType.CALL_DETAIL, {"range": WEEK})
    chunks = [chunk async for chunk in call_detail_rows(db, access, TIMEZONE, params, chunk_rows=4)]
    assert [len(c) for c in chunks] == [4, 4, 1]
    rows = [r for c in chunks for r in c]
    keys = [c.key for c in CALL_DETAIL_COLUMNS]
    ids = {v: k for k, v in floor.calls.items()}
    assert [ids[uuid.UUID(str(r[keys.index("call_id")]))] for r in rows] == [
        "c1", "c2", "c4", "c3", "c6", "c5", "c8", "c7", "c9"]
    first = dict(zip(keys, rows[0], strict=True))
    assert first == {
        "started_at": datetime(2026, 3, 2, 0, 30), "call_id": str(floor.calls["c1"]),
        "direction": "inbound", "outcome": "connected", "disposition": "resolved", "agent": "Ann", "team": "Red",
        "campaign": "Spring", "answer_seconds": 10.0, "talk_seconds": 300, "hold_seconds": 0, "wrap_up_seconds": 60,
        "handle_seconds": 360, "abandoned": 0, "transferred": 0, "first_contact_resolution": 1, "csat": 5,
        "cost": Decimal("1.0000")}
    abandoned = dict(zip(keys, rows[6], strict=True))
    assert (abandoned["agent"], abandoned["answer_seconds"], abandoned["abandoned"]) == (None, None, 1)
    # The session stays usable between and after chunks, and the frame's count is the rows streamed.
    frame = await run_report(db, access, TIMEZONE, ReportType.CALL_DETAIL, params)
    assert (frame.rows, summary(frame)["Calls"], frame.columns) == ([], 9, list(CALL_DETAIL_COLUMNS))
    assert REGISTRY[ReportType.CALL_DETAIL].streams_rows


# --- role rules ------------------------------------------------------------------------------------------


async def test_a_manager_covers_only_the_teams_it_manages(sessions: Sessions) -> None:
    calls = await report(sessions, "manager", ReportType.CALL, grouping="AGENT",
                         metrics=["CALLS_TOTAL", "CALLS_HANDLED"])
    # Red: Ann c1-c3, Ben c4-c5; c8 (no agent) and Blue stay out of every figure and table.
    assert calls.rows == [("Ann", "Red", 3, 3), ("Ben", "Red", 2, 1)]
    assert summary(calls) == pytest.approx({
        "Calls": 5, "Inbound calls": 3, "Outbound calls": 2, "Calls handled": 4, "Average handle time": 310.0,
        "Average speed of answer": 55 / 3, "Service level": 2 / 3, "Abandonment rate": 0.0,
        "First-contact resolution": 0.25, "Transfers": 0, "CSAT": 2 / 3, "Mean rating": 11 / 3, "Ratings": 3})
    assert [r[1] for r in table(calls, "dispositions").rows] == [1, 1, 1, 0, 1, 0, 0, 1]
    by_day = await report(sessions, "manager", ReportType.CALL, metrics=["CALLS_TOTAL"])
    assert [r[1] for r in by_day.rows] == [2, 2, 1, 0, 0, 0, 0]
    performance = await report(sessions, "manager", ReportType.AGENT_PERFORMANCE)
    assert [r[1] for r in performance.rows] == ["Ann", "Ben"]
    leads = await report(sessions, "manager", ReportType.LEAD, grouping="AGENT")
    assert [(r[0], r[1]) for r in leads.rows] == [("Ann", 2), ("Ben", 2)]
    points = await report(sessions, "manager", ReportType.GAMIFICATION)
    assert [(r[0], r[1], r[3]) for r in points.rows] == [(1, "Ben", 100), (2, "Ann", 80)]
    # Campaign figures are aggregates a manager reads whole, as campaign.metrics.
    campaigns = await report(sessions, "manager", ReportType.CAMPAIGN, metrics=["LEADS_GENERATED"])
    assert campaigns.rows == [("Spring", 3), ("Summer", 3)]


async def test_an_agent_covers_only_itself(sessions: Sessions, floor: Floor) -> None:
    calls = await report(sessions, "agent", ReportType.CALL, grouping="TEAM", metrics=["CALLS_TOTAL"])
    assert calls.rows == [("Red", 3)]
    assert summary(calls)["Calls"] == 3
    # Its own team may be named, and still covers only itself.
    own_team = await report(sessions, "agent", ReportType.AGENT_PERFORMANCE, teamIds=[str(floor.red)])
    assert [r[1] for r in own_team.rows] == ["Ann"]
    assert summary(own_team)["Calls handled"] == 3
    leads = await report(sessions, "agent", ReportType.LEAD)
    assert summary(leads)["Leads"] == 2
    db = sessions.session()
    access = await sessions.access(db, "agent")
    rows = [r async for chunk in call_detail_rows(db, access, TIMEZONE, params_from_json(
        ReportType.CALL_DETAIL, {"range": WEEK})) for r in chunk]
    assert [r[5] for r in rows] == ["Ann", "Ann", "Ann"]


@pytest.mark.parametrize(("role", "report_type", "params", "error"), [
    ("manager", ReportType.CALL, {"teamIds": ["blue"]}, Forbidden),
    ("manager", ReportType.AGENT_PERFORMANCE, {"agentIds": ["cat"]}, Forbidden),
    ("agent", ReportType.CALL, {"agentIds": ["ben"]}, Forbidden),
    ("agent", ReportType.LEAD, {"teamIds": ["blue"]}, Forbidden),
    ("agent", ReportType.CAMPAIGN, {}, Forbidden),
    ("agent", ReportType.CALL_DETAIL, {"agentIds": ["cat"]}, Forbidden),
    ("admin", ReportType.CALL, {"teamIds": ["nobody"]}, NotFound),
    ("admin", ReportType.CAMPAIGN, {"campaignIds": ["nobody"]}, NotFound),
])
async def test_a_filter_outside_the_role_is_forbidden_and_one_naming_nothing_not_found(
    sessions: Sessions, floor: Floor, role: str, report_type: ReportType, params: dict[str, list[str]],
    error: type[ClientError]
) -> None:
    ids = {"blue": floor.blue, "ben": floor.ben, "cat": floor.cat, "nobody": uuid.uuid4()}
    named = {key: [str(ids[v]) for v in values] for key, values in params.items()}
    with pytest.raises(error):
        if report_type is ReportType.CALL_DETAIL:
            db = sessions.session()
            access = await sessions.access(db, role)
            async for _ in call_detail_rows(db, access, TIMEZONE, params_from_json(report_type,
                                                                                   {"range": WEEK, **named})):
                pass
        else:
            await report(sessions, role, report_type, **named)


async def test_a_principal_that_reads_no_people_gets_no_report(sessions: Sessions) -> None:
    db = sessions.session()
    service = Access.of(Principal(user_id="platform", tenant_id=sessions.floor.tenant, roles=frozenset({Role.SERVICE})),
                        own_agent=None, own_team=None, managed_teams=frozenset(), managed_agents=frozenset())
    with pytest.raises(Forbidden):
        await run_report(db, service, TIMEZONE, ReportType.CALL, params_from_json("call", {"range": WEEK}))
    with pytest.raises(Forbidden):
        async for _ in call_detail_rows(db, service, TIMEZONE, params_from_json("call_detail", {"range": WEEK})):
            pass


# --- parameters ------------------------------------------------------------------------------------------


def test_parameters_round_trip_through_json(floor: Floor) -> None:
    given = ReportParams(range=ReportRange(start=date(2026, 3, 2), end=date(2026, 3, 8)), team_ids=(floor.red,),
                         agent_ids=(floor.ann, floor.ben), grouping=Grouping.TEAM,
                         metrics=(Metric.CALLS_HANDLED, Metric.CSAT), custom_metrics=("talk_share",),
                         rank_by=MetricChoice(metric=Metric.CSAT))
    stored = given.to_json()
    assert stored == {
        "range": {"from": "2026-03-02", "to": "2026-03-08"}, "teamIds": [encode_id("Team", floor.red)],
        "agentIds": [encode_id("Agent", floor.ann), encode_id("Agent", floor.ben)], "grouping": "TEAM",
        "metrics": ["CALLS_HANDLED", "CSAT"], "customMetrics": ["talk_share"], "rankBy": {"metric": "CSAT"}}
    assert params_from_json(ReportType.AGENT_PERFORMANCE, stored) == given
    preset = ReportParams(range=ReportRange(preset=Preset.LAST_WEEK), campaign_ids=(floor.spring,),
                          rank_by=None, grouping=Grouping.WEEK)
    assert preset.to_json() == {"range": {"preset": "LAST_WEEK"}, "campaignIds": [encode_id("Campaign", floor.spring)],
                                "grouping": "WEEK"}
    assert params_from_json("campaign", preset.to_json()) == preset
    # Plain UUIDs, snake-case metric names and lower-case enum values are read too (and written canonically).
    loose = params_from_json("call", {"range": {"preset": "last_week"}, "agentIds": [str(floor.ann)],
                                      "metrics": ["average_handle_time_seconds"], "grouping": "hour"})
    assert loose.to_json() == {"range": {"preset": "LAST_WEEK"}, "agentIds": [encode_id("Agent", floor.ann)],
                               "metrics": ["AVERAGE_HANDLE_TIME"], "grouping": "HOUR"}


@pytest.mark.parametrize(("report_type", "data", "argument", "message"), [
    ("call", [], "params", "JSON object"),
    ("call", {}, "range", "needs a range"),
    ("call", {"range": WEEK, "colour": "red"}, "colour", "unknown report parameter"),
    ("call", {"range": {"from": "2026-03-02"}}, "range", "both from and to"),
    ("call", {"range": {"from": "2026-03-08", "to": "2026-03-02"}}, "range", "ends before it starts"),
    ("call", {"range": {"from": "2026-02-30", "to": "2026-03-02"}}, "range", "is not a day"),
    ("call", {"range": {"preset": "LAST_WEEK", "from": "2026-03-02"}}, "range", "not both"),
    ("call", {"range": {"preset": "LAST_DECADE"}}, "range", "unknown range preset"),
    ("call", {"range": WEEK, "metrics": ["CALLS_HANDELD"]}, "metrics", "unknown metric"),
    ("call", {"range": WEEK, "metrics": "CSAT"}, "metrics", "is a list"),
    ("call", {"range": WEEK, "metrics": ["CSAT"] * 21}, "metrics", "at most 20"),
    ("call", {"range": WEEK, "customMetrics": ["Revenue Per Call"]}, "customMetrics", "lowercase"),
    ("call", {"range": WEEK, "customMetrics": ["csat"]}, "customMetrics", "built-in"),
    ("call", {"range": WEEK, "grouping": "SOURCE"}, "grouping", "groups by DAY, HOUR"),
    ("call", {"range": WEEK, "grouping": "YEAR"}, "grouping", "unknown grouping"),
    ("call", {"range": WEEK, "rankBy": {"metric": "CSAT"}}, "rankBy", "takes no rankBy"),
    ("call", {"range": WEEK, "teamIds": [encode_id("Agent", uuid.uuid4())]}, "teamIds", "expected Team"),
    ("call", {"range": WEEK, "teamIds": [7]}, "teamIds", "holds ids"),
    ("lead", {"range": WEEK, "metrics": ["CSAT"]}, "metrics", "fixed columns"),
    ("campaign", {"range": WEEK, "teamIds": [str(uuid.uuid4())]}, "teamIds", "does not take teamIds"),
    ("gamification", {"range": WEEK, "campaignIds": [str(uuid.uuid4())]}, "campaignIds", "does not take"),
    ("agent_performance", {"range": WEEK, "rankBy": {"metric": "CSAT", "customMetric": "x"}}, "rankBy",
     "one of"),
    ("weekly", {"range": WEEK}, "reportType", "unknown report type"),
])
def test_bad_parameters_are_bad_user_input_naming_the_parameter(
    report_type: str, data: object, argument: str, message: str
) -> None:
    with pytest.raises(BadUserInput) as caught:
        params_from_json(report_type, data)
    assert caught.value.extensions["argument"] == argument
    assert message in caught.value.message


async def test_an_unknown_custom_metric_is_bad_user_input_when_the_report_runs(sessions: Sessions) -> None:
    with pytest.raises(BadUserInput) as caught:
        await report(sessions, "admin", ReportType.CALL, customMetrics=["nope"])
    assert caught.value.extensions["argument"] == "customMetrics"
    with pytest.raises(BadUserInput) as caught:
        await report(sessions, "admin", ReportType.AGENT_PERFORMANCE, rankBy={"customMetric": "nope"})
    assert caught.value.extensions["argument"] == "rankBy"


# --- the same figures as the API -------------------------------------------------------------------------

GRAPH = """
query($range: DateRange!, $red: ID!) {
  tenant { metrics(range: $range) { ...Calls } }
  red: node(id: $red) { ... on Team { metrics(range: $range) { ...Calls } } }
  campaigns(first: 10) { edges { node { name metrics(range: $range) {
    leadsGenerated leadsConverted conversionRate revenue cost roi costPerLead } } } }
  handled: leaderboard(metric: CALLS_HANDLED, range: $range, first: 10) { entries { rank value agent { name } } }
  points: leaderboard(metric: POINTS, range: $range, first: 10) { entries { rank value agent { name } } }
  webForm: leads(filter: {range: $range, source: WEB_FORM}) { totalCount }
  won: leads(filter: {range: $range, stage: WON}) { totalCount }
  connected: calls(filter: {range: $range, outcome: CONNECTED}) { totalCount }
}
fragment Calls on Metrics {
  callsTotal callsHandled averageHandleTimeSeconds averageSpeedOfAnswerSeconds serviceLevel abandonmentRate csat
}
"""
COMPARE = """
query($range: DateRange!, $agents: [ID!]!) {
  compare(agents: $agents, metrics: [CALLS_HANDLED], range: $range) { rows { agent { name } values previous change } }
}
"""
CALL_FIGURES = ("Calls", "Calls handled", "Average handle time", "Average speed of answer", "Service level",
                "Abandonment rate", "CSAT")


async def test_report_figures_equal_the_graphql_apis_for_the_same_range_and_scope(
    gateway_factory: GatewayFactory, report_database: TestDatabase, sessions: Sessions, floor: Floor
) -> None:
    gateway = await gateway_factory(report_database)
    token = gateway.token(floor.tenant, str(floor.admin), roles=("admin",))
    body = await graphql(gateway, token, GRAPH, range=WEEK, red=encode_id("Team", floor.red))
    assert "errors" not in body, body["errors"]
    data = body["data"]

    def figures(metrics: dict[str, Any]) -> list[Any]:
        return [metrics[k] for k in ("callsTotal", "callsHandled", "averageHandleTimeSeconds",
                                     "averageSpeedOfAnswerSeconds", "serviceLevel", "abandonmentRate", "csat")]

    calls = await report(sessions, "admin", ReportType.CALL)
    assert [summary(calls)[k] for k in CALL_FIGURES] == figures(data["tenant"]["metrics"])
    red = await report(sessions, "admin", ReportType.CALL, teamIds=[str(floor.red)])
    assert [summary(red)[k] for k in CALL_FIGURES] == figures(data["red"]["metrics"])
    managed = await report(sessions, "manager", ReportType.CALL)
    assert [summary(managed)[k] for k in CALL_FIGURES] == figures(data["red"]["metrics"])
    outcomes = dict((r[0], r[1]) for r in table(calls, "outcomes").rows)
    assert outcomes["connected"] == data["connected"]["totalCount"]

    campaigns = await report(sessions, "admin", ReportType.CAMPAIGN)
    assert [list(r) for r in campaigns.rows] == [
        [e["node"]["name"], *e["node"]["metrics"].values()] for e in data["campaigns"]["edges"]]

    performance = await report(sessions, "admin", ReportType.AGENT_PERFORMANCE)
    assert [(r[0], r[1], r[3]) for r in performance.rows] == [
        (e["rank"], e["agent"]["name"], e["value"]) for e in data["handled"]["entries"]]
    compared = await graphql(gateway, token, COMPARE, range=WEEK,
                             agents=[encode_id("Agent", a) for a in (floor.ann, floor.cat, floor.ben, floor.dex)])
    assert [(r[1], r[3], r[11], r[12]) for r in performance.rows] == [
        (row["agent"]["name"], *row["values"], *row["previous"], *row["change"])
        for row in compared["data"]["compare"]["rows"]]

    points = await report(sessions, "admin", ReportType.GAMIFICATION)
    assert [(r[0], r[1], r[3]) for r in points.rows] == [
        (e["rank"], e["agent"]["name"], e["value"]) for e in data["points"]["entries"]]

    leads = await report(sessions, "admin", ReportType.LEAD)
    assert dict((r[0], r[1]) for r in leads.rows)["web_form"] == data["webForm"]["totalCount"]
    assert summary(leads)["Won"] == data["won"]["totalCount"]


async def test_every_chart_names_columns_of_the_table_it_is_drawn_from(sessions: Sessions) -> None:
    for report_type in ReportType:
        result = await report(sessions, "admin", report_type)
        for chart in result.charts:
            columns, _ = result.chart_source(chart)
            assert {chart.label, *chart.values} <= {c.key for c in columns}, (report_type, chart)
        assert result.charts or report_type is ReportType.CALL_DETAIL
