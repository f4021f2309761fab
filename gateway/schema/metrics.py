"""The shared vocabulary of analytics: DateRange, Granularity, Metric, and the Metrics and Series types."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

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
    counters: strawberry.Private[Counters]
    scope: strawberry.Private[Scope]

    def _v(self, metric: m.Metric) -> float | None:
        return m.value(metric, self.counters, self.scope)

    @strawberry.field(description="All calls, answered or not.")
    def calls_total(self) -> int:
        return self.counters.calls_total

    @strawberry.field(description="Calls answered by an agent.")
    def calls_handled(self) -> int:
        return self.counters.calls_handled

    @strawberry.field(description="Inbound calls offered.")
    def calls_inbound(self) -> int:
        return self.counters.calls_inbound

    @strawberry.field(description="Outbound calls placed.")
    def calls_outbound(self) -> int:
        return self.counters.calls_outbound

    @strawberry.field(description="(Talk + hold + wrap-up seconds) / calls handled.")
    def average_handle_time_seconds(self) -> float | None:
        return self._v(m.Metric.AVERAGE_HANDLE_TIME)

    @strawberry.field(description="Seconds from queue entry to answer, over inbound calls answered.")
    def average_speed_of_answer_seconds(self) -> float | None:
        return self._v(m.Metric.AVERAGE_SPEED_OF_ANSWER)

    @strawberry.field(description="Inbound calls answered within the threshold / inbound calls offered.")
    def service_level(self) -> float | None:
        return self._v(m.Metric.SERVICE_LEVEL)

    @strawberry.field(description="Inbound calls abandoned in queue / inbound calls offered.")
    def abandonment_rate(self) -> float | None:
        return self._v(m.Metric.ABANDONMENT_RATE)

    @strawberry.field(description="Handled calls resolved on first contact / calls handled.")
    def first_contact_resolution_rate(self) -> float | None:
        return self._v(m.Metric.FIRST_CONTACT_RESOLUTION)

    @strawberry.field(description="Calls transferred.")
    def transfers(self) -> int:
        return self.counters.transfers

    @strawberry.field(description="Ratings of 4-5 / all ratings.")
    def csat(self) -> float | None:
        return self._v(m.Metric.CSAT)

    @strawberry.field(description="Mean rating, 1-5.")
    def csat_mean(self) -> float | None:
        return self._v(m.Metric.CSAT_MEAN)

    @strawberry.field(description="Number of ratings.")
    def csat_responses(self) -> int:
        return self.counters.csat_count

    @strawberry.field(description="Tasks completed.")
    def tasks_completed(self) -> int:
        return self.counters.tasks_completed

    @strawberry.field(description="Seconds signed in (available, busy or wrap-up); a Float, as a year of a large "
                      "floor exceeds a 32-bit Int.")
    def available_seconds(self) -> float:
        return float(m.available_seconds(self.counters))

    @strawberry.field(description="Handle time / available time.")
    def occupancy(self) -> float | None:
        return self._v(m.Metric.OCCUPANCY)

    @strawberry.field(description="Gamification points awarded.")
    def points(self) -> int:
        return self.counters.points

    @strawberry.field(description="Leads created (for their sourcing campaign).")
    def leads_generated(self) -> int:
        return self.counters.leads_generated

    @strawberry.field(description="Leads leaving stage new for anything but lost.")
    def leads_contacted(self) -> int:
        return self.counters.leads_contacted

    @strawberry.field(description="Leads entering stage won.")
    def leads_converted(self) -> int:
        return self.counters.leads_converted

    @strawberry.field(description="Leads converted / leads generated (campaign, tenant) or / calls handled "
                      "(agent, team).")
    def conversion_rate(self) -> float | None:
        return self._v(m.Metric.CONVERSION_RATE)

    @strawberry.field(description="Value booked by conversions.")
    def revenue(self) -> float:
        return float(self.counters.revenue)

    @strawberry.field(description="Revenue / leads converted.")
    def average_lead_value(self) -> float | None:
        return self._v(m.Metric.AVERAGE_LEAD_VALUE)

    @strawberry.field(description="Recorded spend + the cost of calls.")
    def cost(self) -> float:
        return float(m.cost(self.counters))

    @strawberry.field(description="(Revenue - cost) / cost.")
    def roi(self) -> float | None:
        return self._v(m.Metric.ROI)

    @strawberry.field(description="Cost / leads generated.")
    def cost_per_lead(self) -> float | None:
        return self._v(m.Metric.COST_PER_LEAD)


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


def metrics_of(counters: Counters, scope: Scope) -> Metrics:
    """The scope's Metrics type over these counters."""
    return _BY_SCOPE[scope](counters=counters, scope=scope)


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
