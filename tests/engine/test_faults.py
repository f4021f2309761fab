"""Faults the seeded data rarely shows, injected into both executors alike: they must still answer the same.

A field's k-th item raises, a non-null field returns null, an Int out of range, NaN for a Float, a value that
is no member of the enum, an object of another type, a loader whose batch fails. The answers must agree in data
and errors (sets by path, none from inside a subtree another error nulled), and each test checks the fault
showed where it should, so that a fault that quietly stopped applying fails too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Final

import pytest
from graphql import parse

from gateway.engine import prepare
from gateway.engine.extension import compare
from gateway.engine.plan import PlanCache
from gateway.errors import BadUserInput
from gateway.ids import decode_id
from gateway.loaders.agent import AgentByIdLoader
from gateway.loaders.team import TeamByIdLoader
from gateway.schema import schema
from gateway.schema.call import CallDirection
from gateway.schema.pagination import PageInfo
from tests.engine.faults import Faults, faults_installed, raise_
from tests.engine.sameness import Outcome
from tests.engine.world import World

ROLES: Final = ("admin", "manager", "agent", "viewer", "service")
RANGE: Final = '{from: "2025-03-18", to: "2025-03-31"}'
AGENTS: Final = "{ agents(first: 5) { edges { node { id name email kind team { id name } } } } }"
CALLS: Final = "{ calls(first: 5) { totalCount edges { node { id talkSeconds cost direction agent { id name } } } } }"
TEAM_AGENTS: Final = """
query($id: ID!) { node(id: $id) { id ... on Team { name agents(first: 5) { edges { node { id name } } } } } }
"""
TWO_TEAMS: Final = """
query($a: ID!, $b: ID!) { teams(first: 1) { totalCount } a: node(id: $a) { ...Team } b: node(id: $b) { ...Team } }
fragment Team on Team { name agents(first: 5) { edges { node { email kind } } } }
"""
TEAMS_AGENTS: Final = "{ teams(first: 5) { edges { node { name agents(first: 5) { edges { node { name } } } } } } }"
SERIES: Final = f"""
query($id: ID!) {{ node(id: $id) {{ ... on Agent {{
  series(range: {RANGE}, granularity: DAY, metrics: [CALLS_TOTAL, AVERAGE_HANDLE_TIME]) {{
    bucketStarts series {{ name values }} }} }} }} }}
"""
FORECAST: Final = f"""
query($id: ID!) {{ node(id: $id) {{ id ... on Measurable {{
  forecast(range: {RANGE}, metric: CALLS_TOTAL, horizon: 4) {{ values lower upper }} }} }} }}
"""
METRICS: Final = f"""
{{ agents(first: 5) {{ edges {{ node {{ name
  metrics(range: {RANGE}) {{ __typename callsTotal averageHandleTimeSeconds ... on AgentMetrics {{ occupancy }} }}
}} }} }} }}
"""
EVENTS: Final = f"{{ eventAnalytics(range: {RANGE}, top: 3) {{ events series {{ name events uniqueUsers }} }} }}"
NODE: Final = "query($id: ID!) { node(id: $id) { __typename id ... on Agent { name } ... on Team { name } } }"
TRACK: Final = """
mutation { trackEvents(events: [
  {id: "00000000-0000-4000-8000-000000000001", type: "no.such.type", occurredAt: "2025-03-31T10:00:00Z"},
  {id: "00000000-0000-4000-8000-000000000002", type: "no.such.type", occurredAt: "2025-03-31T10:00:00Z"}
]) { accepted rejected { index code reason } } }
"""


@pytest.fixture
def faults() -> Iterator[Faults]:
    yield from faults_installed()


async def same(world: World, query: str, roles: tuple[str, ...] = ROLES, **variables: Any) -> Outcome:
    """The admin's reference answer, after both executors agreed under each of `roles`."""
    answers = {}
    for role in roles:
        answers[role], _ = await world.both(world.principals[role], query, variables or None)
    return answers[roles[0]]


def error_paths(outcome: Outcome) -> set[tuple[str | int, ...]]:
    return outcome.error_paths()


async def ids(world: World, query: str, *path: str, **variables: Any) -> list[Any]:
    """The keys (row ids) of the nodes at the end of `path` under each edge, in order, as the admin sees them."""
    reference = await same(world, query, ("admin",), **variables)
    data = reference.raw.data
    assert data is not None
    for step in path:
        data = data[step]
    return [decode_id(edge["node"]["id"])[1] for edge in data]


async def test_a_field_that_raises_for_one_item_of_a_list_of_objects(world: World, faults: Faults) -> None:
    agents = await ids(world, AGENTS, "agents", "edges")
    victim = agents[2]
    faults.field("Agent", "email", lambda a, v: raise_(RuntimeError("mail store down")) if a.row.id == victim else v)
    answer = await same(world, AGENTS)
    assert error_paths(answer) == {("agents", "edges", 2, "node", "email")}
    assert answer.raw.data is not None
    assert answer.raw.data["agents"]["edges"][2]["node"]["email"] is None


async def test_null_for_a_non_null_field_propagates_up_the_non_null_chain_to_the_nearest_nullable(
    world: World, faults: Faults
) -> None:
    # Agent.name (String!) → Agent! → AgentEdge! → [AgentEdge!]! → AgentConnection! → Team (nullable node)
    team = world.ids["Team"][0]
    members = await ids(world, TEAM_AGENTS, "node", "agents", "edges", id=team)
    victim = members[-1]
    faults.field("Agent", "name", lambda a, v: None if a.row.id == victim else v)
    answer = await same(world, TEAM_AGENTS, id=team)
    assert answer.raw.data == {"node": None}
    assert error_paths(answer) == {("node", "agents", "edges", len(members) - 1, "node", "name")}
    # With no nullable field on the way, the whole answer is null.
    whole = await same(world, TEAMS_AGENTS)
    assert whole.raw.data is None
    assert len(error_paths(whole)) == 1


async def test_an_int_out_of_range_and_a_nan_float(world: World, faults: Faults) -> None:
    calls = await ids(world, CALLS, "calls", "edges")
    faults.field("Call", "talkSeconds", lambda c, v: 2**31 if c.row.id == calls[1] else v)
    faults.field("Call", "cost", lambda c, v: math.nan if c.row.id == calls[3] else v)
    faults.field("CallConnection", "totalCount", lambda c, v: -(2**40))
    answer = await same(world, CALLS)
    # Non-null all the way up: the first error nulls the whole answer.
    assert answer.raw.data is None
    # Under a nullable field, each error shows at its own path.
    faults.field("AgentMetrics", "averageHandleTimeSeconds", lambda m, v: math.inf)
    faults.field("AgentMetrics", "occupancy", lambda m, v: math.nan)
    metrics = await same(world, METRICS)
    assert {p[-1] for p in error_paths(metrics)} == {"averageHandleTimeSeconds", "occupancy"}
    assert len(error_paths(metrics)) == 10


async def test_enum_values_the_enum_does_not_have(world: World, faults: Faults) -> None:
    agents = await ids(world, AGENTS, "agents", "edges")
    strangers = {agents[0]: "martian", agents[3]: CallDirection.INBOUND}  # a member of another enum
    faults.field("Agent", "kind", lambda a, v: strangers.get(a.row.id, v))
    answer = await same(world, AGENTS)
    assert answer.raw.data is None
    assert error_paths(answer) == {("agents", "edges", 0, "node", "kind")}


async def test_a_failed_loader_batch_fails_every_parent_of_the_level(world: World, faults: Faults) -> None:
    faults.loader(AgentByIdLoader, RuntimeError("agents table unreachable"))
    answer = await same(world, CALLS)
    assert answer.raw.data is not None
    edges = answer.raw.data["calls"]["edges"]
    failed = {("calls", "edges", i, "node", "agent") for i, e in enumerate(edges) if e["node"]["agent"] is None}
    assert failed
    assert error_paths(answer) == failed
    faults.loader(TeamByIdLoader, BadUserInput("no teams today"))
    teams = await same(world, AGENTS)
    assert {p[-1] for p in error_paths(teams)} == {"team"}


async def test_a_batched_resolver_failing_for_one_parent(world: World, faults: Faults) -> None:
    calls = await ids(world, CALLS, "calls", "edges")
    faults.field("Call", "agent", lambda c, v: raise_(RuntimeError("no agent")) if c.row.id == calls[2] else v)
    answer = await same(world, CALLS)
    assert error_paths(answer) == {("calls", "edges", 2, "node", "agent")}


async def test_lists_of_leaves_with_a_bad_item(world: World, faults: Faults) -> None:
    agent = world.ids["Agent"][0]
    # [Float]!: a NaN item is null with its own error; [DateTime!]!: a bad item nulls the list and up.
    faults.field("SeriesValues", "values", lambda s, v: [*v[:2], math.nan, *v[3:]])
    answer = await same(world, SERIES, id=agent)
    assert {p for p in error_paths(answer)} == {("node", "series", "series", i, "values", 2) for i in range(2)}
    faults.field("Series", "bucketStarts", lambda s, v: [*v[:1], "not a datetime", *v[2:]])
    broken = await same(world, SERIES, id=agent)
    assert broken.raw.data == {"node": None}
    # [Float!]!: None and NaN items, and a value that is not a list at all.
    faults.field("Forecast", "values", lambda f, v: [v[0], None, *v[2:]])
    faults.field("Forecast", "lower", lambda f, v: [math.nan, *v[1:]])
    faults.field("Forecast", "upper", lambda f, v: 12)
    forecast = await same(world, FORECAST, id=agent)
    assert forecast.raw.data == {"node": None}
    # [Int!]! of the event series: an Int out of range.
    faults.field("EventNameSeries", "events", lambda s, v: [2**31, *v[1:]])
    events = await same(world, EVENTS)
    assert events.raw.data is None


async def test_an_object_of_the_wrong_type_for_an_interface_or_an_object_field(world: World, faults: Faults) -> None:
    agent = world.ids["Agent"][0]
    # Node: a Team where the id named an agent is fine (it is a Node); a PageInfo is no Node at all.
    team = await same(world, NODE, ("admin",), id=world.ids["Team"][0])
    assert team.raw.errors is None
    faults.field("Query", "node", lambda root, v: PageInfo(has_next_page=False, has_previous_page=False,
                                                           start_cursor=None, end_cursor=None))
    answer = await same(world, NODE, id=agent)
    assert answer.raw.data == {"node": None}
    assert error_paths(answer) == {("node",)}
    # Metrics: an object that is no Metrics type, for agents only (Measurable.metrics serves four types).
    faults.field("Agent", "metrics", lambda a, v: a)
    metrics = await same(world, METRICS)
    assert metrics.raw.data is None
    # Agent.team: a PageInfo where a Team belongs (an Agent would pass: Strawberry checks Team by its interfaces).
    faults.field("Agent", "team", lambda a, v: PageInfo(has_next_page=True, has_previous_page=True,
                                                        start_cursor=None, end_cursor=None))
    teams = await same(world, AGENTS)
    assert {p[-1] for p in error_paths(teams)} == {"team"}


async def test_a_list_field_that_is_not_a_list_and_exceptions_as_list_items(world: World, faults: Faults) -> None:
    faults.field("Agent", "badges", lambda a, v: 42)
    badges = await same(world, "{ agents(first: 3) { edges { node { name badges { awardedAt } } } } }")
    assert badges.raw.data is None
    # An exception as an item of a list of non-null objects nulls the list and up to the nearest nullable.
    faults.field("AgentConnection", "edges", lambda c, v: [*v[:1], ValueError("a broken edge"), *v[2:]])
    edges = await same(world, TEAM_AGENTS, id=world.ids["Team"][0])
    assert edges.raw.data == {"node": None}


async def test_several_errors_in_one_object_and_a_nulled_subtree_with_errors_inside(
    world: World, faults: Faults
) -> None:
    team_a, team_b = world.ids["Team"][:2]
    members = await ids(world, TEAM_AGENTS, "node", "agents", "edges", id=team_a)
    # Every agent's (nullable) email fails, and one agent of team A fails where it is non-null (kind): team A is
    # nulled and none of the email errors from inside it is reported; team B's are, one per agent.
    faults.field("Agent", "email", lambda a, v: raise_(RuntimeError("email")))
    faults.field("Agent", "kind", lambda a, v: raise_(RuntimeError("kind")) if a.row.id == members[-1] else v)
    answer = await same(world, TWO_TEAMS, a=team_a, b=team_b)
    data = answer.raw.data
    assert data is not None
    assert data["a"] is None
    assert data["b"] is not None
    paths = error_paths(answer)
    assert {p for p in paths if p[0] == "a"} == {("a", "agents", "edges", len(members) - 1, "node", "kind")}
    assert {p[-1] for p in paths if p[0] == "b"} == {"email"}


async def test_the_shadow_comparison_drops_errors_of_nullable_fields_inside_a_subtree_another_error_nulled(
    world: World, faults: Faults
) -> None:
    team_a, team_b = world.ids["Team"][:2]
    members = await ids(world, TEAM_AGENTS, "node", "agents", "edges", id=team_a)
    faults.field("Agent", "email", lambda a, v: raise_(RuntimeError("email")))
    faults.field("Agent", "kind", lambda a, v: raise_(RuntimeError("kind")) if a.row.id == members[-1] else v)
    variables = {"a": team_a, "b": team_b}
    reference, planned = await world.both(world.principals["admin"], TWO_TEAMS, variables, races=False)
    # given: graphql-core reports the email errors of team A it met before the kind error that nulled A, and the
    # data shows only A's null (the trap: read off the data, each email error looks like the one that nulled A)
    assert reference.raw.data is not None
    assert reference.raw.data["a"] is None
    assert any(e.path is not None and e.path[0] == "a" and e.path[-1] == "email" for e in reference.raw.errors or [])
    # then: with the plan's types, those errors stopped at their own (nullable) fields and are dropped
    prepared = prepare(schema, PlanCache(), TWO_TEAMS, parse(TWO_TEAMS), None, variables, None, None,
                       schema.execution_context_class)
    compare(TWO_TEAMS, variables, planned.raw, reference.raw, prepared)


async def test_a_mutation_whose_report_breaks(world: World, faults: Faults) -> None:
    faults.field("IngestReport", "rejected", lambda r, v: [v[0], None])
    answer = await same(world, TRACK, ("admin", "service", "viewer"))
    assert answer.raw.data is None
    assert error_paths(answer) == {("trackEvents", "rejected", 1)}



async def test_the_comparison_fails_when_only_one_executor_sees_a_fault(world: World, faults: Faults) -> None:
    # given: a fault that only the second run (the planned engine's) meets
    runs = {"agents": 0}

    def second_run_only(root: Any, value: Any) -> Any:
        runs["agents"] += 1
        return value if runs["agents"] == 1 else raise_(RuntimeError("only here"))

    faults.field("Query", "agents", second_run_only)
    # then: the harness tells them apart
    with pytest.raises(AssertionError, match="differ"):
        await world.both(world.principals["admin"], AGENTS)


async def test_of_several_bad_items_of_a_list_of_non_null_leaves_the_first_is_reported(
    world: World, faults: Faults
) -> None:
    # Item 0 fails coercion, item 1 is null: graphql-core stops at item 0 (the engine used to report item 1).
    faults.field("Forecast", "values", lambda f, v: [math.nan, None, *v[2:]])
    reference, _ = await world.both(world.principals["admin"], FORECAST, {"id": world.ids["Agent"][0]}, races=False)
    assert error_paths(reference) == {("node", "forecast", "values", 0)}


async def test_errors_of_two_items_nulling_one_position_are_chosen_depth_first(world: World, faults: Faults) -> None:
    # Level by level the engine meets agent 1's error first (its `name` level runs before the `kind` level);
    # graphql-core, depth first and with no await on the way, stops at agent 0's.
    agents = await ids(world, AGENTS, "agents", "edges")
    faults.field("Agent", "kind", lambda a, v: "martian" if a.row.id == agents[0] else v)
    faults.field("Agent", "name", lambda a, v: None if a.row.id == agents[1] else v)
    query = "{ agents(first: 5) { edges { node { name kind } } } }"
    reference, planned = await world.both(world.principals["admin"], query, races=False)
    assert planned.raw.data is None
    assert error_paths(planned) == error_paths(reference) == {("agents", "edges", 0, "node", "kind")}


async def test_a_list_whose_items_are_awaitables(world: World, faults: Faults) -> None:
    made: list[Any] = []

    async def later(value: Any) -> Any:
        return value

    def awaitable_items(agent: Any, badges: Any) -> list[Any]:
        made.extend(later(b) for b in badges)
        return made[-len(badges):]

    faults.field("Agent", "badges", awaitable_items)
    try:
        await same(world, "{ agents(first: 3) { edges { node { name badges { awardedAt } } } } }", ("admin",))
    finally:
        for coroutine in made:
            coroutine.close()  # those the engine never awaited
