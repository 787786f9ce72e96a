"""SafeFetcher against a real local HTTP server: SSRF guard, robots.txt, retries, rate limit, caps.

The local server listens on 127.0.0.1, which the default policy refuses; tests that need it opt in
with ``allowed_networks=("127.0.0.0/8",)`` and one test proves the default refuses it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from parser.sources.http import (
    USER_AGENT,
    BadStatus,
    BlockedURL,
    DisallowedByRobots,
    FetchPolicy,
    SafeFetcher,
    TooLarge,
    check_address,
    check_url,
)

Response = tuple[int, dict[str, str], bytes]
Handler = Callable[[str], Response]


@dataclass
class LocalServer:
    """A tiny routing HTTP server. ``routes`` maps a path (with query) to a response or handler."""

    routes: dict[str, Response | Handler] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def start(self) -> None:
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = outer.routes.get(self.path) or outer.routes.get(self.path.split("?")[0])
                if route is None:
                    status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
                elif callable(route):
                    status, headers, body = route(self.path)
                else:
                    status, headers, body = route
                headers = dict(headers)
                self.send_response(status)
                no_length = headers.pop("X-No-Length", None) is not None
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers and not no_length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self) -> list[str]:
        return [p for p, _ in self.seen]


LOCAL = FetchPolicy(allowed_networks=("127.0.0.0/8",), min_interval_s=0.0, backoff_s=0.0)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer()
    srv.routes["/robots.txt"] = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n")
    srv.start()
    yield srv
    srv.stop()


def local_fetcher(**overrides: Any) -> SafeFetcher:
    return SafeFetcher(dataclasses.replace(LOCAL, **overrides), sleep=lambda _s: None)


def test_default_policy_refuses_loopback(server: LocalServer) -> None:
    server.routes["/secret"] = (200, {}, b"internal")
    with SafeFetcher(FetchPolicy()) as http, pytest.raises(BlockedURL, match="internal"):
        http.get(server.base + "/secret")
    assert server.seen == [], "the guard must refuse before any byte is sent"


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fd00::1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_internal_addresses_are_refused(ip: str) -> None:
    with pytest.raises(BlockedURL):
        check_address(ip, [])


def test_public_address_is_accepted() -> None:
    assert str(check_address("93.184.216.34", [])) == "93.184.216.34"


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/x", "gopher://x", "http://user:pw@example.com/"],
)
def test_non_http_and_credential_urls_are_refused(url: str) -> None:
    with pytest.raises(BlockedURL):
        check_url(url, FetchPolicy())


def test_localhost_name_is_resolved_and_refused() -> None:
    with pytest.raises(BlockedURL):
        check_url("http://localhost:9/", FetchPolicy())


def test_redirect_to_internal_address_is_refused(server: LocalServer) -> None:
    # The first hop is allowed (opted-in loopback); the redirect target is a link-local metadata IP.
    server.routes["/hop"] = (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    with local_fetcher() as http, pytest.raises(BlockedURL):
        http.get(server.base + "/hop")


def test_user_agent_and_robots_are_honoured(server: LocalServer) -> None:
    server.routes["/robots.txt"] = (200, {}, b"User-agent: *\nDisallow: /private\n")
    server.routes["/public"] = (200, {"Content-Type": "text/plain"}, b"hello")
    server.routes["/private/page"] = (200, {}, b"nope")
    with local_fetcher() as http:
        assert http.get(server.base + "/public").text == "hello"
        with pytest.raises(DisallowedByRobots):
            http.get(server.base + "/private/page")
    assert "/private/page" not in server.paths()
    assert server.paths().count("/robots.txt") == 1, "robots.txt is cached per origin"
    assert all(headers["user-agent"] == USER_AGENT for _, headers in server.seen)


def test_robots_403_disallows_and_404_allows(server: LocalServer) -> None:
    server.routes["/robots.txt"] = (403, {}, b"")
    server.routes["/x"] = (200, {}, b"x")
    with local_fetcher() as http, pytest.raises(DisallowedByRobots):
        http.get(server.base + "/x")
    del server.routes["/robots.txt"]
    with local_fetcher() as http:
        assert http.get(server.base + "/x").content == b"x"


def test_retries_on_5xx_then_succeeds(server: LocalServer) -> None:
    calls = {"n": 0}

    def flaky(_path: str) -> Response:
        calls["n"] += 1
        return (503, {}, b"busy") if calls["n"] < 3 else (200, {}, b"ok")

    server.routes["/flaky"] = flaky
    sleeps: list[float] = []
    with SafeFetcher(dataclasses.replace(LOCAL, backoff_s=0.25), sleep=sleeps.append) as h:
        assert h.get(server.base + "/flaky").content == b"ok"
    assert calls["n"] == 3
    assert sleeps == [0.25, 0.5], "exponential backoff between attempts"


def test_gives_up_after_retries_and_honours_retry_after(server: LocalServer) -> None:
    server.routes["/busy"] = (429, {"Retry-After": "7"}, b"slow down")
    sleeps: list[float] = []
    policy = dataclasses.replace(LOCAL, retries=2, max_retry_after_s=5.0)
    with SafeFetcher(policy, sleep=sleeps.append) as http, pytest.raises(BadStatus) as info:
        http.get(server.base + "/busy")
    assert info.value.status == 429
    assert sleeps == [5.0, 5.0], "Retry-After is honoured but capped"
    assert server.paths().count("/busy") == 3


def test_4xx_is_not_retried(server: LocalServer) -> None:
    with local_fetcher() as http, pytest.raises(BadStatus):
        http.get(server.base + "/missing")
    assert server.paths().count("/missing") == 1


def test_size_cap_declared_and_streamed(server: LocalServer) -> None:
    server.routes["/big"] = (200, {}, b"x" * 5000)  # declares its length: refused up front
    server.routes["/stream"] = (200, {"X-No-Length": "1"}, b"x" * 5000)  # HTTP/1.0, no length
    server.routes["/small"] = (200, {"X-No-Length": "1"}, b"y" * 10)
    with local_fetcher(max_bytes=1000) as http:
        with pytest.raises(TooLarge, match="declares"):
            http.get(server.base + "/big")
        with pytest.raises(TooLarge, match="sent more"):
            http.get(server.base + "/stream")
        assert http.get(server.base + "/small").content == b"y" * 10


def test_per_host_rate_limit_spaces_requests(server: LocalServer) -> None:
    server.routes["/a"] = (200, {}, b"a")
    clock = {"t": 100.0}
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock["t"] += seconds

    policy = dataclasses.replace(LOCAL, min_interval_s=2.0)
    with SafeFetcher(policy, sleep=sleep, monotonic=lambda: clock["t"]) as http:
        for _ in range(3):
            http.get(server.base + "/a")
    # robots.txt + 3 pages = 4 requests to one host: three waits of 2 s each.
    assert sleeps == [2.0, 2.0, 2.0]


def test_redirects_are_followed_within_limit(server: LocalServer) -> None:
    server.routes["/r1"] = (301, {"Location": "/r2"}, b"")
    server.routes["/r2"] = (200, {}, b"final")
    server.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    with local_fetcher(max_redirects=3) as http:
        result = http.get(server.base + "/r1")
        assert result.content == b"final" and result.url.endswith("/r2")
        with pytest.raises(Exception, match="too many redirects"):
            http.get(server.base + "/loop")
