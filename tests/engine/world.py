"""A seeded database, who may ask it what, and one operation run in-process by either executor.

Each run is its own operation (`schema.execute`, its own transaction, its own loaders) on one connection of the
request role. Runs that are compared share an outer transaction and each runs under a savepoint that is rolled
back afterwards, so the second sees exactly the data the first saw (mutations included) and `now()` is the
same for both.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import asyncpg
from graphql import ExecutionResult, execute
from strawberry.extensions import SchemaExtension

from gateway import db as dbmod
from gateway.auth import Principal, Role
from gateway.context import Context
from gateway.ids import decode_id, encode_id
from gateway.loaders.widget import DayRange, WidgetConfig
from gateway.metrics import Metric, Scope
from gateway.reports import queue
from gateway.reports.handlers import Render
from gateway.reports.handlers import run as run_report_step
from gateway.reports.worker import DeliveryRequest, Handlers, SendOutcome, Worker
from gateway.schema import schema
from gateway.schema._execution import ScalarListExecutionContext
from gateway.seed import SeedOptions, seed_database
from gateway.settings import DEFAULT_APP_ROLE
from tests.engine.sameness import Outcome, assert_same

END: Final = date(2025, 3, 31)
DAYS: Final = 14
SEED: Final = SeedOptions(tenants=2, days=DAYS, agents=6, calls_per_day=40, seed=42, end_date=END)
FIRST_DAY: Final = END - timedelta(days=DAYS - 1)
REFERENCE: Final = "graphql-core"
PLANNED: Final = "planned"
# Custom metrics every generated operation may name (defined once, committed, before the tests).
CUSTOM_METRICS: Final = {"handled_share": "calls_handled / calls_total", "revenue_per_call": "revenue / calls_total"}
DEFINE_CUSTOM_METRIC: Final = """
mutation($name: String!, $formula: String!) { defineCustomMetric(name: $name, formula: $formula) { name } }
"""
CURSORS: Final = """
{ agents(first: 2) { pageInfo { endCursor } } campaigns(first: 2) { pageInfo { endCursor } }
  teams(first: 1) { pageInfo { endCursor } } calls(first: 2) { pageInfo { endCursor } }
  leads(first: 2) { pageInfo { endCursor } } tasks(first: 2) { pageInfo { endCursor } } }
"""
TENANTS: Final = "SELECT id FROM tenants ORDER BY name"
IDS: Final = {
    "Agent": "SELECT id FROM agents WHERE tenant_id = $1 ORDER BY id",
    "Team": "SELECT id FROM teams WHERE tenant_id = $1 ORDER BY id",
    "Campaign": "SELECT id FROM campaigns WHERE tenant_id = $1 ORDER BY id",
    "Lead": "SELECT id FROM leads WHERE tenant_id = $1 ORDER BY id",
    "Call": "SELECT id FROM calls WHERE tenant_id = $1 ORDER BY id LIMIT 12",
    "Task": "SELECT id FROM tasks WHERE tenant_id = $1 ORDER BY id",
    "User": "SELECT id FROM users WHERE tenant_id = $1 ORDER BY id",
}
USER_OF_ROLE: Final = """
SELECT u.id FROM users u
WHERE u.tenant_id = $1 AND u.role = $2
  AND ($2 <> 'manager' OR EXISTS (SELECT FROM team_managers m WHERE m.tenant_id = u.tenant_id AND m.user_id = u.id))
  AND ($2 <> 'agent' OR u.agent_id IS NOT NULL)
ORDER BY u.id LIMIT 1
"""
# One widget of the admin's, so that every field of Widget and of its data (a KPI's values) runs.
WIDGET: Final = """
INSERT INTO dashboard_widgets (tenant_id, id, user_id, widget_type, title, config)
VALUES ($1, $2, $3, 'kpi', 'Calls handled', $4::jsonb)
"""
WIDGET_CONFIG: Final = WidgetConfig(Scope.TENANT, None, DayRange(FIRST_DAY, END), metrics=(Metric.CALLS_HANDLED,),
                                    custom_metrics=("handled_share",))
WIDGET_IDS: Final = "SELECT id FROM dashboard_widgets WHERE tenant_id = $1 ORDER BY id"
EVENT_NAMES: Final = "SELECT DISTINCT name FROM analytics_events WHERE tenant_id = $1 ORDER BY name LIMIT 6"
# A short seed may award no badge in a tenant; every agent of ours gets one, so badges show up in every list.
AWARD_BADGES: Final = """
INSERT INTO agent_badges (tenant_id, agent_id, badge_id, awarded_at)
SELECT a.tenant_id, a.id, b.id, $2::timestamptz
FROM agents a JOIN LATERAL (SELECT id FROM badges b WHERE b.tenant_id = a.tenant_id ORDER BY b.id LIMIT 1) b ON true
WHERE a.tenant_id = $1
ON CONFLICT DO NOTHING
"""

# A saved report of the admin's, shared with managers and the agent, with two runs: one completed (rows, tables,
# figures, deliveries) and one failed, so that every field of Report, ReportExecution and what they hold runs.
CREATE_REPORT: Final = """
mutation($agentUser: ID!, $range: DateRange!) {
  createReport(input: {name: "Calls by agent", type: CALL, format: JSON, schedule: "0 8 * * 1",
    parameters: {range: $range, grouping: AGENT, metrics: [CALLS_TOTAL, CALLS_HANDLED, SERVICE_LEVEL],
                 customMetrics: ["handled_share"]},
    recipients: {emails: ["ops@example.com"], webhookUrls: ["https://hooks.example.com/engine/token"]},
    sharedWith: {roles: [MANAGER], userIds: [$agentUser]}}) { id }
}
"""
# A second one ranks agents (ReportRankBy).
CREATE_RANKING: Final = """
mutation($range: DateRange!) {
  createReport(input: {name: "Agents by CSAT", type: AGENT_PERFORMANCE, format: CSV,
    parameters: {range: $range, rankBy: {metric: CSAT}}}) { id }
}
"""
RUN_REPORT: Final = "mutation($id: ID!) { runReport(id: $id, deliver: true) { id } }"
REPORT_IDS: Final = "SELECT id FROM custom_reports WHERE tenant_id = $1 ORDER BY id"
EXECUTION_IDS: Final = "SELECT id FROM report_executions WHERE tenant_id = $1 ORDER BY id"


async def _accept(request: DeliveryRequest) -> SendOutcome:
    return SendOutcome.ok()


class _Nested:
    """Our connection as a TenantSession sees it: inside our transaction, the session's own transaction becomes a
    savepoint (its BEGIN, COMMIT and ROLLBACK are sent as SAVEPOINT, RELEASE and ROLLBACK TO)."""

    SAVEPOINT = "callpulse_session"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._nested = False

    async def execute(self, query: str, *args: Any) -> str:
        if query.startswith("BEGIN;"):
            self._nested = self._conn.is_in_transaction()
            if self._nested:
                query = f"SAVEPOINT {self.SAVEPOINT};" + query.removeprefix("BEGIN;")
        elif self._nested and query == dbmod.COMMIT:
            query = f"RELEASE SAVEPOINT {self.SAVEPOINT}"
        elif self._nested and query == dbmod.ROLLBACK:
            query = f"ROLLBACK TO SAVEPOINT {self.SAVEPOINT}; RELEASE SAVEPOINT {self.SAVEPOINT}"
        status: str = await self._conn.execute(query, *args)
        return status

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class OneConnection:
    """What TenantSession needs of a pool, always handing out the same connection (inside our transaction)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def acquire(self) -> Any:
        return _Nested(self.conn)

    async def release(self, conn: Any) -> None:
        return None


@dataclass
class RecordingContext(Context):
    """A Context that keeps the operation's result as the executor returned it, before error codes and masking."""

    raw: ExecutionResult | None = None
    # graphql-core without null propagation: every error where it happened (see tests/engine/sameness.py).
    without_propagation: bool = False


class WithoutPropagation(ScalarListExecutionContext):
    """graphql-core's executor with error propagation off: each error nulls only its own field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_propagation = False


class Recording(SchemaExtension):
    """Innermost extension: copies the executor's result into a RecordingContext before anything rewrites it,
    and runs graphql-core without propagation when the context asks for it."""

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        context = ec.context
        if isinstance(context, RecordingContext) and context.without_propagation and ec.graphql_document:
            outcome = execute(schema._schema, ec.graphql_document, root_value=ec.root_value, context_value=context,
                              variable_values=ec.variables, operation_name=ec.operation_name,
                              executor_class=WithoutPropagation)
            ec.result = await outcome if inspect.isawaitable(outcome) else outcome
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        result = self.execution_context.result
        if isinstance(context, RecordingContext) and result is not None:
            context.raw = ExecutionResult(result.data, list(result.errors) if result.errors else None)


@contextlib.contextmanager
def recording_raw_results() -> Iterator[None]:
    """Recording added to the schema's extensions for a while (the tests of this package)."""
    original = schema.extensions
    schema.extensions = (*original, Recording)
    try:
        yield
    finally:
        schema.extensions = original


@dataclass
class World:
    """The seeded tenant the operations ask about, the ids in it, and a connection of the request role."""

    conn: asyncpg.Connection
    tenant: uuid.UUID
    other_tenant: uuid.UUID
    ids: dict[str, list[str]]           # global ids by type, of the tenant
    foreign_ids: dict[str, list[str]]   # global ids by type, of the other tenant
    principals: dict[str, Principal]
    event_names: list[str]
    cursors: list[str] = field(default_factory=list)
    custom_metrics: list[str] = field(default_factory=lambda: sorted(CUSTOM_METRICS))

    async def run(self, principal: Principal, query: str, variables: dict[str, Any] | None, executor: str,
                  operation_name: str | None = None, without_propagation: bool = False) -> Outcome:
        """One operation, in-process, under a savepoint that is rolled back afterwards."""
        context = RecordingContext(pool=OneConnection(self.conn), request_id="engine-tests", principal=principal,
                                   executor=executor, without_propagation=without_propagation)
        savepoint = self.conn.transaction()
        await savepoint.start()
        try:
            final = await schema.execute(query, variable_values=variables, context_value=context,
                                         operation_name=operation_name)
        finally:
            await savepoint.rollback()
        assert context.raw is not None, (query, final.errors)
        return Outcome(context.raw, ExecutionResult(final.data, final.errors), query, operation_name)

    async def both(self, principal: Principal, query: str, variables: dict[str, Any] | None = None,
                   operation_name: str | None = None, races: bool = True) -> tuple[Outcome, Outcome]:
        """(reference, planned) on the same data; fails when they differ (see tests/engine/sameness.py; `races`
        False: not even where graphql-core could have answered either way)."""
        async with self.same_data():
            reference = await self.run(principal, query, variables, REFERENCE, operation_name)
            planned = await self.run(principal, query, variables, PLANNED, operation_name)

            async def every_error() -> Outcome:
                return await self.run(principal, query, variables, REFERENCE, operation_name, True)

            await assert_same(query, variables, planned, reference, every_error if races else None, operation_name)
        return reference, planned

    @contextlib.asynccontextmanager
    async def same_data(self) -> AsyncIterator[None]:
        """One outer transaction, rolled back: both runs see the same snapshot and the same now()."""
        outer = self.conn.transaction()
        await outer.start()
        try:
            yield
        finally:
            await outer.rollback()


def principals_of(tenant: uuid.UUID, users: dict[str, uuid.UUID]) -> dict[str, Principal]:
    """One principal per role: the seeded users of the human roles, and the platform's service token."""
    found = {role: Principal(str(users[role]), tenant, frozenset({Role(role)}))
             for role in ("admin", "manager", "agent", "viewer")}
    found["service"] = Principal("platform", tenant, frozenset({Role.SERVICE}))
    return found


async def build_world(admin_dsn: str) -> tuple[World, asyncpg.Pool]:
    """Seeds the database, defines the custom metrics and reads what operations will ask for."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        await seed_database(admin, SEED)
        tenant, other = [r["id"] for r in await admin.fetch(TENANTS)]
        await admin.execute(AWARD_BADGES, tenant, datetime(END.year, END.month, END.day, 9, tzinfo=UTC))
        ids = {kind: [encode_id(kind, r["id"]) for r in await admin.fetch(sql, tenant)] for kind, sql in IDS.items()}
        foreign = {kind: [encode_id(kind, r["id"]) for r in await admin.fetch(sql, other)][:2]
                   for kind, sql in IDS.items()}
        ids["Tenant"], foreign["Tenant"] = [encode_id("Tenant", tenant)], [encode_id("Tenant", other)]
        users = {role: await admin.fetchval(USER_OF_ROLE, tenant, role)
                 for role in ("admin", "manager", "agent", "viewer")}
        await admin.execute(WIDGET, tenant, uuid.UUID(int=1), users["admin"], json.dumps(WIDGET_CONFIG.to_json()))
        ids["Widget"] = [encode_id("Widget", r["id"]) for r in await admin.fetch(WIDGET_IDS, tenant)]
        foreign["Widget"] = []
        event_names = [r["name"] for r in await admin.fetch(EVENT_NAMES, tenant)]
    finally:
        await admin.close()
    pool = await dbmod.create_pool(dbmod.dsn_with(admin_dsn, user=DEFAULT_APP_ROLE), min_size=1, max_size=1)
    conn = await pool.acquire()
    world = World(conn=conn, tenant=tenant, other_tenant=other, ids=ids, foreign_ids=foreign,
                  principals=principals_of(tenant, users), event_names=event_names)
    admin_principal = world.principals["admin"]
    for name, formula in CUSTOM_METRICS.items():
        # Committed: the definitions are part of the seeded data every run sees.
        context = RecordingContext(pool=OneConnection(conn), request_id="engine-tests", principal=admin_principal)
        result = await schema.execute(DEFINE_CUSTOM_METRIC, variable_values={"name": name, "formula": formula},
                                      context_value=context)
        assert result.errors is None, result.errors
    await _add_reports(world, admin_dsn, users)
    reference, _ = await world.both(admin_principal, CURSORS)
    data = reference.final.data
    assert data is not None
    world.cursors = [page["pageInfo"]["endCursor"] for page in data.values() if page["pageInfo"]["endCursor"]]
    return world, pool


async def _add_reports(world: World, admin_dsn: str, users: dict[str, uuid.UUID]) -> None:
    """The saved report and its two runs (committed): the first run by a worker with the real report steps and a
    transport that accepts every send, the second failed as a client error fails a run."""
    admin_principal = world.principals["admin"]

    async def mutate(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        context = RecordingContext(pool=OneConnection(world.conn), request_id="engine-tests",
                                   principal=admin_principal)
        result = await schema.execute(query, variable_values=variables, context_value=context)
        assert result.errors is None, result.errors
        assert result.data is not None
        return result.data

    created = await mutate(CREATE_REPORT, {"agentUser": encode_id("User", users["agent"]),
                                           "range": {"from": FIRST_DAY.isoformat(), "to": END.isoformat()}})
    report_id = created["createReport"]["id"]
    await mutate(CREATE_RANKING, {"range": {"from": FIRST_DAY.isoformat(), "to": END.isoformat()}})
    for _ in range(2):
        await mutate(RUN_REPORT, {"id": report_id})
    admin = await dbmod.create_pool(admin_dsn, min_size=1, max_size=1)
    app = await dbmod.create_pool(dbmod.dsn_with(admin_dsn, user=DEFAULT_APP_ROLE), min_size=1, max_size=1)
    database = dbmod.Database(admin=admin, app=app)
    try:
        handlers = Handlers(run=run_report_step, render=Render(pdf_max_rows=1000), deliver=_accept)
        assert await Worker(database, handlers).run_once()
        async with admin.acquire() as conn:
            job = await queue.claim(conn, "engine-tests", queue.LeasePolicy())
            assert job is not None
            assert await queue.fail(conn, job, code="BAD_USER_INPUT", error="a failed run, for the tests",
                                    permanent=True, policy=queue.LeasePolicy()) is not None
            world.ids["Report"] = [encode_id("Report", r["id"]) for r in await conn.fetch(REPORT_IDS, world.tenant)]
            world.ids["ReportExecution"] = [encode_id("ReportExecution", r["id"])
                                            for r in await conn.fetch(EXECUTION_IDS, world.tenant)]
    finally:
        await database.close()
    world.foreign_ids["Report"] = world.foreign_ids["ReportExecution"] = []
    assert decode_id(report_id)[0] == "Report"
