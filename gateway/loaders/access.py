"""The directory facts a principal's Access rests on: its own user, agent and team, the teams it manages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from gateway.access import WHOLE_TENANT_ROLES, Access
from gateway.auth import Principal
from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader
from gateway.loaders.user import UserBySubjectLoader, UserRow, subject_uuid

# One statement: the user the subject names (by id, else by the identity provider's subject), that user's
# agent and the agent's team, the teams it manages and those teams' agents.
ACCESS_FACTS: Final = """
WITH subject AS (
    SELECT id, email, display_name, role, agent_id, external_subject
    FROM (
        SELECT id, email, display_name, role, agent_id, external_subject, 0 AS preference
        FROM users WHERE tenant_id = $1 AND id = $2::uuid
        UNION ALL
        SELECT id, email, display_name, role, agent_id, external_subject, 1
        FROM users WHERE tenant_id = $1 AND external_subject = $3::text AND external_subject IS NOT NULL
    ) AS candidates
    ORDER BY preference
    LIMIT 1
), managed AS (
    SELECT m.team_id FROM team_managers m JOIN subject s ON m.user_id = s.id WHERE m.tenant_id = $1
)
SELECT s.id, s.email, s.display_name, s.role, s.agent_id, s.external_subject,
       a.team_id AS agent_team_id,
       array(SELECT team_id FROM managed) AS managed_teams,
       array(SELECT g.id FROM agents g WHERE g.tenant_id = $1 AND g.team_id IN (SELECT team_id FROM managed))
           AS managed_agents
FROM (SELECT 1) AS one
LEFT JOIN subject s ON true
LEFT JOIN agents a ON a.tenant_id = $1 AND a.id = s.agent_id
"""


class AccessLoader(TenantLoader[Principal, Access]):
    def __init__(self, db: TenantSession, users: UserBySubjectLoader) -> None:
        super().__init__(db)
        self.users = users

    async def batch_load_fn(self, keys: Sequence[Principal]) -> list[Access]:
        return [await self._one(p) for p in keys]

    async def _one(self, principal: Principal) -> Access:
        if principal.has(*WHOLE_TENANT_ROLES):
            return Access.of(principal, own_agent=None, own_team=None, managed_teams=frozenset(),
                             managed_agents=frozenset())
        row = await self.db.fetchrow(ACCESS_FACTS, self.db.tenant_id, subject_uuid(principal.user_id),
                                     principal.user_id)
        assert row is not None
        # The user is known now: `viewer { user }` and node(User) need no second lookup.
        self.users.prime(principal.user_id, UserRow.of(row) if row["id"] is not None else None)
        return Access.of(principal, own_agent=row["agent_id"], own_team=row["agent_team_id"],
                         managed_teams=frozenset(row["managed_teams"]),
                         managed_agents=frozenset(row["managed_agents"]))
