"""Product analytics: the generic `track` events of a tenant's users — page views, actions and conversions.

Each user opens the product in sessions on the days they work (agents during their shifts, managers, the admin
and viewers in office hours), and every session is a handful of events a few seconds to a minute apart. The
events are stored as the ingestion API stores a `track` event (docs/events.md): the raw record in
analytics_events and its id, with the payload's hash, in the ledger analytics_event_ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Final
from uuid import UUID

import orjson

from gateway.ingest.events import payload_hash
from gateway.seed._values import HOUR, MINUTE, uuid4
from gateway.seed._world import Row, World

_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)
ROLES: Final = ("admin", "manager", "viewer", "agent")
# (name, category, weight for each of ROLES): what each kind of user tends to do in a session.
EVENTS: Final = (
    ("dashboard_viewed", "page_view", (5, 6, 6, 6)),
    ("agent_profile_viewed", "page_view", (2, 5, 2, 1)),
    ("leaderboard_viewed", "page_view", (1, 3, 2, 4)),
    ("campaign_viewed", "page_view", (4, 2, 3, 0)),
    ("report_viewed", "page_view", (3, 3, 4, 0)),
    ("call_detail_viewed", "page_view", (1, 3, 1, 4)),
    ("funnel_viewed", "page_view", (3, 1, 2, 0)),
    ("filter_applied", "action", (3, 4, 3, 2)),
    ("date_range_changed", "action", (3, 3, 3, 1)),
    ("report_exported", "action", (2, 2, 2, 0)),
    ("call_recording_played", "action", (0, 3, 0, 2)),
    ("lead_note_added", "action", (0, 1, 0, 3)),
    ("widget_added", "action", (1, 1, 0, 0)),
    ("report_scheduled", "conversion", (0.4, 0.3, 0.1, 0)),
    ("custom_metric_created", "conversion", (0.3, 0.1, 0, 0)),
    ("alert_subscribed", "conversion", (0.2, 0.3, 0.1, 0.1)),
    ("teammate_invited", "conversion", (0.2, 0.1, 0, 0)),
)
# Per role: (chance to use the product on a weekday, on a weekend day, fewest and most sessions that day).
# Agents use it on the days they have a shift, within it.
HABITS: Final = {"admin": (0.75, 0.1, 1, 3), "manager": (0.85, 0.15, 2, 5), "viewer": (0.35, 0.0, 1, 1),
                 "agent": (0.9, 0.9, 1, 3)}
PRESETS: Final = ("LAST_7_DAYS", "LAST_30_DAYS", "THIS_MONTH", "LAST_MONTH", "YESTERDAY")
FILTERS: Final = ("team", "campaign", "direction", "outcome", "agent")


@dataclass(frozen=True, slots=True)
class _User:
    id: UUID
    role: str
    agent: int  # agent index for agent users, else -1


def track_events(world: World, users: list[tuple[UUID, str, int]]) -> Iterator[tuple[Row, Row]]:
    """(analytics_events row, analytics_event_ids row) of every track event up to the horizon, day by day."""
    rng = Random(f"{world.options.seed}:{world.index}:tracking")
    calendar, tid = world.calendar, world.tenant.id
    people = [_User(uid, role, agent) for uid, role, agent in users]
    names = [name for name, _, _ in EVENTS]
    category_of = {name: category for name, category, _ in EVENTS}
    weights = {role: [w[i] for _, _, w in EVENTS] for i, role in enumerate(ROLES)}
    for d, midnight in enumerate(calendar.midnights):
        if midnight > calendar.horizon:
            return
        weekend = calendar.weekdays[d] >= 5
        day: list[tuple[int, UUID, str]] = []
        for user in people:
            weekday_chance, weekend_chance, fewest, most = HABITS[user.role]
            if user.agent >= 0:
                agent = world.agents[user.agent]
                opens, closes = agent.shift_start[d], agent.shift_end[d]
                if opens < 0:
                    continue
            else:
                opens, closes = midnight + 8 * HOUR, midnight + 18 * HOUR
            if rng.random() >= (weekend_chance if weekend else weekday_chance):
                continue
            for _ in range(rng.randint(fewest, most)):
                t = opens + int(rng.random() * (closes - opens - 10 * MINUTE))
                for i in range(rng.randint(3, 9)):
                    name = "dashboard_viewed" if i == 0 else rng.choices(names, weights[user.role])[0]
                    day.append((t, user.id, name))
                    t += 5 + int(rng.expovariate(1 / 30))
        day.sort()
        for t, user_id, name in day:
            if t > calendar.horizon:
                break
            yield _event(rng, tid, t, user_id, name, category_of[name], calendar.horizon)


def _event(rng: Random, tid: UUID, t: int, user_id: UUID, name: str, category: str,
           horizon: int) -> tuple[Row, Row]:
    event_id = uuid4(rng)
    data: dict[str, object] = {"name": name, "category": category, "user_id": str(user_id)}
    if name.endswith("_viewed"):
        data["properties"] = {"path": "/" + name.removesuffix("_viewed").replace("_", "-")}
    elif name == "report_exported":
        data["properties"] = {"format": rng.choice(("csv", "pdf"))}
    elif name == "date_range_changed":
        data["properties"] = {"preset": rng.choice(PRESETS)}
    elif name == "filter_applied":
        data["properties"] = {"field": rng.choice(FILTERS)}
    at = _EPOCH + timedelta(seconds=t)
    raw = {"id": str(event_id), "type": "track", "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data}
    # The ledger keeps the hash the ingestion path computes, so resending a seeded event counts as a duplicate.
    sha = payload_hash({"id": str(event_id), "type": "track", "occurred_at": at.isoformat(), "data": data})
    received = min(t + 1 + rng.getrandbits(2), horizon)
    return ((tid, event_id, t, received, "track", name, category, user_id, orjson.dumps(raw).decode()),
            (tid, event_id, t, sha, received))
