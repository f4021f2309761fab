"""Reading a request body within a byte limit: a declared length over it is refused unread, a stream counted."""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):
    """The request body is over its limit (declared or counted while reading)."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read only while it stays within `limit` bytes: a declared length over it is refused unread."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
