"""An independent model of the rollups, in plain Python over accepted events (not the rollup SQL run twice).

It follows the metric definitions of the README: every counter keyed by the tenant-local day (or 15-minute UTC
bucket) of the moment it belongs to, stays ordered by entry time, the newest CSAT rating and earliest task
completion winning, spend adding up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

FUNNEL_BOUNDS = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 129600, 172800, 259200,
                 345600, 432000, 604800, 864000, 1209600, 1814400, 2592000, 3888000, 5184000, 7776000]
RANK = {"new": 1, "contacted": 2, "qualified": 3, "proposal": 4, "won": 5}
Counters = dict[str, Any]


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def quarter(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def bucket_of(seconds: float) -> int:
    return next((i + 1 for i, bound in enumerate(FUNNEL_BOUNDS) if seconds <= bound), len(FUNNEL_BOUNDS) + 1)


@dataclass
class TenantModel:
    tenant_id: UUID
    timezone: str
    sl_threshold: int
    lead_campaign: dict[UUID, UUID | None] = field(default_factory=dict)
    lead_value: dict[UUID, Decimal] = field(default_factory=dict)
    # Contributions: (moment or None, day or None, agent, campaign, counter, amount)
    contributions: list[tuple[datetime | None, date | None, UUID | None, UUID | None, str, Any]] = field(
        default_factory=list)
    calls: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    ratings: dict[UUID, tuple[datetime, int]] = field(default_factory=dict)
    transitions: dict[UUID, list[tuple[datetime, str, UUID | None, Decimal | None]]] = field(
        default_factory=lambda: defaultdict(list))
    statuses: dict[UUID, list[tuple[datetime, str]]] = field(default_factory=lambda: defaultdict(list))
    tasks: dict[UUID, tuple[datetime, UUID]] = field(default_factory=dict)
    # The newest directory entry per agent: (occurred_at, kind). Occupancy counts human agents' handle time.
    kinds: dict[UUID, tuple[datetime, str]] = field(default_factory=dict)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(ZoneInfo(self.timezone)).date()

    def add(self, moment: datetime | None, day: date | None, agent: UUID | None, campaign: UUID | None,
            **counters: Any) -> None:
        for name, amount in counters.items():
            self.contributions.append((moment, day, agent, campaign, name, amount))

    def apply(self, event: dict[str, Any]) -> None:
        """One accepted event (or direct SQL row, in event form)."""
        kind, d, at = event["type"], event["data"], ts(event["occurred_at"])
        uid = lambda key: UUID(d[key]) if d.get(key) else None  # noqa: E731
        if kind == "agent.upserted":
            agent = UUID(d["id"])
            if agent not in self.kinds or self.kinds[agent][0] <= at:
                self.kinds[agent] = (at, d["kind"])
        elif kind == "lead.created":
            lead = UUID(d["lead_id"])
            self.lead_campaign[lead] = uid("campaign_id")
            self.lead_value[lead] = Decimal(str(d.get("value") or 0))
            self.add(at, None, None, uid("campaign_id"), leads_generated=1)
            self.transitions[lead].append((at, "new", uid("owner_agent_id"), None))
        elif kind == "lead.stage_changed":
            lead = UUID(d["lead_id"])
            value = Decimal(str(d["value"])) if d.get("value") is not None else self.lead_value[lead]
            self.transitions[lead].append((at, d["stage"], uid("agent_id"), value if d["stage"] == "won" else None))
        elif kind == "call.ended":
            call = UUID(d["call_id"])
            self.calls[call] = d
            if d.get("csat_rating") is not None:
                self.rate(call, at, d["csat_rating"])
        elif kind == "csat.submitted":
            self.rate(UUID(d["call_id"]), at, d["rating"])
        elif kind == "task.completed":
            task = UUID(d["task_id"])
            if task not in self.tasks or at < self.tasks[task][0]:
                self.tasks[task] = (at, UUID(d["agent_id"]))
        elif kind == "agent.status_changed":
            self.statuses[UUID(d["agent_id"])].append((at, d["status"]))
        elif kind == "points.awarded":
            self.add(at, None, UUID(d["agent_id"]), None, points=d["points"])
        elif kind == "campaign.spend_recorded":
            self.add(None, date.fromisoformat(d["day"]), None, UUID(d["campaign_id"]),
                     spend=Decimal(str(d["amount"])))

    def rate(self, call: UUID, at: datetime, rating: int) -> None:
        if call not in self.ratings or self.ratings[call][0] <= at:
            self.ratings[call] = (at, rating)

    def _settle(self) -> list[tuple[UUID | None, str, datetime, datetime | None, str | None, UUID | None,
                                    Decimal | None]]:
        """Calls, tasks, statuses and stays into contributions; returns the stays for the funnel."""
        for call, d in self.calls.items():
            started = ts(d["started_at"])
            answered = ts(d["answered_at"]) if d.get("answered_at") else None
            inbound = d["direction"] == "inbound"
            agent, campaign = (UUID(d[k]) if d.get(k) else None for k in ("agent_id", "campaign_id"))
            rating = self.ratings.get(call, (None, None))[1]
            wait = int((answered - started).total_seconds()) if inbound and answered else 0
            handle = (d.get("talk_seconds") or 0) + (d.get("hold_seconds") or 0) + (d.get("wrap_up_seconds") or 0)
            human = agent is not None and agent in self.kinds and self.kinds[agent][1] == "human"
            self.add(started, None, agent, campaign, calls_total=1, calls_inbound=int(inbound),
                     calls_outbound=int(not inbound), calls_handled=int(answered is not None and agent is not None),
                     inbound_answered=int(inbound and answered is not None),
                     inbound_answered_within_sl=int(inbound and answered is not None and wait <= self.sl_threshold),
                     inbound_abandoned=int(inbound and bool(d.get("abandoned"))), answer_wait_seconds=wait,
                     talk_seconds=d.get("talk_seconds") or 0, hold_seconds=d.get("hold_seconds") or 0,
                     wrap_up_seconds=d.get("wrap_up_seconds") or 0, transfers=int(bool(d.get("transferred"))),
                     first_contact_resolved=int(bool(d.get("first_contact_resolution")) and answered is not None
                                                 and agent is not None),
                     csat_count=int(rating is not None), csat_sum=rating or 0,
                     csat_positive=int(rating is not None and rating >= 4),
                     call_cost=Decimal(str(d.get("cost") or 0)), tracked_handle_seconds=handle if human else 0)
        for at, agent in self.tasks.values():
            self.add(at, None, agent, None, tasks_completed=1)
        for agent, changes in self.statuses.items():
            ordered = sorted(changes)
            for (start, status), (end, _) in pairwise(ordered):
                if status == "offline":
                    continue
                cursor = start
                while cursor < end:
                    slot = quarter(cursor)
                    stop = min(end, slot + timedelta(minutes=15))
                    name = {"available": "available_seconds", "busy": "busy_seconds",
                            "wrap_up": "wrap_up_state_seconds"}[status]
                    self.add(slot, None, agent, None, **{name: int((stop - cursor).total_seconds())})
                    cursor = stop
        stays = []
        for lead, moves in self.transitions.items():
            ordered = sorted(moves, key=lambda m: m[0])
            campaign = self.lead_campaign[lead]
            for i, (entered, stage, agent, value) in enumerate(ordered):
                nxt = ordered[i + 1] if i + 1 < len(ordered) else None
                exited, next_stage = (nxt[0], nxt[1]) if nxt else (None, None)
                stays.append((campaign, stage, entered, exited, next_stage, agent, value))
                if stage == "won":
                    self.add(entered, None, agent, campaign, leads_converted=1, revenue=value or Decimal(0))
                if stage == "new" and next_stage not in (None, "lost"):
                    assert exited is not None
                    self.add(exited, None, None, campaign, leads_contacted=1)
        return stays

    def rollups(self) -> dict[str, dict[tuple[Any, ...], Counters]]:
        """Expected rows of every rollup table, keyed as the tables are, zero rows left out."""
        stays = self._settle()
        tables: dict[str, dict[tuple[Any, ...], Counters]] = {
            "daily_reports": defaultdict(lambda: defaultdict(int)),
            "agent_metrics": defaultdict(lambda: defaultdict(int)),
            "campaign_metrics": defaultdict(lambda: defaultdict(int)),
            "metrics_15m": defaultdict(lambda: defaultdict(int)),
            "conversion_funnels": defaultdict(lambda: defaultdict(int)),
        }
        for moment, day, agent, campaign, name, amount in self.contributions:
            local = day if day is not None else self.local_day(moment)  # type: ignore[arg-type]
            tables["daily_reports"][(local,)][name] += amount
            if agent is not None:
                tables["agent_metrics"][(agent, local)][name] += amount
            if campaign is not None:
                tables["campaign_metrics"][(campaign, local)][name] += amount
            if moment is not None:
                tables["metrics_15m"][(quarter(moment), agent, campaign)][name] += amount
        for campaign, stage, entered, exited, next_stage, _, _ in stays:
            row = tables["conversion_funnels"][(campaign, stage, self.local_day(entered))]
            row["entered"] += 1
            if exited is not None and next_stage is not None:
                seconds = int((exited - entered).total_seconds())
                out = tables["conversion_funnels"][(campaign, stage, self.local_day(exited))]
                out["exited"] += 1
                out["advanced"] += int(next_stage in RANK and RANK[next_stage] > RANK.get(stage, 99))
                out["lost"] += int(next_stage == "lost")
                out["time_in_stage_seconds_sum"] += seconds
                out[f"bucket_{bucket_of(seconds)}"] += 1
        return {name: {k: {c: n for c, n in v.items() if n} for k, v in rows.items() if any(v.values())}
                for name, rows in tables.items()}
