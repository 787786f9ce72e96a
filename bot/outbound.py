"""The outbound queue: delivers the durable outbox (:mod:`bot.outbox_store`) to the chat platforms.

Every pushed message (digests, proposals, alerts) is a row first; this loop claims chat heads with
a lease, sends them part by part and records each part, so:

* **at least once, stored once** — a message is retried until delivered or known undeliverable;
  its dedupe key made sure it was stored once;
* **in order per chat** — only a chat's oldest pending message can be claimed;
* **split messages resume** — a long reply is sent as the platform's parts (photos, text chunks,
  buttons on the last chunk); a retry, a restart or another process continues from the first part
  not yet recorded, so nothing already shown is sent again. The one exception: a process killed
  between the platform accepting a part and the database recording it sends that part again —
  Discord drops that copy (each part carries a stable :data:`PART_NONCE`, sent as an enforced
  nonce); Telegram has no such token, so there it is at-least-once;
* **one rate-limiting layer** — throttling belongs to the platform libraries (python-telegram-bot's
  ``AIORateLimiter``: 30 messages/s overall, 20/min per group; discord.py's per-route buckets).
  This queue adds no throttle of its own. What escapes the library — Telegram flood control
  (``RetryAfter``; the outbox's sends run with the library's own flood retries switched off, see
  :mod:`bot.telegram_push`), network trouble, 5xx — is retried here, durably, per part.

Failures (seconds): ``RetryAfter`` defers the chat's head by the time the platform asked for;
transient errors (network, timeouts, 5xx) back off exponentially up to :attr:`MAX_BACKOFF` and never
give up; other unexpected errors give up after :attr:`MAX_ATTEMPTS`; :class:`PermanentSendError`
(bot blocked, chat gone) marks the row failed at once. Each of these logs one line.

Database calls run in a worker thread (``asyncio.to_thread``) so the event loop — and the bots on
it — never waits for the database.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from sqlalchemy.orm import Session

from bot.outbox_store import Claimed, DatabaseOutbox
from core.commands.types import ChatType, OutboundMessage, Reply
from core.health import HealthRegistry, State
from core.health import registry as health_registry

log = logging.getLogger(__name__)

#: True while the outbox delivers a part (the Telegram limiter then leaves flood retries to us).
DELIVERING: contextvars.ContextVar[bool] = contextvars.ContextVar("arena_outbox_delivering", default=False)
#: A stable id of the part being delivered (dedupe key + part index, hashed to 22 characters):
#: senders that can hand the platform an idempotency token use it (Discord's enforced ``nonce``).
PART_NONCE: contextvars.ContextVar[str | None] = contextvars.ContextVar("arena_part_nonce", default=None)


def part_nonce(dedupe_key: str, index: int) -> str:
    return hashlib.sha256(f"{dedupe_key}#{index}".encode()).hexdigest()[:22]


class RetryAfter(Exception):
    """The platform asked us to wait ``seconds`` before sending again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:.1f}s")
        self.seconds = seconds


class PermanentSendError(Exception):
    """The message can never be delivered (bot blocked, chat deleted)."""


class Sender(Protocol):
    """Delivers one reply (here: one part) to one chat on one platform (implemented per adapter).

    A sender may also offer ``parts(reply) -> list[Reply]``: the reply cut into what the platform
    sends as separate messages. Without it the whole reply is one part.
    """

    async def send(self, chat_id: int, chat_type: ChatType, reply: Reply) -> None: ...


def parts_of(sender: Sender, reply: Reply) -> list[Reply]:
    split: Callable[[Reply], list[Reply]] | None = getattr(sender, "parts", None)
    return list(split(reply)) if split is not None else [reply]


def is_transient(exc: BaseException) -> bool:
    """Network trouble, timeouts and server errors: worth retrying for as long as they last."""
    if isinstance(exc, (OSError, asyncio.TimeoutError)):
        return True
    try:
        from telegram.error import BadRequest, NetworkError

        if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
            return True
    except ImportError:  # pragma: no cover - telegram is a dependency
        pass
    try:
        import aiohttp
        import discord

        if isinstance(exc, (discord.DiscordServerError, aiohttp.ClientError)):
            return True
    except ImportError:  # pragma: no cover - discord.py is a dependency
        pass
    import httpx

    return isinstance(exc, httpx.TransportError)


class OutboundQueue:
    """The delivery loop over a :class:`DatabaseOutbox`; also the core's Notifier."""

    MAX_BACKOFF = 60.0
    FIRST_BACKOFF = 1.0
    MAX_ATTEMPTS = 8  # for unexpected (non-transient) errors only

    def __init__(
        self,
        store: DatabaseOutbox,
        senders: Mapping[str, Sender] | None = None,
        *,
        poll_interval: float = 1.0,
        batch: int = 20,
        concurrency: int = 8,
        health: HealthRegistry | None = None,
    ) -> None:
        self.store = store
        self._senders: dict[str, Sender] = dict(senders or {})
        self.poll_interval = poll_interval
        self.batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self.health = health or health_registry()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sent_count = 0
        self.failed: list[tuple[OutboundMessage, str]] = []

    # -- senders ---------------------------------------------------------------------------------
    def add_sender(self, platform: str, sender: Sender) -> None:
        """Attach a platform's sender once its adapter is up (its messages become claimable)."""
        self._senders[platform] = sender
        self.wake()

    def remove_sender(self, platform: str) -> None:
        """Detach a platform while its adapter is down (its messages wait in the outbox)."""
        self._senders.pop(platform, None)

    # -- Notifier --------------------------------------------------------------------------------
    def notify(self, message: OutboundMessage) -> None:
        """Store a message in its own transaction (deduplicated by its key) and wake the loop."""
        self.store.add(message)
        self.wake()

    def stage(self, session: Session, message: OutboundMessage) -> None:
        """Store a message inside the caller's transaction (see :func:`core.notify.notify_in`)."""
        self.store.stage(session, message)
        self.wake()

    def wake(self) -> None:
        """Thread-safe: make the loop look for work now instead of at the next poll."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # -- delivery --------------------------------------------------------------------------------
    async def flush(self) -> int:
        """Deliver everything claimable now (deferred messages stay deferred); returns how many
        claims were worked. For tests, scripts and the final flush at shutdown."""
        worked = 0
        while True:
            claimed = await asyncio.to_thread(self.store.claim, set(self._senders), self.batch)
            if not claimed:
                return worked
            await asyncio.gather(*(self._deliver(item) for item in claimed))
            worked += len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then give back any lease still held."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        failures = 0
        while not stop.is_set():
            self._wake.clear()
            try:
                claimed = await asyncio.to_thread(self.store.claim, set(self._senders), self.batch)
                failures = 0
                self.health.set("outbox", State.UP, f"{len(self._senders)} platform(s) attached")
            except Exception as exc:  # database trouble: report, back off, keep going
                failures += 1
                delay = min(self.FIRST_BACKOFF * 2**failures, self.MAX_BACKOFF)
                self.health.set("outbox", State.RETRYING, f"{type(exc).__name__}; next try in {delay:.0f}s")
                log.warning("outbox: cannot claim messages (%s); retrying in %.0fs", brief_error(exc), delay)
                await _sleep_or_stop(stop, delay)
                continue
            if claimed:
                await asyncio.gather(*(self._deliver(item) for item in claimed))
                continue
            await _sleep_or_stop(stop, self.poll_interval, self._wake)
        await asyncio.to_thread(self.store.release_all)

    async def _deliver(self, item: Claimed) -> None:
        async with self._slots:
            try:
                await self._deliver_parts(item)
            except Exception as exc:  # bookkeeping failed (database): the lease expires, it resumes
                log.warning("outbox: message %s left for a retry (%s)", item.id, brief_error(exc))

    async def _deliver_parts(self, item: Claimed) -> None:
        message = item.message
        sender = self._senders.get(message.platform)
        if sender is None:  # the adapter went down after the claim
            await asyncio.to_thread(
                self.store.defer, item.id, self.poll_interval, "no sender", failed_attempt=False
            )
            return
        parts = parts_of(sender, message.reply)
        for index in range(item.parts_sent, len(parts)):
            outcome = await self._send_part(item, sender, parts[index], index, len(parts))
            if outcome is not None:
                await outcome
                return
            if not await asyncio.to_thread(self.store.part_sent, item.id, index + 1):
                log.warning("outbox: lease on message %s was taken over; stopping here", item.id)
                return
        if await asyncio.to_thread(self.store.mark_sent, item.id):
            self.sent_count += 1

    async def _send_part(
        self, item: Claimed, sender: Sender, part: Reply, index: int, total: int
    ) -> Awaitable[bool] | None:
        """Send one part; None on success, else the bookkeeping to await for the failure."""
        message = item.message
        where = f"{message.platform} chat {message.chat_id}"
        token = DELIVERING.set(True)
        nonce = PART_NONCE.set(part_nonce(item.dedupe_key, index))
        try:
            await sender.send(message.chat_id, message.chat_type, part)
            return None
        except RetryAfter as exc:
            log.info(
                "outbox: %s asks to wait %.1fs (message %s part %d/%d)",
                where,
                exc.seconds,
                item.id,
                index + 1,
                total,
            )
            return asyncio.to_thread(self.store.defer, item.id, exc.seconds, str(exc), failed_attempt=False)
        except PermanentSendError as exc:
            log.warning("outbox: message %s to %s cannot be delivered: %s", item.id, where, exc)
            self.failed.append((message, str(exc)))
            return asyncio.to_thread(self.store.mark_failed, item.id, str(exc))
        except Exception as exc:
            attempts = item.attempts + 1
            if not is_transient(exc) and attempts >= self.MAX_ATTEMPTS:
                log.warning(
                    "outbox: message %s to %s failed %d times (%s); giving up",
                    item.id,
                    where,
                    attempts,
                    brief_error(exc),
                )
                self.failed.append((message, brief_error(exc)))
                return asyncio.to_thread(self.store.mark_failed, item.id, brief_error(exc))
            delay = min(self.FIRST_BACKOFF * 2**item.attempts, self.MAX_BACKOFF)
            log.warning(
                "outbox: sending message %s to %s failed (%s); retry %d in %.0fs",
                item.id,
                where,
                brief_error(exc),
                attempts,
                delay,
            )
            return asyncio.to_thread(self.store.defer, item.id, delay, brief_error(exc), failed_attempt=True)
        finally:
            PART_NONCE.reset(nonce)
            DELIVERING.reset(token)


def brief_error(exc: BaseException) -> str:
    """``Type: first line`` of an exception, for one-line logs."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


async def _sleep_or_stop(stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None) -> None:
    """Sleep up to ``seconds``, waking early when ``stop`` (or ``wake``) is set."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    _done, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in waiters:
        if task.done() and not task.cancelled():
            task.result()
