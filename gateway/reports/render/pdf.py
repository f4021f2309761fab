"""A report as a PDF a manager reads: title, parameters, summary figures, charts and every table, whole.

Drawn with fpdf2 on A4 landscape. Page 1 has the title, the parameters, the summary figures as cards and the
charts (`ReportResult.charts`: bars or lines of the first rows of the table each is drawn from, the main one or
a further one, with axis titles, ticks and a legend); the main table follows, then each further table
(`ReportResult.tables`: calls by hour, outcomes, score buckets…) under its title. Every table has its header
repeated on every page and is paginated to its last row, never truncated. A cell too long for its column is
cut with an ellipsis (the CSV has it whole); a summary figure too long for its card is drawn smaller. Numbers
are shown per ColumnKind: integers grouped (1,234), ratios as percentages, seconds as m:ss, money with two
decimals; dates ISO, datetimes to the minute with their offset when they have one. Every page has the footer
"page N of M".

Fonts: DejaVu Sans from the system (Debian's fonts-dejavu-core) covers Latin, Greek and Cyrillic names; an
installed CJK font (Debian's fonts-droid-fallback) is added, only for a document that needs it, for names like
李雷. A character no loaded font has is drawn as "?". Without DejaVu the PDF core font Helvetica is used, which
has Latin-1 only (Zoë Ødegård is fine, 李雷 becomes ??).

Rendering is CPU work and synchronous: the worker runs `render_pdf` in a thread or process. A result with more
rows than `max_rows`, its further tables' rows counted too (`pdf_rows`), is refused before anything is drawn
(PdfRowCapExceeded): such an export is a CSV.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from fpdf import FPDF
from fpdf.fonts import TTFFont

from gateway.errors import BadUserInput
from gateway.reports.render._format import NUMERIC_KINDS, chart_number, display
from gateway.reports.result import Chart, ChartKind, Column, ColumnKind, ReportResult, Row

MEDIA_TYPE: Final = "application/pdf"

MARGIN: Final = 12.0
BOTTOM: Final = 14.0  # room for the footer
TABLE_FONT_PT: Final = 8.0
MIN_TABLE_FONT_PT: Final = 5.0
ROW_HEIGHT: Final = 5.2
HEADER_HEIGHT: Final = 6.5
PAD: Final = 1.3
MIN_TEXT_COLUMN: Final = 18.0
MAX_NUMBER_COLUMN: Final = 45.0
# Column widths are measured on each column's longest strings, not on every cell.
WIDTH_SAMPLE: Final = 25
MAX_CHART_POINTS: Final = 40
_FIXED_KINDS: Final = NUMERIC_KINDS | {ColumnKind.DATE, ColumnKind.DATETIME}
CHART_HEIGHT: Final = 82.0
CARD_FONT_PT: Final = 14.0
MIN_CARD_FONT_PT: Final = 9.0

Colour = tuple[int, int, int]
INK: Final[Colour] = (33, 37, 41)
MUTED: Final[Colour] = (108, 117, 125)
HEADER_FILL: Final[Colour] = (44, 62, 80)
ZEBRA: Final[Colour] = (242, 244, 247)
CARD_FILL: Final[Colour] = (234, 239, 244)
GRID: Final[Colour] = (222, 226, 230)
WHITE: Final[Colour] = (255, 255, 255)
SERIES_COLOURS: Final[tuple[Colour, ...]] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
)
# The first series' colour: a chart's bars (and tests looking for them) are this colour.
BAR_COLOUR: Final = SERIES_COLOURS[0]

_FAMILY: Final = "callpulse"
_CORE_FAMILY: Final = "helvetica"
# Control characters never reach a page: a line break inside a cell becomes a space.
_CONTROLS: Final = {code: " " for code in (*range(32), *range(127, 160))}
# The core fonts have Latin-1 only: the punctuation a report commonly holds is spelled in it, the rest is "?".
_CORE_SUBSTITUTES: Final = {ord(c): text for c, text in {
    "—": "-", "–": "-", "−": "-", "…": "...", "‘": "'", "’": "'", "“": '"', "”": '"', "•": "*", "€": "EUR",
}.items()}


class PdfRowCapExceeded(BadUserInput):
    """BAD_USER_INPUT, reason `pdf_row_cap`: the result has more rows than a PDF may hold; CSV has no cap."""

    def __init__(self, rows: int, limit: int) -> None:
        super().__init__(
            f"this report has {rows:,} rows, more than the {limit:,} a PDF may hold: export it as CSV instead",
            reason="pdf_row_cap", rows=rows, limit=limit, format="PDF", use="CSV",
        )
        self.rows = rows
        self.limit = limit


def check_pdf_rows(rows: int, *, max_rows: int) -> None:
    """Refuse a PDF of `rows` rows before anything is loaded or drawn (callers that know the count ask first)."""
    if rows > max_rows:
        raise PdfRowCapExceeded(rows, max_rows)


def pdf_rows(result: ReportResult) -> int:
    """The rows a PDF of `result` draws, the cap's measure: the main table's and every further table's."""
    return len(result.rows) + sum(len(table.rows) for table in result.tables)


@dataclass(frozen=True)
class PdfFonts:
    """TrueType files to draw with; `regular` None means the PDF core font Helvetica (Latin-1 only)."""

    regular: Path | None = None
    bold: Path | None = None
    # Consulted, in order, for characters `regular` lacks (CJK); loaded only for a document that needs them.
    fallbacks: tuple[Path, ...] = ()


CORE_FONTS: Final = PdfFonts()

_DEJAVU_DIRS: Final = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu (fonts-dejavu-core)
    Path("/usr/share/fonts/dejavu-sans-fonts"),  # Fedora
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),  # Arch
)
_FALLBACK_FILES: Final = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),  # Debian fonts-droid-fallback
    Path("/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf"),  # Fedora
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # Debian fonts-wqy-microhei
)


def system_fonts() -> PdfFonts:
    """DejaVu Sans and any CJK fallback installed here, else the core fonts."""
    for directory in _DEJAVU_DIRS:
        regular = directory / "DejaVuSans.ttf"
        if regular.is_file():
            bold = directory / "DejaVuSans-Bold.ttf"
            return PdfFonts(regular, bold if bold.is_file() else regular,
                            tuple(path for path in _FALLBACK_FILES if path.is_file()))
    return CORE_FONTS


class _Document(FPDF):
    """A4 landscape with the footer "page N of M"; fpdf2 fills in M ({nb}) when the file is written."""

    def __init__(self) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.family_name = _CORE_FAMILY
        self.footer_text = ""
        self.glyphs: _Glyphs | None = None
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=BOTTOM)
        self.c_margin = 0
        self.set_creator("CallPulse")

    def footer(self) -> None:
        top = self.h - 10
        self.set_font(self.family_name, "", 7.5)
        self.set_text_color(*MUTED)
        if self.glyphs is not None:
            self.glyphs.put(MARGIN, top, 4, self.footer_text, self.epw * 0.7, 7.5)
        # cell(), not text(): fpdf2 replaces {nb} in what cell() draws. The text is ASCII, in the main font.
        self.set_xy(MARGIN + self.epw * 0.7, top)
        self.cell(w=self.epw * 0.3, h=4, text=f"page {self.page_no()} of {{nb}}", align="R")


class _Glyphs:
    """The loaded fonts: what they can draw, how wide a string is, and "?" for what no font has.

    Characters the main font lacks are drawn in runs with the fallback font that has them. (fpdf2's own
    fallback fonts work in cell() only, and a cell() that used one leaves the page's font out of step with
    what the next text() assumes, which then draws the wrong glyphs.)
    """

    def __init__(self, pdf: _Document, fonts: PdfFonts, strings: Iterable[str]) -> None:
        self.pdf = pdf
        needed: set[str] = set()
        for text in strings:
            if not text.isascii():
                needed.update(text)
        table: dict[int, str] = dict(_CONTROLS)
        # The fallback font (its fpdf2 key) that draws each character the main font lacks.
        self.fallback: dict[str, str] = {}
        if fonts.regular is None:
            pdf.family_name = _CORE_FAMILY
            pdf.set_font(_CORE_FAMILY, "B")
            pdf.set_font(_CORE_FAMILY, "")
            table.update({ord(c): "?" for c in needed if ord(c) > 255})
            table.update(_CORE_SUBSTITUTES)
            self.ellipsis, self.dash = "...", "-"
        else:
            pdf.family_name = _FAMILY
            pdf.add_font(_FAMILY, "", fonts.regular)
            pdf.add_font(_FAMILY, "B", fonts.bold or fonts.regular)
            covered = self._ttf(_FAMILY).cmap.keys() & self._ttf(_FAMILY + "B").cmap.keys()
            missing = {c for c in needed if ord(c) not in covered and ord(c) not in table}
            for number, path in enumerate(fonts.fallbacks):
                if not missing:
                    break
                key = f"{_FAMILY}fallback{number}"
                pdf.add_font(key, "", path)
                found = {c for c in missing if ord(c) in self._ttf(key).cmap}
                self.fallback.update(dict.fromkeys(found, key))
                missing -= found
            table.update({ord(c): "?" for c in missing})
            self.ellipsis, self.dash = "…", "—"
        self.table = table
        self.regular = pdf.fonts[pdf.family_name]
        self.bold = pdf.fonts[pdf.family_name + "B"]

    def _ttf(self, key: str) -> TTFFont:
        font = self.pdf.fonts[key]
        assert isinstance(font, TTFFont)
        return font

    def clean(self, text: str) -> str:
        return text.translate(self.table)

    def _needs_fallback(self, text: str) -> bool:
        return bool(self.fallback) and not text.isascii() and any(c in self.fallback for c in text)

    def _runs(self, text: str) -> list[tuple[str | None, str]]:
        """Text split into runs of one font each: None for the main font, else a fallback's key."""
        runs: list[tuple[str | None, str]] = []
        for char in text:
            key = self.fallback.get(char)
            if runs and runs[-1][0] == key:
                runs[-1] = (key, runs[-1][1] + char)
            else:
                runs.append((key, char))
        return runs

    def _run_width(self, key: str | None, text: str, size_pt: float, bold: bool) -> float:
        font = self._ttf(key) if key is not None else self.bold if bold else self.regular
        return font.get_text_width(text, size_pt, None)[1] / self.pdf.k

    def width(self, text: str, size_pt: float, bold: bool = False) -> float:
        """Width in mm of cleaned text."""
        if not self._needs_fallback(text):
            return self._run_width(None, text, size_pt, bold)
        return sum(self._run_width(key, run, size_pt, bold) for key, run in self._runs(text))

    def fit(self, text: str, width: float, size_pt: float, bold: bool = False) -> str:
        """Cleaned text cut with an ellipsis to fit `width` mm."""
        text = self.clean(text)
        if self.width(text, size_pt, bold) <= width:
            return text
        budget = width - self.width(self.ellipsis, size_pt, bold)
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if self.width(text[:middle], size_pt, bold) <= budget:
                low = middle
            else:
                high = middle - 1
        return text[:low].rstrip() + self.ellipsis if low else ""

    def size_to_fit(self, text: str, width: float, size_pt: float, min_pt: float, bold: bool = False) -> float:
        """The largest size from `size_pt` down to `min_pt` (in half points) at which the text fits `width` mm."""
        natural = self.width(self.clean(text), size_pt, bold)
        if natural <= width:
            return size_pt
        # Width is proportional to the size.
        return max(min_pt, math.floor(size_pt * width / natural * 2) / 2)

    def wrap(self, text: str, width: float, size_pt: float, bold: bool = False) -> list[str]:
        """Cleaned text broken into lines of at most `width` mm, between words where it can."""
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            line = ""
            for word in self.clean(paragraph).split(" "):
                candidate = f"{line} {word}" if line else word
                if self.width(candidate, size_pt, bold) <= width:
                    line = candidate
                    continue
                if line:
                    lines.append(line)
                # A word wider than the line is broken where it must.
                while self.width(word, size_pt, bold) > width and len(word) > 1:
                    cut = len(word) - 1
                    while cut > 1 and self.width(word[:cut], size_pt, bold) > width:
                        cut -= 1
                    lines.append(word[:cut])
                    word = word[cut:]
                line = word
            lines.append(line)
        return lines

    def put(self, x: float, top: float, height: float, text: str, width: float, size_pt: float,
            bold: bool = False, right: bool = False) -> None:
        """Fitted text in the box (x, top, width, height), vertically centred, left or right aligned.

        The caller has selected the main font at `size_pt` (bold or not); it is selected again afterwards.
        """
        pdf = self.pdf
        fitted = self.fit(text, width, size_pt, bold)
        if not fitted:
            return
        if right:
            x += width - self.width(fitted, size_pt, bold)
        baseline = top + 0.5 * height + 0.3 * size_pt / pdf.k
        if not self._needs_fallback(fitted):
            pdf.text(x, baseline, fitted)
            return
        style = "B" if bold else ""
        for key, run in self._runs(fitted):
            pdf.set_font(pdf.family_name if key is None else key, style if key is None else "", size_pt)
            pdf.text(x, baseline, run)
            x += self._run_width(key, run, size_pt, bold)
        pdf.set_font(pdf.family_name, style, size_pt)


@dataclass
class _Series:
    title: str
    kind: ColumnKind
    values: list[float | None]


@dataclass
class _ChartData:
    chart: Chart
    x_title: str
    labels: list[str]
    series: list[_Series] = field(default_factory=list)


def _chart_data(chart: Chart, result: ReportResult) -> _ChartData:
    """The chart's labels and series, from the first rows of the table it is drawn from (result.chart_source)."""
    columns, source = result.chart_source(chart)
    by_key = {column.key: (index, column) for index, column in enumerate(columns)}
    for key in (chart.label, *chart.values):
        if key not in by_key:
            where = "the result" if chart.table is None else f"table {chart.table!r}"
            raise ValueError(f"chart {chart.title!r} names column {key!r}, which {where} does not have")
    if not chart.values:
        raise ValueError(f"chart {chart.title!r} has no value columns")
    rows = source[:MAX_CHART_POINTS]
    label_index, label_column = by_key[chart.label]
    data = _ChartData(chart, label_column.title,
                      [display(row[label_index], label_column.kind, missing="") for row in rows])
    for key in chart.values:
        index, column = by_key[key]
        data.series.append(_Series(column.title, column.kind, [chart_number(row[index]) for row in rows]))
    return data


def _ticks(low: float, high: float, *, whole: bool, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 × 10^n apart) spanning low..high; at least 1 apart when `whole`.

    (Not 2.5: its ticks would be shown rounded, as whole numbers or m:ss, and mislabel the axis.)
    """
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(1, round(step))
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    return [start + i * step for i in range(round((end - start) / step) + 1)]


def _draw_chart(pdf: _Document, glyphs: _Glyphs, data: _ChartData, top: float) -> None:
    left, width, height = MARGIN, pdf.epw, CHART_HEIGHT
    family = pdf.family_name
    pdf.set_text_color(*INK)
    pdf.set_font(family, "B", 10)
    glyphs.put(left, top, 6, data.chart.title, width * 0.6, 10, bold=True)
    values = [v for series in data.series for v in series.values if v is not None]
    kind = data.series[0].kind
    ticks = _ticks(min(0.0, *values) if values else 0.0, max(0.0, *values) if values else 1.0,
                   whole=kind in (ColumnKind.INTEGER, ColumnKind.SECONDS))
    tick_labels = [display(tick, kind) for tick in ticks]
    pdf.set_font(family, "", 7)
    tick_width = max(glyphs.width(glyphs.clean(label), 7) for label in tick_labels)
    plot_left = left + 6 + tick_width + 2
    plot_top, plot_bottom = top + 10, top + height - 11
    plot_width = left + width - plot_left
    low, high = ticks[0], ticks[-1]

    def y_of(value: float) -> float:
        return plot_bottom - (value - low) / (high - low) * (plot_bottom - plot_top)

    # Grid lines and tick labels.
    pdf.set_line_width(0.2)
    for tick, label in zip(ticks, tick_labels, strict=True):
        y = y_of(tick)
        pdf.set_draw_color(*GRID)
        pdf.line(plot_left, y, plot_left + plot_width, y)
        pdf.set_text_color(*MUTED)
        glyphs.put(plot_left - 2 - tick_width, y - 2, 4, label, tick_width, 7, right=True)
    # Axis titles: the label column under the plot, the value columns along the y axis.
    pdf.set_font(family, "", 7.5)
    pdf.set_text_color(*INK)
    x_title = glyphs.fit(data.x_title, plot_width, 7.5)
    glyphs.put(plot_left + (plot_width - glyphs.width(x_title, 7.5)) / 2, plot_bottom + 6, 5, x_title,
               plot_width, 7.5)
    y_title = glyphs.fit(" / ".join(series.title for series in data.series), plot_bottom - plot_top, 7.5)
    # Drawn level, centred on (x, y), then turned a quarter to read upwards along the axis.
    x, y = left + 2, (plot_top + plot_bottom) / 2
    title_width = glyphs.width(y_title, 7.5)
    with pdf.rotation(90, x, y):
        glyphs.put(x - title_width / 2, y - 2, 4, y_title, title_width + 1, 7.5)
    # Legend, when there is more than one series.
    if len(data.series) > 1:
        pdf.set_font(family, "", 7.5)
        x = left + width
        for number, series in reversed(list(enumerate(data.series))):
            label = glyphs.fit(series.title, 40, 7.5)
            x -= glyphs.width(label, 7.5) + 8
            pdf.set_fill_color(*SERIES_COLOURS[number % len(SERIES_COLOURS)])
            pdf.rect(x, top + 1.5, 3, 3, style="F")
            pdf.set_text_color(*INK)
            glyphs.put(x + 4, top + 1, 4, label, 40, 7.5)

    points = len(data.labels)
    if points:
        slot = plot_width / points
        zero = y_of(0.0) if low <= 0 <= high else plot_bottom
        if data.chart.kind is ChartKind.BAR:
            bar = slot * 0.72 / len(data.series)
            for number, series in enumerate(data.series):
                pdf.set_fill_color(*SERIES_COLOURS[number % len(SERIES_COLOURS)])
                for i, value in enumerate(series.values):
                    if value is None or value == 0:
                        continue
                    x = plot_left + i * slot + slot * 0.14 + number * bar
                    y = y_of(value)
                    pdf.rect(x, min(y, zero), bar, abs(zero - y), style="F")
        else:
            pdf.set_line_width(0.6)
            for number, series in enumerate(data.series):
                colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
                pdf.set_draw_color(*colour)
                pdf.set_fill_color(*colour)
                run: list[tuple[float, float]] = []
                for i, value in enumerate([*series.values, None]):
                    if value is not None:
                        run.append((plot_left + (i + 0.5) * slot, y_of(value)))
                        continue
                    if len(run) > 1:
                        pdf.polyline(run)
                    for x, y in run:
                        pdf.circle(x, y, 0.9, style="F")
                    run = []
        # Labels under the slots; every k-th when the slots are too narrow to read.
        pdf.set_font(family, "", 6.5)
        pdf.set_text_color(*MUTED)
        every = max(1, math.ceil(12 / slot))
        for i in range(0, points, every):
            label = glyphs.fit(data.labels[i], slot * every - 1.5, 6.5)
            x = plot_left + (i + 0.5) * slot - glyphs.width(label, 6.5) / 2
            glyphs.put(x, plot_bottom + 0.8, 4, label, slot * every, 6.5)
    # Axes.
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.3)
    pdf.line(plot_left, plot_top, plot_left, plot_bottom)
    axis_y = y_of(0.0) if low <= 0 <= high else plot_bottom
    pdf.line(plot_left, axis_y, plot_left + plot_width, axis_y)


def _column_widths(glyphs: _Glyphs, columns: Sequence[Column], cells: Sequence[Sequence[str]],
                   available: float) -> tuple[list[float], float]:
    """Widths in mm filling `available`, and the font size.

    Each column wants its natural width (its widest cell or its title) and needs a floor: a number's or a
    date's widest value, free text MIN_TEXT_COLUMN. Numbers and dates get their natural width first, so their
    titles stay whole, and free text shares what is left; then numbers' titles are cut; below the floors the
    font shrinks, down to MIN_TABLE_FONT_PT.
    """
    natural: list[float] = []
    floor: list[float] = []
    for index, column in enumerate(columns):
        longest = heapq.nlargest(WIDTH_SAMPLE, (row[index] for row in cells), key=len)
        content = max((glyphs.width(glyphs.clean(text), TABLE_FONT_PT) for text in longest), default=0.0) + 2 * PAD
        title = glyphs.width(glyphs.clean(column.title), TABLE_FONT_PT, bold=True) + 2 * PAD
        if column.kind in _FIXED_KINDS:
            natural.append(min(max(content, title), MAX_NUMBER_COLUMN))
            floor.append(min(content, MAX_NUMBER_COLUMN))
        else:
            natural.append(max(content, title))
            floor.append(min(natural[-1], MIN_TEXT_COLUMN))
    wanted, needed = sum(natural), sum(floor)
    if wanted <= available:
        return [w * available / wanted for w in natural], TABLE_FONT_PT
    fixed = [column.kind in _FIXED_KINDS for column in columns]
    numbers_whole = [high if is_fixed else low for low, high, is_fixed in zip(floor, natural, fixed, strict=True)]
    if sum(numbers_whole) <= available:
        # Numbers and dates as they want; free text grows from its floor by one share of what it wants more.
        share = (available - sum(numbers_whole)) / (wanted - sum(numbers_whole))
        return [high if is_fixed else low + (high - low) * share
                for low, high, is_fixed in zip(floor, natural, fixed, strict=True)], TABLE_FONT_PT
    if needed <= available:
        # Free text at its floor; numbers' and dates' titles are cut by one share.
        share = (available - needed) / (sum(numbers_whole) - needed)
        return [low + (high - low) * share if is_fixed else low
                for low, high, is_fixed in zip(floor, natural, fixed, strict=True)], TABLE_FONT_PT
    # Too many columns for the page at 8 pt: a smaller font; past the smallest, everything is scaled (and cut).
    # (Widths, padding included, scale with the font.)
    size = max(MIN_TABLE_FONT_PT, TABLE_FONT_PT * available / needed)
    return [w * available / needed for w in floor], size


def _draw_table(pdf: _Document, glyphs: _Glyphs, columns: Sequence[Column], cells: Sequence[Sequence[str]]) -> None:
    family = pdf.family_name
    if not columns:
        return
    widths, size = _column_widths(glyphs, columns, cells, pdf.epw)
    pad = PAD * size / TABLE_FONT_PT
    # Rounding may leave the sum a hair off the page's width: the last column takes the difference.
    widths[-1] -= sum(widths) - pdf.epw
    lefts = [MARGIN + sum(widths[:i]) for i in range(len(widths))]
    right = [column.kind in NUMERIC_KINDS for column in columns]
    limit = pdf.h - BOTTOM
    row_height = ROW_HEIGHT * size / TABLE_FONT_PT

    def header(top: float) -> float:
        pdf.set_fill_color(*HEADER_FILL)
        pdf.rect(MARGIN, top, pdf.epw, HEADER_HEIGHT, style="F")
        pdf.set_font(family, "B", size)
        pdf.set_text_color(*WHITE)
        for column, x, w, is_number in zip(columns, lefts, widths, right, strict=True):
            glyphs.put(x + pad, top, HEADER_HEIGHT, column.title, w - 2 * pad, size, bold=True, right=is_number)
        pdf.set_font(family, "", size)
        pdf.set_text_color(*INK)
        pdf.set_fill_color(*ZEBRA)
        return top + HEADER_HEIGHT

    top = pdf.get_y()
    if top + HEADER_HEIGHT + 3 * row_height > limit:
        pdf.add_page()
        top = pdf.t_margin
    top = header(top)
    if not cells:
        glyphs.put(MARGIN + PAD, top, row_height, "No rows.", pdf.epw, size)
        pdf.set_y(top + row_height)
        return
    for number, row in enumerate(cells):
        if top + row_height > limit:
            pdf.add_page()
            top = header(pdf.t_margin)
        if number % 2:
            pdf.rect(MARGIN, top, pdf.epw, row_height, style="F")
        for text, x, w, is_number in zip(row, lefts, widths, right, strict=True):
            if text:
                glyphs.put(x + pad, top, row_height, text, w - 2 * pad, size, right=is_number)
        top += row_height
    pdf.set_draw_color(*GRID)
    pdf.set_line_width(0.2)
    pdf.line(MARGIN, top, MARGIN + pdf.epw, top)
    pdf.set_y(top)


def _draw_heading(pdf: _Document, glyphs: _Glyphs, text: str) -> None:
    """A table's heading, on the page its header and first rows fit on (never left alone at a page's foot)."""
    pdf.set_font(pdf.family_name, "B", 10)
    pdf.set_text_color(*INK)
    if pdf.get_y() + 7 + HEADER_HEIGHT + 3 * ROW_HEIGHT > pdf.h - BOTTOM:
        pdf.add_page()
    glyphs.put(MARGIN, pdf.get_y(), 6, text, pdf.epw, 10, bold=True)
    pdf.set_y(pdf.get_y() + 7)


def _draw_front(pdf: _Document, glyphs: _Glyphs, result: ReportResult,
                summary: Sequence[tuple[str, str]]) -> None:
    family = pdf.family_name
    pdf.set_text_color(*INK)
    pdf.set_font(family, "B", 17)
    for line in glyphs.wrap(result.title, pdf.epw, 17, bold=True):
        glyphs.put(MARGIN, pdf.get_y(), 8, line, pdf.epw, 17, bold=True)
        pdf.set_y(pdf.get_y() + 8)
    pdf.ln(2)
    if result.parameters:
        pdf.set_font(family, "", 8.5)
        name_width = min(60.0, max(glyphs.width(glyphs.clean(name), 8.5, bold=True)
                                   for name, _ in result.parameters) + 4)
        for name, value in result.parameters:
            pdf.set_font(family, "B", 8.5)
            pdf.set_text_color(*MUTED)
            y = pdf.get_y()
            glyphs.put(MARGIN, y, 4.6, name, name_width - 2, 8.5, bold=True)
            pdf.set_font(family, "", 8.5)
            pdf.set_text_color(*INK)
            for line in glyphs.wrap(value or glyphs.dash, pdf.epw - name_width, 8.5):
                if y + 4.6 > pdf.h - BOTTOM:
                    pdf.add_page()
                    y = pdf.t_margin
                    pdf.set_font(family, "", 8.5)
                    pdf.set_text_color(*INK)
                glyphs.put(MARGIN + name_width, y, 4.6, line, pdf.epw - name_width, 8.5)
                y += 4.6
            pdf.set_y(y)
        pdf.ln(3)
    if summary:
        per_row, gap, card_height = 4, 4.0, 17.0
        card_width = (pdf.epw - gap * (per_row - 1)) / per_row
        for start in range(0, len(summary), per_row):
            top = pdf.get_y()
            if top + card_height > pdf.h - BOTTOM:
                pdf.add_page()
                top = pdf.t_margin
            for offset, (label, value) in enumerate(summary[start:start + per_row]):
                x = MARGIN + offset * (card_width + gap)
                pdf.set_fill_color(*CARD_FILL)
                pdf.rect(x, top, card_width, card_height, style="F", round_corners=True, corner_radius=1.5)
                pdf.set_font(family, "", 7.5)
                pdf.set_text_color(*MUTED)
                glyphs.put(x + 3, top + 2, 4.5, label, card_width - 6, 7.5)
                # A long figure (a datetime with its offset) is drawn smaller rather than cut.
                size = glyphs.size_to_fit(value, card_width - 6, CARD_FONT_PT, MIN_CARD_FONT_PT, bold=True)
                pdf.set_font(family, "B", size)
                pdf.set_text_color(*INK)
                glyphs.put(x + 3, top + 7.5, 7, value, card_width - 6, size, bold=True)
            pdf.set_y(top + card_height + gap)
        pdf.ln(1)


def render_pdf(result: ReportResult, *, max_rows: int, fonts: PdfFonts | None = None) -> bytes:
    """The PDF file; PdfRowCapExceeded, before any work, when its tables have more than `max_rows` rows together.

    `fonts` defaults to system_fonts(); tests pass CORE_FONTS or a PdfFonts of their own.
    """
    check_pdf_rows(pdf_rows(result), max_rows=max_rows)
    charts = [_chart_data(chart, result) for chart in result.charts]
    summary = [(figure.label, display(figure.value, figure.kind)) for figure in result.summary]
    cells = _cells(result.columns, result.rows)
    tables = [(table.title, table.columns, _cells(table.columns, table.rows)) for table in result.tables]

    pdf = _Document()
    pdf.set_title(result.title)
    glyphs = _Glyphs(pdf, system_fonts() if fonts is None else fonts,
                     _strings(result, summary, charts, [(result.title, result.columns, cells), *tables]))
    pdf.glyphs = glyphs
    pdf.set_font(pdf.family_name, "", 7.5)
    pdf.footer_text = glyphs.fit(result.title, pdf.epw * 0.7, 7.5)
    pdf.add_page()
    _draw_front(pdf, glyphs, result, summary)
    for data in charts:
        top = pdf.get_y() + 2
        if top + CHART_HEIGHT > pdf.h - BOTTOM:
            pdf.add_page()
            top = pdf.t_margin
        _draw_chart(pdf, glyphs, data, top)
        pdf.set_y(top + CHART_HEIGHT + 4)
    rows = len(result.rows)
    _draw_heading(pdf, glyphs, f"{rows:,} row{'' if rows == 1 else 's'}")
    _draw_table(pdf, glyphs, result.columns, cells)
    for title, columns, table_cells in tables:
        pdf.set_y(pdf.get_y() + 6)
        _draw_heading(pdf, glyphs, title)
        _draw_table(pdf, glyphs, columns, table_cells)
    return bytes(pdf.output())


def _cells(columns: Sequence[Column], rows: Sequence[Row]) -> list[list[str]]:
    """A table's values as drawn: per their column's kind, None as an empty cell."""
    return [[display(value, column.kind, missing="") for value, column in zip(row, columns, strict=True)]
            for row in rows]


def _strings(result: ReportResult, summary: Sequence[tuple[str, str]], charts: Sequence[_ChartData],
             tables: Sequence[tuple[str, Sequence[Column], Sequence[Sequence[str]]]]) -> Iterable[str]:
    """Every text the document draws, so the fonts it needs are known before the first page."""
    yield result.title
    for name, value in result.parameters:
        yield name
        yield value
    for label, value in summary:
        yield label
        yield value
    for data in charts:
        yield data.chart.title
        yield data.x_title
        yield from data.labels
        for series in data.series:
            yield series.title
    for title, columns, cells in tables:
        yield title
        for column in columns:
            yield column.title
        for row in cells:
            yield from row
