"""Every GraphQL example in README.md runs, top to bottom, against a freshly seeded demo database.

Each ```graphql block is parsed; its operations run in order as the demo's first admin (the token `callpulse
demo` prints). An example fails on any error, and on any empty list unless the line that asks for that field
says `# may be empty`. Variables named after a type (`$campaignId`, `$teamId`, `$agentIds`, …) take ids of that
type seen in earlier answers, as a reader would copy them; other variables keep their defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx
import pytest
import websockets
from graphql import OperationDefinitionNode, OperationType, parse, print_ast
from graphql.language import ListTypeNode, NonNullTypeNode, TypeNode

from gateway.cli import DEMO_OPTIONS
from gateway.ids import decode_id
from gateway.seed import seed_database
from tests.conftest import GatewayFactory, LiveGateway, TestDatabase

README: Final = Path(__file__).resolve().parent.parent / "README.md"
AS_SCREEN: Final = "with the screen token"
BLOCK: Final = re.compile(r"^```graphql\n(.*?)^```", re.S | re.M)
MAY_BE_EMPTY: Final = "# may be empty"

FIRST_ADMIN: Final = """
SELECT t.id AS tenant_id, u.id AS user_id
FROM tenants t JOIN users u ON u.tenant_id = t.id AND u.role = 'admin'
ORDER BY t.name, u.email
LIMIT 1
"""


@dataclass(frozen=True)
class Example:
    number: int
    text: str
    operation: OperationDefinitionNode
    source: str

    @property
    def label(self) -> str:
        name = self.operation.name.value if self.operation.name else self.operation.operation.value
        return f"README example {self.number} ({name})"


def examples() -> list[Example]:
    found: list[Example] = []
    for block in BLOCK.findall(README.read_text()):
        document = parse(block)
        for definition in document.definitions:
            assert isinstance(definition, OperationDefinitionNode), "README examples hold operations only"
            found.append(Example(len(found) + 1, block, definition, print_ast(definition)))
    return found


def _named_type(node: TypeNode) -> tuple[str, bool]:
    """The variable's named type and whether it is a list."""
    is_list = False
    while isinstance(node, NonNullTypeNode | ListTypeNode):
        is_list = is_list or isinstance(node, ListTypeNode)
        node = node.type
    return node.name.value, is_list  # type: ignore[attr-defined]


class IdsSeen:
    """Global ids by type, in the order earlier answers showed them."""

    def __init__(self) -> None:
        self.by_type: dict[str, list[str]] = {}

    def collect(self, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "id" and isinstance(inner, str):
                    type_name, _ = decode_id(inner)
                    seen = self.by_type.setdefault(type_name, [])
                    if inner not in seen:
                        seen.append(inner)
                else:
                    self.collect(inner)
        elif isinstance(value, list):
            for inner in value:
                self.collect(inner)

    def variables(self, example: Example) -> dict[str, object]:
        values: dict[str, object] = {}
        for definition in example.operation.variable_definitions or ():
            name = definition.variable.name.value
            type_name, is_list = _named_type(definition.type)
            if type_name != "ID":
                continue
            entity = re.sub(r"(Ids?|[A-Z]|\d+)$", "", name)
            entity = entity[:1].upper() + entity[1:]
            ids = self.by_type.get(entity, [])
            if not ids:
                raise LookupError(f"{example.label}: no earlier answer showed a {entity} id for ${name}")
            values[name] = ids[:2] if is_list else ids[0]
        return values


def empty_lists(value: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from empty_lists(inner, (*path, key))
    elif isinstance(value, list):
        if not value:
            yield path
        for inner in value:
            yield from empty_lists(inner, path)


def allowed_empty(example: Example, key: str) -> bool:
    return any(re.search(rf"\b{re.escape(key)}\b", line) and MAY_BE_EMPTY in line
               for line in example.text.splitlines())


@pytest.fixture
async def demo_gateway(database: TestDatabase, gateway_factory: GatewayFactory) -> tuple[LiveGateway, str]:
    conn = await asyncpg.connect(database.admin_dsn)
    try:
        await seed_database(conn, DEMO_OPTIONS)
        first = await conn.fetchrow(FIRST_ADMIN)
    finally:
        await conn.close()
    assert first is not None
    # No report worker: an execution an example runs stays as the examples left it, so the shadow executor's
    # two reads of it (a statement apart) cannot see a worker's claim land in between.
    gateway = await gateway_factory(database, CALLPULSE_REPORT_WORKERS="0")
    return gateway, gateway.token(first["tenant_id"], user_id=str(first["user_id"]))


async def _subscribe_once(gateway: LiveGateway, token: str, example: Example, variables: dict[str, object]) -> Any:
    async with websockets.connect(gateway.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": example.source, "variables": variables}}))
        message = json.loads(await ws.recv())
        await ws.send(json.dumps({"id": "1", "type": "complete"}))
    assert message["type"] == "next", f"{example.label}: {message}"
    return message["payload"]


async def test_every_readme_graphql_example_runs_on_the_demo_without_errors_or_empty_lists(
        demo_gateway: tuple[LiveGateway, str]) -> None:
    # given
    gateway, token = demo_gateway
    found = examples()
    assert len(found) >= 10, "the README should show the API by example"
    ids = IdsSeen()
    problems: list[str] = []
    async with httpx.AsyncClient(base_url=gateway.url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=60) as client:
        screen_token: str | None = None
        for example in found:
            try:
                variables = ids.variables(example)
            except LookupError as e:
                problems.append(str(e))
                continue
            # An example saying it runs "with the screen token" runs with the latest one an example issued.
            bearer = token
            if AS_SCREEN in example.text:
                if screen_token is None:
                    problems.append(f"{example.label}: no earlier example issued a screen token")
                    continue
                bearer = screen_token
            # when
            if example.operation.operation == OperationType.SUBSCRIPTION:
                body = await _subscribe_once(gateway, bearer, example, variables)
            else:
                response = await client.post("/graphql", json={"query": example.source, "variables": variables},
                                             headers={"Authorization": f"Bearer {bearer}"})
                body = response.json()
            issued = (body.get("data") or {}).get("issueScreenToken")
            if isinstance(issued, dict) and isinstance(issued.get("token"), str):
                screen_token = issued["token"]
            # then
            if body.get("errors") or not body.get("data"):
                problems.append(f"{example.label} failed: {body.get('errors')}")
                continue
            problems.extend(
                f"{example.label}: {'.'.join(path)} is empty; mark its line '{MAY_BE_EMPTY}' if that is expected"
                for path in empty_lists(body["data"]) if not allowed_empty(example, path[-1]))
            ids.collect(body["data"])
    assert not problems, "\n".join(problems)
