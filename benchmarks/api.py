"""REST API benchmark (figures recorded in benchmarks/README.md, "REST API" section).

Against a real ``arena api --service all`` on a loopback port over a seeded SQLite file (ten
active tokens, two verified organisations, one API key each), in one run:

(a) ``GET /api/tokens/list``: concurrent keep-alive connections (a few lines of asyncio stream
    code, not an HTTP library: the generator shares the same cores, and its own CPU is printed
    beside the server's) for a fixed time, with 1 and with 2 uvicorn workers: requests per second
    and the 50th/99th latency percentiles. Goal: >= 500 req/s with p99 < 50 ms at 2 workers.
(b) ``POST /api/tokens/{symbol}/buy`` one at a time through the API (2 workers, httpx keep-alive),
    alternating one and one with ``core.ledger.buy`` in this process on the same database (so both
    see the same load): median and mean per buy and the ratio of the medians. Goal: <= 1.3x.
    Then the same buys through the app in process (TestClient: no sockets, no second process).

``--baseline DIR`` serves an older checkout first (``git archive REV | tar -x -C DIR``), so the
before and after figures come from one run on one database. Bounded: ``--seconds`` per GET phase
(default 8), ``--clients`` (16), ``--buys`` (100). Each figure carries the 1-minute load average.
Run from the repository root with the venv active: ``python benchmarks/api.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import ledger
from core.db import Database
from core.migrations import upgrade
from tests.e2e.chat_support import make_token
from tests.web.support import OA, SYMBOL, ApiWorld, build_world

ROOT = Path(__file__).resolve().parent.parent
SERVERS: list[int] = []  # the server's pid per phase (for its CPU time)
SYMBOLS = [SYMBOL] + [f"STRAT-BENCH-T{i}-001" for i in range(9)]


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(url: str, world: ApiWorld, workers: int, root: Path = ROOT) -> Iterator[str]:
    """``arena api --service all`` from the code at ``root`` (this checkout, or a baseline one)."""
    port = free_port()
    env = {
        **os.environ,
        "ARENA_DB_URL": url,
        "ARENA_PLATFORM_ADMINS": world.chat.settings.platform_admins,
        "ARENA_API_RATE_LIMIT": "100000000/minute",
        "ARENA_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(root),
    }
    argv = [
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "api",
        "--service",
        "all",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(argv, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    SERVERS.append(process.pid)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("arena api did not start")
            time.sleep(0.3)
        # every worker answers: warm up
        for _ in range(20 * workers):
            httpx.get(f"{base}/api/tokens/list", timeout=10)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


REQUEST = b"GET /api/tokens/list HTTP/1.1\r\nHost: bench\r\nAccept: application/json\r\n\r\n"


async def _client(host: str, port: int, stop: float, latencies: list[float]) -> None:
    """One keep-alive HTTP/1.1 connection sending GETs back to back: a few lines of asyncio stream
    code instead of an HTTP library, so the load generator takes little of the shared CPU."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop:
            start = time.perf_counter()
            writer.write(REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if head[9:12] != b"200":
                raise SystemExit(f"GET /api/tokens/list answered {head[:12]!r}")
    finally:
        writer.close()


async def hammer(base: str, clients: int, seconds: float) -> tuple[int, list[float], float]:
    """Requests per second, the latencies, and the load generator's own CPU (fraction of one core)."""
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    cpu, began = time.process_time(), time.perf_counter()
    stop = began + seconds
    await asyncio.gather(*(_client(host, int(port), stop, latencies) for _ in range(clients)))
    wall = time.perf_counter() - began
    return int(len(latencies) / wall), latencies, (time.process_time() - cpu) / wall


def server_cpu() -> float:
    """CPU seconds used so far by the newest server process and its workers."""
    parent = psutil.Process(SERVERS[-1])
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def paired_buys(
    base: str, world: ApiWorld, db: Database, n: int, label: str
) -> tuple[list[float], list[float]]:
    """``n`` buys through the API (organisation A) and ``n`` through ``ledger.buy`` in this process
    (organisation B), alternating one and one so both see the same machine load: seconds per buy."""
    headers = {"Authorization": f"Bearer {world.keys[OA]}"}
    api: list[float] = []
    direct: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for i in range(n):
            start = time.perf_counter()
            r = http.post(
                f"/api/tokens/{SYMBOL}/buy",
                json={"amount": "1"},
                headers=headers | {"Idempotency-Key": f"bench-api-{label}-{i}"},
            )
            api.append(time.perf_counter() - start)
            assert r.status_code == 200, r.text
            start = time.perf_counter()
            key = f"bench-direct-{label}-{i}"
            ledger.buy(db.uow(), world.other_wallet_id, SYMBOL, "1", idempotency_key=key)
            direct.append(time.perf_counter() - start)
    return api, direct


def in_process_buys(world: ApiWorld, n: int) -> float:
    """The same buys through the app in this process (Starlette's TestClient: no sockets, no
    second process), to separate the adapter's own cost from HTTP and scheduling."""
    client = world.client()
    headers = {"Authorization": f"Bearer {world.keys[OA]}"}
    start = time.perf_counter()
    for i in range(n):
        r = client.post(
            f"/api/tokens/{SYMBOL}/buy",
            json={"amount": "1"},
            headers=headers | {"Idempotency-Key": f"bench-inproc-{i}"},
        )
        assert r.status_code == 200, r.text
    return (time.perf_counter() - start) / n


def get_phase(url: str, world: ApiWorld, db: Database, args: argparse.Namespace, label: str, root: Path,
              workers: int) -> float | None:
    """(a) for one code version and worker count; with 2 workers also (b): the ratio of the median
    API buy to the median direct buy (returned)."""
    ratio = None
    with serving(url, world, workers, root) as base:
        server = server_cpu()
        rate, latencies, client_cpu = asyncio.run(hammer(base, args.clients, args.seconds))
        server = (server_cpu() - server) / args.seconds
        print(
            f"(a) {label}: GET /api/tokens/list, {workers} worker(s): {rate} req/s, "
            f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms "
            f"({len(latencies)} requests; CPU: client {client_cpu:.2f}, server {server:.2f} cores; {load()})",
            flush=True,
        )
        if workers == 2:
            paired_buys(base, world, db, 10, f"{label}-warm")  # each process compiles its statements
            api, direct = paired_buys(base, world, db, args.buys, label)
            ratio = statistics.median(api) / statistics.median(direct)
            print(f"(b) {label}: buy via the API median {statistics.median(api) * 1000:.1f} ms "
                  f"(mean {statistics.mean(api) * 1000:.1f}), ledger.buy directly median "
                  f"{statistics.median(direct) * 1000:.1f} ms (mean {statistics.mean(direct) * 1000:.1f}): "
                  f"API / direct = {ratio:.2f}x, goal <= 1.3x ({args.buys} pairs; {load()})", flush=True)
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--buys", type=int, default=100)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout of older code (e.g. `git archive REV | tar -x -C DIR`) to serve "
                        "first, for before/after figures from one run")
    args = parser.parse_args()
    from bot.wiring import install_safety

    install_safety()
    versions = [("before", args.baseline.resolve())] if args.baseline else []
    versions.append(("after" if args.baseline else "this code", ROOT))
    print(f"{os.uname().nodename}: {os.cpu_count()} CPUs; uptime: "
          f"{subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        db = Database(url)
        upgrade(db.engine)
        world = build_world(db)
        for symbol in SYMBOLS[1:]:
            make_token(db, symbol)
        print(f"seeded {len(SYMBOLS)} tokens; {args.clients} clients x {args.seconds:.0f} s per GET phase")
        for label, root in versions:
            for workers in (1, 2):
                get_phase(url, world, db, args, label, root, workers)
        inproc = in_process_buys(world, args.buys)
        start = time.perf_counter()
        for i in range(args.buys):
            ledger.buy(db.uow(), world.other_wallet_id, SYMBOL, "1", idempotency_key=f"bench-direct-last-{i}")
        direct = (time.perf_counter() - start) / args.buys
        print(f"(b) this code in process (TestClient, no sockets): {inproc * 1000:.1f} ms per buy, "
              f"ledger.buy {direct * 1000:.1f} ms: {inproc / direct:.2f}x ({load()})")
        with db.uow(read_only=True) as uow:
            problems = ledger.check_invariants(uow.session)
        print(f"ledger check after the run: {problems if problems else 'ok'}")
        db.dispose()


if __name__ == "__main__":
    main()
