"""The call floor: one day at a time, a queue simulation routes the day's calls to the agents on shift.

Inbound calls queue first-come first-served for the human who has been free longest (a heap of free-at times);
callers whose wait runs past their patience hang up. Outbound calls go to the next free human. A share of both
goes to AI agents, who answer at once and take any number of calls in parallel. Humans leave the floor at the
end of their shift and never take a queue call that would run into one of their appointments (lunch, or a call
booked for a lead), so a human's calls never overlap.
"""

from __future__ import annotations

import bisect
import heapq
import math
from random import Random
from typing import Final
from uuid import UUID

from gateway.seed import _catalog as catalog
from gateway.seed._funnel import RATE_INBOUND, RATE_OUTBOUND, SURVEY_DELAY, call_cost
from gateway.seed._values import uuid4
from gateway.seed._world import (
    AI_INBOUND_SHARE,
    AI_OUTBOUND_SHARE,
    INBOUND_SHARE,
    TOD_INBOUND_WEEKDAY,
    TOD_INBOUND_WEEKEND,
    TOD_OUTBOUND,
    Row,
    World,
)

# Heap entries pack an agent's free-at time and index into one int: cheaper to push, pop and compare than tuples.
_AGENT_BITS: Final = 16
_AGENT_MASK: Final = (1 << _AGENT_BITS) - 1
# Seconds a caller will wait before hanging up: exponential quantiles around a mean of 100 s, at least 8 s.
PATIENCE: Final = tuple(max(8, round(-100 * math.log(1 - (i + 0.5) / 64))) for i in range(64))
FAILED_INBOUND: Final = 0.003
CSAT_SURVEY: Final = 0.3
# The dialler only rings out for an agent free now (give or take a minute): inbound callers come first.
DIAL_PATIENCE: Final = 60
INBOUND_DISPOSITIONS: Final = ("resolved", "callback", "escalated", "not_interested", "wrong_number", None)
INBOUND_CUMULATIVE: Final = (0.68, 0.81, 0.86, 0.91, 0.94)
OUTBOUND_DISPOSITIONS: Final = ("resolved", "callback", "not_interested", "wrong_number", "escalated", None)
OUTBOUND_CUMULATIVE: Final = (0.35, 0.6, 0.85, 0.93, 0.95)
# Outbound outcomes: connected, then no answer, voicemail, busy; the rest failed.
OUTBOUND_OUTCOMES: Final = ((0.42, "connected"), (0.72, "no_answer"), (0.89, "voicemail"), (0.96, "busy"),
                            (1.0, "failed"))


class Floor:
    """Runs a tenant's days in order, remembering what gamification needs: call counts and milestones."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = Random(f"{world.options.seed}:{world.index}:floor")
        agents = world.agents
        self.index_of = {a.id: a.index for a in agents}
        self.handled = [0] * len(agents)
        self.five_star = [0] * len(agents)
        self.awards: list[tuple[int, int, str]] = []  # (awarded_at, agent index, badge code)
        self.daily: list[tuple[int, int, int]] = []  # (day, agent index, calls handled)
        calendar, rng = world.calendar, self.rng
        self.volumes: list[int] = []
        for d in range(calendar.days):
            trend = 1 + 0.1 * (d / calendar.days - 0.5)  # a business growing ten per cent over the period
            spike = 1.35 if rng.random() < 0.03 else 1.0  # an outage, a launch, a storm
            factor = catalog.CALL_DAY_FACTORS[calendar.weekdays[d]] * trend * spike * math.exp(rng.gauss(0, 0.07))
            self.volumes.append(round(world.options.calls_per_day * factor))
        self.dial_campaigns: list[list[UUID]] = []
        for d in range(calendar.days):
            active = [c for c in world.campaigns if c.active(d)]
            self.dial_campaigns.append([c.id for c in active if c.channel in ("phone", "sms")]
                                       or [c.id for c in active])

    def day(self, d: int, booked: list[Row]) -> list[Row]:
        """The day's calls: the booked ones, then the simulated queue's."""
        world, rng = self.world, self.rng
        random, bits = rng.random, rng.getrandbits
        calendar, agents = world.calendar, world.agents
        tid = world.tenant.id
        midnight = calendar.midnights[d]
        today = [0] * len(agents)
        shift_end = [a.shift_end[d] for a in agents]
        appointments = world.appointments[d]
        cursor = [0] * len(agents)
        ais = world.ais
        ai_inbound = AI_INBOUND_SHARE if ais else 0.0
        ai_outbound = AI_OUTBOUND_SHARE if ais else 0.0
        campaigns = self.dial_campaigns[d]

        rows = list(booked)
        for row in booked:
            if row[7] is not None:  # answered
                self._count(self.index_of[row[3]], row, today)  # type: ignore[index]

        regular = max(0, self.volumes[d] - len(booked))
        inbound = round(regular * INBOUND_SHARE)
        tod = TOD_INBOUND_WEEKDAY if calendar.weekdays[d] < 5 else TOD_INBOUND_WEEKEND
        # Events are times shifted left one bit, the low bit set for outbound: one sort orders them all.
        events = [(midnight + tod[bits(12)] + bits(5)) << 1 for _ in range(inbound)]
        events.extend(((midnight + TOD_OUTBOUND[bits(12)] + bits(5)) << 1) | 1 for _ in range(regular - inbound))
        events.sort()
        on_shift = [a for a in agents if not a.ai and a.shift_start[d] >= 0]
        heap = [(a.shift_start[d] << _AGENT_BITS) | a.index for a in on_shift]
        heapq.heapify(heap)
        # Outside the hours humans staff the floor, inbound calls go to the AI agents (if the tenant has any).
        opens = min((a.shift_start[d] for a in on_shift), default=midnight)
        closes = max((a.shift_end[d] for a in on_shift), default=midnight)
        heappop, heappush = heapq.heappop, heapq.heappush

        for event in events:
            t = event >> 1
            outbound = bool(event & 1)
            if not outbound and random() < FAILED_INBOUND:
                ended = t + 1 + bits(3)
                rows.append((tid, uuid4(rng), "inbound", None, None, None, t, None, ended, 0, 0, 0, False, False,
                             False, "failed", None, None, call_cost(ended - t, RATE_INBOUND, 0), ended, None))
                continue
            a = -1
            call: Row | None
            after_hours = not outbound and not opens <= t < closes
            if random() < (ai_outbound if outbound else ai_inbound) or (ais and after_hours):
                a = ais[int(random() * len(ais))]
                call = self._call(a, t, t if outbound else t + 1 + bits(2), outbound, campaigns)
            else:
                patience = DIAL_PATIENCE if outbound else PATIENCE[bits(6)]
                call = None
                while heap:
                    entry = heappop(heap)
                    free, a = entry >> _AGENT_BITS, entry & _AGENT_MASK
                    if free >= shift_end[a]:
                        continue  # shift over: off the floor for the day
                    start = t if t > free else free
                    if start - t > patience:
                        heappush(heap, entry)
                        break
                    call = self._call(a, t, start, outbound, campaigns)
                    busy_until: int = call[8] + call[11]  # type: ignore[operator]
                    # A queue call must not run into the agent's next appointment; if it would, the agent is
                    # busy until that appointment ends and the call goes to whoever is free next.
                    blocks = appointments[a]
                    if blocks:
                        k = cursor[a]
                        while k < len(blocks) and blocks[k][1] <= start:
                            k += 1
                        cursor[a] = k
                        if k < len(blocks) and blocks[k][0] < busy_until:
                            heappush(heap, (blocks[k][1] << _AGENT_BITS) | a)
                            call = None
                            continue
                    heappush(heap, (busy_until << _AGENT_BITS) | a)
                    break
                if call is None:
                    if outbound:
                        continue  # nobody free to dial it today
                    if ais and not heap:
                        # The human floor has closed for the day: the AI agents take the overflow.
                        a = ais[int(random() * len(ais))]
                        call = self._call(a, t, t + 1 + bits(2), False, campaigns)
                    else:
                        ended = t + patience
                        rows.append((tid, uuid4(rng), "inbound", None, None, None, t, None, ended, 0, 0, 0, True,
                                     False, False, "abandoned", None, None, call_cost(patience, RATE_INBOUND, 0),
                                     ended, None))
                        continue
            assert call is not None
            rows.append(call)
            if call[7] is not None:
                self._count(a, call, today)

        self.daily.extend((d, a, n) for a, n in enumerate(today) if n)
        return rows

    def _count(self, a: int, call: Row, today: list[int]) -> None:
        """Tallies an answered call for the points ledger and the call and five-star badges."""
        today[a] += 1
        handled = self.handled[a] = self.handled[a] + 1
        ended: int = call[8]  # type: ignore[assignment]
        if handled in catalog.CALL_MILESTONES:
            self.awards.append((ended, a, catalog.CALL_MILESTONES[handled]))
        if call[17] == 5:
            five_star = self.five_star[a] = self.five_star[a] + 1
            if five_star == catalog.FIVE_STAR_MILESTONE:
                self.awards.append((ended, a, "crowd_pleaser"))

    def _call(self, a: int, queued: int, start: int, outbound: bool, campaigns: list[UUID]) -> Row:
        """One call taken by agent `a`: queued (inbound) at `queued`, answered or dialled at `start`."""
        rng = self.rng
        random, bits = rng.random, rng.getrandbits
        agent = self.world.agents[a]
        tid = self.world.tenant.id
        if outbound:
            queued = start  # the agent dials when free: an outbound call starts then
            campaign = campaigns[int(random() * len(campaigns))] if campaigns and random() < 0.85 else None
            r = random()
            outcome = "failed"
            for limit, name in OUTBOUND_OUTCOMES:
                if r < limit:
                    outcome = name
                    break
            if outcome != "connected":
                ring = 2 + bits(3) if outcome == "failed" else 18 + bits(5)
                ended = start + ring + (20 + bits(5) if outcome == "voicemail" else 0)
                wrap = 1 if agent.ai else 8 + bits(4)
                return (tid, uuid4(rng), "outbound", agent.id, None, campaign, start, None, ended, 0, 0, wrap, False,
                        False, False, outcome, None, None, call_cost(ended - start, RATE_OUTBOUND, 0), ended, None)
            answered = start + 6 + bits(4)
            talk = agent.talk[bits(8)] * 3 // 4
            disposition = OUTBOUND_DISPOSITIONS[bisect.bisect(OUTBOUND_CUMULATIVE, random())]
            transferred = disposition == "escalated"
            fcr = False
            rate, survey = RATE_OUTBOUND, 0.1
        else:
            campaign = None
            answered = start
            talk = agent.talk[bits(8)]
            if random() < agent.transfer:
                disposition, transferred = "escalated", True
            else:
                disposition = INBOUND_DISPOSITIONS[bisect.bisect(INBOUND_CUMULATIVE, random())]
                transferred = False
            fcr = disposition == "resolved" and random() < agent.fcr
            rate, survey = RATE_INBOUND, CSAT_SURVEY
        hold = agent.hold[bits(6)] if random() < agent.hold_rate else 0
        wrap = agent.wrap[bits(6)]
        ended = answered + talk + hold
        csat = rated = None
        if random() < survey:
            csat = agent.csat[bits(5)]
            # Long waits and hand-offs cost a star.
            if csat > 1 and (answered - queued > 90 or transferred):
                csat -= 1
            rated = ended + SURVEY_DELAY[bits(5)]
        cost = call_cost(ended - queued, rate, talk + hold if agent.ai else 0)
        return (tid, uuid4(rng), "outbound" if outbound else "inbound", agent.id, None, campaign, queued, answered,
                ended, talk, hold, wrap, False, transferred, fcr, "connected", disposition, csat, cost, ended, rated)
