"""POST /api/v1/events: a JSON array or NDJSON of events, for the platform's service tokens (and admins)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.auth import Role, bearer_token
from gateway.bodies import BodyTooLarge, read_body
from gateway.errors import BadUserInput, ErrorCode, NotFound, Unauthenticated
from gateway.graphql_errors import internal_error_message
from gateway.ingest.service import ingest_batch
from gateway.logs import request_id_var
from gateway.responses import error_response, unauthenticated_response

log = logging.getLogger(__name__)

INGEST_ROLES = (Role.SERVICE, Role.ADMIN)


def parse_body(body: bytes, content_type: str) -> list[Any]:
    """A JSON array of events, or one event per line (NDJSON)."""
    if "ndjson" in content_type:
        events = []
        for number, line in enumerate(body.splitlines(), start=1):
            if line.strip():
                try:
                    events.append(orjson.loads(line))
                except orjson.JSONDecodeError as e:
                    raise BadUserInput(f"line {number} is not JSON: {e.msg}") from None
        return events
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise BadUserInput(f"the body is not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    if not isinstance(parsed, list):
        raise BadUserInput("the body must be a JSON array of events (or NDJSON)")
    return parsed


async def post_events(request: Request) -> Response:
    settings = request.app.state.settings
    try:
        principal = await request.app.state.verifier.verify(bearer_token(request.headers.get("authorization")))
    except Unauthenticated as e:
        return unauthenticated_response(e)
    if not principal.has(*INGEST_ROLES):
        return error_response(403, ErrorCode.FORBIDDEN, "ingesting events needs the service or admin role")
    try:
        body = await read_body(request, settings.ingest_max_bytes)
    except BodyTooLarge:
        return error_response(413, ErrorCode.BAD_USER_INPUT,
                              f"the body exceeds {settings.ingest_max_bytes} bytes; send smaller batches",
                              reason="body_too_large", limit=settings.ingest_max_bytes)
    try:
        events = parse_body(body, request.headers.get("content-type", ""))
    except BadUserInput as e:
        return error_response(400, ErrorCode.BAD_USER_INPUT, str(e), reason="malformed_body")
    if len(events) > settings.ingest_max_events:
        return error_response(413, ErrorCode.BAD_USER_INPUT,
                              f"{len(events)} events exceed the limit of {settings.ingest_max_events} per request",
                              reason="too_many_events", limit=settings.ingest_max_events)
    try:
        result = await ingest_batch(request.app.state.db.app, principal.tenant_id, events)
    except NotFound as e:
        return error_response(404, e.code, e.message)
    except Exception:
        request_id = request_id_var.get()
        log.exception("ingestion failed; nothing of the batch was stored")
        return error_response(500, ErrorCode.INTERNAL, internal_error_message(request_id))
    return JSONResponse(result.as_json())
