"""Random event streams — duplicates, out of order, late, DST days, several tenants and timezones — ingested in
random batches through the API and through direct SQL: every rollup equals the independent Python model, and
a rebuild from raw data gives the same numbers again."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.app import create_app
from tests.conftest import TestDatabase, free_port, settings_for
from tests.ingest.model import FUNNEL_BOUNDS, TenantModel

# New York loses an hour on 2026-03-08 (a 23-hour day) and gains one on 2026-11-01 (25 hours); Kolkata is
# UTC+05:30 and Lord Howe shifts by half an hour.
ANCHORS = [datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)]
ZONES = ["America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
STAGES = ["new", "contacted", "qualified", "proposal", "won", "lost"]
COUNTERS = ["calls_total", "calls_inbound", "calls_outbound", "calls_handled", "inbound_answered",
            "inbound_answered_within_sl", "inbound_abandoned", "answer_wait_seconds", "talk_seconds", "hold_seconds",
            "wrap_up_seconds", "transfers", "first_contact_resolved", "csat_count", "csat_sum", "csat_positive",
            "call_cost", "leads_generated", "leads_contacted", "leads_converted", "revenue", "tasks_completed",
            "available_seconds", "busy_seconds", "wrap_up_state_seconds", "points", "spend", "tracked_handle_seconds"]
KEYS = {"daily_reports": ["day"], "agent_metrics": ["agent_id", "day"], "campaign_metrics": ["campaign_id", "day"],
        "metrics_15m": ["bucket", "agent_id", "campaign_id"], "conversion_funnels": ["campaign_id", "stage", "day"]}
FUNNEL = ["entered", "exited", "advanced", "lost", "time_in_stage_seconds_sum"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ev(event_type: str, at: datetime, **data: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": event_type, "occurred_at": iso(at),
            "data": {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in data.items()}}


moments = st.builds(lambda anchor, seconds: anchor + timedelta(seconds=seconds),
                    st.sampled_from(ANCHORS), st.integers(-2 * 86400, 2 * 86400))


@st.composite
def tenant_stream(draw: st.DrawFn, zone: str) -> dict[str, Any]:
    """A tenant's directory and a stream of activity over it."""
    agents = [uuid.uuid4() for _ in range(3)]
    campaigns = [uuid.uuid4() for _ in range(2)]
    leads = [uuid.uuid4() for _ in range(4)]
    # Occupancy counts human agents' handle time only: some agents are AI.
    directory = [ev("agent.upserted", ANCHORS[0], id=a, name=f"agent {i}", kind=draw(st.sampled_from(["human", "ai"])))
                 for i, a in enumerate(agents)]
    directory += [ev("campaign.upserted", ANCHORS[0], id=c, name=f"campaign {i}") for i, c in enumerate(campaigns)]
    used: set[tuple[Any, datetime]] = set()

    def unique(key: Any, at: datetime) -> datetime:
        # Ties in time for the same lead, agent, call or task would make the order of arrival matter.
        while (key, at) in used:
            at += timedelta(seconds=1)
        used.add((key, at))
        return at

    for lead in leads:
        directory.append(ev("lead.created", unique(lead, draw(moments)), lead_id=lead, source="web_form",
                            campaign_id=draw(st.sampled_from([*campaigns, None])),
                            owner_agent_id=draw(st.sampled_from([*agents, None])),
                            value=draw(st.integers(0, 500000)) / 100))
    activity: list[tuple[dict[str, Any], bool]] = []  # (event, may go through direct SQL)
    calls = []
    for _ in range(draw(st.integers(0, 12))):
        start = draw(moments)
        inbound = draw(st.booleans())
        answered = draw(st.booleans())
        wait = draw(st.integers(0, 60))
        talk, hold, wrap = draw(st.integers(0, 900)), draw(st.integers(0, 120)), draw(st.integers(0, 120))
        call_id = uuid.uuid4()
        end = start + timedelta(seconds=wait + (talk + hold if answered else 0))
        data: dict[str, Any] = dict(
            call_id=call_id, direction="inbound" if inbound else "outbound",
            agent_id=draw(st.sampled_from(agents)) if answered or draw(st.booleans()) else None,
            campaign_id=draw(st.sampled_from([*campaigns, None])), started_at=iso(start),
            answered_at=iso(start + timedelta(seconds=wait)) if answered else None, ended_at=iso(end),
            talk_seconds=talk if answered else 0, hold_seconds=hold if answered else 0, wrap_up_seconds=wrap,
            abandoned=inbound and not answered and draw(st.booleans()), transferred=draw(st.booleans()),
            first_contact_resolution=draw(st.booleans()), outcome="connected" if answered else "no_answer",
            csat_rating=draw(st.none() | st.integers(1, 5)), cost=draw(st.integers(0, 500)) / 100)
        calls.append(call_id)
        activity.append((ev("call.ended", unique(call_id, end), **data), True))
    for _ in range(draw(st.integers(0, 10))):
        lead = draw(st.sampled_from(leads))
        stage = draw(st.sampled_from(STAGES))
        value = draw(st.none() | st.integers(0, 100000)) if stage == "won" else None
        activity.append((ev("lead.stage_changed", unique(lead, draw(moments)), lead_id=lead, stage=stage,
                            agent_id=draw(st.sampled_from([*agents, None])),
                            value=value / 100 if value is not None else None), False))
    # Presence stays within one DST window: an interval spanning months would only cost time.
    anchor = draw(st.sampled_from(ANCHORS))
    for _ in range(draw(st.integers(0, 10))):
        agent = draw(st.sampled_from(agents))
        at = anchor + timedelta(seconds=draw(st.integers(-2 * 86400, 2 * 86400)))
        activity.append((ev("agent.status_changed", unique(agent, at), agent_id=agent,
                            status=draw(st.sampled_from(["available", "busy", "wrap_up", "offline"]))), False))
    tasks = [uuid.uuid4() for _ in range(3)]
    for _ in range(draw(st.integers(0, 5))):
        task = draw(st.sampled_from(tasks))
        activity.append((ev("task.completed", unique(task, draw(moments)), task_id=task,
                            agent_id=draw(st.sampled_from(agents))), False))
    for _ in range(draw(st.integers(0, 5))):
        activity.append((ev("points.awarded", draw(moments), agent_id=draw(st.sampled_from(agents)),
                            points=draw(st.integers(-50, 100)), reason="kudos"), True))
    for _ in range(draw(st.integers(0, 4))):
        day = (draw(moments)).date()
        activity.append((ev("campaign.spend_recorded", draw(moments), campaign_id=draw(st.sampled_from(campaigns)),
                            day=day.isoformat(), amount=draw(st.integers(0, 100000)) / 100), True))
    ratings = []
    for _ in range(draw(st.integers(0, 4)) if calls else 0):
        call = draw(st.sampled_from(calls))
        ratings.append(ev("csat.submitted", unique(call, draw(moments)), call_id=call, rating=draw(st.integers(1, 5))))
    return {"zone": zone, "threshold": draw(st.sampled_from([15, 20, 30])), "directory": directory,
            "activity": activity, "ratings": ratings, "seed": draw(st.integers(0, 2**32))}


def split(items: list[Any], rng: random.Random) -> list[list[Any]]:
    """Random consecutive batches of a shuffled list."""
    items = items[:]
    rng.shuffle(items)
    batches = []
    while items:
        size = rng.randint(1, max(1, len(items)))
        batches.append(items[:size])
        items = items[size:]
    return batches


@pytest.fixture
def threaded_gateway(database: TestDatabase) -> Iterator[str]:
    """A gateway on its own thread and loop, so each example can drive it with plain blocking calls."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings_for(database)), host="127.0.0.1", port=port,
                                           log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "gateway exited during start-up"
        assert time.monotonic() < deadline, "gateway did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


def token_for(database: TestDatabase, tenant: uuid.UUID) -> str:
    from gateway.auth import mint_token
    from tests.conftest import TEST_JWT_SECRET

    return mint_token(TEST_JWT_SECRET, tenant_id=tenant, user_id="platform", roles=["service"])


SQL_CALL = """
INSERT INTO calls (tenant_id, id, direction, agent_id, lead_id, campaign_id, started_at, answered_at, ended_at,
                   talk_seconds, hold_seconds, wrap_up_seconds, abandoned, transferred, first_contact_resolution,
                   outcome, csat_rating, csat_submitted_at, cost)
VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
"""
SQL_POINTS = "INSERT INTO points_ledger (tenant_id, agent_id, points, reason, awarded_at) VALUES ($1, $2, $3, $4, $5)"
SQL_SPEND = """
INSERT INTO campaign_spend AS s (tenant_id, campaign_id, day, amount) VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_id, campaign_id, day) DO UPDATE SET amount = s.amount + EXCLUDED.amount
"""


async def direct_sql(database: TestDatabase, tenant: uuid.UUID, events: list[dict[str, Any]]) -> None:
    """The platform writing raw rows itself, as the request role with its tenant set."""
    def parse(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

    def uid(value: str | None) -> uuid.UUID | None:
        return uuid.UUID(value) if value else None

    conn = await asyncpg.connect(database.app_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
            for e in events:
                d, at = e["data"], parse(e["occurred_at"])
                if e["type"] == "call.ended":
                    await conn.execute(
                        SQL_CALL, tenant, uuid.UUID(d["call_id"]), d["direction"], uid(d["agent_id"]),
                        uid(d["campaign_id"]), parse(d["started_at"]), parse(d["answered_at"]), parse(d["ended_at"]),
                        d["talk_seconds"], d["hold_seconds"], d["wrap_up_seconds"], d["abandoned"], d["transferred"],
                        d["first_contact_resolution"], d["outcome"], d["csat_rating"],
                        at if d["csat_rating"] is not None else None, Decimal(str(d["cost"])))
                elif e["type"] == "points.awarded":
                    await conn.execute(SQL_POINTS, tenant, uuid.UUID(d["agent_id"]), d["points"], d["reason"], at)
                else:
                    await conn.execute(SQL_SPEND, tenant, uuid.UUID(d["campaign_id"]),
                                       datetime.fromisoformat(d["day"]).date(), Decimal(str(d["amount"])))
    finally:
        await conn.close()


def normalise(value: Any) -> Any:
    return Decimal(value).normalize() if isinstance(value, Decimal | float) else value


async def stored_rollups(database: TestDatabase, tenant: uuid.UUID) -> dict[str, dict[tuple[Any, ...], Any]]:
    conn = await asyncpg.connect(database.admin_dsn)
    try:
        found: dict[str, dict[tuple[Any, ...], Any]] = {}
        for table, keys in KEYS.items():
            columns = [*FUNNEL, "time_in_stage_histogram"] if table == "conversion_funnels" else COUNTERS
            rows = await conn.fetch(f"SELECT * FROM {table} WHERE tenant_id = $1", tenant)  # noqa: S608
            found[table] = {}
            for r in rows:
                values = {c: normalise(r[c]) for c in columns if c != "time_in_stage_histogram" and r[c] != 0}
                if table == "conversion_funnels":
                    values.update({f"bucket_{i + 1}": n for i, n in enumerate(r["time_in_stage_histogram"]) if n})
                if values:
                    found[table][tuple(r[k] for k in keys)] = values
        return found
    finally:
        await conn.close()


async def rebuild(database: TestDatabase, tenant: uuid.UUID) -> None:
    conn = await asyncpg.connect(database.admin_dsn)
    try:
        await conn.execute("SELECT rollup_rebuild($1)", tenant)
    finally:
        await conn.close()


async def create_tenant(database: TestDatabase, zone: str, threshold: int) -> uuid.UUID:
    conn = await asyncpg.connect(database.admin_dsn)
    try:
        tenant = uuid.uuid4()
        await conn.execute("INSERT INTO tenants (id, name, timezone, service_level_threshold_seconds) "
                           "VALUES ($1, 'prop', $2, $3)", tenant, zone, threshold)
        return tenant
    finally:
        await conn.close()


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(streams=st.tuples(*(tenant_stream(zone) for zone in ZONES[:2])) | st.tuples(tenant_stream(ZONES[2])))
def test_rollups_equal_an_independent_model_whatever_the_order_batching_and_path(
    database: TestDatabase, threaded_gateway: str, streams: tuple[dict[str, Any], ...]
) -> None:
    assert len(FUNNEL_BOUNDS) == 23
    with httpx.Client(base_url=threaded_gateway, timeout=60) as client:
        for stream in streams:
            rng = random.Random(stream["seed"])
            tenant = asyncio.run(create_tenant(database, stream["zone"], stream["threshold"]))
            headers = {"Authorization": f"Bearer {token_for(database, tenant)}"}
            model = TenantModel(tenant, stream["zone"], stream["threshold"])

            def send(batch: list[dict[str, Any]], model: TenantModel = model,
                     headers: dict[str, str] = headers) -> dict[str, Any]:
                body: dict[str, Any] = client.post("/api/v1/events", json=batch, headers=headers).json()
                rejected = {r["index"] for r in body["rejected"]}
                for i, e in enumerate(batch):
                    if i not in rejected:
                        model.apply(e)
                return body

            assert send(stream["directory"])["rejected"] == []
            # Some of the activity goes in twice (retries), some is invalid, some conflicts.
            activity = [e for e, _ in stream["activity"]]
            sent_ids: set[str] = set()
            for chunk in split(stream["activity"], rng):
                api = [e for e, sql_ok in chunk if not (sql_ok and rng.random() < 0.4)]
                sql = [e for e, sql_ok in chunk if e not in api]
                if sql:
                    asyncio.run(direct_sql(database, tenant, sql))
                    for e in sql:
                        model.apply(e)
                retries = [e for e in activity if e["id"] in sent_ids and rng.random() < 0.3]
                broken = ev("points.awarded", ANCHORS[1], agent_id=uuid.uuid4(), points=1, reason="ghost")
                batch = api + retries + [broken]
                rng.shuffle(batch)
                fresh = [e for e in batch if e["id"] not in sent_ids]
                body = send(fresh)
                assert [r["code"] for r in body["rejected"]] == ["NOT_FOUND"]
                retried = client.post("/api/v1/events", json=[e for e in batch if e not in fresh],
                                      headers=headers).json() if len(batch) > len(fresh) else None
                if retried is not None:
                    assert retried["accepted"] == 0
                    assert retried["rejected"] == []
                sent_ids.update(e["id"] for e in api)
            if stream["ratings"]:
                send(stream["ratings"])
            stored_via_api = [e for e in activity if e["id"] in sent_ids]
            if stored_via_api:
                conflict = dict(stored_via_api[0], data={**stored_via_api[0]["data"], "tampered": True})
                answer = client.post("/api/v1/events", json=[conflict], headers=headers).json()
                assert [r["code"] for r in answer["rejected"]] == ["CONFLICT"]

            expected = model.rollups()
            assert asyncio.run(stored_rollups(database, tenant)) == expected
            asyncio.run(rebuild(database, tenant))
            assert asyncio.run(stored_rollups(database, tenant)) == expected
