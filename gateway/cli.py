"""`callpulse demo | serve | worker | migrate | seed | rollups | token | tenants | users`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import socket
import sys
from collections.abc import Sequence
from datetime import date
from importlib import metadata
from types import FrameType
from typing import Final, NoReturn
from uuid import UUID

import asyncpg

from gateway import db as dbmod
from gateway import rollups, serving
from gateway.auth import Role, signing_secret, verifier_for
from gateway.commands import common, directory
from gateway.commands import worker as report_worker
from gateway.errors import CallPulseError
from gateway.logs import configure_logging
from gateway.migrations import migrate, status
from gateway.seed import SeedOptions, seed_database
from gateway.settings import Settings

SEED_CONNECTIONS: Final = 2
DEMO_OPTIONS: Final = SeedOptions(tenants=3, days=62, agents=14, calls_per_day=400, seed=42)
# The database could not be reached: an operator's problem to fix, not a bug worth a traceback.
UNREACHABLE: Final = (ConnectionError, TimeoutError, socket.gaierror, asyncpg.PostgresConnectionError,
                      asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InvalidCatalogNameError)

FIRST_ADMIN: Final = """
SELECT t.id AS tenant_id, t.name, u.id AS user_id
FROM tenants t JOIN users u ON u.tenant_id = t.id AND u.role = 'admin'
ORDER BY t.name, u.email
LIMIT 1
"""
HAS_TENANTS: Final = "SELECT EXISTS (SELECT FROM tenants)"
# For these, SIGTERM is the ordinary way to stop (exit 0); any other command it cuts short fails (128 + 15).
SERVERS: Final = ("serve", "demo")
PREFLIGHT_TIMEOUT_SECONDS: Final = 10
# Connections a client may open (superusers keep their reserve); each worker has its own pools.
CONNECTIONS_ALLOWED: Final = """
SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
"""
# Besides CALLPULSE_DB_POOL_MAX request connections, each process keeps a maintenance pool of up to this many
# (gateway/app.py, open_database).
MAINTENANCE_POOL_MAX: Final = 2


class Terminated(BaseException):
    """SIGTERM (docker stop, systemd, kill), raised where the program is, so every cleanup runs as on Ctrl-C."""


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:
    raise Terminated


async def _preflight(settings: Settings) -> str:
    """The admin DSN, once the keys are configured and the database answers: what the app's start-up needs, checked
    first so that a mistake is one line and exit 2 here rather than uvicorn's traceback from the lifespan."""
    verifier_for(settings)
    admin_dsn = await dbmod.resolve_admin_dsn(settings)
    conn = await asyncpg.connect(admin_dsn, timeout=PREFLIGHT_TIMEOUT_SECONDS)
    await conn.close()
    return admin_dsn


async def _serve(settings: Settings, listener: socket.socket) -> None:
    from gateway.app import create_app  # the schema is slow to import; only serving needs it

    admin_dsn = await _preflight(settings)
    await serving.serve(create_app(settings, admin_dsn=admin_dsn), listener)


def _banner(settings: Settings, base: str, first: asyncpg.Record | None, *, seeded: bool = True) -> str:
    lines = [""]
    if first is None:
        lines += ["CallPulse — no tenant has an admin yet (see `callpulse users create --help`)",
                  f"GraphiQL:    {base}/graphql"]
    elif not (settings.embedded or seeded):
        # A database of your own whose tenants the demo did not make: no admin token of a real tenant in the logs.
        lines += ["CallPulse — the database already had tenants: the demo seeded nothing and mints no token",
                  f"GraphiQL:    {base}/graphql",
                  "Tokens:      callpulse users list --tenant <id>, then callpulse token --tenant … --user … --role …"]
    else:
        token = common.mint(settings, signing_secret(settings), first["tenant_id"], str(first["user_id"]),
                            [Role.ADMIN.value])
        query = "{\"query\":\"{ viewer { tenant { name } } }\"}"
        lines += [f"CallPulse demo — tenant {first['name']!r} ({first['tenant_id']})",
                  f"GraphiQL:    {base}/graphql#token={token}",
                  f"Dashboard:   {base}/dashboard#token={token}",
                  f"Admin token: {token}",
                  f"Try:         curl -s {base}/graphql -H 'Authorization: Bearer {token}' "
                  f"-H 'Content-Type: application/json' -d '{query}'"]
    if settings.embedded:
        pgdata = settings.data_dir / "pgdata"
        lines.append(f"Database:    embedded PostgreSQL in {pgdata} "
                     f"(logs: {dbmod.embedded_log(settings.data_dir)}, {pgdata / 'log'})")
    lines += ["Stop:        Ctrl-C (or SIGTERM)", ""]
    return "\n".join(lines)


async def _demo_data(settings: Settings, listener: socket.socket) -> tuple[str, str]:
    """Migrations, the demo set if the database has no tenant yet; the admin DSN and the banner."""
    admin_dsn = await common.prepared_admin_dsn(settings)
    conn = await asyncpg.connect(admin_dsn)
    try:
        seeded = not await conn.fetchval(HAS_TENANTS)
        if seeded:
            print("Seeding demo data …", flush=True)
            report = await seed_database(conn, DEMO_OPTIONS)
            print(f"Seeded {sum(report.rows.values()):,} rows in {report.seconds:.1f}s", flush=True)
        first = await conn.fetchrow(FIRST_ADMIN)
    finally:
        await conn.close()
    return admin_dsn, _banner(settings, serving.base_url(listener), first, seeded=seeded)


async def _demo(settings: Settings, listener: socket.socket) -> None:
    from gateway.app import create_app  # the schema is slow to import; only serving needs it

    admin_dsn, banner = await _demo_data(settings, listener)
    await serving.serve(create_app(settings, admin_dsn=admin_dsn), listener,
                        on_ready=lambda: print(banner, flush=True))


async def _before_workers(command: str, settings: Settings, listener: socket.socket, workers: int
                          ) -> tuple[str, str | None]:
    """What every worker's start-up would do, done once before forking: the demo data, migrations, the request
    role, partitions, and a look at whether the workers' connections fit the server; the admin DSN and banner."""
    from gateway.app import open_database

    verifier_for(settings)
    admin_dsn, banner = (await _demo_data(settings, listener) if command == "demo"
                         else (await _preflight(settings), None))
    database = await open_database(settings, admin_dsn)
    try:
        allowed = await database.admin.fetchval(CONNECTIONS_ALLOWED)
    finally:
        await database.close()
    wanted = workers * (settings.pool_max_size + MAINTENANCE_POOL_MAX)
    if wanted > allowed:
        print(f"callpulse: warning: {workers} workers may open {wanted} connections ({workers} × "
              f"(CALLPULSE_DB_POOL_MAX={settings.pool_max_size} + {MAINTENANCE_POOL_MAX})) but the database "
              f"server allows {allowed}: lower --workers or CALLPULSE_DB_POOL_MAX, or put a pooler in front",
              file=sys.stderr)
    return admin_dsn, banner


def _serve_workers(command: str, settings: Settings, listener: socket.socket, workers: int) -> int:
    from gateway.app import create_app  # imported before forking: the workers share it and start at once

    admin_dsn, banner = asyncio.run(_before_workers(command, settings, listener, workers))
    worker_settings = dataclasses.replace(settings, migrate_on_start=False)  # done above, once
    return serving.serve_workers(lambda: create_app(worker_settings, admin_dsn=admin_dsn), listener, workers,
                                 on_ready=None if banner is None else lambda: print(banner, flush=True))


def _default_workers(command: str, settings: Settings) -> int:
    """`serve` on a database of your own (DATABASE_URL set): one per core; the embedded database and `demo`: 1."""
    return serving.available_cores() if command == "serve" and not settings.embedded else 1


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
    admin_dsn = await common.prepared_admin_dsn(settings)
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
    admin_dsn = await common.prepared_admin_dsn(settings)
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


def _positive_seconds(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {raw!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value}")
    return value


def _workers(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"not a number of processes (1 or more): {raw!r}")
    return int(raw)


def _port(raw: str) -> int:
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (0-65535): {raw!r}")
    return int(raw)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callpulse", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {metadata.version('callpulse')}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("demo", "migrate, seed a small demo set if the database is empty, and serve"),
                       ("serve", "serve the gateway (migrates first unless CALLPULSE_MIGRATE_ON_START=false)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host", help="address to listen on (default: CALLPULSE_HOST, else 127.0.0.1)")
        p.add_argument("--port", type=_port, help="port to listen on (default: CALLPULSE_PORT, else 8000)")
        p.add_argument("--workers", type=_workers,
                       help="processes serving the port, each with its own pools (default: 1; `serve` with "
                            "DATABASE_URL set: one per core)")
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
    # Screen tokens name a grant: issueScreenToken mints them (gateway/screens.py).
    t.add_argument("--role", action="append", choices=[r.value for r in Role if r is not Role.SCREEN], required=True,
                   help="repeat for several roles")
    t.add_argument("--ttl", type=_positive_seconds, default=common.DEFAULT_TTL_SECONDS,
                   help="seconds until it expires")
    directory.add_parsers(sub)
    report_worker.add_parser(sub)
    return parser


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "token":
        secret = common.announced_signing_secret(settings)
        print(common.mint(settings, secret, args.tenant, args.user, args.role, args.ttl))
        return 0
    if args.command in SERVERS:
        settings = dataclasses.replace(settings, host=args.host or settings.host,
                                       port=settings.port if args.port is None else args.port)
        workers = args.workers or _default_workers(args.command, settings)
        # Bound before anything starts: a taken port fails at once, not after migrations and seeding.
        with serving.listen(settings.host, settings.port, for_workers=workers > 1) as listener, \
                common.database_server(settings):
            if workers > 1:
                return _serve_workers(args.command, settings, listener, workers)
            serving.run((_demo if args.command == "demo" else _serve)(settings, listener))
        return 0
    with common.database_server(settings):
        if args.command == "migrate":
            asyncio.run(_migrate(settings, args.status))
        elif args.command == "rollups":
            return asyncio.run(_rollups(settings, args.action, args.tenant, args.from_day, args.to_day))
        elif args.command == "seed":
            options = SeedOptions(tenants=args.tenants, days=args.days, agents=args.agents,
                                  calls_per_day=args.calls_per_day, seed=args.seed, end_date=args.end_date)
            asyncio.run(_seed(settings, options))
        elif args.command == "tenants":
            asyncio.run(directory.tenants(settings, args))
        elif args.command == "users":
            asyncio.run(directory.users(settings, args))
        elif args.command == "worker":
            asyncio.run(report_worker.run(settings, concurrency=args.concurrency))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level)
        return _run(args, settings)
    except CallPulseError as e:
        print(f"callpulse: {e}", file=sys.stderr)
        return 2
    except UNREACHABLE as e:
        print(f"callpulse: cannot reach the database: {e}", file=sys.stderr)
        return 2
    except Terminated:
        return 0 if args.command in SERVERS else 128 + signal.SIGTERM
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
