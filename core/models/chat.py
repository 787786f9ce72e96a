"""Chat-side tables: preferences, pending confirmations, the outbound message store, job runs.

* :class:`ChatPreference` — per (platform, numeric user id): the chat where pushes go (on Telegram a
  private chat id equals the user id; on Discord it is the DM channel id) and the digest hour (UTC).
* :class:`PendingConfirmation` — a money command waiting for its Confirm button. Unique per
  idempotency key, so the same update delivered twice yields one pending row.
* :class:`OutboxMessage` — every pushed message is stored before sending (in the producer's own
  transaction where it has one) and delivered at least once: a sender *claims* the head of a chat
  with a lease (``claimed_by``/``lease_until``), records each sent part of a split message
  (``parts_sent``) so a retry resumes from the first unsent part, and marks the row sent or failed.
  ``dedupe_key`` is unique: enqueueing the same message twice stores it once.
* :class:`JobRun` — one row per (job id, scheduled time): a scheduler body that already ran for a
  scheduled time is skipped, which makes every job idempotent. A running row carries its owner and
  a lease the owner renews; a row whose owner died (lease expired) is taken over and re-run.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base

DEFAULT_DIGEST_HOUR = 8  # UTC


class ChatPreference(Base):
    __tablename__ = "chat_preferences"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    platform_user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    digest_hour: Mapped[int] = mapped_column(default=DEFAULT_DIGEST_HOUR, index=True)
    digest_enabled: Mapped[bool] = mapped_column(default=True)
    last_digest_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime]


class PendingConfirmation(Base):
    __tablename__ = "pending_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    platform_user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    command: Mapped[str] = mapped_column(String(32))
    args: Mapped[list[Any]]
    summary: Mapped[str] = mapped_column(Text)
    # pending / done / cancelled / expired
    status: Mapped[str] = mapped_column(String(20), default="pending")
    result_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status_id", "status", "id"),
        Index("ix_outbox_messages_chat_status", "platform", "chat_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    chat_type: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]]  # text, buttons, attachments (base64), ephemeral
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending/sent/failed
    parts_sent: Mapped[int] = mapped_column(default=0)  # parts of a split message already delivered
    attempts: Mapped[int] = mapped_column(default=0)  # failed delivery attempts (backoff)
    next_attempt_at: Mapped[datetime | None]  # not before (RetryAfter, backoff); NULL = now
    claimed_by: Mapped[str | None] = mapped_column(String(80))  # the sender holding the lease
    lease_until: Mapped[datetime | None]  # wall-clock time; an expired lease may be re-claimed
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job_id", "scheduled_for"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(80))
    scheduled_for: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))  # running / done / failed
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    detail: Mapped[dict[str, Any] | None]
    attempts: Mapped[int] = mapped_column(default=1)  # claims of this slot (re-runs after failures)
    owner: Mapped[str | None] = mapped_column(String(80))  # the scheduler instance running it
    lease_until: Mapped[datetime | None]  # wall-clock; renewed while the body runs
