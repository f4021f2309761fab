"""The trackEvents mutation: small batches over GraphQL, the same rules as POST /api/v1/events."""

from __future__ import annotations

from typing import Final

from strawberry import UNSET

from gateway.auth import Role
from gateway.context import Context
from gateway.errors import BadUserInput
from gateway.ingest.service import ingest_with_retries
from gateway.schema.ingest import EventInput, IngestReport, RejectedEvent

MAX_EVENTS: Final = 1000


async def track_events(context: Context, events: list[EventInput]) -> IngestReport:
    context.require(Role.SERVICE, Role.ADMIN)
    if len(events) > MAX_EVENTS:
        raise BadUserInput(f"at most {MAX_EVENTS} events per trackEvents call; use POST /api/v1/events",
                           argument="events")
    raw: list[dict[str, object]] = [
        {"id": str(e.id), "type": e.type, "occurred_at": e.occurred_at, "data": {} if e.data is UNSET else e.data}
        for e in events]
    # The same retry as POST /api/v1/events, under a savepoint of the operation's transaction.
    result = await ingest_with_retries(context.db, raw)
    return IngestReport(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=[RejectedEvent(index=r.index, id=r.id, code=r.code, reason=r.reason, field=r.field)
                  for r in sorted(result.rejected, key=lambda r: r.index)],
    )
