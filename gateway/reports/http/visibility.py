"""Who may see an execution and read its outputs, over HTTP: the rule of gateway/reports/readers.py, as the
GraphQL API applies it.

An execution is visible with its saved report (to its creator, whom it is shared with, admins), and the run of
an unsaved definition to its requester and to admins. Its outputs (the file, the rows) are read by admins and
by those whose own scope covers the scope of the principal it ran as (readers.covers): a run's data follows
that principal's role rules, so reading it is reading as that principal. A manager of Red reads the runs of
Red's agents and its own; an agent reads neither a manager's run nor an admin's.

    another tenant's execution; a saved report's you may not see; an unsaved run not yours  → NOT_FOUND (404)
    one you may see, run as someone your scope does not cover: its file                      → FORBIDDEN (403),
                                                                                               reason outside_scope

Its status (status, attempt, error, requester) is for anyone who sees it, its outputs (row count, file) only
for those who may read them, as in the GraphQL API.

404 wherever nothing you may see says the execution exists. Accesses are rebuilt from the directory as it is
now (the principal's managed teams today).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from gateway.access import Access
from gateway.auth import Principal, Role
from gateway.db import TenantSession
from gateway.errors import Forbidden, NotFound
from gateway.loaders import Loaders
from gateway.reports import store
from gateway.reports.queue import RecordedPrincipal
from gateway.reports.readers import covers, is_principal, may_edit, viewer_of
from gateway.reports.store import Execution, SavedReport, Viewer


@dataclass(frozen=True)
class Caller:
    """Who calls: the verified principal and the directory user its subject names (None when it names none)."""

    principal: Principal
    user_id: UUID | None = None

    @property
    def admin(self) -> bool:
        return self.principal.has(Role.ADMIN)

    @property
    def viewer(self) -> Viewer:
        return viewer_of(self.principal, self.user_id)

    @property
    def recorded(self) -> RecordedPrincipal:
        """The caller as an execution (or a feed) records who it runs as."""
        return RecordedPrincipal.of(self.principal, self.user_id)

    def created(self, creator: RecordedPrincipal) -> bool:
        """Whether the caller is the one `creator` records (by token subject, or by directory user)."""
        return is_principal(creator, self.principal, self.user_id)

    def edits(self, report: SavedReport) -> bool:
        """Admins, and the manager who created the report: they see its recipients and manage its feeds."""
        return may_edit(report, self.principal, self.user_id)


async def caller_of(loaders: Loaders, principal: Principal) -> Caller:
    user = await loaders.user_by_subject.load(principal.user_id)
    return Caller(principal=principal, user_id=None if user is None else user.id)


class OutputRules:
    """The rules above for one caller within one session; Accesses are looked up once each."""

    def __init__(self, db: TenantSession, caller: Caller, loaders: Loaders | None = None) -> None:
        self.db = db
        self.caller = caller
        self.loaders = loaders or Loaders.for_session(db)

    async def covers(self, principal: RecordedPrincipal) -> bool:
        """Whether the caller may read the outputs of a run as `principal`."""
        if self.caller.admin:
            return True
        mine: Access = await self.loaders.access.load(self.caller.principal)
        if mine.whole_tenant:
            return True
        return covers(mine, await self.loaders.access.load(principal.principal(self.db.tenant_id)))

    def sees(self, execution: Execution, report: SavedReport | None) -> bool:
        """Whether the caller may see the execution (`report`: its saved report, if it has one)."""
        if self.caller.admin:
            return True
        if execution.report_id is None:
            return self.caller.created(execution.principal)
        return report is not None and store.can_see(report, self.caller.viewer)

    async def visible(self, execution_id: UUID) -> tuple[Execution, SavedReport | None]:
        """The execution and its saved report, if the caller may see it (its status); else NOT_FOUND."""
        execution = await store.execution_by_id(self.db, self.db.tenant_id, execution_id)
        report = None
        if execution is not None and execution.report_id is not None:
            report = await store.report_by_id(self.db, self.db.tenant_id, execution.report_id)
        if execution is None or not self.sees(execution, report):
            raise NotFound(f"no report execution {execution_id}")
        return execution, report

    async def check(self, execution_id: UUID) -> tuple[Execution, SavedReport | None]:
        """The execution and its saved report, if the caller may read its outputs; else NOT_FOUND or FORBIDDEN."""
        execution, report = await self.visible(execution_id)
        if not await self.covers(execution.principal):
            raise Forbidden("this execution reads as a principal whose data is outside what your role may read",
                            reason="outside_scope")
        return execution, report
