"""A report worker process with test steps: `python -m tests.reports.worker_runner`, driven by test_worker_processes.

It runs `callpulse worker`'s own loop (gateway.commands.worker.run: pools, signals, graceful stop) with steps that
leave traces in tables of the test database instead of building reports:

    runs (execution_id, attempt, pid)   one row per run; its key refuses a second run of one attempt
    drained (execution_id)              with CALLPULSE_TEST_EXACTLY_ONCE=1: a second run of an execution fails
    sends (execution_id, attempt, delivery_id, pid)   every send
    marks (execution_id, attempt, step, pid)          CALLPULSE_TEST_BLOCK_AT=claimed|rendering|sending: the step
                                                      reached, where the process then blocks for the test to kill it
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from typing import Final

import asyncpg

from gateway.auth import Principal
from gateway.commands import worker as report_worker
from gateway.db import TenantSession
from gateway.logs import configure_logging
from gateway.reports.queue import Job
from gateway.reports.result import Column, ColumnKind, ReportResult
from gateway.reports.worker import DeliveryRequest, Handlers, RenderedFile, RowSource, SendOutcome
from gateway.settings import Settings

TABLES: Final = """
CREATE TABLE runs (execution_id uuid, attempt int, pid int, PRIMARY KEY (execution_id, attempt));
CREATE TABLE drained (execution_id uuid PRIMARY KEY, pid int);
CREATE TABLE sends (execution_id uuid, attempt int, delivery_id uuid, pid int);
CREATE TABLE marks (execution_id uuid, attempt int, step text, pid int);
"""
RUN: Final = "INSERT INTO runs VALUES ($1, $2, $3)"
DRAINED: Final = "INSERT INTO drained VALUES ($1, $2)"
SEND: Final = "INSERT INTO sends VALUES ($1, $2, $3, $4)"
MARK: Final = "INSERT INTO marks VALUES ($1, $2, $3, $4)"


class Steps:
    def __init__(self, side: asyncpg.Pool, block_at: str, exactly_once: bool) -> None:
        self.side = side
        self.block_at = block_at
        self.exactly_once = exactly_once

    async def _step(self, job: Job, step: str) -> None:
        if step == self.block_at:
            await self.side.execute(MARK, job.id, job.attempt, step, os.getpid())
            await asyncio.Event().wait()  # until killed

    async def run(self, job: Job, session: TenantSession, principal: Principal) -> ReportResult:
        await self._step(job, "claimed")
        await self.side.execute(RUN, job.id, job.attempt, os.getpid())
        if self.exactly_once:
            await self.side.execute(DRAINED, job.id, os.getpid())
        tenants = await session.fetchval("SELECT count(*) FROM tenants")
        return ReportResult(title="Test", parameters=[], summary=[], columns=[Column("n", "N", ColumnKind.INTEGER)],
                            rows=[(tenants,), (job.attempt,)])

    async def render(self, job: Job, result: ReportResult, rows: RowSource, row_count: int) -> RenderedFile:
        await self._step(job, "rendering")

        async def pieces() -> AsyncIterator[bytes]:
            async for chunk in rows():
                yield b"".join(f"{r[0]}\n".encode() for r in chunk)

        return RenderedFile("test.csv", "text/csv", pieces())

    async def deliver(self, request: DeliveryRequest) -> SendOutcome:
        await self.side.execute(SEND, request.job.id, request.job.attempt, request.delivery_id, os.getpid())
        await self._step(request.job, "sending")
        return SendOutcome.ok()


async def main() -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    side = await asyncpg.create_pool(os.environ["CALLPULSE_TEST_SIDE_DSN"], min_size=1, max_size=2)
    assert side is not None
    try:
        steps = Steps(side, os.environ.get("CALLPULSE_TEST_BLOCK_AT", ""),
                      os.environ.get("CALLPULSE_TEST_EXACTLY_ONCE") == "1")
        await report_worker.run(settings, handlers=Handlers(run=steps.run, render=steps.render,
                                                            deliver=steps.deliver))
    finally:
        await side.close()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
