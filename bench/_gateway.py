"""What the benches share about a gateway subprocess: waiting until it is ready."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import httpx


async def wait_ready(client: httpx.AsyncClient, url: str = "", process: subprocess.Popen[Any] | None = None) -> None:
    """Until `GET {url}/readyz` answers 200 (a minute at most); fails at once if `process` has exited."""
    for _ in range(600):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the gateway exited with {process.returncode}")
        try:
            if (await client.get(f"{url}/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the gateway {url} never became ready")
