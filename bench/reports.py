"""Reports: a 90-day agent-performance report, a million-row call-detail CSV export, a queue drained by 2 workers.

Builds a scratch database on CALLPULSE_BENCH_DATABASE_URL (default: the local server) with one tenant in
Europe/Berlin: 25 teams, 500 agents, 10 campaigns and, over 90 days, 1,000,000 calls, 45,000 presence intervals
and completed tasks, 60,000 leads (a fifth won). Rows go in by generate_series SQL, not through the event path,
in one transaction whose rollups are rebuilt once from the raw rows at its end (as gateway/seed does). Prints:

    agent performance   the report for 500 agents over 90 days, in process: generate (target < 1 s), render
                        to PDF (target < 2 s) and to CSV; best of 3, and the first (cold) run
    call detail export  one call-detail execution of the 90 days (1,000,000 rows) run by a report worker
                        (time to store the rows and the rendered CSV), then GET /api/v1/analytics/executions/
                        {id}.csv from a `callpulse serve --workers 1` subprocess: time, MB/s, and the gateway
                        process's resident memory before, at its peak (sampled every 20 ms), and the growth
                        (target < 50 MB)
    queue               200 executions (a one-day call report each) drained by 2 `callpulse worker` processes:
                        executions per second (from the first claim to the last completion), all completed, each
                        at attempt 1, each result stored by one attempt

    python bench/reports.py [--reuse] [--keep] [--calls 1000000] [--queue 200] [--workers 2]

`--reuse` skips the seeding of a database kept by `--keep` (the scratch database is dropped otherwise), and the
call-detail run when it has one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import psutil

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._gateway import wait_ready  # noqa: E402
from gateway import db as dbmod  # noqa: E402
from gateway.auth import Principal, Role, mint_token  # noqa: E402
from gateway.db import TenantSession, dsn_with, ensure_request_role  # noqa: E402
from gateway.loaders import Loaders  # noqa: E402
from gateway.migrations import migrate  # noqa: E402
from gateway.reports import queue  # noqa: E402
from gateway.reports.params import ReportType, params_from_json  # noqa: E402
from gateway.reports.queue import NewExecution, RecordedPrincipal  # noqa: E402
from gateway.reports.render import render_csv, render_pdf  # noqa: E402
from gateway.reports.types import run_report  # noqa: E402
from gateway.reports.worker import Worker, WorkerOptions, default_handlers  # noqa: E402
from gateway.settings import DEFAULT_APP_ROLE, Settings  # noqa: E402

T = TypeVar("T")

DEFAULT_URL: Final = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE: Final = "callpulse_bench_reports"
SECRET: Final = "bench-secret-bench-secret-bench-secret-0123456789"
PORT: Final = 18797
TIMEZONE: Final = "Europe/Berlin"
END: Final = date(2025, 3, 31)
DAYS: Final = 90
FIRST: Final = END - timedelta(days=DAYS - 1)
TEAMS: Final = 25
AGENTS: Final = 500
CAMPAIGNS: Final = 10
LEADS: Final = 60_000
CALL_BATCH: Final = 100_000
ADMIN: Final = uuid.UUID("00000000-0000-0000-0000-00000000b0b0")
RANGE: Final = {"range": {"from": FIRST.isoformat(), "to": END.isoformat()}}
DAY: Final = {"range": {"from": END.isoformat(), "to": END.isoformat()}}
RSS_SAMPLE_SECONDS: Final = 0.02

# As gateway/seed/_load.py: the rollup triggers leave the work to one set-based rebuild per tenant (honoured for
# the tables' owner), and JIT stays off for statements whose cost estimates it overrates.
NO_JIT: Final = "SELECT set_config('jit', 'off', true)"
DEFER_ROLLUPS: Final = "SELECT set_config('callpulse.defer_rollups', 'on', true)"
REBUILD_ROLLUPS: Final = "SELECT rollup_rebuild($1)"
DATABASE_EXISTS: Final = "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)"
TENANT: Final = "SELECT id FROM tenants ORDER BY id LIMIT 1"
INSERT_TENANT: Final = "INSERT INTO tenants (id, name, timezone) VALUES ($1, 'Bench reports', $2)"
INSERT_TEAMS: Final = """
INSERT INTO teams (tenant_id, id, name)
SELECT $1, gen_random_uuid(), 'Team ' || lpad(i::text, 2, '0') FROM generate_series(1, $2) i
"""
INSERT_AGENTS: Final = """
INSERT INTO agents (tenant_id, id, team_id, name, kind, status)
SELECT $1, gen_random_uuid(), t.ids[1 + i % array_length(t.ids, 1)], 'Agent ' || lpad(i::text, 3, '0'), 'human',
       'active'
FROM generate_series(1, $2) i, (SELECT array_agg(id ORDER BY name) AS ids FROM teams WHERE tenant_id = $1) t
"""
INSERT_CAMPAIGNS: Final = """
INSERT INTO campaigns (tenant_id, id, name)
SELECT $1, gen_random_uuid(), 'Campaign ' || i FROM generate_series(1, $2) i
"""
INSERT_ADMIN: Final = """
INSERT INTO users (tenant_id, id, email, display_name, role) VALUES ($1, $2, 'admin@bench.test', 'Admin', 'admin')
"""
AGENT_IDS: Final = "SELECT array_agg(id ORDER BY name) FROM agents WHERE tenant_id = $1"
CAMPAIGN_IDS: Final = "SELECT array_agg(id ORDER BY name) FROM campaigns WHERE tenant_id = $1"
# Calls $2..$3 of $4 a day from $5 (the first local midnight), 08:00-18:00; every 25th abandoned in the queue.
INSERT_CALLS: Final = """
INSERT INTO calls (tenant_id, id, direction, agent_id, campaign_id, started_at, answered_at, ended_at,
                   talk_seconds, hold_seconds, wrap_up_seconds, abandoned, transferred, first_contact_resolution,
                   outcome, disposition, csat_rating, cost)
SELECT $1, gen_random_uuid(), CASE WHEN g % 4 = 0 THEN 'outbound' ELSE 'inbound' END,
       CASE WHEN s.abandoned THEN NULL ELSE ($6::uuid[])[1 + g % array_length($6::uuid[], 1)] END,
       ($7::uuid[])[1 + g % array_length($7::uuid[], 1)],
       s.started,
       CASE WHEN s.abandoned THEN NULL ELSE s.started + make_interval(secs => s.wait) END,
       s.started + make_interval(secs => s.wait + s.talk + s.hold),
       s.talk, s.hold, s.wrap, s.abandoned, g % 17 = 0, g % 2 = 0,
       CASE WHEN s.abandoned THEN 'abandoned' ELSE 'connected' END,
       CASE WHEN s.abandoned THEN NULL
            ELSE (ARRAY['converted', 'interested', 'callback', 'not_interested', 'resolved', 'escalated'])[1 + g % 6]
       END,
       CASE WHEN NOT s.abandoned AND g % 3 = 0 THEN 1 + (g / 3) % 5 END,
       (g % 100) / 100.0
FROM generate_series($2::bigint, $3::bigint) g,
LATERAL (SELECT $5::timestamptz + make_interval(days => (g / $4)::int, secs => 28800 + (g % $4) * 36000.0 / $4)
                    AS started,
                g % 25 = 0 AS abandoned,
                (5 + g % 40)::int AS wait,
                CASE WHEN g % 25 = 0 THEN 0 ELSE (60 + (g * 7919) % 540)::int END AS talk,
                CASE WHEN g % 25 = 0 THEN 0 ELSE (g % 7 * 10)::int END AS hold,
                CASE WHEN g % 25 = 0 THEN 0 ELSE (20 + g % 50)::int END AS wrap) s
"""
# Every agent available 10:00-12:00 each day (presence is rolled up per quarter hour: longer stays cost seeding
# time, not report time), one completed task a day.
INSERT_PRESENCE: Final = """
INSERT INTO agent_status_intervals (tenant_id, agent_id, status, started_at, ended_at)
SELECT $1, a.id, 'available', $2::timestamptz + make_interval(days => d, hours => 10),
       $2::timestamptz + make_interval(days => d, hours => 12)
FROM agents a, generate_series(0, $3 - 1) d WHERE a.tenant_id = $1
"""
INSERT_TASKS: Final = """
INSERT INTO tasks (tenant_id, id, assignee_agent_id, title, status, completed_at, created_at)
SELECT $1, gen_random_uuid(), a.id, 'follow up', 'completed',
       $2::timestamptz + make_interval(days => d, hours => 15), $2::timestamptz + make_interval(days => d, hours => 9)
FROM agents a, generate_series(0, $3 - 1) d WHERE a.tenant_id = $1
"""
INSERT_LEADS: Final = """
INSERT INTO leads (tenant_id, id, campaign_id, owner_agent_id, name, source, stage, score, value, converted_at,
                   created_at)
SELECT $1, gen_random_uuid(), ($3::uuid[])[1 + i % array_length($3::uuid[], 1)],
       ($2::uuid[])[1 + i % array_length($2::uuid[], 1)], 'Lead ' || i,
       (ARRAY['inbound_call', 'web_form', 'referral', 'import', 'social', 'email', 'partner'])[1 + i % 7],
       CASE WHEN i % 5 = 0 THEN 'won' ELSE 'contacted' END, i % 101, 50 + i % 450,
       CASE WHEN i % 5 = 0 THEN $4::timestamptz + make_interval(secs => i * $5::float8 / $6 + 86400) END,
       $4::timestamptz + make_interval(secs => i * $5::float8 / $6)
FROM generate_series(1, $6) i
"""
INSERT_WON: Final = """
INSERT INTO lead_stage_history (tenant_id, lead_id, stage, entered_at, agent_id, value)
SELECT tenant_id, id, 'won', converted_at, owner_agent_id, value FROM leads
WHERE tenant_id = $1 AND stage = 'won' AND converted_at < $2
"""
QUEUE_STATE: Final = """
SELECT count(*) FILTER (WHERE status IN ('completed', 'failed')) AS ended,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'completed' AND attempt = 1) AS first_attempt,
       min(started_at) AS first_claim, max(finished_at) AS last_end
FROM report_executions WHERE id = any($1::uuid[])
"""
STORED_DETAIL: Final = """
SELECT id FROM report_executions
WHERE tenant_id = $1 AND report_type = 'call_detail' AND status = 'completed'
ORDER BY finished_at DESC LIMIT 1
"""
# Result chunks per execution and attempt: exactly one attempt's each.
RESULT_ATTEMPTS: Final = """
SELECT count(DISTINCT (execution_id, attempt)) FROM report_execution_chunks
WHERE kind = 'rows' AND execution_id = any($1::uuid[])
"""


# --- the data ----------------------------------------------------------------------------------------------------


async def prepare(server_url: str, reuse: bool, calls: int) -> tuple[str, uuid.UUID]:
    """The migrated, seeded scratch database (seeded now unless reused): its DSN and tenant."""
    dsn = dsn_with(server_url, database=DATABASE)
    server = await asyncpg.connect(server_url)
    try:
        exists = await server.fetchval(DATABASE_EXISTS, DATABASE)
        if reuse and not exists:
            raise SystemExit(f"--reuse: there is no database {DATABASE}; run once with --keep")
        if not reuse:
            await server.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            await server.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await server.close()
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        await ensure_request_role(conn, DEFAULT_APP_ROLE, None)
        if reuse:
            tenant: uuid.UUID = await conn.fetchval(TENANT)
        else:
            tenant = await seed(conn, calls)
    finally:
        await conn.close()
    return dsn, tenant


async def seed(conn: asyncpg.Connection, calls: int) -> uuid.UUID:
    """One transaction, the rollups computed once at its end (as gateway/seed does) rather than per statement."""
    async with conn.transaction():
        await conn.execute(NO_JIT)
        await conn.execute(DEFER_ROLLUPS)
        tenant = await _seed(conn, calls)
    return tenant


async def _seed(conn: asyncpg.Connection, calls: int) -> uuid.UUID:
    began = time.perf_counter()
    tenant = uuid.uuid4()
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=ZoneInfo(TIMEZONE))
    await conn.execute(INSERT_TENANT, tenant, TIMEZONE)
    await conn.execute(INSERT_TEAMS, tenant, TEAMS)
    await conn.execute(INSERT_AGENTS, tenant, AGENTS)
    await conn.execute(INSERT_CAMPAIGNS, tenant, CAMPAIGNS)
    await conn.execute(INSERT_ADMIN, tenant, ADMIN)
    agents, campaigns = await conn.fetchval(AGENT_IDS, tenant), await conn.fetchval(CAMPAIGN_IDS, tenant)
    per_day = -(-calls // DAYS)
    for low in range(0, calls, CALL_BATCH):
        await conn.execute(INSERT_CALLS, tenant, low, min(low + CALL_BATCH, calls) - 1, per_day, start, agents,
                           campaigns)
        print(f"seeding      {min(low + CALL_BATCH, calls):,} calls ({time.perf_counter() - began:.0f} s)",
              flush=True)
    for name, statement, args in (
            ("presence", INSERT_PRESENCE, (tenant, start, DAYS)), ("tasks", INSERT_TASKS, (tenant, start, DAYS)),
            ("leads", INSERT_LEADS, (tenant, agents, campaigns, start, DAYS * 86400 - 86400 * 2, LEADS)),
            ("conversions", INSERT_WON, (tenant, start + timedelta(days=DAYS))),
            ("rollups", REBUILD_ROLLUPS, (tenant,))):
        await conn.execute(statement, *args)
        print(f"seeding      {name} ({time.perf_counter() - began:.0f} s)", flush=True)
    await conn.execute("ANALYZE")
    print(f"seeded       1 tenant, {AGENTS} agents, {calls:,} calls, {LEADS:,} leads in "
          f"{time.perf_counter() - began:.0f} s", flush=True)
    return tenant


# --- measuring ---------------------------------------------------------------------------------------------------


async def timed(run: Callable[[], Awaitable[T]], times: int = 3) -> tuple[T, float, float]:
    """The last result, the first run's seconds and the best run's."""
    spent = []
    result: Any = None
    for _ in range(times):
        began = time.perf_counter()
        result = await run()
        spent.append(time.perf_counter() - began)
    return result, spent[0], min(spent)


class PeakRss:
    """A process tree's resident memory, sampled on a thread while the block runs."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.stop = threading.Event()
        self.baseline = self.peak = self.rss()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def rss(self) -> int:
        processes = [self.process, *self.process.children(recursive=True)]
        return sum(p.memory_info().rss for p in processes)

    def _sample(self) -> None:
        while not self.stop.wait(RSS_SAMPLE_SECONDS):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> PeakRss:
        self.baseline = self.peak = self.rss()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def mb(n: float) -> str:
    return f"{n / 2**20:.1f} MB"


# --- the parts ---------------------------------------------------------------------------------------------------


async def agent_performance(database: dbmod.Database, tenant: uuid.UUID, pdf_max_rows: int) -> None:
    principal = Principal(user_id=str(ADMIN), tenant_id=tenant, roles=frozenset({Role.ADMIN}))
    params = params_from_json(ReportType.AGENT_PERFORMANCE, RANGE)

    async def generate() -> Any:
        db = TenantSession(database.app, tenant)
        try:
            access = await Loaders.for_session(db).access.load(principal)
            return await run_report(db, access, TIMEZONE, ReportType.AGENT_PERFORMANCE, params)
        finally:
            await db.close(commit=False)

    result, first, best = await timed(generate)
    print(f"\nagent performance, {AGENTS} agents, {DAYS} days ({FIRST} – {END}): {len(result.rows)} rows")
    print(f"  generate   best of 3 {best:.3f} s (first {first:.3f} s)   target < 1 s   "
          f"{'ok' if best < 1 else 'MISSED'}")
    pdf, first, best = await timed(lambda: asyncio.to_thread(render_pdf, result, max_rows=pdf_max_rows))
    print(f"  PDF        best of 3 {best:.3f} s (first {first:.3f} s)   target < 2 s   "
          f"{'ok' if best < 2 else 'MISSED'}   {mb(len(pdf))}")
    csv_file, first, best = await timed(lambda: asyncio.to_thread(render_csv, result))
    print(f"  CSV        best of 3 {best:.3f} s (first {first:.3f} s)   {len(csv_file):,} bytes")


def start_gateway(dsn: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": dsn, "CALLPULSE_JWT_SECRET": SECRET, "CALLPULSE_PORT": str(PORT),
           "CALLPULSE_LOG_LEVEL": "WARNING", "CALLPULSE_GRAPHIQL": "false", "CALLPULSE_REPORT_WORKERS": "0",
           "CALLPULSE_MIGRATE_ON_START": "false"}
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--workers", "1"], env=env, cwd=ROOT)


async def export(database: dbmod.Database, dsn: str, tenant: uuid.UUID, settings: Settings, reuse: bool) -> None:
    # One call-detail execution of the 90 days, run (rows stored, CSV rendered and stored) by a report worker;
    # with --reuse, the one a kept database already has.
    execution = await database.admin.fetchval(STORED_DETAIL, tenant) if reuse else None
    if execution is None:
        async with database.admin.acquire() as conn:
            execution = await queue.enqueue(conn, NewExecution(
                tenant_id=tenant, report_type=ReportType.CALL_DETAIL.value, output_format="csv", params=RANGE,
                principal=RecordedPrincipal(subject=str(ADMIN), roles=("admin",), user_id=ADMIN)), max_attempts=1)
        began = time.perf_counter()
        worker = Worker(database, default_handlers(settings), WorkerOptions.of(settings))
        assert await worker.run_once()
        generated: float | None = time.perf_counter() - began
    else:
        generated = None
    row: Any = await database.admin.fetchrow("SELECT status, row_count, file_bytes, error FROM report_executions "
                                             "WHERE id = $1", execution)
    if row["status"] != "completed":
        raise SystemExit(f"the call-detail execution ended {row['status']}: {row['error']}")
    print(f"\ncall detail, {DAYS} days: {row['row_count']:,} rows")
    if generated is None:
        print("  generate   (reused the stored execution of the kept database)")
    else:
        print(f"  generate   {generated:.1f} s in a report worker (rows read, stored in chunks; CSV rendered, "
              f"stored: {mb(row['file_bytes'])})")
    process = start_gateway(dsn)
    token = mint_token(SECRET, tenant_id=tenant, user_id=str(ADMIN), roles=["admin"])
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", timeout=600,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            await wait_ready(client, process=process)
            # A first, small export: the code paths and their buffers exist before the baseline is taken.
            async with client.stream("GET", f"/api/v1/analytics/executions/{execution}.csv") as response:
                async for _ in response.aiter_raw():
                    break
            await asyncio.sleep(1)
            lines = size = 0
            with PeakRss(process.pid) as rss:
                began = time.perf_counter()
                async with client.stream("GET", f"/api/v1/analytics/executions/{execution}.csv") as response:
                    if response.status_code != 200:
                        raise SystemExit(f"export: HTTP {response.status_code} {(await response.aread())[:300]!r}")
                    async for piece in response.aiter_raw():
                        lines += piece.count(b"\n")  # a CRLF may be split between two pieces
                        size += len(piece)
                spent = time.perf_counter() - began
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    if lines - 1 != row["row_count"]:
        raise SystemExit(f"export: {lines - 1:,} rows arrived of {row['row_count']:,}")
    growth = rss.peak - rss.baseline
    print(f"  export     GET …/executions/{{id}}.csv from `callpulse serve --workers 1`: {lines - 1:,} rows, "
          f"{mb(size)} in {spent:.1f} s ({size / 2**20 / spent:.1f} MB/s, {(lines - 1) / spent:,.0f} rows/s)")
    print(f"  gateway    RSS {mb(rss.baseline)} before, {mb(rss.peak)} at its peak: growth {mb(growth)}   "
          f"target < 50 MB   {'ok' if growth < 50 * 2**20 else 'MISSED'}")


def start_workers(dsn: str, workers: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "DATABASE_URL": dsn, "CALLPULSE_JWT_SECRET": SECRET, "CALLPULSE_LOG_LEVEL": "WARNING",
           "CALLPULSE_DB_POOL_MAX": "2", "CALLPULSE_DB_POOL_MIN": "1", "CALLPULSE_REPORT_POLL_SECONDS": "0.05",
           "CALLPULSE_MIGRATE_ON_START": "false"}
    return [subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker", "--concurrency", "1"], env=env, cwd=ROOT)
            for _ in range(workers)]


async def drain(database: dbmod.Database, dsn: str, tenant: uuid.UUID, executions: int, workers: int) -> None:
    principal = RecordedPrincipal(subject=str(ADMIN), roles=("admin",), user_id=ADMIN)
    async with database.admin.acquire() as conn:
        ids = [await queue.enqueue(conn, NewExecution(tenant_id=tenant, report_type=ReportType.CALL.value,
                                                       output_format="json", params=DAY, principal=principal),
                                   max_attempts=3) for _ in range(executions)]
    began = time.perf_counter()
    processes = start_workers(dsn, workers)
    try:
        while True:
            state: Any = await database.admin.fetchrow(QUEUE_STATE, ids)
            if state["ended"] == executions:
                break
            if any(p.poll() is not None for p in processes):
                raise SystemExit("a worker process exited early")
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - began
    finally:
        for p in processes:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(60) for p in processes]
    attempts = await database.admin.fetchval(RESULT_ATTEMPTS, ids)
    span = (state["last_end"] - state["first_claim"]).total_seconds()
    print(f"\nqueue, {executions} executions (a one-day call report each, JSON), {workers} `callpulse worker` "
          "processes (--concurrency 1, CALLPULSE_DB_POOL_MAX=2)")
    print(f"  throughput {executions / span:.1f} executions/s from the first claim to the last completion "
          f"({span:.1f} s; {wall:.1f} s with the workers' start-up)")
    print(f"  lost       {executions - state['completed']} (completed {state['completed']} of {executions})")
    print(f"  doubled    {state['completed'] - state['first_attempt']} run more than once; results stored by "
          f"{attempts} attempts for {executions} executions; workers exited {codes}")
    if state["completed"] != executions or state["first_attempt"] != executions or attempts != executions:
        raise SystemExit("the queue lost or doubled executions")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help=f"use the kept database {DATABASE} as it is")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--queue", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    server_url = os.environ.get("CALLPULSE_BENCH_DATABASE_URL", DEFAULT_URL)
    dsn, tenant = await prepare(server_url, args.reuse, args.calls)
    settings = Settings.from_env({"DATABASE_URL": dsn, "CALLPULSE_JWT_SECRET": SECRET})
    admin = await dbmod.create_pool(dsn, min_size=1, max_size=4)
    app = await dbmod.create_pool(dsn_with(dsn, user=DEFAULT_APP_ROLE), min_size=1, max_size=4)
    database = dbmod.Database(admin=admin, app=app)
    try:
        print(f"machine      {len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.1f}")
        await agent_performance(database, tenant, settings.report_pdf_max_rows)
        await export(database, dsn, tenant, settings, args.reuse)
        await drain(database, dsn, tenant, args.queue, args.workers)
    finally:
        await database.close()
        if not args.keep:
            server = await asyncpg.connect(server_url)
            try:
                await server.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            finally:
                await server.close()


if __name__ == "__main__":
    asyncio.run(main())
