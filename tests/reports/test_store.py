"""Saved reports and executions on the request path: who sees a saved report, pages, deletes, tenant isolation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from gateway.db import TenantSession
from gateway.errors import BadUserInput
from gateway.reports import store
from gateway.reports.queue import Recipient, RecordedPrincipal
from gateway.reports.store import ReportDefinition, Viewer
from tests.reports.queue_support import (  # noqa: F401  (fixtures)
    QueueDatabase,
    add_tenant,
    qdb_fixture,
    queue_database_fixture,
    queue_pools_fixture,
)

NOW = datetime(2025, 6, 2, 9, tzinfo=UTC)
MANAGER = uuid.UUID("00000000-0000-0000-0000-00000000000a")
ANALYST = uuid.UUID("00000000-0000-0000-0000-00000000000b")


@pytest.fixture
async def session(qdb: QueueDatabase) -> AsyncIterator[TenantSession]:
    db = TenantSession(qdb.pools.app, qdb.tenant_id)
    yield db
    await db.close(commit=False)


async def save(db: TenantSession, name: str, creator: uuid.UUID, **definition: object) -> store.SavedReport:
    return await store.create_report(
        db, RecordedPrincipal(subject=str(creator), roles=("manager",), user_id=creator),
        ReportDefinition(name=name, report_type="call", **definition), NOW)  # type: ignore[arg-type]


async def test_a_saved_report_keeps_its_definition_and_creator(session: TenantSession) -> None:
    saved = await save(session, "Weekly calls", MANAGER, output_format="pdf", schedule_cron="0  8 * * 1",
                       delivery_mode="only_changed", recipients=(Recipient("email", "ana@example.com"),),
                       params={"range": {"preset": "LAST_WEEK"}}, shared_with_roles=("viewer",))
    found = await store.report_by_id(session, session.tenant_id, saved.id)
    assert found == saved
    assert found.definition.schedule_cron == "0 8 * * 1"
    assert (found.created_by.subject, found.created_by.user_id, found.created_at) == (str(MANAGER), MANAGER, NOW)


async def test_a_report_is_visible_to_its_creator_those_it_is_shared_with_and_admins(session: TenantSession) -> None:
    own = await save(session, "A own", MANAGER)
    to_user = await save(session, "B to the analyst", MANAGER, shared_with_users=(ANALYST,))
    to_viewers = await save(session, "C to viewers", MANAGER, shared_with_roles=("viewer",))
    viewers = {
        "creator": Viewer(subject=str(MANAGER), roles=frozenset({"manager"}), user_id=MANAGER),
        "analyst": Viewer(subject=str(ANALYST), roles=frozenset({"agent"}), user_id=ANALYST),
        "a viewer": Viewer(subject="someone", roles=frozenset({"viewer"})),
        "another manager": Viewer(subject="other", roles=frozenset({"manager"}), user_id=uuid.uuid4()),
        "an admin": Viewer(subject="boss", roles=frozenset({"admin"})),
    }
    seen = {who: [r.definition.name for r in await store.visible_reports(session, v, limit=10)]
            for who, v in viewers.items()}
    assert seen == {
        "creator": ["A own", "B to the analyst", "C to viewers"],
        "analyst": ["B to the analyst"],
        "a viewer": ["C to viewers"],
        "another manager": [],
        "an admin": ["A own", "B to the analyst", "C to viewers"],
    }
    for who, v in viewers.items():
        assert [store.can_see(r, v) for r in (own, to_user, to_viewers)] == [
            n in seen[who] for n in ("A own", "B to the analyst", "C to viewers")], who


async def test_saved_reports_page_by_name(session: TenantSession) -> None:
    for name in ("delta", "alpha", "charlie", "bravo"):
        await save(session, name, MANAGER)
    admin = Viewer(subject="boss", roles=frozenset({"admin"}))
    first = await store.visible_reports(session, admin, limit=3)
    last = first[-1]
    rest = await store.visible_reports(session, admin, limit=3, after=(last.definition.name, last.id))
    assert [r.definition.name for r in first + rest] == ["alpha", "bravo", "charlie", "delta"]


async def test_a_bad_definition_is_refused_before_anything_is_written(session: TenantSession) -> None:
    with pytest.raises(BadUserInput):
        await save(session, "x", MANAGER, schedule_cron="every monday")
    with pytest.raises(ValueError, match="output format"):
        await save(session, "x", MANAGER, output_format="xlsx")
    with pytest.raises(ValueError, match="share"):
        await save(session, "x", MANAGER, shared_with_roles=("service",))


async def test_executions_page_newest_first_and_go_with_their_deleted_report(qdb: QueueDatabase,
                                                                            session: TenantSession) -> None:
    report = await save(session, "Calls", MANAGER)
    await session.close(commit=True)
    ids = [await qdb.enqueue(report_id=report.id, now=NOW + timedelta(minutes=i)) for i in range(5)]
    db = TenantSession(qdb.pools.app, qdb.tenant_id)
    try:
        first = await store.executions(db, qdb.tenant_id, limit=3, report_id=report.id)
        rest = await store.executions(db, qdb.tenant_id, limit=3, report_id=report.id,
                                      before=(first[-1].created_at, first[-1].id))
        assert [e.id for e in first + rest] == ids[::-1]
        assert await store.delete_report(db, report.id)
        assert await store.executions(db, qdb.tenant_id, limit=10) == []
    finally:
        await db.close(commit=False)


async def test_another_tenant_sees_none_of_it(qdb: QueueDatabase, session: TenantSession) -> None:
    report = await save(session, "Calls", MANAGER)
    await session.close(commit=True)
    execution = await qdb.enqueue(report_id=report.id)
    other = await add_tenant(qdb.admin)
    db = TenantSession(qdb.pools.app, other)
    try:
        # even asking with the first tenant's id: row-level security answers for the session's tenant
        assert await store.report_by_id(db, qdb.tenant_id, report.id) is None
        assert await store.execution_by_id(db, qdb.tenant_id, execution) is None
        assert await store.visible_reports(db, Viewer("boss", frozenset({"admin"})), limit=10) == []
    finally:
        await db.close(commit=False)
