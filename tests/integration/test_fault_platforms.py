"""Fault injection, chat platforms: `serve` against local fake Telegram Bot API and Discord servers
that refuse connections, hang, answer 5xx or 429 with retry_after. Startup while down, outages
mid-run and recovery: the scheduler keeps running, each retry is one log line without a traceback
or the token, and every message is delivered exactly once, in order per chat.

Real python-telegram-bot Application and discord.py Client; only the addresses are local.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from pydantic import SecretStr
from sqlalchemy import select

from bot.outbound import OutboundQueue
from bot.outbox_store import DatabaseOutbox
from bot.serve import serve
from bot.text_split import split_telegram
from core.commands.types import ChatType, OutboundMessage, Reply
from core.config import Settings
from core.db import Database
from core.health import HealthRegistry, State
from core.models.chat import JobRun
from tests.support.fake_platforms import FakeBotAPI, FakeDiscordAPI

pytestmark = pytest.mark.slow

TG_TOKEN = "123456:FAULT-test-token-abcdefghijklmnopqrstuvwx"
DC_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEe.faulttesttokenabcdefghijklmnopqrstu"
CHATS = (101, 102, -300)
CHANNEL = 555_000_000_000_000_001
FAULTS: Counter[str] = Counter()  # faults injected, printed at the end (docs/TESTING.md quotes a run)


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print(f"\nplatform fault injection: {dict(FAULTS)}")


async def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        await asyncio.sleep(0.2)
    raise AssertionError(f"not {what} within {timeout}s")


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeBotAPI, FakeDiscordAPI]]:
    telegram, discord_api = FakeBotAPI().start(), FakeDiscordAPI().start()
    # No fake gateway: discord.py's websocket goes to a closed loopback port (REST still works).
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL("ws://127.0.0.1:9/"))
    monkeypatch.setattr(OutboundQueue, "MAX_BACKOFF", 4.0)  # keep the suite short; same mechanism
    yield telegram, discord_api
    telegram.stop()
    discord_api.stop()


def settings_for(db: Database, telegram: FakeBotAPI, discord_api: FakeDiscordAPI) -> Settings:
    return Settings(
        db_url=db.url,
        telegram_bot_token=SecretStr(TG_TOKEN),
        telegram_base_url=telegram.url,
        discord_bot_token=SecretStr(DC_TOKEN),
        discord_api_base=discord_api.api_base,
        shutdown_grace_s=15,
    )


def push(db: Database, texts: dict[int, list[str]], platform: str = "telegram") -> None:
    producer = DatabaseOutbox(db, owner="producer")
    for chat, items in texts.items():
        chat_type = ChatType.GROUP if chat < 0 else ChatType.PRIVATE
        for text in items:
            producer.add(OutboundMessage(platform, chat, Reply(text), chat_type))


def expected(rounds: list[dict[int, list[str]]], chat: int) -> list[str]:
    return [t for r in rounds for t in r.get(chat, [])]


async def test_outages_startup_mid_run_and_recovery(
    sqlite_db: Database, fakes: tuple[FakeBotAPI, FakeDiscordAPI], caplog: pytest.LogCaptureFixture
) -> None:
    telegram, discord_api = fakes
    caplog.set_level(logging.INFO)
    health = HealthRegistry()
    stop = asyncio.Event()
    telegram.set_mode("refuse")  # both platforms down at startup
    discord_api.set_mode("refuse")
    long_text = "\n".join(f"line {i} of a long digest" for i in range(300))  # > 4,096 UTF-16 units
    parts = len(split_telegram(long_text))
    assert parts > 1
    rounds = [{101: ["a1", "a2"], 102: ["b1"], -300: ["g1", long_text]}]
    push(sqlite_db, rounds[0])
    push(sqlite_db, {CHANNEL: ["d1", "d2"]}, "discord")
    task = asyncio.create_task(
        serve(
            sqlite_db,
            settings_for(sqlite_db, telegram, discord_api),
            stop=stop,
            say=lambda _: None,
            health=health,
        )
    )
    try:
        # Down at startup: the scheduler runs, the adapters retry, nothing is delivered.
        await wait_until(lambda: _state(health, "scheduler") is State.UP, 30, "scheduler up")
        await wait_until(lambda: _runs(sqlite_db) > 0, 30, "a job run recorded")
        await asyncio.sleep(4)
        assert _state(health, "telegram") is State.RETRYING and _state(health, "discord") is State.RETRYING
        assert telegram.texts() == [] and discord_api.texts() == []
        # Recovery: everything queued while down arrives once, in order.
        telegram.set_mode("ok")
        discord_api.set_mode("ok")
        await wait_until(lambda: len(telegram.texts()) == 4 + parts, 60, "telegram backlog delivered")
        await wait_until(lambda: discord_api.texts() == ["d1", "d2"], 60, "discord backlog delivered")
        assert _state(health, "telegram") is State.UP
        # Outages mid-run: 5xx, flood control, hanging requests, refused connections.
        for mode, round_texts in (
            ("5xx", {101: ["c1"], 102: ["c2"]}),
            ("429", {101: ["e1", "e2"], -300: ["e3"]}),
            ("timeout", {102: ["f1"]}),
            ("refuse", {101: ["h1"], -300: ["h2"]}),
        ):
            telegram.set_mode(mode)
            rounds.append(round_texts)
            push(sqlite_db, round_texts)
            await asyncio.sleep(3)
            telegram.set_mode("ok")
            want = sum(len(expected(rounds, c)) for c in CHATS) + parts - 1  # the long text is split
            await wait_until(_count_is(telegram, want), 90, f"delivered after {mode}")
        for chat in CHATS:
            got = telegram.texts(chat)
            want_texts = expected(rounds, chat)
            if long_text in want_texts:  # delivered as its parts, in order
                i = want_texts.index(long_text)
                assert got[i : i + parts] == split_telegram(long_text)
                got = [*got[:i], long_text, *got[i + parts :]]
            assert got == want_texts  # exactly once each, in order
        # Discord mid-run: flood control, server errors, a hanging API (discord.py retries these
        # itself; what escapes it, the outbox retries).
        channel_want = ["d1", "d2"]
        for mode, text in (("429", "d3"), ("5xx", "d4"), ("timeout", "d5")):
            discord_api.set_mode(mode)
            push(sqlite_db, {CHANNEL: [text]}, "discord")
            channel_want.append(text)
            await asyncio.sleep(3)
            discord_api.set_mode("ok")
            await wait_until(_texts_are(discord_api, CHANNEL, list(channel_want)), 90, f"discord {mode}")
        assert _state(health, "scheduler") is State.UP  # never stopped
    finally:
        stop.set()
        code = await asyncio.wait_for(task, 60)
    assert code == 0
    FAULTS.update({f"telegram {k}": v for k, v in telegram.faults.items()})
    FAULTS.update({f"discord {k}": v for k, v in discord_api.faults.items()})
    FAULTS.update({"telegram refused phases": 2, "discord refused phases": 1})
    _assert_one_line_logs(caplog)


def _texts_are(fake: FakeDiscordAPI, chat: int, want: list[str]) -> Callable[[], bool]:
    return lambda: fake.texts(chat) == want


def _count_is(fake: FakeBotAPI, want: int) -> Callable[[], bool]:
    return lambda: len(fake.texts()) == want


def _assert_one_line_logs(caplog: pytest.LogCaptureFixture) -> None:
    retries = [r for r in caplog.records if "retrying" in r.getMessage() or "retries" in r.getMessage()]
    assert retries, "no retry was logged"
    for record in caplog.records:
        text = record.getMessage()
        assert TG_TOKEN not in text and DC_TOKEN not in text and "FAULT-test-token" not in text
        if record.name.startswith(("bot.platforms", "discord", "telegram")):
            assert record.exc_info is None and "Traceback" not in text, text


def _state(health: HealthRegistry, component: str) -> State | None:
    status = health.get(component)
    return status.state if status else None


def _runs(db: Database) -> int:
    with db.uow(read_only=True) as uow:
        return len(uow.session.scalars(select(JobRun).where(JobRun.status == "done")).all())


async def test_flood_control_on_a_pushed_message_is_retried_by_the_outbox_only(
    sqlite_db: Database, fakes: tuple[FakeBotAPI, FakeDiscordAPI]
) -> None:
    """One rate-limiting layer: PTB's limiter does not retry a pushed message's 429; the outbox
    defers it by Telegram's retry_after and sends it once."""
    telegram, _ = fakes
    telegram.retry_after = 2
    health = HealthRegistry()
    stop = asyncio.Event()
    settings = Settings(
        db_url=sqlite_db.url, telegram_bot_token=SecretStr(TG_TOKEN), telegram_base_url=telegram.url
    )
    task = asyncio.create_task(
        serve(sqlite_db, settings, scheduler=False, stop=stop, say=lambda _: None, health=health)
    )
    try:
        await wait_until(lambda: _state(health, "telegram") is State.UP, 30, "telegram up")
        telegram.set_mode("429")
        before = telegram.calls["sendMessage"]
        push(sqlite_db, {101: ["flooded"]})
        await wait_until(lambda: telegram.calls["sendMessage"] > before, 10, "a send attempt")
        await asyncio.sleep(1.0)
        assert telegram.calls["sendMessage"] == before + 1  # no immediate library retry
        telegram.set_mode("ok")
        took = await wait_until(lambda: telegram.texts(101) == ["flooded"], 20, "delivered")
        FAULTS["telegram 429 on a push"] += telegram.faults["429"]
        assert took >= 0.5  # it waited for retry_after (2 s from the 429) before the second try
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 60) == 0


async def test_discord_drops_a_part_resent_after_a_crash(
    sqlite_db: Database, fakes: tuple[FakeBotAPI, FakeDiscordAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window at-least-once leaves (sent, then killed before the database recorded it) is
    closed on Discord: each part carries a stable enforced nonce, and Discord keeps one message."""
    import discord
    from sqlalchemy import update

    from bot.discord_bot.render import DiscordSender
    from core.models.chat import OutboxMessage

    _, discord_api = fakes
    monkeypatch.setattr(discord.http.Route, "BASE", discord_api.api_base)
    client = discord.Client(intents=discord.Intents.default())
    await client.login(DC_TOKEN)
    try:
        queue = OutboundQueue(
            DatabaseOutbox(sqlite_db, owner="A"), {"discord": DiscordSender(client)}, health=HealthRegistry()
        )
        push(sqlite_db, {CHANNEL: ["approve proposal 7?"]}, "discord")
        await queue.flush()
        with sqlite_db.uow() as uow:  # as if the process died before recording the delivery
            uow.session.execute(update(OutboxMessage).values(status="pending", parts_sent=0, sent_at=None))
            uow.commit()
        await queue.flush()
        assert discord_api.texts(CHANNEL) == ["approve proposal 7?"]
        assert discord_api.faults["nonce duplicate dropped"] == 1
    finally:
        await client.close()


async def test_a_misconfigured_adapter_is_reported_and_the_rest_runs(
    sqlite_db: Database, fakes: tuple[FakeBotAPI, FakeDiscordAPI]
) -> None:
    telegram, _ = fakes
    health = HealthRegistry()
    stop = asyncio.Event()
    settings = Settings(
        db_url=sqlite_db.url,
        telegram_bot_token=SecretStr(TG_TOKEN),
        telegram_base_url=telegram.url,
        telegram_webhook_url="https://bot.example.org/telegram",  # but no webhook secret
    )
    task = asyncio.create_task(serve(sqlite_db, settings, stop=stop, say=lambda _: None, health=health))
    try:
        await wait_until(lambda: _state(health, "telegram") is State.STOPPED, 30, "telegram reported off")
        assert "ARENA_TELEGRAM_WEBHOOK_SECRET" in health.get("telegram").detail  # type: ignore[union-attr]
        await wait_until(lambda: _state(health, "scheduler") is State.UP, 30, "scheduler up")
        assert not task.done()
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 60) == 0
