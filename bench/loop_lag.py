"""Event-loop lag while the largest admitted forecast is fitted: chunked fitting against fitting in one piece.

A probe task sleeps 10 ms at a time and records how late it wakes; meanwhile a forecast over the longest series
the API admits (5,000 quarter hours, horizon 366) is fitted, once with `holt_async` (what the resolver uses:
the fit yields every FIT_CHUNK_STEPS bucket-steps) and once with `holt` in a thread (the GIL keeps the loop
waiting anyway). Prints the fit's duration and the probe's worst and p99 lag for each.

    python bench/loop_lag.py [--buckets 4992] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.analysis import FIT_CHUNK_STEPS, MAX_HORIZON, holt, holt_async

PROBE_SECONDS: Final = 0.010


async def probe(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(PROBE_SECONDS)
        lags.append(max(0.0, time.perf_counter() - start - PROBE_SECONDS))


async def measure(label: str, fit: Callable[[], Awaitable[Any]]) -> None:
    lags: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(probe(lags, stop))
    await asyncio.sleep(0.05)
    lags.clear()
    start = time.perf_counter()
    await fit()
    seconds = time.perf_counter() - start
    stop.set()
    await task
    ordered = sorted(lags) or [0.0]
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    print(f"{label:34} fit {seconds * 1000:8.1f} ms   probe lag max {max(ordered) * 1000:7.1f} ms   "
          f"p99 {p99 * 1000:6.1f} ms   median {statistics.median(ordered) * 1000:5.1f} ms   ({len(lags)} wake-ups)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buckets", type=int, default=4992)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    values = [100 + 10 * math.sin(i / 9) + (i % 7) + 0.01 * i for i in range(args.buckets)]
    print(f"series of {args.buckets} buckets, horizon {MAX_HORIZON}, FIT_CHUNK_STEPS {FIT_CHUNK_STEPS:,}")
    for _ in range(args.repeat):
        await measure("holt_async (chunked, the resolver)", lambda: holt_async(values, MAX_HORIZON))
        await measure("holt in a thread (one piece)", lambda: asyncio.to_thread(holt, values, MAX_HORIZON))


if __name__ == "__main__":
    asyncio.run(main())
