"""Subscribers' mailboxes: a state keeps only the latest result, a feed a bounded queue that overflows."""

from __future__ import annotations

import json
from typing import Any

from gateway.live.hub import Shared, Subscriber
from gateway.live.streams import pump


def mailbox(limit: int | None) -> Subscriber:
    return Subscriber(group=None, queue_limit=limit)  # type: ignore[arg-type]


async def test_a_state_mailbox_holds_only_the_latest_result() -> None:
    box = mailbox(None)
    for n in range(5):
        box.offer(Shared(f'{{"data": {n}}}'))
    assert box.waiting == 1
    assert (await box.next()).payload == '{"data": 4}'


async def test_a_feed_that_overflows_ends_at_once_with_slow_consumer() -> None:
    box = mailbox(2)
    for n in range(3):
        box.offer(Shared(f'{{"data": {n}}}'))
    sent: list[Any] = []

    async def send(payload: str) -> None:
        sent.append(json.loads(payload))

    await pump(box, send)
    assert len(sent) == 1
    assert sent[0]["data"] is None
    assert [e["extensions"]["code"] for e in sent[0]["errors"]] == ["SLOW_CONSUMER"]
