"""The loaders of every list below a parent, per operation: a team's agents and managers, an agent's calls, leads
and tasks, a campaign's calls and leads, a lead's calls and tasks (how they batch: _lateral.py)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.db import TenantSession
from gateway.loaders import agent, call, lead, task, user
from gateway.loaders._lateral import Related
from gateway.loaders.agent import AgentRow
from gateway.loaders.call import CallOrder, CallRow
from gateway.loaders.lead import LeadOrder, LeadRow
from gateway.loaders.task import TaskOrder, TaskRow
from gateway.loaders.user import UserRow


@dataclass(frozen=True)
class RelationLoaders:
    team_agents: Related[str, AgentRow]
    team_managers: Related[str, UserRow]
    agent_calls: Related[CallOrder, CallRow]
    agent_leads: Related[LeadOrder, LeadRow]
    agent_tasks: Related[TaskOrder, TaskRow]
    campaign_calls: Related[CallOrder, CallRow]
    campaign_leads: Related[LeadOrder, LeadRow]
    lead_calls: Related[CallOrder, CallRow]
    lead_tasks: Related[TaskOrder, TaskRow]

    @classmethod
    def for_session(cls, db: TenantSession) -> RelationLoaders:
        return cls(
            team_agents=Related.of(db, agent.AGENTS_BY_TEAM, AgentRow),
            team_managers=Related.of(db, user.MANAGERS_BY_TEAM, UserRow),
            agent_calls=Related.of(db, call.CALLS_BY_AGENT, CallRow),
            agent_leads=Related.of(db, lead.LEADS_BY_OWNER, LeadRow),
            agent_tasks=Related.of(db, task.TASKS_BY_ASSIGNEE, TaskRow),
            campaign_calls=Related.of(db, call.CALLS_BY_CAMPAIGN, CallRow),
            campaign_leads=Related.of(db, lead.LEADS_BY_CAMPAIGN, LeadRow),
            lead_calls=Related.of(db, call.CALLS_BY_LEAD, CallRow),
            lead_tasks=Related.of(db, task.TASKS_BY_LEAD, TaskRow),
        )
