"""Relative ranges move on at the tenant's local midnight, with no change signal, on the clock tests control."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from gateway import clock
from tests.conftest import LiveGateway
from tests.factories import make_tenant
from tests.live.helpers import subscribed

TODAY_CALLS = """
subscription { metrics(scope: {kind: TENANT}, range: {preset: TODAY}, metrics: [CALLS_TOTAL]) { from to } }"""
BERLIN = ZoneInfo("Europe/Berlin")


async def test_today_rolls_over_at_the_tenants_local_midnight(gateway: LiveGateway,
                                                              admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant(admin_conn, "Acme", "Europe/Berlin")
    # given a clock one minute before midnight in Berlin (23:01 UTC)
    with clock.frozen(datetime(2026, 3, 2, 23, 59, tzinfo=BERLIN)):
        async with subscribed(gateway, gateway.token(tenant), TODAY_CALLS) as sub:
            assert (await sub.next())["data"]["metrics"] == {"from": "2026-03-02", "to": "2026-03-02"}
            # when it is 23:59:59 nothing moves
            clock.set_now(datetime(2026, 3, 2, 23, 59, 59, tzinfo=BERLIN))
            assert await sub.quiet(0.5)
            # then at midnight the range is the new day, without any event
            clock.set_now(datetime(2026, 3, 3, 0, 0, 1, tzinfo=BERLIN))
            assert (await sub.next())["data"]["metrics"] == {"from": "2026-03-03", "to": "2026-03-03"}
