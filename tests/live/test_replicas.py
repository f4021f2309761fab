"""Across replicas: every gateway process on one database LISTENs for the change signal and pushes what it means.

Real `callpulse serve` processes on one test database: two gateways, and one gateway with two workers (each
worker has its own hub and its own LISTEN connection, and the kernel spreads sockets over them: SO_REUSEPORT).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
import pytest

from gateway.auth import mint_token
from tests.conftest import TEST_JWT_SECRET, TestDatabase, free_port
from tests.factories import make_agent, make_tenant
from tests.live.helpers import DAY, Subscriber, call_event, ingest, subscribed

CALLPULSE = str(Path(sys.executable).with_name("callpulse"))
START_SECONDS = 60
# Sockets opened at most until both workers hold one (all on one worker: 2 in 2**32).
MOST_SOCKETS = 32
READY = re.compile(r"CallPulse is listening on \S+(?: with \d+ workers \(pids (?P<pids>[\d, ]+)\))?")
MISMATCH = "the planned engine and graphql-core differ"

TENANT_CALLS = """
subscription($range: DateRange!) {
  metrics(scope: {kind: TENANT}, range: $range, metrics: [CALLS_TOTAL]) { values { name value } }
}"""
RANGE = {"from": DAY, "to": DAY}


@dataclass
class Served:
    """One `callpulse serve` process (and its workers), its port and its log."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    workers: list[int]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def token(self, tenant_id: uuid.UUID, user_id: str = "00000000-0000-0000-0000-000000000001",
              roles: tuple[str, ...] = ("admin",), ttl_seconds: int = 600) -> str:
        return mint_token(TEST_JWT_SECRET, tenant_id=tenant_id, user_id=user_id, roles=list(roles),
                          ttl_seconds=ttl_seconds)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_holding(self, client_port: int) -> int | None:
        """The pid of the worker holding the server end of the connection from `client_port`."""
        for pid in self.workers:
            for conn in psutil.Process(pid).net_connections(kind="tcp"):
                if conn.laddr.port == self.port and conn.raddr and conn.raddr.port == client_port:
                    return pid
        return None


Serve = Callable[..., Awaitable[Served]]


def _wait_listening(served: Served) -> None:
    """Until the process says it serves (with several workers: all of them); fails if it exits first."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        found = READY.search(served.output())
        if found is not None:
            served.workers = ([int(p) for p in found["pids"].split(",")] if found["pids"]
                              else [served.process.pid])
            return
        assert served.process.poll() is None, served.output()
        time.sleep(0.05)
    raise AssertionError(f"the gateway did not start:\n{served.output()}")


def _launch(database: TestDatabase, workers: int, logs: Path) -> Served:
    port = free_port()
    log = logs / f"serve-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPULSE_") and k != "DATABASE_URL"}
    # Two request connections per process (the rule for multi-process tests); shadow mode on.
    env |= {"DATABASE_URL": database.admin_dsn, "CALLPULSE_JWT_SECRET": TEST_JWT_SECRET,
            "CALLPULSE_DB_POOL_MIN": "1", "CALLPULSE_DB_POOL_MAX": "2", "CALLPULSE_EXECUTOR_SHADOW": "true",
            "CALLPULSE_LOG_LEVEL": "INFO"}
    with log.open("wb") as out:
        process = subprocess.Popen([CALLPULSE, "serve", "--port", str(port), "--workers", str(workers)],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    return Served(process, port, log, [])


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    """`await serve(database, workers=1)` runs `callpulse serve` on the database until the test ends."""
    started: list[Served] = []

    async def start(database: TestDatabase, workers: int = 1) -> Served:
        served = await asyncio.to_thread(_launch, database, workers, tmp_path)
        started.append(served)
        await asyncio.to_thread(_wait_listening, served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.send_signal(signal.SIGTERM)
    for served in started:
        code = await asyncio.to_thread(served.process.wait, 60)
        output = served.output()
        assert code == 0, output
        assert "Traceback" not in output, output
        assert MISMATCH not in output, output


@pytest.fixture
async def tenant(admin_conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    tenant_id = await make_tenant(admin_conn, "Acme", "Europe/Berlin")
    return {"tenant": tenant_id, "agent": await make_agent(admin_conn, tenant_id, "Ada")}


def calls_total(payload: dict[str, object]) -> object:
    assert "errors" not in payload, payload
    data = payload["data"]
    assert isinstance(data, dict), payload
    return data["metrics"]["values"][0]["value"]


async def test_two_gateway_processes_on_one_database_both_deliver_an_update_caused_by_an_ingest_through_either(
    database: TestDatabase, serve: Serve, tenant: dict[str, uuid.UUID],
) -> None:
    # given two gateways on one database, and a subscriber on each
    first, second = await asyncio.gather(serve(database), serve(database))
    token = first.token(tenant["tenant"], "boss")
    async with subscribed(first, token, TENANT_CALLS, {"range": RANGE}) as on_first, \
            subscribed(second, token, TENANT_CALLS, {"range": RANGE}) as on_second:
        assert [calls_total(await on_first.next()), calls_total(await on_second.next())] == [0.0, 0.0]
        # when a call ends through the first
        await ingest(first, tenant["tenant"], [call_event(tenant["agent"])])
        # then both push it
        assert [calls_total(await on_first.next()), calls_total(await on_second.next())] == [1.0, 1.0]
        # and the same through the second
        await ingest(second, tenant["tenant"], [call_event(tenant["agent"])])
        assert [calls_total(await on_first.next()), calls_total(await on_second.next())] == [2.0, 2.0]


async def test_subscribers_on_different_workers_of_one_gateway_all_get_the_update(
    database: TestDatabase, serve: Serve, tenant: dict[str, uuid.UUID],
) -> None:
    # given `serve --workers 2`, and subscribers until both workers hold some (the kernel picks the worker)
    served = await serve(database, workers=2)
    assert len(served.workers) == 2
    token = served.token(tenant["tenant"], "boss")
    held: dict[int, list[Subscriber]] = {}
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(MOST_SOCKETS):
            subscriber = await stack.enter_async_context(subscribed(served, token, TENANT_CALLS, {"range": RANGE}))
            assert calls_total(await subscriber.next()) == 0.0
            worker = await asyncio.to_thread(served.worker_holding, subscriber.ws.local_address[1])
            assert worker is not None
            held.setdefault(worker, []).append(subscriber)
            if len(held) == 2:
                break
        assert sorted(held) == sorted(served.workers)
        # when a call ends (through whichever worker takes the request)
        await ingest(served, tenant["tenant"], [call_event(tenant["agent"])])
        # then every subscriber, on either worker, gets it
        everyone = [s for subscribers in held.values() for s in subscribers]
        assert [calls_total(await s.next()) for s in everyone] == [1.0] * len(everyone)
