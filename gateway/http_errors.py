"""GraphQL-shaped JSON for the answers Starlette itself gives (404, 405) and for a fault outside any operation.

Starlette answers an unknown path or method in plain text, and a route that raises with a plain-text 500 from
its outermost middleware, where neither the request id nor the CORS headers are set any more. Here they become
`{"errors": [{"message", "extensions": {"code", "requestId"}}]}` like every other error of the gateway.
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import ErrorCode
from gateway.graphql_errors import internal_error_message
from gateway.logs import request_id_var
from gateway.responses import error_response

log = logging.getLogger(__name__)

CODE_BY_STATUS: Final = {404: ErrorCode.NOT_FOUND, 401: ErrorCode.UNAUTHENTICATED, 403: ErrorCode.FORBIDDEN,
                         413: ErrorCode.QUERY_TOO_COMPLEX, 429: ErrorCode.RATE_LIMITED}


async def http_error(request: Request, error: Exception) -> Response:
    """Starlette's HTTPException (no such route, method not allowed) as a coded JSON error."""
    assert isinstance(error, HTTPException)
    code = CODE_BY_STATUS.get(error.status_code, ErrorCode.BAD_USER_INPUT)
    message = {404: f"there is nothing at {request.url.path}",
               405: f"{request.method} is not allowed on {request.url.path}"}.get(error.status_code, error.detail)
    return error_response(error.status_code, code, message, headers=dict(error.headers or {}))


class FaultBarrier:
    """Turns an exception that escapes a route into a masked INTERNAL 500, logged with the request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            request_id = request_id_var.get()
            log.exception("unexpected error serving %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await error_response(500, ErrorCode.INTERNAL, internal_error_message(request_id))(scope, receive, send)
