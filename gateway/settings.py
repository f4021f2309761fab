"""Configuration from the environment; every variable is listed in the README with its default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.cors import parse_origin
from gateway.errors import ConfigurationError

DEFAULT_APP_ROLE = "callpulse_gateway"
# What one operation may take; README "Limits" explains each (gateway/limits.py, gateway/cost.py).
DEFAULT_QUERY_COST_BUDGET = 1_000_000
DEFAULT_OPERATION_TIMEOUT_SECONDS = 10.0
DEFAULT_QUERY_MAX_TOKENS = 5000
DEFAULT_GRAPHQL_MAX_BYTES = 2 * 1024 * 1024


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
    # What one operation may take (gateway/limits.py, gateway/cost.py): its estimated cost, its running time
    # (updateTenantSettings exempt), its document's tokens, and the bytes of a /graphql body or websocket message.
    query_cost_budget: int = DEFAULT_QUERY_COST_BUDGET
    operation_timeout_seconds: float = DEFAULT_OPERATION_TIMEOUT_SECONDS
    query_max_tokens: int = DEFAULT_QUERY_MAX_TOKENS
    graphql_max_bytes: int = DEFAULT_GRAPHQL_MAX_BYTES

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
            query_cost_budget=_positive_int(env, "CALLPULSE_QUERY_COST_BUDGET", DEFAULT_QUERY_COST_BUDGET),
            operation_timeout_seconds=_positive_float(env, "CALLPULSE_OPERATION_TIMEOUT_SECONDS",
                                                      DEFAULT_OPERATION_TIMEOUT_SECONDS),
            query_max_tokens=_positive_int(env, "CALLPULSE_QUERY_MAX_TOKENS", DEFAULT_QUERY_MAX_TOKENS),
            graphql_max_bytes=_positive_int(env, "CALLPULSE_GRAPHQL_MAX_BYTES", DEFAULT_GRAPHQL_MAX_BYTES),
        )
