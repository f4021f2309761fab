"""Serving the app with uvicorn on a socket bound before anything else starts (`callpulse serve / demo`).

Binding first makes a taken port fail at once, before migrations or seeding; uvicorn then serves that socket,
and the caller hears when connections are accepted (the demo prints its banner only then). uvicorn handles
SIGINT and SIGTERM itself while it serves: it shuts down gracefully, then re-raises the signal to whatever
handler was installed before, so the caller's cleanup runs after the app's lifespan has ended.

With several workers (`serve_workers`) the process that bound the address forks them and supervises:

    parent: bind (SO_REUSEPORT, not listening) ─▶ (caller: migrations, seeding — once) ─▶ fork N ─▶ wait ─┐
        ┌───────────────────────────────────────────────────────────────────────────────────────────────┘
        ├─ all ready ─▶ on_ready (the banner)
        ├─ a ready worker died ─▶ fork another
        ├─ one died while starting, or too many died within a minute ─▶ stop all, return 1
        └─ SIGTERM/SIGINT ─▶ SIGTERM to all, wait for them, re-raise to the handler installed before
    worker: build the app (its own pools) ─▶ its own listening socket on the address (SO_REUSEPORT)
            ─▶ uvicorn ─▶ one byte on its pipe: ready

Each worker listens on its own socket because the kernel then spreads new connections across them (by a hash
of the client's address and port). On one shared socket, the first worker awake accepts every connection of a
burst (asyncio accepts up to 2048 at a time) and keep-alive keeps them there: 8 clients on 2 workers ran on one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import gc
import importlib.util
import logging
import math
import os
import select
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Final, NoReturn, TypeVar

import uvicorn
from starlette.types import ASGIApp

from gateway.errors import ConfigurationError

log = logging.getLogger(__name__)

T = TypeVar("T")

# How often start-up is checked for having reached the point of accepting connections.
READY_POLL_SECONDS: Final = 0.02
BACKLOG: Final = 2048
# Addresses that listen everywhere; a browser reaches them through loopback.
ANY_ADDRESS: Final = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 - a lookup, not a bind
STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)
# How often the supervisor looks at its workers (a signal is acted on within this).
SUPERVISE_POLL_SECONDS: Final = 0.2
# Time the workers get to finish their requests after SIGTERM; then they are killed. (Docker waits 10 s.)
WORKER_STOP_SECONDS: Final = 30.0
# Dead workers replaced within the window before the supervisor gives up: a crash loop is not served around.
RESTARTS_ALLOWED: Final = 5
RESTART_WINDOW_SECONDS: Final = 60.0
CGROUP_CPU_MAX: Final = Path("/sys/fs/cgroup/cpu.max")
PR_SET_PDEATHSIG: Final = 1


def listen(host: str, port: int, *, for_workers: bool = False) -> socket.socket:
    """A listening socket on host:port or, `for_workers`, one bound with SO_REUSEPORT that only reserves the
    address (each worker listens on a socket of its own, see serve_workers); a taken port or an unknown host is
    a ConfigurationError."""
    try:
        family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        return _tcp_socket((host, port), family, reuse_port=for_workers, listening=not for_workers)
    except socket.gaierror as e:
        raise ConfigurationError(f"cannot listen on host {host!r}: {e.strerror}") from None
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"port {port} on {host} is already in use (another CallPulse?): stop what listens there, "
                "or choose another port with --port or CALLPULSE_PORT"
            ) from None
        raise ConfigurationError(f"cannot listen on {host}:{port}: {e.strerror}") from None


def _tcp_socket(address: tuple[Any, ...], family: socket.AddressFamily, *, reuse_port: bool, listening: bool
                ) -> socket.socket:
    # IPPROTO_TCP, not the 0 socket.create_server leaves: accepted connections take the listening socket's
    # protocol number, and asyncio turns Nagle off (TCP_NODELAY) only on sockets that say IPPROTO_TCP. With Nagle
    # on, a response written in two parts (head, then body) waits for the client's delayed ACK: 40 ms a request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        if listening:
            sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def base_url(listener: socket.socket) -> str:
    """The http:// address of the listening socket as a client on this machine reaches it."""
    host, port = listener.getsockname()[:2]
    host = ANY_ADDRESS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota (a container's --cpus)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


def http_implementation() -> str:
    """uvicorn's HTTP/1.1 protocol: httptools' C parser when it is installed (≈1 ms less per request than h11's
    pure-Python one on a list page), else h11."""
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (its transports and scheduling in C), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on the event loop loop_factory chooses."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)


async def _serve_socket(app: ASGIApp, listener: socket.socket, on_ready: Callable[[], None]) -> None:
    config = uvicorn.Config(app, log_config=None, ws="websockets-sansio", lifespan="on", http=http_implementation())
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    # `started` is set once the lifespan has started and the socket is being served.
    while not server.started and not task.done():
        await asyncio.wait({task}, timeout=READY_POLL_SECONDS)
    if server.started:
        settle_heap()
        on_ready()
    await task


# gc.set_threshold's three thresholds once the heap is settled (the interpreter's defaults: 700, 10, 10).
GC_THRESHOLDS: Final = (50_000, 20, 100)


def settle_heap() -> None:
    """Leaves what start-up made (modules, the schema, plans of nothing yet, pools) out of garbage collection.

    Requests allocate thousands of objects that live until their response is written, so collections run
    several times a request; each full one walked every object of the process too, ≈90k of them, most from
    start-up. Frozen, they are never walked again (they are still freed when unreferenced; they only escape
    the cycle collector).

    Then the youngest generation is collected every 50,000 allocations instead of 700: an operation makes no
    reference cycle (its objects go when their response is written), so the dozens of young collections a list
    request set off found nothing, and with 8 requests in flight each one also walked the others' live objects
    (a quarter more CPU per request at 8 clients than at 1). Cyclic garbage (an exception's traceback, say)
    still goes, a little later."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def serve(app: ASGIApp, listener: socket.socket, on_ready: Callable[[], None] | None = None) -> None:
    """Serves on `listener` until SIGINT or SIGTERM; `on_ready` runs once connections are accepted."""
    def ready() -> None:
        log.info("CallPulse is listening on %s", base_url(listener))
        if on_ready is not None:
            on_ready()

    await _serve_socket(app, listener, ready)


@dataclass
class _Worker:
    pid: int
    ready_fd: int  # the read end of the worker's pipe, -1 once closed; one byte arrives when it serves
    ready: bool = False


def serve_workers(build: Callable[[], ASGIApp], listener: socket.socket, workers: int,
                  on_ready: Callable[[], None] | None = None) -> int:
    """Serves `listener` from `workers` forked processes, each running the app `build()` makes, until SIGINT or
    SIGTERM; `on_ready` runs once all of them accept connections.

    After a signal the workers are stopped, the signal is re-raised to the handler installed before, and 0 is
    returned if that handler returns. 1 means the gateway could not go on: a worker exited before it was
    ready, or more than RESTARTS_ALLOWED died within RESTART_WINDOW_SECONDS.
    """
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, frame: caught.append(number)) for sig in STOP_SIGNALS}
    running: dict[int, _Worker] = {}
    restarts: deque[float] = deque()
    code = 0
    try:
        for _ in range(workers):
            _start(running, build, listener)
        announced = False
        while not caught and code == 0:
            for worker in _collect_ready(running.values(), SUPERVISE_POLL_SECONDS):
                if announced:
                    log.info("worker %d serves", worker.pid)
            if not announced and all(w.ready for w in running.values()):
                announced = True
                log.info("CallPulse is listening on %s with %d workers (pids %s)", base_url(listener), workers,
                         ", ".join(map(str, running)))
                if on_ready is not None:
                    on_ready()
            for worker, status in _exited(running):
                if not worker.ready:
                    log.error("worker %d %s while starting; stopping the gateway", worker.pid, status)
                    code = 1
                    break
                now = time.monotonic()
                restarts.append(now)
                while restarts[0] < now - RESTART_WINDOW_SECONDS:
                    restarts.popleft()
                if len(restarts) > RESTARTS_ALLOWED:
                    log.error("worker %d %s, the %dth to die in %.0f s; stopping the gateway", worker.pid,
                              status, len(restarts), RESTART_WINDOW_SECONDS)
                    code = 1
                    break
                log.warning("worker %d %s; starting another", worker.pid, status)
                _start(running, build, listener)
    finally:
        _stop(running)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for number in caught:
        signal.raise_signal(number)
    return code


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Holds SIGINT and SIGTERM across a fork: the child installs its own handlers before it may be stopped."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _start(running: dict[int, _Worker], build: Callable[[], ASGIApp], listener: socket.socket) -> None:
    parent = os.getpid()
    read_fd, write_fd = os.pipe()
    with _signals_blocked():
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(read_fd)
                for other in running.values():
                    if other.ready_fd >= 0:
                        os.close(other.ready_fd)
                code = _worker_main(build, listener, write_fd, parent)
            except BaseException:
                log.exception("worker %d failed to serve", os.getpid())
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                # Never back into the parent's code: its `finally` blocks (the embedded server) are not ours.
                os._exit(code)
    os.close(write_fd)
    running[pid] = _Worker(pid=pid, ready_fd=read_fd)


def _leave(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


def _worker_main(build: Callable[[], ASGIApp], listener: socket.socket, ready_fd: int, parent: int) -> int:
    """A worker's life, its exit code: 0 when stopped by SIGTERM or SIGINT, 1 when it never came to serve."""
    served = False

    def ready() -> None:
        nonlocal served
        served = True
        os.write(ready_fd, b"r")
        os.close(ready_fd)

    for sig in STOP_SIGNALS:
        signal.signal(sig, _leave)
    try:
        _die_with(parent)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        # Once it serves, uvicorn holds the signals: a graceful shutdown, then the signal comes back to _leave.
        own = _tcp_socket(listener.getsockname(), listener.family, reuse_port=True, listening=True)
        listener.close()  # the parent's, which only holds the address
        run(_serve_socket(build(), own, ready))
    except SystemExit:
        return 0
    # uvicorn returns without serving when the app's lifespan failed to start (it has logged why).
    return 0 if served else 1


def _die_with(parent: int) -> None:
    """SIGTERM when the parent dies, even by SIGKILL (Linux): no orphan goes on serving the port."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the line above
        raise SystemExit(0)


def _collect_ready(workers: Iterable[_Worker], timeout: float) -> list[_Worker]:
    """Waits up to `timeout` for workers to report that they serve; those that did."""
    waiting = {w.ready_fd: w for w in workers if w.ready_fd >= 0}
    readable, _, _ = select.select(list(waiting), [], [], timeout)
    for fd in readable:
        worker = waiting[fd]
        worker.ready = os.read(fd, 1) == b"r"
        os.close(fd)  # a byte or end of file (the worker exited): nothing more will come
        worker.ready_fd = -1
    return [waiting[fd] for fd in readable if waiting[fd].ready]


def _exited(running: dict[int, _Worker]) -> list[tuple[_Worker, str]]:
    """Workers that have exited (reaped and removed from `running`), each with how it ended."""
    gone = []
    for pid in list(running):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: gone all the same
            done, status = pid, 0
        if done:
            gone.append((_forget(running, pid), _how(status)))
    return gone


def _forget(running: dict[int, _Worker], pid: int) -> _Worker:
    worker = running.pop(pid)
    if worker.ready_fd >= 0:
        os.close(worker.ready_fd)
        worker.ready_fd = -1
    return worker


def _how(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    return f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"


def _stop(running: dict[int, _Worker]) -> None:
    """SIGTERM to every worker, then SIGKILL to those still there after WORKER_STOP_SECONDS; all reaped."""
    for pid in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + WORKER_STOP_SECONDS
    while running and time.monotonic() < deadline:
        _exited(running)
        time.sleep(READY_POLL_SECONDS)
    for pid in running:
        log.warning("worker %d did not stop within %.0f s; killing it", pid, WORKER_STOP_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in list(running):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        _forget(running, pid)
