"""Live subscriptions at scale: thousands of websocket subscribers of a few questions, events at a steady rate.

Seeds a scratch database on CALLPULSE_BENCH_DATABASE_URL (default: the local server) with 3 tenants, starts one
gateway process (`callpulse serve --workers 1`), opens N subscribers over graphql-transport-ws from a separate
client process (default 10,000, spread over 20 distinct questions of the 3 tenants: tenant, team and agent
metrics of TODAY, leaderboards, the calls feed), then ingests one call at a time at a steady rate, round-robin
over the tenants, and prints:

    latency p50/p99      from sending the ingest (its commit comes before the response) to each touched
                         subscriber receiving its update, over every (ingest, subscriber) pair
    delivered            updates received / updates expected (every subscriber of the ingest's tenant)
    SQL per change       statements the live hub's refreshes ran per ingest (GET /stats/live)
    refreshes per change refreshes per ingest, against the groups the ingest touched
    gateway RSS, CPU     resident memory after subscribing and at the end; CPU seconds per ingest

    python bench/live.py [--subscribers 10000] [--questions 20] [--events 30] [--rate 2]

The open-files limit is raised to its hard limit (each subscriber is a socket in both processes).
`--client …` is the subscriber process itself (started by the bench).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx
import psutil

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._gateway import wait_ready  # noqa: E402
from bench.graph import DEFAULT_URL, SECRET, prepare  # noqa: E402
from gateway.auth import mint_token  # noqa: E402
from gateway.ids import encode_id  # noqa: E402
from gateway.seed import SeedOptions  # noqa: E402

PORT: Final = 18796
OPTIONS: Final = SeedOptions(tenants=3, days=3, agents=30, calls_per_day=2_000, seed=11)
METRICS: Final = "subscription($scope: ScopeInput!, $metrics: [Metric!]) { metrics(scope: $scope, range: " \
                 "{preset: TODAY}, metrics: $metrics) { values { name value } } }"
LEADERBOARD: Final = "subscription($metric: Metric!) { leaderboard(range: {preset: TODAY}, metric: $metric, " \
                     "first: 200) { entries { rank value agent { name } } } }"
FEED: Final = "subscription { liveCalls { cursor calls { id agent { name } } } }"
TENANTS: Final = "SELECT id FROM tenants ORDER BY name"
AGENTS: Final = "SELECT id, team_id FROM agents WHERE tenant_id = $1 AND team_id IS NOT NULL ORDER BY name LIMIT 3"


def questions(tenants: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """`count` distinct questions, round-robin over the tenants: (tenant index, query, variables)."""
    kinds: list[tuple[str, dict[str, Any]]] = []
    for metric_set in (["CALLS_TOTAL"], ["CALLS_TOTAL", "AVERAGE_HANDLE_TIME"], ["CALLS_HANDLED", "SERVICE_LEVEL"]):
        kinds.append((METRICS, {"scope": {"kind": "TENANT"}, "metrics": metric_set}))
    kinds.append((LEADERBOARD, {"metric": "CALLS_HANDLED"}))
    kinds.append((FEED, {}))
    for n in range(3):
        kinds.append((METRICS, {"scope": {"kind": "TEAM", "id": f"team{n}"}, "metrics": ["CALLS_TOTAL"]}))
        kinds.append((METRICS, {"scope": {"kind": "AGENT", "id": f"agent{n}"}, "metrics": ["CALLS_TOTAL"]}))
    out = []
    for i in range(count):
        tenant = i % len(tenants)
        query, variables = kinds[(i // len(tenants)) % len(kinds)]
        variables = json.loads(json.dumps(variables))
        scope = variables.get("scope", {})
        if scope.get("id", "").startswith("team"):
            scope["id"] = tenants[tenant]["teams"][int(scope["id"][4:])]
        elif scope.get("id", "").startswith("agent"):
            scope["id"] = tenants[tenant]["agents"][int(scope["id"][5:])]
        out.append({"tenant": tenant, "query": query, "variables": variables})
    return out


def touches(question: dict[str, Any], tenant: int, tenants: list[dict[str, Any]]) -> bool:
    """Whether a call of the tenant's first agent changes what the question shows."""
    if question["tenant"] != tenant:
        return False
    scope = question["variables"].get("scope", {"kind": "TENANT"})
    if scope["kind"] == "TEAM":
        return bool(scope["id"] == tenants[tenant]["teams"][0])
    if scope["kind"] == "AGENT":
        return bool(scope["id"] == tenants[tenant]["agents"][0])
    return True


# --- the client process ---------------------------------------------------------------------------------------

async def _subscriber(url: str, token: str, question: dict[str, Any], arrivals: list[float],
                      ready: asyncio.Event, opened: list[int], gate: asyncio.Semaphore, total: int) -> None:
    import websockets

    async with gate:
        ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                      max_queue=None, open_timeout=120)
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": question["query"], "variables": question["variables"]}}))
        first = json.loads(await ws.recv())
        if first.get("type") != "next" or first["payload"].get("errors"):
            raise RuntimeError(f"subscription refused: {first}")
    opened[0] += 1
    if opened[0] == total:
        ready.set()
    async for _message in ws:
        arrivals.append(time.time())


def read_json(path: str) -> Any:
    return json.loads(Path(path).read_text())


def write_json(path: str, value: Any) -> None:
    Path(path).write_text(json.dumps(value))


def remove(*paths: str) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)


def start(command: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    return subprocess.Popen(command, cwd=ROOT, **kwargs)  # noqa: S603 - our own commands


async def client(url: str, plan_file: str) -> None:
    plan = read_json(plan_file)
    arrivals: list[list[float]] = [[] for _ in plan["subscribers"]]
    ready, opened, gate = asyncio.Event(), [0], asyncio.Semaphore(100)
    tasks = [asyncio.create_task(_subscriber(url, plan["tokens"][s["tenant"]], s, arrivals[i], ready, opened, gate,
                                             len(plan["subscribers"])))
             for i, s in enumerate(plan["subscribers"])]
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    if not ready.is_set():
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()  # type: ignore[misc]
    # The client's own 10,000 sockets would make its full garbage collections long enough to show up as
    # latency: what exists once everyone is subscribed is left out of them, as the gateway's hub does.
    gc.collect()
    gc.freeze()
    print("READY", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    write_json(plan_file + ".out", arrivals)
    os._exit(0)


# --- the bench ------------------------------------------------------------------------------------------------

def call_event(agent: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    at = now.isoformat().replace("+00:00", "Z")
    return {"id": str(uuid.uuid4()), "type": "call.ended", "occurred_at": at,
            "data": {"call_id": str(uuid.uuid4()), "direction": "inbound", "agent_id": agent, "started_at": at,
                     "answered_at": at, "ended_at": at, "talk_seconds": 120, "outcome": "connected"}}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--events", type=int, default=30, help="ingests measured")
    parser.add_argument("--rate", type=float, default=2.0, help="ingests per second")
    parser.add_argument("--client", nargs=2, metavar=("URL", "PLAN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.client:
        await client(*args.client)
        return
    if args.subscribers + 200 > hard:
        raise SystemExit(f"the open-files hard limit ({hard}) is too low for {args.subscribers} subscribers")
    server_url = os.environ.get("CALLPULSE_BENCH_DATABASE_URL", DEFAULT_URL)
    name = f"livebench_{uuid.uuid4().hex[:8]}"
    print(f"machine      {len(os.sched_getaffinity(0))} cores, open files {soft} -> {hard}")
    dsn = await prepare(server_url, name, reuse=False, options=OPTIONS)
    gateway: subprocess.Popen[Any] | None = None
    subscribers: subprocess.Popen[Any] | None = None
    plan_file = str(Path(tempfile.gettempdir()) / f"{name}.json")
    try:
        conn = await asyncpg.connect(dsn)
        tenants = []
        for row in await conn.fetch(TENANTS):
            agents = await conn.fetch(AGENTS, row["id"])
            tenants.append({"id": row["id"], "agents": [encode_id("Agent", a["id"]) for a in agents],
                            "teams": [encode_id("Team", a["team_id"]) for a in agents],
                            "raw_agents": [str(a["id"]) for a in agents]})
        await conn.close()
        asked = questions(tenants, args.questions)
        plan: dict[str, Any] = {"tokens": [mint_token(SECRET, tenant_id=t["id"], user_id="bench", roles=["admin"],
                                      ttl_seconds=6 * 3600) for t in tenants],
                "subscribers": [asked[i % len(asked)] for i in range(args.subscribers)]}
        write_json(plan_file, plan)
        env = {**os.environ, "DATABASE_URL": dsn, "CALLPULSE_JWT_SECRET": SECRET, "CALLPULSE_PORT": str(PORT),
               "CALLPULSE_LOG_LEVEL": "WARNING", "CALLPULSE_GRAPHIQL": "false"}
        gateway = start([sys.executable, "-m", "gateway.cli", "serve", "--workers", "1"], env=env)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", timeout=60) as http:
            await wait_ready(http, process=gateway)
            process = psutil.Process(gateway.pid)
            started = time.perf_counter()
            subscribers = start([sys.executable, __file__, "--client", f"ws://127.0.0.1:{PORT}/graphql", plan_file],
                                stdout=subprocess.PIPE, text=True)
            assert subscribers.stdout is not None
            line = await asyncio.to_thread(subscribers.stdout.readline)
            if line.strip() != "READY":
                raise RuntimeError(f"the subscriber process failed: {line!r}")
            stats = (await http.get("/stats/live")).json()
            print(f"subscribed   {stats['subscribers']:,} subscribers in {stats['groups']} groups over "
                  f"{len(tenants)} tenants in {time.perf_counter() - started:.1f} s; gateway RSS "
                  f"{process.memory_info().rss / 2**20:,.0f} MB")
            await asyncio.sleep(1.0)
            service = [mint_token(SECRET, tenant_id=t["id"], user_id="svc", roles=["service"]) for t in tenants]
            sent: list[tuple[int, float]] = []
            per_change: list[tuple[int, int, int]] = []
            cpu_before = sum(process.cpu_times()[:2])
            for i in range(args.events):
                tenant = i % len(tenants)
                before = (await http.get("/stats/live")).json()
                t0 = time.time()
                response = await http.post("/api/v1/events", json=[call_event(tenants[tenant]["raw_agents"][0])],
                                           headers={"Authorization": f"Bearer {service[tenant]}"})
                response.raise_for_status()
                sent.append((tenant, t0))
                await asyncio.sleep(1 / args.rate)
                after = (await http.get("/stats/live")).json()
                groups_touched = sum(1 for q in asked if touches(q, tenant, tenants))
                per_change.append((after["refreshStatements"] - before["refreshStatements"],
                                   after["refreshes"] - before["refreshes"], groups_touched))
            await asyncio.sleep(2.0)
            cpu = sum(process.cpu_times()[:2]) - cpu_before
            rss_end = process.memory_info().rss
        subscribers.send_signal(signal.SIGTERM)
        await asyncio.to_thread(subscribers.wait, 120)
        arrivals: list[list[float]] = read_json(plan_file + ".out")
        latencies: list[float] = []
        expected = delivered = 0
        worst: list[tuple[float, int]] = []
        for n, (tenant, t0) in enumerate(sent):
            mark = len(latencies)
            # An update belongs to the latest ingest of its tenant before it (the next one of the same tenant
            # closes the window): ingests of other tenants touch none of its groups.
            t_next = next((t for k, t in sent[n + 1:] if k == tenant), float("inf"))
            for s, times in enumerate(arrivals):
                if not touches(plan["subscribers"][s], tenant, tenants):
                    continue
                expected += 1
                got = [t for t in times if t0 <= t < t_next]
                if got:
                    delivered += 1
                    latencies.append((got[0] - t0) * 1000)
            worst.append((max(latencies[mark:], default=0.0), n))
        statements = [change[0] for change in per_change]
        refreshes = [change[1] for change in per_change]
        touched = [change[2] for change in per_change]
        print(f"ingests      {len(sent)} at {args.rate:g}/s, one call each, round-robin over the tenants")
        print(f"latency      p50 {percentile(latencies, 0.5):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms, "
              f"max {max(latencies, default=float('nan')):.0f} ms (ingest sent -> update received)")
        print(f"delivered    {delivered:,} of {expected:,} expected updates")
        print("slowest      " + ", ".join(f"ingest {n + 1}: {ms:.0f} ms" for ms, n in sorted(worst)[-3:]))
        print(f"SQL/change   median {statements and statistics.median(statements)}, min {min(statements)}, "
              f"max {max(statements)} statements")
        print(f"refreshes    per change median {statistics.median(refreshes)} (groups touched: median "
              f"{statistics.median(touched)})")
        print(f"gateway      RSS {rss_end / 2**20:,.0f} MB at the end; CPU {cpu / len(sent) * 1000:.0f} ms per ingest")
    finally:
        for proc in (subscribers, gateway):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
        remove(plan_file, plan_file + ".out")
        server = await asyncpg.connect(server_url)
        try:
            await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await server.close()


if __name__ == "__main__":
    asyncio.run(main())
