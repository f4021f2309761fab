"""Query size limits: too deep, too many fields or aliases is QUERY_TOO_COMPLEX before anything runs."""

from __future__ import annotations

from graphql import get_introspection_query

from gateway.limits import MAX_ALIASES, MAX_DEPTH, MAX_FIELDS
from gateway.schema import schema

NESTED_TEAM = "team { name }"


async def errors_of(query: str) -> list[tuple[str, str]]:
    """Validation errors: without a principal nothing would run, so only what validation says comes back."""
    result = await schema.execute(query)
    return [((e.extensions or {}).get("code", ""), e.message) for e in result.errors or []
            if (e.extensions or {}).get("code") != "UNAUTHENTICATED" and e.path is None]


async def test_a_query_deeper_than_the_limit_is_too_complex() -> None:
    # node, then every `funnel { campaign { … } }` adds two levels: 1 + 7 * 2 + name = 16
    inner = "name"
    for _ in range(7):
        inner = f"funnel(range: {{preset: TODAY}}) {{ campaign {{ {inner} }} }}"
    query = f'{{ node(id: "x") {{ ... on Campaign {{ {inner} }} }} }}'
    [(code, message)] = await errors_of(query)
    assert code == "QUERY_TOO_COMPLEX"
    assert f"at most {MAX_DEPTH}" in message


async def test_too_many_aliases_or_fields_are_too_complex_also_through_fragments() -> None:
    aliases = " ".join(f"a{i}: tenant {{ name }}" for i in range(MAX_ALIASES + 1))
    [(code, message)] = await errors_of(f"{{ {aliases} }}")
    assert (code, f"at most {MAX_ALIASES} are allowed" in message) == ("QUERY_TOO_COMPLEX", True)
    # a fragment of 50 fields spread into 50 aliases: 2,500 fields
    fields = " ".join(f"f{i}: name" for i in range(50))
    spread = " ".join(f"t{i}: tenant {{ ...F }}" for i in range(50))
    codes = {code for code, _ in await errors_of(f"{{ {spread} }} fragment F on Tenant {{ {fields} }}")}
    assert codes == {"QUERY_TOO_COMPLEX"}
    assert MAX_FIELDS < 50 * 51


async def test_a_dashboard_sized_query_and_introspection_pass() -> None:
    dashboard = """{ tenant { name metrics(range: {preset: TODAY}) { callsTotal } }
      agents(first: 50) { edges { node { name team { name } campaigns(range: {preset: TODAY}) { name }
        series(range: {preset: TODAY}, granularity: HOUR, metrics: [CALLS_TOTAL]) { series { values } } } } } }"""
    assert await errors_of(dashboard) == []
    assert await errors_of(get_introspection_query(descriptions=True)) == []
