"""Batched forms of resolvers: one call for all the parent objects of a level instead of one per parent.

    @strawberry.field(description="The agent who handled the call.")
    @batched(lambda context, calls: Agent.load_many(context, [c.row.agent_id for c in calls]))
    async def agent(self, info: strawberry.Info[Context, None]) -> Agent | None:
        return await Agent.load(info.context, self.row.agent_id)

The planned engine calls the batched form with the operation's Context, the parents in order and the field's
arguments (converted as for the resolver); it returns one value per parent, where an Exception stands for that
parent's error. graphql-core (the reference, and the fallback) keeps calling the resolver itself, so both forms
must agree — the shadow executor checks that they do on every operation of the test suite.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar

BATCH_ATTRIBUTE: Final = "__callpulse_batch__"

F = TypeVar("F", bound=Callable[..., Any])
BatchForm = Callable[..., Awaitable[Sequence[Any]]]


def batched(form: BatchForm) -> Callable[[F], F]:
    """Marks a resolver with its batched form `form(context, parents, **arguments)`."""

    def mark(resolver: F) -> F:
        setattr(resolver, BATCH_ATTRIBUTE, form)
        return resolver

    return mark


def batch_form(resolver: Any) -> BatchForm | None:
    form: BatchForm | None = getattr(resolver, BATCH_ATTRIBUTE, None)
    return form
