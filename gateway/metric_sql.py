"""The built-in metrics as SQL expressions over summed counters: gateway/metrics.py's FORMULAS, for PostgreSQL.

A series of a dashboard's 50 agents is 9,000 values; computed in Python each was a Counters made from a row and
a formula call, most of the request. In the statement, each metric is one float8[] per entity, which asyncpg
turns into a list in C. The expressions give exactly what FORMULAS give, value for value:

- a count or a sum of seconds is a bigint (its sum cast back, see loaders/metrics.py) and float8 of it is
  Python's float() of the int: the same IEEE rounding;
- ratio(n, d) is `NULL when d = 0, else n::float8 / d::float8`, as Python's float(n) / float(d);
- money is numeric (Decimal in Python): sums and differences are exact in both, and numeric::float8 is the
  correctly rounded double, as float(Decimal) is.

tests/test_metric_sql.py checks every metric and scope against FORMULAS on random counters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from gateway.metrics import COUNTERS, Metric, Scope

Column = Callable[[str], str]


def _ratio(numerator: str, denominator: str) -> str:
    return f"CASE WHEN ({denominator}) = 0 THEN NULL ELSE ({numerator})::float8 / ({denominator})::float8 END"


def _plain(name: str) -> Callable[[Column, Scope], str]:
    return lambda c, s: f"({c(name)})::float8"


def _handle(c: Column) -> str:
    return f"{c('talk_seconds')} + {c('hold_seconds')} + {c('wrap_up_seconds')}"


def _available(c: Column) -> str:
    return f"{c('available_seconds')} + {c('busy_seconds')} + {c('wrap_up_state_seconds')}"


def _cost(c: Column) -> str:
    return f"{c('spend')} + {c('call_cost')}"


def _conversion_rate(c: Column, s: Scope) -> str:
    if s in (Scope.AGENT, Scope.TEAM):
        return _ratio(c("leads_converted"), c("calls_handled"))
    return _ratio(c("leads_converted"), c("leads_generated"))


EXPRESSIONS: Final[Mapping[Metric, Callable[[Column, Scope], str]]] = {
    Metric.CALLS_TOTAL: _plain("calls_total"),
    Metric.CALLS_HANDLED: _plain("calls_handled"),
    Metric.CALLS_INBOUND: _plain("calls_inbound"),
    Metric.CALLS_OUTBOUND: _plain("calls_outbound"),
    Metric.AVERAGE_HANDLE_TIME: lambda c, s: _ratio(_handle(c), c("calls_handled")),
    Metric.AVERAGE_SPEED_OF_ANSWER: lambda c, s: _ratio(c("answer_wait_seconds"), c("inbound_answered")),
    Metric.SERVICE_LEVEL: lambda c, s: _ratio(c("inbound_answered_within_sl"), c("calls_inbound")),
    Metric.ABANDONMENT_RATE: lambda c, s: _ratio(c("inbound_abandoned"), c("calls_inbound")),
    Metric.FIRST_CONTACT_RESOLUTION: lambda c, s: _ratio(c("first_contact_resolved"), c("calls_handled")),
    Metric.TRANSFERS: _plain("transfers"),
    Metric.CSAT: lambda c, s: _ratio(c("csat_positive"), c("csat_count")),
    Metric.CSAT_MEAN: lambda c, s: _ratio(c("csat_sum"), c("csat_count")),
    Metric.TASKS_COMPLETED: _plain("tasks_completed"),
    Metric.AVAILABLE_TIME: lambda c, s: f"({_available(c)})::float8",
    Metric.OCCUPANCY: lambda c, s: _ratio(c("tracked_handle_seconds"), _available(c)),
    Metric.POINTS: _plain("points"),
    Metric.LEADS_GENERATED: _plain("leads_generated"),
    Metric.LEADS_CONTACTED: _plain("leads_contacted"),
    Metric.LEADS_CONVERTED: _plain("leads_converted"),
    Metric.CONVERSION_RATE: _conversion_rate,
    Metric.REVENUE: _plain("revenue"),
    Metric.AVERAGE_LEAD_VALUE: lambda c, s: _ratio(c("revenue"), c("leads_converted")),
    Metric.COST: lambda c, s: f"({_cost(c)})::float8",
    Metric.ROI: lambda c, s: _ratio(f"{c('revenue')} - ({_cost(c)})", _cost(c)),
    Metric.COST_PER_LEAD: lambda c, s: _ratio(_cost(c), c("leads_generated")),
}


def expression(metric: Metric, scope: Scope, column: Column) -> str:
    """The metric's value in SQL, reading each counter through `column(name)` (a name of COUNTERS)."""
    return EXPRESSIONS[metric](column, scope)


def counter(alias: str) -> Column:
    """Counter `name` of the row `alias`, zero where the row is missing (a bucket without activity)."""
    def column(name: str) -> str:
        if name not in COUNTERS:  # pragma: no cover - the expressions above name counters only
            raise KeyError(name)
        return f"coalesce({alias}.{name}, 0)"

    return column
