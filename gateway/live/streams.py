"""What a live subscription field's resolver runs: join the question's group, then yield its shared results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import strawberry
from graphql import GraphQLError, print_ast

from gateway.access import Access
from gateway.auth import READERS
from gateway.context import Context, operation_scope
from gateway.errors import ClientError, ErrorCode
from gateway.live import feed as feed_sql
from gateway.live.changes import Interest
from gateway.live.feed import Cursor, Page
from gateway.live.hub import FEED_QUEUE_LIMIT, Group, LiveHub, Refreshed, Shared, SlowConsumer, Subscriber
from gateway.live.questions import (
    LiveRequest,
    Question,
    Runner,
    Source,
    access_of,
    canonical,
    error_payload,
    live_request,
    refresh_context,
    serialise,
    state_refresh,
)
from gateway.loaders.call import CallRow

# The mailbox of the subscription the current websocket operation follows, set once it has joined its group.
# The operation's own task iterates the resolver's generator, so the handler sees it after the first result
# and from then on sends the mailbox's payloads itself (websocket.py): each result then costs a subscriber
# its frame and its send, not a pass through graphql-core's and Strawberry's per-event machinery.
live_mailbox: ContextVar[Subscriber | None] = ContextVar("callpulse_live_mailbox", default=None)


class SlowConsumerError(ClientError):
    """A feed subscriber fell behind by more than its queue holds."""

    code = ErrorCode.SLOW_CONSUMER


def _request(info: strawberry.Info[Context, None]) -> LiveRequest:
    request = live_request.get()
    if request is not None:
        return request
    # Not through our websocket handlers (a direct schema.subscribe): rebuild the document from the operation.
    raw = info._raw_info
    text = "\n".join(print_ast(d) for d in [raw.operation, *raw.fragments.values()])
    name = raw.operation.name.value if raw.operation.name else None
    return LiveRequest(text, dict(raw.variable_values.sources), name)


def _hub(context: Context) -> LiveHub:
    if not isinstance(context.live, LiveHub):
        raise RuntimeError("live subscriptions need the gateway's live hub")
    return context.live


async def _question(info: strawberry.Info[Context, None], field: str,
                    leave_out: frozenset[str] = frozenset()) -> tuple[Question, LiveRequest, Access]:
    context = info.context
    principal = context.require(*READERS)
    request = _request(info)
    access = await access_of(context)
    question = Question(field, principal.tenant_id, request.query, request.operation_name,
                        canonical(request.variables, leave_out), access)
    return question, request, access


async def follow(info: strawberry.Info[Context, None], field: str, source: Source) -> AsyncIterator[Shared]:
    """The latest state of a question, pushed whenever it changes; a slow client skips states."""
    context = info.context
    hub = _hub(context)
    question, request, _ = await _question(info, field)
    tenant = question.tenant

    def make(_group: Group) -> Callable[[Group], Any]:
        runner = Runner(_strawberry_schema(info), refresh_context(context), request, field)
        return state_refresh(runner, source, Interest(tenant))

    subscriber = await hub.join(question, make)
    live_mailbox.set(subscriber)
    try:
        while True:
            yield await subscriber.next()
    finally:
        hub.leave(subscriber)


def _strawberry_schema(info: strawberry.Info[Context, None]) -> Any:
    return info.schema


class FeedState:
    """A liveCalls group between refreshes: the snapshot its subscribers have all seen at least."""

    def __init__(self, runner: Runner, visible: list[Any] | None) -> None:
        self.runner = runner
        self.visible = visible
        self.snapshot: feed_sql.Snapshot | None = None


def _batch_value(page_calls: list[CallRow], cursor: Cursor, replay: bool) -> Any:
    from gateway.schema.call import Call
    from gateway.schema.live import LiveCallBatch

    return LiveCallBatch(cursor=cursor.encode(), calls=[Call(row=r) for r in page_calls], replay=replay)


async def _shared_page(runner: Runner, calls: list[CallRow], cursor: Cursor, replay: bool) -> Shared:
    return serialise(await runner.execute(_batch_value(calls, cursor, replay)))


def _feed_refresh(group: Group) -> Callable[[Group], Any]:
    async def refresh(_group: Group) -> Refreshed:
        state: FeedState = group.state
        tenant = state.runner.context.require().tenant_id
        async with group.lock, operation_scope(state.runner.context.pool, tenant) as db:
            if state.snapshot is None:
                state.snapshot = await feed_sql.current_snapshot(db)
                return Refreshed(None, Interest(tenant), statements=db.statements)
            base = state.snapshot
            pages: list[Page] = []
            cursor = Cursor(base)
            while True:
                page = await feed_sql.read_page(db, tenant, cursor, state.visible)
                pages.append(page)
                cursor = page.cursor
                if not page.more:
                    break
            end = cursor.base
            calls = [c for p in pages for c in p.calls]
            if calls:
                shared = [await _shared_page(state.runner, [c.row for c in p.calls], p.cursor, False)
                          for p in pages if p.calls]
                for subscriber in group.subscribers:
                    seen = subscriber.cursor
                    if seen == base:
                        for item in shared:
                            subscriber.offer(item)
                        continue
                    # Joined since the last refresh: it has seen more than the group's snapshot.
                    mine = [c.row for c in calls if not (isinstance(seen, feed_sql.Snapshot) and seen.sees(c.writer))]
                    if mine:
                        subscriber.offer(await _shared_page(state.runner, mine, Cursor(end), False))
            for subscriber in group.subscribers:
                subscriber.cursor = end
            state.snapshot = end
            statements = db.statements
        return Refreshed(None, Interest(tenant), statements=statements)

    return refresh


async def feed(info: strawberry.Info[Context, None], after: str | None) -> AsyncIterator[Shared]:
    """Calls as they commit: first what was missed since `after`, then live; a slow client is told to resume."""
    context = info.context
    hub = _hub(context)
    start = Cursor.decode(after) if after is not None else None
    question, request, access = await _question(info, "liveCalls", frozenset({"after"}))
    principal = context.require()
    visible = access.agent_ids

    def make(group: Group) -> Callable[[Group], Any]:
        group.state = FeedState(Runner(_strawberry_schema(info), refresh_context(context), request, "liveCalls"),
                                visible)
        return _feed_refresh(group)

    # What was missed, page by page, before joining (a long replay does not hold the group up).
    replayed: list[Shared] = []
    cursor = start
    if cursor is not None:
        runner = Runner(_strawberry_schema(info), refresh_context(context), request, "liveCalls")
        async with operation_scope(context.pool, principal.tenant_id) as db:
            while True:
                page = await feed_sql.read_page(db, principal.tenant_id, cursor, visible)
                cursor = page.cursor
                if page.calls:
                    replayed.append(await _shared_page(runner, [c.row for c in page.calls], cursor, True))
                if not page.more:
                    break
                if len(replayed) >= FEED_QUEUE_LIMIT:
                    raise SlowConsumerError("too many calls to replay at once: resume from a newer cursor",
                                            cursor=cursor.encode())

    async def on_join(group: Group, subscriber: Subscriber) -> None:
        # Under the group's lock: the calls since the replay's snapshot, then the group's refreshes take over.
        state: FeedState = group.state
        async with operation_scope(context.pool, principal.tenant_id) as db:
            position = cursor if cursor is not None else Cursor(await feed_sql.current_snapshot(db))
            first = True
            while True:
                page = await feed_sql.read_page(db, principal.tenant_id, position, visible)
                position = page.cursor
                if page.calls or (first and not replayed):
                    subscriber.offer(await _shared_page(state.runner, [c.row for c in page.calls], position,
                                                        start is not None))
                first = False
                if not page.more:
                    break
        subscriber.cursor = position.base
        if state.snapshot is None:
            state.snapshot = position.base

    for item in replayed:
        yield item
    subscriber = await hub.join(question, make, queue_limit=FEED_QUEUE_LIMIT, on_join=on_join)
    live_mailbox.set(subscriber)
    try:
        while True:
            try:
                item = await subscriber.next()
            except SlowConsumer:
                raise SlowConsumerError(SLOW_CONSUMER_MESSAGE) from None
            yield item
    finally:
        hub.leave(subscriber)


SLOW_CONSUMER_MESSAGE = ("this client fell behind the calls feed: resume with `after` set to the last cursor "
                         "received")


async def pump(mailbox: Subscriber, send: Callable[[str], Awaitable[None]]) -> None:
    """Sends every payload the mailbox gets, as it is, until the operation ends (or a feed overflows: then its
    SLOW_CONSUMER error, and the operation completes)."""
    while True:
        try:
            shared = await mailbox.next()
        except SlowConsumer:
            await send(error_payload(GraphQLError(SLOW_CONSUMER_MESSAGE,
                                                  extensions={"code": ErrorCode.SLOW_CONSUMER.value})).payload)
            return
        await send(shared.payload)
