"""Sending a completed report to its recipients: email over SMTP and signed webhooks, one attempt at a time.

The report worker owns the queue and the `report_deliveries` rows; this package owns the wire. For each
(execution, recipient) the worker derives a delivery id that never changes, then calls a transport once per
attempt and stores the outcome it returns:

    worker                                  this package
    ──────                                  ────────────
    delivery_id_for(execution, channel, to) ─▶ "3b1f…"      same id on every attempt, after a crash too
    ReportDelivery(delivery_id, report, range, summary, file, rows, link)
          │
          ├─ email ─▶ send_email(d, "ana@example.com", SmtpConfig, attempt=n)
          │             smtplib in a thread: STARTTLS / TLS / none, AUTH, the file attached,
          │             Message-ID <id@callpulse>, X-CallPulse-Delivery: id
          │
          └─ webhook ─▶ send_webhook(d, "https://hooks.example.com/x", WebhookConfig, attempt=n)
                        validate_webhook_url ─▶ PinnedTransport: resolve, vet EVERY address
                        (destinations.py), connect to the vetted IP ─▶ POST JSON, signed
                        X-CallPulse-Signature: t=…,v1=HMAC-SHA256(tenant key, "t.body"); no redirects,
                        short timeout, response read ≤ 4 KiB
          ▼
    AttemptOutcome(status delivered | retrying | failed, attempt, error (no secrets), response_status,
                   retry_in_seconds)  ─▶ stored; RETRYING: try again after retry_in_seconds (RetryPolicy)

A worker may keep one `WebhookClient` for all its sends (pass it as `client=`); without one, each attempt
builds its own. `deliver_with_retries` runs the loop in memory for a worker that keeps the delivery in hand,
recording each attempt through a callback. Save-time checks for recipients are `validate_email_address` and
`validate_webhook_url`; both raise BAD_USER_INPUT errors a resolver can pass on.
"""

from __future__ import annotations

from gateway.reports.delivery.destinations import (
    AddressPolicy,
    DestinationRefused,
    DestinationUnresolvable,
    PinnedTransport,
    VettedDestination,
    resolve_destination,
    validate_webhook_url,
)
from gateway.reports.delivery.email import (
    InvalidEmailAddress,
    SmtpConfig,
    SmtpSecurity,
    build_report_email,
    send_email,
    validate_email_address,
)
from gateway.reports.delivery.model import (
    AttemptOutcome,
    Channel,
    DeliveryStatus,
    ReportDelivery,
    ReportFile,
    delivery_id_for,
    report_filename,
)
from gateway.reports.delivery.retry import RetryPolicy, deliver_with_retries
from gateway.reports.delivery.webhook import (
    WebhookClient,
    WebhookConfig,
    send_webhook,
    sign,
    tenant_webhook_secret,
    verify_signature,
    webhook_body,
)

__all__ = [
    "AddressPolicy",
    "AttemptOutcome",
    "Channel",
    "DeliveryStatus",
    "DestinationRefused",
    "DestinationUnresolvable",
    "InvalidEmailAddress",
    "PinnedTransport",
    "ReportDelivery",
    "ReportFile",
    "RetryPolicy",
    "SmtpConfig",
    "SmtpSecurity",
    "VettedDestination",
    "WebhookClient",
    "WebhookConfig",
    "build_report_email",
    "deliver_with_retries",
    "delivery_id_for",
    "report_filename",
    "resolve_destination",
    "send_email",
    "send_webhook",
    "sign",
    "tenant_webhook_secret",
    "validate_email_address",
    "validate_webhook_url",
    "verify_signature",
    "webhook_body",
]
