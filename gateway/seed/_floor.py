"""The call floor: one day at a time, a queue simulation routes the day's calls to the agents on shift.

Inbound calls queue first-come first-served for the human who has been free longest (a heap of free-at times);
callers whose wait runs past their patience hang up, and with AI agents on the line a caller still waiting after
OVERFLOW_WAIT goes to one of them instead. A share of inbound calls goes to the AI agents straight away (and all
of them while no human is on the floor); AI agents answer at once and take any number of calls in parallel.
Outbound, the dialler rings out only for a human free at that moment, and a predictive dialler hands idle humans
answered calls, so a blended floor stays busy without starving the queue. Humans leave the floor at the end of
their shift and never take a queue call that would run into one of their appointments (lunch, or a call booked
for a lead), so a human's calls never overlap. Nothing happens after the seed's horizon: a call still on then is
not written (calls are written when they end), though the presence log shows its agent busy on it.
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
from gateway.seed._values import HOUR, uuid4
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
# Seconds a caller will wait before hanging up: exponential quantiles around a mean of PATIENCE_MEAN, at least 15 s.
PATIENCE_MEAN: Final = 240
PATIENCE: Final = tuple(max(15, round(-PATIENCE_MEAN * math.log(1 - (i + 0.5) / 64))) for i in range(64))
# Seconds a caller waits for a human before an AI agent (when the tenant has any) takes the call instead.
OVERFLOW_WAIT: Final = 40
FAILED_INBOUND: Final = 0.003
CSAT_SURVEY: Final = 0.3
# Besides its campaign calls, a predictive dialler keeps idle humans busy: this many chances per campaign call to
# hand one an answered call.
DIAL_FILL: Final = 3.0
_INBOUND, _DIAL, _FILL = 0, 1, 2  # event kinds
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
        # The day's calls of each human, in time order, for the presence log: (busy from, ended, wrap-up ended).
        # Calls still under way at the horizon are in it (the agent is on them), though not in the day's rows.
        self.spans: dict[int, list[tuple[int, int, int]]] = {}
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
        """The day's calls that have ended by the horizon: the booked ones, then the simulated queue's."""
        world, rng = self.world, self.rng
        random, bits = rng.random, rng.getrandbits
        calendar, agents = world.calendar, world.agents
        tid = world.tenant.id
        midnight = calendar.midnights[d]
        horizon = calendar.horizon
        spans: dict[int, list[tuple[int, int, int]]] = {}
        self.spans = spans
        today = [0] * len(agents)
        shift_end = [a.shift_end[d] for a in agents]
        appointments = world.appointments[d]
        cursor = [0] * len(agents)
        ais = world.ais
        ai_inbound = AI_INBOUND_SHARE if ais else 0.0
        ai_outbound = AI_OUTBOUND_SHARE if ais else 0.0
        campaigns = self.dial_campaigns[d]

        rows = list(booked)  # booked calls end by the horizon
        for row in booked:
            a = self.index_of[row[3]]  # type: ignore[index]
            if not agents[a].ai:
                spans.setdefault(a, []).append(_span(row))
            if row[7] is not None:  # answered
                self._count(a, row, today)

        regular = max(0, self.volumes[d] - len(booked))
        inbound = round(regular * INBOUND_SHARE)
        tod = TOD_INBOUND_WEEKDAY if calendar.weekdays[d] < 5 else TOD_INBOUND_WEEKEND
        # Events are times shifted left two bits, the low bits saying what happens: one sort orders them all.
        events = [(midnight + tod[bits(12)] + bits(5)) << 2 for _ in range(inbound)]
        events.extend(((midnight + TOD_OUTBOUND[bits(12)] + bits(5)) << 2) | _DIAL for _ in range(regular - inbound))
        # Fill-in dialling spreads over calling hours (8:00 to 20:00), lunch dip included.
        events.extend(((midnight + 8 * HOUR + int(random() * 12 * HOUR)) << 2) | _FILL
                      for _ in range(round((regular - inbound) * DIAL_FILL)))
        events.sort()
        on_shift = [a for a in agents if not a.ai and a.shift_start[d] >= 0]
        heap = [(a.shift_start[d] << _AGENT_BITS) | a.index for a in on_shift]
        heapq.heapify(heap)
        # Outside the hours humans staff the floor, inbound calls go to the AI agents (if the tenant has any).
        opens = min((a.shift_start[d] for a in on_shift), default=midnight)
        closes = max((a.shift_end[d] for a in on_shift), default=midnight)
        heappop, heappush = heapq.heappop, heapq.heappush

        def runs_into_appointment(a: int, start: int, busy_until: int) -> bool:
            """Whether a queue call would run into the agent's next appointment (lunch, a booked call)."""
            # If so the call goes to whoever is free next, and the agent stays free for one that fits.
            blocks = appointments[a]
            if not blocks:
                return False
            k = cursor[a]
            while k < len(blocks) and blocks[k][1] <= start:
                k += 1
            cursor[a] = k
            return k < len(blocks) and blocks[k][0] < busy_until

        for event in events:
            t = event >> 2
            if t > horizon:
                break  # the rest of the day has not happened yet
            kind = event & 3
            a = -1
            call: Row | None = None
            if kind != _INBOUND:
                if kind == _DIAL and random() < ai_outbound:
                    a = ais[int(random() * len(ais))]
                    call = self._call(a, t, t, True, campaigns)
                else:
                    # The dialler rings out only for a human free now. Without AI agents to take the overflow,
                    # it also leaves one free for the inbound callers: idle time fills up, the queue does not.
                    skipped = []
                    while heap:
                        entry = heap[0]
                        free, a = entry >> _AGENT_BITS, entry & _AGENT_MASK
                        if free >= shift_end[a]:
                            heappop(heap)  # shift over: off the floor for the day
                            continue
                        if free > t:
                            break
                        heappop(heap)
                        while heap and heap[0] >> _AGENT_BITS >= shift_end[heap[0] & _AGENT_MASK]:
                            heappop(heap)
                        if not ais and (not heap or heap[0] >> _AGENT_BITS > t):
                            heappush(heap, entry)
                            break
                        call = self._call(a, t, t, True, campaigns, connects=kind == _FILL)
                        busy_until: int = call[8] + call[11]  # type: ignore[operator]
                        if runs_into_appointment(a, t, busy_until):
                            skipped.append(entry)
                            call = None
                            continue
                        heappush(heap, (busy_until << _AGENT_BITS) | a)
                        break
                    for entry in skipped:
                        heappush(heap, entry)
                    if call is None:
                        continue  # nobody to spare: not dialled
            elif random() < FAILED_INBOUND:
                ended = t + 1 + bits(3)
                if ended <= horizon:
                    rows.append((tid, uuid4(rng), "inbound", None, None, None, t, None, ended, 0, 0, 0, False,
                                 False, False, "failed", None, None, call_cost(ended - t, RATE_INBOUND, 0), ended,
                                 None))
                continue
            elif random() < ai_inbound or (ais and not opens <= t < closes):
                a = ais[int(random() * len(ais))]
                call = self._call(a, t, t + 1 + bits(2), False, campaigns)
            else:
                patience = PATIENCE[bits(6)]
                # With AI agents on the line, a caller still waiting after OVERFLOW_WAIT goes to one of them.
                limit = min(patience, OVERFLOW_WAIT) if ais else patience
                skipped = []
                while heap:
                    entry = heappop(heap)
                    free, a = entry >> _AGENT_BITS, entry & _AGENT_MASK
                    if free >= shift_end[a]:
                        continue  # shift over: off the floor for the day
                    start = t if t > free else free
                    if start - t > limit:
                        heappush(heap, entry)
                        break
                    call = self._call(a, t, start, False, campaigns)
                    busy_until = call[8] + call[11]  # type: ignore[operator]
                    if runs_into_appointment(a, start, busy_until):
                        skipped.append(entry)
                        call = None
                        continue
                    heappush(heap, (busy_until << _AGENT_BITS) | a)
                    break
                for entry in skipped:
                    heappush(heap, entry)
                if call is None:
                    if ais and not heap:
                        # The human floor has closed for the day: the AI agents take the overflow.
                        a = ais[int(random() * len(ais))]
                        call = self._call(a, t, t + 1 + bits(2), False, campaigns)
                    elif ais and patience >= OVERFLOW_WAIT:
                        a = ais[int(random() * len(ais))]
                        call = self._call(a, t, t + OVERFLOW_WAIT, False, campaigns)
                    else:
                        ended = t + patience
                        if ended <= horizon:
                            rows.append((tid, uuid4(rng), "inbound", None, None, None, t, None, ended, 0, 0, 0,
                                         True, False, False, "abandoned", None, None,
                                         call_cost(patience, RATE_INBOUND, 0), ended, None))
                        continue
            if not agents[a].ai:
                spans.setdefault(a, []).append(_span(call))
            if call[8] > horizon:  # type: ignore[operator]
                continue  # still on the line: written when it ends
            rows.append(call)
            if call[7] is not None:
                self._count(a, call, today)
        for agent_spans in spans.values():
            agent_spans.sort()

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

    def _call(self, a: int, queued: int, start: int, outbound: bool, campaigns: list[UUID], *,
              connects: bool = False) -> Row:
        """One call taken by agent `a`: queued (inbound) at `queued`, answered or dialled at `start`."""
        rng = self.rng
        random, bits = rng.random, rng.getrandbits
        agent = self.world.agents[a]
        tid = self.world.tenant.id
        if outbound:
            queued = start  # the agent dials when free: an outbound call starts then
            campaign = campaigns[int(random() * len(campaigns))] if campaigns and random() < 0.85 else None
            # The predictive dialler hands the agent only the numbers that answered.
            r = 0.0 if connects else random()
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
            # A human's phone rings a few seconds before the answer; an AI agent's start is its answer.
            answered = start if agent.ai else start + 2 + bits(3)
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
        if rated is not None and rated > self.world.calendar.horizon:
            csat = rated = None  # the survey is not answered yet
        cost = call_cost(ended - queued, rate, talk + hold if agent.ai else 0)
        return (tid, uuid4(rng), "outbound" if outbound else "inbound", agent.id, None, campaign, queued, answered,
                ended, talk, hold, wrap, False, transferred, fcr, "connected", disposition, csat, cost, ended, rated)


def _span(call: Row) -> tuple[int, int, int]:
    """When a call keeps its agent busy: (busy from, ended, wrap-up ended)."""
    # Busy from the answer for an inbound call (the caller waited in the queue, not the agent), from the dial
    # for an outbound one.
    busy_from = call[7] if call[2] == "inbound" else call[6]
    ended: int = call[8]  # type: ignore[assignment]
    return busy_from, ended, ended + call[11]  # type: ignore[return-value,operator]
