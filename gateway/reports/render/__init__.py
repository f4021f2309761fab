"""A ReportResult as a file: JSON and CSV (streamed, any size), PDF (in memory, up to a row cap).

    stream_csv(columns, row_chunks)    async bytes chunks      render_csv(result)    bytes   (main table only)
    stream_json(result, row_chunks)    async bytes chunks      render_json(result)   bytes   parse_json(bytes)
    render_pdf(result, max_rows=…)     bytes, synchronous CPU work: run it in a thread or process
    check_pdf_rows(n, max_rows=…)      PdfRowCapExceeded (BAD_USER_INPUT) when a PDF of n rows is refused
    pdf_rows(result)                   the n render_pdf checks: main rows plus every further table's

JSON and PDF hold the further tables (`ReportResult.tables`) after the main one; CSV holds the main table.
"""

from __future__ import annotations

import enum

from gateway.reports.render import csv as _csv
from gateway.reports.render import json as _json
from gateway.reports.render import pdf as _pdf
from gateway.reports.render.csv import UTF8_BOM, CsvHeader, csv_header, csv_rows, render_csv, stream_csv
from gateway.reports.render.json import parse_json, render_json, stream_json
from gateway.reports.render.pdf import (
    CORE_FONTS,
    PdfFonts,
    PdfRowCapExceeded,
    check_pdf_rows,
    pdf_rows,
    render_pdf,
    system_fonts,
)


class ExportFormat(enum.StrEnum):
    """The file formats a result is exported as, with what HTTP and email attachments call them."""

    JSON = "json"
    CSV = "csv"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        return {ExportFormat.JSON: _json.MEDIA_TYPE, ExportFormat.CSV: _csv.MEDIA_TYPE,
                ExportFormat.PDF: _pdf.MEDIA_TYPE}[self]

    @property
    def extension(self) -> str:
        return "." + self.value


__all__ = [
    "CORE_FONTS",
    "UTF8_BOM",
    "CsvHeader",
    "ExportFormat",
    "PdfFonts",
    "PdfRowCapExceeded",
    "check_pdf_rows",
    "csv_header",
    "csv_rows",
    "parse_json",
    "pdf_rows",
    "render_csv",
    "render_json",
    "render_pdf",
    "stream_csv",
    "stream_json",
    "system_fonts",
]
