"""A watch on the engine for the test suite: which fields it executed, which operations it left to graphql-core.

    previous = observe.watch(recorder)   # anything with `executed` and `fell_back`
    ...
    observe.watch(previous)

The default observer does nothing. tests/engine sets one for the whole session and fails the run on a schema
field the engine never executed (so never compared with graphql-core) and on an unexpected fallback.
"""

from __future__ import annotations

from typing import Protocol


class Observer(Protocol):
    def executed(self, type_name: str, field_name: str) -> None:
        """The engine ran `type_name.field_name` for the parent objects of one level."""

    def fell_back(self, reason: str) -> None:
        """An operation went to graphql-core instead (the Fallback's message)."""


class _Unobserved:
    def executed(self, type_name: str, field_name: str) -> None:
        return None

    def fell_back(self, reason: str) -> None:
        return None


UNOBSERVED = _Unobserved()
# Module-level on purpose: one watch per process, set only by the test suite; production never sets it.
_current: Observer = UNOBSERVED


def watch(observer: Observer) -> Observer:
    """Installs `observer` and returns the one it replaces."""
    global _current
    previous, _current = _current, observer
    return previous


def current() -> Observer:
    return _current
