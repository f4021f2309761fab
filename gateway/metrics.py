"""The metric definitions of the README, computed from rollup counters: one place, used by every reader.

Counters are sums and counts (what the rollup tables store); every ratio is computed here, and a ratio whose
denominator is zero is None, never 0.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Final

COUNTERS: Final = (
    "calls_total", "calls_inbound", "calls_outbound", "calls_handled", "inbound_answered",
    "inbound_answered_within_sl", "inbound_abandoned", "answer_wait_seconds", "talk_seconds", "hold_seconds",
    "wrap_up_seconds", "transfers", "first_contact_resolved", "csat_count", "csat_sum", "csat_positive",
    "call_cost", "leads_generated", "leads_contacted", "leads_converted", "revenue", "tasks_completed",
    "available_seconds", "busy_seconds", "wrap_up_state_seconds", "points", "spend", "tracked_handle_seconds",
)


# Counters in the tenant's currency (numeric); every other counter is an integer count or seconds.
MONEY: Final = frozenset({"call_cost", "revenue", "spend"})


@dataclass(frozen=True)
class Counters:
    """Summed rollup counters of some scope over some period."""

    calls_total: int = 0
    calls_inbound: int = 0
    calls_outbound: int = 0
    calls_handled: int = 0
    inbound_answered: int = 0
    inbound_answered_within_sl: int = 0
    inbound_abandoned: int = 0
    answer_wait_seconds: int = 0
    talk_seconds: int = 0
    hold_seconds: int = 0
    wrap_up_seconds: int = 0
    transfers: int = 0
    first_contact_resolved: int = 0
    csat_count: int = 0
    csat_sum: int = 0
    csat_positive: int = 0
    call_cost: Decimal = Decimal(0)
    leads_generated: int = 0
    leads_contacted: int = 0
    leads_converted: int = 0
    revenue: Decimal = Decimal(0)
    tasks_completed: int = 0
    available_seconds: int = 0
    busy_seconds: int = 0
    wrap_up_state_seconds: int = 0
    points: int = 0
    spend: Decimal = Decimal(0)
    # Handle time of the calls of agents whose presence is tracked (kind human): occupancy's numerator.
    tracked_handle_seconds: int = 0

    @classmethod
    def from_row(cls, row: Any) -> Counters:
        """From a row whose first columns are the counters in COUNTERS order (NULL sums become zero).

        The statements cast sums of counts and seconds back to bigint (PostgreSQL sums bigint as numeric), so
        counts are ints and money is Decimal as they come.
        """
        values = dict(zip(COUNTERS, row.values(), strict=False))
        if None in values.values():
            values = {name: 0 if value is None else value for name, value in values.items()}
        counters = object.__new__(cls)
        # A dashboard builds over a thousand Counters per request, and the generated __init__ of this frozen
        # dataclass sets its 28 fields one object.__setattr__ at a time: the instance dict is filled in one go
        # instead. Counters has no __post_init__ and no slots.
        counters.__dict__.update(values)
        return counters

    def __add__(self, other: Counters) -> Counters:
        values: dict[str, Any] = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        return Counters(**values)


def ratio(numerator: float | Decimal, denominator: float | Decimal) -> float | None:
    return None if not denominator else float(numerator) / float(denominator)


class Scope(enum.Enum):
    """What the counters describe: conversion rate is per lead for campaigns and tenants, per call for agents."""

    TENANT = "tenant"
    TEAM = "team"
    AGENT = "agent"
    CAMPAIGN = "campaign"


def handle_seconds(c: Counters) -> int:
    return c.talk_seconds + c.hold_seconds + c.wrap_up_seconds


def available_seconds(c: Counters) -> int:
    """Signed-in time: available, busy and wrap-up states."""
    return c.available_seconds + c.busy_seconds + c.wrap_up_state_seconds


def occupancy(c: Counters) -> float | None:
    """Handle time over available time, both of the agents whose presence is tracked (human agents)."""
    # AI agents take calls in parallel and have no presence intervals: their handle time stays out of the
    # numerator, so an AI agent's occupancy is null and a tenant's, team's or campaign's is its humans'.
    return ratio(c.tracked_handle_seconds, available_seconds(c))


def cost(c: Counters) -> Decimal:
    return c.spend + c.call_cost


def conversion_rate(c: Counters, scope: Scope) -> float | None:
    if scope in (Scope.AGENT, Scope.TEAM):
        return ratio(c.leads_converted, c.calls_handled)
    return ratio(c.leads_converted, c.leads_generated)


def roi(c: Counters) -> float | None:
    spent = cost(c)
    return ratio(c.revenue - spent, spent)


class Metric(enum.Enum):
    """Every metric of the README's definitions; the value is its GraphQL field name in snake case."""

    CALLS_TOTAL = "calls_total"
    CALLS_HANDLED = "calls_handled"
    CALLS_INBOUND = "calls_inbound"
    CALLS_OUTBOUND = "calls_outbound"
    AVERAGE_HANDLE_TIME = "average_handle_time_seconds"
    AVERAGE_SPEED_OF_ANSWER = "average_speed_of_answer_seconds"
    SERVICE_LEVEL = "service_level"
    ABANDONMENT_RATE = "abandonment_rate"
    FIRST_CONTACT_RESOLUTION = "first_contact_resolution_rate"
    TRANSFERS = "transfers"
    CSAT = "csat"
    CSAT_MEAN = "csat_mean"
    TASKS_COMPLETED = "tasks_completed"
    AVAILABLE_TIME = "available_seconds"
    OCCUPANCY = "occupancy"
    POINTS = "points"
    LEADS_GENERATED = "leads_generated"
    LEADS_CONTACTED = "leads_contacted"
    LEADS_CONVERTED = "leads_converted"
    CONVERSION_RATE = "conversion_rate"
    REVENUE = "revenue"
    AVERAGE_LEAD_VALUE = "average_lead_value"
    COST = "cost"
    ROI = "roi"
    COST_PER_LEAD = "cost_per_lead"


# Metrics where a smaller value ranks better (leaderboards, percentiles).
LOWER_IS_BETTER: Final = frozenset({
    Metric.AVERAGE_HANDLE_TIME, Metric.AVERAGE_SPEED_OF_ANSWER, Metric.ABANDONMENT_RATE, Metric.COST,
    Metric.COST_PER_LEAD,
})

Formula = Callable[[Counters, Scope], float | None]

FORMULAS: Final[Mapping[Metric, Formula]] = {
    Metric.CALLS_TOTAL: lambda c, s: c.calls_total,
    Metric.CALLS_HANDLED: lambda c, s: c.calls_handled,
    Metric.CALLS_INBOUND: lambda c, s: c.calls_inbound,
    Metric.CALLS_OUTBOUND: lambda c, s: c.calls_outbound,
    Metric.AVERAGE_HANDLE_TIME: lambda c, s: ratio(handle_seconds(c), c.calls_handled),
    Metric.AVERAGE_SPEED_OF_ANSWER: lambda c, s: ratio(c.answer_wait_seconds, c.inbound_answered),
    Metric.SERVICE_LEVEL: lambda c, s: ratio(c.inbound_answered_within_sl, c.calls_inbound),
    Metric.ABANDONMENT_RATE: lambda c, s: ratio(c.inbound_abandoned, c.calls_inbound),
    Metric.FIRST_CONTACT_RESOLUTION: lambda c, s: ratio(c.first_contact_resolved, c.calls_handled),
    Metric.TRANSFERS: lambda c, s: c.transfers,
    Metric.CSAT: lambda c, s: ratio(c.csat_positive, c.csat_count),
    Metric.CSAT_MEAN: lambda c, s: ratio(c.csat_sum, c.csat_count),
    Metric.TASKS_COMPLETED: lambda c, s: c.tasks_completed,
    Metric.AVAILABLE_TIME: lambda c, s: available_seconds(c),
    Metric.OCCUPANCY: lambda c, s: occupancy(c),
    Metric.POINTS: lambda c, s: c.points,
    Metric.LEADS_GENERATED: lambda c, s: c.leads_generated,
    Metric.LEADS_CONTACTED: lambda c, s: c.leads_contacted,
    Metric.LEADS_CONVERTED: lambda c, s: c.leads_converted,
    Metric.CONVERSION_RATE: conversion_rate,
    Metric.REVENUE: lambda c, s: float(c.revenue),
    Metric.AVERAGE_LEAD_VALUE: lambda c, s: ratio(c.revenue, c.leads_converted),
    Metric.COST: lambda c, s: float(cost(c)),
    Metric.ROI: lambda c, s: roi(c),
    Metric.COST_PER_LEAD: lambda c, s: ratio(cost(c), c.leads_generated),
}


def value(metric: Metric, counters: Counters, scope: Scope) -> float | None:
    result = FORMULAS[metric](counters, scope)
    return float(result) if result is not None else None


def values(metric: Metric, counters: Sequence[Counters], scope: Scope) -> list[float | None]:
    """value() of each counters of a series, the formula looked up once."""
    formula = FORMULAS[metric]
    return [None if (result := formula(c, scope)) is None else float(result) for c in counters]
