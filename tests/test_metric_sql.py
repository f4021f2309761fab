"""The SQL expressions of the built-in metrics give exactly what the Python formulas give."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from gateway.metric_sql import counter, expression
from gateway.metrics import COUNTERS, MONEY, Counters, Metric, Scope, value

ZERO_COUNTERS = Counters()


def _random_counters(rng: random.Random) -> Counters:
    """Counters with zeros often (undefined ratios), small and large counts, money with cents."""
    def count() -> int:
        return rng.choice([0, 0, 1, rng.randint(1, 50), rng.randint(1, 10**6), rng.randint(1, 10**12)])

    def money() -> Decimal:
        return rng.choice([Decimal(0), Decimal(rng.randint(-10**8, 10**8)) / 100, Decimal(rng.randint(1, 999)) / 100])

    values: dict[str, Any] = {name: money() if name in MONEY else count() for name in COUNTERS}
    return Counters(**values)


def _statement(scope: Scope, present: bool) -> str:
    """Every metric over the rows of the parameters' columns, or over a missing row (all NULL) when not present."""
    values = ", ".join(f"{expression(m, scope, counter('s'))} AS {m.value}" for m in Metric)
    columns = ", ".join(COUNTERS)
    arrays = ", ".join(f"${i + 1}::{'numeric' if name in MONEY else 'bigint'}[]" for i, name in enumerate(COUNTERS))
    # Names from our own constants only.
    rows = f"SELECT * FROM unnest({arrays}) AS t({columns})"  # noqa: S608
    if present:
        return f"SELECT {values} FROM ({rows}) s"  # noqa: S608
    return f"SELECT {values} FROM (SELECT 1) one LEFT JOIN ({rows}) s ON false"  # noqa: S608


def _same(got: Any, expected: float | None) -> bool:
    # Equal as doubles, bit for bit (a sign of zero included): what the response would show.
    return (got is None and expected is None) or (got is not None and expected is not None
                                                  and float(got).hex() == float(expected).hex())


@pytest.mark.parametrize("scope", list(Scope))
async def test_every_metric_in_sql_equals_its_python_formula_on_random_counters(pg_server_dsn: str,
                                                                                scope: Scope) -> None:
    # given 400 random counters (seeded), a zero row among them
    rng = random.Random(f"metric-sql-{scope.value}")
    counters = [ZERO_COUNTERS, *(_random_counters(rng) for _ in range(399))]
    conn = await asyncpg.connect(pg_server_dsn)
    try:
        # when PostgreSQL computes every metric of each
        rows = await conn.fetch(_statement(scope, present=True),
                                *([getattr(c, name) for c in counters] for name in COUNTERS))
    finally:
        await conn.close()
    # then each value is the Python formula's, to the bit
    assert len(rows) == len(counters)
    wrong = [(m, c, row[m.value], value(m, c, scope)) for row, c in zip(rows, counters, strict=True)
             for m in Metric if not _same(row[m.value], value(m, c, scope))]
    assert not wrong, wrong[:5]


@pytest.mark.parametrize("scope", list(Scope))
async def test_a_bucket_without_a_row_has_the_values_of_zero_counters(pg_server_dsn: str, scope: Scope) -> None:
    conn = await asyncpg.connect(pg_server_dsn)
    try:
        row = await conn.fetchrow(_statement(scope, present=False), *([] for _ in COUNTERS))
    finally:
        await conn.close()
    assert row is not None
    for m in Metric:
        assert _same(row[m.value], value(m, ZERO_COUNTERS, scope)), m
