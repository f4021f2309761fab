"""A tenant's rows as a stream of COPY-sized chunks, in foreign-key order, generated lazily.

Laziness is what lets loading overlap generation: the loader copies one chunk while a worker thread builds the
next. Every random draw comes from generators seeded with "<seed>:<tenant index>:<purpose>", so a tenant's rows
depend on nothing but the options, whichever thread or connection handles it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, cast
from uuid import UUID

from gateway.seed._floor import Floor
from gateway.seed._funnel import plan_funnel
from gateway.seed._model import SeededTenant, SeedOptions
from gateway.seed._presence import Presence, gamification, routine_tasks
from gateway.seed._tracking import track_events
from gateway.seed._world import Row, build_world

# Rows per COPY: large enough that per-statement overhead vanishes, small enough to keep the pipeline moving.
CHUNK_ROWS: Final = 20_000


@dataclass(frozen=True, slots=True)
class Chunk:
    tenant: SeededTenant
    table: str
    rows: list[Row]


def identity(base: int, n: int, tenants: int, index: int) -> int:
    """The n-th (0-based) identity value of tenant `index`: interleaved so tenants never collide."""
    return base + n * tenants + index + 1


def tenant_chunks(options: SeedOptions, index: int, identity_bases: dict[str, int]) -> Iterator[Chunk]:
    world = build_world(options, index)
    tenant, tid = world.tenant, world.tenant.id
    for table, rows in world.directory:
        if rows:
            yield Chunk(tenant, table, rows)

    funnel = plan_funnel(world)
    yield from _chunks(tenant, "leads", funnel.leads)
    base = identity_bases["lead_stage_history"]
    # Numbered in order of entry, as if they had been inserted as they happened.
    history: list[Row] = [
        (tid, identity(base, n, options.tenants, index), lead, stage, entered, exited, next_stage, agent, value)
        for n, (entered, _, lead, stage, exited, next_stage, agent, value) in enumerate(sorted(funnel.stays))
    ]
    yield from _chunks(tenant, "lead_stage_history", history)

    floor = Floor(world)
    presence = Presence(world)
    calls: list[Row] = []
    intervals: list[Row] = []
    for d in range(world.calendar.days):
        calls.extend(floor.day(d, funnel.booked[d]))
        # The presence log follows the day's calls: busy on them, in wrap-up after them.
        intervals.extend(presence.day(d, floor.spans))
        if len(calls) >= CHUNK_ROWS:
            yield Chunk(tenant, "calls", calls)
            calls = []
        if len(intervals) >= CHUNK_ROWS:
            yield Chunk(tenant, "agent_status_intervals", intervals)
            intervals = []
    if calls:
        yield Chunk(tenant, "calls", calls)
    intervals.extend(presence.close())
    yield from _chunks(tenant, "agent_status_intervals", intervals)

    yield from _chunks(tenant, "tasks", funnel.tasks + routine_tasks(world))

    badges, points = gamification(world, funnel, floor)
    yield from _chunks(tenant, "agent_badges", badges)
    base = identity_bases["points_ledger"]
    agents = world.agents
    ledger: list[Row] = [(tid, identity(base, n, options.tenants, index), agents[a].id, amount, reason, awarded_at)
              for n, (awarded_at, a, amount, reason) in enumerate(sorted(points))]
    yield from _chunks(tenant, "points_ledger", ledger)

    agent_of: dict[object, int] = {a.id: a.index for a in agents}
    users = [(cast(UUID, r[1]), cast(str, r[4]), agent_of.get(r[5], -1))
             for table, rows in world.directory if table == "users" for r in rows]
    events: list[Row] = []
    ids: list[Row] = []
    for event, ledger_row in track_events(world, users):
        events.append(event)
        ids.append(ledger_row)
        if len(events) >= CHUNK_ROWS:
            yield Chunk(tenant, "analytics_events", events)
            yield Chunk(tenant, "analytics_event_ids", ids)
            events, ids = [], []
    if events:
        yield Chunk(tenant, "analytics_events", events)
        yield Chunk(tenant, "analytics_event_ids", ids)


def _chunks(tenant: SeededTenant, table: str, rows: list[Row]) -> Iterator[Chunk]:
    for i in range(0, len(rows), CHUNK_ROWS):
        yield Chunk(tenant, table, rows[i:i + CHUNK_ROWS])
