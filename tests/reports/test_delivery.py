"""Report delivery against real receivers: an aiosmtpd SMTP server and stdlib HTTP(S) servers on 127.0.0.1.

Nothing is mocked. The one stand-in is a resolver function in the DNS-rebinding tests: without a DNS server of
our own, a function answering different addresses on successive lookups is how a rebinding name behaves.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import http.server
import ipaddress
import json
import ssl
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.errors import ConfigurationError, ErrorCode
from gateway.periods import Period
from gateway.reports.delivery import (
    AddressPolicy,
    AttemptOutcome,
    Channel,
    DeliveryStatus,
    DestinationRefused,
    ReportDelivery,
    ReportFile,
    RetryPolicy,
    SmtpConfig,
    SmtpSecurity,
    WebhookClient,
    WebhookConfig,
    deliver_with_retries,
    delivery_id_for,
    report_filename,
    resolve_destination,
    send_email,
    send_webhook,
    sign,
    tenant_webhook_secret,
    validate_email_address,
    validate_webhook_url,
    verify_signature,
    webhook_body,
)
from gateway.reports.delivery.email import InvalidEmailAddress
from gateway.reports.result import Column, ColumnKind, SummaryFigure
from gateway.settings import DeliverySettings
from tests.conftest import free_port

TENANT = uuid.UUID("7d8e4d55-0a63-4a4b-9a1e-3c1a3b5b6a01")
OTHER_TENANT = uuid.UUID("7d8e4d55-0a63-4a4b-9a1e-3c1a3b5b6a02")
DEPLOYMENT_SECRET = "deployment-webhook-secret-0123456789abcdef"
SMTP_USER = "reports"
SMTP_PASSWORD = "correct-horse-battery-staple"
PDF_BYTES = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
LOOPBACK_ONLY = AddressPolicy((ipaddress.ip_network("127.0.0.1/32"),))
# Fast retries: the loop's waits are real sleeps, kept to milliseconds.
QUICK_RETRIES = RetryPolicy(max_attempts=5, base_seconds=0.01, max_seconds=0.05)


def a_delivery(**changes: Any) -> ReportDelivery:
    period = Period(dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    delivery = ReportDelivery(
        delivery_id=delivery_id_for(42, Channel.EMAIL, "ana@example.com"),
        tenant_id=TENANT,
        report_id="17",
        report_name="Agent performance",
        execution_id="42",
        period=period,
        format="pdf",
        completed_at=dt.datetime(2024, 4, 1, 6, 0, tzinfo=dt.UTC),
        summary=[SummaryFigure("Calls handled", 1234, ColumnKind.INTEGER),
                 SummaryFigure("Conversion", 0.125, ColumnKind.RATIO),
                 SummaryFigure("Revenue", Decimal("1520.50"), ColumnKind.MONEY)],
        file=ReportFile("pdf", report_filename("Agent performance", period, "pdf"), PDF_BYTES),
        columns=[Column("agent", "Agent"), Column("calls", "Calls", ColumnKind.INTEGER)],
        rows=[("Ana", 700), ("Bo", 534)],
        download_url="https://callpulse.example.com/api/v1/analytics/executions/42.pdf",
    )
    return replace(delivery, **changes)


# --- certificates -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    # For 127.0.0.1 and localhost (the SMTP server), and for the name `localhost` only (the https receiver).
    smtp_chain: tuple[Path, Path]
    localhost_chain: tuple[Path, Path]

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    @staticmethod
    def server_context(chain: tuple[Path, Path]) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(chain[0]), str(chain[1]))
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: Path, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    path.with_suffix(".crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    return path.with_suffix(".crt"), path.with_suffix(".key")


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A throwaway CA and two server certificates it signed, generated for this run."""
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("CallPulse test CA")).issuer_name(_name("CallPulse test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False),
                         critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(stem: str, names: Sequence[x509.GeneralName]) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder().subject_name(_name(stem)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
        return _write(folder / stem, certificate, key)

    return Certificates(
        ca_file=folder / "ca.crt",
        smtp_chain=leaf("smtp", [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
        localhost_chain=leaf("localhost", [x509.DNSName("localhost")]),
    )


# --- a real SMTP server -------------------------------------------------------------------------------------


@dataclass
class Received:
    envelope_from: str | None
    recipients: list[str]
    raw: bytes
    encrypted: bool
    authenticated: bool

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message's DATA and answers from a script (then 250)."""

    replies: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        transport = server.transport
        self.received.append(Received(
            envelope_from=envelope.mail_from, recipients=list(envelope.rcpt_tos), raw=envelope.content,
            encrypted=transport is not None and transport.get_extra_info("cipher") is not None,
            authenticated=bool(session.authenticated)))
        return self.replies.pop(0) if self.replies else "250 OK"


def _authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                   auth_data: object) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode()
          and auth_data.password == SMTP_PASSWORD.encode())
    # handled=False: aiosmtpd then answers 535 itself (its default, True, leaves the client waiting).
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int


SmtpFactory = Callable[..., SmtpServer]


@pytest.fixture
def smtp_server() -> Iterator[SmtpFactory]:
    """Starts aiosmtpd servers on 127.0.0.1 (keyword arguments go to its SMTP class); stops them afterwards."""
    controllers: list[Controller] = []

    def start(replies: Sequence[str] = (), **smtp_options: Any) -> SmtpServer:
        inbox = Inbox(list(replies))
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_options)
        controller.start()
        controllers.append(controller)
        return SmtpServer(inbox, port)

    yield start
    for controller in controllers:
        controller.stop()


def smtp_config(port: int, **changes: Any) -> SmtpConfig:
    config = SmtpConfig(host="127.0.0.1", port=port, from_address="CallPulse <reports@callpulse.test>",
                        security=SmtpSecurity.NONE, timeout_seconds=5.0, retry=QUICK_RETRIES)
    return replace(config, **changes)


# --- a real HTTP receiver -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b"ok"
    # Answer only once this is set (a receiver that hangs).
    hold: threading.Event | None = None
    # Stream a body without end until the client hangs up.
    endless: bool = False
    # Promise more body than is sent, then hang up.
    cut_short: bool = False


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A stdlib HTTP(S) server in a thread on 127.0.0.1: records every request, answers from a script."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.replies: list[Reply] = []
        self.requests: list[Request] = []
        self.answered = 0
        self.streamed = 0
        self.stream_ended = threading.Event()
        self.server_names: list[str | None] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = receiver.replies.pop(0) if receiver.replies else Reply()
                if reply.hold is not None:
                    reply.hold.wait(30)
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                if reply.endless:
                    self.end_headers()
                    self._stream()
                    return
                self.send_header("Content-Length", str(len(reply.body) + 1000 * reply.cut_short))
                self.end_headers()
                self.wfile.write(reply.body)
                receiver.answered += 1
                if reply.cut_short:
                    self.close_connection = True

            def _stream(self) -> None:
                chunk = b"x" * 65536
                try:
                    while receiver.streamed < 256 * 1024 * 1024:
                        self.wfile.write(chunk)
                        receiver.streamed += len(chunk)
                except OSError:
                    pass
                finally:
                    receiver.stream_ended.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            tls.sni_callback = lambda sock, name, context: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def close(self) -> None:
        for reply in self.replies:
            if reply.hold is not None:
                reply.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def webhook_config(**changes: Any) -> WebhookConfig:
    config = WebhookConfig(secret=DEPLOYMENT_SECRET, policy=LOOPBACK_ONLY, timeout_seconds=5.0, retry=QUICK_RETRIES)
    return replace(config, **changes)


def tenant_secret() -> str:
    return tenant_webhook_secret(DEPLOYMENT_SECRET, TENANT)


def signature_holds(request: Request, secret: str) -> bool:
    now = dt.datetime.now(dt.UTC).timestamp()
    return verify_signature(request.headers["x-callpulse-signature"], request.body, secret, now=now)


# --- email --------------------------------------------------------------------------------------------------


async def test_an_email_reaches_a_real_smtp_server_with_the_report_attached(smtp_server: SmtpFactory) -> None:
    # given
    server = smtp_server()
    delivery = a_delivery()

    # when
    outcome = await send_email(delivery, "Ana@Example.com", smtp_config(server.port), attempt=1)

    # then
    assert (outcome.status, outcome.attempt, outcome.error, outcome.response_status) == (
        DeliveryStatus.DELIVERED, 1, None, 250)
    [received] = server.inbox.received
    assert received.envelope_from == "reports@callpulse.test"
    assert received.recipients == ["Ana@example.com"]
    message = received.message
    assert message["Message-ID"] == f"<{delivery.delivery_id}@callpulse>"
    assert message["X-CallPulse-Delivery"] == delivery.delivery_id
    assert message["Subject"] == "Agent performance, 2024-03-01 to 2024-03-31"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Agent performance" in text
    assert "2024-03-01 to 2024-03-31" in text
    assert "Calls handled: 1,234" in text
    assert "Conversion: 12.5%" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "agent-performance-2024-03-01-2024-03-31.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_payload(decode=True) == PDF_BYTES


async def test_a_csv_report_is_attached_as_text_csv_byte_for_byte(smtp_server: SmtpFactory) -> None:
    server = smtp_server()
    data = "\ufeffagent,calls\r\nAna,700\r\n\"Bo, Jr.\",534\r\n".encode()
    period = Period(dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    delivery = a_delivery(format="csv", file=ReportFile("csv", report_filename("Calls / März", period, "csv"), data))

    outcome = await send_email(delivery, "ana@example.com", smtp_config(server.port), attempt=1)

    assert outcome.status is DeliveryStatus.DELIVERED
    [attachment] = list(server.inbox.received[0].message.iter_attachments())
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_filename() == "calls-m-rz-2024-03-01-2024-03-31.csv"
    assert attachment.get_payload(decode=True) == data


async def test_a_file_too_large_to_attach_is_linked_instead(smtp_server: SmtpFactory) -> None:
    server = smtp_server()
    big = ReportFile("csv", "calls.csv", None, size=250 * 1_048_576)
    config = smtp_config(server.port, max_attachment_bytes=len(PDF_BYTES) - 1)

    loaded_but_large = await send_email(a_delivery(), "ana@example.com", config, attempt=1)
    not_loaded = await send_email(a_delivery(file=big, period=None), "ana@example.com", config, attempt=1)

    assert [loaded_but_large.status, not_loaded.status] == [DeliveryStatus.DELIVERED] * 2
    first, second = (r.message for r in server.inbox.received)
    assert list(first.iter_attachments()) == []
    assert list(second.iter_attachments()) == []
    assert second["Subject"] == "Agent performance"
    body = second.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "(calls.csv, 250.0 MB) is too large to attach" in text
    assert "Download it at https://callpulse.example.com/api/v1/analytics/executions/42.pdf" in text


async def test_the_same_delivery_sent_twice_carries_the_same_message_id(smtp_server: SmtpFactory) -> None:
    server = smtp_server()
    delivery = a_delivery()

    first = await send_email(delivery, "ana@example.com", smtp_config(server.port), attempt=1)
    second = await send_email(delivery, "ana@example.com", smtp_config(server.port), attempt=2)

    assert [first.status, second.status] == [DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED]
    ids = [(r.message["Message-ID"], r.message["X-CallPulse-Delivery"]) for r in server.inbox.received]
    assert ids == [(f"<{delivery.delivery_id}@callpulse>", delivery.delivery_id)] * 2


async def test_starttls_with_credentials_encrypts_before_authenticating(
        smtp_server: SmtpFactory, certificates: Certificates) -> None:
    server = smtp_server(tls_context=Certificates.server_context(certificates.smtp_chain), require_starttls=True,
                         auth_required=True, authenticator=_authenticator)
    config = smtp_config(server.port, security=SmtpSecurity.STARTTLS, username=SMTP_USER, password=SMTP_PASSWORD,
                         ssl_context=certificates.client_context())

    outcome = await send_email(a_delivery(), "ana@example.com", config, attempt=1)

    assert (outcome.status, outcome.error) == (DeliveryStatus.DELIVERED, None)
    [received] = server.inbox.received
    assert received.encrypted
    assert received.authenticated
    assert received.message.get_content_type() == "multipart/mixed"


async def test_implicit_tls_delivers_over_an_encrypted_connection(
        smtp_server: SmtpFactory, certificates: Certificates) -> None:
    server = smtp_server(ssl_context=Certificates.server_context(certificates.smtp_chain))
    config = smtp_config(server.port, security=SmtpSecurity.TLS, ssl_context=certificates.client_context())

    outcome = await send_email(a_delivery(), "ana@example.com", config, attempt=1)

    assert outcome.status is DeliveryStatus.DELIVERED
    assert server.inbox.received[0].encrypted


async def test_an_smtp_certificate_from_an_unknown_ca_fails_without_sending(
        smtp_server: SmtpFactory, certificates: Certificates) -> None:
    server = smtp_server(tls_context=Certificates.server_context(certificates.smtp_chain))
    # The system CAs: our throwaway CA is not among them.
    config = smtp_config(server.port, security=SmtpSecurity.STARTTLS, ssl_context=ssl.create_default_context())

    outcome = await send_email(a_delivery(), "ana@example.com", config, attempt=1)

    assert outcome.status is DeliveryStatus.FAILED
    assert outcome.error is not None
    assert "certificate" in outcome.error
    assert server.inbox.received == []


async def test_starttls_not_offered_fails_rather_than_sending_in_clear(smtp_server: SmtpFactory) -> None:
    server = smtp_server()
    config = smtp_config(server.port, security=SmtpSecurity.STARTTLS, username=SMTP_USER, password=SMTP_PASSWORD)

    outcome = await send_email(a_delivery(), "ana@example.com", config, attempt=1)

    assert outcome.status is DeliveryStatus.FAILED
    assert outcome.error is not None
    assert "does not offer STARTTLS" in outcome.error
    assert server.inbox.received == []


async def test_a_wrong_password_fails_for_good_and_the_error_does_not_show_it(
        smtp_server: SmtpFactory, certificates: Certificates) -> None:
    server = smtp_server(tls_context=Certificates.server_context(certificates.smtp_chain),
                         auth_required=True, authenticator=_authenticator)
    config = smtp_config(server.port, security=SmtpSecurity.STARTTLS, username=SMTP_USER,
                         password="wrong-password-123", ssl_context=certificates.client_context())

    outcome = await send_email(a_delivery(), "ana@example.com", config, attempt=1)

    assert (outcome.status, outcome.response_status) == (DeliveryStatus.FAILED, 535)
    assert outcome.error is not None
    assert "wrong-password-123" not in outcome.error
    assert server.inbox.received == []


async def test_an_smtp_4xx_is_retried_under_the_same_identity(smtp_server: SmtpFactory) -> None:
    server = smtp_server(replies=["451 4.3.0 Try again later"])
    delivery = a_delivery()
    recorded: list[AttemptOutcome] = []

    async def record(outcome: AttemptOutcome) -> None:
        recorded.append(outcome)

    final = await deliver_with_retries(
        lambda n: send_email(delivery, "ana@example.com", smtp_config(server.port), attempt=n), on_attempt=record)

    assert [(o.attempt, o.status, o.response_status) for o in recorded] == [
        (1, DeliveryStatus.RETRYING, 451), (2, DeliveryStatus.DELIVERED, 250)]
    assert final is recorded[-1]
    assert recorded[0].retry_in_seconds is not None
    assert {r.message["Message-ID"] for r in server.inbox.received} == {f"<{delivery.delivery_id}@callpulse>"}


async def test_an_smtp_5xx_fails_at_once(smtp_server: SmtpFactory) -> None:
    server = smtp_server(replies=["550 5.7.1 Message rejected"])

    outcome = await send_email(a_delivery(), "ana@example.com", smtp_config(server.port), attempt=1)

    assert (outcome.status, outcome.response_status, outcome.retry_in_seconds) == (DeliveryStatus.FAILED, 550, None)
    assert outcome.error is not None
    assert "Message rejected" in outcome.error


async def test_an_unreachable_smtp_server_is_retried_until_the_attempts_run_out() -> None:
    config = smtp_config(free_port(), retry=RetryPolicy(max_attempts=2, base_seconds=0.01, max_seconds=0.01))

    first = await send_email(a_delivery(), "ana@example.com", config, attempt=1)
    last = await send_email(a_delivery(), "ana@example.com", config, attempt=2)

    assert first.status is DeliveryStatus.RETRYING
    assert first.retry_in_seconds is not None
    assert last.status is DeliveryStatus.FAILED
    assert last.error is not None
    assert "gave up after 2 attempts" in last.error


async def test_email_delivery_without_smtp_settings_fails_with_the_setting_named() -> None:
    outcome = await send_email(a_delivery(), "ana@example.com", None, attempt=1)

    assert outcome.status is DeliveryStatus.FAILED
    assert outcome.error is not None
    assert "CALLPULSE_SMTP_HOST" in outcome.error


async def test_a_report_name_cannot_inject_headers(smtp_server: SmtpFactory) -> None:
    server = smtp_server()
    delivery = a_delivery(report_name="Weekly\r\nBcc: thief@evil.example\r\n")

    outcome = await send_email(delivery, "ana@example.com", smtp_config(server.port), attempt=1)

    assert outcome.status is DeliveryStatus.DELIVERED
    [received] = server.inbox.received
    assert received.recipients == ["ana@example.com"]
    assert received.message["Bcc"] is None
    assert received.message["Subject"] == "Weekly Bcc: thief@evil.example, 2024-03-01 to 2024-03-31"


@pytest.mark.parametrize("address", [
    "ana@example.com\r\nBcc: thief@evil.example", "Ana <ana@example.com>", "ana@", "@example.com", "ana",
    "ana@localhost", "ana..b@example.com", "ana@exa_mple.com", "ańa@example.com", "",
])
def test_recipient_addresses_are_plain_addresses_only(address: str) -> None:
    with pytest.raises(InvalidEmailAddress) as caught:
        validate_email_address(address)
    assert caught.value.code is ErrorCode.BAD_USER_INPUT


def test_a_recipient_address_is_kept_with_its_domain_lower_cased() -> None:
    assert validate_email_address("  Ana.Lima+reports@Example.COM ") == "Ana.Lima+reports@example.com"


# --- webhooks -----------------------------------------------------------------------------------------------


async def test_a_webhook_is_signed_and_the_receiver_verifies_the_signature(receiver: Receiver) -> None:
    # given
    delivery = a_delivery(delivery_id=delivery_id_for(42, Channel.WEBHOOK, receiver.url()))

    # when
    outcome = await send_webhook(delivery, receiver.url(), webhook_config(), attempt=1)

    # then
    assert (outcome.status, outcome.response_status, outcome.error) == (DeliveryStatus.DELIVERED, 200, None)
    assert outcome.detail["address"] == "127.0.0.1"
    [request] = receiver.requests
    assert signature_holds(request, tenant_secret())
    assert not signature_holds(request, tenant_webhook_secret(DEPLOYMENT_SECRET, OTHER_TENANT))
    assert not signature_holds(replace(request, body=request.body.replace(b"Ana", b"Eve")), tenant_secret())
    assert request.headers["x-callpulse-delivery"] == delivery.delivery_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert request.json() == {
        "type": "report.completed",
        "delivery_id": delivery.delivery_id,
        "tenant_id": str(TENANT),
        "report": {"id": "17", "name": "Agent performance"},
        "execution": {"id": "42", "from": "2024-03-01", "to": "2024-03-31",
                      "completed_at": "2024-04-01T06:00:00+00:00"},
        "format": "pdf",
        "summary": [{"label": "Calls handled", "value": 1234, "kind": "integer"},
                    {"label": "Conversion", "value": 0.125, "kind": "ratio"},
                    {"label": "Revenue", "value": 1520.5, "kind": "money"}],
        "download_url": "https://callpulse.example.com/api/v1/analytics/executions/42.pdf",
        "result": {"columns": [{"key": "agent", "title": "Agent", "kind": "text"},
                               {"key": "calls", "title": "Calls", "kind": "integer"}],
                   "rows": [["Ana", 700], ["Bo", 534]]},
        "result_omitted": False,
    }


def test_a_signature_is_refused_outside_the_tolerance() -> None:
    header = f"t=1700000000,v1={'0' * 64}"
    body = b'{"delivery_id":"x"}'
    good = sign("whsec_key", body, 1700000000)

    assert verify_signature(good, body, "whsec_key", now=1700000000 + 299)
    assert not verify_signature(good, body, "whsec_key", now=1700000000 + 301)
    assert not verify_signature(header, body, "whsec_key", now=1700000000)
    assert not verify_signature("v1=" + good.rpartition("v1=")[2], body, "whsec_key", now=1700000000)


def test_row_values_are_written_as_json_numbers_and_text() -> None:
    delivery = a_delivery(rows=[("Ana", dt.timedelta(minutes=4, seconds=5), Decimal("12.30"), uuid.UUID(int=1),
                                 dt.date(2024, 3, 1), ColumnKind.MONEY, None)])

    rows = json.loads(webhook_body(delivery))["result"]["rows"]

    assert rows == [["Ana", 245.0, 12.3, "00000000-0000-0000-0000-000000000001", "2024-03-01", "money", None]]


def test_rows_too_big_for_the_body_are_left_out_and_the_link_kept() -> None:
    delivery = a_delivery(rows=[("agent", n) for n in range(20_000)])

    small = json.loads(webhook_body(delivery, inline_max_bytes=64 * 1024))
    large = json.loads(webhook_body(delivery, inline_max_bytes=4 * 1024 * 1024))

    assert (small["result"], small["result_omitted"]) == (None, True)
    assert small["download_url"] == delivery.download_url
    too_many = json.loads(webhook_body(replace(delivery, rows=[("agent", n) for n in range(20_001)]),
                                       inline_max_bytes=64 * 1024 * 1024))
    assert len(large["result"]["rows"]) == 20_000
    assert too_many["result_omitted"] is True
    assert large["result_omitted"] is False


async def test_a_receiver_failing_twice_then_accepting_sees_three_attempts_of_one_delivery(
        receiver: Receiver) -> None:
    # given
    receiver.replies = [Reply(500, body=b"boom"), Reply(503), Reply(200)]
    delivery = a_delivery(delivery_id=delivery_id_for(42, Channel.WEBHOOK, receiver.url()))
    recorded: list[AttemptOutcome] = []

    async def record(outcome: AttemptOutcome) -> None:
        recorded.append(outcome)

    # when
    final = await deliver_with_retries(
        lambda n: send_webhook(delivery, receiver.url(), webhook_config(), attempt=n), on_attempt=record)

    # then
    assert [(o.attempt, o.status, o.response_status) for o in recorded] == [
        (1, DeliveryStatus.RETRYING, 500), (2, DeliveryStatus.RETRYING, 503), (3, DeliveryStatus.DELIVERED, 200)]
    assert final.status is DeliveryStatus.DELIVERED
    assert recorded[0].error == "the receiver answered 500: boom"
    assert all(o.retry_in_seconds is not None and 0 < o.retry_in_seconds <= 0.05 for o in recorded[:2])
    assert {o.delivery_id for o in recorded} == {delivery.delivery_id}
    assert [r.headers["x-callpulse-delivery"] for r in receiver.requests] == [delivery.delivery_id] * 3
    assert {r.json()["delivery_id"] for r in receiver.requests} == {delivery.delivery_id}
    assert [r.headers["x-callpulse-attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert len({r.body for r in receiver.requests}) == 1
    assert all(signature_holds(r, tenant_secret()) for r in receiver.requests)


async def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_attempt(receiver: Receiver) -> None:
    receiver.replies = [Reply(500)] * 3
    config = webhook_config(retry=RetryPolicy(max_attempts=3, base_seconds=0.01, max_seconds=0.01))

    final = await deliver_with_retries(lambda n: send_webhook(a_delivery(), receiver.url(), config, attempt=n))

    assert (final.status, final.attempt) == (DeliveryStatus.FAILED, 3)
    assert final.error is not None
    assert "gave up after 3 attempts" in final.error
    assert len(receiver.requests) == 3


async def test_a_400_is_not_retried(receiver: Receiver) -> None:
    receiver.replies = [Reply(400, body=b'{"error":"unknown field"}')]

    outcome = await send_webhook(a_delivery(), receiver.url(), webhook_config(), attempt=1)

    assert (outcome.status, outcome.response_status, outcome.retry_in_seconds) == (DeliveryStatus.FAILED, 400, None)
    assert outcome.error == 'the receiver answered 400: {"error":"unknown field"}'
    assert len(receiver.requests) == 1


async def test_a_429_is_retried_no_sooner_than_its_retry_after(receiver: Receiver) -> None:
    receiver.replies = [Reply(429, headers=(("Retry-After", "7"),))]
    config = webhook_config(retry=RetryPolicy(max_attempts=3, base_seconds=0.01, max_seconds=600))

    outcome = await send_webhook(a_delivery(), receiver.url(), config, attempt=1)

    assert (outcome.status, outcome.response_status, outcome.retry_in_seconds) == (
        DeliveryStatus.RETRYING, 429, 7.0)


async def test_a_redirect_is_a_failure_and_its_target_is_never_called(receiver: Receiver) -> None:
    receiver.replies = [Reply(302, headers=(("Location", receiver.url("/target")),))]

    outcome = await send_webhook(a_delivery(), receiver.url(), webhook_config(), attempt=1)

    assert (outcome.status, outcome.response_status) == (DeliveryStatus.FAILED, 302)
    assert outcome.error is not None
    assert "redirect" in outcome.error
    assert [r.path for r in receiver.requests] == ["/hook"]


async def test_a_receiver_that_does_not_answer_fails_the_attempt_at_the_timeout(receiver: Receiver) -> None:
    release = threading.Event()
    receiver.replies = [Reply(200, hold=release)]
    try:
        outcome = await send_webhook(a_delivery(), receiver.url(), webhook_config(timeout_seconds=0.3), attempt=1)
        # The receiver is still holding its answer: the attempt ended at our timeout, not at its reply.
        assert receiver.answered == 0
    finally:
        release.set()

    assert outcome.status is DeliveryStatus.RETRYING
    assert outcome.error == "no answer within 0.3 s"


async def test_an_endless_response_is_not_read_beyond_the_cap(receiver: Receiver) -> None:
    receiver.replies = [Reply(200, endless=True)]

    outcome = await send_webhook(a_delivery(), receiver.url(), webhook_config(timeout_seconds=10), attempt=1)

    assert outcome.status is DeliveryStatus.DELIVERED
    # The receiver stopped because we hung up, long before its own limit.
    assert receiver.stream_ended.wait(10)
    assert receiver.streamed < 256 * 1024 * 1024


async def test_a_2xx_whose_body_is_cut_short_is_delivered(receiver: Receiver) -> None:
    receiver.replies = [Reply(202, body=b"accepted", cut_short=True)]

    outcome = await send_webhook(a_delivery(), receiver.url(), webhook_config(), attempt=1)

    assert (outcome.status, outcome.response_status) == (DeliveryStatus.DELIVERED, 202)
    assert len(receiver.requests) == 1


async def test_errors_do_not_show_the_path_or_query_of_the_url(receiver: Receiver) -> None:
    url = receiver.url("/services/T000/B000/XXXXSECRETTOKEN?key=hunter2hunter2")
    receiver.replies = [Reply(500, body=b"no route for /services/T000/B000/XXXXSECRETTOKEN?key=hunter2hunter2")]

    outcome = await send_webhook(a_delivery(), url, webhook_config(), attempt=1)

    assert outcome.error is not None
    assert "XXXXSECRETTOKEN" not in outcome.error
    assert "hunter2" not in outcome.error
    assert "[redacted]" in outcome.error


async def test_webhooks_without_a_secret_fail_with_the_setting_named(receiver: Receiver) -> None:
    outcome = await send_webhook(a_delivery(), receiver.url(), webhook_config(secret=None), attempt=1)

    assert outcome.status is DeliveryStatus.FAILED
    assert outcome.error is not None
    assert "CALLPULSE_WEBHOOK_SECRET" in outcome.error
    assert receiver.requests == []


async def test_https_webhooks_verify_the_certificate_for_the_host_name_while_connecting_by_address(
        certificates: Certificates) -> None:
    receiver = Receiver(tls=Certificates.server_context(certificates.localhost_chain))
    policy = AddressPolicy((ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")))
    config = webhook_config(policy=policy, verify=certificates.client_context())
    try:
        by_name = await send_webhook(a_delivery(), receiver.url(host="localhost"), config, attempt=1)
        # The certificate names `localhost` only: reaching the same server as 127.0.0.1 must fail verification.
        by_address = await send_webhook(a_delivery(), receiver.url(host="127.0.0.1"), config, attempt=1)
    finally:
        receiver.close()

    assert (by_name.status, by_name.detail["address"]) == (DeliveryStatus.DELIVERED, "127.0.0.1")
    assert receiver.server_names[0] == "localhost"
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"
    assert by_address.status is not DeliveryStatus.DELIVERED
    assert by_address.error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in by_address.error
    assert len(receiver.requests) == 1


# --- where webhooks may go ----------------------------------------------------------------------------------


async def test_a_loopback_receiver_is_refused_without_the_allow_list_and_never_called(receiver: Receiver) -> None:
    outcome = await send_webhook(a_delivery(), receiver.url(), webhook_config(policy=AddressPolicy()), attempt=1)

    assert outcome.status is DeliveryStatus.FAILED
    assert outcome.error is not None
    assert "loopback" in outcome.error
    assert "CALLPULSE_WEBHOOK_ALLOW_NETWORKS" in outcome.error
    assert receiver.requests == []


async def test_the_allow_list_admits_loopback_receivers(receiver: Receiver) -> None:
    vetted = await resolve_destination(receiver.url(), LOOPBACK_ONLY)

    assert vetted.addresses == (ipaddress.ip_address("127.0.0.1"),)


@pytest.mark.parametrize(("url", "kind"), [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.8.9.10:8080/", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.0.10/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local (cloud metadata)"),
    ("http://169.254.10.1/", "link-local"),
    ("http://100.64.0.1/", "shared (CGNAT)"),
    ("http://0.0.0.0:8000/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    ("http://[::1]/", "loopback"),
    ("http://[::]/", "unspecified"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:169.254.169.254]/", "link-local (cloud metadata)"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://[64:ff9b::a00:1]/", "private"),
    ("http://[2002:7f00:1::]/", "loopback"),
    ("http://[fc00::1]/", "private"),
    ("http://[fd00:ec2::254]/", "link-local (cloud metadata)"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[ff02::1]/", "multicast"),
    ("http://localhost:8080/", "loopback"),
])
async def test_internal_destinations_are_refused(url: str, kind: str) -> None:
    with pytest.raises(DestinationRefused) as caught:
        await resolve_destination(url, AddressPolicy())
    assert caught.value.extensions == {"reason": "address", "kind": kind}
    assert caught.value.code is ErrorCode.BAD_USER_INPUT


async def test_the_allow_list_admits_only_what_it_names() -> None:
    with pytest.raises(DestinationRefused):
        await resolve_destination("http://10.0.0.1/", LOOPBACK_ONLY)
    with pytest.raises(DestinationRefused):
        await resolve_destination("http://127.0.0.2/", LOOPBACK_ONLY)
    vetted = await resolve_destination("http://[::ffff:127.0.0.1]:9/", LOOPBACK_ONLY)
    assert vetted.addresses == (ipaddress.ip_address("::ffff:127.0.0.1"),)


async def test_public_addresses_pass() -> None:
    vetted = await resolve_destination("https://93.184.216.34/hook", AddressPolicy())
    mapped = await resolve_destination("https://[2606:4700:4700::1111]/hook", AddressPolicy())

    assert vetted.addresses == (ipaddress.ip_address("93.184.216.34"),)
    assert mapped.addresses == (ipaddress.ip_address("2606:4700:4700::1111"),)


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://example.com/report", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("gopher://example.com/", "scheme"),
    ("http://user:secret@example.com/hook", "credentials"),
    ("https://token@example.com/hook", "credentials"),
    ("http:///hook", "host"),
    ("http://exa mple.com/", "syntax"),
    ("http://example.com/\r\nX-Injected: 1", "syntax"),
    ("http://2130706433/", "host"),
    ("http://127.1/", "host"),
    ("http://0x7f.1/", "host"),
    ("http://exa_mple.com/", "host"),
    ("http://example.com:0/", "port"),
    ("https://example.com/" + "a" * 2048, "syntax"),
    ("", "syntax"),
])
def test_urls_are_checked_when_saved(url: str, reason: str) -> None:
    with pytest.raises(DestinationRefused) as caught:
        validate_webhook_url(url)
    assert caught.value.reason == reason


def test_saving_judges_address_hosts_at_once_and_leaves_names_to_the_send() -> None:
    with pytest.raises(DestinationRefused):
        validate_webhook_url("http://10.0.0.5/hook", AddressPolicy())

    # Not resolved when saved (DNS may change before the first send): the send-time check counts.
    assert validate_webhook_url("https://hooks.example.com/x?y=1", AddressPolicy()).host == "hooks.example.com"
    assert validate_webhook_url("https://Hooks.Example.COM./x").host == "hooks.example.com."


class ScriptedDns:
    """Answers each lookup with the next list of addresses (the last one repeats), counting the lookups."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


async def test_a_name_is_refused_when_any_of_its_addresses_is_internal() -> None:
    dns = ScriptedDns(["93.184.216.34", "10.0.0.1"])

    with pytest.raises(DestinationRefused) as caught:
        await resolve_destination("https://hooks.example.com/x", AddressPolicy(), dns)
    assert "hooks.example.com resolves to 10.0.0.1" in caught.value.message


async def test_the_request_goes_to_the_checked_address_with_no_second_lookup(receiver: Receiver) -> None:
    # given: a name that answers the admitted address first and an internal one on any later lookup
    dns = ScriptedDns(["127.0.0.1"], ["10.0.0.1"])
    url = f"http://rebind.example:{receiver.port}/hook"

    # when
    outcome = await send_webhook(a_delivery(), url, webhook_config(resolver=dns), attempt=1)

    # then
    assert outcome.status is DeliveryStatus.DELIVERED
    assert dns.lookups == [("rebind.example", receiver.port)]
    assert outcome.detail["address"] == "127.0.0.1"
    assert receiver.requests[0].headers["host"] == f"rebind.example:{receiver.port}"


async def test_a_rebound_name_is_refused_on_the_next_send(receiver: Receiver) -> None:
    dns = ScriptedDns(["127.0.0.1"], ["10.0.0.1"])
    url = f"http://rebind.example:{receiver.port}/hook"

    first = await send_webhook(a_delivery(), url, webhook_config(resolver=dns), attempt=1)
    second = await send_webhook(a_delivery(), url, webhook_config(resolver=dns), attempt=2)

    assert [first.status, second.status] == [DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]
    assert second.error is not None
    assert "10.0.0.1" in second.error
    assert len(receiver.requests) == 1


async def test_an_internationalised_name_is_looked_up_in_its_idna_form(receiver: Receiver) -> None:
    dns = ScriptedDns(["127.0.0.1"])
    config = webhook_config(resolver=dns)

    async with WebhookClient(config) as client:
        outcomes = [await send_webhook(a_delivery(), f"http://bücher.example:{receiver.port}/hook", config,
                                       attempt=n, client=client) for n in (1, 2)]

    assert [o.status for o in outcomes] == [DeliveryStatus.DELIVERED] * 2
    # Every request is vetted, also on a shared client.
    assert dns.lookups == [("xn--bcher-kva.example", receiver.port)] * 2
    assert receiver.requests[0].headers["host"] == f"xn--bcher-kva.example:{receiver.port}"


async def test_a_name_that_does_not_resolve_is_retried() -> None:
    outcome = await send_webhook(a_delivery(), "https://nonexistent.invalid/hook", webhook_config(), attempt=1)

    assert outcome.status is DeliveryStatus.RETRYING
    assert outcome.error is not None
    assert "did not resolve" in outcome.error


async def test_connecting_falls_through_to_the_next_vetted_address(receiver: Receiver) -> None:
    # ::1 admitted but nothing listens there for this port; 127.0.0.1 answers.
    dns = ScriptedDns(["::1", "127.0.0.1"])
    policy = AddressPolicy((ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")))

    outcome = await send_webhook(a_delivery(), f"http://multi.example:{receiver.port}/hook",
                                 webhook_config(resolver=dns, policy=policy), attempt=1)

    assert (outcome.status, outcome.detail["address"]) == (DeliveryStatus.DELIVERED, "127.0.0.1")


# --- identity, retry policy, settings -----------------------------------------------------------------------


def test_a_delivery_id_is_stable_for_one_execution_and_destination() -> None:
    first = delivery_id_for(42, Channel.EMAIL, "ana@example.com")

    assert first == delivery_id_for(42, Channel.EMAIL, " ana@example.com ")
    assert first != delivery_id_for(43, Channel.EMAIL, "ana@example.com")
    assert first != delivery_id_for(42, Channel.WEBHOOK, "ana@example.com")
    with pytest.raises(ValueError, match="delivery id"):
        a_delivery(delivery_id="<bad>\r\n")


def test_the_retry_policy_backs_off_exponentially_with_jitter_and_gives_up() -> None:
    policy = RetryPolicy(max_attempts=5, base_seconds=10, max_seconds=60)

    assert [policy.delay_after(n, jitter=0.0) for n in range(1, 6)] == [5.0, 10.0, 20.0, 30.0, None]
    assert [policy.delay_after(n, jitter=0.999999) for n in range(1, 5)] == pytest.approx([10, 20, 40, 60], abs=1e-3)
    assert policy.delay_after(1, jitter=0.5, retry_after=45) == 45
    assert policy.delay_after(1, jitter=0.5, retry_after=3600) == 60
    assert policy.next_status(2, retryable=False) == (DeliveryStatus.FAILED, None)
    assert policy.next_status(5, retryable=True) == (DeliveryStatus.FAILED, None)
    assert policy.next_status(1, retryable=True, jitter=0.0) == (DeliveryStatus.RETRYING, 5.0)


def test_delivery_settings_come_from_the_environment(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = DeliverySettings.from_env({
        "CALLPULSE_SMTP_HOST": "smtp.example.com",
        "CALLPULSE_SMTP_SECURITY": "tls",
        "CALLPULSE_SMTP_USERNAME": "u",
        "CALLPULSE_SMTP_PASSWORD": "p",
        "CALLPULSE_SMTP_FROM": "CallPulse <reports@example.com>",
        "CALLPULSE_SMTP_CA_FILE": str(ca),
        "CALLPULSE_WEBHOOK_SECRET": DEPLOYMENT_SECRET,
        "CALLPULSE_WEBHOOK_ALLOW_NETWORKS": "10.20.0.0/16, 127.0.0.1",
        "CALLPULSE_DELIVERY_MAX_ATTEMPTS": "3",
    })

    assert (settings.smtp_port, settings.smtp_security, settings.smtp_ca_file) == (465, "tls", ca.resolve())
    assert settings.webhook_allow_networks == (ipaddress.ip_network("10.20.0.0/16"),
                                               ipaddress.ip_network("127.0.0.1/32"))
    assert DeliverySettings.from_env({}) == DeliverySettings()
    assert DeliverySettings.from_env({}).smtp_port == 587
    assert DeliverySettings.from_env({"CALLPULSE_SMTP_SECURITY": "none"}).smtp_port == 25
    assert DEPLOYMENT_SECRET not in repr(settings)
    assert "'p'" not in repr(settings)
    config = WebhookConfig.from_settings(settings)
    assert (config.retry.max_attempts, config.timeout_seconds) == (3, 5.0)
    assert SmtpConfig.from_settings(DeliverySettings()) is None


@pytest.mark.parametrize(("env", "message"), [
    ({"CALLPULSE_SMTP_HOST": "smtp.example.com"}, "CALLPULSE_SMTP_FROM is required"),
    ({"CALLPULSE_SMTP_SECURITY": "none", "CALLPULSE_SMTP_USERNAME": "u", "CALLPULSE_SMTP_PASSWORD": "p"},
     "in clear"),
    ({"CALLPULSE_SMTP_USERNAME": "u"}, "go together"),
    ({"CALLPULSE_SMTP_SECURITY": "ssl"}, "must be one of"),
    ({"CALLPULSE_WEBHOOK_SECRET": "short"}, "at least 32 bytes"),
    ({"CALLPULSE_WEBHOOK_ALLOW_NETWORKS": "10.0.0.0/33"}, "is not a network"),
    ({"CALLPULSE_DELIVERY_RETRY_BASE_SECONDS": "60", "CALLPULSE_DELIVERY_RETRY_MAX_SECONDS": "5"}, "at least"),
])
def test_bad_delivery_settings_stop_start_up(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        DeliverySettings.from_env(env)


def test_the_package_exports_what_it_documents() -> None:
    import gateway.reports.delivery as delivery

    assert sorted(delivery.__all__) == delivery.__all__
    assert all(hasattr(delivery, name) for name in delivery.__all__)
