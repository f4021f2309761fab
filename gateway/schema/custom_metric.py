"""The CustomMetric type: a tenant's named formula over built-in metrics."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.formulas import parse
from gateway.loaders.custom_metric import CustomMetricRow
from gateway.schema.metrics import Metric


@strawberry.type(description="A named formula over built-in metrics (+ − × ÷, parentheses, constants), usable "
                 "wherever a metric is asked for through the `customMetric(s)` arguments.")
class CustomMetric:
    row: strawberry.Private[CustomMetricRow]

    @strawberry.field(description="The name to ask for it by (lowercase snake case).")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="The formula in canonical form, e.g. `revenue / calls_handled`.")
    def formula(self) -> str:
        return self.row.formula

    @strawberry.field(description="What it means, for people reading dashboards.")
    def description(self) -> str:
        return self.row.description

    @strawberry.field(description="Whether larger values rank first in leaderboards and percentiles.")
    def higher_is_better(self) -> bool:
        return self.row.higher_is_better

    @strawberry.field(description="The built-in metrics the formula reads.")
    def metrics(self) -> list[Metric]:
        return sorted((Metric(n) for n in parse(self.row.formula).metrics), key=lambda m: m.value)

    @strawberry.field(description="When it was last defined.")
    def updated_at(self) -> datetime:
        return self.row.updated_at
