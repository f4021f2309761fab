"""One LISTEN connection per gateway process, reconnecting with backoff when the database goes away.

    connect ─▶ LISTEN callpulse_changes ─▶ on_resync (every group refreshes) ─▶ payloads ─▶ on_payload …
       ▲                                                                          │ connection lost (server
       └── sleep: 0.2 s, doubling to 2 s, jittered ◀── connect refused ◀──────────┘ restart, probe timed out)

The connection is its own, not one of the pool's: it stays idle in LISTEN for the life of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import asyncpg

from gateway.live.signals import CHANNELS

log = logging.getLogger(__name__)

FIRST_BACKOFF: Final = 0.2
# Short: a connection attempt costs the server little, and every second here is a second of missed signals
# (made up by the resync, but late).
MAX_BACKOFF: Final = 2.0
# How often a quiet connection is checked: a server that restarted closes it, but a vanished one may not.
PROBE_SECONDS: Final = 5.0
CONNECT_TIMEOUT_SECONDS: Final = 10.0
PROBE: Final = "SELECT 1"


def _jittered(seconds: float) -> float:
    # Replicas that lost the same server do not all come back in the same instant.
    return seconds * random.uniform(0.5, 1.0)


class ChangeListener:
    """Feeds every payload of CHANNELS to `on_payload(channel, payload)`, and calls `on_resync` after each (re)connect.

    Notifications sent while the connection was down are lost: `on_resync` is where the caller catches up
    (the hub refreshes every group), so subscribers see fresh data without subscribing again.
    """

    def __init__(self, dsn: str, on_payload: Callable[[str, str], None],
                 on_resync: Callable[[], Awaitable[None]]) -> None:
        self.dsn = dsn
        self.on_payload = on_payload
        self.on_resync = on_resync
        # Set while LISTENing; `connects` counts the connections that got there.
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
        down_since: float | None = None
        while True:
            try:
                await self._listen_once(down_since)
                log.warning("live listener lost its connection; reconnecting")
                backoff = FIRST_BACKOFF
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as e:
                log.warning("live listener %s (%s); retrying in at most %.1f s",
                            "lost its connection" if self.connected.is_set() else "cannot connect", e, backoff)
            except Exception:
                # Never let the task die: a process that stops listening would serve stale figures for good.
                log.exception("live listener failed; retrying in at most %.1f s", backoff)
            if self.connected.is_set() or down_since is None:
                down_since = time.monotonic()  # the outage began (or start-up found no server)
            self.connected.clear()
            await asyncio.sleep(_jittered(backoff))
            backoff = min(MAX_BACKOFF, backoff * 2)

    async def _listen_once(self, down_since: float | None) -> None:
        """Listens until the connection is lost (returns) or fails (raises)."""
        lost = asyncio.Event()
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT_SECONDS)
        try:
            conn.add_termination_listener(lambda _c: lost.set())

            def deliver(_c: Any, _pid: int, channel: str, payload: object) -> None:
                self.on_payload(channel, str(payload))

            for channel in CHANNELS:
                await conn.add_listener(channel, deliver)
            self.connects += 1
            self.connected.set()
            if self.connects == 1:
                log.info("live listener connected")
            else:
                log.warning("live listener reconnected after %.1f s (connection %d); refreshing every group",
                            time.monotonic() - (down_since or time.monotonic()), self.connects)
            # After LISTEN, so that no change falls between the resync's reads and the first signal.
            await self.on_resync()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PROBE_SECONDS)
                if not lost.is_set():
                    await conn.fetchval(PROBE, timeout=PROBE_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)
