"""List queries over HTTP: throughput, latency and CPU per request of the gateway, PostgreSQL and the client.

Seeds a scratch database on CALLPULSE_BENCH_DATABASE_URL (default: the local server) with one tenant (200
agents, ≈500k calls), checks that both executors answer the two queries alike, then for each executor and
for `callpulse serve --workers 1` and `--workers 2` runs closed-loop clients (1, then 8 keep-alive HTTP/1.1
connections, from a separate client process) and prints:

    req/s, p50/p99 latency           per query, executor, workers and number of clients
    G, P, C                          CPU milliseconds per request of the gateway processes, of the bench
                                     database's PostgreSQL backends and of the client (/proc/<pid>/stat)
    other                            cores busy with everything else meanwhile (/proc/stat, steal included):
                                     on a shared machine the runs get only what is left
    ceiling                          CORES / (G + P + C): requests per second the machine's cores allow
    achieved                         req/s against that ceiling (target ≥ 0.9 at 8 clients, --workers 2);
                                     "of free": against (CORES - other) / (G + P + C)
    statements, raw SQL, ratio       SQL statements a request sends (BEGIN/COMMIT/set_config not counted, from
                                     an in-process run's query logger), their replay with asyncpg, and the
                                     1-client HTTP p50 over that replay

    python bench/lists.py [--keep NAME | --reuse NAME] [--seconds 5] [--warmup 2] [--profile [FILE]] [--days 60]
                          [--executors planned,graphql-core] [--workers 1,2] [--clients 1,8] [--queries a,b]
                          [--baseline DIR] [--repeat N]

`--profile` also runs query (a) with the planned executor against one gateway worker under cProfile and prints
its top entries (and keeps the profile in FILE, for `python -m pstats FILE`). `--executors`, `--workers`,
`--clients` and `--queries` run a part of the matrix. `--baseline DIR` compares with another copy of the
repository (the tree before a change, say `git worktree add DIR HEAD`): every run is made against a gateway
started from each tree in turn, alternating, so both see the same load from whatever else the machine runs,
and the answers of both must be equal. `--repeat N` makes each run N times (alternating trees) and prints the
median of each figure. `--client …` is the load generator itself (started by the bench in its own process).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx
import psutil

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._gateway import wait_ready  # noqa: E402
from bench.graph import BOOKKEEPING, DEFAULT_URL, SECRET, in_process, percentiles, prepare, raw_sql  # noqa: E402
from gateway.auth import mint_token  # noqa: E402
from gateway.seed import SeedOptions  # noqa: E402

PORT: Final = 18795
# The gateways that answer once, to compare answers (clear of the other benches' ports, 18790-18799).
ANSWER_PORTS: Final = 18810
END: Final = date(2025, 3, 31)
# One tenant, 200 agents, 60 days of ≈10,500 calls on a weekday (fewer at weekends): ≈500k calls, seeded in
# about a minute on two cores.
OPTIONS: Final = SeedOptions(tenants=1, days=60, agents=200, calls_per_day=10_500, seed=7, end_date=END)
EXECUTORS: Final = ("graphql-core", "planned")
WORKERS: Final = (1, 2)
CLIENTS: Final = (1, 8)
# Request connections per worker: one per client, so no request waits for a connection. All opened at start:
# the planned engine steps root resolvers outside any task, where asyncpg cannot open a connection (its
# connect timeout needs a current task), so a request that finds no idle connection fails with INTERNAL.
POOL_MAX: Final = 8
QUERIES: Final = {
    "a": "{ calls(first: 200) { edges { node { id startedAt agent { name team { name } } campaign { name } } } } }",
    "b": "{ agents(first: 50) { edges { node { name calls(first: 10) { edges { node { startedAt "
         "campaign { name } } } } } } } }",
}
TITLES: Final = {"a": "the 200 newest calls with agent, team and campaign",
                 "b": "50 agents with their 10 newest calls and campaign"}
CALLS: Final = "SELECT count(*) FROM calls"
AGENTS: Final = "SELECT count(*) FROM agents"
TENANT: Final = "SELECT id FROM tenants ORDER BY id LIMIT 1"
BACKENDS: Final = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
TICKS: Final = os.sysconf("SC_CLK_TCK")
CORES: Final = len(os.sched_getaffinity(0))
# The tree this script is in, and the one --baseline names.
THIS: Final = "this"
BASELINE: Final = "baseline"


# --- the client process ---------------------------------------------------------------------------------------


async def _connection(port: int, request: bytes, state: dict[str, Any], latencies: list[float]) -> None:
    """One closed-loop client: a request, its whole response, the next request."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while not state["stop"]:
            began = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200") or b'"errors"' in body:
                raise RuntimeError(f"{head!r} {body[:300]!r}")
            if state["measuring"]:
                latencies.append(time.perf_counter() - began)
    finally:
        writer.close()


async def client(port: int, token: str, query: str, clients: int, warmup: float, seconds: float) -> None:
    """Prints `start`, then `end` and a JSON line of results, around the measured window."""
    body = json.dumps({"query": query}).encode()
    request = (f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    state: dict[str, Any] = {"stop": False, "measuring": False}
    latencies: list[float] = []
    tasks = [asyncio.create_task(_connection(port, request, state, latencies)) for _ in range(clients)]
    await asyncio.sleep(warmup)
    print("start", flush=True)
    began = time.perf_counter()
    state["measuring"] = True
    await asyncio.sleep(seconds)
    state["measuring"] = False
    elapsed = time.perf_counter() - began
    print("end", flush=True)
    state["stop"] = True
    await asyncio.gather(*tasks)
    print(json.dumps({"elapsed": elapsed, "latencies": latencies}), flush=True)


# --- measuring ------------------------------------------------------------------------------------------------


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (every core; steal included) from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc/<pid>/stat (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of stat(5), after pid and comm


@dataclass(frozen=True)
class Run:
    requests: int
    seconds: float
    p50: float
    p99: float
    gateway: float  # CPU ms per request
    postgres: float
    client: float
    other: float  # cores busy with other work, on average over the run

    @property
    def free_ceiling(self) -> float:
        return (CORES - self.other) * 1000 / (self.gateway + self.postgres + self.client)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def ceiling(self) -> float:
        return CORES * 1000 / (self.gateway + self.postgres + self.client)


class Gateway:
    """`callpulse serve --workers N` on the bench database, with one executor."""

    def __init__(self, dsn: str, executor: str, workers: int, port: int = PORT, profile: Path | None = None,
                 root: Path = ROOT) -> None:
        env = {**os.environ, "DATABASE_URL": dsn, "CALLPULSE_JWT_SECRET": SECRET, "CALLPULSE_PORT": str(port),
               "CALLPULSE_LOG_LEVEL": "WARNING", "CALLPULSE_GRAPHIQL": "false", "CALLPULSE_EXECUTOR": executor,
               "CALLPULSE_DB_POOL_MIN": str(POOL_MAX), "CALLPULSE_DB_POOL_MAX": str(POOL_MAX)}
        serve = ["-m", "gateway.cli", "serve", "--workers", str(workers)]
        profiled = [] if profile is None else ["-m", "cProfile", "-o", str(profile)]
        # `python -m` puts the working directory first on sys.path: the gateway runs from `root`'s tree.
        self.process = subprocess.Popen([sys.executable, *profiled, *serve], env=env, cwd=root)  # noqa: S603 - ours
        self.port, self.workers = port, workers

    async def ready(self) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as http:
            await wait_ready(http, process=self.process)
        # Every worker is forked (the warm-up of each run gives them time to serve) before anything is measured.
        for _ in range(600):
            if len(self.pids()) >= self.workers + (self.workers > 1):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)

    def pids(self) -> list[int]:
        parent = psutil.Process(self.process.pid)
        return [parent.pid, *(c.pid for c in parent.children())]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        if self.process.wait(60) != 0:
            raise RuntimeError(f"the gateway exited with {self.process.returncode} on SIGTERM")


def stop_all(gateways: list[Gateway]) -> None:
    """Stops every gateway, even when one of them failed (its error is raised once all are stopped)."""
    failed: list[Exception] = []
    for g in gateways:
        try:
            g.stop()
        except Exception as e:  # raised below, once the others are stopped
            failed.append(e)
    if failed:
        raise failed[0]


async def load(gateway: Gateway, conn: asyncpg.Connection, token: str, query: str, clients: int,
               warmup: float, seconds: float) -> Run:
    """A closed-loop run of `clients` connections from a client process, with the CPU each side spent."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client", str(gateway.port), token, query, str(clients), str(warmup),
        str(seconds), stdout=asyncio.subprocess.PIPE, cwd=ROOT)
    assert process.stdout is not None

    async def sample() -> dict[int, float]:
        backends = [r["pid"] for r in await conn.fetch(BACKENDS)]
        return {0: busy_seconds(), **{pid: cpu_seconds(pid) for pid in [*gateway.pids(), *backends, process.pid]}}

    async def line(expected: str) -> None:
        got = (await process.stdout.readline()).decode().strip()  # type: ignore[union-attr]
        if got != expected:
            raise RuntimeError(f"client: expected {expected!r}, got {got!r}")

    await line("start")
    before = await sample()
    await line("end")
    after = await sample()
    result = json.loads(await process.stdout.readline())
    if await process.wait() != 0:
        raise RuntimeError(f"the client failed with {process.returncode}")
    gateway_pids = set(gateway.pids())

    def spent(pids: set[int]) -> float:
        return sum(after.get(pid, before.get(pid, 0.0)) - before.get(pid, 0.0) for pid in pids)

    backends = (set(before) | set(after)) - gateway_pids - {process.pid, 0}
    n = len(result["latencies"])
    p50, p99 = percentiles(result["latencies"])
    ours = spent(gateway_pids) + spent(backends) + spent({process.pid})
    return Run(requests=n, seconds=result["elapsed"], p50=p50, p99=p99,
               gateway=spent(gateway_pids) * 1000 / n, postgres=spent(backends) * 1000 / n,
               client=spent({process.pid}) * 1000 / n, other=max(0.0, spent({0}) - ours) / result["elapsed"])


async def answers(port: int, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        found = {}
        for name, query in QUERIES.items():
            response = await http.post("/graphql", json={"query": query})
            if response.status_code != 200 or "errors" in response.json():
                raise RuntimeError(f"query ({name}): HTTP {response.status_code} {response.text[:500]}")
            found[name] = response.json()
        return found


async def same_answers(dsn: str, token: str, trees: dict[str, Path]) -> dict[str, Any]:
    """Both executors' answers to both queries (from every tree), which must be equal; the planned ones."""
    gateways = {(t, e): Gateway(dsn, e, 1, port=ANSWER_PORTS + i, root=root)
                for i, (t, root, e) in enumerate((t, root, e) for t, root in trees.items() for e in EXECUTORS)}
    try:
        await asyncio.gather(*(g.ready() for g in gateways.values()))
        found = {key: await answers(g.port, token) for key, g in gateways.items()}
    finally:
        stop_all(list(gateways.values()))
    planned = found[THIS, "planned"]
    for key, answer in found.items():
        for name in QUERIES:
            if json.dumps(answer[name]) != json.dumps(planned[name]):
                raise SystemExit(f"query ({name}): {key[1]} ({key[0]}) and planned ({THIS}) answer differently")
    return planned


async def profile(dsn: str, token: str, warmup: float, seconds: float, conn: asyncpg.Connection,
                  keep: Path | None) -> None:
    """Query (a), planned, one client, against one worker under cProfile: the top entries."""
    with tempfile.TemporaryDirectory() as tmp:
        out = keep or Path(tmp) / "gateway.prof"
        gateway = Gateway(dsn, "planned", 1, profile=out)
        try:
            await gateway.ready()
            run = await load(gateway, conn, token, QUERIES["a"], 1, warmup, seconds)
        finally:
            gateway.stop()
        print(f"\nprofile      query (a), planned, 1 worker under cProfile, 1 client: {run.rate:.0f} req/s, "
              f"{run.requests} requests measured; the profile spans the whole process (start-up, warm-up); "
              "an async function's ncalls counts its resumptions")
        stats = pstats.Stats(str(out))
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)


# --- the bench ------------------------------------------------------------------------------------------------


def objects(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(objects(v) for v in value.values())
    if isinstance(value, list):
        return sum(objects(v) for v in value)
    return 0


def statements_of(captured: list[Any]) -> list[Any]:
    """The request's own statements: not transaction control, not the tenant and timeout settings."""
    return [s for s in captured if not s.query.lstrip().startswith(BOOKKEEPING)]


def absolute(raw: str) -> Path | str:
    """A path the gateway (which runs in the repository's root) finds too; "" stays "" (no file to keep)."""
    return Path(raw).resolve() if raw else raw


def _choice(allowed: tuple[Any, ...], cast: Any = str) -> Any:
    """An argparse type: a comma-separated subset of `allowed`, in the order given."""
    def parse(text: str) -> tuple[Any, ...]:
        chosen = tuple(cast(v) for v in text.split(","))
        if not chosen or any(v not in allowed for v in chosen):
            raise argparse.ArgumentTypeError(f"choose among {', '.join(map(str, allowed))}")
        return chosen
    return parse


def median_run(runs: list[Run]) -> Run:
    """Each figure's median over repeated runs."""
    def mid(values: list[float]) -> float:
        return statistics.median(values)
    return Run(requests=round(mid([r.requests for r in runs])), seconds=mid([r.seconds for r in runs]),
               p50=mid([r.p50 for r in runs]), p99=mid([r.p99 for r in runs]),
               gateway=mid([r.gateway for r in runs]), postgres=mid([r.postgres for r in runs]),
               client=mid([r.client for r in runs]), other=mid([r.other for r in runs]))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--keep", metavar="NAME", help="seed into database NAME and keep it")
    group.add_argument("--reuse", metavar="NAME", help="benchmark the already seeded database NAME")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each run")
    parser.add_argument("--profile", nargs="?", const="", type=absolute, metavar="FILE",
                        help="also profile query (a), planned, one worker (and keep the profile in FILE)")
    parser.add_argument("--days", type=int, default=OPTIONS.days, help="days seeded (fewer for a quick trial)")
    parser.add_argument("--executors", type=_choice(EXECUTORS), default=EXECUTORS, help="executors to run")
    parser.add_argument("--workers", type=_choice(WORKERS, int), default=WORKERS, help="gateway workers to run")
    parser.add_argument("--clients", type=_choice(CLIENTS, int), default=CLIENTS, help="client counts to run")
    parser.add_argument("--queries", type=_choice(tuple(QUERIES)), default=tuple(QUERIES), help="queries to run")
    parser.add_argument("--baseline", type=lambda p: Path(p).resolve(), metavar="DIR",
                        help="also run every line against a gateway started from this copy of the repository")
    parser.add_argument("--repeat", type=int, default=1, help="runs per line (the medians are printed)")
    args = parser.parse_args()
    trees = {THIS: ROOT, **({BASELINE: args.baseline} if args.baseline else {})}
    server_url = os.environ.get("CALLPULSE_BENCH_DATABASE_URL", DEFAULT_URL)
    name = args.reuse or args.keep or f"listbench_{uuid.uuid4().hex[:8]}"
    print(f"database     {name} ({'kept' if args.keep or args.reuse else 'dropped at the end'})")
    print(f"machine      {CORES} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.baseline:
        print(f"baseline     {args.baseline}")
    try:
        dsn = await prepare(server_url, name, reuse=args.reuse is not None, options=replace(OPTIONS, days=args.days))
        conn = await asyncpg.connect(dsn)
        try:
            tenant = await conn.fetchval(TENANT)
            print(f"data         1 tenant, {await conn.fetchval(AGENTS)} agents, {await conn.fetchval(CALLS):,} "
                  "calls")
            token = mint_token(SECRET, tenant_id=tenant, user_id="bench", roles=["admin"], ttl_seconds=6 * 3600)
            planned = await same_answers(dsn, token, trees)
            for q, data in planned.items():
                print(f"query ({q})    {TITLES[q]}: {objects(data['data']):,} objects, the same from both executors"
                      + (" and both trees" if args.baseline else ""))
            sql: dict[tuple[str, str], tuple[int, float]] = {}
            for executor in args.executors:
                for q in args.queries:
                    _, captured, _ = await in_process(dsn, tenant, 20, 20, executor, QUERIES[q])
                    raw = await raw_sql(dsn, captured, 20, 200)
                    sql[executor, q] = (len(statements_of(captured)), percentiles(raw)[0])
            samples: dict[tuple[str, str, int, str, int], list[Run]] = {}
            for _ in range(args.repeat):
                for executor in args.executors:
                    for workers in args.workers:
                        for tree, root in trees.items():
                            gateway = Gateway(dsn, executor, workers, root=root)
                            try:
                                await gateway.ready()
                                for q in args.queries:
                                    for clients in args.clients:
                                        samples.setdefault((tree, executor, workers, q, clients), []).append(
                                            await load(gateway, conn, token, QUERIES[q], clients, args.warmup,
                                                       args.seconds))
                            finally:
                                gateway.stop()
            runs = {key: median_run(found) for key, found in samples.items()}
            report(runs, sql, args, tuple(trees))
            if args.profile is not None:
                await profile(dsn, token, args.warmup, args.seconds * 2, conn,
                              args.profile or None)
        finally:
            await conn.close()
    finally:
        if not (args.keep or args.reuse):
            server = await asyncpg.connect(server_url)
            try:
                await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await server.close()


def report(runs: dict[tuple[str, str, int, str, int], Run], sql: dict[tuple[str, str], tuple[int, float]],
           args: argparse.Namespace, trees: tuple[str, ...]) -> None:
    repeat = f", median of {args.repeat} runs" if args.repeat > 1 else ""
    print(f"runs         {args.seconds:.0f} s measured per line{repeat}, closed loop; G, P, C: CPU ms per request; "
          f"other: cores busy with other work; ceiling = {CORES} cores / (G + P + C)")
    for q in args.queries:
        print(f"\nquery ({q}) {TITLES[q]}")
        print(f"{'executor':13} {'tree':>8} {'workers':>7} {'clients':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'G':>6} {'P':>6} {'C':>6} {'other':>6} {'ceiling':>8} {'achieved':>8} {'of free':>8}")
        for executor in args.executors:
            for workers in args.workers:
                for clients in args.clients:
                    for tree in trees:
                        r = runs[tree, executor, workers, q, clients]
                        print(f"{executor:13} {tree:>8} {workers:>7} {clients:>7} {r.rate:>8.1f} {r.p50:>7.2f} "
                              f"{r.p99:>7.2f} {r.gateway:>6.2f} {r.postgres:>6.2f} {r.client:>6.2f} {r.other:>6.2f} "
                              f"{r.ceiling:>8.1f} {r.rate / r.ceiling:>8.2f} {r.rate / r.free_ceiling:>8.2f}")
        for executor in args.executors:
            statements, raw_p50 = sql[executor, q]
            print(f"{executor:13} {statements} statements per request; raw SQL p50 {raw_p50:.2f} ms")
            for tree in trees:
                label = f"{'':13} {tree}:"
                if 1 in args.workers and 1 in args.clients:
                    one = runs[tree, executor, 1, q, 1]
                    print(f"{label} HTTP p50 / raw SQL {one.p50 / raw_p50:.2f} (1 worker, 1 client)")
                for workers in args.workers:
                    if not {1, 8} <= set(args.clients):
                        continue
                    eight, single = runs[tree, executor, workers, q, 8], runs[tree, executor, workers, q, 1]
                    verdict = "yes" if eight.rate >= single.rate else "NO"
                    line = (f"{label} --workers {workers}: 8 clients ≥ 1 client in req/s: {verdict} "
                            f"({eight.rate:.0f} vs {single.rate:.0f})")
                    if workers == 2:
                        target = "met" if eight.rate / eight.ceiling >= 0.9 else "missed"
                        line += (f"; achieved / ceiling {eight.rate / eight.ceiling:.2f} (target 0.9: {target}; "
                                 f"{eight.rate / eight.free_ceiling:.2f} of what other work left free)")
                    print(line)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        port, token, query, clients, warmup, seconds = sys.argv[2:8]
        asyncio.run(client(int(port), token, query, int(clients), float(warmup), float(seconds)))
    else:
        asyncio.run(main())
