"""/dashboard: the wall-screen page (gateway/static/dashboard), served with a policy that it loads only from here.

The page is static; its token stays in the browser (pasted, or in the URL fragment `#token=…`, which browsers
never send), and everything it needs comes from the gateway that served it, so it works without the internet.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import FileResponse, Response

PAGE: Final = Path(__file__).resolve().parent / "static" / "dashboard" / "index.html"
# A Host header as browsers send it (name or address, optional port): anything else stays out of the policy.
HOST: Final = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def content_security_policy(request: Request) -> str:
    """Scripts, styles, images and connections from this origin only: nothing external, nothing inline.

    The socket's origin is named as well as 'self' for browsers that do not match ws: to 'self', in both schemes
    since a TLS-terminating proxy may have served the page over https while the gateway saw http.
    """
    host = request.headers.get("host", "")
    sockets = f" ws://{host} wss://{host}" if HOST.fullmatch(host) else ""
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        f"connect-src 'self'{sockets}",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ])


async def dashboard(request: Request) -> Response:
    return FileResponse(PAGE, media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": content_security_policy(request),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        # A new gateway's page on the next reload; its scripts and styles revalidate through StaticFiles' ETags.
        "Cache-Control": "no-cache",
    })
