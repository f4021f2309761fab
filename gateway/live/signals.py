"""The change signal: what a write tells the live hub, on the `callpulse_changes` channel, at its commit.

Two kinds of payload travel on one channel (PostgreSQL delivers a NOTIFY to every listening process when the
transaction commits, and not at all when it rolls back, so a signal never announces what did not happen):

    data    {"tenant", "scopes": [{"kind", "id"}], "from", "to"}   sent by the rollup triggers (0005)
    config  {"tenant", "config": "widget" | "custom_metric" | "settings" | "directory", "widget"?}
            sent by writes that change what a live question shows without touching the rollups

and report executions' status changes on `callpulse_reports` ({"tenant", "execution", "status", "attempt"}).
"""

from __future__ import annotations

from enum import Enum
from typing import Final, Protocol
from uuid import UUID

import orjson

CHANNEL: Final = "callpulse_changes"
# Report executions' status changes (gateway/reports/queue.py): {"tenant", "execution", "status", "attempt"}.
REPORTS_CHANNEL: Final = "callpulse_reports"
CHANNELS: Final = (CHANNEL, REPORTS_CHANNEL)

NOTIFY: Final = "SELECT pg_notify($1, $2)"


class ConfigChange(Enum):
    WIDGET = "widget"
    CUSTOM_METRIC = "custom_metric"
    SETTINGS = "settings"
    DIRECTORY = "directory"


class _Executes(Protocol):
    async def execute(self, query: str, *args: object) -> str: ...


async def signal_config(db: _Executes, tenant_id: UUID, change: ConfigChange, widget_id: UUID | None = None) -> None:
    """Announces, at the commit of `db`'s transaction, a change that no rollup trigger signals."""
    payload: dict[str, object] = {"tenant": str(tenant_id), "config": change.value}
    if widget_id is not None:
        payload["widget"] = str(widget_id)
    await db.execute(NOTIFY, CHANNEL, orjson.dumps(payload).decode())
