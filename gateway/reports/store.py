"""SQL for saved reports, executions, their result and file chunks, and their deliveries.

Saved reports and execution reads run on the request path (a TenantSession: RLS applies); a worker's writes run
on the maintenance path and are fenced by the attempt that makes them (gateway/reports/queue.py). A result is
never one value: rows are stored in chunks of CHUNK_ROWS, the rendered file in pieces of up to FILE_PIECE
bytes, and both are read back as streams.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Protocol
from uuid import UUID

import orjson

from gateway.db import Conn, TenantSession
from gateway.reports.queue import (
    CHANNEL,
    DELIVERY_MODES,
    FORMATS,
    NOTIFY,
    Job,
    NewExecution,
    Recipient,
    RecordedPrincipal,
)
from gateway.reports.result import (
    Chart,
    ChartKind,
    Column,
    ColumnKind,
    ReportResult,
    Row,
    SummaryFigure,
    Table,
    chunks_of,
)
from gateway.reports.scheduler import validate_cron

CHUNK_ROWS: Final = 1000
FILE_PIECE: Final = 1024 * 1024
ROLES_TO_SHARE: Final = ("admin", "manager", "agent", "viewer")

REPORT_COLUMNS: Final = """tenant_id, id, name, description, report_type, params, output_format, schedule_cron,
delivery_mode, recipients, shared_with_users, shared_with_roles, created_by, created_by_user, created_by_roles,
updated_by, created_at, updated_at, schedule_since, last_slot, next_run_at"""

INSERT_REPORT: Final = f"""
INSERT INTO custom_reports (tenant_id, name, description, report_type, params, output_format, schedule_cron,
                            delivery_mode, recipients, shared_with_users, shared_with_roles, created_by,
                            created_by_user, created_by_roles, created_at, updated_at, schedule_since)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::timestamptz, $15::timestamptz,
        CASE WHEN $7::text IS NULL THEN NULL ELSE $15::timestamptz END)
RETURNING {REPORT_COLUMNS}
"""  # noqa: S608 - constant columns
# A changed schedule starts afresh from the edit: no slot before it runs, the bookkeeping is recomputed.
UPDATE_REPORT: Final = f"""
UPDATE custom_reports
SET name = $3, description = $4, report_type = $5, params = $6, output_format = $7, schedule_cron = $8,
    delivery_mode = $9, recipients = $10, shared_with_users = $11, shared_with_roles = $12, updated_by = $13,
    updated_at = $14::timestamptz,
    schedule_since = CASE WHEN $8::text IS NULL THEN NULL
                          WHEN schedule_cron IS DISTINCT FROM $8 THEN $14::timestamptz ELSE schedule_since END,
    last_slot = CASE WHEN schedule_cron IS DISTINCT FROM $8 THEN NULL ELSE last_slot END,
    next_run_at = CASE WHEN schedule_cron IS DISTINCT FROM $8 THEN NULL ELSE next_run_at END
WHERE tenant_id = $1 AND id = $2
RETURNING {REPORT_COLUMNS}
"""  # noqa: S608 - constant columns
REPORT_BY_ID: Final = f"""
SELECT {REPORT_COLUMNS} FROM custom_reports WHERE tenant_id = $1 AND id = $2
"""  # noqa: S608 - constant columns
# The row an edit starts from, locked until the operation commits: a concurrent edit waits, then merges its own
# fields into this one's result instead of overwriting it.
REPORT_FOR_UPDATE: Final = f"""
SELECT {REPORT_COLUMNS} FROM custom_reports WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE
"""  # noqa: S608 - constant columns
DELETE_REPORT: Final = "DELETE FROM custom_reports WHERE tenant_id = $1 AND id = $2 RETURNING id"
# Visible to admins, the creator, and the users and roles it is shared with; by name, then id (keyset).
VISIBLE_REPORTS: Final = f"""
SELECT {REPORT_COLUMNS} FROM custom_reports
WHERE tenant_id = $1
  AND ($2 OR created_by = $3 OR ($4::uuid IS NOT NULL AND ($4 = created_by_user OR $4 = any(shared_with_users)))
       OR shared_with_roles && $5::text[])
  AND ($6::text IS NULL OR (name, id) > ($6, $7::uuid))
ORDER BY name, id
LIMIT $8
"""  # noqa: S608 - constant columns

# How many reports VISIBLE_REPORTS lists, under the same conditions (the list's totalCount).
VISIBLE_REPORTS_COUNT: Final = """
SELECT count(*) FROM custom_reports
WHERE tenant_id = $1
  AND ($2 OR created_by = $3 OR ($4::uuid IS NOT NULL AND ($4 = created_by_user OR $4 = any(shared_with_users)))
       OR shared_with_roles && $5::text[])
"""

# The request path's writes (GraphQL): ids minted from the transaction and times read from its start (now()),
# neither drawn at random nor read from the clock, so a transaction that runs an operation twice from one
# savepoint (the shadow executor's reference run, rolled back) writes the same both times. The counter is
# transaction-local and undone with a rolled-back savepoint: ids stay unique within the transaction, and no two
# transactions share an id (pg_current_xact_id).
MINTED_ID: Final = """md5(concat_ws(':', $1::uuid::text, pg_current_xact_id()::text, extract(epoch FROM now())::text,
    set_config('callpulse.minted_ids',
               (coalesce(nullif(current_setting('callpulse.minted_ids', true), ''), '0')::int + 1)::text, true)
))::uuid"""
INSERT_REPORT_NOW: Final = f"""
INSERT INTO custom_reports (tenant_id, id, name, description, report_type, params, output_format, schedule_cron,
                            delivery_mode, recipients, shared_with_users, shared_with_roles, created_by,
                            created_by_user, created_by_roles, created_at, updated_at, schedule_since)
VALUES ($1, {MINTED_ID}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now(), now(),
        CASE WHEN $7::text IS NULL THEN NULL ELSE now() END)
RETURNING {REPORT_COLUMNS}
"""  # noqa: S608 - constant columns
# A deleted report takes its executions with it (ON DELETE CASCADE): those still waiting or running say so to
# whoever follows their status, at the commit, with the status `deleted`.
NOTIFY_DELETED: Final = """
SELECT pg_notify($3, json_build_object('tenant', tenant_id, 'execution', id, 'status', 'deleted',
                                       'attempt', attempt)::text)
FROM report_executions
WHERE tenant_id = $1 AND report_id = $2 AND status IN ('pending', 'processing')
"""

EXECUTION_COLUMNS: Final = """tenant_id, id, report_id, report_type, params, output_format, delivery_mode,
recipients, principal, status, attempt, max_attempts, available_at, lease_owner, lease_expires_at, scheduled_slot,
error_code, error, summary, row_count, result_hash, result_attempt, file_name, content_type, file_bytes,
created_at, started_at, finished_at"""
# On demand (runReport, runReportDefinition): pending at once.
ENQUEUE_NOW: Final = f"""
INSERT INTO report_executions (tenant_id, id, report_id, report_type, params, output_format, delivery_mode,
                               recipients, principal, max_attempts, available_at, created_at)
VALUES ($1, {MINTED_ID}, $2, $3, $4, $5, $6, $7, $8, $9, now(), now())
RETURNING {EXECUTION_COLUMNS}
"""  # noqa: S608 - constant columns
EXECUTION_BY_ID: Final = f"""
SELECT {EXECUTION_COLUMNS} FROM report_executions WHERE tenant_id = $1 AND id = $2
"""  # noqa: S608 - constant columns
# Newest first (keyset on created_at, id); $2 narrows to one saved report.
EXECUTIONS: Final = f"""
SELECT {EXECUTION_COLUMNS} FROM report_executions
WHERE tenant_id = $1 AND ($2::uuid IS NULL OR report_id = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $5
"""  # noqa: S608 - constant columns
LATEST_COMPLETED: Final = f"""
SELECT {EXECUTION_COLUMNS} FROM report_executions
WHERE tenant_id = $1 AND report_id = $2 AND status = 'completed'
ORDER BY finished_at DESC, id DESC
LIMIT 1
"""  # noqa: S608 - constant columns
# The last completed run's result of the same saved report: `only_changed` delivers when this differs.
PREVIOUS_HASH: Final = """
SELECT result_hash FROM report_executions
WHERE tenant_id = $1 AND report_id = $2 AND id <> $3 AND status = 'completed' AND result_hash IS NOT NULL
ORDER BY finished_at DESC, id DESC
LIMIT 1
"""

# Fenced: written only while the execution is still this attempt's, and the row share-locked meanwhile, so a
# newer claim (or the end of the run) waits for the write, or the write sees it and writes nothing.
INSERT_ROWS_CHUNK: Final = """
INSERT INTO report_execution_chunks (tenant_id, execution_id, attempt, kind, seq, row_count, rows)
SELECT e.tenant_id, e.id, e.attempt, 'rows', $4, $5, $6::text::jsonb
FROM report_executions e
WHERE e.tenant_id = $1 AND e.id = $2 AND e.attempt = $3 AND e.status = 'processing'
FOR SHARE
RETURNING seq
"""
INSERT_FILE_PIECE: Final = """
INSERT INTO report_execution_chunks (tenant_id, execution_id, attempt, kind, seq, data)
SELECT e.tenant_id, e.id, e.attempt, 'file', $4, $5
FROM report_executions e
WHERE e.tenant_id = $1 AND e.id = $2 AND e.attempt = $3 AND e.status = 'processing'
FOR SHARE
RETURNING seq
"""
DROP_KIND: Final = """
DELETE FROM report_execution_chunks WHERE tenant_id = $1 AND execution_id = $2 AND attempt = $3 AND kind = $4
"""
# Read one chunk at a time by key: memory holds one chunk whatever the result's size.
ROWS_CHUNK: Final = """
SELECT rows::text FROM report_execution_chunks
WHERE tenant_id = $1 AND execution_id = $2 AND attempt = $3 AND kind = 'rows' AND seq = $4
"""
FILE_PIECE_AT: Final = """
SELECT data FROM report_execution_chunks
WHERE tenant_id = $1 AND execution_id = $2 AND attempt = $3 AND kind = 'file' AND seq = $4
"""

# Made once per recipient (the first attempt that delivers): later attempts find the same delivery_id.
ENSURE_DELIVERIES: Final = """
INSERT INTO report_deliveries (tenant_id, execution_id, channel, recipient, delivery_id, created_at)
SELECT e.tenant_id, e.id, r.channel, r.recipient, r.delivery_id, $7
FROM report_executions e, unnest($4::text[], $5::text[], $6::uuid[]) AS r(channel, recipient, delivery_id)
WHERE e.tenant_id = $1 AND e.id = $2 AND e.attempt = $3 AND e.status = 'processing'
ON CONFLICT (tenant_id, execution_id, channel, recipient) DO NOTHING
"""
DELIVERY_COLUMNS: Final = """execution_id, channel, recipient, delivery_id, status, attempts, last_error,
last_attempt_at, next_attempt_at, sent_at, created_at"""
DELIVERIES: Final = f"""
SELECT {DELIVERY_COLUMNS} FROM report_deliveries
WHERE tenant_id = $1 AND execution_id = $2
ORDER BY channel, recipient
"""  # noqa: S608 - constant columns
# A send is started only while the attempt holds the execution; it counts as an attempt from then on.
START_SEND: Final = """
UPDATE report_deliveries d
SET attempts = d.attempts + 1, last_attempt_at = $6, next_attempt_at = NULL
FROM report_executions e
WHERE d.tenant_id = $1 AND d.execution_id = $2 AND d.channel = $4 AND d.recipient = $5
  AND e.tenant_id = d.tenant_id AND e.id = d.execution_id AND e.attempt = $3 AND e.status = 'processing'
  AND d.status = 'pending'
RETURNING d.attempts
"""
# $6: sent | pending (another try at $8) | failed | skipped.
END_SEND: Final = """
UPDATE report_deliveries d
SET status = $6, last_error = $7, next_attempt_at = $8, sent_at = CASE WHEN $6 = 'sent' THEN $9::timestamptz END
FROM report_executions e
WHERE d.tenant_id = $1 AND d.execution_id = $2 AND d.channel = $4 AND d.recipient = $5
  AND e.tenant_id = d.tenant_id AND e.id = d.execution_id AND e.attempt = $3 AND e.status = 'processing'
RETURNING d.status
"""


class Stale(Exception):
    """A fenced write was refused: the execution belongs to a newer attempt now, or has ended."""


class _Session(Protocol):
    async def fetch(self, query: str, *args: object) -> list[Any]: ...
    async def fetchrow(self, query: str, *args: object) -> Any: ...
    async def fetchval(self, query: str, *args: object) -> Any: ...


# Saved reports ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportDefinition:
    """What a saved report says, as created or edited (validated here, the report type's params by its type)."""

    name: str
    report_type: str
    output_format: str = "json"
    params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    schedule_cron: str | None = None
    delivery_mode: str = "always"
    recipients: Sequence[Recipient] = ()
    shared_with_users: Sequence[UUID] = ()
    shared_with_roles: Sequence[str] = ()

    def checked(self) -> ReportDefinition:
        """The definition with its schedule normalised; ValueError or BadUserInput names what is wrong."""
        if self.output_format not in FORMATS:
            raise ValueError(f"output format must be one of {', '.join(FORMATS)}")
        if self.delivery_mode not in DELIVERY_MODES:
            raise ValueError(f"delivery mode must be one of {', '.join(DELIVERY_MODES)}")
        unknown = [r for r in self.shared_with_roles if r not in ROLES_TO_SHARE]
        if unknown:
            raise ValueError(f"cannot share with the roles {unknown}: one of {', '.join(ROLES_TO_SHARE)}")
        cron = None if self.schedule_cron is None else validate_cron(self.schedule_cron)
        return ReportDefinition(name=self.name, report_type=self.report_type, output_format=self.output_format,
                                params=self.params, description=self.description, schedule_cron=cron,
                                delivery_mode=self.delivery_mode, recipients=tuple(self.recipients),
                                shared_with_users=tuple(self.shared_with_users),
                                shared_with_roles=tuple(self.shared_with_roles))


@dataclass(frozen=True)
class SavedReport:
    tenant_id: UUID
    id: UUID
    definition: ReportDefinition
    created_by: RecordedPrincipal
    updated_by: str | None
    created_at: datetime
    updated_at: datetime
    last_slot: datetime | None
    next_run_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> SavedReport:
        definition = ReportDefinition(
            name=row["name"], report_type=row["report_type"], output_format=row["output_format"],
            params=dict(row["params"]), description=row["description"], schedule_cron=row["schedule_cron"],
            delivery_mode=row["delivery_mode"], recipients=tuple(Recipient.from_json(r) for r in row["recipients"]),
            shared_with_users=tuple(row["shared_with_users"]), shared_with_roles=tuple(row["shared_with_roles"]))
        creator = RecordedPrincipal(subject=row["created_by"], roles=tuple(row["created_by_roles"]),
                                    user_id=row["created_by_user"])
        return cls(tenant_id=row["tenant_id"], id=row["id"], definition=definition, created_by=creator,
                   updated_by=row["updated_by"], created_at=row["created_at"], updated_at=row["updated_at"],
                   last_slot=row["last_slot"], next_run_at=row["next_run_at"])


def _definition_args(d: ReportDefinition) -> tuple[object, ...]:
    return (d.name, d.description, d.report_type, _plain(dict(d.params)), d.output_format, d.schedule_cron,
            d.delivery_mode, [r.to_json() for r in d.recipients], list(d.shared_with_users),
            list(d.shared_with_roles))


async def create_report(db: TenantSession, creator: RecordedPrincipal, definition: ReportDefinition,
                        now: datetime) -> SavedReport:
    d = definition.checked()
    row = await db.fetchrow(INSERT_REPORT, db.tenant_id, *_definition_args(d), creator.subject, creator.user_id,
                            list(creator.roles), now)
    return SavedReport.of(row)


async def create_report_now(db: TenantSession, creator: RecordedPrincipal,
                            definition: ReportDefinition) -> SavedReport:
    """create_report for the request path: a minted id and the transaction's time (INSERT_REPORT_NOW)."""
    d = definition.checked()
    row = await db.fetchrow(INSERT_REPORT_NOW, db.tenant_id, *_definition_args(d), creator.subject, creator.user_id,
                            list(creator.roles))
    return SavedReport.of(row)


async def report_for_update(db: TenantSession, report_id: UUID) -> SavedReport | None:
    row = await db.fetchrow(REPORT_FOR_UPDATE, db.tenant_id, report_id)
    return None if row is None else SavedReport.of(row)


async def update_report(db: TenantSession, report_id: UUID, definition: ReportDefinition, updated_by: str,
                        now: datetime) -> SavedReport | None:
    d = definition.checked()
    name, description, report_type, params, output_format, cron, mode, recipients, users, roles = \
        _definition_args(d)
    row = await db.fetchrow(UPDATE_REPORT, db.tenant_id, report_id, name, description, report_type, params,
                            output_format, cron, mode, recipients, users, roles, updated_by, now)
    return None if row is None else SavedReport.of(row)


async def report_by_id(db: _Session, tenant_id: UUID, report_id: UUID) -> SavedReport | None:
    row = await db.fetchrow(REPORT_BY_ID, tenant_id, report_id)
    return None if row is None else SavedReport.of(row)


async def delete_report(db: TenantSession, report_id: UUID) -> bool:
    """Deletes the report with its executions, their results and deliveries."""
    return await db.fetchval(DELETE_REPORT, db.tenant_id, report_id) is not None


async def delete_report_notifying(db: TenantSession, report_id: UUID) -> bool:
    """delete_report, after telling the followers of its unfinished executions (NOTIFY_DELETED, at the commit)."""
    await db.fetch(NOTIFY_DELETED, db.tenant_id, report_id, CHANNEL)
    return await delete_report(db, report_id)


@dataclass(frozen=True)
class Viewer:
    """Who looks at saved reports: admins see all, others their own and those shared with them."""

    subject: str
    roles: frozenset[str]
    user_id: UUID | None = None

    @property
    def admin(self) -> bool:
        return "admin" in self.roles


async def visible_reports(db: TenantSession, viewer: Viewer, *, limit: int,
                          after: tuple[str, UUID] | None = None) -> list[SavedReport]:
    rows = await db.fetch(VISIBLE_REPORTS, db.tenant_id, viewer.admin, viewer.subject, viewer.user_id,
                          sorted(viewer.roles), None if after is None else after[0],
                          None if after is None else after[1], limit)
    return [SavedReport.of(r) for r in rows]


async def visible_count(db: TenantSession, viewer: Viewer) -> int:
    count: int = await db.fetchval(VISIBLE_REPORTS_COUNT, db.tenant_id, viewer.admin, viewer.subject,
                                   viewer.user_id, sorted(viewer.roles))
    return count


def can_see(report: SavedReport, viewer: Viewer) -> bool:
    """The same rule as VISIBLE_REPORTS, for one report already read."""
    d = report.definition
    return (viewer.admin or report.created_by.subject == viewer.subject
            or (viewer.user_id is not None
                and (viewer.user_id == report.created_by.user_id or viewer.user_id in d.shared_with_users))
            or bool(viewer.roles & set(d.shared_with_roles)))


# Executions ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Execution:
    tenant_id: UUID
    id: UUID
    report_id: UUID | None
    report_type: str
    params: dict[str, Any]
    output_format: str
    delivery_mode: str
    recipients: tuple[Recipient, ...]
    principal: RecordedPrincipal
    status: str
    attempt: int
    max_attempts: int
    available_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    scheduled_slot: datetime | None
    error_code: str | None
    error: str | None
    summary: dict[str, Any] | None
    row_count: int | None
    result_hash: str | None
    result_attempt: int | None
    file_name: str | None
    content_type: str | None
    file_bytes: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Execution:
        values = dict(row)
        values["recipients"] = tuple(Recipient.from_json(r) for r in row["recipients"])
        values["principal"] = RecordedPrincipal.from_json(row["principal"])
        values["params"] = dict(row["params"])
        return cls(**values)


async def enqueue_now(db: TenantSession, new: NewExecution, *, max_attempts: int) -> Execution:
    """queue.enqueue for the request path (a minted id, the transaction's time), read back whole; its `pending`
    is announced on the queue's channel at the commit, as every later transition is."""
    if new.output_format not in FORMATS:
        raise ValueError(f"unknown output format {new.output_format!r}")
    if new.delivery_mode not in DELIVERY_MODES:
        raise ValueError(f"unknown delivery mode {new.delivery_mode!r}")
    row = await db.fetchrow(ENQUEUE_NOW, db.tenant_id, new.report_id, new.report_type, _plain(dict(new.params)),
                            new.output_format, new.delivery_mode, [r.to_json() for r in new.recipients],
                            new.principal.to_json(), max_attempts)
    execution = Execution.of(row)
    payload = {"tenant": str(execution.tenant_id), "execution": str(execution.id), "status": execution.status,
               "attempt": execution.attempt}
    await db.execute(NOTIFY, CHANNEL, orjson.dumps(payload).decode())
    return execution


async def execution_by_id(db: _Session, tenant_id: UUID, execution_id: UUID) -> Execution | None:
    row = await db.fetchrow(EXECUTION_BY_ID, tenant_id, execution_id)
    return None if row is None else Execution.of(row)


async def executions(db: _Session, tenant_id: UUID, *, limit: int, report_id: UUID | None = None,
                     before: tuple[datetime, UUID] | None = None) -> list[Execution]:
    """Newest first; `before` is the (created_at, id) of the last one of the previous page."""
    rows = await db.fetch(EXECUTIONS, tenant_id, report_id, None if before is None else before[0],
                          None if before is None else before[1], limit)
    return [Execution.of(r) for r in rows]


async def latest_completed(db: _Session, tenant_id: UUID, report_id: UUID) -> Execution | None:
    row = await db.fetchrow(LATEST_COMPLETED, tenant_id, report_id)
    return None if row is None else Execution.of(row)


async def previous_hash(conn: Conn, job: Job) -> str | None:
    if job.report_id is None:
        return None
    value: str | None = await conn.fetchval(PREVIOUS_HASH, job.tenant_id, job.report_id, job.id)
    return value


# Results: rows and the file, in chunks ---------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-ready values (the pool's jsonb codec is the standard library's)."""
    return orjson.loads(orjson.dumps(value, default=_default))


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def result_header(result: ReportResult) -> dict[str, Any]:
    """Everything of a result but its rows: kept on the execution as `summary`."""
    return {
        "title": result.title,
        "parameters": [[k, v] for k, v in result.parameters],
        "summary": [{"label": f.label, "value": _plain(f.value), "kind": f.kind.value} for f in result.summary],
        "columns": _columns(result.columns),
        "charts": [{"kind": c.kind.value, "title": c.title, "label": c.label, "values": list(c.values),
                    "table": c.table} for c in result.charts],
        # The further tables are small (fixed breakdowns): kept whole with the header.
        "tables": [{"key": t.key, "title": t.title, "columns": _columns(t.columns),
                    "rows": _plain([list(r) for r in t.rows])} for t in result.tables],
    }


def _columns(columns: Sequence[Column]) -> list[dict[str, str]]:
    return [{"key": c.key, "title": c.title, "kind": c.kind.value} for c in columns]


def _typed(value: Any, kind: ColumnKind) -> object:
    if value is None:
        return None
    if kind is ColumnKind.DATE and isinstance(value, str):
        return date.fromisoformat(value)
    if kind is ColumnKind.DATETIME and isinstance(value, str):
        return datetime.fromisoformat(value)
    if kind in (ColumnKind.MONEY, ColumnKind.NUMBER, ColumnKind.RATIO, ColumnKind.SECONDS) and isinstance(value, str):
        return Decimal(value)
    return value


def _stored_columns(raw: Sequence[Mapping[str, str]]) -> list[Column]:
    return [Column(c["key"], c["title"], ColumnKind(c["kind"])) for c in raw]


def header_result(header: Mapping[str, Any], rows: list[Row]) -> ReportResult:
    """A result rebuilt from its stored header and (some of) its rows."""
    summary = [SummaryFigure(f["label"], _typed(f["value"], ColumnKind(f["kind"])), ColumnKind(f["kind"]))
               for f in header["summary"]]
    charts = [Chart(ChartKind(c["kind"]), c["title"], c["label"], tuple(c["values"]), c.get("table"))
              for c in header["charts"]]
    tables = []
    for t in header.get("tables", ()):
        columns = _stored_columns(t["columns"])
        typed = [tuple(_typed(v, c.kind) for v, c in zip(r, columns, strict=True)) for r in t["rows"]]
        tables.append(Table(t["key"], t["title"], columns, typed))
    return ReportResult(title=header["title"], parameters=[(str(k), str(v)) for k, v in header["parameters"]],
                        summary=summary, columns=_stored_columns(header["columns"]), rows=rows, charts=charts,
                        tables=tables)


@dataclass(frozen=True)
class StoredResult:
    header: dict[str, Any]
    row_count: int
    result_hash: str


async def write_result(conn: Conn, job: Job, result: ReportResult,
                       row_chunks: AsyncIterable[Sequence[Row]] | None = None) -> StoredResult:
    """The result's rows (`result.rows`, or streamed from `row_chunks`) in chunks of CHUNK_ROWS for this attempt,
    with its header and hash; Stale when fenced out. Streamed rows are written as they come: one chunk in memory."""
    header = result_header(result)
    digest = hashlib.sha256()
    # Only what the data says goes into the hash (not the title or the parameters' wording); chunks are cut at
    # the same rows however the rows arrived, so equal results hash alike.
    digest.update(orjson.dumps([header["columns"], header["summary"], header["tables"]]))
    await conn.execute(DROP_KIND, job.tenant_id, job.id, job.attempt, "rows")
    count = seq = 0
    buffer: list[Sequence[object]] = []

    async def flush() -> None:
        nonlocal count, seq
        encoded = orjson.dumps([list(r) for r in buffer], default=_default)
        digest.update(encoded)
        if await conn.fetchval(INSERT_ROWS_CHUNK, job.tenant_id, job.id, job.attempt, seq, len(buffer),
                               encoded.decode()) is None:
            raise Stale(f"execution {job.id}: attempt {job.attempt} is no longer current")
        count += len(buffer)
        seq += 1
        buffer.clear()

    async for chunk in (chunks_of(result.rows, CHUNK_ROWS) if row_chunks is None else row_chunks):
        for row in chunk:
            buffer.append(row)
            if len(buffer) == CHUNK_ROWS:
                await flush()
    if buffer:
        await flush()
    return StoredResult(header=header, row_count=count, result_hash=digest.hexdigest())


async def write_file(conn: Conn, job: Job, pieces: AsyncIterator[bytes]) -> int:
    """The rendered file for this attempt, in pieces of at most FILE_PIECE bytes; its size. Stale when fenced."""
    await conn.execute(DROP_KIND, job.tenant_id, job.id, job.attempt, "file")
    size = seq = 0
    buffer = bytearray()

    async def flush(data: bytes) -> None:
        nonlocal seq
        if await conn.fetchval(INSERT_FILE_PIECE, job.tenant_id, job.id, job.attempt, seq, data) is None:
            raise Stale(f"execution {job.id}: attempt {job.attempt} is no longer current")
        seq += 1

    async for piece in pieces:
        size += len(piece)
        buffer += piece
        while len(buffer) >= FILE_PIECE:
            await flush(bytes(buffer[:FILE_PIECE]))
            del buffer[:FILE_PIECE]
    if buffer or seq == 0:
        await flush(bytes(buffer))
    return size


async def stream_rows(db: _Session, tenant_id: UUID, execution_id: UUID, attempt: int,
                      kinds: Sequence[ColumnKind] | None = None) -> AsyncIterator[list[Row]]:
    """The stored rows of one attempt, a chunk at a time, typed by `kinds` (the columns' kinds) when given."""
    seq = 0
    while True:
        text = await db.fetchval(ROWS_CHUNK, tenant_id, execution_id, attempt, seq)
        if text is None:
            return
        chunk = orjson.loads(text)
        if kinds is None:
            yield [tuple(r) for r in chunk]
        else:
            yield [tuple(_typed(v, k) for v, k in zip(r, kinds, strict=True)) for r in chunk]
        seq += 1


async def stream_file(db: _Session, tenant_id: UUID, execution_id: UUID, attempt: int) -> AsyncIterator[bytes]:
    """The stored file of one attempt, a piece at a time."""
    seq = 0
    while True:
        data = await db.fetchval(FILE_PIECE_AT, tenant_id, execution_id, attempt, seq)
        if data is None:
            return
        yield bytes(data)
        seq += 1


async def load_result(db: _Session, execution: Execution) -> ReportResult | None:
    """A completed execution's whole result in memory (for small results; large ones are streamed)."""
    if execution.status != "completed" or execution.summary is None or execution.result_attempt is None:
        return None
    kinds = [ColumnKind(c["kind"]) for c in execution.summary["columns"]]
    rows: list[Row] = []
    async for chunk in stream_rows(db, execution.tenant_id, execution.id, execution.result_attempt, kinds):
        rows.extend(chunk)
    return header_result(execution.summary, rows)


# Deliveries ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    execution_id: UUID
    channel: str
    recipient: str
    delivery_id: UUID
    status: str
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> Delivery:
        return cls(**dict(row))


async def ensure_deliveries(conn: Conn, job: Job, identities: Sequence[UUID], now: datetime) -> list[Delivery]:
    """One delivery per recipient (`identities` in recipient order), made by the first attempt that delivers;
    every later attempt finds the same."""
    await conn.execute(ENSURE_DELIVERIES, job.tenant_id, job.id, job.attempt,
                       [r.channel for r in job.recipients], [r.address for r in job.recipients], list(identities),
                       now)
    return await deliveries(conn, job.tenant_id, job.id)


async def deliveries(db: _Session, tenant_id: UUID, execution_id: UUID) -> list[Delivery]:
    return [Delivery.of(r) for r in await db.fetch(DELIVERIES, tenant_id, execution_id)]


async def start_send(conn: Conn, job: Job, delivery: Delivery, now: datetime) -> int:
    """Counts a send attempt before it starts; its number. Stale when the attempt no longer holds the run."""
    attempts: int | None = await conn.fetchval(START_SEND, job.tenant_id, job.id, job.attempt, delivery.channel,
                                               delivery.recipient, now)
    if attempts is None:
        raise Stale(f"execution {job.id}: attempt {job.attempt} may no longer send")
    return attempts


async def end_send(conn: Conn, job: Job, delivery: Delivery, *, status: str, error: str | None,
                   retry_at: datetime | None, now: datetime) -> None:
    if await conn.fetchval(END_SEND, job.tenant_id, job.id, job.attempt, delivery.channel, delivery.recipient,
                           status, None if error is None else error[:2000], retry_at, now) is None:
        raise Stale(f"execution {job.id}: attempt {job.attempt} is no longer current")
