"""Subscribers' mailboxes: a state keeps only the latest result, a feed a bounded queue that overflows."""

from __future__ import annotations

import json
from typing import Any

import pytest

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


async def test_a_burst_of_joins_is_frozen_out_of_the_cycle_collector_once_it_settles(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import gc
    import uuid

    from gateway.live import hub as hub_module
    from gateway.live.changes import Interest
    from gateway.live.hub import Group, LiveHub, Refreshed

    monkeypatch.setattr(hub_module, "FREEZE_SETTLE_SECONDS", 0.05)
    live = LiveHub()

    async def refresh(_group: Group) -> Refreshed:
        return Refreshed(None, Interest(uuid.uuid4()))

    frozen_before = gc.get_freeze_count()
    try:
        for n in range(hub_module.FREEZE_AFTER_JOINS):
            await live.join(("question", n % 3), lambda _group: refresh)
        assert gc.get_freeze_count() == frozen_before
        await asyncio.sleep(0.3)
        assert gc.get_freeze_count() > frozen_before
    finally:
        gc.unfreeze()
        await live.stop()
