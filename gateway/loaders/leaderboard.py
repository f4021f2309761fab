"""Per-agent counters of every agent in a team or the tenant, for rankings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from uuid import UUID

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader
from gateway.loaders.agent import AgentRow
from gateway.loaders.metrics import SUMS
from gateway.metrics import Counters
from gateway.periods import Period

# Every agent of the scope, with zero counters when it had no activity ($2 NULL: the whole tenant).
AGENT_TOTALS_IN_SCOPE: Final = f"""
SELECT a.id, a.team_id, a.name, a.email, a.kind, a.status, a.hired_on, {SUMS}
FROM agents a
LEFT JOIN agent_metrics m ON m.tenant_id = a.tenant_id AND m.agent_id = a.id AND m.day BETWEEN $3 AND $4
WHERE a.tenant_id = $1 AND ($2::uuid IS NULL OR a.team_id = $2)
GROUP BY a.tenant_id, a.id
"""  # noqa: S608 - constant columns

_AGENT_COLUMNS: Final = ("id", "team_id", "name", "email", "kind", "status", "hired_on")


async def agent_totals(db: TenantSession, team: UUID | None, period: Period) -> list[tuple[AgentRow, Counters]]:
    rows = await db.fetch(AGENT_TOTALS_IN_SCOPE, db.tenant_id, team, period.start, period.end)
    return [(AgentRow(**{c: r[c] for c in _AGENT_COLUMNS}), Counters.from_row(r)) for r in rows]


class AgentTotalsByPeriodLoader(TenantLoader[Period, list[tuple[AgentRow, Counters]]]):
    """Every agent of the tenant with its counters: one statement per period for a whole page of standings."""

    async def batch_load_fn(self, keys: Sequence[Period]) -> list[list[tuple[AgentRow, Counters]]]:
        return [await agent_totals(self.db, None, period) for period in keys]
