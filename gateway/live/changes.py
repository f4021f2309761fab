"""What a change signal says, and which live questions it touches."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import orjson

from gateway.live.signals import CHANNEL, REPORTS_CHANNEL, ConfigChange
from gateway.metrics import Scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataChange:
    """Rollups changed for these scopes, over [start, end) (from the rollup triggers)."""

    tenant: UUID
    scopes: frozenset[tuple[Scope, UUID]]
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ConfigChanged:
    """A write that changes what questions show without touching the rollups."""

    tenant: UUID
    change: ConfigChange
    widget: UUID | None = None


@dataclass(frozen=True)
class ExecutionChanged:
    """A report execution moved on (claimed, completed, failed, retried)."""

    tenant: UUID
    execution: UUID


Change = DataChange | ConfigChanged | ExecutionChanged


def parse(payload: str, channel: str = CHANNEL) -> Change | None:
    """The change a NOTIFY payload describes; None (logged) for one this version does not understand."""
    try:
        body = orjson.loads(payload)
        tenant = UUID(body["tenant"])
        if channel == REPORTS_CHANNEL:
            return ExecutionChanged(tenant, UUID(body["execution"]))
        if "config" in body:
            widget = body.get("widget")
            return ConfigChanged(tenant, ConfigChange(body["config"]), UUID(widget) if widget else None)
        scopes = frozenset((Scope(s["kind"]), UUID(s["id"])) for s in body["scopes"] or ())
        return DataChange(tenant, scopes, datetime.fromisoformat(body["from"]), datetime.fromisoformat(body["to"]))
    except (ValueError, KeyError, TypeError) as e:
        log.warning("ignoring a change signal this gateway cannot read (%s): %.200s", e, payload)
        return None


@dataclass(frozen=True)
class Interest:
    """What a live question reads: a tenant's scope over [start, end), and the widget it shows, if any.

    `entity` None means the whole tenant: any data change of the tenant touches it (every signal names the
    tenant scope). `start`/`end` None means unbounded (a feed of calls).
    """

    tenant: UUID
    scope: Scope = Scope.TENANT
    entity: UUID | None = None
    start: datetime | None = None
    end: datetime | None = None
    widget: UUID | None = None
    execution: UUID | None = None

    def touched_by(self, change: Change) -> bool:
        if change.tenant != self.tenant:
            return False
        if isinstance(change, ExecutionChanged):
            return change.execution == self.execution
        if self.execution is not None:
            # An execution's status changes only with its own signal (and its report's settings).
            return isinstance(change, ConfigChanged)
        if isinstance(change, ConfigChanged):
            return change.change is not ConfigChange.WIDGET or change.widget == self.widget
        if self.entity is not None and (self.scope, self.entity) not in change.scopes:
            return False
        # The signal's span runs from its first to its last instant, both included.
        if self.start is not None and change.end < self.start:
            return False
        return self.end is None or change.start < self.end
