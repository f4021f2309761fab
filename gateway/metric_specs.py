"""What a client may ask for wherever a metric is wanted: a built-in metric or one of the tenant's formulas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.formulas import Formula
from gateway.metrics import LOWER_IS_BETTER, Counters, Metric, Scope, value, values


@dataclass(frozen=True)
class MetricSpec:
    """A metric to compute from counters: `builtin`, or `formula` over built-in metrics under a custom `name`."""

    name: str
    builtin: Metric | None = None
    formula: Formula | None = None
    higher_is_better: bool = True

    @classmethod
    def of(cls, metric: Metric) -> MetricSpec:
        return cls(name=metric.value, builtin=metric, higher_is_better=metric not in LOWER_IS_BETTER)

    def value(self, counters: Counters, scope: Scope) -> float | None:
        if self.builtin is not None:
            return value(self.builtin, counters, scope)
        assert self.formula is not None
        return self.formula.evaluate({n: value(Metric(n), counters, scope) for n in self.formula.metrics})

    def values(self, counters: Sequence[Counters], scope: Scope) -> list[float | None]:
        """value() of each counters of a series (a dashboard asks for thousands: built-ins take a quicker way)."""
        if self.builtin is not None:
            return values(self.builtin, counters, scope)
        return [self.value(c, scope) for c in counters]
