"""Abusive requests against a gateway: how fast each is refused, and what a small query meanwhile sees.

Creates a scratch database on CALLPULSE_BENCH_DATABASE_URL (default: the local server) with one tenant,
starts `callpulse serve` on it with the default limits, measures `{ tenant { name } }` alone, then sends each
abuse case `--repeat` times, one after the other, while another client (a process of its own) keeps sending
`{ tenant { name } }`. Prints per case the answer (HTTP status, code, reason) and the refusal latency (median
and max, from the first byte sent to the whole answer read), the small query's p50/p99/max alone and under the
abuse, and GET /healthz as the floor of any answer on the machine at that moment.

    python bench/abuse.py [--repeat 20]

The 20 MB bodies go over a plain socket, sent while the answer is awaited: one with its Content-Length, one
chunked (counted while it is read); the latency ends when the 413 is in, however much of the body was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._gateway import wait_ready  # noqa: E402
from bench.graph import DEFAULT_URL, SECRET  # noqa: E402
from gateway.auth import mint_token  # noqa: E402
from gateway.db import dsn_with, ensure_request_role  # noqa: E402
from gateway.migrations import migrate  # noqa: E402
from gateway.settings import DEFAULT_APP_ROLE  # noqa: E402

SMALL: Final = "{ tenant { name } }"
SMALL_BODY: Final = json.dumps({"query": SMALL}).encode()
CREATE_TENANT: Final = "INSERT INTO tenants (id, name, timezone) VALUES ($1, 'Abused', 'UTC')"
CREATE_AGENT: Final = "INSERT INTO agents (tenant_id, id, name, kind) VALUES ($1, $2, $3, 'human')"
RANGE_52_DAYS: Final = '{from: "2025-01-01", to: "2025-02-21"}'
TWENTY_METRICS: Final = ("[CALLS_TOTAL CALLS_HANDLED CALLS_INBOUND CALLS_OUTBOUND AVERAGE_HANDLE_TIME "
                         "AVERAGE_SPEED_OF_ANSWER SERVICE_LEVEL ABANDONMENT_RATE FIRST_CONTACT_RESOLUTION TRANSFERS "
                         "CSAT TASKS_COMPLETED AVAILABLE_TIME OCCUPANCY POINTS LEADS_GENERATED LEADS_CONVERTED "
                         "CONVERSION_RATE REVENUE COST]")
DOCUMENTS: Final = {
    "5 aliases x agents(first: 20) x QUARTER_HOUR forecast, 52 days": "{ " + " ".join(
        f"a{i}: agents(first: 20) {{ edges {{ node {{ forecast(metric: CALLS_HANDLED, range: {RANGE_52_DAYS}, "
        "granularity: QUARTER_HOUR) { values lower upper } } } }" for i in range(5)) + " }",
    "200 agents x 20 metrics x 4,992 buckets of series": (
        f"{{ agents(first: 200) {{ edges {{ node {{ series(metrics: {TWENTY_METRICS}, range: {RANGE_52_DAYS}, "
        "granularity: QUARTER_HOUR) { bucketStarts series { name values } } } } } }"),
    "1,000 aliases of __schema { types { name fields { name } } }": "{ " + " ".join(
        f"a{i}: __schema {{ types {{ name fields {{ name }} }} }}" for i in range(1000)) + " }",
    "a 2 MB document": "{ " + "a " * 1_000_000 + "}",
    "agents(200) { calls(200) { lead { calls(200) } } }": (
        "{ agents(first: 200) { edges { node { calls(first: 200) { edges { node { lead {"
        " calls(first: 200) { edges { node { id startedAt outcome } } } } } } } } } } }"),
}
BIG_BODY: Final = 20 * 1024 * 1024
CHUNK: Final = 64 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def prepare(server_url: str, name: str) -> tuple[str, uuid.UUID]:
    """A migrated database `name` with one tenant (and 200 agents, so every list could be full)."""
    server = await asyncpg.connect(server_url)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    dsn = dsn_with(server_url, database=name)
    conn = await asyncpg.connect(dsn)
    tenant = uuid.uuid4()
    try:
        await migrate(conn)
        await ensure_request_role(conn, DEFAULT_APP_ROLE, None)
        await conn.execute(CREATE_TENANT, tenant)
        await conn.executemany(CREATE_AGENT, [(tenant, uuid.uuid4(), f"Agent {i:03}") for i in range(200)])
    finally:
        await conn.close()
    return dsn, tenant


def start_gateway(dsn: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": dsn, "CALLPULSE_JWT_SECRET": SECRET, "CALLPULSE_PORT": str(port),
           "CALLPULSE_LOG_LEVEL": "WARNING", "CALLPULSE_GRAPHIQL": "false"}
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve"], env=env, cwd=ROOT)


def outcome(status: int, body: Any) -> str:
    try:
        extensions = body["errors"][0]["extensions"]
        return f"{status} {extensions['code']} {extensions.get('reason', '')}".rstrip()
    except (KeyError, IndexError, TypeError):
        return f"{status} {json.dumps(body)[:60]}"


async def post_document(client: httpx.AsyncClient, body: bytes) -> str:
    response = await client.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    return outcome(response.status_code, response.json())


def encoded(document: str) -> bytes:
    """The request body, encoded once: the client's JSON encoding is not the server's latency."""
    return json.dumps({"query": document}).encode()


async def post_big_body(port: int, token: str, chunked: bool) -> str:
    """20 MB of body, sent in 64 KiB pieces while the answer is awaited; the answer is what counts."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BIG_BODY}"
    writer.write(f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                 f"Content-Type: application/json\r\n{framing}\r\n\r\n".encode())

    async def send_body() -> None:
        piece = b" " * CHUNK
        frame = f"{CHUNK:x}\r\n".encode() + piece + b"\r\n" if chunked else piece
        try:
            for _ in range(BIG_BODY // CHUNK):
                writer.write(frame)
                await writer.drain()
        except ConnectionError:
            pass  # the server answered and closed: the rest is never read

    sender = asyncio.create_task(send_body())
    try:
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = json.loads(await reader.readexactly(length))
    finally:
        sender.cancel()
        writer.close()
    return outcome(status, body)


async def timed(send: Callable[[], Awaitable[str]], repeat: int) -> tuple[str, list[float]]:
    answers, samples = set(), []
    for _ in range(repeat):
        began = time.perf_counter()
        answers.add(await send())
        samples.append(time.perf_counter() - began)
    return " / ".join(sorted(answers)), samples


async def probe(client: httpx.AsyncClient, stop: asyncio.Event) -> list[float]:
    """The small query, one at a time, until `stop`; says `ready` on stdout after the first."""
    samples: list[float] = []
    while not stop.is_set():
        if len(samples) == 1:
            print("ready", flush=True)
        began = time.perf_counter()
        response = await client.post("/graphql", content=SMALL_BODY, headers={"Content-Type": "application/json"})
        if response.status_code != 200 or "errors" in response.json():
            raise RuntimeError(f"the small query failed: {response.text[:300]}")
        samples.append(time.perf_counter() - began)
    return samples


async def run_prober(url: str, token: str) -> None:
    """`--probe`: the small query until stdin is closed, then its latencies (seconds) as JSON on stdout."""
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120,
                                 limits=httpx.Limits(max_keepalive_connections=0)) as client:
        samples = asyncio.create_task(probe(client, stop))
        await asyncio.to_thread(sys.stdin.read)
        stop.set()
        print(json.dumps(await samples))


class Prober:
    """The small query sent from a process of its own, so the abuser's work in this one does not delay it."""

    def __init__(self, url: str, token: str) -> None:
        self.args = (sys.executable, __file__, "--probe", url, token)
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(*self.args, stdin=asyncio.subprocess.PIPE,
                                                            stdout=asyncio.subprocess.PIPE)
        assert self.process.stdout is not None
        if await self.process.stdout.readline() != b"ready\n":
            raise RuntimeError("the prober did not start")

    async def stop(self) -> list[float]:
        assert self.process is not None
        assert self.process.stdin is not None
        self.process.stdin.close()
        out, _ = await self.process.communicate()
        samples: list[float] = json.loads(out)
        return samples


async def health(client: httpx.AsyncClient) -> list[float]:
    """GET /healthz, the floor of any answer on this machine now (no GraphQL, no database)."""
    samples = []
    for _ in range(50):
        began = time.perf_counter()
        (await client.get("/healthz")).raise_for_status()
        samples.append(time.perf_counter() - began)
    return samples


def summary(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
    return f"p50 {statistics.median(ms):6.1f} ms  p99 {p99:6.1f} ms  max {ms[-1]:6.1f} ms  ({len(ms)} requests)"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="times each abuse case is sent")
    parser.add_argument("--probe", nargs=2, metavar=("URL", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        await run_prober(*args.probe)
        return
    server_url = os.environ.get("CALLPULSE_BENCH_DATABASE_URL", DEFAULT_URL)
    name = f"abusebench_{uuid.uuid4().hex[:8]}"
    port = free_port()
    dsn, tenant = await prepare(server_url, name)
    process = start_gateway(dsn, port)
    token = mint_token(SECRET, tenant_id=tenant, user_id="bench", roles=["admin"])
    headers = {"Authorization": f"Bearer {token}"}
    try:
        # A connection per request: `callpulse serve`'s accepted sockets lack TCP_NODELAY (its listening socket is
        # made with proto 0, so asyncio does not set it), and every answer after the first on a kept-alive
        # connection then waits ≈40 ms for the client's delayed ACK.
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120,
                                     limits=fresh) as abuser, \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120,
                                  limits=fresh) as prober:
            await wait_ready(prober)
            for _ in range(20):  # warm-up: connections, plans, caches
                await post_document(prober, encoded(SMALL))
            floor = await health(prober)
            alone = Prober(str(prober.base_url).rstrip("/"), token)
            await alone.start()
            await asyncio.sleep(3)
            baseline = await alone.stop()

            meanwhile = Prober(str(prober.base_url).rstrip("/"), token)
            await meanwhile.start()
            cases: list[tuple[str, Callable[[], Awaitable[str]]]] = [
                (label, functools.partial(post_document, abuser, encoded(document)))
                for label, document in DOCUMENTS.items()]
            cases += [("a 20 MB body (Content-Length)", lambda: post_big_body(port, token, chunked=False)),
                      ("a 20 MB body (chunked)", lambda: post_big_body(port, token, chunked=True))]
            results = [(label, *await timed(send, args.repeat)) for label, send in cases]
            under_abuse = await meanwhile.stop()
    finally:
        process.terminate()
        process.wait()
        server = await asyncpg.connect(server_url)
        try:
            await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await server.close()

    print(f"refusals     each case {args.repeat} times, one at a time, default limits")
    for label, answer, samples in results:
        ms = [s * 1000 for s in samples]
        print(f"  {label:62} {answer:38} median {statistics.median(ms):6.1f} ms  max {max(ms):6.1f} ms")
    print(f"floor        GET /healthz: {summary(floor)}")
    print(f"small query  alone:        {summary(baseline)}")
    print(f"             under abuse:  {summary(under_abuse)}")


if __name__ == "__main__":
    asyncio.run(main())
