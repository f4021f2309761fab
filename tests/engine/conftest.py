"""Fixtures of the sameness tests: one seeded database for the package, and the session's coverage check."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from gateway import db as dbmod
from tests.conftest import _create, _drop
from tests.engine import coverage
from tests.engine.world import World, build_world, recording_raw_results


@pytest.fixture(scope="package")
async def world(pg_server_dsn: str, template_database: str) -> AsyncIterator[World]:
    """A seeded database shared by the package's tests (each operation is rolled back)."""
    name = f"cp_engine_{uuid.uuid4().hex[:12]}"
    await _create(pg_server_dsn, name, template=template_database)
    try:
        with recording_raw_results():
            world, pool = await build_world(dbmod.dsn_with(pg_server_dsn, database=name))
            try:
                yield world
            finally:
                await pool.release(world.conn)
                await pool.close()
    finally:
        await _drop(pg_server_dsn, name)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fails the run on a schema field the engine never executed, or an operation that fell back unexpectedly."""
    problems = coverage.problems(session.config)
    if not problems:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_sep("=", "planned engine coverage", red=True)
        for line in problems:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
