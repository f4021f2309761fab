"""Cross-origin access: CORS for browser pages on listed origins, and the Origin check on websocket upgrades."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import ErrorCode
from gateway.responses import error_response

log = logging.getLogger(__name__)

ALLOW_METHODS: Final = "GET, POST, OPTIONS"
# What our own clients and the common GraphQL clients (Apollo, urql, graphql-request) send besides the
# CORS-safelisted headers; `accept` is listed because long Accept values stop being safelisted.
ALLOW_HEADERS: Final = ", ".join((
    "Accept", "Authorization", "Content-Type", "X-Request-Id",
    "Apollo-Require-Preflight", "X-Apollo-Operation-Name", "Apollographql-Client-Name",
    "Apollographql-Client-Version",
))
EXPOSE_HEADERS: Final = "X-Request-Id"
# Browsers cap it anyway (Chromium at 2 h); 10 minutes lets a changed allow-list reach open pages soon.
MAX_AGE_SECONDS: Final = 600

_DEFAULT_PORTS: Final = MappingProxyType({"http": 80, "https": 443})
_HOSTNAME: Final = re.compile(r"[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)*")


def parse_origin(text: str) -> str:
    """The canonical form of an origin (`scheme://host[:port]`, as browsers send it), or ValueError saying why."""
    parts = urlsplit(text.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("the scheme must be http or https")
    if parts.path or parts.query or parts.fragment or text.strip().endswith(("?", "#")):
        raise ValueError("an origin has no path, query or fragment (not even a trailing slash)")
    if "@" in parts.netloc:
        raise ValueError("an origin has no user or password")
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    if port == 0 or parts.netloc.endswith(":"):
        raise ValueError("the port must be a number from 1 to 65535")
    if parts.netloc.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError("the host is not a valid IPv6 address") from None
        host = f"[{host}]"
    elif not _HOSTNAME.fullmatch(host):
        raise ValueError("the host must be an ASCII host name (punycode for IDNs) or an IP address")
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def _canonical(origin: str) -> str | None:
    try:
        return parse_origin(origin)
    except ValueError:
        return None  # "null" (sandboxed frames, file://) and anything malformed: never a match


def is_own_origin(origin: str, headers: Headers) -> bool:
    """Whether `origin` is a page of this gateway: the host and port the request was sent to (Host header)."""
    # Sec-Fetch-Site is set by the browser alone (pages cannot forge it) and covers proxies that rewrite Host.
    if headers.get("sec-fetch-site") == "same-origin":
        return True
    host = headers.get("host")
    if not host:
        return False
    # The scheme is left out on purpose: an https page served by a TLS-terminating proxy in front of this
    # plain-http gateway is still its own page. A port left out on either side is the origin scheme's default.
    try:
        page = urlsplit(origin)
        served = urlsplit(f"//{host.strip()}")
        default_port = _DEFAULT_PORTS.get(page.scheme.lower())
        page_port, served_port = page.port or default_port, served.port or default_port
    except ValueError:
        return False
    return (default_port is not None and page.hostname is not None and page.hostname == served.hostname
            and page_port == served_port)


def _add_vary_origin(headers: MutableHeaders) -> None:
    present = {v.strip().lower() for value in headers.getlist("vary") for v in value.split(",")}
    if "origin" not in present and "*" not in present:
        headers.add_vary_header("Origin")


class CorsMiddleware:
    """Answers preflights and labels responses for the listed origins; refuses websockets from other sites."""

    # The gateway's own pages always pass. An unlisted origin's simple requests still reach the app (they need
    # a bearer token like any other), but without Access-Control-Allow-Origin the browser keeps the answer
    # from the page. Never `*`: tokens are in play.

    def __init__(self, app: ASGIApp, *, allowed_origins: Iterable[str]) -> None:
        self.app = app
        self._allowed = frozenset(parse_origin(o) for o in allowed_origins)

    def allows(self, origin: str, headers: Headers) -> bool:
        canonical = _canonical(origin)
        return canonical is not None and (canonical in self._allowed or is_own_origin(origin, headers))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and self.allows(origin, headers)
        if origin is not None and scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, allowed)(scope, receive, send)
            return

        async def labelled(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                # Every answer depends on Origin, so caches must not hand one origin's answer to another.
                _add_vary_origin(response_headers)
                if allowed and origin is not None:
                    response_headers["Access-Control-Allow-Origin"] = origin
                    response_headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
            await send(message)

        await self.app(scope, receive, labelled)

    def _preflight(self, origin: str, allowed: bool) -> Response:
        if not allowed:
            log.info("refused a CORS preflight from origin %r (not in CALLPULSE_CORS_ORIGINS)", origin)
            return error_response(403, ErrorCode.FORBIDDEN,
                                  "this origin may not call the gateway (see CALLPULSE_CORS_ORIGINS)",
                                  headers={"Vary": "Origin"}, reason="origin_not_allowed")
        return Response(status_code=204, headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
            "Access-Control-Expose-Headers": EXPOSE_HEADERS,
            "Vary": "Origin",
        })

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Browsers always send Origin on a websocket upgrade and do not apply CORS to it: without this check
        # any site could open a socket to us with the visitor's ambient credentials (cross-site hijacking).
        # Non-browser clients send no Origin and pass.
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or self.allows(origin, headers):
            await self.app(scope, receive, send)
            return
        log.info("refused a websocket from origin %r (not in CALLPULSE_CORS_ORIGINS)", origin)
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if "websocket.http.response" in scope.get("extensions", {}):
            denial = error_response(403, ErrorCode.FORBIDDEN,
                                    "websockets from this origin are not allowed (see CALLPULSE_CORS_ORIGINS)",
                                    reason="origin_not_allowed")
            await denial(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": 1008})  # before accept: the server answers 403
