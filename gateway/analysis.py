"""Analysis of metric series: least-squares trend, period change, Holt forecasts, and rank among peers.

A series is a sequence of bucket values, oldest first; None marks a bucket without data (a ratio whose
denominator was zero), never zero. Values are otherwise finite: NaN or infinity raise ValueError.

## Forecasts

`holt()` forecasts a metric series with Holt's linear exponential smoothing: additive trend, no seasonality.

**Method.** With smoothing parameters α (level) and β (trend), starting from ℓ₀ = y₀ and b₀ = y₁ − y₀, for each
bucket t = 1 … n−1:

    one-step forecast   ŷₜ = ℓₜ₋₁ + bₜ₋₁
    error               eₜ = yₜ − ŷₜ
    level               ℓₜ = ŷₜ + α·eₜ           (= α·yₜ + (1 − α)·(ℓₜ₋₁ + bₜ₋₁))
    trend               bₜ = bₜ₋₁ + α·β·eₜ       (= β·(ℓₜ − ℓₜ₋₁) + (1 − β)·bₜ₋₁)

The forecast h buckets after the last observation is ℓₙ₋₁ + h·bₙ₋₁.

**Missing buckets.** Buckets before the first one with data are dropped; gaps between buckets with data are
filled by linear interpolation; buckets after the last one with data are forecast like the future. Forecast
points therefore always start at the bucket right after the input series ends. At least 3 buckets with data
are needed, otherwise the error is `InsufficientData` (code BAD_USER_INPUT).

**Fitting.** When α or β is not given, it is chosen to minimise the sum of squared one-step errors (SSE) over
the observed buckets t ≥ 2: at t = 1 the forecast equals y₁ by construction, and interpolated buckets are not
evidence. The search is a grid of 0.05, 0.10, … 0.95, then a grid of step 0.01 within ±0.04 of the best
value. Ties go to the smaller α, then the smaller β (the smoother fit), so the result is deterministic. It
costs about 480 passes over the series.

**Prediction interval.** σ² = SSE / m, the mean of the m squared one-step errors (m = n − 2 when no bucket was
interpolated, so σ² = SSE / (n − 2)); `rmse` is σ. The variance of the h-step forecast is
σ²·(1 + Σⱼ₌₁…ₕ₋₁ α²(1 + jβ)²), and the interval is the forecast ± z·√variance, with z the standard normal
quantile of (1 + level) / 2: 1.96 for the default 95 %.

**Limits.**
- No seasonality: weekly and daily patterns of call traffic (Monday peaks, quiet weekends, lunch dips) are not
  modelled. Forecast a daily series at week granularity, or read the forecast as a trend line.
- The interval assumes independent, normal one-step errors of constant variance, and treats the fitted α and β
  as known; on short series it is too narrow.
- The trend is extrapolated without damping, so long horizons can run away, and nothing is clipped: a
  forecast of a count, or its lower bound, can be negative.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import NormalDist
from typing import Final

from gateway.errors import BadUserInput

__all__ = [
    "FIT_CHUNK_STEPS",
    "MAX_HORIZON",
    "MIN_FORECAST_POINTS",
    "Forecast",
    "InsufficientData",
    "Trend",
    "holt",
    "holt_async",
    "least_squares_slope",
    "percentile_rank",
    "period_change",
    "rank",
    "standings",
    "trend",
]

MIN_FORECAST_POINTS: Final = 3
# A forecast's cost is linear in its horizon; a year of days is more than any dashboard asks for.
MAX_HORIZON: Final = 366
_COARSE: Final = tuple(range(5, 100, 5))
_REFINE: Final = 4
# Bucket-steps of smoothing between two turns of the event loop: about 1-2 ms of CPU here.
FIT_CHUNK_STEPS: Final = 10_000


class InsufficientData(BadUserInput):
    """Too few buckets with data for a forecast."""

    def __init__(self, needed: int, got: int) -> None:
        super().__init__(f"a forecast needs at least {needed} buckets with data, got {got}; choose a longer range",
                         needed=needed, got=got)
        self.needed = needed
        self.got = got


@dataclass(frozen=True)
class Trend:
    """A least-squares line through a series: `slope` per bucket, `intercept` at bucket 0."""

    slope: float
    intercept: float
    points: int


@dataclass(frozen=True)
class Forecast:
    """Holt forecasts for the buckets after a series, with prediction intervals and the parameters used."""

    points: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    level: float
    alpha: float
    beta: float
    sse: float
    rmse: float
    # The one-step errors behind sse and rmse.
    residuals: int


def trend(values: Sequence[float | None]) -> Trend | None:
    """The least-squares line over bucket positions, ignoring None; None with fewer than 2 points."""
    points = [(float(i), v) for i, v in enumerate(_checked(values)) if v is not None]
    n = len(points)
    if n < 2:
        return None
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    if not (math.isfinite(slope) and math.isfinite(intercept)):
        return None  # values so large that the arithmetic overflows
    return Trend(slope=slope, intercept=intercept, points=n)


def least_squares_slope(values: Sequence[float | None]) -> float | None:
    """The least-squares slope per bucket, ignoring None; None with fewer than 2 points."""
    line = trend(values)
    return None if line is None else line.slope


def period_change(current: float | None, previous: float | None) -> float | None:
    """(current − previous) / |previous|: 0.25 is up 25 %; None when either is None or previous is 0."""
    if current is None or previous is None or previous == 0:
        return None
    change = (current - previous) / abs(previous)
    return change if math.isfinite(change) else None


def holt(
    values: Sequence[float | None],
    horizon: int,
    *,
    alpha: float | None = None,
    beta: float | None = None,
    level: float = 0.95,
) -> Forecast:
    """Forecast the `horizon` buckets after `values` by Holt's linear method; see the module docstring."""
    series, observed, gap = _forecast_input(values, horizon, alpha, beta, level)
    steps = _fit(series, observed, alpha, beta)
    while (fitted := next(steps)) is None:
        pass
    return _forecast(series, observed, gap, horizon, level, *fitted)


async def holt_async(
    values: Sequence[float | None],
    horizon: int,
    *,
    alpha: float | None = None,
    beta: float | None = None,
    level: float = 0.95,
) -> Forecast:
    """`holt`, giving the event loop a turn every few milliseconds of fitting (a long series fits for seconds)."""
    series, observed, gap = _forecast_input(values, horizon, alpha, beta, level)
    steps = _fit(series, observed, alpha, beta)
    # A turn for others between chunks, not a wait for an event.
    while (fitted := next(steps)) is None:  # noqa: ASYNC110
        await asyncio.sleep(0)
    return _forecast(series, observed, gap, horizon, level, *fitted)


def _forecast_input(values: Sequence[float | None], horizon: int, alpha: float | None, beta: float | None,
                    level: float) -> tuple[list[float], list[bool], int]:
    if not 1 <= horizon <= MAX_HORIZON:
        raise BadUserInput(f"horizon must be between 1 and {MAX_HORIZON}", argument="horizon")
    if alpha is not None and not 0 < alpha <= 1:
        raise BadUserInput("alpha must be greater than 0 and at most 1", argument="alpha")
    if beta is not None and not 0 <= beta <= 1:
        raise BadUserInput("beta must be between 0 and 1", argument="beta")
    if not 0 < level < 1:
        raise BadUserInput("level must be greater than 0 and less than 1, e.g. 0.95", argument="level")
    return _prepare(values)


def _forecast(series: list[float], observed: list[bool], gap: int, horizon: int, level: float, a: float, b: float
              ) -> Forecast:
    fit = _smooth(series, observed, a, b)
    variance = fit.sse / fit.residuals
    z = NormalDist().inv_cdf((1 + level) / 2)

    points: list[float] = []
    lower: list[float] = []
    upper: list[float] = []
    # The sum of (alpha (1 + j beta))^2 for j < h, grown with h; h counts from the last observation, past the gap.
    spread = 0.0
    for h in range(1, gap + horizon + 1):
        if h > gap:
            point = fit.level + h * fit.trend
            half_width = z * math.sqrt(variance * (1 + spread))
            points.append(point)
            lower.append(point - half_width)
            upper.append(point + half_width)
        spread += (a * (1 + h * b)) ** 2
    if not all(math.isfinite(v) for v in (*points, *lower, *upper, fit.sse)):
        raise BadUserInput("the values are too large to forecast", argument="metric")
    return Forecast(points=tuple(points), lower=tuple(lower), upper=tuple(upper), level=level, alpha=a, beta=b,
                    sse=fit.sse, rmse=math.sqrt(variance), residuals=fit.residuals)


def rank(value: float | None, population: Iterable[float | None], *, higher_is_better: bool = True) -> int | None:
    """1 + how many of `population` (None left out) are strictly better: ties share the best rank; None for None."""
    if value is None:
        return None
    _check(value)
    others = _present(population)
    better = sum(1 for v in others if (v > value if higher_is_better else v < value))
    return better + 1


def percentile_rank(
    value: float | None, population: Iterable[float | None], *, higher_is_better: bool = True
) -> float | None:
    """100 × (strictly worse + ties / 2) / count of `population`, None left out; None for None or no values."""
    # A member ties with itself, so the only member of a population ranks at 50, and all-equal ones do too.
    if value is None:
        return None
    _check(value)
    others = _present(population)
    if not others:
        return None
    worse = sum(1 for v in others if (v < value if higher_is_better else v > value))
    ties = sum(1 for v in others if v == value)
    return 100 * (worse + ties / 2) / len(others)


def standings(values: Sequence[float | None], *,
              higher_is_better: bool = True) -> list[tuple[int | None, float | None]]:
    """`rank` and `percentile_rank` of every value within `values` itself, in O(n log n) instead of O(n²)."""
    present = sorted(_present(values))
    n = len(present)
    result: list[tuple[int | None, float | None]] = []
    for value in values:
        if value is None:
            result.append((None, None))
            continue
        lo, hi = bisect.bisect_left(present, value), bisect.bisect_right(present, value)
        better, worse = (n - hi, lo) if higher_is_better else (lo, n - hi)
        result.append((better + 1, 100 * (worse + (hi - lo) / 2) / n))
    return result


# --- helpers -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fit:
    level: float
    trend: float
    sse: float
    residuals: int


def _check(value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"a metric value is finite or None, not {value!r}")


def _checked(values: Sequence[float | None]) -> Sequence[float | None]:
    for v in values:
        if v is not None:
            _check(v)
    return values


def _present(values: Iterable[float | None]) -> list[float]:
    present = [v for v in values if v is not None]
    for v in present:
        _check(v)
    return present


def _prepare(values: Sequence[float | None]) -> tuple[list[float], list[bool], int]:
    """The series from its first observation to its last, gaps interpolated; which are observed; trailing Nones."""
    known = [(i, v) for i, v in enumerate(_checked(values)) if v is not None]
    if len(known) < MIN_FORECAST_POINTS:
        raise InsufficientData(MIN_FORECAST_POINTS, len(known))
    series: list[float] = []
    observed: list[bool] = []
    for (i0, v0), (i1, v1) in pairwise(known):
        width = i1 - i0
        for k in range(width):
            series.append(v0 + (v1 - v0) * k / width)
            observed.append(k == 0)
    series.append(known[-1][1])
    observed.append(True)
    return series, observed, len(values) - 1 - known[-1][0]


def _smooth(series: list[float], observed: list[bool], alpha: float, beta: float) -> _Fit:
    """One pass of Holt's recursion, in error-correction form: exact on a straight line, whatever α and β."""
    level, slope = series[0], series[1] - series[0]
    sse = 0.0
    residuals = 0
    for t in range(1, len(series)):
        error = series[t] - (level + slope)
        # t = 1 is skipped: with b0 = y1 - y0 its forecast is y1 by construction, not evidence of fit.
        if t >= 2 and observed[t]:
            sse += error * error
            residuals += 1
        level = level + slope + alpha * error
        slope = slope + alpha * beta * error
    return _Fit(level=level, trend=slope, sse=sse, residuals=residuals)


def _fit(series: list[float], observed: list[bool], alpha: float | None, beta: float | None
         ) -> Iterator[tuple[float, float] | None]:
    """α and β minimising the one-step SSE on a coarse then a fine grid; given values are kept as they are.

    Yields None after every FIT_CHUNK_STEPS bucket-steps of smoothing (a millisecond or two), so a caller can let
    others run between chunks, and (α, β) last.
    """
    yield (yield from _search(series, observed, alpha, beta))


def _search(series: list[float], observed: list[bool], alpha: float | None, beta: float | None
            ) -> Generator[None, None, tuple[float, float]]:
    if alpha is not None and beta is not None:
        return alpha, beta
    done = 0

    def grid(given: float | None, hundredths: Iterable[int]) -> list[float]:
        return [given] if given is not None else [k / 100 for k in hundredths]

    def best(alphas: list[float], betas: list[float]) -> Generator[None, None, tuple[float, float]]:
        nonlocal done
        chosen = (alphas[0], betas[0])
        lowest = math.inf
        for a in alphas:
            for b in betas:
                sse = _smooth(series, observed, a, b).sse
                # Strictly lower only: ties keep the earlier, smaller alpha and beta.
                if sse < lowest:
                    chosen, lowest = (a, b), sse
                done += len(series)
                if done >= FIT_CHUNK_STEPS:
                    done = 0
                    yield
        return chosen

    a, b = yield from best(grid(alpha, _COARSE), grid(beta, _COARSE))
    return (yield from best(grid(alpha, _near(a)), grid(beta, _near(b))))


def _near(value: float) -> range:
    centre = round(value * 100)
    return range(max(1, centre - _REFINE), min(99, centre + _REFINE) + 1)
