"""The framework's floor for the dashboard's shape: the same query on a toy Strawberry schema whose resolvers
return precomputed objects (no database, no loaders, no access checks), with the gateway's execution context.

What bench/graph.py prints as `floor` is the least any Strawberry schema of this shape costs on the machine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

import strawberry

from gateway.schema._execution import ScalarListExecutionContext

STARTS: Final = [datetime(2025, 3, 2, tzinfo=UTC) + timedelta(days=i) for i in range(30)]


@strawberry.input
class Range:
    from_: date | None = strawberry.field(default=None, name="from")
    to: date | None = None


@strawberry.type
class Named:
    name: str


@strawberry.type
class Figures:
    calls_handled: int
    average_handle_time_seconds: float | None
    conversion_rate: float | None
    csat: float | None
    service_level: float | None
    revenue: float


@strawberry.type
class Values:
    name: str
    values: list[float | None]


@strawberry.type
class Chart:
    bucket_starts: list[datetime]
    series: list[Values]


@strawberry.type
class Row:
    name: str

    @strawberry.field
    def team(self) -> Named:
        return Named(name="team")

    @strawberry.field
    def campaigns(self, range: Range) -> list[Named]:
        return [Named(name=f"campaign {i}") for i in (1, 2, 3, 4)]

    @strawberry.field
    def metrics(self, range: Range) -> Figures:
        return Figures(calls_handled=1, average_handle_time_seconds=1.0, conversion_rate=0.1, csat=0.5,
                       service_level=0.5, revenue=1.0)

    @strawberry.field
    def series(self, metrics: list[str], range: Range, granularity: str) -> Chart:
        return Chart(bucket_starts=STARTS, series=[Values(name=m, values=[1.0] * 30) for m in metrics])


@strawberry.type
class Node:
    node: Row


@strawberry.type
class Page:
    edges: list[Node]


@strawberry.type
class Query:
    @strawberry.field
    async def agents(self, first: int) -> Page:
        return Page(edges=[Node(node=Row(name=f"agent {i}")) for i in range(first)])


SCHEMA: Final = strawberry.Schema(Query, execution_context_class=ScalarListExecutionContext)


def toy_query(dashboard: str) -> str:
    """The dashboard query for the toy schema: the same fields, enum arguments as strings."""
    metrics = dashboard[dashboard.index("series(metrics: [") + len("series(metrics: ["):].split("]", 1)[0]
    names = ", ".join(f'"{m.strip().lower()}"' for m in metrics.split(","))
    return (dashboard.replace(f"[{metrics}]", f"[{names}]").replace("granularity: DAY", 'granularity: "day"'))


async def run_floor(dashboard: str) -> None:
    result = await SCHEMA.execute(toy_query(dashboard))
    if result.errors:
        raise RuntimeError(f"the toy query failed: {result.errors}")
