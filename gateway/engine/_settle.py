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
    if not coroutines:
        return []
    loop = asyncio.get_running_loop()
    results: list[Any] = [None] * len(coroutines)
    remaining = len(coroutines)
    finished = loop.create_future()
    # What each coroutine waits on, and the end of all of them once the caller has been cancelled.
    waiting: list[asyncio.Future[Any] | None] = [None] * len(coroutines)
    unwound = loop.create_future()
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
                waiting[index] = yielded
                yielded.add_done_callback(lambda _: step(index), context=context)
                return
            if yielded is None:
                loop.call_soon(step, index, context=context)  # a bare yield (asyncio.sleep(0))
                return
            coroutine.close()
            results[index] = Raised(RuntimeError(f"a resolver yielded {yielded!r}, not a future"))
        remaining -= 1
        if remaining == 0:
            for done in (finished, unwound):
                if not done.done():
                    done.set_result(None)

    for index in range(len(coroutines)):
        context.run(step, index)
    try:
        await finished
    except asyncio.CancelledError:
        # As a Task is cancelled: the future each coroutine waits on is cancelled, so it resumes with the
        # CancelledError where it waits and unwinds (asyncpg cancels its statement in the server; closing the
        # coroutine instead would leave the statement running and its connection busy).
        for future in waiting:
            if future is not None:
                future.cancel()
        if remaining:
            await unwound
        raise
    finally:
        if not remaining:
            # `step` refers to itself (through its callbacks' closures): a cycle that would keep the results and
            # the operation's context (its loaders and every row they hold) alive until a garbage collection.
            # Nothing calls it once every coroutine has finished.
            del step
    for result in results:
        if isinstance(result, asyncio.CancelledError):
            raise result
    return results
