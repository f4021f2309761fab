"""What the report HTTP tests share: one gateway per module on the hand-built floor, tokens per role, runs.

The gateway runs its own report worker (polling every 50 ms), so a POST /api/v1/analytics/reports is run for
real; its PDF row cap is 8, which the floor's 9 calls of the week exceed as call detail.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

import asyncpg
import httpx
import pytest
import uvicorn

from gateway import clock
from gateway.app import create_app
from gateway.auth import mint_token
from gateway.db import TenantSession
from gateway.reports import store
from gateway.reports.queue import RecordedPrincipal
from gateway.reports.store import ReportDefinition, SavedReport
from tests.conftest import TEST_JWT_SECRET, TestDatabase, free_port, settings_for
from tests.reports.conftest import Floor

WEEK: Final = {"range": {"from": "2026-03-02", "to": "2026-03-08"}}
PDF_MAX_ROWS: Final = 8
ROLES: Final = {"admin": "admin", "viewer": "viewer", "manager": "manager", "agent": "agent"}


@dataclass
class Http:
    """The module's gateway, an HTTP client on it, and the floor it serves."""

    url: str
    client: httpx.AsyncClient
    floor: Floor
    database: TestDatabase
    app_pool: asyncpg.Pool

    def subject(self, who: str) -> UUID:
        return {"admin": self.floor.admin, "viewer": self.floor.viewer, "manager": self.floor.mia,
                "agent": self.floor.ann_user}[who]

    def token(self, who: str = "admin", *, tenant: UUID | None = None, subject: str | None = None) -> str:
        """A JWT of the floor's `who` (admin, viewer, manager, agent) or of the platform (`service`)."""
        if who == "service":
            return mint_token(TEST_JWT_SECRET, tenant_id=tenant or self.floor.tenant, user_id="platform",
                              roles=["service"])
        return mint_token(TEST_JWT_SECRET, tenant_id=tenant or self.floor.tenant,
                          user_id=subject or str(self.subject(who)), roles=[ROLES[who]])

    def auth(self, who: str = "admin", **token: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who, **token)}"}

    async def generate(self, body: dict[str, Any], who: str = "admin") -> dict[str, Any]:
        response = await self.client.post("/api/v1/analytics/reports", json=body, headers=self.auth(who))
        assert response.status_code == 202, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def finished(self, execution_id: str, who: str = "admin") -> dict[str, Any]:
        """The execution once the gateway's worker has ended it."""
        for _ in range(600):
            response = await self.client.get(f"/api/v1/analytics/executions/{execution_id}", headers=self.auth(who))
            assert response.status_code == 200, response.text
            answer: dict[str, Any] = response.json()
            if answer["status"] in ("COMPLETED", "FAILED"):
                return answer
            await asyncio.sleep(0.05)
        raise AssertionError(f"execution {execution_id} never ended")

    async def run(self, body: dict[str, Any], who: str = "admin") -> dict[str, Any]:
        """Generates a report and waits for it; it must complete."""
        done = await self.finished(str((await self.generate(body, who))["id"]), who)
        assert done["status"] == "COMPLETED", done
        return done

    async def sql(self, query: str, *args: object) -> Any:
        """One value read on the maintenance path (RLS bypassed)."""
        conn = await asyncpg.connect(self.database.admin_dsn)
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    async def save(self, definition: ReportDefinition, who: str = "admin", user: UUID | None = None) -> SavedReport:
        """A saved report created by the floor's `who` (or by directory `user` in that role), as the GraphQL
        CRUD would create it."""
        db = TenantSession(self.app_pool, self.floor.tenant)
        creator_id = user or self.subject(who)
        try:
            creator = RecordedPrincipal(subject=str(creator_id), roles=(ROLES[who],), user_id=creator_id)
            saved = await store.create_report(db, creator, definition, clock.now())
        finally:
            await db.close(commit=True)
        return saved


def agent_week(name: str = "Agents", **extra: Any) -> ReportDefinition:
    return ReportDefinition(name=name, report_type="agent_performance", output_format="csv", params=WEEK, **extra)


@pytest.fixture(scope="module", name="http")
async def http_fixture(report_database: TestDatabase, floor: Floor, app_pool: asyncpg.Pool) -> AsyncIterator[Http]:
    settings = settings_for(report_database, CALLPULSE_REPORT_POLL_SECONDS="0.05",
                            CALLPULSE_REPORT_RETRY_SECONDS="0.05", CALLPULSE_REPORT_PDF_MAX_ROWS=str(PDF_MAX_ROWS))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None,
                                           ws="websockets-sansio", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the gateway exited during start-up")
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            yield Http(url=url, client=client, floor=floor, database=report_database, app_pool=app_pool)
    finally:
        server.should_exit = True
        await task


def other_tenant() -> UUID:
    """A tenant of nobody's rows: its admin reads nothing of the floor's."""
    return uuid.uuid4()
