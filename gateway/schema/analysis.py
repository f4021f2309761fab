"""Trend and Forecast: analysis of one metric's series, as parallel arrays."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.periods import Granularity
from gateway.schema.metrics import Metric


@strawberry.type(description="How a metric moves over a range: against the previous period of the same length, "
                 "and the least-squares line through its series.")
class Trend:
    name: str = strawberry.field(description="The metric's name (built-in or custom).")
    metric: Metric | None = strawberry.field(description="The built-in metric; null for a custom one.")
    current: float | None = strawberry.field(description="The value over the range.")
    previous: float | None = strawberry.field(description="The value over the same number of days just before.")
    change: float | None = strawberry.field(description="(current − previous) / |previous|; null when previous is "
                                            "0 or either is null.")
    slope: float | None = strawberry.field(description="Least-squares slope of the series per bucket (buckets "
                                           "without a value left out); null with fewer than 2 values.")
    intercept: float | None = strawberry.field(description="The fitted line's value at the first bucket.")
    granularity: Granularity = strawberry.field(description="Bucket size of the series.")
    bucket_starts: list[datetime] = strawberry.field(description="Start of every bucket (UTC instants).")
    values: list[float | None] = strawberry.field(description="The metric per bucket.")


@strawberry.type(description="Holt's linear exponential smoothing of a metric's series, continued `horizon` "
                 "buckets ahead with a prediction interval (README: Forecasts).")
class Forecast:
    name: str = strawberry.field(description="The metric's name (built-in or custom).")
    metric: Metric | None = strawberry.field(description="The built-in metric; null for a custom one.")
    method: str = strawberry.field(description="Always `holt_linear` for now.")
    alpha: float = strawberry.field(description="Level smoothing parameter, given or fitted.")
    beta: float = strawberry.field(description="Trend smoothing parameter, given or fitted.")
    rmse: float = strawberry.field(description="Root mean squared one-step error on the history.")
    level: float = strawberry.field(description="Coverage of the prediction interval, e.g. 0.95.")
    granularity: Granularity = strawberry.field(description="Bucket size.")
    history_starts: list[datetime] = strawberry.field(description="Buckets of the range the model was fitted on.")
    history: list[float | None] = strawberry.field(description="The metric per history bucket.")
    bucket_starts: list[datetime] = strawberry.field(description="The forecast buckets, after the range.")
    values: list[float] = strawberry.field(description="Point forecasts.")
    lower: list[float] = strawberry.field(description="Lower bounds of the prediction interval.")
    upper: list[float] = strawberry.field(description="Upper bounds of the prediction interval.")
