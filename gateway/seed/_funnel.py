"""Leads moving through the funnel, and the calls that move them, booked at fixed times in their owner's day.

Every stage change after 'new' happens at the end of a call by the lead's owner (a 'converted' call ends exactly
when the lead is won), except leads that go cold and are marked lost after a quiet spell. Booked calls become
appointments the queue simulation routes around, so no human agent is ever on two calls at once.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from random import Random
from typing import Final
from uuid import UUID

from gateway.seed import _catalog as catalog
from gateway.seed._values import DAY, HOUR, MINUTE, money, numeric, uuid4
from gateway.seed._world import (
    CAMPAIGN_LEAD_SHARE,
    DEAL_SIGMA,
    LEADS_PER_CALL,
    TOD_OUTBOUND,
    TOD_WEB,
    Agent,
    Campaign,
    Row,
    World,
)

# Per-minute rates in ten-thousandths of a dollar: carrier minutes, plus model minutes for AI agents.
RATE_INBOUND: Final = 130
RATE_OUTBOUND: Final = 90
RATE_AI: Final = 600
# (stage, base chance to reach it, days to wait before the call, talk length factor, follow-up task)
ADVANCES: Final = (
    ("qualified", 0.5, (1.0, 4.0), 1.8, "Send product overview to {}"),
    ("proposal", 0.62, (1.0, 6.0), 2.5, "Prepare proposal for {}"),
    ("won", 0.42, (2.0, 10.0), 2.0, None),
)
SCORES: Final = {
    "new": (5, 40), "contacted": (25, 60), "qualified": (45, 80), "proposal": (60, 90), "won": (85, 100),
    "lost": (0, 30),
}
MISSED: Final = ("no_answer", "voicemail", "busy")
# Seconds between a call's end and its CSAT answer: most answer the post-call survey within minutes.
SURVEY_DELAY: Final = tuple(round(20 + 600 * (i / 32) ** 3) for i in range(32))


def call_cost(seconds: int, rate: int, ai_seconds: int) -> bytes:
    """numeric(12, 4) dollars for a call's carrier time plus, for AI agents, its talk and hold time."""
    return numeric(seconds * rate // 60 + ai_seconds * RATE_AI // 60, 4)


@dataclass(slots=True)
class Funnel:
    """The seed's leads with their stage history, the calls booked for them (per day), tasks and wins."""

    leads: list[Row] = field(default_factory=list)
    # lead_stage_history rows but their identity, keyed for sorting: (entered_at, n, lead_id, stage, exited_at,
    # next_stage, agent_id, value)
    stays: list[tuple[int, int, UUID, str, int | None, str | None, UUID | None, bytes | None]] = field(
        default_factory=list)
    booked: list[list[Row]] = field(default_factory=list)
    tasks: list[Row] = field(default_factory=list)
    wins: list[tuple[int, int]] = field(default_factory=list)  # (converted_at, agent index)


def plan_funnel(world: World) -> Funnel:
    planner = _Planner(world, Random(f"{world.options.seed}:{world.index}:funnel"))
    per_day = world.options.calls_per_day * LEADS_PER_CALL
    for d in range(world.calendar.days):
        factor = catalog.LEAD_DAY_FACTORS[world.calendar.weekdays[d]]
        for _ in range(round(per_day * factor * planner.rng.uniform(0.8, 1.2))):
            planner.lead(d)
    return planner.funnel


class _Planner:
    def __init__(self, world: World, rng: Random) -> None:
        self.world = world
        self.rng = rng
        self.funnel = Funnel(booked=[[] for _ in range(world.calendar.days)])
        self.owners = [a for a in world.agents if a.status == "active"] or world.agents

    def lead(self, d: int) -> None:
        rng, world = self.rng, self.world
        campaign = self._campaign(d) if rng.random() < CAMPAIGN_LEAD_SHARE else None
        if campaign is not None:
            source = catalog.CHANNEL_SOURCE[campaign.channel]
            conversion, deal, campaign_id = campaign.conversion, campaign.deal_cents, campaign.id
        else:
            source = rng.choices(catalog.ORGANIC_SOURCES, catalog.ORGANIC_WEIGHTS)[0]
            conversion, deal, campaign_id = 1.0, 2_500_00, None
        owner = rng.choice(self.owners)
        lead_id = uuid4(rng)
        name = f"{rng.choice(catalog.FIRST_NAMES)} {rng.choice(catalog.LAST_NAMES)}"
        web = source in ("web_form", "social", "email")
        tod = (TOD_WEB if web else TOD_OUTBOUND)[rng.getrandbits(12)] + rng.getrandbits(6)
        created = world.calendar.midnights[d] + tod
        horizon = world.calendar.horizon
        if created > horizon:
            return  # later today: it has not come in yet
        stays: list[tuple[str, int, UUID | None]] = []  # (stage, entered, agent who moved the lead there)
        follow_ups: list[tuple[str, int]] = []  # (task title, index of the stay whose end resolves it)

        if source == "inbound_call":
            # The prospect rings in: the lead is created while the call is on, and contacted when it ends.
            call = self._book(owner, created, lead_id, campaign_id, "connected", "interested", 1.3, inbound=True)
            if call is None:
                return
            answered, ended = call
            stays += [("new", answered, owner.id), ("contacted", ended, owner.id)]
        else:
            stays.append(("new", created, None))  # a campaign, form or import brought it in
            if not self._contact(owner, created, web, lead_id, campaign_id, name, stays, follow_ups):
                self._finish(lead_id, campaign_id, owner, name, source, stays, follow_ups, 0)
                return

        value = 0
        chance = owner.conversion * conversion
        for stage, base, (low, high), talk_factor, task in ADVANCES:
            last = stays[-1][1]
            earliest = last + round(rng.uniform(low, high) * DAY)
            if rng.random() < min(0.9, base * chance):
                disposition = "converted" if stage == "won" else ("interested" if rng.random() < 0.85 else "callback")
                call = self._book(owner, earliest, lead_id, campaign_id, "connected", disposition, talk_factor)
                if call is None:
                    break
                stays.append((stage, call[1], owner.id))
                if stage == "won":
                    value = round(deal * math.exp(rng.gauss(0, DEAL_SIGMA)))
                    self.funnel.wins.append((call[1], owner.index))
                if task is not None:
                    follow_ups.append((task.format(name), len(stays) - 1))
                if disposition == "callback":
                    follow_ups.append((f"Call back {name}", len(stays) - 1))
            elif rng.random() < 0.65:
                call = self._book(owner, earliest, lead_id, campaign_id, "connected", "not_interested", 0.6)
                if call is not None:
                    stays.append(("lost", call[1], owner.id))
                break
            else:
                # Went quiet: written off after a couple of weeks without an answer.
                lost = earliest + rng.randint(7, 21) * DAY
                if lost < horizon:
                    stays.append(("lost", lost, None))
                break
        self._finish(lead_id, campaign_id, owner, name, source, stays, follow_ups, value)

    def _contact(self, owner: Agent, created: int, web: bool, lead_id: UUID, campaign_id: UUID | None,
                 name: str, stays: list[tuple[str, int, UUID | None]], follow_ups: list[tuple[str, int]]) -> bool:
        """Up to four attempts to reach a new lead; True when it ends up contacted."""
        rng = self.rng
        earliest = created + round(rng.expovariate(1 / (3 * HOUR if web else 8 * HOUR)))
        for _ in range(4):
            if rng.random() < 0.55:
                r = rng.random()
                disposition = ("interested" if r < 0.7 else "callback" if r < 0.85
                               else "not_interested" if r < 0.96 else "wrong_number")
                call = self._book(owner, earliest, lead_id, campaign_id, "connected", disposition, 1.2)
                if call is None:
                    return False
                if disposition in ("not_interested", "wrong_number"):
                    stays.append(("lost", call[1], owner.id))
                    return False
                stays.append(("contacted", call[1], owner.id))
                if disposition == "callback":
                    follow_ups.append((f"Call back {name}", len(stays) - 1))
                return True
            call = self._book(owner, earliest, lead_id, campaign_id, rng.choice(MISSED), None, 0.0)
            if call is None:
                return False
            earliest = call[1] + round(rng.uniform(0.6, 1.6) * DAY)
        lost = earliest + 14 * DAY
        if lost < self.world.calendar.horizon:
            stays.append(("lost", lost, None))
        return False

    def _finish(self, lead_id: UUID, campaign_id: UUID | None, owner: Agent, name: str, source: str,
                stays: list[tuple[str, int, UUID | None]], follow_ups: list[tuple[str, int]], value: int) -> None:
        rng, world, funnel = self.rng, self.world, self.funnel
        tid = world.tenant.id
        stage, updated, _ = stays[-1]
        converted_at = updated if stage == "won" else None
        # The score was last revised at the latest stage change.
        funnel.leads.append((tid, lead_id, campaign_id, owner.id, name, source, stage,
                             rng.randint(*SCORES[stage]), money(value), converted_at, stays[0][1], updated, updated))
        for i, (stay_stage, entered, agent_id) in enumerate(stays):
            exited, next_stage = (stays[i + 1][1], stays[i + 1][0]) if i + 1 < len(stays) else (None, None)
            booked = money(value) if stay_stage == "won" else None
            funnel.stays.append((entered, len(funnel.stays), lead_id, stay_stage, exited, next_stage, agent_id,
                                 booked))
        creator = owner.user_id or world.manager_of(owner)
        for title, i in follow_ups:
            opened = stays[i][1]
            due = opened + 2 * DAY
            if i + 1 < len(stays):
                closed = stays[i + 1][1]
                if stays[i + 1][0] == "lost":
                    status, completed, touched = "cancelled", None, closed
                else:
                    completed = min(max(opened + 10 * MINUTE, closed - rng.randint(1, 20) * HOUR), closed)
                    status, touched = "completed", completed
            else:
                status = "in_progress" if rng.random() < 0.4 else "open"
                completed, touched = None, opened
            funnel.tasks.append((tid, uuid4(rng), owner.id, lead_id, title, status, due, completed, creator,
                                 opened, touched))

    def _campaign(self, d: int) -> Campaign | None:
        active = [c for c in self.world.campaigns if c.active(d)]
        if not active:
            return None
        return self.rng.choices(active, [c.reach for c in active])[0]

    def _book(self, agent: Agent, earliest: int, lead_id: UUID, campaign_id: UUID | None, outcome: str,
              disposition: str | None, talk_factor: float, *, inbound: bool = False) -> tuple[int, int] | None:
        """Books a call in the owner's first free calling-hours slot; (answered or started, ended) or None."""
        rng = self.rng
        connected = outcome == "connected"
        ring = rng.randint(4, 40) if inbound else rng.randint(5, 20) if connected else rng.randint(18, 45)
        talk = round(agent.talk[rng.getrandbits(8)] * talk_factor) if connected else 0
        hold = agent.hold[rng.getrandbits(6)] if connected and rng.random() < agent.hold_rate else 0
        message = rng.randint(20, 50) if outcome == "voicemail" else 0
        wrap = agent.wrap[rng.getrandbits(6)] if connected else rng.randint(10, 40)
        slot = self._slot(agent, earliest, ring + talk + hold + message + wrap)
        if slot is None:
            return None
        d, started = slot
        answered = started + ring if connected else None
        ended = started + ring + talk + hold + message
        csat, rated = None, None
        if connected and rng.random() < 0.12:
            csat, rated = agent.csat[rng.getrandbits(5)], ended + SURVEY_DELAY[rng.getrandbits(5)]
            if rated > self.world.calendar.horizon:
                csat, rated = None, None  # the survey is not answered yet
        rate = RATE_INBOUND if inbound else RATE_OUTBOUND
        cost = call_cost(ended - started, rate, talk + hold if agent.ai else 0)
        self.funnel.booked[d].append((
            self.world.tenant.id, uuid4(rng), "inbound" if inbound else "outbound", agent.id, lead_id,
            campaign_id, started, answered, ended, talk, hold, wrap, False, False, False, outcome, disposition,
            csat, cost, ended, rated,
        ))
        return (answered if answered is not None else started), ended

    def _slot(self, agent: Agent, earliest: int, busy: int) -> tuple[int, int] | None:
        """The first moment from `earliest` the agent is on shift, in calling hours and free for `busy` seconds."""
        # None when there is none before the seed's horizon: the call has not happened (yet).
        calendar, rng = self.world.calendar, self.rng
        d = max(0, calendar.day_of(earliest))
        t = earliest
        while d < calendar.days:
            midnight = calendar.midnights[d]
            if midnight >= calendar.horizon:
                return None
            if agent.ai:
                low, high = midnight + 8 * HOUR, midnight + 20 * HOUR
            elif agent.shift_start[d] >= 0:
                low = max(agent.shift_start[d], midnight + 8 * HOUR)
                high = min(agent.shift_end[d], midnight + 20 * HOUR)
            else:
                d, t = d + 1, -1
                continue
            # Calls carried over to a new day spread across its calling hours rather than pile up at the start.
            start = t if t >= low else low + round(rng.random() * max(0, high - low - busy - HOUR))
            if not agent.ai:  # AI agents take any number of calls at once
                for block_start, block_end in self.world.appointments[d][agent.index]:
                    if block_end <= start:
                        continue
                    if block_start >= start + busy:
                        break
                    start = block_end + MINUTE
            if start + busy <= high:
                if start + busy > calendar.horizon:
                    return None
                if not agent.ai:
                    bisect.insort(self.world.appointments[d][agent.index], (start, start + busy))
                return d, start
            d, t = d + 1, -1
        return None

