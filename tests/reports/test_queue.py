"""The execution queue against a real PostgreSQL: claims, leases, retries, and the fence on stale attempts.

Time is the fake clock's (each call takes `now`), so a lease runs out by moving time, not by waiting.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.reports import queue, store
from gateway.reports.queue import Completion, LeasePolicy
from gateway.reports.result import Column, ColumnKind, ReportResult
from tests.reports.queue_support import (  # noqa: F401  (fixtures)
    QueueDatabase,
    qdb_fixture,
    queue_database_fixture,
    queue_pools_fixture,
)

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
POLICY = LeasePolicy(lease=timedelta(seconds=30), max_attempts=3, retry=timedelta(seconds=10))


def _result(rows: int) -> ReportResult:
    return ReportResult(title="t", parameters=[], summary=[], columns=[Column("n", "N", ColumnKind.INTEGER)],
                        rows=[(i,) for i in range(rows)])


async def test_a_claim_takes_the_oldest_pending_execution_under_a_lease_as_attempt_one(qdb: QueueDatabase) -> None:
    # given
    first = await qdb.enqueue(now=T0)
    await qdb.enqueue(now=T0 + timedelta(seconds=1))
    # when
    async with qdb.admin.acquire() as conn:
        job = await queue.claim(conn, "w1", POLICY, now=T0 + timedelta(seconds=2))
    # then
    assert job is not None
    assert (job.id, job.attempt, job.lease_owner) == (first, 1, "w1")
    row = await qdb.row(first)
    assert row["status"] == "processing"
    assert row["lease_expires_at"] == T0 + timedelta(seconds=32)
    assert row["started_at"] == T0 + timedelta(seconds=2)


async def test_concurrent_claims_never_take_the_same_execution(qdb: QueueDatabase) -> None:
    ids = {await qdb.enqueue(now=T0) for _ in range(10)}

    async def claimer(name: str) -> list[uuid.UUID]:
        taken = []
        async with qdb.admin.acquire() as conn:
            while (job := await queue.claim(conn, name, POLICY, now=T0)) is not None:
                taken.append(job.id)
        return taken

    claimed = await asyncio.gather(*(claimer(f"w{i}") for i in range(4)))
    everything = [i for taken in claimed for i in taken]
    assert sorted(map(str, everything)) == sorted(map(str, ids))  # each exactly once


async def test_a_leased_execution_is_not_claimed_again_before_its_lease_runs_out(qdb: QueueDatabase) -> None:
    await qdb.enqueue(now=T0)
    async with qdb.admin.acquire() as conn:
        assert await queue.claim(conn, "w1", POLICY, now=T0) is not None
        assert await queue.claim(conn, "w2", POLICY, now=T0 + timedelta(seconds=29)) is None


async def test_a_renewed_lease_holds_past_the_first_expiry(qdb: QueueDatabase) -> None:
    await qdb.enqueue(now=T0)
    async with qdb.admin.acquire() as conn:
        job = await queue.claim(conn, "w1", POLICY, now=T0)
        assert job is not None
        assert await queue.renew(conn, job, POLICY, now=T0 + timedelta(seconds=20)) == T0 + timedelta(seconds=50)
        assert await queue.claim(conn, "w2", POLICY, now=T0 + timedelta(seconds=40)) is None


async def test_an_expired_lease_is_claimed_again_and_the_stale_attempt_is_fenced_out(qdb: QueueDatabase) -> None:
    # given: worker 1 claimed and wrote part of a result, then stalled past its lease
    execution = await qdb.enqueue(now=T0)
    async with qdb.admin.acquire() as conn:
        stale = await queue.claim(conn, "w1", POLICY, now=T0)
        assert stale is not None
        await store.write_result(conn, stale, _result(5))
        # when: worker 2 claims it after the lease ran out
        fresh = await queue.claim(conn, "w2", POLICY, now=T0 + timedelta(seconds=31))
        assert fresh is not None
        assert (fresh.id, fresh.attempt) == (execution, 2)
        # then: nothing the stale attempt does lands
        assert await queue.renew(conn, stale, POLICY, now=T0 + timedelta(seconds=32)) is None
        with pytest.raises(store.Stale):
            await store.write_result(conn, stale, _result(3))
        done = Completion(summary={"by": "w1"}, row_count=5, result_hash="stale")
        assert await queue.complete(conn, stale, done, now=T0 + timedelta(seconds=33)) is False
        assert await queue.fail(conn, stale, code="INTERNAL", error="late", permanent=True, policy=POLICY,
                                now=T0 + timedelta(seconds=33)) is None
        assert await queue.release(conn, stale, now=T0 + timedelta(seconds=33)) is False
        # and the current attempt completes, its own chunks being the result
        stored = await store.write_result(conn, fresh, _result(2))
        assert await queue.complete(conn, fresh, Completion(summary=stored.header, row_count=stored.row_count,
                                                            result_hash=stored.result_hash),
                                    now=T0 + timedelta(seconds=34))
        chunks = await conn.fetch("SELECT attempt, row_count FROM report_execution_chunks WHERE execution_id = $1",
                                  execution)
    row = await qdb.row(execution)
    assert (row["status"], row["attempt"], row["result_attempt"], row["row_count"]) == ("completed", 2, 2, 2)
    assert [(c["attempt"], c["row_count"]) for c in chunks] == [(2, 2)]
    assert row["lease_owner"] is None


async def test_a_lease_that_runs_out_on_the_last_attempt_fails_the_execution(qdb: QueueDatabase) -> None:
    execution = await qdb.enqueue(now=T0, max_attempts=2)
    async with qdb.admin.acquire() as conn:
        for attempt, at in ((1, T0), (2, T0 + timedelta(seconds=31))):
            job = await queue.claim(conn, f"w{attempt}", POLICY, now=at)
            assert job is not None
            assert job.attempt == attempt
        later = T0 + timedelta(seconds=62)
        # the last attempt's lease ran out: nobody may claim it, the upkeep fails it
        assert await queue.claim(conn, "w3", POLICY, now=later) is None
        assert await queue.reap(conn, now=later) == [(qdb.tenant_id, execution)]
    row = await qdb.row(execution)
    assert (row["status"], row["attempt"], row["error_code"]) == ("failed", 2, "INTERNAL")
    assert "attempt 2 of 2 stopped before it finished" in row["error"]
    assert row["finished_at"] == later


async def test_a_failed_attempt_is_retried_after_its_back_off_then_fails_on_the_last(qdb: QueueDatabase) -> None:
    execution = await qdb.enqueue(now=T0, max_attempts=3)
    now = T0
    async with qdb.admin.acquire() as conn:
        for attempt, back_off in ((1, 10), (2, 20)):
            job = await queue.claim(conn, "w", POLICY, now=now)
            assert job is not None
            assert job.attempt == attempt
            failure = await queue.fail(conn, job, code="INTERNAL", error=f"boom {attempt}", permanent=False,
                                       policy=POLICY, now=now)
            assert failure == queue.Failure(status="pending", retry_at=now + timedelta(seconds=back_off))
            assert await queue.claim(conn, "w", POLICY, now=now + timedelta(seconds=back_off - 1)) is None
            now += timedelta(seconds=back_off)
        job = await queue.claim(conn, "w", POLICY, now=now)
        assert job is not None
        assert job.attempt == 3
        failure = await queue.fail(conn, job, code="INTERNAL", error="boom 3", permanent=False, policy=POLICY,
                                   now=now)
        assert failure == queue.Failure(status="failed", retry_at=None)
    row = await qdb.row(execution)
    assert (row["status"], row["attempt"], row["error"], row["finished_at"]) == ("failed", 3, "boom 3", now)


async def test_a_permanent_error_fails_at_once_and_leaves_no_chunks(qdb: QueueDatabase) -> None:
    execution = await qdb.enqueue(now=T0)
    async with qdb.admin.acquire() as conn:
        job = await queue.claim(conn, "w", POLICY, now=T0)
        assert job is not None
        await store.write_result(conn, job, _result(3))
        failure = await queue.fail(conn, job, code="BAD_USER_INPUT", error="no such team", permanent=True,
                                   policy=POLICY, now=T0)
        left = await conn.fetchval("SELECT count(*) FROM report_execution_chunks WHERE execution_id = $1", execution)
    assert failure is not None
    assert failure.status == "failed"
    row = await qdb.row(execution)
    assert (row["status"], row["attempt"], row["error_code"]) == ("failed", 1, "BAD_USER_INPUT")
    assert left == 0


async def test_a_released_execution_is_pending_at_once_without_using_up_an_attempt(qdb: QueueDatabase) -> None:
    execution = await qdb.enqueue(now=T0, max_attempts=1)
    async with qdb.admin.acquire() as conn:
        job = await queue.claim(conn, "w", POLICY, now=T0)
        assert job is not None
        assert await queue.release(conn, job, now=T0 + timedelta(seconds=1))
        again = await queue.claim(conn, "w2", POLICY, now=T0 + timedelta(seconds=1))
    assert again is not None
    assert (again.attempt, again.max_attempts) == (2, 2)
    assert (await qdb.row(execution))["status"] == "processing"


async def test_every_transition_is_announced_on_the_reports_channel(qdb: QueueDatabase) -> None:
    heard: list[dict[str, object]] = []

    def hear(connection: object, pid: int, channel: str, payload: object) -> None:
        heard.append(json.loads(str(payload)))

    listener = await qdb.admin.acquire()
    await listener.add_listener(queue.CHANNEL, hear)
    try:
        execution = await qdb.enqueue(now=T0)
        async with qdb.admin.acquire() as conn:
            job = await queue.claim(conn, "w", POLICY, now=T0)
            assert job is not None
            await queue.complete(conn, job, Completion(summary={}, row_count=0, result_hash="h"), now=T0)
        for _ in range(200):
            if len(heard) == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        await listener.remove_listener(queue.CHANNEL, hear)
        await qdb.admin.release(listener)
    assert [(h["tenant"], h["execution"], h["status"], h["attempt"]) for h in heard] == [
        (str(qdb.tenant_id), str(execution), "processing", 1), (str(qdb.tenant_id), str(execution), "completed", 1)]
