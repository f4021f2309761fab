"""A report worker in this process, with test steps: what a run stores, how it fails, delivers, stops and yields.

The multi-process and crash tests are in test_worker_processes.py.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest

from gateway import clock
from gateway.auth import Principal, Role
from gateway.db import TenantSession
from gateway.errors import BadUserInput
from gateway.reports import queue, store
from gateway.reports.queue import Job, LeasePolicy, Recipient, RecordedPrincipal
from gateway.reports.result import Chart, ChartKind, Column, ColumnKind, ReportResult, Row, SummaryFigure, Table
from gateway.reports.store import ReportDefinition
from gateway.reports.worker import (
    DeliveryRequest,
    Handlers,
    RenderedFile,
    RowSource,
    SendOutcome,
    StreamedResult,
    Worker,
    WorkerOptions,
    default_handlers,
    delivery_identity,
)
from tests.conftest import GatewayFactory, settings_for
from tests.reports.queue_support import (  # noqa: F401  (fixtures)
    QueueDatabase,
    add_tenant,
    qdb_fixture,
    queue_database_fixture,
    queue_pools_fixture,
)

OPTIONS = WorkerOptions(policy=LeasePolicy(lease=timedelta(seconds=0.9), max_attempts=2,
                                           retry=timedelta(milliseconds=10)),
                        poll=timedelta(milliseconds=50), schedule=timedelta(seconds=60),
                        stop_grace=timedelta(milliseconds=200), delivery_retry=timedelta(milliseconds=10))
STREAMED_ROWS = """
SELECT date '2025-06-01' + (i % 30), i, i / 4.0 FROM generate_series(0, $1 - 1) AS i
"""
OUTCOMES = Table("outcomes", "Outcomes", [Column("outcome", "Outcome"), Column("calls", "Calls", ColumnKind.INTEGER)],
                 [("answered", 3), ("abandoned", 1)])
MAIL = Recipient("email", "ana@example.com")
HOOK = Recipient("webhook", "https://hooks.example.com/in")
COLUMNS = [Column("day", "Day", ColumnKind.DATE), Column("calls", "Calls", ColumnKind.INTEGER),
           Column("revenue", "Revenue", ColumnKind.MONEY)]


@dataclass
class Steps:
    """Test steps: `rows` rows per run (params["rows"]), sends answered by `answers` in turn (then sent)."""

    runs: list[tuple[Job, Principal, int]] = field(default_factory=list)
    sends: list[DeliveryRequest] = field(default_factory=list)
    answers: list[SendOutcome] = field(default_factory=list)
    error: Exception | None = None
    hold: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False

    async def run(self, job: Job, session: TenantSession, principal: Principal) -> ReportResult | StreamedResult:
        # what the report sees is its tenant's, through row-level security
        tenants = await session.fetchval("SELECT count(*) FROM tenants")
        self.runs.append((job, principal, tenants))
        self.started.set()
        if self.hold is not None:
            try:
                await self.hold.wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        if self.error is not None:
            raise self.error
        count = int(job.params.get("rows", 3))
        if job.params.get("stream"):
            frame = ReportResult(title="Detail", parameters=[], summary=[], columns=COLUMNS, rows=[])
            return StreamedResult(frame, self._streamed(session, count))
        rows: list[Row] = [(date(2025, 6, 1) + timedelta(days=i % 30), i, Decimal(i) / 4) for i in range(count)]
        return ReportResult(title="Calls", parameters=[("Range", "June")],
                            summary=[SummaryFigure("Calls", count, ColumnKind.INTEGER)], columns=COLUMNS, rows=rows,
                            tables=[OUTCOMES], charts=[Chart(ChartKind.BAR, "Outcomes", "outcome", ("calls",),
                                                             table="outcomes")])

    async def _streamed(self, session: TenantSession, count: int) -> AsyncIterator[list[Row]]:
        # A server-side cursor in the run's own transaction, as the call-detail export reads its calls.
        async for chunk in session.chunks(STREAMED_ROWS, count, size=777):
            yield [tuple(r) for r in chunk]

    async def render(self, job: Job, result: ReportResult, rows: RowSource, row_count: int) -> RenderedFile:
        async def pieces() -> AsyncIterator[bytes]:
            async for chunk in rows():
                yield "".join(",".join(map(str, row)) + "\n" for row in chunk).encode()

        return RenderedFile(name="calls.csv", content_type="text/csv", pieces=pieces())

    async def deliver(self, request: DeliveryRequest) -> SendOutcome:
        self.sends.append(request)
        return self.answers.pop(0) if self.answers else SendOutcome.ok()

    @property
    def handlers(self) -> Handlers:
        return Handlers(run=self.run, render=self.render, deliver=self.deliver)


def worker(qdb: QueueDatabase, steps: Steps, options: WorkerOptions = OPTIONS) -> Worker:
    return Worker(qdb.pools, steps.handlers, options, name="test-worker")


async def deliveries(qdb: QueueDatabase, execution: uuid.UUID) -> list[store.Delivery]:
    async with qdb.admin.acquire() as conn:
        return await store.deliveries(conn, qdb.tenant_id, execution)


async def test_a_run_stores_its_rows_in_chunks_and_its_file_delivers_and_completes(qdb: QueueDatabase) -> None:
    # given: another tenant the report must not see
    async with qdb.admin.acquire() as conn:
        await add_tenant(conn)
    steps = Steps()
    execution = await qdb.enqueue(params={"rows": 2500}, recipients=(MAIL, HOOK))
    # when
    assert await worker(qdb, steps).run_once()
    # then
    row = await qdb.row(execution)
    assert (row["status"], row["attempt"], row["row_count"], row["error"]) == ("completed", 1, 2500, None)
    assert (row["file_name"], row["content_type"]) == ("calls.csv", "text/csv")
    [(job, principal, tenants_seen)] = steps.runs
    assert job.id == execution
    assert principal == Principal(user_id="00000000-0000-0000-0000-0000000000aa", tenant_id=qdb.tenant_id,
                                  roles=frozenset({Role.ADMIN}))
    assert tenants_seen == 1
    async with qdb.admin.acquire() as conn:
        chunks = await conn.fetch("SELECT kind, seq, row_count FROM report_execution_chunks "
                                  "WHERE execution_id = $1 ORDER BY kind, seq", execution)
        done = await store.execution_by_id(conn, qdb.tenant_id, execution)
        assert done is not None
        result = await store.load_result(conn, done)
        file = b"".join([p async for p in store.stream_file(conn, qdb.tenant_id, execution, 1)])
    assert [(c["kind"], c["seq"], c["row_count"]) for c in chunks] == [
        ("file", 0, None), ("rows", 0, 1000), ("rows", 1, 1000), ("rows", 2, 500)]
    assert result is not None
    assert result.rows[1] == (date(2025, 6, 2), 1, Decimal("0.25"))
    assert len(result.rows) == 2500
    assert [(f.label, f.value) for f in result.summary] == [("Calls", 2500)]
    assert result.tables == [OUTCOMES]
    assert [c.table for c in result.charts] == ["outcomes"]
    assert file.startswith(b"2025-06-01,0,0\n2025-06-02,1,0.25\n")
    assert row["file_bytes"] == len(file)
    sent = await deliveries(qdb, execution)
    assert [(d.channel, d.recipient, d.status, d.attempts) for d in sent] == [
        ("email", MAIL.address, "sent", 1), ("webhook", HOOK.address, "sent", 1)]
    assert sorted(str(s.delivery_id) for s in steps.sends) == sorted(str(d.delivery_id) for d in sent)
    for request in steps.sends:
        assert (request.file.size, await request.file.read()) == (len(file), file)


async def test_a_streamed_result_is_stored_as_it_is_read_and_rendered_from_the_stored_chunks(
        qdb: QueueDatabase) -> None:
    steps = Steps()
    execution = await qdb.enqueue(params={"rows": 12_345, "stream": True})
    assert await worker(qdb, steps).run_once()
    row = await qdb.row(execution)
    assert (row["status"], row["row_count"]) == ("completed", 12_345)
    async with qdb.admin.acquire() as conn:
        chunks = await conn.fetchval("SELECT count(*) FROM report_execution_chunks "
                                     "WHERE execution_id = $1 AND kind = 'rows'", execution)
        file = b"".join([p async for p in store.stream_file(conn, qdb.tenant_id, execution, 1)])
    assert chunks == 13  # 12 of 1,000 and one of 345, whatever size the stream came in
    lines = file.decode().splitlines()
    assert len(lines) == 12_345
    assert lines[12_344] == "2025-06-15,12344,3086.0000000000000000"  # typed back: a date, a Decimal


async def test_a_run_that_raises_is_retried_then_fails_with_a_message_and_no_stack_trace(
        qdb: QueueDatabase, caplog: pytest.LogCaptureFixture) -> None:
    steps = Steps(error=RuntimeError("connection to 10.0.0.7 refused"))
    execution = await qdb.enqueue(max_attempts=2)
    w = worker(qdb, steps)
    assert await w.run_once()
    assert (await qdb.row(execution))["status"] == "pending"
    await asyncio.sleep(0.05)  # the back-off (10 ms)
    assert await w.run_once()
    row = await qdb.row(execution)
    assert (row["status"], row["attempt"], row["error_code"]) == ("failed", 2, "INTERNAL")
    assert "RuntimeError" in row["error"]
    assert "Traceback" not in row["error"]
    assert "10.0.0.7" not in row["error"]
    assert "connection to 10.0.0.7 refused" in caplog.text  # the log has it, the execution does not


async def test_a_client_error_fails_the_execution_at_once_with_its_code(qdb: QueueDatabase) -> None:
    steps = Steps(error=BadUserInput("the team does not exist", argument="teamIds"))
    execution = await qdb.enqueue(max_attempts=3)
    assert await worker(qdb, steps).run_once()
    row = await qdb.row(execution)
    assert (row["status"], row["attempt"], row["error_code"], row["error"]) == (
        "failed", 1, "BAD_USER_INPUT", "the team does not exist")


async def test_a_principal_left_without_a_role_runs_nothing(qdb: QueueDatabase) -> None:
    steps = Steps()
    execution = await qdb.enqueue(principal=RecordedPrincipal(subject="gone", roles=()))
    assert await worker(qdb, steps).run_once()
    row = await qdb.row(execution)
    assert (row["status"], row["error_code"]) == ("failed", "FORBIDDEN")
    assert steps.runs == []


async def test_only_rows_skips_the_delivery_of_an_empty_result(qdb: QueueDatabase) -> None:
    steps = Steps()
    execution = await qdb.enqueue(params={"rows": 0}, recipients=(MAIL,), delivery_mode="only_rows")
    assert await worker(qdb, steps).run_once()
    assert (await qdb.row(execution))["status"] == "completed"
    [skipped] = await deliveries(qdb, execution)
    assert (skipped.status, skipped.attempts) == ("skipped", 0)
    assert "no rows" in (skipped.last_error or "")
    assert steps.sends == []


async def test_only_changed_delivers_a_result_only_when_it_differs_from_the_last_run(qdb: QueueDatabase) -> None:
    session = TenantSession(qdb.pools.app, qdb.tenant_id)
    try:
        report = await store.create_report(session, RecordedPrincipal("svc", ("admin",)),
                                           ReportDefinition(name="Calls", report_type="test_rows"), clock.now())
    finally:
        await session.close(commit=True)
    steps = Steps()
    w = worker(qdb, steps)
    statuses = []
    for rows in (3, 3, 4):
        execution = await qdb.enqueue(params={"rows": rows}, recipients=(MAIL,), delivery_mode="only_changed",
                                      report_id=report.id)
        assert await w.run_once()
        statuses.append([d.status for d in await deliveries(qdb, execution)])
    assert statuses == [["sent"], ["skipped"], ["sent"]]


async def test_a_failing_receiver_is_retried_and_every_attempt_is_recorded(qdb: QueueDatabase) -> None:
    steps = Steps(answers=[SendOutcome(sent=False, error="HTTP 503", retry_in_seconds=0.01),
                           SendOutcome(sent=False, error="HTTP 503", retry_in_seconds=0.01)])
    execution = await qdb.enqueue(recipients=(HOOK,))
    assert await worker(qdb, steps).run_once()
    [delivery] = await deliveries(qdb, execution)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, None)
    assert [s.attempt for s in steps.sends] == [1, 2, 3]
    assert len({s.delivery_id for s in steps.sends}) == 1


async def test_a_receiver_refusing_for_good_fails_its_delivery_but_not_the_execution(qdb: QueueDatabase) -> None:
    steps = Steps(answers=[SendOutcome(sent=False, error="HTTP 410 Gone")])
    execution = await qdb.enqueue(recipients=(HOOK, MAIL))
    assert await worker(qdb, steps).run_once()
    assert (await qdb.row(execution))["status"] == "completed"
    by_channel = {d.channel: d for d in await deliveries(qdb, execution)}
    assert (by_channel["email"].status, by_channel["email"].attempts,
            by_channel["email"].last_error) == ("failed", 1, "HTTP 410 Gone")
    assert by_channel["webhook"].status == "sent"


async def test_a_run_whose_lease_was_taken_over_stops_without_writing(qdb: QueueDatabase) -> None:
    # given: a run in progress
    steps = Steps(hold=asyncio.Event())
    execution = await qdb.enqueue(recipients=(MAIL,))
    run = asyncio.create_task(worker(qdb, steps).run_once())
    await asyncio.wait_for(steps.started.wait(), 5)
    # when: its lease is seen as run out elsewhere (a paused process, a clock jump) and claimed again
    async with qdb.admin.acquire() as conn:
        intruder = await queue.claim(conn, "other", OPTIONS.policy, now=clock.now() + timedelta(seconds=5))
    assert intruder is not None
    assert intruder.attempt == 2
    # then: the renewal finds the lease gone and stops the run, which writes nothing
    assert await asyncio.wait_for(run, 5) is True
    assert steps.cancelled
    row = await qdb.row(execution)
    assert (row["status"], row["attempt"], row["lease_owner"]) == ("processing", 2, "other")
    async with qdb.admin.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM report_execution_chunks WHERE execution_id = $1",
                                   execution) == 0
    assert steps.sends == []


async def test_a_stopping_worker_hands_an_unfinished_run_back_without_using_up_an_attempt(
        qdb: QueueDatabase) -> None:
    steps = Steps(hold=asyncio.Event())
    execution = await qdb.enqueue(max_attempts=2)
    w = worker(qdb, steps)
    running = asyncio.create_task(w.run())
    await asyncio.wait_for(steps.started.wait(), 5)
    w.stop()
    await asyncio.wait_for(running, 5)
    row = await qdb.row(execution)
    assert (row["status"], row["attempt"], row["max_attempts"], row["lease_owner"]) == ("pending", 1, 3, None)
    assert steps.cancelled


async def test_a_stopping_worker_lets_a_run_finish_within_the_grace_period(qdb: QueueDatabase) -> None:
    hold = asyncio.Event()
    steps = Steps(hold=hold)
    execution = await qdb.enqueue()
    w = worker(qdb, steps, WorkerOptions(policy=OPTIONS.policy, poll=OPTIONS.poll, stop_grace=timedelta(seconds=5)))
    running = asyncio.create_task(w.run())
    await asyncio.wait_for(steps.started.wait(), 5)
    w.stop()
    hold.set()
    await asyncio.wait_for(running, 5)
    assert (await qdb.row(execution))["status"] == "completed"


async def test_a_running_worker_drains_the_queue_several_runs_at_a_time(qdb: QueueDatabase) -> None:
    steps = Steps()
    ids = [await qdb.enqueue() for _ in range(5)]
    w = worker(qdb, steps, WorkerOptions(policy=OPTIONS.policy, poll=OPTIONS.poll, concurrency=2))
    running = asyncio.create_task(w.run())
    try:
        for _ in range(200):
            rows = [await qdb.row(i) for i in ids]
            if all(r["status"] == "completed" for r in rows):
                break
            await asyncio.sleep(0.05)
    finally:
        w.stop()
        await running
    assert [r["status"] for r in rows] == ["completed"] * 5
    assert len(steps.runs) == 5


async def test_serve_runs_report_executions_in_its_own_process(qdb: QueueDatabase,
                                                               gateway_factory: GatewayFactory) -> None:
    # given: a gateway with one report worker (the default), polling often
    await gateway_factory(qdb.database, CALLPULSE_REPORT_POLL_SECONDS="0.1")
    # when: a real report is enqueued
    execution = await qdb.enqueue(report_type="agent_performance", output_format="json",
                                  params={"range": {"preset": "LAST_7_DAYS"}})
    # then: the gateway's worker runs it
    for _ in range(300):
        row = await qdb.row(execution)
        if row["status"] in ("completed", "failed"):
            break
        await asyncio.sleep(0.05)
    assert (row["status"], row["error"], row["content_type"]) == ("completed", None, "application/json")


class _Hooks:
    """A local webhook receiver: every POST's headers and JSON body; answers `statuses` in turn, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.received: list[tuple[dict[str, str], dict[str, object]]] = []
        hooks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hooks.received.append((dict(self.headers), json.loads(body)))
                self.send_response(statuses.pop(0) if statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_the_real_steps_run_a_report_and_post_it_to_a_webhook_under_its_delivery_identity(
        qdb: QueueDatabase) -> None:
    # given: a receiver that fails once, and the gateway's own report types, renderers and transports
    hooks = _Hooks([503])
    settings = settings_for(qdb.database, CALLPULSE_WEBHOOK_SECRET="deployment-webhook-secret-0123456789abcdef",
                            CALLPULSE_WEBHOOK_ALLOW_NETWORKS="127.0.0.1/32",
                            CALLPULSE_DELIVERY_RETRY_BASE_SECONDS="0.01")
    handlers = default_handlers(settings)
    recipient = Recipient("webhook", hooks.url)
    execution = await qdb.enqueue(report_type="call", output_format="csv", recipients=(recipient,),
                                  params={"range": {"preset": "LAST_7_DAYS"}})
    try:
        # when
        assert await Worker(qdb.pools, handlers, OPTIONS, name="real").run_once()
    finally:
        hooks.close()
        assert handlers.close is not None
        await handlers.close()
    # then
    row = await qdb.row(execution)
    assert (row["status"], row["error"], row["content_type"]) == ("completed", None, "text/csv; charset=utf-8")
    [delivery] = await deliveries(qdb, execution)
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    identity = str(delivery_identity(execution, recipient))
    assert [h["X-CallPulse-Delivery"] for h, _ in hooks.received] == [identity, identity]
    assert {b["delivery_id"] for _, b in hooks.received} == {identity}
