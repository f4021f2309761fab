"""The Starlette application: routes, request ids, and a lifespan that owns the pools and upkeep tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import dashboard_page, pools
from gateway import db as dbmod
from gateway.auth import verifier_for
from gateway.cors import CorsMiddleware
from gateway.http_errors import FaultBarrier, http_error
from gateway.ingest.http import post_events
from gateway.live import ChangeListener, LiveHub
from gateway.logs import request_id_var
from gateway.migrations import status
from gateway.reports import http as report_http
from gateway.reports.worker import Worker, WorkerOptions, default_handlers
from gateway.schema import schema
from gateway.screens import Screens
from gateway.settings import Settings
from gateway.view import GraphQLView

log = logging.getLogger(__name__)

PARTITION_UPKEEP_SECONDS: Final = 6 * 3600
REQUEST_ID_HEADER: Final = "x-request-id"


class RequestIdMiddleware:
    """Gives every request an id (the client's X-Request-Id if sane), echoed back and put on every log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = given if 0 < len(given) <= 64 and given.isprintable() else uuid.uuid4().hex
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the request path reaches the database and every shipped migration is applied."""
    try:
        async with request.app.state.db.app.acquire() as conn:
            state = await status(conn)
    except Exception as e:
        log.warning("not ready: %s", e)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not state.current:
        return JSONResponse({"status": "unavailable", "database": "ok", "pendingMigrations": state.pending},
                            status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "migrations": state.applied[-1:]})


async def live_stats(request: Request) -> Response:
    """The live hub's counters: groups, subscribers, changes received, refreshes and their statements."""
    hub: LiveHub = request.app.state.live
    listener: ChangeListener = request.app.state.live_listener
    return JSONResponse({**hub.stats(), "listenerConnected": listener.connected.is_set(),
                         "listenerConnects": listener.connects})


async def _partition_upkeep(database: dbmod.Database) -> None:
    while True:
        await asyncio.sleep(PARTITION_UPKEEP_SECONDS)
        try:
            created = await dbmod.maintain_partitions(database.admin)
            if created:
                log.info("created %d analytics_events partitions", created)
        except Exception:
            log.exception("partition upkeep failed; will retry")


async def open_database(settings: Settings, admin_dsn: str | None = None,
                        query_logger: dbmod.QueryLogger | None = None) -> dbmod.Database:
    """Pools for both paths, after migrations (when enabled) and a check of the request role's powers."""
    return await pools.open_database(settings, admin_dsn, query_logger=query_logger)


def create_app(settings: Settings, *, admin_dsn: str | None = None,
               query_logger: dbmod.QueryLogger | None = None) -> Starlette:
    """The application; `query_logger` sees every statement of the request path (for tests and benchmarks)."""
    view = GraphQLView(schema, verifier_key="verifier", graphiql=settings.graphiql,
                       allowed_origins=settings.cors_origins,
                       ws_init_timeout_seconds=settings.ws_init_timeout_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.verifier = verifier_for(settings)
        app.state.screens = screens = Screens.from_settings(settings)
        database = await open_database(settings, admin_dsn, query_logger)
        app.state.db = database
        upkeep = asyncio.create_task(_partition_upkeep(database))
        hub = LiveHub(debounce_seconds=settings.live_debounce_seconds,
                      refresh_concurrency=max(1, settings.pool_max_size // 2))
        # Screen revocations travel on the same channel; the screens take theirs and pass the rest on.
        listener = ChangeListener(database.app_dsn, screens.revocations.ahead_of(hub.on_payload),
                                  screens.revocations.after(hub.resync, database.app))
        app.state.live = hub
        app.state.live_listener = listener
        hub.start()
        listener.start()
        # Report executions and schedules (CALLPULSE_REPORT_WORKERS per process; 0: left to `callpulse worker`).
        reports = (Worker(database, default_handlers(settings), WorkerOptions.of(settings))
                   if settings.report_workers > 0 else None)
        report_task = None if reports is None else asyncio.create_task(reports.run())
        try:
            yield
        finally:
            if reports is not None and report_task is not None:
                reports.stop()
                await report_task
            await listener.stop()
            await hub.stop()
            upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upkeep
            await app.state.verifier.aclose()
            await database.close()

    # A feed's path holds its token: the access and error logs get it redacted.
    report_http.install_token_redaction()
    app = Starlette(
        routes=[
            Route("/graphql", endpoint=view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", endpoint=view),
            Route("/api/v1/events", endpoint=post_events, methods=["POST"]),
            # Report exports, the REST API of reports and BI feeds (gateway/reports/http).
            *report_http.routes(),
            Route("/healthz", endpoint=healthz),
            Route("/readyz", endpoint=readyz),
            Route("/stats/live", endpoint=live_stats),
            Route("/dashboard", endpoint=dashboard_page.dashboard),
            Mount("/static", app=StaticFiles(packages=[("gateway", "static")]), name="static"),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    # Innermost: a fault outside any operation is answered as JSON, with the request id and CORS headers.
    app.add_middleware(FaultBarrier)
    # Inside RequestIdMiddleware (added last, so outermost): a refused preflight carries a request id too.
    app.add_middleware(CorsMiddleware, allowed_origins=settings.cors_origins)
    app.add_middleware(RequestIdMiddleware)
    return app
