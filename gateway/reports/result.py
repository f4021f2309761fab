"""What a report run produces, whatever its type: the shape renderers (CSV, PDF, JSON) and the store share.

A result is a title, the parameters it ran with, summary figures, typed columns and rows, optionally further
tables (a report's fixed breakdowns: calls by hour of day, outcomes, score buckets) and charts drawn from the
columns of the main table or of one of those tables. Rows arrive as tuples in column order; a large result
(a call-detail export) is read as an async stream of row chunks instead of a list, so nothing holds it all in
memory.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field


class ColumnKind(enum.Enum):
    """How a column's values are typed and shown: CSV writes them plainly, the PDF formats them."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    # A ratio 0-1, shown as a percentage in the PDF; written as the ratio in CSV and JSON.
    RATIO = "ratio"
    SECONDS = "seconds"
    MONEY = "money"
    DATE = "date"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: ColumnKind = ColumnKind.TEXT


class ChartKind(enum.Enum):
    BAR = "bar"
    LINE = "line"


@dataclass(frozen=True)
class Chart:
    """A chart of `values` (numeric column keys) against `label` (a column key), drawn from the first rows.

    `table` names the Table (its `key`) the columns belong to; None is the result's main table.
    """

    kind: ChartKind
    title: str
    label: str
    values: tuple[str, ...]
    table: str | None = None


@dataclass(frozen=True)
class SummaryFigure:
    label: str
    value: object
    kind: ColumnKind = ColumnKind.NUMBER


Row = tuple[object, ...]


@dataclass
class Table:
    """A further table of a result, after the main one: its own columns and rows, small enough to hold."""

    key: str
    title: str
    columns: list[Column]
    rows: list[Row]


@dataclass
class ReportResult:
    """A finished report: everything the renderers need, rows held in memory."""

    title: str
    parameters: list[tuple[str, str]]
    summary: list[SummaryFigure]
    columns: list[Column]
    rows: list[Row]
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    def chart_source(self, chart: Chart) -> tuple[list[Column], list[Row]]:
        """The columns and rows a chart is drawn from: those of the Table it names, else the main table's."""
        if chart.table is None:
            return self.columns, self.rows
        for table in self.tables:
            if table.key == chart.table:
                return table.columns, table.rows
        raise ValueError(f"chart {chart.title!r} names table {chart.table!r}, which the result does not have")


async def chunks_of(rows: Sequence[Row], size: int = 1000) -> AsyncIterator[Sequence[Row]]:
    """An in-memory result as the row-chunk stream the streaming renderers read."""
    for start in range(0, len(rows), size):
        yield rows[start:start + size]
