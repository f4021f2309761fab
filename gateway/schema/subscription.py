"""Root Subscription; live metric feeds arrive in a later issue, the transport is ready now."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import strawberry

from gateway.context import Context
from gateway.errors import BadUserInput


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The server's clock every `intervalSeconds` (1–60): proves a live connection end to end."
    )
    async def heartbeat(
        self, info: strawberry.Info[Context, None], interval_seconds: float = 10.0
    ) -> AsyncGenerator[datetime, None]:
        info.context.require()
        if not 0.05 <= interval_seconds <= 60:
            raise BadUserInput("intervalSeconds must be between 0.05 and 60", argument="intervalSeconds")
        while True:
            yield datetime.now(UTC)
            await asyncio.sleep(interval_seconds)
