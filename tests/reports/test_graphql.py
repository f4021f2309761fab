"""Saved reports and executions over real HTTP: CRUD, validation that names the field and writes nothing, who
creates, sees and edits, runReport through a real worker to rows read back through GraphQL, and outputs only for
readers whose scope covers the principal a run read as.

The floor is the hand-built Berlin week of tests/reports/conftest.py (Mia manages Red: Ann and Ben; Blue is Cat
and Dex), plus Mo, who manages Blue, and Max, who manages both.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from graphql import parse

from gateway import db as dbmod
from gateway.cost import operation_cost
from gateway.ids import decode_id, encode_id
from gateway.reports.handlers import real_handlers
from gateway.reports.queue import LeasePolicy
from gateway.reports.worker import Worker, WorkerOptions
from gateway.schema import schema
from tests.conftest import GatewayFactory, LiveGateway, TestDatabase, settings_for
from tests.factories import make_user
from tests.reports.conftest import TIMEZONE, Floor
from tests.reports.queue_support import QUEUE_TABLES
from tests.resolvers.test_agents import graphql

WEEK: Final = {"from": "2026-03-02", "to": "2026-03-08"}
BERLIN: Final = ZoneInfo(TIMEZONE)
HOOK: Final = "http://127.0.0.1:9/hooks/s3cr3t-token"
REPORT_FIELDS: Final = """
fragment R on Report {
  id name description type format deliveryMode canEdit createdAt updatedAt
  parameters { range { from to preset } teamIds campaignIds agentIds grouping metrics customMetrics
               rankBy { metric customMetric } }
  schedule { cron timezone nextRunAt }
  recipients { emails webhookUrls }
  sharedWith { roles users { displayName } }
  createdBy { subject roles user { displayName } }
}
"""
EXECUTION_FIELDS: Final = """
fragment E on ReportExecution {
  id type format status attempt error { code message } canReadOutputs title rowCount downloadUrl
  requestedBy { subject roles } createdAt startedAt finishedAt scheduledFor report { id }
  parameters { range { from to } grouping metrics }
  columns { key title kind }
  summary { label value kind }
  rows(first: 10) { totalCount edges { node { index values } } }
  deliveries { recipient channel status attempts lastError }
}
"""
CREATE: Final = "mutation($input: CreateReportInput!) { createReport(input: $input) { ...R } }" + REPORT_FIELDS
UPDATE: Final = ("mutation($id: ID!, $input: UpdateReportInput!) { updateReport(id: $id, input: $input) { ...R } }"
                 + REPORT_FIELDS)
DELETE: Final = "mutation($id: ID!) { deleteReport(id: $id) }"
REPORT: Final = "query($id: ID!) { report(id: $id) { ...R } }" + REPORT_FIELDS
NODE: Final = "query($id: ID!) { node(id: $id) { id ... on Report { name } ... on ReportExecution { status } } }"
REPORTS: Final = "{ reports(first: 50) { totalCount edges { node { name canEdit } } } }"
RUN: Final = ("mutation($id: ID!, $deliver: Boolean) { runReport(id: $id, deliver: $deliver) { ...E } }"
              + EXECUTION_FIELDS)
RUN_DEFINITION: Final = ("mutation($input: RunReportDefinitionInput!) { runReportDefinition(input: $input) { ...E } }"
                         + EXECUTION_FIELDS)
EXECUTION: Final = "query($id: ID!) { node(id: $id) { ...E } }" + EXECUTION_FIELDS
OUTPUTS: Final = """
query($id: ID!) { node(id: $id) { ... on ReportExecution { status canReadOutputs summary { label } } } }
"""
EXECUTIONS: Final = """
query($reportId: ID, $status: ReportExecutionStatus) {
  reportExecutions(first: 20, reportId: $reportId, status: $status) { totalCount edges { node { id status } } }
}
"""
LATEST: Final = """
query($id: ID!) {
  report(id: $id) { latestExecution { id status } executions(first: 5) { totalCount edges { node { id } } } }
}
"""
ROWS_PAGE: Final = """
query($id: ID!, $after: String) {
  node(id: $id) { ... on ReportExecution { rows(first: 1, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { index values } } } } }
}
"""
COUNT_REPORTS: Final = "SELECT count(*) FROM custom_reports"
OPTIONS: Final = WorkerOptions(policy=LeasePolicy(lease=timedelta(seconds=30), max_attempts=2,
                                                  retry=timedelta(milliseconds=10)),
                               poll=timedelta(milliseconds=50), schedule=timedelta(seconds=60))


@dataclass(frozen=True)
class People:
    """Who asks: the floor's users, Mo (manager of Blue) and Max (manager of Red and Blue)."""

    floor: Floor
    mo: uuid.UUID
    max: uuid.UUID
    other_tenant: uuid.UUID

    def roles(self) -> dict[str, tuple[uuid.UUID, str]]:
        f = self.floor
        return {"admin": (f.admin, "admin"), "viewer": (f.viewer, "viewer"), "mia": (f.mia, "manager"),
                "ann": (f.ann_user, "agent"), "mo": (self.mo, "manager"), "max": (self.max, "manager")}


@pytest.fixture(scope="module")
async def people(report_database: TestDatabase, floor: Floor) -> People:
    conn = await asyncpg.connect(report_database.admin_dsn)
    try:
        mo = await make_user(conn, floor.tenant, "mo@reports.test", "manager")
        most = await make_user(conn, floor.tenant, "max@reports.test", "manager")
        await conn.execute("INSERT INTO team_managers (tenant_id, team_id, user_id) VALUES ($1, $2, $3), "
                           "($1, $2, $4), ($1, $5, $4)", floor.tenant, floor.blue, mo, most, floor.red)
        other = await conn.fetchval("SELECT id FROM tenants WHERE name = 'Elsewhere'")
    finally:
        await conn.close()
    return People(floor=floor, mo=mo, max=most, other_tenant=other)


@pytest.fixture(scope="module")
async def pools(report_database: TestDatabase) -> AsyncIterator[dbmod.Database]:
    admin = await dbmod.create_pool(report_database.admin_dsn, min_size=1, max_size=2)
    app = await dbmod.create_pool(report_database.app_dsn, min_size=1, max_size=2)
    database = dbmod.Database(admin=admin, app=app)
    yield database
    await database.close()


@pytest.fixture
async def gateway(report_database: TestDatabase, gateway_factory: GatewayFactory,
                  pools: dbmod.Database) -> AsyncIterator[LiveGateway]:
    """A gateway that runs no report worker itself (the tests run one when they want), reports emptied after."""
    yield await gateway_factory(report_database, CALLPULSE_REPORT_WORKERS="0",
                                CALLPULSE_WEBHOOK_ALLOW_NETWORKS="127.0.0.1/32")
    await pools.admin.execute(f"TRUNCATE {QUEUE_TABLES} CASCADE")


class Client:
    """GraphQL over HTTP as one of the people."""

    def __init__(self, gateway: LiveGateway, people: People) -> None:
        self.gateway = gateway
        self.people = people

    def token(self, who: str) -> str:
        user, role = self.people.roles()[who]
        return self.gateway.token(self.people.floor.tenant, str(user), roles=(role,))

    async def ask(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        return await graphql(self.gateway, self.token(who), query, **variables)

    async def data(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.ask(who, query, **variables)
        assert "errors" not in body, body["errors"]
        found: dict[str, Any] = body["data"]
        return found


@pytest.fixture
def client(gateway: LiveGateway, people: People) -> Client:
    return Client(gateway, people)


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    first: dict[str, Any] = body["errors"][0]
    return first


def call_report(name: str = "Red calls", **changes: Any) -> dict[str, Any]:
    return {"name": name, "type": "CALL", "format": "CSV",
            "parameters": {"range": WEEK, "grouping": "AGENT", "metrics": ["CALLS_TOTAL", "CALLS_HANDLED"]},
            **changes}


async def create(client: Client, who: str, report: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = (await client.data(who, CREATE, input=report))["createReport"]
    return created


async def run_worker(settings_database: TestDatabase, pools: dbmod.Database) -> None:
    """One execution, run by a worker in this process with the gateway's real steps."""
    handlers = real_handlers(settings_for(settings_database))
    try:
        assert await Worker(pools, handlers, OPTIONS, name="test-graphql").run_once()
    finally:
        assert handlers.close is not None
        await handlers.close()


def next_monday_eight(after: datetime) -> datetime:
    local = after.astimezone(BERLIN)
    for n in range(8):
        day = local.date() + timedelta(days=n)
        slot = datetime(day.year, day.month, day.day, 8, tzinfo=BERLIN)
        if day.weekday() == 0 and slot > after:
            return slot
    raise AssertionError("no Monday in a week")


# -- CRUD ----------------------------------------------------------------------------------------------------------

async def test_a_report_round_trips_through_create_read_list_node_update_and_delete(
        client: Client, people: People) -> None:
    # given
    floor = people.floor
    red = encode_id("Team", floor.red)
    before = datetime.now(BERLIN)
    # when
    created = await create(client, "mia", call_report(
        description="Mondays for the Red team", schedule=" 0  8 * * 1 ", deliveryMode="ONLY_WITH_ROWS",
        parameters={"range": WEEK, "teamIds": [red], "grouping": "AGENT", "metrics": ["CALLS_TOTAL"]},
        recipients={"emails": ["ops@Example.COM", "ops@example.com"], "webhookUrls": [HOOK]},
        sharedWith={"roles": ["VIEWER"], "userIds": [encode_id("User", floor.ann_user)]}))
    # then
    next_run = datetime.fromisoformat(created["schedule"].pop("nextRunAt"))
    assert next_run == next_monday_eight(before)
    assert {k: v for k, v in created.items() if k not in ("id", "createdAt", "updatedAt")} == {
        "name": "Red calls", "description": "Mondays for the Red team", "type": "CALL", "format": "CSV",
        "deliveryMode": "ONLY_WITH_ROWS", "canEdit": True,
        "parameters": {"range": {"from": "2026-03-02", "to": "2026-03-08", "preset": None}, "teamIds": [red],
                       "campaignIds": [], "agentIds": [], "grouping": "AGENT", "metrics": ["CALLS_TOTAL"],
                       "customMetrics": [], "rankBy": None},
        "schedule": {"cron": "0 8 * * 1", "timezone": TIMEZONE},
        # the domain lower-cased, so the second address is the first; the URL whole, for the creator
        "recipients": {"emails": ["ops@example.com"], "webhookUrls": [HOOK]},
        # a manager reads only its own directory entry
        "sharedWith": {"roles": ["VIEWER"], "users": []},
        "createdBy": {"subject": str(floor.mia), "roles": ["MANAGER"], "user": {"displayName": "Mia"}},
    }
    assert created["createdAt"] == created["updatedAt"]
    assert (await client.data("mia", REPORT, id=created["id"]))["report"] == {**created, "schedule": {
        **created["schedule"], "nextRunAt": next_run.isoformat()}}
    assert (await client.data("mia", REPORTS))["reports"] == {
        "totalCount": 1, "edges": [{"node": {"name": "Red calls", "canEdit": True}}]}
    assert (await client.data("mia", NODE, id=created["id"]))["node"] == {"id": created["id"], "name": "Red calls"}

    # when: a partial update keeps what it does not name; `schedule: null` removes the schedule
    updated = (await client.data("mia", UPDATE, id=created["id"], input={
        "name": "Red calls, weekly", "format": "JSON", "schedule": None}))["updateReport"]
    # then
    assert (updated["name"], updated["format"], updated["schedule"]) == ("Red calls, weekly", "JSON", None)
    assert {k: v for k, v in updated.items() if k not in ("name", "format", "schedule", "updatedAt")} == {
        k: v for k, v in created.items() if k not in ("name", "format", "schedule", "updatedAt")}
    assert updated["createdAt"] == created["createdAt"]
    assert updated["updatedAt"] > created["updatedAt"]

    # when
    deleted = await client.data("mia", DELETE, id=created["id"])
    # then
    assert deleted == {"deleteReport": True}
    assert error_of(await client.ask("mia", REPORT, id=created["id"]))["extensions"]["code"] == "NOT_FOUND"
    assert error_of(await client.ask("mia", DELETE, id=created["id"]))["extensions"]["code"] == "NOT_FOUND"
    assert (await client.data("mia", REPORTS))["reports"]["totalCount"] == 0


async def test_the_format_defaults_to_the_tenants_default_export_format(
        client: Client, people: People, pools: dbmod.Database) -> None:
    settings = 'mutation { updateTenantSettings(settings: {defaultExportFormat: PDF}) { tenant { id } } }'
    await client.data("admin", settings)
    try:
        report = call_report()
        del report["format"]
        created = await create(client, "mia", report)
        assert created["format"] == "PDF"
    finally:
        await pools.admin.execute("UPDATE tenants SET default_export_format = 'json' WHERE id = $1",
                                  people.floor.tenant)


@pytest.mark.parametrize(("changes", "argument"), [
    ({"name": "   "}, "input.name"),
    ({"description": "d" * 2001}, "input.description"),
    ({"parameters": {"range": {"from": "2026-03-08", "to": "2026-03-02"}}}, "input.parameters.range"),
    ({"parameters": {"range": {"preset": "LAST_WEEK", "from": "2026-03-02"}}}, "input.parameters.range"),
    ({"type": "LEAD", "parameters": {"range": WEEK, "metrics": ["CALLS_TOTAL"]}}, "input.parameters.metrics"),
    ({"type": "CAMPAIGN", "parameters": {"range": WEEK, "grouping": "HOUR"}}, "input.parameters.grouping"),
    ({"type": "CAMPAIGN", "parameters": {"range": WEEK, "teamIds": ["{red}"]}}, "input.parameters.teamIds"),
    ({"parameters": {"range": WEEK, "teamIds": ["{ann}"]}}, "input.parameters.teamIds"),
    ({"parameters": {"range": WEEK, "teamIds": ["{nobody}"]}}, "input.parameters.teamIds.0"),
    ({"parameters": {"range": WEEK, "campaignIds": ["{spring}", "{nobody}"]}}, "input.parameters.campaignIds.1"),
    ({"parameters": {"range": WEEK, "customMetrics": ["no_such_metric"]}}, "input.parameters.customMetrics.0"),
    ({"type": "AGENT_PERFORMANCE", "parameters": {"range": WEEK, "rankBy": {"metric": "CSAT",
                                                                             "customMetric": "x"}}},
     "input.parameters.rankBy"),
    ({"schedule": "every monday"}, "input.schedule"),
    ({"schedule": "0 8 * *"}, "input.schedule"),
    ({"type": "CALL_DETAIL", "format": "PDF", "parameters": {"range": WEEK}}, "input.format"),
    ({"recipients": {"emails": ["ops@example.com", "not an address"]}}, "input.recipients.emails.1"),
    ({"recipients": {"webhookUrls": ["ftp://hooks.example.com/x"]}}, "input.recipients.webhookUrls.0"),
    ({"recipients": {"webhookUrls": ["http://10.0.0.5/hook"]}}, "input.recipients.webhookUrls.0"),
    ({"recipients": {"webhookUrls": ["http://169.254.169.254/latest"]}}, "input.recipients.webhookUrls.0"),
    ({"recipients": {"emails": [f"ops{n}@example.com" for n in range(51)]}}, "input.recipients"),
    ({"sharedWith": {"roles": ["SERVICE"]}}, "input.sharedWith.roles"),
    ({"sharedWith": {"userIds": ["{nobody_user}"]}}, "input.sharedWith.userIds.0"),
    ({"sharedWith": {"userIds": ["{ann}"]}}, "input.sharedWith.userIds.0"),
])
async def test_a_bad_report_is_bad_user_input_naming_the_field_and_writes_nothing(
        client: Client, people: People, pools: dbmod.Database, changes: dict[str, Any], argument: str) -> None:
    # given
    floor = people.floor
    ids = {"red": encode_id("Team", floor.red), "ann": encode_id("Agent", floor.ann),
           "nobody": encode_id("Team", uuid.UUID(int=7)), "spring": encode_id("Campaign", floor.spring),
           "nobody_user": encode_id("User", uuid.UUID(int=7))}
    text = json.dumps(call_report(**changes))
    for name, value in ids.items():
        text = text.replace("{" + name + "}", value)
    if "campaignIds" in text:
        text = text.replace(ids["nobody"], encode_id("Campaign", uuid.UUID(int=7)))
    # when
    error = error_of(await client.ask("admin", CREATE, input=json.loads(text)))
    # then
    assert (error["extensions"]["code"], error["extensions"]["argument"]) == ("BAD_USER_INPUT", argument), error
    assert await pools.admin.fetchval(COUNT_REPORTS) == 0


async def test_a_bad_update_names_the_field_and_leaves_the_report_as_it_was(client: Client) -> None:
    created = await create(client, "mia", call_report())
    for changes, argument in [({"schedule": "61 * * * *"}, "input.schedule"),
                              # the kept parameters (grouping AGENT, call metrics) do not suit a LEAD report
                              ({"type": "LEAD"}, "input.parameters.metrics"),
                              ({"recipients": {"webhookUrls": ["http://[::1]/hook"]}},
                               "input.recipients.webhookUrls.0")]:
        error = error_of(await client.ask("mia", UPDATE, id=created["id"], input=changes))
        assert error["extensions"]["argument"] == argument, error
    assert (await client.data("mia", REPORT, id=created["id"]))["report"] == created


# -- roles and visibility ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["ann", "viewer"])
async def test_agents_and_viewers_cannot_create_reports_or_run_definitions(
        client: Client, pools: dbmod.Database, who: str) -> None:
    created = error_of(await client.ask(who, CREATE, input=call_report()))
    assert created["extensions"]["code"] == "FORBIDDEN"
    run = error_of(await client.ask(who, RUN_DEFINITION, input={"type": "CALL", "parameters": {"range": WEEK}}))
    assert run["extensions"]["code"] == "FORBIDDEN"
    assert await pools.admin.fetchval(COUNT_REPORTS) == 0
    assert await pools.admin.fetchval("SELECT count(*) FROM report_executions") == 0


async def test_a_report_is_visible_to_its_creator_the_users_and_roles_it_is_shared_with_and_admins(
        client: Client, people: People) -> None:
    # given: A shared with Ann and with viewers, B with nobody, C (Mo's) with managers
    floor = people.floor
    shared = await create(client, "mia", call_report("A", sharedWith={
        "userIds": [encode_id("User", floor.ann_user)], "roles": ["VIEWER"]}))
    private = await create(client, "mia", call_report("B"))
    managers = await create(client, "mo", call_report("C", parameters={"range": WEEK}, sharedWith={
        "roles": ["MANAGER"]}))
    # then
    seen = {who: [(e["node"]["name"], e["node"]["canEdit"])
                  for e in (await client.data(who, REPORTS))["reports"]["edges"]]
            for who in ("admin", "mia", "ann", "viewer", "mo", "max")}
    assert seen == {"admin": [("A", True), ("B", True), ("C", True)], "mia": [("A", True), ("B", True), ("C", False)],
                    "ann": [("A", False)], "viewer": [("A", False)], "mo": [("C", True)], "max": [("C", False)]}
    # a report you do not see is null through node and NOT_FOUND by id, for every write too
    assert (await client.data("ann", NODE, id=private["id"]))["node"] is None
    for query, variables in [(REPORT, {}), (UPDATE, {"input": {"name": "mine"}}), (DELETE, {}), (RUN, {})]:
        body = await client.ask("mo", query, id=private["id"], **variables)
        assert error_of(body)["extensions"]["code"] == "NOT_FOUND", query
    # seeing a report is not editing it: Mia sees C (her role) but did not create it
    writes: list[tuple[str, dict[str, Any]]] = [(UPDATE, {"input": {"name": "mine"}}), (DELETE, {}),
                                                (RUN, {"deliver": True})]
    for query, variables in writes:
        body = await client.ask("mia", query, id=managers["id"], **variables)
        assert error_of(body)["extensions"]["code"] == "FORBIDDEN", query
    # an agent it is shared with reads it, and may not write at all
    assert (await client.data("ann", REPORT, id=shared["id"]))["report"]["name"] == "A"
    assert error_of(await client.ask("ann", UPDATE, id=shared["id"], input={"name": "x"}))["extensions"][
        "code"] == "FORBIDDEN"
    # those who may not edit see where a webhook goes, not its path
    hooked = await create(client, "mo", call_report("D", parameters={"range": WEEK}, sharedWith={
        "roles": ["MANAGER"]}, recipients={"webhookUrls": [HOOK]}))
    assert (await client.data("max", REPORT, id=hooked["id"]))["report"]["recipients"]["webhookUrls"] == [
        "http://127.0.0.1:9/…"]
    assert (await client.data("admin", REPORT, id=hooked["id"]))["report"]["recipients"]["webhookUrls"] == [HOOK]


async def test_another_tenants_report_is_not_found(client: Client, people: People, gateway: LiveGateway) -> None:
    # given: a report of the other tenant
    stranger = gateway.token(people.other_tenant, str(uuid.uuid4()), roles=("admin",))
    body = await graphql(gateway, stranger, CREATE, input=call_report("Theirs", parameters={"range": WEEK}))
    theirs = body["data"]["createReport"]["id"]
    # then: our admin finds nothing by that id
    assert (await client.data("admin", NODE, id=theirs))["node"] is None
    for query, variables in [(REPORT, {}), (UPDATE, {"input": {"name": "ours"}}), (DELETE, {}), (RUN, {})]:
        assert error_of(await client.ask("admin", query, id=theirs, **variables))["extensions"]["code"] == \
            "NOT_FOUND", query
    assert error_of(await client.ask("admin", EXECUTIONS, reportId=theirs))["extensions"] == {
        "code": "NOT_FOUND", "argument": "reportId"}
    assert (await client.data("admin", REPORTS))["reports"]["totalCount"] == 0


# -- running -------------------------------------------------------------------------------------------------------

@pytest.fixture
async def notifications(pools: dbmod.Database) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    """What the queue announces on callpulse_reports, as the live hub will hear it."""
    found: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    async with pools.admin.acquire() as conn:
        def heard(_conn: object, _pid: int, _channel: str, payload: object) -> None:
            found.put_nowait(json.loads(str(payload)))

        await conn.add_listener("callpulse_reports", heard)
        try:
            yield found
        finally:
            await conn.remove_listener("callpulse_reports", heard)


async def next_notification(found: asyncio.Queue[dict[str, Any]]) -> dict[str, Any]:
    return await asyncio.wait_for(found.get(), 30)


async def test_run_report_enqueues_a_pending_execution_that_a_worker_completes_and_graphql_reads_its_rows(
        client: Client, people: People, report_database: TestDatabase, pools: dbmod.Database,
        notifications: asyncio.Queue[dict[str, Any]]) -> None:
    # given: Mia's report of her teams' calls by agent
    floor = people.floor
    report = await create(client, "mia", call_report())
    # when
    pending = (await client.data("mia", RUN, id=report["id"]))["runReport"]
    # then: pending, nothing to read yet, announced at the commit
    execution_key = decode_id(pending["id"])[1]
    assert {k: pending[k] for k in ("type", "format", "status", "attempt", "error", "canReadOutputs", "title",
                                    "rowCount", "downloadUrl", "columns", "summary", "rows", "deliveries",
                                    "requestedBy", "report", "scheduledFor", "startedAt", "finishedAt")} == {
        "type": "CALL", "format": "CSV", "status": "PENDING", "attempt": 0, "error": None, "canReadOutputs": True,
        "title": None, "rowCount": None, "downloadUrl": None, "columns": None, "summary": None, "rows": None,
        "deliveries": [], "requestedBy": {"subject": str(floor.mia), "roles": ["MANAGER"]},
        "report": {"id": report["id"]}, "scheduledFor": None, "startedAt": None, "finishedAt": None}
    assert pending["parameters"] == {"range": WEEK, "grouping": "AGENT", "metrics": ["CALLS_TOTAL", "CALLS_HANDLED"]}
    assert await next_notification(notifications) == {
        "tenant": str(floor.tenant), "execution": str(execution_key), "status": "pending", "attempt": 0}

    # when: a worker runs it
    await run_worker(report_database, pools)
    # then: every transition was announced, and the result reads back through GraphQL
    assert [(await next_notification(notifications))["status"] for _ in range(2)] == ["processing", "completed"]
    done = (await client.data("mia", EXECUTION, id=pending["id"]))["node"]
    assert (done["status"], done["attempt"], done["error"], done["title"], done["rowCount"]) == (
        "COMPLETED", 1, None, "Call analysis", 2)
    assert done["downloadUrl"] == f"/api/v1/analytics/executions/{execution_key}.csv"
    assert [(c["key"], c["kind"]) for c in done["columns"]] == [
        ("agent", "TEXT"), ("team", "TEXT"), ("calls_total", "INTEGER"), ("calls_handled", "INTEGER")]
    # Red: Ann c1-c3 (all handled), Ben c4-c5 (c5 unanswered); Blue and the queue's c8 are not Mia's
    assert done["rows"] == {"totalCount": 2, "edges": [{"node": {"index": 0, "values": ["Ann", "Red", 3, 3]}},
                                                       {"node": {"index": 1, "values": ["Ben", "Red", 2, 1]}}]}
    summary = {f["label"]: f["value"] for f in done["summary"]}
    assert summary == pytest.approx({
        "Calls": 5, "Inbound calls": 3, "Outbound calls": 2, "Calls handled": 4, "Average handle time": 310.0,
        "Average speed of answer": 55 / 3, "Service level": 2 / 3, "Abandonment rate": 0.0,
        "First-contact resolution": 0.25, "Transfers": 0, "CSAT": 2 / 3, "Mean rating": 11 / 3, "Ratings": 3})
    assert {f["label"]: f["kind"] for f in done["summary"]}["Service level"] == "RATIO"
    assert done["startedAt"] is not None
    assert done["finishedAt"] >= done["startedAt"]
    # the report's latest execution, its executions, and the tenant's list, by status
    assert (await client.data("mia", LATEST, id=report["id"]))["report"] == {
        "latestExecution": {"id": pending["id"], "status": "COMPLETED"},
        "executions": {"totalCount": 1, "edges": [{"node": {"id": pending["id"]}}]}}
    listed = (await client.data("mia", EXECUTIONS, reportId=report["id"], status="COMPLETED"))["reportExecutions"]
    assert listed == {"totalCount": 1, "edges": [{"node": {"id": pending["id"], "status": "COMPLETED"}}]}
    assert (await client.data("mia", EXECUTIONS, status="PENDING"))["reportExecutions"]["totalCount"] == 0
    # rows a page at a time
    first = (await client.data("mia", ROWS_PAGE, id=pending["id"]))["node"]["rows"]
    assert (first["pageInfo"]["hasNextPage"], first["edges"][0]["node"]["index"]) == (True, 0)
    second = (await client.data("mia", ROWS_PAGE, id=pending["id"], after=first["pageInfo"]["endCursor"]))["node"]
    assert second["rows"]["edges"] == [{"node": {"index": 1, "values": ["Ben", "Red", 2, 1]}}]
    assert second["rows"]["pageInfo"]["hasNextPage"] is False
    bad = await client.ask("mia", ROWS_PAGE, id=pending["id"], after="bm90IGEgY3Vyc29y")
    assert error_of(bad)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_execution_run_as_a_manager_is_read_only_by_those_whose_scope_covers_it(
        client: Client, people: People, report_database: TestDatabase, pools: dbmod.Database) -> None:
    # given: a report shared with managers, run by Mia (Red) and by Mo (Blue)
    report = await create(client, "mia", call_report(sharedWith={"roles": ["MANAGER"]}))
    mias = (await client.data("mia", RUN, id=report["id"]))["runReport"]["id"]
    await run_worker(report_database, pools)
    mos = (await client.data("mo", RUN, id=report["id"]))["runReport"]["id"]
    await run_worker(report_database, pools)
    # then: everyone who sees the report sees both runs, and their status
    for who in ("mia", "mo", "max", "admin"):
        listed = (await client.data(who, EXECUTIONS, reportId=report["id"]))["reportExecutions"]
        assert {e["node"]["id"] for e in listed["edges"]} == {mias, mos}, who
    # Mia's outputs: hers, Max's (Red and Blue) and the admin's; not Mo's, whose scope is Blue only
    for who, readable in [("mia", True), ("max", True), ("admin", True), ("mo", False)]:
        body = await client.ask(who, OUTPUTS, id=mias)
        assert body["data"]["node"]["status"] == "COMPLETED"
        assert body["data"]["node"]["canReadOutputs"] is readable, who
        if readable:
            assert body["data"]["node"]["summary"][0] == {"label": "Calls"}
        else:
            assert body["data"]["node"]["summary"] is None
            assert error_of(body)["extensions"] == {"code": "FORBIDDEN", "reason": "outside_scope"}
            assert error_of(body)["path"] == ["node", "summary"]
    for field in ("rows(first: 5) { totalCount }", "columns { key }", "rowCount", "downloadUrl", "title"):
        body = await client.ask("mo", f"query($id: ID!) {{ node(id: $id) {{ ... on ReportExecution {{ {field} }} }} }}",
                                id=mias)
        assert error_of(body)["extensions"]["code"] == "FORBIDDEN", field
    # Mo's run is his to read (Blue's calls), not Mia's
    assert (await client.data("mo", EXECUTION, id=mos))["node"]["rows"]["edges"][0]["node"]["values"] == [
        "Cat", "Blue", 2, 2]
    assert error_of(await client.ask("mia", OUTPUTS, id=mos))["extensions"]["code"] == "FORBIDDEN"
    # a run as an admin is for those who read the whole tenant
    admins = (await client.data("admin", RUN, id=report["id"]))["runReport"]["id"]
    assert error_of(await client.ask("max", OUTPUTS, id=admins))["extensions"]["code"] == "FORBIDDEN"


async def test_an_unsaved_definition_runs_as_its_requester_and_only_it_and_admins_see_the_run(
        client: Client, people: People, report_database: TestDatabase, pools: dbmod.Database) -> None:
    # when
    run = (await client.data("mia", RUN_DEFINITION, input={
        "type": "CAMPAIGN", "parameters": {"range": WEEK, "metrics": ["LEADS_GENERATED"]}}))["runReportDefinition"]
    await run_worker(report_database, pools)
    # then
    assert (run["status"], run["report"], run["format"]) == ("PENDING", None, "JSON")
    done = (await client.data("mia", EXECUTION, id=run["id"]))["node"]
    assert done["rows"]["edges"] == [{"node": {"index": 0, "values": ["Spring", 3]}},
                                     {"node": {"index": 1, "values": ["Summer", 3]}}]
    assert (await client.data("admin", NODE, id=run["id"]))["node"] == {"id": run["id"], "status": "COMPLETED"}
    assert (await client.data("mo", NODE, id=run["id"]))["node"] is None
    assert (await client.data("mo", EXECUTIONS))["reportExecutions"]["totalCount"] == 0
    assert (await client.data("admin", EXECUTIONS))["reportExecutions"]["totalCount"] == 1
    # parameters are checked as a saved report's are
    bad = await client.ask("mia", RUN_DEFINITION, input={"type": "CAMPAIGN", "parameters": {
        "range": WEEK, "agentIds": [encode_id("Agent", people.floor.ann)]}})
    assert error_of(bad)["extensions"]["argument"] == "input.parameters.agentIds"
    outside = await client.ask("mia", RUN_DEFINITION, input={"type": "CALL", "parameters": {
        "range": WEEK, "teamIds": [encode_id("Team", people.floor.blue)]}})
    assert error_of(outside)["extensions"] == {"code": "FORBIDDEN", "argument": "input.parameters.teamIds.0"}


async def test_run_report_delivers_to_the_recipients_only_when_asked_by_an_editor(
        client: Client, pools: dbmod.Database) -> None:
    report = await create(client, "mia", call_report(sharedWith={"roles": ["MANAGER"]}, recipients={
        "emails": ["ops@example.com"], "webhookUrls": [HOOK]}))
    plain = (await client.data("mia", RUN, id=report["id"]))["runReport"]["id"]
    delivered = (await client.data("mia", RUN, id=report["id"], deliver=True))["runReport"]["id"]
    forbidden = error_of(await client.ask("mo", RUN, id=report["id"], deliver=True))
    assert forbidden["extensions"] == {"code": "FORBIDDEN", "argument": "deliver"}
    recipients = {execution: await pools.admin.fetchval(
        "SELECT recipients FROM report_executions WHERE id = $1", decode_id(execution)[1])
        for execution in (plain, delivered)}
    assert recipients == {plain: [], delivered: [{"channel": "email", "address": "ops@example.com"},
                                                 {"channel": "webhook", "address": HOOK}]}


async def test_deleting_a_report_announces_its_unfinished_executions_as_deleted(
        client: Client, people: People, notifications: asyncio.Queue[dict[str, Any]]) -> None:
    report = await create(client, "mia", call_report())
    run = (await client.data("mia", RUN, id=report["id"]))["runReport"]["id"]
    assert (await next_notification(notifications))["status"] == "pending"
    assert await client.data("mia", DELETE, id=report["id"]) == {"deleteReport": True}
    assert await next_notification(notifications) == {
        "tenant": str(people.floor.tenant), "execution": str(decode_id(run)[1]), "status": "deleted", "attempt": 0}
    assert (await client.data("mia", NODE, id=run))["node"] is None


def test_report_lists_are_priced_by_first_and_running_costs_only_its_answer() -> None:
    def cost(query: str) -> int:
        return operation_cost(schema._schema, parse(query), None, None).units

    # 10 executions, each (1 + 20 rows, each (1 + 20 values)), and the fields around them
    rows = "{ reportExecutions(first: 10) { edges { node { rows(first: 20) { edges { node { values } } } } } } }"
    assert cost(rows) == 1 + 10 * (1 + 1 + 1 + 20 * (1 + 1 + 20))
    runs = "{ reports(first: 5) { edges { node { executions(first: 4) { edges { node { id } } } } } } }"
    assert cost(runs) == 1 + 5 * (1 + 1 + 1 + 4 * (1 + 1 + 1))
    assert cost('mutation { runReport(id: "x") { id status } }') == 3


STATUS_FEED: Final = "subscription($id: ID!) { reportExecution(id: $id) { status attempt rowCount } }"


async def test_report_execution_status_is_pushed_as_the_worker_moves_it_on(
        client: Client, people: People, report_database: TestDatabase, pools: dbmod.Database,
        gateway: LiveGateway) -> None:
    from tests.live.helpers import subscribed

    # given a pending execution and a subscriber of its status
    report = await create(client, "mia", call_report())
    pending = (await client.data("mia", RUN, id=report["id"]))["runReport"]
    async with subscribed(gateway, client.token("mia"), STATUS_FEED, {"id": pending["id"]}) as sub:
        assert (await sub.next())["data"]["reportExecution"] == {"status": "PENDING", "attempt": 0, "rowCount": None}
        # when a worker runs it
        await run_worker(report_database, pools)
        # then the subscriber sees it end completed, with its rows
        seen = []
        while not seen or seen[-1]["status"] != "COMPLETED":
            seen.append((await sub.next())["data"]["reportExecution"])
        assert seen[-1] == {"status": "COMPLETED", "attempt": 1, "rowCount": 2}
    # and another tenant's user cannot follow it
    other = gateway.token(uuid.uuid4(), roles=("admin",))
    async with subscribed(gateway, other, STATUS_FEED, {"id": pending["id"]}) as sub:
        refused = await sub.next()
    assert refused.get("data") is None
