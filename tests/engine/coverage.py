"""What the planned engine executed during the test session, and what it should have.

The session's record (installed by tests/conftest.py for every test, HTTP and websocket operations included)
collects each field the engine ran and the reason of each operation it left to graphql-core. At the end of
the session (tests/engine/conftest.py):

- a fallback other than introspection, a subscription or @defer/@stream fails the run;
- once the every-field operations have passed, so did every field of every object type reachable from Query
  and Mutation, unless UNREACHABLE names it with the reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

import pytest
from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLUnionType, get_named_type

from gateway.schema import schema

# Fallback messages of gateway/engine/plan.py and execute.py for what the engine leaves to graphql-core.
EXPECTED_FALLBACKS: Final = frozenset({"introspection", "subscription", "@defer/@stream"})
# Fields of reachable object types the engine can never execute, with the reason. None today.
UNREACHABLE: Final[dict[tuple[str, str], str]] = {}


@dataclass
class EngineRecord:
    """An observer of the engine (gateway/engine/observe.py) that remembers what it saw."""

    fields: set[tuple[str, str]] = field(default_factory=set)
    fallbacks: Counter[str] = field(default_factory=Counter)
    # Set by the every-field test when it passed: only then must every field have run.
    every_field_ran: bool = False

    def executed(self, type_name: str, field_name: str) -> None:
        self.fields.add((type_name, field_name))

    def fell_back(self, reason: str) -> None:
        self.fallbacks[reason] += 1


RECORD: Final = pytest.StashKey[EngineRecord]()


def reachable_fields() -> set[tuple[str, str]]:
    """Every (object type, field) reachable from Query and Mutation: what operations can make the engine run."""
    graphql = schema._schema
    roots = [t for t in (graphql.query_type, graphql.mutation_type) if t is not None]
    seen: set[str] = set()
    fields: set[tuple[str, str]] = set()
    todo: list[object] = list(roots)
    while todo:
        type_ = todo.pop()
        if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
            todo.extend(t for t in graphql.get_possible_types(type_) if t.name not in seen)
            continue
        if not isinstance(type_, GraphQLObjectType) or type_.name in seen:
            continue
        seen.add(type_.name)
        for name, definition in type_.fields.items():
            fields.add((type_.name, name))
            todo.append(get_named_type(definition.type))
    return fields


def problems(config: pytest.Config) -> list[str]:
    """What the session's record shows is wrong, one line each (nothing when no record was kept)."""
    record = config.stash.get(RECORD, None)
    return problems_of(record) if record is not None else []


def problems_of(record: EngineRecord) -> list[str]:
    found = [f"an operation fell back to graphql-core {n} time(s): {reason}"
             for reason, n in sorted(record.fallbacks.items()) if reason not in EXPECTED_FALLBACKS]
    if record.every_field_ran:
        reachable = reachable_fields()
        found += [f"{t}.{f} was never executed by the planned engine (so never compared with graphql-core)"
                  for t, f in sorted(reachable - record.fields - UNREACHABLE.keys())]
        found += [f"UNREACHABLE lists {t}.{f}, which " + ("ran" if (t, f) in record.fields else "is not in the schema")
                  for t, f in sorted(UNREACHABLE.keys() & (record.fields | (UNREACHABLE.keys() - reachable)))]
    return found
