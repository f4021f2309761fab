"""Opaque list cursors: base64url JSON of a keyset position, checked on the way back in."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Final

from gateway.errors import BadUserInput

# Ours are far shorter: the longest is a 200-character name whose characters JSON escapes to 12 bytes each
# (≈3,300 characters of base64). The cap bounds the work (and the nesting) a crafted cursor can ask of us.
MAX_CURSOR_LENGTH: Final = 4096


def encode_cursor(position: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[object]:
    """The keyset position a cursor encodes; BadUserInput when it was not made by us."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadUserInput("the cursor is malformed", argument="after")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    # RecursionError: nesting deeper than the parser goes, which no cursor of ours has.
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise BadUserInput("the cursor is malformed", argument="after") from None
    if not isinstance(position, list) or len(position) != length:
        raise BadUserInput("the cursor does not belong to this list", argument="after")
    if not all(v is None or isinstance(v, str | int | float) for v in position):
        raise BadUserInput("the cursor is malformed", argument="after")
    return position
