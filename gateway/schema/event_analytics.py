"""EventAnalytics: counts, unique users and series of the generic `track` events over a range."""

from __future__ import annotations

import enum
from datetime import date, datetime

import strawberry

from gateway.periods import Granularity


@strawberry.enum(description="Kinds of `track` events.")
class EventCategory(enum.Enum):
    PAGE_VIEW = "page_view"
    ACTION = "action"
    CONVERSION = "conversion"


@strawberry.type(description="Events and distinct users of one event name.")
class EventNameCount:
    name: str = strawberry.field(description="The event name, e.g. `report_opened`.")
    category: EventCategory | None = strawberry.field(description="Its category, when the events carried one.")
    events: int = strawberry.field(description="Events in the range.")
    unique_users: int = strawberry.field(description="Distinct users among them (events without a user not counted).")


@strawberry.type(description="Events and distinct users of one category.")
class EventCategoryCount:
    category: EventCategory | None = strawberry.field(description="The category; null for events without one.")
    events: int = strawberry.field(description="Events in the range.")
    unique_users: int = strawberry.field(description="Distinct users among them.")


@strawberry.type(description="One event name's counts per bucket, parallel to bucketStarts.")
class EventNameSeries:
    name: str = strawberry.field(description="The event name.")
    events: list[int] = strawberry.field(description="Events per bucket.")
    unique_users: list[int] = strawberry.field(description="Distinct users per bucket.")


@strawberry.type(description="Page views, actions and conversions tracked by the platform, over a range.")
class EventAnalytics:
    from_: date = strawberry.field(name="from", description="First day of the range.")
    to: date = strawberry.field(description="Last day of the range.")
    events: int = strawberry.field(description="All matching events.")
    unique_users: int = strawberry.field(description="Distinct users among them.")
    by_category: list[EventCategoryCount] = strawberry.field(description="Per category, most events first.")
    top_names: list[EventNameCount] = strawberry.field(description="The `top` event names by events (ties by name).")
    granularity: Granularity = strawberry.field(description="Bucket size of the series.")
    bucket_starts: list[datetime] = strawberry.field(description="Start of every bucket (UTC instants).")
    series: list[EventNameSeries] = strawberry.field(description="Per event name asked for (or per top name).")
