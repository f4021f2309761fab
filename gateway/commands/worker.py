"""`callpulse worker`: a process that runs report executions (and keeps the schedules), and serves nothing.

Distinct from `serve --workers N`, which forks processes serving HTTP. `serve` also runs report jobs itself
(CALLPULSE_REPORT_WORKERS per process, 0 to leave them to `callpulse worker`); any number of either may run
against one database: the queue hands each execution to one of them at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from typing import Final

from gateway import db as dbmod
from gateway import pools
from gateway.reports.worker import Handlers, Worker, WorkerOptions, default_handlers
from gateway.settings import Settings

STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)
# Printed (to stderr) once the worker takes jobs: scripts and tests wait for it.
READY_LINE: Final = "callpulse worker: ready"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    w = sub.add_parser("worker", help="run report executions and scheduled reports (no HTTP)")
    w.add_argument("--concurrency", type=_concurrency, default=None,
                   help="executions run at once (default: CALLPULSE_REPORT_WORKERS, at least 1)")


def _concurrency(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"not a number of executions (1 or more): {raw!r}")
    return int(raw)


async def open_pools(settings: Settings, concurrency: int) -> dbmod.Database:
    """The maintenance pool (claims, results; one connection per run plus one for the upkeep) and the request
    pool the reports run on, after migrations when enabled."""
    return await pools.open_database(settings, admin_max_size=concurrency + 1, partitions=False)


async def run(settings: Settings, *, concurrency: int | None = None, handlers: Handlers | None = None,
              on_ready: Callable[[Worker], None] | None = None) -> None:
    """Runs a worker until SIGTERM or SIGINT; then lets its runs finish (CALLPULSE_REPORT_STOP_SECONDS) or hands
    them back to the queue."""
    options = WorkerOptions.of(settings, concurrency)
    database = await open_pools(settings, options.concurrency)
    try:
        worker = Worker(database, handlers or default_handlers(settings), options)
        loop = asyncio.get_running_loop()
        previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, worker.stop)
        try:
            print(f"{READY_LINE} ({worker.name}, {options.concurrency} at once)", file=sys.stderr, flush=True)
            if on_ready is not None:
                on_ready(worker)
            await worker.run()
        finally:
            for sig, handler in previous.items():
                loop.remove_signal_handler(sig)
                with contextlib.suppress(TypeError, ValueError):
                    signal.signal(sig, handler)
    finally:
        await database.close()
