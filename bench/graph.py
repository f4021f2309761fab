"""Dashboard query latency: 50 agents with 30-day metrics, names and a daily series, over ≥ 5M seeded calls.

Seeds a scratch database on CALLPULSE_BENCH_DATABASE_URL (default: the local server), then runs one dashboard
query in-process (schema.execute) and over HTTP (a gateway subprocess), and prints p50/p99 latency, the SQL
statements one request sends, and the ratio of the whole GraphQL request to replaying exactly those statements
with asyncpg (same connection pool, same transaction and tenant setting).

    python bench/graph.py [--keep NAME | --reuse NAME] [--iterations 200] [--executor planned|graphql-core]
                          [--baseline DIR] [--no-floor]

Seeding 5M calls takes several minutes: `--keep NAME` keeps the database under that name, `--reuse NAME`
benchmarks an already seeded one (and keeps it); without either the scratch database is dropped at the end.
The in-process run is made as `callpulse serve` runs (gateway/serving.py): on its event loop (uvloop when
installed) and with the start-up heap frozen. `--baseline DIR` also starts a gateway from another copy of the
repository (the tree before a change) and sends the HTTP requests to both in turn, one each, so both see the
same load from whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx
from asyncpg.connection import LoggedQuery

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._floor import run_floor  # noqa: E402
from bench._gateway import wait_ready  # noqa: E402
from gateway import serving  # noqa: E402
from gateway.auth import Principal, Role, mint_token  # noqa: E402
from gateway.context import Context  # noqa: E402
from gateway.db import create_pool, dsn_with, ensure_request_role  # noqa: E402
from gateway.migrations import migrate  # noqa: E402
from gateway.schema import schema  # noqa: E402
from gateway.seed import SeedOptions, seed_database  # noqa: E402
from gateway.settings import DEFAULT_APP_ROLE  # noqa: E402

DEFAULT_URL: Final = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET: Final = "bench-secret-bench-secret-bench-secret-0123456789"
PORT: Final = 18790
END: Final = date(2025, 3, 31)
# 5 tenants x 120 days x 11,000 calls on an average weekday (fewer at weekends) ≈ 5.2M calls; 200 agents per
# tenant keep each agent's day about as busy as bench/seed.py's.
OPTIONS: Final = SeedOptions(tenants=5, days=120, agents=200, calls_per_day=11_000, seed=42, end_date=END)
# Transaction control, and the reset asyncpg's pool sends when a connection goes back: the replay's own
# transaction and pool do the same.
BOOKKEEPING: Final = ("BEGIN", "COMMIT", "ROLLBACK", "SELECT pg_advisory_unlock_all", "RESET ALL",
                      "SELECT set_config(")
# The tenant an operation's transaction was opened for (gateway/db.py's BEGIN_AS_TENANT).
TENANT_IN_BEGIN: Final = re.compile(r"^BEGIN; SELECT set_config\('app\.tenant_id', '([0-9a-f-]+)'")
SET_TENANT: Final = "SELECT set_config('app.tenant_id', $1::text, true)"

FROM, TO = (END - timedelta(days=29)).isoformat(), END.isoformat()
RANGE: Final = f'{{from: "{FROM}", to: "{TO}"}}'
DASHBOARD: Final = f"""
query Dashboard {{
  agents(first: 50) {{
    edges {{
      node {{
        name
        team {{ name }}
        campaigns(range: {RANGE}) {{ name }}
        metrics(range: {RANGE}) {{
          callsHandled averageHandleTimeSeconds conversionRate csat serviceLevel revenue
        }}
        series(metrics: [CALLS_HANDLED, AVERAGE_HANDLE_TIME, CONVERSION_RATE, CSAT, SERVICE_LEVEL, REVENUE],
               range: {RANGE}, granularity: DAY) {{
          bucketStarts
          series {{ name values }}
        }}
      }}
    }}
  }}
}}
"""
CALLS: Final = "SELECT count(*) FROM calls"
# The tenant with the most agents (ties by id), so the page holds 50.
BUSIEST_TENANT: Final = """
SELECT tenant_id, count(*) AS agents FROM agents GROUP BY tenant_id ORDER BY count(*) DESC, tenant_id LIMIT 1
"""
DATABASE_EXISTS: Final = "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)"


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    cut = statistics.quantiles(samples, n=100, method="inclusive")
    return cut[49] * 1000, cut[98] * 1000


async def timed(run: Callable[[], Awaitable[None]], warmup: int, iterations: int) -> list[float]:
    """Seconds per call of `run`, one call at a time, after `warmup` untimed calls."""
    for _ in range(warmup):
        await run()
    samples = []
    for _ in range(iterations):
        began = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - began)
    return samples


async def prepare(server_url: str, name: str, reuse: bool, options: SeedOptions = OPTIONS) -> str:
    """A migrated, seeded database `name` (seeded now unless reused); returns its DSN."""
    dsn = dsn_with(server_url, database=name)
    server = await asyncpg.connect(server_url)
    try:
        exists = await server.fetchval(DATABASE_EXISTS, name)
        if reuse and not exists:
            raise SystemExit(f"--reuse {name}: no such database")
        if not reuse:
            await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    conns = [await asyncpg.connect(dsn) for _ in range(2)]
    try:
        await migrate(conns[0])
        await ensure_request_role(conns[0], DEFAULT_APP_ROLE, None)
        if not reuse:
            print(f"seeding      {options}")
            report = await seed_database(conns[0], options, extra_connections=conns[1:])
            await conns[0].execute("ANALYZE")
            print(f"seeded       {report.total_rows:,} rows in {report.seconds:.0f} s "
                  f"({report.rows_per_second:,.0f} rows/s)")
        print(f"calls        {await conns[0].fetchval(CALLS):,}")
    finally:
        for conn in conns:
            await conn.close()
    return dsn


async def in_process(dsn: str, tenant: uuid.UUID, warmup: int, iterations: int, executor: str = "planned",
                     query: str = DASHBOARD) -> tuple[list[float], list[LoggedQuery], Any]:
    """Latencies of schema.execute with `executor`, and the statements (with arguments) of one execution."""
    captured: list[LoggedQuery] = []
    pool = await create_pool(dsn_with(dsn, user=DEFAULT_APP_ROLE), min_size=1, max_size=2,
                             query_logger=captured.append, request_path=True)
    principal = Principal(user_id="bench", tenant_id=tenant, roles=frozenset({Role.ADMIN}))
    data: Any = None

    async def run() -> None:
        nonlocal data
        result = await schema.execute(query, context_value=Context(pool=pool, request_id="bench",
                                                                   principal=principal, executor=executor))
        if result.errors:
            raise RuntimeError(f"the query failed: {result.errors}")
        data = result.data

    try:
        for _ in range(warmup):
            await run()
        serving.settle_heap()  # as a served process does once it is up
        samples = await timed(run, 0, iterations)
        captured.clear()
        await run()
        return samples, list(captured), data
    finally:
        await pool.close()


async def raw_sql(dsn: str, statements: list[LoggedQuery], warmup: int, iterations: int) -> list[float]:
    """Latencies of replaying the captured statements as a plain asyncpg service would run them: a connection
    from a default pool (reset on release), `conn.transaction()`, the tenant set by its own statement (the
    gateway sends it with its BEGIN), the statements' results fetched as records."""
    pool = await create_pool(dsn_with(dsn, user=DEFAULT_APP_ROLE), min_size=1, max_size=2)
    body = [s for s in statements if not s.query.lstrip().startswith(BOOKKEEPING)]
    tenant = next(TENANT_IN_BEGIN.search(s.query) for s in statements if TENANT_IN_BEGIN.search(s.query))
    assert tenant is not None

    async def run() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(SET_TENANT, tenant.group(1))
            for s in body:
                await conn.fetch(s.query, *s.args)

    try:
        return await timed(run, warmup, iterations)
    finally:
        await pool.close()


def start_gateway(dsn: str, executor: str = "planned", port: int = PORT, root: Path = ROOT
                  ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": dsn, "CALLPULSE_JWT_SECRET": SECRET, "CALLPULSE_PORT": str(port),
           "CALLPULSE_LOG_LEVEL": "WARNING", "CALLPULSE_GRAPHIQL": "false", "CALLPULSE_EXECUTOR": executor}
    # `python -m` puts the working directory first on sys.path: the gateway runs from `root`'s tree.
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--workers", "1"], env=env, cwd=root)


async def over_http(dsn: str, tenant: uuid.UUID, warmup: int, iterations: int, executor: str = "planned",
                    roots: tuple[Path, ...] = (ROOT,)) -> list[list[float]]:
    """Latencies of POST /graphql against a gateway subprocess per tree (one worker each), the requests sent
    to them in turn; the answers must be equal."""
    processes = [start_gateway(dsn, executor, PORT + i, root) for i, root in enumerate(roots)]
    token = mint_token(SECRET, tenant_id=tenant, user_id="bench", roles=["admin"])
    try:
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT + i}", timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) for i in range(len(roots))]
        try:
            for client, process in zip(clients, processes, strict=True):
                await wait_ready(client, process=process)
            answers: list[Any] = [None] * len(roots)

            async def one(i: int) -> float:
                began = time.perf_counter()
                response = await clients[i].post("/graphql", json={"query": DASHBOARD})
                elapsed = time.perf_counter() - began
                if response.status_code != 200 or "errors" in response.json():
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}")
                answers[i] = response.content
                return elapsed

            samples: list[list[float]] = [[] for _ in roots]
            for n in range(warmup + iterations):
                for i in range(len(roots)):
                    elapsed = await one(i)
                    if n >= warmup:
                        samples[i].append(elapsed)
            if any(json.loads(a) != json.loads(answers[0]) for a in answers):
                raise SystemExit("the trees answer the dashboard differently")
            return samples
        finally:
            for client in clients:
                await client.aclose()
    finally:
        for process in processes:
            process.terminate()
            process.wait()


def objects_resolved(value: Any) -> int:
    """Objects in a result (what Strawberry resolved as a type, lists of scalars excluded)."""
    if isinstance(value, dict):
        return 1 + sum(objects_resolved(v) for v in value.values())
    if isinstance(value, list):
        return sum(objects_resolved(v) for v in value)
    return 0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--keep", metavar="NAME", help="seed into database NAME and keep it")
    group.add_argument("--reuse", metavar="NAME", help="benchmark the already seeded database NAME")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--executor", choices=["planned", "graphql-core"], default="planned",
                        help="CALLPULSE_EXECUTOR of the gateway (and Context.executor in-process)")
    parser.add_argument("--baseline", type=lambda p: Path(p).resolve(), metavar="DIR",
                        help="also measure HTTP against a gateway started from this copy of the repository")
    parser.add_argument("--no-floor", action="store_true", help="skip the toy-schema floor")
    args = parser.parse_args()
    server_url = os.environ.get("CALLPULSE_BENCH_DATABASE_URL", DEFAULT_URL)
    name = args.reuse or args.keep or f"graphbench_{uuid.uuid4().hex[:8]}"
    print(f"database     {name} ({'kept' if args.keep or args.reuse else 'dropped at the end'})")
    try:
        dsn = await prepare(server_url, name, reuse=args.reuse is not None)
        conn = await asyncpg.connect(dsn)
        try:
            busiest = await conn.fetchrow(BUSIEST_TENANT)
            assert busiest is not None, "the seeded database has no agents"
            tenant, agents = busiest
        finally:
            await conn.close()
        print(f"tenant       {tenant} ({agents} agents), range {FROM} .. {TO}")

        floor = None if args.no_floor else await timed(lambda: run_floor(DASHBOARD), args.warmup, args.iterations)
        graph, statements, data = await in_process(dsn, tenant, args.warmup, args.iterations, args.executor)
        raw = await raw_sql(dsn, statements, args.warmup, args.iterations)
        http, *baseline = await over_http(dsn, tenant, args.warmup, args.iterations, args.executor,
                                          (ROOT, args.baseline) if args.baseline else (ROOT,))
    finally:
        if not (args.keep or args.reuse):
            server = await asyncpg.connect(server_url)
            try:
                await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await server.close()

    body = [s for s in statements if not s.query.lstrip().startswith(BOOKKEEPING)]
    in_p50, in_p99 = percentiles(graph)
    raw_p50, raw_p99 = percentiles(raw)
    http_p50, http_p99 = percentiles(http)
    print(f"result       {len(data['agents']['edges'])} agents, {objects_resolved(data):,} objects")
    # The logger's times run until the awaiting resolver resumes, so they include event-loop waits (the raw
    # replay below is the database's share).
    print(f"statements   {len(body)} per request (+ BEGIN/COMMIT); as seen by the resolvers in one run:")
    for s in body:
        print(f"  {s.elapsed * 1000:7.2f} ms  {' '.join(s.query.split())[:110]}")
    print(f"executor     {args.executor}")
    print(f"iterations   {args.iterations} after {args.warmup} warm-up, one request at a time")
    print(f"in-process   p50 {in_p50:6.1f} ms   p99 {in_p99:6.1f} ms   (schema.execute)")
    print(f"HTTP         p50 {http_p50:6.1f} ms   p99 {http_p99:6.1f} ms   (POST /graphql, gateway subprocess)")
    print(f"raw SQL      p50 {raw_p50:6.1f} ms   p99 {raw_p99:6.1f} ms   (same statements, asyncpg, one transaction)")
    print(f"ratio        {in_p50 / raw_p50:.2f} in-process / raw SQL, {http_p50 / raw_p50:.2f} HTTP / raw SQL (p50)")
    if baseline:
        base_p50, base_p99 = percentiles(baseline[0])
        print(f"baseline     p50 {base_p50:6.1f} ms   p99 {base_p99:6.1f} ms   (HTTP, gateway from {args.baseline}, "
              f"requests alternating with the above; {base_p50 / raw_p50:.2f} × the raw SQL)")
    if floor is None:
        return
    floor_p50, floor_p99 = percentiles(floor)
    print(f"floor        p50 {floor_p50:6.1f} ms   p99 {floor_p99:6.1f} ms   (the same query shape on a toy Strawberry "
          "schema of precomputed objects: no database, see bench/_floor.py)")
    print(f"             graphql-core's executor alone on it, plus the SQL: ≈{floor_p50 + raw_p50:.0f} ms, "
          f"{(floor_p50 + raw_p50) / raw_p50:.2f} × the raw SQL (what the planned engine is measured against)")


if __name__ == "__main__":
    serving.run(main())
