"""The GraphQL schema: root Query and Subscription over the per-domain types."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ValidationCache
from strawberry.types import ExecutionContext

from gateway.context import Context, OperationScopeExtension
from gateway.cost import QueryCost
from gateway.engine.extension import PlannedExecution
from gateway.engine.plan import PlanCache
from gateway.graphql_errors import ErrorCodeExtension
from gateway.limits import DocumentParser, OperationTimeBudget, QuerySizeLimit
from gateway.loaders.call import CallOrder
from gateway.loaders.lead import LeadOrder
from gateway.loaders.task import TaskOrder
from gateway.periods import Granularity
from gateway.resolvers import agent as agent_resolvers
from gateway.resolvers import call as call_resolvers
from gateway.resolvers import campaign as campaign_resolvers
from gateway.resolvers import custom_metric as custom_metric_resolvers
from gateway.resolvers import event_analytics as event_analytics_resolvers
from gateway.resolvers import funnel as funnel_resolvers
from gateway.resolvers import ingest as ingest_resolvers
from gateway.resolvers import lead as lead_resolvers
from gateway.resolvers import leaderboard as leaderboard_resolvers
from gateway.resolvers import node as node_resolvers
from gateway.resolvers import report as report_resolvers
from gateway.resolvers import screen as screen_resolvers
from gateway.resolvers import settings as settings_resolvers
from gateway.resolvers import task as task_resolvers
from gateway.resolvers import team as team_resolvers
from gateway.resolvers import tenant as tenant_resolvers
from gateway.resolvers import viewer as viewer_resolvers
from gateway.resolvers import widget as widget_resolvers
from gateway.resolvers._filters import key_of
from gateway.schema._execution import ScalarListExecutionContext
from gateway.schema.agent import Agent, AgentFilter
from gateway.schema.call import Call, CallFilter
from gateway.schema.campaign import Campaign, CampaignStatus
from gateway.schema.custom_metric import CustomMetric
from gateway.schema.event_analytics import EventAnalytics, EventCategory
from gateway.schema.funnel import Funnel
from gateway.schema.ingest import EventInput, IngestReport
from gateway.schema.lead import Lead, LeadFilter
from gateway.schema.leaderboard import Comparison, Leaderboard, RankingScope
from gateway.schema.metrics import METRICS_TYPES, DateRange, Metric
from gateway.schema.node import Node
from gateway.schema.pagination import Connection
from gateway.schema.report import DailyReport
from gateway.schema.saved_report import (
    CreateReportInput,
    Report,
    ReportExecution,
    ReportExecutionStatus,
    RunReportDefinitionInput,
    UpdateReportInput,
)
from gateway.schema.screen import IssuedScreenToken, ScreenToken
from gateway.schema.settings import TenantSettingsInput, TenantSettingsResult
from gateway.schema.subscription import Subscription
from gateway.schema.task import Task, TaskFilter
from gateway.schema.team import Team
from gateway.schema.tenant import Tenant
from gateway.schema.user import Viewer
from gateway.schema.widget import CreateWidgetInput, UpdateWidgetInput, Widget, WidgetMoveInput
from gateway.screens import ReadOnlyScreens


@strawberry.type
class Query:
    @strawberry.field(description="Who is asking: the token's subject, roles, directory entry and tenant.")
    async def viewer(self, info: strawberry.Info[Context, None]) -> Viewer:
        return await viewer_resolvers.viewer(info.context)

    @strawberry.field(description="The tenant of the token.")
    async def tenant(self, info: strawberry.Info[Context, None]) -> Tenant:
        return await tenant_resolvers.current_tenant(info.context)

    @strawberry.field(description="The tenant's agents, ordered by name, `first` (default 50, max 200) at a time.")
    async def agents(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: AgentFilter | None = None,
    ) -> Connection[Agent]:
        return await agent_resolvers.agents(info.context, first, after, filter)

    @strawberry.field(description="The tenant's campaigns, ordered by name, `first` (default 50, max 200) at a time.")
    async def campaigns(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        status: CampaignStatus | None = None,
    ) -> Connection[Campaign]:
        return await campaign_resolvers.campaigns(info.context, first, after, status)

    @strawberry.field(description="The conversion funnel of a campaign, or of the whole tenant without campaignId.")
    async def funnel(self, info: strawberry.Info[Context, None], range: DateRange,
                     campaign_id: strawberry.ID | None = None) -> Funnel:
        return await funnel_resolvers.funnel(info.context, key_of(campaign_id, "Campaign"), range)

    @strawberry.field(description="The tenant's figures per local day of the range (at most 400 days), with the "
                      "per-team breakdown.")
    async def daily_reports(self, info: strawberry.Info[Context, None], range: DateRange) -> list[DailyReport]:
        return await leaderboard_resolvers.daily_reports(info.context, range)

    @strawberry.field(description="Agents ranked by one metric (built-in `metric` or `customMetric`) over a range, "
                      "in a team or the whole tenant; `first` 1-200.")
    async def leaderboard(self, info: strawberry.Info[Context, None], range: DateRange, metric: Metric | None = None,
                          custom_metric: str | None = None, scope: RankingScope | None = None,
                          first: int = 10) -> Leaderboard:
        return await leaderboard_resolvers.leaderboard(info.context, metric, custom_metric, range, scope, first)

    @strawberry.field(description="Up to 50 agents side by side on built-in `metrics` and `customMetrics`, with "
                      "the previous period of the same length.")
    async def compare(self, info: strawberry.Info[Context, None], agents: list[strawberry.ID], range: DateRange,
                      metrics: list[Metric] | None = None, custom_metrics: list[str] | None = None) -> Comparison:
        return await leaderboard_resolvers.compare(info.context, agents, metrics, custom_metrics, range)

    @strawberry.field(description="The tenant's custom metrics, by name.")
    async def custom_metrics(self, info: strawberry.Info[Context, None]) -> list[CustomMetric]:
        return await custom_metric_resolvers.custom_metrics(info.context)

    @strawberry.field(description="Counts, unique users and series of the platform's `track` events (page views, "
                      "actions, conversions) over a range.")
    async def event_analytics(self, info: strawberry.Info[Context, None], range: DateRange,
                              category: EventCategory | None = None, names: list[str] | None = None,
                              granularity: Granularity = Granularity.DAY, top: int = 10) -> EventAnalytics:
        return await event_analytics_resolvers.event_analytics(info.context, range, category, names, granularity,
                                                               top)

    @strawberry.field(description="Any object by its global id; null when there is none.")
    async def node(self, info: strawberry.Info[Context, None], id: strawberry.ID) -> Node | None:
        return await node_resolvers.node(info.context, id)

    @strawberry.field(description="The teams you may read, ordered by name, `first` (default 50, max 200) at a time.")
    async def teams(self, info: strawberry.Info[Context, None], first: int | None = None,
                    after: str | None = None) -> Connection[Team]:
        return await team_resolvers.teams(info.context, first, after)

    @strawberry.field(description="Calls you may read, newest first unless `orderBy` says otherwise.")
    async def calls(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: CallFilter | None = None,
        order_by: CallOrder = CallOrder.STARTED_AT_DESC,
    ) -> Connection[Call]:
        return await call_resolvers.calls(info.context, first, after, filter, order_by)

    @strawberry.field(description="Leads you may read (those owned by agents you may read), newest first by default.")
    async def leads(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: LeadFilter | None = None,
        order_by: LeadOrder = LeadOrder.CREATED_AT_DESC,
    ) -> Connection[Lead]:
        return await lead_resolvers.leads(info.context, first, after, filter, order_by)

    @strawberry.field(description="Tasks you may read (those assigned to agents you may read), newest first.")
    async def tasks(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: TaskFilter | None = None,
        order_by: TaskOrder = TaskOrder.CREATED_AT_DESC,
    ) -> Connection[Task]:
        return await task_resolvers.tasks(info.context, first, after, filter, order_by)

    @strawberry.field(description="Your own dashboard widgets, top to bottom and left to right on the grid.")
    async def widgets(self, info: strawberry.Info[Context, None]) -> list[Widget]:
        return await widget_resolvers.widgets(info.context)

    @strawberry.field(description="The saved reports you may see (yours, those shared with you or your role; "
                      "all for admins), by name, `first` (default 50, max 200) at a time.")
    async def reports(self, info: strawberry.Info[Context, None], first: int | None = None,
                      after: str | None = None) -> Connection[Report]:
        return await report_resolvers.reports(info.context, first, after)

    @strawberry.field(description="One saved report you may see; NOT_FOUND for any other.")
    async def report(self, info: strawberry.Info[Context, None], id: strawberry.ID) -> Report | None:
        return await report_resolvers.report(info.context, id)

    @strawberry.field(description="Report executions you may see, newest first, `first` (default 50, max 200) at a "
                      "time; `reportId` narrows to one report's, `status` to one status.")
    async def report_executions(self, info: strawberry.Info[Context, None], first: int | None = None,
                                after: str | None = None, report_id: strawberry.ID | None = None,
                                status: ReportExecutionStatus | None = None) -> Connection[ReportExecution]:
        return await report_resolvers.report_executions(info.context, first, after, report_id, status)

    @strawberry.field(description="The tenant's screen tokens (admin), newest first: those neither revoked nor "
                      "ended, or all of them with `includeInactive`.")
    async def screen_tokens(self, info: strawberry.Info[Context, None],
                            include_inactive: bool = False) -> list[ScreenToken]:
        return await screen_resolvers.screen_tokens(info.context, include_inactive)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Ingests up to 1,000 events for the token's tenant (roles service or admin).")
    async def track_events(self, info: strawberry.Info[Context, None], events: list[EventInput]) -> IngestReport:
        return await ingest_resolvers.track_events(info.context, events)

    @strawberry.mutation(description="Defines or redefines a custom metric (admin): a formula over built-in metrics "
                         "with + - * /, parentheses and constants, e.g. `revenue / calls_handled`.")
    async def define_custom_metric(self, info: strawberry.Info[Context, None], name: str, formula: str,
                                   description: str = "", higher_is_better: bool = True) -> CustomMetric:
        return await custom_metric_resolvers.define(info.context, name, formula, description, higher_is_better)

    @strawberry.mutation(description="Deletes a custom metric (admin); false when there was none by that name.")
    async def delete_custom_metric(self, info: strawberry.Info[Context, None], name: str) -> bool:
        return await custom_metric_resolvers.delete(info.context, name)

    @strawberry.mutation(description="Changes the tenant's timezone, service-level threshold or default export format "
                         "(admin); a new timezone or threshold recomputes the rollups in the same transaction.")
    async def update_tenant_settings(self, info: strawberry.Info[Context, None],
                                     settings: TenantSettingsInput) -> TenantSettingsResult:
        return await settings_resolvers.update(info.context, settings)

    @strawberry.mutation(description="Adds a widget to your dashboard: its type, title, place on the grid and "
                         "config, checked as the graph would answer it.")
    async def create_widget(self, info: strawberry.Info[Context, None], input: CreateWidgetInput) -> Widget:
        return await widget_resolvers.create(info.context, input)

    @strawberry.mutation(description="Changes the fields given of one of your widgets.")
    async def update_widget(self, info: strawberry.Info[Context, None], id: strawberry.ID,
                            input: UpdateWidgetInput) -> Widget:
        return await widget_resolvers.update(info.context, id, input)

    @strawberry.mutation(description="Moves or resizes several of your widgets at once: all of them, or none "
                         "when any is not yours.")
    async def move_widgets(self, info: strawberry.Info[Context, None], moves: list[WidgetMoveInput]) -> list[Widget]:
        return await widget_resolvers.move(info.context, moves)

    @strawberry.mutation(description="Deletes one of your widgets; true, or NOT_FOUND when it is not yours.")
    async def delete_widget(self, info: strawberry.Info[Context, None], id: strawberry.ID) -> bool:
        return await widget_resolvers.delete(info.context, id)

    @strawberry.mutation(description="Saves a report (admin, manager): its type and parameters, format, an "
                         "optional cron schedule in the tenant's timezone, delivery and sharing, all checked first.")
    async def create_report(self, info: strawberry.Info[Context, None], input: CreateReportInput) -> Report | None:
        return await report_resolvers.create(info.context, input)

    @strawberry.mutation(description="Changes the fields given of a report you created (any, for admins).")
    async def update_report(self, info: strawberry.Info[Context, None], id: strawberry.ID,
                            input: UpdateReportInput) -> Report | None:
        return await report_resolvers.update(info.context, id, input)

    @strawberry.mutation(description="Deletes a report you created (any, for admins) with its executions; true, "
                         "or NOT_FOUND when you do not see it.")
    async def delete_report(self, info: strawberry.Info[Context, None], id: strawberry.ID) -> bool:
        return await report_resolvers.delete(info.context, id)

    @strawberry.mutation(description="Runs a report you see now, as you: the pending execution (a worker runs it). "
                         "`deliver: true` also sends it to the report's recipients (its creator or an admin).")
    async def run_report(self, info: strawberry.Info[Context, None], id: strawberry.ID,
                         deliver: bool = False) -> ReportExecution | None:
        return await report_resolvers.run(info.context, id, deliver)

    @strawberry.mutation(description="Runs a report definition once without saving it (admin, manager), as you: "
                         "the pending execution.")
    async def run_report_definition(self, info: strawberry.Info[Context, None],
                                    input: RunReportDefinitionInput) -> ReportExecution | None:
        return await report_resolvers.run_definition(info.context, input)

    @strawberry.mutation(description="Lets a wall screen show a user's dashboard for `days` (1-365), read-only "
                         "(admin): the grant, and the screen's first short-lived token.")
    async def issue_screen_token(self, info: strawberry.Info[Context, None], user_id: strawberry.ID, label: str,
                                 days: int = 30) -> IssuedScreenToken:
        return await screen_resolvers.issue(info.context, user_id, label, days)

    @strawberry.mutation(description="A fresh token for the screen calling it with its own token, while its grant "
                         "is neither revoked nor ended; call it before the token expires.")
    async def renew_screen_token(self, info: strawberry.Info[Context, None]) -> IssuedScreenToken:
        return await screen_resolvers.renew(info.context)

    @strawberry.mutation(description="Revokes a screen token now (admin): its requests are refused and its open "
                         "sockets closed (4403) at once.")
    async def revoke_screen_token(self, info: strawberry.Info[Context, None], id: strawberry.ID) -> ScreenToken:
        return await screen_resolvers.revoke(info.context, id)


class CallPulseSchema(strawberry.Schema):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Operation plans of the planned executor (gateway/engine), compiled once per document.
        self.plan_cache = PlanCache()

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # ErrorCodeExtension logs what is unexpected, with the request id; client errors are not log-worthy.
        return None


def build_schema(**kwargs: Any) -> strawberry.Schema:
    return CallPulseSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Parsing (within the document limits) and validation are cached per document: dashboards repeat theirs.
        # Then the cost is checked against the budget, before the operation's transaction sees any SQL; the time
        # budget runs inside that transaction and around the execution (gateway/limits.py, gateway/cost.py).
        extensions=[ErrorCodeExtension, DocumentParser, lambda: ValidationCache(maxsize=256), QuerySizeLimit,
                    QueryCost, ReadOnlyScreens, OperationScopeExtension, OperationTimeBudget, PlannedExecution],
        # Types reachable only through `node(id:)` must still be in the schema.
        types=[Agent, Team, Campaign, Lead, Call, Task, Tenant, *METRICS_TYPES],
        # Lists of plain scalars (series values) are coerced in one pass: see _execution.py.
        execution_context_class=ScalarListExecutionContext,
        **kwargs,
    )


schema = build_schema()
