"""Ingests one batch in one tenant transaction: validate, de-duplicate, check references, record, project."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

import asyncpg

from gateway.db import TenantSession
from gateway.errors import ErrorCode, NotFound
from gateway.ingest import store
from gateway.ingest.events import Event, Rejection, parse_event
from gateway.live.signals import ConfigChange, signal_config

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
# What a retry can cure: lock cycles between concurrent batches, and a lead or call created by a concurrent
# batch between our check and our insert (the retry sees it and reports a conflict).
RETRYABLE: Final = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError, asyncpg.UniqueViolationError)
# Each attempt runs under this savepoint of the caller's transaction, so a failed one leaves nothing behind.
SAVEPOINT: Final = "SAVEPOINT callpulse_ingest"
ROLLBACK_TO_SAVEPOINT: Final = "ROLLBACK TO SAVEPOINT callpulse_ingest"
RELEASE_SAVEPOINT: Final = "RELEASE SAVEPOINT callpulse_ingest"
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
    result = IngestResult()
    parsed: list[Event] = []
    for index, raw in enumerate(raw_events):
        outcome = parse_event(index, raw)
        if isinstance(outcome, Rejection):
            result.rejected.append(outcome)
        else:
            parsed.append(outcome)

    first_of: dict[str, Event] = {}
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

    # One round trip answers both questions below; ids referenced by events that turn out to be duplicates are
    # looked up for nothing, which costs less than a second round trip.
    stored, in_db = await store.lookup(db, [e.id for e in unique], _wanted(unique))
    if not in_db["tenant"]:
        raise NotFound("the token's tenant does not exist")
    fresh: list[Event] = []
    for e in unique:
        sha = stored.get(e.id)
        if sha is None:
            fresh.append(e)
        elif sha == e.sha256:
            result.duplicates += 1
        else:
            result.rejected.append(_conflict(e, "an event with this id was already stored with another payload"))

    fresh = _check_references(fresh, in_db, result)
    accepted = await _record(db, fresh, result)
    await _project(db, accepted)
    result.accepted = len(accepted)
    return result


def _wanted(events: Iterable[Event]) -> dict[str, set[str]]:
    """The directory ids (by kind) the events reference or create once."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in events:
        for _, kind, ref in e.references:
            wanted[kind].add(ref)
        if e.type in CREATE_ONCE:
            kind, key = CREATES[e.type]
            wanted[kind].add(e.data[key])
    return wanted


def _check_references(events: list[Event], in_db: dict[str, set[str]], result: IngestResult) -> list[Event]:
    created: dict[str, set[str]] = defaultdict(set)
    once: dict[tuple[str, str], Event] = {}
    kept: list[Event] = []
    for e in events:
        if e.type in CREATE_ONCE:
            kind, key = CREATES[e.type]
            earlier = once.setdefault((kind, e.data[key]), e)
            if earlier is not e:
                result.rejected.append(_conflict(e, f"{kind} {e.data[key]} is also created by event #{earlier.index}"))
                continue
        kept.append(e)
    for e in kept:
        if e.type in CREATES:
            kind, key = CREATES[e.type]
            created[kind].add(e.data[key])

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
            result.rejected.append(Rejection(e.index, e.id, ErrorCode.NOT_FOUND,
                                             f"data.{name}: unknown {kind} {ref}", f"data.{name}"))
            continue
        valid.append(e)
    return valid


async def _record(db: TenantSession, events: list[Event], result: IngestResult) -> list[Event]:
    """Claims the events' ids in the ledger and keeps their raw record; returns those claimed by this batch."""
    claimed = await store.record(db, [
        {"id": e.id, "at": e.occurred_at, "sha": e.sha256.hex(), "type": e.type,
         "name": e.data.get("name") if e.type == "track" else None, "category": e.data.get("category"),
         "user_id": e.data.get("user_id")} for e in events], [e.raw for e in events])
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
    return accepted


DIRECTORY_EVENTS: Final = ("team.upserted", "agent.upserted", "user.upserted", "campaign.upserted")


async def _project(db: TenantSession, events: list[Event]) -> None:
    """Writes accepted events into the domain tables, directory first so activity can reference it."""
    of: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        of[e.type].append(e)

    await store.run(db, store.UPSERT_TEAMS, [{"id": e.data["id"], "name": e.data["name"], "at": e.occurred_at}
                                             for e in _latest(of["team.upserted"], lambda e: e.data["id"])])
    await store.run(db, store.UPSERT_AGENTS, [
        {**_pick(e.data, "id", "name", "kind", "team_id", "status", "email", "hired_on"), "at": e.occurred_at}
        for e in _latest(of["agent.upserted"], lambda e: e.data["id"])])
    users = _latest(of["user.upserted"], lambda e: e.data["id"])
    updated = {r["id"] for r in await store.run(db, store.UPSERT_USERS, [
        {**_pick(e.data, "id", "email", "display_name", "role", "agent_id"), "at": e.occurred_at} for e in users])}
    managed = [e for e in users if e.data["id"] in updated and e.data["managed_team_ids"] is not None]
    if managed:
        await db.execute(store.CLEAR_MANAGED_TEAMS, db.tenant_id, store.uuid_array(e.data["id"] for e in managed))
        await store.run(db, store.ADD_MANAGED_TEAMS, [
            {"team_id": team, "user_id": e.data["id"]} for e in managed for team in e.data["managed_team_ids"]])
    await store.run(db, store.UPSERT_CAMPAIGNS, [
        {**_pick(e.data, "id", "name", "channel", "status", "budget", "starts_on", "ends_on"), "at": e.occurred_at}
        for e in _latest(of["campaign.upserted"], lambda e: e.data["id"])])
    if any(of[kind] for kind in DIRECTORY_EVENTS):
        # Names, teams and managers change what live questions show (a team's agents, a leaderboard's names)
        # without touching the rollups: their groups refresh at this commit.
        await signal_config(db, db.tenant_id, ConfigChange.DIRECTORY)

    spend: dict[tuple[str, Any], Any] = defaultdict(int)
    for e in of["campaign.spend_recorded"]:
        spend[(e.data["campaign_id"], e.data["day"])] += e.data["amount"]
    await store.run(db, store.ADD_SPEND, [{"campaign_id": c, "day": d, "amount": a}
                                          for (c, d), a in sorted(spend.items())])

    await store.run(db, store.CREATE_LEADS, [
        {"id": d["lead_id"], **_pick(d, "campaign_id", "owner_agent_id", "name", "source", "score", "value"),
         "at": e.occurred_at} for e in of["lead.created"] for d in [e.data]])
    await store.run(db, store.INSERT_CALLS, [
        {"id": d["call_id"], **_pick(d, "direction", "agent_id", "lead_id", "campaign_id", "started_at",
                                     "answered_at", "ended_at", "abandoned", "transferred", "outcome",
                                     "disposition", "cost"),
         "talk": d["talk_seconds"], "hold": d["hold_seconds"], "wrap": d["wrap_up_seconds"],
         "fcr": d["first_contact_resolution"], "csat": d["csat_rating"], "at": e.occurred_at}
        for e in of["call.ended"] for d in [e.data]])

    await store.run(db, store.COMPLETE_TASKS, [
        {"id": d["task_id"], **_pick(d, "agent_id", "lead_id", "title", "due_at"), "at": e.occurred_at}
        for e in _latest(of["task.completed"], lambda e: e.data["task_id"], earliest=True) for d in [e.data]])
    await store.run(db, store.RATE_CALLS, [
        {"call_id": e.data["call_id"], "rating": e.data["rating"], "at": e.occurred_at}
        for e in _latest(of["csat.submitted"], lambda e: e.data["call_id"])])

    await store.run(db, store.AWARD_POINTS, [
        {**_pick(e.data, "agent_id", "points", "reason"), "at": e.occurred_at} for e in of["points.awarded"]])
    badges = of["badge.earned"]
    await store.run(db, store.ENSURE_BADGES, [
        {"id": str(uuid.uuid5(BADGE_NAMESPACE, f"{db.tenant_id}:{e.data['badge_code']}")),
         "code": e.data["badge_code"], "name": e.data["badge_name"] or e.data["badge_code"], "at": e.occurred_at}
        for e in _latest(badges, lambda e: e.data["badge_code"], earliest=True)])
    await store.run(db, store.AWARD_BADGES, [
        {"agent_id": e.data["agent_id"], "code": e.data["badge_code"], "at": e.occurred_at} for e in badges])
    await store.run(db, store.RECORD_NOTIFICATIONS, [
        {"id": e.data["notification_id"], "at": e.occurred_at, "channel": e.data["channel"],
         "status": e.type.split(".")[1], "error": e.data.get("error")}
        for e in of["notification.delivered"] + of["notification.failed"]])

    # Last: relinking a lead's stays or an agent's intervals holds that row's lock until commit, and concurrent
    # batches touching the same leads or agents wait for it; nothing else should run while they do.
    stage_changes = of["lead.stage_changed"]
    leads_touched = store.uuid_array(sorted({e.data["lead_id"] for e in stage_changes}))
    if stage_changes:
        await db.fetch(store.LOCK_LEADS, db.tenant_id, leads_touched)
    await store.run(db, store.INSERT_STAGE_STAYS, [
        {**_pick(e.data, "lead_id", "stage", "agent_id", "value"), "at": e.occurred_at} for e in stage_changes])
    if stage_changes:
        await db.execute(store.RELINK_STAYS, db.tenant_id, leads_touched)
        await db.execute(store.SYNC_LEAD_STAGE, db.tenant_id, leads_touched)
    await store.run(db, store.SET_LEAD_SCORES, [
        {"lead_id": e.data["lead_id"], "score": e.data["score"], "at": e.occurred_at}
        for e in _latest(of["lead.score_changed"], lambda e: e.data["lead_id"])])
    statuses = _latest(of["agent.status_changed"], lambda e: (e.data["agent_id"], e.occurred_at))
    status_rows = [{"agent_id": e.data["agent_id"], "status": e.data["status"], "at": e.occurred_at}
                   for e in statuses]
    if status_rows:
        await db.fetch(store.LOCK_AGENTS, db.tenant_id, store.uuid_array(sorted({r["agent_id"] for r in status_rows})))
    await store.run(db, store.INSERT_STATUS_CHANGES, status_rows)
    await store.run(db, store.RELINK_INTERVALS, status_rows)


def _pick(data: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {n: data[n] for n in names}


async def ingest_with_retries(db: TenantSession, raw_events: Sequence[Any]) -> IngestResult:
    """`ingest` in the session's transaction, each attempt under a savepoint: a deadlock or creation race with a
    concurrent batch undoes only that attempt, which is then run again (the HTTP endpoint and trackEvents both
    come through here)."""
    for attempt in range(RETRIES + 1):
        await db.execute(SAVEPOINT)
        try:
            result = await ingest(db, raw_events)
        except RETRYABLE:
            await db.execute(ROLLBACK_TO_SAVEPOINT)
            if attempt == RETRIES:
                raise
            continue
        await db.execute(RELEASE_SAVEPOINT)
        return result
    raise AssertionError("unreachable")


async def ingest_batch(pool: asyncpg.Pool, tenant_id: UUID, raw_events: Sequence[Any]) -> IngestResult:
    """One transaction for the batch, committed only when it was stored."""
    db = TenantSession(pool, tenant_id)
    committed = False
    try:
        result = await ingest_with_retries(db, raw_events)
        await db.close(commit=True)
        committed = True
        return result
    finally:
        if not committed:
            await db.close(commit=False)
