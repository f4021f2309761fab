"""updateTenantSettings: validation, roles, and rollups that follow a new timezone or threshold."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import pytest

from tests.conftest import LiveGateway
from tests.factories import make_agent, make_tenant
from tests.resolvers.test_agents import graphql

UPDATE = """
mutation($settings: TenantSettingsInput!) {
  updateTenantSettings(settings: $settings) {
    rollupsRebuilt
    tenant { timezone serviceLevelThresholdSeconds defaultExportFormat }
  }
}
"""
DAY_FIGURES = """
{ tenant { timezone
  mar1: metrics(range: {from: "2026-03-01", to: "2026-03-01"}) { callsTotal serviceLevel }
  mar2: metrics(range: {from: "2026-03-02", to: "2026-03-02"}) { callsTotal serviceLevel } } }
"""


@pytest.fixture
async def tenant(admin_conn: asyncpg.Connection) -> UUID:
    """UTC, threshold 20 s; one inbound call at 03:00 UTC on March 2 answered after 30 s."""
    tenant = await make_tenant(admin_conn, "Moving", "UTC")
    agent = await make_agent(admin_conn, tenant, "A")
    await admin_conn.execute(
        "INSERT INTO calls (tenant_id, id, direction, agent_id, started_at, answered_at, ended_at, talk_seconds, "
        "outcome) VALUES ($1, gen_random_uuid(), 'inbound', $2, '2026-03-02T03:00Z', '2026-03-02T03:00:30Z', "
        "'2026-03-02T03:05Z', 270, 'connected')", tenant, agent)
    return tenant


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def test_a_new_timezone_moves_daily_figures_to_the_new_local_days(gateway: LiveGateway, tenant: UUID) -> None:
    token = gateway.token(tenant)
    before = ok(await graphql(gateway, token, DAY_FIGURES))["tenant"]
    assert (before["mar1"]["callsTotal"], before["mar2"]["callsTotal"]) == (0, 1)
    result = ok(await graphql(gateway, token, UPDATE, settings={"timezone": "America/New_York"}))
    assert result["updateTenantSettings"] == {"rollupsRebuilt": True, "tenant": {
        "timezone": "America/New_York", "serviceLevelThresholdSeconds": 20, "defaultExportFormat": "json"}}
    # 03:00 UTC on March 2 is 22:00 on March 1 in New York
    after = ok(await graphql(gateway, token, DAY_FIGURES))["tenant"]
    assert after["timezone"] == "America/New_York"
    assert (after["mar1"]["callsTotal"], after["mar2"]["callsTotal"]) == (1, 0)


async def test_a_new_threshold_recounts_the_service_level(gateway: LiveGateway, tenant: UUID) -> None:
    token = gateway.token(tenant)
    assert ok(await graphql(gateway, token, DAY_FIGURES))["tenant"]["mar2"]["serviceLevel"] == 0.0
    ok(await graphql(gateway, token, UPDATE, settings={"serviceLevelThresholdSeconds": 30}))
    assert ok(await graphql(gateway, token, DAY_FIGURES))["tenant"]["mar2"]["serviceLevel"] == 1.0


async def test_changing_only_the_export_format_does_not_rebuild(gateway: LiveGateway, tenant: UUID) -> None:
    result = ok(await graphql(gateway, gateway.token(tenant), UPDATE, settings={"defaultExportFormat": "CSV"}))
    assert result["updateTenantSettings"]["rollupsRebuilt"] is False
    assert result["updateTenantSettings"]["tenant"]["defaultExportFormat"] == "csv"


@pytest.mark.parametrize(("settings", "argument"), [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"timezone": "Europe"}, "timezone"),
    ({"timezone": "a" * 300}, "timezone"),
    ({"timezone": "localtime"}, "timezone"),
    ({"serviceLevelThresholdSeconds": 0}, "serviceLevelThresholdSeconds"),
    ({"serviceLevelThresholdSeconds": 3601}, "serviceLevelThresholdSeconds"),
])
async def test_invalid_settings_are_bad_user_input_and_change_nothing(
    gateway: LiveGateway, tenant: UUID, settings: dict[str, Any], argument: str
) -> None:
    token = gateway.token(tenant)
    body = await graphql(gateway, token, UPDATE, settings={**settings, "defaultExportFormat": "PDF"})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    unchanged = ok(await graphql(gateway, token, "{ tenant { timezone serviceLevelThresholdSeconds "
                                                 "defaultExportFormat } }"))["tenant"]
    assert unchanged == {"timezone": "UTC", "serviceLevelThresholdSeconds": 20, "defaultExportFormat": "json"}


@pytest.mark.parametrize("role", ["viewer", "manager", "agent", "service"])
async def test_only_admins_change_settings(gateway: LiveGateway, tenant: UUID, role: str) -> None:
    body = await graphql(gateway, gateway.token(tenant, roles=(role,)), UPDATE, settings={"timezone": "Asia/Tokyo"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
