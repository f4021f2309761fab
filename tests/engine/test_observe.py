"""The engine's watch (gateway/engine/observe.py) and the session's coverage check built on it."""

from __future__ import annotations

from gateway.engine import observe
from tests.engine.coverage import EngineRecord, problems_of, reachable_fields
from tests.engine.world import World


async def test_the_observer_sees_the_fields_the_engine_runs_and_the_operations_it_leaves_to_graphql_core(
    world: World,
) -> None:
    record = EngineRecord()
    previous = observe.watch(record)
    try:
        await world.both(world.principals["admin"], "{ tenant { name timezone } viewer { subject } }")
        await world.run(world.principals["admin"], "{ __schema { queryType { name } } }", None, "planned")
    finally:
        observe.watch(previous)
    assert record.fields == {("Query", "tenant"), ("Tenant", "name"), ("Tenant", "timezone"), ("Query", "viewer"),
                             ("Viewer", "subject")}
    assert dict(record.fallbacks) == {"introspection": 1}


def test_the_session_check_names_fields_never_run_and_unexpected_fallbacks() -> None:
    everything = reachable_fields()
    assert ("Agent", "name") in everything
    assert ("Mutation", "trackEvents") in everything
    # Types only `node(id:)` returns are reachable too.
    assert ("User", "displayName") in everything
    record = EngineRecord(fields=everything - {("Agent", "name")}, every_field_ran=True)
    record.fell_back("introspection")
    record.fell_back("field Agent.name has field extensions")
    assert problems_of(record) == [
        "an operation fell back to graphql-core 1 time(s): field Agent.name has field extensions",
        "Agent.name was never executed by the planned engine (so never compared with graphql-core)",
    ]
    # Until the every-field operations have run, missing fields are not a problem yet.
    record.every_field_ran = False
    assert len(problems_of(record)) == 1
