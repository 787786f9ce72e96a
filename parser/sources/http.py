"""A polite, guarded HTTP fetcher shared by every source client.

Every request made for the import pipeline goes through :class:`SafeFetcher`, which enforces:

* **scheme**: ``http`` and ``https`` only;
* **address guard**: the host is resolved and *every* resolved IP is checked; loopback, private,
  link-local, multicast, reserved and unspecified addresses are refused unless the address lies in
  ``FetchPolicy.allowed_networks``. The check runs again inside the connection layer (a custom
  httpcore network backend connects to the IP it validated), so DNS rebinding between check and
  connect and redirects to internal hosts are refused too. Environment proxies are ignored
  (``trust_env=False``);
* **robots.txt** per origin (cached; 401/403 = disallow all, 404 = allow all, unreachable =
  disallow);
* **per-host rate limit**: at least ``min_interval_s`` seconds between requests to one host;
* **timeouts**, **retries** (tenacity) with exponential backoff on connection errors, 429 and 5xx
  (``Retry-After`` honoured, capped), a **size cap** on the body (streamed, aborted past
  ``max_bytes``), a clear **User-Agent**, and at most ``max_redirects`` redirects,
  each hop re-validated.

Durations are seconds; sizes are bytes. Nothing fetched is ever executed: callers get bytes
and text.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpcore
import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
)

from core.errors import ArenaError

USER_AGENT = "TreasuryArenaBot/0.1 (+https://github.com/treasury-arena; strategy research crawler)"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchError(ArenaError):
    """A document could not be fetched (network, status, size, robots)."""

    code = "fetch_failed"


class BlockedURL(FetchError):
    """The URL's scheme or address is not allowed (SSRF guard)."""

    code = "blocked_url"


class BadStatus(FetchError):
    """The server answered with an HTTP error status (after retries for 429/5xx)."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"{url} answered HTTP {status}")
        self.status = status


class DisallowedByRobots(FetchError):
    code = "robots_disallowed"


class TooLarge(FetchError):
    code = "too_large"


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str = USER_AGENT
    timeout_s: float = 15.0
    retries: int = 3
    backoff_s: float = 0.5  # first retry waits this long, then doubles
    max_retry_after_s: float = 30.0
    max_bytes: int = 3_000_000
    min_interval_s: float = 1.0
    max_redirects: int = 5
    respect_robots: bool = True
    #: CIDRs that may be reached although private/loopback (tests: ``("127.0.0.0/8",)``).
    allowed_networks: tuple[str, ...] = ()

    def networks(self) -> list[IPNetwork]:
        return [ipaddress.ip_network(n, strict=False) for n in self.allowed_networks]


def _is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


def check_address(ip_text: str, allowed: Iterable[IPNetwork]) -> IPAddress:
    """Return the parsed address, or raise :class:`BlockedURL` if it is internal and not allowed."""
    ip = ipaddress.ip_address(ip_text.split("%", 1)[0])
    if _is_public(ip) or any(ip.version == n.version and ip in n for n in allowed):
        return ip
    raise BlockedURL(f"address {ip} is internal (loopback/private/link-local) and not allowed")


def resolve_checked(host: str, port: int, allowed: Iterable[IPNetwork]) -> list[str]:
    """Resolve ``host`` and check every address; refuse if *any* resolved address is internal."""
    allowed = list(allowed)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc}") from None
    ips = sorted({str(info[4][0]) for info in infos})
    if not ips:
        raise FetchError(f"host {host!r} resolved to no address")
    for ip in ips:
        check_address(ip, allowed)
    return ips


def check_url(url: str, policy: FetchPolicy) -> str:
    """Validate scheme and host of ``url`` (resolving it); returns the URL unchanged."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedURL(f"only http(s) URLs can be imported, not {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise BlockedURL(f"URL {url!r} has no host")
    if parts.username or parts.password:
        raise BlockedURL("URLs with embedded credentials are not accepted")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    resolve_checked(parts.hostname, port, policy.networks())
    return url


class _GuardedBackend(httpcore.NetworkBackend):
    """Connects only to addresses it has itself resolved and checked (defeats DNS rebinding)."""

    def __init__(self, allowed: list[IPNetwork]) -> None:
        self._allowed = allowed
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        ips = resolve_checked(host, port, self._allowed)
        return self._inner.connect_tcp(ips[0], port, timeout, local_address, socket_options)

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise BlockedURL("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, policy: FetchPolicy) -> None:
        super().__init__(trust_env=False)
        # httpx offers no public hook for the network backend; swap the pool it built for one that
        # uses the guarded backend (same settings as httpx's defaults otherwise).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy.networks()),
        )


@dataclass
class FetchResult:
    url: str  # final URL after redirects
    status: int
    content: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        charset = "utf-8"
        ctype = self.headers.get("content-type", "")
        if "charset=" in ctype:
            charset = ctype.split("charset=", 1)[1].split(";", 1)[0].strip() or "utf-8"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        import json

        return json.loads(self.content)


@dataclass
class SafeFetcher:
    """Guarded, polite GET client. Thread-safe; one instance per pipeline run."""

    policy: FetchPolicy = field(default_factory=FetchPolicy)
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            transport=_GuardedTransport(self.policy),
            timeout=httpx.Timeout(self.policy.timeout_s),
            headers={"User-Agent": self.policy.user_agent, "Accept-Encoding": "gzip, deflate"},
            follow_redirects=False,
            trust_env=False,
        )
        self._robots: dict[str, RobotFileParser | bool] = {}
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self.requests_made = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SafeFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public -------------------------------------------------------------------------------
    def get(self, url: str, *, accept: str = "*/*") -> FetchResult:
        """GET ``url`` honouring every rule in the module docstring; raises :class:`FetchError`."""
        return self._fetch(url, accept, robots=self.policy.respect_robots)

    # -- internals ----------------------------------------------------------------------------
    def _fetch(self, url: str, accept: str, *, robots: bool) -> FetchResult:
        for _hop in range(self.policy.max_redirects + 1):
            check_url(url, self.policy)
            if robots and not self._robots_allow(url):
                raise DisallowedByRobots(f"robots.txt of {urlsplit(url).netloc} disallows {url}")
            result = self._get_with_retries(url, accept)
            if result.status in (301, 302, 303, 307, 308) and "location" in result.headers:
                url = urljoin(url, result.headers["location"])
                continue
            if result.status >= 400:
                raise BadStatus(url, result.status)
            return result
        raise FetchError(f"too many redirects fetching {url}")

    def _throttle(self, host: str) -> None:
        with self._lock:
            now = self.monotonic()
            wait = self._last.get(host, -1e18) + self.policy.min_interval_s - now
            self._last[host] = now + max(wait, 0.0)
        if wait > 0:
            self.sleep(wait)

    def _get_with_retries(self, url: str, accept: str) -> FetchResult:
        """GET with tenacity: connection errors, 429 and 5xx are retried ``policy.retries`` times,
        waiting ``backoff_s`` then doubling, or the server's ``Retry-After`` (capped)."""
        policy = self.policy

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome
            result = outcome.result() if outcome is not None and not outcome.failed else None
            retry_after = result.headers.get("retry-after", "") if result is not None else ""
            if retry_after.isdigit():
                return min(float(retry_after), policy.max_retry_after_s)
            return float(policy.backoff_s * 2 ** (state.attempt_number - 1))

        retrying = Retrying(
            retry=retry_if_exception_type((httpx.TransportError, httpcore.ConnectError))
            | retry_if_result(lambda r: r.status == 429 or r.status >= 500),
            stop=stop_after_attempt(policy.retries + 1),
            wait=wait,
            sleep=self.sleep,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
            reraise=True,
        )
        try:
            result: FetchResult | None = retrying(self._get_once, url, accept)
        except (httpx.TransportError, httpcore.ConnectError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise FetchError(f"giving up on {url} after {policy.retries + 1} attempts ({reason})") from None
        assert result is not None
        if result.status == 429 or result.status >= 500:
            raise BadStatus(url, result.status)
        return result

    def _get_once(self, url: str, accept: str) -> FetchResult:
        host = urlsplit(url).hostname or ""
        self._throttle(host)
        self.requests_made += 1
        cap = self.policy.max_bytes
        with self._client.stream("GET", url, headers={"Accept": accept}) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise TooLarge(f"{url} declares {declared} bytes, above the {cap}-byte cap")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise TooLarge(f"{url} sent more than the {cap}-byte cap")
                chunks.append(chunk)
            headers = {k.lower(): v for k, v in response.headers.items()}
            return FetchResult(str(response.url), response.status_code, b"".join(chunks), headers)

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        rules = self._robots.get(origin)
        if rules is None:
            rules = self._load_robots(origin)
            self._robots[origin] = rules
        if isinstance(rules, bool):
            return rules
        return rules.can_fetch(self.policy.user_agent, url)

    def _load_robots(self, origin: str) -> RobotFileParser | bool:
        """Rules for one origin: a parser, or ``True``/``False`` for allow/deny everything."""
        try:
            result = self._fetch(origin + "/robots.txt", "text/plain", robots=False)
        except TooLarge:
            return True  # RFC 9309 lets crawlers ignore an oversized robots.txt
        except FetchError as exc:
            code = exc.status if isinstance(exc, BadStatus) else 0
            # 4xx other than 401/403: no robots.txt, everything allowed. 401/403, 5xx and
            # unreachable: be conservative and fetch nothing from this origin in this run.
            return 400 <= code < 500 and code not in (401, 403)
        parser = RobotFileParser(origin + "/robots.txt")
        parser.parse(result.text.splitlines())
        return parser
