"""The report worker's real steps: the report types, the renderers and the transports, behind its protocols.

    run      gateway.reports.types.run_report as the execution's principal (its Access rebuilt from the
             directory), in the tenant's timezone; call detail streams its rows (call_detail_rows)
    render   gateway.reports.render: CSV and JSON streamed from the stored rows, PDF in a thread up to
             CALLPULSE_REPORT_PDF_MAX_ROWS (beyond it the run fails with BAD_USER_INPUT pointing to CSV)
    deliver  gateway.reports.delivery: send_email / send_webhook, one attempt per call, the outcome's
             retry wait honoured by the worker
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from gateway import clock
from gateway.auth import Principal
from gateway.db import TenantSession
from gateway.errors import ClientError
from gateway.loaders import Loaders
from gateway.periods import Period
from gateway.reports.delivery import (
    Channel,
    DeliveryStatus,
    ReportDelivery,
    ReportFile,
    SmtpConfig,
    WebhookConfig,
    send_email,
    send_webhook,
)
from gateway.reports.delivery.webhook import WebhookClient
from gateway.reports.params import params_from_json, report_type_of
from gateway.reports.queue import Job
from gateway.reports.render import ExportFormat, check_pdf_rows, render_pdf, stream_csv, stream_json
from gateway.reports.result import ReportResult
from gateway.reports.types import call_detail_rows, definition, run_report
from gateway.reports.worker import (
    DeliveryRequest,
    Handlers,
    RenderedFile,
    RowSource,
    SendOutcome,
    StreamedResult,
)
from gateway.settings import DeliverySettings, Settings

TENANT_TIMEZONE: Final = "SELECT timezone FROM tenants WHERE id = $1"


async def run(job: Job, session: TenantSession, principal: Principal) -> ReportResult | StreamedResult:
    access = await Loaders.for_session(session).access.load(principal)
    timezone: str = await session.fetchval(TENANT_TIMEZONE, session.tenant_id)
    kind = report_type_of(job.report_type)
    params = params_from_json(kind, job.params)
    result = await run_report(session, access, timezone, kind, params)
    if definition(kind).streams_rows:
        return StreamedResult(result, call_detail_rows(session, access, timezone, params))
    return result


def file_name(result: ReportResult, job: Job, fmt: ExportFormat) -> str:
    """`agent-performance-2025-06-02.pdf`: ASCII, no separators, whatever the title."""
    slug = re.sub(r"[^a-z0-9]+", "-", result.title.lower()).strip("-")[:60].strip("-") or "report"
    return f"{slug}-{job.created_at.astimezone(ZoneInfo(job.timezone)).date().isoformat()}{fmt.extension}"


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


@dataclass(frozen=True)
class Render:
    pdf_max_rows: int

    async def __call__(self, job: Job, result: ReportResult, rows: RowSource, row_count: int) -> RenderedFile:
        fmt = ExportFormat(job.output_format)
        name = file_name(result, job, fmt)
        if fmt is ExportFormat.CSV:
            return RenderedFile(name, fmt.media_type, stream_csv(result.columns, rows()))
        if fmt is ExportFormat.JSON:
            return RenderedFile(name, fmt.media_type, stream_json(result, rows()))
        # The cap counts every table's rows (the extra tables are in memory already), as render_pdf does.
        check_pdf_rows(row_count + sum(len(t.rows) for t in result.tables), max_rows=self.pdf_max_rows)
        if row_count and not result.rows:
            result = dataclasses.replace(result, rows=[r async for chunk in rows() for r in chunk])
        # Drawing is CPU work: off the event loop, whose lease renewals must keep their time.
        data = await asyncio.to_thread(render_pdf, result, max_rows=self.pdf_max_rows)
        return RenderedFile(name, fmt.media_type, _one(data))


def _period(job: Job) -> Period | None:
    try:
        return params_from_json(report_type_of(job.report_type), job.params).range.period(job.timezone)
    except ClientError:
        return None


class Deliver:
    """Email and webhook sends, one attempt per call, with one webhook client for the process."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.smtp = SmtpConfig.from_settings(settings)
        self.webhook = WebhookConfig.from_settings(settings)
        # Made at the first webhook: loading the CA bundle takes a while, and most processes never send one.
        self.client: WebhookClient | None = None

    async def __call__(self, request: DeliveryRequest) -> SendOutcome:
        job = request.job
        result = request.result
        # Emails carry the file up to a size (beyond it, a link); webhooks never carry it.
        limit = self.smtp.max_attachment_bytes if self.smtp is not None else 0
        wanted = request.channel == Channel.EMAIL and request.file.size <= limit
        file = ReportFile(format=job.output_format, filename=request.file.name,
                          data=await request.file.read() if wanted else None, size=request.file.size)
        delivery = ReportDelivery(
            delivery_id=str(request.delivery_id), tenant_id=job.tenant_id,
            report_id="" if job.report_id is None else str(job.report_id), report_name=request.title,
            execution_id=str(job.id), period=_period(job), format=job.output_format, completed_at=clock.now(),
            summary=result.summary,
            file=file,
            columns=result.columns, rows=result.rows if result.rows or not request.row_count else None)
        if request.channel == Channel.EMAIL:
            outcome = await send_email(delivery, request.recipient, self.smtp, attempt=request.attempt)
        else:
            if self.client is None:
                self.client = WebhookClient(self.webhook)
            outcome = await send_webhook(delivery, request.recipient, self.webhook, attempt=request.attempt,
                                         client=self.client)
        if outcome.status is DeliveryStatus.DELIVERED:
            return SendOutcome.ok()
        return SendOutcome(sent=False, error=outcome.error,
                           retry_in_seconds=(outcome.retry_in_seconds
                                             if outcome.status is DeliveryStatus.RETRYING else None))

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()


def real_handlers(settings: Settings) -> Handlers:
    deliver = Deliver(settings.delivery)
    return Handlers(run=run, render=Render(settings.report_pdf_max_rows), deliver=deliver, close=deliver.aclose)
