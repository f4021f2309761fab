"""Report webhooks: a JSON POST signed with HMAC-SHA256 over a timestamp and the body, one attempt per call.

    X-CallPulse-Signature: t=1712345678,v1=5f2b…   hex HMAC-SHA256(secret, f"{t}.{body}")
    X-CallPulse-Delivery:  3b1f…                   the same on every attempt (also `delivery_id` in the body)
    X-CallPulse-Attempt:   2

The secret is the tenant's (`tenant_webhook_secret`): derived from the deployment's CALLPULSE_WEBHOOK_SECRET and
the tenant id, so one tenant's receiver cannot check or forge another tenant's webhooks, and no secret is stored
per tenant. The body is the same on every attempt; the timestamp and signature are fresh on each, so a receiver
may reject signatures older than its tolerance (`SIGNATURE_TOLERANCE_SECONDS`) and still accept a late retry.

An attempt is short: at most CALLPULSE_WEBHOOK_TIMEOUT_SECONDS from resolving the host to the end of the (capped)
response, redirects are not followed (a 3xx is a failure: the URL must name the receiver itself), and at most
`MAX_RESPONSE_BYTES` of the response are read. 2xx delivers; network errors, timeouts, 429 and 5xx are retried
(Retry-After honoured up to the policy's maximum); other answers fail for good.
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
import hashlib
import hmac
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

import httpx
import orjson

from gateway import clock
from gateway.reports.delivery.destinations import (
    ADDRESS_EXTENSION,
    AddressPolicy,
    DestinationRefused,
    DestinationUnresolvable,
    PinnedTransport,
    Resolver,
    system_resolver,
    validate_webhook_url,
)
from gateway.reports.delivery.model import AttemptOutcome, Channel, DeliveryStatus, ReportDelivery, scrub
from gateway.reports.delivery.retry import RetryPolicy
from gateway.settings import DeliverySettings

SIGNATURE_HEADER: Final = "X-CallPulse-Signature"
DELIVERY_HEADER: Final = "X-CallPulse-Delivery"
ATTEMPT_HEADER: Final = "X-CallPulse-Attempt"
EVENT_TYPE: Final = "report.completed"
USER_AGENT: Final = "CallPulse-Webhook/1"
# How far a receiver should let a signature's timestamp be from its own clock.
SIGNATURE_TOLERANCE_SECONDS: Final = 300
# Enough for an error message; a receiver that answers more is not read further.
MAX_RESPONSE_BYTES: Final = 4096
# Rows travel in the body while it stays this small; beyond, the body carries the summary and the link only.
DEFAULT_INLINE_MAX_BYTES: Final = 256 * 1024
# More rows than this cannot fit the default cap anyway: not even encoded to find out.
MAX_INLINE_ROWS: Final = 20_000
_KEY_CONTEXT: Final = b"callpulse-webhook-v1:"


def tenant_webhook_secret(deployment_secret: str, tenant_id: uuid.UUID) -> str:
    """The key a tenant's webhooks are signed with; show it to the tenant's admins, it is theirs alone."""
    digest = hmac.new(deployment_secret.encode(), _KEY_CONTEXT + str(tenant_id).encode(), hashlib.sha256)
    return "whsec_" + digest.hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The X-CallPulse-Signature value for `body` sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(header: str, body: bytes, secret: str, *, now: float,
                     tolerance: float = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a receiver does: recompute the HMAC over `t.body`, compare in constant time, check `t` is recent."""
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def _json_default(value: object) -> object:
    """What orjson does not write itself: money as a number, durations in seconds, anything else as text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def webhook_body(delivery: ReportDelivery, inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES) -> bytes:
    """The JSON body: identity, report, execution, summary, the link, and the rows while they fit."""
    payload: dict[str, Any] = {
        "type": EVENT_TYPE,
        "delivery_id": delivery.delivery_id,
        "tenant_id": str(delivery.tenant_id),
        "report": {"id": delivery.report_id, "name": delivery.report_name},
        "execution": {"id": delivery.execution_id,
                      "from": None if delivery.period is None else delivery.period.start,
                      "to": None if delivery.period is None else delivery.period.end,
                      "completed_at": delivery.completed_at},
        "format": delivery.format,
        "summary": [{"label": f.label, "value": f.value, "kind": f.kind.value} for f in delivery.summary],
        "download_url": delivery.download_url,
        # Null when the rows are not inline (too large, or not at hand): fetch download_url instead.
        "result": None,
        "result_omitted": True,
    }
    if delivery.rows is not None and len(delivery.rows) <= MAX_INLINE_ROWS:
        inline = {**payload, "result_omitted": False, "result": {
            "columns": [{"key": c.key, "title": c.title, "kind": c.kind.value} for c in delivery.columns],
            "rows": delivery.rows,
        }}
        body = orjson.dumps(inline, default=_json_default)
        if len(body) <= inline_max_bytes:
            return body
    return orjson.dumps(payload, default=_json_default)


@dataclass(frozen=True)
class WebhookConfig:
    """How webhooks are sent; one per process (`from_settings`), shared by every delivery."""

    # The deployment's secret; tenants' keys derive from it. None: webhooks fail with a configuration error.
    secret: str | None
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    timeout_seconds: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES
    resolver: Resolver = system_resolver
    # TLS verification: True (system CAs) or a context (a private CA); tests pass one that trusts their cert.
    verify: ssl.SSLContext | bool = True

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> WebhookConfig:
        return cls(secret=settings.webhook_secret, policy=AddressPolicy(settings.webhook_allow_networks),
                   timeout_seconds=settings.webhook_timeout_seconds, retry=RetryPolicy.from_settings(settings))


class WebhookClient:
    """The HTTP client webhooks go through: only admitted addresses, no redirects, short timeouts.

    A type of its own, so send_webhook cannot be handed a plain httpx client that skips the address checks.
    One per process may be shared by all deliveries (it holds no connections between requests); close it with
    `aclose` or use it as an async context manager.
    """

    def __init__(self, config: WebhookConfig) -> None:
        # The CA bundle takes tens of milliseconds to load: once per client, not per request.
        verify = httpx.create_ssl_context() if config.verify is True else config.verify
        self.http: Final = httpx.AsyncClient(
            transport=PinnedTransport(config.policy, resolver=config.resolver, verify=verify),
            follow_redirects=False, trust_env=False, timeout=httpx.Timeout(config.timeout_seconds),
            headers={"User-Agent": USER_AGENT})

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> WebhookClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After", "").strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (when - clock.now()).total_seconds()) if when.tzinfo is not None else None


async def send_webhook(delivery: ReportDelivery, url: str, config: WebhookConfig, *, attempt: int,
                       client: WebhookClient | None = None) -> AttemptOutcome:
    """One attempt at POSTing `delivery` to `url`; never raises for the receiver's or the network's faults."""
    attempted_at = clock.now()
    parsed: httpx.URL | None = None
    tenant_secret = None if config.secret is None else tenant_webhook_secret(config.secret, delivery.tenant_id)

    def outcome(status: DeliveryStatus, error: str | None = None, response_status: int | None = None,
                retry_in: float | None = None, detail: dict[str, str] | None = None) -> AttemptOutcome:
        hidden = [config.secret, tenant_secret, url]
        if parsed is not None and parsed.raw_path not in (b"/", b""):
            hidden += [parsed.raw_path.decode("ascii", "replace"), parsed.path, parsed.query.decode("ascii", "replace")]
        return AttemptOutcome(delivery_id=delivery.delivery_id, channel=Channel.WEBHOOK, attempt=attempt,
                              status=status, attempted_at=attempted_at,
                              error=None if error is None else scrub(error, hidden),
                              response_status=response_status, retry_in_seconds=retry_in, detail=detail or {})

    def retry_or_fail(error: str, response_status: int | None = None, retry_after: float | None = None,
                      detail: dict[str, str] | None = None) -> AttemptOutcome:
        status, delay = config.retry.next_status(attempt, retryable=True, retry_after=retry_after)
        if status is DeliveryStatus.FAILED:
            error = f"{error} (gave up after {attempt} attempts)"
        return outcome(status, error, response_status, delay, detail)

    try:
        parsed = validate_webhook_url(url)
    except DestinationRefused as e:
        return outcome(DeliveryStatus.FAILED, e.message)
    if tenant_secret is None:
        return outcome(DeliveryStatus.FAILED, "webhooks are not configured: CALLPULSE_WEBHOOK_SECRET is not set")
    body = webhook_body(delivery, config.inline_max_bytes)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(tenant_secret, body, int(clock.now().timestamp())),
        DELIVERY_HEADER: delivery.delivery_id,
        ATTEMPT_HEADER: str(attempt),
    }
    own_client = client is None
    webhooks = WebhookClient(config) if client is None else client
    response: httpx.Response | None = None
    received = bytearray()
    try:
        async with (
            # One deadline for the whole attempt: resolution, connect, send and the (capped) response.
            asyncio.timeout(config.timeout_seconds),
            webhooks.http.stream("POST", parsed, content=body, headers=headers) as response,
        ):
            async for chunk in response.aiter_raw():
                received += chunk
                if len(received) >= MAX_RESPONSE_BYTES:
                    break
    except DestinationRefused as e:
        return outcome(DeliveryStatus.FAILED, e.message)
    except DestinationUnresolvable as e:
        return retry_or_fail(str(e))
    except (TimeoutError, httpx.TimeoutException):
        # Once the status line is in, the receiver has answered: a body cut short does not change that.
        if response is None:
            return retry_or_fail(f"no answer within {config.timeout_seconds:g} s")
    except httpx.HTTPError as e:
        if response is None:
            return retry_or_fail(f"{type(e).__name__}: {e}")
    finally:
        if own_client:
            await webhooks.aclose()
    assert response is not None
    status_code = response.status_code
    detail = {"address": str(response.extensions.get(ADDRESS_EXTENSION, ""))}
    snippet = bytes(received[:200]).decode("utf-8", "replace")
    if 200 <= status_code < 300:
        return outcome(DeliveryStatus.DELIVERED, None, status_code, detail=detail)
    if 300 <= status_code < 400:
        return outcome(DeliveryStatus.FAILED, f"the receiver answered {status_code}, a redirect, which is not "
                       "followed: the webhook URL must name the receiver itself", status_code, detail=detail)
    if status_code == 429 or status_code >= 500:
        return retry_or_fail(f"the receiver answered {status_code}: {snippet}", status_code,
                             _retry_after(response), detail)
    return outcome(DeliveryStatus.FAILED, f"the receiver answered {status_code}: {snippet}", status_code,
                   detail=detail)
