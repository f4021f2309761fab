"""When to try a failed delivery again: exponential backoff with jitter, as a pure function, and the loop over it.

The worker either keeps a delivery in memory and calls `deliver_with_retries` (each attempt recorded through
`on_attempt`), or stores the outcome and schedules the next attempt `retry_in_seconds` later; either way the
same `RetryPolicy` decides. Attempt numbers start at 1 and survive a crash in the worker's table, so a restarted
worker goes on from the attempt it had reached instead of granting a fresh budget.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from gateway.reports.delivery.model import AttemptOutcome, DeliveryStatus
from gateway.settings import DeliverySettings

# A receiver's Retry-After beyond this is not honoured as such: the policy's maximum applies.
MAX_RETRY_AFTER_SECONDS: Final = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    """Up to `max_attempts` attempts; before attempt n+1 wait about base × 2^(n-1) seconds, at most `max_seconds`."""

    max_attempts: int = 6
    base_seconds: float = 5.0
    max_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_seconds < 0 or self.max_seconds < self.base_seconds:
            raise ValueError("need max_attempts >= 1 and 0 <= base_seconds <= max_seconds")

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> RetryPolicy:
        return cls(max_attempts=settings.max_attempts, base_seconds=settings.retry_base_seconds,
                   max_seconds=settings.retry_max_seconds)

    def delay_after(self, attempt: int, jitter: float, retry_after: float | None = None) -> float | None:
        """Seconds to wait after failed attempt `attempt` (1-based), or None: no attempts left, give up.

        `jitter` in [0, 1) picks a point in the upper half of the backoff ("equal jitter"): retries of many
        deliveries to one receiver spread out, yet none comes back sooner than half the backoff. A receiver's
        Retry-After (429/503) is a floor, capped by `max_seconds`.
        """
        if attempt >= self.max_attempts:
            return None
        backoff = min(self.max_seconds, self.base_seconds * 2.0 ** (attempt - 1))
        delay = backoff / 2 + backoff / 2 * min(max(jitter, 0.0), 1.0)
        if retry_after is not None and retry_after > delay:
            delay = min(retry_after, self.max_seconds, MAX_RETRY_AFTER_SECONDS)
        return delay

    def next_status(self, attempt: int, retryable: bool, retry_after: float | None = None,
                    jitter: float | None = None) -> tuple[DeliveryStatus, float | None]:
        """RETRYING with the wait, or FAILED when the failure is permanent or this was the last attempt."""
        if not retryable:
            return DeliveryStatus.FAILED, None
        delay = self.delay_after(attempt, random.random() if jitter is None else jitter, retry_after)
        return (DeliveryStatus.FAILED, None) if delay is None else (DeliveryStatus.RETRYING, delay)


Attempt = Callable[[int], Awaitable[AttemptOutcome]]


async def deliver_with_retries(attempt: Attempt, *, first_attempt: int = 1,
                               on_attempt: Callable[[AttemptOutcome], Awaitable[None]] | None = None,
                               sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> AttemptOutcome:
    """Runs `attempt(n)` for n = first_attempt, … until one is not RETRYING; returns that last outcome.

    `on_attempt` sees every outcome before the wait that follows it, so each attempt is recorded even if the
    process dies while waiting. The transports decide RETRYING against the policy they were given.
    """
    number = first_attempt
    while True:
        outcome = await attempt(number)
        if on_attempt is not None:
            await on_attempt(outcome)
        if outcome.status is not DeliveryStatus.RETRYING:
            return outcome
        await sleep(outcome.retry_in_seconds or 0.0)
        number += 1
