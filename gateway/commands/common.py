"""What several subcommands need: the database for the command's duration, migrations, signing tokens."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Final
from uuid import UUID

import asyncpg

from gateway import db as dbmod
from gateway.auth import mint_token, signing_secret
from gateway.migrations import migrate
from gateway.settings import Settings

DEFAULT_TTL_SECONDS: Final = 24 * 3600
# gateway.auth.dev_secret's file under the data folder: a new one is worth a warning (tests/test_cli.py).
DEV_SECRET_FILE: Final = "dev-jwt-secret"  # noqa: S105 - a file name, not a secret


@contextlib.contextmanager
def database_server(settings: Settings) -> Iterator[None]:
    """The embedded PostgreSQL for the command's duration when DATABASE_URL is unset; stopped after it."""
    if not settings.embedded:
        yield
        return
    with dbmod.embedded_postgres(settings.data_dir):
        yield


async def prepared_admin_dsn(settings: Settings) -> str:
    """The maintenance DSN, with migrations applied and the request role in place."""
    admin_dsn = await dbmod.resolve_admin_dsn(settings)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await migrate(conn)
        if settings.app_database_url is None:
            await dbmod.ensure_request_role(conn, settings.app_role, settings.app_db_password)
    finally:
        await conn.close()
    return admin_dsn


def announced_signing_secret(settings: Settings) -> str:
    """The secret tokens are signed with; a newly created development secret is announced on stderr."""
    path = settings.data_dir / DEV_SECRET_FILE
    existed = path.exists()
    secret = signing_secret(settings)
    if not existed and path.exists():
        print(f"callpulse: warning: created a new development signing secret in {path}; only a gateway using "
              f"the data folder {settings.data_dir} accepts the tokens it signs", file=sys.stderr)
    return secret


def mint(settings: Settings, secret: str, tenant_id: UUID, user_id: str, roles: list[str],
          ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
    """A token with this configuration's issuer and audience."""
    return mint_token(secret, tenant_id=tenant_id, user_id=user_id, roles=roles, ttl_seconds=ttl_seconds,
                      issuer=settings.jwt_issuer, audience=settings.jwt_audience)
