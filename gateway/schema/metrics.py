"""The shared vocabulary of analytics: DateRange, Granularity, Metric, and the Metrics and Series types."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

import strawberry

from gateway import metrics as m
from gateway.metrics import Counters, Scope
from gateway.periods import Granularity, Preset

# The Python enums are the single definition; strawberry.enum registers them (in place) as GraphQL enums.
strawberry.enum(Preset, name="DateRangePreset", description="Named ranges in the tenant's calendar; weeks start on "
                "Monday, LAST_7_DAYS and LAST_30_DAYS end today.")
strawberry.enum(Granularity, description="Bucket size of a series, in the tenant's local time.")
strawberry.enum(m.Metric, name="Metric", description="Every metric of the definitions (README, Metric definitions).")
# Schema modules take Metric from here, so the registration above has run before any type uses it (strawberry
# would otherwise wrap the plain enum a second time).
Metric = m.Metric


@strawberry.input(description="Tenant-local days, both ends included: either `from` and `to`, or a `preset`.")
class DateRange:
    from_: date | None = strawberry.field(default=None, name="from", description="First day.")
    to: date | None = strawberry.field(default=None, description="Last day.")
    preset: Preset | None = strawberry.field(default=None, description="A named range instead of from/to.")


@strawberry.interface(description="Metrics of an agent, team, campaign or the tenant over a range; ratios are null "
                      "when their denominator is zero.")
class Metrics:
    # Plain fields, computed when the object is made (metrics_of): a dashboard reads thousands of them, and a
    # plain field costs graphql-core a getattr where a resolver method costs Strawberry an argument pass each.
    counters: strawberry.Private[Counters]
    scope: strawberry.Private[Scope]

    calls_total: int = strawberry.field(description="All calls, answered or not.")
    calls_handled: int = strawberry.field(description="Calls answered by an agent.")
    calls_inbound: int = strawberry.field(description="Inbound calls offered.")
    calls_outbound: int = strawberry.field(description="Outbound calls placed.")
    average_handle_time_seconds: float | None = strawberry.field(description="(Talk + hold + wrap-up seconds) / calls "
                                                                             "handled.")
    average_speed_of_answer_seconds: float | None = strawberry.field(description="Seconds from queue entry to answer, "
                                                                                 "over inbound calls answered.")
    service_level: float | None = strawberry.field(description="Inbound calls answered within the threshold / inbound "
                                                               "calls offered.")
    abandonment_rate: float | None = strawberry.field(description="Inbound calls abandoned in queue / inbound calls "
                                                                  "offered.")
    first_contact_resolution_rate: float | None = strawberry.field(description="Handled calls resolved on first "
                                                                               "contact / calls handled.")
    transfers: int = strawberry.field(description="Calls transferred.")
    csat: float | None = strawberry.field(description="Ratings of 4-5 / all ratings.")
    csat_mean: float | None = strawberry.field(description="Mean rating, 1-5.")
    csat_responses: int = strawberry.field(description="Number of ratings.")
    tasks_completed: int = strawberry.field(description="Tasks completed.")
    available_seconds: float = strawberry.field(description="Seconds signed in (available, busy or wrap-up); a Float, "
                                                            "as a year of a large floor exceeds a 32-bit Int.")
    occupancy: float | None = strawberry.field(description="Human agents' handle time / their available time; "
                                                  "null for an AI agent (its presence is not tracked).")
    points: int = strawberry.field(description="Gamification points awarded.")
    leads_generated: int = strawberry.field(description="Leads created (for their sourcing campaign).")
    leads_contacted: int = strawberry.field(description="Leads leaving stage new for anything but lost.")
    leads_converted: int = strawberry.field(description="Leads entering stage won.")
    conversion_rate: float | None = strawberry.field(description="Leads converted / leads generated (campaign, "
                                                                 "tenant) or / calls handled (agent, team).")
    revenue: float = strawberry.field(description="Value booked by conversions.")
    average_lead_value: float | None = strawberry.field(description="Revenue / leads converted.")
    cost: float = strawberry.field(description="Recorded spend + the cost of calls.")
    roi: float | None = strawberry.field(description="(Revenue - cost) / cost.")
    cost_per_lead: float | None = strawberry.field(description="Cost / leads generated.")


@strawberry.type(description="An agent's metrics over a range (conversion rate per call handled).")
class AgentMetrics(Metrics):
    pass


@strawberry.type(description="A team's metrics over a range: its current agents' figures summed.")
class TeamMetrics(Metrics):
    pass


@strawberry.type(description="A campaign's metrics over a range: leads, revenue, cost, ROI, cost per lead, calls.")
class CampaignMetrics(Metrics):
    pass


@strawberry.type(description="The whole tenant's metrics over a range.")
class TenantMetrics(Metrics):
    pass


_BY_SCOPE: Final[dict[Scope, type[Metrics]]] = {
    Scope.AGENT: AgentMetrics, Scope.TEAM: TeamMetrics, Scope.CAMPAIGN: CampaignMetrics,
    Scope.TENANT: TenantMetrics,
}
METRICS_TYPES: Final = tuple(_BY_SCOPE.values())


# Metrics whose GraphQL field is the counter itself (an Int); every other field is the metric's value.
_COUNT_FIELDS: Final = ("calls_total", "calls_handled", "calls_inbound", "calls_outbound", "transfers",
                        "tasks_completed", "points", "leads_generated", "leads_contacted", "leads_converted")
_VALUE_METRICS: Final = tuple(metric for metric in m.Metric if metric.value not in _COUNT_FIELDS)


def metrics_of(counters: Counters, scope: Scope) -> Metrics:
    """The scope's Metrics type over these counters, every field computed."""
    fields: dict[str, Any] = {metric.value: m.value(metric, counters, scope) for metric in _VALUE_METRICS}
    fields.update({name: getattr(counters, name) for name in _COUNT_FIELDS})
    return _BY_SCOPE[scope](counters=counters, scope=scope, csat_responses=counters.csat_count, **fields)


@strawberry.type(description="One metric's values, parallel to the series' bucketStarts.")
class SeriesValues:
    name: str = strawberry.field(description="The metric's name: a built-in metric's snake-case name or a custom "
                                 "metric's.")
    metric: m.Metric | None = strawberry.field(description="The built-in metric; null for a custom one.")
    values: list[float | None] = strawberry.field(description="One value per bucket; null where undefined.")


@strawberry.type(description="Metrics per bucket as parallel arrays: cheap to resolve, easy to chart.")
class Series:
    granularity: Granularity = strawberry.field(description="Bucket size.")
    bucket_starts: list[datetime] = strawberry.field(description="Start of every bucket (UTC instants), in order; "
                                                     "a DST day has 23 or 25 hourly buckets.")
    series: list[SeriesValues] = strawberry.field(description="The requested metrics, in the requested order.")
