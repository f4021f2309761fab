"""Ingestion throughput: events through POST /api/v1/events (with rollups) against a bulk COPY ceiling.

Builds a scratch database on CALLPULSE_BENCH_DATABASE_URL (default: the local server), starts gateway
processes, posts generated batches from concurrent clients, prints events/s and batch latency percentiles,
then COPYs the same rows straight into trigger-less copies of the tables and prints the ratio.

    python bench/ingest.py [--events 200000] [--batch 1000] [--clients 4] [--gateways 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._gateway import wait_ready  # noqa: E402
from gateway.auth import mint_token  # noqa: E402
from gateway.db import dsn_with, ensure_request_role  # noqa: E402
from gateway.migrations import migrate  # noqa: E402

SECRET = "bench-secret-bench-secret-bench-secret-0123456789"
AGENTS, CAMPAIGNS, LEADS = 200, 20, 5000


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def generate(n: int, agents: list[uuid.UUID], campaigns: list[uuid.UUID], leads: list[uuid.UUID],
             rng: random.Random) -> list[dict[str, Any]]:
    """Live traffic: a realistic mix (mostly finished calls, then tracking, presence, points and lead moves)
    spread in order over the last hours, with a few minutes of jitter for late arrivals."""
    span = max(3600, n // 10)  # ten events a second on the floor
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=span + 600)
    events = []
    for i in range(n):
        at = start + timedelta(seconds=i * span // n + rng.randrange(300))
        roll = rng.random()
        agent = rng.choice(agents)
        if roll < 0.6:
            wait, talk = rng.randrange(60), rng.randrange(30, 900)
            data: dict[str, Any] = {
                "call_id": str(uuid.uuid4()), "direction": rng.choice(["inbound", "outbound"]), "agent_id": str(agent),
                "campaign_id": str(rng.choice(campaigns)), "started_at": iso(at),
                "answered_at": iso(at + timedelta(seconds=wait)), "ended_at": iso(at + timedelta(seconds=wait + talk)),
                "talk_seconds": talk, "hold_seconds": rng.randrange(60), "wrap_up_seconds": rng.randrange(90),
                "outcome": "connected", "disposition": rng.choice(["resolved", "callback", "interested"]),
                "first_contact_resolution": rng.random() < 0.7, "csat_rating": rng.choice([None, 3, 4, 5]),
                "cost": round(rng.random(), 2)}
            kind = "call.ended"
        elif roll < 0.75:
            kind, data = "track", {"name": rng.choice(["dashboard_viewed", "report_opened", "export_clicked"]),
                                   "category": rng.choice(["page_view", "action"]), "properties": {"n": i}}
        elif roll < 0.85:
            kind, data = "agent.status_changed", {"agent_id": str(agent),
                                                  "status": rng.choice(["available", "busy", "wrap_up"])}
        elif roll < 0.95:
            kind, data = "points.awarded", {"agent_id": str(agent), "points": rng.randrange(1, 50), "reason": "kudos"}
        else:
            kind, data = "lead.stage_changed", {"lead_id": str(rng.choice(leads)),
                                                "stage": rng.choice(["contacted", "qualified", "proposal", "won"]),
                                                "agent_id": str(agent)}
        events.append({"id": str(uuid.uuid4()), "type": kind, "occurred_at": iso(at), "data": data})
    return events


async def prepare(server_dsn: str) -> tuple[str, uuid.UUID, list[uuid.UUID], list[uuid.UUID], list[uuid.UUID]]:
    name = f"callpulse_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    dsn = dsn_with(server_dsn, database=name)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        await ensure_request_role(conn, "callpulse_gateway", None)
        tenant = uuid.uuid4()
        agents = [uuid.uuid4() for _ in range(AGENTS)]
        campaigns = [uuid.uuid4() for _ in range(CAMPAIGNS)]
        leads = [uuid.uuid4() for _ in range(LEADS)]
        await conn.execute("INSERT INTO tenants (id, name, timezone) VALUES ($1, 'Bench', 'Europe/Berlin')", tenant)
        await conn.copy_records_to_table("agents", records=[(tenant, a, f"agent {i}", "human")
                                                            for i, a in enumerate(agents)],
                                         columns=["tenant_id", "id", "name", "kind"])
        await conn.copy_records_to_table("campaigns", records=[(tenant, c, f"campaign {i}")
                                                               for i, c in enumerate(campaigns)],
                                         columns=["tenant_id", "id", "name"])
        await conn.execute("INSERT INTO leads (tenant_id, id, source) "
                           "SELECT $1, l, 'web_form' FROM unnest($2::uuid[]) l", tenant, leads)
    finally:
        await conn.close()
    return dsn, tenant, agents, campaigns, leads


def start_gateway(dsn: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": dsn, "CALLPULSE_JWT_SECRET": SECRET, "CALLPULSE_PORT": str(port),
           "CALLPULSE_LOG_LEVEL": "WARNING", "CALLPULSE_DB_POOL_MAX": "8"}
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--workers", "1"], env=env, cwd=ROOT)


async def post_all(urls: list[str], token: str, batches: list[list[dict[str, Any]]],
                   clients: int) -> tuple[float, list[float]]:
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for b in batches:
        queue.put_nowait(b)
    latencies: list[float] = []

    async def worker(n: int) -> None:
        async with httpx.AsyncClient(base_url=urls[n % len(urls)], timeout=120,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            while not queue.empty():
                batch = queue.get_nowait()
                began = time.perf_counter()
                response = await client.post("/api/v1/events", json=batch)
                latencies.append(time.perf_counter() - began)
                body = response.json()
                if response.status_code != 200 or body["rejected"]:
                    raise RuntimeError(f"batch failed: {response.status_code} {str(body)[:500]}")

    began = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    return time.perf_counter() - began, latencies


async def ceiling(dsn: str, tenant: uuid.UUID, events: list[dict[str, Any]]) -> float:
    """Seconds to COPY the same raw and call rows into trigger-less copies of their tables."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE ceiling_events (LIKE analytics_events INCLUDING DEFAULTS INCLUDING INDEXES)")
        await conn.execute("CREATE TABLE ceiling_calls (LIKE calls INCLUDING DEFAULTS INCLUDING INDEXES)")
        raw = [(tenant, uuid.UUID(e["id"]), datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")),
                e["type"], e["data"]) for e in events]
        calls = []
        for e in events:
            if e["type"] != "call.ended":
                continue
            d = e["data"]
            calls.append((tenant, uuid.UUID(d["call_id"]), d["direction"], uuid.UUID(d["agent_id"]),
                          uuid.UUID(d["campaign_id"]), datetime.fromisoformat(d["started_at"].replace("Z", "+00:00")),
                          datetime.fromisoformat(d["answered_at"].replace("Z", "+00:00")),
                          datetime.fromisoformat(d["ended_at"].replace("Z", "+00:00")), d["talk_seconds"],
                          d["hold_seconds"], d["wrap_up_seconds"], d["outcome"], d["csat_rating"],
                          Decimal(str(d["cost"]))))
        # Binary COPY needs jsonb's binary form: a version byte, then the text.
        await conn.set_type_codec("jsonb", encoder=lambda v: b"\x01" + json.dumps(v).encode(),
                                  decoder=lambda b: json.loads(b[1:]), schema="pg_catalog", format="binary")
        began = time.perf_counter()
        await conn.copy_records_to_table("ceiling_events", records=raw,
                                         columns=["tenant_id", "id", "occurred_at", "event_type", "payload"])
        await conn.copy_records_to_table("ceiling_calls", records=calls, columns=[
            "tenant_id", "id", "direction", "agent_id", "campaign_id", "started_at", "answered_at", "ended_at",
            "talk_seconds", "hold_seconds", "wrap_up_seconds", "outcome", "csat_rating", "cost"])
        return time.perf_counter() - began
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--gateways", type=int, default=1)
    args = parser.parse_args()
    server = os.environ.get("CALLPULSE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    dsn, tenant, agents, campaigns, leads = await prepare(server)
    processes = []
    try:
        rng = random.Random(7)
        events = generate(args.events, agents, campaigns, leads, rng)
        batches = [events[i:i + args.batch] for i in range(0, len(events), args.batch)]
        ports = [18700 + i for i in range(args.gateways)]
        processes = [start_gateway(dsn, p) for p in ports]
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        async with httpx.AsyncClient() as client:
            for url, process in zip(urls, processes, strict=True):
                await wait_ready(client, url, process)
        token = mint_token(SECRET, tenant_id=tenant, user_id="bench", roles=["service"])
        await post_all(urls, token, [generate(200, agents, campaigns, leads, rng)], 1)  # warm-up
        seconds, latencies = await post_all(urls, token, batches, args.clients)
        rate = len(events) / seconds
        cut = statistics.quantiles(latencies, n=100)
        copy_seconds = await ceiling(dsn, tenant, events)
        copy_rate = len(events) / copy_seconds
        print(f"events:                {len(events):,} in {len(batches)} batches of {args.batch}, "
              f"{args.clients} clients, {args.gateways} gateway process(es)")
        print(f"through the endpoint:  {rate:,.0f} events/s ({seconds:.1f} s, rollups maintained)")
        print(f"batch latency:         p50 {cut[49] * 1000:.0f} ms, p99 {cut[98] * 1000:.0f} ms")
        print(f"COPY ceiling:          {copy_rate:,.0f} events/s ({copy_seconds:.1f} s, raw + call rows, no rollups)")
        print(f"ratio:                 {rate / copy_rate:.2f} of the ceiling")
    finally:
        for p in processes:
            p.terminate()
            p.wait()
        conn = await asyncpg.connect(server)
        await conn.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
