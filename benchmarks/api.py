"""REST API benchmark (figures recorded in benchmarks/README.md, "REST API" section).

Against a real ``arena api --service all`` on a loopback port over a seeded SQLite file (ten
active tokens, two verified organisations, one API key each), in one run:

(a) ``GET /api/tokens/list``: concurrent clients (asyncio + httpx, keep-alive) for a fixed time,
    with 1 and with 2 uvicorn workers: requests per second and the 50th/99th latency percentiles.
    Goal: >= 500 req/s with p99 < 50 ms at 2 workers.
(b) ``POST /api/tokens/{symbol}/buy`` one at a time through the API (2 workers) against the same
    number of buys through the ledger directly (``core.ledger.buy`` in this process) on the same
    database: mean time per buy and the ratio. Goal: API <= 1.3x the direct buy.

Bounded: ``--seconds`` per GET phase (default 8), ``--clients`` (16), ``--buys`` (100).
Each figure is printed with the 1-minute load average (``os.getloadavg()``) beside it.
Run from the repository root with the venv active: ``python benchmarks/api.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import ledger
from core.db import Database
from core.migrations import upgrade
from tests.e2e.chat_support import make_token
from tests.web.support import OA, SYMBOL, ApiWorld, build_world

SYMBOLS = [SYMBOL] + [f"STRAT-BENCH-T{i}-001" for i in range(9)]


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(url: str, world: ApiWorld, workers: int) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "ARENA_DB_URL": url,
        "ARENA_PLATFORM_ADMINS": world.chat.settings.platform_admins,
        "ARENA_API_RATE_LIMIT": "100000000/minute",
        "ARENA_LOG_LEVEL": "WARNING",
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
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


async def hammer(base: str, clients: int, seconds: float) -> tuple[int, list[float]]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while time.perf_counter() < stop:
                start = time.perf_counter()
                response = await http.get("/api/tokens/list")
                latencies.append(time.perf_counter() - start)
                assert response.status_code == 200

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return int(len(latencies) / (time.perf_counter() - began)), latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def api_buys(base: str, world: ApiWorld, n: int) -> float:
    headers = {"Authorization": f"Bearer {world.keys[OA]}"}
    with httpx.Client(base_url=base, timeout=30) as http:
        start = time.perf_counter()
        for i in range(n):
            r = http.post(
                f"/api/tokens/{SYMBOL}/buy",
                json={"amount": "1"},
                headers=headers | {"Idempotency-Key": f"bench-api-{i}"},
            )
            assert r.status_code == 200, r.text
        return (time.perf_counter() - start) / n


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


def direct_buys(db: Database, wallet_id: int, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        ledger.buy(db.uow(), wallet_id, SYMBOL, "1", idempotency_key=f"bench-direct-{i}")
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--buys", type=int, default=100)
    args = parser.parse_args()
    from bot.wiring import install_safety

    install_safety()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        db = Database(url)
        upgrade(db.engine)
        world = build_world(db)
        for symbol in SYMBOLS[1:]:
            make_token(db, symbol)
        print(f"seeded {len(SYMBOLS)} tokens; {args.clients} clients x {args.seconds:.0f} s per GET phase")
        for workers in (1, 2):
            with serving(url, world, workers) as base:
                rate, latencies = asyncio.run(hammer(base, args.clients, args.seconds))
                print(
                    f"(a) GET /api/tokens/list, {workers} worker(s): {rate} req/s, "
                    f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
                    f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
                    f" ({len(latencies)} requests; {load()})"
                )
                if workers == 2:
                    via_api = api_buys(base, world, args.buys)
                    print(
                        f"(b) POST buy via the API: {via_api * 1000:.1f} ms per buy "
                        f"({args.buys} buys; {load()})"
                    )
        direct = direct_buys(db, world.other_wallet_id, args.buys)
        print(f"(b) ledger.buy directly: {direct * 1000:.1f} ms per buy ({args.buys} buys; {load()})")
        inproc = in_process_buys(world, args.buys)
        print(f"(b) POST buy through the app in process: {inproc * 1000:.1f} ms per buy ({load()})")
        print(
            f"(b) API / direct = {via_api / direct:.2f}x (goal <= 1.3x); in process / direct = "
            f"{inproc / direct:.2f}x"
        )
        with db.uow(read_only=True) as uow:
            problems = ledger.check_invariants(uow.session)
        print(f"ledger check after the run: {problems if problems else 'ok'}")
        db.dispose()


if __name__ == "__main__":
    main()
