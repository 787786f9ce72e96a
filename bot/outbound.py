"""The outbound queue: every message the platform pushes to chats goes through here.

Limits (seconds, counts): Telegram about 30 messages/s per bot overall, 1 message/s per chat and
20 messages/min per group; Discord's limits are enforced by its 429 replies. A sender raises
:class:`RetryAfter` when the platform asks to slow down; the message stays at the head of its chat's
queue and is retried after that delay, so nothing is dropped and per-chat order is kept. Transient
errors back off exponentially (capped); :class:`PermanentSendError` (bot blocked, chat gone) records
the message as failed in the store rather than losing it silently.

Time comes from an injected :class:`TimeSource` (monotonic seconds + sleep), so tests drive the
queue with a fake clock. :meth:`OutboundQueue.notify` is thread-safe (jobs run in threads).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from core.commands.types import ChatType, OutboundMessage, Reply

log = logging.getLogger(__name__)


class RetryAfter(Exception):
    """The platform asked us to wait ``seconds`` before sending again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:.1f}s")
        self.seconds = seconds


class PermanentSendError(Exception):
    """The message can never be delivered (bot blocked, chat deleted)."""


class Sender(Protocol):
    """Delivers one reply to one chat on one platform (implemented per adapter)."""

    async def send(self, chat_id: int, chat_type: ChatType, reply: Reply) -> None: ...


class OutboxStore(Protocol):
    """Durable record of queued messages, so a restart re-sends what was not yet delivered."""

    def add(self, message: OutboundMessage) -> int: ...

    def mark_sent(self, message_id: int) -> None: ...

    def mark_failed(self, message_id: int, reason: str) -> None: ...

    def pending(self) -> list[tuple[int, OutboundMessage]]: ...


class TimeSource(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealTime:
    """Wall-clock time source."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-platform send limits: ``overall`` per second, ``per_chat`` interval, group per minute."""

    overall_per_second: int = 30
    per_chat_interval: float = 1.0
    group_per_minute: int = 20


TELEGRAM_LIMITS = Limits()
# Discord: 50 requests/s global; channels allow ~5 messages per 5 s; 429s tell us the rest.
DISCORD_LIMITS = Limits(overall_per_second=50, per_chat_interval=1.0, group_per_minute=60)


@dataclass
class _Chat:
    items: deque[tuple[int, OutboundMessage]] = field(default_factory=deque)
    not_before: float = 0.0
    recent: deque[float] = field(default_factory=deque)  # send times in the last minute (groups)
    failures: int = 0


class OutboundQueue:
    """Rate-limited, order-preserving, never-dropping delivery of :class:`OutboundMessage`."""

    MAX_BACKOFF = 300.0

    def __init__(
        self,
        senders: Mapping[str, Sender],
        *,
        limits: Mapping[str, Limits] | None = None,
        time_source: TimeSource | None = None,
        store: OutboxStore | None = None,
    ) -> None:
        self._senders = dict(senders)
        self._limits = {"telegram": TELEGRAM_LIMITS, "discord": DISCORD_LIMITS, **(limits or {})}
        self._time = time_source or RealTime()
        self._store = store
        self._chats: dict[tuple[str, int], _Chat] = {}
        self._recent: dict[str, deque[float]] = {}  # per-platform send times in the last second
        self._lock = threading.Lock()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_local_id = -1
        self.sent_count = 0
        self.failed: list[tuple[OutboundMessage, str]] = []

    def add_sender(self, platform: str, sender: Sender) -> None:
        """Attach a platform's sender once its adapter is up."""
        self._senders[platform] = sender

    # -- enqueue ---------------------------------------------------------------------------------
    def notify(self, message: OutboundMessage) -> None:
        """Queue a message (the core's Notifier entry point); stored first when a store is set."""
        message_id = self._store.add(message) if self._store else self._local_id()
        self._enqueue(message_id, message)

    def restore(self) -> int:
        """Re-queue messages a previous process stored but did not deliver; returns how many."""
        if self._store is None:
            return 0
        rows = self._store.pending()
        for message_id, message in rows:
            self._enqueue(message_id, message)
        return len(rows)

    def _local_id(self) -> int:
        with self._lock:
            self._next_local_id -= 1
            return self._next_local_id

    def _enqueue(self, message_id: int, message: OutboundMessage) -> None:
        with self._lock:
            chat = self._chats.setdefault((message.platform, message.chat_id), _Chat())
            chat.items.append((message_id, message))
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def backlog(self) -> int:
        with self._lock:
            return sum(len(chat.items) for chat in self._chats.values())

    # -- scheduling ------------------------------------------------------------------------------
    def _ready_at(self, key: tuple[str, int], chat: _Chat, now: float) -> float:
        platform = key[0]
        limits = self._limits.get(platform, TELEGRAM_LIMITS)
        ready = chat.not_before
        message = chat.items[0][1]
        if message.chat_type is ChatType.GROUP:
            while chat.recent and chat.recent[0] <= now - 60.0:
                chat.recent.popleft()
            if len(chat.recent) >= limits.group_per_minute:
                ready = max(ready, chat.recent[0] + 60.0)
        overall = self._recent.setdefault(platform, deque())
        while overall and overall[0] <= now - 1.0:
            overall.popleft()
        if len(overall) >= limits.overall_per_second:
            ready = max(ready, overall[0] + 1.0)
        return ready

    def _pick(self, now: float) -> tuple[float, tuple[str, int] | None]:
        best: tuple[float, tuple[str, int] | None] = (float("inf"), None)
        with self._lock:
            for key, chat in self._chats.items():
                if chat.items:
                    ready = self._ready_at(key, chat, now)
                    if ready < best[0]:
                        best = (ready, key)
        return best

    async def step(self) -> bool:
        """Send at most one message (waiting for limits first); False when the queue is empty."""
        ready, key = self._pick(self._time.monotonic())
        if key is None:
            return False
        delay = ready - self._time.monotonic()
        if delay > 0:
            await self._time.sleep(delay)
            return True  # re-pick: something more urgent may have arrived meanwhile
        await self._send_head(key)
        return True

    async def _send_head(self, key: tuple[str, int]) -> None:
        chat = self._chats[key]
        message_id, message = chat.items[0]
        sender = self._senders.get(message.platform)
        now = self._time.monotonic()
        limits = self._limits.get(message.platform, TELEGRAM_LIMITS)
        if sender is None:
            # No adapter for this platform in this process: keep it stored for one that has.
            self._drop_from_memory(key)
            log.warning("no sender for %s; message %s stays stored", message.platform, message_id)
            return
        try:
            await sender.send(message.chat_id, message.chat_type, message.reply)
        except RetryAfter as exc:
            chat.not_before = now + max(exc.seconds, 0.0)
            log.info("rate limited on %s chat %s: retry in %.1fs", *key, exc.seconds)
            return
        except PermanentSendError as exc:
            self._drop_from_memory(key)
            self.failed.append((message, str(exc)))
            if self._store:
                self._store.mark_failed(message_id, str(exc))
            log.warning("message %s to %s chat %s failed permanently: %s", message_id, *key, exc)
            return
        except Exception as exc:  # network trouble: back off, keep the message
            chat.failures += 1
            chat.not_before = now + min(2.0**chat.failures, self.MAX_BACKOFF)
            log.warning("send to %s chat %s failed (%s); retrying", *key, type(exc).__name__)
            return
        chat.failures = 0
        self._drop_from_memory(key)
        chat.not_before = now + limits.per_chat_interval
        chat.recent.append(now)
        self._recent.setdefault(message.platform, deque()).append(now)
        self.sent_count += 1
        if self._store:
            self._store.mark_sent(message_id)

    def _drop_from_memory(self, key: tuple[str, int]) -> None:
        with self._lock:
            self._chats[key].items.popleft()

    async def drain(self) -> None:
        """Send until the queue is empty (tests, scripts, shutdown)."""
        while await self.step():
            pass

    async def run(self) -> None:
        """Send forever, sleeping while the queue is empty."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            if not await self.step():
                self._wake.clear()
                if self.backlog() == 0:
                    await self._wake.wait()
