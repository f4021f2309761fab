"""The list orders as GraphQL enums, registered here once: the root lists and the lists below entities name the
same enums, and a type naming one before it is registered would get a second, undescribed copy of it."""

from __future__ import annotations

import strawberry

from gateway.loaders.call import CallOrder
from gateway.loaders.lead import LeadOrder
from gateway.loaders.task import TaskOrder

strawberry.enum(CallOrder, description="Orders of the calls list; ties are broken by id.")
strawberry.enum(LeadOrder, description="Orders of the leads list; ties are broken by id.")
strawberry.enum(TaskOrder, description="Orders of the tasks list; ties are broken by id.")

__all__ = ["CallOrder", "LeadOrder", "TaskOrder"]
