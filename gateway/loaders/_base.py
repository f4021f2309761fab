"""What every loader shares: the operation's tenant session and key-ordered results."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from aiodataloader import DataLoader

from gateway.db import TenantSession

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def in_key_order(keys: Sequence[K], values: Iterable[V], key_of: Callable[[V], K]) -> list[V | None]:
    """Loader results in the order of `keys`, None where nothing matched."""
    by_key = {key_of(v): v for v in values}
    return [by_key.get(k) for k in keys]


class TenantLoader(DataLoader[K, V]):
    """A DataLoader whose batches run on the operation's tenant-scoped session."""

    def __init__(self, db: TenantSession) -> None:
        super().__init__()
        self.db = db

    async def load_many(self, keys: Iterable[K]) -> list[V]:  # type: ignore[override]
        """The values of `keys` in order, as aiodataloader's load_many, without its asyncio.gather.

        gather puts a done-callback on every key's future, each run by the event loop once the batch resolves:
        a few hundred loop callbacks for one page of rows. The keys' futures are all resolved by one batch (or
        are cached), so they are awaited in turn instead: the first wait lasts until the batch is in, the others
        are done by then.
        """
        futures = [self.load(key) for key in keys]
        try:
            return [await future for future in futures]
        except BaseException:
            # gather would have retrieved the other keys' errors too (nothing logs them as never retrieved).
            for future in futures:
                if future.done() and not future.cancelled():
                    future.exception()
            raise

    async def load_all(self, keys: Sequence[K | None]) -> list[V | None]:
        """The values of `keys` in order, None for a None key: one future per distinct key, one batch."""
        distinct = list(dict.fromkeys(k for k in keys if k is not None))
        found = dict(zip(distinct, await self.load_many(distinct), strict=True)) if distinct else {}
        return [found[k] if k is not None else None for k in keys]
