"""Who may see a saved report, change it, and read what its executions produced.

- A saved report is visible to admins, to its creator, and to the users and roles it is shared with (the same
  rule as store.VISIBLE_REPORTS, for one report: `store.can_see`). `admin` and `manager` create reports; a
  report is changed, deleted or delivered on demand by its creator or an admin — never by someone it is only
  shared with, since its scheduled runs read as the creator and go to the recipients it names.
- An execution is visible with its report; the run of an unsaved definition to its requester and to admins.
- An execution's outputs (its columns, figures, rows and file) are read by admins and by the users whose own
  scope covers the scope of the principal it ran as: the manager of Red and Blue reads a run of the manager of
  Red, the manager of Blue does not, and neither reads a run of an admin.
"""

from __future__ import annotations

from uuid import UUID

from gateway.access import Access
from gateway.auth import Principal, Role
from gateway.reports.queue import RecordedPrincipal
from gateway.reports.store import SavedReport, Viewer

# Who may create reports (and run definitions that are not saved).
AUTHORS = (Role.ADMIN, Role.MANAGER)


def viewer_of(principal: Principal, user_id: UUID | None) -> Viewer:
    """The store's Viewer for a token's principal and the directory user its subject names."""
    return Viewer(subject=principal.user_id, roles=frozenset(r.value for r in principal.roles), user_id=user_id)


def is_principal(recorded: RecordedPrincipal, principal: Principal, user_id: UUID | None) -> bool:
    """Whether a recorded principal (a report's creator, an execution's requester) is this token's subject."""
    return recorded.subject == principal.user_id or (user_id is not None and recorded.user_id == user_id)


def may_edit(report: SavedReport, principal: Principal, user_id: UUID | None) -> bool:
    """Admins edit every report; a manager the reports it created."""
    return principal.has(Role.ADMIN) or (principal.has(Role.MANAGER)
                                         and is_principal(report.created_by, principal, user_id))


def covers(reader: Access, ran_as: Access) -> bool:
    """Whether everything `ran_as` may read, `reader` may read too: its agents, its teams' aggregates, the
    teams it ranks, and the tenant-wide and campaign aggregates."""
    if reader.whole_tenant:
        return True
    if ran_as.whole_tenant or (ran_as.aggregates and not reader.aggregates):
        return False
    return (set(ran_as.agent_ids or ()) <= set(reader.agent_ids or ())
            and set(ran_as.team_ids or ()) <= set(reader.team_ids or ())
            and ran_as.managed_teams <= reader.managed_teams)
