"""Leaderboards and an agent's standing: rankings of agents by a metric over a range."""

from __future__ import annotations

from datetime import date

import strawberry

from gateway.schema.agent import Agent
from gateway.schema.metrics import Metric


@strawberry.input(description="Whom to rank: a team's agents, or the whole tenant's when teamId is absent.")
class RankingScope:
    team_id: strawberry.ID | None = strawberry.field(default=None, description="Only this team's agents.")


@strawberry.type(description="An agent's place on a leaderboard.")
class LeaderboardEntry:
    rank: int | None = strawberry.field(description="1 is best; ties share the best rank; null without a value.")
    agent: Agent = strawberry.field(description="The agent.")
    value: float | None = strawberry.field(description="The agent's value of the metric; null when undefined.")


@strawberry.type(description="Agents ranked by one metric over a range; lower is better for times, rates of "
                 "abandonment and costs, higher for the rest (custom metrics say which).")
class Leaderboard:
    name: str = strawberry.field(description="The metric's name (built-in or custom).")
    metric: Metric | None = strawberry.field(description="The built-in metric ranked by; null for a custom one.")
    from_: date = strawberry.field(name="from", description="First day of the range.")
    to: date = strawberry.field(description="Last day of the range.")
    higher_is_better: bool = strawberry.field(description="Whether larger values rank first.")
    agents_ranked: int = strawberry.field(description="Agents in the scope with a value.")
    entries: list[LeaderboardEntry] = strawberry.field(description="The best `first` agents, best first; agents "
                                                       "without a value follow the ranked ones.")


@strawberry.type(description="Where an agent stands by one metric within its team and within the tenant.")
class Standing:
    name: str = strawberry.field(description="The metric's name (built-in or custom).")
    metric: Metric | None = strawberry.field(description="The built-in metric; null for a custom one.")
    value: float | None = strawberry.field(description="The agent's value; null when undefined.")
    rank_in_team: int | None = strawberry.field(description="1 is best; null without a value or a team.")
    team_size: int = strawberry.field(description="Agents of the team with a value.")
    percentile_in_team: float | None = strawberry.field(
        description="0-100: share of the team's agents with a worse value, ties counting half.")
    rank_in_tenant: int | None = strawberry.field(description="1 is best; null without a value.")
    tenant_size: int = strawberry.field(description="Agents of the tenant with a value.")
    percentile_in_tenant: float | None = strawberry.field(
        description="0-100: share of the tenant's agents with a worse value, ties counting half.")


@strawberry.type(description="One agent's row of a comparison: values parallel to the comparison's `names`.")
class ComparisonRow:
    agent: Agent = strawberry.field(description="The agent.")
    values: list[float | None] = strawberry.field(description="Each metric over the range.")
    previous: list[float | None] = strawberry.field(description="Each metric over the previous period of the same "
                                                    "length.")
    change: list[float | None] = strawberry.field(description="(value − previous) / |previous| per metric.")


@strawberry.type(description="Agents side by side on several metrics, with the previous period.")
class Comparison:
    from_: date = strawberry.field(name="from", description="First day of the range.")
    to: date = strawberry.field(description="Last day of the range.")
    names: list[str] = strawberry.field(description="The metrics' names, in the order of every row's values.")
    metrics: list[Metric | None] = strawberry.field(description="The built-in metric per column; null for custom.")
    rows: list[ComparisonRow] = strawberry.field(description="One row per agent, in the order asked.")
