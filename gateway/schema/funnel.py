"""The Funnel and FunnelStage types: stage transitions of a campaign or the tenant over a range."""

from __future__ import annotations

import math
from datetime import date

import strawberry

from gateway.loaders.funnel import HISTOGRAM_BOUNDS, StageCounts
from gateway.metrics import ratio
from gateway.schema.campaign import Campaign
from gateway.schema.lead import LeadStage


def histogram_percentile(histogram: tuple[int, ...], q: float) -> float | None:
    """The upper bound of the bucket holding the q-quantile; None without data or in the open last bucket."""
    total = sum(histogram)
    if total == 0:
        return None
    wanted = max(1, math.ceil(q * total))
    seen = 0
    for i, count in enumerate(histogram):
        seen += count
        if seen >= wanted:
            return float(HISTOGRAM_BOUNDS[i]) if i < len(HISTOGRAM_BOUNDS) else None
    return None


@strawberry.type(description="One funnel stage over the range, counted by the local day each transition happened.")
class FunnelStage:
    counts: strawberry.Private[StageCounts]

    @strawberry.field(description="The stage.")
    def stage(self) -> LeadStage:
        return LeadStage(self.counts.stage)

    @strawberry.field(description="Stays begun: leads entering the stage.")
    def entered(self) -> int:
        return self.counts.entered

    @strawberry.field(description="Stays ended.")
    def exited(self) -> int:
        return self.counts.exited

    @strawberry.field(description="Exits to a later stage.")
    def advanced(self) -> int:
        return self.counts.advanced

    @strawberry.field(description="Exits to lost.")
    def lost(self) -> int:
        return self.counts.lost

    @strawberry.field(description="Entered − exited within the range.")
    def still_open(self) -> int:
        return self.counts.entered - self.counts.exited

    @strawberry.field(description="Advanced / exited; null when nothing exited.")
    def conversion_to_next(self) -> float | None:
        return ratio(self.counts.advanced, self.counts.exited)

    @strawberry.field(description="Lost / exited; null when nothing exited.")
    def drop_off(self) -> float | None:
        return ratio(self.counts.lost, self.counts.exited)

    @strawberry.field(description="Mean seconds in the stage over the stays that ended in the range.")
    def average_seconds_in_stage(self) -> float | None:
        return ratio(self.counts.seconds_in_stage, self.counts.exited)

    @strawberry.field(description="Median seconds in the stage, as the upper bound of its histogram bucket; null "
                      "without exits or beyond the last bound (90 days).")
    def median_seconds_in_stage(self) -> float | None:
        return histogram_percentile(self.counts.histogram, 0.5)

    @strawberry.field(description="90th percentile of seconds in the stage, as the upper bound of its histogram "
                      "bucket; null without exits or beyond the last bound (90 days).")
    def p90_seconds_in_stage(self) -> float | None:
        return histogram_percentile(self.counts.histogram, 0.9)


@strawberry.type(description="The conversion funnel new → contacted → qualified → proposal → won (and lost).")
class Funnel:
    stage_counts: strawberry.Private[list[StageCounts]]
    campaign_row: strawberry.Private[Campaign | None]
    from_: date = strawberry.field(name="from", description="First day of the range.")
    to: date = strawberry.field(description="Last day of the range.")

    @strawberry.field(description="The campaign; null for the whole tenant's funnel.")
    def campaign(self) -> Campaign | None:
        return self.campaign_row

    @strawberry.field(description="Every stage in funnel order, lost last.")
    def stages(self) -> list[FunnelStage]:
        return [FunnelStage(counts=c) for c in self.stage_counts]

    @strawberry.field(description="Leads entering won / leads entering new, within the range.")
    def overall_conversion(self) -> float | None:
        by_stage = {c.stage: c for c in self.stage_counts}
        return ratio(by_stage["won"].entered, by_stage["new"].entered)
