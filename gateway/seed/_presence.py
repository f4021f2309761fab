"""Agent presence (status intervals), routine tasks, badges and points, from the shifts and the call floor."""

from __future__ import annotations

from random import Random
from typing import Final

from gateway.seed import _catalog as catalog
from gateway.seed._floor import Floor
from gateway.seed._funnel import Funnel
from gateway.seed._values import DAY, HOUR, MINUTE, uuid4
from gateway.seed._world import Row, World

WIN_POINTS: Final = 50
EARLY_BIRD: Final = 7 * HOUR + 30 * MINUTE


class Presence:
    """Agent status intervals, a day at a time, from the shifts and the calls the floor gave each human."""

    # On shift a human is available, busy on a call (from its answer, or its dial, to its end) and in wrap-up
    # after it; offline between shifts and over lunch. Stays are contiguous and the last one is still open: the
    # one under way at the seed's horizon. AI agents take calls in parallel round the clock, so busy or wrap-up
    # would mean nothing for them: each has one open 'available' stay from the start of the seed (their presence
    # is not tracked, and they have no occupancy).

    def __init__(self, world: World) -> None:
        self.world = world
        start = world.calendar.start
        # Per human: the stay under way (status, since), or None once the horizon has been passed.
        self.current: dict[int, tuple[str, int] | None] = {a: ("offline", start) for a in world.humans}

    def day(self, d: int, spans: dict[int, list[tuple[int, int, int]]]) -> list[Row]:
        """The stays of day `d` that have ended, given each human's calls that day (see Floor.spans)."""
        rows: list[Row] = []
        for a in self.world.humans:
            agent = self.world.agents[a]
            start, end = agent.shift_start[d], agent.shift_end[d]
            if start < 0:
                continue
            lunch_start, lunch_end = agent.lunch_start[d], agent.lunch_end[d]
            windows = [(start, lunch_start), (lunch_end, end)] if lunch_start >= 0 else [(start, end)]
            calls = spans.get(a, [])
            k = 0
            for i, (opens, closes) in enumerate(windows):
                last = i == len(windows) - 1
                self._move(rows, a, "available", opens)
                while k < len(calls) and (last or calls[k][0] < closes):
                    busy_from, ended, wrapped = calls[k]
                    self._move(rows, a, "busy", max(busy_from, opens))
                    self._move(rows, a, "wrap_up", ended)
                    self._move(rows, a, "available", wrapped)
                    # The last call of a shift may run past its end: the agent signs off after its wrap-up.
                    closes = max(closes, wrapped)
                    k += 1
                self._move(rows, a, "offline", closes)
        return rows

    def close(self) -> list[Row]:
        """The open stays: each human's stay under way at the end, and the AI agents' single one."""
        tid = self.world.tenant.id
        rows: list[Row] = []
        for a, stay in self.current.items():
            if stay is not None:
                rows.append((tid, self.world.agents[a].id, stay[0], stay[1], None))
        rows.extend((tid, self.world.agents[a].id, "available", self.world.calendar.start, None)
                    for a in self.world.ais)
        return rows

    def _move(self, rows: list[Row], a: int, status: str, at: int) -> None:
        """Agent `a` changes to `status` at `at`: the stay under way ends there (stays of no length vanish)."""
        stay = self.current[a]
        if stay is None:
            return
        current, since = stay
        if at > self.world.calendar.horizon:
            # Not yet: the stay under way is the open one.
            rows.append((self.world.tenant.id, self.world.agents[a].id, current, since, None))
            self.current[a] = None
            return
        if status == current:
            return
        if at <= since:
            # The stay under way has no length: it never happened. The one before it may go on instead.
            previous = rows[-1] if rows and rows[-1][1] == self.world.agents[a].id and rows[-1][4] == since else None
            if previous is not None and previous[2] == status:
                rows.pop()
                self.current[a] = (status, previous[3])  # type: ignore[assignment]
            else:
                self.current[a] = (status, since)
            return
        rows.append((self.world.tenant.id, self.world.agents[a].id, current, since, at))
        self.current[a] = (status, at)


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
            if created > calendar.horizon:
                break
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
            if 0 <= start <= world.calendar.horizon and start - world.calendar.midnights[d] < EARLY_BIRD:
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
        # Credited when the shift closes (AI agents: at the end of the staffed day), so not yet for today's.
        if agents[a].shift_end[d] <= world.calendar.horizon:
            points.append((agents[a].shift_end[d], a, calls, "Calls handled"))
    return badge_rows, points
