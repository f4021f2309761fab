"""One LISTEN connection per gateway process, reconnecting with backoff when the database goes away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import asyncpg

from gateway.live.signals import CHANNEL

log = logging.getLogger(__name__)

FIRST_BACKOFF: Final = 0.2
MAX_BACKOFF: Final = 5.0
# How often a quiet connection is checked: a server that restarted closes it, but a vanished one may not.
PROBE_SECONDS: Final = 5.0


class ChangeListener:
    """Feeds every `callpulse_changes` payload to `on_payload`, and calls `on_resync` after each (re)connect.

    Notifications sent while the connection was down are lost: `on_resync` is where the caller catches up
    (the hub refreshes every group), so subscribers see fresh data without subscribing again.
    """

    def __init__(self, dsn: str, on_payload: Callable[[str], None], on_resync: Callable[[], Awaitable[None]]) -> None:
        self.dsn = dsn
        self.on_payload = on_payload
        self.on_resync = on_resync
        self.connected = asyncio.Event()
        self.connects = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="callpulse-live-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while True:
            try:
                await self._listen_once()
                backoff = FIRST_BACKOFF
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as e:
                log.warning("live listener lost its connection (%s); retrying in %.1f s", e, backoff)
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)

    async def _listen_once(self) -> None:
        lost = asyncio.Event()
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn, timeout=10)
        try:
            conn.add_termination_listener(lambda _c: lost.set())

            def deliver(_c: Any, _pid: int, _channel: str, payload: object) -> None:
                self.on_payload(str(payload))

            await conn.add_listener(CHANNEL, deliver)
            self.connects += 1
            self.connected.set()
            log.info("live listener connected (connection %d)", self.connects)
            await self.on_resync()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PROBE_SECONDS)
                if not lost.is_set():
                    await conn.fetchval("SELECT 1", timeout=PROBE_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)
