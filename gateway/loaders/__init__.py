"""DataLoaders, one module per domain; a fresh set per GraphQL operation so caches never outlive it."""

from __future__ import annotations

from dataclasses import dataclass

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
from gateway.loaders.metrics import SeriesLoader, TotalsLoader
from gateway.loaders.relations import RelationLoaders
from gateway.loaders.saved_report import SavedReportLoaders
from gateway.loaders.task import TaskByIdLoader
from gateway.loaders.team import TeamByIdLoader
from gateway.loaders.tenant import TenantByIdLoader
from gateway.loaders.user import UserByIdLoader, UserBySubjectLoader
from gateway.loaders.widget import WidgetByIdLoader
from gateway.metrics import Scope


@dataclass(frozen=True)
class Loaders:
    access: AccessLoader
    tenant_by_id: TenantByIdLoader
    user_by_id: UserByIdLoader
    user_by_subject: UserBySubjectLoader
    team_by_id: TeamByIdLoader
    agent_by_id: AgentByIdLoader
    badges_by_agent: BadgesByAgentLoader
    campaign_by_id: CampaignByIdLoader
    campaign_ids_by_agent: CampaignIdsByAgentLoader
    lead_by_id: LeadByIdLoader
    stays_by_lead: StaysByLeadLoader
    call_by_id: CallByIdLoader
    task_by_id: TaskByIdLoader
    funnel: FunnelLoader
    custom_metric_by_name: CustomMetricByNameLoader
    agent_totals_by_period: AgentTotalsByPeriodLoader
    standings: StandingsLoader
    totals: dict[Scope, TotalsLoader]
    series: dict[Scope, SeriesLoader]
    relations: RelationLoaders
    widget_by_id: WidgetByIdLoader
    saved_reports: SavedReportLoaders

    @classmethod
    def for_session(cls, db: TenantSession) -> Loaders:
        totals_by_period = AgentTotalsByPeriodLoader(db)
        user_by_subject = UserBySubjectLoader(db)
        return cls(
            access=AccessLoader(db, user_by_subject),
            tenant_by_id=TenantByIdLoader(db),
            user_by_id=UserByIdLoader(db),
            user_by_subject=user_by_subject,
            team_by_id=TeamByIdLoader(db),
            agent_by_id=AgentByIdLoader(db),
            badges_by_agent=BadgesByAgentLoader(db),
            campaign_by_id=CampaignByIdLoader(db),
            campaign_ids_by_agent=CampaignIdsByAgentLoader(db),
            lead_by_id=LeadByIdLoader(db),
            stays_by_lead=StaysByLeadLoader(db),
            call_by_id=CallByIdLoader(db),
            task_by_id=TaskByIdLoader(db),
            funnel=FunnelLoader(db),
            custom_metric_by_name=CustomMetricByNameLoader(db),
            agent_totals_by_period=totals_by_period,
            standings=StandingsLoader(totals_by_period),
            totals={scope: TotalsLoader(db, scope) for scope in Scope},
            series={scope: SeriesLoader(db, scope) for scope in Scope},
            relations=RelationLoaders.for_session(db),
            widget_by_id=WidgetByIdLoader(db),
            saved_reports=SavedReportLoaders.for_session(db),
        )
