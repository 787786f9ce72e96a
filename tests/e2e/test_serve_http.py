"""`arena serve` with ARENA_HTTP=1 starts the REST API's five services on their ports beside the
scheduler (ARENA_HTTP_PORT_BASE + 0..4), each with only its own routers, and SIGTERM stops them all
with the rest of the service (exit 0)."""

from __future__ import annotations

import signal
import socket

import httpx

from core.db import Database
from tests.support.serve_process import ServeProcess, serve_env


def free_base(count: int = 5) -> int:
    """A base port with ``count`` free consecutive ports after it."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + count >= 65535:
            continue
        try:
            sockets = []
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port range")


def test_serve_runs_the_five_services_and_stops_on_sigterm(sqlite_db: Database) -> None:
    base = free_base()
    env = serve_env(
        sqlite_db.url, ARENA_HTTP="1", ARENA_HTTP_PORT_BASE=str(base), ARENA_SHUTDOWN_GRACE_S="10"
    )
    process = ServeProcess(env)
    try:
        process.wait_for("REST API on http://127.0.0.1")
        expected = {
            base: "/api/tokens/list",
            base + 1: "/api/wallet/{id}/status",
            base + 2: "/api/strategies/available",
            base + 3: "/api/compliance/disclosures",
            base + 4: "/api/risk",
        }
        for port, path in expected.items():
            url = f"http://127.0.0.1:{port}"
            assert httpx.get(f"{url}/healthz", timeout=10).json()["status"] == "ok"
            paths = httpx.get(f"{url}/openapi.json", timeout=10).json()["paths"]
            assert path in paths, (port, sorted(paths))
            others = set(expected.values()) - {path}
            assert not others & set(paths), port
        assert httpx.get(f"http://127.0.0.1:{base}/api/tokens/list", timeout=10).json() == []
        code, took = process.stop(signal.SIGTERM)
        assert code == 0 and took < 10
    finally:
        process.close()
