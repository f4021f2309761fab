"""A report as CSV that opens cleanly in a spreadsheet, streamed chunk by chunk so no export holds its rows.

RFC 4180: comma-separated, CRLF line ends, a field quoted when it holds a comma, a quote or a line break, quotes
inside doubled. UTF-8, optionally behind a byte-order mark (Excel on Windows needs it to read UTF-8). The header
row holds the column titles (what a person sees) or, with `header=CsvHeader.KEYS`, the column keys (stable
names for a BI tool). Values are written plainly (see _format.plain): numbers with a '.' decimal, ISO 8601
dates and datetimes, None as an empty field; text that a spreadsheet would run as a formula is prefixed with a
single quote, real numbers (negative ones too) are left as numbers.

A CSV file holds one table: the result's main one. The further tables (`ReportResult.tables`: calls by hour,
outcomes, score buckets…) have other columns, and a second header half-way down would break every spreadsheet
import and BI connector reading the file; they are in the JSON and the PDF.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Final

from gateway.reports.render._format import plain
from gateway.reports.result import Column, ReportResult, Row

UTF8_BOM: Final = b"\xef\xbb\xbf"
MEDIA_TYPE: Final = "text/csv; charset=utf-8"


class CsvHeader(enum.Enum):
    TITLES = "titles"
    KEYS = "keys"


def _encode(text: str) -> bytes:
    # A stray lone surrogate must not break an export half-way through: it becomes U+FFFD.
    return text.encode("utf-8", errors="replace")


def _lines(rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL, doublequote=True)
    writer.writerows([plain(value) for value in row] for row in rows)
    return buffer.getvalue()


def csv_header(columns: Sequence[Column], *, bom: bool = False, header: CsvHeader = CsvHeader.TITLES) -> bytes:
    """The first bytes of the file: the optional BOM and the header row."""
    names = [column.title if header is CsvHeader.TITLES else column.key for column in columns]
    return (UTF8_BOM if bom else b"") + _encode(_lines([names]))


def csv_rows(rows: Iterable[Row]) -> bytes:
    """Rows as CSV lines, each ending in CRLF."""
    return _encode(_lines(rows))


async def stream_csv(columns: Sequence[Column], row_chunks: AsyncIterable[Sequence[Row]], *, bom: bool = False,
                     header: CsvHeader = CsvHeader.TITLES) -> AsyncIterator[bytes]:
    """The CSV file as bytes chunks: the header, then one chunk per row chunk read (empty chunks skipped)."""
    yield csv_header(columns, bom=bom, header=header)
    async for chunk in row_chunks:
        if chunk:
            yield csv_rows(chunk)


def render_csv(result: ReportResult, *, bom: bool = False, header: CsvHeader = CsvHeader.TITLES) -> bytes:
    """An in-memory result's main table as one CSV file; the same bytes stream_csv gives for its rows."""
    return csv_header(result.columns, bom=bom, header=header) + csv_rows(result.rows)
