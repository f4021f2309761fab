"""Serving the app with uvicorn on a socket bound before anything else starts (`callpulse serve / demo`).

Binding first makes a taken port fail at once, before migrations or seeding; uvicorn then serves that socket,
and the caller hears when connections are accepted (the demo prints its banner only then). uvicorn handles
SIGINT and SIGTERM itself while it serves: it shuts down gracefully, then re-raises the signal to whatever
handler was installed before, so the caller's cleanup runs after the app's lifespan has ended.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from typing import Final

import uvicorn
from starlette.types import ASGIApp

from gateway.errors import ConfigurationError

log = logging.getLogger(__name__)

# How often start-up is checked for having reached the point of accepting connections.
READY_POLL_SECONDS: Final = 0.02
BACKLOG: Final = 2048
# Addresses that listen everywhere; a browser reaches them through loopback.
ANY_ADDRESS: Final = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 - a lookup, not a bind


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; a taken port or an unknown host is a ConfigurationError."""
    try:
        family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        return socket.create_server((host, port), family=family, backlog=BACKLOG)
    except socket.gaierror as e:
        raise ConfigurationError(f"cannot listen on host {host!r}: {e.strerror}") from None
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"port {port} on {host} is already in use (another CallPulse?): stop what listens there, "
                "or choose another port with --port or CALLPULSE_PORT"
            ) from None
        raise ConfigurationError(f"cannot listen on {host}:{port}: {e.strerror}") from None


def base_url(listener: socket.socket) -> str:
    """The http:// address of the listening socket as a client on this machine reaches it."""
    host, port = listener.getsockname()[:2]
    host = ANY_ADDRESS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(app: ASGIApp, listener: socket.socket, on_ready: Callable[[], None] | None = None) -> None:
    """Serves on `listener` until SIGINT or SIGTERM; `on_ready` runs once connections are accepted."""
    config = uvicorn.Config(app, log_config=None, ws="websockets-sansio", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    # `started` is set once the lifespan has started and the socket is being served.
    while not server.started and not task.done():
        await asyncio.wait({task}, timeout=READY_POLL_SECONDS)
    if server.started:
        log.info("CallPulse is listening on %s", base_url(listener))
        if on_ready is not None:
            on_ready()
    await task
