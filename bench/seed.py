"""Seeds about a million calls into a scratch database and prints the throughput.

    CALLPULSE_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/seed.py

Options: CALLPULSE_BENCH_CONNECTIONS (default 2: tenants load in parallel on that many connections) and
CALLPULSE_BENCH_CALLS_PER_DAY (default 3500: four tenants over 90 days make about a million calls).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from datetime import date
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.seed import SeedOptions, seed_database

DEFAULT_URL: Final = "postgresql://postgres@127.0.0.1:5432/postgres"
MIGRATIONS: Final = Path(__file__).resolve().parent.parent / "db" / "migrations"
CALL_COUNT: Final = "SELECT count(*) FROM calls"


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def main() -> None:
    server_url = os.environ.get("CALLPULSE_BENCH_DATABASE_URL", DEFAULT_URL)
    connections = int(os.environ.get("CALLPULSE_BENCH_CONNECTIONS", "2"))
    calls_per_day = int(os.environ.get("CALLPULSE_BENCH_CALLS_PER_DAY", "3500"))
    options = SeedOptions(tenants=4, days=90, agents=60, calls_per_day=calls_per_day, seed=42,
                          end_date=date(2025, 3, 31))
    name = f"seedbench_{secrets.token_hex(4)}"
    server = await asyncpg.connect(server_url)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
        conns = [await asyncpg.connect(with_database(server_url, name)) for _ in range(connections)]
        try:
            for migration in sorted(MIGRATIONS.glob("*.sql")):
                await conns[0].execute(migration.read_text())
            report = await seed_database(conns[0], options, extra_connections=conns[1:])
            calls = await conns[0].fetchval(CALL_COUNT)
        finally:
            for conn in conns:
                await conn.close()
    finally:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()

    print(f"options      {options}")
    print(f"connections  {connections}")
    print(f"calls        {calls:,}")
    print(f"total rows   {report.total_rows:,}")
    print(f"seconds      {report.seconds:.1f}")
    print(f"rows/s       {report.rows_per_second:,.0f}")
    print(f"calls/s      {calls / report.seconds:,.0f}")
    for table, rows in report.rows.items():
        print(f"  {table:<24}{rows:>10,}")


if __name__ == "__main__":
    asyncio.run(main())
