"""`arena dashboard` as an operator runs it: a real uvicorn on a loopback port serving the public
pages and /healthz, stopped by SIGTERM with exit code 0; a bad port is one line and exit 2."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx

from core.db import Database
from tests.support.hybrid import tokens_with_history
from tests.support.live_server import free_port
from tests.support.serve_process import ARENA, serve_env


def test_arena_dashboard_serves_until_sigterm(sqlite_db: Database) -> None:
    tokens_with_history(sqlite_db)
    port = free_port()
    env = serve_env(sqlite_db.url)
    child = subprocess.Popen([ARENA, "dashboard", "--port", str(port)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert child.poll() is None and time.monotonic() < deadline, "arena dashboard did not start"
            time.sleep(0.3)
        page = httpx.get(f"{base}/performance", timeout=10)
        assert page.status_code == 200 and "STRAT-TEST-T0-001" in page.text
        assert httpx.get(f"{base}/dashboard/tokens", timeout=10).status_code == 401
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        assert child.stdout is not None
        child.stdout.close()


def test_arena_dashboard_refuses_a_bad_port(sqlite_db: Database) -> None:
    done = subprocess.run([ARENA, "dashboard", "--port", "70000"], capture_output=True, text=True,
                          env=serve_env(sqlite_db.url), timeout=120, check=False)
    assert done.returncode == 2 and "--port must be between 1 and 65535" in done.stderr
    assert "Traceback" not in done.stderr
