"""Applies the numbered plain-SQL files of db/migrations, once each, under an advisory lock."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import asyncpg

from gateway.db import Conn
from gateway.errors import MigrationChecksumError, MigrationError

log = logging.getLogger(__name__)

# Any 64-bit constant unique to CallPulse: replicas starting together queue on it instead of racing.
MIGRATION_LOCK_KEY: Final = 0x43_61_6C_6C_50_75_6C_73  # "CallPuls"

_FILE_NAME: Final = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

CREATE_LEDGER: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
LEDGER_EXISTS: Final = "SELECT to_regclass('public.schema_migrations') IS NOT NULL"
APPLIED: Final = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
RECORD: Final = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"
LOCK: Final = "SELECT pg_advisory_lock($1)"
UNLOCK: Final = "SELECT pg_advisory_unlock($1)"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[str]
    pending: list[str]

    @property
    def current(self) -> bool:
        return not self.pending


def migrations_dir() -> Path:
    """db/migrations of the source tree, or the copy packed into an installed wheel."""
    packaged = Path(__file__).parent / "_migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "db" / "migrations"


def load_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or migrations_dir()
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file name must look like 0001_some_name.sql: {path.name}")
        found.append(Migration(match["version"], match["name"], path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version number in {directory}")
    return found


async def _applied(conn: Conn) -> dict[str, tuple[str, str]]:
    if not await conn.fetchval(LEDGER_EXISTS):
        return {}
    return {r["version"]: (r["name"], r["checksum"]) for r in await conn.fetch(APPLIED)}


def _verify(applied: dict[str, tuple[str, str]], migrations: list[Migration]) -> list[Migration]:
    """The migrations still to apply, after checking that none of the applied ones was edited."""
    pending = []
    for m in migrations:
        if m.version in applied:
            name, checksum = applied[m.version]
            if checksum != m.checksum:
                raise MigrationChecksumError(m.version, name, checksum, m.checksum)
        else:
            pending.append(m)
    return pending


async def status(conn: Conn, directory: Path | None = None) -> MigrationStatus:
    """What is applied and what is pending, without changing anything."""
    migrations = load_migrations(directory)
    applied = await _applied(conn)
    pending = _verify(applied, migrations)
    return MigrationStatus(applied=sorted(applied), pending=[m.version for m in pending])


async def migrate(conn: Conn, directory: Path | None = None) -> list[str]:
    """Applies pending migrations, each in its own transaction; returns the versions applied."""
    migrations = load_migrations(directory)
    await conn.execute(LOCK, MIGRATION_LOCK_KEY)
    try:
        await conn.execute(CREATE_LEDGER)
        pending = _verify(await _applied(conn), migrations)
        done = []
        for m in pending:
            log.info("applying migration %s_%s", m.version, m.name)
            async with conn.transaction():
                try:
                    await conn.execute(m.sql)
                except asyncpg.PostgresError as e:
                    raise MigrationError(f"migration {m.version}_{m.name} failed: {e}") from e
                await conn.execute(RECORD, m.version, m.name, m.checksum)
            done.append(m.version)
        return done
    finally:
        await conn.execute(UNLOCK, MIGRATION_LOCK_KEY)
