"""A report as one JSON document, whole or streamed in chunks that concatenate to the same bytes.

    {"title": "Agent performance",
     "parameters": {"Range": "2026-03-01 – 2026-03-31", "Team": "North"},
     "summary": [{"label": "Calls", "value": 1234, "kind": "integer"}],
     "columns": [{"key": "agent", "title": "Agent", "kind": "text"}, …],
     "charts": [{"kind": "bar", "title": "Calls per agent", "label": "agent", "values": ["calls"]}],
     "rows": [{"agent": "Zoë Ødegård", "calls": 120, …}, …]}

Parameters are an object (a name given twice keeps its last value); rows are objects keyed by column key.
Numbers are JSON numbers (a ratio as the ratio, seconds as seconds), dates and datetimes ISO 8601 strings, a
number that is not finite null. Text is written as it is: a JSON consumer runs no formulas. `parse_json` reads
a document back into a ReportResult, with dates and datetimes typed again by their column's kind.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

import orjson

from gateway.reports.result import Chart, ChartKind, Column, ColumnKind, ReportResult, Row, SummaryFigure, chunks_of

MEDIA_TYPE: Final = "application/json"


def _default(value: object) -> object:
    """What orjson cannot write itself: Decimal (money) as a number, a duration as its seconds."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"{type(value).__name__} is not a report value")


def _head(result: ReportResult) -> dict[str, object]:
    return {
        "title": result.title,
        "parameters": dict(result.parameters),
        "summary": [{"label": figure.label, "value": figure.value, "kind": figure.kind.value}
                    for figure in result.summary],
        "columns": [{"key": column.key, "title": column.title, "kind": column.kind.value}
                    for column in result.columns],
        "charts": [{"kind": chart.kind.value, "title": chart.title, "label": chart.label,
                    "values": list(chart.values)} for chart in result.charts],
    }


def _objects(keys: Sequence[str], rows: Sequence[Row]) -> list[dict[str, object]]:
    return [dict(zip(keys, row, strict=True)) for row in rows]


def render_json(result: ReportResult) -> bytes:
    """An in-memory result as one JSON document."""
    keys = [column.key for column in result.columns]
    return orjson.dumps({**_head(result), "rows": _objects(keys, result.rows)}, default=_default)


async def stream_json(result: ReportResult,
                      row_chunks: AsyncIterable[Sequence[Row]] | None = None) -> AsyncIterator[bytes]:
    """The document as bytes chunks: the head from `result`, its rows from `row_chunks` (else `result.rows`).

    A stored result too large to hold passes `result` with no rows and streams them from its chunks.
    """
    keys = [column.key for column in result.columns]
    head = orjson.dumps(_head(result), default=_default)
    yield head[:-1] + b',"rows":['
    first = True
    async for chunk in chunks_of(result.rows) if row_chunks is None else row_chunks:
        if not chunk:
            continue
        body = orjson.dumps(_objects(keys, chunk), default=_default)[1:-1]
        yield body if first else b"," + body
        first = False
    yield b"]}"


def _typed(value: object, kind: ColumnKind) -> object:
    if isinstance(value, str):
        if kind is ColumnKind.DATE:
            return date.fromisoformat(value)
        if kind is ColumnKind.DATETIME:
            return datetime.fromisoformat(value)
    return value


def parse_json(document: bytes | str) -> ReportResult:
    """A document written by render_json or stream_json, as the result it came from."""
    data = orjson.loads(document)
    columns = [Column(item["key"], item["title"], ColumnKind(item["kind"])) for item in data["columns"]]
    kinds = [(column.key, column.kind) for column in columns]
    return ReportResult(
        title=data["title"],
        parameters=[(str(name), str(value)) for name, value in data["parameters"].items()],
        summary=[SummaryFigure(item["label"], _typed(item["value"], ColumnKind(item["kind"])), ColumnKind(item["kind"]))
                 for item in data["summary"]],
        columns=columns,
        rows=[tuple(_typed(row.get(key), kind) for key, kind in kinds) for row in data["rows"]],
        charts=[Chart(ChartKind(item["kind"]), item["title"], item["label"], tuple(item["values"]))
                for item in data["charts"]],
    )
