"""The Tenant type."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from gateway.ids import encode_id
from gateway.loaders.tenant import TenantRow
from gateway.metrics import Scope
from gateway.schema.measurable import Measurable
from gateway.schema.node import Node


@strawberry.type(description="A company using CallPulse; all its data is isolated from every other tenant's.")
class Tenant(Node, Measurable):
    row: strawberry.Private[TenantRow]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Tenant", self.row.id))

    def measured(self) -> tuple[Scope, UUID]:
        return Scope.TENANT, self.row.id

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="IANA timezone; its local calendar days are the days of every daily metric.")
    def timezone(self) -> str:
        return self.row.timezone

    @strawberry.field(description="Inbound calls answered within this many seconds meet the service level.")
    def service_level_threshold_seconds(self) -> int:
        return self.row.service_level_threshold_seconds

    @strawberry.field(description="Export format used when a report does not name one: json, csv or pdf.")
    def default_export_format(self) -> str:
        return self.row.default_export_format

    @strawberry.field(description="When the tenant was created.")
    def created_at(self) -> datetime:
        return self.row.created_at

