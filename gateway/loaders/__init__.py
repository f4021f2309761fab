"""DataLoaders, one module per domain; a fresh set per GraphQL operation so caches never outlive it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TypeVar

from gateway.db import TenantSession
from gateway.loaders.access import AccessLoader
from gateway.loaders.agent import AgentByIdLoader
from gateway.loaders.badge import BadgesByAgentLoader
from gateway.loaders.call import CallByIdLoader
from gateway.loaders.campaign import CampaignByIdLoader, CampaignIdsByAgentLoader
from gateway.loaders.custom_metric import CustomMetricByNameLoader
from gateway.loaders.funnel import FunnelLoader
from gateway.loaders.lead import LeadByIdLoader, StaysByLeadLoader
from gateway.loaders.leaderboard import AgentTotalsByPeriodLoader, StandingsLoader
from gateway.loaders.metrics import SeriesLoader, SeriesValuesLoader, TotalsLoader
from gateway.loaders.relations import RelationLoaders
from gateway.loaders.saved_report import SavedReportLoaders
from gateway.loaders.task import TaskByIdLoader
from gateway.loaders.team import TeamByIdLoader
from gateway.loaders.tenant import TenantByIdLoader
from gateway.loaders.user import UserByIdLoader, UserBySubjectLoader
from gateway.loaders.widget import WidgetByIdLoader
from gateway.metrics import Scope

V = TypeVar("V")


class _PerScope(dict[Scope, V]):
    """Loaders by metric scope, each made the first time its scope is asked for."""

    def __init__(self, make: Callable[[Scope], V]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, scope: Scope) -> V:
        loader = self[scope] = self._make(scope)
        return loader


class Loaders:
    """The operation's loaders, each made when first used: an operation touches a few of the fifty, and making
    them all cost more than most of its fields (a dashboard's refresh makes a set per change)."""

    def __init__(self, db: TenantSession) -> None:
        self.db = db

    @classmethod
    def for_session(cls, db: TenantSession) -> Loaders:
        return cls(db)

    @cached_property
    def access(self) -> AccessLoader:
        return AccessLoader(self.db, self.user_by_subject)

    @cached_property
    def tenant_by_id(self) -> TenantByIdLoader:
        return TenantByIdLoader(self.db)

    @cached_property
    def user_by_id(self) -> UserByIdLoader:
        return UserByIdLoader(self.db)

    @cached_property
    def user_by_subject(self) -> UserBySubjectLoader:
        return UserBySubjectLoader(self.db)

    @cached_property
    def team_by_id(self) -> TeamByIdLoader:
        return TeamByIdLoader(self.db)

    @cached_property
    def agent_by_id(self) -> AgentByIdLoader:
        return AgentByIdLoader(self.db)

    @cached_property
    def badges_by_agent(self) -> BadgesByAgentLoader:
        return BadgesByAgentLoader(self.db)

    @cached_property
    def campaign_by_id(self) -> CampaignByIdLoader:
        return CampaignByIdLoader(self.db)

    @cached_property
    def campaign_ids_by_agent(self) -> CampaignIdsByAgentLoader:
        return CampaignIdsByAgentLoader(self.db)

    @cached_property
    def lead_by_id(self) -> LeadByIdLoader:
        return LeadByIdLoader(self.db)

    @cached_property
    def stays_by_lead(self) -> StaysByLeadLoader:
        return StaysByLeadLoader(self.db)

    @cached_property
    def call_by_id(self) -> CallByIdLoader:
        return CallByIdLoader(self.db)

    @cached_property
    def task_by_id(self) -> TaskByIdLoader:
        return TaskByIdLoader(self.db)

    @cached_property
    def funnel(self) -> FunnelLoader:
        return FunnelLoader(self.db)

    @cached_property
    def custom_metric_by_name(self) -> CustomMetricByNameLoader:
        return CustomMetricByNameLoader(self.db)

    @cached_property
    def agent_totals_by_period(self) -> AgentTotalsByPeriodLoader:
        return AgentTotalsByPeriodLoader(self.db)

    @cached_property
    def standings(self) -> StandingsLoader:
        return StandingsLoader(self.agent_totals_by_period)

    @cached_property
    def totals(self) -> dict[Scope, TotalsLoader]:
        return _PerScope(lambda scope: TotalsLoader(self.db, scope))

    @cached_property
    def series(self) -> dict[Scope, SeriesLoader]:
        return _PerScope(lambda scope: SeriesLoader(self.db, scope))

    @cached_property
    def series_values(self) -> dict[Scope, SeriesValuesLoader]:
        return _PerScope(lambda scope: SeriesValuesLoader(self.db, scope))

    @cached_property
    def relations(self) -> RelationLoaders:
        return RelationLoaders.for_session(self.db)

    @cached_property
    def widget_by_id(self) -> WidgetByIdLoader:
        return WidgetByIdLoader(self.db)

    @cached_property
    def saved_reports(self) -> SavedReportLoaders:
        return SavedReportLoaders.for_session(self.db)
