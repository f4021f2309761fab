"""`node(id:)`: any object by its global id, under the same role rules as the lists that show it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final
from uuid import UUID

import strawberry

from gateway.access import Access
from gateway.context import Context
from gateway.ids import decode_id
from gateway.schema.agent import Agent
from gateway.schema.call import Call
from gateway.schema.campaign import Campaign
from gateway.schema.lead import Lead
from gateway.schema.node import Node
from gateway.schema.task import Task
from gateway.schema.team import Team
from gateway.schema.tenant import Tenant
from gateway.schema.user import User


async def _agent(context: Context, access: Access, key: UUID) -> Node | None:
    access.require_agent(key)
    return await Agent.load(context, key)


async def _team(context: Context, access: Access, key: UUID) -> Node | None:
    access.require_team(key)
    return await Team.load(context, key)


async def _campaign(context: Context, access: Access, key: UUID) -> Node | None:
    return await Campaign.load(context, key)


async def _lead(context: Context, access: Access, key: UUID) -> Node | None:
    return await Lead.load(context, key)


async def _call(context: Context, access: Access, key: UUID) -> Node | None:
    call = await Call.load(context, key)
    if call is not None:
        access.require_owner(call.row.agent_id)
    return call


async def _task(context: Context, access: Access, key: UUID) -> Node | None:
    row = await context.loaders.task_by_id.load(key)
    if row is None:
        return None
    access.require_owner(row.assignee_agent_id)
    return Task(row=row)


async def _user(context: Context, access: Access, key: UUID) -> Node | None:
    if not access.whole_tenant:
        # Primed by the access lookup: the subject's own directory entry, by id or by external subject.
        own = await context.loaders.user_by_subject.load(context.require().user_id)
        if own is None or own.id != key:
            access.require_whole_tenant()
    row = await context.loaders.user_by_id.load(key)
    return User(row=row) if row is not None else None


async def _tenant(context: Context, access: Access, key: UUID) -> Node | None:
    row = await context.loaders.tenant_by_id.load(key)
    return Tenant(row=row) if row is not None else None


async def _widget(context: Context, access: Access, key: UUID) -> Node | None:
    # Imported here: the widget resolvers read the graph through the other resolvers.
    from gateway.resolvers.widget import owned

    return await owned(context, key)


async def _report(context: Context, access: Access, key: UUID) -> Node | None:
    # Imported here: the report resolvers build the Report types.
    from gateway.resolvers.report import visible_report
    from gateway.schema.saved_report import Report

    row = await visible_report(context, key)
    return Report(row=row) if row is not None else None


async def _report_execution(context: Context, access: Access, key: UUID) -> Node | None:
    from gateway.resolvers.report import visible_execution
    from gateway.schema.saved_report import ReportExecution

    row = await visible_execution(context, key)
    return ReportExecution(row=row) if row is not None else None


_FETCHERS: Final[dict[str, Callable[[Context, Access, UUID], Awaitable[Node | None]]]] = {
    "Agent": _agent, "Team": _team, "Campaign": _campaign, "Lead": _lead, "Call": _call, "Task": _task,
    "User": _user, "Tenant": _tenant, "Widget": _widget, "Report": _report, "ReportExecution": _report_execution,
}


async def node(context: Context, global_id: strawberry.ID) -> Node | None:
    """The object, null when it does not exist (or belongs to another tenant), FORBIDDEN outside the role."""
    access = await context.access()
    type_name, key = decode_id(global_id, *_FETCHERS)
    return await _FETCHERS[type_name](context, access, key)
