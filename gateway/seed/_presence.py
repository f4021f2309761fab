"""Agent presence (status intervals), routine tasks, badges and points, from the shifts and the call floor."""

from __future__ import annotations

from collections.abc import Iterator
from random import Random
from typing import Final
from uuid import UUID

from gateway.seed import _catalog as catalog
from gateway.seed._floor import Floor
from gateway.seed._funnel import Funnel
from gateway.seed._values import DAY, HOUR, MINUTE, uuid4
from gateway.seed._world import Agent, Row, World

# Minutes a stay lasts: (low, high) per status while on shift.
STAY_MINUTES: Final = {"available": (5, 30), "busy": (40, 120), "wrap_up": (3, 8)}
WRAP_UP_AFTER_BUSY: Final = 0.5
WIN_POINTS: Final = 50
EARLY_BIRD: Final = 7 * HOUR + 30 * MINUTE


def status_intervals(world: World) -> Iterator[list[Row]]:
    """Contiguous stays per human agent, offline between shifts and over lunch; the last one is still open.

    AI agents take calls in parallel round the clock, so busy or wrap-up would mean nothing for them: each has
    one open 'available' stay from the start of the seed.
    """
    rng = Random(f"{world.options.seed}:{world.index}:presence")
    tid = world.tenant.id
    for agent in world.agents:
        if agent.ai:
            yield [(tid, agent.id, "available", world.calendar.start, None)]
            continue
        rows: list[Row] = []
        offline_since = world.calendar.start
        for d in range(world.calendar.days):
            start, end = agent.shift_start[d], agent.shift_end[d]
            if start < 0:
                continue
            rows.append((tid, agent.id, "offline", offline_since, start))
            lunch_start, lunch_end = agent.lunch_start[d], agent.lunch_end[d]
            if lunch_start >= 0:
                _on_shift(rng, rows, tid, agent, start, lunch_start)
                rows.append((tid, agent.id, "offline", lunch_start, lunch_end))
                _on_shift(rng, rows, tid, agent, lunch_end, end)
            else:
                _on_shift(rng, rows, tid, agent, start, end)
            offline_since = end
        rows.append((tid, agent.id, "offline", offline_since, None))
        yield rows


def _on_shift(rng: Random, rows: list[Row], tid: UUID, agent: Agent, start: int, end: int) -> None:
    status, t = "available", start
    while t < end:
        low, high = STAY_MINUTES[status]
        until = t + rng.randint(low, high) * MINUTE
        if until > end - 2 * MINUTE:  # no sliver of a stay before the break
            until = end
        rows.append((tid, agent.id, status, t, until))
        t = until
        if status == "busy" and rng.random() < WRAP_UP_AFTER_BUSY:
            status = "wrap_up"
        else:
            status = "available" if status != "available" else "busy"


def routine_tasks(world: World) -> list[Row]:
    """A task every fortnight or so per human agent, most of them done by their due date."""
    rng = Random(f"{world.options.seed}:{world.index}:tasks")
    tid, calendar = world.tenant.id, world.calendar
    rows: list[Row] = []
    for agent in world.agents:
        if agent.ai:
            continue
        d = rng.randint(0, 13)
        while d < calendar.days:
            created = calendar.midnights[d] + 9 * HOUR + rng.randint(0, 480) * MINUTE
            due = created + 5 * DAY
            done = created + rng.randint(2, 108) * HOUR
            if done < calendar.horizon and rng.random() < 0.85:
                status, completed, updated = "completed", done, done
            else:
                status = "in_progress" if rng.random() < 0.5 else "open"
                completed, updated = None, created
            rows.append((tid, uuid4(rng), agent.id, None, rng.choice(catalog.GENERIC_TASKS), status, due,
                         completed, world.manager_of(agent), created, updated))
            d += rng.randint(10, 18)
    return rows


def gamification(world: World, funnel: Funnel, floor: Floor) -> tuple[list[Row], list[tuple[int, int, int, str]]]:
    """agent_badges rows, and points as (awarded_at, agent index, points, reason) in no particular order."""
    tid, agents = world.tenant.id, world.agents
    awards = list(floor.awards)
    wins_by_agent: dict[int, list[int]] = {}
    for converted_at, a in sorted(funnel.wins):
        wins_by_agent.setdefault(a, []).append(converted_at)
    for a, times in wins_by_agent.items():
        for n, code in catalog.WIN_MILESTONES.items():
            if len(times) >= n:
                awards.append((times[n - 1], a, code))
    for agent in agents:
        if agent.ai:
            continue
        for d, start in enumerate(agent.shift_start):
            if start >= 0 and start - world.calendar.midnights[d] < EARLY_BIRD:
                awards.append((start, agent.index, "early_bird"))
                break

    points_for = {code: points for code, _, _, points in catalog.BADGES}
    name_of = {code: name for code, name, _, _ in catalog.BADGES}
    badge_rows: list[Row] = []
    points: list[tuple[int, int, int, str]] = []
    for awarded_at, a, code in sorted(awards):
        badge_rows.append((tid, agents[a].id, world.badges[code], awarded_at))
        points.append((awarded_at, a, points_for[code], f"Badge: {name_of[code]}"))
    for converted_at, a in funnel.wins:
        points.append((converted_at, a, WIN_POINTS, "Lead converted"))
    for d, a, calls in floor.daily:
        agent = agents[a]
        # Credited when the shift closes (AI agents: at the end of the staffed day).
        points.append((agent.shift_end[d], a, calls, "Calls handled"))
    return badge_rows, points
