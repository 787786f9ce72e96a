"""Local fake chat platforms for fault injection (loopback only).

:class:`FakeBotAPI` answers the Bot API methods ``arena serve`` uses (``getMe``, ``deleteWebhook``,
``getUpdates``, ``sendMessage``, ``sendPhoto``) and records every delivered message. Its ``mode``
switches it between faults: ``ok``; ``refuse`` (the port is closed: connection refused); ``timeout``
(requests hang past the client's timeout); ``5xx`` (502 Bad Gateway); ``429`` (flood control with
``retry_after``). :class:`FakeDiscordAPI` does the same for Discord's REST routes. Each server runs
its own event loop in a thread, so the code under test (in-process or a child process) talks real
HTTP to it. Counters tell how many requests met each fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web

BOT_USER = {"id": 999_000, "is_bot": True, "first_name": "Treasury Arena", "username": "arena_fake_bot"}


@dataclass(frozen=True)
class Delivered:
    chat_id: int
    method: str  # sendMessage / sendPhoto / discord
    text: str  # text or caption
    at: float


class _ServerThread:
    """An aiohttp app on 127.0.0.1:port in a background loop; can close and reopen its port."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.lock = threading.Lock()
        self.faults: Counter[str] = Counter()
        self.delivered: list[Delivered] = []
        self.mode = "ok"
        self.retry_after = 1
        self.hang_s = 40.0
        self._release: asyncio.Event | None = None  # set to end hanging requests

    def app(self) -> web.Application:  # pragma: no cover - subclasses define the routes
        raise NotImplementedError

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def start(self) -> Self:
        self._thread.start()
        self._runner = web.AppRunner(self.app(), access_log=None)
        self._call(self._runner.setup())
        self._open()
        return self

    def _open(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        self._call(self._site.start())
        if not self.port:
            server = self._site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def set_mode(self, mode: str) -> None:
        """Switch faults; ``refuse`` closes the port, leaving it reopens it (same port)."""
        if self.mode == "timeout" and self._release is not None:
            self.loop.call_soon_threadsafe(self._release.set)
        if mode == "refuse" and self.mode != "refuse" and self._site is not None:
            self._call(self._site.stop())
        if mode != "refuse" and self.mode == "refuse":
            self._open()
        self.mode = mode

    def stop(self) -> None:
        if self._release is not None:
            self.loop.call_soon_threadsafe(self._release.set)
        if self._runner is not None:
            self._call(self._runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record(self, chat_id: int, method: str, text: str) -> None:
        with self.lock:
            self.delivered.append(Delivered(chat_id, method, text, time.monotonic()))

    def texts(self, chat_id: int | None = None) -> list[str]:
        with self.lock:
            return [d.text for d in self.delivered if chat_id is None or d.chat_id == chat_id]

    async def fault(self) -> web.Response | None:
        """The response the current fault mode gives instead of an answer (None: answer)."""
        if self.mode == "timeout":
            self.faults["timeout"] += 1
            if self._release is None or self._release.is_set():
                self._release = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.hang_s)
            return self.error(504, "Gateway Timeout")
        if self.mode == "5xx":
            self.faults["5xx"] += 1
            return self.error(502, "Bad Gateway")
        if self.mode == "429":
            self.faults["429"] += 1
            return self.flood()
        return None

    def error(self, status: int, description: str) -> web.Response:  # pragma: no cover - per platform
        raise NotImplementedError

    def flood(self) -> web.Response:  # pragma: no cover - per platform
        raise NotImplementedError


class FakeBotAPI(_ServerThread):
    """A Bot API server: ``base_url`` for python-telegram-bot is ``self.url``."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self._ids = itertools.count(1)
        self.calls: Counter[str] = Counter()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self.handle)
        return app

    def error(self, status: int, description: str) -> web.Response:
        body = {"ok": False, "error_code": status, "description": description}
        return web.json_response(body, status=status)

    def flood(self) -> web.Response:
        body = {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {self.retry_after}",
            "parameters": {"retry_after": self.retry_after},
        }
        return web.json_response(body, status=429)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls[method] += 1
        fault = await self.fault()
        if fault is not None:
            return fault
        form = await request.post()
        if method == "getMe":
            return self.ok(BOT_USER)
        if method in ("deleteWebhook", "setWebhook", "setMyCommands"):
            return self.ok(True)
        if method == "getUpdates":
            await asyncio.sleep(min(float(str(form.get("timeout", "0") or 0)), 0.5))
            return self.ok([])
        if method in ("sendMessage", "sendPhoto"):
            chat_id = int(str(form["chat_id"]))
            text = str(form.get("text") or form.get("caption") or "")
            self.record(chat_id, method, text)
            message = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": BOT_USER,
                "text": text,
            }
            return self.ok(message)
        return self.ok(True)

    @staticmethod
    def ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})


DISCORD_BOT = {"id": "999000", "username": "arena", "discriminator": "0", "avatar": None, "bot": True}


def _discord_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py decodes a body only when Content-Type is exactly "application/json", as Discord sends.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class FakeDiscordAPI(_ServerThread):
    """Discord's REST routes for login, slash-command sync and channel messages (``url`` + /api/v10)."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self.nonces: set[str] = set()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.handle)
        return app

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v10"

    def error(self, status: int, description: str) -> web.Response:
        return _discord_json({"message": description, "code": 0}, status=status)

    def flood(self) -> web.Response:
        return _discord_json(
            {
                "message": "You are being rate limited.",
                "retry_after": float(self.retry_after),
                "global": False,
            },
            status=429,
            headers={"X-RateLimit-Scope": "user", "Retry-After": str(self.retry_after)},
        )

    async def handle(self, request: web.Request) -> web.Response:
        tail = request.match_info["tail"]
        fault = await self.fault()
        if fault is not None:
            return fault
        if tail == "users/@me":
            return _discord_json(DISCORD_BOT)
        if tail == "oauth2/applications/@me":
            return _discord_json(
                {
                    "id": DISCORD_BOT["id"],
                    "name": "Treasury Arena",
                    "icon": None,
                    "description": "",
                    "bot_public": False,
                    "bot_require_code_grant": False,
                    "verify_key": "0" * 64,
                    "flags": 0,
                    "owner": DISCORD_BOT,
                    "team": None,
                    "summary": "",
                    "rpc_origins": [],
                }
            )
        if tail.startswith("applications/"):  # slash-command sync
            return _discord_json([])
        if tail.startswith("channels/") and tail.endswith("/messages") and request.method == "POST":
            cid = int(tail.split("/")[1])
            payload = await _discord_payload(request)
            nonce = payload.get("nonce") if payload.get("enforce_nonce") else None
            if nonce is not None and nonce in self.nonces:  # Discord: same nonce, same message
                self.faults["nonce duplicate dropped"] += 1
            else:
                self.record(cid, "discord", str(payload.get("content") or ""))
                if nonce is not None:
                    self.nonces.add(str(nonce))
            return _discord_json(
                {
                    "id": str(len(self.delivered)),
                    "channel_id": str(cid),
                    "type": 0,
                    "content": payload.get("content") or "",
                    "author": DISCORD_BOT,
                    "attachments": [],
                    "embeds": [],
                    "mentions": [],
                    "mention_roles": [],
                    "pinned": False,
                    "mention_everyone": False,
                    "tts": False,
                    "timestamp": "2025-01-01T00:00:00+00:00",
                    "edited_timestamp": None,
                    "flags": 0,
                    "components": [],
                }
            )
        if tail.startswith("channels/"):
            channel = tail.split("/")[1]
            return _discord_json(
                {"id": channel, "type": 1, "recipients": [DISCORD_BOT], "last_message_id": None}
            )
        return _discord_json({})


async def _discord_payload(request: web.Request) -> dict[str, Any]:
    if request.content_type.startswith("multipart/"):
        payload: dict[str, Any] = {}
        reader = await request.multipart()
        async for part in reader:
            if getattr(part, "name", None) == "payload_json":
                payload = json.loads(await part.text())  # type: ignore[union-attr]
            else:
                await part.read()  # type: ignore[union-attr]
        return payload
    data: dict[str, Any] = await request.json()
    return data
