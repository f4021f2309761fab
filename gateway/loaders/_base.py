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
