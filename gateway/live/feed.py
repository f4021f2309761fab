"""liveCalls: calls in commit order, resumable from a cursor that is a database snapshot.

A call records the transaction that wrote it (`calls.writer_xid`, migration 0014). A cursor holds a snapshot
S (pg_snapshot: xmin, xmax and the transactions in progress): the client has seen exactly the calls whose
writer is visible in S. The next batch is read with a newer snapshot T: the calls visible in T but not in S.
A transaction that started before another but committed after it is in progress in S, so its calls come in
a later batch — never skipped, never twice. A long batch is cut into pages; a page's cursor also holds T and
the last (ended_at, id) sent, so a client that leaves mid-way resumes with the rest of that batch.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

import orjson

from gateway.db import TenantSession
from gateway.errors import BadUserInput
from gateway.loaders.call import CallRow

PAGE: Final = 500

# Calls written after snapshot $2 (not visible in it) and visible in $3, or in the statement's own snapshot
# when $3 is NULL; after position ($4, $5) within that set; readable by the principal ($6). Index:
# calls_tenant_writer (tenant_id, writer_xid) for the xmin bound. Every row carries the snapshot used, and one
# row (of NULL calls) comes back when there are none: the snapshot must be the statement's own, or a call
# committed between two statements would count as seen.
CALLS_SINCE: Final = """
WITH snap AS MATERIALIZED (SELECT coalesce($3::text::pg_snapshot, pg_current_snapshot()) AS upto)
SELECT snap.upto::text AS upto, c.*
FROM snap LEFT JOIN LATERAL (
    SELECT c.id, c.direction, c.agent_id, c.lead_id, c.campaign_id, c.started_at, c.answered_at, c.ended_at,
           c.talk_seconds, c.hold_seconds, c.wrap_up_seconds, c.abandoned, c.transferred,
           c.first_contact_resolution, c.outcome, c.disposition, c.csat_rating, c.cost, c.writer_xid::text AS writer
    FROM calls c
    WHERE c.tenant_id = $1
      AND c.writer_xid >= pg_snapshot_xmin($2::text::pg_snapshot)
      AND NOT pg_visible_in_snapshot(c.writer_xid, $2::text::pg_snapshot)
      AND pg_visible_in_snapshot(c.writer_xid, snap.upto)
      AND ($4::timestamptz IS NULL OR (c.ended_at, c.id) > ($4, $5::uuid))
      AND ($6::uuid[] IS NULL OR c.agent_id = any($6))
    ORDER BY c.ended_at, c.id
    LIMIT $7
) c ON true
"""

CURRENT_SNAPSHOT: Final = "SELECT pg_current_snapshot()::text"


@dataclass(frozen=True)
class Snapshot:
    """A pg_snapshot: transactions below xmin are finished, from xmax on not yet started, `running` between."""

    xmin: int
    xmax: int
    running: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        xmin, xmax, running = text.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(x) for x in running.split(",") if x))

    def __str__(self) -> str:
        return f"{self.xmin}:{self.xmax}:{','.join(map(str, sorted(self.running)))}"

    def sees(self, xid: int) -> bool:
        """Whether a transaction's writes are visible in this snapshot (pg_visible_in_snapshot)."""
        return xid < self.xmin or (xid < self.xmax and xid not in self.running)


@dataclass(frozen=True)
class Cursor:
    """Seen: everything visible in `base`; plus, when `upto` is set, the calls of the batch base→upto up to
    (`ended_at`, `id`)."""

    base: Snapshot
    upto: Snapshot | None = None
    ended_at: datetime | None = None
    id: UUID | None = None

    def encode(self) -> str:
        body: list[object] = [1, str(self.base)]
        if self.upto is not None and self.ended_at is not None:
            body += [str(self.upto), self.ended_at.isoformat(), str(self.id)]
        return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            if len(text) > 20_000:
                raise ValueError("too long")
            body = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if not isinstance(body, list) or body[0] != 1 or len(body) not in (2, 5):
                raise ValueError("not a cursor")
            base = Snapshot.parse(body[1])
            if len(body) == 2:
                return cls(base)
            return cls(base, Snapshot.parse(body[2]), datetime.fromisoformat(body[3]), UUID(body[4]))
        except (ValueError, TypeError, IndexError, binascii.Error, orjson.JSONDecodeError):
            raise BadUserInput("`after` is not a liveCalls cursor", argument="after") from None


@dataclass(frozen=True)
class FedCall:
    row: CallRow
    writer: int


@dataclass(frozen=True)
class Page:
    calls: list[FedCall]
    # Where a client stands once it has this page.
    cursor: Cursor
    # Whether the batch goes on (the next page is read from `cursor`).
    more: bool


async def current_snapshot(db: TenantSession) -> Snapshot:
    return Snapshot.parse(await db.fetchval(CURRENT_SNAPSHOT))


async def read_page(db: TenantSession, tenant: UUID, cursor: Cursor, visible: Sequence[UUID] | None,
                    limit: int = PAGE) -> Page:
    """The next calls after `cursor`, at most `limit`: the rest of its batch, else a new batch up to now."""
    upto = str(cursor.upto) if cursor.upto is not None else None
    rows = await db.fetch(CALLS_SINCE, tenant, str(cursor.base), upto, cursor.ended_at, cursor.id,
                          list(visible) if visible is not None else None, limit + 1)
    end = Snapshot.parse(rows[0]["upto"])
    rows = [r for r in rows if r["id"] is not None]
    more = len(rows) > limit
    rows = rows[:limit]
    calls = [FedCall(CallRow(*r[1:19]), int(r["writer"])) for r in rows]
    if more:
        last = calls[-1].row
        return Page(calls, Cursor(cursor.base, end, last.ended_at, last.id), True)
    if cursor.upto is not None:
        # The rest of an old batch is done: the calls since its upper snapshot come next.
        return Page(calls, Cursor(end), True)
    return Page(calls, Cursor(end), False)
