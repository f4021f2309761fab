"""Groups of subscribers asking the same question, refreshed once per change that touches them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

from gateway import clock
from gateway.live import changes
from gateway.live.changes import Change, Interest

log = logging.getLogger(__name__)

# What a refresh raises when the database cannot be reached: subscribers keep their last state.
UNREACHABLE: Final = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                      asyncpg.CannotConnectNowError)

# A burst of signals (an ingest of many batches) becomes one refresh per group.
DEFAULT_DEBOUNCE_SECONDS: Final = 0.05
# Joins after which the hub freezes the heap out of the cycle collector, once they settle (see LiveHub).
FREEZE_AFTER_JOINS: Final = 500
FREEZE_SETTLE_SECONDS: Final = 1.0
# Batches a feed subscriber may have waiting before it is told to resume from its cursor.
FEED_QUEUE_LIMIT: Final = 64


class SlowConsumer(Exception):
    """A feed subscriber fell too far behind; it resumes from its cursor."""


@dataclass(frozen=True)
class Shared:
    """One result, serialised once, for every subscriber it goes to: the JSON of {"data", "errors"}."""

    payload: str


class SharedData(dict[str, object]):
    """The `data` of a result that is already serialised: the websocket sends `payload` as it is."""

    def __init__(self, shared: Shared) -> None:
        super().__init__()
        self.payload = shared.payload


@dataclass
class Refreshed:
    """What a refresh produced: the state to push (None: nothing new) and what the question now reads."""

    result: Shared | None
    interest: Interest
    # When the question's meaning moves without any change (TODAY at local midnight).
    rolls_at: datetime | None = None
    # SQL statements the refresh ran.
    statements: int = 0


class Subscriber:
    """One subscription's mailbox: the latest state only (a slow client skips states, never backs up), or for a
    feed a bounded queue of batches, which overflows into SlowConsumer."""

    def __init__(self, group: Group, *, queue_limit: int | None = None) -> None:
        self.group = group
        self.queue_limit = queue_limit
        self._items: deque[Shared] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False
        # Feed subscribers: their position (the group reads and sets it).
        self.cursor: object = None

    def offer(self, item: Shared) -> None:
        if self.queue_limit is None:
            self._items.clear()
        elif len(self._items) >= self.queue_limit:
            self.overflowed = True
        self._items.append(item)
        self._ready.set()

    async def next(self) -> Shared:
        while not self._items:
            if self.overflowed:
                raise SlowConsumer
            self._ready.clear()
            await self._ready.wait()
        if self.overflowed:
            raise SlowConsumer
        return self._items.popleft()

    @property
    def waiting(self) -> int:
        return len(self._items)


class Group:
    """Subscribers of one question; at most one refresh in flight, another queued if a change came meanwhile."""

    def __init__(self, hub: LiveHub, key: Hashable,
                 refresh: Callable[[Group], Awaitable[Refreshed]] | None) -> None:
        self.hub = hub
        self.key = key
        self.refresh_fn = refresh
        # What a feed keeps between refreshes (its snapshot), and the lock its joins and refreshes take turns on.
        self.state: Any = None
        self.lock = asyncio.Lock()
        self.subscribers: set[Subscriber] = set()
        self.current: Shared | None = None
        self.interest: Interest | None = None
        self.rolls_at: datetime | None = None
        self.refreshes = 0
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._first = asyncio.Event()

    @property
    def refreshing(self) -> bool:
        """Whether a refresh is scheduled or running."""
        return self._task is not None and not self._task.done()

    def touch(self, delay: float) -> None:
        """Schedules a refresh after `delay` (coalesced with one already scheduled or running)."""
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(delay))

    async def _run(self, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        while self._dirty and self.subscribers:
            self._dirty = False
            try:
                assert self.refresh_fn is not None
                async with self.hub.refresh_slots:
                    refreshed = await self.refresh_fn(self)
            except asyncio.CancelledError:
                raise
            except UNREACHABLE as e:
                log.warning("a live refresh could not reach the database (%s); keeping the last state", e)
                self._first.set()
                continue
            except Exception:
                log.exception("a live refresh failed: %r", self.key)
                self._first.set()
                continue
            self.refreshes += 1
            self.hub.refreshes += 1
            self.hub.refresh_statements += refreshed.statements
            self.interest, self.rolls_at = refreshed.interest, refreshed.rolls_at
            if refreshed.result is not None:
                self.publish(refreshed.result)
            self._first.set()
            self.hub.rollover_changed()

    def publish(self, result: Shared) -> None:
        """Pushes a new state to every subscriber, unless it is the state they have."""
        if self.current is not None and result.payload == self.current.payload:
            return
        self.current = result
        for subscriber in self.subscribers:
            subscriber.offer(result)

    async def first_result(self) -> None:
        await self._first.wait()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


class LiveHub:
    """The process's live groups, the change signals they listen to, and the clock they roll over with."""

    def __init__(self, *, debounce_seconds: float = DEFAULT_DEBOUNCE_SECONDS, refresh_concurrency: int = 4) -> None:
        self.groups: dict[Hashable, Group] = {}
        self.debounce_seconds = debounce_seconds
        self.refresh_slots = asyncio.Semaphore(refresh_concurrency)
        self.refreshes = 0
        self.refresh_statements = 0
        self.changes = 0
        self._rollover_moved = asyncio.Event()
        self._roller: asyncio.Task[None] | None = None
        # Subscriptions live for hours and make most of a busy process's objects (≈140 KB each): once a burst
        # of them has joined, they are frozen out of the cycle collector, whose full passes would otherwise
        # walk them all (seconds for 10,000) and stall every push.
        self._joined_since_freeze = 0
        self._freezer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._roller = asyncio.create_task(self._roll_over(), name="callpulse-live-rollover")

    async def stop(self) -> None:
        if self._freezer is not None:
            self._freezer.cancel()
        for group in list(self.groups.values()):
            group.stop()
        if self._roller is not None:
            self._roller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._roller

    async def join(self, key: Hashable, make: Callable[[Group], Callable[[Group], Awaitable[Refreshed]]], *,
                   queue_limit: int | None = None,
                   on_join: Callable[[Group, Subscriber], Awaitable[None]] | None = None) -> Subscriber:
        """A new subscriber of the question `key` (`make` gives a new group its refresh). A state subscriber
        first gets the group's current state (a new group's first refresh); a feed's `on_join` positions the
        subscriber under the group's lock, so that no refresh runs between its catch-up and its joining."""
        group = self.groups.get(key)
        created = group is None
        if group is None:
            group = Group(self, key, None)
            group.refresh_fn = make(group)
            self.groups[key] = group
        subscriber = Subscriber(group, queue_limit=queue_limit)
        if on_join is not None:
            async with group.lock:
                await on_join(group, subscriber)
                group.subscribers.add(subscriber)
        else:
            group.subscribers.add(subscriber)
            if group.current is not None:
                subscriber.offer(group.current)
        if created or group.current is None:
            # A new group's first refresh (or another try, if the last one failed); coalesced if one runs.
            group.touch(0)
        self._joined_since_freeze += 1
        if self._joined_since_freeze >= FREEZE_AFTER_JOINS and (self._freezer is None or self._freezer.done()):
            self._freezer = asyncio.create_task(self._freeze_when_settled())
        return subscriber

    async def _freeze_when_settled(self) -> None:
        """Once no subscriber has joined for a second: what exists now leaves the cycle collector's walks."""
        while True:
            seen = self._joined_since_freeze
            await asyncio.sleep(FREEZE_SETTLE_SECONDS)
            if self._joined_since_freeze == seen:
                break
        self._joined_since_freeze = 0
        gc.freeze()

    def leave(self, subscriber: Subscriber) -> None:
        group = subscriber.group
        group.subscribers.discard(subscriber)
        if not group.subscribers and self.groups.get(group.key) is group:
            # The last one out stops all work of the question.
            del self.groups[group.key]
            group.stop()

    def on_payload(self, channel: str, payload: str) -> None:
        change = changes.parse(payload, channel)
        if change is not None:
            self.on_change(change)

    def on_change(self, change: Change) -> None:
        """Refreshes the groups the change touches, and only those."""
        self.changes += 1
        for group in self.groups.values():
            # A group whose first refresh is still running does not know what it reads yet: it may have read
            # before this change committed, so it refreshes once more.
            if group.interest is None or group.interest.touched_by(change):
                group.touch(self.debounce_seconds)

    async def resync(self) -> None:
        """Refreshes every group (after the listener reconnected: signals may have been missed)."""
        for group in list(self.groups.values()):
            group.touch(0)

    def stats(self) -> dict[str, int]:
        """Counters for operators and benchmarks (GET /stats/live)."""
        return {"groups": len(self.groups),
                "subscribers": sum(len(g.subscribers) for g in self.groups.values()),
                "changes": self.changes, "refreshes": self.refreshes,
                "refreshStatements": self.refresh_statements}

    def rollover_changed(self) -> None:
        self._rollover_moved.set()

    async def _roll_over(self) -> None:
        """Refreshes groups whose relative range moved on (TODAY at the tenant's local midnight)."""
        while True:
            due = [g.rolls_at for g in self.groups.values() if g.rolls_at is not None]
            deadline = min(due) if due else None
            self._rollover_moved.clear()
            if deadline is None:
                await self._rollover_moved.wait()
                continue
            sleeper = asyncio.create_task(clock.sleep_until(deadline))
            moved = asyncio.create_task(self._rollover_moved.wait())
            await asyncio.wait({sleeper, moved}, return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            moved.cancel()
            now = clock.now()
            for group in list(self.groups.values()):
                if group.rolls_at is not None and group.rolls_at <= now:
                    group.rolls_at = None
                    group.touch(0)
