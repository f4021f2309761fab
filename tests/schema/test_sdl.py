"""schema.graphql is the published contract: it must equal what the code serves, and document everything."""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

from gateway.schema import schema

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_is_current() -> None:
    # Regenerate with: python -c "from gateway.schema import schema; print(schema.as_str())" > schema.graphql
    assert SDL.read_text() == schema.as_str() + "\n"


def test_every_type_and_field_has_a_description() -> None:
    missing = []
    for name, named in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID", "Date", "DateTime", "JSON"}:
            continue
        if isinstance(named, GraphQLObjectType | GraphQLInputObjectType):
            if name not in {"Query", "Mutation", "Subscription"} and not named.description:
                missing.append(name)
            missing += [f"{name}.{f}" for f, field in named.fields.items() if not field.description]
        elif isinstance(named, GraphQLEnumType) and not named.description:
            missing.append(name)
    assert missing == []
