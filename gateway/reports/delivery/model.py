"""What a delivery sends and what one attempt at it comes to: the types both transports and the worker share."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from gateway.periods import Period
from gateway.reports.result import Column, Row, SummaryFigure

# Delivery ids go into a Message-ID and HTTP headers verbatim: a conservative alphabet keeps them valid in both.
DELIVERY_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# uuid5 namespace of delivery ids: fixed forever, or a retry after an upgrade would carry a new identity.
DELIVERY_NAMESPACE: Final = uuid.UUID("5f0c1d52-8d0e-4f0b-9a57-2f6c1b7e3a10")
MEDIA_TYPES: Final = {"csv": "text/csv", "json": "application/json", "pdf": "application/pdf"}
# Error texts are stored and shown to report owners: short, one line.
MAX_ERROR_CHARS: Final = 500
REDACTED: Final = "[redacted]"


class DeliveryStatus(enum.StrEnum):
    """Where a delivery stands after an attempt."""

    DELIVERED = "delivered"
    # Failed for a reason that may pass (network, timeout, 5xx/429, SMTP 4xx); try again after retry_in_seconds.
    RETRYING = "retrying"
    # Failed for good: refused destination, 4xx, SMTP 5xx, bad configuration, or out of attempts.
    FAILED = "failed"


class Channel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


def delivery_id_for(execution_id: object, channel: Channel, destination: str) -> str:
    """The identity of sending one execution to one destination: the same on every attempt and after a crash.

    Derived, not drawn at random, so a worker that died between sending and recording sends again under the
    same identity, and the receiver can drop the duplicate.
    """
    return str(uuid.uuid5(DELIVERY_NAMESPACE, f"{execution_id}\x1f{channel.value}\x1f{destination.strip()}"))


def check_delivery_id(delivery_id: str) -> str:
    if not DELIVERY_ID_PATTERN.fullmatch(delivery_id):
        raise ValueError(f"a delivery id is 1-128 of [A-Za-z0-9._-], got {delivery_id[:40]!r}")
    return delivery_id


@dataclass(frozen=True)
class ReportFile:
    """The rendered report, attached to emails; `format` is csv, json or pdf.

    `data` None: not loaded, because `size` is over what an email carries (SmtpConfig.max_attachment_bytes);
    the email then says so and gives the download link.
    """

    format: str
    filename: str
    data: bytes | None
    size: int = -1

    def __post_init__(self) -> None:
        if self.size < 0:
            object.__setattr__(self, "size", 0 if self.data is None else len(self.data))

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.format, "application/octet-stream")


def report_filename(report_name: str, period: Period | None, fmt: str) -> str:
    """`agent-performance-2024-03-01-2024-03-31.pdf`: ASCII, no path separators, whatever the report's name."""
    slug = re.sub(r"[^a-z0-9]+", "-", report_name.lower()).strip("-")[:60].strip("-") or "report"
    dates = "" if period is None else f"-{period.start.isoformat()}-{period.end.isoformat()}"
    return f"{slug}{dates}.{fmt}"


@dataclass(frozen=True)
class ReportDelivery:
    """One completed execution, sent to one destination under `delivery_id`."""

    delivery_id: str
    tenant_id: uuid.UUID
    # None for an on-demand run of a definition that was never saved.
    report_id: str | None
    report_name: str
    execution_id: str
    # The tenant-local days the report covers; None leaves the range out of the subject and body.
    period: Period | None
    format: str
    completed_at: datetime
    summary: Sequence[SummaryFigure] = ()
    # The rendered file: attached to emails; webhooks carry the rows below (when small) and the link instead.
    file: ReportFile | None = None
    # The rows, for webhooks; sent inline only while the body stays under the inline cap.
    columns: Sequence[Column] = ()
    rows: Sequence[Row] | None = None
    # Where the receiver can fetch the full result with its own credentials (the export endpoint).
    download_url: str | None = None

    def __post_init__(self) -> None:
        check_delivery_id(self.delivery_id)


@dataclass(frozen=True)
class AttemptOutcome:
    """One attempt, as the worker records it: `attempt` is its number (1 for the first), so also the count."""

    delivery_id: str
    channel: Channel
    attempt: int
    status: DeliveryStatus
    attempted_at: datetime
    # Why it failed, free of secrets (credentials, signing keys, the URL's path and query); None when delivered.
    error: str | None = None
    # The receiver's answer: the HTTP status, or the SMTP reply code of the failing (or final) command.
    response_status: int | None = None
    # Set when status is RETRYING: the policy's wait before the next attempt.
    retry_in_seconds: float | None = None
    # Extra facts the worker may log (e.g. the vetted address a webhook went to); never secrets.
    detail: dict[str, str] = field(default_factory=dict)


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """`text` on one line, cut to MAX_ERROR_CHARS, with every secret (4+ characters) replaced by [redacted]."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 1] + "…"
