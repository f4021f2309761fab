"""What the report endpoints share: the bearer token's principal, coded errors, ids, sessions, JSON bodies.

Errors are GraphQL-shaped like every other HTTP answer of the gateway (`{"errors": [{"message", "extensions":
{"code", …, "requestId"}}]}`), with the HTTP status of their code; a fault of ours is a masked INTERNAL 500,
logged with the request id but never with the path (a feed's path holds its token).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Final
from uuid import UUID

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.auth import READERS, Principal, bearer_token
from gateway.bodies import BodyTooLarge, read_body
from gateway.db import TenantSession
from gateway.errors import BadUserInput, ClientError, ErrorCode, Forbidden, Unauthenticated
from gateway.graphql_errors import internal_error_message
from gateway.ids import uuid_or_global_id
from gateway.logs import request_id_var
from gateway.responses import error_response, unauthenticated_response

log = logging.getLogger(__name__)

STATUS_BY_CODE: Final[Mapping[ErrorCode, int]] = {
    ErrorCode.UNAUTHENTICATED: 401, ErrorCode.FORBIDDEN: 403, ErrorCode.NOT_FOUND: 404,
    ErrorCode.BAD_USER_INPUT: 400, ErrorCode.CONFLICT: 409, ErrorCode.RATE_LIMITED: 429,
    ErrorCode.QUERY_TOO_COMPLEX: 413,
}
# A report request is a definition or a saved report's id, never large.
MAX_BODY_BYTES: Final = 64 * 1024

Endpoint = Callable[[Request], Awaitable[Response]]


async def authenticate(request: Request) -> Principal:
    """The bearer token's principal, if it holds a role that reads reports (not a service or screen token)."""
    principal: Principal = await request.app.state.verifier.verify(
        bearer_token(request.headers.get("authorization")))
    if not principal.has(*READERS):
        raise Forbidden("reports need one of the roles admin, manager, agent or viewer")
    return principal


def client_error_response(error: ClientError) -> Response:
    if isinstance(error, Unauthenticated):
        return unauthenticated_response(error)
    # Built here rather than by error_response: an extension may be called `status` (an execution's).
    body = {"errors": [{"message": error.message, "extensions": {
        "code": error.code.value, **error.extensions, "requestId": request_id_var.get()}}]}
    return json_response(body, status=STATUS_BY_CODE.get(error.code, 400))


def coded(endpoint: Endpoint) -> Endpoint:
    """Answers a ClientError with its code and status, and anything else as a masked, logged INTERNAL 500."""
    @functools.wraps(endpoint)
    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ClientError as e:
            return client_error_response(e)
        except Exception:
            # Not the path: a feed's path is its credential.
            log.exception("%s %s failed", request.method, endpoint.__qualname__)
            return error_response(500, ErrorCode.INTERNAL, internal_error_message(request_id_var.get()))

    return answer


@contextlib.asynccontextmanager
async def tenant_session(request: Request, tenant_id: UUID) -> AsyncIterator[TenantSession]:
    """One transaction on the request path for the block: committed when it ends normally, else rolled back."""
    db = TenantSession(request.app.state.db.app, tenant_id)
    done = False
    try:
        yield db
        done = True
    finally:
        await db.close(commit=done)


def parse_id(raw: str, argument: str = "id") -> UUID:
    """A plain UUID, or the GraphQL API's global id of the same object."""
    try:
        return uuid_or_global_id(raw)
    except BadUserInput:
        raise BadUserInput(f"{raw[:100]!r} is not an id (a UUID or a global id)", argument=argument) from None


def enum_value(raw: object, allowed: tuple[str, ...], argument: str) -> str:
    """One of `allowed` (lower case), given in any case, as the GraphQL API spells enums (`CSV`) or plainly."""
    if isinstance(raw, str) and raw.lower() in allowed:
        return raw.lower()
    raise BadUserInput(f"{argument} is one of {', '.join(a.upper() for a in allowed)}", argument=argument)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (at most MAX_BODY_BYTES)."""
    try:
        body = await read_body(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        raise BadUserInput(f"the body exceeds {MAX_BODY_BYTES} bytes", reason="body_too_large",
                           limit=MAX_BODY_BYTES) from None
    if not body.strip():
        return {}
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise BadUserInput(f"the body is not JSON: {e.msg}", reason="malformed_body") from None
    if not isinstance(parsed, dict):
        raise BadUserInput("the body is a JSON object", reason="malformed_body")
    return parsed


def _default(value: object) -> object:
    # asyncpg's UUID subclasses uuid.UUID, which orjson writes only when the type is exactly that.
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def json_response(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """JSON by orjson: datetimes as ISO 8601, UUIDs as text."""
    return Response(orjson.dumps(body, default=_default), status_code=status, headers=dict(headers or {}),
                    media_type="application/json")


def flag(raw: str | None, argument: str) -> bool:
    """A query flag: 1/true/yes or 0/false/no (absent: false)."""
    if raw is None or raw.lower() in ("0", "false", "no", ""):
        return False
    if raw.lower() in ("1", "true", "yes"):
        return True
    raise BadUserInput(f"{argument} is 1 or 0", argument=argument)
