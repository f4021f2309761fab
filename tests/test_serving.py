"""gateway/serving.py: the listening socket, and the worker supervisor with a tiny ASGI app in a real process
tree (no database)."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import psutil
import pytest

from gateway import serving
from gateway.serving import RESTARTS_ALLOWED
from tests.conftest import free_port

# argv: port, workers, and `ok` or `failing` (the app's lifespan start-up raises, as a database refusal would).
SUPERVISED: str = """
import logging, os, signal, sys
from gateway import serving

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
port, workers, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if mode == "failing":
                    raise RuntimeError("the database refused")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def stopped(number, frame):
    print("previous handler got", signal.Signals(number).name, flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stopped)
with serving.listen("127.0.0.1", port, for_workers=True) as listener:
    code = serving.serve_workers(lambda: app, listener, workers, on_ready=lambda: print("ready", flush=True))
print("returned", code, flush=True)
sys.exit(code)
"""


Supervise = Callable[..., tuple[subprocess.Popen[str], int]]


@pytest.fixture
def supervise() -> Iterator[Supervise]:
    """`start(workers, mode)` runs SUPERVISED; a process a test left running is killed."""
    started: list[subprocess.Popen[str]] = []

    def start(workers: int, mode: str = "ok") -> tuple[subprocess.Popen[str], int]:
        port = free_port()
        process = subprocess.Popen([sys.executable, "-c", SUPERVISED, str(port), str(workers), mode],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append(process)
        return process, port

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def read_until(process: subprocess.Popen[str], text: str, seen: list[str] | None = None) -> None:
    """Reads the output (into `seen`) up to a line that contains `text`."""
    assert process.stdout is not None
    seen = [] if seen is None else seen
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"no line with {text!r}:\n" + "".join(seen))


def workers_of(process: subprocess.Popen[str]) -> set[int]:
    return {child.pid for child in psutil.Process(process.pid).children()}


def alive(pid: int) -> bool:
    """Running, a zombie nobody reaped yet excluded (in a container, PID 1 may never reap orphans)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def until(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


async def test_connections_accepted_on_the_listening_socket_send_without_nagle_delay() -> None:
    # given the socket `serve` binds, served by asyncio as uvicorn serves it
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    with serving.listen("127.0.0.1", 0) as listener:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        try:
            # when a client connects
            _, writer = await asyncio.open_connection(*listener.getsockname())
            nodelay = await asyncio.wait_for(accepted, 10)
            writer.close()
        finally:
            server.close()
    # then the connection has TCP_NODELAY: a response written in parts does not wait for a delayed ACK (40 ms)
    assert nodelay


def test_available_cores_follows_the_cpu_affinity() -> None:
    pinned = subprocess.run(
        [sys.executable, "-c", "import os; from gateway.serving import available_cores; "
         "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); print(available_cores())"],
        capture_output=True, text=True, check=True)
    assert pinned.stdout.strip() == "1"


def test_workers_stop_on_sigterm_and_the_signal_then_reaches_the_previous_handler(supervise: Supervise) -> None:
    process, port = supervise(3)
    read_until(process, "ready")
    workers = workers_of(process)
    assert len(workers) == 3
    # each request is answered by one of the workers
    assert int(httpx.get(f"http://127.0.0.1:{port}/").text) in workers
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "previous handler got SIGTERM" in output
    assert not [pid for pid in workers if alive(pid)]


async def pids_answering(port: int, connections: int) -> list[int]:
    """The worker pid behind each of `connections` connections opened at the same moment."""
    opened = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(connections)))
    pids = []
    for reader, writer in opened:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
                     .partition(b":")[2])
        pids.append(int(await reader.readexactly(length)))
    for _, writer in opened:
        writer.close()
    return pids


def test_connections_opened_at_once_are_shared_between_the_workers(supervise: Supervise) -> None:
    # given two workers, both serving
    process, port = supervise(2)
    read_until(process, "ready")
    workers = workers_of(process)
    for _ in range(3):
        # when clients connect at the same moment (a load balancer's pool, a benchmark)
        pids = asyncio.run(pids_answering(port, 32))
        # then both workers get some: the first awake does not take them all (by chance: 2 in 2**32)
        assert set(pids) == workers, pids


def test_a_worker_whose_app_fails_to_start_stops_the_gateway_with_code_1(supervise: Supervise) -> None:
    process, _ = supervise(2, "failing")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert "while starting; stopping the gateway" in output
    assert "returned 1" in output
    assert "previous handler got" not in output


def test_workers_that_keep_dying_are_replaced_until_too_many_die_within_the_window(supervise: Supervise) -> None:
    process, port = supervise(1)
    read_until(process, "ready")
    seen: list[str] = []
    for death in range(RESTARTS_ALLOWED + 1):
        (worker,) = workers_of(process)
        psutil.Process(worker).kill()
        if death < RESTARTS_ALLOWED:
            # a successor is started and serves
            read_until(process, "serves", seen)
            (successor,) = workers_of(process)
            assert successor != worker
            assert httpx.get(f"http://127.0.0.1:{port}/").text == str(successor)
    output = "".join(seen) + process.communicate(timeout=60)[0]
    assert process.returncode == 1, output
    assert output.count("was killed by SIGKILL; starting another") == RESTARTS_ALLOWED
    assert f"the {RESTARTS_ALLOWED + 1}th to die in 60 s; stopping the gateway" in output


def test_workers_do_not_outlive_a_parent_killed_outright(supervise: Supervise) -> None:
    process, _ = supervise(2)
    read_until(process, "ready")
    workers = workers_of(process)
    process.kill()
    process.wait()
    assert until(lambda: not [pid for pid in workers if alive(pid)]), "workers outlived the parent"


def test_a_settled_heap_is_frozen_and_collected_every_fifty_thousand_allocations() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        serving.settle_heap()
        assert gc.get_threshold() == serving.GC_THRESHOLDS
        assert serving.GC_THRESHOLDS[0] >= 50_000
        assert gc.get_freeze_count() > frozen
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
