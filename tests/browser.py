"""A real browser for tests: Debian's Chromium driven by Playwright, and a second origin that serves pages.

The fixtures are re-exported by tests/conftest.py. Without /usr/bin/chromium or the playwright package the
browser tests skip on a laptop, and fail under CI=true (CI installs Chromium in .ci/run).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

# `playwright install` downloads its own browser builds, which this project cannot fetch: use the system one.
CHROMIUM = Path("/usr/bin/chromium")


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason}: browser tests must run on CI", pytrace=False)
    pytest.skip(reason)


def _require_chromium() -> None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the session; each test takes a fresh context through `browser_page`."""
    _require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                    args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def browser_page(browser: Browser) -> AsyncIterator[Page]:
    """A page in its own browser context (no cookies, cache or storage shared with other tests)."""
    context = await browser.new_context()
    try:
        yield await context.new_page()
    finally:
        await context.close()


@dataclass
class PageServer:
    """Static HTML pages served over real HTTP from an origin of their own (`url`)."""

    url: str  # scheme://host:port, which is also the pages' origin
    pages: dict[str, str] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def serve_app(app: ASGIApp) -> AsyncIterator[str]:
    """Serves an ASGI app through uvicorn on a free local port; yields its base URL (http://127.0.0.1:port)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off",
                                           ws="websockets-sansio"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server exited during start-up")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def page_server() -> AsyncIterator[PageServer]:
    """`page_server.pages["/x.html"] = html` serves it at `page_server.url + "/x.html"`, another origin."""
    pages: dict[str, str] = {}

    async def serve(request: Request) -> Response:
        html = pages.get(request.url.path)
        return HTMLResponse(html) if html is not None else HTMLResponse("not found", status_code=404)

    async with serve_app(Starlette(routes=[Route("/{path:path}", endpoint=serve)])) as url:
        yield PageServer(url=url, pages=pages)
