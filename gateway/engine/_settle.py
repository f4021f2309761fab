"""Running a level's resolver coroutines to completion together, without a task for each.

`asyncio.gather` wraps every coroutine in a Task: a few hundred per level of a list query, each with its own
scheduling round trips, which was most of the engine's time on a 200-row list. A level's coroutines do not
need that: they are stepped here directly, each resumed by a done-callback of the future it waits on (what a
Task does, without the Task), all in one copy of the caller's context. The DataLoader batching is unchanged:
every coroutine takes its first step before any batch is dispatched.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Sequence
from typing import Any


class Raised:
    """A coroutine's exception, as its result."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def settle(coroutines: Sequence[Coroutine[Any, Any, Any]]) -> list[Any]:
    """The coroutines' results in order; an exception becomes a Raised (cancellation propagates)."""
    loop = asyncio.get_running_loop()
    results: list[Any] = [None] * len(coroutines)
    remaining = len(coroutines)
    finished = loop.create_future()
    context = contextvars.copy_context()

    def step(index: int) -> None:
        nonlocal remaining
        coroutine = coroutines[index]
        try:
            yielded = coroutine.send(None)
        except StopIteration as stop:
            results[index] = stop.value
        except asyncio.CancelledError as cancelled:
            results[index] = cancelled
        except Exception as error:
            results[index] = Raised(error)
        else:
            if getattr(yielded, "_asyncio_future_blocking", False):
                # What Task.__step does with a future it was handed: wait for it, then step again.
                yielded._asyncio_future_blocking = False
                yielded.add_done_callback(lambda _: step(index), context=context)
                return
            if yielded is None:
                loop.call_soon(step, index, context=context)  # a bare yield (asyncio.sleep(0))
                return
            coroutine.close()
            results[index] = Raised(RuntimeError(f"a resolver yielded {yielded!r}, not a future"))
        remaining -= 1
        if remaining == 0 and not finished.done():
            finished.set_result(None)

    if not coroutines:
        return results
    for index in range(len(coroutines)):
        context.run(step, index)
    try:
        await finished
    except asyncio.CancelledError:
        for coroutine in coroutines:
            coroutine.close()
        raise
    for result in results:
        if isinstance(result, asyncio.CancelledError):
            raise result
    return results
