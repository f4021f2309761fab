"""The Task type, its status and list filter."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from gateway.context import Context
from gateway.engine.batch import batched
from gateway.ids import encode_id
from gateway.loaders.task import TaskRow
from gateway.schema.agent import Agent
from gateway.schema.lead import Lead
from gateway.schema.metrics import DateRange
from gateway.schema.node import Node


@strawberry.enum(description="Where a task stands.")
class TaskStatus(enum.Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@strawberry.input(description="Narrows a list of tasks; every given field must match.")
class TaskFilter:
    range: DateRange | None = strawberry.field(default=None, description="Created on these tenant-local days.")
    assignee_id: strawberry.ID | None = strawberry.field(default=None, description="Assigned to this agent.")
    lead_id: strawberry.ID | None = strawberry.field(default=None, description="About this lead.")
    status: TaskStatus | None = strawberry.field(default=None, description="In this status.")


@strawberry.type(description="A follow-up task assigned to an agent.")
class Task(Node):
    row: strawberry.Private[TaskRow]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Task", self.row.id))

    @strawberry.field(description="What is to be done.")
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="Where the task stands.")
    def status(self) -> TaskStatus:
        return TaskStatus(self.row.status)

    @strawberry.field(description="When it is due, if set.")
    def due_at(self) -> datetime | None:
        return self.row.due_at

    @strawberry.field(description="When it was completed; null unless completed.")
    def completed_at(self) -> datetime | None:
        return self.row.completed_at

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="The agent the task is assigned to.")
    @batched(lambda context, tasks: Agent.load_many(context, [t.row.assignee_agent_id for t in tasks]))
    async def assignee(self, info: strawberry.Info[Context, None]) -> Agent | None:
        return await Agent.load(info.context, self.row.assignee_agent_id)

    @strawberry.field(description="The lead the task is about.")
    @batched(lambda context, tasks: Lead.load_many(context, [t.row.lead_id for t in tasks]))
    async def lead(self, info: strawberry.Info[Context, None]) -> Lead | None:
        return await Lead.load(info.context, self.row.lead_id)
