"""The console script as a newcomer runs it: `callpulse demo` on the embedded server, `callpulse token`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.conftest import free_port

CALLPULSE = [sys.executable, "-m", "gateway.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no database or key configured."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CALLPULSE_") and k != "DATABASE_URL"}
    env.update(extra)
    return env


def test_token_mints_a_token_that_verifies_with_the_configured_secret() -> None:
    tenant = uuid.uuid4()
    secret = "a-configured-secret-of-sufficient-length-0123456789"
    out = subprocess.run(
        [*CALLPULSE, "token", "--tenant", str(tenant), "--user", "u-7", "--role", "manager", "--role", "viewer"],
        env=clean_env(CALLPULSE_JWT_SECRET=secret, DATABASE_URL="postgresql://unused@127.0.0.1/x"),
        capture_output=True, text=True, check=True, timeout=60,
    )
    claims = jwt.decode(out.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["tenant_id"] == str(tenant)
    assert claims["sub"] == "u-7"
    assert claims["roles"] == ["manager", "viewer"]
    assert claims["exp"] > time.time()


def test_token_without_a_secret_against_a_real_database_is_refused_clearly() -> None:
    out = subprocess.run(
        [*CALLPULSE, "token", "--tenant", str(uuid.uuid4()), "--user", "u", "--role", "admin"],
        env=clean_env(DATABASE_URL="postgresql://unused@127.0.0.1/x"),
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert "CALLPULSE_JWT_SECRET" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    port = free_port()
    process = subprocess.Popen(
        [*CALLPULSE, "demo"],
        env=clean_env(CALLPULSE_DATA_DIR=str(tmp_path / "data"), CALLPULSE_PORT=str(port)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        yield process, port, tmp_path / "data"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def read_token(process: subprocess.Popen[str], deadline: float) -> str:
    assert process.stdout is not None
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("Admin token:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("demo printed no admin token:\n" + "".join(seen))


async def test_demo_on_the_embedded_server_serves_graphiql_and_answers_with_the_printed_token(
    demo: tuple[subprocess.Popen[str], int, Path],
) -> None:
    process, port, data_dir = demo
    token = await asyncio.to_thread(read_token, process, time.monotonic() + 240)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for _ in range(600):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        answer = await client.post("/graphql", json={"query": "{ viewer { tenant { name } } }"},
                                   headers={"Authorization": f"Bearer {token}"})
        ide = await client.get("/graphql", headers={"Accept": "text/html"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["viewer"]["tenant"]["name"]
    assert ide.status_code == 200
    assert "graphiql.min.js" in ide.text
    assert (data_dir / "pgdata" / "PG_VERSION").exists()
