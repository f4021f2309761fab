"""The durable execution queue: report_executions rows moving pending → processing → completed | failed.

    enqueue ──▶ pending ──claim──▶ processing ──complete──▶ completed
                   ▲                 │  │
                   └──── retry ──────┘  └──fail (last attempt, or a client error)──▶ failed
                   (back-off; also a lease that ran out, claimed again)

Workers claim with FOR UPDATE SKIP LOCKED on the maintenance path (the claim spans tenants), so several workers
and replicas never take the same row. A claim adds one to `attempt` and takes a lease until `lease_expires_at`,
renewed while the run is alive. A worker that dies leaves its lease to run out; the execution is then claimed
again (a new attempt) until `max_attempts`, and then fails. Every write a run makes afterwards — result chunks,
deliveries, the end of the run — names its attempt and is refused when the execution has moved on (a newer
attempt, or an end), so a stale worker cannot overwrite a newer attempt's work: `attempt` is the fencing token.

"Now" is `gateway.clock.now()` passed in, so tests move time instead of waiting; worker hosts need synchronised
clocks (NTP), far tighter than a lease.

Each transition also sends a NOTIFY on `callpulse_reports` ({"tenant", "execution", "status", "attempt"}) at
its commit, for whoever pushes execution status to subscribers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol
from uuid import UUID

import asyncpg

from gateway import clock
from gateway.auth import Principal, Role
from gateway.db import Conn

log = logging.getLogger(__name__)

CHANNEL: Final = "callpulse_reports"
FORMATS: Final = ("json", "csv", "pdf")
DELIVERY_MODES: Final = ("always", "only_rows", "only_changed")
CHANNELS: Final = ("email", "webhook")
MAX_ERROR: Final = 2000

# What a claim returns: the Job.
CLAIMED: Final = """e.tenant_id, e.id, e.report_id, e.report_type, e.params, e.output_format, e.delivery_mode,
e.recipients, e.principal, e.status, e.attempt, e.max_attempts, e.lease_owner, e.lease_expires_at,
e.scheduled_slot, e.created_at, t.timezone"""

ENQUEUE: Final = """
INSERT INTO report_executions (tenant_id, report_id, report_type, params, output_format, delivery_mode,
                               recipients, principal, max_attempts, scheduled_slot, available_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
RETURNING id
"""
# A lease that ran out, oldest first: a crashed run goes before the backlog, not behind it.
CLAIM_EXPIRED: Final = f"""
WITH next AS (
    SELECT tenant_id, id FROM report_executions
    WHERE status = 'processing' AND lease_expires_at <= $1 AND attempt < max_attempts
    ORDER BY lease_expires_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE report_executions e
SET attempt = e.attempt + 1, lease_owner = $2, lease_expires_at = $3, started_at = $1
FROM next JOIN tenants t ON t.id = next.tenant_id
WHERE e.tenant_id = next.tenant_id AND e.id = next.id
RETURNING {CLAIMED}
"""  # noqa: S608 - constant columns
CLAIM_PENDING: Final = f"""
WITH next AS (
    SELECT tenant_id, id FROM report_executions
    WHERE status = 'pending' AND available_at <= $1
    ORDER BY available_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE report_executions e
SET status = 'processing', attempt = e.attempt + 1, lease_owner = $2, lease_expires_at = $3, started_at = $1
FROM next JOIN tenants t ON t.id = next.tenant_id
WHERE e.tenant_id = next.tenant_id AND e.id = next.id
RETURNING {CLAIMED}
"""  # noqa: S608 - constant columns
RENEW: Final = """
UPDATE report_executions SET lease_expires_at = $4
WHERE tenant_id = $1 AND id = $2 AND attempt = $3 AND status = 'processing'
RETURNING lease_expires_at
"""
COMPLETE: Final = """
UPDATE report_executions
SET status = 'completed', finished_at = $4, lease_owner = NULL, lease_expires_at = NULL,
    error_code = NULL, error = NULL, result_attempt = attempt,
    summary = $5, row_count = $6, result_hash = $7, file_name = $8, content_type = $9, file_bytes = $10
WHERE tenant_id = $1 AND id = $2 AND attempt = $3 AND status = 'processing'
RETURNING id
"""
# A retry waits retry * 2^(attempt - 1); the last attempt, or a permanent error, fails the execution.
FAIL: Final = """
UPDATE report_executions
SET status = CASE WHEN $7 OR attempt >= max_attempts THEN 'failed' ELSE 'pending' END,
    available_at = CASE WHEN $7 OR attempt >= max_attempts THEN available_at
                        ELSE $4::timestamptz + make_interval(secs => $8::float8 * power(2, attempt - 1)) END,
    finished_at = CASE WHEN $7 OR attempt >= max_attempts THEN $4::timestamptz END,
    lease_owner = NULL, lease_expires_at = NULL, error_code = $5, error = $6
WHERE tenant_id = $1 AND id = $2 AND attempt = $3 AND status = 'processing'
RETURNING status, available_at
"""
# A stopping worker hands its run back: not a failure, so it does not use up an attempt.
RELEASE: Final = """
UPDATE report_executions
SET status = 'pending', available_at = $4, lease_owner = NULL, lease_expires_at = NULL,
    max_attempts = max_attempts + 1
WHERE tenant_id = $1 AND id = $2 AND attempt = $3 AND status = 'processing'
RETURNING id
"""
# Leases that ran out on the last attempt: nobody may claim these again.
REAP: Final = """
UPDATE report_executions
SET status = 'failed', finished_at = $1, lease_owner = NULL, lease_expires_at = NULL, error_code = 'INTERNAL',
    error = 'attempt ' || attempt || ' of ' || max_attempts
            || ' stopped before it finished (its worker stopped renewing the lease); no attempt is left'
WHERE status = 'processing' AND lease_expires_at <= $1 AND attempt >= max_attempts
RETURNING tenant_id, id, attempt
"""
DROP_OTHER_ATTEMPTS: Final = """
DELETE FROM report_execution_chunks WHERE tenant_id = $1 AND execution_id = $2 AND attempt <> $3
"""
DROP_ATTEMPT: Final = """
DELETE FROM report_execution_chunks WHERE tenant_id = $1 AND execution_id = $2 AND attempt = $3
"""
NOTIFY: Final = "SELECT pg_notify($1, $2)"


class _Fetches(Protocol):
    """A connection or a TenantSession: enqueueing works on either path."""

    async def fetchval(self, query: str, *args: object) -> Any: ...


@dataclass(frozen=True)
class Recipient:
    channel: str  # email | webhook
    address: str

    def to_json(self) -> dict[str, str]:
        return {"channel": self.channel, "address": self.address}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Recipient:
        return cls(channel=str(raw["channel"]), address=str(raw["address"]))


@dataclass(frozen=True)
class RecordedPrincipal:
    """The one principal an execution reads as, recorded when it is enqueued; its Access is rebuilt at run time."""

    subject: str
    roles: tuple[str, ...]
    user_id: UUID | None = None

    @classmethod
    def of(cls, principal: Principal, user_id: UUID | None = None) -> RecordedPrincipal:
        return cls(subject=principal.user_id, roles=tuple(sorted(r.value for r in principal.roles)),
                   user_id=user_id)

    def principal(self, tenant_id: UUID) -> Principal:
        known = {r.value for r in Role}
        return Principal(user_id=self.subject, tenant_id=tenant_id,
                         roles=frozenset(Role(r) for r in self.roles if r in known))

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "roles": list(self.roles),
                "user_id": None if self.user_id is None else str(self.user_id)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RecordedPrincipal:
        user = raw.get("user_id")
        return cls(subject=str(raw["subject"]), roles=tuple(str(r) for r in raw.get("roles") or ()),
                   user_id=None if user is None else UUID(str(user)))


@dataclass(frozen=True)
class NewExecution:
    tenant_id: UUID
    report_type: str
    output_format: str
    principal: RecordedPrincipal
    params: Mapping[str, Any] = field(default_factory=dict)
    report_id: UUID | None = None
    delivery_mode: str = "always"
    recipients: Sequence[Recipient] = ()


@dataclass(frozen=True)
class Job:
    """A claimed execution, as the worker runs it."""

    tenant_id: UUID
    id: UUID
    report_id: UUID | None
    report_type: str
    params: dict[str, Any]
    output_format: str
    delivery_mode: str
    recipients: tuple[Recipient, ...]
    principal: RecordedPrincipal
    attempt: int
    max_attempts: int
    lease_owner: str
    lease_expires_at: datetime
    scheduled_slot: datetime | None
    created_at: datetime
    # The tenant's timezone when the run was claimed.
    timezone: str = "UTC"

    @classmethod
    def of(cls, row: asyncpg.Record) -> Job:
        return cls(tenant_id=row["tenant_id"], id=row["id"], report_id=row["report_id"],
                   report_type=row["report_type"], params=dict(row["params"]), output_format=row["output_format"],
                   delivery_mode=row["delivery_mode"],
                   recipients=tuple(Recipient.from_json(r) for r in row["recipients"]),
                   principal=RecordedPrincipal.from_json(row["principal"]), attempt=row["attempt"],
                   max_attempts=row["max_attempts"], lease_owner=row["lease_owner"],
                   lease_expires_at=row["lease_expires_at"], scheduled_slot=row["scheduled_slot"],
                   created_at=row["created_at"], timezone=row["timezone"])


@dataclass(frozen=True)
class LeasePolicy:
    """How long a claim holds, how often a run is tried, and the back-off base between tries."""

    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 3
    retry: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class Completion:
    """What a finished run leaves on its execution row (the chunks are written before)."""

    summary: Mapping[str, Any]
    row_count: int
    result_hash: str
    file_name: str | None = None
    content_type: str | None = None
    file_bytes: int | None = None


@dataclass(frozen=True)
class Failure:
    """Where a failed run left its execution: `pending` again (with the instant of the retry) or `failed`."""

    status: str
    retry_at: datetime | None


def _json(value: object) -> Any:
    """Plain JSON values, as the pool's jsonb codec encodes them."""
    return json.loads(json.dumps(value))


async def _notify(conn: Conn, tenant_id: UUID, execution_id: UUID, status: str, attempt: int) -> None:
    payload = {"tenant": str(tenant_id), "execution": str(execution_id), "status": status, "attempt": attempt}
    await conn.execute(NOTIFY, CHANNEL, json.dumps(payload))


async def enqueue(db: _Fetches, new: NewExecution, *, max_attempts: int, now: datetime | None = None) -> UUID:
    """A pending execution; on either path (runReport on the request path, RLS checking its tenant)."""
    if new.output_format not in FORMATS:
        raise ValueError(f"unknown output format {new.output_format!r}")
    if new.delivery_mode not in DELIVERY_MODES:
        raise ValueError(f"unknown delivery mode {new.delivery_mode!r}")
    now = clock.now() if now is None else now
    execution_id: UUID = await db.fetchval(
        ENQUEUE, new.tenant_id, new.report_id, new.report_type, _json(dict(new.params)), new.output_format,
        new.delivery_mode, [r.to_json() for r in new.recipients], new.principal.to_json(), max_attempts, None, now)
    return execution_id


async def claim(conn: Conn, owner: str, policy: LeasePolicy, *, now: datetime | None = None) -> Job | None:
    """The next execution to run, now leased to `owner` (a new attempt); None when there is nothing to do."""
    now = clock.now() if now is None else now
    expires = now + policy.lease
    for query in (CLAIM_EXPIRED, CLAIM_PENDING):
        async with conn.transaction():
            row = await conn.fetchrow(query, now, owner, expires)
            if row is not None:
                job = Job.of(row)
                await _notify(conn, job.tenant_id, job.id, "processing", job.attempt)
                if job.attempt > 1:
                    log.info("execution %s of tenant %s: attempt %d of %d claimed by %s", job.id, job.tenant_id,
                             job.attempt, job.max_attempts, owner)
                return job
    return None


async def renew(conn: Conn, job: Job, policy: LeasePolicy, *, now: datetime | None = None) -> datetime | None:
    """Moves the lease on; None when the execution is no longer this attempt's (the run must stop)."""
    now = clock.now() if now is None else now
    expires: datetime | None = await conn.fetchval(RENEW, job.tenant_id, job.id, job.attempt, now + policy.lease)
    return expires


async def complete(conn: Conn, job: Job, done: Completion, *, now: datetime | None = None) -> bool:
    """Ends the run as `completed`; False (and nothing written) when the attempt is stale."""
    now = clock.now() if now is None else now
    async with conn.transaction():
        updated = await conn.fetchval(COMPLETE, job.tenant_id, job.id, job.attempt, now, _json(dict(done.summary)),
                                      done.row_count, done.result_hash, done.file_name, done.content_type,
                                      done.file_bytes)
        if updated is None:
            return False
        await conn.execute(DROP_OTHER_ATTEMPTS, job.tenant_id, job.id, job.attempt)
        await _notify(conn, job.tenant_id, job.id, "completed", job.attempt)
    return True


async def fail(conn: Conn, job: Job, *, code: str, error: str, permanent: bool, policy: LeasePolicy,
               now: datetime | None = None) -> Failure | None:
    """Ends the attempt with an error: retried after a back-off, or `failed` on the last attempt (or when
    `permanent`); None when the attempt is stale. `error` is a message for people, never a stack trace."""
    now = clock.now() if now is None else now
    async with conn.transaction():
        row = await conn.fetchrow(FAIL, job.tenant_id, job.id, job.attempt, now, code, error[:MAX_ERROR],
                                  permanent, policy.retry.total_seconds())
        if row is None:
            return None
        await conn.execute(DROP_ATTEMPT, job.tenant_id, job.id, job.attempt)
        await _notify(conn, job.tenant_id, job.id, row["status"], job.attempt)
    return Failure(status=row["status"], retry_at=row["available_at"] if row["status"] == "pending" else None)


async def release(conn: Conn, job: Job, *, now: datetime | None = None) -> bool:
    """Hands a run back unfinished (a stopping worker): pending again at once, the attempt not counted."""
    now = clock.now() if now is None else now
    async with conn.transaction():
        released = await conn.fetchval(RELEASE, job.tenant_id, job.id, job.attempt, now)
        if released is None:
            return False
        await conn.execute(DROP_ATTEMPT, job.tenant_id, job.id, job.attempt)
        await _notify(conn, job.tenant_id, job.id, "pending", job.attempt)
    return True


async def reap(conn: Conn, *, now: datetime | None = None) -> list[tuple[UUID, UUID]]:
    """Fails the executions whose last attempt's lease ran out; (tenant, execution) of each."""
    now = clock.now() if now is None else now
    async with conn.transaction():
        rows = await conn.fetch(REAP, now)
        for row in rows:
            await _notify(conn, row["tenant_id"], row["id"], "failed", row["attempt"])
    for row in rows:
        log.warning("execution %s of tenant %s failed: its last attempt (%d) stopped before it finished",
                    row["id"], row["tenant_id"], row["attempt"])
    return [(row["tenant_id"], row["id"]) for row in rows]
