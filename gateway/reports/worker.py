"""Report workers: claim an execution, run it as its principal, store the result, render it, deliver it, end it.

    claim ─▶ run (tenant session, RLS) ─▶ result chunks ─▶ render ─▶ file chunks ─▶ deliver ─▶ complete
      └──────────── lease renewed in the background; lost lease ─▶ the run is cancelled ────────────┘

What a run does at each step is pluggable (`Handlers`): the report types, the renderers and the transports live
in their own packages and `default_handlers()` wires them in. A worker runs `concurrency` executions at once
and, beside them, the upkeep: due schedule slots enqueued and executions whose last lease ran out failed.

Errors: a ClientError from a step (bad parameters, a principal that may not read) fails the execution at once
with its code; anything else is logged with its traceback and retried with back-off until the last attempt.
The execution records a message for people, never a stack trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol

import asyncpg

from gateway import clock
from gateway.auth import READERS, Principal
from gateway.db import Conn, Database, TenantSession
from gateway.errors import ClientError, ErrorCode, Forbidden
from gateway.reports import queue, scheduler, store
from gateway.reports.delivery.model import Channel, delivery_id_for
from gateway.reports.queue import Completion, Job, LeasePolicy, Recipient
from gateway.reports.result import ReportResult, Row, chunks_of
from gateway.settings import Settings

log = logging.getLogger(__name__)

# Tries of one delivery within a run when its transport raises (a transport that answers decides itself,
# up to MAX_SEND_TRIES), and the back-off base between them (1 s, 2 s, …).
DELIVERY_TRIES: Final = 3
DELIVERY_RETRY: Final = timedelta(seconds=1)
MAX_SEND_TRIES: Final = 10
# The lease is renewed this many times per lease period: a missed renewal or two is survived.
RENEWALS_PER_LEASE: Final = 3


@dataclass(frozen=True)
class StreamedResult:
    """A result whose rows are too many to hold (call detail): its frame (no rows) and the rows as a stream,
    read inside the run's session while the worker stores them."""

    frame: ReportResult
    row_chunks: AsyncIterator[Sequence[Row]]


class Runner(Protocol):
    """Runs a report as `principal` inside `session` (the tenant's transaction; rolled back afterwards)."""

    async def __call__(self, job: Job, session: TenantSession,
                       principal: Principal) -> ReportResult | StreamedResult: ...


# The stored rows of the run, from the first, a chunk at a time (typed by the columns' kinds); call it again
# to read them again.
RowSource = Callable[[], AsyncIterator[Sequence[Row]]]


@dataclass(frozen=True)
class RenderedFile:
    """A rendered result: its name, content type, and its bytes as a stream."""

    name: str
    content_type: str
    pieces: AsyncIterator[bytes]


class Renderer(Protocol):
    """Renders a result in the job's format. `result.rows` holds the rows unless they were streamed (then it
    is empty); `rows` reads them either way, `row_count` says how many there are."""

    async def __call__(self, job: Job, result: ReportResult, rows: RowSource, row_count: int) -> RenderedFile: ...


@dataclass(frozen=True)
class StoredFile:
    """The rendered file as stored for an attempt; read back a piece at a time."""

    tenant_id: uuid.UUID
    execution_id: uuid.UUID
    attempt: int
    name: str
    content_type: str
    size: int
    _pool: asyncpg.Pool

    def pieces(self) -> AsyncIterator[bytes]:
        return _pooled_pieces(self._pool, self)

    async def read(self) -> bytes:
        return b"".join([piece async for piece in self.pieces()])


async def _pooled_pieces(pool: asyncpg.Pool, file: StoredFile) -> AsyncIterator[bytes]:
    async with pool.acquire() as conn:
        async for piece in store.stream_file(conn, file.tenant_id, file.execution_id, file.attempt):
            yield piece


@dataclass(frozen=True)
class DeliveryRequest:
    """One send to one recipient. `delivery_id` is the same on every retry (Message-ID, X-CallPulse-Delivery)."""

    job: Job
    channel: str
    recipient: str
    delivery_id: uuid.UUID
    attempt: int  # of this delivery, from 1
    title: str
    summary: dict[str, object]
    row_count: int
    file: StoredFile
    result: ReportResult


@dataclass(frozen=True)
class SendOutcome:
    """One send's end: sent, or not with the error and, when another try may help, the wait before it."""

    sent: bool
    error: str | None = None
    retry_in_seconds: float | None = None

    @classmethod
    def ok(cls) -> SendOutcome:
        return cls(sent=True)


class Deliverer(Protocol):
    """Makes one attempt at one send; an exception counts as a failed attempt worth retrying."""

    async def __call__(self, request: DeliveryRequest) -> SendOutcome: ...


@dataclass(frozen=True)
class Handlers:
    run: Runner
    render: Renderer
    deliver: Deliverer
    # Releases what the steps hold (an HTTP client), when the worker stops.
    close: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 1
    policy: LeasePolicy = field(default_factory=LeasePolicy)
    poll: timedelta = timedelta(seconds=1)
    schedule: timedelta = timedelta(seconds=15)
    stop_grace: timedelta = timedelta(seconds=8)
    delivery_tries: int = DELIVERY_TRIES
    delivery_retry: timedelta = DELIVERY_RETRY

    @classmethod
    def of(cls, settings: Settings, concurrency: int | None = None) -> WorkerOptions:
        return cls(concurrency=max(1, settings.report_workers if concurrency is None else concurrency),
                   policy=LeasePolicy(lease=timedelta(seconds=settings.report_lease_seconds),
                                      max_attempts=settings.report_max_attempts,
                                      retry=timedelta(seconds=settings.report_retry_seconds)),
                   poll=timedelta(seconds=settings.report_poll_seconds),
                   schedule=timedelta(seconds=settings.report_schedule_seconds),
                   stop_grace=timedelta(seconds=settings.report_stop_seconds))


def delivery_identity(execution_id: uuid.UUID, recipient: Recipient) -> uuid.UUID:
    """The identity of sending one execution to one recipient: derived, so the same on every attempt."""
    return uuid.UUID(delivery_id_for(execution_id, Channel(recipient.channel), recipient.address))


def worker_name() -> str:
    """The lease owner this process writes: host, pid and a random part (a restarted pid is another owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LostLease(Exception):
    """The run's lease was taken over (it ran out) or the execution ended elsewhere: stop without writing."""


class Worker:
    """Runs report executions from the queue until stopped; several per process, any number of processes."""

    def __init__(self, database: Database, handlers: Handlers, options: WorkerOptions | None = None,
                 name: str | None = None) -> None:
        self.database = database
        self.handlers = handlers
        self.options = options or WorkerOptions()
        self.name = name or worker_name()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    # The loops ----------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Claims and runs executions (and keeps the schedule) until `stop()`; then lets runs finish or hands
        them back within the grace period."""
        loops = [asyncio.create_task(self._claim_loop()) for _ in range(self.options.concurrency)]
        upkeep = asyncio.create_task(self._upkeep_loop())
        try:
            await self._stopping.wait()
        finally:
            self._stopping.set()
            self._wake.set()
            upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upkeep
            await self._drain(loops)
            if self.handlers.close is not None:
                await self.handlers.close()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _drain(self, loops: list[asyncio.Task[None]]) -> None:
        _, pending = await asyncio.wait(loops, timeout=self.options.stop_grace.total_seconds())
        if pending:
            log.info("report worker %s: stopping; handing back %d unfinished run(s)", self.name, len(pending))
            for task in pending:
                task.cancel()
            await asyncio.wait(pending)

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                worked = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("report worker %s: claiming failed; trying again", self.name)
                worked = False
            if not worked:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.options.poll.total_seconds())

    async def _upkeep_loop(self) -> None:
        while True:
            try:
                await self.upkeep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("report worker %s: schedule upkeep failed; trying again", self.name)
            await asyncio.sleep(self.options.schedule.total_seconds())

    async def upkeep(self, now: datetime | None = None) -> list[scheduler.Enqueued]:
        """Fails executions whose last lease ran out, and enqueues due schedule slots."""
        async with self.database.admin.acquire() as conn:
            await queue.reap(conn, now=now)
            enqueued = await scheduler.enqueue_due(conn, max_attempts=self.options.policy.max_attempts, now=now)
        if any(e.execution_id is not None for e in enqueued):
            self._wake.set()
        return enqueued

    # One execution ------------------------------------------------------------------------------------------

    async def run_once(self) -> bool:
        """Claims one execution and runs it to its end; False when there was nothing to claim."""
        async with self.database.admin.acquire() as conn:
            job = await queue.claim(conn, self.name, self.options.policy)
        if job is None:
            return False
        await self.execute(job)
        return True

    async def execute(self, job: Job) -> None:
        """Runs a claimed job under its lease; every way out leaves the execution consistent."""
        current = asyncio.current_task()
        assert current is not None
        steps = asyncio.create_task(self._steps(job))
        lost = asyncio.Event()
        renewal = asyncio.create_task(self._renew(job, steps, lost))
        try:
            await steps
        except asyncio.CancelledError:
            if lost.is_set() and not current.cancelling():
                # Cancelled by the renewal: another attempt may hold the execution now; write nothing more.
                log.warning("execution %s attempt %d: the lease was lost; the run was stopped", job.id, job.attempt)
                return
            await self._release(job)
            raise
        except (LostLease, store.Stale) as e:
            log.warning("execution %s attempt %d: %s; stopped without writing more", job.id, job.attempt, e)
        except ClientError as e:
            await self._fail(job, e.code.value, e.message, permanent=True)
        except Exception as e:
            log.exception("execution %s (tenant %s, %s) attempt %d of %d failed", job.id, job.tenant_id,
                          job.report_type, job.attempt, job.max_attempts)
            await self._fail(job, ErrorCode.INTERNAL.value,
                             f"the report could not be produced ({type(e).__name__}); attempt {job.attempt} of "
                             f"{job.max_attempts}; the worker's log has the details (execution {job.id})",
                             permanent=False)
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal

    async def _steps(self, job: Job) -> None:
        principal = job.principal.principal(job.tenant_id)
        if not principal.has(*READERS):
            raise Forbidden("the report's principal holds no role that may read reports (was its creator "
                            "removed from the directory?)")
        admin = self.database.admin
        session = TenantSession(self.database.app, job.tenant_id)
        try:
            output = await self.handlers.run(job, session, principal)
            async with admin.acquire() as conn:
                if isinstance(output, StreamedResult):
                    result = output.frame
                    stored = await store.write_result(conn, job, result, output.row_chunks)
                else:
                    result = output
                    stored = await store.write_result(conn, job, result)
        finally:
            # A report reads; nothing it might have written is kept.
            await session.close(commit=False)
        rendered = await self.handlers.render(job, result, self._stored_rows(job, result, stored),
                                              stored.row_count)
        async with admin.acquire() as conn:
            size = await store.write_file(conn, job, rendered.pieces)
        file = StoredFile(job.tenant_id, job.id, job.attempt, rendered.name, rendered.content_type, size, admin)
        await self._deliver(job, result, stored, file)
        async with admin.acquire() as conn:
            done = await queue.complete(conn, job, Completion(
                summary=stored.header, row_count=stored.row_count, result_hash=stored.result_hash,
                file_name=rendered.name, content_type=rendered.content_type, file_bytes=size))
        if not done:
            raise LostLease("the execution moved on before this attempt completed it")

    def _stored_rows(self, job: Job, result: ReportResult, stored: store.StoredResult) -> RowSource:
        if result.rows or stored.row_count == 0:
            rows = result.rows
            return lambda: chunks_of(rows, store.CHUNK_ROWS)
        kinds = [c.kind for c in result.columns]
        pool = self.database.admin

        async def read() -> AsyncIterator[Sequence[Row]]:
            async with pool.acquire() as conn:
                async for chunk in store.stream_rows(conn, job.tenant_id, job.id, job.attempt, kinds):
                    yield chunk

        return read

    async def _deliver(self, job: Job, result: ReportResult, stored: store.StoredResult, file: StoredFile) -> None:
        if not job.recipients:
            return
        admin = self.database.admin
        async with admin.acquire() as conn:
            identities = [delivery_identity(job.id, r) for r in job.recipients]
            deliveries = await store.ensure_deliveries(conn, job, identities, clock.now())
            skip = await self._skip_reason(conn, job, stored)
        for delivery in deliveries:
            if delivery.status != "pending":
                continue  # sent (or given up) by an earlier attempt: under normal operation, one each
            if skip is not None:
                async with admin.acquire() as conn:
                    await store.end_send(conn, job, delivery, status="skipped", error=skip, retry_at=None,
                                         now=clock.now())
                continue
            await self._send(job, result, stored, file, delivery)

    async def _skip_reason(self, conn: Conn, job: Job, stored: store.StoredResult) -> str | None:
        if job.delivery_mode == "only_rows" and stored.row_count == 0:
            return "not sent: the result has no rows (delivery only when there are rows)"
        if job.delivery_mode == "only_changed" and await store.previous_hash(conn, job) == stored.result_hash:
            return "not sent: the result is the same as the last run's (delivery only when it changed)"
        return None

    async def _send(self, job: Job, result: ReportResult, stored: store.StoredResult, file: StoredFile,
                    delivery: store.Delivery) -> None:
        """Tries one delivery until it is sent, fails for good, or runs out of tries; each try recorded."""
        admin = self.database.admin
        for tries in range(1, MAX_SEND_TRIES + 1):
            async with admin.acquire() as conn:
                attempt = await store.start_send(conn, job, delivery, clock.now())
            request = DeliveryRequest(job=job, channel=delivery.channel, recipient=delivery.recipient,
                                      delivery_id=delivery.delivery_id, attempt=attempt, title=result.title,
                                      summary=stored.header, row_count=stored.row_count, file=file, result=result)
            try:
                outcome = await self.handlers.deliver(request)
            except Exception as e:
                log.exception("execution %s: delivery %s failed unexpectedly", job.id, delivery.delivery_id)
                backoff = self.options.delivery_retry * 2 ** (tries - 1)
                outcome = SendOutcome(sent=False, error=f"the send failed ({type(e).__name__}); the worker's log "
                                      "has the details",
                                      retry_in_seconds=(backoff.total_seconds()
                                                        if tries < self.options.delivery_tries else None))
            if outcome.sent:
                async with admin.acquire() as conn:
                    await store.end_send(conn, job, delivery, status="sent", error=None, retry_at=None,
                                         now=clock.now())
                return
            wait = outcome.retry_in_seconds if tries < MAX_SEND_TRIES else None
            retry_at = None if wait is None else clock.now() + timedelta(seconds=wait)
            async with admin.acquire() as conn:
                await store.end_send(conn, job, delivery, status="failed" if wait is None else "pending",
                                     error=outcome.error or "not sent", retry_at=retry_at, now=clock.now())
            # Not the address: a webhook URL may carry the receiver's token.
            log.warning("execution %s: %s delivery %s, try %d, not sent: %s", job.id, delivery.channel,
                        delivery.delivery_id, tries, outcome.error)
            if wait is None:
                return
            await asyncio.sleep(max(0.0, wait))

    async def _renew(self, job: Job, work: asyncio.Task[None], lost: asyncio.Event) -> None:
        """Keeps the lease while the run is alive; cancels the run when the lease is gone or ran out unrenewed."""
        interval = self.options.policy.lease.total_seconds() / RENEWALS_PER_LEASE
        expires = job.lease_expires_at
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.database.admin.acquire() as conn:
                    renewed = await queue.renew(conn, job, self.options.policy)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("execution %s: renewing the lease failed (%s); trying again", job.id, e)
                if clock.now() < expires:
                    continue
                renewed = None
            if renewed is None:
                lost.set()
                work.cancel()
                return
            expires = renewed

    async def _fail(self, job: Job, code: str, message: str, *, permanent: bool) -> None:
        async with self.database.admin.acquire() as conn:
            failure = await queue.fail(conn, job, code=code, error=message, permanent=permanent,
                                       policy=self.options.policy)
        if failure is None:
            log.warning("execution %s attempt %d: the failure was not recorded (a newer attempt holds it)",
                        job.id, job.attempt)
        elif failure.status == "pending":
            log.info("execution %s: attempt %d failed; retry at %s", job.id, job.attempt,
                     failure.retry_at.isoformat() if failure.retry_at else "once")

    async def _release(self, job: Job) -> None:
        try:
            async with self.database.admin.acquire() as conn:
                released = await queue.release(conn, job)
        except Exception:
            log.exception("execution %s: handing it back failed; its lease will run out instead", job.id)
            return
        if released:
            log.info("execution %s attempt %d handed back unfinished (the worker is stopping)", job.id, job.attempt)


# The real handlers -------------------------------------------------------------------------------------------


def default_handlers(settings: Settings) -> Handlers:
    """The report types, renderers and transports of this build (gateway/reports/handlers.py)."""
    from gateway.reports.handlers import real_handlers

    return real_handlers(settings)
