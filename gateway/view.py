"""The /graphql endpoint: token check before anything runs, then Strawberry with our Context."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema import BaseSchema

from gateway.auth import TokenVerifier, bearer_token
from gateway.context import Context
from gateway.errors import ErrorCode, Unauthenticated
from gateway.logs import request_id_var
from gateway.responses import unauthenticated_response

PRINCIPAL_KEY = "callpulse.principal"


def _wants_ide(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "query" not in request.query_params and "text/html" in accept


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view, with authentication on HTTP and at websocket connection_init."""

    def __init__(self, schema: BaseSchema, *, verifier_key: str, graphiql: bool) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None, keep_alive=True,
                         keep_alive_interval=15)
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
                    scope[PRINCIPAL_KEY] = await self._verifier(request).verify(token)
                except Unauthenticated as e:
                    await unauthenticated_response(e)(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._ide_html)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return Context(
            pool=request.app.state.db.app,
            request_id=request_id_var.get(),
            principal=request.scope.get(PRINCIPAL_KEY),
            request=request,
            response=response,
        )

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        params = context.connection_params or {}
        raw = params.get("Authorization") or params.get("authorization")
        try:
            token = bearer_token(raw if isinstance(raw, str) else None)
            context.principal = await self._verifier(context.request).verify(token)
        except Unauthenticated as e:
            # graphql-transport-ws closes the socket with 4403; the payload is not sent, so log nothing more.
            raise ConnectionRejectionError({"code": ErrorCode.UNAUTHENTICATED.value, "reason": e.reason}) from e
        return None
