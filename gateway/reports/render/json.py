"""A report as one JSON document, whole or streamed in chunks that concatenate to the same bytes.

    {"title": "Call analysis",
     "parameters": {"Range": "2026-03-02 – 2026-03-08", "Team": "North"},
     "summary": [{"label": "Calls", "value": 1234, "kind": "integer"}],
     "columns": [{"key": "bucket", "title": "Day", "kind": "date"}, …],
     "charts": [{"kind": "line", "title": "Calls by day", "label": "bucket", "values": ["calls_total"],
                 "table": null},
                {"kind": "bar", "title": "Calls by hour of the day", "label": "hour", "values": ["calls_total"],
                 "table": "by_hour"}],
     "rows": [{"bucket": "2026-03-02", "calls_total": 120, …}, …],
     "tables": [{"key": "by_hour", "title": "Calls by hour of the day (local time)",
                 "columns": [{"key": "hour", "title": "Hour", "kind": "text"}, …],
                 "rows": [{"hour": "00:00", "calls_total": 1, …}, …]}, …]}

Parameters are an object (a name given twice keeps its last value); rows, the main table's and each further
table's, are objects keyed by column key. A chart's `table` is the key of the table it is drawn from, null for
the main one. Numbers are JSON numbers (a ratio as the ratio, seconds as seconds, money — a Decimal — as the
number it holds), dates and datetimes ISO 8601 strings (with the offset when the value has one), a number that
is not finite null. Text is written as it is: a JSON consumer runs no formulas. `parse_json` reads a document
back into a ReportResult, with dates and datetimes typed again by their column's kind (money comes back as a
float).

The further tables come after the rows: a streamed document sends the main table's rows as they are read, and
the further tables (small, always in memory) at the end, so it is byte for byte the in-memory one.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

import orjson

from gateway.reports.result import (
    Chart,
    ChartKind,
    Column,
    ColumnKind,
    ReportResult,
    Row,
    SummaryFigure,
    Table,
    chunks_of,
)

MEDIA_TYPE: Final = "application/json"


def _default(value: object) -> object:
    """What orjson cannot write itself: Decimal (money) as a number, a duration as its seconds."""
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"{type(value).__name__} is not a report value")


def _head(result: ReportResult) -> dict[str, object]:
    return {
        "title": result.title,
        "parameters": dict(result.parameters),
        "summary": [{"label": figure.label, "value": figure.value, "kind": figure.kind.value}
                    for figure in result.summary],
        "columns": _columns(result.columns),
        "charts": [{"kind": chart.kind.value, "title": chart.title, "label": chart.label,
                    "values": list(chart.values), "table": chart.table} for chart in result.charts],
    }


def _columns(columns: Sequence[Column]) -> list[dict[str, str]]:
    return [{"key": column.key, "title": column.title, "kind": column.kind.value} for column in columns]


def _objects(columns: Sequence[Column], rows: Sequence[Row]) -> list[dict[str, object]]:
    keys = [column.key for column in columns]
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _tables(result: ReportResult) -> list[dict[str, object]]:
    return [{"key": table.key, "title": table.title, "columns": _columns(table.columns),
             "rows": _objects(table.columns, table.rows)} for table in result.tables]


def render_json(result: ReportResult) -> bytes:
    """An in-memory result as one JSON document."""
    return orjson.dumps({**_head(result), "rows": _objects(result.columns, result.rows), "tables": _tables(result)},
                        default=_default)


async def stream_json(result: ReportResult,
                      row_chunks: AsyncIterable[Sequence[Row]] | None = None) -> AsyncIterator[bytes]:
    """The document as bytes chunks: the head from `result`, its rows from `row_chunks` (else `result.rows`).

    A stored result too large to hold passes `result` with no rows (its further tables in full) and streams
    the rows from its chunks; the further tables close the document.
    """
    head = orjson.dumps(_head(result), default=_default)
    yield head[:-1] + b',"rows":['
    first = True
    async for chunk in chunks_of(result.rows) if row_chunks is None else row_chunks:
        if not chunk:
            continue
        body = orjson.dumps(_objects(result.columns, chunk), default=_default)[1:-1]
        yield body if first else b"," + body
        first = False
    yield b'],"tables":' + orjson.dumps(_tables(result), default=_default) + b"}"


def _typed(value: object, kind: ColumnKind) -> object:
    if isinstance(value, str):
        if kind is ColumnKind.DATE:
            return date.fromisoformat(value)
        if kind is ColumnKind.DATETIME:
            return datetime.fromisoformat(value)
    return value


def _parsed_columns(items: Sequence[dict[str, str]]) -> list[Column]:
    return [Column(item["key"], item["title"], ColumnKind(item["kind"])) for item in items]


def _parsed_rows(columns: Sequence[Column], rows: Sequence[dict[str, object]]) -> list[Row]:
    return [tuple(_typed(row.get(column.key), column.kind) for column in columns) for row in rows]


def parse_json(document: bytes | str) -> ReportResult:
    """A document written by render_json or stream_json, as the result it came from.

    (A document written before results had further tables, with no `tables` and no chart `table`, reads too.)
    """
    data = orjson.loads(document)
    columns = _parsed_columns(data["columns"])
    tables = []
    for item in data.get("tables", ()):
        table_columns = _parsed_columns(item["columns"])
        tables.append(Table(item["key"], item["title"], table_columns, _parsed_rows(table_columns, item["rows"])))
    return ReportResult(
        title=data["title"],
        parameters=[(str(name), str(value)) for name, value in data["parameters"].items()],
        summary=[SummaryFigure(item["label"], _typed(item["value"], ColumnKind(item["kind"])), ColumnKind(item["kind"]))
                 for item in data["summary"]],
        columns=columns,
        rows=_parsed_rows(columns, data["rows"]),
        charts=[Chart(ChartKind(item["kind"]), item["title"], item["label"], tuple(item["values"]), item.get("table"))
                for item in data["charts"]],
        tables=tables,
    )
