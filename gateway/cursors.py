"""Opaque list cursors: base64url JSON of a keyset position, checked on the way back in."""

from __future__ import annotations

import base64
import binascii
import json

from gateway.errors import BadUserInput


def encode_cursor(position: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[object]:
    """The keyset position a cursor encodes; BadUserInput when it was not made by us."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput("the cursor is malformed", argument="after") from None
    if not isinstance(position, list) or len(position) != length:
        raise BadUserInput("the cursor does not belong to this list", argument="after")
    return position
