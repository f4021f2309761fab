""""Now", read from one place so tests can set it: the live hub's rollovers and the report scheduler use it.

Production reads the system clock. A test sets or advances a fake time (`set_now`, `advance`, `frozen`);
whoever sleeps until a deadline of this clock (`sleep_until`) wakes when the fake time moves, so a test
jumps to local midnight instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# The fake time, when a test has set one; None reads the system clock. Module state on purpose: "now" is
# process-wide, like the system clock it stands in for.
_fake: datetime | None = None
# Sleepers to wake when the fake time moves: one event per sleeper, set by _moved().
_sleepers: set[asyncio.Event] = set()


def now() -> datetime:
    """The current instant, in UTC."""
    return _fake if _fake is not None else datetime.now(UTC)


def local_now(timezone: str) -> datetime:
    return now().astimezone(ZoneInfo(timezone))


def set_now(instant: datetime | None) -> None:
    """Makes `instant` (timezone-aware) the current time until set again; None returns to the system clock."""
    global _fake
    if instant is not None and instant.tzinfo is None:
        raise ValueError("the fake time must be timezone-aware")
    _fake = None if instant is None else instant.astimezone(UTC)
    _moved()


def advance(delta: timedelta) -> datetime:
    """Moves the fake time on by `delta` (from the system time when none was set); returns the new time."""
    set_now(now() + delta)
    return now()


@contextlib.contextmanager
def frozen(instant: datetime) -> Iterator[None]:
    """The fake time `instant` for the duration of a `with` block."""
    previous = _fake
    set_now(instant)
    try:
        yield
    finally:
        set_now(previous)


def is_fake() -> bool:
    return _fake is not None


async def sleep_until(deadline: datetime, *, at_most: float = 60.0) -> None:
    """Sleeps until this clock reaches `deadline`, or `at_most` seconds, or the fake time moves."""
    delay = min(at_most, (deadline - now()).total_seconds())
    if delay <= 0:
        return
    moved = asyncio.Event()
    _sleepers.add(moved)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(moved.wait(), delay)
    finally:
        _sleepers.discard(moved)


def _moved() -> None:
    for event in list(_sleepers):
        # A sleeper on another loop (a test's second loop) is woken through its own loop.
        with contextlib.suppress(RuntimeError):
            event.set()
