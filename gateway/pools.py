"""Opening both database paths for a process: `serve` (gateway/app.py) and `callpulse worker` alike."""

from __future__ import annotations

import asyncio

from gateway import db as dbmod
from gateway.migrations import migrate
from gateway.settings import Settings


async def open_database(settings: Settings, admin_dsn: str | None = None, *, admin_max_size: int = 2,
                        partitions: bool = True, query_logger: dbmod.QueryLogger | None = None) -> dbmod.Database:
    """Pools for both paths, after migrations (when enabled) and a check of the request role's powers.

    `admin_max_size`: the maintenance pool (the report worker claims through it); `partitions`: create the
    analytics partitions due now (the gateway does, and keeps them up).
    """
    admin_dsn = admin_dsn or await dbmod.resolve_admin_dsn(settings)
    admin = await dbmod.create_pool(admin_dsn, min_size=1, max_size=admin_max_size)
    app_dsn = dbmod.app_dsn(settings, admin_dsn)
    try:
        if settings.migrate_on_start:
            async with admin.acquire() as conn:
                await migrate(conn)
                if settings.app_database_url is None:
                    await dbmod.ensure_request_role(conn, settings.app_role, settings.app_db_password)
        if partitions:
            await dbmod.maintain_partitions(admin)
        app_pool = await dbmod.create_pool(app_dsn, min_size=min(settings.pool_min_size, settings.pool_max_size),
                                           max_size=settings.pool_max_size, query_logger=query_logger,
                                           request_path=True)
    except BaseException:
        await admin.close()
        raise
    try:
        async with app_pool.acquire() as conn:
            await dbmod.check_request_role(conn)
    except BaseException:
        await asyncio.gather(app_pool.close(), admin.close())
        raise
    return dbmod.Database(admin=admin, app=app_pool, app_dsn=app_dsn)
