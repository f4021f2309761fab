"""Ingests one batch in one tenant transaction: validate, de-duplicate, check references, record, project."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

import asyncpg
import orjson

from gateway.db import TenantSession
from gateway.errors import ErrorCode, NotFound
from gateway.ingest import store
from gateway.ingest.events import Event, Rejection, parse_event

# Events whose own id creates a directory row other events of the same batch may reference.
CREATES: Final = {
    "team.upserted": ("team", "id"),
    "agent.upserted": ("agent", "id"),
    "campaign.upserted": ("campaign", "id"),
    "lead.created": ("lead", "lead_id"),
    "call.ended": ("call", "call_id"),
}
# Of those, the ones that create a row once: a second creation under another event id is a conflict.
CREATE_ONCE: Final = ("lead.created", "call.ended")
# Deadlocks between concurrent batches are retried this many times before the error reaches the client.
RETRIES: Final = 3
BADGE_NAMESPACE: Final = uuid.UUID("5d1b9c1e-4f8f-4a53-9c0e-6a1f0e1c2b3a")


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"accepted": self.accepted, "duplicates": self.duplicates,
                "rejected": [r.as_json() for r in sorted(self.rejected, key=lambda r: r.index)]}


def _conflict(event: Event, reason: str) -> Rejection:
    return Rejection(event.index, str(event.id), ErrorCode.CONFLICT, reason, "id")


def _latest(events: Iterable[Event], key: Callable[[Event], Any], *, earliest: bool = False) -> list[Event]:
    """The most recent (or earliest) event per key, by occurred_at, then position in the batch."""
    chosen: dict[Any, Event] = {}
    for e in events:
        k = key(e)
        if k not in chosen:
            chosen[k] = e
            continue
        later = (e.occurred_at, e.index) >= (chosen[k].occurred_at, chosen[k].index)
        if later != earliest:
            chosen[k] = e
    return list(chosen.values())


async def ingest(db: TenantSession, raw_events: Sequence[Any]) -> IngestResult:
    """Stores the valid, new events of a batch and reports every other one; the tenant is the session's."""
    if not await db.fetchval(store.TENANT_EXISTS, db.tenant_id):
        raise NotFound("the token's tenant does not exist")
    result = IngestResult()
    parsed: list[Event] = []
    for index, raw in enumerate(raw_events):
        outcome = parse_event(index, raw)
        if isinstance(outcome, Rejection):
            result.rejected.append(outcome)
        else:
            parsed.append(outcome)

    first_of: dict[UUID, Event] = {}
    unique: list[Event] = []
    for e in parsed:
        first = first_of.setdefault(e.id, e)
        if first is e:
            unique.append(e)
        elif first.sha256 == e.sha256:
            result.duplicates += 1
        else:
            result.rejected.append(_conflict(e, f"event #{first.index} of this batch has the same id and "
                                                "another payload"))

    stored = await store.stored_hashes(db, [e.id for e in unique])
    fresh: list[Event] = []
    for e in unique:
        sha = stored.get(e.id)
        if sha is None:
            fresh.append(e)
        elif sha == e.sha256:
            result.duplicates += 1
        else:
            result.rejected.append(_conflict(e, "an event with this id was already stored with another payload"))

    fresh = await _check_references(db, fresh, result)
    accepted = await _record(db, fresh, result)
    await _project(db, accepted)
    result.accepted = len(accepted)
    return result


async def _check_references(db: TenantSession, events: list[Event], result: IngestResult) -> list[Event]:
    created: dict[str, set[UUID]] = defaultdict(set)
    once: dict[tuple[str, UUID], Event] = {}
    kept: list[Event] = []
    for e in events:
        if e.type in CREATE_ONCE:
            kind, key = CREATES[e.type]
            earlier = once.setdefault((kind, e.data[key]), e)
            if earlier is not e:
                result.rejected.append(_conflict(e, f"{kind} {e.data[key]} is also created by event #{earlier.index}"))
                continue
        kept.append(e)
    wanted: dict[str, set[UUID]] = defaultdict(set)
    for e in kept:
        for _, kind, ref in e.references:
            wanted[kind].add(ref)
        if e.type in CREATES:
            kind, key = CREATES[e.type]
            created[kind].add(e.data[key])
            if e.type in CREATE_ONCE:
                wanted[kind].add(e.data[key])
    in_db = {kind: await store.known_ids(db, kind, ids) for kind, ids in wanted.items()}

    valid: list[Event] = []
    for e in kept:
        if e.type in CREATE_ONCE:
            kind, key = CREATES[e.type]
            if e.data[key] in in_db.get(kind, set()):
                result.rejected.append(_conflict(e, f"{kind} {e.data[key]} already exists"))
                continue
        missing = next(((name, kind, ref) for name, kind, ref in e.references
                        if ref not in in_db.get(kind, set()) and ref not in created[kind]), None)
        if missing is not None:
            name, kind, ref = missing
            result.rejected.append(Rejection(e.index, str(e.id), ErrorCode.NOT_FOUND,
                                             f"data.{name}: unknown {kind} {ref}", f"data.{name}"))
            continue
        valid.append(e)
    return valid


async def _record(db: TenantSession, events: list[Event], result: IngestResult) -> list[Event]:
    """Claims the events' ids in the ledger and keeps their raw record; returns those claimed by this batch."""
    rows = [(e.id, e.occurred_at, e.sha256) for e in events]
    claimed = {r["id"] for r in await store.run(db, store.RECORD_IDS, rows, 3)}
    accepted = [e for e in events if e.id in claimed]
    raced = [e for e in events if e.id not in claimed]
    if raced:
        # Another batch stored these ids between our check and our claim.
        stored = await store.stored_hashes(db, [e.id for e in raced])
        for e in raced:
            if stored.get(e.id) == e.sha256:
                result.duplicates += 1
            else:
                result.rejected.append(_conflict(e, "an event with this id was already stored with another payload"))
    await store.run(db, store.RECORD_EVENTS, [
        (e.id, e.occurred_at, e.type, e.data.get("name") if e.type == "track" else None,
         e.data.get("category"), e.data.get("user_id"), orjson.dumps(e.raw).decode()) for e in accepted
    ], 7)
    return accepted


async def _project(db: TenantSession, events: list[Event]) -> None:
    """Writes accepted events into the domain tables, directory first so activity can reference it."""
    of: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        of[e.type].append(e)

    await store.run(db, store.UPSERT_TEAMS, [(e.data["id"], e.data["name"], e.occurred_at)
                                             for e in _latest(of["team.upserted"], lambda e: e.data["id"])], 3)
    await store.run(db, store.UPSERT_AGENTS, [
        (d["id"], d["name"], d["kind"], d["team_id"], d["status"], d["email"], d["hired_on"], e.occurred_at)
        for e in _latest(of["agent.upserted"], lambda e: e.data["id"]) for d in [e.data]], 8)
    users = _latest(of["user.upserted"], lambda e: e.data["id"])
    updated = {r["id"] for r in await store.run(db, store.UPSERT_USERS, [
        (d["id"], d["email"], d["display_name"], d["role"], d["agent_id"], e.occurred_at)
        for e in users for d in [e.data]], 6)}
    managed = [e for e in users if e.data["id"] in updated and e.data["managed_team_ids"] is not None]
    if managed:
        await db.execute(store.CLEAR_MANAGED_TEAMS, db.tenant_id, [e.data["id"] for e in managed])
        await store.run(db, store.ADD_MANAGED_TEAMS,
                        [(team, e.data["id"]) for e in managed for team in e.data["managed_team_ids"]], 2)
    await store.run(db, store.UPSERT_CAMPAIGNS, [
        (d["id"], d["name"], d["channel"], d["status"], d["budget"], d["starts_on"], d["ends_on"], e.occurred_at)
        for e in _latest(of["campaign.upserted"], lambda e: e.data["id"]) for d in [e.data]], 8)

    spend: dict[tuple[UUID, Any], Any] = defaultdict(int)
    for e in of["campaign.spend_recorded"]:
        spend[(e.data["campaign_id"], e.data["day"])] += e.data["amount"]
    await store.run(db, store.ADD_SPEND, [(c, d, a) for (c, d), a in sorted(spend.items())], 3)

    await store.run(db, store.CREATE_LEADS, [
        (d["lead_id"], d["campaign_id"], d["owner_agent_id"], d["name"], d["source"], d["score"], d["value"],
         e.occurred_at) for e in of["lead.created"] for d in [e.data]], 8)
    await store.run(db, store.INSERT_CALLS, [
        (d["call_id"], d["direction"], d["agent_id"], d["lead_id"], d["campaign_id"], d["started_at"],
         d["answered_at"], d["ended_at"], d["talk_seconds"] or 0, d["hold_seconds"] or 0, d["wrap_up_seconds"] or 0,
         bool(d["abandoned"]), bool(d["transferred"]), bool(d["first_contact_resolution"]), d["outcome"],
         d["disposition"], d["csat_rating"], d["cost"] or 0, e.occurred_at)
        for e in of["call.ended"] for d in [e.data]], 19)

    stage_changes = of["lead.stage_changed"]
    leads_touched = sorted({e.data["lead_id"] for e in stage_changes})
    if leads_touched:
        await db.fetch(store.LOCK_LEADS, db.tenant_id, leads_touched)
    await store.run(db, store.INSERT_STAGE_STAYS, [
        (d["lead_id"], d["stage"], e.occurred_at, d["agent_id"], d["value"]) for e in stage_changes for d in [e.data]
    ], 5)
    if leads_touched:
        await db.execute(store.RELINK_STAYS, db.tenant_id, leads_touched)
        await db.execute(store.SYNC_LEAD_STAGE, db.tenant_id, leads_touched)
    await store.run(db, store.SET_LEAD_SCORES, [
        (e.data["lead_id"], e.data["score"], e.occurred_at)
        for e in _latest(of["lead.score_changed"], lambda e: e.data["lead_id"])], 3)

    await store.run(db, store.COMPLETE_TASKS, [
        (d["task_id"], d["agent_id"], d["lead_id"], d["title"], d["due_at"], e.occurred_at)
        for e in _latest(of["task.completed"], lambda e: e.data["task_id"], earliest=True) for d in [e.data]], 6)
    await store.run(db, store.RATE_CALLS, [
        (e.data["call_id"], e.data["rating"], e.occurred_at)
        for e in _latest(of["csat.submitted"], lambda e: e.data["call_id"])], 3)

    statuses = _latest(of["agent.status_changed"], lambda e: (e.data["agent_id"], e.occurred_at))
    status_rows = [(e.data["agent_id"], e.data["status"], e.occurred_at) for e in statuses]
    if status_rows:
        await db.fetch(store.LOCK_AGENTS, db.tenant_id, sorted({r[0] for r in status_rows}))
    await store.run(db, store.INSERT_STATUS_CHANGES, status_rows, 3)
    if status_rows:
        await db.execute(store.RELINK_INTERVALS, db.tenant_id, [r[0] for r in status_rows], [r[2] for r in status_rows])

    await store.run(db, store.AWARD_POINTS, [
        (e.data["agent_id"], e.data["points"], e.data["reason"], e.occurred_at) for e in of["points.awarded"]], 4)
    badges = of["badge.earned"]
    await store.run(db, store.ENSURE_BADGES, [
        (uuid.uuid5(BADGE_NAMESPACE, f"{db.tenant_id}:{e.data['badge_code']}"), e.data["badge_code"],
         e.data["badge_name"] or e.data["badge_code"], e.occurred_at)
        for e in _latest(badges, lambda e: e.data["badge_code"], earliest=True)], 4)
    await store.run(db, store.AWARD_BADGES,
                    [(e.data["agent_id"], e.data["badge_code"], e.occurred_at) for e in badges], 3)
    await store.run(db, store.RECORD_NOTIFICATIONS, [
        (e.data["notification_id"], e.occurred_at, e.data["channel"], e.type.split(".")[1], e.data.get("error"))
        for e in of["notification.delivered"] + of["notification.failed"]], 5)


async def ingest_batch(pool: asyncpg.Pool, tenant_id: UUID, raw_events: Sequence[Any]) -> IngestResult:
    """One transaction per attempt; a deadlock or creation race with a concurrent batch rolls back and retries."""
    for attempt in range(RETRIES + 1):
        db = TenantSession(pool, tenant_id)
        committed = False
        try:
            result = await ingest(db, raw_events)
            await db.close(commit=True)
            committed = True
            return result
        except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError, asyncpg.UniqueViolationError):
            # A concurrent batch created the same lead or call meanwhile: the retry reports it as a conflict.
            if attempt == RETRIES:
                raise
        finally:
            if not committed:
                await db.close(commit=False)
    raise AssertionError("unreachable")
