"""Report workers as separate processes: several draining one queue, and workers killed in the middle of a run.

The workers are `callpulse worker`'s own loop with test steps (tests/reports/worker_runner.py); each process has
CALLPULSE_DB_POOL_MAX=2 and real time: leases of 1.5 s run out by themselves once their worker is killed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

import asyncpg
import pytest

from gateway import db as dbmod
from gateway.reports import store
from gateway.reports.queue import NewExecution, Recipient, RecordedPrincipal, enqueue
from gateway.reports.worker import delivery_identity
from tests.conftest import TestDatabase
from tests.reports.queue_support import QUEUE_TABLES, add_tenant, queue_database_fixture  # noqa: F401  (fixture)
from tests.reports.worker_runner import TABLES

ROOT: Final = Path(__file__).resolve().parents[2]
CALLPULSE: Final = str(Path(sys.executable).with_name("callpulse"))
READY: Final = "callpulse worker: ready"
# Generous bounds for a loaded CI machine: reaching them fails the test, nothing is asserted about speed.
START_SECONDS: Final = 60.0
DRAIN_SECONDS: Final = 120.0
HOOK: Final = Recipient("webhook", "https://hooks.example.com/reports")
ADMIN: Final = RecordedPrincipal(subject="svc-scheduler", roles=("admin",))


def worker_env(database: TestDatabase, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPULSE_") and k != "DATABASE_URL"}
    env.update({
        "DATABASE_URL": database.admin_dsn,
        "CALLPULSE_TEST_SIDE_DSN": database.admin_dsn,
        "CALLPULSE_DB_POOL_MIN": "1",
        "CALLPULSE_DB_POOL_MAX": "2",
        "CALLPULSE_MIGRATE_ON_START": "false",
        "CALLPULSE_REPORT_LEASE_SECONDS": "1.5",
        "CALLPULSE_REPORT_POLL_SECONDS": "0.1",
        "CALLPULSE_REPORT_RETRY_SECONDS": "0.2",
        "CALLPULSE_REPORT_SCHEDULE_SECONDS": "0.5",
        "CALLPULSE_REPORT_STOP_SECONDS": "5",
        "PYTHONPATH": str(ROOT),
        **extra,
    })
    return env


@dataclass
class Workers:
    """Worker processes started by a test, their output in files; all are gone when the test ends."""

    directory: Path
    started: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def start(self, env: dict[str, str], command: list[str] | None = None) -> subprocess.Popen[bytes]:
        log = self.directory / f"worker-{len(self.started)}.log"
        output: IO[bytes] = log.open("wb")
        process = subprocess.Popen(command or [sys.executable, "-m", "tests.reports.worker_runner"], cwd=ROOT,
                                   env=env, stdout=output, stderr=subprocess.STDOUT)
        output.close()
        self.started.append((process, log))
        return process

    def output(self, process: subprocess.Popen[bytes]) -> str:
        return next(log for p, log in self.started if p is process).read_text(errors="replace")

    async def ready(self, *processes: subprocess.Popen[bytes]) -> None:
        for process in processes:
            for _ in range(int(START_SECONDS / 0.05)):
                if READY in self.output(process):
                    break
                assert process.poll() is None, f"the worker exited early:\n{self.output(process)}"
                await asyncio.sleep(0.05)
            else:
                pytest.fail(f"the worker did not become ready:\n{self.output(process)}")

    def stop_all(self) -> None:
        for process, _ in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(30)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.stop_all()


@pytest.fixture(scope="module")
async def side_pool(queue_database: TestDatabase) -> AsyncIterator[asyncpg.Pool]:
    """The module's maintenance pool, with the tables the runner's steps write to."""
    pool = await dbmod.create_pool(queue_database.admin_dsn, min_size=1, max_size=3)
    await pool.execute(TABLES)
    yield pool
    await pool.close()


@pytest.fixture
async def side(side_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """The same, emptied after the test."""
    yield side_pool
    await side_pool.execute(f"TRUNCATE {QUEUE_TABLES}, runs, drained, sends, marks CASCADE")


async def enqueue_many(pool: asyncpg.Pool, tenant_id: uuid.UUID, count: int,
                       recipients: tuple[Recipient, ...] = ()) -> list[uuid.UUID]:
    async with pool.acquire() as conn:
        return [await enqueue(conn, NewExecution(tenant_id=tenant_id, report_type="test_rows", output_format="csv",
                                                 principal=ADMIN, recipients=recipients), max_attempts=3)
                for _ in range(count)]


async def wait_until(pool: asyncpg.Pool, query: str, expected: object, *args: object,
                     seconds: float = DRAIN_SECONDS) -> None:
    """Polls `query` until it answers `expected` (a bound, not a timing: reaching it fails the test)."""
    value = None
    for _ in range(int(seconds / 0.1)):
        value = await pool.fetchval(query, *args)
        if value == expected:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"{query!r} still answers {value!r}, not {expected!r}")


async def test_four_worker_processes_drain_200_executions_none_lost_none_run_twice(
        queue_database: TestDatabase, side: asyncpg.Pool, workers: Workers) -> None:
    # given
    tenant_id = await add_tenant(side)
    ids = await enqueue_many(side, tenant_id, 200)
    # when: four processes drain the queue
    env = worker_env(queue_database, CALLPULSE_TEST_EXACTLY_ONCE="1")
    processes = [workers.start(env) for _ in range(4)]
    await workers.ready(*processes)
    await wait_until(side, "SELECT count(*) FROM report_executions WHERE status = 'completed'", 200)
    for process in processes:
        process.send_signal(signal.SIGTERM)
    codes = [process.wait(30) for process in processes]
    # then: each ran exactly once, to its end
    outputs = "\n".join(workers.output(p) for p in processes)
    assert codes == [0, 0, 0, 0], outputs
    assert await side.fetchval("SELECT count(*) FROM drained") == 200
    assert await side.fetchval("SELECT count(*) FROM runs") == 200
    rows = await side.fetch("SELECT id, status, attempt, row_count FROM report_executions")
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert {(r["status"], r["attempt"], r["row_count"]) for r in rows} == {("completed", 1, 2)}
    assert "duplicate key" not in outputs
    assert "ERROR" not in outputs
    # more than one process took part (the queue is shared, not handed to whoever came first)
    assert await side.fetchval("SELECT count(DISTINCT pid) FROM runs") > 1


async def test_a_worker_killed_at_any_step_leaves_its_execution_to_be_retried_under_the_same_delivery_identity(
        queue_database: TestDatabase, side: asyncpg.Pool, workers: Workers) -> None:
    # given: three runs, each held by a worker that stops at a different step
    tenant_id = await add_tenant(side)
    ids = await enqueue_many(side, tenant_id, 3, recipients=(HOOK,))
    steps = ("claimed", "rendering", "sending")
    doomed = [workers.start(worker_env(queue_database, CALLPULSE_TEST_BLOCK_AT=step)) for step in steps]
    await wait_until(side, "SELECT array_agg(step ORDER BY step) FROM marks", sorted(steps))
    marks = {r["step"]: r for r in await side.fetch("SELECT * FROM marks")}
    # when: each is killed there, with no chance to clean up
    for process in doomed:
        process.kill()
        process.wait(30)
    assert {r["status"] for r in await side.fetch("SELECT status FROM report_executions")} == {"processing"}
    # then: a worker that comes along later takes each over once its lease has run out, and completes it
    rescuer = workers.start(worker_env(queue_database))
    await wait_until(side, "SELECT count(*) FROM report_executions WHERE status = 'completed'", 3)
    rescuer.send_signal(signal.SIGTERM)
    assert rescuer.wait(30) == 0
    for step in steps:
        execution = marks[step]["execution_id"]
        assert marks[step]["attempt"] == 1
        row = await side.fetchrow("SELECT * FROM report_executions WHERE id = $1", execution)
        assert row is not None
        assert (row["status"], row["attempt"], row["result_attempt"]) == ("completed", 2, 2), step
        [delivery] = await store.deliveries(side, tenant_id, execution)
        sends = await side.fetch("SELECT attempt, delivery_id FROM sends WHERE execution_id = $1 ORDER BY attempt",
                                 execution)
        # the same identity on every attempt: derived from the execution and the recipient
        assert delivery.delivery_id == delivery_identity(execution, HOOK)
        assert {s["delivery_id"] for s in sends} == {delivery.delivery_id}, step
        expected_sends = [1, 2] if step == "sending" else [2]
        assert [s["attempt"] for s in sends] == expected_sends, step
        assert (delivery.status, delivery.attempts) == ("sent", len(expected_sends)), step
    assert sorted(ids) == sorted(m["execution_id"] for m in marks.values())


async def test_callpulse_worker_runs_a_real_report_and_stops_on_sigterm(
        queue_database: TestDatabase, side: asyncpg.Pool, workers: Workers) -> None:
    tenant_id = await add_tenant(side, "Europe/Berlin")
    async with side.acquire() as conn:
        execution = await enqueue(conn, NewExecution(
            tenant_id=tenant_id, report_type="agent_performance", output_format="csv", principal=ADMIN,
            params={"range": {"preset": "LAST_7_DAYS"}}), max_attempts=1)
    process = workers.start(worker_env(queue_database), [CALLPULSE, "worker", "--concurrency", "2"])
    await workers.ready(process)
    await wait_until(side, "SELECT status IN ('completed', 'failed') FROM report_executions WHERE id = $1", True,
                     execution)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0, workers.output(process)
    row = await side.fetchrow("SELECT * FROM report_executions WHERE id = $1", execution)
    assert row is not None
    assert (row["status"], row["error"]) == ("completed", None)
    assert row["content_type"].startswith("text/csv")
    assert "2 at once" in workers.output(process)
