"""/graphql over websockets: Strawberry's two protocol handlers, held to the rules of the HTTP path.

Both `graphql-transport-ws` and the legacy `graphql-ws` (subscriptions-transport-ws, gql's default) get:
- the token checked at `connection_init` (the view's `on_ws_connect`), and the socket closed when it expires
  (or its screen grant is revoked: gateway/screens.py), once its operations have ended (their transactions over,
  their connections back in the pool);
- every error with a code from the one list, unexpected ones masked and logged (gateway/graphql_errors.py);
- each client message checked before it is used, so a malformed one is refused instead of crashing the handler;
- any operation (query, mutation, subscription) for every `subscribe` / `start`.

Close codes, as graphql-transport-ws defines them (used for the legacy protocol too):

    4400  invalid message                 4408  no connection_init within CALLPULSE_WS_INIT_TIMEOUT_SECONDS
    4401  subscribe/start before the ack  4409  a subscriber for this id already exists
    4403  bad, expired or revoked token   4429  a second connection_init
    4406  subprotocol not acceptable (closed by Strawberry's view)
    1009  a message over CALLPULSE_GRAPHQL_MAX_BYTES (RFC 6455's "message too big")
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from json import JSONDecodeError
from typing import Any, Final

import orjson
from graphql import GraphQLError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.async_base_view import AsyncBaseHTTPView
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws import types as legacy
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import ExecutionResult, PreExecutionError

from gateway.auth import Principal
from gateway.context import Context
from gateway.errors import ErrorCode
from gateway.graphql_errors import masked_internal_error, with_code
from gateway.live.hub import SharedData
from gateway.live.questions import LiveRequest, live_request
from gateway.live.streams import live_mailbox, pump
from gateway.screens import ScreenRevocations
from gateway.settings import DEFAULT_GRAPHQL_MAX_BYTES

log = logging.getLogger(__name__)

# RFC 6455's "message too big", as uvicorn closes a frame over its own ws_max_size.
MESSAGE_TOO_BIG: Final = 1009
INVALID_MESSAGE: Final = 4400
FORBIDDEN: Final = 4403
INIT_TIMEOUT: Final = 4408
SUBSCRIBER_EXISTS: Final = 4409
TOO_MANY_INITIALISATION_REQUESTS: Final = 4429
# A close frame's reason holds at most 123 bytes.
MAX_REASON_BYTES: Final = 123



@dataclass(frozen=True)
class Ending:
    """Why an open socket's principal stopped holding: the close reason, and graphql-ws's connection_error."""

    message: str
    reason: str

    @property
    def close_reason(self) -> str:
        return f"Forbidden: {self.message}"


TOKEN_EXPIRED: Final = Ending("the token has expired", "expired_token")
# A screen token's grant revoked while its socket is open (gateway/screens.py).
SCREEN_REVOKED: Final = Ending("the screen token has been revoked", "revoked_token")
EXPIRED_REASON: Final = TOKEN_EXPIRED.close_reason

# What clients may send in each protocol.
TRANSPORT_MESSAGES: Final = frozenset({"connection_init", "ping", "pong", "subscribe", "complete"})
LEGACY_MESSAGES: Final = frozenset({"connection_init", "connection_terminate", "start", "stop"})


class WebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's, except that sending on a socket we closed is a disconnect, as when the client leaves
    (Starlette raises RuntimeError there, which an operation still streaming would take for a fault of ours),
    and that a message over CALLPULSE_GRAPHQL_MAX_BYTES closes the socket with 1009 before it is decoded.
    """

    def __init__(self, view: AsyncBaseHTTPView[Any, Any, Any, Any, Any, Any, Any], request: WebSocket,
                 response: WebSocket) -> None:
        super().__init__(view, request, response)
        settings = getattr(response.app.state, "settings", None)
        self.max_bytes: int = getattr(settings, "graphql_max_bytes", DEFAULT_GRAPHQL_MAX_BYTES)

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        # Strawberry's loop, with the size check between receiving a message and decoding it.
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                try:
                    text = await self.ws.receive_text()
                    if len(text) > self.max_bytes or len(text.encode()) > self.max_bytes:
                        await self.close(MESSAGE_TOO_BIG, f"Message too big: at most {self.max_bytes} bytes")
                        return
                    yield self.view.decode_json(text)
                except JSONDecodeError as e:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from e
        except KeyError as e:
            raise NonTextMessageReceived from e
        except WebSocketDisconnect:
            pass

    async def send_json(self, message: Mapping[str, object]) -> None:
        if self.ws.application_state is WebSocketState.DISCONNECTED:
            raise WebSocketDisconnected
        payload = message.get("payload")
        data = payload.get("data") if isinstance(payload, dict) else None
        if isinstance(data, SharedData):
            # A live result serialised once for all its subscribers: only the envelope is written here.
            envelope = {k: v for k, v in message.items() if k != "payload"}
            await self.send_frame(orjson.dumps(envelope).decode()[:-1] + ',"payload":' + data.payload + "}")
            return
        await super().send_json(message)

    async def send_frame(self, text: str) -> None:
        """A message already encoded (a live group's payload in its envelope)."""
        if self.ws.application_state is WebSocketState.DISCONNECTED:
            raise WebSocketDisconnected
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc
        except RuntimeError as exc:
            # Starlette's answer to a send on a socket that is closing: the client has gone.
            raise WebSocketDisconnected from exc


def _framed(websocket: object, prefix: str) -> Callable[[str], Awaitable[None]]:
    """Sends a live payload inside its protocol's envelope (`prefix` … `}`) on our adapter."""
    assert isinstance(websocket, WebSocketAdapter)

    async def send(payload: str) -> None:
        await websocket.send_frame(prefix + payload + "}")

    return send


def rejection_reason(rejection: ConnectionRejectionError) -> str:
    """The close reason for a refused connection_init: `Forbidden: <why>` (the `reason` of UNAUTHENTICATED)."""
    extensions = rejection.payload.get("extensions")
    why = extensions.get("reason") if isinstance(extensions, dict) else None
    return f"Forbidden: {why}" if why else "Forbidden"


def close_reason(text: str) -> str:
    """`text`, cut to what a close frame can carry (it may quote what the client sent)."""
    return text.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


def _error(message: str, code: ErrorCode) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code.value})


def _rate_limited(limit: int) -> GraphQLError:
    return _error(f"at most {limit} operations may run at once on one connection", ErrorCode.RATE_LIMITED)


def _unexpected(error: Exception) -> GraphQLError:
    log.error("unexpected error in a websocket operation", exc_info=error)
    return masked_internal_error()


NOT_STREAMABLE: Final = "@defer and @stream are not supported over websockets"


def _operation_problem(id_: object, payload: object) -> str | None:
    if not isinstance(id_, str):
        return "the message needs a string `id`"
    if not isinstance(payload, dict):
        return "the message needs an object `payload`"
    if not isinstance(payload.get("query"), str):
        return "the payload needs a string `query`"
    if not isinstance(payload.get("variables"), dict | None) or not isinstance(payload.get("extensions"), dict | None):
        return "`variables` and `extensions` must be objects when given"
    if not isinstance(payload.get("operationName"), str | None):
        return "`operationName` must be a string when given"
    return None


def message_problem(message: object, known: frozenset[str], operation_type: str,
                    id_types: frozenset[str]) -> str | None:
    """What is wrong with a client message, if anything: its shape, checked before the handler reads it."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "a message must be a JSON object with a string `type`"
    if message["type"] not in known:
        return "unknown message type"
    if message["type"] == operation_type:
        return _operation_problem(message.get("id"), message.get("payload"))
    if message["type"] in id_types and not isinstance(message.get("id"), str):
        return "the message needs a string `id`"
    return None


def watch_expiry(principal: Principal | None, expire: Callable[[Ending], Awaitable[None]],
                 revocations: ScreenRevocations | None = None) -> asyncio.Task[None] | None:
    """A task that runs `expire` when the principal's token expires, or as soon as the screen grant it acts
    under is revoked (none for a token without `exp` that is no screen's)."""
    if principal is None:
        return None
    screen = revocations if principal.screen_id is not None else None
    if principal.expires_at is None and screen is None:
        return None
    delay = None if principal.expires_at is None else max(0.0, principal.expires_at - time.time())

    async def at_expiry() -> None:
        why = TOKEN_EXPIRED
        watching = screen.watching(principal) if screen is not None else contextlib.nullcontext(asyncio.Event())
        with watching as revoked, contextlib.suppress(TimeoutError):
            await asyncio.wait_for(revoked.wait(), delay)
            why = SCREEN_REVOKED
        # The client may have gone meanwhile: there is nothing left to tell it then.
        with contextlib.suppress(WebSocketDisconnected):
            await expire(why)

    return asyncio.create_task(at_expiry())


def _revocations(context: Context) -> ScreenRevocations | None:
    return context.screens.revocations if context.screens is not None else None


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None and task is not asyncio.current_task():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def end_operations(tasks: Collection[asyncio.Task[None]]) -> None:
    """Cancels the operations' tasks and returns once all have finished (their transactions and connections too)."""
    tasks = [task for task in tasks if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if tasks:
        # asyncio.wait rather than awaiting each: if the caller is cancelled meanwhile, the tasks are not
        # cancelled a second time, which would interrupt their clean-up (a rollback, a connection's release).
        await asyncio.wait(tasks)


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws (github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md)."""

    _expiry: asyncio.Task[None] | None = None
    _expired = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every operation's task until it has finished: Strawberry forgets one when it cancels it (a `complete`)
        # without waiting, and its shutdown waits only for those it still knows.
        self._running: set[asyncio.Task[None]] = set()

    async def handle_message(self, message: Message) -> None:
        problem = message_problem(message, TRANSPORT_MESSAGES, "subscribe", frozenset({"complete"}))
        if problem:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload")
        payload = {} if payload is None else payload
        if not isinstance(payload, dict):
            await self.websocket.close(INVALID_MESSAGE, "the connection_init payload must be an object")
            return
        if self.connection_init_received:
            await self.websocket.close(TOO_MANY_INITIALISATION_REQUESTS, "Too many initialisation requests")
            return
        self.connection_init_received = True
        self.context.connection_params = payload
        try:
            await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError as e:
            await self.websocket.close(FORBIDDEN, rejection_reason(e))
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        self._expiry = watch_expiry(self.context.principal, self._expire, _revocations(self.context))

    async def _expire(self, why: Ending = TOKEN_EXPIRED) -> None:
        self._expired = True
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        await end_operations(self._running)
        await self.websocket.close(FORBIDDEN, why.close_reason)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self._expired:
            # The token has expired: the socket closes with 4403 once the running operations have ended.
            return
        if self.connection_acknowledged:
            id_, limit = message["id"], self.max_subscriptions_per_connection
            if id_ in self.operations:
                await self.websocket.close(SUBSCRIBER_EXISTS, close_reason(f"Subscriber for {id_} already exists"))
                return
            if limit is not None and len(self.operations) >= limit:
                await self.send_message({"id": id_, "type": "error", "payload": [_rate_limited(limit).formatted]})
                return
        await super().handle_subscribe(message)
        operation = self.operations.get(message["id"])
        if operation is not None and operation.task is not None:
            self._running.add(operation.task)
            operation.task.add_done_callback(self._running.discard)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Streams the operation's results: `next`s then `complete`, or one `error` when it cannot start."""
        live_request.set(LiveRequest(operation.query, operation.variables, operation.operation_name))
        try:
            stream = await self.schema.stream(operation.query, variable_values=operation.variables,
                                              context_value=self.context, root_value=self.root_value,
                                              operation_name=operation.operation_name)
            async with contextlib.aclosing(stream):
                first = True
                async for result in stream:
                    if first and isinstance(result, PreExecutionError):
                        await operation.send_initial_errors(result.errors or [])
                        return
                    if not isinstance(result, ExecutionResult):
                        await operation.send_initial_errors([_error(NOT_STREAMABLE, ErrorCode.BAD_USER_INPUT)])
                        return
                    await operation.send_next(result)
                    first = False
                    mailbox = live_mailbox.get()
                    if mailbox is not None:
                        # A live question: its next results come from its group's mailbox as they are.
                        prefix = '{"id":' + orjson.dumps(operation.id).decode() + ',"type":"next","payload":'
                        await pump(mailbox, _framed(self.websocket, prefix))
                        break
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except WebSocketDisconnected:
            pass
        except GraphQLError as e:
            # Syntax errors are raised out of the operation (coded by ErrorCodeExtension), not yielded.
            await operation.send_initial_errors([with_code(e)])
        except Exception as e:
            await operation.send_initial_errors([_unexpected(e)])

    async def shutdown(self) -> None:
        await _cancel(self._expiry)
        await end_operations(self._running)
        await super().shutdown()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol (apollographql/subscriptions-transport-ws), gql's default."""

    _expiry: asyncio.Task[None] | None = None
    _init_timeout: asyncio.Task[None] | None = None
    _initialised = False
    _expired = False

    async def handle(self) -> None:
        # Strawberry has no connection_init timeout for this protocol; graphql-transport-ws's rule applies.
        self._init_timeout = asyncio.create_task(self._close_unless_initialised())
        await super().handle()

    async def _close_unless_initialised(self) -> None:
        await asyncio.sleep(self.view.connection_init_wait_timeout.total_seconds())
        with contextlib.suppress(WebSocketDisconnected):
            await self.websocket.close(INIT_TIMEOUT, "Connection initialisation timeout")

    async def _refuse(self, close_code: int, error: Mapping[str, object], reason: str) -> None:
        """A `connection_error` saying why, then the close."""
        await self.send_message({"type": "connection_error", "payload": dict(error)})
        await self.websocket.close(close_code, reason)

    async def _refuse_input(self, close_code: int, problem: str) -> None:
        await self._refuse(close_code, _error(problem, ErrorCode.BAD_USER_INPUT).formatted, close_reason(problem))

    async def handle_message(self, message: legacy.OperationMessage) -> None:
        problem = message_problem(message, LEGACY_MESSAGES, "start", frozenset({"stop"}))
        if problem:
            await self._refuse_input(INVALID_MESSAGE, problem)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: legacy.ConnectionInitMessage) -> None:
        payload = message.get("payload")
        payload = {} if payload is None else payload
        if not isinstance(payload, dict):
            await self._refuse_input(INVALID_MESSAGE, "the connection_init payload must be an object")
            return
        if self._initialised:
            await self._refuse_input(TOO_MANY_INITIALISATION_REQUESTS, "Too many initialisation requests")
            return
        self._initialised = True
        await _cancel(self._init_timeout)
        self.context.connection_params = payload
        try:
            await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError as e:
            await self._refuse(FORBIDDEN, e.payload, rejection_reason(e))
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        if self.keep_alive:
            self.keep_alive_task = asyncio.create_task(self.handle_keep_alive())
        self._expiry = watch_expiry(self.context.principal, self._expire, _revocations(self.context))

    async def _expire(self, why: Ending = TOKEN_EXPIRED) -> None:
        self._expired = True
        await end_operations(list(self.tasks.values()))
        ended = {"message": why.message,
                 "extensions": {"code": ErrorCode.UNAUTHENTICATED.value, "reason": why.reason}}
        await self._refuse(FORBIDDEN, ended, why.close_reason)

    async def handle_start(self, message: legacy.StartMessage) -> None:
        if self._expired:
            # The token has expired: the socket closes with 4403 once the running operations have ended.
            return
        limit = self.max_subscriptions_per_connection
        if (self.connection_acknowledged and message["id"] not in self.tasks and limit is not None
                and len(self.tasks) >= limit):
            await self._send_error(message["id"], _rate_limited(limit))
            return
        await super().handle_start(message)

    async def _send_error(self, operation_id: str, error: GraphQLError) -> None:
        # This protocol's `error` carries one error object.
        await self.send_message(legacy.ErrorMessage(type="error", id=operation_id, payload=error.formatted))

    async def handle_async_results(self, operation_id: str, query: str, operation_name: str | None,
                                   variables: dict[str, object] | None) -> None:
        """Runs any operation (Strawberry's runs subscriptions only): `data`s then `complete`, or one `error`."""
        live_request.set(LiveRequest(query, variables, operation_name))
        try:
            # Not put in self.subscriptions: Strawberry's `stop` would close the stream from the handler's task,
            # ending the operation's scope in a context that is not its own. Cancelling this task closes it here.
            stream = await self.schema.stream(query, variable_values=variables, operation_name=operation_name,
                                              context_value=self.context, root_value=self.root_value)
            async with contextlib.aclosing(stream):
                first = True
                async for result in stream:
                    if first and isinstance(result, PreExecutionError):
                        assert result.errors
                        await self._send_error(operation_id, result.errors[0])
                        return
                    if not isinstance(result, ExecutionResult):
                        await self._send_error(operation_id, _error(NOT_STREAMABLE, ErrorCode.BAD_USER_INPUT))
                        return
                    await self.send_data_message(result, operation_id)
                    first = False
                    mailbox = live_mailbox.get()
                    if mailbox is not None:
                        prefix = '{"type":"data","id":' + orjson.dumps(operation_id).decode() + ',"payload":'
                        await pump(mailbox, _framed(self.websocket, prefix))
                        break
            await self.send_message({"type": "complete", "id": operation_id})
        except asyncio.CancelledError:
            # `stop`, expiry or the end of the connection: the protocol answers a stop with `complete`. The
            # cancellation goes on, so whoever cancelled (and waits) sees this task end as cancelled.
            with contextlib.suppress(WebSocketDisconnected):
                await self.send_message({"type": "complete", "id": operation_id})
            raise
        except WebSocketDisconnected:
            pass
        except GraphQLError as e:
            await self._send_error(operation_id, with_code(e))
        except Exception as e:
            await self._send_error(operation_id, _unexpected(e))
        finally:
            self.tasks.pop(operation_id, None)

    async def cleanup(self) -> None:
        await _cancel(self._init_timeout)
        await _cancel(self._expiry)
        await super().cleanup()
