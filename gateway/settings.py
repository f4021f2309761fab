"""Configuration from the environment; every variable is listed in the README with its default."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.cors import parse_origin
from gateway.errors import ConfigurationError

DEFAULT_APP_ROLE = "callpulse_gateway"
# What one operation may take; README "Limits" explains each (gateway/limits.py, gateway/cost.py).
DEFAULT_QUERY_COST_BUDGET = 1_000_000
DEFAULT_OPERATION_TIMEOUT_SECONDS = 10.0
DEFAULT_QUERY_MAX_TOKENS = 5000
DEFAULT_GRAPHQL_MAX_BYTES = 2 * 1024 * 1024
# The most rows a report PDF may have (gateway/reports/render/pdf.py); larger exports are CSV.
DEFAULT_REPORT_PDF_MAX_ROWS = 5000
# Report workers (gateway/reports/worker.py): README "Report executions" explains each.
DEFAULT_REPORT_LEASE_SECONDS = 60.0
DEFAULT_REPORT_MAX_ATTEMPTS = 3
DEFAULT_REPORT_RETRY_SECONDS = 30.0
DEFAULT_REPORT_POLL_SECONDS = 1.0
DEFAULT_REPORT_SCHEDULE_SECONDS = 15.0
DEFAULT_REPORT_STOP_SECONDS = 8.0


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise ConfigurationError(f"{name} must be a positive integer, got {value}")
    return value


def _non_negative_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 0:
        raise ConfigurationError(f"{name} must be 0 or more, got {value}")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not 0 < value < float("inf"):
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {env.get(name)!r}")
    return value


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


def _key(env: Mapping[str, str], name: str) -> str | None:
    """A key given inline (PEM text) or as a path to a file holding it."""
    raw = env.get(name)
    if not raw:
        return None
    if "-----BEGIN" in raw:
        return raw
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ConfigurationError(f"{name} is neither a PEM key nor a readable file: {raw!r}")
    return path.read_text()


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated origins, each `scheme://host[:port]`, in the canonical form browsers send."""
    origins: list[str] = []
    for item in (env.get(name) or "").split(","):
        if not item.strip():
            continue
        try:
            origin = parse_origin(item)
        except ValueError as e:
            raise ConfigurationError(
                f"{name}: {item.strip()!r} is not an origin: {e} (expected e.g. https://app.example.com)"
            ) from None
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def _networks(env: Mapping[str, str], name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated CIDRs (`10.20.0.0/16, 127.0.0.1/32`); an address alone is one host."""
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in (env.get(name) or "").split(","):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"{name}: {item.strip()!r} is not a network (expected e.g. 10.20.0.0/16)") from None
    return tuple(networks)


@dataclass(frozen=True)
class DeliverySettings:
    """Report delivery (gateway/reports/delivery): SMTP for emails (off while smtp_host is None), the webhook
    signing secret and the internal networks webhooks may reach, and how often a delivery is tried."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str | None = None
    smtp_timeout_seconds: float = 10.0
    smtp_ca_file: Path | None = None
    smtp_max_attachment_bytes: int = 15 * 1024 * 1024
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_timeout_seconds: float = 5.0
    webhook_allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    max_attempts: int = 6
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeliverySettings:
        """Checked together: a host without a sender, or credentials without TLS, stop start-up."""
        security = _choice(env, "CALLPULSE_SMTP_SECURITY", ("starttls", "tls", "none"), "starttls")
        host = (env.get("CALLPULSE_SMTP_HOST") or "").strip() or None
        username = env.get("CALLPULSE_SMTP_USERNAME") or None
        password = env.get("CALLPULSE_SMTP_PASSWORD") or None
        sender = (env.get("CALLPULSE_SMTP_FROM") or "").strip() or None
        if host is not None and sender is None:
            raise ConfigurationError("CALLPULSE_SMTP_FROM is required with CALLPULSE_SMTP_HOST "
                                     "(e.g. CallPulse <reports@example.com>)")
        if sender is not None and ("@" not in sender or "\r" in sender or "\n" in sender):
            raise ConfigurationError(f"CALLPULSE_SMTP_FROM must be an email address, got {sender!r}")
        if (username is None) != (password is None):
            raise ConfigurationError("CALLPULSE_SMTP_USERNAME and CALLPULSE_SMTP_PASSWORD go together")
        if username is not None and security == "none":
            raise ConfigurationError("SMTP credentials would travel in clear: set CALLPULSE_SMTP_SECURITY to "
                                     "starttls or tls, or drop CALLPULSE_SMTP_USERNAME")
        ca_file = env.get("CALLPULSE_SMTP_CA_FILE") or None
        if ca_file is not None and not Path(ca_file).expanduser().is_file():
            raise ConfigurationError(f"CALLPULSE_SMTP_CA_FILE is not a readable file: {ca_file!r}")
        port = _int(env, "CALLPULSE_SMTP_PORT", {"starttls": 587, "tls": 465, "none": 25}[security])
        if not 0 < port < 65536:
            raise ConfigurationError(f"CALLPULSE_SMTP_PORT must be 1-65535, got {port}")
        secret = env.get("CALLPULSE_WEBHOOK_SECRET") or None
        if secret is not None and len(secret.encode()) < 32:
            raise ConfigurationError("CALLPULSE_WEBHOOK_SECRET must be at least 32 bytes (e.g. openssl rand -hex 32)")
        base = _positive_float(env, "CALLPULSE_DELIVERY_RETRY_BASE_SECONDS", 5.0)
        most = _positive_float(env, "CALLPULSE_DELIVERY_RETRY_MAX_SECONDS", 600.0)
        if most < base:
            raise ConfigurationError("CALLPULSE_DELIVERY_RETRY_MAX_SECONDS must be at least "
                                     "CALLPULSE_DELIVERY_RETRY_BASE_SECONDS")
        return cls(
            smtp_host=host,
            smtp_port=port,
            smtp_security=security,
            smtp_username=username,
            smtp_password=password,
            smtp_from=sender,
            smtp_timeout_seconds=_positive_float(env, "CALLPULSE_SMTP_TIMEOUT_SECONDS", 10.0),
            smtp_ca_file=None if ca_file is None else Path(ca_file).expanduser().resolve(),
            smtp_max_attachment_bytes=_positive_int(env, "CALLPULSE_SMTP_MAX_ATTACHMENT_BYTES", 15 * 1024 * 1024),
            webhook_secret=secret,
            webhook_timeout_seconds=_positive_float(env, "CALLPULSE_WEBHOOK_TIMEOUT_SECONDS", 5.0),
            webhook_allow_networks=_networks(env, "CALLPULSE_WEBHOOK_ALLOW_NETWORKS"),
            max_attempts=_positive_int(env, "CALLPULSE_DELIVERY_MAX_ATTEMPTS", 6),
            retry_base_seconds=base,
            retry_max_seconds=most,
        )


@dataclass(frozen=True)
class Settings:
    """Everything the gateway reads from its environment."""

    database_url: str | None
    app_database_url: str | None
    app_role: str
    app_db_password: str | None
    data_dir: Path
    jwt_secret: str | None
    jwt_public_key: str | None
    jwt_issuer: str | None
    jwt_audience: str | None
    host: str
    port: int
    pool_min_size: int
    pool_max_size: int
    migrate_on_start: bool
    graphiql: bool
    log_level: str
    ingest_max_bytes: int
    ingest_max_events: int
    # Identity providers: keys from a JWKS URL (cached; refetched at most every refresh seconds when a token
    # names an unknown kid), and where the tenant and the roles sit in their tokens (gateway/auth.py: claim_at).
    jwt_jwks_url: str | None = None
    jwt_jwks_cache_seconds: int = 600
    jwt_jwks_refresh_seconds: int = 30
    jwt_jwks_timeout_seconds: float = 3.0
    jwt_tenant_claim: str = "tenant_id"
    jwt_roles_claim: str = "roles"
    # Browser origins besides the gateway's own that may call it (CORS) and open websockets to it.
    cors_origins: tuple[str, ...] = ()
    # How long a websocket may stay open without `connection_init` (then closed with 4408).
    ws_init_timeout_seconds: float = 10.0
    # `planned` (gateway/engine) or `graphql-core` (the reference executor) for every operation; in shadow mode
    # (the test suite) graphql-core also runs each operation and any difference is an error.
    executor: str = "planned"
    executor_shadow: bool = False
    # How long the live hub lets change signals gather before refreshing a group (a burst is one refresh).
    live_debounce_seconds: float = 0.05
    # What one operation may take (gateway/limits.py, gateway/cost.py): its estimated cost, its running time
    # (updateTenantSettings exempt), its document's tokens, and the bytes of a /graphql body or websocket message.
    query_cost_budget: int = DEFAULT_QUERY_COST_BUDGET
    operation_timeout_seconds: float = DEFAULT_OPERATION_TIMEOUT_SECONDS
    query_max_tokens: int = DEFAULT_QUERY_MAX_TOKENS
    graphql_max_bytes: int = DEFAULT_GRAPHQL_MAX_BYTES
    # Beyond this many rows a PDF export is refused (BAD_USER_INPUT, reason pdf_row_cap) and CSV suggested.
    report_pdf_max_rows: int = DEFAULT_REPORT_PDF_MAX_ROWS
    # Report jobs run by each `serve` process at once (0: none there, only `callpulse worker` runs them), how long
    # a claim holds without renewal, how often a run is tried, the back-off between tries, how often idle
    # workers look for work and schedulers for due slots, and how long a stopping worker lets its runs finish.
    report_workers: int = 1
    report_lease_seconds: float = DEFAULT_REPORT_LEASE_SECONDS
    report_max_attempts: int = DEFAULT_REPORT_MAX_ATTEMPTS
    report_retry_seconds: float = DEFAULT_REPORT_RETRY_SECONDS
    report_poll_seconds: float = DEFAULT_REPORT_POLL_SECONDS
    report_schedule_seconds: float = DEFAULT_REPORT_SCHEDULE_SECONDS
    report_stop_seconds: float = DEFAULT_REPORT_STOP_SECONDS
    # Report delivery: SMTP, webhooks, retries (DeliverySettings).
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

    @property
    def embedded(self) -> bool:
        """No DATABASE_URL: the gateway runs its own PostgreSQL under data_dir."""
        return self.database_url is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        pool_min = _int(env, "CALLPULSE_DB_POOL_MIN", 2)
        pool_max = _int(env, "CALLPULSE_DB_POOL_MAX", 10)
        if pool_min < 0 or pool_max < 1 or pool_min > pool_max:
            raise ConfigurationError("need 0 <= CALLPULSE_DB_POOL_MIN <= CALLPULSE_DB_POOL_MAX, and a max >= 1")
        ws_init_timeout = _float(env, "CALLPULSE_WS_INIT_TIMEOUT_SECONDS", 10.0)
        if not 0 < ws_init_timeout < float("inf"):
            raise ConfigurationError("CALLPULSE_WS_INIT_TIMEOUT_SECONDS must be a positive number of seconds")
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            app_database_url=env.get("CALLPULSE_APP_DATABASE_URL") or None,
            app_role=env.get("CALLPULSE_APP_ROLE") or DEFAULT_APP_ROLE,
            app_db_password=env.get("CALLPULSE_APP_DB_PASSWORD") or None,
            data_dir=Path(env.get("CALLPULSE_DATA_DIR") or ".callpulse").expanduser().resolve(),
            jwt_secret=env.get("CALLPULSE_JWT_SECRET") or None,
            jwt_public_key=_key(env, "CALLPULSE_JWT_PUBLIC_KEY"),
            jwt_issuer=env.get("CALLPULSE_JWT_ISSUER") or None,
            jwt_audience=env.get("CALLPULSE_JWT_AUDIENCE") or None,
            jwt_jwks_url=env.get("CALLPULSE_JWT_JWKS_URL") or None,
            jwt_jwks_cache_seconds=_int(env, "CALLPULSE_JWT_JWKS_CACHE_SECONDS", 600),
            jwt_jwks_refresh_seconds=_int(env, "CALLPULSE_JWT_JWKS_REFRESH_SECONDS", 30),
            jwt_jwks_timeout_seconds=_float(env, "CALLPULSE_JWT_JWKS_TIMEOUT_SECONDS", 3.0),
            jwt_tenant_claim=env.get("CALLPULSE_JWT_TENANT_CLAIM") or "tenant_id",
            jwt_roles_claim=env.get("CALLPULSE_JWT_ROLES_CLAIM") or "roles",
            host=env.get("CALLPULSE_HOST") or "127.0.0.1",
            port=_int(env, "CALLPULSE_PORT", 8000),
            pool_min_size=pool_min,
            pool_max_size=pool_max,
            migrate_on_start=_flag(env.get("CALLPULSE_MIGRATE_ON_START"), True),
            graphiql=_flag(env.get("CALLPULSE_GRAPHIQL"), True),
            log_level=(env.get("CALLPULSE_LOG_LEVEL") or "INFO").upper(),
            ingest_max_bytes=_int(env, "CALLPULSE_INGEST_MAX_BYTES", 5 * 1024 * 1024),
            ingest_max_events=_int(env, "CALLPULSE_INGEST_MAX_EVENTS", 5000),
            cors_origins=_origins(env, "CALLPULSE_CORS_ORIGINS"),
            ws_init_timeout_seconds=ws_init_timeout,
            executor=_choice(env, "CALLPULSE_EXECUTOR", ("planned", "graphql-core"), "planned"),
            executor_shadow=_flag(env.get("CALLPULSE_EXECUTOR_SHADOW"), False),
            live_debounce_seconds=_non_negative_int(env, "CALLPULSE_LIVE_DEBOUNCE_MS", 50) / 1000,
            query_cost_budget=_positive_int(env, "CALLPULSE_QUERY_COST_BUDGET", DEFAULT_QUERY_COST_BUDGET),
            operation_timeout_seconds=_positive_float(env, "CALLPULSE_OPERATION_TIMEOUT_SECONDS",
                                                      DEFAULT_OPERATION_TIMEOUT_SECONDS),
            query_max_tokens=_positive_int(env, "CALLPULSE_QUERY_MAX_TOKENS", DEFAULT_QUERY_MAX_TOKENS),
            graphql_max_bytes=_positive_int(env, "CALLPULSE_GRAPHQL_MAX_BYTES", DEFAULT_GRAPHQL_MAX_BYTES),
            report_pdf_max_rows=_positive_int(env, "CALLPULSE_REPORT_PDF_MAX_ROWS", DEFAULT_REPORT_PDF_MAX_ROWS),
            report_workers=_non_negative_int(env, "CALLPULSE_REPORT_WORKERS", 1),
            report_lease_seconds=_positive_float(env, "CALLPULSE_REPORT_LEASE_SECONDS", DEFAULT_REPORT_LEASE_SECONDS),
            report_max_attempts=_positive_int(env, "CALLPULSE_REPORT_MAX_ATTEMPTS", DEFAULT_REPORT_MAX_ATTEMPTS),
            report_retry_seconds=_positive_float(env, "CALLPULSE_REPORT_RETRY_SECONDS", DEFAULT_REPORT_RETRY_SECONDS),
            report_poll_seconds=_positive_float(env, "CALLPULSE_REPORT_POLL_SECONDS", DEFAULT_REPORT_POLL_SECONDS),
            report_schedule_seconds=_positive_float(env, "CALLPULSE_REPORT_SCHEDULE_SECONDS",
                                                    DEFAULT_REPORT_SCHEDULE_SECONDS),
            report_stop_seconds=_positive_float(env, "CALLPULSE_REPORT_STOP_SECONDS", DEFAULT_REPORT_STOP_SECONDS),
            delivery=DeliverySettings.from_env(env),
        )
