"""Trend, period change, Holt forecasts and ranks agree with hand-computed values and keep their stated rules."""

from __future__ import annotations

import dataclasses
import math
from itertools import pairwise
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

import gateway.analysis
from gateway.analysis import (
    FIT_CHUNK_STEPS,
    MAX_HORIZON,
    Forecast,
    InsufficientData,
    Trend,
    holt,
    holt_async,
    least_squares_slope,
    percentile_rank,
    period_change,
    rank,
    standings,
    trend,
)
from gateway.errors import BadUserInput, ErrorCode

Z95 = NormalDist().inv_cdf(0.975)  # 1.959963984540054

# --- trend --------------------------------------------------------------------------------------------------


def test_the_slope_and_intercept_of_a_straight_line_are_exact() -> None:
    # y = 3 + 2x at x = 0..4: mean x 2, mean y 7, Sxx = 10, Sxy = 20
    assert trend([3, 5, 7, 9, 11]) == Trend(slope=2.0, intercept=3.0, points=5)
    assert least_squares_slope([3, 5, 7, 9, 11]) == 2.0


def test_the_least_squares_line_of_scattered_points_matches_the_hand_computation() -> None:
    # x = 0 1 2 3, y = 1 3 2 5; mean x 1.5, mean y 2.75
    # Sxx = 2.25 + 0.25 + 0.25 + 2.25 = 5
    # Sxy = (-1.5)(-1.75) + (-0.5)(0.25) + (0.5)(-0.75) + (1.5)(2.25) = 2.625 - 0.125 - 0.375 + 3.375 = 5.5
    # slope = 5.5 / 5 = 1.1; intercept = 2.75 - 1.1 * 1.5 = 1.1
    line = trend([1, 3, 2, 5])
    assert line is not None
    assert line.slope == pytest.approx(1.1)
    assert line.intercept == pytest.approx(1.1)


def test_none_buckets_are_skipped_but_keep_their_positions() -> None:
    # y = 3 + 2x observed at x = 1, 3, 4 only
    line = trend([None, 5, None, 9, 11, None])
    assert line is not None
    assert line.slope == pytest.approx(2.0)
    assert line.intercept == pytest.approx(3.0)
    assert line.points == 3


def test_a_falling_series_has_a_negative_slope() -> None:
    assert least_squares_slope([10, 8, 6]) == -2.0


@pytest.mark.parametrize("values", [[], [None], [4.0], [4.0, None], [None, None, 4.0]])
def test_the_slope_is_none_with_fewer_than_two_points(values: list[float | None]) -> None:
    assert trend(values) is None
    assert least_squares_slope(values) is None


def test_a_non_finite_value_is_an_error_not_missing_data() -> None:
    with pytest.raises(ValueError, match="finite or None"):
        trend([1.0, math.nan, 3.0])


@given(st.integers(-1000, 1000), st.integers(-100, 100), st.integers(2, 60))
def test_the_slope_of_any_line_is_recovered(intercept: int, slope: int, length: int) -> None:
    line = trend([intercept + slope * i for i in range(length)])
    assert line is not None
    assert line.slope == pytest.approx(slope, abs=1e-9)
    assert line.intercept == pytest.approx(intercept, abs=1e-6)


# --- period change ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "previous", "change"),
    [
        (120.0, 100.0, 0.2),
        (80.0, 100.0, -0.2),
        (0.0, 100.0, -1.0),
        (100.0, 100.0, 0.0),
        # Divided by |previous|: from -100 up to -50 is an increase, as for a negative ROI improving.
        (-50.0, -100.0, 0.5),
        (-150.0, -100.0, -0.5),
    ],
)
def test_period_change_is_relative_to_the_size_of_the_previous_value(
    current: float, previous: float, change: float
) -> None:
    assert period_change(current, previous) == pytest.approx(change)


@pytest.mark.parametrize(("current", "previous"), [(5.0, 0.0), (0.0, 0.0), (None, 1.0), (1.0, None), (None, None)])
def test_period_change_is_none_from_zero_or_with_a_missing_value(current: float | None, previous: float | None) -> None:
    assert period_change(current, previous) is None


# --- Holt: hand-computed reference --------------------------------------------------------------------------

# Series 10, 12, 13, 15 with alpha = beta = 0.5.
# Start: l0 = y0 = 10, b0 = y1 - y0 = 2.
# t=1: forecast l0 + b0 = 12, error 12 - 12 = 0
#      l1 = 0.5*12 + 0.5*(10 + 2) = 12;            b1 = 0.5*(12 - 10) + 0.5*2 = 2
# t=2: forecast 12 + 2 = 14, error 13 - 14 = -1
#      l2 = 0.5*13 + 0.5*14 = 13.5;                 b2 = 0.5*(13.5 - 12) + 0.5*2 = 1.75
# t=3: forecast 13.5 + 1.75 = 15.25, error 15 - 15.25 = -0.25
#      l3 = 0.5*15 + 0.5*15.25 = 15.125;            b3 = 0.5*(15.125 - 13.5) + 0.5*1.75 = 1.6875
# Forecasts l3 + h*b3: h=1 16.8125, h=2 18.5, h=3 20.1875.
# SSE over t >= 2: (-1)^2 + (-0.25)^2 = 1.0625 from 2 errors; sigma^2 = 1.0625 / 2 = 0.53125.
# Variance at h: sigma^2 * (1 + sum over j < h of (alpha*(1 + j*beta))^2)
#      h=1: 0.53125
#      h=2: 0.53125 * (1 + (0.5*1.5)^2) = 0.53125 * 1.5625 = 0.830078125
#      h=3: 0.53125 * (1 + 0.5625 + (0.5*2)^2) = 0.53125 * 2.5625 = 1.361328125
SERIES = [10.0, 12.0, 13.0, 15.0]
POINTS = (16.8125, 18.5, 20.1875)
VARIANCES = (0.53125, 0.830078125, 1.361328125)


def test_holt_forecasts_match_the_hand_computation() -> None:
    forecast = holt(SERIES, 3, alpha=0.5, beta=0.5)
    # every step above is a sum of binary fractions, so the floats are exact
    assert forecast.points == POINTS
    assert (forecast.alpha, forecast.beta, forecast.level) == (0.5, 0.5, 0.95)
    assert forecast.sse == 1.0625
    assert forecast.residuals == 2
    assert forecast.rmse == pytest.approx(math.sqrt(0.53125))


def test_holt_intervals_match_the_hand_computation() -> None:
    forecast = holt(SERIES, 3, alpha=0.5, beta=0.5)
    half_widths = [Z95 * math.sqrt(v) for v in VARIANCES]  # 1.428557, 1.785696, 2.286807
    assert forecast.lower == pytest.approx([p - w for p, w in zip(POINTS, half_widths, strict=True)])
    assert forecast.upper == pytest.approx([p + w for p, w in zip(POINTS, half_widths, strict=True)])
    assert forecast.lower[0] == pytest.approx(15.383943, abs=1e-6)
    assert forecast.upper[2] == pytest.approx(22.474307, abs=1e-6)


def test_the_interval_widens_with_the_horizon() -> None:
    forecast = holt(SERIES, 10, alpha=0.5, beta=0.5)
    widths = [u - lo for lo, u in zip(forecast.lower, forecast.upper, strict=True)]
    assert all(a < b for a, b in pairwise(widths))


def test_a_lower_level_gives_a_narrower_interval_by_the_normal_quantile() -> None:
    wide = holt(SERIES, 1, alpha=0.5, beta=0.5)
    narrow = holt(SERIES, 1, alpha=0.5, beta=0.5, level=0.8)
    # z(0.90) = 1.2815516 against z(0.975) = 1.9599640
    ratio = (narrow.upper[0] - narrow.lower[0]) / (wide.upper[0] - wide.lower[0])
    assert ratio == pytest.approx(NormalDist().inv_cdf(0.9) / Z95)


def test_forecast_points_start_after_trailing_empty_buckets() -> None:
    # given: the last bucket has no data, so the first point asked for is two steps past the last observation
    forecast = holt([*SERIES, None], 2, alpha=0.5, beta=0.5)
    # then: steps h=2 and h=3 of the hand computation, with their variances
    assert forecast.points == POINTS[1:]
    assert forecast.upper == pytest.approx([p + Z95 * math.sqrt(v) for p, v in zip(POINTS[1:], VARIANCES[1:],
                                                                                    strict=True)])


def test_leading_empty_buckets_are_dropped() -> None:
    assert holt([None, None, *SERIES], 3, alpha=0.5, beta=0.5) == holt(SERIES, 3, alpha=0.5, beta=0.5)


def test_interior_gaps_are_interpolated_and_not_counted_as_errors() -> None:
    # given: 13 missing; interpolated as (12 + 15) / 2 = 13.5, and the forecast error there is not evidence
    # l0 = 10, b0 = 2; t=2 (interpolated 13.5): forecast 14, error -0.5, l2 = 13.75, b2 = 1.875
    # t=3: forecast 15.625, error -0.625, l3 = 15.3125, b3 = 1.71875; h=1: 17.03125
    forecast = holt([10.0, 12.0, None, 15.0], 1, alpha=0.5, beta=0.5)
    assert forecast.points == (17.03125,)
    assert forecast.residuals == 1
    assert forecast.sse == 0.390625  # (-0.625)^2 only


# --- Holt: fitting ------------------------------------------------------------------------------------------


def test_fitting_on_a_straight_line_extrapolates_it_exactly() -> None:
    forecast = holt([3, 5, 7, 9, 11, 13], 3)
    assert forecast.points == (15.0, 17.0, 19.0)
    assert forecast.lower == forecast.points == forecast.upper
    assert (forecast.sse, forecast.rmse) == (0.0, 0.0)
    # every pair fits a line perfectly; the tie goes to the smallest alpha and beta of the fine grid
    assert (forecast.alpha, forecast.beta) == (0.01, 0.01)


def test_fitting_a_line_with_gaps_and_trailing_empty_buckets_continues_it_at_the_right_buckets() -> None:
    # y = 2x + 1 observed at x = 1, 3, 4; buckets 5 is empty, so the points are for x = 6, 7, 8
    assert holt([None, 3, None, 7, 9, None], 3).points == (13.0, 15.0, 17.0)


def test_a_constant_series_forecasts_the_constant() -> None:
    forecast = holt([5, 5, 5, 5], 2)
    assert forecast.points == (5.0, 5.0)
    assert forecast.rmse == 0.0


def test_fitting_reaches_the_least_sse_of_the_hand_analysed_series() -> None:
    # Whatever alpha and beta, the error at t=2 is 13 - 14 = -1. At t=3 the forecast is
    # (14 - alpha) + (2 - alpha*beta) = 16 - alpha*(1 + beta), so the error is alpha*(1 + beta) - 1:
    # the least SSE is 1, reached where alpha*(1 + beta) = 1, first on the grid at alpha 0.8, beta 0.25.
    forecast = holt(SERIES, 1)
    assert forecast.sse == pytest.approx(1.0)
    assert forecast.alpha * (1 + forecast.beta) == pytest.approx(1.0)
    assert (forecast.alpha, forecast.beta) == (0.8, 0.25)


def test_the_fitted_parameters_beat_every_coarse_grid_pair() -> None:
    series = [120, 131, 125, 140, 152, 149, 160, 171, 165, 180, 178, 190]
    fitted = holt(series, 1)
    grid = [k / 100 for k in range(5, 100, 5)]
    assert all(fitted.sse <= holt(series, 1, alpha=a, beta=b).sse for a in grid for b in grid)
    assert 0 < fitted.alpha < 1
    assert 0 < fitted.beta < 1


def test_a_given_alpha_is_kept_and_only_beta_is_fitted() -> None:
    forecast = holt([120, 131, 125, 140, 152, 149, 160], 1, alpha=0.3)
    assert forecast.alpha == 0.3
    assert forecast == holt([120, 131, 125, 140, 152, 149, 160], 1, alpha=0.3, beta=forecast.beta)


def test_fitting_is_deterministic() -> None:
    series = [3.5, None, 4.25, 6.0, 5.5, 7.75, None, 8.0]
    assert holt(series, 5) == holt(series, 5)


@given(st.integers(-1000, 1000), st.integers(-50, 50), st.integers(3, 30), st.integers(1, 10))
def test_any_straight_integer_line_is_continued_exactly(intercept: int, slope: int, length: int, horizon: int) -> None:
    forecast = holt([intercept + slope * i for i in range(length)], horizon)
    assert forecast.points == tuple(float(intercept + slope * (length + h)) for h in range(horizon))


@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), max_size=40), st.integers(1, 12))
def test_every_forecast_lies_inside_an_interval_that_never_narrows(values: list[float | None], horizon: int) -> None:
    try:
        forecast = holt(values, horizon)
    except InsufficientData:
        assert sum(v is not None for v in values) < 3
        return
    assert len(forecast.points) == len(forecast.lower) == len(forecast.upper) == horizon
    assert all(lo <= p <= u for lo, p, u in zip(forecast.lower, forecast.points, forecast.upper, strict=True))
    widths = [u - lo for lo, u in zip(forecast.lower, forecast.upper, strict=True)]
    assert all(a <= b * (1 + 1e-12) for a, b in pairwise(widths))


# --- Holt: refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "got"), [([], 0), ([None, None, None], 0), ([1.0, None, 2.0], 2), ([7.0], 1)])
def test_fewer_than_three_points_with_data_is_insufficient(values: list[float | None], got: int) -> None:
    with pytest.raises(InsufficientData) as caught:
        holt(values, 1)
    assert caught.value.message == f"a forecast needs at least 3 buckets with data, got {got}; choose a longer range"
    assert caught.value.extensions == {"needed": 3, "got": got}
    assert caught.value.code is ErrorCode.BAD_USER_INPUT


@pytest.mark.parametrize(
    ("horizon", "options", "argument"),
    [
        (0, {}, "horizon"),
        (MAX_HORIZON + 1, {}, "horizon"),
        (3, {"alpha": 0.0}, "alpha"),
        (3, {"alpha": 1.5}, "alpha"),
        (3, {"alpha": math.nan}, "alpha"),
        (3, {"beta": -0.1}, "beta"),
        (3, {"beta": 1.01}, "beta"),
        (3, {"level": 0.0}, "level"),
        (3, {"level": 1.0}, "level"),
        (3, {"level": 95.0}, "level"),
    ],
)
def test_parameters_out_of_range_are_bad_user_input_naming_the_argument(
    horizon: int, options: dict[str, float], argument: str
) -> None:
    with pytest.raises(BadUserInput) as caught:
        holt(SERIES, horizon, **options)
    assert caught.value.extensions == {"argument": argument}


def test_the_extremes_alpha_one_and_beta_zero_are_allowed() -> None:
    # alpha = 1: the level is the last value, 15; beta = 0: the trend stays b0 = 2
    assert holt(SERIES, 2, alpha=1.0, beta=0.0).points == (17.0, 19.0)


def test_a_non_finite_value_in_a_forecast_series_is_an_error() -> None:
    with pytest.raises(ValueError, match="finite or None"):
        holt([1.0, 2.0, math.inf, 4.0], 1)


def test_a_forecast_is_immutable() -> None:
    forecast = holt(SERIES, 1, alpha=0.5, beta=0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        forecast.alpha = 0.1  # type: ignore[misc]
    assert isinstance(forecast, Forecast)
    assert isinstance(forecast.points, tuple)


# --- rank and percentile rank -------------------------------------------------------------------------------

POPULATION = [9.0, 7.0, None, 7.0, 3.0]


@pytest.mark.parametrize(("value", "higher", "expected"),
                         [(9.0, True, 1), (7.0, True, 2), (3.0, True, 4), (3.0, False, 1), (7.0, False, 2),
                          (9.0, False, 4)])
def test_rank_is_one_plus_the_count_strictly_better_so_ties_share_the_best_rank(
    value: float, higher: bool, expected: int
) -> None:
    assert rank(value, POPULATION, higher_is_better=higher) == expected


def test_rank_of_a_value_outside_the_population_is_where_it_would_stand() -> None:
    assert rank(8.0, POPULATION) == 2
    assert rank(100.0, POPULATION) == 1
    assert rank(0.0, POPULATION) == 5
    assert rank(5.0, []) == 1


@pytest.mark.parametrize(("value", "higher", "expected"),
                         [
                             (9.0, True, 87.5),   # 3 worse of 4: (3 + 1/2) / 4
                             (7.0, True, 50.0),   # 1 worse, 2 ties: (1 + 2/2) / 4
                             (3.0, True, 12.5),   # 0 worse, itself a tie: (0 + 1/2) / 4
                             (3.0, False, 87.5),
                             (9.0, False, 12.5),
                             (8.0, True, 75.0),   # not a member: 3 worse, no ties
                             (100.0, True, 100.0),
                             (0.0, True, 0.0),
                         ])
def test_percentile_rank_counts_strictly_worse_plus_half_the_ties(value: float, higher: bool, expected: float) -> None:
    assert percentile_rank(value, POPULATION, higher_is_better=higher) == expected


def test_the_only_member_and_a_population_of_equals_are_at_the_fiftieth_percentile() -> None:
    assert percentile_rank(4.0, [4.0]) == 50.0
    assert percentile_rank(4.0, [4.0, 4.0, None, 4.0]) == 50.0


def test_rank_and_percentile_of_none_are_none() -> None:
    assert rank(None, POPULATION) is None
    assert percentile_rank(None, POPULATION) is None


def test_percentile_rank_in_an_empty_population_is_none() -> None:
    assert percentile_rank(1.0, []) is None
    assert percentile_rank(1.0, [None, None]) is None


def test_a_nan_in_a_population_is_an_error_not_a_silent_non_tie() -> None:
    with pytest.raises(ValueError, match="finite or None"):
        rank(1.0, [2.0, math.nan])
    with pytest.raises(ValueError, match="finite or None"):
        percentile_rank(math.nan, [2.0])


population = st.lists(st.one_of(st.none(), st.integers(-20, 20).map(float)), max_size=30)


@given(st.integers(-20, 20).map(float), population)
def test_percentile_ranks_for_either_direction_add_up_to_one_hundred(value: float, values: list[float | None]) -> None:
    up, down = percentile_rank(value, values), percentile_rank(value, values, higher_is_better=False)
    if up is None or down is None:
        assert all(v is None for v in values)
    else:
        assert 0 <= up <= 100
        assert up + down == pytest.approx(100.0)


@given(st.integers(-20, 20).map(float), st.integers(-20, 20).map(float), population)
def test_a_better_value_never_ranks_worse(a: float, b: float, values: list[float | None]) -> None:
    better, worse = max(a, b), min(a, b)
    ranks = rank(better, values), rank(worse, values)
    percentiles = percentile_rank(better, values), percentile_rank(worse, values)
    assert ranks[0] is not None
    assert ranks[1] is not None
    assert ranks[0] <= ranks[1]
    if percentiles[0] is not None and percentiles[1] is not None:
        assert percentiles[0] >= percentiles[1]


def test_the_public_api_is_all() -> None:
    module = gateway.analysis
    defined = {name for name, obj in vars(module).items()
               if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__}
    assert defined <= set(module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)


@given(st.lists(st.one_of(st.none(), st.integers(-5, 5).map(float)), max_size=30), st.booleans())
def test_standings_equal_rank_and_percentile_rank_of_each_value(values: list[float | None], higher: bool) -> None:
    expected = [(rank(v, values, higher_is_better=higher), percentile_rank(v, values, higher_is_better=higher))
                for v in values]
    assert standings(values, higher_is_better=higher) == expected


SEASONAL_LONG = [100 + 10 * math.sin(i / 9) + (i % 7) + 0.01 * i for i in range(4992)]


async def test_the_async_forecast_equals_the_sync_one() -> None:
    # given a long series with gaps
    values: list[float | None] = [v if i % 11 else None for i, v in enumerate(SEASONAL_LONG[:600])]
    # when
    sync, awaited = holt(values, 30), await holt_async(values, 30)
    # then
    assert awaited == sync


def test_fitting_a_long_series_yields_between_bounded_chunks_of_work() -> None:
    # given the longest admitted series (5,000 quarter hours ≈ 52 days)
    from gateway.analysis import _fit, _prepare

    series, observed, _ = _prepare(SEASONAL_LONG)
    # when
    steps = _fit(series, observed, None, None)
    chunks = 0
    while next(steps) is None:
        chunks += 1
    # then the 19 x 19 coarse and up to 9 x 9 fine passes over 4,992 buckets come in chunks of at most
    # FIT_CHUNK_STEPS plus one pass each (a few milliseconds), not in one piece of seconds
    assert chunks >= (19 * 19) * len(series) // (FIT_CHUNK_STEPS + len(series))
