"""DataLoaders, one module per domain; a fresh set per GraphQL operation so caches never outlive it."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.db import TenantSession
from gateway.loaders.agent import AgentByIdLoader
from gateway.loaders.metrics import SeriesLoader, TotalsLoader
from gateway.loaders.team import TeamByIdLoader
from gateway.loaders.tenant import TenantByIdLoader
from gateway.loaders.user import UserByIdLoader
from gateway.metrics import Scope


@dataclass(frozen=True)
class Loaders:
    tenant_by_id: TenantByIdLoader
    user_by_id: UserByIdLoader
    team_by_id: TeamByIdLoader
    agent_by_id: AgentByIdLoader
    totals: dict[Scope, TotalsLoader]
    series: dict[Scope, SeriesLoader]

    @classmethod
    def for_session(cls, db: TenantSession) -> Loaders:
        return cls(
            tenant_by_id=TenantByIdLoader(db),
            user_by_id=UserByIdLoader(db),
            team_by_id=TeamByIdLoader(db),
            agent_by_id=AgentByIdLoader(db),
            totals={scope: TotalsLoader(db, scope) for scope in Scope},
            series={scope: SeriesLoader(db, scope) for scope in Scope},
        )
