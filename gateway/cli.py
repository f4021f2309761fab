"""`callpulse demo | serve | migrate | seed | token`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import date
from typing import Final
from uuid import UUID

import asyncpg
import uvicorn

from gateway import db as dbmod
from gateway import rollups
from gateway.app import create_app
from gateway.auth import Role, mint_token, signing_secret
from gateway.errors import CallPulseError
from gateway.logs import configure_logging
from gateway.migrations import migrate, status
from gateway.seed import SeedOptions, seed_database
from gateway.settings import Settings

SEED_CONNECTIONS: Final = 2
DEMO_OPTIONS: Final = SeedOptions(tenants=3, days=30, agents=20, calls_per_day=400, seed=42)

FIRST_ADMIN: Final = """
SELECT t.id AS tenant_id, t.name, u.id AS user_id
FROM tenants t JOIN users u ON u.tenant_id = t.id AND u.role = 'admin'
ORDER BY t.name, u.email
LIMIT 1
"""
HAS_TENANTS: Final = "SELECT EXISTS (SELECT FROM tenants)"


async def _prepared_admin_dsn(settings: Settings) -> str:
    """The maintenance DSN, with migrations applied and the request role in place."""
    admin_dsn = await dbmod.resolve_admin_dsn(settings)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await migrate(conn)
        if settings.app_database_url is None:
            await dbmod.ensure_request_role(conn, settings.app_role, settings.app_db_password)
    finally:
        await conn.close()
    return admin_dsn


async def _serve(settings: Settings, admin_dsn: str | None) -> None:
    config = uvicorn.Config(create_app(settings, admin_dsn=admin_dsn), host=settings.host, port=settings.port,
                            log_config=None, ws="websockets-sansio", lifespan="on")
    await uvicorn.Server(config).serve()


async def _demo(settings: Settings) -> None:
    admin_dsn = await _prepared_admin_dsn(settings)
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval(HAS_TENANTS):
            print("Seeding demo data …", flush=True)
            report = await seed_database(conn, DEMO_OPTIONS)
            print(f"Seeded {sum(report.rows.values()):,} rows in {report.seconds:.1f}s", flush=True)
        first = await conn.fetchrow(FIRST_ADMIN)
    finally:
        await conn.close()
    base = f"http://{settings.host}:{settings.port}"
    if first is not None:
        token = mint_token(signing_secret(settings), tenant_id=first["tenant_id"], user_id=str(first["user_id"]),
                           roles=[Role.ADMIN.value], issuer=settings.jwt_issuer, audience=settings.jwt_audience)
        print(f"\nCallPulse demo — tenant {first['name']!r} ({first['tenant_id']})")
        print(f"GraphiQL:    {base}/graphql#token={token}")
        print(f"Admin token: {token}")
        print(f"Try:         curl -s {base}/graphql -H 'Authorization: Bearer {token}' "
              "-H 'Content-Type: application/json' -d '{\"query\":\"{ viewer { tenant { name } } }\"}'\n",
              flush=True)
    await _serve(settings, admin_dsn)


async def _migrate(settings: Settings, show_status: bool) -> None:
    admin_dsn = await dbmod.resolve_admin_dsn(settings)
    conn = await asyncpg.connect(admin_dsn)
    try:
        if show_status:
            state = await status(conn)
            print(f"applied: {', '.join(state.applied) or '-'}\npending: {', '.join(state.pending) or '-'}")
            return
        applied = await migrate(conn)
        if settings.app_database_url is None:
            await dbmod.ensure_request_role(conn, settings.app_role, settings.app_db_password)
        print(f"applied {', '.join(applied)}" if applied else "database is up to date")
    finally:
        await conn.close()


async def _seed(settings: Settings, options: SeedOptions) -> None:
    admin_dsn = await _prepared_admin_dsn(settings)
    # A second connection loads other tenants meanwhile: the server's work (key checks, indexes, rollups)
    # is what bounds seeding, and it then runs on two cores.
    conns = [await asyncpg.connect(admin_dsn) for _ in range(SEED_CONNECTIONS)]
    try:
        report = await seed_database(conns[0], options, extra_connections=conns[1:])
    finally:
        for conn in conns:
            await conn.close()
    for table, rows in sorted(report.rows.items()):
        print(f"{table:28} {rows:>12,}")
    total = sum(report.rows.values())
    print(f"{'total':28} {total:>12,} rows in {report.seconds:.1f}s ({report.rows_per_second:,.0f} rows/s)")
    for t in report.tenants:
        print(f"tenant {t.id}  {t.name} ({t.timezone})  admin user {t.admin_user_id}")


async def _rollups(settings: Settings, action: str, tenant: UUID | None, from_day: date | None,
                   to_day: date | None) -> int:
    admin_dsn = await _prepared_admin_dsn(settings)
    conn = await asyncpg.connect(admin_dsn)
    try:
        found = 0
        for tenant_id in await rollups.tenants(conn, tenant):
            if action == "rebuild":
                await rollups.rebuild(conn, tenant_id, from_day, to_day)
                print(f"rebuilt {tenant_id}")
                continue
            differences = await rollups.check(conn, tenant_id, from_day, to_day)
            found += len(differences)
            for d in differences:
                print(d)
            print(f"{tenant_id}: {len(differences)} difference(s)")
        return 1 if found else 0
    finally:
        await conn.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callpulse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="migrate, seed a small demo set if the database is empty, and serve")
    sub.add_parser("serve", help="serve the gateway (migrates first unless CALLPULSE_MIGRATE_ON_START=false)")
    m = sub.add_parser("migrate", help="apply pending migrations")
    m.add_argument("--status", action="store_true", help="only show applied and pending migrations")
    s = sub.add_parser("seed", help="load deterministic demo data with COPY")
    s.add_argument("--tenants", type=int, default=3)
    s.add_argument("--days", type=int, default=90)
    s.add_argument("--agents", type=int, default=60, help="per tenant")
    s.add_argument("--calls-per-day", type=int, default=3000, help="per tenant, on an average weekday")
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--end-date", type=date.fromisoformat, default=None, help="last seeded day (default: today)")
    r = sub.add_parser("rollups", help="rebuild rollups from raw data, or check them against a rebuild")
    r.add_argument("action", choices=["rebuild", "check"])
    r.add_argument("--tenant", type=UUID, default=None, help="one tenant (default: all)")
    r.add_argument("--from", dest="from_day", type=date.fromisoformat, default=None, help="first local day")
    r.add_argument("--to", dest="to_day", type=date.fromisoformat, default=None, help="last local day")
    t = sub.add_parser("token", help="mint a development token signed with the configured secret")
    t.add_argument("--tenant", type=UUID, required=True)
    t.add_argument("--user", required=True, help="the `sub` claim: a user id (or a service name)")
    t.add_argument("--role", action="append", choices=[r.value for r in Role], required=True,
                   help="repeat for several roles")
    t.add_argument("--ttl", type=int, default=24 * 3600, help="seconds until it expires")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level)
        if args.command == "token":
            print(mint_token(signing_secret(settings), tenant_id=args.tenant, user_id=args.user, roles=args.role,
                             ttl_seconds=args.ttl, issuer=settings.jwt_issuer, audience=settings.jwt_audience))
        elif args.command == "demo":
            asyncio.run(_demo(settings))
        elif args.command == "serve":
            asyncio.run(_serve(settings, None))
        elif args.command == "migrate":
            asyncio.run(_migrate(settings, args.status))
        elif args.command == "rollups":
            return asyncio.run(_rollups(settings, args.action, args.tenant, args.from_day, args.to_day))
        elif args.command == "seed":
            options = SeedOptions(tenants=args.tenants, days=args.days, agents=args.agents,
                                  calls_per_day=args.calls_per_day, seed=args.seed, end_date=args.end_date)
            asyncio.run(_seed(settings, options))
    except CallPulseError as e:
        print(f"callpulse: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
