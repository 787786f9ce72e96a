"""The outbox and its delivery loop on a real database (SQLite file and PostgreSQL): per-chat order,
RetryAfter, leases between two senders, dedupe keys, split messages resumed, transactional staging,
retention. Wall-clock leases run on a simulated clock; nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.outbound import OutboundQueue, PermanentSendError, RetryAfter
from bot.outbox_store import DatabaseOutbox
from bot.text_split import DISCORD_LIMIT, TELEGRAM_LIMIT, split_discord, split_telegram, utf16_len
from core.clock import SimulatedClock
from core.commands.types import Attachment, Button, ChatType, OutboundMessage, Reply
from core.db import Database
from core.health import HealthRegistry
from core.models.chat import OutboxMessage
from core.notify import notify_in
from scheduler.jobs import JobContext, outbox_retention

WALL_START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class RecordingSender:
    """Records (chat, text) per delivered part; ``failures[chat or part text]`` are raised first."""

    def __init__(self, failures: dict[int | str, list[Exception]] | None = None, split_at: int = 0) -> None:
        self.sent: list[tuple[int, str]] = []
        self.failures = failures or {}
        self.split_at = split_at

    def parts(self, reply: Reply) -> list[Reply]:
        if not self.split_at:
            return [reply]
        text = reply.text
        return [Reply(text[i : i + self.split_at]) for i in range(0, len(text), self.split_at)]

    async def send(self, chat_id: int, chat_type: ChatType, reply: Reply) -> None:
        pending = self.failures.get(reply.text) or self.failures.get(chat_id)
        if pending:
            raise pending.pop(0)
        self.sent.append((chat_id, reply.text))


def msg(chat_id: int, text: str, key: str | None = None, platform: str = "telegram") -> OutboundMessage:
    return OutboundMessage(platform, chat_id, Reply(text), ChatType.PRIVATE, key)


def outbox(db: Database, wall: SimulatedClock, owner: str = "A", lease: float = 60) -> DatabaseOutbox:
    return DatabaseOutbox(db, owner=owner, lease=timedelta(seconds=lease), wall=wall)


def statuses(db: Database) -> dict[str, str]:
    with db.uow(read_only=True) as uow:
        return {r.payload["text"]: r.status for r in uow.session.scalars(select(OutboxMessage))}


async def test_order_retry_after_and_backoff_keep_every_message(any_db: Database) -> None:
    wall = SimulatedClock(WALL_START)
    sender = RecordingSender({7: [RetryAfter(12.5), ConnectionError("reset")]})
    queue = OutboundQueue(outbox(any_db, wall), {"telegram": sender}, health=HealthRegistry())
    for text in ("first", "second"):
        queue.notify(msg(7, text))
    queue.notify(msg(8, "other chat"))
    await queue.flush()
    assert sender.sent == [(8, "other chat")]  # one slow chat does not hold the others back
    wall.advance(timedelta(seconds=12))
    await queue.flush()
    assert sender.sent == [(8, "other chat")]  # 12 s < the 12.5 s Telegram asked for
    wall.advance(timedelta(seconds=1))
    await queue.flush()  # the network error: backs off 1 s (first backoff)
    assert [t for c, t in sender.sent if c == 7] == []
    wall.advance(timedelta(seconds=1))
    await queue.flush()
    assert [t for c, t in sender.sent if c == 7] == ["first", "second"]  # order kept, nothing lost
    assert set(statuses(any_db).values()) == {"sent"}


async def test_permanent_failure_recorded_and_other_platform_waits(sqlite_db: Database) -> None:
    wall = SimulatedClock(WALL_START)
    sender = RecordingSender({9: [PermanentSendError("bot was blocked by the user")]})
    store = outbox(sqlite_db, wall)
    queue = OutboundQueue(store, {"telegram": sender}, health=HealthRegistry())
    chart = Attachment("c.png", b"\x89PNG...", caption="chart")
    queue.notify(msg(9, "blocked"))
    queue.notify(OutboundMessage("telegram", 10, Reply("hello", [[Button("Approve", "approve 1")]], [chart])))
    queue.notify(msg(11, "no discord adapter in this process", platform="discord"))
    await queue.flush()
    assert queue.failed[0][1] == "bot was blocked by the user"
    assert sender.sent == [(10, "hello")]
    assert statuses(sqlite_db) == {
        "blocked": "failed",
        "hello": "sent",
        "no discord adapter in this process": "pending",
    }
    # Another process with a Discord adapter delivers it: nothing is lost.
    discord = RecordingSender()
    other = OutboundQueue(outbox(sqlite_db, wall, owner="B"), {"discord": discord}, health=HealthRegistry())
    await other.flush()
    assert discord.sent == [(11, "no discord adapter in this process")]


async def test_dedupe_key_stores_and_sends_once(any_db: Database) -> None:
    wall = SimulatedClock(WALL_START)
    sender = RecordingSender()
    queue = OutboundQueue(outbox(any_db, wall), {"telegram": sender}, health=HealthRegistry())
    for _ in range(3):
        queue.notify(msg(5, "digest of 2025-06-01", key="digest:telegram:5:1:2025-06-01"))
    queue.notify(msg(5, "digest of 2025-06-01"))  # no key: a different message, stored again
    await queue.flush()
    assert sender.sent == [(5, "digest of 2025-06-01"), (5, "digest of 2025-06-01")]
    queue.notify(msg(5, "digest of 2025-06-01", key="digest:telegram:5:1:2025-06-01"))  # after delivery too
    await queue.flush()
    assert len(sender.sent) == 2


async def test_split_message_resumes_from_first_unsent_part(any_db: Database) -> None:
    wall = SimulatedClock(WALL_START)
    sender = RecordingSender({"bbbb": [RetryAfter(5)]}, split_at=4)
    queue = OutboundQueue(outbox(any_db, wall), {"telegram": sender}, health=HealthRegistry())
    queue.notify(msg(3, "aaaabbbbcccc"))
    await queue.flush()
    assert sender.sent == [(3, "aaaa")]
    wall.advance(timedelta(seconds=5))
    await queue.flush()
    assert sender.sent == [(3, "aaaa"), (3, "bbbb"), (3, "cccc")]  # part 1 was not sent again


async def test_a_dead_senders_lease_expires_and_another_resumes(any_db: Database) -> None:
    wall = SimulatedClock(WALL_START)
    a, b = outbox(any_db, wall, "A", lease=30), outbox(any_db, wall, "B", lease=30)
    a.add(msg(1, "one-two-three"))
    a.add(msg(1, "after"))
    (claim,) = a.claim({"telegram"})
    assert a.part_sent(claim.id, 1)  # A delivered part 1, then was killed
    assert b.claim({"telegram"}) == []  # A's lease is live; the chat's next message waits its turn
    wall.advance(timedelta(seconds=31))
    (taken,) = b.claim({"telegram"})
    assert taken.id == claim.id and taken.parts_sent == 1
    assert not a.part_sent(claim.id, 2)  # A (if it comes back) learns it lost the lease
    assert not a.mark_sent(claim.id)
    assert b.mark_sent(taken.id)
    (next_one,) = b.claim({"telegram"})
    assert next_one.message.reply.text == "after"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("AB"), st.sampled_from(["claim", "send", "tick"])), max_size=40))
def test_two_claimers_never_hold_one_message_and_keep_chat_order(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, str]]
) -> None:
    from core.migrations import upgrade

    db = Database(f"sqlite:///{tmp_path_factory.mktemp('outbox') / 'o.db'}")
    upgrade(db.engine)
    wall = SimulatedClock(WALL_START)
    lease = timedelta(seconds=10)
    stores = {o: outbox(db, wall, o, lease=10) for o in "AB"}
    ids = {n: int(stores["A"].add(msg(n % 2, f"m{n}")) or 0) for n in range(6)}
    chat_of = {ids[n]: n % 2 for n in ids}
    live: dict[int, tuple[str, datetime]] = {}  # message id -> (holder, lease end)
    finished: set[int] = set()
    for owner, action in steps:
        now = wall.now()
        live = {i: held for i, held in live.items() if held[1] > now}
        if action == "claim":
            for claimed in stores[owner].claim({"telegram"}):
                assert claimed.id not in live  # never two live holders of one message
                earlier = [i for i, chat in chat_of.items() if chat == chat_of[claimed.id] and i < claimed.id]
                assert set(earlier) <= finished  # only a chat's head is ever handed out
                live[claimed.id] = (owner, now + lease)
        elif action == "send":
            mine = sorted(i for i, (holder, _) in live.items() if holder == owner)
            if mine:
                assert stores[owner].mark_sent(mine[0])
                finished.add(mine[0])
                del live[mine[0]]
        else:
            wall.advance(timedelta(seconds=6))
    db.dispose()


async def test_staged_messages_commit_and_roll_back_with_their_transaction(sqlite_db: Database) -> None:
    wall = SimulatedClock(WALL_START)
    queue = OutboundQueue(outbox(sqlite_db, wall), {}, health=HealthRegistry())
    with sqlite_db.uow() as uow:
        notify_in(uow.session, queue, msg(1, "rolled back"))
    with sqlite_db.uow() as uow:
        savepoint = uow.session.begin_nested()
        notify_in(uow.session, queue, msg(1, "savepoint rolled back"))
        savepoint.rollback()
        notify_in(uow.session, queue, msg(1, "committed"))
        uow.commit()
    assert statuses(sqlite_db) == {"committed": "pending"}


def test_retention_deletes_old_finished_rows_only(sqlite_db: Database, clock: SimulatedClock) -> None:
    wall = SimulatedClock(WALL_START)
    store = outbox(sqlite_db, wall)
    for text in ("old sent", "old failed", "old pending"):
        store.add(msg(1 if text != "old failed" else 2, text))
    (first, second) = store.claim({"telegram"})
    store.mark_sent(first.id)
    store.mark_failed(second.id, "blocked")
    clock.advance(timedelta(days=20))
    store.add(msg(3, "new pending"))
    (fresh,) = [c for c in store.claim({"telegram"}) if c.message.chat_id == 3]
    store.mark_sent(fresh.id)
    detail = outbox_retention(JobContext(sqlite_db, queue_of(store), outbox_retention_days=14), clock.now())
    assert detail["deleted"] == 2
    assert statuses(sqlite_db) == {"old pending": "pending", "new pending": "sent"}


def queue_of(store: DatabaseOutbox) -> OutboundQueue:
    return OutboundQueue(store, {}, health=HealthRegistry())


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
