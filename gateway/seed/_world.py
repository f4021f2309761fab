"""One tenant's directory and working calendar: teams, people, campaigns, shifts and hidden skill profiles."""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from random import Random
from statistics import NormalDist
from typing import Final
from uuid import UUID
from zoneinfo import ZoneInfo

from gateway.seed import _catalog as catalog
from gateway.seed._model import SeededTenant, SeedOptions
from gateway.seed._values import DAY, HOUR, MINUTE, day_number, money, seconds_of, uuid4

Row = tuple[object, ...]

# Quantiles of the standard normal and exponential laws: a skill table built from them turns one draw of a few
# random bits into a sample, instead of a lognormvariate() call per call.
_Z256: Final = tuple(NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256))
_Z64: Final = tuple(NormalDist().inv_cdf((i + 0.5) / 64) for i in range(64))
_Z32: Final = tuple(NormalDist().inv_cdf((i + 0.5) / 32) for i in range(32))
_EXP64: Final = tuple(-math.log(1 - (i + 0.5) / 64) for i in range(64))

INBOUND_SHARE: Final = 0.68  # of the calls not booked for leads
AI_SHARE: Final = 0.15  # of a tenant's agents
AI_INBOUND_SHARE: Final = 0.2  # of inbound calls, when the tenant has AI agents (they also take the overflow)
AI_OUTBOUND_SHARE: Final = 0.15
TALK_MEDIAN: Final = 240  # seconds, an ordinary inbound call with an average human
# Human talk, hold and wrap-up are stretched by this much: about seven minutes of handle time per inbound call.
HANDLE_SCALE: Final = 1.25
SHIFT: Final = 510 * MINUTE  # eight and a half hours, lunch included
QUARTER: Final = 15 * MINUTE
# Mean seconds a human is tied up by an inbound call (talk, hold, wrap-up) and by an outbound attempt (mostly
# unanswered dialling), as the skill tables below give them: what the roster plans the floor's workload with.
AHT_INBOUND: Final = 440
AHT_OUTBOUND: Final = 190
# Square-root staffing: A erlangs of planned work get A + BETA·√A humans (the dialler then fills their idle time:
# about three quarters occupied, most callers answered within a minute); a quarter hour with less work than
# MIN_ERLANGS is left to the AI agents (the floor is closed).
STAFFING_BETA: Final = 0.3
MIN_ERLANGS: Final = 0.3
# Shifts start between 6:00 and 13:30 local time, in quarter hours; lunch sits about halfway through.
FIRST_START: Final = 24
LAST_START: Final = 54
LUNCH_QUARTERS: Final = (14, 18)
SHIFTS_PER_WEEK: Final = 5
LEADS_PER_CALL: Final = 0.04  # new leads per call on an average weekday
CAMPAIGN_LEAD_SHARE: Final = 0.78
# A campaign lead's chance to be won at a conversion multiplier of 1, and the spread of won deals' values.
WIN_RATE: Final = 0.125
DEAL_SIGMA: Final = 0.35


def _tod_table(hours: tuple[float, ...]) -> tuple[int, ...]:
    """Seconds after local midnight at 4096 evenly spaced quantiles of hourly weights: draw with 12 random bits."""
    total = sum(hours)
    table: list[int] = []
    cumulative, hour = 0.0, 0
    for i in range(4096):
        target = (i + 0.5) / 4096 * total
        while cumulative + hours[hour] < target:
            cumulative += hours[hour]
            hour += 1
        table.append(round(hour * HOUR + (target - cumulative) / hours[hour] * HOUR))
    return tuple(table)


TOD_INBOUND_WEEKDAY: Final = _tod_table(catalog.INBOUND_WEEKDAY_HOURS)
TOD_INBOUND_WEEKEND: Final = _tod_table(catalog.INBOUND_WEEKEND_HOURS)
TOD_OUTBOUND: Final = _tod_table(catalog.OUTBOUND_HOURS)
TOD_WEB: Final = _tod_table(catalog.WEB_HOURS)



@dataclass(frozen=True, slots=True)
class Calendar:
    """The tenant-local days of the seed, as seconds since 2000-01-01 UTC."""

    first_day: date
    midnights: tuple[int, ...]  # local midnight of each day
    weekdays: tuple[int, ...]  # Monday = 0
    # The end of the seeded world: the end of the last day, or the present if that comes first. Nothing starts
    # after it, and whatever is under way then stays open (a call still on is not written: calls are written
    # when they end).
    horizon: int

    @classmethod
    def build(cls, options: SeedOptions, timezone: str) -> Calendar:
        zone = ZoneInfo(timezone)
        now = options.now or datetime.now(UTC)
        last = options.end_date or now.astimezone(zone).date()
        first = last - timedelta(days=options.days - 1)
        midnights, weekdays = [], []
        for i in range(options.days):
            day = first + timedelta(days=i)
            # The offset at noon holds for the whole business day; DST switches happen in the small hours.
            offset = datetime(day.year, day.month, day.day, 12, tzinfo=zone).utcoffset()
            assert offset is not None
            midnights.append(day_number(day) * DAY - int(offset.total_seconds()))
            weekdays.append(day.weekday())
        return cls(first, tuple(midnights), tuple(weekdays), min(midnights[-1] + DAY, seconds_of(now)))

    @property
    def days(self) -> int:
        return len(self.midnights)

    @property
    def start(self) -> int:
        return self.midnights[0]

    def day_of(self, t: int) -> int:
        return bisect.bisect_right(self.midnights, t) - 1

    def date_of(self, d: int) -> date:
        return self.first_day + timedelta(days=d)


@dataclass(slots=True)
class Agent:
    index: int
    id: UUID
    name: str
    email: str | None
    team: int
    ai: bool
    status: str
    # Hidden skill profile: tables of talk, hold and wrap-up seconds and CSAT ratings to draw from.
    talk: tuple[int, ...]
    hold_rate: float
    hold: tuple[int, ...]
    wrap: tuple[int, ...]
    csat: tuple[int, ...]
    fcr: float
    transfer: float
    conversion: float
    # Per day: shift start and end (-1 when off) and the lunch break inside it (-1 when none).
    shift_start: list[int] = field(default_factory=list)
    shift_end: list[int] = field(default_factory=list)
    lunch_start: list[int] = field(default_factory=list)
    lunch_end: list[int] = field(default_factory=list)
    user_id: UUID | None = None


@dataclass(slots=True)
class Campaign:
    index: int
    id: UUID
    name: str
    channel: str
    status: str
    first: int  # first active day index (may be before the seed)
    last: int  # last active day index (may be after the seed)
    daily_cents: int  # mean spend per weekday
    conversion: float
    deal_cents: int  # median value of a won deal
    reach: float  # relative share of the leads among the campaigns running on a day

    def active(self, d: int) -> bool:
        return self.status != "draft" and self.first <= d <= self.last


@dataclass(slots=True)
class World:
    """Everything about one tenant that the lead, call and presence generators share."""

    options: SeedOptions
    index: int
    tenant: SeededTenant
    service_level: int
    domain: str
    created_at: int
    calendar: Calendar
    agents: list[Agent]
    humans: list[int]
    ais: list[int]
    teams: list[UUID]
    team_managers: list[UUID]  # manager user per team
    campaigns: list[Campaign]
    badges: dict[str, UUID]
    directory: list[tuple[str, list[Row]]]  # (table, rows) in load order
    # appointments[d][a]: sorted (start, end) blocks an agent cannot take queue calls in: lunch, booked calls.
    appointments: list[list[list[tuple[int, int]]]]

    def manager_of(self, agent: Agent) -> UUID:
        return self.team_managers[agent.team]


def tenant_identity(options: SeedOptions, index: int) -> SeededTenant:
    """The tenant's id, name, zone and admin: the first draws of its generator, so they never shift."""
    name, timezone, _ = catalog.TENANTS[index % len(catalog.TENANTS)]
    if index >= len(catalog.TENANTS):
        name = f"{name} {index // len(catalog.TENANTS) + 1}"
    rng = Random(f"{options.seed}:{index}:identity")
    return SeededTenant(id=uuid4(rng), name=name, timezone=timezone, admin_user_id=uuid4(rng))


def build_world(options: SeedOptions, index: int) -> World:
    tenant = tenant_identity(options, index)
    rng = Random(f"{options.seed}:{index}:world")
    calendar = Calendar.build(options, tenant.timezone)
    service_level = catalog.TENANTS[index % len(catalog.TENANTS)][2]
    domain = tenant.name.lower().replace(" ", "-") + ".example"
    created_at = calendar.start - rng.randint(200, 700) * DAY + 9 * HOUR
    tid = tenant.id
    directory: list[tuple[str, list[Row]]] = [
        ("tenants", [(tid, tenant.name, tenant.timezone, service_level, created_at, created_at + 3 * DAY)]),
    ]

    n_teams = max(2, round(options.agents / 10))
    teams = [uuid4(rng) for _ in range(n_teams)]
    team_rows: list[Row] = []
    for i, team_id in enumerate(teams):
        name = catalog.TEAM_NAMES[i % len(catalog.TEAM_NAMES)]
        if i >= len(catalog.TEAM_NAMES):
            name = f"{name} {i // len(catalog.TEAM_NAMES) + 1}"
        at = created_at + (i + 1) * DAY
        team_rows.append((tid, team_id, name, at, at))
    directory.append(("teams", team_rows))

    emails: set[str] = set()

    def person() -> tuple[str, str]:
        first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
        local = f"{first}.{last}".lower()
        n = 1
        while local in emails:
            n += 1
            local = f"{first}.{last}{n}".lower()
        emails.add(local)
        return f"{first} {last}", f"{local}@{domain}"

    n_ai = round(options.agents * AI_SHARE) if options.agents > 1 else 0
    n_humans = options.agents - n_ai
    agents: list[Agent] = []
    for i in range(options.agents):
        ai = i >= n_humans
        if ai:
            base = catalog.AI_NAMES[(i - n_humans) % len(catalog.AI_NAMES)]
            suffix = (i - n_humans) // len(catalog.AI_NAMES)
            name, email = (f"{base} {suffix + 1} (AI)" if suffix else f"{base} (AI)"), None
        else:
            name, email = person()
        agents.append(_agent(rng, i, uuid4(rng), name, email, i % n_teams, ai, HANDLE_SCALE))
    humans = [a.index for a in agents if not a.ai]
    ais = [a.index for a in agents if a.ai]
    _roster(rng, agents, calendar, options, bool(ais))

    agent_rows: list[Row] = []
    agent_created: list[int] = []
    for a in agents:
        hired = calendar.first_day - timedelta(days=rng.randint(20, 900))
        at = max(created_at, day_number(hired) * DAY + 9 * HOUR)
        agent_created.append(at)
        kind = "ai" if a.ai else "human"
        agent_rows.append((tid, a.id, teams[a.team], a.name, a.email, kind, a.status, hired, at, at + DAY))
    directory.append(("agents", agent_rows))

    user_rows: list[Row] = []
    admin_name, _ = person()
    user_rows.append((tid, tenant.admin_user_id, f"admin@{domain}", admin_name, "admin", None,
                      created_at, created_at))
    managers: list[UUID] = []
    for t in range(n_teams):
        uid = uuid4(rng)
        name, email = person()
        at = created_at + (t + 2) * DAY
        user_rows.append((tid, uid, email, name, "manager", None, at, at))
        managers.append(uid)
    for _ in range(2):
        name, email = person()
        at = created_at + rng.randint(5, 60) * DAY
        user_rows.append((tid, uuid4(rng), email, name, "viewer", None, at, at))
    for a in agents:
        if a.ai:
            continue
        a.user_id = uuid4(rng)
        at = agent_created[a.index]
        user_rows.append((tid, a.user_id, a.email, a.name, "agent", a.id, at, at))
    directory.append(("users", user_rows))
    directory.append((
        "team_managers",
        [(tid, teams[t], managers[t], created_at + (t + 2) * DAY) for t in range(n_teams)],
    ))

    campaigns, campaign_rows, spend_rows = _campaigns(rng, tid, calendar, options, [tenant.admin_user_id, *managers])
    directory.append(("campaigns", campaign_rows))
    directory.append(("campaign_spend", spend_rows))

    badges: dict[str, UUID] = {}
    badge_rows: list[Row] = []
    for code, name, description, points in catalog.BADGES:
        badges[code] = uuid4(rng)
        badge_rows.append((tid, badges[code], code, name, description, points, created_at + 7 * DAY))
    directory.append(("badges", badge_rows))

    appointments: list[list[list[tuple[int, int]]]] = [
        [[(a.lunch_start[d], a.lunch_end[d])] if a.lunch_start[d] >= 0 else [] for a in agents]
        for d in range(calendar.days)
    ]
    return World(
        options=options, index=index, tenant=tenant, service_level=service_level, domain=domain,
        created_at=created_at, calendar=calendar, agents=agents, humans=humans, ais=ais, teams=teams,
        team_managers=managers, campaigns=campaigns, badges=badges, directory=directory,
        appointments=appointments,
    )


def _agent(rng: Random, index: int, agent_id: UUID, name: str, email: str | None, team: int, ai: bool,
           handle_scale: float) -> Agent:
    if ai:
        # AI agents are quicker and steadier, escalate more often and score a little lower on conversion.
        aht, sigma = rng.uniform(0.6, 0.75), 0.3
        hold_rate, hold_mean, wrap_mean = 0.02, 15.0, 3.0
        csat_mean, csat_spread = rng.uniform(3.9, 4.2), 0.6
        fcr, transfer, conversion = rng.uniform(0.7, 0.8), rng.uniform(0.12, 0.16), rng.uniform(0.75, 0.9)
        scale = 1.0
        status = "active"
    else:
        aht, sigma = math.exp(rng.gauss(0, 0.2)), rng.uniform(0.45, 0.65)
        hold_rate, hold_mean, wrap_mean = rng.uniform(0.12, 0.35), rng.uniform(30, 90), rng.uniform(30, 80)
        csat_mean, csat_spread = min(4.8, max(3.2, rng.gauss(4.1, 0.3))), 1.0
        fcr, transfer = rng.uniform(0.62, 0.9), rng.uniform(0.02, 0.06)
        conversion = math.exp(rng.gauss(0, 0.3))
        scale = handle_scale
        status = rng.choices(("active", "on_leave", "inactive"), (0.93, 0.04, 0.03))[0]
    talk = tuple(max(5, round(TALK_MEDIAN * aht * scale * math.exp(sigma * z))) for z in _Z256)
    hold = tuple(max(5, round(hold_mean * scale * e)) for e in _EXP64)
    wrap = tuple(max(1, round(wrap_mean * scale * math.exp(0.4 * z))) for z in _Z64)
    csat = tuple(min(5, max(1, round(csat_mean + csat_spread * z))) for z in _Z32)
    return Agent(index, agent_id, name, email, team, ai, status, talk, hold_rate, hold, wrap, csat, fcr,
                 transfer, conversion)


def _roster(rng: Random, agents: list[Agent], calendar: Calendar, options: SeedOptions, has_ai: bool) -> None:
    """Shifts that staff each day's expected workload, quarter hour by quarter hour, as a planner would."""
    # Each day, humans are given a shift one at a time where it covers most of the staffing still missing, those
    # with the fewest shifts that week first, until another shift would mostly stand idle: an over-staffed floor
    # gets days off rather than idle hours, and an under-staffed one everybody's five shifts a week.
    days = calendar.days
    for agent in agents:
        agent.shift_start = [-1] * days
        agent.shift_end = [-1] * days
        agent.lunch_start = [-1] * days
        agent.lunch_end = [-1] * days
        if agent.ai:
            # Always on, but the presence log keeps them to the hours the floor is staffed.
            agent.shift_start = [m + 6 * HOUR for m in calendar.midnights]
            agent.shift_end = [m + 22 * HOUR for m in calendar.midnights]
    humans = [a for a in agents if not a.ai]
    # On-leave agents stopped ten days ago, inactive ones (they left) three weeks ago.
    stop = {a.index: {"on_leave": days - 10, "inactive": days - 21}.get(a.status, days) for a in humans}
    length = SHIFT // QUARTER
    on_floor = [q for q in range(length) if not LUNCH_QUARTERS[0] <= q < LUNCH_QUARTERS[1]]
    week_of = [(day_number(calendar.date_of(d)) + 5) // 7 for d in range(days)]  # weeks from Monday
    worked: dict[tuple[int, int], int] = {}
    for d, midnight in enumerate(calendar.midnights):
        need = _staffing(options, calendar, d, has_ai)
        cover = [0] * 96
        week = week_of[d]
        order = sorted((a for a in humans if d < stop[a.index] and rng.random() > 0.03),
                       key=lambda a: (worked.get((a.index, week), 0), rng.random()))
        for agent in order:
            if worked.get((agent.index, week), 0) >= SHIFTS_PER_WEEK:
                continue
            # What a shift starting at quarter q would cover of the staffing still missing, lunch left out.
            total = list(itertools.accumulate((min(1.0, max(0.0, n - c)) for n, c in zip(need, cover, strict=True)),
                                              initial=0.0))
            best, gain = -1, 0.0
            for q in range(FIRST_START, LAST_START + 1):
                g = total[q + length] - total[q] - total[q + LUNCH_QUARTERS[1]] + total[q + LUNCH_QUARTERS[0]]
                if g > gain:
                    best, gain = q, g
            # A shift less than a third useful would mostly stand idle: the others take the day off.
            if best < 0 or gain < len(on_floor) / 3:
                break
            for i in on_floor:
                cover[best + i] += 1
            worked[(agent.index, week)] = worked.get((agent.index, week), 0) + 1
            start = midnight + best * QUARTER + 5 * rng.randint(-2, 2) * MINUTE
            lunch = start + (210 + 5 * rng.randint(0, 6)) * MINUTE
            agent.shift_start[d] = start
            agent.shift_end[d] = start + SHIFT
            agent.lunch_start[d] = lunch
            agent.lunch_end[d] = lunch + rng.choice((30, 45, 60)) * MINUTE


def _staffing(options: SeedOptions, calendar: Calendar, d: int, has_ai: bool) -> list[float]:
    """Humans wanted on the floor in each local quarter hour of day `d`, from its expected calls."""
    weekday = calendar.weekdays[d]
    trend = 1 + 0.1 * (d / calendar.days - 0.5)  # as the floor's volumes grow
    volume = options.calls_per_day * catalog.CALL_DAY_FACTORS[weekday] * trend
    inbound = volume * INBOUND_SHARE * (1 - (AI_INBOUND_SHARE if has_ai else 0.0)) * AHT_INBOUND
    outbound = volume * (1 - INBOUND_SHARE) * (1 - (AI_OUTBOUND_SHARE if has_ai else 0.0)) * AHT_OUTBOUND
    hours_in = catalog.INBOUND_WEEKDAY_HOURS if weekday < 5 else catalog.INBOUND_WEEKEND_HOURS
    total_in, total_out = sum(hours_in), sum(catalog.OUTBOUND_HOURS)
    need = []
    for q in range(96):
        erlangs = (inbound * hours_in[q // 4] / total_in + outbound * catalog.OUTBOUND_HOURS[q // 4] / total_out) \
            / 4 / QUARTER
        need.append(erlangs + STAFFING_BETA * math.sqrt(erlangs) if erlangs >= MIN_ERLANGS else 0.0)
    return need


def _campaigns(rng: Random, tid: UUID, calendar: Calendar, options: SeedOptions,
               creators: list[UUID]) -> tuple[list[Campaign], list[Row], list[Row]]:
    days = calendar.days
    chosen = rng.sample(catalog.CAMPAIGNS, 6 + rng.randrange(5))
    # The first evergreen campaign is the one that converts best: the house's reliable earner.
    best = max(range(len(chosen)), key=lambda i: chosen[i][2])
    chosen[0], chosen[best] = chosen[best], chosen[0]
    campaigns: list[Campaign] = []
    plans: list[tuple[bool, float]] = []  # (has an end date, cost per lead in cents)
    for i, (name, channel, conversion) in enumerate(chosen):
        if i < 2:
            # Evergreen campaigns: open-ended, so every day has somewhere for leads to come from.
            first, last, ends = -rng.randint(60, 200), days + 10_000, False
        elif i == len(chosen) - 1:
            first, last, ends = days + rng.randint(3, 20), days + rng.randint(40, 90), True  # a planned one
        else:
            first = rng.randint(-45, max(-44, days - 10))
            last, ends = first + rng.randint(21, 120), True
        if first >= days:
            status = "draft"
        elif last < days - 1:
            status = "completed"
        elif i == 2:
            status, last = "paused", max(first, days - rng.randint(5, 15))
        else:
            status = "active"
        # Each campaign buys its leads at its own price, for the return its marketer aims at: the first
        # evergreen one pays off handsomely, the second loses money, the others land anywhere in between.
        target_roi = 2.5 if i == 0 else -0.55 if i == 1 else rng.uniform(-0.6, 1.8)
        reach = 3.0 if i == 0 else 2.0 if i == 1 else rng.uniform(0.6, 2.0)
        conversion *= rng.uniform(0.85, 1.15)
        deal = rng.randint(800, 6000) * 100
        cost_per_lead = expected_lead_value(conversion, deal) / (1 + target_roi)
        campaigns.append(Campaign(i, uuid4(rng), name, channel, status, first, last, 0, conversion, deal, reach))
        plans.append((ends, cost_per_lead))

    # Spend buys the leads a campaign is expected to bring in that day (its share of the day's campaign leads),
    # posted once the day closes, at half past eleven local time; today's is not posted yet.
    leads_per_day = options.calls_per_day * LEADS_PER_CALL * CAMPAIGN_LEAD_SHARE
    spend: list[Row] = []
    spent = [0] * len(campaigns)
    spend_days = [0] * len(campaigns)
    for d in range(days):
        active = [c for c in campaigns if c.active(d)]
        reach = sum(c.reach for c in active)
        posted = calendar.midnights[d] + 23 * HOUR + 30 * MINUTE
        for c in active:
            expected = leads_per_day * catalog.LEAD_DAY_FACTORS[calendar.weekdays[d]] * c.reach / reach
            cents = round(expected * plans[c.index][1] * rng.uniform(0.85, 1.15))
            spent[c.index] += cents
            spend_days[c.index] += 1
            if posted <= calendar.horizon:
                spend.append((tid, c.id, calendar.date_of(d), money(cents), posted, posted))

    rows: list[Row] = []
    typical_reach = sum(c.reach for c in campaigns) / 2
    for c, (ends, cost_per_lead) in zip(campaigns, plans, strict=True):
        c.daily_cents = (spent[c.index] // spend_days[c.index] if spend_days[c.index]
                         else round(leads_per_day * cost_per_lead * c.reach / typical_reach))
        budget = money(c.daily_cents * (c.last - c.first + 1) if ends else c.daily_cents * 90)
        starts_on = calendar.date_of(c.first)
        ends_on = calendar.date_of(c.last) if ends else None
        # Planned campaigns are drafted before the seed's horizon, not on their (future) start date.
        created = min(calendar.start + (c.first - rng.randint(7, 21)) * DAY + 10 * HOUR, calendar.horizon - 2 * HOUR)
        updated = min(calendar.horizon - HOUR, calendar.start + max(c.first, min(c.last, days - 1)) * DAY + 11 * HOUR)
        rows.append((tid, c.id, c.name, c.channel, c.status, budget, starts_on, ends_on,
                     rng.choice(creators), created, max(created, updated)))
    return campaigns, rows, spend


def expected_lead_value(conversion: float, deal_cents: int) -> float:
    """Revenue a campaign lead brings on average, in cents: its chance to be won times the deal it books."""
    # Three stages to pass after the contact, each likelier with the campaign's conversion multiplier (see the
    # funnel's ADVANCES, capped): WIN_RATE and the power are fitted to seeded worlds. Won deals vary log-normally
    # around the campaign's median deal: their mean is exp(σ²/2) times it.
    return WIN_RATE * math.pow(conversion, 2.5) * deal_cents * math.exp(DEAL_SIGMA ** 2 / 2)
