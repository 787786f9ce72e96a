"""`arena serve` as a child process for end-to-end and fault-injection tests.

:class:`ServeProcess` starts ``arena serve`` with an environment, collects its output lines in a
reader thread, waits for lines, and stops it with a signal (measuring how long the exit took) or
kills it (SIGKILL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty, Queue

ARENA = str(Path(sys.executable).with_name("arena"))


def serve_env(db_url: str, **extra: str) -> dict[str, str]:
    """The test process's environment without bot tokens, plus ``ARENA_DB_URL`` and ``extra``."""
    env = {k: v for k, v in os.environ.items() if "TOKEN" not in k}
    env.update(ARENA_DB_URL=db_url, PYTHONUNBUFFERED="1", **extra)
    return env


class ServeProcess:
    """One ``arena serve`` child whose stdout+stderr lines are collected."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.popen = subprocess.Popen(
            [ARENA, "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: Queue[str] = Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)

    def _drain_lines(self) -> None:
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except Empty:
                return

    def output(self) -> str:
        self._drain_lines()
        return "".join(self.seen)

    def wait_for(self, text: str, timeout: float = 60) -> float:
        """Seconds until a line containing ``text`` appears (fails after ``timeout``)."""
        start = time.monotonic()
        self._drain_lines()
        if any(text in line for line in self.seen):
            return 0.0
        while time.monotonic() - start < timeout:
            try:
                line = self.lines.get(timeout=0.2)
            except Empty:
                if self.popen.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if text in line:
                return time.monotonic() - start
        raise AssertionError(f"no line with {text!r} in {timeout}s; output:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> tuple[int, float]:
        """Send ``sig``; returns (exit code, seconds it took to exit)."""
        start = time.monotonic()
        self.popen.send_signal(sig)
        code = self.popen.wait(timeout=timeout)
        return code, time.monotonic() - start

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=30)

    def close(self) -> None:
        self.kill()
        self.reader.join(timeout=5)
        assert self.popen.stdout is not None
        self.popen.stdout.close()
