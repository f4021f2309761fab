"""The lists below an entity: a team's agents and managers, an agent's calls, leads and tasks, a campaign's calls
and leads, a lead's calls and tasks.

Each is the root list with the parent as one more filter, under the root's role rules: a parent agent or team
outside the role is FORBIDDEN, as it is when a root list is filtered by it; everything else is narrowed to what
the role may read. The rows come from the relation's loaders, one statement per level for all the parents.
"""

from __future__ import annotations

from uuid import UUID

from gateway.access import Access
from gateway.context import Context
from gateway.loaders import user as user_sql
from gateway.loaders.call import CallOrder
from gateway.loaders.lead import LeadOrder
from gateway.loaders.task import TaskOrder
from gateway.resolvers import agent as agent_resolvers
from gateway.resolvers import call as call_resolvers
from gateway.resolvers import lead as lead_resolvers
from gateway.resolvers import task as task_resolvers
from gateway.schema.agent import Agent, AgentFilter
from gateway.schema.call import Call, CallFilter
from gateway.schema.lead import Lead, LeadFilter
from gateway.schema.pagination import Connection, connection, name_position, page_size
from gateway.schema.task import Task, TaskFilter
from gateway.schema.user import User


async def team_agents(context: Context, team_id: UUID, first: int | None, after: str | None,
                      flt: AgentFilter | None) -> Connection[Agent]:
    """As agents(filter: {teamId})."""
    (await context.access()).require_team(team_id)
    below = context.loaders.relations.team_agents.below(team_id)
    return await agent_resolvers.agents(context, first, after, flt, below)


async def team_managers(context: Context, team_id: UUID, first: int | None, after: str | None) -> Connection[User]:
    """The users who manage the team, by display name.

    Directory entries follow node(User)'s rule: admin and viewer read every user, anyone else only their own,
    so a manager finds itself among the managers and not its peers.
    """
    access = await context.access()
    access.require_team(team_id)
    limit = page_size(first)
    where = user_sql.UserFilter(visible=await _visible_users(context, access))
    below = context.loaders.relations.team_managers.below(team_id)
    pairs, count = await below.page(where, user_sql.BY_DISPLAY_NAME, name_position(after) or (None, None),
                                    limit + 1)
    return connection(pairs, limit, after, lambda p: User(row=p[0]), lambda p: [p[0].display_name, str(p[0].id)],
                      count)


async def agent_calls(context: Context, agent_id: UUID, first: int | None, after: str | None,
                      flt: CallFilter | None, order: CallOrder) -> Connection[Call]:
    """As calls(filter: {agentId})."""
    (await context.access()).require_agent(agent_id)
    below = context.loaders.relations.agent_calls.below(agent_id)
    return await call_resolvers.calls(context, first, after, flt, order, below)


async def agent_leads(context: Context, agent_id: UUID, first: int | None, after: str | None,
                      flt: LeadFilter | None, order: LeadOrder) -> Connection[Lead]:
    """As leads(filter: {ownerId})."""
    (await context.access()).require_agent(agent_id)
    below = context.loaders.relations.agent_leads.below(agent_id)
    return await lead_resolvers.leads(context, first, after, flt, order, below)


async def agent_tasks(context: Context, agent_id: UUID, first: int | None, after: str | None,
                      flt: TaskFilter | None, order: TaskOrder) -> Connection[Task]:
    """As tasks(filter: {assigneeId})."""
    (await context.access()).require_agent(agent_id)
    below = context.loaders.relations.agent_tasks.below(agent_id)
    return await task_resolvers.tasks(context, first, after, flt, order, below)


# Campaigns are directory entries every human role reads, and a lead was checked when it was reached: their
# lists are narrowed like the root lists filtered by campaignId or leadId, never refused.

async def campaign_calls(context: Context, campaign_id: UUID, first: int | None, after: str | None,
                         flt: CallFilter | None, order: CallOrder) -> Connection[Call]:
    """As calls(filter: {campaignId})."""
    below = context.loaders.relations.campaign_calls.below(campaign_id)
    return await call_resolvers.calls(context, first, after, flt, order, below)


async def campaign_leads(context: Context, campaign_id: UUID, first: int | None, after: str | None,
                         flt: LeadFilter | None, order: LeadOrder) -> Connection[Lead]:
    """As leads(filter: {campaignId})."""
    below = context.loaders.relations.campaign_leads.below(campaign_id)
    return await lead_resolvers.leads(context, first, after, flt, order, below)


async def lead_calls(context: Context, lead_id: UUID, first: int | None, after: str | None,
                     flt: CallFilter | None, order: CallOrder) -> Connection[Call]:
    """As calls(filter: {leadId})."""
    below = context.loaders.relations.lead_calls.below(lead_id)
    return await call_resolvers.calls(context, first, after, flt, order, below)


async def lead_tasks(context: Context, lead_id: UUID, first: int | None, after: str | None,
                     flt: TaskFilter | None, order: TaskOrder) -> Connection[Task]:
    """As tasks(filter: {leadId})."""
    below = context.loaders.relations.lead_tasks.below(lead_id)
    return await task_resolvers.tasks(context, first, after, flt, order, below)


async def _visible_users(context: Context, access: Access) -> tuple[UUID, ...] | None:
    if access.whole_tenant:
        return None
    # Primed by the access lookup: the subject's own directory entry, by id or by external subject.
    own = await context.loaders.user_by_subject.load(context.require().user_id)
    return (own.id,) if own is not None else ()
