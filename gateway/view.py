"""The /graphql endpoint: token check before anything runs, then Strawberry with our Context.

Strawberry's refusals of a request (unparseable body, no query, a mutation over GET, …) are answered as
GraphQL-shaped JSON with a code, keeping their HTTP status; websockets are gateway/websocket.py. A body over
CALLPULSE_GRAPHQL_MAX_BYTES is refused with 413 as soon as it is known to be: from its Content-Length, or
while it is read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import timedelta
from importlib.resources import files
from typing import Any, Final

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from gateway.auth import TokenVerifier, bearer_token
from gateway.bodies import BodyTooLarge, read_body
from gateway.context import Context
from gateway.errors import ErrorCode, Unauthenticated
from gateway.limits import OperationLimits
from gateway.logs import request_id_var
from gateway.responses import error_response, unauthenticated_response
from gateway.screens import admit
from gateway.websocket import LegacyWSHandler, TransportWSHandler, WebSocketAdapter

PRINCIPAL_KEY = "callpulse.principal"
# Subscriptions are served over websockets: Strawberry would run one over plain HTTP as a query, and fail.
HTTP_OPERATIONS: Final = {"GET": frozenset({OperationType.QUERY}),
                          "POST": frozenset({OperationType.QUERY, OperationType.MUTATION})}


def _wants_ide(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "query" not in request.query_params and "text/html" in accept



def replaying(body: bytes, receive: Receive) -> Receive:
    """An ASGI receive that hands out the body already read, then what the client sends next (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def body_too_large_response(limit: int) -> Response:
    """HTTP 413, as POST /api/v1/events answers it."""
    return error_response(413, ErrorCode.BAD_USER_INPUT,
                          f"the body exceeds {limit} bytes; send less (large batches of events: POST /api/v1/events)",
                          reason="body_too_large", limit=limit)


def refusal_response(error: HTTPException) -> Response:
    """A request refused before it ran, as GraphQL-shaped JSON with its HTTP status."""
    code = ErrorCode.NOT_FOUND if error.status_code == 404 else ErrorCode.BAD_USER_INPUT
    # 405 only ever means a mutation over GET (the route admits GET and POST only).
    headers = {"Allow": "POST"} if error.status_code == 405 else None
    return error_response(error.status_code, code, error.reason, headers=headers)


def unauthenticated_payload(error: Unauthenticated) -> dict[str, object]:
    """What a refused websocket is told (graphql-ws's connection_error), shaped like an HTTP 401's error."""
    return {"message": error.message, "extensions": {"code": ErrorCode.UNAUTHENTICATED.value,
                                                      "reason": error.reason, "requestId": request_id_var.get()}}


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view, with authentication on HTTP and at websocket connection_init."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler
    websocket_adapter_class = WebSocketAdapter

    def __init__(self, schema: BaseSchema, *, verifier_key: str, graphiql: bool,
                 allowed_origins: Sequence[str] = (), ws_init_timeout_seconds: float = 10.0) -> None:
        # allowed_origins: Strawberry's own websocket Origin check, behind (and agreeing with) gateway/cors.py.
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None, keep_alive=True,
                         keep_alive_interval=15, allowed_origins=allowed_origins,
                         connection_init_wait_timeout=timedelta(seconds=ws_init_timeout_seconds))
        self._verifier_key = verifier_key
        self._graphiql = graphiql
        self._ide_html = files("gateway").joinpath("static/graphiql.html").read_text()

    def _verifier(self, request: Request | WebSocket) -> TokenVerifier:
        verifier: TokenVerifier = getattr(request.app.state, self._verifier_key)
        return verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            if not (self._graphiql and _wants_ide(request)):
                try:
                    token = bearer_token(request.headers.get("authorization"))
                    principal = await self._verifier(request).verify(token)
                    # A screen token: its grant is looked up on every request, so a revocation holds at once.
                    scope[PRINCIPAL_KEY] = await admit(request.app.state.db.app, principal)
                except Unauthenticated as e:
                    await unauthenticated_response(e)(scope, receive, send)
                    return
            if request.method == "POST":
                limit = request.app.state.settings.graphql_max_bytes
                try:
                    body = await read_body(request, limit)
                except BodyTooLarge:
                    await body_too_large_response(limit)(scope, receive, send)
                    return
                request = Request(scope, replaying(body, receive))
            try:
                response = await self.run(request)
            except HTTPException as e:
                response = refusal_response(e)
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def execute_single(self, request: Request, request_adapter: AsyncHTTPRequestAdapter, sub_response: Response,
                             context: Context, root_value: None, request_data: GraphQLRequestData) -> ExecutionResult:
        """Strawberry's, with subscriptions refused over HTTP and a mutation over GET answered 405."""
        method = request_adapter.method
        try:
            return await self.schema.execute(
                request_data.query, root_value=root_value, variable_values=request_data.variables,
                context_value=context, operation_name=request_data.operation_name,
                allowed_operation_types=HTTP_OPERATIONS[method], operation_extensions=request_data.extensions)
        except CannotGetOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason()) from e
        except InvalidOperationTypeError as e:
            if e.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(400, "subscriptions are served over websockets on this path") from e
            # GraphQL over HTTP: a mutation over GET is 405 Method Not Allowed (Strawberry says 400).
            raise HTTPException(405, e.as_http_error_reason(method)) from e
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e

    def encode_json(self, data: object) -> str:
        """Responses and websocket messages as JSON text, by orjson (a 200-call page in a tenth of json.dumps'
        time). The same JSON as before in meaning — keys in order, the same numbers (floats in their shortest
        round-tripping form), non-ASCII text as UTF-8 rather than escapes; what orjson refuses (an int beyond
        64 bits, a lone surrogate, nesting deeper than 254, a type it does not know) goes to json.dumps as before."""
        try:
            return orjson.dumps(data, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                                ).decode()
        except TypeError:
            return json.dumps(data, separators=(",", ":"))

    def decode_json(self, data: str | bytes) -> object:
        try:
            return json.loads(data)
        except RecursionError:
            # Nested deeper than the parser goes: as unparseable as any other broken JSON (HTTP 400, ws 4400).
            raise json.JSONDecodeError("nested too deeply", "", 0) from None

    def parse_json(self, data: str | bytes) -> Any:
        # A body (or variables) of JSON null means nothing was sent; other scalars are refused here, since
        # Strawberry reads fields off whatever the body decodes to (a 500 for `1` or `"x"`).
        value = super().parse_json(data)
        if value is None:
            return {}
        if not isinstance(value, dict | list):
            raise HTTPException(400, "Expected a JSON object")
        return value

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._ide_html)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        settings = request.app.state.settings
        return Context(
            pool=request.app.state.db.app,
            request_id=request_id_var.get(),
            principal=request.scope.get(PRINCIPAL_KEY),
            request=request,
            response=response,
            executor=settings.executor,
            shadow=settings.executor_shadow,
            live=getattr(request.app.state, "live", None),
            screens=getattr(request.app.state, "screens", None),
            limits=OperationLimits(cost_budget=settings.query_cost_budget,
                                   timeout_seconds=settings.operation_timeout_seconds,
                                   max_tokens=settings.query_max_tokens),
        )

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        params = context.connection_params or {}
        raw = params.get("Authorization") or params.get("authorization")
        try:
            token = bearer_token(raw if isinstance(raw, str) else None)
            principal = await self._verifier(context.request).verify(token)
            # The leeway accepts a just-expired token for one request; a socket would be closed at once.
            if principal.expires_at is not None and principal.expires_at <= time.time():
                raise Unauthenticated("the token has expired", reason="expired_token")
            principal = await admit(context.pool, principal)
        except Unauthenticated as e:
            # The socket is closed with 4403 (graphql-ws sends this payload first as connection_error).
            raise ConnectionRejectionError(unauthenticated_payload(e)) from e
        context.principal = principal
        return None
