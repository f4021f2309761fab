"""Saved reports and their executions: the lists, the writes, running on demand, and what each reader may see.

Who sees and changes what is gateway/reports/readers.py's rule: a report is visible to its creator, the users
and roles it is shared with, and admins (anyone else, and another tenant, gets NOT_FOUND as for a report that
does not exist); `admin` and `manager` create, the creator or an admin edits, deletes and delivers. An
execution is visible with its report, and its outputs only to readers whose scope covers the principal it ran
as (FORBIDDEN on those fields otherwise).

A write is checked before anything is stored: the parameters by the report type (params_from_json) and against
the writer's role and the tenant's teams, agents, campaigns and custom metrics; the cron expression; each
recipient (delivery/destinations.py, email.py); the format. Errors are BAD_USER_INPUT (FORBIDDEN for a filter
outside the writer's role) with `extensions.argument` naming the field, e.g. `input.parameters.teamIds.0`.

Running a report only enqueues it (the worker runs it, outside the operation's cost and time budgets): the
execution comes back `PENDING`, and every later status change is announced on `callpulse_reports`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit
from uuid import UUID

import strawberry

from gateway.auth import READERS, Principal, Role
from gateway.context import Context
from gateway.cursors import decode_cursor
from gateway.errors import BadUserInput, Forbidden, NotFound
from gateway.ids import decode_id
from gateway.loaders import saved_report as saved_sql
from gateway.loaders._keyset import cursor_position
from gateway.loaders.saved_report import ORDERS, ChunkKey, ExecutionFilter, ExecutionOrder, NoFilter
from gateway.reports import store
from gateway.reports.delivery import AddressPolicy, validate_email_address, validate_webhook_url
from gateway.reports.params import ReportParams, ReportType, params_from_json, report_type_of
from gateway.reports.queue import NewExecution, Recipient, RecordedPrincipal
from gateway.reports.readers import AUTHORS, covers, is_principal, may_edit, viewer_of
from gateway.reports.result import ColumnKind
from gateway.reports.scheduler import next_slot, validate_cron
from gateway.reports.store import CHUNK_ROWS, Execution, ReportDefinition, SavedReport
from gateway.schema.pagination import Connection, connection, name_position, ordered_connection, page_size
from gateway.schema.saved_report import (
    CreateReportInput,
    Report,
    ReportDelivery,
    ReportExecution,
    ReportExecutionStatus,
    ReportParametersInput,
    ReportRecipients,
    ReportRecipientsInput,
    ReportRow,
    ReportSchedule,
    ReportSharingInput,
    RunReportDefinitionInput,
    UpdateReportInput,
    row_view,
)
from gateway.schema.settings import ExportFormat
from gateway.schema.user import Role as RoleEnum
from gateway.schema.user import User
from gateway.settings import DEFAULT_REPORT_MAX_ATTEMPTS, Settings

MAX_NAME: Final = 200
MAX_DESCRIPTION: Final = 2000
MAX_RECIPIENTS: Final = 50
MAX_SHARED_USERS: Final = 200
# The parameters' keys (params.py), as params_from_json names them in its errors.
PARAMETER_KEYS: Final = frozenset({"range", "teamIds", "campaignIds", "agentIds", "grouping", "metrics",
                                   "customMetrics", "rankBy"})
ORDER: Final = ExecutionOrder.CREATED_AT_DESC
ROW_CURSOR: Final = "row"


# -- who asks ----------------------------------------------------------------------------------------------------

async def _who(context: Context) -> tuple[Principal, UUID | None]:
    """The principal (a human role) and the directory user its subject names, if any."""
    principal = context.require(*READERS)
    # For managers and agents the access lookup finds the user too, and primes the loader.
    await context.access()
    user = await context.loaders.user_by_subject.load(principal.user_id)
    return principal, user.id if user is not None else None


def _settings(context: Context) -> Settings | None:
    """The gateway's settings, reached through the request (None in-process, outside a served request)."""
    state = getattr(getattr(context.request, "app", None), "state", None)
    found = getattr(state, "settings", None)
    return found if isinstance(found, Settings) else None


def _key(global_id: str, type_name: str, argument: str) -> UUID:
    try:
        return decode_id(global_id, type_name)[1]
    except BadUserInput as e:
        raise BadUserInput(e.message, argument=argument) from e


# -- reads -------------------------------------------------------------------------------------------------------

async def visible_report(context: Context, key: UUID) -> SavedReport | None:
    """The report if the viewer may see it; None for one it may not, of another tenant, or none at all."""
    principal, user = await _who(context)
    row = await context.loaders.saved_reports.report_by_id.load(key)
    return row if row is not None and store.can_see(row, viewer_of(principal, user)) else None


async def visible_execution(context: Context, key: UUID) -> Execution | None:
    """The execution if the viewer may see it: with its report, or as the requester of an unsaved definition."""
    principal, user = await _who(context)
    row = await context.loaders.saved_reports.execution_by_id.load(key)
    if row is None or principal.has(Role.ADMIN):
        return row
    if row.report_id is None:
        return row if is_principal(row.principal, principal, user) else None
    return row if await visible_report(context, row.report_id) is not None else None


async def report(context: Context, global_id: str) -> Report:
    """One visible report; NOT_FOUND for any other, as for one that does not exist."""
    found = await visible_report(context, _key(global_id, "Report", "id"))
    if found is None:
        raise NotFound("no such report")
    return Report(row=found)


async def reports(context: Context, first: int | None, after: str | None) -> Connection[Report]:
    """The reports the viewer may see, by name."""
    principal, user = await _who(context)
    viewer = viewer_of(principal, user)
    limit = page_size(first)
    db = context.db
    rows = await store.visible_reports(db, viewer, limit=limit + 1, after=name_position(after))
    for row in rows:
        context.loaders.saved_reports.report_by_id.prime(row.id, row)

    async def count() -> int:
        return await store.visible_count(db, viewer)

    return connection(rows, limit, after, lambda r: Report(row=r), lambda r: [r.definition.name, str(r.id)], count)


async def report_executions(context: Context, first: int | None, after: str | None, report_id: str | None,
                            status: ReportExecutionStatus | None) -> Connection[ReportExecution]:
    """The executions the viewer may see, newest first; `reportId` narrows to a visible report's."""
    principal, user = await _who(context)
    limit = page_size(first)
    key = None
    if report_id is not None:
        key = _key(report_id, "Report", "reportId")
        if await visible_report(context, key) is None:
            raise NotFound("no such report", argument="reportId")
    flt = ExecutionFilter(status=status.value if status is not None else None, report_id=key,
                          admin=principal.has(Role.ADMIN), subject=principal.user_id, user_id=user,
                          roles=tuple(sorted(r.value for r in principal.roles)))
    db = context.db
    rows = await saved_sql.executions_page(db, flt, after, limit + 1)

    async def count() -> int:
        return await saved_sql.executions_count(db, flt)

    return ordered_connection(rows, limit, after, _execution_node(context), ORDER.value, count)


def _execution_node(context: Context) -> Callable[[Execution], ReportExecution]:
    """Executions as nodes of a page, each primed in the loader (node(id:) and later reads find it)."""

    def make(row: Execution) -> ReportExecution:
        context.loaders.saved_reports.execution_by_id.prime(row.id, row)
        return ReportExecution(row=row)

    return make


async def executions_of(context: Context, row: SavedReport, first: int | None,
                        after: str | None) -> Connection[ReportExecution]:
    """A visible report's executions, newest first (batched with the other reports of the page)."""
    limit = page_size(first)
    below = context.loaders.saved_reports.executions_by_report.below(row.id)
    rows, count = await below.page(NoFilter(), ORDER, cursor_position(after, ORDER.value, ORDERS[ORDER]), limit + 1)
    return ordered_connection(rows, limit, after, _execution_node(context), ORDER.value, count)


async def latest_execution(context: Context, row: SavedReport) -> ReportExecution | None:
    found = await context.loaders.saved_reports.latest_by_report.load(row.id)
    return ReportExecution(row=found) if found is not None else None


async def editable(context: Context, row: SavedReport) -> bool:
    principal, user = await _who(context)
    return may_edit(row, principal, user)


async def _edits_execution(context: Context, row: Execution) -> bool:
    """Whether the viewer set (or may set) the execution's recipients: the report's editors, or the requester
    of an unsaved definition and admins."""
    principal, user = await _who(context)
    if row.report_id is None:
        return principal.has(Role.ADMIN) or is_principal(row.principal, principal, user)
    found = await context.loaders.saved_reports.report_by_id.load(row.report_id)
    return found is not None and may_edit(found, principal, user)


def shown_url(url: str) -> str:
    """A webhook URL as those who may not edit it see it: scheme, host and port (a path or query often holds a
    receiver's token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


async def recipients_of(context: Context, row: SavedReport) -> ReportRecipients:
    editor = await editable(context, row)
    recipients = row.definition.recipients
    return ReportRecipients(
        emails=[r.address for r in recipients if r.channel == "email"],
        webhook_urls=[r.address if editor else shown_url(r.address) for r in recipients if r.channel == "webhook"])


async def schedule_of(context: Context, row: SavedReport) -> ReportSchedule | None:
    cron = row.definition.schedule_cron
    if cron is None:
        return None
    tenant = await context.loaders.tenant_by_id.load(row.tenant_id)
    return ReportSchedule(cron=cron, timezone=tenant.timezone if tenant is not None else "UTC", report=row)


async def next_run_at(context: Context, row: SavedReport, timezone: str) -> datetime | None:
    """The first slot after the operation's time (and after the last slot enqueued)."""
    cron = row.definition.schedule_cron
    if cron is None:
        return None
    now = await context.loaders.saved_reports.now.load("now")
    after = max(now, row.last_slot) if row.last_slot is not None else now
    try:
        return next_slot(cron, timezone, after=after)
    except ValueError:
        return None


async def readable_users(context: Context, keys: Sequence[UUID]) -> list[User]:
    """The directory users among `keys` the viewer may read (node(User)'s rule), in order."""
    access = await context.access()
    if not access.whole_tenant:
        own = await context.loaders.user_by_subject.load(context.require().user_id)
        keys = [k for k in keys if own is not None and k == own.id]
    rows = await context.loaders.user_by_id.load_all(list(keys))
    return [User(row=r) for r in rows if r is not None]


async def outputs_readable(context: Context, row: Execution) -> bool:
    """Admins, and readers whose own scope covers the scope of the principal the execution ran as."""
    principal = context.require(*READERS)
    reader = await context.access()
    if principal.has(Role.ADMIN) or reader.whole_tenant:
        return True
    ran_as = await context.loaders.access.load(row.principal.principal(principal.tenant_id))
    return covers(reader, ran_as)


async def require_outputs(context: Context, row: Execution) -> None:
    if not await outputs_readable(context, row):
        raise Forbidden("this execution reads as a principal whose data is outside what your role may read",
                        reason="outside_scope")


async def result_rows(context: Context, row: Execution, first: int | None,
                      after: str | None) -> Connection[ReportRow] | None:
    """The stored rows from the cursor on, read from the chunks that hold them (at most two for a page)."""
    await require_outputs(context, row)
    if row.status != "completed" or row.summary is None or row.result_attempt is None:
        return None
    limit = page_size(first)
    start = _row_after(after) + 1 if after is not None else 0
    total = row.row_count or 0
    end = min(total, start + limit + 1)
    kinds = [ColumnKind(c["kind"]) for c in row.summary["columns"]]
    found: list[tuple[int, list[Any]]] = []
    if start < end:
        seqs = range(start // CHUNK_ROWS, (end - 1) // CHUNK_ROWS + 1)
        chunks = await context.loaders.saved_reports.row_chunks.load_many(
            [ChunkKey(row.id, row.result_attempt, seq) for seq in seqs])
        for index in range(start, end):
            chunk = chunks[index // CHUNK_ROWS - seqs.start]
            if chunk is None or index % CHUNK_ROWS >= len(chunk):
                break
            found.append((index, chunk[index % CHUNK_ROWS]))

    async def count() -> int:
        return total

    return connection(found, limit, after, lambda r: row_view(r[0], r[1], kinds), lambda r: [ROW_CURSOR, r[0]],
                      count)


def _row_after(after: str) -> int:
    name, index = decode_cursor(after, 2)
    if name != ROW_CURSOR or not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise BadUserInput("the cursor does not belong to this list", argument="after")
    return index


async def deliveries_of(context: Context, row: Execution) -> list[ReportDelivery]:
    found = await context.loaders.saved_reports.deliveries_by_execution.load(row.id)
    editor = await _edits_execution(context, row)
    return [ReportDelivery(row=d, shown_recipient=d.recipient if editor or d.channel == "email"
                           else shown_url(d.recipient)) for d in found]


# -- writes ------------------------------------------------------------------------------------------------------

async def create(context: Context, given: CreateReportInput) -> Report:
    principal = context.require(*AUTHORS)
    _, user = await _who(context)
    kind = given.type
    params = await _parameters(context, kind, given.parameters, "input.parameters")
    fmt = given.format.value if given.format is not None else await _tenant_format(context)
    users, roles = await _sharing(context, given.shared_with, "input.sharedWith")
    definition = ReportDefinition(
        name=_name(given.name, "input.name"), description=_description(given.description, "input.description"),
        report_type=kind.value, output_format=_format(kind, fmt, "input.format"), params=params.to_json(),
        schedule_cron=_cron(given.schedule, "input.schedule"), delivery_mode=given.delivery_mode.value,
        recipients=_recipients(context, given.recipients, "input.recipients"), shared_with_users=users,
        shared_with_roles=roles)
    row = await store.create_report_now(context.db, RecordedPrincipal.of(principal, user), definition)
    context.loaders.saved_reports.report_by_id.prime(row.id, row)
    return Report(row=row)


async def update(context: Context, global_id: str, given: UpdateReportInput) -> Report:
    """Changes the fields given; the whole definition is checked again, as a new report's would be."""
    principal = context.require(*AUTHORS)
    key = _key(global_id, "Report", "id")
    current = await _editable_for_update(context, key)
    d = current.definition
    kind = given.type if given.type is not None else report_type_of(d.report_type)
    if given.parameters is not None:
        params = await _parameters(context, kind, given.parameters, "input.parameters")
    else:
        # Kept parameters must suit a new type; a kept filter's team need not (the writer did not name it).
        params = _params_from(kind, d.params, "input.parameters")
    fmt = given.format.value if given.format is not None else d.output_format
    schedule = d.schedule_cron if given.schedule is strawberry.UNSET else _cron(given.schedule, "input.schedule")
    users, roles = (await _sharing(context, given.shared_with, "input.sharedWith") if given.shared_with is not None
                    else (tuple(d.shared_with_users), tuple(d.shared_with_roles)))
    definition = ReportDefinition(
        name=_name(given.name, "input.name") if given.name is not None else d.name,
        description=(_description(given.description, "input.description") if given.description is not None
                     else d.description),
        report_type=kind.value, output_format=_format(kind, fmt, "input.format"), params=params.to_json(),
        schedule_cron=schedule,
        delivery_mode=given.delivery_mode.value if given.delivery_mode is not None else d.delivery_mode,
        recipients=(_recipients(context, given.recipients, "input.recipients") if given.recipients is not None
                    else d.recipients),
        shared_with_users=users, shared_with_roles=roles)
    now = await context.loaders.saved_reports.now.load("now")
    row = await store.update_report(context.db, key, definition, principal.user_id, now)
    assert row is not None  # locked by report_for_update
    context.loaders.saved_reports.report_by_id.clear(row.id).prime(row.id, row)
    return Report(row=row)


async def delete(context: Context, global_id: str) -> bool:
    """True; NOT_FOUND for a report the viewer does not see, FORBIDDEN for one it sees but may not edit."""
    context.require(*AUTHORS)
    key = _key(global_id, "Report", "id")
    await _editable_for_update(context, key)
    deleted = await store.delete_report_notifying(context.db, key)
    context.loaders.saved_reports.report_by_id.clear(key)
    return deleted


async def run(context: Context, global_id: str, deliver: bool) -> ReportExecution:
    """A saved report, now, as the requester; to its recipients only with `deliver` (its editors)."""
    principal, user = await _who(context)
    key = _key(global_id, "Report", "id")
    found = await visible_report(context, key)
    if found is None:
        raise NotFound("no such report")
    if deliver and not may_edit(found, principal, user):
        raise Forbidden("only the report's creator or an admin delivers it to its recipients", argument="deliver")
    d = found.definition
    kind = report_type_of(d.report_type)
    params = _params_from(kind, d.params, "id")
    new = NewExecution(tenant_id=principal.tenant_id, report_type=kind.value, output_format=d.output_format,
                       principal=RecordedPrincipal.of(principal, user), params=params.to_json(), report_id=found.id,
                       delivery_mode=d.delivery_mode, recipients=tuple(d.recipients) if deliver else ())
    return await _enqueue(context, new)


async def run_definition(context: Context, given: RunReportDefinitionInput) -> ReportExecution:
    """An unsaved definition, now, as the requester (admin or manager, as for a saved one)."""
    principal = context.require(*AUTHORS)
    _, user = await _who(context)
    kind = given.type
    params = await _parameters(context, kind, given.parameters, "input.parameters")
    fmt = given.format.value if given.format is not None else await _tenant_format(context)
    new = NewExecution(tenant_id=principal.tenant_id, report_type=kind.value,
                       output_format=_format(kind, fmt, "input.format"),
                       principal=RecordedPrincipal.of(principal, user), params=params.to_json(),
                       delivery_mode=given.delivery_mode.value,
                       recipients=_recipients(context, given.recipients, "input.recipients"))
    return await _enqueue(context, new)


async def _enqueue(context: Context, new: NewExecution) -> ReportExecution:
    settings = _settings(context)
    attempts = settings.report_max_attempts if settings is not None else DEFAULT_REPORT_MAX_ATTEMPTS
    row = await store.enqueue_now(context.db, new, max_attempts=attempts)
    context.loaders.saved_reports.execution_by_id.prime(row.id, row)
    return ReportExecution(row=row)


async def _editable_for_update(context: Context, key: UUID) -> SavedReport:
    """The report, locked for the operation; NOT_FOUND unless visible, FORBIDDEN unless the viewer may edit it."""
    principal, user = await _who(context)
    current = await store.report_for_update(context.db, key)
    if current is None or not store.can_see(current, viewer_of(principal, user)):
        raise NotFound("no such report")
    if not may_edit(current, principal, user):
        raise Forbidden("only the report's creator or an admin changes it")
    return current


# -- validation --------------------------------------------------------------------------------------------------

def _name(name: str, argument: str) -> str:
    if not name.strip() or len(name) > MAX_NAME:
        raise BadUserInput(f"a name has 1 to {MAX_NAME} characters, not only spaces", argument=argument)
    return name


def _description(text: str, argument: str) -> str:
    if len(text) > MAX_DESCRIPTION:
        raise BadUserInput(f"a description has at most {MAX_DESCRIPTION} characters", argument=argument)
    return text


def _cron(expression: str | None, argument: str) -> str | None:
    if expression is None:
        return None
    try:
        return validate_cron(expression)
    except BadUserInput as e:
        raise BadUserInput(e.message, argument=argument) from e


def _format(kind: ReportType, fmt: str, argument: str) -> str:
    # Imported here: the report types import resolvers (their figures are the graph's), which import the schema.
    from gateway.reports.types import definition as type_definition

    if fmt == ExportFormat.PDF.value and type_definition(kind).streams_rows:
        raise BadUserInput(f"a {kind.name} report streams every row and exports to CSV or JSON, not PDF",
                           argument=argument)
    return fmt


async def _tenant_format(context: Context) -> str:
    tenant = await context.loaders.tenant_by_id.load(context.require().tenant_id)
    return tenant.default_export_format if tenant is not None else ExportFormat.JSON.value


def _parameters_json(given: ReportParametersInput) -> dict[str, object]:
    """The input in the parameters' JSON form (params.py), every given value passed on for the type to judge."""
    rng = given.range
    data: dict[str, object] = {"range": {k: v for k, v in (
        ("from", rng.from_.isoformat() if rng.from_ is not None else None),
        ("to", rng.to.isoformat() if rng.to is not None else None),
        ("preset", rng.preset.name if rng.preset is not None else None)) if v is not None}}
    for key, ids in (("teamIds", given.team_ids), ("campaignIds", given.campaign_ids),
                     ("agentIds", given.agent_ids)):
        if ids:
            data[key] = [str(i) for i in ids]
    if given.grouping is not None:
        data["grouping"] = given.grouping.name
    if given.metrics:
        data["metrics"] = [m.name for m in given.metrics]
    if given.custom_metrics:
        data["customMetrics"] = list(given.custom_metrics)
    rank = given.rank_by
    if rank is not None:
        chosen: dict[str, object] = {}
        if rank.metric is not None:
            chosen["metric"] = rank.metric.name
        if rank.custom_metric is not None:
            chosen["customMetric"] = rank.custom_metric
        data["rankBy"] = chosen
    return data


def _params_from(kind: ReportType, data: Mapping[str, Any], at: str) -> ReportParams:
    """Parameters checked by the type; BAD_USER_INPUT naming `at`.<the parameter>."""
    try:
        return params_from_json(kind, dict(data))
    except BadUserInput as e:
        key = e.extensions.get("argument")
        where = f"{at}.{key}" if key in PARAMETER_KEYS and at != "id" else at
        raise BadUserInput(e.message, **{**e.extensions, "argument": where}) from e


async def _parameters(context: Context, kind: ReportType, given: ReportParametersInput, at: str) -> ReportParams:
    """The input's parameters if the type takes them and everything they name exists and is the writer's to read."""
    params = _params_from(kind, _parameters_json(given), at)
    access = await context.access()
    loaders = context.loaders
    teams = await loaders.team_by_id.load_all(list(params.team_ids))
    for n, (team, found_team) in enumerate(zip(params.team_ids, teams, strict=True)):
        if found_team is None:
            raise BadUserInput("no team with this id", argument=f"{at}.teamIds.{n}")
        if not access.can_read_team(team):
            raise Forbidden("this team's data is outside what your role may read", argument=f"{at}.teamIds.{n}")
    agents = await loaders.agent_by_id.load_all(list(params.agent_ids))
    for n, (agent, found_agent) in enumerate(zip(params.agent_ids, agents, strict=True)):
        if found_agent is None:
            raise BadUserInput("no agent with this id", argument=f"{at}.agentIds.{n}")
        if not access.can_read_agent(agent):
            raise Forbidden("this agent's data is outside what your role may read", argument=f"{at}.agentIds.{n}")
    campaigns = await loaders.campaign_by_id.load_all(list(params.campaign_ids))
    for n, found_campaign in enumerate(campaigns):
        if found_campaign is None:
            raise BadUserInput("no campaign with this id", argument=f"{at}.campaignIds.{n}")
    named = list(params.custom_metrics)
    rank_custom = params.rank_by.custom if params.rank_by is not None else None
    metrics = await loaders.custom_metric_by_name.load_all([*named, rank_custom])
    for n, found_metric in enumerate(metrics[:len(named)]):
        if found_metric is None:
            raise BadUserInput(f"no custom metric named {named[n]!r}", argument=f"{at}.customMetrics.{n}")
    if rank_custom is not None and metrics[-1] is None:
        raise BadUserInput(f"no custom metric named {rank_custom!r}", argument=f"{at}.rankBy")
    return params


def _recipients(context: Context, given: ReportRecipientsInput | None, at: str) -> tuple[Recipient, ...]:
    """Each address checked (webhook hosts given as IP addresses against the operator's allow-list), each once."""
    if given is None:
        return ()
    settings = _settings(context)
    policy = AddressPolicy(settings.delivery.webhook_allow_networks if settings is not None else ())
    found: dict[Recipient, None] = {}
    for n, email in enumerate(given.emails or ()):
        try:
            found[Recipient("email", validate_email_address(email))] = None
        except BadUserInput as e:
            raise BadUserInput(e.message, **{**e.extensions, "argument": f"{at}.emails.{n}"}) from e
    for n, url in enumerate(given.webhook_urls or ()):
        try:
            validate_webhook_url(url, policy)
        except BadUserInput as e:
            raise BadUserInput(e.message, **{**e.extensions, "argument": f"{at}.webhookUrls.{n}"}) from e
        found[Recipient("webhook", url.strip())] = None
    if len(found) > MAX_RECIPIENTS:
        raise BadUserInput(f"a report has at most {MAX_RECIPIENTS} recipients", argument=at)
    return tuple(found)


async def _sharing(context: Context, given: ReportSharingInput | None,
                   at: str) -> tuple[tuple[UUID, ...], tuple[str, ...]]:
    """The users (who must be in the directory) and roles a report is shared with."""
    if given is None:
        return (), ()
    users = list(dict.fromkeys(_key(u, "User", f"{at}.userIds.{n}") for n, u in enumerate(given.user_ids or ())))
    if len(users) > MAX_SHARED_USERS:
        raise BadUserInput(f"share with at most {MAX_SHARED_USERS} users; share with a role instead",
                           argument=f"{at}.userIds")
    for n, found in enumerate(await context.loaders.user_by_id.load_all(users)):
        if found is None:
            raise BadUserInput("no user with this id", argument=f"{at}.userIds.{n}")
    roles = list(dict.fromkeys(r.value for r in given.roles or ()))
    if RoleEnum.SERVICE.value in roles:
        raise BadUserInput("reports are shared with people: ADMIN, MANAGER, AGENT or VIEWER", argument=f"{at}.roles")
    return tuple(users), tuple(roles)

