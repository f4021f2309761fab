"""Report emails over SMTP: the file attached, one message per recipient, one attempt per call.

The stdlib's smtplib runs in a worker thread (asyncio.to_thread): it speaks STARTTLS, implicit TLS and AUTH,
needs no new dependency, and a report email is rare enough that a thread per send costs nothing. Security is
never downgraded: with STARTTLS configured, a server that does not offer it fails the delivery rather than
receiving the message in clear, and certificates are verified against CALLPULSE_SMTP_HOST.

Every message carries `Message-ID: <{delivery_id}@callpulse>` and `X-CallPulse-Delivery: {delivery_id}`,
the same on every attempt, so a mailbox or filter can drop the duplicate a crash may cause. SMTP 4xx replies
and network errors are retried; 5xx replies (a refused recipient, bad credentials) fail for good.
"""

from __future__ import annotations

import asyncio
import enum
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from typing import Final

from gateway import clock
from gateway.errors import BadUserInput
from gateway.reports.delivery.model import AttemptOutcome, Channel, DeliveryStatus, ReportDelivery, scrub
from gateway.reports.delivery.retry import RetryPolicy
from gateway.reports.result import ColumnKind, SummaryFigure
from gateway.settings import DeliverySettings

DELIVERY_HEADER: Final = "X-CallPulse-Delivery"
MESSAGE_ID_DOMAIN: Final = "callpulse"
MAX_ADDRESS_CHARS: Final = 254
# Base64 makes an attachment a third larger; 15 MiB stays under the common 20-25 MB message limits.
DEFAULT_MAX_ATTACHMENT_BYTES: Final = 15 * 1024 * 1024
_ATOM: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART: Final = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_DOMAIN: Final = re.compile(r"(?:(?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)+[A-Za-z]{2,63}")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]+")


class SmtpSecurity(enum.StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


DEFAULT_PORTS: Final = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465, SmtpSecurity.NONE: 25}


class InvalidEmailAddress(BadUserInput):
    def __init__(self, message: str) -> None:
        super().__init__(message, reason="email")


def validate_email_address(text: str) -> str:
    """`text` as a plain ASCII address (`name@example.com`, domain lower-cased), or InvalidEmailAddress.

    The save-time check for recipients; display names, comments and internationalised addresses are refused,
    which also keeps anything but the address out of the SMTP envelope and the To header.
    """
    address = text.strip() if isinstance(text, str) else ""
    local, at, domain = address.rpartition("@")
    if (not at or len(address) > MAX_ADDRESS_CHARS or len(local) > 64 or not _LOCAL_PART.fullmatch(local)
            or not _DOMAIN.fullmatch(domain)):
        raise InvalidEmailAddress(f"{address[:100]!r} is not an email address (expected e.g. name@example.com)")
    return f"{local}@{domain.lower()}"


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how report emails are sent; one per process (`from_settings`)."""

    host: str
    port: int
    from_address: str
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # A larger file is not attached: the email gives its size and the download link instead.
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
    # Verification for STARTTLS / TLS; None: the system CAs. Built once (loading CAs takes a while).
    ssl_context: ssl.SSLContext | None = None

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> SmtpConfig | None:
        """None when CALLPULSE_SMTP_HOST is unset: email delivery is off."""
        if settings.smtp_host is None or settings.smtp_from is None:
            return None
        context = None
        if settings.smtp_security != SmtpSecurity.NONE:
            context = ssl.create_default_context(cafile=None if settings.smtp_ca_file is None
                                                 else str(settings.smtp_ca_file))
        return cls(host=settings.smtp_host, port=settings.smtp_port, from_address=settings.smtp_from,
                   security=SmtpSecurity(settings.smtp_security), username=settings.smtp_username,
                   password=settings.smtp_password, timeout_seconds=settings.smtp_timeout_seconds,
                   retry=RetryPolicy.from_settings(settings), ssl_context=context,
                   max_attachment_bytes=settings.smtp_max_attachment_bytes)


def message_id(delivery_id: str) -> str:
    return f"<{delivery_id}@{MESSAGE_ID_DOMAIN}>"


def _one_line(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


def _shown(figure: SummaryFigure) -> str:
    value = figure.value
    if value is None:
        return "–"
    if figure.kind is ColumnKind.RATIO and isinstance(value, int | float | Decimal):
        return f"{float(value):.1%}"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        return f"{float(value):,.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return _one_line(str(value))


def build_report_email(delivery: ReportDelivery, recipient: str, from_address: str,
                       max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES) -> EmailMessage:
    """The message for one recipient: subject and a short text with the report's name and range, file attached."""
    name = _one_line(delivery.report_name) or "Report"
    period = (None if delivery.period is None
              else f"{delivery.period.start.isoformat()} to {delivery.period.end.isoformat()}")
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = from_address
    message["To"] = Address(addr_spec=recipient)
    message["Subject"] = name if period is None else f"{name}, {period}"
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = message_id(delivery.delivery_id)
    message[DELIVERY_HEADER] = delivery.delivery_id
    lines = [name] if period is None else [name, period]
    lines.append("")
    lines += [f"{_one_line(figure.label)}: {_shown(figure)}" for figure in delivery.summary[:12]]
    if delivery.summary:
        lines.append("")
    file = delivery.file
    attached = file is not None and file.data is not None and file.size <= max_attachment_bytes
    if file is not None and attached:
        lines.append(f"The report is attached ({file.filename}).")
    elif file is not None:
        lines.append(f"The report ({file.filename}, {file.size / 1_048_576:.1f} MB) is too large to attach.")
    if delivery.download_url:
        lines.append(f"Download it at {delivery.download_url}")
    message.set_content("\n".join(lines) + "\n")
    if file is not None and file.data is not None and attached:
        maintype, _, subtype = file.media_type.partition("/")
        message.add_attachment(file.data, maintype=maintype, subtype=subtype, filename=file.filename)
    return message


class _Refused(Exception):
    """A failure that another attempt would not change."""


def _send(config: SmtpConfig, message: EmailMessage, recipient: str) -> None:
    """The blocking part, run in a thread; raises what went wrong."""
    context = config.ssl_context or ssl.create_default_context()
    smtp: smtplib.SMTP
    if config.security is SmtpSecurity.TLS:
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_seconds, context=context)
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
    with smtp:
        smtp.ehlo()
        if config.security is SmtpSecurity.STARTTLS:
            if not smtp.has_extn("starttls"):
                raise _Refused(f"the SMTP server {config.host} does not offer STARTTLS; not sending in clear "
                               "(set CALLPULSE_SMTP_SECURITY=none only for a relay on a trusted network)")
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.username is not None:
            smtp.login(config.username, config.password or "")
        envelope_from = Address(addr_spec=_envelope_address(config.from_address)).addr_spec
        smtp.send_message(message, from_addr=envelope_from, to_addrs=[recipient])


def _envelope_address(from_address: str) -> str:
    """`reports@example.com` out of `CallPulse <reports@example.com>`."""
    inner = re.search(r"<([^<>]+)>\s*$", from_address)
    return (inner.group(1) if inner else from_address).strip()


async def send_email(delivery: ReportDelivery, recipient: str, config: SmtpConfig | None, *,
                     attempt: int) -> AttemptOutcome:
    """One attempt at mailing `delivery` to `recipient`; never raises for the server's or the network's faults."""
    attempted_at = clock.now()
    secrets = [] if config is None else [config.password]

    def outcome(status: DeliveryStatus, error: str | None = None, code: int | None = None,
                retry_in: float | None = None) -> AttemptOutcome:
        return AttemptOutcome(delivery_id=delivery.delivery_id, channel=Channel.EMAIL, attempt=attempt,
                              status=status, attempted_at=attempted_at,
                              error=None if error is None else scrub(error, secrets), response_status=code,
                              retry_in_seconds=retry_in)

    def failed(error: str, code: int | None, retryable: bool) -> AttemptOutcome:
        policy = RetryPolicy() if config is None else config.retry
        status, delay = policy.next_status(attempt, retryable)
        if retryable and status is DeliveryStatus.FAILED:
            error = f"{error} (gave up after {attempt} attempts)"
        return outcome(status, error, code, delay)

    if config is None:
        return outcome(DeliveryStatus.FAILED, "email delivery is not configured: CALLPULSE_SMTP_HOST is not set")
    try:
        address = validate_email_address(recipient)
        message = build_report_email(delivery, address, config.from_address, config.max_attachment_bytes)
    except (BadUserInput, ValueError) as e:
        return outcome(DeliveryStatus.FAILED, str(e))
    try:
        await asyncio.to_thread(_send, config, message, address)
    except _Refused as e:
        return failed(str(e), None, retryable=False)
    except smtplib.SMTPRecipientsRefused as e:
        code, text = next(iter(e.recipients.values()), (550, b"recipient refused"))
        return failed(f"SMTP {code} for the recipient: {_text(text)}", code, retryable=400 <= code < 500)
    except smtplib.SMTPResponseException as e:
        return failed(f"SMTP {e.smtp_code}: {_text(e.smtp_error)}", e.smtp_code,
                      retryable=400 <= e.smtp_code < 500)
    except smtplib.SMTPNotSupportedError as e:
        return failed(f"the SMTP server does not support this: {e}", None, retryable=False)
    except ssl.SSLCertVerificationError as e:
        return failed(f"the SMTP server's certificate was not accepted: {e.verify_message or e}", None,
                      retryable=False)
    except TimeoutError:
        return failed(f"the SMTP server did not answer within {config.timeout_seconds:g} s", None, retryable=True)
    except (smtplib.SMTPException, OSError) as e:
        return failed(f"{type(e).__name__}: {e}", None, retryable=True)
    return outcome(DeliveryStatus.DELIVERED, code=250)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
