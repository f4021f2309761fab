"""Saved reports and their executions for the graph: by id, each report's latest run and runs, the visible
executions, their deliveries and stored result rows, all batched; the SQL beside them, the rows shaped by
gateway/reports/store.py."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import orjson

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader, in_key_order
from gateway.loaders._keyset import Order, keyset_page, page_statements, parse_timestamp
from gateway.loaders._lateral import Related, relation_sql
from gateway.reports.store import (
    DELIVERY_COLUMNS,
    EXECUTION_COLUMNS,
    REPORT_COLUMNS,
    Delivery,
    Execution,
    SavedReport,
)

REPORTS_BY_ID: Final = f"""
SELECT {REPORT_COLUMNS} FROM custom_reports WHERE tenant_id = $1 AND id = any($2::uuid[])
"""  # noqa: S608 - constant columns
EXECUTIONS_BY_ID: Final = f"""
SELECT {EXECUTION_COLUMNS} FROM report_executions WHERE tenant_id = $1 AND id = any($2::uuid[])
"""  # noqa: S608 - constant columns
# Each report's newest execution, whatever its status (index report_executions_tenant_report).
LATEST_BY_REPORT: Final = f"""
SELECT DISTINCT ON (report_id) {EXECUTION_COLUMNS}
FROM report_executions
WHERE tenant_id = $1 AND report_id = any($2::uuid[])
ORDER BY report_id, created_at DESC, id DESC
"""  # noqa: S608 - constant columns
DELIVERIES_BY_EXECUTION: Final = f"""
SELECT {DELIVERY_COLUMNS} FROM report_deliveries
WHERE tenant_id = $1 AND execution_id = any($2::uuid[])
ORDER BY execution_id, channel, recipient
"""  # noqa: S608 - constant columns
# Stored row chunks by (execution, attempt, seq), through the chunks' primary key.
ROW_CHUNKS: Final = """
SELECT c.execution_id, c.attempt, c.seq, c.rows::text AS rows
FROM unnest($2::uuid[], $3::int[], $4::int[]) AS k(execution_id, attempt, seq)
JOIN report_execution_chunks c ON c.tenant_id = $1 AND c.execution_id = k.execution_id AND c.attempt = k.attempt
     AND c.kind = 'rows' AND c.seq = k.seq
"""
# The operation's "now": the transaction's start, the same for every read of the operation (and for the
# shadow executor's reference run, which shares the transaction).
TRANSACTION_NOW: Final = "SELECT now()"


class ExecutionOrder(enum.Enum):
    """Executions are listed newest first; the one order, named in cursors."""

    CREATED_AT_DESC = "created_at_desc"


ORDERS: Final = {ExecutionOrder.CREATED_AT_DESC: Order("created_at", "timestamptz", True, parse_timestamp)}

# The executions a viewer may see: all for an admin ($4); else those of the saved reports visible to the viewer
# (store.VISIBLE_REPORTS' rule, $5 subject, $6 directory user, $7 roles) and the viewer's own runs of unsaved
# definitions. $2 narrows to a status, $3 to one report.
_VISIBLE_EXECUTIONS: Final = """
WHERE tenant_id = $1
  AND ($2::text IS NULL OR status = $2)
  AND ($3::uuid IS NULL OR report_id = $3)
  AND ($4 OR (report_id IS NULL AND principal ->> 'subject' = $5)
       OR EXISTS (SELECT FROM custom_reports r
                  WHERE r.tenant_id = report_executions.tenant_id AND r.id = report_executions.report_id
                    AND (r.created_by = $5
                         OR ($6::uuid IS NOT NULL AND ($6 = r.created_by_user OR $6 = any(r.shared_with_users)))
                         OR r.shared_with_roles && $7::text[])))
"""
EXECUTIONS_PAGE: Final = page_statements(
    f"SELECT {EXECUTION_COLUMNS}, {{sort}} FROM report_executions {_VISIBLE_EXECUTIONS} "  # noqa: S608
    "AND {after} ORDER BY {order} LIMIT $10",
    ORDERS, 8)
EXECUTIONS_COUNT: Final = f"SELECT count(*) FROM report_executions {_VISIBLE_EXECUTIONS}"  # noqa: S608

# The executions of a page of reports at once (see _lateral.py), newest first: the report's visibility was
# decided with the report.
_OF_REPORT: Final = "WHERE tenant_id = $1"
EXECUTIONS_BY_REPORT: Final = relation_sql(columns=EXECUTION_COLUMNS, source="report_executions",
                                           filters=_OF_REPORT, filter_params=0, parent="report_id", orders=ORDERS)


def execution_of(**columns: Any) -> Execution:
    """An Execution from a record's columns (its recipients and principal typed)."""
    return Execution.of(columns)


@dataclass(frozen=True)
class ExecutionFilter:
    """Which executions a list holds: a status, a report, and what the viewer may see."""

    status: str | None
    report_id: UUID | None
    admin: bool
    subject: str
    user_id: UUID | None
    roles: tuple[str, ...]

    def params(self) -> tuple[object, ...]:
        return (self.status, self.report_id, self.admin, self.subject, self.user_id, list(self.roles))


@dataclass(frozen=True)
class NoFilter:
    """The executions below a report: all of them."""

    def params(self) -> tuple[object, ...]:
        return ()


@dataclass(frozen=True)
class ChunkKey:
    """One stored chunk of an attempt's result rows."""

    execution_id: UUID
    attempt: int
    seq: int


class ReportByIdLoader(TenantLoader[UUID, SavedReport | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[SavedReport | None]:
        rows = await self.db.fetch(REPORTS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, (SavedReport.of(r) for r in rows), lambda r: r.id)


class ExecutionByIdLoader(TenantLoader[UUID, Execution | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[Execution | None]:
        rows = await self.db.fetch(EXECUTIONS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, (Execution.of(r) for r in rows), lambda e: e.id)


class LatestExecutionByReportLoader(TenantLoader[UUID, Execution | None]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[Execution | None]:
        rows = await self.db.fetch(LATEST_BY_REPORT, self.db.tenant_id, list(keys))
        latest = {r["report_id"]: Execution.of(r) for r in rows}
        return [latest.get(k) for k in keys]


class DeliveriesByExecutionLoader(TenantLoader[UUID, list[Delivery]]):
    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[list[Delivery]]:
        found: dict[UUID, list[Delivery]] = defaultdict(list)
        for row in await self.db.fetch(DELIVERIES_BY_EXECUTION, self.db.tenant_id, list(keys)):
            found[row["execution_id"]].append(Delivery.of(row))
        return [found.get(k, []) for k in keys]


class RowChunkLoader(TenantLoader[ChunkKey, list[list[Any]] | None]):
    """Stored rows as they were written (JSON values in column order); None for a chunk that is not there."""

    async def batch_load_fn(self, keys: Sequence[ChunkKey]) -> list[list[list[Any]] | None]:
        records = await self.db.fetch(ROW_CHUNKS, self.db.tenant_id, [k.execution_id for k in keys],
                                      [k.attempt for k in keys], [k.seq for k in keys])
        found = {ChunkKey(r["execution_id"], r["attempt"], r["seq"]): orjson.loads(r["rows"]) for r in records}
        return [found.get(k) for k in keys]


class TransactionNowLoader(TenantLoader[str, datetime]):
    """The transaction's start, read once per operation (any key)."""

    async def batch_load_fn(self, keys: Sequence[str]) -> list[datetime]:
        now: datetime = await self.db.fetchval(TRANSACTION_NOW)
        return [now for _ in keys]


@dataclass(frozen=True)
class SavedReportLoaders:
    """One operation's loaders of saved reports and executions."""

    report_by_id: ReportByIdLoader
    execution_by_id: ExecutionByIdLoader
    latest_by_report: LatestExecutionByReportLoader
    deliveries_by_execution: DeliveriesByExecutionLoader
    row_chunks: RowChunkLoader
    now: TransactionNowLoader
    executions_by_report: Related[ExecutionOrder, Execution]

    @classmethod
    def for_session(cls, db: TenantSession) -> SavedReportLoaders:
        return cls(report_by_id=ReportByIdLoader(db), execution_by_id=ExecutionByIdLoader(db),
                   latest_by_report=LatestExecutionByReportLoader(db),
                   deliveries_by_execution=DeliveriesByExecutionLoader(db), row_chunks=RowChunkLoader(db),
                   now=TransactionNowLoader(db), executions_by_report=Related.of(db, EXECUTIONS_BY_REPORT,
                                                                                  execution_of))


async def executions_page(db: TenantSession, flt: ExecutionFilter, after: str | None,
                          limit: int) -> list[tuple[Execution, object]]:
    """Up to `limit` visible executions after the cursor, newest first, each with its sort key."""
    order = ExecutionOrder.CREATED_AT_DESC
    return await keyset_page(db, EXECUTIONS_PAGE[order], order.value, ORDERS[order], flt.params(), after, limit,
                             execution_of)


async def executions_count(db: TenantSession, flt: ExecutionFilter) -> int:
    count: int = await db.fetchval(EXECUTIONS_COUNT, db.tenant_id, *flt.params())
    return count
