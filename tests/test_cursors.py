"""Cursors: what we made round-trips; anything else, however long or nested, is BAD_USER_INPUT on `after`."""

from __future__ import annotations

import base64
import json
import uuid

import asyncpg
import httpx
import pytest

from gateway.cursors import MAX_CURSOR_LENGTH, decode_cursor, encode_cursor
from gateway.errors import BadUserInput
from tests.conftest import LiveGateway
from tests.factories import make_tenant


def crafted(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


NESTED = crafted(b"[" * 100_000 + b"]" * 100_000)


def test_the_longest_cursor_we_make_round_trips() -> None:
    # Names are at most 200 characters; astral ones are escaped to 12 bytes each in the JSON.
    position: list[object] = ["\U0001f600" * 200, str(uuid.uuid4())]

    cursor = encode_cursor(position)

    assert len(cursor) <= MAX_CURSOR_LENGTH
    assert decode_cursor(cursor, 2) == position


@pytest.mark.parametrize(("what", "cursor"), [
    ("too long", "A" * (MAX_CURSOR_LENGTH + 1)),
    ("nested beyond what json parses", NESTED),
    ("nested deeper than json parses, within the length cap", crafted(b"[" * 1500 + b"]" * 1500)),
    ("nested shallowly", crafted(b"[[[[1]]]]")),
    ("a nested element", crafted(json.dumps(["name", ["x"]]).encode())),
    ("an object element", crafted(json.dumps([{"a": 1}, "x"]).encode())),
    ("not base64", "!!!"),
    ("not a list", crafted(b'{"a": 1}')),
])
def test_a_cursor_we_did_not_make_is_bad_user_input_on_after(what: str, cursor: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        decode_cursor(cursor, 2)

    assert refused.value.extensions == {"argument": "after"}


async def test_a_crafted_cursor_over_http_is_bad_user_input_not_internal(
    gateway: LiveGateway, admin_conn: asyncpg.Connection
) -> None:
    token = gateway.token(await make_tenant(admin_conn))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        response = await client.post("/graphql", headers={"Authorization": f"Bearer {token}"}, json={
            "query": "query($after: String) { agents(after: $after) { totalCount } }",
            "variables": {"after": NESTED}})

    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
