"""Saved reports and their executions: the Report and ReportExecution types, what they show, and their inputs.

(`DailyReport`, in report.py, is the graph's per-day figures; these are the report types of gateway/reports.)
What each field may show is gateway/reports/readers.py's rule; the resolvers are gateway/resolvers/report.py.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from gateway.context import Context
from gateway.ids import encode_id
from gateway.metrics import Metric
from gateway.periods import Preset
from gateway.reports.params import Grouping, ReportParams, ReportType, params_from_json, report_type_of
from gateway.reports.queue import RecordedPrincipal
from gateway.reports.result import ColumnKind
from gateway.reports.store import Delivery, Execution, SavedReport
from gateway.schema.metrics import DateRange
from gateway.schema.node import Node
from gateway.schema.pagination import Connection
from gateway.schema.settings import ExportFormat
from gateway.schema.user import Role, User

# The Python enums are the single definition (they are what the tables store); registered in place.
strawberry.enum(ReportType, description="What a report shows: LEAD (lead analysis), CALL (call analysis), CAMPAIGN "
                "(campaign analysis), AGENT_PERFORMANCE, GAMIFICATION, or CALL_DETAIL (every call, one row each).")
strawberry.enum(Grouping, name="ReportGrouping", description="What a report's main table has one row per; each "
                "report type takes some (README, Report types).")
strawberry.enum(ColumnKind, name="ReportColumnKind", description="How a column's values are typed: TEXT, INTEGER, "
                "NUMBER, RATIO (0-1), SECONDS, MONEY, DATE (YYYY-MM-DD) or DATETIME (ISO 8601).")

# Numbers a result stores as decimal text (money, ratios, seconds): shown as JSON numbers.
DECIMAL_KINDS: Final = frozenset({ColumnKind.NUMBER, ColumnKind.RATIO, ColumnKind.SECONDS, ColumnKind.MONEY})


@strawberry.enum(description="When a report's run is delivered to its recipients.")
class ReportDeliveryMode(enum.Enum):
    ALWAYS = "always"
    ONLY_WITH_ROWS = "only_rows"
    ONLY_WHEN_CHANGED = "only_changed"


@strawberry.enum(description="Where an execution stands: waiting for a worker, running, done, or failed.")
class ReportExecutionStatus(enum.Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


@strawberry.enum(description="How a recipient gets a report.")
class ReportDeliveryChannel(enum.Enum):
    EMAIL = "email"
    WEBHOOK = "webhook"


@strawberry.enum(description="Where one recipient's delivery stands: SKIPPED by the delivery mode (no rows, or "
                 "the same result as before).")
class ReportDeliveryStatus(enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


# -- inputs ------------------------------------------------------------------------------------------------------

@strawberry.input(description="What a report ranks agents by (AGENT_PERFORMANCE): a built-in `metric` or a "
                  "`customMetric`, exactly one.")
class ReportRankByInput:
    metric: Metric | None = strawberry.field(default=None, description="A built-in metric.")
    custom_metric: str | None = strawberry.field(default=None, description="A custom metric by name.")


@strawberry.input(description="What a report runs with. Only `range` is required; absent lists mean no filter, "
                  "an absent grouping the type's default, absent metrics the type's default metrics.")
class ReportParametersInput:
    range: DateRange = strawberry.field(description="The days covered: `{from, to}` or a preset (resolved in the "
                                        "tenant's calendar when the report runs).")
    team_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Only these teams' agents.")
    campaign_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Only these campaigns.")
    agent_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Only these agents.")
    grouping: Grouping | None = strawberry.field(default=None, description="One row per this; the type's "
                                                 "default when absent.")
    metrics: list[Metric] | None = strawberry.field(default=None, description="Built-in metrics to include (types "
                                                    "with metric columns: CALL, CAMPAIGN, AGENT_PERFORMANCE).")
    custom_metrics: list[str] | None = strawberry.field(default=None, description="Custom metrics to include, by "
                                                        "name.")
    rank_by: ReportRankByInput | None = strawberry.field(default=None, description="What agents are ranked by "
                                                         "(AGENT_PERFORMANCE; calls handled when absent).")


@strawberry.input(description="Who gets each run: email addresses (the file attached) and webhook URLs (a signed "
                  "JSON POST); at most 50 in all.")
class ReportRecipientsInput:
    emails: list[str] | None = strawberry.field(default=None, description="Email addresses, e.g. "
                                                "`ops@example.com`.")
    webhook_urls: list[str] | None = strawberry.field(default=None, description="http(s) URLs that receive a "
                                                      "signed POST.")


@strawberry.input(description="Who else sees a report (and may run it): directory users and whole roles.")
class ReportSharingInput:
    user_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Users of the directory.")
    roles: list[Role] | None = strawberry.field(default=None, description="Everyone with one of these roles "
                                                "(ADMIN, MANAGER, AGENT, VIEWER).")


@strawberry.input(description="A new saved report.")
class CreateReportInput:
    name: str = strawberry.field(description="1-200 characters.")
    type: ReportType = strawberry.field(description="What it shows.")
    parameters: ReportParametersInput = strawberry.field(description="What it runs with, checked against the "
                                                         "type.")
    description: str = strawberry.field(default="", description="At most 2,000 characters.")
    format: ExportFormat | None = strawberry.field(default=None, description="What its runs are rendered to; the "
                                                   "tenant's defaultExportFormat when absent.")
    schedule: str | None = strawberry.field(default=None, description="A five-field cron expression in the "
                                            "tenant's timezone (`0 8 * * 1`: Mondays at 08:00) or a macro "
                                            "(`@daily`); no scheduled runs when absent.")
    delivery_mode: ReportDeliveryMode = strawberry.field(default=ReportDeliveryMode.ALWAYS,
                                                         description="When runs are delivered.")
    recipients: ReportRecipientsInput | None = strawberry.field(default=None, description="Who gets each run.")
    shared_with: ReportSharingInput | None = strawberry.field(default=None, description="Who else sees it.")


@strawberry.input(description="Changes to a saved report; absent fields keep their value. `parameters`, "
                  "`recipients` and `sharedWith` replace the whole of theirs; `schedule: null` removes the "
                  "schedule.")
class UpdateReportInput:
    name: str | None = strawberry.field(default=None, description="1-200 characters.")
    type: ReportType | None = strawberry.field(default=None, description="What it shows; the parameters (the new "
                                               "or the kept ones) must suit it.")
    parameters: ReportParametersInput | None = strawberry.field(default=None, description="What it runs with.")
    description: str | None = strawberry.field(default=None, description="At most 2,000 characters.")
    format: ExportFormat | None = strawberry.field(default=None, description="What its runs are rendered to.")
    schedule: str | None = strawberry.field(default=strawberry.UNSET, description="A cron expression; null "
                                            "removes the schedule.")
    delivery_mode: ReportDeliveryMode | None = strawberry.field(default=None, description="When runs are "
                                                                "delivered.")
    recipients: ReportRecipientsInput | None = strawberry.field(default=None, description="Who gets each run.")
    shared_with: ReportSharingInput | None = strawberry.field(default=None, description="Who else sees it.")


@strawberry.input(description="A report to run once without saving it.")
class RunReportDefinitionInput:
    type: ReportType = strawberry.field(description="What it shows.")
    parameters: ReportParametersInput = strawberry.field(description="What it runs with, checked against the "
                                                         "type.")
    format: ExportFormat | None = strawberry.field(default=None, description="What it is rendered to; the "
                                                   "tenant's defaultExportFormat when absent.")
    delivery_mode: ReportDeliveryMode = strawberry.field(default=ReportDeliveryMode.ALWAYS,
                                                         description="When it is delivered.")
    recipients: ReportRecipientsInput | None = strawberry.field(default=None, description="Who gets it; nobody "
                                                                "when absent.")


# -- what reports and executions show ----------------------------------------------------------------------------

@strawberry.type(description="A report's range as it was given: a preset (resolved when the report runs) or "
                 "fixed days.")
class ReportRange:
    from_: date | None = strawberry.field(name="from", description="First day; null with a preset.")
    to: date | None = strawberry.field(description="Last day; null with a preset.")
    preset: Preset | None = strawberry.field(description="The named range; null with fixed days.")


@strawberry.type(description="What agents are ranked by: a built-in metric or a custom one.")
class ReportRankBy:
    metric: Metric | None = strawberry.field(description="The built-in metric; null for a custom one.")
    custom_metric: str | None = strawberry.field(description="The custom metric's name; null for a built-in one.")


@strawberry.type(description="What a report runs with, as saved (empty lists: no filter, or the type's default "
                 "metrics).")
class ReportParameters:
    range: ReportRange = strawberry.field(description="The days covered.")
    team_ids: list[strawberry.ID] = strawberry.field(description="Only these teams' agents.")
    campaign_ids: list[strawberry.ID] = strawberry.field(description="Only these campaigns.")
    agent_ids: list[strawberry.ID] = strawberry.field(description="Only these agents.")
    grouping: Grouping | None = strawberry.field(description="One row per this; null for the type's default.")
    metrics: list[Metric] = strawberry.field(description="Built-in metrics included.")
    custom_metrics: list[str] = strawberry.field(description="Custom metrics included.")
    rank_by: ReportRankBy | None = strawberry.field(description="What agents are ranked by; null for the "
                                                    "default.")


def parameters_view(params: ReportParams) -> ReportParameters:
    rng = params.range
    rank = params.rank_by
    return ReportParameters(
        range=ReportRange(from_=rng.start, to=rng.end, preset=rng.preset),
        team_ids=[strawberry.ID(encode_id("Team", k)) for k in params.team_ids],
        campaign_ids=[strawberry.ID(encode_id("Campaign", k)) for k in params.campaign_ids],
        agent_ids=[strawberry.ID(encode_id("Agent", k)) for k in params.agent_ids],
        grouping=params.grouping, metrics=list(params.metrics), custom_metrics=list(params.custom_metrics),
        rank_by=ReportRankBy(metric=rank.metric, custom_metric=rank.custom) if rank is not None else None)


@strawberry.type(description="When a report runs by itself.")
class ReportSchedule:
    cron: str = strawberry.field(description="The cron expression, normalised.")
    timezone: str = strawberry.field(description="The tenant's timezone it is read in.")
    report: strawberry.Private[SavedReport]

    @strawberry.field(description="The next slot the scheduler enqueues (a slot missed while no worker ran runs "
                      "once when one is back).")
    async def next_run_at(self, info: strawberry.Info[Context, None]) -> datetime | None:
        from gateway.resolvers.report import next_run_at

        return await next_run_at(info.context, self.report, self.timezone)


@strawberry.type(description="Who gets each run.")
class ReportRecipients:
    emails: list[str] = strawberry.field(description="Email addresses.")
    webhook_urls: list[str] = strawberry.field(description="Webhook URLs; shown as scheme, host and port only to "
                                               "those who may not edit the report (paths often hold a token).")


@strawberry.type(description="Who else sees a report.")
class ReportSharing:
    roles: list[Role] = strawberry.field(description="Everyone with one of these roles.")
    user_keys: strawberry.Private[tuple[UUID, ...]]

    @strawberry.field(description="These users of the directory (those you may read: admin and viewer see all, "
                      "anyone else only their own entry).")
    async def users(self, info: strawberry.Info[Context, None]) -> list[User]:
        from gateway.resolvers.report import readable_users

        return await readable_users(info.context, list(self.user_keys))


@strawberry.type(description="The one principal a report or a run acts as: its token's subject and roles when "
                 "recorded.")
class ReportPrincipal:
    subject: str = strawberry.field(description="The token's `sub`.")
    roles: list[Role] = strawberry.field(description="Its roles when recorded (a scheduled run reads with the "
                                         "creator's current directory role).")
    user_key: strawberry.Private[UUID | None]

    @strawberry.field(description="Its directory entry, when it is one you may read (admin and viewer: any; "
                      "others: their own).")
    async def user(self, info: strawberry.Info[Context, None]) -> User | None:
        from gateway.resolvers.report import readable_users

        if self.user_key is None:
            return None
        found = await readable_users(info.context, [self.user_key])
        return found[0] if found else None


@strawberry.type(description="A column of a report's table.")
class ReportColumn:
    key: str = strawberry.field(description="Stable key, e.g. `calls_handled`; custom metrics `custom.<name>`.")
    title: str = strawberry.field(description="Heading, e.g. `Calls handled`.")
    kind: ColumnKind = strawberry.field(description="How its values are typed.")


@strawberry.type(description="A summary figure of a report.")
class ReportFigure:
    label: str = strawberry.field(description="What it is, e.g. `Calls handled`.")
    value: JSON | None = strawberry.field(description="Its value (a number, text or an ISO date); null when "
                                          "undefined.")
    kind: ColumnKind = strawberry.field(description="How the value is typed.")


@strawberry.type(description="One row of a report's table, its values in column order.")
class ReportRow:
    index: int = strawberry.field(description="Its position in the table, from 0.")
    values: list[JSON | None] = strawberry.field(description="One value per column: numbers as JSON numbers, "
                                                 "dates and times as ISO 8601 text, null where undefined.")


@strawberry.type(description="A further table of a report: one of its fixed breakdowns (calls by local hour, "
                 "outcomes, score buckets, …).")
class ReportTable:
    key: str = strawberry.field(description="Stable key, e.g. `by_hour`.")
    title: str = strawberry.field(description="Heading.")
    columns: list[ReportColumn] = strawberry.field(description="Its columns.")
    rows: list[ReportRow] = strawberry.field(description="All its rows.")


@strawberry.type(description="Why an execution failed.")
class ReportExecutionError:
    code: str = strawberry.field(description="An error code (README, Error codes): BAD_USER_INPUT, FORBIDDEN or "
                                 "NOT_FOUND fail at once; INTERNAL after the last attempt.")
    message: str = strawberry.field(description="What happened, for people.")


@strawberry.type(description="One recipient's delivery of an execution.")
class ReportDelivery:
    row: strawberry.Private[Delivery]
    shown_recipient: strawberry.Private[str]

    @strawberry.field(description="The email address or webhook URL (a URL shown as in `Report.recipients`).")
    def recipient(self) -> str:
        return self.shown_recipient

    @strawberry.field(description="Email or webhook.")
    def channel(self) -> ReportDeliveryChannel:
        return ReportDeliveryChannel(self.row.channel)

    @strawberry.field(description="Where it stands.")
    def status(self) -> ReportDeliveryStatus:
        return ReportDeliveryStatus(self.row.status)

    @strawberry.field(description="Send attempts so far, across the execution's attempts.")
    def attempts(self) -> int:
        return self.row.attempts

    @strawberry.field(description="The last attempt's error; null when it was sent or not tried.")
    def last_error(self) -> str | None:
        return self.row.last_error

    @strawberry.field(description="When it was last tried.")
    def last_attempt_at(self) -> datetime | None:
        return self.row.last_attempt_at

    @strawberry.field(description="When it was sent.")
    def sent_at(self) -> datetime | None:
        return self.row.sent_at


@strawberry.type(description="A saved report: a report type with its parameters, format, schedule, delivery and "
                 "sharing. Visible to its creator, to the users and roles it is shared with, and to admins.")
class Report(Node):
    row: strawberry.Private[SavedReport]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Report", self.row.id))

    @strawberry.field(description="Its name.")
    def name(self) -> str:
        return self.row.definition.name

    @strawberry.field(description="What it is for.")
    def description(self) -> str:
        return self.row.definition.description

    @strawberry.field(description="What it shows.")
    def type(self) -> ReportType:
        return report_type_of(self.row.definition.report_type)

    @strawberry.field(description="What it runs with.")
    def parameters(self) -> ReportParameters:
        d = self.row.definition
        return parameters_view(params_from_json(d.report_type, dict(d.params)))

    @strawberry.field(description="What its runs are rendered to.")
    def format(self) -> ExportFormat:
        return ExportFormat(self.row.definition.output_format)

    @strawberry.field(description="When it runs by itself; null without a schedule.")
    async def schedule(self, info: strawberry.Info[Context, None]) -> ReportSchedule | None:
        from gateway.resolvers.report import schedule_of

        return await schedule_of(info.context, self.row)

    @strawberry.field(description="When its runs are delivered.")
    def delivery_mode(self) -> ReportDeliveryMode:
        return ReportDeliveryMode(self.row.definition.delivery_mode)

    @strawberry.field(description="Who gets each run.")
    async def recipients(self, info: strawberry.Info[Context, None]) -> ReportRecipients:
        from gateway.resolvers.report import recipients_of

        return await recipients_of(info.context, self.row)

    @strawberry.field(description="Who else sees it.")
    def shared_with(self) -> ReportSharing:
        d = self.row.definition
        return ReportSharing(roles=[Role(r) for r in d.shared_with_roles], user_keys=tuple(d.shared_with_users))

    @strawberry.field(description="Who created it: its scheduled runs read as this principal.")
    def created_by(self) -> ReportPrincipal:
        return principal_view(self.row.created_by)

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When it last changed.")
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field(description="Whether you may change, delete and deliver it: its creator and admins.")
    async def can_edit(self, info: strawberry.Info[Context, None]) -> bool:
        from gateway.resolvers.report import editable

        return await editable(info.context, self.row)

    @strawberry.field(description="Its newest execution, whatever its status; null before the first.")
    async def latest_execution(self, info: strawberry.Info[Context, None]) -> ReportExecution | None:
        from gateway.resolvers.report import latest_execution

        return await latest_execution(info.context, self.row)

    @strawberry.field(description="Its executions, newest first, `first` (default 50, max 200) at a time.")
    async def executions(self, info: strawberry.Info[Context, None], first: int | None = None,
                         after: str | None = None) -> Connection[ReportExecution]:
        from gateway.resolvers.report import executions_of

        return await executions_of(info.context, self.row, first, after)


def principal_view(recorded: RecordedPrincipal) -> ReportPrincipal:
    known = {r.value for r in Role}
    return ReportPrincipal(subject=recorded.subject, roles=[Role(r) for r in recorded.roles if r in known],
                           user_key=recorded.user_id)


@strawberry.type(description="One run of a report (saved or not): its status, and once completed its result. "
                 "It reads as one recorded principal; its outputs (columns, figures, rows, file) are for admins "
                 "and for users whose own scope covers that principal's (FORBIDDEN for anyone else).")
class ReportExecution(Node):
    row: strawberry.Private[Execution]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("ReportExecution", self.row.id))

    @strawberry.field(description="The saved report it ran; null for a definition run without saving.")
    async def report(self, info: strawberry.Info[Context, None]) -> Report | None:
        if self.row.report_id is None:
            return None
        found = await info.context.loaders.saved_reports.report_by_id.load(self.row.report_id)
        return Report(row=found) if found is not None else None

    @strawberry.field(description="What it shows.")
    def type(self) -> ReportType:
        return report_type_of(self.row.report_type)

    @strawberry.field(description="What it ran with (as they were when it was enqueued).")
    def parameters(self) -> ReportParameters:
        return parameters_view(params_from_json(self.row.report_type, self.row.params))

    @strawberry.field(description="What it is rendered to.")
    def format(self) -> ExportFormat:
        return ExportFormat(self.row.output_format)

    @strawberry.field(description="Where it stands.")
    def status(self) -> ReportExecutionStatus:
        return ReportExecutionStatus(self.row.status)

    @strawberry.field(description="Which try this is (0 while it waits for its first); retries after a failure "
                      "or a worker that stopped count up.")
    def attempt(self) -> int:
        return self.row.attempt

    @strawberry.field(description="Why it failed (or why its last attempt did, while a retry waits); null "
                      "otherwise.")
    def error(self) -> ReportExecutionError | None:
        if self.row.error is None:
            return None
        return ReportExecutionError(code=self.row.error_code or "INTERNAL", message=self.row.error)

    @strawberry.field(description="Who it reads as: the requester of an on-demand run, the report's creator for "
                      "a scheduled one.")
    def requested_by(self) -> ReportPrincipal:
        return principal_view(self.row.principal)

    @strawberry.field(description="The schedule slot it runs for; null for an on-demand run.")
    def scheduled_for(self) -> datetime | None:
        return self.row.scheduled_slot

    @strawberry.field(description="When it was enqueued.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When its current (or last) attempt started.")
    def started_at(self) -> datetime | None:
        return self.row.started_at

    @strawberry.field(description="When it completed or failed for good.")
    def finished_at(self) -> datetime | None:
        return self.row.finished_at

    @strawberry.field(description="Whether you may read its outputs (below): admins, and users whose own scope "
                      "covers the scope of the principal it ran as.")
    async def can_read_outputs(self, info: strawberry.Info[Context, None]) -> bool:
        from gateway.resolvers.report import outputs_readable

        return await outputs_readable(info.context, self.row)

    @strawberry.field(description="The result's title; null until completed.")
    async def title(self, info: strawberry.Info[Context, None]) -> str | None:
        header = await _header(info.context, self.row)
        return None if header is None else str(header["title"])

    @strawberry.field(description="The main table's columns; null until completed.")
    async def columns(self, info: strawberry.Info[Context, None]) -> list[ReportColumn] | None:
        header = await _header(info.context, self.row)
        return None if header is None else columns_view(header["columns"])

    @strawberry.field(description="The summary figures; null until completed.")
    async def summary(self, info: strawberry.Info[Context, None]) -> list[ReportFigure] | None:
        header = await _header(info.context, self.row)
        if header is None:
            return None
        figures = []
        for f in header["summary"]:
            kind = ColumnKind(f["kind"])
            figures.append(ReportFigure(label=f["label"], value=value_of(f["value"], kind), kind=kind))
        return figures

    @strawberry.field(description="The further tables (the report's fixed breakdowns); null until completed.")
    async def tables(self, info: strawberry.Info[Context, None]) -> list[ReportTable] | None:
        header = await _header(info.context, self.row)
        if header is None:
            return None
        tables = []
        for t in header.get("tables", ()):
            columns = columns_view(t["columns"])
            kinds = [c.kind for c in columns]
            tables.append(ReportTable(key=t["key"], title=t["title"], columns=columns,
                                      rows=[row_view(i, r, kinds) for i, r in enumerate(t["rows"])]))
        return tables

    @strawberry.field(description="Rows in the main table; null until completed.")
    async def row_count(self, info: strawberry.Info[Context, None]) -> int | None:
        header = await _header(info.context, self.row)
        return None if header is None else self.row.row_count

    @strawberry.field(description="The main table's stored rows in order, `first` (default 50, max 200) at a time; "
                      "null until completed.")
    async def rows(self, info: strawberry.Info[Context, None], first: int | None = None,
                   after: str | None = None) -> Connection[ReportRow] | None:
        from gateway.resolvers.report import result_rows

        return await result_rows(info.context, self.row, first, after)

    @strawberry.field(description="Where the file is exported (`GET`, with your token): the path of "
                      "`/api/v1/analytics/executions/{id}.{json|csv|pdf}`, in its own format unless `format` "
                      "names another; null until completed.")
    async def download_url(self, info: strawberry.Info[Context, None],
                           format: ExportFormat | None = None) -> str | None:
        header = await _header(info.context, self.row)
        if header is None:
            return None
        chosen = format.value if format is not None else self.row.output_format
        return f"/api/v1/analytics/executions/{self.row.id}.{chosen}"

    @strawberry.field(description="One per recipient, once it has been delivered to (or skipped).")
    async def deliveries(self, info: strawberry.Info[Context, None]) -> list[ReportDelivery]:
        from gateway.resolvers.report import deliveries_of

        return await deliveries_of(info.context, self.row)


async def _header(context: Context, execution: Execution) -> dict[str, Any] | None:
    """The result's header once completed (None before); FORBIDDEN for a reader its outputs are not for."""
    from gateway.resolvers.report import require_outputs

    await require_outputs(context, execution)
    if execution.status != "completed" or execution.summary is None:
        return None
    return execution.summary


def columns_view(raw: list[dict[str, str]]) -> list[ReportColumn]:
    return [ReportColumn(key=c["key"], title=c["title"], kind=ColumnKind(c["kind"])) for c in raw]


def row_view(index: int, values: list[Any], kinds: list[ColumnKind]) -> ReportRow:
    return ReportRow(index=index, values=[value_of(v, k) for v, k in zip(values, kinds, strict=True)])


def value_of(stored: Any, kind: ColumnKind) -> Any:
    """A stored value as the API shows it: decimals (stored as text) as numbers, the rest as stored JSON."""
    if kind in DECIMAL_KINDS and isinstance(stored, str):
        try:
            return float(Decimal(stored))
        except InvalidOperation:
            return stored
    if isinstance(stored, date | datetime):
        return stored.isoformat()
    return stored
