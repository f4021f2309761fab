"""Opaque Relay-style global ids: base64url of "<Type>:<key>", used wherever an id appears in the API."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import Final
from uuid import UUID

from gateway.errors import BadUserInput

# Ids kept encoded: a dashboard or a list asks for the same few thousand objects again and again.
ENCODED_IDS: Final = 16384
# base64's url-safe alphabet from the standard one (what base64.urlsafe_b64encode does, for one call less).
_URL_SAFE: Final = bytes.maketrans(b"+/", b"-_")


@lru_cache(maxsize=ENCODED_IDS)
def encode_id(type_name: str, key: UUID | str) -> str:
    encoded = binascii.b2a_base64(f"{type_name}:{key}".encode(), newline=False).translate(_URL_SAFE)
    return encoded.rstrip(b"=").decode()


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


def uuid_or_global_id(raw: str, *expected: str) -> UUID:
    """A plain UUID as it is, else the key of a global id (of one of `expected` types, when given); BadUserInput
    as decode_id raises it."""
    try:
        return UUID(raw)
    except ValueError:
        return decode_id(raw, *expected)[1]
