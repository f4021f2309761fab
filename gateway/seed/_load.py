"""Loads generated tenants with binary COPY: one transaction per tenant, generation overlapped with COPY.

Each connection loads its share of the tenants in turn. While it copies one chunk, a worker thread generates the
next, so Python's work hides behind the server's (foreign-key checks and index upkeep dominate at the server).
Extra connections load other tenants at the same time, which is how both cores of a small machine get used.

Binary COPY refuses tables whose row-level security applies to the current role ("COPY FROM not supported with
row-level security"), which is the case for a table owner that is neither superuser nor BYPASSRLS, since every
table FORCEs its policy. For those tables each chunk is copied into a temporary table and moved across with
INSERT ... SELECT, which the tenant policy checks against the tenant set for the transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final, cast

import asyncpg

from gateway.seed._generate import Chunk, tenant_chunks
from gateway.seed._model import SeededTenant, SeedOptions, SeedReport
from gateway.seed._tables import IDENTITY_TABLES, TABLE_COLUMNS
from gateway.seed._values import decode_timestamp, encode_timestamp
from gateway.seed._world import tenant_identity

SET_TENANT: Final = "SELECT set_config('app.tenant_id', $1::text, true)"
# The rollup triggers fire one statement per COPY whose inflated cost estimates trip JIT compilation, which then
# takes a second or more per statement for what runs in milliseconds. Off for the seeding transactions only.
NO_JIT: Final = "SELECT set_config('jit', 'off', true)"
# Rollups are computed once per tenant, set-based, before its transaction commits, instead of by the triggers
# once per COPY chunk (the triggers honour this for the tables' owner only).
DEFER_ROLLUPS: Final = "SELECT set_config('callpulse.defer_rollups', 'on', true)"
REBUILD_ROLLUPS: Final = "SELECT rollup_rebuild($1)"
TABLES_UNDER_RLS: Final = """
SELECT t
FROM unnest($1::text[]) AS t
WHERE row_security_active(t)
"""
IDENTITY_LAST_VALUE: Final = """
SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass), 0)
"""
# Seeded identity values are explicit, so the sequence must be moved past them before anything else inserts.
ADVANCE_IDENTITY: Final = """
SELECT setval(q.s, greatest($2::bigint, coalesce(pg_sequence_last_value(q.s), 0)))
FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS s) AS q
"""


# Planner statistics for what was just loaded: without them the first requests plan for empty tables (a 200-row
# join took 18 ms instead of 1 ms). Only a table's owner (or a superuser) may analyze it; others are left alone.
ANALYZED_TABLES: Final = (*TABLE_COLUMNS, "agent_metrics", "campaign_metrics", "daily_reports", "metrics_15m",
                          "conversion_funnels")
OWNED: Final = """
SELECT t
FROM unnest($1::text[]) AS t
WHERE pg_has_role((SELECT relowner FROM pg_class WHERE oid = t::regclass), 'USAGE')
"""
# Identifiers come from this package's own constants, never from a caller: no injection.
ANALYZE: Final = {table: f'ANALYZE "{table}"' for table in ANALYZED_TABLES}


def _staging_statements(table: str) -> tuple[str, str, str]:
    # Identifiers come from TABLE_COLUMNS, this package's own constants, never from a caller: no injection.
    columns = ", ".join(f'"{c}"' for c in TABLE_COLUMNS[table])
    stage = f'"seed_stage_{table}"'
    overriding = " OVERRIDING SYSTEM VALUE" if table in IDENTITY_TABLES else ""
    return (
        f'CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {columns} FROM "{table}" WITH NO DATA',  # noqa: S608
        f'INSERT INTO "{table}" ({columns}){overriding} SELECT {columns} FROM {stage}',  # noqa: S608
        f"TRUNCATE {stage}",
    )


STAGING: Final = {table: _staging_statements(table) for table in TABLE_COLUMNS}


async def seed_database(
    conn: asyncpg.Connection,
    options: SeedOptions,
    *,
    extra_connections: Sequence[asyncpg.Connection] = (),
) -> SeedReport:
    """Generates options.tenants demo tenants and loads them; raises on any database error.

    `extra_connections` (to the same database, same role) load other tenants in parallel: tenant i goes to
    connection i modulo their number. For the duration of the call each connection's codecs for timestamptz
    and numeric are replaced and then reset to asyncpg's defaults.
    """
    started = time.perf_counter()
    if options.now is None:
        # Fixed once, so that every tenant ends at the same moment, a seed running over midnight included.
        options = replace(options, now=datetime.now(UTC))
    connections = [conn, *extra_connections]
    tenants = [tenant_identity(options, i) for i in range(options.tenants)]
    bases = {table: int(await conn.fetchval(IDENTITY_LAST_VALUE, table)) for table in IDENTITY_TABLES}
    tally = dict.fromkeys(TABLE_COLUMNS, 0)
    highest = dict.fromkeys(IDENTITY_TABLES, 0)
    workers = ThreadPoolExecutor(max_workers=len(connections), thread_name_prefix="seed")
    try:
        async with _wire_codecs(connections):
            await _first_failure([
                _load(connection, _stream(options, range(i, options.tenants, len(connections)), bases), workers,
                      tally, highest)
                for i, connection in enumerate(connections[:options.tenants])
            ])
    finally:
        workers.shutdown(wait=True, cancel_futures=True)
    for table, value in highest.items():
        if value:
            await conn.execute(ADVANCE_IDENTITY, table, value)
    for r in await conn.fetch(OWNED, list(ANALYZED_TABLES)):
        await conn.execute(ANALYZE[r["t"]])
    return SeedReport(tenants=tenants, rows=tally, seconds=time.perf_counter() - started)


def _stream(options: SeedOptions, tenants: range, bases: dict[str, int]) -> Iterator[Chunk]:
    for index in tenants:
        yield from tenant_chunks(options, index, bases)


async def _first_failure(loads: list[Coroutine[None, None, None]]) -> None:
    """Runs the loads together; on the first failure cancels the others and raises it (not a group of them)."""
    tasks = [asyncio.create_task(load) for load in loads]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error


async def _load(conn: asyncpg.Connection, stream: Iterator[Chunk], workers: ThreadPoolExecutor,
                tally: dict[str, int], highest: dict[str, int]) -> None:
    """Copies the stream's chunks, one transaction per tenant with the tenant set for row-level security."""
    under_rls = frozenset(r[0] for r in await conn.fetch(TABLES_UNDER_RLS, list(TABLE_COLUMNS)))
    loop = asyncio.get_running_loop()
    tenant: SeededTenant | None = None
    transaction = None
    staged: set[str] = set()  # staging tables created in the current transaction
    try:
        async with contextlib.aclosing(_prefetched(stream, workers, loop)) as chunks:
            async for chunk in chunks:
                if chunk.tenant != tenant:
                    if transaction is not None and tenant is not None:
                        await _finish(conn, tenant)
                        await transaction.commit()
                    tenant, staged = chunk.tenant, set()
                    transaction = conn.transaction()
                    await transaction.start()
                    await conn.execute(SET_TENANT, str(tenant.id))
                    await conn.execute(NO_JIT)
                    await conn.execute(DEFER_ROLLUPS)
                await _copy(conn, chunk, under_rls, staged)
                tally[chunk.table] += len(chunk.rows)
                if chunk.table in highest:  # identity values ascend within a chunk
                    highest[chunk.table] = max(highest[chunk.table], cast(int, chunk.rows[-1][1]))
        if transaction is not None and tenant is not None:
            await _finish(conn, tenant)
            await transaction.commit()
            transaction = None
    finally:
        if transaction is not None:
            await transaction.rollback()


async def _finish(conn: asyncpg.Connection, tenant: SeededTenant) -> None:
    """The tenant's rollups, from the rows just loaded, inside the loading transaction."""
    await conn.execute(REBUILD_ROLLUPS, tenant.id)


async def _copy(conn: asyncpg.Connection, chunk: Chunk, under_rls: frozenset[str], staged: set[str]) -> None:
    columns = TABLE_COLUMNS[chunk.table]
    if chunk.table not in under_rls:
        await conn.copy_records_to_table(chunk.table, records=chunk.rows, columns=columns)
        return
    create, move, empty = STAGING[chunk.table]
    if chunk.table not in staged:
        await conn.execute(create)
        staged.add(chunk.table)
    await conn.copy_records_to_table(f"seed_stage_{chunk.table}", records=chunk.rows, columns=columns)
    await conn.execute(move)
    await conn.execute(empty)


async def _prefetched(stream: Iterator[Chunk], workers: ThreadPoolExecutor,
                      loop: asyncio.AbstractEventLoop) -> AsyncGenerator[Chunk, None]:
    """The stream's chunks, each generated in a worker thread while the caller still works on the previous one."""
    pending = loop.run_in_executor(workers, next, stream, None)
    while (chunk := await pending) is not None:
        pending = loop.run_in_executor(workers, next, stream, None)
        yield chunk


@contextlib.asynccontextmanager
async def _wire_codecs(connections: Sequence[asyncpg.Connection]) -> AsyncIterator[None]:
    """Timestamps as integer seconds and numerics as pre-encoded bytes (see _values), reset afterwards."""
    try:
        for conn in connections:
            await conn.set_type_codec("timestamptz", schema="pg_catalog", encoder=encode_timestamp,
                                      decoder=decode_timestamp, format="tuple")
            # bytes() hands a bytes object back as is, and does so in C: cheaper than any Python function.
            await conn.set_type_codec("numeric", schema="pg_catalog", encoder=bytes, decoder=bytes, format="binary")
        yield
    finally:
        for conn in connections:
            if not conn.is_closed():
                await conn.reset_type_codec("timestamptz", schema="pg_catalog")
                await conn.reset_type_codec("numeric", schema="pg_catalog")
