"""Generated operations answered the same by graphql-core and the planned engine, under every role.

Each operation runs twice in-process on the same seeded data — graphql-core first, then the engine, each its
own operation rolled back afterwards — and the answers must match exactly: the data with its key order, and
the errors (as the executor raised them, and as a client sees them) as sets by path, none from inside a subtree
that another error nulled. Mutations are generated too (a tenth of the operations): they are rolled back like
the queries, so the second run sees what the first saw.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.coverage import RECORD
from tests.engine.operations import every_field_operations, operations
from tests.engine.world import World

ROLES = ("admin", "manager", "agent", "viewer", "service")
EXAMPLES = 100 if os.environ.get("CI") else 200


async def test_every_field_of_every_reachable_type_runs_alike_in_both_executors(
    world: World, request: pytest.FixtureRequest
) -> None:
    for operation in every_field_operations(world):
        for role in ROLES:
            await world.both(world.principals[role], operation.query, operation.variables, operation.operation_name)
    # The session's end checks that every field ran (tests/engine/coverage.py), even those that failed here
    # for want of data (a forecast of a campaign without calls): the generated operations compare their answers.
    request.config.stash[RECORD].every_field_ran = True


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
async def test_generated_operations_get_the_same_answer_from_both_executors_under_every_role(
    world: World, data: st.DataObject
) -> None:
    operation = data.draw(operations(world), label="operation")
    for role in ROLES:
        await world.both(world.principals[role], operation.query, operation.variables, operation.operation_name)
