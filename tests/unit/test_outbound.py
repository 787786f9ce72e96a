"""The outbound queue under a fake clock: platform limits, RetryAfter, order, durability."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.outbound import OutboundQueue, PermanentSendError, RetryAfter
from bot.outbox_store import DatabaseOutbox
from bot.text_split import DISCORD_LIMIT, TELEGRAM_LIMIT, split_discord, split_telegram, utf16_len
from core.commands.types import Attachment, Button, ChatType, OutboundMessage, Reply
from core.db import Database


class FakeTime:
    """Monotonic seconds that only move when the queue sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class RecordingSender:
    def __init__(self, clock: FakeTime, failures: dict[int, list[Exception]] | None = None) -> None:
        self.clock = clock
        self.sent: list[tuple[float, int, str]] = []
        self.failures = failures or {}

    async def send(self, chat_id: int, chat_type: ChatType, reply: Reply) -> None:
        pending = self.failures.get(chat_id)
        if pending:
            raise pending.pop(0)
        self.sent.append((self.clock.now, chat_id, reply.text))


def msg(chat_id: int, text: str, chat_type: ChatType = ChatType.PRIVATE) -> OutboundMessage:
    return OutboundMessage("telegram", chat_id, Reply(text), chat_type)


def max_in_window(times: list[float], window: float) -> int:
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


async def test_telegram_limits_overall_per_chat_and_group() -> None:
    clock = FakeTime()
    sender = RecordingSender(clock)
    queue = OutboundQueue({"telegram": sender}, time_source=clock)
    for chat in range(100):  # 100 private chats x 3 messages
        for n in range(3):
            queue.notify(msg(chat + 1, f"{chat}-{n}"))
    for n in range(45):  # one busy group
        queue.notify(msg(-42, f"g{n}", ChatType.GROUP))
    await queue.drain()
    assert len(sender.sent) == 345  # nothing dropped
    times = [t for t, _, _ in sender.sent]
    assert max_in_window(times, 1.0) <= 30  # ~30 messages/s overall
    for chat in range(1, 101):
        own = [t for t, c, _ in sender.sent if c == chat]
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(own))  # 1/s per chat
        assert [x for _, c, x in sender.sent if c == chat] == [
            f"{chat - 1}-{n}" for n in range(3)
        ]  # order kept
    group = [t for t, c, _ in sender.sent if c == -42]
    assert max_in_window(group, 60.0) <= 20  # 20/min per group
    assert group[-1] >= 120.0  # 45 group messages need at least two more minutes


async def test_retry_after_is_honoured_and_nothing_dropped() -> None:
    clock = FakeTime()
    sender = RecordingSender(clock, {7: [RetryAfter(12.5), RetryAfter(3), ConnectionError("reset")]})
    queue = OutboundQueue({"telegram": sender}, time_source=clock)
    queue.notify(msg(7, "first"))
    queue.notify(msg(7, "second"))
    queue.notify(msg(8, "other chat"))
    await queue.drain()
    assert [x for _, c, x in sender.sent if c == 7] == ["first", "second"]
    first_time = next(t for t, c, _ in sender.sent if c == 7)
    assert first_time >= 12.5 + 3 + 2  # both waits plus the backoff after the network error
    other_time = next(t for t, c, _ in sender.sent if c == 8)
    assert other_time < 1.0  # one slow chat does not hold the others back


async def test_permanent_failures_are_recorded_and_durable_store(sqlite_db: Database) -> None:
    clock = FakeTime()
    sender = RecordingSender(clock, {9: [PermanentSendError("bot was blocked by the user")]})
    store = DatabaseOutbox(sqlite_db)
    queue = OutboundQueue({"telegram": sender}, time_source=clock, store=store)
    chart = Attachment("c.png", b"\x89PNG...", caption="chart")
    queue.notify(OutboundMessage("telegram", 9, Reply("blocked"), ChatType.PRIVATE))
    queue.notify(OutboundMessage("telegram", 10, Reply("hello", [[Button("Approve", "approve 1")]], [chart])))
    queue.notify(OutboundMessage("discord", 11, Reply("no discord adapter in this process")))
    await queue.drain()
    assert queue.failed[0][1] == "bot was blocked by the user"
    assert [x for _, _, x in sender.sent] == ["hello"]
    # A new process re-sends what is still pending (the Discord message) — nothing is lost.
    restarted = OutboundQueue({"discord": RecordingSender(clock)}, time_source=clock, store=store)
    assert restarted.restore() == 1
    pending = store.pending()
    assert pending[0][1].reply.text == "no discord adapter in this process"


@pytest.mark.parametrize(
    "limit,split,measure", [(TELEGRAM_LIMIT, split_telegram, utf16_len), (DISCORD_LIMIT, split_discord, len)]
)
def test_long_replies_split_below_limits(limit: int, split: object, measure: object) -> None:
    text = ("Line of the digest with an emoji 🙏 and words.\n" * 400) + ("x" * 5000)
    chunks = split(text)  # type: ignore[operator]
    assert len(chunks) > 1
    assert all(0 < measure(c) <= limit for c in chunks)  # type: ignore[operator]
    assert "".join(chunks).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


@given(st.text(min_size=0, max_size=9000))
def test_split_property(text: str) -> None:
    for chunk in split_telegram(text):
        assert utf16_len(chunk) <= TELEGRAM_LIMIT
    for chunk in split_discord(text):
        assert len(chunk) <= DISCORD_LIMIT
