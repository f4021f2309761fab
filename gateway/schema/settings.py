"""Tenant settings: the input of updateTenantSettings and its result."""

from __future__ import annotations

import enum

import strawberry

from gateway.schema.tenant import Tenant


@strawberry.enum(description="Formats reports export to.")
class ExportFormat(enum.Enum):
    JSON = "json"
    CSV = "csv"
    PDF = "pdf"


@strawberry.input(description="Settings to change; absent fields keep their value.")
class TenantSettingsInput:
    timezone: str | None = strawberry.field(default=None, description="IANA timezone, e.g. `Europe/Berlin`: the "
                                            "local calendar of every daily figure.")
    service_level_threshold_seconds: int | None = strawberry.field(
        default=None, description="Inbound calls answered within this many seconds (1-3600) meet the service level.")
    default_export_format: ExportFormat | None = strawberry.field(
        default=None, description="Format of report exports that do not name one.")


@strawberry.type(description="The tenant after the change.")
class TenantSettingsResult:
    tenant: Tenant = strawberry.field(description="The tenant with its new settings.")
    rollups_rebuilt: bool = strawberry.field(description="Whether the rollups were recomputed because the timezone "
                                             "or the threshold changed (in the same transaction).")
