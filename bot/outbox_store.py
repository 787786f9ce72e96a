"""The durable outbox: every pushed message is a row, delivered at least once, stored once.

* **Stored once.** Each row has a unique ``dedupe_key`` (the producer's, or a fresh one); adding a
  key that exists is a no-op (``INSERT ... ON CONFLICT DO NOTHING`` on both dialects). :meth:`stage`
  writes the row into the producer's own session, so it commits or rolls back with the change it
  reports.
* **Claimed with a lease.** :meth:`claim` takes, in one transaction, the oldest pending row of each
  chat (a chat's later rows wait, so per-chat order holds across processes) whose lease is free
  and whose ``next_attempt_at`` has come, and writes ``claimed_by``/``lease_until``. PostgreSQL
  uses ``FOR UPDATE SKIP LOCKED`` so concurrent claimers never wait for or take each other's rows;
  SQLite's ``BEGIN IMMEDIATE`` makes the select-and-update one atomic step.
* **Resumable.** :meth:`part_sent` records each delivered part of a split message (and renews the
  lease), so a retry or another process resumes from the first unsent part. Every write after the
  claim checks ``claimed_by``: a sender whose lease was taken over learns it and stops.
* **Retention** is a scheduler job (``outbox_retention`` in :mod:`scheduler.jobs`): sent and failed
  rows older than ``ARENA_OUTBOX_RETENTION_DAYS`` are deleted (charts are stored base64 in the
  payload; they must not pile up).

Leases and retry times use the wall clock (``wall``, UTC), not the business clock: they are about
real processes, and the business clock may be simulated. ``created_at``/``sent_at`` use the
database's clock like every other business timestamp.

Payload format (JSON): ``text``, ``buttons`` (rows of [label, action]), ``attachments`` (filename,
mime type, caption and base64 data), ``ephemeral``.
"""

from __future__ import annotations

import base64
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from core.clock import Clock, SystemClock
from core.commands.types import Attachment, Button, ChatType, OutboundMessage, Reply
from core.db import Database
from core.models.chat import OutboxMessage

DEFAULT_LEASE = timedelta(seconds=60)


def instance_id() -> str:
    """A name for this process that no other process shares: host, pid and a random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def encode_reply(reply: Reply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "buttons": [[[b.label, b.action] for b in row] for row in reply.buttons],
        "attachments": [
            {
                "filename": a.filename,
                "mime_type": a.mime_type,
                "caption": a.caption,
                "data": base64.b64encode(a.data).decode("ascii"),
            }
            for a in reply.attachments
        ],
        "ephemeral": reply.ephemeral,
    }


def decode_reply(payload: dict[str, Any]) -> Reply:
    return Reply(
        text=str(payload.get("text", "")),
        buttons=[[Button(label, action) for label, action in row] for row in payload.get("buttons", [])],
        attachments=[
            Attachment(
                a["filename"],
                base64.b64decode(a["data"]),
                a.get("mime_type", "image/png"),
                a.get("caption", ""),
            )
            for a in payload.get("attachments", [])
        ],
        ephemeral=bool(payload.get("ephemeral", False)),
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """One claimed row: deliver ``message`` from part ``parts_sent`` on."""

    id: int
    dedupe_key: str
    message: OutboundMessage
    parts_sent: int
    attempts: int


class DatabaseOutbox:
    """The outbox table seen by one process (``owner``) holding leases of ``lease`` length."""

    def __init__(
        self,
        db: Database,
        *,
        owner: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        wall: Clock | None = None,
    ) -> None:
        self.db = db
        self.owner = owner or instance_id()
        self.lease = lease
        self.wall: Clock = wall or SystemClock()

    # -- enqueue ---------------------------------------------------------------------------------
    def _insert(self, session: Session, message: OutboundMessage) -> Any:
        values = {
            "dedupe_key": message.dedupe_key or f"msg:{uuid.uuid4().hex}",
            "platform": message.platform,
            "chat_id": message.chat_id,
            "chat_type": message.chat_type.value,
            "payload": encode_reply(message.reply),
            "status": "pending",
            "parts_sent": 0,
            "attempts": 0,
            "created_at": self.db.clock.now(),
        }
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
        return session.execute(stmt.returning(OutboxMessage.id)).scalar()

    def add(self, message: OutboundMessage) -> int | None:
        """Store ``message`` in its own transaction; None when its dedupe key was already stored."""
        with self.db.uow() as uow:
            message_id = self._insert(uow.session, message)
            uow.commit()
        return int(message_id) if message_id is not None else None

    def stage(self, session: Session, message: OutboundMessage) -> None:
        """Store ``message`` inside the caller's transaction (it leaves only if that commits)."""
        self._insert(session, message)

    # -- claim and deliver -----------------------------------------------------------------------
    def claim(self, platforms: set[str], limit: int = 20) -> list[Claimed]:
        """Lease up to ``limit`` chat heads on ``platforms`` that are due; see the module docstring."""
        if not platforms:
            return []
        now = self.wall.now()
        head = aliased(OutboxMessage)
        first_pending = (
            select(func.min(head.id))
            .where(
                head.platform == OutboxMessage.platform,
                head.chat_id == OutboxMessage.chat_id,
                head.status == "pending",
            )
            .scalar_subquery()
        )
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.platform.in_(sorted(platforms)),
                or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
                OutboxMessage.id == first_pending,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self.db.uow() as uow:
            rows = uow.session.scalars(query).all()
            claimed = []
            for row in rows:
                row.claimed_by = self.owner
                row.lease_until = now + self.lease
                message = OutboundMessage(
                    row.platform, row.chat_id, decode_reply(row.payload), ChatType(row.chat_type)
                )
                claimed.append(Claimed(row.id, row.dedupe_key, message, row.parts_sent, row.attempts))
            uow.commit()
        return claimed

    def _owned_update(self, message_id: int, **values: Any) -> bool:
        """Update a row this process still holds; False when the lease was lost (taken over)."""
        with self.db.uow() as uow:
            result = uow.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.claimed_by == self.owner,
                    OutboxMessage.status == "pending",
                )
                .values(**values)
            )
            uow.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def part_sent(self, message_id: int, parts_sent: int) -> bool:
        """Record that the first ``parts_sent`` parts are delivered; renews the lease."""
        return self._owned_update(message_id, parts_sent=parts_sent, lease_until=self.wall.now() + self.lease)

    def mark_sent(self, message_id: int) -> bool:
        return self._owned_update(
            message_id,
            status="sent",
            sent_at=self.db.clock.now(),
            claimed_by=None,
            lease_until=None,
            last_error=None,
        )

    def mark_failed(self, message_id: int, reason: str) -> bool:
        return self._owned_update(
            message_id,
            status="failed",
            sent_at=self.db.clock.now(),
            claimed_by=None,
            lease_until=None,
            last_error=reason[:500],
        )

    def defer(self, message_id: int, delay_s: float, reason: str, *, failed_attempt: bool) -> bool:
        """Give the row back, not to be tried before ``delay_s`` seconds from now."""
        values: dict[str, Any] = {
            "next_attempt_at": self.wall.now() + timedelta(seconds=max(delay_s, 0.0)),
            "claimed_by": None,
            "lease_until": None,
            "last_error": reason[:500],
        }
        if failed_attempt:
            values["attempts"] = OutboxMessage.attempts + 1
        return self._owned_update(message_id, **values)

    def release_all(self) -> int:
        """Give back every lease this process holds (shutdown); returns how many."""
        with self.db.uow() as uow:
            result = uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.claimed_by == self.owner, OutboxMessage.status == "pending")
                .values(claimed_by=None, lease_until=None)
            )
            uow.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]

    # -- inspection ------------------------------------------------------------------------------
    def depth(self) -> int:
        """How many messages wait for delivery."""
        with self.db.uow(read_only=True) as uow:
            count = uow.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
            )
        return int(count or 0)

    def pending(self) -> list[tuple[int, OutboundMessage]]:
        """Every undelivered message, oldest first (inspection and tests; delivery uses claim)."""
        with self.db.uow(read_only=True) as uow:
            rows = uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == "pending").order_by(OutboxMessage.id)
            ).all()
            return [
                (r.id, OutboundMessage(r.platform, r.chat_id, decode_reply(r.payload), ChatType(r.chat_type)))
                for r in rows
            ]
