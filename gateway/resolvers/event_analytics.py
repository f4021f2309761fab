"""Event analytics over the generic `track` events: totals, top names and per-name series."""

from __future__ import annotations

from datetime import date, datetime

from gateway.context import Context
from gateway.errors import BadUserInput
from gateway.loaders import track_events as track_sql
from gateway.loaders.track_events import Level
from gateway.periods import Granularity, bucket_starts, instants_of, local_midnight
from gateway.resolvers.metrics import period_of
from gateway.schema.event_analytics import (
    EventAnalytics,
    EventCategory,
    EventCategoryCount,
    EventNameCount,
    EventNameSeries,
)
from gateway.schema.metrics import DateRange

MAX_TOP = 50
MAX_NAMES = 20
MAX_NAME_LENGTH = 200


async def event_analytics(context: Context, rng: DateRange, category: EventCategory | None, names: list[str] | None,
                          granularity: Granularity, top: int) -> EventAnalytics:
    """Aggregates about the tenant's users: for roles that may read tenant-wide figures."""
    (await context.access()).require_aggregates()
    if not 1 <= top <= MAX_TOP:
        raise BadUserInput(f"top must be 1 to {MAX_TOP}", argument="top")
    if names is not None and not 1 <= len(names) <= MAX_NAMES:
        raise BadUserInput(f"ask for 1 to {MAX_NAMES} event names", argument="names")
    if names is not None and any(len(n) > MAX_NAME_LENGTH or "\x00" in n for n in names):
        raise BadUserInput(f"event names have at most {MAX_NAME_LENGTH} characters and no NUL", argument="names")
    period, timezone = await period_of(context, rng)
    starts = bucket_starts(period, granularity, timezone)
    start, end = instants_of(period, timezone)
    flt = track_sql.TrackFilter(start, end, category.value if category is not None else None, names)
    totals = await track_sql.totals(context.db, flt)
    overall = next((t for t in totals if t.level is Level.OVERALL), None)
    by_name = sorted((t for t in totals if t.level is Level.NAME and t.name is not None),
                     key=lambda t: (-t.events, t.name or ""))
    by_category = sorted((t for t in totals if t.level is Level.CATEGORY), key=lambda t: -t.events)
    charted = names if names is not None else [t.name for t in by_name[:top] if t.name is not None]
    buckets = await track_sql.series(context.db, track_sql.TrackFilter(start, end, flt.category, charted), timezone,
                                     granularity.value) if charted else []
    return EventAnalytics(
        from_=period.start, to=period.end, events=overall.events if overall else 0,
        unique_users=overall.users if overall else 0,
        by_category=[EventCategoryCount(category=_category(t.category), events=t.events, unique_users=t.users)
                     for t in by_category],
        top_names=[EventNameCount(name=t.name or "", category=_category(t.category), events=t.events,
                                  unique_users=t.users) for t in by_name[:top]],
        granularity=granularity, bucket_starts=starts,
        series=_series(charted, buckets, starts, timezone),
    )


def _category(value: str | None) -> EventCategory | None:
    return EventCategory(value) if value is not None else None


def _series(names: list[str], buckets: list[track_sql.TrackBucket], starts: list[datetime],
            timezone: str) -> list[EventNameSeries]:
    position = {s: i for i, s in enumerate(starts)}
    events = {n: [0] * len(starts) for n in names}
    users = {n: [0] * len(starts) for n in names}
    for b in buckets:
        at = _start(b.day, b.instant, timezone)
        if b.name in events and at in position:
            events[b.name][position[at]] = b.events
            users[b.name][position[at]] = b.users
    return [EventNameSeries(name=n, events=events[n], unique_users=users[n]) for n in names]


def _start(day: date | None, instant: datetime | None, timezone: str) -> datetime | None:
    if day is not None:
        return local_midnight(day, timezone)
    return instant
