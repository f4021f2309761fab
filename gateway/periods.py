"""Date ranges in the tenant's calendar, presets, and the buckets of a time series."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from gateway import clock
from gateway.errors import BadUserInput

MAX_DAYS: Final = 3700
MAX_BUCKETS: Final = 5000
QUARTER: Final = timedelta(minutes=15)
# Far enough from the calendar's ends that a previous period, a forecast horizon and UTC offsets stay in it.
EARLIEST: Final = date(1900, 1, 1)
LATEST: Final = date(2199, 12, 31)


class Preset(enum.Enum):
    TODAY = "today"
    YESTERDAY = "yesterday"
    LAST_7_DAYS = "last_7_days"
    LAST_30_DAYS = "last_30_days"
    THIS_WEEK = "this_week"
    LAST_WEEK = "last_week"
    THIS_MONTH = "this_month"
    LAST_MONTH = "last_month"


class Granularity(enum.Enum):
    QUARTER_HOUR = "quarter_hour"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Period:
    """Tenant-local days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _month_start(day: date) -> date:
    return day.replace(day=1)


def preset_period(preset: Preset, today: date) -> Period:
    """Weeks start on Monday; LAST_7_DAYS and LAST_30_DAYS end today."""
    monday = today - timedelta(days=today.weekday())
    if preset is Preset.TODAY:
        return Period(today, today)
    if preset is Preset.YESTERDAY:
        return Period(today - timedelta(days=1), today - timedelta(days=1))
    if preset is Preset.LAST_7_DAYS:
        return Period(today - timedelta(days=6), today)
    if preset is Preset.LAST_30_DAYS:
        return Period(today - timedelta(days=29), today)
    if preset is Preset.THIS_WEEK:
        return Period(monday, monday + timedelta(days=6))
    if preset is Preset.LAST_WEEK:
        return Period(monday - timedelta(days=7), monday - timedelta(days=1))
    if preset is Preset.THIS_MONTH:
        nxt = _month_start(_month_start(today) + timedelta(days=32))
        return Period(_month_start(today), nxt - timedelta(days=1))
    first = _month_start(today)
    return Period(_month_start(first - timedelta(days=1)), first - timedelta(days=1))


def resolve(start: date | None, end: date | None, preset: Preset | None, today: date) -> Period:
    """Exactly one form: both dates, or a preset."""
    if preset is not None:
        if start is not None or end is not None:
            raise BadUserInput("give either from/to or a preset, not both", argument="range")
        return preset_period(preset, today)
    if start is None or end is None:
        raise BadUserInput("a range needs both from and to, or a preset", argument="range")
    if end < start:
        raise BadUserInput("the range ends before it starts", argument="range")
    if start < EARLIEST or end > LATEST:
        raise BadUserInput(f"ranges lie between {EARLIEST} and {LATEST}", argument="range")
    period = Period(start, end)
    if period.days > MAX_DAYS:
        raise BadUserInput(f"a range spans at most {MAX_DAYS} days", argument="range")
    return period


def local_today(timezone: str) -> date:
    return clock.local_now(timezone).date()


def local_midnight(day: date, timezone: str) -> datetime:
    """The instant a local day starts (DST-aware), in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def bucket_starts(period: Period, granularity: Granularity, timezone: str) -> list[datetime]:
    """Every bucket of the period, as UTC instants; a DST day has 23 or 25 hourly buckets."""
    return list(_bucket_starts(period, granularity, timezone))


# Pure, and asked for the same few periods by every entity of a dashboard page.
@functools.lru_cache(maxsize=256)
def _bucket_starts(period: Period, granularity: Granularity, timezone: str) -> tuple[datetime, ...]:
    zone = ZoneInfo(timezone)
    if granularity in (Granularity.DAY, Granularity.WEEK, Granularity.MONTH):
        days = [period.start + timedelta(days=i) for i in range(period.days)]
        keys = sorted({day_bucket(d, granularity) for d in days})
        return tuple(local_midnight(k, timezone) for k in keys)
    begin, finish = local_midnight(period.start, timezone), local_midnight(period.end + timedelta(days=1), timezone)
    if (finish - begin) / QUARTER > MAX_BUCKETS:
        raise BadUserInput(f"a series has at most {MAX_BUCKETS} buckets; use a coarser granularity",
                           argument="granularity")
    starts: list[datetime] = []
    moment = begin
    while moment < finish:
        if granularity is Granularity.QUARTER_HOUR or moment.astimezone(zone).minute == 0:
            starts.append(moment)
        moment += QUARTER
    return tuple(starts)


def day_bucket(day: date, granularity: Granularity) -> date:
    """The first day of the DAY, WEEK (Monday) or MONTH bucket holding `day`."""
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


def hour_bucket(quarter_start: datetime, granularity: Granularity, timezone: str) -> datetime:
    """The local-hour (or quarter-hour) bucket holding a 15-minute UTC bucket."""
    if granularity is Granularity.QUARTER_HOUR:
        return quarter_start
    return quarter_start - timedelta(minutes=quarter_start.astimezone(ZoneInfo(timezone)).minute)


_DAYS_PER_BUCKET: Final = {Granularity.QUARTER_HOUR: 1 / 92, Granularity.HOUR: 1 / 23, Granularity.DAY: 1,
                           Granularity.WEEK: 7, Granularity.MONTH: 31}


def future_bucket_starts(period: Period, granularity: Granularity, timezone: str, count: int) -> list[datetime]:
    """The `count` buckets following the period's last bucket (a forecast's horizon)."""
    last = bucket_starts(period, granularity, timezone)[-1]
    span = int(count * _DAYS_PER_BUCKET[granularity]) + 2 + int(_DAYS_PER_BUCKET[granularity])
    after = Period(period.end + timedelta(days=1), period.end + timedelta(days=span))
    return [s for s in bucket_starts(after, granularity, timezone) if s > last][:count]


def instants_of(period: Period, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of the period's local days as UTC instants."""
    return local_midnight(period.start, timezone), local_midnight(period.end + timedelta(days=1), timezone)
