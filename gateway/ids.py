"""Opaque Relay-style global ids: base64url of "<Type>:<key>", used wherever an id appears in the API."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

from gateway.errors import BadUserInput


def encode_id(type_name: str, key: UUID | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def decode_id(global_id: str, *expected: str) -> tuple[str, UUID]:
    """The (type, key) of a global id; BadUserInput when malformed or not one of `expected` types."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, key = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        uuid_key = UUID(key)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput(f"{global_id!r} is not a valid id", argument="id") from None
    if expected and type_name not in expected:
        raise BadUserInput(
            f"{global_id!r} is the id of a {type_name}, expected {' or '.join(expected)}", argument="id"
        )
    return type_name, uuid_key
