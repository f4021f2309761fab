"""GraphQL-shaped error bodies for the plain HTTP endpoints, so every client reads errors the same way."""

from __future__ import annotations

from starlette.responses import JSONResponse

from gateway.errors import ErrorCode, Unauthenticated
from gateway.logs import request_id_var


def error_response(status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None,
                   **extensions: object) -> JSONResponse:
    body = {"errors": [{"message": message,
                        "extensions": {"code": code.value, **extensions, "requestId": request_id_var.get()}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def unauthenticated_response(error: Unauthenticated) -> JSONResponse:
    """HTTP 401 with the reason, and the challenge RFC 6750 asks for."""
    return error_response(401, ErrorCode.UNAUTHENTICATED, error.message,
                          headers={"WWW-Authenticate": 'Bearer realm="callpulse"'}, reason=error.reason)
