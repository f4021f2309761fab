"""GET /api/v1/analytics/executions/{id}[.json|.csv|.pdf]: an execution's status, or its result as a file.

    GET …/executions/{id}             the execution: status, attempt, error, download URLs; the row count and
                                      file name when the caller may read its outputs
    GET …/executions/{id}.csv         the result as CSV; ?bom=1 starts it with a UTF-8 byte-order mark (Excel),
                                      ?header=keys names the columns by key instead of title
    GET …/executions/{id}.json        the result as one JSON document
    GET …/executions/{id}.pdf         the stored PDF when the execution's format is PDF, else drawn now in a
                                      thread, up to CALLPULSE_REPORT_PDF_MAX_ROWS rows (beyond: BAD_USER_INPUT,
                                      reason pdf_row_cap, pointing to CSV)
    GET …/executions/{id}/download    the result in the tenant's defaultExportFormat

CSV and JSON are rendered while they are sent, from the stored row chunks read through a server-side cursor
in one tenant transaction, a chunk (1,000 rows) at a time, and uvicorn's flow control holds the reading back
while the client is slower than the database: a million-row export holds a couple of chunks, never the
result. A failure part-way cuts the connection, so the client sees an incomplete transfer, never a file that
merely looks complete. The bearer token, tenant and visibility rules are those of gateway/reports/http/
visibility.py; a pending, processing or failed execution is CONFLICT (409) with its status.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Final
from uuid import UUID

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.db import TenantSession
from gateway.errors import BadUserInput, Conflict
from gateway.loaders import Loaders
from gateway.reports import store
from gateway.reports.http._common import authenticate, coded, flag, json_response, parse_id
from gateway.reports.http._json import execution_json
from gateway.reports.http.visibility import OutputRules, caller_of
from gateway.reports.render import CsvHeader, ExportFormat, check_pdf_rows, render_pdf, stream_csv, stream_json
from gateway.reports.result import ColumnKind, Row
from gateway.reports.store import Execution

log = logging.getLogger(__name__)

# In seq order, through the primary key: a cursor reads it from the first chunk on.
STORED_ROWS: Final = """
SELECT rows::text AS rows FROM report_execution_chunks
WHERE tenant_id = $1 AND execution_id = $2 AND attempt = $3 AND kind = 'rows'
ORDER BY seq
"""
STORED_FILE: Final = """
SELECT data FROM report_execution_chunks
WHERE tenant_id = $1 AND execution_id = $2 AND attempt = $3 AND kind = 'file'
ORDER BY seq
"""
TENANT_EXPORT_FORMAT: Final = "SELECT default_export_format FROM tenants WHERE id = $1"
# Stored chunks per cursor round trip (each up to 1,000 rows, or a file piece of up to 1 MB).
CURSOR_CHUNKS: Final = 2
# Values the store keeps as JSON text, typed again by their column's kind (a Decimal is stored as a string: as a
# string it would be text to the CSV writer, and a negative amount would be quoted as a formula).
_PARSERS: Final[Mapping[ColumnKind, Callable[[str], object]]] = {
    ColumnKind.DATE: date.fromisoformat, ColumnKind.DATETIME: datetime.fromisoformat,
    ColumnKind.MONEY: Decimal, ColumnKind.NUMBER: Decimal, ColumnKind.RATIO: Decimal, ColumnKind.SECONDS: Decimal,
}
_UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ExportOptions:
    """The query options of a CSV export (ignored by the other formats)."""

    bom: bool = False
    header: CsvHeader = CsvHeader.TITLES

    @classmethod
    def of(cls, query: Mapping[str, str]) -> ExportOptions:
        header = query.get("header", "titles").lower()
        if header not in ("titles", "keys"):
            raise BadUserInput("header is titles or keys", argument="header")
        return cls(bom=flag(query.get("bom"), "bom"), header=CsvHeader(header))


def export_format(extension: str) -> ExportFormat:
    try:
        return ExportFormat(extension.lower())
    except ValueError:
        raise BadUserInput(f"there is no {extension[:20]!r} export: use .json, .csv or .pdf",
                           reason="unknown_format") from None


def require_completed(execution: Execution) -> None:
    """CONFLICT unless the execution has a stored result."""
    if execution.status == "completed" and execution.summary is not None and execution.result_attempt is not None:
        return
    status = execution.status.upper()
    if execution.status == "failed":
        raise Conflict(f"execution {execution.id} failed, so it has no result: {execution.error}",
                       reason="not_completed", status=status, errorCode=execution.error_code)
    raise Conflict(f"execution {execution.id} is {execution.status}: its result is not ready yet; poll "
                   f"its status and download it once it is COMPLETED", reason="not_completed", status=status)


def _row_reader(kinds: Sequence[ColumnKind]) -> Callable[[list[object]], Row]:
    parsers = [(i, _PARSERS[k]) for i, k in enumerate(kinds) if k in _PARSERS]
    if not parsers:
        return tuple

    def read(raw: list[object]) -> Row:
        for i, parse in parsers:
            value = raw[i]
            if isinstance(value, str):
                raw[i] = parse(value)
        return tuple(raw)

    return read


async def stored_rows(db: TenantSession, execution: Execution) -> AsyncIterator[list[Row]]:
    """The result's rows a stored chunk at a time, typed by the columns, through a server-side cursor."""
    assert execution.summary is not None
    assert execution.result_attempt is not None
    read = _row_reader([ColumnKind(c["kind"]) for c in execution.summary["columns"]])
    async for records in db.chunks(STORED_ROWS, db.tenant_id, execution.id, execution.result_attempt,
                                   size=CURSOR_CHUNKS):
        for record in records:
            yield [read(raw) for raw in orjson.loads(record["rows"])]


async def stored_file(db: TenantSession, execution: Execution) -> AsyncIterator[bytes]:
    assert execution.result_attempt is not None
    async for records in db.chunks(STORED_FILE, db.tenant_id, execution.id, execution.result_attempt,
                                   size=CURSOR_CHUNKS):
        for record in records:
            yield bytes(record["data"])


def file_name(execution: Execution, fmt: ExportFormat) -> str:
    """The stored file's name (`agent-performance-2026-03-02.pdf`) with the format's extension; ASCII only."""
    stem = (execution.file_name or "").rpartition(".")[0] or execution.file_name or f"report-{execution.id}"
    return _UNSAFE_NAME.sub("-", stem).strip("-.")[:120] + fmt.extension


def etag(execution: Execution, fmt: ExportFormat, options: ExportOptions) -> str:
    """The same bytes for the same result attempt, format and options: BI tools revalidate instead of reading."""
    key = f"{execution.id}:{execution.result_attempt}:{execution.result_hash}:{fmt.value}:{options.bom}:" \
          f"{options.header.value}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


class SessionStream(StreamingResponse):
    """A body read inside a tenant session, which the response closes however it ends: sent to the end (then
    `on_complete` runs and the session commits), failed part-way (the connection is cut) or abandoned."""

    def __init__(self, db: TenantSession, body: AsyncGenerator[bytes, None], *, media_type: str,
                 headers: Mapping[str, str],
                 on_complete: Callable[[TenantSession], Awaitable[None]] | None = None) -> None:
        self._db = db
        self._body = body
        self._on_complete = on_complete
        self._finished = False
        self._guard = self._guarded()
        super().__init__(self._guard, media_type=media_type, headers=headers)

    async def _guarded(self) -> AsyncGenerator[bytes, None]:
        try:
            async for piece in self._body:
                yield piece
        except Exception:
            log.exception("a report export failed part-way; the connection is cut so the client sees an "
                          "incomplete transfer")
            raise
        self._finished = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._guard.aclose()
            await self._body.aclose()
            commit = False
            try:
                if self._finished and self._on_complete is not None:
                    await self._on_complete(self._db)
                    commit = True
            except Exception:
                # Bookkeeping after the client has its file: logged, and the file stays delivered.
                log.exception("the bookkeeping after a report export failed")
            finally:
                await self._db.close(commit=commit)


async def _one(data: bytes) -> AsyncGenerator[bytes, None]:
    yield data


async def _chained(head: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    async for piece in head:
        yield piece


async def export_response(db: TenantSession, execution: Execution, fmt: ExportFormat, options: ExportOptions, *,
                          pdf_max_rows: int, if_none_match: str | None = None, cache: str = "private, no-store",
                          on_complete: Callable[[TenantSession], Awaitable[None]] | None = None) -> Response:
    """A completed execution's result in `fmt`. The response takes the session over and closes it; the caller
    closes it only when this raises (closing twice is harmless)."""
    require_completed(execution)
    assert execution.summary is not None
    tag = etag(execution, fmt, options)
    headers = {
        "Content-Disposition": f'attachment; filename="{file_name(execution, fmt)}"',
        "Cache-Control": cache,
        "ETag": tag,
        "X-Content-Type-Options": "nosniff",
        # A feed's URL is its credential: a page opened from the file must not be told it.
        "Referrer-Policy": "no-referrer",
        "X-CallPulse-Execution": str(execution.id),
        "X-CallPulse-Row-Count": str(execution.row_count or 0),
    }
    if execution.finished_at is not None:
        headers["Last-Modified"] = format_datetime(execution.finished_at, usegmt=True)
    if if_none_match is not None and tag in [t.strip() for t in if_none_match.split(",")]:
        if on_complete is not None:
            await on_complete(db)
        await db.close(commit=True)
        return Response(status_code=304, headers={k: v for k, v in headers.items() if k != "Content-Disposition"})
    header = store.header_result(execution.summary, [])
    if fmt is ExportFormat.CSV:
        body = _chained(stream_csv(header.columns, stored_rows(db, execution), bom=options.bom,
                                   header=options.header))
        return SessionStream(db, body, media_type=fmt.media_type, headers=headers, on_complete=on_complete)
    if fmt is ExportFormat.JSON:
        body = _chained(stream_json(header, stored_rows(db, execution)))
        return SessionStream(db, body, media_type=fmt.media_type, headers=headers, on_complete=on_complete)
    if execution.output_format == ExportFormat.PDF.value and execution.file_bytes:
        headers["Content-Length"] = str(execution.file_bytes)
        return SessionStream(db, _chained(stored_file(db, execution)), media_type=fmt.media_type, headers=headers,
                             on_complete=on_complete)
    # Another format was stored: draw the PDF now, refused before any row is read when it would be too long
    # (the cap counts the further tables' rows too, as render_pdf does).
    check_pdf_rows((execution.row_count or 0) + sum(len(t.rows) for t in header.tables), max_rows=pdf_max_rows)
    rows = [row async for chunk in stored_rows(db, execution) for row in chunk]
    if on_complete is not None:
        await on_complete(db)
    await db.close(commit=True)
    # Drawing is CPU work: off the event loop.
    pdf = await asyncio.to_thread(render_pdf, store.header_result(execution.summary, rows), max_rows=pdf_max_rows)
    return Response(pdf, media_type=fmt.media_type, headers=headers)


async def _export(request: Request, execution_id: UUID, fmt: ExportFormat | None) -> Response:
    principal = await authenticate(request)
    options = ExportOptions.of(request.query_params)
    db = TenantSession(request.app.state.db.app, principal.tenant_id)
    try:
        loaders = Loaders.for_session(db)
        rules = OutputRules(db, await caller_of(loaders, principal), loaders)
        execution, _ = await rules.check(execution_id)
        if fmt is None:
            fmt = ExportFormat(await db.fetchval(TENANT_EXPORT_FORMAT, db.tenant_id))
        return await export_response(db, execution, fmt, options,
                                     pdf_max_rows=request.app.state.settings.report_pdf_max_rows,
                                     if_none_match=request.headers.get("if-none-match"))
    except BaseException:
        await db.close(commit=False)
        raise


async def _status(request: Request, execution_id: UUID) -> Response:
    principal = await authenticate(request)
    db = TenantSession(request.app.state.db.app, principal.tenant_id)
    try:
        loaders = Loaders.for_session(db)
        rules = OutputRules(db, await caller_of(loaders, principal), loaders)
        execution, _ = await rules.visible(execution_id)
        outputs = await rules.covers(execution.principal)
    finally:
        await db.close(commit=False)
    return json_response(execution_json(execution, outputs=outputs))


@coded
async def execution(request: Request) -> Response:
    """GET …/executions/{id} (status) and …/executions/{id}.{json|csv|pdf} (the result)."""
    ref: str = request.path_params["execution"]
    stem, dot, extension = ref.rpartition(".")
    if not dot:
        return await _status(request, parse_id(ref))
    return await _export(request, parse_id(stem), export_format(extension))


@coded
async def download(request: Request) -> Response:
    """GET …/executions/{id}/download: the result in the tenant's default export format."""
    return await _export(request, parse_id(request.path_params["execution"]), None)
