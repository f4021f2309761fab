"""Configuration from the environment; every variable is listed in the README with its default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigurationError

DEFAULT_APP_ROLE = "callpulse_gateway"


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
            host=env.get("CALLPULSE_HOST") or "127.0.0.1",
            port=_int(env, "CALLPULSE_PORT", 8000),
            pool_min_size=pool_min,
            pool_max_size=pool_max,
            migrate_on_start=_flag(env.get("CALLPULSE_MIGRATE_ON_START"), True),
            graphiql=_flag(env.get("CALLPULSE_GRAPHIQL"), True),
            log_level=(env.get("CALLPULSE_LOG_LEVEL") or "INFO").upper(),
            ingest_max_bytes=_int(env, "CALLPULSE_INGEST_MAX_BYTES", 5 * 1024 * 1024),
            ingest_max_events=_int(env, "CALLPULSE_INGEST_MAX_EVENTS", 5000),
        )
