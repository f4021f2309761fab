"""updateTenantSettings: timezone, service-level threshold and export format, with the rollups kept correct."""

from __future__ import annotations

import zoneinfo

from gateway.auth import Role
from gateway.context import Context
from gateway.errors import BadUserInput, NotFound
from gateway.live.signals import ConfigChange, signal_config
from gateway.loaders import tenant as tenant_sql
from gateway.schema.settings import TenantSettingsInput, TenantSettingsResult
from gateway.schema.tenant import Tenant

MAX_THRESHOLD_SECONDS = 3600
NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


async def update(context: Context, settings: TenantSettingsInput) -> TenantSettingsResult:
    """Admin only. A new timezone or threshold rebuilds the tenant's rollups in the same transaction."""
    principal = context.require(Role.ADMIN)
    if settings.timezone is not None:
        await _check_timezone(context, settings.timezone)
    threshold = settings.service_level_threshold_seconds
    if threshold is not None and not 1 <= threshold <= MAX_THRESHOLD_SECONDS:
        raise BadUserInput(f"the threshold must be 1 to {MAX_THRESHOLD_SECONDS} seconds",
                           argument="serviceLevelThresholdSeconds")
    before = await context.loaders.tenant_by_id.load(principal.tenant_id)
    if before is None:
        raise NotFound("the token's tenant does not exist")
    export = settings.default_export_format.value if settings.default_export_format is not None else None
    after = await tenant_sql.update_settings(context.db, settings.timezone, threshold, export)
    assert after is not None
    rebuild = (after.timezone, after.service_level_threshold_seconds) != (
        before.timezone, before.service_level_threshold_seconds)
    if rebuild:
        await tenant_sql.rebuild_rollups(context.db)
    context.loaders.tenant_by_id.clear(after.id).prime(after.id, after)
    await signal_config(context.db, principal.tenant_id, ConfigChange.SETTINGS)
    return TenantSettingsResult(tenant=Tenant(row=after), rollups_rebuilt=rebuild)


async def _check_timezone(context: Context, name: str) -> None:
    # Both sides compute local days: PostgreSQL in the rollups, Python for ranges and buckets. The name is looked
    # up in the list before it is used as a path; zones that follow the server's own setting are refused.
    known_here = name in zoneinfo.available_timezones() and name not in NOT_ZONES
    if not known_here or not await tenant_sql.known_timezone(context.db, name):
        raise BadUserInput(f"{name!r} is not an IANA timezone known here", argument="timezone")
