"""Who may read what inside a tenant: the role rules of the README, decided once per operation.

admin and viewer read the whole tenant; manager the agents of the teams they manage, plus tenant-wide and
campaign aggregates; agent its own agent and its own team's aggregates; service tokens read nothing about
people. A token with several roles gets the union.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from uuid import UUID

from gateway.auth import Principal, Role
from gateway.errors import Forbidden

# Roles that read the whole tenant, with no directory lookup needed.
WHOLE_TENANT_ROLES: Final = (Role.ADMIN, Role.VIEWER)


@dataclass(frozen=True)
class Access:
    """What one principal may read; lists are narrowed to it, a named entity outside it is FORBIDDEN."""

    whole_tenant: bool
    aggregates: bool
    own_agent: UUID | None = None
    own_team: UUID | None = None
    managed_teams: frozenset[UUID] = frozenset()
    managed_agents: frozenset[UUID] = frozenset()

    @classmethod
    def whole(cls) -> Access:
        return cls(whole_tenant=True, aggregates=True)

    @classmethod
    def of(cls, principal: Principal, *, own_agent: UUID | None, own_team: UUID | None,
           managed_teams: frozenset[UUID], managed_agents: frozenset[UUID]) -> Access:
        if principal.has(*WHOLE_TENANT_ROLES):
            return cls.whole()
        manager = principal.has(Role.MANAGER)
        agent = principal.has(Role.AGENT)
        return cls(
            whole_tenant=False,
            aggregates=manager,
            own_agent=own_agent if agent else None,
            own_team=own_team if agent else None,
            managed_teams=managed_teams if manager else frozenset(),
            managed_agents=managed_agents if manager else frozenset(),
        )

    @property
    def agent_ids(self) -> list[UUID] | None:
        """The agents whose individual data is readable, as a SQL filter: None means every agent."""
        if self.whole_tenant:
            return None
        ids = set(self.managed_agents)
        if self.own_agent is not None:
            ids.add(self.own_agent)
        return sorted(ids)

    @property
    def team_ids(self) -> list[UUID] | None:
        """The teams whose aggregates are readable, as a SQL filter: None means every team."""
        if self.whole_tenant:
            return None
        ids = set(self.managed_teams)
        if self.own_team is not None:
            ids.add(self.own_team)
        return sorted(ids)

    def can_read_agent(self, agent_id: UUID) -> bool:
        return self.whole_tenant or agent_id == self.own_agent or agent_id in self.managed_agents

    def can_read_team(self, team_id: UUID) -> bool:
        return self.whole_tenant or team_id == self.own_team or team_id in self.managed_teams

    def can_rank_team(self, team_id: UUID) -> bool:
        """Whether the team's agents may be listed one by one (a leaderboard), not only summed."""
        return self.whole_tenant or team_id in self.managed_teams

    def require_agent(self, agent_id: UUID) -> None:
        if not self.can_read_agent(agent_id):
            raise Forbidden("this agent's data is outside what your role may read")

    def require_team(self, team_id: UUID) -> None:
        if not self.can_read_team(team_id):
            raise Forbidden("this team's data is outside what your role may read")

    def require_owner(self, agent_id: UUID | None) -> None:
        """For rows owned by an agent (calls, leads, tasks); rows of no agent belong to no team."""
        if agent_id is None:
            self.require_whole_tenant()
        else:
            self.require_agent(agent_id)

    def require_aggregates(self) -> None:
        if not self.aggregates:
            raise Forbidden("tenant-wide and campaign figures need the role admin, viewer or manager")

    def require_whole_tenant(self) -> None:
        if not self.whole_tenant:
            raise Forbidden("this needs the role admin or viewer")
