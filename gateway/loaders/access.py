"""The directory facts a principal's Access rests on: its own agent and team, the teams it manages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from gateway.access import WHOLE_TENANT_ROLES, Access
from gateway.auth import Principal
from gateway.loaders._base import TenantLoader

# One statement: the subject's agent and that agent's team, the teams it manages and those teams' agents.
ACCESS_FACTS: Final = """
WITH managed AS (
    SELECT team_id FROM team_managers WHERE tenant_id = $1 AND user_id = $2
)
SELECT u.agent_id,
       a.team_id AS agent_team_id,
       array(SELECT team_id FROM managed) AS managed_teams,
       array(SELECT g.id FROM agents g WHERE g.tenant_id = $1 AND g.team_id IN (SELECT team_id FROM managed))
           AS managed_agents
FROM (SELECT 1) AS one
LEFT JOIN users u ON u.tenant_id = $1 AND u.id = $2
LEFT JOIN agents a ON a.tenant_id = u.tenant_id AND a.id = u.agent_id
"""


class AccessLoader(TenantLoader[Principal, Access]):
    async def batch_load_fn(self, keys: Sequence[Principal]) -> list[Access]:
        return [await self._one(p) for p in keys]

    async def _one(self, principal: Principal) -> Access:
        user = principal.user_uuid
        if principal.has(*WHOLE_TENANT_ROLES) or user is None:
            return Access.of(principal, own_agent=None, own_team=None, managed_teams=frozenset(),
                             managed_agents=frozenset())
        row = await self.db.fetchrow(ACCESS_FACTS, self.db.tenant_id, user)
        assert row is not None
        return Access.of(principal, own_agent=row["agent_id"], own_team=row["agent_team_id"],
                         managed_teams=frozenset(row["managed_teams"]),
                         managed_agents=frozenset(row["managed_agents"]))

